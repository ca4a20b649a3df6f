#if canImport(CoreML)
import CoreML
import Foundation
import XCTest
@testable import BenchCore

/// Core ML for real, where it exists: `swift test` on a Mac, and the iOS Simulator in .github/workflows/ios.yml (on
/// the simulator's CPU, so `cpuOnly`). The packages are the ones the host tests read (tests/data/ios), compiled on the
/// device, loaded, fed and predicted; then a whole headless run writes a result the host parser accepts. Simulator and
/// CI-Mac times are no latency measurements: only counts and shapes are checked. On Linux this file compiles to
/// nothing; ios_app/typecheck type-checks it against the declaration-only Core ML there.
final class CoreMLRunnerTests: XCTestCase {
    /// tests/data/ios of this checkout, from this file's path: `swift test` and the simulator read the Mac's disk.
    static let data: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url = url.deletingLastPathComponent() }  // BenchCoreTests, Tests, BenchCore, ios_app, repo
        return url.appendingPathComponent("tests").appendingPathComponent("data").appendingPathComponent("ios")
    }()

    static func package(_ name: String) -> URL { data.appendingPathComponent("\(name).mlpackage") }

    func testEveryPackageCompilesLoadsAndPredictsOnTheCPU() throws {
        for name in ["tiny_conv", "tiny_two_inputs"] {
            let runner = CoreMLRunner(packageURL: Self.package(name), computeUnits: .cpuOnly)
            let (compileSeconds, loadSeconds) = try runner.prepare()
            XCTAssertNotNil(compileSeconds, name)
            XCTAssertGreaterThanOrEqual(loadSeconds, 0, name)
            try runner.predict()
            try runner.predict()
            XCTAssertEqual(runner.computeUnitsDescription, "cpuOnly")
        }
    }

    func testEveryDeclaredInputIsFedWithItsShape() throws {
        let configuration = MLModelConfiguration()
        configuration.computeUnits = .cpuOnly
        let compiled = try MLModel.compileModel(at: Self.package("tiny_two_inputs"))
        let model = try MLModel(contentsOf: compiled, configuration: configuration)
        let specs = try InputFill.plan(CoreMLRunner.specs(of: model.modelDescription))
        XCTAssertEqual(specs, [InputSpec(name: "bias", kind: .multiArray(shape: [1, 8])),
                               InputSpec(name: "image", kind: .multiArray(shape: [1, 3, 32, 32]))])
        let input = try CoreMLRunner.makeInput(for: model.modelDescription)
        XCTAssertEqual(input.featureNames, ["bias", "image"])
        XCTAssertEqual(input.featureValue(for: "image")?.multiArrayValue?.dataType, .float16)
        XCTAssertEqual(input.featureValue(for: "bias")?.multiArrayValue?.count, 8)
        _ = try model.prediction(from: input)
    }

    func testAMissingPackageIsOneModelUnavailableError() {
        let runner = CoreMLRunner(packageURL: Self.data.appendingPathComponent("missing.mlpackage"), computeUnits: .all)
        XCTAssertThrowsError(try runner.prepare()) { error in
            guard case BenchError.modelUnavailable(let message)? = error as? BenchError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertTrue(message.hasSuffix("missing.mlpackage"), message)
        }
    }

    func testHeadlessRunOfARealPackageWritesEverySample() throws {
        let documents = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: documents, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: documents) }
        try FileManager.default.copyItem(at: Self.package("tiny_conv"),
                                         to: documents.appendingPathComponent("tiny_conv.mlpackage"))
        let config = #"{"model_file":"tiny_conv.mlpackage","compute_units":"cpuOnly","warmup":2,"runs":5,"rounds":3,"#
            + #""protocol":"mnv4","result_file":"bench-result.json"}"#
        try Data(config.utf8).write(to: documents.appendingPathComponent("bench-config.json"))
        let line = try Headless.run(
            documents: documents, configName: "bench-config.json",
            device: BenchResult.Device(model: "simulator", systemName: "iOS", systemVersion: "test"),
            appVersion: "test", thermalState: { "nominal" },
            makeRunner: { url, config in CoreMLRunner(packageURL: url, computeUnits: config.computeUnits) })
        XCTAssertTrue(line.hasPrefix("BENCH_RESULT model=tiny_conv.mlpackage runs=5 rounds=3"), line)
        let result = try BenchResult.decode(Data(contentsOf: documents.appendingPathComponent("bench-result.json")))
        XCTAssertEqual(result.samplesNs.map { $0.count }, [5, 5, 5])
        XCTAssertTrue(result.samplesNs.joined().allSatisfy { $0 > 0 })
        XCTAssertEqual(result.computeUnits, "cpuOnly")
        XCTAssertNotNil(result.compileS)
    }
}
#endif
