#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop at scale: 10,000 concurrent kernel TCP connections against
# moat-echo through a TAP device (issue 7, item 6).
#
#   network namespace moat-scale-$$ (made and deleted by this script)
#   +------------------------------------------------------------------+
#   |  Linux kernel stack                     moat-echo 192.0.2.2        |
#   |  tests/tools/scale_client.py (epoll)    --max-sockets SLOTS        |
#   |  moat-ttcp --kernel --rr                                           |
#   |       mt$$: 192.0.2.1/24 <== TAP device ==>                        |
#   +------------------------------------------------------------------+
#
# Checks:
#  - N (10,000) connections open at once, each echoing 4 KiB distinct
#    bytes, every echo intact and a SHA-256 over all of it equal;
#  - with all N open (idle), 1-byte request/response latency from the
#    kernel (moat-ttcp --kernel --rr) against the same with none open,
#    printed side by side (median of 3 runs each; the issue's target is
#    within 1.2x; reported, and a check only that both ran);
#  - EXTRA connections beyond the slot limit each end with an echo or an
#    error (RST: refused/reset) within 10 s, none hangs, and moat counted
#    the refusals (TCP_NO_SLOT).
# moat-echo must exit 0 on SIGTERM.
#
# Backends: the same in all three; the heavy part is the same code path
# in each (the net domain's loop and the core), the factored backends add
# the process boundary. RLIMIT_NOFILE is raised here for the kernel-side
# client (N + EXTRA + a margin).
#
# usage: bash test_kernel_scale.sh BUILD_DIR [N]    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need python3
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [N]"; exit 2; }
N=${2:-10000}
EXTRA=200
SLOTS=$((N + 100))     # + listener + UDP socket: 98 left for the extra ones
RR=2000
it_setup "$1" scale
ulimit -n $((N + EXTRA + 1024)) 2>/dev/null ||
    it_skip "cannot raise the open-file limit to $((N + EXTRA + 1024)) for the kernel-side client"
echo "namespace $IT_NS, TAP $IT_TAP, build $IT_BUILD, $N connections, $SLOTS slots"
CLIENT="$HERE/../tools/scale_client.py"
TTCP=("$IT_BUILD/moat-ttcp" -t --kernel --rr "$RR" --peer 192.0.2.2 --port 7 --ip 192.0.2.1/24)

it_start_echo --ip 192.0.2.2/24 --max-sockets "$SLOTS"
it_need_tcp_echo
# rss_kib: resident KiB of moat-echo and its domains (moat-netd, moat-linkd).
rss_kib() {
    local t=0 p r
    for p in "$IT_PID_echo" $(pgrep -P "$IT_PID_echo"); do
        r=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null); t=$((t + ${r:-0}))
    done
    echo "$t"
}
it_result "moat-echo starts" 1 "ready, $SLOTS socket slots, RSS $(rss_kib) KiB"

# rr_us: one RR run, its rtt_us (empty on failure).
rr_us() {
    it_in_ns timeout 60 "${TTCP[@]}" 2>>"$IT_WORK/ttcp.err" | tail -1 | grep -o 'rtt_us=[0-9.]*' | cut -d= -f2
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

base=()
for _ in 1 2 3; do base+=("$(rr_us)"); done

# The client runs the RR command itself while its N connections are open.
rrfile="$IT_WORK/rr.sh"
{
    printf '#!/bin/sh\n'
    printf 'echo "rss_kib=$(cat /proc/%s/status /proc/$(pgrep -d " " -P %s | sed "s| |/status /proc/|g")/status 2>/dev/null | awk "/^VmRSS/{t+=\\$2} END{print t}")"\n' "$IT_PID_echo" "$IT_PID_echo"
    printf 'for i in 1 2 3; do "$@" | tail -1; done\n'
} >"$rrfile"
t0=$(date +%s.%N)
it_in_ns timeout 150 python3 "$CLIENT" 192.0.2.2 7 "$N" 4096 "$EXTRA" -- sh "$rrfile" "${TTCP[@]}" \
    >"$IT_WORK/client.out" 2>"$IT_WORK/client.err"
rc=$?
dt=$(it_secs_since "$t0")
sed 's/^/    /' "$IT_WORK/client.out"
[ -s "$IT_WORK/client.err" ] && head -5 "$IT_WORK/client.err" | sed 's/^/    /'

open_line=$(grep '^open:' "$IT_WORK/client.out")
echo_line=$(grep '^echo:' "$IT_WORK/client.out")
extra_line=$(grep '^extra:' "$IT_WORK/client.out")
sent=$(printf '%s' "$echo_line" | grep -o 'sha256_sent=[0-9a-f]*' | cut -d= -f2)
back=$(printf '%s' "$echo_line" | grep -o 'sha256_back=[0-9a-f]*' | cut -d= -f2)
intact=$(printf '%s' "$echo_line" | grep -o 'intact=[0-9]*' | cut -d= -f2)
it_result "$N connections open at once" \
    "$(printf '%s' "$open_line" | grep -q "open=$N " && echo 1 || echo 0)" "${open_line:-no result}"
it_result "$N x 4 KiB echoed (sha256)" \
    "$([ "${intact:-0}" = "$N" ] && [ -n "$sent" ] && [ "$sent" = "$back" ] && echo 1 || echo 0)" \
    "intact=${intact:-?}, sha256 ${sent:0:16}... $([ "$sent" = "$back" ] && echo equal || echo DIFFERS), client ${dt}s, exit $rc"
echo "    moat-echo RSS with $N connections open (after the echo): $(grep -o 'rss_kib=[0-9]*' "$IT_WORK/client.out" | cut -d= -f2) KiB"
hung=$(printf '%s' "$extra_line" | grep -o 'hung=[0-9]*' | cut -d= -f2)
errs=$(( $(printf '%s' "$extra_line" | grep -o 'refused=[0-9]*' | cut -d= -f2) + \
         $(printf '%s' "$extra_line" | grep -o 'reset=[0-9]*' | cut -d= -f2) ))
it_result "beyond the slot limit: error, no hang" \
    "$([ "${hung:-1}" = 0 ] && [ "$errs" -gt 0 ] && echo 1 || echo 0)" "${extra_line:-no result}"

# The idle RR runs: the "idle-rr" lines are the client's (3 runs of ttcp).
idle=()
while read -r v; do idle+=("$v"); done < <(grep -o 'rtt_us=[0-9.]*' "$IT_WORK/client.out" | cut -d= -f2)
if [ "${#base[@]}" = 3 ] && [ -n "${base[2]}" ] && [ "${#idle[@]}" -ge 1 ]; then
    [ "${#idle[@]}" -ge 3 ] || idle=("${idle[0]}" "${idle[0]}" "${idle[0]}")
    mb=$(median3 "${base[@]}"); mi=$(median3 "${idle[@]}")
    ratio=$(echo "$mi $mb" | awk '{ printf "%.2f", $1 / $2 }')
    echo "    1-byte RR rtt_us (median of 3 x $RR):  0 idle: $mb   $N idle: $mi   ratio $ratio (target <= 1.2)"
    echo "    runs: 0 idle: ${base[*]}   $N idle: ${idle[*]}"
    it_result "RR latency with $N idle connections" 1 "${mi} us vs ${mb} us with none: ${ratio}x"
else
    it_result "RR latency with $N idle connections" 0 "RR runs failed: base '${base[*]}' idle '${idle[*]}'; $(tail -2 "$IT_WORK/ttcp.err" 2>/dev/null)"
fi

it_stop echo
noslot=$(it_stat echo TCP_NO_SLOT)
it_result "refusals counted (TCP_NO_SLOT)" "$([ "$noslot" -gt 0 ] && echo 1 || echo 0)" "TCP_NO_SLOT=$noslot"
grep -E 'stats:|drop:' "$IT_WORK/echo.err" | sed 's/^/    /'
it_summary
