#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Many concurrent TCP connections against an echo server, from the kernel.

usage: scale_client.py HOST PORT N SIZE EXTRA [-- RR_COMMAND ...]

1. Opens N connections (at most 256 handshakes in flight), all kept open.
2. Sends SIZE distinct bytes on each and reads SIZE back (one epoll loop,
   up to ECHO_WINDOW echoes under way at once, every connection open all
   the time); checks each echo and a SHA-256 over all of it.
3. With all N still open (now idle) runs RR_COMMAND, if given, and prints
   each line of its output ("idle-rr: ...").
4. Opens EXTRA more connections, each echoing one byte: every one must end
   with an echo or an error (refused/reset) within 10 s; one that does
   neither is a hang.
Prints one "key=value" summary line per phase; exit 0 only if all N echoed
intact and no extra connection hung. Every wait is bounded.
"""
import errno
import hashlib
import selectors
import socket
import subprocess
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
N, SIZE, EXTRA = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
RR = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
INFLIGHT = 256
# Echoes under way at once. Every connection is open for the whole run; a
# burst of 10,000 x 4 KiB at one instant overflows the link buffers between
# the domains (LINK_TX_FULL) and turns into synchronized retransmission
# timeouts (docs/performance.md, "Scale"), which is not what this measures.
ECHO_WINDOW = 1000
OPEN_S, ECHO_S, EXTRA_S = 40.0, 30.0, 10.0


def payload(i):
    seed = hashlib.sha256(b"moat-scale %d" % i).digest()
    return (seed * (SIZE // len(seed) + 1))[:SIZE]


def open_many(n, limit_s):
    """Nonblocking connects, INFLIGHT at a time. Returns (socks, errors)."""
    sel = selectors.DefaultSelector()
    socks, errs, started, pending = [], {}, 0, 0
    end = time.monotonic() + limit_s
    while (started < n or pending) and time.monotonic() < end:
        while started < n and pending < INFLIGHT:
            s = socket.socket()
            s.setblocking(False)
            rc = s.connect_ex((HOST, PORT))
            if rc not in (0, errno.EINPROGRESS):
                errs[errno.errorcode.get(rc, rc)] = errs.get(errno.errorcode.get(rc, rc), 0) + 1
                s.close()
            else:
                sel.register(s, selectors.EVENT_WRITE)
                pending += 1
            started += 1
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if rc == 0:
                socks.append(s)
            else:
                name = errno.errorcode.get(rc, rc)
                errs[name] = errs.get(name, 0) + 1
                s.close()
    for key in list(sel.get_map().values()):
        errs["TIMEOUT"] = errs.get("TIMEOUT", 0) + 1
        key.fileobj.close()
    sel.close()
    return socks, errs


def echo_all(socks, limit_s):
    """Send payload(i) on socks[i] and read it back, at most ECHO_WINDOW
    echoes under way at once (all connections stay open throughout)."""
    sel = selectors.DefaultSelector()
    out = [memoryview(payload(i)) for i in range(len(socks))]
    got = [bytearray() for _ in socks]
    nxt = 0
    left, end, bad = len(socks), time.monotonic() + limit_s, 0
    while left and time.monotonic() < end:
        while nxt < len(socks) and len(sel.get_map()) < ECHO_WINDOW:
            sel.register(socks[nxt], selectors.EVENT_READ | selectors.EVENT_WRITE, nxt)
            nxt += 1
        for key, ev in sel.select(timeout=0.5):
            i, s = key.data, key.fileobj
            try:
                if ev & selectors.EVENT_WRITE and out[i]:
                    k = s.send(out[i])
                    out[i] = out[i][k:]
                    if not out[i]:
                        sel.modify(s, selectors.EVENT_READ, i)
                if ev & selectors.EVENT_READ:
                    d = s.recv(65536)
                    if not d:
                        raise ConnectionError("EOF")
                    got[i] += d
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                bad += 1
                sel.unregister(s)
                left -= 1
                continue
            if len(got[i]) >= SIZE and not out[i]:
                sel.unregister(s)
                left -= 1
    sel.close()
    h_in, h_out, ok = hashlib.sha256(), hashlib.sha256(), 0
    for i in range(len(socks)):
        p = payload(i)
        h_out.update(p)
        h_in.update(bytes(got[i]))
        ok += bytes(got[i]) == p
    return ok, bad, left, h_out.hexdigest(), h_in.hexdigest()


def extra_conns(n, limit_s):
    """n more connections, one byte each: echo, error or hang."""
    sel = selectors.DefaultSelector()
    res = {"echoed": 0, "refused": 0, "reset": 0, "other": 0}
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((HOST, PORT))
        sel.register(s, selectors.EVENT_WRITE, "connecting")
        socks.append(s)
    left, end = n, time.monotonic() + limit_s
    while left and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                if key.data == "connecting":
                    rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if rc:
                        raise OSError(rc, "connect")
                    s.send(b"x")
                    sel.modify(s, selectors.EVENT_READ, "waiting")
                    continue
                d = s.recv(16)
                if d != b"x":
                    raise OSError(errno.ECONNRESET if not d else 0, "echo")
                res["echoed"] += 1
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                if e.errno == errno.ECONNREFUSED:
                    res["refused"] += 1
                elif e.errno in (errno.ECONNRESET, errno.EPIPE):
                    res["reset"] += 1
                else:
                    res["other"] += 1
            sel.unregister(s)
            left -= 1
    res["hung"] = left
    sel.close()
    return socks, res


t0 = time.monotonic()
socks, errs = open_many(N, OPEN_S)
t1 = time.monotonic()
print("open: wanted=%d open=%d errors=%s seconds=%.2f" % (N, len(socks), errs or "none", t1 - t0),
      flush=True)
ok, bad, stuck, h_out, h_in = echo_all(socks, ECHO_S)
t2 = time.monotonic()
print("echo: connections=%d intact=%d failed=%d unfinished=%d bytes=%d seconds=%.2f "
      "sha256_sent=%s sha256_back=%s" % (len(socks), ok, bad, stuck, len(socks) * SIZE, t2 - t1,
                                         h_out, h_in), flush=True)
if RR:
    try:
        r = subprocess.run(RR, capture_output=True, text=True, timeout=60)
        for line in r.stdout.strip().splitlines() or ["(no output)"]:
            print("idle-rr: open=%d exit=%d %s" % (len(socks), r.returncode, line), flush=True)
    except subprocess.TimeoutExpired:
        print("idle-rr: open=%d timeout" % len(socks), flush=True)
xs, res = extra_conns(EXTRA, EXTRA_S) if EXTRA else ([], {"hung": 0})
print("extra: tried=%d %s" % (EXTRA, " ".join("%s=%d" % kv for kv in sorted(res.items()))),
      flush=True)
for s in socks + xs:
    s.close()
good = len(socks) == N and ok == N and h_in == h_out and res["hung"] == 0
sys.exit(0 if good else 1)
