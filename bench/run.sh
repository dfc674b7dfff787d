#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: moat against the Linux kernel's stack, one program (moat-ttcp)
# for both, so the numbers compare stacks and not tools. Not part of the
# test suite. Needs root.
#
#   bash bench/run.sh [BUILD_DIR...]        default: build
#   RUNS=5 BYTES=256M RR=10000 bash bench/run.sh build-thread build-process
#
#   namespace moat-bench-t-$$                 namespaces moat-bench-a/b-$$
#   +--------------------------------------+  +----------------------------------+
#   | kernel 198.18.0.1 <=TAP=> moat        |  | kernel 198.18.1.1 <=veth=> kernel |
#   |  moat-ttcp --kernel     198.18.0.2    |  |  moat-ttcp --kernel   198.18.1.2  |
#   |                     moat-ttcp (moat)  |  |  (a)                  (b)         |
#   +--------------------------------------+  +----------------------------------+
#
# Cases, each RUNS times, median reported:
#   tap  moat->kernel   bulk: moat-ttcp -t on moat, moat-ttcp --kernel -r
#   tap  kernel->moat   bulk: moat-ttcp --kernel -t, moat-ttcp -r on moat
#   tap  rr             one-byte round trips, moat client, kernel echo
#   veth kernel->kernel bulk and rr, both ends moat-ttcp --kernel (reference)
# One row per build directory (one backend each) for the moat cases.
# The TAP path costs moat a read/write system call per frame that the veth
# path does not, so "tap" numbers are a floor for moat, not a like-for-like
# comparison with veth; see bench/README.md.
set -u
RUNS=${RUNS:-5}
BYTES=${BYTES:-256M}
RR=${RR:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, TAP, veth)"; exit 1; }
[ $# -gt 0 ] || set -- "$ROOT/build"
NS_T="moat-bench-t-$$"; NS_A="moat-bench-a-$$"; NS_B="moat-bench-b-$$"; TAP="mb$$"
WORK=$(mktemp -d "/tmp/moat-bench-$$.XXXXXX")
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    ip netns del "$NS_T" 2>/dev/null; ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS_T"; ip -n "$NS_T" link set lo up
ip -n "$NS_T" tuntap add dev "$TAP" mode tap
ip -n "$NS_T" addr add 198.18.0.1/24 dev "$TAP"; ip -n "$NS_T" link set "$TAP" up
ip netns add "$NS_A"; ip netns add "$NS_B"
ip -n "$NS_A" link set lo up; ip -n "$NS_B" link set lo up
ip link add "va$$" netns "$NS_A" type veth peer name "vb$$" netns "$NS_B"
ip -n "$NS_A" addr add 198.18.1.1/24 dev "va$$"; ip -n "$NS_A" link set "va$$" up
ip -n "$NS_B" addr add 198.18.1.2/24 dev "vb$$"; ip -n "$NS_B" link set "vb$$" up

# server NS ARGS...: start a moat-ttcp receiver in NS and wait for "ready".
# Sets SRV_PID and SRV_FD; its result line is read by server_result.
server() {
    local ns=$1 line; shift
    rm -f "$WORK/srv.out"; mkfifo "$WORK/srv.out"
    ip netns exec "$ns" "$@" >"$WORK/srv.out" 2>"$WORK/srv.err" &
    SRV_PID=$!; PIDS+=("$SRV_PID")
    exec {SRV_FD}<"$WORK/srv.out"
    while IFS= read -r -t 15 -u "$SRV_FD" line; do [ "$line" = ready ] && return 0; done
    echo "bench: server did not start: $(cat "$WORK/srv.err")" >&2
    return 1
}
server_result() {
    local out
    out=$(timeout 120 cat <&"$SRV_FD")
    wait "$SRV_PID" 2>/dev/null
    exec {SRV_FD}<&-
    printf '%s\n' "$out" | grep '^ttcp:' | tail -1
}
# field LINE KEY: the number after KEY= in a ttcp result line.
field() { printf '%s\n' "$1" | sed -n "s|.* $2=\([0-9.]*\).*|\1|p"; }
median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2] + a[NR/2+1]) / 2 }'; }

ROWS=()
# record NAME UNIT VALUES...
record() {
    local name=$1 unit=$2; shift 2
    local med; med=$(printf '%s\n' "$@" | grep . | median)
    ROWS+=("$(printf '%-40s %10s %-7s  %s' "$name" "$med" "$unit" "$*")")
    printf '%-40s %10s %-7s  %s\n' "$name" "$med" "$unit" "$*"
}

for build in "$@"; do
    build=$(cd "$build" && pwd) || continue
    T="$build/moat-ttcp"
    [ -x "$T" ] || { echo "bench: no $T"; continue; }
    be="?"
    LINK=(--tap "$TAP" --ip 198.18.0.2/24)
    up=(); down=(); rr=()
    for i in $(seq 1 "$RUNS"); do
        server "$NS_T" "$T" --kernel -r --ip 198.18.0.1 || break
        ip netns exec "$NS_T" timeout 300 "$T" -t "${LINK[@]}" --peer 198.18.0.1 --bytes "$BYTES" \
            >"$WORK/cli.out" 2>"$WORK/cli.err"
        r=$(tail -1 "$WORK/cli.out"); server_result >/dev/null
        up+=("$(field "$r" Mbit/s)")
        # the backend, as moat-ttcp names it: "connected to ADDR:PORT (thread)"
        be=$(sed -n 's/.*connected to .* (\(.*\))$/\1/p' "$WORK/cli.err" | tail -1)

        server "$NS_T" "$T" -r "${LINK[@]}" || break
        ip netns exec "$NS_T" timeout 300 "$T" --kernel -t --peer 198.18.0.2 --bytes "$BYTES" \
            >"$WORK/cli.out" 2>"$WORK/cli.err"
        r=$(tail -1 "$WORK/cli.out"); server_result >/dev/null
        down+=("$(field "$r" Mbit/s)")

        server "$NS_T" "$T" --kernel -r --rr 1 --ip 198.18.0.1 || break
        ip netns exec "$NS_T" timeout 300 "$T" -t --rr "$RR" "${LINK[@]}" --peer 198.18.0.1 \
            >"$WORK/cli.out" 2>"$WORK/cli.err"
        r=$(tail -1 "$WORK/cli.out"); server_result >/dev/null
        rr+=("$(field "$r" rtt_us)")
    done
    record "tap moat->kernel bulk [$be]" Mbit/s "${up[@]}"
    record "tap kernel->moat bulk [$be]" Mbit/s "${down[@]}"
    record "tap moat<->kernel rr [$be]" rtt_us "${rr[@]}"
done

T="$1/moat-ttcp"
kb=(); kr=()
for i in $(seq 1 "$RUNS"); do
    server "$NS_B" "$T" --kernel -r --ip 198.18.1.2 || break
    r=$(ip netns exec "$NS_A" timeout 300 "$T" --kernel -t --peer 198.18.1.2 --bytes "$BYTES" 2>/dev/null | tail -1)
    server_result >/dev/null
    kb+=("$(field "$r" Mbit/s)")
    server "$NS_B" "$T" --kernel -r --rr 1 --ip 198.18.1.2 || break
    r=$(ip netns exec "$NS_A" timeout 300 "$T" --kernel -t --rr "$RR" --peer 198.18.1.2 2>/dev/null | tail -1)
    server_result >/dev/null
    kr+=("$(field "$r" rtt_us)")
done
record "veth kernel->kernel bulk" Mbit/s "${kb[@]}"
record "veth kernel<->kernel rr" rtt_us "${kr[@]}"

echo
echo "moat-ttcp, $RUNS runs each, bulk $BYTES, rr $RR round trips; $(nproc) CPUs, $(uname -r)"
printf '%-40s %10s %-7s  %s\n' "case" "median" "unit" "runs"
for r in "${ROWS[@]}"; do echo "$r"; done
