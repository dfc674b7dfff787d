#!/usr/bin/env bash
# Install moat from the build tree into a scratch prefix, then build and run
# a consumer project with find_package(moat), and a one-file program with
# pkg-config. Usage: test_install.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/install/consumer" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/build" >/dev/null
"$tmp/build/consumer"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$(ls -d "$tmp"/prefix/lib/*/pkgconfig 2>/dev/null | tr '\n' ':')"
cc -o "$tmp/pc" "$src/tests/install/consumer/main.c" $(pkg-config --cflags --libs moat) -Wl,-rpath,"$(pkg-config --variable=libdir moat)"
"$tmp/pc"
# Only the public API leaves the library (another stack may be linked too).
lib=$(ls "$tmp"/prefix/lib/libmoat.so 2>/dev/null || ls "$tmp"/prefix/lib/*/libmoat.so)
leaked=$(nm -D --defined-only "$lib" | awk '$2 != "A" && $3 !~ /^moat_/' | head -5)
[ -z "$leaked" ] || { echo "libmoat.so exports non-moat symbols: $leaked"; exit 1; }
arch=${lib%.so}.a
leaked=$(nm -g --defined-only "$arch" | awk 'NF == 3 && $3 !~ /^moat_/' | head -5)
[ -z "$leaked" ] || { echo "libmoat.a has non-moat global symbols: $leaked"; exit 1; }
cc -o "$tmp/st" "$src/tests/install/consumer/main.c" -I"$tmp/prefix/include" "$arch" -pthread $(pkg-config --libs-only-l moat | sed 's/-lmoat//')
"$tmp/st"
echo "install: find_package, pkg-config and static consumers built and ran; only moat_* exported"
