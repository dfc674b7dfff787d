#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: moat's IPv6 layer against the Linux kernel and dnsmasq's router
# advertisements: neighbour discovery both ways, duplicate address
# detection, SLAAC, ICMPv6 echo, fragmentation and reassembly.
#
#   network namespace moat-ip6-$$ (made and deleted by this script)
#   +---------------------------------------------------------------------+
#   |  dnsmasq --enable-ra: RA for 2001:db8:1::/64 (ra-only, no DHCPv6)   |
#   |  ping -6, ip -6 neigh                        moat-echo (--pcap)     |
#   |       |                                          |                  |
#   |  mt$$: 2001:db8:1::1/64 + fe80::..  <== TAP ==>  fe80::(EUI-64)     |
#   |                                                  2001:db8:1::2/64   |
#   |                                                  2001:db8:1::EUI-64 |
#   +---------------------------------------------------------------------+
#
# Checks: moat-echo prints its link-local, static and SLAAC addresses after
# "ready" (DAD passed for each, the SLAAC one from dnsmasq's RA); the
# kernel pings the link-local and the static address with 56- and
# 4000-byte payloads (fragments both ways, seen in moat's counters) and the
# SLAAC address; the kernel's neighbour entry for moat (moat's NAs).
# Addresses: the documentation prefix 2001:db8::/32 and link-local only,
# inside the namespace (nothing is routed out).
#
# Runs in the thread backend only: IPv6 is core code that the backends do
# not change (the factored ones carry frames and the stats snapshot the
# same way for both families), so two more runs would cost CI time and
# test nothing new.
#
# usage: bash test_kernel_ip6.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need ping
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || it_skip "needs dnsmasq (Debian package dnsmasq-base; scripts/test.sh installs it)"
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
BACKEND=$(sed -n 's/^MOAT_BACKEND:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null)
[ "${BACKEND:-thread}" = thread ] || it_skip "runs in the thread backend only (IPv6 is backend-independent core code)"
it_setup "$1" ip6
# The kernel side: no DAD delay on its addresses (the test would wait for
# it), a static global address, and no SLAAC of its own from dnsmasq's RA.
it_kernel_ip6 2001:db8:1::1/64
MOAT_IP6=2001:db8:1::2
echo "namespace $IT_NS, TAP $IT_TAP, moat-echo at $MOAT_IP6, backend ${BACKEND:-thread}"

ip netns exec "$IT_NS" "$DNSMASQ" --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
    --interface="$IT_TAP" --bind-interfaces --pid-file= --user=root --group=root --port=0 \
    --enable-ra --dhcp-range=2001:db8:1::,ra-only,64,10m --ra-param="$IT_TAP,5,600" \
    --log-facility="$IT_WORK/dnsmasq.log" >"$IT_WORK/dnsmasq.out" 2>&1 &
IT_PIDS+=("$!")

it_start_echo --ip 192.0.2.2/24 --ip6 "$MOAT_IP6/64" --pcap "$IT_WORK/moat.pcap"
it_result "moat-echo starts" 1 "ready"

# Address lines after "ready": link-local, static and SLAAC (bounded 20 s).
LL="" STATIC="" SLAAC=""
end=$((SECONDS + 20))
while { [ -z "$LL" ] || [ -z "$STATIC" ] || [ -z "$SLAAC" ]; } && [ "$SECONDS" -lt "$end" ] &&
      IFS= read -r -t "$((end - SECONDS + 1))" -u "$IT_FD_echo" line; do
    printf '%s\n' "$line" >>"$IT_WORK/echo.stdout"
    case "$line" in
    "address "*" link-local") LL=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;;
    "address "*" static") STATIC=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;;
    "address "*" slaac") SLAAC=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;;
    esac
done
it_result "link-local address after DAD" "$([ -n "$LL" ] && echo 1 || echo 0)" "${LL:-none in 20 s}"
it_result "static address after DAD" "$([ "$STATIC" = "$MOAT_IP6" ] && echo 1 || echo 0)" "${STATIC:-none}"
ok=0
case "$SLAAC" in 2001:db8:1:*) [ "$SLAAC" != "$MOAT_IP6" ] && ok=1 ;; esac
it_result "SLAAC address from dnsmasq's RA" "$ok" "${SLAAC:-none in 20 s}"

# ping6 ADDR SIZE COUNT: all answered.
ping6_check() {
    local addr=$1 size=$2 count=$3 out got
    out=$(it_in_ns timeout 20 ping -6 -n -c "$count" -i 0.2 -W 3 -s "$size" "$addr" 2>&1)
    got=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
    it_result "ping -6 $addr -s $size" "$([ "${got:-0}" = "$count" ] && echo 1 || echo 0)" \
        "${got:-0} of $count answered"
    [ "${got:-0}" = "$count" ] || printf '%s\n' "$out" | sed 's/^/    /'
}
if [ -n "$LL" ]; then
    ping6_check "$LL%$IT_TAP" 56 3
    ping6_check "$LL%$IT_TAP" 4000 3
fi
ping6_check "$MOAT_IP6" 56 3
ping6_check "$MOAT_IP6" 4000 3
[ -n "$SLAAC" ] && ping6_check "$SLAAC" 56 3

nb=$(it_in_ns ip -6 neigh show dev "$IT_TAP" "$MOAT_IP6" 2>/dev/null)
it_result "kernel learnt moat's MAC by NDP" \
    "$(printf '%s' "$nb" | grep -qE 'lladdr ([0-9a-f]{2}:){5}[0-9a-f]{2}' && echo 1 || echo 0)" "${nb:-no entry}"

it_stop echo
frags=$(it_stat echo ip6_frags_out)
reass=$(it_stat echo ip6_reassembled)
it_result "fragments both ways" "$([ "$frags" -ge 6 ] && [ "$reass" -ge 6 ] && echo 1 || echo 0)" \
    "moat sent $frags fragments, reassembled $reass datagrams"
ra=$(it_stat echo nd_ra_in)
it_result "router advertisement accepted" "$([ "$ra" -ge 1 ] && echo 1 || echo 0)" "nd_ra_in=$ra"
it_summary
