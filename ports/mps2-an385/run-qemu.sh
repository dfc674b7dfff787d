#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot the moat board image on QEMU's mps2-an385 machine attached to a TAP
# device, UART0 on stdout:
#
#   ports/mps2-an385/run-qemu.sh --tap IFNAME --ip ADDR/PREFIX
#        [--gw ADDR] [--mac MAC] [--elf PATH] [--seed HEX]
#
# The TAP device must exist (ip tuntap add dev IFNAME mode tap) and be up;
# QEMU attaches to it without scripts. The address reaches the image
# through semihosting's command line (the image has no other input at
# boot; see README.md). --mac sets the LAN9118's address (default
# 02:00:c0:00:02:01), --seed the image's random seed (default: 64 bits
# from /dev/urandom), --elf the image (default: build/mps2/moat-mps2.elf
# under the source tree, or $MPS2_ELF). Ends when QEMU does: kill it, or
# the image exits through semihosting (fatal errors), with its code.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tap="" ip="" gw="" mac="02:00:c0:00:02:01" seed=""
elf=${MPS2_ELF:-$ROOT/build/mps2/moat-mps2.elf}

usage() { sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
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
[[ $ip =~ ^[0-9.]+/[0-9]+$ ]] || { echo "run-qemu.sh: --ip wants ADDR/PREFIX" >&2; exit 2; }
[ -z "$gw" ] || [[ $gw =~ ^[0-9.]+$ ]] || { echo "run-qemu.sh: bad --gw" >&2; exit 2; }
[[ $mac =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]] || { echo "run-qemu.sh: bad --mac" >&2; exit 2; }
[ -f "$elf" ] || { echo "run-qemu.sh: no image at $elf (build ports/mps2-an385 first, README.md)" >&2; exit 2; }
command -v qemu-system-arm >/dev/null || { echo "run-qemu.sh: qemu-system-arm is not installed" >&2; exit 2; }
[ -n "$seed" ] || seed=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
[[ $seed =~ ^[0-9a-fA-F]{1,16}$ ]] || { echo "run-qemu.sh: --seed wants up to 16 hex digits" >&2; exit 2; }

# Semihosting arguments: the image reads key=value words (main.c).
sh_args="arg=moat-mps2,arg=ip=$ip,arg=seed=$seed"
[ -z "$gw" ] || sh_args="$sh_args,arg=gw=$gw"

exec qemu-system-arm -M mps2-an385 -nographic -monitor none -serial stdio \
    -kernel "$elf" \
    -semihosting-config "enable=on,target=native,$sh_args" \
    -nic "tap,ifname=$tap,script=no,downscript=no,model=lan9118,mac=$mac"
