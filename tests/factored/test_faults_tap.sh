#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fault campaign, factored backends (process, seccomp), against the Linux
# kernel through a TAP device. Results go in docs/faults.md.
#
#   1. link kills: moat-linkd is SIGKILLed once during each of a series of
#      16 MiB kernel -> moat-echo -> kernel TCP transfers (socat), after the
#      first MiB came back and while socat still runs (only such kills are
#      counted); the bytes back must hash the same as the bytes sent.
#   2. application death: moat-echo holds N kernel connections and is
#      SIGKILLed; moat-netd resets them (RST through moat-linkd) before it
#      exits: the capture shows an RST per connection and the kernel has no
#      socket left to port 7, soon (measured: kill -> last socket gone).
#   3. net domain SIGKILL during a transfer: moat-echo's calls fail with
#      MOAT_E_DEAD; measured: SIGKILL -> moat-echo's exit.
#   4. net domain SIGSTOP during a transfer: the heartbeat stops; moat-echo's
#      calls fail with MOAT_E_DEAD within net_stall_ms (default 5000) plus a
#      wait slice; measured: SIGSTOP -> the error line.
#   5. exhaustion: moat-echo with 8 socket slots and the smallest TCP memory
#      budget (64 KiB) gets 4 transfers of 4 MiB at once, then 12 more
#      connections: the ones past the slots are refused (RST, drop reason
#      TCP_NO_SLOT), the 4 transfers finish intact inside the budget, and
#      after they leave a new connection is served.
#   6. the link domain stopped with SIGSTOP for 3 s: no error anywhere (it
#      is alive, and moat-netd keeps running), TCP retransmits, and the
#      transfer resumes intact after SIGCONT; measured: SIGCONT -> progress.
#
# Short by default (10 link kills, about 45 s). MOAT_FAULTS_KILLS=100 (what
# scripts/faults.sh sets) runs the full link-kill count.
#
#   network namespace moat-faults-$$ (made and deleted here)
#   socat (kernel TCP) mt$$ 192.0.2.1 <== TAP ==> moat-echo 192.0.2.2
#
# usage: bash test_faults_tap.sh BUILD_DIR   (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../interop/lib.sh"

it_need socat sha256sum ss
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
[ -x "$1/moat-linkd" ] || it_skip "not a factored build (no moat-linkd in $1)"
it_setup "$1" faults
KILLS=${MOAT_FAULTS_KILLS:-10}
STALL_MS=5000          # moat_config_defaults' net_stall_ms
echo "namespace $IT_NS, TAP $IT_TAP, build $IT_BUILD, $KILLS link kills"

now_ms() { date +%s%3N; }

# child_pid APP COMM: the pid of APP's child named COMM (the domains are
# children of moat-echo: ip netns exec execs it in place).
child_pid() {
    local c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$c"/comm 2>/dev/null)" = "$2" ] && { echo "$c"; return 0; }
    done
    return 1
}

# wait_gone PID MS: wait (bounded) until PID has exited; 0 if it did.
wait_gone() {
    local end=$(($(now_ms) + $2))
    while kill -0 "$1" 2>/dev/null; do
        [ "$(now_ms)" -ge "$end" ] && return 1
        sleep 0.005
    done
    return 0
}

# start_echo NAME ARGS...: moat-echo on the TAP, or the end of the script.
start_echo() {
    local name=$1; shift
    if ! it_start "$name" "$IT_BUILD/moat-echo" --tap "$IT_TAP" --ip 192.0.2.2/24 "$@"; then
        it_result "moat-echo ($name) starts" 0 "no 'ready' within 15 s"
        it_summary; exit 1
    fi
}

# transfer BYTES FILE_IN FILE_OUT: socat through moat-echo, in the background
# (sets SOCAT).
transfer() {
    head -c "$1" /dev/urandom >"$2"
    ip netns exec "$IT_NS" timeout 300 socat -b 131072 -T 60 - TCP:192.0.2.2:7 <"$2" >"$3" 2>"$3.err" &
    SOCAT=$!
    IT_PIDS+=("$SOCAT")
}

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# ---- 1. link-domain kills ----------------------------------------------
# One kill per transfer of ROUND bytes, once at least 1 MiB has come back
# and the transfer is still running: every counted kill lands mid-transfer
# (a round whose transfer finished first is not counted, and retried; the
# number of rounds is bounded). Every round's bytes must come back intact.
start_echo e1
ROUND=$((16 << 20))
head -c "$ROUND" /dev/urandom >"$IT_WORK/l.in"
SHA_IN=$(it_sha "$IT_WORK/l.in")
kills=0 rounds=0 bad=0 late=0
# The supervisor gives up on a link domain that dies more than 20 times in
# 10 s (the link then stays down, reported: backends/process/supervisor_watch.c,
# SV_RESTART_MAX): keep the kills at least KILL_GAP_MS apart, 16 per 10 s.
KILL_GAP_MS=625
last_kill=0
t0=$(date +%s.%N)
while [ "$kills" -lt "$KILLS" ] && [ "$rounds" -lt $((KILLS * 2 + 5)) ]; do
    rounds=$((rounds + 1))
    rm -f "$IT_WORK/l.rx"
    while [ $(($(now_ms) - last_kill)) -lt "$KILL_GAP_MS" ]; do sleep 0.005; done
    ip netns exec "$IT_NS" timeout 120 socat -b 131072 -T 60 - TCP:192.0.2.2:7 \
        <"$IT_WORK/l.in" >"$IT_WORK/l.rx" 2>"$IT_WORK/l.err" &
    SOCAT=$!
    end=$(($(now_ms) + 20000))
    while [ "$(size_of "$IT_WORK/l.rx")" -lt $((1 << 20)) ] && kill -0 "$SOCAT" 2>/dev/null &&
          [ "$(now_ms)" -lt "$end" ]; do
        sleep 0.002
    done
    if p=$(child_pid "$IT_PID_e1" moat-linkd) && kill -0 "$SOCAT" 2>/dev/null &&
       kill -KILL "$p" 2>/dev/null; then
        last_kill=$(now_ms)
        if kill -0 "$SOCAT" 2>/dev/null && [ "$(size_of "$IT_WORK/l.rx")" -lt "$ROUND" ]; then
            kills=$((kills + 1))
        else
            late=$((late + 1))
        fi
    fi
    wait "$SOCAT"; rc=$?
    [ "$rc" = 0 ] && [ "$(it_sha "$IT_WORK/l.rx")" = "$SHA_IN" ] || bad=$((bad + 1))
done
secs=$(it_secs_since "$t0")
it_result "link domain killed $KILLS times" "$([ "$kills" = "$KILLS" ] && echo 1 || echo 0)" \
    "$kills kills mid-transfer in $rounds rounds ($late landed after the end, not counted)"
it_result "$rounds x $((ROUND >> 20)) MiB echoed intact" "$([ "$bad" = 0 ] && echo 1 || echo 0)" \
    "$bad rounds lost or corrupted bytes; $secs s"
echo "RESULT link_kills backend=$(basename "$IT_BUILD") kills=$kills rounds=$rounds bytes=$((rounds * ROUND)) bad_rounds=$bad secs=$secs"
it_stop e1

# ---- 2. the application dies holding N connections ----------------------
N=8
start_echo e2 --pcap "$IT_WORK/e2.pcap"
CL=()
for i in $(seq 1 "$N"); do
    # Each client sends one line, then holds the connection open (its
    # stdin stays open for 15 s) until moat's RST ends it.
    ( echo "hello $i"; sleep 15 ) | ip netns exec "$IT_NS" timeout 40 socat -T 40 - TCP:192.0.2.2:7 \
        >"$IT_WORK/c$i.out" 2>"$IT_WORK/c$i.err" &
    CL+=("$!")
    IT_PIDS+=("$!")
done
# Every client connected and echoed (bounded: 10 s).
end=$((SECONDS + 10))
while [ "$SECONDS" -lt "$end" ]; do
    ok=0
    for i in $(seq 1 "$N"); do grep -q "hello $i" "$IT_WORK/c$i.out" 2>/dev/null && ok=$((ok + 1)); done
    [ "$ok" = "$N" ] && break
    sleep 0.02
done
est=$(it_in_ns ss -Htn state established '( dport = :7 )' | wc -l)
it_result "$N connections held" "$([ "$ok" = "$N" ] && [ "$est" = "$N" ] && echo 1 || echo 0)" \
    "$ok echoed, $est established in the kernel"
t0=$(now_ms)
kill -KILL "$IT_PID_e2"
# The kernel drops a socket the moment an RST arrives: time until no
# connection to port 7 is left (socat itself lingers 0.5 s after EOF).
end=$((t0 + 5000))
while [ "$(it_in_ns ss -Htn '( dport = :7 )' | grep -vc TIME-WAIT)" != 0 ] && [ "$(now_ms)" -lt "$end" ]; do
    sleep 0.002
done
t1=$(now_ms)
for i in $(seq 1 "$N"); do
    wait_gone "${CL[$((i - 1))]}" 5000
done
# The RSTs as moat-linkd wrote them to the capture (tcpdump is not
# installed): TCP segments from 192.0.2.2 with RST set.
resets=$(python3 - "$IT_WORK/e2.pcap" <<'PY'
import struct, sys
n = 0
with open(sys.argv[1], "rb") as f:
    hdr = f.read(24)
    e = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            break
        incl = struct.unpack(e + "IIII", rec)[2]
        fr = f.read(incl)
        if len(fr) < 54 or fr[12:14] != b"\x08\x00" or fr[23] != 6:
            continue
        ihl = (fr[14] & 15) * 4
        if fr[26:30] == bytes([192, 0, 2, 2]) and fr[14 + ihl + 13] & 4:
            n += 1
print(n)
PY
)
left=$(it_in_ns ss -Htn '( dport = :7 )' | grep -vc TIME-WAIT)
it_result "peers reset when the app dies" "$([ "$resets" -ge "$N" ] && [ "$left" = 0 ] && echo 1 || echo 0)" \
    "$resets RSTs sent for $N connections; kernel sockets gone $((t1 - t0)) ms after the kill; $left left"
echo "RESULT app_kill backend=$(basename "$IT_BUILD") conns=$N rst=$resets ms=$((t1 - t0))"

# ---- 3 and 4. the net domain killed, then stopped, during a transfer ----
net_fault() {   # NAME SIGNAL BOUND_MS
    local name=$1 sig=$2 bound=$3 netd got t0 t1 rc
    start_echo "$name"
    transfer $((256 << 20)) "$IT_WORK/$name.in" "$IT_WORK/$name.rx"
    end=$((SECONDS + 20))
    while [ "$(size_of "$IT_WORK/$name.rx")" -lt $((4 << 20)) ] && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.01
    done
    netd=$(child_pid "$(eval echo "\$IT_PID_$name")" moat-netd)
    got=$(size_of "$IT_WORK/$name.rx")
    t0=$(now_ms)
    kill "-$sig" "$netd"
    local pidvar="IT_PID_$name"
    # moat-echo's next wait fails and it exits 1 (after closing its stack:
    # a stopped net domain gets its SIGKILL after 2 s there).
    until grep -q "poll: \|accept: \|send: \|recv: " "$IT_WORK/$name.err" 2>/dev/null; do
        [ $(($(now_ms) - t0)) -gt $((bound + 5000)) ] && break
        sleep 0.005
    done
    t1=$(now_ms)
    it_reap "$name" 10; rc=$?
    [ "$sig" = STOP ] && kill -CONT "$netd" 2>/dev/null
    local err
    err=$(grep -o "poll: .*\|accept: .*\|send: .*\|recv: .*" "$IT_WORK/$name.err" | head -1)
    it_result "net domain SIG$sig -> app error" \
        "$([ "$rc" = 1 ] && [ $((t1 - t0)) -le "$bound" ] && echo "$err" | grep -q "network domain is gone" && echo 1 || echo 0)" \
        "after $got bytes: '$err' in $((t1 - t0)) ms (bound $bound ms), moat-echo exit $rc"
    echo "RESULT netd_$sig backend=$(basename "$IT_BUILD") ms=$((t1 - t0)) bound=$bound"
    kill -KILL "$SOCAT" 2>/dev/null
    wait "$SOCAT" 2>/dev/null
}
net_fault e3 KILL 200
net_fault e4 STOP $((STALL_MS + 600))

# ---- 6. the link domain stopped (SIGSTOP) for 3 s, then resumed ----------
# Nothing is dead, so nothing is reported: frames simply stop moving, TCP
# retransmits with backoff, and the transfer resumes after SIGCONT.
start_echo e6
transfer $((32 << 20)) "$IT_WORK/s.in" "$IT_WORK/s.rx"
end=$((SECONDS + 20))
while [ "$(size_of "$IT_WORK/s.rx")" -lt $((2 << 20)) ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.01; done
linkd=$(child_pid "$IT_PID_e6" moat-linkd)
kill -STOP "$linkd"
# What the kernel already had (socket buffers, frames the link domain wrote
# before it stopped) still reaches the file: a0 is taken once that drained,
# i.e. the size held for 200 ms (at most 10 tries).
a0=$(size_of "$IT_WORK/s.rx")
for _ in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.2
    a=$(size_of "$IT_WORK/s.rx")
    [ "$a" = "$a0" ] && break
    a0=$a
done
sleep 3     # the fault itself: how long the domain stays stopped
a1=$(size_of "$IT_WORK/s.rx")
kill -CONT "$linkd"
t0=$(now_ms)
end=$((t0 + 30000))
while [ "$(size_of "$IT_WORK/s.rx")" = "$a1" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.005; done
t1=$(now_ms)
wait_gone "$SOCAT" 60000
a2=$(it_sha "$IT_WORK/s.in"); b2=$(it_sha "$IT_WORK/s.rx")
it_result "link domain stopped 3 s" "$([ "$a2" = "$b2" ] && [ "$a0" = "$a1" ] && echo 1 || echo 0)" \
    "no bytes while stopped ($a0 -> $a1), moving again $((t1 - t0)) ms after SIGCONT, 32 MiB intact: $([ "$a2" = "$b2" ] && echo yes || echo no)"
echo "RESULT linkd_STOP backend=$(basename "$IT_BUILD") resume_ms=$((t1 - t0))"
it_stop e6

# ---- 5. slot and memory exhaustion --------------------------------------
start_echo e5 --max-sockets 8 --tcp-mem 64K
BIG=()
for i in 1 2 3 4; do
    transfer $((4 << 20)) "$IT_WORK/b$i.in" "$IT_WORK/b$i.rx"
    BIG+=("$SOCAT")
done
# Let them take their slots first (bounded: 10 s).
end=$((SECONDS + 10))
for i in 1 2 3 4; do
    while [ "$(size_of "$IT_WORK/b$i.rx")" = 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.01; done
done
HOLD=()
for i in $(seq 1 12); do
    ( echo "hold $i"; sleep 15 ) | ip netns exec "$IT_NS" timeout 25 socat -T 25 - TCP:192.0.2.2:7 \
        >"$IT_WORK/h$i.out" 2>"$IT_WORK/h$i.err" &
    HOLD+=("$!")
    IT_PIDS+=("$!")
done
# The transfers either finish intact or are refused; none may hang past 30 s.
intact=0 refused=0 other=0
for i in 1 2 3 4; do
    wait_gone "${BIG[$((i - 1))]}" 30000
    if [ "$(it_sha "$IT_WORK/b$i.in")" = "$(it_sha "$IT_WORK/b$i.rx")" ]; then
        intact=$((intact + 1))
    elif [ "$(size_of "$IT_WORK/b$i.rx")" = 0 ]; then
        refused=$((refused + 1))
    else
        other=$((other + 1))
    fi
done
for p in "${HOLD[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${HOLD[@]}"; do wait_gone "$p" 5000; done
held=0
for i in $(seq 1 12); do grep -q "hold $i" "$IT_WORK/h$i.out" 2>/dev/null && held=$((held + 1)); done
alive=$(kill -0 "$IT_PID_e5" 2>/dev/null && echo 1 || echo 0)
it_result "16 connections on 8 slots, 64 KiB tcp_mem" "$([ "$alive" = 1 ] && [ "$intact" = 4 ] && echo 1 || echo 0)" \
    "$held of 12 idle ones echoed; 4 MiB transfers: $intact intact, $refused refused, $other cut short"
# Room again: a new connection is served once the held ones have closed
# (their FIN handshakes finish asynchronously: a few tries, bounded).
served=0
for try in 1 2 3 4 5; do
    transfer $((1 << 20)) "$IT_WORK/after.in" "$IT_WORK/after.rx"
    wait_gone "$SOCAT" 20000
    [ "$(it_sha "$IT_WORK/after.in")" = "$(it_sha "$IT_WORK/after.rx")" ] && { served=$try; break; }
    sleep 0.2
done
it_result "served again after exhaustion" "$([ "$served" -gt 0 ] && echo 1 || echo 0)" \
    "1 MiB echoed (try $served)"
echo "RESULT exhaustion backend=$(basename "$IT_BUILD") held=$held intact=$intact refused=$refused cut=$other"
it_stop e5
for f in e1 e2 e3 e4 e5 e6; do
    grep -h "moat-netd .*died\|SIGSYS\|signal 31" "$IT_WORK/$f.err" 2>/dev/null | sed "s/^/  $f: /"
done
it_summary
