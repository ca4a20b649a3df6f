#!/usr/bin/env bash
# The steps of the latency gate, one subcommand each, shared by .ci/run and .github/workflows/latency.yml so that
# both run the same commands in the same order:
#
#   .ci/latency.sh setup                      the arm64-emu set-up (root; each step skipped when already made)
#   .ci/latency.sh install VENV SRC EXTRAS    a new venv at VENV with SRC installed editable with [EXTRAS]
#   .ci/latency.sh switch VENV SRC            point VENV's editable install at another checkout (base or head)
#   .ci/latency.sh measure VENV STORE         the CI suite through VENV's bench, stored in STORE
#   .ci/latency.sh compare VENV OLD NEW ARGS  bench compare OLD NEW, gating on the emulated counts only
#
# SUITE, RUNS and WARMUP are set here only. The workflow adds PyTorch's CPU index with PIP_EXTRA_INDEX_URL (pip reads
# it); this machine's pip configuration already points at its local packages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SUITE=ci
RUNS=300
WARMUP=30

usage() { echo "usage: $0 setup | install VENV SRC EXTRAS | switch VENV SRC | measure VENV STORE | compare VENV OLD NEW [ARGS]" >&2; exit 2; }

setup() {
  bash "$here/../devices/arm64_emu/setup.sh"
}

install() {  # the README's install command, with the checkout and the extras named
  local venv=$1 src=$2 extras=$3
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -e "${src}[${extras}]" -c "$src/constraints.txt"
}

switch() {
  local venv=$1 src=$2
  "$venv/bin/pip" install -q --no-deps -e "$src"
}

measure() {  # the whole log is kept beside the store; its tail is shown when the suite fails
  local venv=$1 store=$2
  if ! "$venv/bin/bench" run --suite "$SUITE" --runs "$RUNS" --warmup "$WARMUP" --store "$store" >"$store.log" 2>&1
  then
    echo "latency: the $SUITE suite did not run (log: $store.log):" >&2
    tail -5 "$store.log" >&2
    return 1
  fi
}

compare() {  # the timed host rows are reported only (they move with the machine); a slower count fails
  local venv=$1 old=$2 new=$3
  shift 3
  "$venv/bin/bench" compare "$old" "$new" --report-only --gate-counts "$@"
}

case "${1:-}" in
  setup) [ $# -eq 1 ] || usage; setup;;
  install) [ $# -eq 4 ] || usage; install "$2" "$3" "$4";;
  switch) [ $# -eq 3 ] || usage; switch "$2" "$3";;
  measure) [ $# -eq 3 ] || usage; measure "$2" "$3";;
  compare) [ $# -ge 4 ] || usage; shift; compare "$@";;
  *) usage;;
esac
