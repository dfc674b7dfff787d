/* SPDX-License-Identifier: MIT */
/*
 * TCP passive open: the listener's input, the bounded SYN queue and SYN
 * cookies, the child connection's creation and its place in the accept
 * queue; and TIME-WAIT, the other state that answers segments without a
 * connection (RFC 9293 3.10.7.2, 3.10.7.4 TIME-WAIT, RFC 4987 cookies,
 * RFC 6191/7323 TIME-WAIT reuse).
 */
#include "tcp_priv.h"

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
    /* Our scale as announced in the SYN-ACK; dropped again if the peer
     * sent none. */
    t->rcv_wscale = tcp_pick_wscale(c->env.layout.g.sock_rx_bytes);
    tcp_syn_opts_apply(c, t, p->mss, p->ws, p->sack_ok, p->ts_ok, p->ts_recent);
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

void tcp_accept_enqueue(struct mcore *c, struct msock *ch)
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

void tcp_listen_input(struct mcore *c, struct msock *l, const struct tcp_seg *sg)
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

void tcp_tw_input(struct mcore *c, struct tcp_tw *w, const struct tcp_seg *sg)
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
