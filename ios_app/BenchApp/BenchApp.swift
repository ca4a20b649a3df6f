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
            Self.runHeadless(configName)
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

    static func runHeadless(_ configName: String) -> Never {
        do {
            let line = try Headless.run(documents: documents, configName: configName, device: device,
                                        thermalState: thermalState) { url, config in
                CoreMLRunner(packageURL: url, computeUnits: config.computeUnits)
            }
            print(line)
            fflush(stdout)
            exit(0)
        } catch {
            print("BENCH_ERROR \(error)")
            fflush(stdout)
            exit(1)
        }
    }
}

struct ContentView: View {
    @State private var status = "Launch with --headless config.json (see ios_app/README.md), or run from `bench run`."

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            Text("Bench").font(.largeTitle)
            Text(status).font(.body)
            Text("Documents: \(BenchApp.documents.path)").font(.footnote).foregroundStyle(.secondary)
        }
        .padding()
    }
}
