#!/usr/bin/env bash
# Integration test: a short run of every libFuzzer target (TAP on stdout).
# Builds them with clang into build/fuzz (`make fuzz-build`, incremental)
# and runs each for WC_FUZZ_SMOKE_SECONDS (default 3) over a copy of its
# seed corpus - every seed is replayed first, so a seed that crashes or
# breaks an invariant fails here. Logs and inputs that failed go to
# build/fuzz/smoke/. Skipped only when clang is not installed (scripts/deps
# installs it); `make fuzz` is the long run (tests/fuzz/README.md).
set -uo pipefail

root=${WC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1

if ! command -v clang >/dev/null 2>&1; then
    echo "1..1"
    echo "ok 1 - fuzz targets # SKIP clang is not installed (scripts/deps installs it)"
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# a make of our own, not a job of whatever make runs the suite
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 --no-print-directory fuzz-build \
        >"$log" 2>&1; then
    echo "1..1"
    echo "not ok 1 - build the fuzz targets (make fuzz-build)"
    tail -n 30 "$log" | sed 's/^/#   /'
    exit 1
fi
# a fixed seed: the same inputs each time (as far as 3 s reach), so a
# failure here fails again and is not a roll of the dice
FUZZ_TAP=1 FUZZ_OUT=build/fuzz/smoke FUZZ_SEED=${WC_FUZZ_SMOKE_SEED:-1} \
    FUZZ_SECONDS=${WC_FUZZ_SMOKE_SECONDS:-3} exec scripts/fuzz build/fuzz
