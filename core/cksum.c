/* SPDX-License-Identifier: MIT */
/*
 * The internet checksum (RFC 1071): ones' complement sum of 16-bit words.
 * One implementation for IPv4, ICMP, UDP and TCP. Sums are accumulated in
 * 64 bits, folded to 16 at the end, so callers may add pieces
 * (pseudo-header, header, payload) of even length in any order; only the
 * last piece may be odd.
 */
#include "core_priv.h"

uint32_t cksum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = sum;

    while (len >= 8) {
        s += (uint64_t)rd32(p) + rd32(p + 4);
        p += 8;
        len -= 8;
    }
    while (len >= 2) {
        s += rd16(p);
        p += 2;
        len -= 2;
    }
    if (len)
        s += (uint32_t)p[0] << 8;  /* odd byte: padded with a zero byte */
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    /* Keep 32-bit partial sums small enough to add more pieces. */
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint32_t)s;
}

uint16_t cksum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t cksum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
    uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
                 proto + (len >> 16) + (len & 0xffff);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint32_t)s;
}
