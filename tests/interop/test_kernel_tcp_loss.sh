#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: moat's TCP recovering from frame loss against the Linux kernel.
#
#   network namespace moat-tcploss-$$ (made and deleted by this script)
#   +------------------------------------------------------------------+
#   |  Linux kernel stack (socat)                 moat-echo            |
#   |  mt$$: 192.0.2.1/24 <==== TAP device ====>  192.0.2.2/24         |
#   |        iptables in the namespace drops 2% of the frames          |
#   |        in each direction (statistic match; no netem here)        |
#   +------------------------------------------------------------------+
#
# Checks: three 8 MiB streams through moat-echo and back, each compared by
# sha256 and bounded to 30 s (a loss-free run takes well under a second),
# and moat's retransmission counters showing it did the recovering.
#
# Skips (exit 77) when TCP is not in this build yet, or when iptables'
# statistic match is not available.
# usage: bash test_kernel_tcp_loss.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need socat sha256sum iptables
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
it_setup "$1" tcploss
echo "namespace $IT_NS, TAP $IT_TAP, build $IT_BUILD"

it_start_echo --ip 192.0.2.2/24 --pcap "$IT_WORK/moat.pcap"
it_need_tcp_echo
it_in_ns iptables -A INPUT -i "$IT_TAP" -m statistic --mode random --probability 0.02 -j DROP 2>/dev/null &&
it_in_ns iptables -A OUTPUT -o "$IT_TAP" -m statistic --mode random --probability 0.02 -j DROP 2>/dev/null ||
    it_skip "iptables statistic match not available in this kernel"

for run in 1 2 3; do
    head -c 8M /dev/urandom >"$IT_WORK/in"
    t0=$SECONDS
    it_in_ns timeout 30 socat -b 131072 -T 20 - TCP:192.0.2.2:7 \
        <"$IT_WORK/in" >"$IT_WORK/out" 2>"$IT_WORK/socat.err"
    rc=$?
    if [ "$(it_sha "$IT_WORK/in")" = "$(it_sha "$IT_WORK/out")" ]; then
        it_result "TCP echo 8 MiB, 2% loss, run $run" 1 "identical, $((SECONDS - t0))s"
    else
        it_result "TCP echo 8 MiB, 2% loss, run $run" 0 \
            "$(stat -c %s "$IT_WORK/out") of 8388608 bytes back, socat exit $rc after $((SECONDS - t0))s"
        break   # a stalled stack stalls again: spare the time
    fi
done
dropped=$(it_in_ns iptables -L -v -n -x | awk '/statistic/ {n += $1} END {print n + 0}')
echo "iptables dropped $dropped frames"
it_in_ns iptables -F

it_stop echo
r=$(it_stat echo tcp_retransmits)
it_result "moat retransmitted" "$([ "$r" -gt 0 ] && echo 1 || echo 0)" \
    "tcp_retransmits=$r tcp_fast_retransmits=$(it_stat echo tcp_fast_retransmits) tcp_timeouts=$(it_stat echo tcp_timeouts)"
grep 'drop:' "$IT_WORK/echo.err" | sed 's/^/    /'
[ "$IT_FAIL" = 0 ] || echo "(run with IT_KEEP=1 to keep moat.pcap in the work directory)"
it_summary
