/* SPDX-License-Identifier: MIT */
/*
 * TCP input: segment validation and option parsing, demultiplexing
 * (connections, TIME-WAIT, listeners), the passive open with its bounded
 * SYN queue and SYN cookies, and the RFC 9293 3.10.7 event processing for
 * every state, with the RFC 5961 (challenge ACKs, ACK range check), RFC
 * 7323 (PAWS, TS.Recent) and RFC 5927 (ICMP) hardening. Received data goes
 * straight into the socket's rx ring; out-of-order data is written past
 * the producer index and published when the hole fills.
 *
 * Does not build segments (tcp_out.c) or run timers (tcp_timer.c).
 */
#include "tcp_priv.h"

/* ---- parsing -------------------------------------------------------- */

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
static int tcp6_parse(struct mcore *c, const struct ip6_rx *rx, struct tcp_seg *sg)
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

/* ---- SYN queue and cookies --------------------------------------------- */

static struct tcp_syn *tcp_syn_find(struct mcore *c, const struct tcp_seg *sg)
{
    struct tcp_state *st = c->tcp;
    if (st->syn_used == 0)
        return NULL;
    for (uint32_t i = 0; i < st->n_syn; i++) {
        struct tcp_syn *q = &st->syn[i];
        if (q->used && q->rport == sg->sport && q->lport == sg->dport &&
            q->rip == sg->src && q->lip == sg->dst && q->v6 == sg->v6 &&
            (!q->v6 || (ip6_eq(q->rip6, sg->src6) && ip6_eq(q->lip6, sg->dst6))))
            return q;
    }
    return NULL;
}

static void tcp_syn_free(struct mcore *c, struct tcp_syn *q)
{
    if (q->used) {
        q->used = 0;
        c->tcp->syn_used--;
    }
}

static const uint16_t tcp_cookie_mss[8] = { 536, 1200, 1360, 1400, 1440, 1452, 1460, 8960 };
#define TCP_COOKIE_PERIOD_US (64ull * 1000000u)

/* The tuple of @p sg as hash input (tcp_tuple_bytes, from our side). */
static size_t tcp_seg_tuple(const struct tcp_seg *sg, uint8_t *b)
{
    struct tcp_ips ip = tcp_ips_seg(sg);
    return tcp_tuple_bytes(&ip, sg->dport, sg->sport, b);
}

static uint32_t tcp_cookie_hash(struct mcore *c, const struct tcp_seg *sg, uint32_t irs,
                                uint32_t tick, uint32_t opts)
{
    uint8_t b[TCP_TUPLE_MAX + 16u];
    size_t n = tcp_seg_tuple(sg, b);
    wr32(b + n, irs);
    wr32(b + n + 4, tick);
    wr32(b + n + 8, 0x636f6f6bu);
    wr32(b + n + 12, opts);
    return (uint32_t)tcp_siphash(c->tcp->ckey, b, n + 16u) & 0xffffffu;
}

/*
 * SYN cookies that keep the options.
 *
 * ISS = 5 bits of a 64 s clock | 3 bits of MSS class | 24 bits of keyed
 * hash over the 4-tuple, the peer's ISN, the clock and the option bits.
 *
 * The option bits travel in our TSval, so only a peer that offered
 * timestamps gets them back (a peer without timestamps gets MSS only, as
 * before): the low TCP_CK_OPT_BITS bits of the SYN-ACK's TSval are
 *   bits 0-3  the peer's window shift (0..14), 15 = no window scaling
 *   bit 4     SACK permitted
 *   bit 5     always 1 (tells option bits from a clock that happens to be
 *             all zeros there)
 * and the rest is our TSval clock rounded down, never ahead of the clock
 * the connection uses later (so the peer's PAWS check does not reject
 * our next segments). The peer echoes it in TSecr of the completing ACK;
 * the option bits are part of the hash, so a peer cannot change them
 * between SYN and ACK. The window shift we announce is a function of the
 * ring size (tcp_pick_wscale), the same at SYN and ACK; the TSval offset
 * is a keyed function of the 4-tuple so it need not be stored either.
 */
#define TCP_CK_OPT_BITS 6u
#define TCP_CK_OPT_MASK ((1u << TCP_CK_OPT_BITS) - 1u)
#define TCP_CK_WS_NONE  15u
#define TCP_CK_SACK     (1u << 4)
#define TCP_CK_VALID    (1u << 5)
#define TCP_CK_NO_TS    0xffffffffu   /* hash input of a cookie without options */

static uint32_t tcp_cookie_ts_off(struct mcore *c, const struct tcp_seg *sg)
{
    uint8_t b[TCP_TUPLE_MAX];
    size_t n = tcp_seg_tuple(sg, b);
    return (uint32_t)(tcp_siphash(c->tcp->ckey, b, n) >> 32);
}

/* An embryo's addresses are those of the SYN (reversed). */
static void tcp_syn_addrs(struct tcp_syn *q, const struct tcp_seg *sg)
{
    q->lip = sg->dst;
    q->rip = sg->src;
    q->v6 = sg->v6;
    if (sg->v6) {
        memcpy(q->lip6, sg->dst6, 16);
        memcpy(q->rip6, sg->src6, 16);
    }
}

static void tcp_send_cookie(struct mcore *c, const struct tcp_seg *sg, uint16_t our_mss,
                            uint8_t our_ws)
{
    uint32_t tick = (uint32_t)(c->now / TCP_COOKIE_PERIOD_US);
    uint16_t mss = sg->mss ? sg->mss : TCP_MSS_DEFAULT;
    if (mss > our_mss)
        mss = our_mss;
    unsigned k = 0;
    for (unsigned i = 0; i < 8; i++)
        if (tcp_cookie_mss[i] <= mss)
            k = i;
    uint32_t opts = TCP_CK_NO_TS;
    struct tcp_syn q;
    memset(&q, 0, sizeof(q));
    if (sg->ts_ok) {
        opts = TCP_CK_VALID | (sg->sack_ok ? TCP_CK_SACK : 0u) |
               (sg->ws != TCP_WS_NONE ? (uint32_t)sg->ws : TCP_CK_WS_NONE);
        uint32_t clock = (uint32_t)(c->now / 1000u) + tcp_cookie_ts_off(c, sg);
        uint32_t tsval = (clock & ~TCP_CK_OPT_MASK) | opts;
        if (TCP_SEQ_GT(tsval, clock))
            tsval -= TCP_CK_OPT_MASK + 1u;
        q.ts_ok = 1;
        q.sack_ok = sg->sack_ok;
        q.ws = sg->ws;
        q.ts_recent = sg->tsval;
        /* tcp_send_synack_q sends now_ms + ts_off */
        q.ts_off = tsval - (uint32_t)(c->now / 1000u);
    } else {
        q.ws = TCP_WS_NONE;
    }
    tcp_syn_addrs(&q, sg);
    q.lport = sg->dport;
    q.rport = sg->sport;
    q.irs = sg->seq;
    q.iss = ((tick & 0x1fu) << 27) | ((uint32_t)k << 24) |
            tcp_cookie_hash(c, sg, sg->seq, tick, opts);
    c->stats.tcp_syncookies_sent++;
    tcp_send_synack_q(c, &q, our_mss, our_ws);
}

/* The options a valid cookie ACK carries back (tcp_send_cookie). */
struct tcp_cookie_opts {
    uint16_t mss;
    uint8_t ws;                 /* TCP_WS_NONE: none */
    uint8_t sack_ok, ts_ok;
    uint32_t ts_off;
};

static int tcp_cookie_check(struct mcore *c, const struct tcp_seg *sg,
                            struct tcp_cookie_opts *out)
{
    uint32_t ck = sg->ack - 1u;
    uint32_t irs = sg->seq - 1u;
    uint32_t tick = (uint32_t)(c->now / TCP_COOKIE_PERIOD_US);
    uint32_t opts = TCP_CK_NO_TS;
    if (sg->ts_ok) {
        opts = sg->tsecr & TCP_CK_OPT_MASK;
        if (!(opts & TCP_CK_VALID))
            return 0;
    }
    for (uint32_t age = 0; age < 2; age++) {
        uint32_t t = tick - age;
        if ((t & 0x1fu) != (ck >> 27))
            continue;
        if (tcp_cookie_hash(c, sg, irs, t, opts) == (ck & 0xffffffu)) {
            memset(out, 0, sizeof(*out));
            out->mss = tcp_cookie_mss[(ck >> 24) & 7u];
            out->ws = TCP_WS_NONE;
            if (opts != TCP_CK_NO_TS) {
                uint32_t ws = opts & 15u;
                out->ws = ws == TCP_CK_WS_NONE ? TCP_WS_NONE
                          : (uint8_t)(ws > TCP_WS_MAX ? TCP_WS_MAX : ws);
                out->sack_ok = (opts & TCP_CK_SACK) != 0;
                out->ts_ok = 1;
                out->ts_off = tcp_cookie_ts_off(c, sg);
            }
            return 1;
        }
    }
    return 0;
}

/* ---- connection set-up helpers ------------------------------------------ */

static uint16_t tcp_clamp_mss(uint16_t peer, uint16_t ours)
{
    uint16_t m = peer ? peer : TCP_MSS_DEFAULT;
    if (m > ours)
        m = ours;
    if (m < TCP_MSS_MIN)
        m = TCP_MSS_MIN;
    return m;
}

static void tcp_init_cwnd(struct tcp_cb *t)
{
    /* RFC 6928 IW; RFC 5681 3.1: one segment if the SYN was lost. */
    if (t->flags & TF_SYN_RETX) {
        t->cwnd = t->mss;
    } else {
        uint32_t iw = TCP_IW_SEGS * t->mss;
        uint32_t cap = 14600u > 2u * t->mss ? 14600u : 2u * t->mss;
        t->cwnd = iw < cap ? iw : cap;
    }
}

struct tcp_child_params {
    uint32_t iss, irs, wnd, ts_recent, ts_off;
    uint16_t mss;
    uint8_t ws, sack_ok, ts_ok;
    uint8_t synack_retx;        /* our SYN-ACK was retransmitted */
};

static struct msock *tcp_child_new(struct mcore *c, struct msock *l, const struct tcp_seg *sg,
                                   const struct tcp_child_params *p)
{
    struct msock *ch = sock_alloc(c, MOAT_SOCK_STREAM);
    if (ch == NULL)
        return NULL;    /* every slot in use: the caller refuses */
    tcp_cb_reset(c, ch);
    struct tcp_cb *t = tcp_cb_of(c, ch);
    ch->lip = sg->dst;
    ch->lport = sg->dport;
    ch->rip = sg->src;
    ch->rport = sg->sport;
    /* An IPv6 child (of a `::` or an IPv6 listener); an IPv4 peer of a
     * dual-stack listener makes a plain IPv4 child (l6 = r6 = 0). */
    ch->l6 = ch->r6 = sg->v6;
    if (sg->v6) {
        memcpy(ch->lip6, sg->dst6, 16);
        memcpy(ch->rip6, sg->src6, 16);
        ch->rscope = ip6_is_ll(sg->src6) ? (uint8_t)(sg->ifx + 1u) : 0;
    }
    ch->bound = 1;
    ch->nodelay = l->nodelay;
    ch->keepalive = l->keepalive;
    ch->reuseaddr = l->reuseaddr;
    ch->linger_ms = l->linger_ms;
    ch->rcvbuf = l->rcvbuf;
    ch->sndbuf = l->sndbuf;
    t->cong = tcp_cb_of(c, l)->cong;    /* MOAT_OPT_TCP_CONG of the listener */
    tcp_cong_init(c, t);
    ch->buf_lock = l->buf_lock;
    t->iss = p->iss;
    t->snd_una = p->iss;
    t->snd_nxt = t->snd_max = p->iss + 1u;
    t->snd_data = p->iss + 1u;
    t->recover = p->iss;
    t->irs = p->irs;
    t->rcv_nxt = p->irs + 1u;
    uint32_t w0 = ch->rx.cap > 0xffffu ? 0xffffu : ch->rx.cap;
    t->rcv_adv = t->rcv_nxt + w0;
    t->last_ack_sent = t->rcv_nxt;
    struct tcp_ips ips = tcp_ips_sock(ch);
    t->adv_mss = tcp_route_mss(c, &ips);
    t->mss = tcp_clamp_mss(p->mss, t->adv_mss);
    t->rcv_mss = t->mss;
    if (p->ws != TCP_WS_NONE) {
        t->flags |= TF_WS;
        t->snd_wscale = p->ws;
        t->rcv_wscale = tcp_pick_wscale(c->env.layout.g.sock_rx_bytes);
    }
    if (p->sack_ok)
        t->flags |= TF_SACK;
    if (p->ts_ok) {
        t->flags |= TF_TS;
        t->ts_recent = p->ts_recent;
        t->ts_recent_t = c->now;
    }
    t->ts_off = p->ts_off;
    t->snd_wnd = p->wnd;    /* a SYN's window is never scaled */
    t->max_sndwnd = p->wnd;
    t->snd_wl1 = p->irs;
    t->snd_wl2 = p->iss;
    t->flags |= TF_PASSIVE;
    if (p->synack_retx)
        t->flags |= TF_SYN_RETX;    /* IW of one segment, RTO of 3 s */
    t->state = TCPS_SYN_RCVD;
    t->listener = sock_idx(c, l) + 1u;
    tcp_hash_add(c, ch);
    tcp_touch(c, ch);
    return ch;
}

static void tcp_accept_enqueue(struct mcore *c, struct msock *ch)
{
    struct tcp_cb *t = tcp_cb_of(c, ch);
    if (t->listener == 0)
        return;
    struct msock *l = &c->socks[t->listener - 1u];
    struct tcp_cb *lt = tcp_cb_of(c, l);
    uint32_t me = sock_idx(c, ch) + 1u;
    t->acc_next = 0;
    if (lt->acc_tail != 0)
        c->tcp->cbs[lt->acc_tail - 1u].acc_next = me;
    else
        lt->acc_head = me;
    lt->acc_tail = me;
    lt->acc_n++;
    sock_status(c, l, MOAT_SS_ACCEPTQ, 0);
    mcore_wake_app(c);
}

static void tcp_process(struct mcore *c, struct msock *s, const struct tcp_seg *sg);

static void tcp_listen_input(struct mcore *c, struct msock *l, const struct tcp_seg *sg)
{
    struct tcp_state *st = c->tcp;
    struct tcp_cb *lt = tcp_cb_of(c, l);
    struct tcp_syn *q = tcp_syn_find(c, sg);

    if (sg->flags & TCP_RST) {
        /* RST for an embryo (RFC 5961 3.2 applies to SYN-RECEIVED too):
         * exactly at RCV.NXT it releases it silently; elsewhere in the
         * window it gets a challenge ACK and changes nothing. */
        if (q != NULL && sg->seq == q->irs + 1u) {
            tcp_syn_free(c, q);
        } else if (q != NULL && TCP_SEQ_GT(sg->seq, q->irs + 1u) &&
                   TCP_SEQ_LT(sg->seq, q->irs + 1u + 0xffffu)) {
            c->stats.tcp_challenge_acks++;
            struct tcp_ips ips = tcp_ips_syn(q);
            tcp_send_raw(c, &ips, q->lport, q->rport, q->iss + 1u, q->irs + 1u, TCP_ACK, 0,
                         NULL, 0);
        }
        return;
    }
    if ((sg->flags & (TCP_SYN | TCP_ACK)) == TCP_ACK) {
        struct tcp_child_params p;
        memset(&p, 0, sizeof(p));
        if (q != NULL) {
            if (sg->ack != q->iss + 1u) {
                tcp_send_rst_for(c, sg);
                return;
            }
            uint32_t w0 = c->env.layout.g.sock_rx_bytes;
            if (w0 > 0xffffu)
                w0 = 0xffffu;
            if (sg->seq - (q->irs + 1u) >= w0) {
                /* Outside the window the SYN-ACK offered (a later data
                 * segment may legitimately come first: it is taken as
                 * out-of-order data once the child exists). */
                MCORE_DROP(c, TCP_OUT_OF_WINDOW);
                return;
            }
            p.iss = q->iss;
            p.irs = q->irs;
            p.wnd = q->wnd;
            p.mss = q->mss;
            p.ws = q->ws;
            p.sack_ok = q->sack_ok;
            p.ts_ok = q->ts_ok;
            p.ts_recent = q->ts_recent;
            p.ts_off = q->ts_off;
            p.synack_retx = q->retries > 0;
        } else {
            struct tcp_cookie_opts co;
            if (!tcp_cookie_check(c, sg, &co)) {
                MCORE_DROP(c, TCP_NO_PORT);
                tcp_send_rst_for(c, sg);
                return;
            }
            p.iss = sg->ack - 1u;
            p.irs = sg->seq - 1u;
            /* Not a SYN: the window field is already scaled. */
            p.wnd = co.ws != TCP_WS_NONE ? sg->wnd << co.ws : sg->wnd;
            p.mss = co.mss;
            p.ws = co.ws;
            p.sack_ok = co.sack_ok;
            p.ts_ok = co.ts_ok;
            p.ts_recent = sg->tsval;
            p.ts_off = co.ts_off;
        }
        if (lt->acc_n >= lt->backlog && (q != NULL || lt->acc_n >= 2u * lt->backlog)) {
            /* The application is behind. An embryo of the SYN queue
             * stays: its SYN-ACK is retransmitted and the peer's next ACK
             * completes it. A cookie connection has no second chance (the
             * cookie is checked against the ACK's sequence number, gone
             * once the peer sends data), so cookies may overfill the
             * queue up to twice the backlog (new SYNs are not admitted
             * while it is over), and past that the peer is told with a
             * RST rather than left on a connection nobody serves. */
            MCORE_DROP(c, TCP_BACKLOG);
            if (q == NULL)
                tcp_send_rst_for(c, sg);
            return;
        }
        struct msock *ch = tcp_child_new(c, l, sg, &p);
        if (ch == NULL) {
            /* No slot for the connection the peer believes is open: tell
             * it now (RST, it sees "connection reset") instead of letting
             * it wait on a socket nobody will ever serve. */
            MCORE_DROP(c, TCP_NO_SLOT);
            if (q != NULL)
                tcp_syn_free(c, q);
            tcp_send_rst_for(c, sg);
            return;
        }
        tcp_ecn_established(c, tcp_cb_of(c, ch), q != NULL && q->ecn_ok);
        tcp_process(c, ch, sg);
        struct tcp_cb *ct = tcp_cb_of(c, ch);
        if (ct->state == TCPS_SYN_RCVD) {
            /* The completing ACK was not acceptable after all (PAWS, ...):
             * forget the child, keep the embryo for the next try. */
            ct->listener = 0;
            tcp_release(c, ch);
        } else if (q != NULL) {
            tcp_syn_free(c, q);
        }
        return;
    }
    if ((sg->flags & (TCP_SYN | TCP_ACK)) != TCP_SYN) {
        if (sg->flags & TCP_ACK)
            tcp_send_rst_for(c, sg);  /* SYN-ACK to a listener */
        return;
    }
    if (sg->flags & TCP_FIN) {
        MCORE_DROP(c, TCP_MALFORMED);
        return;
    }
    struct tcp_ips ips = tcp_ips_seg(sg);
    uint16_t our_mss = tcp_route_mss(c, &ips);
    uint8_t our_ws = tcp_pick_wscale(c->env.layout.g.sock_rx_bytes);
    if (q != NULL) {
        if (q->irs != sg->seq) {
            /* A new attempt from the same port: start over. */
            q->irs = sg->seq;
            q->retries = 0;
        }
        /* Duplicate SYN: the same SYN-ACK again (RFC 9293 3.10.7.3). */
        tcp_send_synack_q(c, q, our_mss, our_ws);
        return;
    }
    if (lt->acc_n >= lt->backlog) {
        /* Accept queue full (the listen backlog): drop the SYN, the peer
         * retries (Linux does the same). */
        MCORE_DROP(c, TCP_BACKLOG);
        return;
    }
    if (c->sock_used >= c->n_socks) {
        /* Every slot in use: refuse at once (RST, the peer's connect
         * fails with "connection refused") rather than answer a
         * handshake that could only be reset later. */
        MCORE_DROP(c, TCP_NO_SLOT);
        tcp_send_rst_for(c, sg);
        return;
    }
    if (st->syn_used >= st->n_syn) {
        tcp_send_cookie(c, sg, our_mss, our_ws);
        return;
    }
    for (uint32_t i = 0; i < st->n_syn; i++) {
        if (st->syn[i].used)
            continue;
        q = &st->syn[i];
        memset(q, 0, sizeof(*q));
        q->used = 1;
        st->syn_used++;
        tcp_syn_addrs(q, sg);
        q->lport = sg->dport;
        q->rport = sg->sport;
        q->irs = sg->seq;
        q->iss = tcp_iss(c, &ips, sg->dport, sg->sport);
        q->wnd = sg->wnd;
        q->mss = sg->mss;
        q->ws = sg->ws;
        q->sack_ok = sg->sack_ok;
        q->ts_ok = sg->ts_ok;
        q->ecn_ok = (uint8_t)tcp_ecn_syn_wants(c, sg);
        q->ts_recent = sg->tsval;
        q->ts_off = mcore_rand32(c);
        q->listener = (uint16_t)sock_idx(c, l);
        q->due = c->now + (uint64_t)c->cfg.tcp_rto_init_ms * 1000u;
        tcp_send_synack_q(c, q, our_mss, our_ws);
        return;
    }
}

/* ---- TIME-WAIT ------------------------------------------------------------ */

static void tcp_tw_ack(struct mcore *c, const struct tcp_tw *w)
{
    uint8_t o[12];
    unsigned olen = 0;
    if (w->ts_ok) {
        o[0] = 1;
        o[1] = 1;
        o[2] = 8;
        o[3] = 10;
        wr32(o + 4, (uint32_t)(c->now / 1000u) + w->ts_off);
        wr32(o + 8, w->ts_recent);
        olen = 12;
    }
    struct tcp_ips ips = tcp_ips_tw(w);
    tcp_send_raw(c, &ips, w->lport, w->rport, w->snd_nxt, w->rcv_nxt, TCP_ACK, w->wnd, o,
                 olen);
}

static void tcp_tw_input(struct mcore *c, struct tcp_tw *w, const struct tcp_seg *sg)
{
    if (sg->flags & TCP_RST) {
        /* RFC 1337: a RST must not cut TIME-WAIT short (TIME-WAIT
         * assassination); it is dropped. */
        return;
    }
    if (sg->flags & TCP_SYN) {
        /* RFC 9293 3.10.7.4 / RFC 6191: a SYN above everything of the old
         * incarnation (and with a newer timestamp) may open a new one. */
        int newer = TCP_SEQ_GT(sg->seq, w->rcv_nxt) &&
                    (!w->ts_ok || !sg->ts_ok || TCP_SEQ_GT(sg->tsval, w->ts_recent));
        if (!(sg->flags & TCP_ACK) && newer) {
            struct tcp_ips ips = tcp_ips_seg(sg);
            struct msock *l = tcp_find_listener(c, &ips, sg->dport);
            if (l != NULL) {
                tcp_tw_release(c, w);
                tcp_listen_input(c, l, sg);
                return;
            }
        }
        /* Otherwise RFC 5961 4: a challenge ACK, TIME-WAIT unchanged. */
        c->stats.tcp_challenge_acks++;
        tcp_tw_ack(c, w);
        return;
    }
    if (!(sg->flags & TCP_ACK))
        return;
    if ((sg->flags & TCP_FIN) && sg->seq + sg->len + 1u == w->rcv_nxt) {
        /* A retransmitted FIN: our ACK was lost. ACK again and restart
         * the 2*MSL wait (RFC 9293 3.10.7.4). */
        tcp_tw_ack(c, w);
        tcp_tw_restart(c, w);
        return;
    }
    if (sg->len > 0 || (sg->flags & TCP_FIN))
        tcp_tw_ack(c, w);
}

/* ---- receiving data ---------------------------------------------------------- */

static void tcp_ooo_sum(struct mcore *c, struct tcp_cb *t)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < t->n_ooo; i++) {
        const struct tcp_range *e = tcp_ooo_at(c, t, i);
        n += e->r - e->l;
    }
    c->tcp->ooo_bytes = c->tcp->ooo_bytes - t->ooo_bytes + n;
    t->ooo_bytes = n;
}

/* Forget out-of-order ranges at or beyond @p seq (data after a FIN). */
static void tcp_ooo_cut(struct mcore *c, struct tcp_cb *t, uint32_t seq)
{
    unsigned j = 0;
    for (unsigned i = 0; i < t->n_ooo; i++) {
        struct tcp_range r = *tcp_ooo_at(c, t, i);
        if (TCP_SEQ_GEQ(r.l, seq))
            continue;
        if (TCP_SEQ_GT(r.r, seq))
            r.r = seq;
        *tcp_ooo_at(c, t, j++) = r;
    }
    t->n_ooo = (uint8_t)j;
    tcp_ooo_grow(c, t, j);
    tcp_ooo_sum(c, t);
}

static int tcp_ooo_apart(const struct tcp_range *e, uint32_t l, uint32_t r)
{
    return TCP_SEQ_LT(e->r, l) || TCP_SEQ_GT(e->l, r);
}

/* Record [l, r) as received out of order; it becomes the most recent
 * block (the others keep their recency order, RFC 2018 4). Ranges past
 * the TCB's own array live in a pool chunk (tcp_ooo_grow). Returns 0, or
 * -1 when no room is left; nothing changes then. */
static int tcp_ooo_add(struct mcore *c, struct tcp_cb *t, uint32_t l, uint32_t r)
{
    unsigned j = 0;
    for (unsigned i = 0; i < t->n_ooo; i++)
        j += tcp_ooo_apart(tcp_ooo_at(c, t, i), l, r) ? 1u : 0u;
    if (tcp_ooo_grow(c, t, j + 1u > t->n_ooo ? j + 1u : t->n_ooo) != 0)
        return -1;
    /* Merge the ranges [l, r) touches into it, keep the others in order
     * (in place: j never passes i), then shift them one place down. */
    j = 0;
    for (unsigned i = 0; i < t->n_ooo; i++) {
        struct tcp_range e = *tcp_ooo_at(c, t, i);
        if (tcp_ooo_apart(&e, l, r)) {
            *tcp_ooo_at(c, t, j++) = e;
        } else {
            if (TCP_SEQ_LT(e.l, l))
                l = e.l;
            if (TCP_SEQ_GT(e.r, r))
                r = e.r;
        }
    }
    for (unsigned k = j; k > 0; k--)
        *tcp_ooo_at(c, t, k) = *tcp_ooo_at(c, t, k - 1u);
    *tcp_ooo_at(c, t, 0) = (struct tcp_range){ l, r };
    t->n_ooo = (uint8_t)(j + 1u);
    tcp_ooo_grow(c, t, t->n_ooo);   /* may give the chunk back */
    tcp_ooo_sum(c, t);
    return 0;
}

/* The in-order edge moved to rcv_nxt: absorb ranges it reached (the rest
 * keep their recency order). Returns the new in-order end. */
static uint32_t tcp_ooo_absorb(struct mcore *c, struct tcp_cb *t, uint32_t edge)
{
    for (int again = 1; again;) {
        again = 0;
        unsigned j = 0;
        for (unsigned i = 0; i < t->n_ooo; i++) {
            struct tcp_range e = *tcp_ooo_at(c, t, i);
            if (TCP_SEQ_LEQ(e.l, edge)) {
                if (TCP_SEQ_GT(e.r, edge))
                    edge = e.r;
                again = 1;
            } else {
                *tcp_ooo_at(c, t, j++) = e;
            }
        }
        t->n_ooo = (uint8_t)j;
    }
    tcp_ooo_grow(c, t, t->n_ooo);
    tcp_ooo_sum(c, t);
    return edge;
}

static void tcp_fin_in_order(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    t->rcv_nxt++;
    t->flags |= TF_FIN_RCVD | TF_ACKNOW;
    t->flags &= ~(uint32_t)TF_FIN_OOO;
    tcp_ooo_clear(c, t);
    sock_status(c, s, MOAT_SS_RDHUP, 0);
    mcore_wake_app(c);
    switch (t->state) {
    case TCPS_SYN_RCVD:
    case TCPS_ESTABLISHED:
        t->state = TCPS_CLOSE_WAIT;
        break;
    case TCPS_FIN_WAIT_1:
        t->state = TCPS_CLOSING;
        break;
    case TCPS_FIN_WAIT_2:
        tcp_send_ack(c, s);
        tcp_enter_time_wait(c, s);
        break;
    default:
        break;
    }
}

/*
 * The ACK owed for an out-of-order segment. RFC 5681 4.2 asks for it at
 * once, and so it goes for the first TCP_DUPTHRESH segments past one
 * RCV.NXT (a sender without SACK counts them) and always without SACK.
 * Beyond that, with SACK, the ACK is compressed as Linux does: it waits
 * min(SRTT / 20, 1 ms) or until 44 segments wait, and then carries the
 * newest SACK blocks of all of them (each block a merge of what arrived).
 * On a path that reorders every other segment, one ACK per segment was
 * about as many ACKs as data segments, each a frame for the path and an
 * ACK for the peer to process, against Linux's half (measured on 20 ms +
 * 0..10 ms jitter each way: 12,000 pure ACKs per 16 MiB against 6,000).
 */
static void tcp_ooo_ack(struct mcore *c, struct tcp_cb *t)
{
    if (t->ooo_ack_nxt != t->rcv_nxt) {
        t->ooo_ack_nxt = t->rcv_nxt;
        t->ooo_dups = 0;
    }
    if (!(t->flags & TF_SACK) || t->ooo_dups < TCP_DUPTHRESH) {
        if (t->ooo_dups < 255u)
            t->ooo_dups++;
        t->flags |= TF_ACKNOW;
        return;
    }
    if (++t->ooo_comp >= TCP_SACK_COMP_MAX) {
        t->flags |= TF_ACKNOW;
        return;
    }
    uint32_t rtt = t->srtt != 0 ? t->srtt : t->rcv_rtt;
    uint32_t wait = rtt / TCP_SACK_COMP_DIV;
    if (wait > TCP_SACK_COMP_US)
        wait = TCP_SACK_COMP_US;
    uint64_t due = c->now + wait;
    if (t->t_delack == 0 || t->t_delack > due)
        t->t_delack = due;
    t->flags |= TF_DELACK;
}

static void tcp_rcv_data(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t seq = sg->seq;
    const uint8_t *data = sg->data;
    uint32_t len = sg->len;
    int fin = (sg->flags & TCP_FIN) != 0;
    int had_data = len > 0;

    if (sg->flags & TCP_SYN) {
        seq++;      /* SYN-ACK carrying data in SYN-RECEIVED: not expected */
    }
    /* Trim what we already have (RFC 9293 3.10.7.4, "trim to window"). */
    if (TCP_SEQ_LT(seq, t->rcv_nxt)) {
        uint32_t d = t->rcv_nxt - seq;
        /* RFC 2883 4.1.1: report the duplicate part in a D-SACK block. */
        if (len > 0)
            tcp_dsack_note(t, seq, d < len ? t->rcv_nxt : seq + len);
        if (d > len) {
            len = 0;
            fin = 0;
        } else {
            data += d;
            len -= d;
        }
        seq = t->rcv_nxt;
    }
    uint32_t raw = 0;
    if (moat_ring_space(&s->rx, &raw) != 0) {
        tcp_drop(c, s, MOAT_E_PEER);
        return;
    }
    uint32_t edge = t->rcv_adv;
    if (TCP_SEQ_GT(edge, t->rcv_nxt + raw))
        edge = t->rcv_nxt + raw;
    if (!TCP_SEQ_GT(edge, t->rcv_nxt))
        edge = t->rcv_nxt;
    if (TCP_SEQ_GT(seq + len, edge)) {
        len = TCP_SEQ_GT(edge, seq) ? edge - seq : 0;
        fin = 0;
    }
    if (t->flags & TF_FIN_OOO) {
        /* Nothing after the peer's FIN is ever delivered. */
        if (TCP_SEQ_GT(seq + len, t->rfin_seq))
            len = TCP_SEQ_GT(t->rfin_seq, seq) ? t->rfin_seq - seq : 0;
        if (fin && seq + len != t->rfin_seq) {
            if (seq == t->rcv_nxt) {
                /* An in-order FIN is definitive: the earlier out-of-order
                 * one, and anything queued past this one, was bogus. */
                t->flags &= ~(uint32_t)TF_FIN_OOO;
            } else {
                fin = 0;
            }
        }
    }
    if (len == 0 && !fin) {
        if (had_data)
            t->flags |= TF_ACKNOW;  /* duplicate or beyond the window */
        return;
    }
    if (seq == t->rcv_nxt) {
        int had_ooo = t->n_ooo > 0;
        if (len > 0)
            moat_ring_put(&s->rx, 0, data, len);
        if (fin)
            tcp_ooo_cut(c, t, seq + len);   /* nothing after a FIN counts */
        uint32_t end = tcp_ooo_absorb(c, t, seq + len);
        uint32_t adv = end - t->rcv_nxt;
        if (adv > 0) {
            moat_ring_publish(&s->rx, adv);
            t->rcv_nxt = end;
            mcore_sock_changed(c, s);
            tcp_wnd_rcv_data(c, s, sg);     /* receive-window autotuning */
        }
        if (len > t->rcv_mss)
            t->rcv_mss = (uint16_t)(len > t->adv_mss ? t->adv_mss : len);
        t->rcv_unacked += adv;
        if (had_ooo) {
            t->flags |= TF_ACKNOW;  /* filled (part of) a hole: ACK at once */
        } else if (t->rcv_unacked >= 2u * t->rcv_mss) {
            /* Every second full segment (RFC 9293 3.8.6.3, RFC 5681 4.2),
             * but sent once per input batch: the ACK for a burst goes out
             * when the network domain has read every frame that was
             * waiting (tcp_poll), like a host whose NIC coalesces
             * receives. One ACK instead of one per two segments saves a
             * device write each (measured: about half of the net domain's
             * time receiving from the kernel over a TAP went to ACK
             * writes; docs/performance.md). The stretch is bounded by the
             * batch and by TCP_ACK_STRETCH_DIV. */
            if (t->rcv_unacked >= tcp_rcv_limit(c, s) / TCP_ACK_STRETCH_DIV)
                t->flags |= TF_ACKNOW;
            else
                t->flags |= TF_ACKSOON;
        } else if (adv > 0 && t->t_delack == 0) {
            t->flags |= TF_DELACK;
            t->t_delack = c->now + (uint64_t)c->cfg.tcp_delack_ms * 1000u;
        }
        if (fin || ((t->flags & TF_FIN_OOO) && t->rcv_nxt == t->rfin_seq))
            tcp_fin_in_order(c, s);
        return;
    }
    /* Out of order: store past the producer index, track the range. An
     * immediate duplicate ACK (RFC 5681 4.2) when it is dropped, is a
     * duplicate (its D-SACK) or carries a FIN; else tcp_ooo_ack. */
    if (len > 0) {
        if (c->tcp->ooo_bytes + len > c->cfg.tcp_ooo_bytes) {
            MCORE_DROP(c, TCP_OOO_FULL);
            t->flags |= TF_ACKNOW;
            return;
        }
        for (unsigned i = 0; i < t->n_ooo; i++) {
            const struct tcp_range *e = tcp_ooo_at(c, t, i);
            if (TCP_SEQ_GEQ(seq, e->l) && TCP_SEQ_LEQ(seq + len, e->r)) {
                /* RFC 2883 4.1.2: a duplicate of out-of-order data; its
                 * block moves to the front (tcp_ooo_add) and follows the
                 * D-SACK block. */
                tcp_dsack_note(t, seq, seq + len);
                t->flags |= TF_ACKNOW;
                break;
            }
        }
        if (tcp_ooo_add(c, t, seq, seq + len) != 0) {
            MCORE_DROP(c, TCP_OOO_FULL);
            t->flags |= TF_ACKNOW;
            return;
        }
        moat_ring_put(&s->rx, seq - t->rcv_nxt, data, len);
    }
    if (fin && !(t->flags & TF_FIN_OOO)) {
        t->flags |= TF_FIN_OOO | TF_ACKNOW;
        t->rfin_seq = seq + len;
        tcp_ooo_cut(c, t, t->rfin_seq);
    }
    tcp_ooo_ack(c, t);
}

/* ---- SYN-SENT ------------------------------------------------------------- */

static void tcp_synsent_input(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    int ack_ok = 0;
    if (sg->flags & TCP_ACK) {
        if (TCP_SEQ_LEQ(sg->ack, t->iss) || TCP_SEQ_GT(sg->ack, t->snd_max)) {
            tcp_send_rst_for(c, sg);
            return;
        }
        ack_ok = 1;
    }
    if (sg->flags & TCP_RST) {
        if (ack_ok)
            tcp_drop(c, s, MOAT_E_CONNREFUSED);
        return;
    }
    if (!(sg->flags & TCP_SYN))
        return;
    t->irs = sg->seq;
    t->rcv_nxt = sg->seq + 1u;
    t->last_ack_sent = t->rcv_nxt;
    t->mss = tcp_clamp_mss(sg->mss, t->adv_mss);
    t->rcv_mss = t->mss;
    if (sg->ws != TCP_WS_NONE) {
        t->flags |= TF_WS;
        t->snd_wscale = sg->ws;
    } else {
        t->rcv_wscale = 0;
    }
    if (sg->sack_ok)
        t->flags |= TF_SACK;
    if (sg->ts_ok) {
        t->flags |= TF_TS;
        t->ts_recent = sg->tsval;
        t->ts_recent_t = c->now;
    }
    tcp_ecn_synack_in(c, t, sg);
    t->snd_wnd = sg->wnd;
    t->max_sndwnd = sg->wnd;
    t->snd_wl1 = sg->seq;
    t->snd_wl2 = sg->ack;
    if (ack_ok) {
        if (!(t->flags & TF_SYN_RETX)) {
            uint64_t r = c->now - t->rtt_t;
            tcp_rtt_sample(c, t, (uint32_t)(r > 0xffffffffu ? 0xffffffffu : r));
        }
        t->snd_una = sg->ack;
        t->t_rtx = 0;
        tcp_init_cwnd(t);
        if ((t->flags & TF_SYN_RETX) && t->rto < 3000000u)
            t->rto = 3000000u;  /* RFC 6298 5.7 */
        t->rcv_adv = t->rcv_nxt;
        tcp_established(c, s);
        t->flags |= TF_ACKNOW;
        tcp_output(c, s);
        return;
    }
    /* Simultaneous open (RFC 9293 3.5 figure 8). */
    t->state = TCPS_SYN_RCVD;
    t->rcv_adv = t->rcv_nxt;
    t->flags |= TF_ACKNOW;
    tcp_output(c, s);
    tcp_timer_rtx_arm(c, t);
}

/* ---- synchronized states --------------------------------------------------- */

static int tcp_acceptable(const struct tcp_cb *t, const struct tcp_seg *sg, uint32_t rwnd)
{
    uint32_t slen = sg->len + ((sg->flags & TCP_SYN) ? 1u : 0u) + ((sg->flags & TCP_FIN) ? 1u : 0u);
    uint32_t off = sg->seq - t->rcv_nxt;
    /* A pure ACK may sit up to one scale unit past the edge we track: the
     * announced window is rounded up (tcp_rcv_wnd_field) and the peer may
     * have sent into that rounding. Dropping its ACKs would stall us. */
    uint32_t slack = (t->flags & TF_WS) ? (1u << t->rcv_wscale) - 1u : 0u;
    if (slen == 0)
        return off <= rwnd + slack && (rwnd != 0 || off <= slack);
    if (rwnd == 0)
        return 0;
    uint32_t off_end = sg->seq + slen - 1u - t->rcv_nxt;
    return off < rwnd || off_end < rwnd;
}

/* RFC 7323 5.3 drops a segment whose TSval is older than TS.Recent, to
 * keep old duplicates of data out of the stream once sequence numbers wrap.
 * A pure ACK carries no data to protect, but every pure ACK updates
 * TS.Recent (its SEG.SEQ is RCV.NXT, at Last.ACK.sent, RFC 7323 4.3), so
 * on a path that reorders, an ACK overtaken by a later one fails the test
 * and its SACK and D-SACK blocks are lost (measured: thousands of such
 * drops per 16 MiB at 25 % reordering, and the undos they would have
 * allowed). RFC 7323 5.3 submits ACKs to the same test, to keep old
 * duplicate ACKs out, and itself names another way to do that (the data
 * sender checking the TSecr of ACKs). Here, a lagging ACK is accepted (a
 * deliberate departure from R1) only when it cannot be an old duplicate
 * that matters, that is when nothing in it could move the connection:
 *  - no data, no SYN or FIN (data keeps the full PAWS protection);
 *  - SEG.SEQ at or past RCV.NXT (and in the window: tcp_acceptable next),
 *    so it was sent after all we hold in sequence (an ACK overtaken by
 *    the peer's data sent after it has SEG.SEQ below RCV.NXT and stays
 *    dropped, as RFC 9293 3.10.7.4 drops any zero-length segment there;
 *    the data's ACK field is newer anyway);
 *  - SEG.ACK does not acknowledge anything new (at most SND.UNA), so it
 *    only adds SACK information, checked like any other;
 *  - its TSval lags TS.Recent by at most one retransmission timeout in
 *    milliseconds (RFC 7323 5.4: a TSval clock ticks at most once per
 *    millisecond), so only reordering within the current flight passes.
 * It updates neither TS.Recent (its TSval is older) nor the send window
 * (see the window update in tcp_process). */
static int tcp_paws_disordered_ack(const struct tcp_cb *t, const struct tcp_seg *sg)
{
    uint32_t lag = t->ts_recent - sg->tsval;
    uint32_t max_lag = t->rto / 1000u;
    return (sg->flags & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST)) == TCP_ACK &&
           sg->len == 0 && TCP_SEQ_GEQ(sg->seq, t->rcv_nxt) && TCP_SEQ_LEQ(sg->ack, t->snd_una) &&
           lag <= (max_lag > 0u ? max_lag : 1u);
}

/*
 * The ACK that answers a segment dropped as out of the window (RFC 9293
 * 3.10.7.4) or by PAWS (RFC 7323 5.3 R1). For one without data, SYN or
 * FIN, at most one per TCP_OOW_ACK_US, as Linux does (tcp_invalid_ratelimit,
 * which also keeps two stacks from answering each other's answers
 * forever): on a path that reorders, the peer's pure ACKs overtaken by its
 * own later data arrive below RCV.NXT and fail the test by the hundred per
 * second (measured on 20 ms + 0..10 ms jitter each way: 700 per 16 MiB,
 * every PAWS and all but a few out-of-window drops), and each answer was
 * one more frame on the path telling the peer nothing new. A keepalive
 * probe (SEG.SEQ = SND.NXT - 1) still gets its answer: probes come
 * seconds apart. A D-SACK to report goes regardless.
 */
static void tcp_oow_reply(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (sg->len == 0 && !(sg->flags & (TCP_SYN | TCP_FIN)) && !(t->rflags & RF_DSACK)) {
        if (t->t_oow_ack != 0 && c->now - t->t_oow_ack < TCP_OOW_ACK_US)
            return;
        t->t_oow_ack = c->now != 0 ? c->now : 1u;
    }
    t->flags |= TF_ACKNOW;
    tcp_output(c, s);
}

static void tcp_rst_in(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    switch (t->state) {
    case TCPS_SYN_RCVD:
        if (t->flags & TF_PASSIVE) {
            t->listener = 0;
            tcp_release(c, s);     /* the application never hears of it */
        } else {
            tcp_drop(c, s, MOAT_E_CONNREFUSED);
        }
        break;
    case TCPS_ESTABLISHED:
    case TCPS_FIN_WAIT_1:
    case TCPS_FIN_WAIT_2:
    case TCPS_CLOSE_WAIT:
        tcp_drop(c, s, MOAT_E_CONNRESET);
        break;
    default:
        tcp_drop(c, s, 0);
        break;
    }
}

static void tcp_process(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->state == TCPS_SYN_SENT) {
        tcp_synsent_input(c, s, sg);
        return;
    }
    struct tcp_seg strip;
    if (t->state == TCPS_SYN_RCVD && !(t->flags & TF_PASSIVE) &&
        (sg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK) &&
        sg->seq == t->irs && TCP_SEQ_LT(t->snd_una, sg->ack) &&
        TCP_SEQ_LEQ(sg->ack, t->snd_max)) {
        /* Simultaneous open, RFC 9293 figure 8 line 7: the peer's SYN-ACK
         * acknowledges our SYN; its SYN is the one we already hold. Go on
         * as with a plain ACK (answering with our SYN-ACK again would
         * ping-pong forever between two such stacks). */
        strip = *sg;
        strip.flags &= (uint8_t)~TCP_SYN;
        strip.seq = sg->seq + 1u;
        sg = &strip;
    }
    /* RFC 7323 5.3: PAWS, before anything else. */
    int disordered = 0;
    if ((t->flags & TF_TS) && !(sg->flags & TCP_RST)) {
        if (!sg->ts_ok) {
            /* RFC 7323 3.2: once negotiated, non-RST segments without
             * TSopt are dropped. */
            MCORE_DROP(c, TCP_PAWS);
            return;
        }
        if (TCP_SEQ_LT(sg->tsval, t->ts_recent) &&
            c->now - t->ts_recent_t < TCP_PAWS_IDLE_US) {
            if (tcp_paws_disordered_ack(t, sg)) {
                disordered = 1;
            } else {
                MCORE_DROP(c, TCP_PAWS);
                /* R1 answers with an ACK. When the segment repeats data
                 * we hold (the original of a segment we already took as
                 * a retransmission, delayed by reordering), the ACK
                 * carries it as a D-SACK block (RFC 2883 4.1.1) so the
                 * peer learns its retransmission was spurious and can
                 * undo. Only a range within one receive buffer below
                 * RCV.NXT qualifies; data elsewhere (a wrapped old
                 * duplicate in the window) is neither stored nor
                 * reported. */
                uint32_t back = t->rcv_nxt - sg->seq;
                if (sg->len > 0 && TCP_SEQ_LT(sg->seq, t->rcv_nxt) && back <= s->rx.cap)
                    tcp_dsack_note(t, sg->seq,
                                   back < sg->len ? t->rcv_nxt : sg->seq + sg->len);
                tcp_oow_reply(c, s, sg);
                return;
            }
        }
    }
    uint32_t rwnd = TCP_SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    int data_ok = 1;
    if (!tcp_acceptable(t, sg, rwnd)) {
        if (sg->flags & TCP_RST)
            return;
        uint32_t ahead = sg->seq - t->rcv_nxt;
        uint32_t slack = (t->flags & TF_WS) ? (1u << t->rcv_wscale) : 0u;
        if ((sg->flags & TCP_ACK) && !(sg->flags & TCP_SYN) &&
            ahead <= s->rx.cap + slack) {
            /* RFC 9293 3.10.7.4: a closed (or shrunk) window still takes
             * valid ACKs. The peer may have filled a right edge we have
             * since moved left (rounding to the scale unit, a smaller
             * buffer), so its ACKs sit past our edge; dropping them would
             * stall our sending for good. The data is dropped and answered
             * with an ACK; the ACK field is processed (and still checked
             * against RFC 5961 5.2 below). Nothing past any window we could
             * ever have offered (the ring) gets this allowance. */
            data_ok = 0;
            t->flags |= TF_ACKNOW;
        } else {
            MCORE_DROP(c, TCP_OUT_OF_WINDOW);
            /* RFC 2883 4.1.1: data we already have is reported in a
             * D-SACK block of the ACK that answers it. */
            if (sg->len > 0 && TCP_SEQ_LEQ(sg->seq + sg->len, t->rcv_nxt))
                tcp_dsack_note(t, sg->seq, sg->seq + sg->len);
            tcp_oow_reply(c, s, sg);
            return;
        }
    }
    t->t_last_rcv = c->now;
    if (s->keepalive && t->t_keep != 0)
        t->t_keep = c->now + (uint64_t)c->cfg.tcp_keepidle_ms * 1000u;
    /* RFC 5961 3.2: only an exact RST resets; an in-window one gets a
     * challenge ACK. */
    if (sg->flags & TCP_RST) {
        if (sg->seq == t->rcv_nxt)
            tcp_rst_in(c, s);
        else
            tcp_send_challenge_ack(c, s);
        return;
    }
    /* RFC 5961 4.2: any SYN here gets a challenge ACK. */
    if (sg->flags & TCP_SYN) {
        if (t->state == TCPS_SYN_RCVD && !(t->flags & TF_PASSIVE) && sg->seq == t->irs) {
            t->flags |= TF_ACKNOW;  /* the peer's SYN again: resend SYN-ACK */
            tcp_output(c, s);
            return;
        }
        tcp_send_challenge_ack(c, s);
        return;
    }
    if (!(sg->flags & TCP_ACK))
        return;
    /* TS.Recent (RFC 7323 4.3): from in-window segments at or left of
     * Last.ACK.sent. */
    if ((t->flags & TF_TS) && sg->ts_ok && TCP_SEQ_LEQ(sg->seq, t->last_ack_sent) &&
        TCP_SEQ_GEQ(sg->tsval, t->ts_recent)) {
        t->ts_recent = sg->tsval;
        t->ts_recent_t = c->now;
    }

    if (t->state == TCPS_SYN_RCVD) {
        if (TCP_SEQ_LT(t->snd_una, sg->ack) && TCP_SEQ_LEQ(sg->ack, t->snd_max)) {
            tcp_init_cwnd(t);
            if ((t->flags & TF_SYN_RETX) && t->rto < 3000000u)
                t->rto = 3000000u;  /* RFC 6298 5.7 */
            t->snd_wnd = sg->wnd << t->snd_wscale;
            t->max_sndwnd = t->snd_wnd;
            t->snd_wl1 = sg->seq;
            t->snd_wl2 = sg->ack;
            t->t_rtx = 0;
            t->retries = 0;
            tcp_established(c, s);
            if (t->flags & TF_PASSIVE)
                tcp_accept_enqueue(c, s);
        } else {
            tcp_send_rst_for(c, sg);
            return;
        }
    }
    /* RFC 5961 5.2: ACKs outside [SND.UNA - MAX.SND.WND, SND.NXT]. */
    if (TCP_SEQ_GT(sg->ack, t->snd_max)) {
        tcp_send_challenge_ack(c, s);
        return;
    }
    if (TCP_SEQ_LT(sg->ack, t->snd_una - t->max_sndwnd)) {
        tcp_send_challenge_ack(c, s);
        return;
    }
    t->probes = 0;      /* the peer is alive (keepalive, persist) */
    tcp_ecn_in(c, s, sg);   /* RFC 3168: CE, CWR, ECE (tcp_ecn.c) */
    uint32_t nwnd = sg->wnd << t->snd_wscale;
    int pure_dup = sg->ack == t->snd_una && sg->len == 0 &&
                   !(sg->flags & (TCP_SYN | TCP_FIN)) && nwnd == t->snd_wnd &&
                   t->snd_max != t->snd_una &&
                   nwnd != 0 && t->t_persist == 0;  /* answers to window probes are no loss signal */
    uint32_t sacked_before = tcp_sacked_bytes(t);
    /* SACK scoreboard, RACK, D-SACK, undo (tcp_rack.c), before SND.UNA
     * moves. */
    tcp_rack_ack(c, s, sg);
    if (t->state == TCPS_CLOSED)
        return;
    int sack_news = tcp_sacked_bytes(t) > sacked_before;
    /* RFC 6675 2: an ACK that SACKs new data counts as a duplicate even
     * when it carries data or a new window; with data flowing both ways
     * (echo, request/response) pure duplicates may never come. */
    if (!pure_dup && sack_news && sg->ack == t->snd_una && t->snd_max != t->snd_una &&
        nwnd != 0 && t->t_persist == 0 && !(sg->flags & (TCP_SYN | TCP_FIN)))
        pure_dup = 1;
    uint32_t una_before = t->snd_una;
    if (TCP_SEQ_GT(sg->ack, t->snd_una)) {
        uint32_t acked = sg->ack - t->snd_una;
        t->rtt_last = 0;
        /* RTT: timestamps on every ACK that advances (RFC 7323 4.1),
         * else the one timed segment (Karn: never a retransmission).
         * A TSecr already sampled gives none: the peer echoes its
         * TS.Recent, which only a segment of ours at or left of its
         * Last.ACK.sent moves (RFC 7323 4.3), so under reordering the
         * same TSval comes back on the ACKs of many round trips, each
         * "sample" older than the last (measured against Linux on 20 ms +
         * 0..10 ms reordering each way: medians of 65-150 ms on a path of
         * 40-60 ms; with repeats skipped, 45-57 ms). Those inflated SRTT
         * and the RTO, and HyStart++ took them for queueing and ended
         * slow start at a fraction of the path's capacity. */
        if ((t->flags & TF_TS) && sg->ts_ok && sg->tsecr != 0) {
            uint32_t ms = tcp_ts_now(c, t) - sg->tsecr;
            if (ms < 0x7fffffu && sg->tsecr != t->srtt_tsecr) {
                t->srtt_tsecr = sg->tsecr;
                tcp_rtt_sample(c, t, ms * 1000u);
            }
        } else if ((t->flags & TF_RTT_ON) && TCP_SEQ_GT(sg->ack, t->rtt_seq)) {
            t->flags &= ~(uint32_t)TF_RTT_ON;
            uint64_t r = c->now - t->rtt_t;
            tcp_rtt_sample(c, t, (uint32_t)(r > 0xffffffffu ? 0xffffffffu : r));
        }
        t->retries = 0;
        uint32_t dend = sg->ack;
        if ((t->flags & TF_FIN_SENT) && TCP_SEQ_GT(dend, t->fin_seq))
            dend = t->fin_seq;
        if (TCP_SEQ_GT(dend, t->snd_data)) {
            moat_ring_consume(&s->tx, dend - t->snd_data);
            t->snd_data = dend;
            mcore_sock_changed(c, s);
        }
        t->snd_una = sg->ack;
        if (TCP_SEQ_LT(t->snd_nxt, t->snd_una))
            t->snd_nxt = t->snd_una;
        tcp_cc_ack(c, s, sg->ack, acked);
        tcp_wnd_snd_grow(c, s);     /* send limit follows cwnd (tcp_wnd.c) */
        tcp_pmtu_ack(c, s);         /* a PMTU probe acknowledged (tcp_pmtu.c) */
        if (t->snd_una == t->snd_max)
            t->t_rtx = 0;
        else
            tcp_timer_rtx_arm(c, t);
    } else if (pure_dup) {
        if (!tcp_pmtu_dupack(c, s))     /* a lost PMTU probe is not congestion */
            tcp_cc_dupack(c, s);
    }
    if (t->state == TCPS_CLOSED)
        return;
    if (t->flags & TF_SACK) {
        /* RFC 6937 DeliveredData: what SND.UNA advanced plus the change in
         * SACKed bytes (negative when the ACK covers SACKed data). */
        int64_t delivered = (int64_t)(t->snd_una - una_before) +
                            (int64_t)tcp_sacked_bytes(t) - (int64_t)sacked_before;
        tcp_cc_sack_ack(c, s, delivered > 0 ? (uint32_t)delivered : 0u);
        if (t->state == TCPS_CLOSED)
            return;
    }
    /* Send window update (RFC 9293 3.10.7.4, SND.WL1/SND.WL2). */
    /* Also when the ACK advances SND.UNA, whatever SEG.SEQ: the window is
     * relative to SEG.ACK, so keeping the old SND.WND while SND.UNA moves
     * would slide the right edge past what the peer offered (seen with a
     * window update carried by a retransmitted, older segment). */
    /* Never from a disordered ACK (tcp_paws_disordered_ack): its window
     * is older than the one already taken from the newer segment. */
    if (!disordered && (TCP_SEQ_LT(t->snd_wl1, sg->seq) ||
        (t->snd_wl1 == sg->seq && TCP_SEQ_LEQ(t->snd_wl2, sg->ack)) ||
        TCP_SEQ_GT(sg->ack, una_before))) {
        uint32_t old = t->snd_wnd;
        t->snd_wnd = nwnd;
        if (TCP_SEQ_GT(sg->seq, t->snd_wl1))
            t->snd_wl1 = sg->seq;
        t->snd_wl2 = sg->ack;
        if (nwnd > t->max_sndwnd)
            t->max_sndwnd = nwnd;
        if (nwnd == 0 && t->snd_una != t->snd_max &&
            !((t->flags & TF_FIN_SENT) && t->snd_max == t->fin_seq + 1u &&
              t->snd_una == t->fin_seq)) {
            /* Zero window: what is in flight beyond the ACK was refused;
             * the persist timer takes over from the retransmission timer
             * (tcp_output arms it when data waits and nothing flies). */
            if (old != 0)
                t->persist_shift = 0;
            t->snd_nxt = t->snd_una;
            t->t_rtx = 0;
            if (t->t_persist == 0)
                tcp_persist_arm(c, t);
        } else if (nwnd > 0 && t->t_persist != 0) {
            t->t_persist = 0;
            t->persist_shift = 0;
            t->snd_nxt = t->snd_una;    /* an unaccepted probe byte goes again */
        }
    }
    /* Our FIN acknowledged? */
    int fin_acked = (t->flags & TF_FIN_SENT) && TCP_SEQ_GT(t->snd_una, t->fin_seq);
    switch (t->state) {
    case TCPS_FIN_WAIT_1:
        if (fin_acked) {
            t->state = TCPS_FIN_WAIT_2;
            if (t->flags & TF_ORPHAN)
                t->t_fin2 = c->now + 2ull * c->cfg.tcp_msl_ms * 1000u;
        }
        break;
    case TCPS_CLOSING:
        if (fin_acked) {
            tcp_enter_time_wait(c, s);
            return;
        }
        break;
    case TCPS_LAST_ACK:
        if (fin_acked) {
            sock_status(c, s, MOAT_SS_HUP, MOAT_SS_CONNECTED);
            tcp_release(c, s);
            return;
        }
        break;
    default:
        break;
    }
    /* Segment text and FIN. */
    if (data_ok && (sg->len > 0 || (sg->flags & TCP_FIN))) {
        switch (t->state) {
        case TCPS_ESTABLISHED:
        case TCPS_FIN_WAIT_1:
        case TCPS_FIN_WAIT_2:
            if ((t->flags & TF_ORPHAN) && sg->len > 0 && TCP_SEQ_GEQ(sg->seq + sg->len, t->rcv_nxt) &&
                sg->seq + sg->len != t->rcv_nxt) {
                /* New data for a closed application: reset (RFC 9293
                 * 3.10.7.4, as hosts do for data after close). */
                struct tcp_ips ips = tcp_ips_sock(s);
                tcp_send_raw(c, &ips, s->lport, s->rport, t->snd_max, 0, TCP_RST, 0, NULL, 0);
                tcp_drop(c, s, 0);
                return;
            }
            tcp_rcv_data(c, s, sg);
            break;
        default:
            /* After the peer's FIN: nothing more is delivered. */
            if (sg->len > 0)
                t->flags |= TF_ACKNOW;
            break;
        }
    }
    if (t->state != TCPS_CLOSED)
        tcp_output(c, s);
    if (t->state != TCPS_CLOSED && TCP_SEQ_GT(t->snd_una, una_before))
        tcp_tlp_arm(c, t);  /* RFC 8985 7.2: restart the probe timer on progress */
}

/* A parsed segment to its connection, TIME-WAIT entry or listener; else
 * a RST (either family). */
static void tcp_demux(struct mcore *c, const struct tcp_seg *sg)
{
    struct tcp_ips ips = tcp_ips_seg(sg);
    struct msock *s = tcp_lookup(c, &ips, sg->dport, sg->sport);
    if (s != NULL) {
        tcp_touch(c, s);        /* rescheduled at the end of the batch */
        tcp_process(c, s, sg);
        return;
    }
    struct tcp_tw *w = tcp_tw_find(c, &ips, sg->dport, sg->sport);
    if (w != NULL) {
        tcp_tw_input(c, w, sg);
        return;
    }
    struct msock *l = tcp_find_listener(c, &ips, sg->dport);
    if (l != NULL) {
        tcp_listen_input(c, l, sg);
        return;
    }
    MCORE_DROP(c, TCP_NO_PORT);
    tcp_send_rst_for(c, sg);
}

void tcp_input(struct mcore *c, const struct ip4_rx *rx)
{
    struct tcp_seg sg;
    c->stats.tcp_segs_in++;
    if (rx->to_bcast) {
        MCORE_DROP(c, TCP_NO_PORT);     /* TCP is unicast only */
        return;
    }
    if (tcp_parse(c, rx, &sg) != 0) {
        MCORE_DROP(c, TCP_MALFORMED);
        return;
    }
    tcp_demux(c, &sg);
}

/* TCP over IPv6: the same demultiplexing and processing as IPv4 once the
 * segment is parsed (tcp6_parse); the family travels in sg.v6. */
void tcp6_input(struct mcore *c, const struct ip6_rx *rx)
{
    struct tcp_seg sg;
    c->stats.tcp_segs_in++;
    if (rx->to_mcast) {
        MCORE_DROP(c, TCP_NO_PORT);     /* TCP is unicast only */
        return;
    }
    if (tcp6_parse(c, rx, &sg) != 0) {
        MCORE_DROP(c, TCP_MALFORMED);
        return;
    }
    tcp_demux(c, &sg);
}

/* ---- ICMP (RFC 5927, RFC 1191) --------------------------------------------- */

/* The connection an ICMP(v6) error quotes, if the quoted sequence number
 * is in flight (RFC 5927 4.1); NULL otherwise. */
static struct msock *tcp_icmp_match(struct mcore *c, const struct tcp_ips *ips,
                                    uint16_t sport, uint16_t dport, uint32_t seq)
{
    struct msock *s = tcp_lookup(c, ips, sport, dport);
    if (s == NULL)
        return NULL;
    tcp_touch(c, s);
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (TCP_SEQ_LT(seq, t->snd_una) || TCP_SEQ_GEQ(seq, t->snd_max))
        return NULL;
    return s;
}

/* The path takes segments of at most @p mss bytes: lower the MSS (never
 * up; probed upward later, tcp_pmtu.c) and resend now. */
static void tcp_mss_lower(struct mcore *c, struct msock *s, uint32_t mss)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (mss >= t->adv_mss || mss >= t->mss)
        return;
    tcp_pmtu_lowered(c, t, t->mss);
    t->mss = (uint16_t)mss;
    if (t->state >= TCPS_ESTABLISHED) {
        t->snd_nxt = t->snd_una;
        t->flags &= ~(uint32_t)TF_RTT_ON;
        tcp_output(c, s);
    }
}

/* An unreachable or time-exceeded error: a hard one (@p err
 * MOAT_E_CONNREFUSED) aborts a connection still being opened (RFC 5927
 * 4.1 and common practice); the rest is a soft error, remembered and
 * reported if the connection times out. */
static void tcp_icmp_fail(struct mcore *c, struct msock *s, struct tcp_cb *t, int err)
{
    if (err == MOAT_E_CONNREFUSED && t->state == TCPS_SYN_SENT) {
        tcp_drop(c, s, MOAT_E_CONNREFUSED);
        return;
    }
    t->soft_err = err;
    t->soft_err_set = 1;
}

void tcp_icmp_error(struct mcore *c, const struct ip4_quote *q, uint8_t type,
                    uint8_t code, uint16_t mtu)
{
    if (q->l4_len < 8)
        return;
    uint16_t sport = rd16(q->l4), dport = rd16(q->l4 + 2);
    struct tcp_ips ips = {q->src, q->dst, NULL, NULL};
    struct msock *s = tcp_icmp_match(c, &ips, sport, dport, rd32(q->l4 + 4));
    if (s == NULL)
        return;
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (type == ICMP_UNREACH && code == ICMP_UNREACH_NEEDFRAG) {
        /* Path MTU discovery (RFC 1191): lower the MSS, resend now. */
        uint32_t m = mtu;
        if (m < 576u)
            m = 576u;     /* ignore implausibly small MTUs (RFC 5927 7.2) */
        tcp_mss_lower(c, s, m - 40u);
        return;
    }
    if (type != ICMP_UNREACH && type != ICMP_TIME_EXCEEDED)
        return;
    int err = MOAT_E_HOSTUNREACH;
    if (type == ICMP_UNREACH && code == ICMP_UNREACH_NET)
        err = MOAT_E_NETUNREACH;
    if (type == ICMP_UNREACH && (code == ICMP_UNREACH_PROTO || code == ICMP_UNREACH_PORT))
        err = MOAT_E_CONNREFUSED;
    tcp_icmp_fail(c, s, t, err);
}

/*
 * ICMPv6 errors about our segments (RFC 4443, RFC 5927 as for ICMPv4):
 * Packet Too Big lowers the MSS to the path MTU less 60 (ip6.c already
 * stored the path MTU, not below 1280); a hard error aborts a connection
 * in SYN-SENT (RFC 1122's rule for ICMPv4 protocol/port unreachable
 * carried over: port unreachable, and parameter problem code 1, IPv6's
 * "unrecognized next header", i.e. no TCP there); other unreachable codes
 * and time exceeded are soft errors; other parameter problems are ignored.
 */
void tcp6_icmp_error(struct mcore *c, const struct ip6_quote *q, uint8_t type, uint8_t code,
                     uint32_t param)
{
    if (q->l4_len < 8)
        return;
    uint16_t sport = rd16(q->l4), dport = rd16(q->l4 + 2);
    struct tcp_ips ips = {tcp_fold6(c, q->src), tcp_fold6(c, q->dst), q->src, q->dst};
    struct msock *s = tcp_icmp_match(c, &ips, sport, dport, rd32(q->l4 + 4));
    if (s == NULL) {
        MCORE_DROP(c, ICMP_NO_MATCH);
        return;
    }
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (type == ICMP6_PKT_TOO_BIG) {
        uint32_t m = param < IP6_MIN_MTU ? IP6_MIN_MTU : param;
        tcp_mss_lower(c, s, m - 60u);
        return;
    }
    if (type == ICMP6_UNREACH)
        tcp_icmp_fail(c, s, t, code == ICMP6_UNREACH_PORT ? MOAT_E_CONNREFUSED
                               : code == 0 ? MOAT_E_NETUNREACH : MOAT_E_HOSTUNREACH);
    else if (type == ICMP6_TIME_EXCEEDED)
        tcp_icmp_fail(c, s, t, MOAT_E_HOSTUNREACH);
    else if (type == ICMP6_PARAM_PROB && code == 1)
        tcp_icmp_fail(c, s, t, MOAT_E_CONNREFUSED);
}
