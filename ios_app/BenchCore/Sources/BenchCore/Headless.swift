import Dispatch
import Foundation

/// Headless mode: the app was launched with `--headless CONFIG.json` (a file name in its Documents folder).
public enum Headless {
    public static func configName(from arguments: [String]) -> String? {
        guard let i = arguments.firstIndex(of: "--headless"), i + 1 < arguments.count else { return nil }
        return arguments[i + 1]
    }

    /// Read the config, run, write the result JSON beside it; returns the line to print.
    public static func run(documents: URL, configName: String, device: BenchResult.Device, appVersion: String,
                           thermalState: @escaping () -> String,
                           makeRunner: (URL, BenchConfig) -> PredictionRunner) throws -> String {
        let data = try Data(contentsOf: documents.appendingPathComponent(configName))
        let config = try BenchConfig.decode(from: data)
        if let archive = config.modelArchive {
            try PackageArchive.unpack(documents.appendingPathComponent(archive), into: documents,
                                      expecting: config.modelFile)
        }
        let runner = makeRunner(documents.appendingPathComponent(config.modelFile), config)
        let session = BenchSession(config: config, device: device, appVersion: appVersion, thermalState: thermalState)
        let result = try session.run(runner)
        try result.encoded().write(to: documents.appendingPathComponent(config.resultFile), options: .atomic)
        return result.resultLine(file: config.resultFile)
    }

    /// The outcome of a headless run as the process reports it: the one line for stdout and the exit status.
    public static func outcome(_ body: () throws -> String) -> (line: String, status: Int32) {
        do {
            return (try body(), 0)
        } catch {
            // One line: the host greps the console for BENCH_ERROR and shows the rest to the user.
            let message = "\(error)".replacingOccurrences(of: "\n", with: " ")
            return ("BENCH_ERROR \(message)", 1)
        }
    }

    /// Run `body` off the caller's thread (the app calls this from launch, so the main thread stays free and iOS's
    /// launch watchdog never sees a blocked launch, however long the protocol runs), then hand the line and status
    /// to `finish` on `finishQueue` (the app prints, flushes and exits there).
    public static func start(on queue: DispatchQueue = DispatchQueue.global(qos: .userInitiated),
                             finishOn finishQueue: DispatchQueue = .main,
                             _ body: @escaping () throws -> String,
                             finish: @escaping (String, Int32) -> Void) {
        queue.async {
            let (line, status) = outcome(body)
            finishQueue.async { finish(line, status) }
        }
    }
}

/// The app's version as the bundle states it (CFBundleShortVersionString and CFBundleVersion from project.yml's
/// MARKETING_VERSION and CURRENT_PROJECT_VERSION), so a result says which build of the app measured it.
public enum AppVersion {
    public static func from(infoDictionary info: [String: Any]?) -> String {
        let short = info?["CFBundleShortVersionString"] as? String
        let build = info?["CFBundleVersion"] as? String
        switch (short, build) {
        case let (s?, b?) where s != b: return "\(s) (\(b))"
        case let (s?, _): return s
        case let (nil, b?): return b
        default: return "unknown"
        }
    }
}
