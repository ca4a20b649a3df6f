#!/usr/bin/env bash
# The arm64-emu set-up, from Debian's and PyPI's packages only, kept between runs (each step is skipped when its
# stamp exists, so a second run takes a second). Needs root (apt-get install) on Debian 12 (bookworm).
#
#   devices/arm64_emu/setup.sh      # builds everything under $BENCH_ARM64_ROOT (default /var/cache/bench-arm64-emu)
#
# Why qemu is built here: ONNX Runtime's aarch64 build segfaults under bookworm's qemu-user 7.2, and runs under
# trixie's qemu 10.0; but trixie's qemu-user package is statically linked with plugins disabled (debian/rules:
# --static --disable-plugins), and a static qemu cannot load a TCG plugin. So Debian trixie's qemu source package
# is built here, for the one target (aarch64-linux-user), dynamically linked, with plugins: about 3 minutes on two
# cores, once. meson comes from PyPI (qemu 10 needs meson >= 1.5; bookworm has 1.0; the +ds source drops qemu's
# bundled wheels).
#
# pip's --platform does not expand a manylinux tag into the older ones it implies, so every tag glibc 2.36 accepts
# that these wheels use is listed (LiteRT ships manylinux_2_17, numpy 2.3 manylinux_2_28, onnxruntime 2_27/2_28).
#
# What it makes there:
#   qemu/bin/qemu-aarch64  qemu 10.0 user mode with TCG plugins, from trixie's qemu source package
#   qemu/include/          qemu-plugin.h of that source (the plugins are built against it)
#   plugins/libcount.so    the marker-count plugin with the instruction mix (devices/arm64_emu/plugin/count.c)
#   plugins/libcache.so    qemu's contrib/plugins/cache.c (simulated L1/L2 caches)
#   sysroot/               an arm64 Python 3.11 made from Debian bookworm's arm64 .debs (dpkg -x, nothing installed),
#                          with libfaketime (the guest's stopped clock) and stand-ins for the host files the guest reads
#   site/                  aarch64 wheels: ai-edge-litert 1.4.0 (the newest with Linux aarch64 wheels), onnxruntime,
#                          and numpy
#   executorch/            ExecuTorch's aarch64 runtime libraries (lib/) from its manylinux aarch64 wheel, and
#                          pte_runner, devices/arm64_emu/runner/pte_runner.cpp cross-compiled against them with
#                          Debian's g++-aarch64-linux-gnu (no torch in the guest: the wheel's Python bindings load
#                          libtorch first, its C++ libraries do not)
#   versions.json          qemu, plugin, sysroot Python and runtime versions (stored in every record)
#
# Debian's arm64 and source indexes live in a private apt state under the root, so the system's apt configuration
# (architectures, sources) is not changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=${BENCH_ARM64_ROOT:-/var/cache/bench-arm64-emu}
qemu_version=1:10.0.13+ds-0+deb13u1  # Debian trixie; the newest trixie qemu is taken if the mirror dropped this one
meson_version=1.5.0                  # qemu 10.0's pythondeps.toml: meson >= 1.5.0
litert_version=1.4.0
onnxruntime_version=1.32.0
numpy_version=2.3.5
executorch_version=1.5.1          # constraints.txt's; its aarch64 wheel carries the runtime's shared libraries
started=$(date +%s)

log() { echo "arm64-emu setup: $*" >&2; }
done_step() { [ -f "$root/.stamp-$1" ]; }
stamp() { touch "$root/.stamp-$1"; }

mkdir -p "$root"
rm -f "$root/versions.json"  # written last: a half-made set-up is never taken for a ready one
apt_dir="$root/apt"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Architectures::=arm64"
          -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")

# The host's own packages are checked with dpkg, not stamped: a set-up restored from a cache onto a fresh machine
# (the latency workflow) brings the stamps but not these, and qemu and the plugin need libglib2.0-0 at run time.
host_packages=(gcc libc6-dev binutils libglib2.0-dev pkg-config dpkg-dev ninja-build python3-venv xz-utils)

install_host_packages() {
  local missing
  missing=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' "${host_packages[@]}" 2>&1 | grep -cv '^installed ') \
    || true
  [ "$missing" = 0 ] && return
  log "installing gcc, ninja-build, libglib2.0-dev, python3-venv (Debian bookworm)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${host_packages[@]}" >/dev/null
}

private_apt() {
  done_step apt-2 && return
  rm -rf "$apt_dir"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
  cat >"$apt_dir/sources.list" <<'EOF'
deb [arch=arm64] http://deb.debian.org/debian bookworm main
deb [arch=arm64] http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian trixie main
deb-src http://deb.debian.org/debian trixie-updates main
deb-src http://deb.debian.org/debian-security trixie-security main
EOF
  log "fetching Debian's bookworm arm64 and trixie source indexes (private apt state in $apt_dir)"
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  stamp apt-2
}

fetch_qemu_source() {  # $1: where; prints the version it unpacked
  (cd "$1" && { apt-get "${apt_opts[@]}" source -qq --download-only "qemu=$qemu_version" >/dev/null 2>&1 \
     || apt-get "${apt_opts[@]}" source -qq --download-only qemu >/dev/null; })
  (cd "$1" && dpkg-source -x --no-check ./qemu_*.dsc src >/dev/null)
  sed -n 's/^Version: //p' "$1"/qemu_*.dsc | head -1
}

compile_qemu() (  # $1: build folder holding src/; $2: the source version. A subshell: errexit holds inside `if`
  set -e
  /usr/bin/python3 -m venv "$1/meson" &&
  "$1/meson/bin/pip" install -q --disable-pip-version-check "meson==$meson_version" &&
  mkdir -p "$1/out" && cd "$1/out" &&
  "$1/src/configure" --python="$1/meson/bin/python3" --target-list=aarch64-linux-user --without-default-features \
    --enable-plugins --disable-docs --disable-werror --disable-install-blobs --disable-download \
    --with-pkgversion="Debian $2 source" &&
  ninja -j"$(nproc)" qemu-aarch64 contrib/plugins/libcache.so
)

build_qemu() {
  done_step "qemu-$qemu_version" && return
  local build="$root/qemu-build" got
  rm -rf "$build" "$root/qemu" "$root/.stamp-plugins-"*
  mkdir -p "$build" "$root/qemu/bin" "$root/qemu/include"
  log "fetching Debian trixie's qemu source package"
  got=$(fetch_qemu_source "$build")
  log "building qemu $got (aarch64-linux-user with plugins; about 3 minutes on two cores; log: $root/qemu-build.log)"
  if ! compile_qemu "$build" "$got" >"$root/qemu-build.log" 2>&1; then
    tail -5 "$root/qemu-build.log" >&2
    log "the qemu build failed; its log: $root/qemu-build.log"
    exit 1
  fi
  strip -o "$root/qemu/bin/qemu-aarch64" "$build/out/qemu-aarch64"
  cp "$build/src/include/qemu/qemu-plugin.h" "$root/qemu/include/"
  cp "$build/out/contrib/plugins/libcache.so" "$root/qemu/libcache.so"
  echo "$got" >"$root/qemu/source-version"
  rm -rf "$build" "$root/qemu-build.log"  # 500 MB of source and objects, needed only for the build
  stamp "qemu-$qemu_version"
}

build_plugins() {
  # The stamp names count.c's hash, so an edited plugin is rebuilt.
  local step="plugins-$(sha256sum "$here/plugin/count.c" | cut -c1-12)"
  done_step "$step" && return
  rm -rf "$root/plugins"
  mkdir -p "$root/plugins"
  log "building the count plugin"
  # shellcheck disable=SC2046
  gcc -O2 -Wall -Wno-unused-parameter -shared -fPIC -I"$root/qemu/include" $(pkg-config --cflags glib-2.0) \
    -o "$root/plugins/libcount.so" "$here/plugin/count.c" $(pkg-config --libs glib-2.0)
  cp "$root/qemu/libcache.so" "$root/plugins/libcache.so"
  stamp "$step"
}

# The arm64 libraries Python 3.11 and the wheels' extension modules load (the wheels bundle OpenBLAS/gfortran);
# libfaketime, which stops the guest's clock (devices/arm64_emu/emulator.py says why); and the packages of files the
# guest reads from /etc and /usr, so that they are Debian's, not the host's: base-files (os-release, which ONNX
# Runtime reads), libc-bin (the C.UTF-8 locale), openssl (its configuration, read when Python loads libcrypto).
sysroot_packages=(libc6 libgcc-s1 libstdc++6 zlib1g libexpat1 libffi8 libbz2-1.0 liblzma5 libcrypt1
  libuuid1 libsqlite3-0 libssl3 libtinfo6 libncursesw6 libreadline8 libnsl2 libtirpc3 libdb5.3 libgssapi-krb5-2
  libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
  libfaketime base-files libc-bin openssl)

build_sysroot() {
  done_step sysroot-2 && return
  rm -rf "$root/sysroot" "$root/debs" "$root/.stamp-sysroot"
  mkdir -p "$root/sysroot" "$root/debs"
  log "downloading Debian's arm64 Python 3.11 and its libraries"
  (cd "$root/debs" && apt-get "${apt_opts[@]}" download -qq "${sysroot_packages[@]/%/:arm64}" >/dev/null)
  for deb in "$root/debs"/*.deb; do dpkg -x "$deb" "$root/sysroot"; done
  dpkg-deb -f "$root"/debs/python3.11-minimal_*_arm64.deb Version >"$root/sysroot/.python-version"
  dpkg-deb -f "$root"/debs/libfaketime_*_arm64.deb Version >"$root/sysroot/.libfaketime-version"
  rm -rf "$root/debs"
  relink_inside_sysroot
  stamp sysroot-2
}

relink_inside_sysroot() {
  # An absolute link (python's sitecustomize.py -> /etc/python3.11/..., openssl.cnf -> /etc/ssl/...) is followed by
  # the host's kernel, so the guest would read the host's file: point each at the sysroot's own copy instead.
  local link
  while IFS= read -r link; do
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root/sysroot$(readlink "$link")")" "$link"
  done < <(find "$root/sysroot" -type l -lname '/*')
}

guest_files() {
  # qemu -L looks each of the guest's absolute paths up in the sysroot first and falls back to the host's, file by
  # file; these stand in for the host files a guest run reads (listed with qemu -strace), so that the guest sees the
  # set-up's machine whatever the host is: one CPU (glibc's count, ONNX Runtime's cpuinfo), a Cortex-A76 core with
  # its 512 KiB private L2 (Arm's TRM), no PCI, DRM or accelerator devices, an empty loader cache and preload list
  # (the host's x86 cache is of no use to the guest's loader, which then searches its default folders, as before)
  # and no locale aliases (the guest's locale is named exactly). /proc/cpuinfo is qemu's own, from -cpu.
  local cpu="$root/sysroot/sys/devices/system/cpu"
  mkdir -p "$cpu/cpu0/cache/index2" "$cpu/cpu0/topology" "$root/sysroot/sys/bus/pci/devices" \
    "$root/sysroot/sys/class/drm" "$root/sysroot/sys/class/accel" "$root/sysroot/usr/share/locale"
  for name in possible present online kernel_max; do echo 0 >"$cpu/$name"; done
  echo 2 >"$cpu/cpu0/cache/index2/level"
  echo 512K >"$cpu/cpu0/cache/index2/size"
  echo 0 >"$cpu/cpu0/cache/index2/shared_cpu_list"
  echo 0 >"$cpu/cpu0/topology/cluster_cpus_list"
  echo 0 >"$cpu/cpu0/topology/physical_package_id"
  : >"$root/sysroot/etc/ld.so.cache"
  : >"$root/sysroot/etc/ld.so.preload"
  : >"$root/sysroot/usr/share/locale/locale.alias"
}

pip_python() {
  # A Python whose pip downloads the aarch64 wheels: $BENCH_SETUP_PYTHON, the checkout's .venv, python3 when it has
  # pip; else a venv of Debian's python3 made here (python3-venv is a host package above): Debian's python3 itself
  # has no pip, and on a fresh machine setup.sh runs before any project venv exists.
  local python
  for python in "${BENCH_SETUP_PYTHON:-}" "$repo/.venv/bin/python" python3; do
    [ -n "$python" ] && "$python" -m pip --version >/dev/null 2>&1 && { echo "$python"; return; }
  done
  [ -x "$root/pip-venv/bin/python" ] || /usr/bin/python3 -m venv "$root/pip-venv" >&2
  echo "$root/pip-venv/bin/python"
}

install_wheels() {
  local step="site-$litert_version-$onnxruntime_version-$numpy_version"
  done_step "$step" && return
  local python
  python=$(pip_python)
  rm -rf "$root/site"
  log "installing aarch64 wheels: ai-edge-litert $litert_version, onnxruntime $onnxruntime_version, numpy $numpy_version"
  # onnxruntime without its dependencies: importing it and running a session needs numpy only (flatbuffers,
  # protobuf and sympy serve its converters and tools).
  "$python" -m pip install -q --disable-pip-version-check --no-warn-conflicts --target "$root/site" \
    --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform manylinux_2_27_aarch64 \
    --platform manylinux_2_28_aarch64 --python-version 3.11 --only-binary=:all: \
    "ai-edge-litert==$litert_version" "numpy==$numpy_version"
  rm -rf "$root/site/bin"  # console scripts, unused in the guest; the second install would warn that they exist
  "$python" -m pip install -q --disable-pip-version-check --no-warn-conflicts --no-deps --target "$root/site" \
    --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform manylinux_2_27_aarch64 \
    --platform manylinux_2_28_aarch64 --python-version 3.11 --only-binary=:all: \
    "onnxruntime==$onnxruntime_version"
  stamp "$step"
}

build_executorch_runner() {
  # The stamp names the runner source's hash, so an edited runner is rebuilt.
  local step="executorch-$executorch_version-$(sha256sum "$here/runner/pte_runner.cpp" | cut -c1-12)"
  done_step "$step" && return
  local python=${BENCH_SETUP_PYTHON:-} work="$root/executorch-build" et
  if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
  fi
  if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
    log "installing Debian's aarch64 cross compiler (g++-aarch64-linux-gnu)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu >/dev/null
  fi
  rm -rf "$work" "$root/executorch"
  mkdir -p "$work" "$root/executorch"
  log "fetching executorch $executorch_version's aarch64 wheel and building pte_runner against its libraries"
  "$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$work" \
    --platform manylinux_2_28_aarch64 --python-version 3.11 "executorch==$executorch_version"
  (cd "$work" && "$python" -m zipfile -e executorch-*.whl unpacked)
  et="$work/unpacked/executorch"
  # The definitions and the second include folder are the ones the wheel's share/cmake/executorch-config.cmake
  # gives a consumer (EXECUTORCH_COMPILE_DEFINITIONS, EXECUTORCH_INCLUDE_DIRS). --no-as-needed keeps the backend and
  # kernel libraries, which register themselves from static initialisers and are never called by name.
  aarch64-linux-gnu-g++ -std=c++17 -O2 -Wno-deprecated-declarations -DC10_USING_CUSTOM_GENERATED_MACROS -DET_EVENT_TRACER_ENABLED \
    -DET_USE_THREADPOOL -I"$et/include" -I"$et/include/executorch/runtime/core/portable_type/c10" \
    -o "$root/executorch/pte_runner" "$here/runner/pte_runner.cpp" -L"$et/lib" -Wl,--no-as-needed -lexecutorch \
    -lexecutorch_backend_xnnpack -lexecutorch_kernels_optimized -lexecutorch_kernels_quantized \
    -lexecutorch_threadpool -Wl,--as-needed -Wl,-rpath,'$ORIGIN/lib'
  mkdir -p "$root/executorch/lib"
  cp "$et"/lib/libexecutorch*.so "$root/executorch/lib/"
  echo "$executorch_version" >"$root/executorch/version"
  rm -rf "$work"
  stamp "$step"
}

write_versions() {
  local qemu_line python_version
  qemu_line=$("$root/qemu/bin/qemu-aarch64" --version | head -1)
  python_version=$(cat "$root/sysroot/.python-version")
  ver() { ls -d "$root/site/$1"-*.dist-info 2>/dev/null | head -1 | sed -E "s/.*$1-([^/]*)\.dist-info/\1/"; }
  cat >"$root/versions.json.new" <<EOF
{"qemu": "$qemu_line", "qemu_package": "$(cat "$root/qemu/source-version") (source, built here)",
 "plugins_source": "qemu $(cat "$root/qemu/source-version")",
 "count_plugin_sha256": "$(sha256sum "$root/plugins/libcount.so" | cut -c1-16)",
 "sysroot_python": "$python_version", "litert": "$(ver ai_edge_litert)", "onnxruntime": "$(ver onnxruntime)",
 "numpy": "$(ver numpy)", "libfaketime": "$(cat "$root/sysroot/.libfaketime-version")",
 "executorch": "$(cat "$root/executorch/version")",
 "pte_runner_sha256": "$(sha256sum "$root/executorch/pte_runner" | cut -c1-16)"}
EOF
  mv "$root/versions.json.new" "$root/versions.json"
}

install_host_packages
private_apt
build_qemu
build_plugins
build_sysroot
guest_files
install_wheels
build_executorch_runner
write_versions
log "ready in $root ($(( $(date +%s) - started )) s)"
