/* SPDX-License-Identifier: MIT */
/*
 * The internet checksum (RFC 1071): ones' complement sum of 16-bit words.
 * One implementation for IPv4, ICMP, UDP and TCP. Sums are accumulated in
 * 64 bits, folded to 16 at the end, so callers may add pieces
 * (pseudo-header, header, payload) of even length in any order; only the
 * last piece may be odd.
 *
 * Speed matters here: every TCP segment is summed whole, once on the way
 * out and once on the way in (measured: the byte-wise big-endian loop was
 * half of a net domain's own CPU time in a bulk transfer over the
 * shared-memory wire). The bulk of the buffer is therefore summed in the
 * host's byte order, 8 bytes per load: RFC 1071 section 2(B), the sum is
 * independent of byte order, so summing byte-swapped words and swapping
 * the folded 16-bit result gives the same checksum. Each 64-bit load adds
 * its two 32-bit halves to a 64-bit accumulator, which cannot overflow
 * for any buffer shorter than 2^34 bytes.
 */
#include "core_priv.h"

static inline uint64_t cksum_ld64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));       /* unaligned-safe; one load on hosts that allow it */
    return w;
}

static inline int cksum_host_is_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;                  /* folded to a constant by the compiler */
}

uint32_t cksum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = 0;                 /* host byte order */
    uint32_t r;

    while (len >= 32) {
        uint64_t a = cksum_ld64(p), b = cksum_ld64(p + 8);
        uint64_t c = cksum_ld64(p + 16), d = cksum_ld64(p + 24);
        s += (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32) +
             (c & 0xffffffffu) + (c >> 32) + (d & 0xffffffffu) + (d >> 32);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t a = cksum_ld64(p);
        s += (a & 0xffffffffu) + (a >> 32);
        p += 8;
        len -= 8;
    }
    while (len >= 2) {
        uint16_t w;
        memcpy(&w, p, sizeof(w));
        s += w;
        p += 2;
        len -= 2;
    }
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    r = (uint32_t)s;
    if (cksum_host_is_le())
        r = ((r & 0xffu) << 8) | (r >> 8);   /* back to network order */
    r += sum;
    if (len)
        r += (uint32_t)p[0] << 8;  /* odd byte: padded with a zero byte */
    /* Keep 32-bit partial sums small enough to add more pieces. */
    r = (r & 0xffff) + (r >> 16);
    r = (r & 0xffff) + (r >> 16);
    return r;
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
