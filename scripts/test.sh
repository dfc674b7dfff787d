#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The project's test command (README "Test"; .ci/run calls it).
#
#   bash scripts/test.sh
#
# 1. Installs the Debian packages the build and the tests need, if missing
#    (apt-get update runs once, only then).
# 2. Once: the backend-independent tests (label core: the core's unit
#    tests, the ring, the fuzz corpus replays, the freestanding checks) in a
#    build with -DMOAT_BACKEND_TESTS=OFF (thread backend, no examples).
#    Then for each backend in $MOAT_BACKENDS (default: every
#    backends/<name>/ that has a backend.cmake): configure with
#    -DMOAT_WERROR=ON -DMOAT_CORE_TESTS=OFF, build, run
#    ctest --output-on-failure (integration, factored, install, interop).
#    The interop tests need root (namespaces,
#    TAP devices); without root they are excluded, and the summary says so.
# 3. A short benchmark of the backends just built, side by side (issue 4's
#    CI matrix): bench/backends.sh with 64 MiB bulk each way and 2000 round
#    trips per backend, 5 runs, medians, the thread backend as baseline.
#    As root over a TAP device against the kernel in a private namespace;
#    without root between two moat stacks over the shared-memory wire. It
#    is information: a failed or slow benchmark never fails the suite.
# 4. An ASan+UBSan build per backend in $MOAT_SAN_BACKENDS (default: the
#    first backend) running the unit, integration and factored labels.
# 4b. Once (not per backend), as root: the board image of
#    ports/mps2-an385 built with arm-none-eabi-gcc and run on QEMU's
#    mps2-an385 machine by tests/interop/test_mps2.sh (ping, UDP and TCP
#    echo, the fuzz seed corpus over a TAP); skipped with its reason when
#    QEMU or the cross toolchain is missing. MOAT_MPS2=0 skips it.
# 5. The size report of the core for Cortex-M3/M4 (scripts/size-report.sh,
#    docs/footprint.md); its last line goes into the summary.
#    MOAT_SIZE_REPORT=0 skips it.
# 6. The unit tests on a big-endian CPU: cross-built for s390x and run
#    under qemu-user (packages installed if missing; skipped with a note
#    when they cannot be; MOAT_BIGEND=0 skips).
# 7. Once, if clang is there: every libFuzzer harness of tests/fuzz for
#    $MOAT_FUZZ_SECONDS seconds (default 10; 0 skips) through
#    scripts/fuzz.sh --no-merge; a crash fails the suite. (Every build's
#    ctest already replays every corpus: the fuzz_*_replay tests.)
# Ends with a summary table, the backend comparison table and, as the last
# line, "N passed, N failed". Exit status 0 only if no test failed.
#
# Environment: MOAT_BACKENDS, MOAT_SAN_BACKENDS ("none" to skip),
# MOAT_TEST_BUILD (build directory prefix, default build/test), MOAT_JOBS
# (default: number of CPUs), MOAT_BENCH=0 to skip the benchmark,
# MOAT_BENCH_RUNS (default 5), MOAT_FUZZ_SECONDS (default 10, 0 skips),
# MOAT_MPS2=0, MOAT_SIZE_REPORT=0, MOAT_BIGEND=0 to skip those steps.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${MOAT_TEST_BUILD:-$ROOT/build/test}
JOBS=${MOAT_JOBS:-$(nproc 2>/dev/null || echo 2)}
PKGS=(build-essential cmake pkg-config check libseccomp-dev iproute2 iputils-ping iputils-arping
      socat curl iptables liblwip-dev libnetfilter-queue-dev python3 dnsmasq-base clang
      libclang-rt-dev gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
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

declare -A B_PASS B_FAIL
# row NAME PASSED FAILED SKIPPED SECONDS
row() {
    B_PASS[$1]=$2
    B_FAIL[$1]=$3
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

# The core tests do not depend on the backend: built and run once here,
# not in every backend's build.
build_and_test "core (backend-independent tests)" "$BASE-core" "${CTEST_EXCLUDE[@]}" -- \
    -DMOAT_BACKEND=thread -DMOAT_BACKEND_TESTS=OFF -DMOAT_BUILD_EXAMPLES=OFF
for b in "${BACKENDS[@]}"; do
    build_and_test "$b" "$BASE-$b" "${CTEST_EXCLUDE[@]}" -- -DMOAT_BACKEND="$b" -DMOAT_CORE_TESTS=OFF
done
# ---------------------------------------------------------------- benchmark
BENCH_TABLE=()
if [ "${MOAT_BENCH:-1}" != 0 ]; then
    bench_cols=()
    for b in "${BACKENDS[@]}"; do
        [ -x "$BASE-$b/moat-ttcp" ] && bench_cols+=("$b")
    done
    # The thread backend is the baseline: first column.
    for i in "${!bench_cols[@]}"; do
        if [ "${bench_cols[$i]}" = thread ] && [ "$i" != 0 ]; then
            bench_cols=(thread "${bench_cols[@]:0:$i}" "${bench_cols[@]:$((i + 1))}")
            break
        fi
    done
    if [ "$(id -u)" = 0 ]; then
        bench_cases="tap-up tap-down tap-rr"; bench_path="TAP, moat vs the kernel in a namespace"
        bench_cells=$bench_cases
    else
        bench_cases="wire-bulk wire-rr"; bench_cells="wire-bulk - wire-rr"; bench_path="shared-memory wire, moat vs moat (not root)"
    fi
    if [ ${#bench_cols[@]} -gt 0 ]; then
        t0=$SECONDS
        say "benchmark (information only): ${bench_cols[*]} over $bench_path"
        rm -rf "$BASE-bench"
        RUNS=${MOAT_BENCH_RUNS:-5} BYTES=64M RR=2000 PERF=0 PLOT=0 STEP_S=30 \
            BUILD_PREFIX="$BASE" OUT="$BASE-bench" COLUMNS="${bench_cols[*]}" CASES="$bench_cases" \
            timeout 240 bash "$ROOT/bench/backends.sh" >"$BASE-bench.log" 2>&1
        brc=$?
        tail -n 12 "$BASE-bench.log"
        [ "$brc" = 0 ] || NOTES+=("benchmark incomplete (exit $brc, see $BASE-bench.log); not counted as a failure")
        csv="$BASE-bench/results.csv"
        # value CASE COLUMN FIELD(4 median, 5 ratio)
        value() { awk -F, -v c="$1" -v k="$2" -v f="$3" '$1 == c && $3 == k { print $f }' "$csv" 2>/dev/null | head -1; }
        if [ -s "$csv" ]; then
            if [ "$(id -u)" = 0 ]; then
                BENCH_TABLE+=("$(printf '%-10s %6s %6s  %-16s %-16s %-14s' backend passed failed \
                    'moat->kern Mb/s' 'kern->moat Mb/s' 'rr rtt us')")
            else
                BENCH_TABLE+=("$(printf '%-10s %6s %6s  %-16s %-16s %-14s' backend passed failed \
                    'wire bulk Mb/s' '' 'rr rtt us')")
            fi
            for b in "${bench_cols[@]}"; do
                cells=()
                for c in $bench_cells; do
                    if [ "$c" = - ]; then cells+=("$(printf '%-16s' '')"); continue; fi
                    m=$(value "$c" "$b" 4); r=$(value "$c" "$b" 5)
                    [ -n "$m" ] && m=$(awk -v v="$m" 'BEGIN { printf (v >= 100 ? "%.0f" : "%.1f"), v }')
                    cells+=("$(printf '%-16s' "${m:--} (${r:--})")")
                done
                BENCH_TABLE+=("$(printf '%-10s %6s %6s  %s %s %s' "$b" "${B_PASS[$b]:--}" "${B_FAIL[$b]:--}" \
                    "${cells[0]}" "${cells[1]}" "${cells[2]}")")
            done
            BENCH_TABLE+=("(median of ${MOAT_BENCH_RUNS:-5} runs, 64 MiB bulk, 2000 round trips, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg); (x) = ratio to ${bench_cols[0]}, >1 better; $((SECONDS - t0))s)")
        fi
    fi
fi

for b in "${SAN_BACKENDS[@]}"; do
    # (test_install is not registered in sanitizer builds.)
    build_and_test "$b asan+ubsan (unit, integration)" "$BASE-asan-$b" -L '^(unit|integration|factored)$' -- \
        -DMOAT_BACKEND="$b" -DMOAT_SANITIZE='address;undefined' -DCMAKE_BUILD_TYPE=Debug
done

# ---------------------------------------------------------------- mps2 board
if [ "${MOAT_MPS2:-1}" != 0 ]; then
    t0=$SECONDS
    say "mps2-an385 board image on QEMU (tests/interop/test_mps2.sh)"
    mkdir -p "$(dirname "$BASE")"
    timeout 300 bash "$ROOT/tests/interop/test_mps2.sh" "$BASE-mps2" 2>&1 | tee "$BASE-mps2.log"
    m_rc=${PIPESTATUS[0]}
    # "---- 11 passed, 0 failed" (tests/interop/lib.sh it_summary)
    read -r m_pass m_fail < <(sed -n 's/^---- \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
        "$BASE-mps2.log" | tail -1)
    if [ "$m_rc" = 77 ]; then
        row "mps2-an385 board on QEMU (skipped)" 0 0 1 $((SECONDS - t0))
        NOTES+=("mps2 board test skipped: $(sed -n 's/^SKIP: //p' "$BASE-mps2.log" | tail -1)")
    elif [ -z "${m_pass:-}" ]; then
        row "mps2-an385 board on QEMU (FAILED)" 0 1 0 $((SECONDS - t0))
    else
        [ "$m_rc" != 0 ] && [ "$m_fail" = 0 ] && m_fail=1
        row "mps2-an385 board on QEMU" "$m_pass" "$m_fail" 0 $((SECONDS - t0))
    fi
fi

# ---------------------------------------------------------------- size report
# scripts/size-report.sh: text/data/bss of the core at -Os for Cortex-M3/M4
# (full, no DHCP, no TCP, neither) and its RAM for a small and the default
# configuration (docs/footprint.md). Information, but a core that does not
# build with arm-none-eabi-gcc fails the suite. Needs gcc-arm-none-eabi and
# libnewlib-arm-none-eabi (installed if missing; skipped with a note when
# they cannot be) and qemu-user for the Cortex-M RAM figures (the host's
# otherwise). MOAT_SIZE_REPORT=0 skips it.
SIZE_LINE=""
if [ "${MOAT_SIZE_REPORT:-1}" != 0 ]; then
    sz_missing=()
    for p in gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-user; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || sz_missing+=("$p")
    done
    if [ ${#sz_missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
        say "size report: installing ${sz_missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${sz_missing[@]}" ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends "${sz_missing[@]}"; } || true
    fi
    t0=$SECONDS
    say "size report (scripts/size-report.sh)"
    bash "$ROOT/scripts/size-report.sh" --out "$BASE-size" 2>&1 | tee "$BASE-size.log"
    src=${PIPESTATUS[0]}
    if [ "$src" = 77 ]; then
        NOTES+=("size report skipped: $(tail -1 "$BASE-size.log")")
    elif [ "$src" = 0 ]; then
        row "size report (arm-none-eabi-gcc -Os)" 1 0 0 $((SECONDS - t0))
        SIZE_LINE=$(tail -1 "$BASE-size.log")
    else
        row "size report (FAILED, see $BASE-size.log)" 0 1 0 $((SECONDS - t0))
    fi
fi

# ---------------------------------------------------------------- big-endian
# The unit label cross-built for s390x (64-bit big-endian) with Debian's
# cross compiler against check:s390x (multiarch) and run under qemu-user
# (cmake/s390x-linux-gnu.cmake sets qemu-s390x as ctest's emulator): the
# core's byte-order code (cksum.c's host-order sum, every parser) executes
# on a big-endian CPU. Thread backend only, examples not built; the
# checks that only run host tools over the objects are left out. Packages
# that cannot be installed skip the step with a note; a failing test fails
# the suite. MOAT_BIGEND=0 skips it. libc6-dev-s390x-cross is named
# because the cross gcc only recommends it (its crt files and libc for
# linking) and we install without recommends.
if [ "${MOAT_BIGEND:-1}" != 0 ]; then
    be_pkgs=(gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user check:s390x libsubunit-dev:s390x)
    be_missing=()
    for p in "${be_pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || be_missing+=("$p")
    done
    be_skip=""
    if [ ${#be_missing[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
            be_skip="not root: cannot install ${be_missing[*]}"
        else
            say "big-endian: installing ${be_missing[*]} (multiarch s390x)"
            export DEBIAN_FRONTEND=noninteractive
            { dpkg --print-foreign-architectures | grep -qx s390x || dpkg --add-architecture s390x; } &&
                apt-get update -qq && apt-get install -y -qq --no-install-recommends "${be_missing[@]}" ||
                be_skip="apt-get could not install ${be_missing[*]}"
        fi
    fi
    if [ -z "$be_skip" ] && ! command -v qemu-s390x >/dev/null; then
        be_skip="qemu-s390x not found after installing qemu-user"
    fi
    if [ -n "$be_skip" ]; then
        NOTES+=("big-endian unit tests (s390x under qemu-user) skipped: $be_skip")
    else
        # The freestanding_* checks and test_no_globals run host tools over
        # the objects (no s390x code executes): left to the native builds.
        build_and_test "big-endian s390x, qemu-user (unit)" "$BASE-s390x" -L '^(unit|factored)$' \
            -E '^(freestanding_.*|test_no_globals)$' -- \
            -DMOAT_BACKEND=thread -DMOAT_BUILD_EXAMPLES=OFF \
            -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/s390x-linux-gnu.cmake"
    fi
fi

# ---------------------------------------------------------------- fuzzing
FUZZ_S=${MOAT_FUZZ_SECONDS:-10}
if [ "$FUZZ_S" != 0 ]; then
    if command -v clang >/dev/null; then
        t0=$SECONDS
        say "fuzzing: every harness for ${FUZZ_S}s (scripts/fuzz.sh, corpus not merged)"
        MOAT_FUZZ_NICE=0 bash "$ROOT/scripts/fuzz.sh" --seconds "$FUZZ_S" --no-merge \
            --build "$BASE-fuzz" --out "$BASE-fuzz-run" 2>&1 | tee "$BASE-fuzz.log"
        # "fuzz.sh: 5 harnesses run, 0 crashed"
        read -r fz_run fz_bad < <(sed -n 's/^fuzz.sh: \([0-9]*\) harnesses run, \([0-9]*\) crashed$/\1 \2/p' \
            "$BASE-fuzz.log" | tail -1)
        if [ -z "${fz_run:-}" ]; then
            row "libFuzzer ${FUZZ_S}s per harness (FAILED)" 0 1 0 $((SECONDS - t0))
        else
            row "libFuzzer ${FUZZ_S}s per harness" $((fz_run - fz_bad)) "$fz_bad" 0 $((SECONDS - t0))
        fi
    else
        NOTES+=("clang not found: the libFuzzer budget was skipped (the corpora were still replayed)")
    fi
fi

# The install tree (find_package, pkg-config, static archive, exported
# symbols) is checked by the ctest test_install of every unsanitized build.

# ---------------------------------------------------------------- summary
echo
echo "==================== moat test summary ($(( (SECONDS - START) / 60 ))m$(( (SECONDS - START) % 60 ))s) ===================="
printf '%-42s %7s %7s %8s %8s\n' "build" "passed" "failed" "skipped" "time"
for r in "${ROWS[@]}"; do echo "$r"; done
[ -n "$SIZE_LINE" ] && echo "$SIZE_LINE"
if [ ${#BENCH_TABLE[@]} -gt 0 ]; then
    echo
    echo "backend comparison (short benchmark, information only):"
    for r in "${BENCH_TABLE[@]}"; do echo "$r"; done
    echo
fi
for n in "${NOTES[@]}"; do echo "note: $n"; done
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
