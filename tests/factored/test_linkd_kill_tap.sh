#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fault injection, factored backends: the link domain is killed with SIGKILL
# five times while the Linux kernel pushes 128 MiB through moat-echo over a
# TAP device. The supervisor restarts moat-linkd on the same TAP fd each
# time, TCP retransmits what was in flight, and the bytes that come back
# must hash the same as the bytes sent.
#
#   network namespace moat-lkill-$$ (made and deleted here)
#   +-----------------------------------------------------------------+
#   | socat (kernel TCP)   mt$$ 192.0.2.1 <== TAP ==> moat-echo 192.0.2.2 |
#   |                                          moat-echo -> moat-netd    |
#   |                     kill -KILL x5 ---------------> moat-linkd      |
#   +-----------------------------------------------------------------+
#
# usage: bash test_linkd_kill_tap.sh BUILD_DIR   (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../interop/lib.sh"

it_need socat sha256sum
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
[ -x "$1/moat-linkd" ] || it_skip "not a factored build (no moat-linkd in $1)"
it_setup "$1" lkill
echo "namespace $IT_NS, TAP $IT_TAP, build $IT_BUILD"

if ! it_start echo "$IT_BUILD/moat-echo" --tap "$IT_TAP" --ip 192.0.2.2/24; then
    it_result "moat-echo starts" 0 "no 'ready' within 15 s"
    it_summary; exit 1
fi
it_result "moat-echo starts" 1 "ready"

# The domains are children of moat-echo (ip netns exec execs it in place).
linkd_pid() {
    local c
    for c in $(cat /proc/"$IT_PID_echo"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$c"/comm 2>/dev/null)" = moat-linkd ] && { echo "$c"; return 0; }
    done
    return 1
}

head -c 128M /dev/urandom >"$IT_WORK/big.in"
# socat reads the input from a FIFO that this script fills in 4 MiB pieces,
# at most LEAD pieces ahead of the next kill point, so the five kills
# happen before the transfer can end however fast the path is (an echo
# streaming from a file at Gbit/s once finished the 128 MiB before the
# loop below had seen five kill points). LEAD pieces stay written ahead,
# so data is in flight when the link domain dies.
mkfifo "$IT_WORK/big.fifo"
it_in_ns timeout 180 socat -b 131072 -T 60 - TCP:192.0.2.2:7 \
    <"$IT_WORK/big.fifo" >"$IT_WORK/big.out" 2>"$IT_WORK/socat.err" &
SOCAT=$!
IT_PIDS+=("$SOCAT")
exec 7>"$IT_WORK/big.fifo"
PIECE_MIB=4
PIECES=$((128 / PIECE_MIB))
LEAD=4
written=0
# Write the input up to piece $1 (exclusive). A write into the FIFO blocks
# while socat cannot send; socat's own timeout bounds that.
feed_to() {
    while [ "$written" -lt "$1" ] && [ "$written" -lt "$PIECES" ]; do
        dd if="$IT_WORK/big.in" bs=1M skip=$((written * PIECE_MIB)) count="$PIECE_MIB" \
            status=none >&7 2>/dev/null || return 1
        written=$((written + 1))
    done
}

# One kill each time another 4 MiB has come back (bounded: 120 s).
kills=0
next=$((PIECE_MIB << 20))
end=$((SECONDS + 120))
feed_to $((1 + LEAD))
while [ "$kills" -lt 5 ] && [ "$SECONDS" -lt "$end" ] && kill -0 "$SOCAT" 2>/dev/null; do
    got=$(stat -c %s "$IT_WORK/big.out" 2>/dev/null || echo 0)
    if [ "$got" -ge "$next" ]; then
        if p=$(linkd_pid) && kill -KILL "$p" 2>/dev/null; then
            kills=$((kills + 1))
            next=$((next + (PIECE_MIB << 20)))
            feed_to $((kills + 1 + LEAD))
        fi
    fi
    sleep 0.02
done
feed_to "$PIECES"
exec 7>&-       # end of input: socat half-closes and waits for the echo
wait "$SOCAT"; rc=$?
a=$(sha256sum <"$IT_WORK/big.in" | cut -c1-16)
b=$(sha256sum <"$IT_WORK/big.out" | cut -c1-16)
it_result "link domain killed 5 times" "$([ "$kills" = 5 ] && echo 1 || echo 0)" "$kills kills"
it_result "128 MiB echoed intact" "$([ "$rc" = 0 ] && [ "$a" = "$b" ] && echo 1 || echo 0)" \
    "socat exit $rc, $(stat -c %s "$IT_WORK/big.out") bytes, sha256 $a / $b"
it_stop echo
restarts=$(grep -c "moat-linkd .*restarting it" "$IT_WORK/echo.err")
it_result "supervisor restarted it each time" "$([ "$restarts" -ge "$kills" ] && echo 1 || echo 0)" \
    "$restarts restarts reported"
if grep -q "moat-netd .*died" "$IT_WORK/echo.err"; then
    it_result "net domain survived" 0 "$(grep 'moat-netd .*died' "$IT_WORK/echo.err" | head -1)"
fi
it_summary
