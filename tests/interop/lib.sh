# SPDX-License-Identifier: MIT
# Helpers shared by the interop scripts (sourced, not run): a network
# namespace with a TAP device, starting a moat example in it and waiting for
# its "ready" line, stopping it and checking it exited 0, PASS/FAIL lines,
# and a cleanup that removes everything the script made. Needs root.
#
# Every wait is bounded: "ready" is read from a FIFO with read -t (no
# sleeping), commands run under timeout(1), and process exit is waited for
# at most IT_STOP_S seconds.

IT_PASS=0
IT_FAIL=0
IT_PIDS=()
IT_STOP_S=10
IT_NS=""
IT_WORK=""
IT_NK=""    # it_router_setup: the kernel client namespace
IT_NS2=""   # it_router_setup: the kernel server namespace

it_log() { printf '%s\n' "$*"; }

# it_result NAME OK DETAIL: one summary line per check.
it_result() {
    if [ "$2" = 1 ]; then
        IT_PASS=$((IT_PASS + 1)); printf 'PASS  %-34s %s\n' "$1" "$3"
    else
        IT_FAIL=$((IT_FAIL + 1)); printf 'FAIL  %-34s %s\n' "$1" "$3"
    fi
}

it_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

it_need() {
    [ "$(id -u)" = 0 ] || it_skip "needs root (network namespaces and TAP devices)"
    [ -c /dev/net/tun ] || it_skip "no /dev/net/tun on this machine"
    local t
    for t in ip timeout "$@"; do
        command -v "$t" >/dev/null 2>&1 || it_skip "needs the '$t' command (scripts/test.sh installs it)"
    done
}

# it_setup BUILD_DIR NAME: a work dir, namespace and TAP device named with $$.
it_setup() {
    IT_BUILD=$(cd "$1" && pwd) || { echo "no build dir '$1'"; exit 1; }
    IT_NS="moat-$2-$$"
    IT_TAP="mt$$"
    IT_WORK=$(mktemp -d "/tmp/moat-$2-$$.XXXXXX")
    trap it_cleanup EXIT
    ip netns add "$IT_NS" || { echo "cannot create namespace $IT_NS"; exit 1; }
    ip -n "$IT_NS" link set lo up
    ip -n "$IT_NS" tuntap add dev "$IT_TAP" mode tap || { echo "cannot create TAP $IT_TAP"; exit 1; }
    ip -n "$IT_NS" addr add 192.0.2.1/24 dev "$IT_TAP"
    ip -n "$IT_NS" link set "$IT_TAP" up
}

it_cleanup() {
    local pid
    for pid in "${IT_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${IT_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    [ -n "$IT_NS" ] && ip netns del "$IT_NS" 2>/dev/null
    [ -n "$IT_NK" ] && ip netns del "$IT_NK" 2>/dev/null
    [ -n "$IT_NS2" ] && ip netns del "$IT_NS2" 2>/dev/null
    [ -n "$IT_WORK" ] && [ -z "${IT_KEEP:-}" ] && rm -rf "$IT_WORK"
    [ -n "${IT_KEEP:-}" ] && echo "kept $IT_WORK"
}

# it_start NAME PROGRAM ARGS...: run PROGRAM inside the namespace with stdout
# on a FIFO and stderr in $IT_WORK/NAME.err; wait (at most 15 s) for its
# "ready" line. Sets IT_PID_<NAME>. Returns 1 if it died or never got ready.
it_start() {
    local name=$1; shift
    local fifo="$IT_WORK/$name.out" fd line pid
    mkfifo "$fifo"
    ip netns exec "$IT_NS" "$@" >"$fifo" 2>"$IT_WORK/$name.err" &
    pid=$!
    IT_PIDS+=("$pid")
    printf -v "IT_PID_$name" '%s' "$pid"
    exec {fd}<"$fifo"
    printf -v "IT_FD_$name" '%s' "$fd"
    while IFS= read -r -t 15 -u "$fd" line; do
        line=${line%$'\r'}     # a board's UART ends lines with CR LF
        [ "$line" = ready ] && return 0
        printf '%s\n' "$line" >>"$IT_WORK/$name.stdout"
    done
    echo "$name did not get ready; its stderr:"; sed 's/^/    /' "$IT_WORK/$name.err"
    return 1
}

# it_drain FD SECONDS FILE: append what is left on FD to FILE until EOF
# (the writer exited). Returns 0 at EOF, 1 if SECONDS passed first.
it_drain() {
    local fd=$1 end=$((SECONDS + $2)) line rc left
    while :; do
        left=$((end - SECONDS)); [ "$left" -lt 1 ] && left=1
        IFS= read -r -t "$left" -u "$fd" line; rc=$?
        if [ "$rc" -eq 0 ]; then printf '%s\n' "$line" >>"$3"; continue; fi
        [ "$rc" -gt 128 ] && return 1
        [ -n "$line" ] && printf '%s\n' "$line" >>"$3"
        return 0
    done
}

# it_reap NAME SECONDS: wait for NAME's stdout to close, then for its exit
# status; kills it if SECONDS pass first (status 124).
it_reap() {
    local name=$1 pidvar="IT_PID_$1" fdvar="IT_FD_$1" pid rc fd
    pid=${!pidvar}; fd=${!fdvar}
    if it_drain "$fd" "$2" "$IT_WORK/$name.stdout"; then
        wait "$pid"; rc=$?
    else
        kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rc=124
    fi
    exec {fd}<&-
    return "$rc"
}

# it_stop NAME: SIGTERM, then the check "NAME exits 0 on SIGTERM".
it_stop() {
    local rc
    local pidvar="IT_PID_$1"
    kill -TERM "${!pidvar}" 2>/dev/null
    it_reap "$1" "$IT_STOP_S"; rc=$?
    it_result "$1 exits 0 on SIGTERM" "$([ "$rc" = 0 ] && echo 1 || echo 0)" \
        "exit code $rc$([ "$rc" = 124 ] && echo ", still running after ${IT_STOP_S}s: killed")"
}

# it_stat NAME COUNTER: a counter from the stats lines the example printed
# on stderr when it stopped (0 if absent).
it_stat() {
    local v
    v=$(grep -o "[ ]$2=[0-9]*" "$IT_WORK/$1.err" | tail -1 | cut -d= -f2)
    echo "${v:-0}"
}

# it_start_echo ARGS...: start moat-echo on the TAP device (ARGS: --ip and
# the rest); if it never gets ready, that is a failed check and the end of
# the script. The passing "moat-echo starts" line is the caller's.
it_start_echo() {
    if ! it_start echo "$IT_BUILD/moat-echo" --tap "$IT_TAP" "$@"; then
        it_result "moat-echo starts" 0 "no 'ready' within 15 s"
        it_summary; exit 1
    fi
}

# it_need_tcp_echo: skip (exit 77) when the running moat-echo said that this
# build has no TCP yet.
it_need_tcp_echo() {
    if grep -q "TCP is not available" "$IT_WORK/echo.err"; then
        it_stop echo
        it_skip "TCP is not in this build yet ($(grep -o 'TCP is not available.*' "$IT_WORK/echo.err"))"
    fi
}

# it_sha FILE: its SHA-256 in hex.
it_sha() { sha256sum "$1" | cut -c1-64; }

# it_secs_since T0: seconds (two decimals) since T0 = $(date +%s.%N).
it_secs_since() { echo "$(date +%s.%N) $1" | awk '{printf "%.2f", $1 - $2}'; }

# it_mbits BYTES SECONDS: the rate in Mbit/s ("?" for no time).
it_mbits() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.1f", $1 * 8 / $2 / 1e6; else print "?" }'; }

# it_in_ns CMD...: run a command in the namespace.
it_in_ns() { ip netns exec "$IT_NS" "$@"; }

# it_kernel_ip6 ADDR/PREFIX: IPv6 on the namespace's end of the TAP with a
# static address, no DAD on it (tests would wait for it) and no SLAAC of
# its own from a router advertisement the test sends; skips (77) when the
# kernel has no IPv6.
it_kernel_ip6() {
    [ -e /proc/sys/net/ipv6 ] || it_skip "the kernel has no IPv6"
    it_in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "net.ipv6.conf.$IT_TAP.disable_ipv6=0" \
        "net.ipv6.conf.$IT_TAP.accept_dad=0" "net.ipv6.conf.$IT_TAP.accept_ra=0"
    ip -n "$IT_NS" link set "$IT_TAP" down
    ip -n "$IT_NS" link set "$IT_TAP" up
    ip -n "$IT_NS" -6 addr add "$1" dev "$IT_TAP" nodad
}

# it_udp_echo_check NAME SOCAT-ADDRESS SIZE: socat sends one datagram of
# SIZE random bytes to SOCAT-ADDRESS (e.g. UDP:192.0.2.2:7, UDP6:[..]:7)
# from the namespace; the check passes when the echo is identical.
it_udp_echo_check() {
    local name=$1 addr=$2 size=$3 in="$IT_WORK/udp.$1.$3.in" out="$IT_WORK/udp.$1.$3.out"
    head -c "$size" /dev/urandom >"$in"
    it_in_ns timeout 15 socat -b 65536 -T 5 -t 1 - "$addr" <"$in" >"$out" 2>"$IT_WORK/socat.err"
    if cmp -s "$in" "$out"; then
        it_result "UDP echo $name$size bytes" 1 "identical ($(stat -c %s "$out") bytes back)"
    else
        it_result "UDP echo $name$size bytes" 0 "got $(stat -c %s "$out" 2>/dev/null || echo 0) bytes, differing"
        sed 's/^/    /' "$IT_WORK/socat.err"
    fi
}

it_summary() {
    echo "---- $IT_PASS passed, $IT_FAIL failed"
    [ "$IT_FAIL" = 0 ]
}

# ---------------------------------------------------------------- routed paths
# A router between the kernel and moat, for impairments that must act on
# forwarded packets (see test_kernel_tcp_impaired.sh for why a router):
#
#   $IT_NK: kernel client          $IT_NS (router, from it_setup)      $IT_NS2: kernel server
#   vk$$ 198.18.1.2 --- veth --- vr$$ 198.18.1.1   vs$$ 198.18.2.1 --- veth --- vt$$ 198.18.2.2
#                                mt$$ 192.0.2.1 <== TAP ==> moat
#
# The kernel ends' veths send one segment per frame (gso_max_segs 1), so a
# loss probability applies per frame and not per 64 KiB GSO burst.

# it_router_setup: after it_setup, make the client namespace $IT_NK and the
# kernel-server namespace $IT_NS2 (both removed by it_cleanup), route
# between them and the TAP through $IT_NS. Returns 1 if something failed.
it_router_setup() {
    IT_NK="$IT_NS-k"
    IT_NS2="$IT_NS-s"
    ip netns add "$IT_NK" || return 1
    ip netns add "$IT_NS2" || return 1
    ip -n "$IT_NK" link set lo up
    ip -n "$IT_NS2" link set lo up
    ip -n "$IT_NS" link add "vr$$" type veth peer name "vk$$" netns "$IT_NK" || return 1
    ip -n "$IT_NS" link add "vs$$" type veth peer name "vt$$" netns "$IT_NS2" || return 1
    ip -n "$IT_NS" addr add 198.18.1.1/24 dev "vr$$"
    ip -n "$IT_NS" addr add 198.18.2.1/24 dev "vs$$"
    ip -n "$IT_NK" addr add 198.18.1.2/24 dev "vk$$"
    ip -n "$IT_NS2" addr add 198.18.2.2/24 dev "vt$$"
    ip -n "$IT_NK" link set "vk$$" gso_max_segs 1 2>/dev/null ||
        echo "note: cannot limit GSO on vk$$: loss hits whole GSO bursts from the kernel"
    ip -n "$IT_NS2" link set "vt$$" gso_max_segs 1 2>/dev/null ||
        echo "note: cannot limit GSO on vt$$: loss hits whole GSO bursts from the kernel"
    local l
    for l in "vr$$" "vs$$"; do ip -n "$IT_NS" link set "$l" up || return 1; done
    ip -n "$IT_NK" link set "vk$$" up || return 1
    ip -n "$IT_NS2" link set "vt$$" up || return 1
    ip -n "$IT_NK" route add 192.0.2.0/24 via 198.18.1.1 || return 1
    ip -n "$IT_NK" route add 198.18.2.0/24 via 198.18.1.1 || return 1
    ip -n "$IT_NS2" route add 198.18.1.0/24 via 198.18.2.1 || return 1
    it_in_ns sysctl -qw net.ipv4.ip_forward=1 || return 1
}

it_in_k() { ip netns exec "$IT_NK" "$@"; }
it_in_s2() { ip netns exec "$IT_NS2" "$@"; }

# it_impair_rules LOSS QUEUE IF...: in the router's FORWARD chain, for
# packets in and out of each IF: drop with probability LOSS (none if 0),
# then hand to NFQUEUE QUEUE (none if QUEUE is empty). Loss comes first, so
# a dropped packet is never delayed. No --queue-bypass: if nfq_delay dies
# the path goes dark and the test fails instead of passing undelayed.
# Errors are appended to $IT_WORK/ipt.err; returns 1 on any.
it_impair_rules() {
    local loss=$1 queue=$2 ok=0 i d
    shift 2
    for i in "$@"; do
        for d in -i -o; do
            if [ "$loss" != 0 ]; then
                it_in_ns iptables -A FORWARD "$d" "$i" -m statistic --mode random \
                    --probability "$loss" -j DROP 2>>"$IT_WORK/ipt.err" || ok=1
            fi
            if [ -n "$queue" ]; then
                it_in_ns iptables -A FORWARD "$d" "$i" -j NFQUEUE --queue-num "$queue" \
                    2>>"$IT_WORK/ipt.err" || ok=1
            fi
        done
    done
    return "$ok"
}

# it_impair_counts: "DROPPED QUEUED", the packets the router's statistic
# rules dropped and its NFQUEUE rules queued since the last it_impair_reset.
it_impair_counts() {
    it_in_ns iptables -L FORWARD -v -n -x |
        awk '/statistic/ {d += $1} /NFQUEUE/ {q += $1} END {print d + 0, q + 0}'
}

# it_impair_reset: remove the router's FORWARD rules (and their counters).
it_impair_reset() { it_in_ns iptables -F FORWARD; }

# it_nfq_field NAME KEY: a number from the summary line nfq_delay (started
# with it_start NAME) printed on exit, e.g. packets, reordered, overflow.
it_nfq_field() {
    grep '^nfq_delay:' "$IT_WORK/$1.err" | tail -1 | sed -n "s/.* $2=\([0-9]*\).*/\1/p"
}

# it_kernel_echo_server PORT [LIMIT_S]: a kernel echo server in $IT_NS2
# on 198.18.2.2:PORT, one connection at a time (read, write it all back, as
# moat-echo does), for at most LIMIT_S (600) seconds; waits until it
# listens. Returns 1 if it never did. A connection reset by a client that
# hit its time limit ends that connection only. (Not socat PIPE: socat writes its
# 128 KiB blocks into a 64 KiB pipe that only it reads, and deadlocks.)
# IT_KECHO_NS / IT_KECHO_ADDR choose another namespace / bind address
# (an IPv6 one, e.g. ::, makes an IPv6 server).
it_kernel_echo_server() {
    local ns=${IT_KECHO_NS:-$IT_NS2}
    cat >"$IT_WORK/kecho.py" <<'PY'
import socket, sys
h = sys.argv[2]
l = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((h, int(sys.argv[1])))
l.listen(4)
while True:
    c, _ = l.accept()
    try:
        while True:
            d = c.recv(131072)
            if not d:
                break
            c.sendall(d)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # a client killed by its time limit: serve the next one
    c.close()
PY
    ip netns exec "$ns" timeout "${2:-600}" python3 "$IT_WORK/kecho.py" "$1" \
        "${IT_KECHO_ADDR:-198.18.2.2}" >/dev/null 2>&1 &
    IT_PIDS+=("$!")
    for _ in $(seq 1 100); do
        ip netns exec "$ns" ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

# it_echo_timed ADDR PORT IN OUT LIMIT_S: send file IN to the echo server
# at ADDR:PORT from $IT_NK with socat and write what comes back to OUT;
# prints the seconds it took (two decimals). Bounded by LIMIT_S.
it_echo_timed() {
    local t0
    t0=$(date +%s.%N)
    it_in_k timeout "$5" socat -b 131072 -T 30 -t 30 - "TCP:$1:$2" <"$3" >"$4" 2>>"$IT_WORK/socat.err"
    it_secs_since "$t0"
}
