import Foundation
import XCTest
@testable import BenchCore

/// The model archive the host sends. Fixtures/tiny_conv.mlpackage.tar is what devices/ios.py `pack_package` (Python's
/// tarfile) makes of tests/data/ios/tiny_conv.mlpackage; tests/test_ios.py checks it still is, byte for byte.
final class PackageArchiveTests: XCTestCase {
    static let fixture: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("tiny_conv.mlpackage.tar")
    /// The package's files and their sizes (`wc -c` of tests/data/ios/tiny_conv.mlpackage).
    static let files = ["tiny_conv.mlpackage/Data/com.apple.CoreML/model.mlmodel": 2785,
                        "tiny_conv.mlpackage/Data/com.apple.CoreML/weights/weight.bin": 704,
                        "tiny_conv.mlpackage/Manifest.json": 617]

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("archive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func testReadsEveryFileAndFolderOfTheHostsArchive() throws {
        let entries = try PackageArchive.read(Data(contentsOf: Self.fixture))
        let sizes = Dictionary(uniqueKeysWithValues: entries.filter { !$0.isDirectory }.map { ($0.path, $0.contents.count) })
        XCTAssertEqual(sizes, Self.files)
        XCTAssertEqual(Set(entries.filter(\.isDirectory).map(\.path)),
                       ["tiny_conv.mlpackage", "tiny_conv.mlpackage/Data", "tiny_conv.mlpackage/Data/com.apple.CoreML",
                        "tiny_conv.mlpackage/Data/com.apple.CoreML/weights"])
    }

    func testUnpacksThePackageIntoDocumentsReplacingAnOlderOne() throws {
        let stale = folder.appendingPathComponent("tiny_conv.mlpackage/stale.txt")
        try FileManager.default.createDirectory(at: stale.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: stale)
        try FileManager.default.copyItem(at: Self.fixture, to: folder.appendingPathComponent("m.tar"))
        try PackageArchive.unpack(folder.appendingPathComponent("m.tar"), into: folder, expecting: "tiny_conv.mlpackage")
        for (path, size) in Self.files {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(path).path)
            XCTAssertEqual((attributes[.size] as? NSNumber)?.intValue, size, path)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        let manifest = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("tiny_conv.mlpackage/Manifest.json"))) as? [String: Any]
        XCTAssertNotNil(manifest?["itemInfoEntries"])
    }

    func testRefusesAnArchiveOfAnotherPackage() throws {
        XCTAssertThrowsError(try PackageArchive.unpack(Self.fixture, into: folder, expecting: "other.mlpackage")) {
            XCTAssertTrue("\($0)".contains("not other.mlpackage alone"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    func testRefusesADamagedHeaderACutArchiveAndAMissingOne() throws {
        var damaged = try Data(contentsOf: Self.fixture)
        damaged[10] ^= 0x01  // a byte of the first name: the checksum no longer matches
        XCTAssertThrowsError(try PackageArchive.read(damaged)) { XCTAssertTrue("\($0)".contains("bad checksum"), "\($0)") }
        let cut = try Data(contentsOf: Self.fixture).prefix(512 * 6)  // inside model.mlmodel's data
        XCTAssertThrowsError(try PackageArchive.read(cut)) { XCTAssertTrue("\($0)".contains("cut short"), "\($0)") }
        let noEnd = try Data(contentsOf: Self.fixture).prefix(512)  // one folder header, no end-of-archive blocks
        XCTAssertThrowsError(try PackageArchive.read(noEnd)) { XCTAssertTrue("\($0)".contains("no end-of-archive"), "\($0)") }
        XCTAssertThrowsError(try PackageArchive.unpack(folder.appendingPathComponent("absent.tar"), into: folder,
                                                       expecting: "tiny_conv.mlpackage")) {
            XCTAssertTrue("\($0)".contains("no model archive"), "\($0)")
        }
    }

    func testAHeadlessRunUnpacksTheArchiveItsConfigNamesBeforeTheModelIsOpened() throws {
        try FileManager.default.copyItem(at: Self.fixture, to: folder.appendingPathComponent("tiny_conv.mlpackage.tar"))
        let config = #"{"model_file":"tiny_conv.mlpackage","model_archive":"tiny_conv.mlpackage.tar","warmup":1,"runs":3,"#
            + #""result_file":"bench-result.json"}"#
        try Data(config.utf8).write(to: folder.appendingPathComponent("bench-config.json"))
        var opened: URL?
        var manifestThere = false
        let line = try Headless.run(
            documents: folder, configName: "bench-config.json",
            device: BenchResult.Device(model: "Linux-x86_64", systemName: "Linux", systemVersion: "test"),
            appVersion: "1.0 (1)", thermalState: { "nominal" }, makeRunner: { url, _ in
                opened = url
                manifestThere = FileManager.default.fileExists(atPath: url.appendingPathComponent("Manifest.json").path)
                return MatmulRunner(n: 4)
            })
        XCTAssertEqual(opened?.lastPathComponent, "tiny_conv.mlpackage")
        XCTAssertTrue(manifestThere)
        XCTAssertTrue(line.hasPrefix("BENCH_RESULT"), line)
    }

    func testRefusesAnUnsafeName() throws {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { for (i, byte) in text.utf8.enumerated() { header[offset + i] = byte } }
        put("../evil", at: 0)
        put("0000644", at: 100)
        put("00000000000", at: 124)
        put("0", at: 156)
        put("ustar", at: 257)
        put("00", at: 263)
        let sum = PackageArchive.checksum(header)
        put(String(format: "%06o", sum), at: 148)
        header[154] = 0
        header[155] = 32
        let archive = Data(header + [UInt8](repeating: 0, count: 1024))
        XCTAssertThrowsError(try PackageArchive.read(archive)) { XCTAssertTrue("\($0)".contains("unsafe name"), "\($0)") }
    }
}
