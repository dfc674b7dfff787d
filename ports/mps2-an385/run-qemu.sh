#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot the moat board image on QEMU's mps2-an385 machine attached to a TAP
# device, UART0 on stdout:
#
#   ports/mps2-an385/run-qemu.sh --tap IFNAME --ip ADDR/PREFIX
#        [--gw ADDR] [--mac MAC] [--elf PATH] [--seed HEX]
#
# The TAP device must exist (ip tuntap add dev IFNAME mode tap) and be up;
# QEMU attaches to it without scripts. The configuration reaches the image
# as a block of words in its RAM that QEMU's generic loader device writes
# before the CPU starts (board.h, struct mps2_config; README.md). --mac
# sets the LAN9118's address (default 02:00:c0:00:02:01), --seed the
# image's random seed (default: 64 bits from /dev/urandom), --elf the
# image (default: build/mps2/moat-mps2.elf under the source tree, or
# $MPS2_ELF). Ends when QEMU does: kill it (Ctrl-C in a terminal). The
# image never exits by itself; a fatal error is a line on the UART.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tap="" ip="" gw="" mac="02:00:c0:00:02:01" seed=""
elf=${MPS2_ELF:-$ROOT/build/mps2/moat-mps2.elf}

usage() { sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tap) tap=${2:-}; shift 2 ;;
        --ip) ip=${2:-}; shift 2 ;;
        --gw) gw=${2:-}; shift 2 ;;
        --mac) mac=${2:-}; shift 2 ;;
        --elf) elf=${2:-}; shift 2 ;;
        --seed) seed=${2:-}; shift 2 ;;
        -h|--help) usage ;;
        *) echo "run-qemu.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
[ -n "$tap" ] && [ -n "$ip" ] || usage
# ip4 A.B.C.D: the address as an integer (exit 2 if it is not one).
ip4() {
    local IFS=. a b c d
    [[ $1 =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
    read -r a b c d <<<"$1"
    [ $((10#$a)) -le 255 ] && [ $((10#$b)) -le 255 ] && [ $((10#$c)) -le 255 ] && [ $((10#$d)) -le 255 ] || return 1
    echo $(((10#$a << 24) | (10#$b << 16) | (10#$c << 8) | 10#$d))
}
addr=${ip%/*} prefix=${ip#*/}
ip_n=$(ip4 "$addr") && [[ $prefix =~ ^[0-9]+$ ]] && [ "$prefix" -ge 1 ] && [ "$prefix" -le 32 ] ||
    { echo "run-qemu.sh: --ip wants ADDR/PREFIX" >&2; exit 2; }
prefix=$((10#$prefix))
gw_n=0
[ -z "$gw" ] || gw_n=$(ip4 "$gw") || { echo "run-qemu.sh: bad --gw" >&2; exit 2; }
[[ $mac =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]] || { echo "run-qemu.sh: bad --mac" >&2; exit 2; }
[ -f "$elf" ] || { echo "run-qemu.sh: no image at $elf (build ports/mps2-an385 first, README.md)" >&2; exit 2; }
command -v qemu-system-arm >/dev/null || { echo "run-qemu.sh: qemu-system-arm is not installed" >&2; exit 2; }
[ -n "$seed" ] || seed=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
[[ $seed =~ ^[0-9a-fA-F]{1,16}$ ]] || { echo "run-qemu.sh: --seed wants up to 16 hex digits" >&2; exit 2; }
seed=$(printf '%16s' "$seed" | tr ' ' 0)

# The configuration block (board.h): magic "MPS2", ip, prefix, gw,
# seed low and high word, one 32-bit loader write each.
base=$((0x203fffe0))
cfg=()
word() { cfg+=(-device "loader,addr=$(printf '0x%x' $((base + $1))),data=$2,data-len=4"); }
word 0 0x3253504d
word 4 "$ip_n"
word 8 "$prefix"
word 12 "$gw_n"
word 16 "0x${seed:8:8}"
word 20 "0x${seed:0:8}"

exec qemu-system-arm -M mps2-an385 -nographic -monitor none -serial stdio \
    -kernel "$elf" "${cfg[@]}" \
    -nic "tap,ifname=$tap,script=no,downscript=no,model=lan9118,mac=$mac"
