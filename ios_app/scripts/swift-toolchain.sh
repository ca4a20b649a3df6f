#!/usr/bin/env bash
# Swift on Debian 12 (which packages none): a Debian 13 (trixie) chroot with the `swiftlang` package, kept between
# runs on the same machine and re-created on a fresh one. Then `swift build` / `swift test` of ios_app/BenchCore
# inside it, with the package bind-mounted. Everything mounted here is unmounted on exit, also on failure.
#
#   ios_app/scripts/swift-toolchain.sh test [OUT_DIR]   # swift test; result JSON written by the tests go to OUT_DIR
#   ios_app/scripts/swift-toolchain.sh typecheck [APP_DIR]   # the Apple half against ios_app/typecheck/AppleShims
#                                       # (APP_DIR: default ios_app; tests/test_ios.py passes mutated copies)
#
# Needs root (debootstrap, chroot, mount). Chroot location: $BENCH_SWIFT_CHROOT (default /var/cache/bench-swift-trixie).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
root=${BENCH_SWIFT_CHROOT:-/var/cache/bench-swift-trixie}
action=${1:-test}
case "$action" in
  build|test|typecheck) ;;
  *) echo "swift-toolchain: unknown action $action (build, test or typecheck)" >&2; exit 2 ;;
esac

log() { echo "swift-toolchain: $*" >&2; }

ensure_chroot() {
  # /usr/bin/swift in the chroot is an absolute symlink: test the real binary, not the link.
  if [ -x "$root/usr/libexec/swift/bin/swift" ] && [ -f "$root/.bench-ready" ]; then
    return
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  log "creating trixie chroot at $root (about 1 minute)"
  rm -rf "$root"
  mkdir -p "$root"
  debootstrap --variant=minbase --include=ca-certificates trixie "$root" http://deb.debian.org/debian >/dev/null
  mount -t proc proc "$root/proc"
  trap 'umount "$root/proc" 2>/dev/null || true' RETURN
  log "installing swiftlang in the chroot (about 550 MB download)"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq swiftlang >/dev/null
  touch "$root/.bench-ready"
}

mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT

ensure_chroot
mount -t proc proc "$root/proc"; mounted+=("$root/proc")

swift_package() {  # build or test BenchCore, bind-mounted at /src/BenchCore; test results to OUT_DIR ($2)
  local out_dir=${2:-}
  mkdir -p "$root/src/BenchCore" "$root/out"
  mount --bind "$here/BenchCore" "$root/src/BenchCore"; mounted+=("$root/src/BenchCore")
  if [ -n "$out_dir" ]; then
    mkdir -p "$out_dir"
    mount --bind "$out_dir" "$root/out"; mounted+=("$root/out")
  fi
  if [ "$1" = build ]; then
    chroot "$root" bash -c 'cd /src/BenchCore && swift build --scratch-path /tmp/benchcore-build'
  else
    # XCTest only: without --disable-swift-testing the run ends with "0 tests passed" from Swift Testing.
    chroot "$root" env BENCH_RESULT_OUT=/out bash -c \
      'cd /src/BenchCore && swift test --scratch-path /tmp/benchcore-build --disable-swift-testing'
  fi
}

typecheck() {  # a private copy of the app's sources in the chroot (runs never share one), removed afterwards
  local app=${1:-$here} work
  work=$(mktemp -d "$root/tmp/bench-typecheck.XXXXXX")
  # shellcheck disable=SC2064  # expanded now on purpose: $work is local to this function
  trap "rm -rf '$work'; cleanup" EXIT
  mkdir -p "$work/app/BenchCore"
  cp -r "$app/BenchCore/Sources" "$app/BenchCore/Tests" "$work/app/BenchCore/"
  cp -r "$app/BenchApp" "$app/typecheck" "$work/app/"
  chroot "$root" bash "/tmp/${work##*/}/app/typecheck/typecheck.sh" "/tmp/${work##*/}/app" "/tmp/${work##*/}/build"
}

case "$action" in
  build|test) swift_package "$action" "${2:-}" ;;
  typecheck) typecheck "${2:-}" ;;
esac
