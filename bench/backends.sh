#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: moat's backends side by side, on the same machine, in one run,
# with the thread backend (the first column) as the baseline, and, as
# columns of the same run, the Linux kernel talking to itself over a veth
# pair and lwIP on the same TAP. Owns nothing but its results directory.
#
#   bash bench/backends.sh                       5 runs per case, all cases
#   RUNS=3 BYTES=64M RR=2000 CONNS=200 bash bench/backends.sh
#   COLUMNS="thread seccomp seccomp-spin0=seccomp/MOAT_SPIN_US=0" bash bench/backends.sh
#   bash bench/compare.sh                        moat vs kernel vs lwIP (the
#                                                same script, those columns)
#
# Cases (CASES, default all; the tap ones need root and are dropped without):
#   tap-up     bulk, moat -> kernel   moat-ttcp -t on moat, --kernel -r    TAP in a namespace
#   tap-down   bulk, kernel -> moat   moat-ttcp --kernel -t, -r on moat    same
#   tap-rr     one-byte round trips, moat client, kernel echo server       same
#   tap-conn   connections per second (moat-ttcp --connections): connect,
#              one byte each way, orderly close; moat client, kernel server
#   wire-bulk  bulk between two moat stacks over the shared-memory wire
#   wire-rr    round trips over the wire (both ends moat, same backend)
#   wire-conn  connections per second over the wire
#
# Namespace moat-bk-$$ holds TAP device mk$$: kernel 198.18.0.1, moat
# 198.18.0.2 (the only addresses used; the wire cases use 198.18.2.1/.2 on
# a private shared-memory wire, no network at all).
#
# COLUMNS: space-separated LABEL[=BACKEND][/VAR=VAL...]. BACKEND defaults to
# LABEL; its build is $BUILD_PREFIX-BACKEND (default build-bench-BACKEND, a
# Release build). Two BACKENDs are not moat (tap cases only; their wire
# cases are "n/a"):
#   kernel  moat-ttcp --kernel at both ends, over a veth pair between the
#           TAP's namespace (198.18.1.1) and a second one, moat-bk2-$$
#           (198.18.1.2): the kernel talking to itself, no TAP;
#   lwip    lwIP (Debian's liblwip; tests/lwip/lwip_tap_echo, LWIP_BIN or
#           the first of $BUILD_PREFIX-lwip/tests/, build/*/tests/ that has
#           it) on the same TAP at 198.18.0.3 with moat-ttcp --kernel at the
#           other end: up = lwIP source -> ttcp -r (the receiver's figure),
#           down = ttcp -t -> lwIP sink, rr = ttcp -t --rr -> lwIP echo (the
#           kernel is the client), conn = lwIP connects to ttcp -r
#           --connections (the server's figure). VARs go into the moat programs' environment, e.g.
# MOAT_SPIN_US=0 (moat-ttcp's override of cfg.spin_us), MOAT_DOMAIN_CPUS=1,1
# (supervisor: pin moat-netd,moat-linkd), APP_CPUS=0 (taskset the moat
# application; its domains inherit that unless MOAT_DOMAIN_CPUS says
# otherwise), PEER_CPUS=1 (taskset the kernel-side peer program).
#
# Runs are interleaved: run i of every column follows run i of the previous
# one, so slow drift of the machine spreads over all columns. Each value is
# the median of RUNS. With PERF=1 (default when perf exists) one more run
# per case and column runs under `perf stat -a -e context-switches,
# cpu-migrations` and the table gets context switches per operation (per
# MiB for bulk, per round trip, per connection).
#
# CPU: every run measures the stack under test with `perf stat -e
# task-clock` (or /usr/bin/time without perf, 10 ms resolution): seconds on
# a CPU (user + system, every thread and every child it reaped). The table
# gets "CPU s/GB" for bulk (per 10^9 bytes moved) and "CPU us/op" for round
# trips and connections (per round trip, per connection), medians over the
# runs. On a CPU shared by all parties, a round trip cannot take less than
# the CPU time spent on it, so "CPU us/op" of rr shows the cost of the
# turns (spinning included) even when foreign load blurs the times. For moat that is
# every moat process (the application and the moat-netd and moat-linkd it
# reaps; for wire-bulk both ends); for kernel the sending program in up,
# the receiving one in down; for lwip its one process. System time
# includes the kernel's own TCP work done in those processes' system calls
# (a frame written to the TAP is received by the kernel in the writer's
# call), so read moat's and lwIP's figures as "this stack plus the kernel
# peer's receive path" and the kernel's as both ends of a veth.
#
# Output in OUT (default bench/results/backends-DATE): table.txt (also on
# stdout), results.csv, raw/ (every run), plot.png (python3-matplotlib,
# installed with apt-get when missing and root; else gnuplot; else none).
# Exit status: 0 when every case produced at least one value, 1 otherwise,
# 2 on a setup error.
set -u
RUNS=${RUNS:-5}
BYTES=${BYTES:-256M}
RR=${RR:-10000}
CONNS=${CONNS:-500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_PREFIX=${BUILD_PREFIX:-$ROOT/build-bench}
COLUMNS=${COLUMNS:-thread process seccomp}
CASES=${CASES:-tap-up tap-down tap-rr tap-conn wire-bulk wire-rr wire-conn}
OUT=${OUT:-$ROOT/bench/results/backends-$(date -u +%Y%m%d-%H%M%S)}
STEP_S=${STEP_S:-120}            # every program runs under timeout STEP_S
if [ -z "${PERF:-}" ]; then command -v perf >/dev/null && PERF=1 || PERF=0; fi
PLOT=${PLOT:-1}

read -r -a COLS <<<"$COLUMNS"
read -r -a CASE_LIST <<<"$CASES"
if [ "$(id -u)" != 0 ]; then
    kept=()
    for c in "${CASE_LIST[@]}"; do [[ $c == tap-* ]] || kept+=("$c"); done
    [ ${#kept[@]} -lt ${#CASE_LIST[@]} ] && echo "bench: not root: TAP cases skipped (wire cases only)"
    CASE_LIST=("${kept[@]}")
    PERF=0                          # system-wide counters need root
fi
[ ${#CASE_LIST[@]} -gt 0 ] || { echo "bench: no case to run"; exit 2; }

NS="moat-bk-$$"; TAP="mk$$"; NS2="moat-bk2-$$"
WORK=$(mktemp -d "/tmp/moat-bk-$$.XXXXXX")
mkdir -p "$OUT/raw" || exit 2
PIDS=()
NS_MADE=0; NS2_MADE=0
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [ "$NS_MADE" = 1 ] && ip netns del "$NS" 2>/dev/null
    [ "$NS2_MADE" = 1 ] && ip netns del "$NS2" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- columns
# col_label I, col_backend I, col_env I (VAR=VAL lines), C_KIND: moat,
# kernel or lwip.
declare -a C_LABEL C_BACKEND C_ENV C_TTCP C_KIND
KTTCP=""                        # the kernel-side peer: any moat-ttcp --kernel
for i in "${!COLS[@]}"; do
    spec=${COLS[$i]}
    head=${spec%%/*}
    rest=""; [ "$head" != "$spec" ] && rest=${spec#*/}
    C_LABEL[$i]=${head%%=*}
    C_BACKEND[$i]=${head#*=}
    C_ENV[$i]=${rest//\// }
    case ${C_BACKEND[$i]} in
    kernel) C_KIND[$i]=kernel; C_TTCP[$i]="" ; continue ;;
    lwip)
        C_KIND[$i]=lwip
        if [ -z "${LWIP_BIN:-}" ]; then
            for f in "$BUILD_PREFIX-lwip/tests/lwip_tap_echo" "$ROOT"/build*/*/tests/lwip_tap_echo; do
                [ -x "$f" ] && { LWIP_BIN=$f; break; }
            done
        fi
        [ -x "${LWIP_BIN:-}" ] || { echo "bench: no lwip_tap_echo for column ${C_LABEL[$i]} (build it: cmake -S . -B $BUILD_PREFIX-lwip -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD_PREFIX-lwip --target lwip_tap_echo; needs liblwip-dev), or set LWIP_BIN"; exit 2; }
        C_TTCP[$i]=""; continue ;;
    esac
    C_KIND[$i]=moat
    C_TTCP[$i]="$BUILD_PREFIX-${C_BACKEND[$i]}/moat-ttcp"
    [ -x "${C_TTCP[$i]}" ] || { echo "bench: no ${C_TTCP[$i]} (build it: cmake -DMOAT_BACKEND=${C_BACKEND[$i]} -DCMAKE_BUILD_TYPE=Release)"; exit 2; }
    [ -n "$KTTCP" ] || KTTCP=${C_TTCP[$i]}
done
[ -n "$KTTCP" ] || { echo "bench: COLUMNS needs at least one moat build (its moat-ttcp --kernel is the kernel-side program)"; exit 2; }
# cpu_cmd FILE: the prefix that measures a program's CPU time into FILE.
if command -v perf >/dev/null; then
    cpu_cmd() { printf '%s\n' perf stat -x, -e task-clock -o "$1" --; }
elif [ -x /usr/bin/time ]; then
    cpu_cmd() { printf '%s\n' /usr/bin/time -f "%U %S" -o "$1"; }
else
    echo "bench: neither perf nor /usr/bin/time: no CPU figures"
    cpu_cmd() { :; }
fi

# moat_cmd I: the prefix that runs a moat program of column I (env, taskset).
moat_cmd() {
    local -a pre=(env) v
    local app=""
    for v in ${C_ENV[$1]}; do
        case $v in
        APP_CPUS=*) app=${v#APP_CPUS=} ;;
        PEER_CPUS=*) ;;
        *) pre+=("$v") ;;
        esac
    done
    [ -n "$app" ] && pre+=(taskset -c "$app")
    printf '%s\n' "${pre[@]}"
}
peer_cmd() {
    local v
    for v in ${C_ENV[$1]}; do
        case $v in PEER_CPUS=*) printf '%s\n' taskset -c "${v#PEER_CPUS=}"; return ;; esac
    done
    printf '%s\n' env
}

# ------------------------------------------------------------- network
need_tap=0
for c in "${CASE_LIST[@]}"; do [[ $c == tap-* ]] && need_tap=1; done
if [ "$need_tap" = 1 ]; then
    ip netns add "$NS" || exit 2
    NS_MADE=1
    ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add dev "$TAP" mode tap || exit 2
    ip -n "$NS" addr add 198.18.0.1/24 dev "$TAP"
    ip -n "$NS" link set "$TAP" up
    if [[ " ${C_KIND[*]} " == *" kernel "* ]]; then
        # kernel <-> kernel: a veth pair from NS to NS2.
        ip netns add "$NS2" || exit 2
        NS2_MADE=1
        ip -n "$NS2" link set lo up
        ip -n "$NS" link add "vk$$" type veth peer name "vk$$" netns "$NS2" || exit 2
        ip -n "$NS" addr add 198.18.1.1/24 dev "vk$$"
        ip -n "$NS2" addr add 198.18.1.2/24 dev "vk$$"
        ip -n "$NS" link set "vk$$" up
        ip -n "$NS2" link set "vk$$" up
    fi
fi
NSX=(ip netns exec "$NS")
NS2X=(ip netns exec "$NS2")

# tap_fresh: the TAP device made again before every tap run. A TAP keeps
# the offload features (TUNSETOFFLOAD) its last user set; a build that
# opens it without the virtio-net header and does not clear them (moat
# before issue 8) would be handed 64 KiB frames it cannot read. A fresh
# device starts with none, whatever ran before.
tap_fresh() {
    ip -n "$NS" link del "$TAP" 2>/dev/null
    ip -n "$NS" tuntap add dev "$TAP" mode tap || return 1
    ip -n "$NS" addr add 198.18.0.1/24 dev "$TAP"
    ip -n "$NS" link set "$TAP" up
}

# server OUTFILE CMD...: start a server with stdout to a fifo, wait for
# "ready" (15 s at most). Sets SRV_PID, SRV_FD.
server() {
    local line
    rm -f "$WORK/srv.fifo"; mkfifo "$WORK/srv.fifo"
    "$@" >"$WORK/srv.fifo" 2>"$WORK/srv.err" &
    SRV_PID=$!; PIDS+=("$SRV_PID")
    exec {SRV_FD}<"$WORK/srv.fifo"
    while IFS= read -r -t 15 -u "$SRV_FD" line; do [ "$line" = ready ] && return 0; done
    echo "bench: server did not start: $(head -c 300 "$WORK/srv.err")" >&2
    kill -TERM "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
    exec {SRV_FD}<&-
    return 1
}
# server_done [kill]: wait for the server to end (its output in
# $WORK/srv.out); "kill" stops it first (lwIP's servers do not exit).
server_done() {
    [ "${1:-}" = kill ] && kill -TERM "$SRV_PID" 2>/dev/null
    timeout 10 cat <&"$SRV_FD" >"$WORK/srv.out"
    kill -TERM "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    exec {SRV_FD}<&-
}
field() { printf '%s\n' "$1" | sed -n "s|.* $2=\([0-9.]*\).*|\1|p"; }
median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2] + a[NR/2+1]) / 2 }'; }

case_unit() {
    case $1 in
    *-rr) echo rtt_us ;;
    *-conn) echo conns/s ;;
    *) echo Mbit/s ;;
    esac
}
case_key() {
    case $1 in
    *-rr) echo rtt_us ;;
    *-conn) echo conns_per_s ;;
    *) echo Mbit/s ;;
    esac
}
cpu_unit() {
    case $1 in
    *-rr | *-conn) echo us/op ;;
    *) echo s/GB ;;
    esac
}
case_title() {
    case $1 in
    tap-up) echo "tap bulk moat->kernel" ;;
    tap-down) echo "tap bulk kernel->moat" ;;
    tap-rr) echo "tap rr moat<->kernel" ;;
    tap-conn) echo "tap conns moat->kernel" ;;
    wire-bulk) echo "wire bulk moat->moat" ;;
    wire-rr) echo "wire rr moat<->moat" ;;
    wire-conn) echo "wire conns moat->moat" ;;
    *) echo "$1" ;;
    esac
}

# cpu_of FILE...: CPU seconds in cpu_cmd's output FILEs (perf stat -x,:
# "MSEC,msec,task-clock,..."; /usr/bin/time: "USER SYS"), summed; empty
# when one is missing.
cpu_of() {
    local f sum=0 v
    for f in "$@"; do
        v=$(awk -F'[, ]' '$3 == "task-clock" && $1 ~ /^[0-9.]+$/ { v = $1 / 1000 }
                          NF == 2 && $1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9.]+$/ { v = $1 + $2 }
                          END { if (v != "") print v }' "$f" 2>/dev/null)
        [ -n "$v" ] || return 0
        sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { print a + b }')
    done
    echo "$sum"
}

# run_case CASE I [PERFFILE]: one run; prints the result line (the
# client's, or the server's where the table says so), and, for bulk cases,
# the CPU seconds of the stack under test in $WORK/cpu.s.
# With PERFFILE the client runs under system-wide perf stat.
run_case() {
    local c=$1 i=$2 pf=${3:-} t=${C_TTCP[$2]} cli res=cli
    local -a M P PS=() TA=() TB=()
    mapfile -t M < <(moat_cmd "$i")
    mapfile -t P < <(peer_cmd "$i")
    [ -n "$pf" ] && PS=(perf stat -a -x, -o "$pf" -e context-switches,cpu-migrations --)
    rm -f "$WORK/cpu.a" "$WORK/cpu.b" "$WORK/cpu.s"
    mapfile -t TA < <(cpu_cmd "$WORK/cpu.a")
    mapfile -t TB < <(cpu_cmd "$WORK/cpu.b")
    local -a link=(--tap "$TAP" --ip 198.18.0.2/24)
    local -a lw=("${LWIP_BIN:-}" --tap "$TAP" --ip 198.18.0.3/24 --port 5001 --max-seconds "$STEP_S")
    local wire="$WORK/wire.$c.$i.$RANDOM"
    local -a wa=(--wire "$wire" --ip 198.18.2.1/24) wb=(--wire "$wire" --ip 198.18.2.2/24)
    [[ $c == tap-* ]] && { tap_fresh || return; }
    local kind=${C_KIND[$i]} stop=""
    cli="$WORK/cli.out"; : >"$cli"; : >"$WORK/srv.out"
    if [[ $kind != moat && $c == wire-* ]]; then
        echo "n/a"
        return
    fi
    case $kind.$c in
    moat.tap-up)
        server "${NSX[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --ip 198.18.0.1 || return
        "${NSX[@]}" "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "$t" -t "${link[@]}" --peer 198.18.0.1 --bytes "$BYTES" >"$cli" 2>"$WORK/cli.err" ;;
    moat.tap-down)
        server "${NSX[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "$t" -r "${link[@]}" || return
        "${NSX[@]}" "${PS[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -t --peer 198.18.0.2 --bytes "$BYTES" >"$cli" 2>"$WORK/cli.err" ;;
    moat.tap-rr)
        server "${NSX[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --rr 1 --ip 198.18.0.1 || return
        "${NSX[@]}" "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "$t" -t --rr "$RR" "${link[@]}" --peer 198.18.0.1 >"$cli" 2>"$WORK/cli.err" ;;
    moat.tap-conn)
        server "${NSX[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --connections "$CONNS" --ip 198.18.0.1 || return
        "${NSX[@]}" "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "$t" -t --connections "$CONNS" "${link[@]}" --peer 198.18.0.1 >"$cli" 2>"$WORK/cli.err" ;;
    moat.wire-bulk)
        server "${M[@]}" "${TB[@]}" timeout "$STEP_S" "$t" -r "${wa[@]}" || return
        "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "$t" -t "${wb[@]}" --peer 198.18.2.1 --bytes "$BYTES" >"$cli" 2>"$WORK/cli.err" ;;
    moat.wire-rr)
        server "${M[@]}" "${TB[@]}" timeout "$STEP_S" "$t" -r --rr 1 "${wa[@]}" || return
        "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "$t" -t --rr "$RR" "${wb[@]}" --peer 198.18.2.1 >"$cli" 2>"$WORK/cli.err" ;;
    moat.wire-conn)
        server "${M[@]}" "${TB[@]}" timeout "$STEP_S" "$t" -r --connections "$CONNS" "${wa[@]}" || return
        "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "$t" -t --connections "$CONNS" "${wb[@]}" --peer 198.18.2.1 >"$cli" 2>"$WORK/cli.err" ;;
    # The kernel over veth: the client in NS (where moat's programs run),
    # the server in NS2; down sends from NS2 to a receiver in NS.
    kernel.tap-up)
        server "${NS2X[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --ip 198.18.1.2 || return
        "${NSX[@]}" "${PS[@]}" "${P[@]}" "${TA[@]}" timeout "$STEP_S" "$KTTCP" --kernel -t --peer 198.18.1.2 --bytes "$BYTES" >"$cli" 2>"$WORK/cli.err" ;;
    kernel.tap-down)
        server "${NSX[@]}" "${P[@]}" "${TA[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --ip 198.18.1.1 || return
        "${NS2X[@]}" "${PS[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -t --peer 198.18.1.1 --bytes "$BYTES" >"$cli" 2>"$WORK/cli.err" ;;
    kernel.tap-rr)
        server "${NS2X[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --rr 1 --ip 198.18.1.2 || return
        "${NSX[@]}" "${PS[@]}" "${P[@]}" "${TA[@]}" timeout "$STEP_S" "$KTTCP" --kernel -t --rr "$RR" --peer 198.18.1.2 >"$cli" 2>"$WORK/cli.err" ;;
    kernel.tap-conn)
        server "${NS2X[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --connections "$CONNS" --ip 198.18.1.2 || return
        "${NSX[@]}" "${PS[@]}" "${P[@]}" "${TA[@]}" timeout "$STEP_S" "$KTTCP" --kernel -t --connections "$CONNS" --peer 198.18.1.2 >"$cli" 2>"$WORK/cli.err" ;;
    # lwIP on the TAP, moat-ttcp --kernel at the other end. The kernel's
    # neighbour entry for .3 is flushed: lwIP's MAC is new every start.
    lwip.tap-up)
        "${NSX[@]}" ip neigh flush dev "$TAP" 2>/dev/null
        server "${NSX[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --ip 198.18.0.1 || return
        "${NSX[@]}" "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "${lw[@]}" --source "$(numfmt --from=iec "$BYTES")" --peer 198.18.0.1 >"$cli" 2>"$WORK/cli.err"
        res=srv ;;
    lwip.tap-down)
        "${NSX[@]}" ip neigh flush dev "$TAP" 2>/dev/null
        server "${NSX[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "${lw[@]}" --sink || return
        "${NSX[@]}" "${PS[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -t --peer 198.18.0.3 --bytes "$BYTES" >"$cli" 2>"$WORK/cli.err" ;;
    lwip.tap-rr)
        "${NSX[@]}" ip neigh flush dev "$TAP" 2>/dev/null
        server "${NSX[@]}" "${M[@]}" timeout "$STEP_S" "${lw[@]}" || return
        "${NSX[@]}" "${PS[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -t --rr "$RR" --peer 198.18.0.3 >"$cli" 2>"$WORK/cli.err"
        stop=kill ;;
    lwip.tap-conn)
        "${NSX[@]}" ip neigh flush dev "$TAP" 2>/dev/null
        server "${NSX[@]}" "${P[@]}" timeout "$STEP_S" "$KTTCP" --kernel -r --connections "$CONNS" --ip 198.18.0.1 || return
        "${NSX[@]}" "${PS[@]}" "${M[@]}" "${TA[@]}" timeout "$STEP_S" "${lw[@]}" --connect "$CONNS" --peer 198.18.0.1 >"$cli" 2>"$WORK/cli.err"
        res=srv ;;
    esac
    server_done $stop
    rm -f "$wire"
    [ "$res" = srv ] && cli="$WORK/srv.out"
    grep '^ttcp:' "$cli" | tail -1
    grep -q '^ttcp:' "$cli" || echo "bench: $c [${C_LABEL[$i]}] failed: $(tail -2 "$WORK/cli.err" | tr '\n' ' ')" >&2
    # (lwIP's rr echo is stopped by a signal: no CPU figure for it.)
    if [ ${#TA[@]} -gt 0 ]; then
        if [[ $c == wire-* ]]; then cpu_of "$WORK/cpu.a" "$WORK/cpu.b" >"$WORK/cpu.s"
        else cpu_of "$WORK/cpu.a" >"$WORK/cpu.s"; fi
    fi
}

# ------------------------------------------------------------- runs
echo "bench: $RUNS runs, cases: ${CASE_LIST[*]}; columns: ${C_LABEL[*]}; bulk $BYTES, rr $RR, conns $CONNS"
echo "bench: results in $OUT"
for r in $(seq 1 "$RUNS"); do
    for c in "${CASE_LIST[@]}"; do
        for i in "${!COLS[@]}"; do
            line=$(run_case "$c" "$i")
            if [ "$line" = n/a ]; then
                echo n/a >"$OUT/raw/$c.${C_LABEL[$i]}.na"
                continue
            fi
            v=$(field "$line" "$(case_key "$c")")
            [ -n "$v" ] && echo "$v" >>"$OUT/raw/$c.${C_LABEL[$i]}"
            cpu=""
            if [ -n "$v" ] && [ -s "$WORK/cpu.s" ]; then
                # CPU seconds per 10^9 bytes of payload moved, or CPU
                # microseconds per round trip / per connection.
                case $c in
                *-rr) cpu=$(awk -v s="$(cat "$WORK/cpu.s")" -v n="$RR" 'BEGIN { printf "%.1f", s * 1e6 / n }') ;;
                *-conn) cpu=$(awk -v s="$(cat "$WORK/cpu.s")" -v n="$CONNS" 'BEGIN { printf "%.1f", s * 1e6 / n }') ;;
                *) cpu=$(awk -v s="$(cat "$WORK/cpu.s")" -v b="$(numfmt --from=iec "$BYTES")" 'BEGIN { printf "%.3f", s / (b / 1e9) }') ;;
                esac
                echo "$cpu" >>"$OUT/raw/$c.${C_LABEL[$i]}.cpu"
            fi
            printf 'run %d %-10s %-16s %s%s\n' "$r" "$c" "${C_LABEL[$i]}" "${v:--}" "${cpu:+  (CPU $cpu $(cpu_unit "$c"))}"
        done
    done
done
if [ "$PERF" = 1 ]; then
    for c in "${CASE_LIST[@]}"; do
        for i in "${!COLS[@]}"; do
            pf="$OUT/raw/$c.${C_LABEL[$i]}.perf"
            line=$(run_case "$c" "$i" "$pf")
            [ -n "$line" ] && [ "$line" != n/a ] || continue
            cs=$(awk -F, '$3 == "context-switches" { print $1 }' "$pf")
            mig=$(awk -F, '$3 == "cpu-migrations" { print $1 }' "$pf")
            case $c in
            *-rr) ops=$RR ;;
            *-conn) ops=$CONNS ;;
            *) ops=$(numfmt --from=iec "$BYTES"); ops=$((ops / 1048576)) ;;
            esac
            echo "$cs $mig $ops" >"$OUT/raw/$c.${C_LABEL[$i]}.cs"
        done
    done
fi

# ------------------------------------------------------------- table
fmt() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else if (v >= 100) printf "%.0f", v; else printf "%.1f", v }'; }
{
    sizes=""
    for c in "${CASE_LIST[@]}"; do
        case $c in
        *-rr) [[ $sizes == *"rr "* ]] || sizes+=", rr $RR" ;;
        *-conn) [[ $sizes == *conns* ]] || sizes+=", conns $CONNS" ;;
        *) [[ $sizes == *bulk* ]] || sizes+=", bulk $BYTES" ;;
        esac
    done
    echo "moat backends, $RUNS runs each (median; ratio to ${C_LABEL[0]}, >1 is better)$sizes"
    echo "$(nproc) CPUs, $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-24s %-8s' case unit
    for i in "${!COLS[@]}"; do printf ' %18s' "${C_LABEL[$i]}"; done
    echo
} >"$OUT/table.txt"
echo "case,unit,column,median,ratio,cs_per_op,migrations_per_op,runs,cpu" >"$OUT/results.csv"
status=0
for c in "${CASE_LIST[@]}"; do
    unit=$(case_unit "$c")
    base=$(median <"$OUT/raw/$c.${C_LABEL[0]}" 2>/dev/null || echo -)
    line=$(printf '%-24s %-8s' "$(case_title "$c")" "$unit")
    csline=$(printf '%-24s %-8s' "  ctx switches/op" "")
    cpuline=$(printf '%-24s %-8s' "  CPU $(cpu_unit "$c")" "")
    for i in "${!COLS[@]}"; do
        f="$OUT/raw/$c.${C_LABEL[$i]}"
        if [ -e "$f.na" ]; then
            line+=$(printf ' %18s' "n/a"); csline+=$(printf ' %18s' ""); cpuline+=$(printf ' %18s' "")
            echo "$c,$unit,${C_LABEL[$i]},n/a,-,-,-,," >>"$OUT/results.csv"
            continue
        fi
        med=$(median <"$f" 2>/dev/null || echo -)
        [ "$med" = - ] && status=1
        cpu=-; [ -s "$f.cpu" ] && cpu=$(median <"$f.cpu")
        cpuline+=$(printf ' %18s' "$cpu")
        ratio=$(awk -v m="$med" -v b="$base" -v u="$unit" 'BEGIN {
            if (m == "-" || b == "-" || m == 0 || b == 0) { print "-"; exit }
            printf "%.2f", (u == "rtt_us") ? b / m : m / b }')
        line+=$(printf ' %18s' "$(fmt "$med") ($ratio)")
        cs=-; mig=-
        if [ -s "$f.cs" ]; then
            read -r a b2 ops <"$f.cs"
            cs=$(awk -v a="$a" -v o="$ops" 'BEGIN { if (a ~ /^[0-9]+$/ && o > 0) printf "%.1f", a / o; else print "-" }')
            mig=$(awk -v a="$b2" -v o="$ops" 'BEGIN { if (a ~ /^[0-9]+$/ && o > 0) printf "%.2f", a / o; else print "-" }')
        fi
        csline+=$(printf ' %18s' "$cs")
        runs=$(tr '\n' ' ' <"$f" 2>/dev/null)
        echo "$c,$unit,${C_LABEL[$i]},$med,$ratio,$cs,$mig,${runs% },${cpu/#-/}" >>"$OUT/results.csv"
    done
    echo "$line" >>"$OUT/table.txt"
    [ "$PERF" = 1 ] && echo "$csline" >>"$OUT/table.txt"
    [[ ${cpuline#*CPU} == *[0-9]* ]] && echo "$cpuline" >>"$OUT/table.txt"
done
grep -q "  CPU " "$OUT/table.txt" && echo "CPU: time on a CPU of the stack under test (moat: all its processes; wire: both ends), per 10^9 bytes (s/GB) or per round trip / connection (us/op), median" >>"$OUT/table.txt"
for i in "${!COLS[@]}"; do
    case ${C_KIND[$i]} in
    kernel) echo "${C_LABEL[$i]}: the kernel talking to itself over a veth pair (moat-ttcp --kernel at both ends), in place of moat" >>"$OUT/table.txt" ;;
    lwip) echo "${C_LABEL[$i]}: lwIP on the TAP in place of moat, the kernel at the other end (rr: the kernel is the client; up and conns: the kernel receiver's figure)" >>"$OUT/table.txt" ;;
    esac
done
[ "$PERF" = 1 ] && echo "ctx switches/op: system-wide context switches in one extra run (perf stat -a), per MiB (bulk), per round trip, per connection" >>"$OUT/table.txt"
echo
cat "$OUT/table.txt"

# ------------------------------------------------------------- plot
[ "$PLOT" = 1 ] || exit $status
PY=${PLOT_PY:-/usr/bin/python3}  # Debian's python, where python3-matplotlib lives
if ! "$PY" -c 'import matplotlib' 2>/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench: installing python3-matplotlib"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null 2>&1; }
fi
if "$PY" -c 'import matplotlib' 2>/dev/null; then
    "$PY" "$ROOT/bench/plot_backends.py" "$OUT/results.csv" "$OUT/plot.png" "$(head -1 "$OUT/table.txt")" &&
        echo "bench: plot $OUT/plot.png"
elif command -v gnuplot >/dev/null; then
    # Fallback: ratio to the baseline, one cluster per case.
    awk -F, 'NR > 1 { r[$1] = r[$1] " " ($5 == "-" ? 0 : $5); if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
             END { for (k = 1; k <= n; k++) print order[k] r[order[k]] }' "$OUT/results.csv" >"$WORK/plot.dat"
    {
        echo "set terminal png size 1000,500; set output '$OUT/plot.png'"
        echo "set style data histogram; set style histogram cluster gap 1; set style fill solid 0.8"
        echo "set ylabel 'ratio to ${C_LABEL[0]} (>1 better)'; set yrange [0:*]; set offsets 0, 0, graph 0.15, 0; set xtics rotate by -30"
        echo "set arrow from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 2"
        printf "plot '%s' using 2:xtic(1) title '%s'" "$WORK/plot.dat" "${C_LABEL[0]}"
        for i in "${!COLS[@]}"; do [ "$i" = 0 ] && continue; printf ", '' using %d title '%s'" $((i + 2)) "${C_LABEL[$i]}"; done
        echo
    } | gnuplot && echo "bench: plot $OUT/plot.png (gnuplot)"
else
    echo "bench: no matplotlib and no gnuplot: no plot"
fi
exit $status
