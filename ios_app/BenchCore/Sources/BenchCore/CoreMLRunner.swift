#if canImport(CoreML)
import CoreML
import CoreVideo
import Foundation

/// Core ML on the device: compile the .mlpackage there (timed apart), load with the chosen compute units, prepare
/// every input (MLMultiArray of the declared data type, or a BGRA pixel buffer for image inputs) once, then time
/// `prediction` only.
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

    static func specs(of description: MLModelDescription) throws -> [InputSpec] {
        var specs: [InputSpec] = []
        for (name, feature) in description.inputDescriptionsByName {
            if let array = feature.multiArrayConstraint {
                specs.append(InputSpec(name: name, kind: .multiArray(shape: array.shape.map { $0.intValue })))
            } else if let image = feature.imageConstraint {
                specs.append(InputSpec(name: name, kind: .image(width: image.pixelsWide, height: image.pixelsHigh)))
            } else {
                throw BenchError.modelUnavailable("input \(name) is neither a multiarray nor an image")
            }
        }
        return specs
    }

    static func makeInput(for description: MLModelDescription) throws -> MLFeatureProvider {
        var values: [String: MLFeatureValue] = [:]
        for spec in try InputFill.plan(specs(of: description)) {
            guard let feature = description.inputDescriptionsByName[spec.name] else { continue }
            switch spec.kind {
            case .multiArray(let shape):
                // The declared data type (float16 for bench's exports), so Core ML copies nothing per prediction.
                let dataType = feature.multiArrayConstraint?.dataType ?? .float16
                let array = try MLMultiArray(shape: shape.map { NSNumber(value: $0) }, dataType: dataType)
                for i in 0..<array.count { array[i] = NSNumber(value: InputFill.value(at: i)) }
                values[spec.name] = MLFeatureValue(multiArray: array)
            case .image(let width, let height):
                let buffer = try pixelBuffer(width: width, height: height)
                values[spec.name] = MLFeatureValue(pixelBuffer: buffer)
            }
        }
        return try MLDictionaryFeatureProvider(dictionary: values)
    }

    static func pixelBuffer(width: Int, height: Int) throws -> CVPixelBuffer {
        var created: CVPixelBuffer?
        CVPixelBufferCreate(kCFAllocatorDefault, width, height, kCVPixelFormatType_32BGRA, nil, &created)
        guard let buffer = created else { throw BenchError.modelUnavailable("cannot allocate a pixel buffer") }
        CVPixelBufferLockBaseAddress(buffer, [])
        defer { CVPixelBufferUnlockBaseAddress(buffer, []) }
        if let base = CVPixelBufferGetBaseAddress(buffer) {
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            let rowBytes = CVPixelBufferGetBytesPerRow(buffer)
            for row in 0..<height {
                for column in 0..<(width * 4) { bytes[row * rowBytes + column] = InputFill.byte(at: row * width * 4 + column) }
            }
        }
        return buffer
    }
}
#endif
