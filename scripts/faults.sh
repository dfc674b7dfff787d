#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The long fault campaign (docs/faults.md): tests/factored/test_faults_tap.sh
# with 100 link-domain kills, in every factored backend (process, seccomp),
# then the "RESULT" lines of every run, one per case and backend, which is
# what the table in docs/faults.md is made of. Needs root (network
# namespaces, TAP devices). The short form runs in the test command.
#
#   sudo bash scripts/faults.sh                  # build in build/faults/<b>
#
# Environment: MOAT_FAULTS_KILLS (default 100), MOAT_FAULTS_BACKENDS
# (default "process seccomp"), MOAT_FAULTS_BUILD (build directory prefix,
# default build/faults), MOAT_JOBS (default 2).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${MOAT_FAULTS_BUILD:-$ROOT/build/faults}
JOBS=${MOAT_JOBS:-2}
export MOAT_FAULTS_KILLS=${MOAT_FAULTS_KILLS:-100}
[ "$(id -u)" = 0 ] || { echo "scripts/faults.sh: needs root (namespaces, TAP devices)"; exit 1; }

fail=0
results=()
for b in ${MOAT_FAULTS_BACKENDS:-process seccomp}; do
    dir="$BASE/$b"
    echo "==== $b: configure and build in $dir"
    cmake -S "$ROOT" -B "$dir" -DMOAT_BACKEND="$b" -DMOAT_WERROR=ON >/dev/null &&
        cmake --build "$dir" -j"$JOBS" >/dev/null || { echo "build failed"; fail=1; continue; }
    echo "==== $b: $MOAT_FAULTS_KILLS link kills and the other faults"
    log="$dir/faults.log"
    MOAT_BUILD_DIR="$dir" bash "$ROOT/tests/factored/test_faults_tap.sh" "$dir" 2>&1 | tee "$log" |
        grep -E '^(PASS|FAIL|SKIP)'
    [ "${PIPESTATUS[0]}" = 0 ] || fail=1
    while IFS= read -r line; do results+=("$line"); done < <(grep '^RESULT ' "$log")
done
echo "==== results"
printf '%s\n' "${results[@]}"
exit "$fail"
