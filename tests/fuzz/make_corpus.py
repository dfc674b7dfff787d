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


# IPv6 (core/ip6.c, nd.c): L's link-local address is the modified EUI-64 of
# its MAC; an RA for 2001:db8:1::/64 gives it a SLAAC address.
L_LL = bytes.fromhex("fe80000000000000" "0000c0fffe000201")
R_LL = bytes.fromhex("fe80000000000000" "0000000000000002")
L_G = bytes.fromhex("20010db800010000" "0000c0fffe000201")
R_G = bytes.fromhex("20010db800010000" "0000000000000002")
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
L_SN = bytes.fromhex("ff0200000000000000000001ff000201")


def mac6(group):
    return b"\x33\x33" + group[12:]


def ip6(nh, payload, src=R_LL, dst=L_LL, hlim=64):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, hlim) + src + dst + payload


def icmp6(typ, code, rest, body, src=R_LL, dst=L_LL):
    m = struct.pack("!BBHI", typ, code, 0, rest) + body
    c = csum(src + dst + struct.pack("!IxxxB", len(m), 58) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


def eth6(dst, nh, payload, src=R_LL, hlim=64, mac=None):
    return eth(mac or (mac6(dst) if dst[0] == 0xFF else L_MAC), 0x86DD,
               ip6(nh, payload, src, dst, hlim))


def ra(prefix_flags=0xC0, extra=b""):
    pio = struct.pack("!BBBBIII", 3, 4, 64, prefix_flags, 3600, 1800, 0) + L_G[:8] + b"\0" * 8
    opts = struct.pack("!BB", 1, 1) + R_MAC + pio + struct.pack("!BBHI", 5, 1, 0, 1400) + extra
    return eth6(ALL_NODES, 58, icmp6(134, 0, (64 << 24) | 1800, b"\0" * 8 + opts,
                                     dst=ALL_NODES), hlim=255)


def udp6(sport, dport, data, src=R_LL, dst=L_LL):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(src + dst + struct.pack("!IxxxB", len(u), 17) + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def tcp6(sport, dport, seq, ack, flags, opts=b"", data=b"", src=R_LL, dst=L_LL):
    t = tcp(sport, dport, seq, ack, flags, opts, data)
    t = t[:16] + b"\0\0" + t[18:]
    c = csum(src + dst + struct.pack("!IxxxB", len(t), 6) + t)
    return t[:16] + struct.pack("!H", c) + t[18:]


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
    # IPv6: the first record lets DAD finish (1.5 s) so later ones reach
    # usable addresses.
    echo6 = icmp6(128, 0, 0x00010001, data)
    big = icmp6(128, 0, 0x00020001, bytes(range(256)) * 8, dst=L_LL)
    fh = lambda off, m, ident: struct.pack("!BBHI", 58, 0, off | m, ident)
    ns = icmp6(135, 0, 0, L_LL + struct.pack("!BB", 1, 1) + R_MAC, dst=L_SN)
    seeds.update({
        "ip6_echo": rec(eth6(L_LL, 58, echo6), 1500) + rec(eth6(L_LL, 58, echo6))
        + rec(eth6(ALL_NODES, 58, icmp6(128, 0, 3, b"m", dst=ALL_NODES))),
        "ip6_ext_headers": rec(eth6(L_LL, 58, echo6), 1500)
        + rec(eth6(L_LL, 0, struct.pack("!BBBBBBBB", 60, 0, 5, 2, 0, 0, 1, 0)
                   + struct.pack("!BBBBI", 43, 0, 1, 4, 0)
                   + struct.pack("!BBBB", 58, 0, 0, 0) + b"\0" * 4 + echo6))
        + rec(eth6(L_LL, 43, struct.pack("!BBBB", 58, 2, 0, 1) + b"\0" * 20 + echo6))
        + rec(eth6(L_LL, 60, struct.pack("!BBBB", 58, 0, 0x9E, 4) + b"\0" * 4 + echo6))
        + rec(eth6(L_LL, 0x8F, b"\0" * 16)),
        "ip6_fragments": rec(eth6(L_LL, 58, echo6), 1500)
        + rec(eth6(L_LL, 44, fh(1024, 0, 7) + big[1024:]))
        + rec(eth6(L_LL, 44, fh(0, 1, 7) + big[:1024]), 100)
        + rec(eth6(L_LL, 44, fh(0, 1, 8) + big[:1024]))
        + rec(eth6(L_LL, 44, fh(512, 1, 8) + big[512:1536]))
        + rec(eth6(L_LL, 44, fh(0, 1, 9) + big[:1000]), 40000),
        "ip6_nd": rec(eth6(L_SN, 58, ns, hlim=255), 1500)
        + rec(ra(), 1500)
        + rec(eth6(L_G, 58, icmp6(128, 0, 5, b"slaac", dst=L_G)))
        + rec(eth6(L_LL, 58, icmp6(136, 0, 0x60000000, R_LL[:0] + L_LL + struct.pack("!BB", 2, 1)
                                   + R_MAC), hlim=255))
        + rec(eth6(L_SN, 58, icmp6(135, 0, 0, L_LL + struct.pack("!BB", 1, 0) + R_MAC,
                                   dst=L_SN), hlim=255))
        + rec(ra(extra=struct.pack("!BB", 3, 9)), 100)
        + rec(eth6(L_SN, 58, icmp6(135, 0, 0, L_LL, src=b"\0" * 16, dst=L_SN),
                   src=b"\0" * 16, hlim=255), 60000),
        "ip6_mld_query": rec(eth6(L_LL, 58, echo6), 1500)
        + rec(eth6(ALL_NODES, 58, icmp6(130, 0, 1000 << 16, b"\0" * 16, dst=ALL_NODES),
                   hlim=1), 2000),
        "ip6_udp": rec(eth6(L_LL, 58, echo6), 1500)
        + rec(eth6(L_LL, 17, udp6(7, 5000, data[:16]))),
        # TCP over IPv6 to the dual-stack listener: handshake, data, FIN,
        # then a segment to a closed port (a RST over IPv6).
        "ip6_tcp": rec(eth6(L_LL, 58, echo6), 1500)
        + rec(eth6(L_LL, 6, tcp6(40000, 80, 1000, 0, 0x02, syn_opts)), 10)
        + rec(eth6(L_LL, 6, tcp6(40000, 80, 1001, 1, 0x10)), 3000)
        + rec(eth6(L_LL, 6, tcp6(40000, 80, 1001, 1, 0x18, data=b"GET /")))
        + rec(eth6(L_LL, 6, tcp6(40000, 80, 1006, 1, 0x11)), 100)
        + rec(eth6(L_LL, 6, tcp6(40001, 81, 5, 0, 0x02))),
    })
    for name, blob in sorted(seeds.items()):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(blob)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
