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
*)
    echo "usage: $0 headers SRCDIR | symbols ARCHIVE" >&2
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
