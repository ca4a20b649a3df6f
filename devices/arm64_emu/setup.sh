#!/usr/bin/env bash
# The arm64-emu set-up, from Debian's and PyPI's packages only, kept between runs (each step is skipped when its
# stamp exists, so a second run takes a second). Needs root (apt-get install) on Debian 12 (bookworm).
#
#   devices/arm64_emu/setup.sh            # builds everything under $BENCH_ARM64_ROOT (default /var/cache/bench-arm64-emu)
#
# pip's --platform does not expand a manylinux tag into the older ones it implies, so every tag glibc 2.36 accepts
# that these wheels use is listed (LiteRT ships manylinux_2_17, numpy 2.3 manylinux_2_28).
#
# What it makes there:
#   plugins/libcount.so   the marker-count plugin (devices/arm64_emu/plugin/count.c), built against qemu-plugin.h
#                         from Debian's qemu source package of the installed qemu-user
#   plugins/libcache.so   qemu's contrib/plugins/cache.c (simulated L1 caches), plus libbb.so / libinsn.so
#   sysroot/              an arm64 Python 3.11 made from Debian's arm64 .debs (dpkg -x, nothing installed)
#   site/                 aarch64 wheels: ai-edge-litert 1.4.0 (the newest with Linux aarch64 wheels) and numpy
#   versions.json         qemu, plugin source, sysroot Python and runtime versions (stored in every record)
#
# Debian's arm64 and source indexes live in a private apt state under the root, so the system's apt configuration
# (architectures, sources) is not changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=${BENCH_ARM64_ROOT:-/var/cache/bench-arm64-emu}
litert_version=1.4.0
numpy_version=2.3.5
started=$(date +%s)

log() { echo "arm64-emu setup: $*" >&2; }
done_step() { [ -f "$root/.stamp-$1" ]; }
stamp() { touch "$root/.stamp-$1"; }

mkdir -p "$root"
apt_dir="$root/apt"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Architectures::=arm64"
          -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")

install_host_packages() {
  done_step host && return
  log "installing qemu-user, libglib2.0-dev, gcc (Debian bookworm)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-user libglib2.0-dev gcc pkg-config dpkg-dev >/dev/null
  stamp host
}

private_apt() {
  done_step apt && return
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
  cat >"$apt_dir/sources.list" <<'EOF'
deb [arch=arm64] http://deb.debian.org/debian bookworm main
deb [arch=arm64] http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
EOF
  log "fetching Debian's arm64 and source indexes (private apt state in $apt_dir)"
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  stamp apt
}

build_plugins() {
  # The stamp names count.c's hash, so an edited plugin is rebuilt.
  local step="plugins-$(sha256sum "$here/plugin/count.c" | cut -c1-12)"
  done_step "$step" && return
  local qemu_version src
  qemu_version=$(dpkg-query -W -f '${Version}' qemu-user)
  rm -rf "$root/qemu-src" "$root/plugins"
  mkdir -p "$root/qemu-src" "$root/plugins"
  log "fetching qemu $qemu_version source (for qemu-plugin.h and the plugins)"
  (cd "$root/qemu-src" && apt-get "${apt_opts[@]}" source -qq --download-only "qemu=$qemu_version" >/dev/null 2>&1 \
     || apt-get "${apt_opts[@]}" source -qq --download-only qemu >/dev/null)
  (cd "$root/qemu-src" && dpkg-source -x --no-check ./*.dsc src >/dev/null)
  src="$root/qemu-src/src"
  local cflags
  cflags="-O2 -shared -fPIC -I$src/include/qemu $(pkg-config --cflags glib-2.0)"
  # shellcheck disable=SC2086
  gcc $cflags -o "$root/plugins/libcount.so" "$here/plugin/count.c" $(pkg-config --libs glib-2.0)
  for p in tests/plugin/bb tests/plugin/insn contrib/plugins/cache; do
    # shellcheck disable=SC2086
    gcc $cflags -o "$root/plugins/lib$(basename $p).so" "$src/$p.c" $(pkg-config --libs glib-2.0)
  done
  echo "$qemu_version" >"$root/plugins/source-version"
  rm -rf "$root/qemu-src"  # 300 MB of source, needed only for these few seconds of compiling
  stamp "$step"
}

# The arm64 libraries Python 3.11 and the wheels' extension modules load (the wheels bundle OpenBLAS/gfortran).
sysroot_packages=(libc6 libgcc-s1 libstdc++6 zlib1g libexpat1 libffi8 libbz2-1.0 liblzma5 libcrypt1
  libuuid1 libsqlite3-0 libssl3 libtinfo6 libncursesw6 libreadline8 libnsl2 libtirpc3 libdb5.3 libgssapi-krb5-2
  libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib)

build_sysroot() {
  done_step sysroot && return
  rm -rf "$root/sysroot" "$root/debs"
  mkdir -p "$root/sysroot" "$root/debs"
  log "downloading Debian's arm64 Python 3.11 and its libraries"
  (cd "$root/debs" && apt-get "${apt_opts[@]}" download -qq "${sysroot_packages[@]/%/:arm64}" >/dev/null)
  for deb in "$root/debs"/*.deb; do dpkg -x "$deb" "$root/sysroot"; done
  dpkg-deb -f "$root"/debs/python3.11-minimal_*_arm64.deb Version >"$root/sysroot/.python-version"
  rm -rf "$root/debs"
  stamp sysroot
}

install_wheels() {
  done_step site && return
  local python=${BENCH_SETUP_PYTHON:-}
  if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
  fi
  rm -rf "$root/site"
  log "installing aarch64 wheels: ai-edge-litert $litert_version, numpy $numpy_version"
  "$python" -m pip install -q --disable-pip-version-check --no-warn-conflicts --target "$root/site" \
    --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 \
    --python-version 3.11 --only-binary=:all: "ai-edge-litert==$litert_version" "numpy==$numpy_version"
  stamp site
}

write_versions() {
  local qemu_line python_version
  qemu_line=$(qemu-aarch64 --version | head -1)
  python_version=$(cat "$root/sysroot/.python-version")
  ver() { ls -d "$root/site/$1"-*.dist-info 2>/dev/null | head -1 | sed -E "s/.*$1-([^/]*)\.dist-info/\1/"; }
  cat >"$root/versions.json" <<EOF
{"qemu": "$qemu_line", "qemu_package": "$(dpkg-query -W -f '${Version}' qemu-user)",
 "plugins_source": "qemu $(cat "$root/plugins/source-version")",
 "count_plugin_sha256": "$(sha256sum "$root/plugins/libcount.so" | cut -c1-16)",
 "sysroot_python": "$python_version", "litert": "$(ver ai_edge_litert)", "numpy": "$(ver numpy)"}
EOF
}

install_host_packages
private_apt
build_plugins
build_sysroot
install_wheels
write_versions
log "ready in $root ($(( $(date +%s) - started )) s)"
