/* SPDX-License-Identifier: MIT */
/*
 * ICMPv4 (RFC 792, RFC 1122 3.2.2): echo replies, error generation under
 * the never-send rules and a token-bucket rate limit, and delivery of
 * received errors to the transport that sent the quoted datagram.
 */
#include "core_priv.h"

static bool icmp_is_error_type(uint8_t t)
{
    return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}

static void icmp_echo_reply(struct mcore *c, const struct ip4_rx *rx,
                            const uint8_t *m, size_t len)
{
    struct ip4_tx tx;

    if (rx->to_bcast) {
        /* We do not answer broadcast pings (smurf amplification). */
        MCORE_DROP(c, ICMP_IGNORED);
        return;
    }
    if (ip4_tx_begin(c, &tx, rx->dst, rx->src, len) != 0)
        return;
    memcpy(tx.l4, m, len);
    tx.l4[0] = ICMP_ECHO_REPLY;
    tx.l4[1] = 0;
    wr16(tx.l4 + 2, 0);
    wr16(tx.l4 + 2, cksum_fold(cksum_add(0, tx.l4, len)));
    if (ip4_tx_end(c, &tx, IP_PROTO_ICMP, len, 0) == 0)
        c->stats.icmp_echo_replies++;
}

/* An error about one of our datagrams: find who sent it. */
static void icmp_error_in(struct mcore *c, const uint8_t *m, size_t len)
{
    struct ip4_quote q;
    const uint8_t *ih = m + 8;
    size_t ilen = len - 8;

    if (ilen < MCORE_IP_HLEN || (ih[0] >> 4) != 4)
        goto bad;
    size_t hl = (size_t)(ih[0] & 0x0f) * 4;
    if (hl < MCORE_IP_HLEN || ilen < hl + 8)
        goto bad;
    q.src = rd32(ih + 12);
    q.dst = rd32(ih + 16);
    q.proto = ih[9];
    q.l4 = ih + hl;
    q.l4_len = ilen - hl;
    if (!ip4_is_ours(c, q.src))
        goto bad;
    if (q.proto == IP_PROTO_UDP)
        udp_icmp_error(c, &q, m[0], m[1]);
    else if (q.proto == IP_PROTO_TCP)
        tcp_icmp_error(c, &q, m[0], m[1], rd16(m + 6));
    else
        MCORE_DROP(c, ICMP_NO_MATCH);
    return;
bad:
    MCORE_DROP(c, ICMP_MALFORMED);
}

void icmp_input(struct mcore *c, const struct ip4_rx *rx)
{
    const uint8_t *m = rx->dgram + rx->hdr_len;
    size_t len = rx->tot_len - rx->hdr_len;

    if (len < 8 || cksum_fold(cksum_add(0, m, len)) != 0) {
        MCORE_DROP(c, ICMP_MALFORMED);
        return;
    }
    switch (m[0]) {
    case ICMP_ECHO:
        icmp_echo_reply(c, rx, m, len);
        break;
    case ICMP_UNREACH:
    case ICMP_TIME_EXCEEDED:
    case 12: /* parameter problem */
        if (!rx->to_bcast)
            icmp_error_in(c, m, len);
        else
            MCORE_DROP(c, ICMP_IGNORED);
        break;
    default:
        MCORE_DROP(c, ICMP_IGNORED);   /* echo replies, timestamps...: nothing to do */
        break;
    }
}

bool icmp_bucket_take(struct mcore *c, struct icmp_state *b)
{
    uint32_t rate = c->cfg.icmp_err_per_s;
    if (rate == 0)
        return false;
    uint64_t elapsed = c->now - b->tokens_at;
    if (elapsed >= 1000000u / rate) {
        uint64_t add = elapsed * rate / 1000000u;
        uint64_t t = b->tokens + add;
        b->tokens = (uint32_t)(t > rate ? rate : t);
        b->tokens_at = c->now;
    }
    if (b->tokens == 0)
        return false;
    b->tokens--;
    return true;
}

void icmp_send_error(struct mcore *c, const struct ip4_rx *rx, uint8_t type,
                     uint8_t code, uint32_t rest)
{
    struct ip4_tx tx;

    /* RFC 1122 3.2.2: never about broadcasts, multicasts, non-first
     * fragments, datagrams from a non-unicast source, or ICMP errors. */
    if (rx->to_bcast || rx->src == 0 || ip4_is_bcast(c, rx->src) || (rx->src >> 28) >= 0xe)
        return;
    if (!rx->was_frag && (rd16(rx->dgram + 6) & 0x1fffu) != 0)
        return;
    if (rx->proto == IP_PROTO_ICMP) {
        size_t l = rx->tot_len - rx->hdr_len;
        if (l < 1 || icmp_is_error_type(rx->dgram[rx->hdr_len]))
            return;
    }
    if (!icmp_bucket_take(c, &c->icmp)) {
        MCORE_DROP(c, ICMP_RATELIMIT);
        return;
    }
    /* Quote the whole header (options too) and at most 8 bytes after it,
     * never more than the datagram had. */
    size_t extra = rx->tot_len - rx->hdr_len;
    if (extra > 8)
        extra = 8;
    size_t qlen = rx->hdr_len + extra;
    size_t len = 8 + qlen;
    if (ip4_tx_begin(c, &tx, ip4_is_ours(c, rx->dst) ? rx->dst : 0, rx->src, len) != 0)
        return;
    tx.l4[0] = type;
    tx.l4[1] = code;
    wr16(tx.l4 + 2, 0);
    wr32(tx.l4 + 4, rest);
    memcpy(tx.l4 + 8, rx->dgram, qlen);
    wr16(tx.l4 + 2, cksum_fold(cksum_add(0, tx.l4, len)));
    if (ip4_tx_end(c, &tx, IP_PROTO_ICMP, len, 0) == 0)
        c->stats.icmp_errors_out++;
}
