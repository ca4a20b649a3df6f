import Foundation
import XCTest
@testable import BenchCore

/// A runner that does real work (a small matrix product), so the timing loop measures something real.
final class MatmulRunner: PredictionRunner {
    let n: Int
    var a: [Float], b: [Float], c: [Float]
    init(n: Int) {
        self.n = n
        a = (0..<(n * n)).map { Float($0 % 13) / 13 }
        b = (0..<(n * n)).map { Float($0 % 7) / 7 }
        c = [Float](repeating: 0, count: n * n)
    }
    var computeUnitsDescription: String { "cpuOnly" }
    func prepare() throws -> (compileSeconds: Double?, loadSeconds: Double) { (nil, 0) }
    func predict() throws {
        for i in 0..<n { for j in 0..<n {
            var s: Float = 0
            for k in 0..<n { s += a[i * n + k] * b[k * n + j] }
            c[i * n + j] = s
        } }
    }
}

/// A clock that advances 1 ms per reading: makes the loop's bookkeeping checkable exactly.
final class SteppingClock: MonotonicClock {
    var now: UInt64 = 0
    func nowNanoseconds() -> UInt64 { now += 1_000_000; return now }
}

final class CodingTests: XCTestCase {
    func testConfigDecodesDefaultsAndRejectsBadValues() throws {
        let config = try BenchConfig.decode(from: Data(#"{"model_file": "m.mlpackage"}"#.utf8))
        XCTAssertEqual(config, BenchConfig(modelFile: "m.mlpackage"))
        let custom = try BenchConfig.decode(from: Data(
            #"{"model_file":"m.mlpackage","compute_units":"cpuAndNeuralEngine","runs":50,"rounds":20,"warmup":10,"protocol":"modelbench"}"#.utf8))
        XCTAssertEqual(custom.computeUnits, .cpuAndNeuralEngine)
        XCTAssertEqual(custom.rounds, 20)
        XCTAssertThrowsError(try BenchConfig.decode(from: Data(#"{"model_file":"m","runs":0}"#.utf8))) { error in
            XCTAssertEqual(error as? BenchError, .invalidConfig("runs must be at least 1 (got 0)"))
        }
        XCTAssertThrowsError(try BenchConfig.decode(from: Data("not json".utf8)))
    }

    func testTimingLoopReadsTheClockAroundTheBodyOnly() throws {
        let loop = TimingLoop(clock: SteppingClock())
        var calls = 0
        let samples = loop.measure(warmup: 3, runs: 4, rounds: 2) { calls += 1 }
        XCTAssertEqual(calls, 3 + 8)
        XCTAssertEqual(samples, [[1_000_000, 1_000_000, 1_000_000, 1_000_000], [1_000_000, 1_000_000, 1_000_000, 1_000_000]])
    }

    func testSessionResultRoundTripsThroughSnakeCaseJSON() throws {
        let config = BenchConfig(modelFile: "matmul", computeUnits: .cpuOnly, warmup: 2, runs: 20, rounds: 3,
                                 protocolName: "mnv4")
        let device = BenchResult.Device(model: "Linux-x86_64", systemName: "Linux", systemVersion: "test")
        var states = ["nominal", "fair"]
        let result = try BenchSession(config: config, device: device, appVersion: "1.0 (1)",
                                      thermalState: { states.removeFirst() }).run(MatmulRunner(n: 24))
        XCTAssertEqual(result.samplesNs.count, 3)
        XCTAssertTrue(result.samplesNs.allSatisfy { $0.count == 20 && $0.allSatisfy { $0 > 0 } })
        XCTAssertEqual(result.thermalStateStart, "nominal")
        XCTAssertEqual(result.thermalStateEnd, "fair")
        let data = try result.encoded()
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for key in ["schema_version", "samples_ns", "first_prediction_ms", "load_s", "compute_units",
                    "thermal_state_start", "thermal_state_end", "device", "summary", "protocol", "started_at"] {
            XCTAssertNotNil(json[key], key)
        }
        XCTAssertEqual(try BenchResult.decode(data), result)
        let pooled = result.samplesNs.flatMap { $0 }.map { Double($0) / 1e6 }
        XCTAssertEqual(result.summary.minMs, pooled.min()!)
        XCTAssertTrue(result.resultLine(file: "r.json").hasPrefix("BENCH_RESULT model=matmul runs=20 rounds=3"))
        XCTAssertTrue(result.resultLine(file: "r.json").hasSuffix(" file=r.json"))
        XCTAssertEqual(result.appVersion, "1.0 (1)")
        try writeForHost(data, name: "matmul_mnv4.json")
    }

    func testHeadlessReadsConfigAndWritesResult() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = #"{"model_file":"matmul","compute_units":"cpuOnly","warmup":5,"runs":50,"rounds":20,"protocol":"modelbench"}"#
        try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertEqual(Headless.configName(from: ["BenchApp", "--headless", "config.json"]), "config.json")
        XCTAssertNil(Headless.configName(from: ["BenchApp"]))
        let line = try Headless.run(
            documents: dir, configName: "config.json",
            device: BenchResult.Device(model: "Linux-x86_64", systemName: "Linux", systemVersion: "test"),
            appVersion: "1.0 (1)", thermalState: { "nominal" }, makeRunner: { _, _ in MatmulRunner(n: 16) })
        XCTAssertTrue(line.hasPrefix("BENCH_RESULT model=matmul runs=50 rounds=20"))
        XCTAssertTrue(line.hasSuffix(" file=result.json"))
        let data = try Data(contentsOf: dir.appendingPathComponent("result.json"))
        XCTAssertEqual(try BenchResult.decode(data).samplesNs.count, 20)
        try writeForHost(data, name: "matmul_modelbench.json")
    }

    /// Result files for the host's parser tests (tests/test_ios.py), so host and app agree on one format.
    private func writeForHost(_ data: Data, name: String) throws {
        guard let out = ProcessInfo.processInfo.environment["BENCH_RESULT_OUT"], !out.isEmpty else { return }
        try data.write(to: URL(fileURLWithPath: out).appendingPathComponent(name))
    }
}
