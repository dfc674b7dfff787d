#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Freestanding checks for the protocol core (used by ports/baremetal/baremetal.cmake).
#
#   check_freestanding.sh headers SRCDIR
#       Every #include in SRCDIR/core/*.c, core/*.h and include/moat/*.h
#       (the public headers are compiled into the core) must be a local
#       "..." header that does not reach into backends/ or ports/, or one
#       of <stdint.h> <stddef.h> <stdbool.h> <string.h> <stdatomic.h>.
#   check_freestanding.sh symbols ARCHIVE
#       The objects of ARCHIVE may leave undefined only what a freestanding
#       target's small libc provides: the <string.h> functions (mem*, and
#       the str* ones that allocate nothing and keep no state), plus
#       compiler runtime helpers (__atomic_*, __udivdi3 ...).
#   check_freestanding.sh cross SRCDIR WORKDIR
#       Cross-compiles core/*.c and the stubs with clang for a Cortex-M4 and
#       a big-endian MIPS (compile only), then checks the Cortex-M objects'
#       undefined symbols as above. Exits 77 (skipped) when clang is absent.
#
# Prints each offending line and exits 1 if there is one.
set -u
mode=${1:-}
# The checks read lines in pipelines (subshells): failures are recorded
# in a file rather than a variable.
tmp=$(mktemp) || exit 2
trap 'rm -f "$tmp"' EXIT
case "$mode" in
headers)
    src=${2:?usage: $0 headers SRCDIR}
    bad=0
    found=0
    for f in "$src"/core/*.c "$src"/core/*.h "$src"/include/moat/*.h; do
        [ -f "$f" ] || continue
        found=$((found + 1))
        # Every preprocessor include line, with its line number.
        grep -nE '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r line; do
            inc=$(printf '%s\n' "$line" | sed -E 's/^[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*//')
            case "$inc" in
            '<stdint.h>'*|'<stddef.h>'*|'<stdbool.h>'*|'<string.h>'*|'<stdatomic.h>'*)
                ;;
            '"backends/'*|'"ports/'*|'"../'*)
                echo "$f:$line: core must not include backends/ or ports/"
                echo x >> "$tmp"
                ;;
            '"'*)
                ;;
            *)
                echo "$f:$line: not allowed in a freestanding core"
                echo x >> "$tmp"
                ;;
            esac
        done
    done
    ;;
symbols)
    lib=${2:?usage: $0 symbols ARCHIVE}
    [ -f "$lib" ] || { echo "no such archive: $lib"; exit 1; }
    found=1
    # Symbols some object of the archive defines (one object's undefined
    # reference to another's function is fine).
    defs=$(mktemp) || exit 2
    trap 'rm -f "$tmp" "$defs"' EXIT
    nm --defined-only "$lib" 2>/dev/null | awk 'NF >= 3 { print $3 }' | sort -u > "$defs"
    nm -u "$lib" 2>/dev/null | awk 'NF == 2 { print $2 }' | sort -u | while IFS= read -r sym; do
        case "$sym" in
        memcpy|memmove|memset|memcmp|memchr) ;;
        strlen|strnlen|strchr|strrchr|strcmp|strncmp) ;;
        _GLOBAL_OFFSET_TABLE_) ;;   # defined by the linker (PIE by default)
        __atomic_*|__sync_*|__udivdi3|__umoddi3|__divdi3|__moddi3|__aeabi_*) ;;
        *)
            if ! grep -qxF "$sym" "$defs"; then
                echo "undefined symbol not available freestanding: $sym"
                echo x >> "$tmp"
            fi
            ;;
        esac
    done
    ;;
cross)
    # Cross-compile the core and the stubs for a Cortex-M4 (thumbv7em,
    # little-endian) and a big-endian MIPS with clang, against clang's own
    # freestanding headers plus a minimal <string.h>, and check the
    # Cortex-M objects' undefined symbols. Exit 77 (skipped) without clang.
    src=${2:?usage: $0 cross SRCDIR WORKDIR}
    work=${3:?usage: $0 cross SRCDIR WORKDIR}
    CLANG=${CLANG:-clang}
    command -v "$CLANG" >/dev/null 2>&1 || { echo "no clang: skipped"; exit 77; }
    res=$("$CLANG" -print-resource-dir 2>/dev/null) || { echo "clang has no resource dir: skipped"; exit 77; }
    mkdir -p "$work/inc" || exit 2
    cat > "$work/inc/string.h" <<'HDR'
#ifndef MOAT_SHIM_STRING_H
#define MOAT_SHIM_STRING_H
#include <stddef.h>
void *memcpy(void *, const void *, size_t);
void *memmove(void *, const void *, size_t);
void *memset(void *, int, size_t);
int memcmp(const void *, const void *, size_t);
void *memchr(const void *, int, size_t);
size_t strlen(const char *);
char *strchr(const char *, int);
char *strrchr(const char *, int);
int strcmp(const char *, const char *);
int strncmp(const char *, const char *, size_t);
#endif
HDR
    found=0
    for target in thumbv7em-none-eabi mips-unknown-none-elf; do
        out="$work/$target"
        mkdir -p "$out" && rm -f "$out"/*.o
        for f in "$src"/core/*.c "$src"/ports/baremetal/stub_link.c "$src"/ports/baremetal/example_loop.c; do
            found=$((found + 1))
            if ! "$CLANG" --target=$target -std=c11 -O2 -ffreestanding -fno-builtin \
                    -nostdinc -isystem "$res/include" -isystem "$work/inc" \
                    -Wall -Wextra -Werror -Wno-unused-command-line-argument \
                    -I"$src/include" -I"$src/core" -I"$src" -I"$src/ports/baremetal" \
                    -c "$f" -o "$out/$(basename "$f").o"; then
                echo "$target: $f does not compile freestanding"
                echo x >> "$tmp"
            fi
        done
    done
    NM=$(command -v llvm-nm || command -v nm)
    defs=$(mktemp) || exit 2
    trap 'rm -f "$tmp" "$defs"' EXIT
    "$NM" --defined-only "$work"/thumbv7em-none-eabi/*.o 2>/dev/null | awk 'NF >= 3 { print $3 }' | sort -u > "$defs"
    "$NM" -u "$work"/thumbv7em-none-eabi/*.o 2>/dev/null | awk 'NF == 2 { print $2 }' | sort -u | while IFS= read -r sym; do
        case "$sym" in
        memcpy|memmove|memset|memcmp|memchr|strlen|strnlen|strchr|strrchr|strcmp|strncmp) ;;
        __aeabi_*) ;;   # ARM EABI run-time helpers (libgcc / compiler-rt)
        *)
            if ! grep -qxF "$sym" "$defs"; then
                echo "thumbv7em: undefined symbol not available freestanding: $sym"
                echo x >> "$tmp"
            fi
            ;;
        esac
    done
    ;;
*)
    echo "usage: $0 headers SRCDIR | symbols ARCHIVE | cross SRCDIR WORKDIR" >&2
    exit 2
    ;;
esac
if [ "$found" -eq 0 ]; then
    echo "nothing to check (wrong directory?)"
    exit 1
fi
if [ -s "$tmp" ]; then
    echo "FAILED: $(wc -l < "$tmp") offending item(s)"
    exit 1
fi
echo "freestanding $mode check: ok"
exit 0
