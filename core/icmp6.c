/* SPDX-License-Identifier: MIT */
/*
 * ICMPv6 (RFC 4443): echo replies, error generation under the 2.4 (e)
 * never-send rules and a token-bucket rate limit (2.4 (f)), and delivery
 * of received errors: Packet Too Big lowers the path MTU of the quoted
 * destination (RFC 8201), then the transport that sent the quoted datagram
 * hears of it. Neighbour discovery and MLD messages go to nd.c.
 */
#include "core_priv.h"

/* The most an error may be: the IPv6 minimum MTU (RFC 4443 2.4 (c)). */
#define ICMP6_ERR_MAX (IP6_MIN_MTU - MCORE_IP6_HLEN)

int icmp6_send(struct mcore *c, unsigned ifx, const uint8_t src[16], const uint8_t dst[16],
               const uint8_t *msg, size_t len, unsigned flags)
{
    struct ip6_tx tx;
    uint8_t s[16];
    int err;

    memcpy(s, src, 16);
    if (ip6_is_zero(src) && ip6_is_mcast(dst) && (flags & IP6_TX_HLIM255)) {
        /* DAD and early router solicitations come from the unspecified
         * address (RFC 4862 5.4.2): no route lookup picks a source. */
        uint8_t mac[6];
        uint8_t *fr;
        size_t cap;
        if (len + MCORE_IP6_HLEN > c->ifs6[ifx].mtu)
            return MOAT_E_MSGSIZE;
        if (eth_tx_acquire(c, ifx, &fr, &cap) != 0)
            return MOAT_E_NOBUFS;
        ip6_mcast_mac(dst, mac);
        hdr_eth_emit(fr, mac, c->ifs[ifx].mac, ETH_TYPE_IP6);
        uint8_t *h = fr + MCORE_ETH_HLEN;
        ip6_header(h, 0, len, IP6_PROTO_ICMP6, 255, s, dst);
        uint8_t *m = h + MCORE_IP6_HLEN;
        memcpy(m, msg, len);
        wr16(m + 2, 0);
        wr16(m + 2, cksum_fold(cksum_add(ip6_pseudo_sum(s, dst, (uint32_t)len, IP6_PROTO_ICMP6),
                                         m, len)));
        return eth_tx_commit(c, ifx, MCORE_ETH_HLEN + MCORE_IP6_HLEN + len);
    }
    if (ip6_is_zero(s) && (ip6_is_mcast(dst) || ip6_is_ll(dst)))
        ip6_ll_addr(c, ifx, s);   /* link scope on this interface */
    err = ip6_tx_begin(c, &tx, s, dst, len);
    if (err)
        return err;
    if (len > tx.l4_cap) {
        ip6_tx_cancel(c, &tx);
        return MOAT_E_MSGSIZE;
    }
    memcpy(tx.l4, msg, len);
    wr16(tx.l4 + 2, 0);
    wr16(tx.l4 + 2, cksum_fold(cksum_add(ip6_pseudo_sum(tx.src, tx.dst, (uint32_t)len,
                                                        IP6_PROTO_ICMP6), tx.l4, len)));
    return ip6_tx_end(c, &tx, IP6_PROTO_ICMP6, len, flags);
}

static void echo_reply(struct mcore *c, const struct ip6_rx *rx)
{
    struct ip6_tx tx;
    uint8_t src[16] = {0};

    /* Answer from the address asked; a multicast echo (ping ff02::1) is
     * answered from a unicast address of ours (RFC 4443 4.2). */
    if (!rx->to_mcast)
        memcpy(src, rx->dst, 16);
    else if (ip6_is_ll(rx->src))
        ip6_ll_addr(c, rx->ifx, src);
    if (ip6_tx_begin(c, &tx, src, rx->src, rx->l4_len) != 0)
        return;
    memcpy(tx.l4, rx->l4, rx->l4_len);
    tx.l4[0] = ICMP6_ECHO_REPLY;
    tx.l4[1] = 0;
    wr16(tx.l4 + 2, 0);
    wr16(tx.l4 + 2, cksum_fold(cksum_add(ip6_pseudo_sum(tx.src, tx.dst, (uint32_t)rx->l4_len,
                                                        IP6_PROTO_ICMP6), tx.l4, rx->l4_len)));
    if (ip6_tx_end(c, &tx, IP6_PROTO_ICMP6, rx->l4_len, 0) == 0)
        c->stats.icmp6_echo_replies++;
}

/* An error about one of our datagrams (quoted after the 8-byte header). */
static void error_in(struct mcore *c, const struct ip6_rx *rx)
{
    const uint8_t *m = rx->l4;
    const uint8_t *ih = m + 8;
    size_t ilen = rx->l4_len - 8;
    struct ip6_quote q;

    if (rx->to_mcast && m[0] != ICMP6_PKT_TOO_BIG)
        goto ignored;
    if (ilen < MCORE_IP6_HLEN + 8 || (ih[0] >> 4) != 6)
        goto bad;
    memcpy(q.src, ih + 8, 16);
    memcpy(q.dst, ih + 24, 16);
    if (!ip6_is_ours(c, q.src))
        goto bad;
    uint32_t param = rd32(m + 4);
    if (m[0] == ICMP6_PKT_TOO_BIG) {
        /* The path MTU first: whichever fragment was quoted, the
         * destination's path is what it is (RFC 8201 4). */
        ip6_pmtu_set(c, q.dst, param);
        param = ip6_pmtu_get(c, rx->ifx, q.dst);
    }
    /* Skip the extension headers we might have sent (we send none but
     * fragment headers; walk the general ones with bounds anyway). */
    uint8_t nh = ih[6];
    size_t off = MCORE_IP6_HLEN;
    for (unsigned n = 0; n < 8; n++) {
        if (nh == IP6_PROTO_FRAG) {
            if (off + 8 > ilen)
                goto bad;
            if (rd16(ih + off + 2) & 0xfff8u)
                goto ignored;   /* not the first fragment: no transport header */
            nh = ih[off];
            off += 8;
        } else if (nh == IP6_PROTO_HOPOPTS || nh == IP6_PROTO_DSTOPTS ||
                   nh == IP6_PROTO_ROUTING) {
            if (off + 8 > ilen)
                goto bad;
            size_t hl = ((size_t)ih[off + 1] + 1) * 8;
            nh = ih[off];
            off += hl;
        } else {
            break;
        }
    }
    if (off + 8 > ilen)
        goto bad;
    q.proto = nh;
    q.l4 = ih + off;
    q.l4_len = ilen - off;
    if (q.proto == IP_PROTO_TCP)
        tcp6_icmp_error(c, &q, m[0], m[1], param);
    else if (q.proto == IP_PROTO_UDP)
        udp6_icmp_error(c, &q, m[0], m[1], param);
    else if (m[0] != ICMP6_PKT_TOO_BIG)
        MCORE_DROP(c, ICMP_NO_MATCH);
    return;
bad:
    MCORE_DROP(c, ICMP6_MALFORMED);
    return;
ignored:
    MCORE_DROP(c, ICMP6_IGNORED);
}

void icmp6_input(struct mcore *c, const struct ip6_rx *rx)
{
    const uint8_t *m = rx->l4;
    size_t len = rx->l4_len;

    if (len < 4 || len > 0xffffffffu ||
        cksum_fold(cksum_add(ip6_pseudo_sum(rx->src, rx->dst, (uint32_t)len, IP6_PROTO_ICMP6),
                             m, len)) != 0) {
        MCORE_DROP(c, ICMP6_MALFORMED);
        return;
    }
    switch (m[0]) {
    case ICMP6_ECHO:
        if (len < 8) {
            MCORE_DROP(c, ICMP6_MALFORMED);
            break;
        }
        echo_reply(c, rx);
        break;
    case ICMP6_UNREACH:
    case ICMP6_PKT_TOO_BIG:
    case ICMP6_TIME_EXCEEDED:
    case ICMP6_PARAM_PROB:
        if (len < 8) {
            MCORE_DROP(c, ICMP6_MALFORMED);
            break;
        }
        error_in(c, rx);
        break;
    case 130: case 131: case 132: case 143:     /* MLD */
    case 133: case 134: case 135: case 136: case 137:  /* NDP */
        nd_input(c, rx);
        break;
    default:
        /* Echo replies, unknown informational types (RFC 4443 2.4 (b):
         * silently discarded), unknown errors. */
        MCORE_DROP(c, ICMP6_IGNORED);
        break;
    }
}

void icmp6_send_error(struct mcore *c, const struct ip6_rx *rx, uint8_t type, uint8_t code,
                      uint32_t param)
{
    /* RFC 4443 2.4 (e): not about an error or a redirect... */
    if (rx->proto == IP6_PROTO_ICMP6 && rx->l4 && rx->l4_len >= 1 &&
        (rx->l4[0] < 128 || rx->l4[0] == 137))
        return;
    /* ...nor to a multicast destination, except packet too big and an
     * unrecognised option that asked for it (parameter problem code 2)... */
    if (rx->to_mcast && type != ICMP6_PKT_TOO_BIG && !(type == ICMP6_PARAM_PROB && code == 2))
        return;
    /* ...nor to a source that does not name one node. */
    if (ip6_is_zero(rx->src) || ip6_is_mcast(rx->src))
        return;
    if (!icmp_bucket_take(c, &c->ip6.err_bucket)) {
        MCORE_DROP(c, ICMP6_RATELIMIT);
        return;
    }
    size_t q = rx->dgram_len;
    size_t lim = ICMP6_ERR_MAX;
    if (lim > MCORE_IP_MAX(&c->cfg) - MCORE_IP6_HLEN)
        lim = MCORE_IP_MAX(&c->cfg) - MCORE_IP6_HLEN;   /* a small ip_max_datagram */
    if (q > lim - 8)
        q = lim - 8;
    uint8_t src[16] = {0};
    if (!rx->to_mcast && ip6_is_ours(c, rx->dst))
        memcpy(src, rx->dst, 16);
    else if (ip6_is_ll(rx->src))
        ip6_ll_addr(c, rx->ifx, src);
    struct ip6_tx tx;
    if (ip6_tx_begin(c, &tx, src, rx->src, 8 + q) != 0)
        return;
    tx.l4[0] = type;
    tx.l4[1] = code;
    wr16(tx.l4 + 2, 0);
    wr32(tx.l4 + 4, param);
    memcpy(tx.l4 + 8, rx->dgram, q);
    wr16(tx.l4 + 2, cksum_fold(cksum_add(ip6_pseudo_sum(tx.src, tx.dst, (uint32_t)(8 + q),
                                                        IP6_PROTO_ICMP6), tx.l4, 8 + q)));
    if (ip6_tx_end(c, &tx, IP6_PROTO_ICMP6, 8 + q, 0) == 0)
        c->stats.icmp6_errors_out++;
}
