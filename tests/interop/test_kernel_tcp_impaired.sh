#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: moat's TCP against the Linux kernel's through random loss,
# delay and reordering between the two (this kernel has no netem qdisc:
# loss is iptables' statistic match, delay and reordering are NFQUEUE and
# tests/tools/nfq_delay).
#
#   namespace moat-tcpimp-k-$$            namespace moat-tcpimp-$$ (router)
#   +-------------------------+          +--------------------------------------+
#   | Linux kernel stack      |          | ip_forward=1; FORWARD to/from mt$$:  |
#   | socat, curl, ping       |   veth   |   statistic 1% -> DROP, then         |
#   | vk$$: 198.18.1.2/24  ---+----------+-- vr$$: 198.18.1.1/24                |
#   | via 198.18.1.1          |          |   NFQUEUE 0 -> nfq_delay: +10 ms,    |
#   +-------------------------+          |   5% of packets +3 ms more           |
#                                        | mt$$: 192.0.2.1/24 <== TAP ==>       |
#                                        |   moat-echo 192.0.2.2, moat-httpd    |
#                                        |   192.0.2.3 (--gw 192.0.2.1)         |
#                                        | vs$$: 198.18.2.1/24 (same rules)     |
#                                        +------------------+-------------------+
#                                                           | veth
#                                        namespace moat-tcpimp-s-$$: the kernel
#                                        as the server, vt$$ 198.18.2.2/24
#                                        (python echo, http.server): baseline
#
# Why a router and not the rules on the kernel's own TAP: a packet held
# in the sending host's OUTPUT hook still counts against its socket's TCP
# Small Queues budget (about 1 ms of data), so a delay there throttles the
# kernel's sender to a few Mbit/s by itself (measured: 2.1 Mbit/s where a
# routed delay gives 136). Forwarded packets are delayed after they left
# the sender, as on a real path. The kernel side's veth sends one segment
# per skb (gso_max_segs 1), so "1% loss" is 1% of frames, not 1% of
# 64 KiB GSO bursts.
#
# The delay applies in each direction: the round trip gains 20 ms; the
# loss too: 1% of frames each way. Checks: ping sees the added round trip
# (the harness works), 16 MiB through moat-echo and back with socat (sha256
# both ways), a 16 MiB file from moat-httpd with curl (sha256), moat
# retransmitted (its counters), iptables dropped and nfq_delay held and
# reordered packets (the impairments really happened), and both programs
# exit 0 on SIGTERM. Prints the time and throughput of each transfer,
# and the same two transfers with the kernel as the server through the
# same rules (INFO lines, not checks: what a mature stack does on this
# path; IMP_BASELINE=0 skips them).
#
# Sizes and impairments can be changed for a longer run: IMP_MIB (16),
# IMP_LOSS (0.01), IMP_DELAY_MS (10 each way), IMP_REORDER_PCT (5),
# IMP_REORDER_MS (3); IMP_MOAT_ARGS adds options to both moat programs
# (e.g. "--sock-bytes 8M": window autotuning up to 8 MiB). IMP_PCAP=1 makes moat write pcaps (with IT_KEEP=1
# the work directory, pcaps included, is kept for a look in wireshark).
# Bounded: every step runs under timeout; the whole script stays under
# about 4 minutes even when every transfer hits its limit.
#
# usage: bash test_kernel_tcp_impaired.sh BUILD_DIR   (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need socat curl sha256sum iptables ping
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
NFQ_BIN=$(cd "$1" 2>/dev/null && pwd)/tests/nfq_delay
[ -x "$NFQ_BIN" ] || it_skip "tests/nfq_delay not built (needs libnetfilter-queue-dev)"
it_setup "$1" tcpimp
# The router and the two kernel namespaces: lib.sh's it_router_setup.
MIB=${IMP_MIB:-16}
LOSS=${IMP_LOSS:-0.01}
DELAY_MS=${IMP_DELAY_MS:-10}
REORDER_PCT=${IMP_REORDER_PCT:-5}
REORDER_MS=${IMP_REORDER_MS:-3}
QUEUE=0     # NFQUEUE numbers are per network namespace: ours is private
it_router_setup || { echo "cannot set up the router namespaces"; exit 1; }
NK=$IT_NK
NS2=$IT_NS2
in_k() { it_in_k "$@"; }
echo "router namespace $IT_NS (TAP $IT_TAP), kernel namespace $NK, build $IT_BUILD"
BASELINE=${IMP_BASELINE:-1}
command -v python3 >/dev/null 2>&1 || BASELINE=0
echo "impairments each way: loss $LOSS, delay ${DELAY_MS} ms, ${REORDER_PCT}% of packets +${REORDER_MS} ms"

pcap_opt() { [ -n "${IMP_PCAP:-}" ] && echo "--pcap $IT_WORK/$1.pcap"; }

# ------------------------------------------------------------ impairments
if ! it_start nfq "$NFQ_BIN" --queue "$QUEUE" --delay-ms "$DELAY_MS" \
        --reorder-pct "$REORDER_PCT" --reorder-ms "$REORDER_MS" --max-seconds 280; then
    it_skip "nfq_delay cannot bind an NFQUEUE here ($(tail -1 "$IT_WORK/nfq.err"))"
fi
# Loss first, then the queue (it_impair_rules, lib.sh).
ifs="$IT_TAP"
[ "$BASELINE" = 1 ] && ifs="$IT_TAP vs$$"
rules_ok=1
# shellcheck disable=SC2086
it_impair_rules "$LOSS" "$QUEUE" $ifs || rules_ok=0
[ "$rules_ok" = 1 ] || it_skip "iptables statistic/NFQUEUE not available: $(head -1 "$IT_WORK/ipt.err")"

# ------------------------------------------------------------ moat-echo
# shellcheck disable=SC2046,SC2086 # IMP_MOAT_ARGS is a list of options
if ! it_start echo "$IT_BUILD/moat-echo" --tap "$IT_TAP" --ip 192.0.2.2/24 --gw 192.0.2.1 $(pcap_opt echo) ${IMP_MOAT_ARGS:-}; then
    it_result "moat-echo starts" 0 "no 'ready' within 15 s"
    it_summary; exit 1
fi
if grep -q "TCP is not available" "$IT_WORK/echo.err"; then
    it_stop echo
    it_skip "TCP is not in this build yet"
fi
it_result "moat-echo starts" 1 "ready"

# The harness itself: ping crosses the same rules, so its round trip must
# show both delays (and a lost ping or two is the loss at work). -U: time
# measured in user space, whatever hook the delay is in.
pout=$(in_k timeout 20 ping -U -n -c 20 -i 0.05 -W 2 192.0.2.2 2>&1)
prx=$(printf '%s\n' "$pout" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
pmin=$(printf '%s\n' "$pout" | sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/\([0-9.]*\)/.*|\1|p')
pavg=$(printf '%s\n' "$pout" | sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/\([0-9.]*\)/.*|\2|p')
ok=$(echo "${prx:-0} ${pmin:-0} $DELAY_MS" | awk '{print ($1 >= 14 && $2 >= 2 * $3) ? 1 : 0}')
it_result "ping through the impairments" "$ok" \
    "${prx:-0}/20 replies, rtt min ${pmin:-?} avg ${pavg:-?} ms (>= $((2 * DELAY_MS)) ms expected)"

head -c "${MIB}M" /dev/urandom >"$IT_WORK/big.in"
t0=$(date +%s.%N)
in_k timeout 100 socat -b 131072 -T 30 - TCP:192.0.2.2:7 \
    <"$IT_WORK/big.in" >"$IT_WORK/big.out" 2>"$IT_WORK/socat.err"
rc=$?
dt=$(it_secs_since "$t0")
if [ "$(it_sha "$IT_WORK/big.in")" = "$(it_sha "$IT_WORK/big.out")" ]; then
    it_result "TCP echo $MIB MiB through impairments" 1 \
        "sha256 identical, ${dt}s, $(it_mbits $((MIB << 20)) "$dt") Mbit/s each way"
else
    it_result "TCP echo $MIB MiB through impairments" 0 \
        "socat exit $rc after ${dt}s, $(stat -c %s "$IT_WORK/big.out") of $((MIB << 20)) bytes back"
    sed 's/^/    /' "$IT_WORK/socat.err"
fi
rm -f "$IT_WORK/big.out"

it_stop echo
grep 'stats:\|drop:' "$IT_WORK/echo.err" | sed 's/^/    /'
r=$(it_stat echo tcp_retransmits)
it_result "moat-echo retransmitted" "$([ "$r" -gt 0 ] && echo 1 || echo 0)" \
    "tcp_retransmits=$r fast=$(it_stat echo tcp_fast_retransmits) rto=$(it_stat echo tcp_timeouts) tlp=$(it_stat echo tcp_tlp_probes) dsack=$(it_stat echo tcp_dsacks_in) undo=$(it_stat echo tcp_undos)"

# ------------------------------------------------------------ moat-httpd
mkdir -p "$IT_WORK/www"
mv "$IT_WORK/big.in" "$IT_WORK/www/big.bin"
URL=http://192.0.2.3
# shellcheck disable=SC2046,SC2086 # IMP_MOAT_ARGS is a list of options
if it_start httpd "$IT_BUILD/moat-httpd" --tap "$IT_TAP" --ip 192.0.2.3/24 --gw 192.0.2.1 --port 80 ${IMP_MOAT_ARGS:-} \
        --root "$IT_WORK/www" $(pcap_opt httpd); then
    t0=$(date +%s.%N)
    in_k timeout 100 curl -sS --max-time 90 -o "$IT_WORK/big.got" "$URL/big.bin" 2>"$IT_WORK/curl.err"
    dt=$(it_secs_since "$t0")
    if [ "$(it_sha "$IT_WORK/www/big.bin")" = "$(it_sha "$IT_WORK/big.got" 2>/dev/null)" ]; then
        it_result "HTTP GET $MIB MiB through impairments" 1 \
            "sha256 identical, ${dt}s, $(it_mbits $((MIB << 20)) "$dt") Mbit/s"
    else
        it_result "HTTP GET $MIB MiB through impairments" 0 \
            "after ${dt}s, $(stat -c %s "$IT_WORK/big.got" 2>/dev/null || echo 0) bytes: $(head -c 200 "$IT_WORK/curl.err")"
    fi
    it_stop httpd
    grep 'stats:\|drop:' "$IT_WORK/httpd.err" | sed 's/^/    /'
    r=$(it_stat httpd tcp_retransmits)
    it_result "moat-httpd retransmitted" "$([ "$r" -gt 0 ] && echo 1 || echo 0)" \
        "tcp_retransmits=$r fast=$(it_stat httpd tcp_fast_retransmits) rto=$(it_stat httpd tcp_timeouts) tlp=$(it_stat httpd tcp_tlp_probes) dsack=$(it_stat httpd tcp_dsacks_in) undo=$(it_stat httpd tcp_undos)"
else
    it_result "moat-httpd starts" 0 "no 'ready' within 15 s"
fi

# ------------------------------------------------------------ kernel baseline
# The same transfers, same client, same rules, with the kernel as the
# server: informational, so a reader can tell moat's cost from the path's.
wait_listen_s2() {
    for _ in $(seq 1 100); do
        ip netns exec "$NS2" ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.05
    done
    return 1
}
if [ "$BASELINE" = 1 ]; then
    it_kernel_echo_server 7 120
    ip netns exec "$NS2" timeout 120 python3 -m http.server 80 --bind 198.18.2.2 \
        --directory "$IT_WORK/www" >/dev/null 2>&1 &
    IT_PIDS+=("$!")
    if wait_listen_s2 7 && wait_listen_s2 80; then
        t0=$(date +%s.%N)
        in_k timeout 100 socat -b 131072 -T 30 - TCP:198.18.2.2:7 \
            <"$IT_WORK/www/big.bin" >"$IT_WORK/kbig.out" 2>/dev/null
        dt=$(it_secs_since "$t0")
        if cmp -s "$IT_WORK/www/big.bin" "$IT_WORK/kbig.out"; then
            echo "INFO  kernel<->kernel echo $MIB MiB, same path: ${dt}s, $(it_mbits $((MIB << 20)) "$dt") Mbit/s each way"
        else
            echo "INFO  kernel<->kernel echo $MIB MiB, same path: incomplete after ${dt}s"
        fi
        rm -f "$IT_WORK/kbig.out"
        t0=$(date +%s.%N)
        in_k timeout 100 curl -sS --max-time 90 -o "$IT_WORK/kbig.got" http://198.18.2.2/big.bin 2>/dev/null
        dt=$(it_secs_since "$t0")
        if cmp -s "$IT_WORK/www/big.bin" "$IT_WORK/kbig.got"; then
            echo "INFO  kernel<->kernel HTTP GET $MIB MiB, same path: ${dt}s, $(it_mbits $((MIB << 20)) "$dt") Mbit/s"
        else
            echo "INFO  kernel<->kernel HTTP GET $MIB MiB, same path: incomplete after ${dt}s"
        fi
        rm -f "$IT_WORK/kbig.got"
    else
        echo "INFO  kernel baseline servers did not listen; not measured"
    fi
fi

# ------------------------------------------------------------ the harness
dropped=$(it_in_ns iptables -L -v -n -x | awk '/statistic/ {n += $1} END {print n + 0}')
queued=$(it_in_ns iptables -L -v -n -x | awk '/NFQUEUE/ {n += $1} END {print n + 0}')
it_in_ns iptables -F
it_stop nfq
line=$(grep '^nfq_delay:' "$IT_WORK/nfq.err" | tail -1)
held=$(printf '%s' "$line" | sed -n 's/.* packets=\([0-9]*\).*/\1/p')
reord=$(printf '%s' "$line" | sed -n 's/.* reordered=\([0-9]*\).*/\1/p')
ovf=$(printf '%s' "$line" | sed -n 's/.* overflow=\([0-9]*\).*/\1/p')
imp_ok=1   # each impairment that was asked for must have happened
[ "$REORDER_PCT" != 0 ] && [ "${reord:-0}" -eq 0 ] && imp_ok=0
[ "$LOSS" != 0 ] && [ "$dropped" -eq 0 ] && imp_ok=0
it_result "impairments happened" \
    "$([ "${held:-0}" -gt 0 ] && [ "$imp_ok" = 1 ] && [ "${ovf:-1}" = 0 ] && echo 1 || echo 0)" \
    "iptables dropped $dropped, queued $queued; ${line:-no nfq_delay summary}"

it_summary
