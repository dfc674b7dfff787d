#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark (issue 8, item 5): moat's three backends, the Linux kernel
# talking to itself over a veth pair, and lwIP on the same TAP, in one
# interleaved run: bulk both ways, round trips, connections per second and
# CPU seconds per GB. Nothing of its own: it is bench/backends.sh with
# those columns and the TAP cases (bench/README.md describes both).
#
#   for b in thread process seccomp; do
#     cmake -S . -B build-bench-$b -DCMAKE_BUILD_TYPE=Release -DMOAT_BACKEND=$b -DMOAT_BUILD_TESTS=OFF
#     cmake --build build-bench-$b -j2
#   done
#   cmake -S . -B build-bench-lwip -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench-lwip --target lwip_tap_echo
#   sudo bash bench/compare.sh               RUNS=5 BYTES=256M RR=10000 CONNS=500
#
# Every knob of bench/backends.sh applies (RUNS, BYTES, RR, CONNS, OUT,
# BUILD_PREFIX, STEP_S, PERF, PLOT); COLUMNS and CASES default to the
# comparison's. Without lwip_tap_echo (no liblwip-dev) the lwip column is
# left out, with a note. Needs root (namespaces, TAP, veth).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_PREFIX=${BUILD_PREFIX:-$ROOT/build-bench}
cols="thread process seccomp kernel"
have_lwip=${LWIP_BIN:-}
if [ -z "$have_lwip" ]; then
    for f in "$BUILD_PREFIX-lwip/tests/lwip_tap_echo" "$ROOT"/build*/*/tests/lwip_tap_echo; do
        [ -x "$f" ] && { have_lwip=$f; break; }
    done
fi
if [ -n "$have_lwip" ]; then
    cols+=" lwip"
else
    echo "compare: no lwip_tap_echo (see the build line at the top of $0): lwIP left out"
fi
[ "$(id -u)" = 0 ] || { echo "compare: needs root (TAP, namespaces, veth)"; exit 2; }
export BUILD_PREFIX
[ -n "$have_lwip" ] && export LWIP_BIN=$have_lwip
export COLUMNS=${COLUMNS:-$cols}
export CASES=${CASES:-tap-up tap-down tap-rr tap-conn}
export OUT=${OUT:-$ROOT/bench/results/compare-$(date -u +%Y%m%d-%H%M%S)}
exec bash "$ROOT/bench/backends.sh"
