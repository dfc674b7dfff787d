#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: ECN (RFC 3168) between moat's TCP and the Linux kernel's.
#
#   network namespace moat-tcpecn-$$ (made and deleted by this script)
#   +------------------------------------------------------------------+
#   |  Linux kernel stack (socat)                 moat-echo 192.0.2.2  |
#   |  net.ipv4.tcp_ecn=1 (asks)                  moat-ttcp 192.0.2.4  |
#   |  mt$$: 192.0.2.1/24 <==== TAP device ====>                       |
#   |        iptables (mangle, TOS target) sets CE on 1% of the        |
#   |        ECT(0) TCP packets in each direction (no AQM qdisc here)  |
#   +------------------------------------------------------------------+
#
# Checks: the kernel's ECN-setup SYN is accepted by moat-echo (default
# tcp_ecn 2); 8 MiB echoed through it and back (sha256, bounded to 30 s)
# with CE marks both ways: moat counts the CE it received (and echoed) and
# reduces its window on the kernel's ECE; moat-ttcp --ecn 1 asks the
# kernel (which agrees) and sends it 8 MiB.
#
# Skips (exit 77) when TCP is not in this build, or iptables lacks the
# tos/statistic matches or the TOS target.
# usage: bash test_kernel_tcp_ecn.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need socat sha256sum iptables ss python3
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
it_setup "$1" tcpecn
KIP=192.0.2.1
echo "namespace $IT_NS, TAP $IT_TAP, build $IT_BUILD"

it_in_ns sysctl -qw net.ipv4.tcp_ecn=1 || it_skip "cannot set net.ipv4.tcp_ecn in the namespace"
it_start_echo --ip 192.0.2.2/24 ${ECN_PCAP:+--pcap "$IT_WORK/moat.pcap"}
it_need_tcp_echo
it_result "moat-echo starts" 1 "ready"
# One segment per skb on the kernel's side: mangle/POSTROUTING sees packets
# before GSO splits them, so with large GSO bursts "1 % of the packets"
# would be a handful of marks (or none) in the kernel->moat direction.
it_in_ns ip link set "$IT_TAP" gso_max_segs 1 2>/dev/null ||
    echo "note: cannot limit GSO on $IT_TAP: few CE marks kernel->moat"
mark() { # mark CHAIN -i|-o: CE on 1% of the ECT(0) TCP packets
    it_in_ns iptables -t mangle -A "$1" "$2" "$IT_TAP" -p tcp -m tos --tos 0x02/0x03 \
        -m statistic --mode random --probability 0.01 -j TOS --set-tos 0x03/0x03 2>/dev/null
}
mark POSTROUTING -o && mark PREROUTING -i ||
    { it_stop echo; it_skip "iptables tos/statistic match or TOS target not available"; }

head -c 8M /dev/urandom >"$IT_WORK/in"
t0=$(date +%s.%N)
it_in_ns timeout 30 socat -b 131072 -T 20 - TCP:192.0.2.2:7 \
    <"$IT_WORK/in" >"$IT_WORK/out" 2>"$IT_WORK/socat.err"
rc=$?
if [ "$(it_sha "$IT_WORK/in")" = "$(it_sha "$IT_WORK/out")" ]; then
    it_result "TCP echo 8 MiB, kernel's packets CE-marked" 1 "identical, $(it_secs_since "$t0")s"
else
    it_result "TCP echo 8 MiB, kernel's packets CE-marked" 0 \
        "$(stat -c %s "$IT_WORK/out") of 8388608 bytes back, socat exit $rc"
fi
marked=$(it_in_ns iptables -t mangle -L -v -n -x | awk '/TOS set/ {printf "%s%s", s, $1; s = " / "}')
echo "    CE set on moat->kernel / kernel->moat packets: $marked"
it_in_ns iptables -t mangle -F

it_stop echo
conns=$(it_stat echo tcp_ecn_conns)
ce=$(it_stat echo tcp_ecn_ce_rcvd)
it_result "moat accepted the kernel's ECN" "$([ "$conns" -ge 1 ] && echo 1 || echo 0)" "tcp_ecn_conns=$conns"
red=$(it_stat echo tcp_ecn_reductions)
it_result "moat saw CE (and echoed it)" "$([ "$ce" -gt 0 ] && echo 1 || echo 0)" "tcp_ecn_ce_rcvd=$ce"
it_result "moat reduced on the kernel's ECE" "$([ "$red" -gt 0 ] && echo 1 || echo 0)" \
    "tcp_ecn_ece_rcvd=$(it_stat echo tcp_ecn_ece_rcvd) tcp_ecn_reductions=$red retransmits=$(it_stat echo tcp_retransmits)"

# moat asks (--ecn 1) and the kernel agrees.
it_in_ns timeout 60 socat -u TCP-LISTEN:5001,reuseaddr,bind=$KIP CREATE:"$IT_WORK/sink.bin" 2>/dev/null &
SINK=$!
IT_PIDS+=("$SINK")
for _ in $(seq 1 100); do
    it_in_ns ss -Hltn "sport = :5001" | grep -q . && break
    sleep 0.05
done
out=$(it_in_ns timeout 60 "$IT_BUILD/moat-ttcp" -t --tap "$IT_TAP" --ip 192.0.2.4/24 --ecn 1 \
    --pcap "$IT_WORK/ttcp.pcap" --peer "$KIP" --bytes 8M 2>"$IT_WORK/ttcp.err" | tail -1)
printf '%s' "$out" | grep -q '^ttcp: bytes=' || kill "$SINK" 2>/dev/null
wait "$SINK"
n=$(stat -c %s "$IT_WORK/sink.bin" 2>/dev/null || echo 0)
# From moat's capture: SYN flags, SYN-ACK flags, data segments sent and
# how many of them were ECT(0) (all new data is; retransmissions, if a
# frame was dropped on the way to the TAP, are not: hence 90%).
ecn=$(python3 - "$IT_WORK/ttcp.pcap" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
off, syn, synack, data, ect = 24, '-', '-', 0, 0
while off + 16 <= len(b):
    cl = struct.unpack('<I', b[off + 8:off + 12])[0]
    p = b[off + 16:off + 16 + cl]
    off += 16 + cl
    if len(p) < 54 or p[12:14] != b'\x08\x00' or p[23] != 6:
        continue
    ip = p[14:]
    ihl = (ip[0] & 15) * 4
    tcp = ip[ihl:]
    fl = tcp[13]
    plen = struct.unpack('>H', ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
    ece_cwr = ('E' if fl & 0x40 else '') + ('C' if fl & 0x80 else '')
    if fl & 0x12 == 0x02:
        syn = ece_cwr or 'none'
    elif fl & 0x12 == 0x12:
        synack = ece_cwr or 'none'
    elif ip[12:16] == bytes([192, 0, 2, 4]) and plen > 0:
        data += 1
        ect += (ip[1] & 3) == 2
print(syn, synack, data, ect)
PY
)
set -- $ecn
it_result "moat-ttcp --ecn 1 to a kernel sink" \
    "$([ "$n" = 8388608 ] && [ "${1:-}" = EC ] && [ "${2:-}" = E ] && [ "${3:-0}" -gt 0 ] &&
       [ "$(( ${4:-0} * 10 ))" -ge "$(( ${3:-0} * 9 ))" ] && echo 1 || echo 0)" \
    "${out:-no result line}; sink counted $n bytes; SYN ${1:-?}, SYN-ACK ${2:-?}, ECT(0) on ${4:-?} of ${3:-?} data segments"
it_summary
