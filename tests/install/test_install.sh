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
echo "install: find_package and pkg-config consumers built and ran"
