#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the hand-made seeds of the program-style fuzz harnesses
(fuzz_proto, fuzz_tcp, fuzz_sockctl, fuzz_linkring) as
tests/fuzz/corpus/<harness>/seed_*.bin. Each seed walks one meaningful
path (a handshake with data and close, an ICMP error quoting a real
segment, fragments that reassemble, ...) so that the fuzzer starts deep;
the rest of each corpus is what scripts/fuzz.sh merged in. The record
formats are documented at the top of each harness. Re-run after changing
a harness's format:
    python3 tests/fuzz/make_seeds.py
"""
import os
import struct

R_MAC = bytes.fromhex("0200c0000202")
L_IP = bytes([192, 0, 2, 1])
R_IP = bytes([192, 0, 2, 2])
OPTS = (b"\x02\x04\x05\xb4" b"\x01\x01\x04\x02"
        b"\x01\x03\x03\x07")


def proto_rec(op, body):
    return struct.pack("!BH", op, len(body)) + body


def proto_tcp(flags, seq=0, ack=0, opts=b"", paylen=0, auto=True, peer=0):
    ctl = peer | (4 if auto else 0) | ((len(opts) // 2) << 3)
    return proto_rec(6, struct.pack("!BBHII", flags, ctl, 65535, seq, ack) + opts +
                     bytes([paylen]))


def proto_seeds():
    udp = struct.pack("!HHHH", 7, 5000, 8 + 12, 0) + b"fragmented!!"
    ip_opts = (bytes([0x46, 0, 0, 0]) + b"\0\0\0\0" + bytes([64, 17, 0, 0]) + R_IP + L_IP +
               b"\x07\x03\x04\x00" + struct.pack("!HHHH", 7, 5000, 12, 0) + b"opts")
    arp = (struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + R_MAC + R_IP + b"\0" * 6 + L_IP)
    return {
        "handshake_data_close": (
            proto_tcp(0x02, opts=OPTS) + proto_tcp(0x10) + proto_rec(7, b"") +
            proto_tcp(0x18, paylen=200) + proto_rec(7, b"") +
            proto_tcp(0x10, opts=b"\x01\x01\x05\x0a\0\0\0\0\0\0\0\x10") +
            proto_tcp(0x11) + proto_rec(0x17, b"")),
        "icmp_quotes_segment": (
            proto_tcp(0x02, opts=OPTS) +
            proto_rec(0x44, bytes([3, 4, 0, 0, 0, 0, 0x05, 0x78])) +
            proto_rec(0x44, bytes([3, 3, 0, 0, 0, 0, 0, 0]))),
        "icmp_echo": proto_rec(4, bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b"ping" * 8),
        "udp": proto_rec(0x85, struct.pack("!HHHH", 7, 5000, 0, 0) + b"datagram"),
        "arp": proto_rec(0xc1, arp),
        "ip_options": proto_rec(0x42, ip_opts),
        "fragments": (proto_rec(3, bytes([9, 17]) + struct.pack("!H", 0x2000) + udp[:16]) +
                      proto_rec(3, bytes([9, 17]) + struct.pack("!H", 2) + udp[16:])),
    }


def tcp_seeds():
    syn = bytes([0x00, 0x1f]) + struct.pack("!H", 1460) + bytes([7, 1])
    seg = lambda k, fl, ln, om=1: (bytes([0x03 | k << 4, fl, 0, 0]) +
                                   struct.pack("!HHBHH", ln, 65535, om, 0, 0))
    passive = (syn + b"\x04\xff\xff" + b"\x07" + seg(0, 0x18, 1000) + b"\x06\x10\x00" +
               b"\x05\x20\x00" + b"\x04\xff\xff" + b"\x0b\x00\x64" + seg(0, 0x10, 0, 3) +
               b"\x4b\x00\x00" + b"\x0f" + b"\x49" + b"\x04\xff\xff" + b"\x0b\x10\x00")
    active = (b"\x11\x00" + b"\x12\x1f" + struct.pack("!H", 1400) + b"\x05" +
              b"\x14\xff\xff" + b"\x15\x40\x00" + b"\x14\x00\x00" + b"\x4b\x00\x00" +
              seg(1, 0x10, 0, 0x03) + b"\x1d\x01\x04\x05\x78" + b"\x15\x10\x00" +
              b"\x5b\x00\x00" + b"\x19")
    return {"passive_data_close": passive, "active_sack_pmtu": active}


def sockctl_seeds():
    # a request of type t (the harness maps byte b to type 1 + b % 13)
    req = lambda t, sel, body=b"": bytes([1, t - 1, sel]) + body.ljust(48, b"\0")
    peer = lambda kind, port, ln: bytes([8, kind, port, ln])
    return {
        "requests": (req(1, 0, struct.pack("<I", 1)) + req(2, 2, struct.pack("<IH", 0, 6000)) +
                     req(4, 1, struct.pack("<I", 4)) + req(10, 0) + req(11, 1) + req(12, 0)),
        "traffic_and_lies": (peer(0, 0, 0) + peer(1, 0, 50) + req(5, 1) + peer(2, 0, 40) +
                             bytes([0x89, 0, 0, 16, 0, 48]) + b"x" * 16 + bytes([4, 0, 2]) +
                             b"\0\0\x10\0" + bytes([10, 0]) + bytes([2, 0, 0x40]) +
                             bytes([11])),
    }


def linkring_seeds():
    # a UDP datagram to the harness's socket on port 5000 (UDP checksum 0)
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + 8 + 4, 0x4242, 0, 64, 17, 0) + R_IP + L_IP
    csum = sum(struct.unpack("!10H", ip))
    while csum >> 16:
        csum = (csum & 0xffff) + (csum >> 16)
    ip = ip[:10] + struct.pack("!H", ~csum & 0xffff) + ip[12:]
    udp = (bytes.fromhex("0200c0000201") + R_MAC + b"\x08\x00" + ip +
           struct.pack("!HHHH", 7, 5000, 8 + 4, 0) + b"skip")
    return {
        "frames_both_ways": (bytes([5, 0, 0, 5, 1, 1, 5, 2, 2, 5, 3, 3, 7, 15, 8, 9, 10]) +
                             bytes([12, 7, 4, 8, 10, 9])),
        "restart": bytes([5, 0, 1, 7, 4, 6, 0, 0, 0, 0, 0, 7, 1, 5, 1, 1, 7, 4, 8, 9, 10]),
        # a datagram written 10 bytes into rx buffer 0 (BUF), handed over
        # by a raw descriptor whose rsvd skips those 10 bytes (op 40: RXRAW
        # with bit 5), taken in and delivered, the buffers returned
        "rx_skip": (bytes([4, 0, 0, 10, len(udp)]) + udp +
                    bytes([40]) + struct.pack("!IHHI", 0, len(udp), 0, 10) +
                    bytes([7, 4, 8, 9, 10])),
    }


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for harness, seeds in (("fuzz_proto", proto_seeds()), ("fuzz_tcp", tcp_seeds()),
                           ("fuzz_sockctl", sockctl_seeds()),
                           ("fuzz_linkring", linkring_seeds())):
        out = os.path.join(root, harness)
        os.makedirs(out, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, "seed_%s.bin" % name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
