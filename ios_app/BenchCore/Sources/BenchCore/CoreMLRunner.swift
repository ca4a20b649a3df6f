#if canImport(CoreML)
import CoreML
import Foundation

/// Core ML on the device: compile the .mlpackage there (timed apart), load with the chosen compute units, prepare
/// one input (float16 MLMultiArray, or a BGRA pixel buffer for image inputs) once, then time `prediction` only.
public final class CoreMLRunner: PredictionRunner {
    private let packageURL: URL
    private let units: ComputeUnitsChoice
    private let clock: MonotonicClock
    private var model: MLModel?
    private var input: MLFeatureProvider?

    public init(packageURL: URL, computeUnits: ComputeUnitsChoice, clock: MonotonicClock = SystemClock()) {
        self.packageURL = packageURL
        self.units = computeUnits
        self.clock = clock
    }

    public var computeUnitsDescription: String { units.rawValue }

    private var mlComputeUnits: MLComputeUnits {
        switch units {
        case .all: return .all
        case .cpuOnly: return .cpuOnly
        case .cpuAndGPU: return .cpuAndGPU
        case .cpuAndNeuralEngine: return .cpuAndNeuralEngine
        }
    }

    public func prepare() throws -> (compileSeconds: Double?, loadSeconds: Double) {
        guard FileManager.default.fileExists(atPath: packageURL.path) else {
            throw BenchError.modelUnavailable("no model at \(packageURL.path)")
        }
        let t0 = clock.nowNanoseconds()
        let compiled = try MLModel.compileModel(at: packageURL)
        let t1 = clock.nowNanoseconds()
        let configuration = MLModelConfiguration()
        configuration.computeUnits = mlComputeUnits
        let loaded = try MLModel(contentsOf: compiled, configuration: configuration)
        let t2 = clock.nowNanoseconds()
        model = loaded
        input = try Self.makeInput(for: loaded.modelDescription)
        return (Double(t1 - t0) / 1e9, Double(t2 - t1) / 1e9)
    }

    @inline(__always) public func predict() throws {
        guard let model, let input else { throw BenchError.predictionFailed("prepare() was not called") }
        _ = try model.prediction(from: input)
    }

    static func makeInput(for description: MLModelDescription) throws -> MLFeatureProvider {
        guard let (name, feature) = description.inputDescriptionsByName.first else {
            throw BenchError.modelUnavailable("model has no inputs")
        }
        if let constraint = feature.multiArrayConstraint {
            let array = try MLMultiArray(shape: constraint.shape, dataType: .float16)
            for i in 0..<array.count {  // deterministic, non-constant values
                array[i] = NSNumber(value: Float((i * 7919) % 255) / 255.0 - 0.5)
            }
            return try MLDictionaryFeatureProvider(dictionary: [name: MLFeatureValue(multiArray: array)])
        }
        if let image = feature.imageConstraint {
            var buffer: CVPixelBuffer?
            CVPixelBufferCreate(kCFAllocatorDefault, image.pixelsWide, image.pixelsHigh,
                                kCVPixelFormatType_32BGRA, nil, &buffer)
            guard let buffer else { throw BenchError.modelUnavailable("cannot allocate a pixel buffer") }
            return try MLDictionaryFeatureProvider(dictionary: [name: MLFeatureValue(pixelBuffer: buffer)])
        }
        throw BenchError.modelUnavailable("input \(name) is neither a multiarray nor an image")
    }
}
#endif
