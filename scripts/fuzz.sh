#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzz campaign over the libFuzzer harnesses of tests/fuzz (docs/fuzzing.md).
#
#   bash scripts/fuzz.sh [--seconds N] [--jobs J] [--no-merge] [--out DIR]
#                        [--build DIR] [HARNESS...]
#
# 1. Configures and builds the --build directory (default build/fuzz) with
#    clang and -DMOAT_FUZZ=ON (ASan+UBSan, libFuzzer), unless
#    MOAT_FUZZ_BUILD names an existing build to use as it is.
# 2. Runs every harness (default: all of tests/fuzz/tests.cmake's list)
#    for N seconds (default 600) with J parallel jobs (default 1), at
#    nice 19, from its working corpus OUT/<harness>/corpus (--out, default
#    build/fuzz-campaign) plus the repository's tests/fuzz/corpus/<harness>.
#    Crash reproducers land in OUT/<harness>/ (crash-*, leak-*, timeout-*).
# 3. Unless --no-merge: merges the working corpus back into the repository
#    minimised (libFuzzer -merge=1): fuzzer-found entries (named by their
#    SHA-1) are replaced by the minimal set that keeps all coverage; named
#    files (seeds, regress_*) are never removed.
# 4. Prints one line per harness: inputs executed, inputs per second,
#    coverage (libFuzzer's cov: edges and ft: features), corpus size,
#    crashes; appends them to OUT/results.csv with the date. Exit status 1
#    if any harness crashed. (A long campaign: run a copy of this script,
#    `bash -c "$(cat scripts/fuzz.sh)" scripts/fuzz.sh ...`, if you may edit
#    it meanwhile -- bash reads a script while it runs it.)
#
# Environment: MOAT_FUZZ_BUILD (an existing fuzz build directory),
# MOAT_FUZZ_NICE (default 19), MOAT_FUZZ_RSS_MB (default 1024),
# MOAT_FUZZ_MAX_CORPUS (warn above this many files, default 500).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=600
JOBS=1
MERGE=1
OUT=$ROOT/build/fuzz-campaign
HARNESSES=()
BUILD=$ROOT/build/fuzz
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECS=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --no-merge) MERGE=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '3,29p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) HARNESSES+=("$1"); shift ;;
    esac
done
NICE=${MOAT_FUZZ_NICE:-19}
MAXC=${MOAT_FUZZ_MAX_CORPUS:-500}
if [ ${#HARNESSES[@]} -eq 0 ]; then
    read -r -a HARNESSES <<<"$(sed -n 's/^set(MOAT_FUZZ_HARNESSES \(.*\))$/\1/p' \
        "$ROOT/tests/fuzz/tests.cmake")"
fi

if [ -n "${MOAT_FUZZ_BUILD:-}" ]; then
    BUILD=$MOAT_FUZZ_BUILD
else
    command -v clang >/dev/null || { echo "fuzz.sh: clang not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }
    mkdir -p "$OUT"
    if ! CC=clang cmake -S "$ROOT" -B "$BUILD" -DMOAT_BACKEND=thread -DMOAT_FUZZ=ON \
            -DMOAT_WERROR=ON -DMOAT_BUILD_EXAMPLES=OFF >"$OUT/build.log" 2>&1 ||
       ! cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target "${HARNESSES[@]}" \
            >>"$OUT/build.log" 2>&1; then
        tail -30 "$OUT/build.log"
        echo "fuzz.sh: build failed; log: $OUT/build.log" >&2
        exit 2
    fi
fi

# stat NAME LOG...: sum (executed units) or last value of a final statistic
stat_sum() { local k=$1; shift; cat "$@" 2>/dev/null | sed -n "s/^stat::$k: *//p" | awk '{ s += $1 } END { print s + 0 }'; }
last_field() { local k=$1; shift; cat "$@" 2>/dev/null | grep -o " $k: [0-9]*" | awk '{ v = $2 } END { print v + 0 }'; }

FAILED=0
LINES=()
for h in "${HARNESSES[@]}"; do
    bin=$BUILD/tests/$h
    [ -x "$bin" ] || { echo "fuzz.sh: $bin missing" >&2; FAILED=1; continue; }
    dir=$OUT/$h
    repo=$ROOT/tests/fuzz/corpus/$h
    mkdir -p "$dir/corpus" "$repo"
    rm -f "$dir"/fuzz-*.log "$dir/run.log"
    touch "$dir/.start"
    t0=$SECONDS
    # -entropic=0: the entropic schedule's bookkeeping (UpdateFeatureFrequency)
    # took 77 % of fuzz_tcp's time; without it, 10x the inputs and more
    # edges covered in the same 40 s (side by side, docs/fuzzing.md).
    args=(-max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb="${MOAT_FUZZ_RSS_MB:-1024}"
          -timeout=20 -entropic=0 -artifact_prefix="$dir/")
    if [ "$JOBS" -gt 1 ]; then
        # -jobs: each job writes $dir/fuzz-N.log (libFuzzer runs them in the cwd)
        (cd "$dir" && nice -n "$NICE" "$bin" "${args[@]}" -jobs="$JOBS" -workers="$JOBS" \
            "$dir/corpus" "$repo" >"$dir/run.log" 2>&1)
        logs=("$dir"/fuzz-*.log)
    else
        nice -n "$NICE" "$bin" "${args[@]}" "$dir/corpus" "$repo" >"$dir/run.log" 2>&1
        logs=("$dir/run.log")
    fi
    execs=$(stat_sum number_of_executed_units "${logs[@]}")
    cov=$(last_field cov "${logs[@]}")
    ft=$(last_field ft "${logs[@]}")
    crashes=$(find "$dir" -maxdepth 1 -newer "$dir/.start" \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if grep -q -E '^==[0-9]+==ERROR|^SUMMARY: |deadly signal' "${logs[@]}" 2>/dev/null; then
        [ "$crashes" -gt 0 ] || crashes=1
    fi
    el=$((SECONDS - t0))
    rate=$(awk -v e="$execs" -v s="$el" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')
    if [ "$MERGE" = 1 ] && [ "$crashes" = 0 ]; then
        # The minimal set of (repository + working) entries keeping all
        # coverage; named entries stay whether the merge kept them or not.
        tmp=$(mktemp -d)
        # -use_counters=0: keep one entry per edge (a few hundred files),
        # not one per hit-count bucket; the working corpus keeps the rest.
        nice -n "$NICE" "$bin" -merge=1 -use_counters=0 -rss_limit_mb="${MOAT_FUZZ_RSS_MB:-1024}" "$tmp" "$repo" \
            "$dir/corpus" >"$dir/merge.log" 2>&1
        declare -A named=()
        for f in "$repo"/*; do
            b=$(basename "$f")
            [[ "$b" =~ ^[0-9a-f]{40}$ ]] || named[$(sha1sum "$f" | cut -c1-40)]=1
        done
        find "$repo" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' -delete
        for f in "$tmp"/*; do
            [ -e "$f" ] || continue
            b=$(basename "$f")
            [ -n "${named[$b]:-}" ] || cp "$f" "$repo/$b"
        done
        unset named
        rm -rf "$tmp"
    fi
    n=$(find "$repo" -maxdepth 1 -type f | wc -l)
    [ "$n" -le "$MAXC" ] || echo "fuzz.sh: warning: $repo holds $n files (more than $MAXC)" >&2
    [ "$crashes" = 0 ] || FAILED=1
    line=$(printf '%-16s %14s %9s %7s %8s %7s %8s %6ss' "$h" "$execs" "$rate" "$cov" "$ft" "$n" "$crashes" "$el")
    LINES+=("$line")
    echo "$line"
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$(date -u +%FT%TZ)" "$h" "$execs" "$el" "$cov" "$ft" \
        "$n" "$crashes" "$JOBS" >>"$OUT/results.csv"
done

echo
printf '%-16s %14s %9s %7s %8s %7s %8s %7s\n' harness inputs 'inputs/s' cov ft corpus crashes time
for l in "${LINES[@]}"; do echo "$l"; done
total=0
for l in "${LINES[@]}"; do total=$((total + $(echo "$l" | awk '{ print $2 }'))); done
echo "total inputs: $total"
echo "fuzz.sh: ${#LINES[@]} harnesses run, $(printf '%s\n' "${LINES[@]}" | awk '$7 != 0' | wc -l) crashed"
[ "$FAILED" = 0 ] || { echo "fuzz.sh: crashes found: see $OUT/<harness>/ and run.log" >&2; exit 1; }
