#!/usr/bin/env bash
# The installs users make, each in a clean venv OUTSIDE the checkout, run from a folder outside it too, so that
# nothing can come from the repository by accident (.ci/run calls these; so can anyone, as root or not):
#
#   .ci/installs.sh build DIST      python -m build: the sdist, and the wheel built FROM that sdist, into DIST
#   .ci/installs.sh core DIST       the sdist with the core dependencies only (no torch): the commands README.md says
#                                   the core install runs, and a Mac's `bench run --model x.mlpackage --target
#                                   iphone12 --dry-run` printing the plan
#   .ci/installs.sh wheel DIST      the wheel with [all]: --version, --help, phones, models, and one real run
#
# Each venv is new and shares nothing with the editable one but pip's cache (torch comes from this machine's disk:
# pip's own configuration caps it; constraints.txt pins everything else).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}

started=$(date +%s)
say() { echo "installs: $* ($(( $(date +%s) - started )) s)" >&2; }
fail() { say "FAILED: $*"; exit 1; }

fresh_venv() {  # $1: folder (removed first); its pip is the one venv brings, as in the README's commands
  rm -rf "$1"
  "$python" -m venv "$1"
}

# A folder outside the checkout for the venvs and the runs (never under $repo), removed at exit even after a
# failure: each holds a venv of up to 7 GB.
scratch_root=$(mktemp -d "${TMPDIR:-/tmp}/bench-installs.XXXXXX")
case "$scratch_root/" in "$repo"/*) fail "scratch folder $scratch_root is inside the checkout";; esac
trap 'rm -rf "$scratch_root"' EXIT
scratch() { mkdir "$scratch_root/$1" && echo "$scratch_root/$1"; }

expect() {  # $1: what; rest: the command; its output is kept in $out, shown when it fails
  local what=$1; shift
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | tail -15 >&2
    fail "$what: \`$*\` exited non-zero"
  fi
}

check_version() {  # $1: venv; the one version everywhere: bench --version, bench.__version__, the metadata
  local venv=$1 shown module meta
  expect "bench --version" "$venv/bin/bench" --version; shown=$out
  module=$("$venv/bin/python" -c "import bench; print(bench.__version__)")
  meta=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('mobile-latency-bench'))")
  if [ "$shown" != "bench $module" ] || [ "$module" != "$meta" ]; then
    fail "versions differ: \`bench --version\` '$shown', bench.__version__ $module, metadata $meta"
  fi
  say "version $module (bench --version, bench.__version__ and the package metadata agree)"
}

check_not_from_checkout() {  # $1: venv: bench imports from the venv, and knows no git commit
  local where commit
  where=$(cd / && "$1/bin/python" -c "import bench, devices, exporters; print(bench.__file__, devices.__file__, exporters.__file__)")
  case "$where" in *"$repo"*) fail "the installed package imports from the checkout: $where";; esac
  commit=$(cd / && "$1/bin/python" -c "from bench.core.version import git_commit; print(git_commit())")
  [ "$commit" = None ] || fail "an installed bench reports a git commit ($commit)"
}

build() {  # $1: DIST
  local dist=$1 venv
  venv=$(scratch build)
  fresh_venv "$venv/venv"
  "$venv/venv/bin/pip" install -q -c "$repo/constraints.txt" build
  rm -rf "$dist" && mkdir -p "$dist"
  # The default route: the sdist first, then the wheel from the unpacked sdist, so the wheel proves the sdist whole.
  expect "python -m build" "$venv/venv/bin/python" -m build --outdir "$dist" "$repo"
  rm -rf "$venv"
  ls "$dist"/*.whl "$dist"/*.tar.gz >/dev/null || fail "python -m build made no wheel or no sdist in $dist"
  say "built $(cd "$dist" && echo *)"
}

core() {  # $1: DIST holding the sdist
  local sdist work venv
  sdist=$(ls "$1"/*.tar.gz)
  work=$(scratch core)
  venv=$work/venv
  fresh_venv "$venv"
  "$venv/bin/pip" install -q -c "$repo/constraints.txt" "$sdist"
  for heavy in torch coremltools tensorflow onnxruntime ai_edge_litert timm; do
    ! "$venv/bin/python" -c "import $heavy" 2>/dev/null || fail "the core install brought $heavy"
  done
  cd "$work"
  export BENCH_CACHE=$work/cache BENCH_STORE=$work/store.sqlite BENCH_IOS_LOG_DIR=$work/ios-logs
  check_version "$venv"
  check_not_from_checkout "$venv"
  expect "bench --help" "$venv/bin/bench" --help
  expect "bench phones" "$venv/bin/bench" phones
  expect "bench models" "$venv/bin/bench" models
  # A record from a phone run elsewhere (the app's result JSON), so results and report have something to show.
  expect "bench import ios-result" "$venv/bin/bench" import ios-result "$repo/tests/data/ios/matmul_mnv4.json" \
    --model matmul --target iphone12
  expect "bench results" "$venv/bin/bench" results
  expect "bench report" "$venv/bin/bench" report --name core --out "$work/reports"
  expect "bench compare" "$venv/bin/bench" compare "$repo/results/baselines/ci.json" \
    "$repo/results/baselines/ci.json" --report-only
  # The Mac path: the package's iOS app sources ship in the install; the plan names them.
  expect "bench run --target iphone12 --dry-run" "$venv/bin/bench" run \
    --model "$repo/tests/data/ios/tiny_conv.mlpackage" --target iphone12 --dry-run
  case "$out" in *"xcodegen generate --spec $venv/"*"/devices/ios_app/project.yml"*) ;;
    *) printf '%s\n' "$out" >&2; fail "the dry run's plan does not build the installed app sources";; esac
  [ -f "$(dirname "$(cd / && "$venv/bin/python" -c "import devices; print(devices.__file__)")")/ios_app/project.yml" ] \
    || fail "the installed package has no ios_app/project.yml"
  cd "$repo"
  rm -rf "$work"
  say "core install: --version, --help, phones, models, import, results, report, compare, iphone12 dry run"
}

wheel() {  # $1: DIST holding the wheel
  local whl work venv
  whl=$(ls "$1"/*.whl)
  work=$(scratch wheel)
  venv=$work/venv
  fresh_venv "$venv"
  "$venv/bin/pip" install -q -c "$repo/constraints.txt" "${whl}[all]"
  say "wheel [all] installed"
  [ -f "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mobile_latency_bench-tensorflow-rtld-local.pth" ] \
    || fail "the wheel did not put its .pth file into site-packages"
  cd "$work"
  export BENCH_CACHE=$work/cache BENCH_STORE=$work/store.sqlite
  check_version "$venv"
  check_not_from_checkout "$venv"
  expect "bench --help" "$venv/bin/bench" --help
  expect "bench phones" "$venv/bin/bench" phones
  expect "bench models" "$venv/bin/bench" models
  # One real run: export through torch and ONNX, measure on this machine's CPU, store the record.
  expect "bench run" "$venv/bin/bench" run --model mobileone_s0 --runs 30 --warmup 5 --json
  expect "bench results --json" "$venv/bin/bench" results --json
  "$venv/bin/python" - "$out" "$(cd / && "$venv/bin/python" -c 'import bench; print(bench.__version__)')" <<'EOF' \
    || fail "the stored record is not the wheel's"
import json, sys
rows, version = json.loads(sys.argv[1]), sys.argv[2]
rows = rows if isinstance(rows, list) else rows.get("results", rows.get("records", []))
assert rows, "no stored record"
row = rows[-1]
assert row.get("bench_version") == version, f"bench_version {row.get('bench_version')!r}, expected {version}"
assert row.get("git_commit") in (None, ""), f"git_commit {row.get('git_commit')!r} from an installed wheel"
print(f"installs: stored {row.get('model')} on {row.get('target')}: bench_version {version}, no git commit",
      file=sys.stderr)
EOF
  say "one run stored"
  cd "$repo"
  rm -rf "$work"
  say "wheel [all] install: --version, --help, phones, models, one run of mobileone_s0 on the host CPU"
}

case "${1:-}" in
  build|core|wheel) [ $# -eq 2 ] || fail "usage: $0 build|core|wheel DIST"; "$1" "$(realpath -m "$2")";;
  *) fail "usage: $0 build|core|wheel DIST";;
esac
