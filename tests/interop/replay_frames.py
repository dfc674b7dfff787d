# SPDX-License-Identifier: MIT
"""Write the frames of the fuzz_input seed corpus onto a TAP device.

usage: python3 replay_frames.py IFNAME CORPUS_DIR

Each corpus file holds records "u16 length (big-endian) | u16 word | frame"
(tests/fuzz/fuzz_input.c): the top bit of the word asks for the IPv4
header checksum and the ICMP/UDP/TCP checksum to be recomputed first (as
the harness does, so the malformed payloads get past the checksum checks),
the other 15 bits are a clock advance, ignored here. Frames are sent as
they are otherwise, through an AF_PACKET socket bound to IFNAME, so they
reach whatever is attached to the TAP (the board in test_mps2.sh); the
corpus addresses the stack as 02:00:c0:00:02:01 / 192.0.2.1. Frames
shorter than an Ethernet header are counted and skipped (the kernel
refuses them). A short pause between frames keeps a polled NIC's FIFO from
simply dropping most of them. Prints "sent=N skipped=M files=F".
"""
import os
import socket
import struct
import sys
import time

# The internet checksum (complemented) of the corpus generator.
sys.dont_write_bytecode = True   # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
from make_corpus import csum  # noqa: E402

MAX_FRAME = 1514


def fix_checksums(fr):
    """Recompute the IPv4 header and transport checksums in place."""
    if len(fr) < 34 or fr[12:14] != b"\x08\x00":
        return
    hl = (fr[14] & 15) * 4
    if hl < 20 or hl > len(fr) - 14:
        return
    h = 14
    fr[h + 10:h + 12] = b"\x00\x00"
    fr[h + 10:h + 12] = struct.pack("!H", csum(bytes(fr[h:h + hl])))
    tot = struct.unpack("!H", fr[h + 2:h + 4])[0]
    frag = struct.unpack("!H", fr[h + 6:h + 8])[0] & 0x3FFF
    if tot < hl or tot > len(fr) - 14 or frag:
        return
    l4, n, proto = h + hl, tot - hl, fr[h + 9]

    def pseudo(length):
        return bytes(fr[h + 12:h + 20]) + struct.pack("!BBH", 0, proto, length)

    if proto == 1 and n >= 4:
        fr[l4 + 2:l4 + 4] = b"\x00\x00"
        fr[l4 + 2:l4 + 4] = struct.pack("!H", csum(bytes(fr[l4:l4 + n])))
    elif proto == 17 and n >= 8:
        ul = struct.unpack("!H", fr[l4 + 4:l4 + 6])[0]
        if 8 <= ul <= n:
            fr[l4 + 6:l4 + 8] = b"\x00\x00"
            c = csum(pseudo(ul) + bytes(fr[l4:l4 + ul]))
            fr[l4 + 6:l4 + 8] = struct.pack("!H", c or 0xFFFF)
    elif proto == 6 and n >= 20:
        fr[l4 + 16:l4 + 18] = b"\x00\x00"
        c = csum(pseudo(n) + bytes(fr[l4:l4 + n]))
        fr[l4 + 16:l4 + 18] = struct.pack("!H", c)


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off + 4 <= len(data):
        length, word = struct.unpack("!HH", data[off:off + 4])
        off += 4
        length = min(length, MAX_FRAME, len(data) - off)
        fr = bytearray(data[off:off + length])
        off += length
        if word & 0x8000:
            fix_checksums(fr)
        yield bytes(fr)


def main():
    ifname, corpus = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    sent = skipped = files = 0
    for name in sorted(os.listdir(corpus)):
        path = os.path.join(corpus, name)
        if not os.path.isfile(path):
            continue
        files += 1
        for fr in frames(path):
            if len(fr) < 14:
                skipped += 1
                continue
            try:
                s.send(fr)
                sent += 1
            except OSError:
                skipped += 1
            time.sleep(0.0002)
    print("sent=%d skipped=%d files=%d" % (sent, skipped, files))


if __name__ == "__main__":
    main()
