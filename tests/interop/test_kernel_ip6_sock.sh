#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: moat's UDP sockets over IPv6 against the Linux kernel: socat
# sends datagrams over IPv6 to moat-echo's dual-stack UDP socket (bound to
# ::) and compares the echo byte for byte, to the static global address and
# to the link-local one, with a 4000-byte datagram fragmented both ways;
# the same socket still echoes IPv4.
#
#   network namespace moat-ip6s-$$ (made and deleted by this script)
#   +-------------------------------------------------------------+
#   |  socat (UDP6, UDP4)                      moat-echo (--pcap) |
#   |       |                                       |             |
#   |  mt$$: 2001:db8:1::1/64   <== TAP ==>   2001:db8:1::2/64    |
#   |        192.0.2.1/24                     fe80::(EUI-64)      |
#   |                                         192.0.2.2/24        |
#   +-------------------------------------------------------------+
#
# Addresses: the documentation prefix 2001:db8::/32, link-local and
# 192.0.2.0/24 only, inside the namespace (nothing is routed out).
# TCP over IPv6 is not implemented yet, so there is no TCP case here.
#
# Runs in the thread backend only: UDP over IPv6 is core code plus the
# record header every backend carries the same way (the UDP IPv4 tests
# cover the factored backends' rings), so two more runs would cost CI
# time and test nothing new. Budget: about 10 s.
#
# usage: bash test_kernel_ip6_sock.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need socat cmp
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
BACKEND=$(sed -n 's/^MOAT_BACKEND:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null)
[ "${BACKEND:-thread}" = thread ] || it_skip "runs in the thread backend only (UDP over IPv6 is backend-independent core code)"
it_setup "$1" ip6s
[ -e /proc/sys/net/ipv6 ] || it_skip "the kernel has no IPv6"
it_in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "net.ipv6.conf.$IT_TAP.disable_ipv6=0" \
    "net.ipv6.conf.$IT_TAP.accept_dad=0" "net.ipv6.conf.$IT_TAP.accept_ra=0"
ip -n "$IT_NS" link set "$IT_TAP" down
ip -n "$IT_NS" link set "$IT_TAP" up
ip -n "$IT_NS" -6 addr add 2001:db8:1::1/64 dev "$IT_TAP" nodad
MOAT_IP6=2001:db8:1::2
echo "namespace $IT_NS, TAP $IT_TAP, moat-echo at $MOAT_IP6, backend ${BACKEND:-thread}"

it_start_echo --ip 192.0.2.2/24 --ip6 "$MOAT_IP6/64" --no-slaac --pcap "$IT_WORK/moat.pcap"
it_result "moat-echo starts" 1 "ready"

# The address lines after "ready": wait (bounded) for the link-local and
# static ones, i.e. until DAD has passed for both.
LL="" STATIC=""
end=$((SECONDS + 10))
while { [ -z "$LL" ] || [ -z "$STATIC" ]; } && [ "$SECONDS" -lt "$end" ] &&
      IFS= read -r -t "$((end - SECONDS + 1))" -u "$IT_FD_echo" line; do
    case "$line" in
    "address "*" link-local") LL=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;;
    "address "*" static") STATIC=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;;
    esac
done
it_result "IPv6 addresses usable" "$([ -n "$LL" ] && [ "$STATIC" = "$MOAT_IP6" ] && echo 1 || echo 0)" \
    "link-local ${LL:-none}, static ${STATIC:-none}"

it_udp_echo_check "global " "UDP6:[$MOAT_IP6]:7" 1
it_udp_echo_check "global " "UDP6:[$MOAT_IP6]:7" 1232
it_udp_echo_check "global " "UDP6:[$MOAT_IP6]:7" 4000
[ -n "$LL" ] && it_udp_echo_check "link-local " "UDP6:[$LL%$IT_TAP]:7" 512
it_udp_echo_check "ipv4 " "UDP4:192.0.2.2:7" 512

it_stop echo
frags=$(it_stat echo ip6_frags_out)
reass=$(it_stat echo ip6_reassembled)
it_result "fragments both ways" "$([ "$frags" -ge 3 ] && [ "$reass" -ge 1 ] && echo 1 || echo 0)" \
    "moat sent $frags fragments, reassembled $reass datagrams"
grep 'stats:\|drop:' "$IT_WORK/echo.err" | sed 's/^/    /'
it_summary
