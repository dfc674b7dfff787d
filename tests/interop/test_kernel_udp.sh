#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: moat's ARP, IPv4 (fragmentation and reassembly), ICMP echo and
# UDP against the Linux kernel's own stack, through a TAP device.
#
#   network namespace moat-udp-$$ (made and deleted by this script)
#   +------------------------------------------------------------------+
#   |  Linux kernel stack                        moat-echo             |
#   |  ping, socat, ip neigh                     (this build, --pcap)  |
#   |       |                                         |                |
#   |  mt$$: 192.0.2.1/24  <==== TAP device ====>  192.0.2.2/24        |
#   |                                               MAC 02:00:c0:00:02:02 |
#   +------------------------------------------------------------------+
#
# Checks: ping with 56- and 1472-byte payloads (5 of 5 each), a 4000-byte
# ping fragmented both ways (seen in moat's pcap and counters), UDP echo of
# 1, 512, 1472 and 4000 bytes compared byte for byte, the kernel's neighbour
# entry for moat (its ARP replies), and moat-echo exiting 0 on SIGTERM.
#
# usage: bash test_kernel_udp.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need ping socat cmp python3
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
it_setup "$1" udp
MOAT_IP=192.0.2.2
MOAT_MAC=02:00:c0:00:02:02   # the default: 02:00 followed by the address bytes
echo "namespace $IT_NS, TAP $IT_TAP, moat-echo at $MOAT_IP, backend build $IT_BUILD"

it_start_echo --ip "$MOAT_IP/24" --pcap "$IT_WORK/moat.pcap"
it_result "moat-echo starts" 1 "ready"

# ping SIZE COUNT: all COUNT echo requests of SIZE payload bytes answered.
ping_check() {
    local size=$1 count=$2 out got
    out=$(it_in_ns timeout 30 ping -n -c "$count" -i 0.2 -W 3 -M dont -s "$size" "$MOAT_IP" 2>&1)
    got=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
    it_result "ping $size-byte payload" "$([ "${got:-0}" = "$count" ] && echo 1 || echo 0)" \
        "${got:-0} of $count answered"
    [ "${got:-0}" = "$count" ] || printf '%s\n' "$out" | sed 's/^/    /'
}
ping_check 56 5
ping_check 1472 5
ping_check 4000 3

# UDP echo: one datagram of SIZE random bytes, the echo compared with cmp.
it_udp_echo_check "" "UDP:$MOAT_IP:7" 1
it_udp_echo_check "" "UDP:$MOAT_IP:7" 512
it_udp_echo_check "" "UDP:$MOAT_IP:7" 1472
it_udp_echo_check "" "UDP:$MOAT_IP:7" 4000

# The kernel resolved moat's address with ARP: its neighbour entry must
# carry moat's MAC and not be FAILED/INCOMPLETE.
neigh=$(it_in_ns ip neigh show "$MOAT_IP" dev "$IT_TAP")
if printf '%s' "$neigh" | grep -qi "lladdr $MOAT_MAC" &&
   ! printf '%s' "$neigh" | grep -Eq 'FAILED|INCOMPLETE'; then
    it_result "ARP: kernel neighbour entry" 1 "$neigh"
else
    it_result "ARP: kernel neighbour entry" 0 "'$neigh', expected lladdr $MOAT_MAC"
fi
if command -v arping >/dev/null 2>&1; then
    out=$(it_in_ns timeout 10 arping -c 2 -w 5 -I "$IT_TAP" "$MOAT_IP" 2>&1)
    if printf '%s' "$out" | grep -qi "$MOAT_MAC"; then
        it_result "ARP: arping" 1 "replies from $MOAT_MAC"
    else
        it_result "ARP: arping" 0 "no reply naming $MOAT_MAC"
    fi
fi

it_stop echo

# Fragments went both ways: count them in moat's capture and its counters.
frags=$(python3 "$HERE/pcap_frags.py" "$IT_WORK/moat.pcap" "$MOAT_IP" 2>&1)
f_out=$(printf '%s' "$frags" | sed -n 's/^out=\([0-9]*\) .*/\1/p')
f_in=$(printf '%s' "$frags" | sed -n 's/.* in=\([0-9]*\).*/\1/p')
it_result "pcap: fragments both ways" \
    "$([ "${f_out:-0}" -ge 3 ] && [ "${f_in:-0}" -ge 3 ] && echo 1 || echo 0)" \
    "moat sent ${f_out:-?}, received ${f_in:-?} fragments"
c_out=$(it_stat echo ip_frags_out)
c_re=$(it_stat echo ip_reassembled)
it_result "counters: fragmentation" \
    "$([ "$c_out" -ge 3 ] && [ "$c_re" -ge 3 ] && echo 1 || echo 0)" \
    "ip_frags_out=$c_out ip_reassembled=$c_re"
grep 'stats:\|drop:' "$IT_WORK/echo.err" | sed 's/^/    /'

it_summary
