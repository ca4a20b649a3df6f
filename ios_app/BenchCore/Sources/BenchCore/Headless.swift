import Foundation

/// Headless mode: the app was launched with `--headless CONFIG.json` (a file name in its Documents folder).
public enum Headless {
    public static func configName(from arguments: [String]) -> String? {
        guard let i = arguments.firstIndex(of: "--headless"), i + 1 < arguments.count else { return nil }
        return arguments[i + 1]
    }

    /// Read the config, run, write the result JSON beside it; returns the line to print.
    public static func run(documents: URL, configName: String, device: BenchResult.Device,
                           thermalState: @escaping () -> String,
                           makeRunner: (URL, BenchConfig) -> PredictionRunner) throws -> String {
        let data = try Data(contentsOf: documents.appendingPathComponent(configName))
        let config = try BenchConfig.decode(from: data)
        let runner = makeRunner(documents.appendingPathComponent(config.modelFile), config)
        let result = try BenchSession(config: config, device: device, thermalState: thermalState).run(runner)
        try result.encoded().write(to: documents.appendingPathComponent(config.resultFile), options: .atomic)
        return result.resultLine()
    }
}
