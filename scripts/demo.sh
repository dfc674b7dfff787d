#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: see moat work against tools you trust.
#
#   bash scripts/demo.sh          (as root: a TAP device in a private namespace)
#   MOAT_BACKEND=process bash scripts/demo.sh   (a factored backend, if built)
#
# Builds what is missing (build/demo-<backend>, examples only), creates a
# network namespace with a TAP device, starts moat-echo on it and lets the
# kernel's own ping and socat talk to it: ICMP replies, a UDP datagram and
# (once TCP is in the build) a 16 MiB TCP stream, with sha256 of what went
# out and came back and the throughput. In the factored backends it shows
# the domain processes and their confinement as /proc reports it. Finally
# moat-echo's own counters. Everything it made is removed on exit.
#
# Without root (no namespaces or TAP) it says so and runs two moat stacks
# over the shared-memory wire instead: moat-echo and moat-echo-client.
# MOAT_DEMO_WIRE=1 picks the wire demo even as root.
# Addresses: 192.0.2.0/24 (TEST-NET-1) only, inside the namespace.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BACKEND=${MOAT_BACKEND:-thread}
BUILD=${MOAT_DEMO_BUILD:-$ROOT/build/demo-$BACKEND}
NS=""
WORK=$(mktemp -d "/tmp/moat-demo-$$.XXXXXX")
ECHO_PID=""

say() { printf '\n== %s\n' "$*"; }
cleanup() {
    if [ -n "$ECHO_PID" ] && kill -0 "$ECHO_PID" 2>/dev/null; then
        kill -TERM "$ECHO_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ECHO_PID" 2>/dev/null
    fi
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- build
if ! command -v cmake >/dev/null || ! command -v cc >/dev/null; then
    echo "demo: needs cmake and a C compiler (apt-get install build-essential cmake pkg-config;"
    echo "      or run 'bash scripts/test.sh' as root, which installs everything)"
    exit 1
fi
say "building moat ($BACKEND backend) in $BUILD"
if ! { cmake -S "$ROOT" -B "$BUILD" -DMOAT_BACKEND="$BACKEND" -DMOAT_BUILD_TESTS=OFF \
         >"$WORK/build.log" 2>&1 &&
       cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >>"$WORK/build.log" 2>&1; }; then
    tail -30 "$WORK/build.log"
    echo "demo: the build failed (log above)"
    exit 1
fi
echo "built: $(cd "$BUILD" && ls moat-* 2>/dev/null | tr '\n' ' ')"

# start_echo ARGS...: moat-echo with stdout on a FIFO; wait for "ready".
start_echo() {
    mkfifo "$WORK/echo.out"
    "$@" >"$WORK/echo.out" 2>"$WORK/echo.err" &
    ECHO_PID=$!
    exec {ECHO_FD}<"$WORK/echo.out"
    local line
    while IFS= read -r -t 15 -u "$ECHO_FD" line; do
        [ "$line" = ready ] && return 0
    done
    echo "demo: moat-echo did not start:"; sed 's/^/    /' "$WORK/echo.err"
    exit 1
}

# stop_echo: SIGTERM; moat-echo prints its counters on the way out.
stop_echo() {
    kill -TERM "$ECHO_PID"
    local rc=124
    # EOF on its stdout when it has exited
    if timeout 15 cat <&"$ECHO_FD" >/dev/null; then wait "$ECHO_PID"; rc=$?
    else kill -KILL "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null; fi
    ECHO_PID=""
    say "moat-echo stopped (exit code $rc); the stack's counters:"
    # Nonzero counters, five to a line; drop reasons one per line.
    grep -E 'stopping' "$WORK/echo.err" | sed 's/^moat-echo: /  /'
    grep -h 'stats:' "$WORK/echo.err" | tr ' ' '\n' | grep '=' | grep -v '=0$' |
        paste -d' ' - - - - - | sed 's/^/  /; s/ *$//'
    grep -h 'drop:' "$WORK/echo.err" | sed 's/^moat-echo: /  /'
}

# domains PID: the factored backends' domain processes under PID.
domains() {
    pgrep -P "$1" -x moat-netd >/dev/null 2>&1 || pgrep -P "$1" -x moat-linkd >/dev/null 2>&1 || {
        echo "  ($BACKEND backend: the network domain is a thread of moat-echo; no domain processes)"
        return
    }
    local p
    for p in $(pgrep -P "$1") ; do
        [ -r "/proc/$p/status" ] || continue
        printf '  pid %-7s %-11s Seccomp: %s  NoNewPrivs: %s  open fds: %s  uid: %s  net ns: %s  root: %s\n' "$p" \
            "$(cat "/proc/$p/comm")" \
            "$(awk '/^Seccomp:/ {print $2}' "/proc/$p/status")" \
            "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$p/status")" \
            "$(ls "/proc/$p/fd" 2>/dev/null | wc -l)" \
            "$(awk '/^Uid:/ {print $2}' "/proc/$p/status")" \
            "$([ "$(readlink "/proc/$p/ns/net")" = "$(readlink "/proc/$1/ns/net")" ] && echo "moat-echo's" || echo own)" \
            "$(if ! ls -A "/proc/$p/root/" >/dev/null 2>&1; then echo '?';
               elif [ -z "$(ls -A "/proc/$p/root/")" ]; then echo empty; else echo host; fi)"
    done
    echo "  (Seccomp: 0 = none, 2 = filter; NoNewPrivs: 1 = cannot gain privileges;"
    echo "   uid, net ns, root: the optional layers of docs/confinement.md)"
}

sha() { sha256sum "$1" | cut -c1-16; }

# ---------------------------------------------------------------- no root: wire
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null ||
   [ -n "${MOAT_DEMO_WIRE:-}" ]; then
    say "wire demo (not root, no /dev/net/tun, or MOAT_DEMO_WIRE set): no namespace or TAP device."
    echo "Running two moat stacks over the shared-memory wire instead:"
    echo "  moat-echo        192.0.2.2  <== wire $WORK/wire ==>  192.0.2.3  moat-echo-client"
    start_echo "$BUILD/moat-echo" --wire "$WORK/wire" --ip 192.0.2.2/24
    say "moat-echo-client: UDP echo (4000 bytes needs fragmentation) and a 16 MiB TCP stream"
    "$BUILD/moat-echo-client" --wire "$WORK/wire" --ip 192.0.2.3/24 --peer 192.0.2.2 \
        --tcp 16M 2>"$WORK/client.err" | sed 's/^/  /'
    rc=${PIPESTATUS[0]}
    say "domain processes of moat-echo"
    domains "$ECHO_PID"
    stop_echo
    say "done: the client's checks $([ "$rc" = 0 ] && echo passed || echo FAILED)"
    exit "$rc"
fi

# ---------------------------------------------------------------- root: TAP
NS="moat-demo-$$"
TAP="md$$"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap
ip -n "$NS" addr add 192.0.2.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up
say "namespace $NS: the kernel has $TAP 192.0.2.1/24; moat-echo takes 192.0.2.2 on the same TAP"
echo "  kernel (ping, socat) 192.0.2.1 <== TAP $TAP ==> 192.0.2.2 moat-echo [$BACKEND backend]"
start_echo ip netns exec "$NS" "$BUILD/moat-echo" --tap "$TAP" --ip 192.0.2.2/24
in_ns() { ip netns exec "$NS" "$@"; }

say "ping 192.0.2.2 (ARP and ICMP answered by moat)"
in_ns timeout 10 ping -n -c 3 -i 0.2 -W 2 192.0.2.2 | grep -E 'bytes from|transmitted' | sed 's/^/  /'
in_ns timeout 10 ping -n -c 2 -i 0.2 -W 2 -M dont -s 4000 192.0.2.2 | grep -E 'transmitted' |
    sed 's/^/  4000-byte payload, fragmented both ways: /'
echo "  the kernel's neighbour entry: $(in_ns ip neigh show 192.0.2.2 dev "$TAP")"

say "UDP echo with socat: 1472 random bytes to port 7 and back"
head -c 1472 /dev/urandom >"$WORK/udp.in"
in_ns timeout 10 socat -b 65536 -T 3 -t 1 - UDP:192.0.2.2:7 <"$WORK/udp.in" >"$WORK/udp.out" 2>/dev/null
echo "  sent $(stat -c %s "$WORK/udp.in") bytes sha256 $(sha "$WORK/udp.in")..., got $(stat -c %s "$WORK/udp.out") bytes sha256 $(sha "$WORK/udp.out")...$(cmp -s "$WORK/udp.in" "$WORK/udp.out" && echo ': identical' || echo ': DIFFERENT')"

if grep -q "TCP is not available" "$WORK/echo.err"; then
    say "TCP: not in this build yet (moat-echo serves UDP only)"
else
    say "TCP echo with socat: 16 MiB to port 7 and back"
    head -c 16M /dev/urandom >"$WORK/tcp.in"
    t0=$(date +%s.%N)
    in_ns timeout 60 socat -b 131072 -T 20 - TCP:192.0.2.2:7 <"$WORK/tcp.in" >"$WORK/tcp.out" 2>/dev/null
    dt=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.2f", $1 - $2}')
    echo "  sent $(stat -c %s "$WORK/tcp.in") bytes sha256 $(sha "$WORK/tcp.in")..., got $(stat -c %s "$WORK/tcp.out") bytes sha256 $(sha "$WORK/tcp.out")...$(cmp -s "$WORK/tcp.in" "$WORK/tcp.out" && echo ': identical' || echo ': DIFFERENT')"
    echo "  ${dt}s, $(echo "$dt" | awk '{ if ($1 > 0) printf "%.1f", 16 * 8.388608 / $1 }') Mbit/s each way"
fi

say "domain processes of moat-echo (pid $ECHO_PID)"
domains "$ECHO_PID"
stop_echo
say "done; namespace $NS and $TAP removed on exit"
