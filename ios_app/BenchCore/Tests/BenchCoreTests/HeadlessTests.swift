import Dispatch
import Foundation
import XCTest
@testable import BenchCore

/// The launch path: the benchmark runs off the calling thread, and the finish callback (print, exit in the app)
/// gets the line naming the configured result file, or one BENCH_ERROR line and status 1.
final class HeadlessTests: XCTestCase {
    private func documents(config: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: dir.appendingPathComponent("bench-config.json"))
        return dir
    }

    private func startAndWait(documents dir: URL) -> (line: String, status: Int32, onMain: Bool) {
        let done = expectation(description: "finish called")
        let finishQueue = DispatchQueue(label: "finish")
        var outcome = ("", Int32(-1), true)
        Headless.start(finishOn: finishQueue, {
            let onMain = Thread.isMainThread
            let line = try Headless.run(
                documents: dir, configName: "bench-config.json",
                device: BenchResult.Device(model: "Linux-x86_64", systemName: "Linux", systemVersion: "test"),
                appVersion: "1.0 (1)", thermalState: { "nominal" }, makeRunner: { _, _ in MatmulRunner(n: 12) })
            outcome.2 = onMain
            return line
        }, finish: { line, status in
            outcome.0 = line
            outcome.1 = status
            done.fulfill()
        })
        wait(for: [done], timeout: 60)
        return outcome
    }

    func testStartRunsOffTheMainThreadAndReportsTheConfiguredFile() throws {
        let dir = try documents(config: #"{"model_file":"matmul","warmup":1,"runs":5,"rounds":2,"result_file":"bench-result.json"}"#)
        let (line, status, onMain) = startAndWait(documents: dir)
        XCTAssertEqual(status, 0)
        XCTAssertFalse(onMain)
        XCTAssertTrue(line.hasPrefix("BENCH_RESULT model=matmul runs=5 rounds=2"), line)
        XCTAssertTrue(line.hasSuffix(" file=bench-result.json"), line)
        let result = try BenchResult.decode(Data(contentsOf: dir.appendingPathComponent("bench-result.json")))
        XCTAssertEqual(result.appVersion, "1.0 (1)")
        XCTAssertEqual(result.samplesNs.map(\.count), [5, 5])
    }

    func testStartTurnsAFailureIntoOneErrorLineAndStatusOne() throws {
        let dir = try documents(config: #"{"model_file":"matmul","runs":0}"#)
        let (line, status, _) = startAndWait(documents: dir)
        XCTAssertEqual(status, 1)
        XCTAssertEqual(line, "BENCH_ERROR invalid config: runs must be at least 1 (got 0)")
        XCTAssertFalse(line.contains("\n"))
    }

    func testAppVersionComesFromTheBundleKeys() {
        XCTAssertEqual(AppVersion.from(infoDictionary: ["CFBundleShortVersionString": "1.2", "CFBundleVersion": "7"]),
                       "1.2 (7)")
        XCTAssertEqual(AppVersion.from(infoDictionary: ["CFBundleShortVersionString": "1.2", "CFBundleVersion": "1.2"]),
                       "1.2")
        XCTAssertEqual(AppVersion.from(infoDictionary: nil), "unknown")
    }

    func testComputeUnitsTheHostSendsDecode() throws {
        // devices/ios.py COMPUTE_UNITS maps --compute-units all|cpu|cpu-gpu|cpu-ne to these raw values.
        for (raw, expected) in [("all", ComputeUnitsChoice.all), ("cpuOnly", .cpuOnly), ("cpuAndGPU", .cpuAndGPU),
                                ("cpuAndNeuralEngine", .cpuAndNeuralEngine)] {
            let config = try BenchConfig.decode(from: Data(#"{"model_file":"m","compute_units":"\#(raw)"}"#.utf8))
            XCTAssertEqual(config.computeUnits, expected)
        }
        XCTAssertThrowsError(try BenchConfig.decode(from: Data(#"{"model_file":"m","compute_units":"gpu"}"#.utf8)))
    }
}

final class InputTests: XCTestCase {
    func testEveryInputIsPlannedInNameOrder() throws {
        let specs = [InputSpec(name: "mask", kind: .multiArray(shape: [1, 8])),
                     InputSpec(name: "image", kind: .image(width: 4, height: 2)),
                     InputSpec(name: "input", kind: .multiArray(shape: [1, 3, 4, 4]))]
        let plan = try InputFill.plan(specs)
        XCTAssertEqual(plan.map(\.name), ["image", "input", "mask"])
        XCTAssertEqual(plan.map(\.count), [32, 48, 8])
    }

    func testPlanRejectsNoInputsDuplicatesAndEmptyShapes() {
        XCTAssertThrowsError(try InputFill.plan([])) { error in
            XCTAssertEqual(error as? BenchError, .modelUnavailable("model has no inputs"))
        }
        let twice = [InputSpec(name: "x", kind: .multiArray(shape: [1])), InputSpec(name: "x", kind: .multiArray(shape: [2]))]
        XCTAssertThrowsError(try InputFill.plan(twice))
        XCTAssertThrowsError(try InputFill.plan([InputSpec(name: "x", kind: .multiArray(shape: [1, 0]))]))
    }

    func testFillIsDeterministicNonConstantAndInRange() {
        let values = (0..<1000).map(InputFill.value(at:))
        XCTAssertEqual(values, (0..<1000).map(InputFill.value(at:)))
        XCTAssertTrue(values.allSatisfy { $0 >= -0.5 && $0 < 0.5 })
        XCTAssertGreaterThan(Set(values).count, 200)
        XCTAssertEqual(InputFill.byte(at: 1), 14)  // 7919 mod 255
    }
}
