#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: the TAP's virtio-net offloads, on (the default) and off, against
# the Linux kernel (issue 8).
#
#   network namespace moat-offl-$$ (made and deleted by this script)
#   kernel socat 192.0.2.1/24 <== TAP mt$$ ==> moat-echo 192.0.2.2
#
# For each mode in turn on the same TAP -- default (offloads on), the
# examples' --no-offload, and MOAT_TAP_OFFLOAD=0 in the environment --
# 32 MiB go through moat-echo and back (sha256: kernel->moat arrives in
# the kernel's TSO frames, moat->kernel leaves in moat's GSO frames when
# offloads are on). Then the mode is checked from moat-echo's own counters:
# with offloads on, the frames it received average more than a full
# Ethernet frame (receive offload handed up coalesced segments); with them
# off, none is larger than 1514 bytes on average. No frame may be dropped
# as LINK_RX_BAD (a virtio-net header the driver refused) or with a TCP
# checksum error. The TAP keeps its offload features between opens, so the
# order (on, off, on by env override) also checks that turning them off
# really turns them off.
# usage: bash test_kernel_tcp_offload.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need socat sha256sum
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
it_setup "$1" offl
echo "namespace $IT_NS, TAP $IT_TAP, build $IT_BUILD"

head -c 32M /dev/urandom >"$IT_WORK/big.in"
SHA_IN=$(it_sha "$IT_WORK/big.in")

# one_mode LABEL WANT_OFFLOAD(1|0) [env ...] -- [moat-echo options]
one_mode() {
    local label=$1 want=$2; shift 2
    local pre=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
    shift
    rm -f "$IT_WORK/echo.out" "$IT_WORK/echo.stdout" "$IT_WORK/echo.err"
    # Each mode says for itself what it wants: a MOAT_TAP_OFFLOAD the whole
    # suite runs under (scripts/test.sh with offloads off) is not inherited.
    if ! it_start echo env -u MOAT_TAP_OFFLOAD "${pre[@]}" "$IT_BUILD/moat-echo" --tap "$IT_TAP" \
            --ip 192.0.2.2/24 "$@"; then
        it_result "$label: moat-echo starts" 0 "no 'ready' within 15 s"
        return
    fi
    it_need_tcp_echo
    local t0 rc dt
    t0=$(date +%s.%N)
    it_in_ns timeout 120 socat -b 131072 -T 60 - TCP:192.0.2.2:7 \
        <"$IT_WORK/big.in" >"$IT_WORK/big.out" 2>"$IT_WORK/socat.err"
    rc=$?
    dt=$(it_secs_since "$t0")
    if [ "$SHA_IN" = "$(it_sha "$IT_WORK/big.out")" ]; then
        it_result "$label: echo 32 MiB (sha256)" 1 "identical, ${dt}s, $(it_mbits $((32 << 20)) "$dt") Mbit/s each way"
    else
        it_result "$label: echo 32 MiB (sha256)" 0 "socat exit $rc, $(stat -c %s "$IT_WORK/big.out") bytes back"
        sed 's/^/    /' "$IT_WORK/socat.err"
    fi
    rm -f "$IT_WORK/big.out"
    it_stop echo
    local fin bin avg bad
    fin=$(it_stat echo frames_in)
    bin=$(it_stat echo bytes_in)
    avg=$(( fin > 0 ? bin / fin : 0 ))
    bad=$(grep -c 'drop: \(LINK_RX_BAD\|TCP_MALFORMED\|UDP_MALFORMED\)=' "$IT_WORK/echo.err")
    if [ "$want" = 1 ]; then
        it_result "$label: receive offload on" "$([ "$avg" -gt 1514 ] && echo 1 || echo 0)" \
            "$fin frames in, $avg bytes on average"
    else
        it_result "$label: offloads off" "$([ "$fin" -gt 0 ] && [ "$avg" -le 1514 ] && echo 1 || echo 0)" \
            "$fin frames in, $avg bytes on average"
    fi
    it_result "$label: no bad metadata or checksum drops" "$([ "$bad" = 0 ] && echo 1 || echo 0)" \
        "$(grep 'drop:' "$IT_WORK/echo.err" | tr '\n' ' ')"
}

one_mode "default" 1 --
one_mode "--no-offload" 0 -- --no-offload
one_mode "MOAT_TAP_OFFLOAD=1" 1 MOAT_TAP_OFFLOAD=1 -- --no-offload
one_mode "MOAT_TAP_OFFLOAD=0" 0 MOAT_TAP_OFFLOAD=0 --

it_summary
