# SPDX-License-Identifier: MIT
"""Count IPv4 fragments per direction in a pcap file (Ethernet link type).

usage: python3 pcap_frags.py FILE OUR_IP
Prints "out=N in=M": fragments (MF set or offset > 0) sent from OUR_IP and
received by it. Used by the interop tests to check that a large ping was
fragmented both ways; written here because tcpdump is not installed.
"""
import socket
import struct
import sys


def main():
    path, ours = sys.argv[1], socket.inet_aton(sys.argv[2])
    out = inn = 0
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            print("out=0 in=0 (empty pcap)")
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            _, _, incl, _ = struct.unpack(endian + "IIII", rec)
            frame = f.read(incl)
            if len(frame) < 34 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            frag = struct.unpack("!H", ip[6:8])[0]
            if not (frag & 0x2000 or frag & 0x1FFF):
                continue
            if ip[12:16] == ours:
                out += 1
            elif ip[16:20] == ours:
                inn += 1
    print("out=%d in=%d" % (out, inn))


main()
