#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Size report of the protocol core for small targets (docs/footprint.md).
#
#   bash scripts/size-report.sh [--out DIR]
#
# With Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi:
# 1. Code: core/*.c compiled at -Os for Cortex-M3 and Cortex-M4 (-mthumb,
#    -ffunction-sections -fdata-sections, freestanding) in four sets:
#      full     Ethernet, ARP, IPv4 (with reassembly), ICMP, UDP, DHCP
#               client, TCP, and IPv6 (ip6*.c, icmp6.c, nd*.c)
#      IPv4     the full IPv4 set: full without IPv6 (core/ip6_none.c,
#               -DMOAT_CORE_IP6=0); the sets below are IPv4-only too
#      no DHCP  without core/dhcp.c (core/dhcp_none.c, -DMOAT_CORE_DHCP=0)
#      no TCP   without core/tcp.c and tcp_*.c (core/tcp_none.c,
#               -DMOAT_CORE_TCP=0)
#      min      without either
#    Each set is linked with --gc-sections into an image whose entry is the
#    bare-metal example loop (ports/baremetal/example_loop.c over the stub
#    link), so only what a firmware reaches is kept; the core's share of
#    text (code + read-only data), data and bss is summed from the linker
#    map, per object file. "objects" is the plain sum of every object
#    before linking (nothing dropped). The example loop, the stub link and
#    newlib's mem* are not counted.
# 2. RAM: scripts/size_ram.c built for the Cortex-M3 and run under qemu-arm
#    (user mode), or for the build host when qemu-arm is missing (the
#    report says which ABI): the core's memory block (mcore_mem_size) and
#    the socket region (moat_layout_compute) for a small configuration and
#    for moat_config_defaults(), and the bytes one TCP connection costs
#    besides its rings.
# Prints tables, then one last line for scripts/test.sh's summary:
#   size-report: cortex-m3 -Os text: full N B, IPv4 N B, no DHCP N B, no TCP N B, min N B;
#   RAM small N B (ip_max_datagram 1500: N B), default N B
# Exit status 0; 77 when arm-none-eabi-gcc is missing (skipped); 1 if
# something does not build or the RAM program fails.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,30p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
    esac
done
CC=${ARM_CC:-arm-none-eabi-gcc}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "size-report: $CC not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi): skipped"
    exit 77
fi
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d) || exit 2
    trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT" || exit 2

CFLAGS=(-std=c11 -Os -mthumb -ffreestanding -fno-builtin -ffunction-sections -fdata-sections
        -Wall -Wextra -I"$ROOT/include" -I"$ROOT/core" -I"$ROOT" -I"$ROOT/ports/baremetal")
SETS=(full ip4 nodhcp notcp min)
# label SET
label() {
    case "$1" in full) echo "full (IPv4 + IPv6)" ;; ip4) echo "IPv4 (no IPv6)" ;; nodhcp) echo "no DHCP" ;; notcp) echo "no TCP" ;; min) echo "no TCP, no DHCP" ;; esac
}
# sources SET: the core files of SET (the *_none.c files compile to nothing
# unless their MOAT_CORE_* macro is 0, so they may always be listed).
sources() {
    local f b
    for f in "$ROOT"/core/*.c; do
        b=$(basename "$f")
        case "$1:$b" in
        *:tcp_none.c|*:dhcp_none.c|*:ip6_none.c) echo "$f" ;;
        full:*) echo "$f" ;;
        *:ip6.c|*:ip6_*.c|*:icmp6.c|*:nd.c|*:nd_*.c) ;;   # every other set is IPv4-only
        notcp:tcp.c|notcp:tcp_*.c|min:tcp.c|min:tcp_*.c) ;;
        nodhcp:dhcp.c|min:dhcp.c) ;;
        *) echo "$f" ;;
        esac
    done
}
# defines SET
defines() {
    case "$1" in ip4) echo -DMOAT_CORE_IP6=0 ;; nodhcp) echo -DMOAT_CORE_IP6=0 -DMOAT_CORE_DHCP=0 ;;
    notcp) echo -DMOAT_CORE_IP6=0 -DMOAT_CORE_TCP=0 ;;
    min) echo -DMOAT_CORE_IP6=0 -DMOAT_CORE_TCP=0 -DMOAT_CORE_DHCP=0 ;; esac
}
CORE_FULL=()
while IFS= read -r f; do CORE_FULL+=("$f"); done < <(sources full)
PORT=("$ROOT/ports/baremetal/example_loop.c" "$ROOT/ports/baremetal/stub_link.c")

# map_sum MAP: "object text data bss" per core object, from the linker
# map's input sections after "Linker script and memory map" (what was kept).
map_sum() {
    awk '
    function hex(s,   i, v) {                   # "0x1a4" -> 420 (mawk has no strtonum)
        v = 0; s = tolower(substr(s, 3))
        for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
        return v
    }
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    /^ [.][^ ]+$/ { pend = $1; next }          # long section name: numbers on the next line
    /^ ([.][^ ]+|COMMON)? +0x[0-9a-f]+ +0x[0-9a-f]+ +[^ ]+$/ {
        if (NF == 4) { sec = $1; sz = $3; file = $4 } else { sec = pend; sz = $2; file = $3 }
        pend = ""
        if (file !~ /\/obj-core\//) next
        n = split(file, parts, "/"); obj = parts[n]
        v = hex(sz)
        if (sec ~ /^[.](text|rodata|ARM[.]exidx|ARM[.]extab)/) text[obj] += v
        else if (sec ~ /^[.]data/) data[obj] += v
        else if (sec ~ /^[.]bss/ || sec == "COMMON") bss[obj] += v
        else next
        seen[obj] = 1
        next
    }
    { pend = "" }
    END { for (o in seen) printf "%s %d %d %d\n", o, text[o], data[o], bss[o] }' "$1"
}

# build CPU SET: compiles and links one set; writes $OUT/CPU-SET.{objs,linked}
build() {
    local cpu=$1 set=$2 dir="$OUT/$1-$2" f
    local -a srcs=() defs=()
    while IFS= read -r f; do srcs+=("$f"); done < <(sources "$set")
    read -r -a defs <<<"$(defines "$set")"
    rm -rf "$dir" && mkdir -p "$dir/obj-core" "$dir/obj-port" || return 1
    for f in "${srcs[@]}"; do
        "$CC" "${CFLAGS[@]}" -mcpu="$cpu" "${defs[@]}" -c "$f" \
            -o "$dir/obj-core/$(basename "$f" .c).o" || { echo "size-report: $cpu $set: $f does not compile"; return 1; }
    done
    for f in "${PORT[@]}"; do
        "$CC" "${CFLAGS[@]}" -mcpu="$cpu" "${defs[@]}" -c "$f" \
            -o "$dir/obj-port/$(basename "$f" .c).o" || { echo "size-report: $cpu $set: $f does not compile"; return 1; }
    done
    # The image: entry = the example loop; newlib-nano supplies mem*.
    "$CC" -mthumb -mcpu="$cpu" -nostartfiles --specs=nano.specs -Wl,--gc-sections \
        -Wl,-e,moat_example_run -Wl,-Map,"$dir/image.map" -o "$dir/image.elf" \
        "$dir"/obj-core/*.o "$dir"/obj-port/*.o -lc -lgcc ||
        { echo "size-report: $cpu $set: link failed"; return 1; }
    arm-none-eabi-size "$dir"/obj-core/*.o | awk 'NR > 1 { n = split($6, p, "/"); print p[n], $1, $2, $3 }' \
        > "$OUT/$cpu-$set.objs"
    map_sum "$dir/image.map" | sort > "$OUT/$cpu-$set.linked"
}

# total FILE COLUMN(2 text, 3 data, 4 bss)
total() { awk -v c="$2" '{ s += $c } END { print s + 0 }' "$1"; }

fail=0
for cpu in cortex-m3 cortex-m4; do
    for set in "${SETS[@]}"; do
        build "$cpu" "$set" || fail=1
    done
done
[ "$fail" = 0 ] || { echo "size-report: build failed"; exit 1; }

echo "## Code: the core at -Os, arm-none-eabi-gcc $("$CC" -dumpversion), -mthumb"
echo
echo "| target | set | text (linked) | data | bss | text (all objects) |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for cpu in cortex-m3 cortex-m4; do
    for set in "${SETS[@]}"; do
        l="$OUT/$cpu-$set.linked" o="$OUT/$cpu-$set.objs"
        printf '| %s | %s | %s | %s | %s | %s |\n' "$cpu" "$(label "$set")" "$(total "$l" 2)" "$(total "$l" 3)" \
            "$(total "$l" 4)" "$(total "$o" 2)"
    done
done
echo
echo "Per object, cortex-m3, full set (linked, largest first):"
echo
echo "| object | text | data | bss |"
echo "| --- | ---: | ---: | ---: |"
sort -k2,2nr "$OUT/cortex-m3-full.linked" | awk '{ printf "| %s | %d | %d | %d |\n", $1, $2, $3, $4 }'
tcp_text=$(awk '$1 ~ /^tcp/ { s += $2 } END { print s + 0 }' "$OUT/cortex-m3-full.linked")
echo
echo "TCP (tcp*.o) in the cortex-m3 image: $tcp_text B of text."

# Link-time optimisation needs no source change but mixes the objects, so
# it is measured on the whole image (core + example loop + stub link +
# newlib's mem*), next to the same image without it.
lto_src=()
while IFS= read -r f; do lto_src+=("$f"); done < <(sources full)
if "$CC" "${CFLAGS[@]}" -mcpu=cortex-m3 -flto -flto-partition=none -nostartfiles --specs=nano.specs \
       -Wl,--gc-sections -Wl,-e,moat_example_run -o "$OUT/image-lto.elf" "${lto_src[@]}" "${PORT[@]}" \
       -lc -lgcc 2>/dev/null; then
    img=$(arm-none-eabi-size "$OUT/cortex-m3-full/image.elf" | awk 'NR == 2 { print $1 }')
    lto=$(arm-none-eabi-size "$OUT/image-lto.elf" | awk 'NR == 2 { print $1 }')
    echo "Whole cortex-m3 image, full set: $img B of text; with -flto: $lto B."
fi

# ---- RAM
RAM_SRC=("$ROOT/scripts/size_ram.c" "${CORE_FULL[@]}")
ram_abi=""
if command -v qemu-arm >/dev/null 2>&1 &&
   "$CC" "${CFLAGS[@]}" -mcpu=cortex-m3 -DMOAT_SIZE_RAM_ARM_LINUX -nostartfiles -static --specs=nano.specs \
       -Wl,--gc-sections -o "$OUT/size_ram.elf" "${RAM_SRC[@]}" -lc -lgcc &&
   timeout 60 qemu-arm "$OUT/size_ram.elf" > "$OUT/ram.txt"; then
    ram_abi="cortex-m3 (arm-none-eabi ABI, run under qemu-arm)"
elif cc -std=c11 -O1 -I"$ROOT/include" -I"$ROOT/core" -I"$ROOT" -o "$OUT/size_ram" "${RAM_SRC[@]}" &&
     "$OUT/size_ram" > "$OUT/ram.txt"; then
    ram_abi="build host $(uname -m) (qemu-arm not available: 64-bit pointers, a little more than on a Cortex-M)"
else
    echo "size-report: the RAM program failed"
    exit 1
fi
# field TAG KEY [NAME]: the value after KEY on the line starting with TAG (NAME)
field() {
    awk -v t="$1" -v k="$2" -v n="${3:-}" '$1 == t && (n == "" || $2 == n) {
        for (i = 2; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' "$OUT/ram.txt"
}
echo
echo "## RAM, $ram_abi"
echo
echo "| configuration | core block | socket region | total | of the core block: struct mcore | pkt pool | ARP | reassembly | sockets | TCP | 2 datagram buffers |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in small small-mtu default; do
    core=$(field ram core $n)
    parts=0
    for k in mcore pkt arp reass sock tcp; do parts=$((parts + $(field ram $k $n))); done
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$core" "$(field ram region $n)" \
        "$(field ram total $n)" "$(field ram mcore $n)" "$(field ram pkt $n)" "$(field ram arp $n)" \
        "$(field ram reass $n)" "$(field ram sock $n)" "$(field ram tcp $n)" "$((core - parts))"
done
echo
echo "small: 4 sockets with 4 KiB rings each way (the smallest ring; 2 KiB windows are the"
echo "MOAT_OPT_RCVBUF/SNDBUF of a socket), 8 packet buffers, 4 ARP entries, 1 reassembly slot,"
echo "SYN backlog 2; small-mtu: the same with ip_max_datagram = 1500 (datagram buffers of the"
echo "MTU instead of 64 KiB); default: moat_config_defaults() (64 sockets, 256 KiB rings each way)."
echo
echo "One TCP connection besides its rings: $(field conn total) B (TCB $(field conn tcp_cb) B," \
     "socket slot $(field conn msock) B, status in the region $(field conn sock_sh) B," \
     "TCP's per-slot share $(field conn tcp_slot) B incl. the TCB)."

m3() { total "$OUT/cortex-m3-$1.linked" 2; }
echo
echo "size-report: cortex-m3 -Os text: full $(m3 full) B, IPv4 $(m3 ip4) B, no DHCP $(m3 nodhcp) B, no TCP $(m3 notcp) B," \
     "min $(m3 min) B; RAM small $(field ram total small) B (ip_max_datagram 1500: $(field ram total small-mtu) B)," \
     "default $(field ram total default) B"
exit 0
