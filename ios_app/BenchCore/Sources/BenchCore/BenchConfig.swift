import Foundation

/// Which processors Core ML may use (MLComputeUnits by name, so the config stays platform-free).
public enum ComputeUnitsChoice: String, Codable, CaseIterable, Sendable {
    case all, cpuOnly, cpuAndGPU, cpuAndNeuralEngine
}

/// What the host asks the app to do. Written by the host into the app's Documents folder as JSON.
public struct BenchConfig: Codable, Equatable, Sendable {
    public var modelFile: String
    public var computeUnits: ComputeUnitsChoice
    public var warmup: Int
    public var runs: Int
    public var rounds: Int
    public var protocolName: String
    public var resultFile: String
    /// The model package as one tar file in Documents, unpacked there into `modelFile` before the run
    /// (PackageArchive); nil: `modelFile` is already there.
    public var modelArchive: String?

    enum CodingKeys: String, CodingKey {
        case modelFile = "model_file", computeUnits = "compute_units", warmup, runs, rounds
        case protocolName = "protocol", resultFile = "result_file", modelArchive = "model_archive"
    }

    public init(modelFile: String, computeUnits: ComputeUnitsChoice = .all, warmup: Int = 100, runs: Int = 1000,
                rounds: Int = 1, protocolName: String = "mobileone", resultFile: String = "result.json",
                modelArchive: String? = nil) {
        self.modelFile = modelFile
        self.computeUnits = computeUnits
        self.warmup = warmup
        self.runs = runs
        self.rounds = rounds
        self.protocolName = protocolName
        self.resultFile = resultFile
        self.modelArchive = modelArchive
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelFile = try c.decode(String.self, forKey: .modelFile)
        computeUnits = try c.decodeIfPresent(ComputeUnitsChoice.self, forKey: .computeUnits) ?? .all
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup) ?? 100
        runs = try c.decodeIfPresent(Int.self, forKey: .runs) ?? 1000
        rounds = try c.decodeIfPresent(Int.self, forKey: .rounds) ?? 1
        protocolName = try c.decodeIfPresent(String.self, forKey: .protocolName) ?? "mobileone"
        resultFile = try c.decodeIfPresent(String.self, forKey: .resultFile) ?? "result.json"
        modelArchive = try c.decodeIfPresent(String.self, forKey: .modelArchive)
        try validate()
    }

    public func validate() throws {
        guard !modelFile.isEmpty else { throw BenchError.invalidConfig("model_file is empty") }
        guard runs >= 1 else { throw BenchError.invalidConfig("runs must be at least 1 (got \(runs))") }
        guard rounds >= 1 else { throw BenchError.invalidConfig("rounds must be at least 1 (got \(rounds))") }
        guard warmup >= 0 else { throw BenchError.invalidConfig("warmup must be 0 or more (got \(warmup))") }
    }

    public static func decode(from data: Data) throws -> BenchConfig {
        do {
            return try JSONDecoder().decode(BenchConfig.self, from: data)
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError.invalidConfig("config is not valid JSON for BenchConfig: \(error)")
        }
    }
}

public enum BenchError: Error, Equatable, CustomStringConvertible {
    case invalidConfig(String)
    case modelUnavailable(String)
    case predictionFailed(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid config: \(m)"
        case .modelUnavailable(let m): return "model unavailable: \(m)"
        case .predictionFailed(let m): return "prediction failed: \(m)"
        }
    }
}
