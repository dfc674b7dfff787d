#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The project's test command (README "Test"; .ci/run calls it).
#
#   bash scripts/test.sh
#
# 1. Installs the Debian packages the build and the tests need, if missing
#    (apt-get update runs once, only then).
# 2. For each backend in $MOAT_BACKENDS (default: every backends/<name>/
#    that has a backend.cmake): configure with -DMOAT_WERROR=ON, build, run
#    ctest --output-on-failure. The interop tests need root (namespaces,
#    TAP devices); without root they are excluded, and the summary says so.
# 3. An ASan+UBSan build per backend in $MOAT_SAN_BACKENDS (default: the
#    first backend) running the unit and integration labels.
# Ends with a summary table and, as the last line, "N passed, N failed".
# Exit status 0 only if nothing failed.
#
# Environment: MOAT_BACKENDS, MOAT_SAN_BACKENDS ("none" to skip),
# MOAT_TEST_BUILD (build directory prefix, default build/test), MOAT_JOBS
# (default: number of CPUs).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${MOAT_TEST_BUILD:-$ROOT/build/test}
JOBS=${MOAT_JOBS:-$(nproc 2>/dev/null || echo 2)}
PKGS=(build-essential cmake pkg-config check libseccomp-dev iproute2 iputils-ping iputils-arping
      socat curl iptables liblwip-dev libnetfilter-queue-dev python3)
START=$SECONDS
ROWS=()
TOTAL_PASS=0
TOTAL_FAIL=0
NOTES=()

say() { printf '\n=== %s\n' "$*"; }

# ---------------------------------------------------------------- packages
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        say "installing missing packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
            { echo "apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
    else
        NOTES+=("not root: could not install ${missing[*]}; steps needing them may fail")
    fi
fi

# ---------------------------------------------------------------- backends
if [ -n "${MOAT_BACKENDS:-}" ]; then
    read -r -a BACKENDS <<<"$MOAT_BACKENDS"
else
    BACKENDS=()
    for f in "$ROOT"/backends/*/backend.cmake; do
        [ -e "$f" ] && BACKENDS+=("$(basename "$(dirname "$f")")")
    done
fi
[ ${#BACKENDS[@]} -gt 0 ] || { echo "no backend to test"; echo "0 passed, 1 failed"; exit 1; }
if [ -n "${MOAT_SAN_BACKENDS:-}" ]; then
    read -r -a SAN_BACKENDS <<<"$MOAT_SAN_BACKENDS"
    [ "${SAN_BACKENDS[0]}" = none ] && SAN_BACKENDS=()
else
    SAN_BACKENDS=("${BACKENDS[0]}")
fi

CTEST_EXCLUDE=()
if [ "$(id -u)" != 0 ]; then
    CTEST_EXCLUDE=(-LE '^interop$')
    NOTES+=("not root: interop tests (network namespaces, TAP) excluded; run as root to include them")
fi

# row NAME PASSED FAILED SKIPPED SECONDS
row() {
    ROWS+=("$(printf '%-42s %7s %7s %8s %7ss' "$1" "$2" "$3" "$4" "$5")")
    TOTAL_PASS=$((TOTAL_PASS + $2))
    TOTAL_FAIL=$((TOTAL_FAIL + $3))
}

# build_and_test NAME DIR CTEST_ARGS -- CMAKE_ARGS...
build_and_test() {
    local name=$1 dir=$2 t0=$SECONDS log="$2.log" pass=0 fail=0 skip=0 total
    local -a ctest_args=() cmake_args=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do ctest_args+=("$1"); shift; done
    shift
    cmake_args=("$@")
    say "$name: configure and build ($dir)"
    mkdir -p "$(dirname "$dir")"
    if ! cmake -S "$ROOT" -B "$dir" -DMOAT_WERROR=ON "${cmake_args[@]}" >"$log" 2>&1 ||
       ! cmake --build "$dir" -j "$JOBS" >>"$log" 2>&1; then
        tail -40 "$log"
        echo "build failed; full log: $log"
        row "$name (BUILD FAILED)" 0 1 0 $((SECONDS - t0))
        return
    fi
    say "$name: ctest ${ctest_args[*]}"
    (cd "$dir" && ctest --output-on-failure -j "$JOBS" "${ctest_args[@]}") 2>&1 | tee -a "$log"
    # "95% tests passed, 1 tests failed out of 20"; skipped tests count as
    # not failed there, and are listed as "(Skipped)".
    total=$(sed -n 's/.* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
    fail=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
    skip=$(grep -c '(Skipped)$' "$log")
    if [ -z "$total" ]; then
        if grep -q 'No tests were found' "$log"; then total=0; fail=0
        else total=1; fail=1; echo "could not read ctest's summary"; fi
    fi
    pass=$((total - fail - skip))
    row "$name" "$pass" "$fail" "$skip" $((SECONDS - t0))
}

for b in "${BACKENDS[@]}"; do
    build_and_test "$b" "$BASE-$b" "${CTEST_EXCLUDE[@]}" -- -DMOAT_BACKEND="$b"
done
for b in "${SAN_BACKENDS[@]}"; do
    # (test_install is not registered in sanitizer builds.)
    build_and_test "$b asan+ubsan (unit, integration)" "$BASE-asan-$b" -L '^(unit|integration)$' -- \
        -DMOAT_BACKEND="$b" -DMOAT_SANITIZE='address;undefined' -DCMAKE_BUILD_TYPE=Debug
done

# The install tree (find_package, pkg-config, static archive, exported
# symbols) is checked by the ctest test_install of every unsanitized build.

# ---------------------------------------------------------------- summary
echo
echo "==================== moat test summary ($(( (SECONDS - START) / 60 ))m$(( (SECONDS - START) % 60 ))s) ===================="
printf '%-42s %7s %7s %8s %8s\n' "build" "passed" "failed" "skipped" "time"
for r in "${ROWS[@]}"; do echo "$r"; done
for n in "${NOTES[@]}"; do echo "note: $n"; done
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
