/* SPDX-License-Identifier: MIT */
/*
 * TCP/IPv4 GSO frames out of consecutive segments (see gso.h): who may
 * join, and what the finished frame looks like.
 */
#include "gso.h"

#include <string.h>

#include "core/bytes.h"
#include "core/cksum.h"

int moat_gso_parse(const uint8_t *f, size_t len, struct moat_gso_seg *sg)
{
    if (len < 14u + 20u + 20u || f[12] != 0x08 || f[13] != 0x00)
        return 0;
    const uint8_t *ip = f + 14;
    size_t tot = rd16(ip + 2);
    if (ip[0] != 0x45 || ip[9] != 6 || (rd16(ip + 6) & 0x3fffu) != 0 ||
        tot < 40u || 14u + tot != len)
        return 0;
    const uint8_t *th = ip + 20;
    size_t thl = (size_t)(th[12] >> 4) * 4u;
    if (thl < 20u || 20u + thl >= tot)
        return 0;
    sg->flags = th[13];
    if (!(sg->flags & 0x10u) || (sg->flags & ~0x18u))
        return 0;               /* ACK required; only ACK and PSH allowed */
    sg->hlen = 14u + 20u + thl;
    sg->plen = tot - 20u - thl;
    sg->seq = rd32(th + 4);
    return 1;
}

int moat_gso_append(struct moat_gso *g, const uint8_t *f, const struct moat_gso_seg *sg)
{
    const uint8_t *p = g->frame;
    if (g->len == 0 || g->closed || sg->hlen != g->hlen || sg->seq != g->next ||
        sg->plen > g->mss || g->len - 14u + sg->plen > MOAT_GSO_IP_MAX)
        return 0;
    if (memcmp(p, f, 14u + 2u) != 0 ||                 /* Ethernet, IP version/TOS */
        memcmp(p + 20, f + 20, 4) != 0 ||              /* IP flags, TTL, protocol */
        memcmp(p + 26, f + 26, 8) != 0 ||              /* IP addresses */
        memcmp(p + 34, f + 34, 4) != 0 ||              /* TCP ports */
        memcmp(p + 42, f + 42, 5) != 0 ||              /* ack number, data offset */
        memcmp(p + 48, f + 48, 2) != 0 ||              /* window */
        memcmp(p + 54, f + 54, sg->hlen - 54u) != 0)   /* options */
        return 0;
    /* The payload may already be in place: a caller that had the segment
     * written over the frame's tail (linkring.c, LR_OUT_APPEND). */
    if (f + sg->hlen != g->frame + g->len)
        memcpy(g->frame + g->len, f + sg->hlen, sg->plen);
    g->len += sg->plen;
    g->segs++;
    g->next += (uint32_t)sg->plen;
    if (sg->flags & 0x08u) {
        g->frame[14u + 20u + 13u] |= 0x08u;   /* PSH on the last */
        g->closed = 1;
    }
    if (sg->plen < g->mss)
        g->closed = 1;
    return 1;
}

void moat_gso_start(struct moat_gso *g, const uint8_t *f, size_t len,
                    const struct moat_gso_seg *sg)
{
    if (f != g->frame)
        memcpy(g->frame, f, len);   /* a caller may have built it in place */
    g->len = len;
    g->hlen = sg->hlen;
    g->segs = 1;
    g->mss = (uint16_t)sg->plen;
    g->next = sg->seq + (uint32_t)sg->plen;
    g->closed = (sg->flags & 0x08u) != 0;
}

size_t moat_gso_finish(struct moat_gso *g, uint16_t *gso_size)
{
    size_t len = g->len;
    *gso_size = 0;
    if (len == 0)
        return 0;
    if (g->segs > 1) {
        uint8_t *ip = g->frame + 14, *th = ip + 20;
        size_t tot = len - 14u;
        wr16(ip + 2, (uint16_t)tot);
        wr16(ip + 10, 0);
        wr16(ip + 10, cksum_fold(cksum_add(0, ip, 20)));
        /* CHECKSUM_PARTIAL convention: the field holds the folded
         * pseudo-header sum (not complemented), the device adds the rest. */
        uint32_t ps = cksum_add(6u + (uint32_t)(tot - 20u), ip + 12, 8);
        wr16(th + 16, (uint16_t)~cksum_fold(ps));   /* the sum itself, not its complement */
        *gso_size = g->mss;
    }
    g->len = 0;
    g->segs = 0;
    return len;
}

size_t moat_gso_check(const uint8_t *f, size_t len, uint16_t gso_size)
{
    if (gso_size == 0 || len < 14u + 20u + 20u || len > 14u + MOAT_GSO_IP_MAX ||
        f[12] != 0x08 || f[13] != 0x00)
        return 0;
    const uint8_t *ip = f + 14;
    if (ip[0] != 0x45 || ip[9] != 6 || 14u + rd16(ip + 2) != len)
        return 0;
    size_t thl = (size_t)(ip[20 + 12] >> 4) * 4u;
    if (thl < 20u || 14u + 20u + thl >= len)
        return 0;
    return 14u + 20u + thl;
}
