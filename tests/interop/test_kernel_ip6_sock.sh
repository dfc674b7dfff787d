#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: moat's UDP and TCP sockets over IPv6 against the Linux kernel:
# socat sends datagrams over IPv6 to moat-echo's dual-stack UDP socket
# (bound to ::) and compares the echo byte for byte, to the static global
# address and to the link-local one, with a 4000-byte datagram fragmented
# both ways; the same socket still echoes IPv4. TCP: socat connects over
# IPv6 to moat-echo's dual-stack listener (::) and sends 1 byte, 100 KiB
# and 4 MiB (sha256 of the echo) to the global address, 100 KiB to the
# link-local one, and 100 KiB over IPv4 to the same listener; then
# moat-echo-client (a moat stack on the same TAP) connects over IPv6 to a
# kernel echo server, at its global and its link-local address.
#
#   network namespace moat-ip6s-$$ (made and deleted by this script)
#   +-------------------------------------------------------------+
#   |  socat (UDP6/4, TCP6/4)                  moat-echo (--pcap) |
#   |  python3 echo server (TCP6, port 7007)   moat-echo-client   |
#   |       |                                       |             |
#   |  mt$$: 2001:db8:1::1/64   <== TAP ==>   2001:db8:1::2/64    |
#   |        192.0.2.1/24                     fe80::(EUI-64)      |
#   |                                         192.0.2.2/24        |
#   +-------------------------------------------------------------+
#
# Addresses: the documentation prefix 2001:db8::/32, link-local and
# 192.0.2.0/24 only, inside the namespace (nothing is routed out).
#
# Runs in every backend: the protocol code is the core's, but IPv6
# addresses and datagram record headers cross the socket boundary of the
# factored backends through their own rings. Budget: about 10 s per
# backend (UDP 2 s, TCP both ways 3 s, DAD waits).
#
# usage: bash test_kernel_ip6_sock.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need socat cmp sha256sum python3 ss
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
BACKEND=$(sed -n 's/^MOAT_BACKEND:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null)
it_setup "$1" ip6s
it_kernel_ip6 2001:db8:1::1/64
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

# tcp_echo NAME SOCAT-ADDRESS SIZE: SIZE random bytes through moat-echo's
# TCP listener and back (socat half-closes after its input; moat-echo
# sends the rest and closes); passes when the sha256 matches.
tcp_echo() {
    local in="$IT_WORK/tcp.$1.in" out="$IT_WORK/tcp.$1.out" t0
    head -c "$3" /dev/urandom >"$in"
    t0=$(date +%s.%N)
    it_in_ns timeout 30 socat -b 131072 -T 10 - "$2" <"$in" >"$out" 2>"$IT_WORK/socat.err"
    if [ "$(it_sha "$in")" = "$(it_sha "$out")" ]; then
        it_result "TCP echo $1 $3 bytes (sha256)" 1 "identical, $(it_secs_since "$t0") s"
    else
        it_result "TCP echo $1 $3 bytes (sha256)" 0 "$(stat -c %s "$out" 2>/dev/null || echo 0) bytes back, differing"
        sed 's/^/    /' "$IT_WORK/socat.err"
    fi
}
it_need_tcp_echo
tcp_echo global "TCP6:[$MOAT_IP6]:7" 1
tcp_echo global "TCP6:[$MOAT_IP6]:7" $((100 << 10))
tcp_echo global "TCP6:[$MOAT_IP6]:7" $((4 << 20))
[ -n "$LL" ] && tcp_echo link-local "TCP6:[$LL%$IT_TAP]:7" $((100 << 10))
tcp_echo ipv4 "TCP4:192.0.2.2:7" $((100 << 10))

it_stop echo
frags=$(it_stat echo ip6_frags_out)
reass=$(it_stat echo ip6_reassembled)
it_result "fragments both ways" "$([ "$frags" -ge 3 ] && [ "$reass" -ge 1 ] && echo 1 || echo 0)" \
    "moat sent $frags fragments, reassembled $reass datagrams"
grep 'stats:\|drop:' "$IT_WORK/echo.err" | sed 's/^/    /'

# moat connects: a kernel echo server on [::]:7007 (it_kernel_echo_server), and
# moat-echo-client on the TAP (moat-echo is gone) to its global and its
# link-local address, the echo compared byte for byte by the client.
IT_KECHO_NS=$IT_NS IT_KECHO_ADDR=:: it_kernel_echo_server 7007 40 ||
    it_result "kernel IPv6 echo server listens" 0 "not listening on [::]:7007"
KLL=$(ip -n "$IT_NS" -6 addr show dev "$IT_TAP" scope link | sed -n 's/.*inet6 \([^/]*\).*/\1/p' | head -1)
client() {
    local t0
    t0=$(date +%s.%N)
    it_in_ns timeout 30 "$IT_BUILD/moat-echo-client" --tap "$IT_TAP" --ip 192.0.2.2/24 \
        --ip6 "$MOAT_IP6/64" --no-slaac --peer "$2" --port 7007 --udp '' --tcp "$3" \
        >"$IT_WORK/client.$1.out" 2>"$IT_WORK/client.$1.err"
    local rc=$?
    it_result "moat connects over IPv6 ($1), $3 bytes echoed" \
        "$([ "$rc" = 0 ] && grep -q 'echoed back identical' "$IT_WORK/client.$1.out" && echo 1 || echo 0)" \
        "$(grep '^tcp:\|^ip6:' "$IT_WORK/client.$1.out" | head -1) (exit $rc, $(it_secs_since "$t0") s)"
}
client global "2001:db8:1::1" $((1 << 20))
[ -n "$KLL" ] && client link-local "$KLL" $((100 << 10))
it_summary
