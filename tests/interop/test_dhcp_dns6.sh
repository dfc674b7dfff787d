#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: both families at once against dnsmasq and the kernel: moat-echo
# started with no address (--dhcp) serves IPv4 and IPv6, and moat-fetch
# downloads by name over IPv6 (AAAA) and IPv4 (A), falls back from one to
# the other, and takes IPv6 literals (global and link-local with a zone)
# on an IPv6-only stack.
#
#   network namespace moat-dhcp6-$$ (made and deleted by this script)
#   +----------------------------------------------------------------------+
#   |  dnsmasq: DHCP 192.0.2.100-150, RA 2001:db8:1::/64 (SLAAC),          |
#   |           DNS files.moat.test = 192.0.2.1 and 2001:db8:1::1          |
#   |  python3 -m http.server [::]:8000 (both families), 192.0.2.1:8001    |
#   |       |                                                              |
#   |  mt$$: 192.0.2.1/24, 2001:db8:1::1/64  <== TAP ==>  moat             |
#   +----------------------------------------------------------------------+
#
# Checks: moat-echo --dhcp (no address given) prints a lease and a SLAAC
# address, answers ping and ping -6, TCP echo on both families and UDP
# echo over IPv6 (socat); moat-fetch -6 and -4 fetch files.moat.test
# (sha256 compared, and the server's log shows which family came); with
# both families and a static IPv6 address it tries IPv6 first and, on
# port 8001 that only IPv4 serves, falls back to IPv4; an IPv6-only
# moat-fetch (no --ip, no --dhcp) fetches from [2001:db8:1::1] and from
# the kernel's link-local address with %zone; an IPv6-only moat-echo
# (no --ip, no --dhcp, no SLAAC) prints only its link-local address and
# answers ping -6 and TCP echo on it; a bad URL is one line.
#
# Runs in every backend (about 22 s each): the addresses of both families
# cross the socket boundary (128-byte messages, the resolver's datagrams)
# differently in the factored backends, and issue 9 asks for all three.
#
# usage: bash test_dhcp_dns6.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need ping socat python3 sha256sum
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || it_skip "needs dnsmasq (Debian package dnsmasq-base; scripts/test.sh installs it)"
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
BACKEND=$(sed -n 's/^MOAT_BACKEND:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null)
it_setup "$1" dhcp6
it_kernel_ip6 2001:db8:1::1/64
echo "namespace $IT_NS, TAP $IT_TAP, backend ${BACKEND:-thread}"

ip netns exec "$IT_NS" "$DNSMASQ" --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
    --interface="$IT_TAP" --bind-interfaces --pid-file= --user=root --group=root \
    --dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m \
    --enable-ra --dhcp-range=2001:db8:1::,ra-only,64,10m --ra-param="$IT_TAP,5,600" \
    --dhcp-leasefile="$IT_WORK/leases" --local=/moat.test/ \
    --host-record=files.moat.test,192.0.2.1,2001:db8:1::1 \
    --log-facility="$IT_WORK/dnsmasq.log" >"$IT_WORK/dnsmasq.out" 2>&1 &
IT_PIDS+=("$!")

mkdir -p "$IT_WORK/www"
head -c $((1 << 20)) /dev/urandom >"$IT_WORK/www/file.bin"
SHA=$(it_sha "$IT_WORK/www/file.bin")
# Port 8000 on [::] takes both families (http.server makes it dual-stack);
# port 8001 only IPv4, for the fallback.
(cd "$IT_WORK/www" && exec ip netns exec "$IT_NS" python3 -m http.server --bind :: 8000) \
    >"$IT_WORK/http.log" 2>&1 &
IT_PIDS+=("$!")
(cd "$IT_WORK/www" && exec ip netns exec "$IT_NS" python3 -m http.server --bind 192.0.2.1 8001) \
    >"$IT_WORK/http4.log" 2>&1 &
IT_PIDS+=("$!")
for _ in $(seq 1 50); do
    it_in_ns ss -lnt 2>/dev/null | grep -q ':8000 ' &&
        it_in_ns ss -lnt 2>/dev/null | grep -q '192.0.2.1:8001' &&
        it_in_ns ss -lnu 2>/dev/null | grep -q ':53 ' && break
    sleep 0.1
done

# ---- moat-echo with no address: a lease and a SLAAC address
it_start_echo --dhcp
it_result "moat-echo --dhcp starts" 1 "ready (no address yet)"
# The kernel's link-local address exists once the TAP has a carrier.
KLL=$(it_in_ns ip -6 addr show dev "$IT_TAP" scope link | sed -n 's/.*inet6 \(fe80[^/]*\)\/.*/\1/p' | head -1)
A4="" A6=""
end=$((SECONDS + 20))
while { [ -z "$A4" ] || [ -z "$A6" ]; } && [ "$SECONDS" -lt "$end" ] &&
      IFS= read -r -t "$((end - SECONDS + 1))" -u "$IT_FD_echo" line; do
    printf '%s\n' "$line" >>"$IT_WORK/echo.stdout"
    case "$line" in
    "address "*" dhcp "*) A4=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;;
    "address "*" slaac") A6=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;;
    esac
done
it_result "moat-echo: lease and SLAAC address" "$([ -n "$A4" ] && [ -n "$A6" ] && echo 1 || echo 0)" \
    "ipv4=${A4:-none} ipv6=${A6:-none}"
ping_check() {     # FAMILY ADDR
    local got
    got=$(it_in_ns timeout 15 ping "-$1" -n -c 3 -i 0.2 -W 2 "$2" 2>&1 | sed -n 's/.* \([0-9]*\) received.*/\1/p')
    it_result "ping -$1 $2" "$([ "${got:-0}" = 3 ] && echo 1 || echo 0)" "${got:-0} of 3"
}
tcp_echo_check() { # SOCAT-ADDRESS
    head -c 100000 /dev/urandom >"$IT_WORK/tcp.in"
    it_in_ns timeout 15 socat -T 5 - "$1,shut-down" <"$IT_WORK/tcp.in" >"$IT_WORK/tcp.out" 2>/dev/null
    it_result "TCP echo $1" "$(cmp -s "$IT_WORK/tcp.in" "$IT_WORK/tcp.out" && echo 1 || echo 0)" \
        "$(stat -c %s "$IT_WORK/tcp.out" 2>/dev/null || echo 0) of 100000 bytes"
}
if [ -n "$A4" ]; then
    ping_check 4 "$A4"
    tcp_echo_check "TCP:$A4:7"
fi
if [ -n "$A6" ]; then
    ping_check 6 "$A6"
    tcp_echo_check "TCP6:[$A6]:7"
    it_udp_echo_check "UDP echo over IPv6" "UDP6:[$A6]:7" 1000
fi
it_stop echo

# fetch NAME EXPECT-IN-LOG LOG ARGS...: moat-fetch ARGS, body sha256
# compared; EXPECT-IN-LOG (a regex) must match the server log line of the
# request: which family, which address came.
fetch_check() {
    local name=$1 expect=$2 log=$3 t0 rc who
    shift 3
    local seen
    seen=$(wc -l <"$log")
    t0=$(date +%s.%N)
    timeout 40 ip netns exec "$IT_NS" "$IT_BUILD/moat-fetch" --tap "$IT_TAP" --timeout 15 "$@" \
        >"$IT_WORK/fetch.out" 2>"$IT_WORK/fetch.err"
    rc=$?
    who=$(tail -n +"$((seen + 1))" "$log" | grep -a 'GET /file.bin' | head -1 | cut -d' ' -f1)
    it_result "$name" \
        "$([ "$rc" = 0 ] && [ "$(it_sha "$IT_WORK/fetch.out")" = "$SHA" ] &&
           printf '%s' "$who" | grep -qE "$expect" && echo 1 || echo 0)" \
        "exit $rc, $(stat -c %s "$IT_WORK/fetch.out") bytes from ${who:-nobody} in $(it_secs_since "$t0") s"
    [ "$rc" = 0 ] || sed 's/^/    /' "$IT_WORK/fetch.err"
}
S4=(--ip 192.0.2.9/24 --dns 192.0.2.1)
fetch_check "moat-fetch -6 by name (AAAA, SLAAC)" '^2001:db8:1:' "$IT_WORK/http.log" \
    "${S4[@]}" -6 http://files.moat.test:8000/file.bin
fetch_check "moat-fetch -4 by name (A)" '^(::ffff:)?192\.0\.2\.9$' "$IT_WORK/http.log" \
    "${S4[@]}" -4 http://files.moat.test:8000/file.bin
fetch_check "moat-fetch: IPv6 refused, IPv4 next" '^192\.0\.2\.9$' "$IT_WORK/http4.log" \
    "${S4[@]}" --ip6 2001:db8:1::9/64 --no-slaac http://files.moat.test:8001/file.bin
it_result "moat-fetch tried IPv6 first" \
    "$(grep -q '^moat-fetch: note: 2001:db8:1::1: .*trying the next address' "$IT_WORK/fetch.err" && echo 1 || echo 0)" \
    "$(grep -m1 'note:' "$IT_WORK/fetch.err" || head -1 "$IT_WORK/fetch.err")"
fetch_check "IPv6-only moat-fetch, [2001:db8:1::1]" '^2001:db8:1:' "$IT_WORK/http.log" \
    http://[2001:db8:1::1]:8000/file.bin
if [ -n "$KLL" ]; then
    fetch_check "IPv6-only moat-fetch, [fe80::..%25$IT_TAP]" '^fe80:' "$IT_WORK/http.log" \
        "http://[$KLL%25$IT_TAP]:8000/file.bin"
fi

# ---- moat-echo IPv6-only (no --ip, no --dhcp, no SLAAC): link-local only
if it_start echo6 "$IT_BUILD/moat-echo" --tap "$IT_TAP" --no-slaac; then
    LL=""
    end=$((SECONDS + 10))
    while [ -z "$LL" ] && [ "$SECONDS" -lt "$end" ] &&
          IFS= read -r -t "$((end - SECONDS + 1))" -u "$IT_FD_echo6" line; do
        printf '%s\n' "$line" >>"$IT_WORK/echo6.stdout"
        case "$line" in "address "*" link-local") LL=$(echo "$line" | cut -d' ' -f2 | cut -d/ -f1) ;; esac
    done
    it_result "IPv6-only moat-echo: link-local address, no IPv4 line" \
        "$([ -n "$LL" ] && ! grep -q '^address [0-9.]*/' "$IT_WORK/echo6.stdout" && echo 1 || echo 0)" "${LL:-none in 10 s}"
    if [ -n "$LL" ]; then
        ping_check 6 "$LL%$IT_TAP"
        tcp_echo_check "TCP6:[$LL%$IT_TAP]:7"
    fi
    it_stop echo6
else
    it_result "IPv6-only moat-echo starts" 0 "no 'ready' within 15 s"
fi

err=$(ip netns exec "$IT_NS" "$IT_BUILD/moat-fetch" --tap "$IT_TAP" 'http://[2001:db8::1/x' 2>&1 >/dev/null)
rc=$?
it_result "bad URL: one line, exit 2" \
    "$([ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && echo 1 || echo 0)" "exit $rc: $err"
it_summary
