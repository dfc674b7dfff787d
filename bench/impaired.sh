#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: TCP echo time on impaired paths (issue 7, item 7): moat (one
# column per build directory, e.g. thread and seccomp) vs the Linux kernel
# (kernel<->kernel through the same router rules) vs lwIP (Debian's
# liblwip, tests/lwip/lwip_tap_echo, on the same TAP as moat). Not part of
# the test suite; needs root. The network, the paths and their rules are
# those of tests/interop/test_kernel_tcp_paths.sh (its lib.sh helpers):
#
#   client ns: kernel socat ---- router ns: FORWARD rules ---- TAP: moat-echo 192.0.2.2
#   198.18.1.2                   (loss: iptables statistic;        lwip_tap_echo 192.0.2.4
#                                 delay/jitter/reorder: nfq_delay)
#                                ---- veth ---- kernel echo 198.18.2.2
#
#   bash bench/impaired.sh BUILD_DIR...        e.g. build/thread build/seccomp
#   RUNS=3 SIZES="16 256" LIMIT_S=60 bash bench/impaired.sh build/thread
#
# Every cell is the median of RUNS transfers of SIZE MiB (socat -> echo
# server -> socat, sha256-checked); runs are interleaved (run 1 of every
# column, then run 2, ...), so slow drift of a shared machine spreads over
# all columns. A transfer that takes longer than LIMIT_S (default 60 s;
# 256 MiB at 5 % loss is slow) is killed and counted as "timeout"; one that
# returns wrong bytes as "bad". The median of a cell with any timeout or bad
# run is that word. The moat server is restarted for every transfer (the
# router's ARP cache for it is flushed), lwIP too (lwip_tap_echo serves one
# connection). Columns: one per BUILD_DIR (label: its backend), "kernel",
# and "lwip" when BUILD_DIR_1/tests/lwip_tap_echo exists (LWIP=0: none).
#
# Knobs: RUNS (3), SIZES (MiB, "16 256"), LIMIT_S (60), PATHS (as in the
# test, NAME:DELAY:JITTER:LOSS:RPCT:RMS[:ignored]), OUT (results dir,
# default bench/results/impaired-DATE: table.txt, raw.csv).
# Bounded: at most |PATHS| x |SIZES| x RUNS x columns transfers, each
# under timeout LIMIT_S.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/interop/lib.sh"
it_need socat sha256sum iptables ss python3
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR..."; exit 2; }
RUNS=${RUNS:-3}
SIZES=${SIZES:-16 256}
LIMIT_S=${LIMIT_S:-60}
PATHS=${PATHS:-"rtt20:10:0:0:0:0 rtt50j:20:10i:0:0:0 loss1:0:0:0.01:0:0 loss5:0:0:0.05:0:0 reorder25:0:0:0:25:5"}
OUT=${OUT:-$ROOT/bench/results/impaired-$(date -u +%Y%m%d-%H%M%S)}
QUEUE=0

BUILDS=(); LABELS=()
for b in "$@"; do
    b=$(cd "$b" && pwd) || exit 2
    [ -x "$b/moat-echo" ] || { echo "no moat-echo in $b"; exit 2; }
    BUILDS+=("$b")
    LABELS+=("$(sed -n 's/^MOAT_BACKEND:STRING=//p' "$b/CMakeCache.txt")")
done
NFQ_BIN=${BUILDS[0]}/tests/nfq_delay
[ -x "$NFQ_BIN" ] || { echo "no $NFQ_BIN (needs libnetfilter-queue-dev)"; exit 2; }
LWIP_BIN=${BUILDS[0]}/tests/lwip_tap_echo
COLS=("${LABELS[@]}" kernel)
if [ "${LWIP:-1}" = 1 ] && [ -x "$LWIP_BIN" ]; then COLS+=(lwip); fi

it_setup "${BUILDS[0]}" bimp
it_router_setup || { echo "cannot set up the router namespaces"; exit 2; }
it_kernel_echo_server 7 $((100 * LIMIT_S)) || { echo "kernel echo server did not listen"; exit 2; }
mkdir -p "$OUT"
echo "path,mib,column,run,seconds,result" >"$OUT/raw.csv"
k=0

# one COL IN: one transfer through column COL; sets ONE_T (seconds) and
# ONE_RES (ok, timeout, bad, nostart). Not in a subshell: it_start
# records the server's pid for the cleanup.
one() {
    local col=$1 in=$2 addr name t res i
    k=$((k + 1)); name="s$k"
    it_in_ns ip neigh flush dev "$IT_TAP" 2>/dev/null
    case $col in
    kernel) addr=198.18.2.2 ;;
    lwip)
        addr=192.0.2.4
        it_start "$name" "$LWIP_BIN" --tap "$IT_TAP" --ip 192.0.2.4/24 --gw 192.0.2.1 \
            --max-seconds $((LIMIT_S + 30)) >/dev/null || { ONE_T=0; ONE_RES=nostart; return; } ;;
    *)
        addr=192.0.2.2
        for i in "${!LABELS[@]}"; do [ "${LABELS[$i]}" = "$col" ] && break; done
        it_start "$name" "${BUILDS[$i]}/moat-echo" --tap "$IT_TAP" --ip 192.0.2.2/24 \
            --gw 192.0.2.1 >/dev/null || { ONE_T=0; ONE_RES=nostart; return; } ;;
    esac
    t=$(it_echo_timed "$addr" 7 "$in" "$IT_WORK/out" "$LIMIT_S")
    if [ "$(it_sha "$IT_WORK/out")" = "$(it_sha "$in")" ]; then res=ok
    elif awk -v t="$t" -v l="$LIMIT_S" 'BEGIN {exit !(t >= l - 0.5)}'; then res=timeout
    else res=bad; fi
    rm -f "$IT_WORK/out"
    if [ "$col" != kernel ]; then
        local pv="IT_PID_$name"
        kill -TERM "${!pv}" 2>/dev/null
        it_reap "$name" 10 >/dev/null 2>&1
    fi
    ONE_T=$t; ONE_RES=$res
}

# cell PATH MIB COL: the median of the ok runs, or timeout/bad if any run was.
cell() {
    local bad
    bad=$(awk -F, -v p="$1" -v m="$2" -v c="$3" '$1 == p && $2 == m && $3 == c && $6 != "ok" {print $6; exit}' "$OUT/raw.csv")
    [ -n "$bad" ] && { echo "$bad"; return; }
    awk -F, -v p="$1" -v m="$2" -v c="$3" '$1 == p && $2 == m && $3 == c {print $5}' "$OUT/raw.csv" |
        sort -n | awk '{v[NR] = $1} END {
            if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]
            else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "columns: ${COLS[*]}; sizes ${SIZES} MiB; $RUNS runs, interleaved; limit ${LIMIT_S}s; results in $OUT"
for spec in $PATHS; do
    IFS=: read -r name delay jitter loss rpct rms _ <<<"$spec"
    jopt=""
    case $jitter in *i) jitter=${jitter%i}; jopt=--jitter-in-order ;; esac
    it_impair_reset
    queue=""
    if [ "$delay" != 0 ] || [ "$jitter" != 0 ] || [ "$rpct" != 0 ]; then
        k=$((k + 1)); nfq="nfq$k"
        # shellcheck disable=SC2086
        it_start "$nfq" "$NFQ_BIN" --queue "$QUEUE" --delay-ms "$delay" --jitter-ms "$jitter" $jopt \
            --reorder-pct "$rpct" --reorder-ms "$rms" --max-seconds 7200 >/dev/null ||
            { echo "nfq_delay did not start"; exit 2; }
        queue=$QUEUE
    fi
    it_impair_rules "$loss" "$queue" "$IT_TAP" "vs$$" || { echo "iptables: $(tail -1 "$IT_WORK/ipt.err")"; exit 2; }
    for mib in $SIZES; do
        head -c "${mib}M" /dev/urandom >"$IT_WORK/in"
        for run in $(seq 1 "$RUNS"); do
            for col in "${COLS[@]}"; do
                one "$col" "$IT_WORK/in"
                echo "$name,$mib,$col,$run,$ONE_T,$ONE_RES" >>"$OUT/raw.csv"
                printf '  %-10s %4s MiB  run %d  %-8s %8ss %s\n' "$name" "$mib" "$run" "$col" "$ONE_T" "$ONE_RES"
            done
        done
    done
    read -r dropped queued <<<"$(it_impair_counts)"
    echo "  $name: iptables dropped $dropped, queued $queued"
    it_impair_reset
    if [ -n "$queue" ]; then
        pv="IT_PID_$nfq"; kill -TERM "${!pv}" 2>/dev/null; it_reap "$nfq" 10 >/dev/null 2>&1
        echo "  $name: $(grep '^nfq_delay:' "$IT_WORK/$nfq.err" | tail -1)"
    fi
done

{
    echo "TCP echo through an impaired path (each way), seconds, median of $RUNS, $(date -u +%Y-%m-%d), $(nproc) cores"
    printf '%-10s %5s' path MiB
    for col in "${COLS[@]}"; do printf ' %9s' "$col"; done
    for l in "${LABELS[@]}"; do printf ' %12s' "$l/kernel"; done
    echo
    for spec in $PATHS; do
        name=${spec%%:*}
        for mib in $SIZES; do
            printf '%-10s %5s' "$name" "$mib"
            kv=$(cell "$name" "$mib" kernel)
            for col in "${COLS[@]}"; do printf ' %9s' "$(cell "$name" "$mib" "$col")"; done
            for l in "${LABELS[@]}"; do
                printf ' %12s' "$(awk -v a="$(cell "$name" "$mib" "$l")" -v b="$kv" \
                    'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
            done
            echo
        done
    done
    echo "paths: $PATHS (NAME:DELAY:JITTER:LOSS:RPCT:RMS, each way; see tests/interop/test_kernel_tcp_paths.sh)"
} | tee "$OUT/table.txt"
