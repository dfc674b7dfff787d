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

it_summary() {
    echo "---- $IT_PASS passed, $IT_FAIL failed"
    [ "$IT_FAIL" = 0 ]
}
