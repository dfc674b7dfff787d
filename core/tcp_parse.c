/* SPDX-License-Identifier: MIT */
/*
 * TCP segment parsing: checksum (unless the link vouched for it), header
 * and option validation into a struct tcp_seg, for IPv4 and IPv6. The one
 * place that reads a TCP header from the wire; the rest of TCP input
 * (tcp_in.c, tcp_listen.c, tcp_rcv.c) works on the parsed segment.
 */
#include "tcp_priv.h"

/* The header and options of a segment of @p len bytes at @p h whose
 * checksum was checked; the caller fills the addresses. */
static int tcp_parse_l4(const uint8_t *h, size_t len, struct tcp_seg *sg);

int tcp_parse(struct mcore *c, const struct ip4_rx *rx, struct tcp_seg *sg)
{
    (void)c;
    if (rx->tot_len < rx->hdr_len)
        return MOAT_E_INVAL;
    const uint8_t *h = rx->dgram + rx->hdr_len;
    size_t len = rx->tot_len - rx->hdr_len;
    if (len < TCP_HLEN)
        return MOAT_E_INVAL;
    /* Skipped only when the link vouched for it (csum_ok, see
     * MOAT_LINK_RX_CSUM_OK). A segment may be longer than any MSS we
     * announced: a device with receive offload hands up coalesced
     * segments (GRO-style); nothing below assumes len <= MSS. */
    if (!rx->csum_ok) {
        if (rx->pay)    /* split input always has csum_ok (mcore_split_hlen) */
            return MOAT_E_INVAL;
        uint32_t sum = cksum_pseudo(rx->src, rx->dst, IP_PROTO_TCP, (uint32_t)len);
        if (cksum_fold(cksum_add(sum, h, len)) != 0)
            return MOAT_E_INVAL;
    }
    int err = tcp_parse_l4(h, len, sg);
    /* mcore_input_split: the payload stays in link memory; the only read
     * of it is tcp_rcv_data's copy (core/eth.c says why that is safe).
     * tcp_parse_l4 read only the header, which is in the private copy. */
    if (rx->pay)
        sg->data = rx->pay;
    sg->src = rx->src;
    sg->dst = rx->dst;
    sg->ip_ecn = rx->tos & 3u;
    return err;
}

/* An IPv6 segment: the checksum covers the IPv6 pseudo-header (RFC 8200
 * 8.1) and is never optional; the addresses enter as their folds. */
int tcp6_parse(struct mcore *c, const struct ip6_rx *rx, struct tcp_seg *sg)
{
    if (rx->l4_len < TCP_HLEN)
        return MOAT_E_INVAL;
    if (!rx->csum_ok) {
        uint32_t sum = ip6_pseudo_sum(rx->src, rx->dst, (uint32_t)rx->l4_len, IP_PROTO_TCP);
        if (cksum_fold(cksum_add(sum, rx->l4, rx->l4_len)) != 0)
            return MOAT_E_INVAL;
    }
    int err = tcp_parse_l4(rx->l4, rx->l4_len, sg);
    sg->v6 = 1;
    sg->ifx = rx->ifx;
    sg->src6 = rx->src;
    sg->dst6 = rx->dst;
    sg->src = tcp_fold6(c, rx->src);
    sg->dst = tcp_fold6(c, rx->dst);
    sg->ip_ecn = rx->tclass & 3u;
    return err;
}

static int tcp_parse_l4(const uint8_t *h, size_t len, struct tcp_seg *sg)
{
    memset(sg, 0, sizeof(*sg));
    if (len < TCP_HLEN)
        return MOAT_E_INVAL;
    unsigned hlen = (h[12] >> 4) * 4u;
    if (hlen < TCP_HLEN || hlen > len)
        return MOAT_E_INVAL;
    sg->sport = rd16(h);
    sg->dport = rd16(h + 2);
    sg->seq = rd32(h + 4);
    sg->ack = rd32(h + 8);
    sg->flags = h[13] & 0x3fu;
    sg->ecn_flags = h[13] & (TCP_ECE | TCP_CWR);   /* RFC 3168 (tcp_ecn.c) */
    sg->wnd = rd16(h + 14);
    sg->hlen = (uint8_t)hlen;
    sg->len = (uint32_t)(len - hlen);
    sg->data = h + hlen;
    sg->ws = TCP_WS_NONE;
    if (sg->sport == 0 || sg->dport == 0)
        return MOAT_E_INVAL;
    /* Options: a malformed one ends parsing (the rest is ignored), it
     * never reads past the header. */
    for (unsigned i = TCP_HLEN; i < hlen;) {
        uint8_t kind = h[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1u >= hlen)
            break;
        unsigned olen = h[i + 1];
        if (olen < 2 || i + olen > hlen)
            break;
        const uint8_t *o = h + i;
        switch (kind) {
        case 2:
            if (olen == 4 && (sg->flags & TCP_SYN))
                sg->mss = rd16(o + 2);
            break;
        case 3:
            if (olen == 3 && (sg->flags & TCP_SYN))
                sg->ws = o[2] > TCP_WS_MAX ? (uint8_t)TCP_WS_MAX : o[2]; /* RFC 7323 2.3 */
            break;
        case 4:
            if (olen == 2 && (sg->flags & TCP_SYN))
                sg->sack_ok = 1;
            break;
        case 5:
            if (olen >= 10 && (olen - 2u) % 8u == 0) {
                unsigned n = (olen - 2u) / 8u;
                if (n > 4)
                    n = 4;
                for (unsigned k = 0; k < n; k++) {
                    sg->sack[k].l = rd32(o + 2 + 8 * k);
                    sg->sack[k].r = rd32(o + 6 + 8 * k);
                }
                sg->n_sack = (uint8_t)n;
            }
            break;
        case 8:
            if (olen == 10) {
                sg->ts_ok = 1;
                sg->tsval = rd32(o + 2);
                sg->tsecr = rd32(o + 6);
            }
            break;
        default:
            break;
        }
        i += olen;
    }
    return 0;
}
