import BenchCore
import SwiftUI
#if canImport(UIKit)
import UIKit
#endif

/// The app: headless when launched with `--headless CONFIG.json` (by `xcrun devicectl device process launch`),
/// a simple screen otherwise. All logic lives in BenchCore; this file only wires the platform in.
@main
struct BenchApp: App {
    init() {
        if let configName = Headless.configName(from: CommandLine.arguments) {
            Self.startHeadless(configName)
        }
    }

    var body: some Scene {
        WindowGroup { ContentView() }
    }

    static var documents: URL {
        FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0]
    }

    static var device: BenchResult.Device {
        var info = utsname()
        uname(&info)
        let model = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        #if canImport(UIKit)
        return BenchResult.Device(model: model, systemName: UIDevice.current.systemName,
                                  systemVersion: UIDevice.current.systemVersion)
        #else
        return BenchResult.Device(model: model, systemName: "unknown", systemVersion: "unknown")
        #endif
    }

    static func thermalState() -> String {
        switch ProcessInfo.processInfo.thermalState {
        case .nominal: return "nominal"
        case .fair: return "fair"
        case .serious: return "serious"
        case .critical: return "critical"
        @unknown default: return "unknown"
        }
    }

    /// Launch returns at once; the measurement runs on a background queue, then the main queue prints the one
    /// result line (devicectl's --console carries it to the host), flushes and exits.
    static func startHeadless(_ configName: String) {
        let device = Self.device
        let documents = Self.documents
        let version = AppVersion.from(infoDictionary: Bundle.main.infoDictionary)
        Headless.start({
            try Headless.run(documents: documents, configName: configName, device: device, appVersion: version,
                             thermalState: Self.thermalState) { url, config in
                CoreMLRunner(packageURL: url, computeUnits: config.computeUnits)
            }
        }, finish: { line, status in
            print(line)
            fflush(stdout)
            exit(status)
        })
    }
}

struct ContentView: View {
    private let status = Headless.configName(from: CommandLine.arguments) != nil
        ? "Measuring (headless); the app exits when done."
        : "Launch with --headless config.json (see ios_app/README.md), or run from `bench run`."

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            Text("Bench").font(.largeTitle)
            Text(status).font(.body)
            Text("Documents: \(BenchApp.documents.path)").font(.footnote).foregroundStyle(.secondary)
        }
        .padding()
        .onAppear {
            #if canImport(UIKit)
            // A screen that locks mid-run would suspend the app and stall the measurement.
            if Headless.configName(from: CommandLine.arguments) != nil { UIApplication.shared.isIdleTimerDisabled = true }
            #endif
        }
    }
}
