import Foundation

/// The result JSON the app writes (schema documented field by field in ios_app/README.md; parsed by the host in
/// devices/ios_result.py). Keys are snake_case; latencies are raw per-run nanoseconds per round.
public struct BenchResult: Codable, Equatable {
    public static let currentSchemaVersion = 1

    public struct Device: Codable, Equatable {
        public var model: String  // hardware identifier, e.g. iPhone13,2
        public var systemName: String
        public var systemVersion: String
        public init(model: String, systemName: String, systemVersion: String) {
            self.model = model
            self.systemName = systemName
            self.systemVersion = systemVersion
        }
    }

    public struct Summary: Codable, Equatable {
        public var minMs: Double
        public var meanMs: Double
        public var medianMs: Double
        public var modelbenchMeanMs: Double
        public var medianOfMeansMs: Double
    }

    public var schemaVersion: Int
    public var appVersion: String
    public var modelFile: String
    public var computeUnits: String
    public var `protocol`: String
    public var warmup: Int
    public var runs: Int
    public var rounds: Int
    public var samplesNs: [[UInt64]]
    public var compileS: Double?
    public var loadS: Double
    public var firstPredictionMs: Double
    public var device: Device
    public var thermalStateStart: String
    public var thermalStateEnd: String
    public var startedAt: String
    public var summary: Summary

    public static func summarize(_ samplesNs: [[UInt64]]) -> Summary {
        let rounds = samplesNs.map { $0.map { Double($0) / 1e6 } }
        let all = rounds.flatMap { $0 }
        return Summary(
            minMs: Statistics.minimum(all) ?? .nan,
            meanMs: Statistics.mean(all) ?? .nan,
            medianMs: Statistics.median(all) ?? .nan,
            modelbenchMeanMs: Statistics.trimmedRounds(rounds)?.mean ?? .nan,
            medianOfMeansMs: Statistics.medianOfMeans(rounds) ?? .nan
        )
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> BenchResult {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(BenchResult.self, from: data)
    }

    /// The one line the app prints on stdout (read by the host from `devicectl ... --console`); `file` is the
    /// result file's name in Documents, as the config named it.
    public func resultLine(file: String) -> String {
        String(format: "BENCH_RESULT model=%@ runs=%d rounds=%d min_ms=%.4f median_ms=%.4f file=%@",
               modelFile, runs, rounds, summary.minMs, summary.medianMs, file)
    }
}

/// The whole measurement, platform-free: prepare, first prediction, warm-up, rounds; thermal state at both ends.
public struct BenchSession {
    public let config: BenchConfig
    public let loop: TimingLoop
    public let device: BenchResult.Device
    public let thermalState: () -> String
    public let appVersion: String

    public init(config: BenchConfig, loop: TimingLoop = TimingLoop(), device: BenchResult.Device,
                appVersion: String, thermalState: @escaping () -> String) {
        self.config = config
        self.loop = loop
        self.device = device
        self.thermalState = thermalState
        self.appVersion = appVersion
    }

    public func run(_ runner: PredictionRunner) throws -> BenchResult {
        try config.validate()
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let thermalStart = thermalState()
        let (compileS, loadS) = try runner.prepare()
        let first = try loop.time { try runner.predict() }
        let samples = try loop.measure(warmup: config.warmup, runs: config.runs, rounds: config.rounds) {
            try runner.predict()
        }
        return BenchResult(
            schemaVersion: BenchResult.currentSchemaVersion, appVersion: appVersion, modelFile: config.modelFile,
            computeUnits: runner.computeUnitsDescription, protocol: config.protocolName, warmup: config.warmup,
            runs: config.runs, rounds: config.rounds, samplesNs: samples, compileS: compileS, loadS: loadS,
            firstPredictionMs: Double(first) / 1e6, device: device, thermalStateStart: thermalStart,
            thermalStateEnd: thermalState(), startedAt: startedAt, summary: BenchResult.summarize(samples))
    }
}
