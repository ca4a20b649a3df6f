#!/usr/bin/env bash
# Type-check the Apple half of the app (BenchCore's CoreMLRunner.swift, BenchApp/BenchApp.swift, and the Core ML tests
# the simulator runs) with a Linux Swift toolchain, against the declaration-only modules in AppleShims/ (each
# declaration cites its Apple documentation page). A misspelt member, a wrong argument label or a wrong type fails
# here, before anyone owns a Mac. Nothing is linked or run. Language mode 5, as project.yml's SWIFT_VERSION.
#
#   typecheck.sh APP_DIR [BUILD_DIR]     # APP_DIR: a copy of ios_app/ (the caller may have mutated it)
#
# ios_app/scripts/swift-toolchain.sh typecheck runs this inside its Debian trixie chroot.
set -euo pipefail

app=$(cd "${1:?usage: typecheck.sh APP_DIR [BUILD_DIR]}" && pwd)
build=${2:-$(mktemp -d)}
mkdir -p "$build"
shims="$app/typecheck/AppleShims"
flags=(-swift-version 5 -parse-as-library -I "$build")

# NAME FILE...: a module of declarations. Library evolution keeps its enums non-frozen, as Apple's are (a switch over
# one needs `@unknown default`). Its output shows only on failure: a library-evolution module over Linux Foundation
# always warns that Foundation itself was not built that way, which says nothing here.
module() {
  local name=$1 out; shift
  echo "typecheck: module $name" >&2
  out=$(swiftc -emit-module -module-name "$name" -enable-library-evolution "${flags[@]}" \
    -emit-module-path "$build/$name.swiftmodule" "$@" 2>&1) || { echo "$out" >&2; return 1; }
}

module AppleOnlyFoundation "$shims/AppleOnlyFoundation.swift"
module CoreVideo "$shims/CoreVideo.swift"
module CoreML "$shims/CoreML.swift"
module UIKit "$shims/UIKit.swift"
module SwiftUI "$shims/SwiftUI.swift"

# BenchCore with the stand-ins visible: canImport(CoreML) holds, so CoreMLRunner.swift is compiled and checked.
echo "typecheck: BenchCore (CoreMLRunner.swift included)" >&2
swiftc -emit-module -module-name BenchCore -enable-testing "${flags[@]}" \
  -emit-module-path "$build/BenchCore.swiftmodule" "$app"/BenchCore/Sources/BenchCore/*.swift
echo "typecheck: probe (stand-ins on the import path, CoreMLRunner compiled in)" >&2
swiftc -typecheck -swift-version 5 -I "$build" "$app/typecheck/Probe.swift"
echo "typecheck: BenchApp.swift" >&2
swiftc -typecheck "${flags[@]}" "$app/BenchApp/BenchApp.swift"
# The Core ML tests the simulator runs (XCTest: Linux Swift ships it too, beside its platform modules).
echo "typecheck: CoreMLRunnerTests.swift" >&2
xctest=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib/swift/linux/$(uname -m)
swiftc -typecheck "${flags[@]}" -I "$xctest" "$app/BenchCore/Tests/BenchCoreTests/CoreMLRunnerTests.swift"
echo "typecheck: passed (CoreMLRunner.swift, BenchApp.swift, CoreMLRunnerTests.swift against AppleShims)" >&2
