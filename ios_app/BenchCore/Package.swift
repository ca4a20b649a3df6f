// swift-tools-version:5.9
// BenchCore: everything of the iOS benchmark app that does not need UIKit or Core ML, so it builds and is tested
// on Linux too (see ../scripts/swift-toolchain.sh). The Core ML runner is compiled only where Core ML exists.
import PackageDescription

let package = Package(
    name: "BenchCore",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [.library(name: "BenchCore", targets: ["BenchCore"])],
    targets: [
        .target(
            name: "BenchCore",
            // Debian's Swift links with GNU ld: libm must be named for rounded()/squareRoot().
            linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]
        ),
        // Fixtures/: read by the tests from their own path (#filePath), not bundled as resources.
        .testTarget(name: "BenchCoreTests", dependencies: ["BenchCore"], exclude: ["Fixtures"]),
    ]
)
