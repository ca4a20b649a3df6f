import XCTest
@testable import BenchCore

final class StatisticsTests: XCTestCase {
    func testMinimumMeanMedian() {
        XCTAssertEqual(Statistics.minimum([3, 2.5, 4]), 2.5)
        XCTAssertEqual(Statistics.mean([1, 2, 3, 4]), 2.5)
        XCTAssertEqual(Statistics.median([5, 1, 3]), 3)
        XCTAssertEqual(Statistics.median([4, 1, 3, 2]), 2.5)
        XCTAssertNil(Statistics.median([]))
    }

    func testStandardDeviationBesselCorrected() {
        XCTAssertEqual(Statistics.standardDeviation([1, 2, 3, 4])!, 1.2909944, accuracy: 1e-6)
    }

    func testModelBenchTrimsTenOfFiftyEachSide() {
        // Same hand-computed case as tests/test_protocols.py: keep 11...40 -> 25.5, shifted round -> 125.5.
        let round1 = (1...50).map(Double.init)
        let round2 = round1.map { $0 + 100 }
        let r = Statistics.trimmedRounds([round1, round2])!
        XCTAssertEqual(r.mean, (25.5 + 125.5) / 2, accuracy: 1e-12)
        XCTAssertEqual(r.low, 11)
        XCTAssertEqual(r.high, 140)
    }

    func testModelBenchIgnoresSpikesInTrimmedTails() {
        let spiky = [Double](repeating: 5, count: 40) + [Double](repeating: 500, count: 10)
        XCTAssertEqual(Statistics.trimmedRounds([spiky])!.mean, 5)
    }

    func testMedianOfMeansByHand() {
        // means 2, 5, 3, 10, 4 -> median 4
        XCTAssertEqual(Statistics.medianOfMeans([[1, 3], [5, 5], [2, 4], [10, 10], [4, 4]]), 4)
    }
}
