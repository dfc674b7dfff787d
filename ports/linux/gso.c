/* SPDX-License-Identifier: MIT */
/*
 * TCP/IPv4 GSO frames out of consecutive segments (see gso.h): who may
 * join, and what the finished frame looks like.
 */
#include "gso.h"

#include <string.h>

#include "core/bytes.h"
#include "core/cksum.h"
#include "core/hdr.h"

/* The Ethernet, IPv4 (no options, unfragmented) and TCP headers of a
 * whole frame @p f of @p len bytes; the TCP header in @p th. Returns the
 * headers' length, or 0 if the frame is not such a TCP/IPv4 segment with
 * a payload. Reads only inside the headers; the IP checksum is not ours
 * to judge here (the core wrote it, the kernel will check it). */
static size_t gso_headers(const uint8_t *f, size_t len, struct hdr_tcp *th)
{
    struct hdr_eth e;
    struct hdr_ip4 ip;
    if (hdr_eth_parse(f, len, &e) != HDR_OK || e.type != 0x0800u ||
        hdr_ip4_parse(f + 14, len - 14u, HDR_IP4_NO_CSUM, &ip) != HDR_OK ||
        ip.hlen != 20u || ip.proto != 6u || hdr_ip4_is_frag(&ip) || 14u + ip.tot_len != len ||
        hdr_tcp_parse(f + 34, ip.tot_len - 20u, th) != HDR_OK || 20u + th->hlen >= ip.tot_len)
        return 0;
    return 14u + 20u + th->hlen;
}

int moat_gso_parse(const uint8_t *f, size_t len, struct moat_gso_seg *sg)
{
    struct hdr_tcp th;
    size_t h = gso_headers(f, len, &th);
    if (h == 0)
        return 0;
    sg->flags = th.flags;
    if (!(sg->flags & 0x10u) || (sg->flags & ~0x18u))
        return 0;               /* ACK required; only ACK and PSH allowed */
    sg->hlen = h;
    sg->plen = len - h;
    sg->seq = th.seq;
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
        hdr_ip4_refit(ip, (uint16_t)tot, rd16(ip + 6));
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
    struct hdr_tcp th;
    if (gso_size == 0 || len > 14u + MOAT_GSO_IP_MAX)
        return 0;
    return gso_headers(f, len, &th);
}
