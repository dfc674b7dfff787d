#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of tests/fuzz/fuzz_input.c to tests/fuzz/corpus/fuzz_input/.

Each file is a sequence of records: u16 frame length, u16 flags+advance
(both big-endian), then the frame. The low 15 bits of the second word are a
clock advance in ms; the top bit asks the harness to recompute checksums
after mutation, and is set on every seed record (the fuzzer clears it to
exercise the checksum checks).

Files named regress_*.bin are inputs the fuzzer found that once broke the
stack; they are kept by hand (this script does not write or delete them). The frames are real, checksummed
traffic from the peer 192.0.2.2 (02:00:c0:00:02:02) to the stack at
192.0.2.1 (02:00:c0:00:02:01). Re-run after changing the harness setup:
    python3 tests/fuzz/make_corpus.py
"""
import os
import struct

L_MAC = bytes.fromhex("0200c0000201")
R_MAC = bytes.fromhex("0200c0000202")
BCAST = b"\xff" * 6
L_IP = bytes([192, 0, 2, 1])
R_IP = bytes([192, 0, 2, 2])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, typ, payload, src=R_MAC):
    return dst + src + struct.pack("!H", typ) + payload


def ip4(proto, payload, src=R_IP, dst=L_IP, ident=0x1234, frag=0, opts=b""):
    hl = 20 + len(opts)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | hl // 4, 0, hl + len(payload), ident,
                    frag, 64, proto, 0, src, dst) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def udp(sport, dport, data, src=R_IP, dst=L_IP):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(src + dst + struct.pack("!BBH", 0, 17, len(u)) + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def tcp(sport, dport, seq, ack, flags, opts=b"", data=b"", win=65535):
    off = (20 + len(opts)) // 4
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0, 0)
    t += opts + data
    c = csum(R_IP + L_IP + struct.pack("!BBH", 0, 6, len(t)) + t)
    return t[:16] + struct.pack("!H", c) + t[18:]


def icmp(typ, code, rest, body):
    m = struct.pack("!BBHI", typ, code, 0, rest) + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def rec(frame, adv_ms=0, fix=True):
    return struct.pack("!HH", len(frame), (0x8000 if fix else 0) | adv_ms) + frame


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_input")
    os.makedirs(out, exist_ok=True)
    data = bytes(range(0x30, 0x30 + 56))
    dgram = udp(7, 5000, data[:32])
    our = ip4(17, udp(5001, 7, b"0123456789", src=L_IP, dst=R_IP), src=L_IP, dst=R_IP)
    syn_opts = (b"\x02\x04\x05\xb4" b"\x04\x02" b"\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00"
                b"\x01" b"\x03\x03\x07")
    seeds = {
        "arp_request": rec(eth(BCAST, 0x0806, arp(1, R_MAC, R_IP, b"\0" * 6, L_IP))),
        "arp_reply": rec(eth(L_MAC, 0x0806, arp(2, bytes.fromhex("0200c0000209"),
                                                bytes([192, 0, 2, 9]), L_MAC, L_IP))),
        "icmp_echo": rec(eth(L_MAC, 0x0800, ip4(1, icmp(8, 0, 0x00770001, data)))),
        "udp_5000": rec(eth(L_MAC, 0x0800, ip4(17, udp(7, 5000, data[:16])))),
        "udp_connected": rec(eth(L_MAC, 0x0800, ip4(17, udp(7, 5001, b"hello")))),
        "udp_bcast": rec(eth(BCAST, 0x0800, ip4(17, udp(7, 5000, b"b"),
                                               dst=bytes([192, 0, 2, 255])))),
        "udp_no_port": rec(eth(L_MAC, 0x0800, ip4(17, udp(7, 9, b"x")))),
        "ip_options": rec(eth(L_MAC, 0x0800, ip4(17, udp(7, 5000, b"opt"),
                                                 opts=b"\x01\x01\x01\x00"))),
        "fragments": rec(eth(L_MAC, 0x0800, ip4(17, dgram[24:], ident=0xf00d, frag=3)))
        + rec(eth(L_MAC, 0x0800, ip4(17, dgram[:24], ident=0xf00d, frag=0x2000))),
        "frag_timeout": rec(eth(L_MAC, 0x0800, ip4(17, dgram[:24], ident=0xbeef,
                                                   frag=0x2000)), 40000)
        + rec(eth(L_MAC, 0x0800, ip4(1, icmp(8, 0, 1, b"after")))),
        "icmp_unreach": rec(eth(L_MAC, 0x0800, ip4(1, icmp(3, 3, 0, our[:28])))),
        "tcp_syn_80": rec(eth(L_MAC, 0x0800, ip4(6, tcp(40000, 80, 1000, 0, 0x02,
                                                        syn_opts))), 10)
        + rec(eth(L_MAC, 0x0800, ip4(6, tcp(40000, 80, 1001, 1, 0x10))), 3000)
        + rec(eth(L_MAC, 0x0800, ip4(6, tcp(40000, 80, 1001, 1, 0x18, data=b"GET /")))),
        "tcp_closed_port": rec(eth(L_MAC, 0x0800, ip4(6, tcp(40001, 81, 5, 0, 0x02)))),
        "proto_unreach": rec(eth(L_MAC, 0x0800, ip4(0x22, b"\x01"))),
        "bad_ip_cksum": rec(eth(L_MAC, 0x0800, ip4(17, udp(7, 5000, b"c"))[:10] + b"\0\0"
                                + ip4(17, udp(7, 5000, b"c"))[12:]), fix=False),
    }
    for name, blob in sorted(seeds.items()):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(blob)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
