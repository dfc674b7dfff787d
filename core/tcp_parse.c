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
    struct hdr_tcp w;
    struct hdr_tcp_opts o;

    memset(sg, 0, sizeof(*sg));
    if (hdr_tcp_parse(h, len, &w) != HDR_OK)
        return MOAT_E_INVAL;
    sg->sport = w.sport;
    sg->dport = w.dport;
    sg->seq = w.seq;
    sg->ack = w.ack;
    sg->flags = w.flags & 0x3fu;
    sg->ecn_flags = w.flags & (TCP_ECE | TCP_CWR);   /* RFC 3168 (tcp_ecn.c) */
    sg->wnd = w.wnd;
    sg->hlen = w.hlen;
    sg->len = (uint32_t)(len - w.hlen);
    sg->data = h + w.hlen;
    sg->ws = TCP_WS_NONE;
    if (sg->sport == 0 || sg->dport == 0)
        return MOAT_E_INVAL;
    /* A malformed option ends the list or is skipped (o.bad): what was
     * read before it counts. MSS, window scale and SACK-permitted mean
     * something only on a SYN. */
    hdr_tcp_opts_parse(h, &w, &o);
    if (sg->flags & TCP_SYN) {
        if (o.has_mss)
            sg->mss = o.mss;
        if (o.has_ws)
            sg->ws = o.ws > TCP_WS_MAX ? (uint8_t)TCP_WS_MAX : o.ws;  /* RFC 7323 2.3 */
        sg->sack_ok = o.sack_ok;
    }
    for (unsigned k = 0; k < o.n_sack; k++) {
        sg->sack[k].l = o.sack[k].l;
        sg->sack[k].r = o.sack[k].r;
    }
    sg->n_sack = o.n_sack;
    if (o.ts_ok) {
        sg->ts_ok = 1;
        sg->tsval = o.tsval;
        sg->tsecr = o.tsecr;
    }
    return 0;
}
