#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: the moat board image (ports/mps2-an385) running on QEMU's
# mps2-an385 machine, with its own LAN9118 driver, against the Linux
# kernel's stack through a TAP device.
#
#   network namespace moat-mps2-$$ (made and deleted by this script)
#   +------------------------------------------------------------------+
#   |  Linux kernel stack                 qemu-system-arm -M mps2-an385 |
#   |  ping, socat, python3               moat-mps2.elf (-Os, Cortex-M3) |
#   |       |                                         |                |
#   |  mt$$: 192.0.2.2/24  <==== TAP device ====>  LAN9118 192.0.2.1/24 |
#   |  MAC 02:00:c0:00:02:02                       MAC 02:00:c0:00:02:01 |
#   +------------------------------------------------------------------+
#
# The addresses are those of the fuzz_input corpus (tests/fuzz/fz.h), so
# its frames reach the board's parsers unchanged. Checks: the image
# builds and boots to "ready" (bounded), ping with 56- and 1472-byte
# payloads, UDP echo of 20 and 1472 bytes, a 1 MiB TCP echo (sha256),
# then the fuzz_input seed corpus written onto the TAP (replay_frames.py)
# and afterwards: the board still runs (it answers on its UART: a fault
# halts it with a FAULT line), its counters (key 's') show that its core
# took the frames in and dropped the malformed ones, it answers ping (after the
# kernel forgot its neighbour entry, since the corpus may rewrite the
# board's ARP cache) and echoes TCP.
#
# Runs once per suite, not per backend: scripts/test.sh's "mps2" step
# calls it (tests/CMakeLists.txt leaves it out of ctest). Skips (77) with
# the reason when qemu-system-arm, the cross compiler or newlib is not
# installed (scripts/test.sh installs them).
#
# usage: bash test_mps2.sh [BUILD_DIR]   (root; default BUILD_DIR
#        build/mps2 in the source tree: the image is built there)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
T0=$SECONDS

it_need ping socat sha256sum cmp python3 cmake
command -v qemu-system-arm >/dev/null 2>&1 ||
    it_skip "qemu-system-arm is not installed (Debian package qemu-system-arm)"
command -v arm-none-eabi-gcc >/dev/null 2>&1 ||
    it_skip "arm-none-eabi-gcc is not installed (Debian package gcc-arm-none-eabi)"
[ -f "$(arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb --specs=nano.specs -print-file-name=libc_nano.a)" ] ||
    it_skip "newlib for arm-none-eabi is not installed (Debian package libnewlib-arm-none-eabi)"

BUILD=${1:-$ROOT/build/mps2}
mkdir -p "$BUILD"
if ! { cmake -S "$ROOT/ports/mps2-an385" -B "$BUILD" \
         -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/arm-none-eabi.cmake" &&
       cmake --build "$BUILD" -j2; } >"$BUILD/build.log" 2>&1; then
    tail -30 "$BUILD/build.log"
    it_result "moat-mps2.elf builds" 0 "see $BUILD/build.log"
    it_summary; exit 1
fi
size_line=$(arm-none-eabi-size "$BUILD/moat-mps2.elf" | tail -1)
it_result "moat-mps2.elf builds" 1 "$(echo "$size_line" | awk '{print "text " $1 ", data " $2 ", bss " $3}')"

it_setup "$BUILD" mps2
BOARD_IP=192.0.2.1
KERN_IP=192.0.2.2
ip -n "$IT_NS" link set "$IT_TAP" down
ip -n "$IT_NS" link set "$IT_TAP" address 02:00:c0:00:02:02
ip -n "$IT_NS" addr flush dev "$IT_TAP"
ip -n "$IT_NS" addr add "$KERN_IP/24" dev "$IT_TAP"
ip -n "$IT_NS" link set "$IT_TAP" up
echo "namespace $IT_NS, TAP $IT_TAP, board at $BOARD_IP, image $BUILD/moat-mps2.elf"

# The UART's input: a FIFO we hold open (read-write, so neither side
# blocks); the key 's' makes the board print its counters (main.c).
mkfifo "$IT_WORK/uart.in"
exec {UART_IN}<>"$IT_WORK/uart.in"
t_boot=$(date +%s.%N)
if ! it_start mps2 bash -c 'exec "$@" <"$0"' "$IT_WORK/uart.in" \
        "$ROOT/ports/mps2-an385/run-qemu.sh" --tap "$IT_TAP" --ip "$BOARD_IP/24" \
        --mac 02:00:c0:00:02:01 --elf "$BUILD/moat-mps2.elf"; then
    it_result "board boots to ready" 0 "no 'ready' on the UART within 15 s"
    sed 's/^/    /' "$IT_WORK/mps2.stdout" 2>/dev/null
    it_summary; exit 1
fi
it_result "board boots to ready" 1 "$(it_secs_since "$t_boot") s"
grep -o 'RAM: .*' "$IT_WORK/mps2.stdout" | tr -d '\r' | sed 's/^/    /'

# board_stats: ask the board for its counters; prints its stats line
# ("frames_in=N ... drops=N ..."), a FAULT line if it halted instead, or
# nothing if no answer came within 5 s.
board_stats() {
    local line n
    printf s >&"$UART_IN"
    for n in $(seq 1 20); do
        IFS= read -r -t 5 -u "$IT_FD_mps2" line || return 0
        line=${line%$'\r'}
        case "$line" in
            *frames_in=*) printf '%s\n' "$line"; return 0 ;;
            *FAULT*) printf '%s\n' "$line"; return 0 ;;    # the board halted
        esac
    done
}
# stat_of LINE NAME: one counter of a stats line (empty if absent).
stat_of() { printf '%s\n' "$1" | grep -o " $2=[0-9]*" | cut -d= -f2; }

# ping SIZE COUNT [NAME]: all COUNT echo requests answered.
ping_check() {
    local size=$1 count=$2 name=${3:-ping $1-byte payload} out got
    out=$(it_in_ns timeout 20 ping -n -c "$count" -i 0.2 -W 2 -M do -s "$size" "$BOARD_IP" 2>&1)
    got=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
    it_result "$name" "$([ "${got:-0}" = "$count" ] && echo 1 || echo 0)" \
        "${got:-0} of $count answered$(printf '%s\n' "$out" | sed -n 's/^rtt .* = [0-9.]*\/\([0-9.]*\)\/.*/, avg rtt \1 ms/p')"
    [ "${got:-0}" = "$count" ] || printf '%s\n' "$out" | tail -5 | sed 's/^/    /'
}
ping_check 56 5
ping_check 1472 5

# UDP echo of SIZE random bytes, compared byte for byte.
udp_check() {
    local size=$1 in="$IT_WORK/udp$1.in" out="$IT_WORK/udp$1.out"
    head -c "$size" /dev/urandom >"$in"
    it_in_ns timeout 10 socat -t 2 - "UDP:$BOARD_IP:7" <"$in" >"$out" 2>/dev/null
    it_result "UDP echo $size bytes" "$(cmp -s "$in" "$out" && echo 1 || echo 0)" \
        "$(stat -c %s "$out") bytes back"
}
udp_check 20
udp_check 1472

# TCP echo of SIZE random bytes through socat, sha256-checked.
tcp_check() {
    local size=$1 name=$2 in="$IT_WORK/tcp.in" out="$IT_WORK/tcp.out" t rc
    head -c "$size" /dev/urandom >"$in"
    t=$(date +%s.%N)
    it_in_ns timeout 40 socat -b 65536 -T 20 - "TCP:$BOARD_IP:7" <"$in" >"$out" 2>"$IT_WORK/socat.err"
    rc=$?
    t=$(it_secs_since "$t")
    if [ "$rc" = 0 ] && [ "$(it_sha "$in")" = "$(it_sha "$out")" ]; then
        it_result "$name" 1 "$t s, $(it_mbits "$((size * 2))" "$t") Mbit/s both ways"
    else
        it_result "$name" 0 "socat exit $rc, $(stat -c %s "$out") of $size bytes back"
        sed 's/^/    /' "$IT_WORK/socat.err"
    fi
}
tcp_check 1048576 "TCP echo 1 MiB (sha256)"

# Four connections at once (the image serves ECHO_CONNS = 4), 256 KiB each.
t=$(date +%s.%N)
pids=()
for i in 1 2 3 4; do
    head -c 262144 /dev/urandom >"$IT_WORK/par$i.in"
    it_in_ns timeout 40 socat -b 65536 -T 20 - "TCP:$BOARD_IP:7" \
        <"$IT_WORK/par$i.in" >"$IT_WORK/par$i.out" 2>/dev/null &
    pids+=($!)
done
ok=0
for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" && [ "$(it_sha "$IT_WORK/par$i.in")" = "$(it_sha "$IT_WORK/par$i.out")" ] &&
        ok=$((ok + 1))
done
it_result "TCP echo 4 x 256 KiB at once" "$([ "$ok" = 4 ] && echo 1 || echo 0)" \
    "$ok of 4 echoed intact, $(it_secs_since "$t") s"

# The malformed-frame seed corpus, written onto the TAP towards the board.
st0=$(board_stats)
tx0=$(it_in_ns cat "/sys/class/net/$IT_TAP/statistics/tx_packets")
rep=$(it_in_ns timeout 30 python3 "$HERE/replay_frames.py" "$IT_TAP" "$ROOT/tests/fuzz/corpus/fuzz_input" 2>&1)
tx1=$(it_in_ns cat "/sys/class/net/$IT_TAP/statistics/tx_packets")
sent=$(printf '%s\n' "$rep" | sed -n 's/^sent=\([0-9]*\) .*/\1/p')
it_result "seed corpus written to the board" \
    "$([ "${sent:-0}" -gt 0 ] && [ $((tx1 - tx0)) -ge "${sent:-0}" ] && echo 1 || echo 0)" \
    "$rep, TAP tx_packets +$((tx1 - tx0))"
# The board answers on its UART (a fault prints FAULT and halts it; QEMU
# itself keeps running).
st1=$(board_stats)
case "$st1" in
    *frames_in=*) it_result "board runs after the corpus" 1 "it answers on its UART" ;;
    *)
        it_result "board runs after the corpus" 0 "UART: ${st1:-nothing within 5 s}"
        it_summary; exit 1 ;;
esac
# The board's core took the frames in (its own address or broadcast: the
# LAN9118 filters the rest) and dropped the malformed ones, counted.
in0=$(stat_of "$st0" frames_in); in1=$(stat_of "$st1" frames_in)
dr0=$(stat_of "$st0" drops); dr1=$(stat_of "$st1" drops)
if [ -n "$in0" ] && [ -n "$in1" ] && [ -n "$dr0" ] && [ -n "$dr1" ]; then
    it_result "corpus reached the board's core" \
        "$([ $((in1 - in0)) -ge $((${sent:-0} / 2)) ] && [ "$dr1" -gt "$dr0" ] && echo 1 || echo 0)" \
        "frames_in +$((in1 - in0)) of ${sent:-0} sent, drops +$((dr1 - dr0))"
else
    it_result "corpus reached the board's core" 0 "no counters from the board ('$st0' / '$st1')"
fi
echo "    board counters: ${st1#moat-mps2: }"
it_in_ns ip neigh flush dev "$IT_TAP"
ping_check 56 3 "ping after the corpus"
tcp_check 65536 "TCP echo 64 KiB after the corpus"

echo "mps2 interop: $((SECONDS - T0)) s in all (image build included)"
it_summary
