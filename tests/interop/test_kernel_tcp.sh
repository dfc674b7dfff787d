#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: moat's TCP against the Linux kernel's, through a TAP device.
#
#   network namespace moat-tcp-$$ (made and deleted by this script)
#   +-------------------------------------------------------------------+
#   |  Linux kernel stack                   moat programs, one at a time |
#   |  socat, curl, python3                 on the same TAP device:      |
#   |       |                                 moat-echo   192.0.2.2      |
#   |  mt$$: 192.0.2.1/24 <== TAP device ==>  moat-httpd  192.0.2.3      |
#   |                                         moat-ttcp   192.0.2.4      |
#   +-------------------------------------------------------------------+
#
# Checks: 64 MiB through moat-echo and back (sha256 both ways), 32
# concurrent echo connections, 1000 connections opened and closed one
# after another by a kernel client; a 16 MiB file from moat-httpd with curl
# (sha256), keep-alive reuse, HEAD, 404, path traversal, 400 on garbage;
# moat-ttcp sending 16 MiB to a kernel sink, receiving 16 MiB from a kernel
# sender, and 1000 one-byte round trips against a kernel echo server.
# Every program must exit 0 on SIGTERM. Loss: test_kernel_tcp_loss.sh.
#
# Skips (exit 77) when TCP is not in this build yet: moat-echo says so.
# usage: bash test_kernel_tcp.sh BUILD_DIR    (root; exit 77 = skipped)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

it_need socat curl sha256sum python3 ss
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR"; exit 2; }
it_setup "$1" tcp
KIP=192.0.2.1
echo "namespace $IT_NS, TAP $IT_TAP, build $IT_BUILD"

# wait_listen PORT: bounded wait until a kernel program listens on PORT.
wait_listen() {
    for _ in $(seq 1 100); do
        it_in_ns ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

# ---------------------------------------------------------------- moat-echo
it_start_echo --ip 192.0.2.2/24
it_need_tcp_echo
it_result "moat-echo starts" 1 "ready, TCP listening on port 7"

head -c 64M /dev/urandom >"$IT_WORK/big.in"
t0=$(date +%s.%N)
it_in_ns timeout 180 socat -b 131072 -T 60 - TCP:192.0.2.2:7 \
    <"$IT_WORK/big.in" >"$IT_WORK/big.out" 2>"$IT_WORK/socat.err"
rc=$?
dt=$(it_secs_since "$t0")
if [ "$(it_sha "$IT_WORK/big.in")" = "$(it_sha "$IT_WORK/big.out")" ]; then
    it_result "TCP echo 64 MiB (sha256)" 1 "identical, $(it_sha "$IT_WORK/big.out" | cut -c1-16)..., ${dt}s, $(it_mbits $((64 << 20)) "$dt") Mbit/s each way"
else
    it_result "TCP echo 64 MiB (sha256)" 0 "socat exit $rc, $(stat -c %s "$IT_WORK/big.out") bytes back"
    sed 's/^/    /' "$IT_WORK/socat.err"
fi
rm -f "$IT_WORK/big.in" "$IT_WORK/big.out"

cat >"$IT_WORK/conns.py" <<'PY'
import socket, sys, threading
mode, host = sys.argv[1], sys.argv[2]

def one(i, size):
    data = (b"moat %d " % i) * (size // 8 + 1)
    data = data[:size]
    s = socket.create_connection((host, 7), timeout=10)
    got = bytearray()
    try:
        off = 0
        while off < len(data):
            off += s.send(data[off:off + 16384])
            # read what is there so neither side's buffers fill up
            s.setblocking(False)
            try:
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    got += d
            except BlockingIOError:
                pass
            s.settimeout(10)
        s.shutdown(socket.SHUT_WR)
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    finally:
        s.close()
    return bytes(got) == data

if mode == "serial":
    ok = 0
    for i in range(1000):
        try:
            ok += 1 if one(i, 16) else 0
        except Exception as e:   # report which connection failed and how
            print("conn %d: %r" % (i, e), file=sys.stderr)
    print(ok)
else:
    res = []
    def worker(i):
        try:
            res.append(one(i, 256 * 1024))
        except Exception as e:
            print("conn %d: %s" % (i, e), file=sys.stderr)
            res.append(False)
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(sum(res))
PY
got=$(it_in_ns timeout 120 python3 "$IT_WORK/conns.py" parallel 192.0.2.2 2>"$IT_WORK/py.err")
it_result "TCP echo, 32 connections at once" "$([ "$got" = 32 ] && echo 1 || echo 0)" \
    "${got:-0} of 32 echoed 256 KiB identical"
[ "$got" = 32 ] || head -5 "$IT_WORK/py.err" | sed 's/^/    /'
t0=$(date +%s.%N)
got=$(it_in_ns timeout 180 python3 "$IT_WORK/conns.py" serial 192.0.2.2 2>"$IT_WORK/py.err")
it_result "TCP 1000 connections open/close" "$([ "$got" = 1000 ] && echo 1 || echo 0)" \
    "${got:-0} of 1000 echoed and closed, $(it_secs_since "$t0")s"
[ "$got" = 1000 ] || head -5 "$IT_WORK/py.err" | sed 's/^/    /'
it_stop echo
grep 'stats:' "$IT_WORK/echo.err" | sed 's/^/    /'

# ---------------------------------------------------------------- moat-httpd
mkdir -p "$IT_WORK/www/sub"
head -c 16M /dev/urandom >"$IT_WORK/www/big.bin"
echo "hello from moat-httpd" >"$IT_WORK/www/index.html"
echo "secret" >"$IT_WORK/outside.txt"
URL=http://192.0.2.3
if it_start httpd "$IT_BUILD/moat-httpd" --tap "$IT_TAP" --ip 192.0.2.3/24 --port 80 \
        --root "$IT_WORK/www"; then
    t0=$(date +%s.%N)
    it_in_ns timeout 60 curl -sS -o "$IT_WORK/big.got" "$URL/big.bin" 2>"$IT_WORK/curl.err"
    dt=$(it_secs_since "$t0")
    if [ "$(it_sha "$IT_WORK/www/big.bin")" = "$(it_sha "$IT_WORK/big.got" 2>/dev/null)" ]; then
        it_result "HTTP GET 16 MiB (sha256)" 1 "identical, ${dt}s, $(it_mbits $((16 << 20)) "$dt") Mbit/s"
    else
        it_result "HTTP GET 16 MiB (sha256)" 0 "$(cat "$IT_WORK/curl.err")"
    fi
    # Two transfers on one curl command line: the second must reuse the connection.
    conns=$(it_in_ns timeout 30 curl -sS -o /dev/null -o /dev/null -w '%{num_connects} ' \
        "$URL/" "$URL/index.html" 2>&1)
    it_result "HTTP keep-alive" "$([ "$conns" = "1 0 " ] && echo 1 || echo 0)" \
        "new connections per request: $conns"
    head_out=$(it_in_ns timeout 30 curl -sS -I "$URL/big.bin" 2>&1 | tr -d '\r')
    it_result "HTTP HEAD" "$(printf '%s' "$head_out" | grep -qi '^content-length: 16777216$' && echo 1 || echo 0)" \
        "$(printf '%s' "$head_out" | head -1), $(printf '%s' "$head_out" | grep -i '^content-length')"
    code=$(it_in_ns timeout 30 curl -s -o /dev/null -w '%{http_code}' "$URL/no-such-file")
    it_result "HTTP 404" "$([ "$code" = 404 ] && echo 1 || echo 0)" "status $code"
    code=$(it_in_ns timeout 30 curl -s --path-as-is -o "$IT_WORK/trav.got" -w '%{http_code}' \
        "$URL/../outside.txt")
    it_result "HTTP no path traversal" \
        "$([ "$code" = 404 ] && ! grep -q secret "$IT_WORK/trav.got" && echo 1 || echo 0)" \
        "GET /../outside.txt: status $code"
    resp=$(printf 'THIS IS NOT HTTP\r\n\r\n' | it_in_ns timeout 10 socat -T 5 - TCP:192.0.2.3:80 | head -1 | tr -d '\r')
    it_result "HTTP 400 on a malformed request" "$(printf '%s' "$resp" | grep -q '^HTTP/1.1 400' && echo 1 || echo 0)" \
        "${resp:-no answer}"
    it_stop httpd
else
    it_result "moat-httpd starts" 0 "no 'ready' within 15 s"
fi

# ---------------------------------------------------------------- moat-ttcp
# moat-ttcp sends 16 MiB to a kernel sink (socat writing a file we measure).
it_in_ns timeout 120 socat -u TCP-LISTEN:5001,reuseaddr,bind=$KIP CREATE:"$IT_WORK/sink.bin" 2>/dev/null &
SINK=$!
IT_PIDS+=("$SINK")
if wait_listen 5001; then
    out=$(it_in_ns timeout 120 "$IT_BUILD/moat-ttcp" -t --tap "$IT_TAP" --ip 192.0.2.4/24 \
        --peer "$KIP" --bytes 16M 2>"$IT_WORK/ttcp.err" | tail -1)
    printf '%s' "$out" | grep -q '^ttcp: bytes=' || kill "$SINK" 2>/dev/null
    wait "$SINK"
    n=$(stat -c %s "$IT_WORK/sink.bin" 2>/dev/null || echo 0)
    it_result "moat-ttcp -t to kernel sink" \
        "$(printf '%s' "$out" | grep -q '^ttcp: bytes=16777216 ' && [ "$n" = 16777216 ] && echo 1 || echo 0)" \
        "${out:-no result line}; sink counted $n bytes"
else
    it_result "moat-ttcp -t to kernel sink" 0 "kernel sink did not listen"
fi

# moat-ttcp receives 16 MiB from a kernel sender.
if it_start ttcp_r "$IT_BUILD/moat-ttcp" -r --tap "$IT_TAP" --ip 192.0.2.4/24; then
    head -c 16M /dev/zero | it_in_ns timeout 120 socat -u -b 131072 - TCP:192.0.2.4:5001 2>"$IT_WORK/socat.err"
    it_reap ttcp_r 60; rc=$?
    out=$(tail -1 "$IT_WORK/ttcp_r.stdout" 2>/dev/null)
    it_result "moat-ttcp -r from kernel sender" \
        "$([ "$rc" = 0 ] && printf '%s' "$out" | grep -q '^ttcp: bytes=16777216 ' && echo 1 || echo 0)" \
        "${out:-no result line} (exit $rc)"
else
    it_result "moat-ttcp -r from kernel sender" 0 "no 'ready'"
fi

# moat-ttcp --rr against a kernel echo server (socat PIPE).
it_in_ns timeout 120 socat TCP-LISTEN:5002,reuseaddr,bind=$KIP PIPE 2>/dev/null &
ECHO=$!
IT_PIDS+=("$ECHO")
if wait_listen 5002; then
    out=$(it_in_ns timeout 120 "$IT_BUILD/moat-ttcp" -t --rr 1000 --tap "$IT_TAP" --ip 192.0.2.4/24 \
        --peer "$KIP" --port 5002 2>"$IT_WORK/ttcp.err" | tail -1)
    it_result "moat-ttcp --rr 1000 vs kernel echo" \
        "$(printf '%s' "$out" | grep -q '^ttcp: rr=1000 ' && echo 1 || echo 0)" "${out:-no result line}"
else
    it_result "moat-ttcp --rr 1000 vs kernel echo" 0 "kernel echo did not listen"
fi
kill "$ECHO" 2>/dev/null; wait "$ECHO" 2>/dev/null

it_summary
