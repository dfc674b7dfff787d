/* SPDX-License-Identifier: MIT */
/*
 * TCP output: building segments (header, options, payload read straight
 * from the socket's tx ring, checksum) and deciding what to send: new data
 * under the congestion and send windows with Nagle and sender-side SWS
 * avoidance (RFC 9293 3.7.4, 3.8.6.2.1), FIN, ACKs and window updates
 * with receiver-side SWS avoidance (3.8.6.2.2), RSTs and the SYN-ACKs of
 * the SYN queue.
 *
 * Does not decide on loss recovery (tcp_cc.c) or timers (tcp_timer.c),
 * except that sending data arms the retransmission timer.
 */
#include "tcp_priv.h"

/* SYN options: MSS, SACK-permitted, timestamps, window scale (RFC 7323
 * 2.2: only on SYNs), laid out by hdr_tcp_opts_emit. */
static unsigned tcp_put_syn_opts(uint8_t *o, uint16_t mss, int sack, int ts,
                                 uint32_t tsval, uint32_t tsecr, int ws, uint8_t shift)
{
    const struct hdr_tcp_opts w = {.has_mss = 1, .mss = mss, .sack_ok = sack != 0,
                                    .ts_ok = ts != 0, .tsval = tsval, .tsecr = tsecr,
                                    .has_ws = ws != 0, .ws = shift};
    return hdr_tcp_opts_emit(&w, o);
}

/* SACK blocks the next segment of @p t carries: a pending D-SACK block
 * (RFC 2883) and the out-of-order ranges, as many as fit. */
static unsigned tcp_sack_blocks(const struct tcp_cb *t)
{
    if (!(t->flags & TF_SACK))
        return 0;
    unsigned max = (t->flags & TF_TS) ? 3u : 4u;
    unsigned k = t->n_ooo + ((t->rflags & RF_DSACK) ? 1u : 0u);
    return k < max ? k : max;
}

/* Option bytes a non-SYN segment of @p t carries right now. */
unsigned tcp_opt_len(const struct tcp_cb *t)
{
    unsigned n = (t->flags & TF_TS) ? 12u : 0u;
    unsigned k = tcp_sack_blocks(t);
    if (k > 0)
        n += 4u + 8u * k;
    return n;
}

static unsigned tcp_put_opts(struct mcore *c, struct tcp_cb *t, uint8_t *o)
{
    struct hdr_tcp_opts w = {0};
    if (t->flags & TF_TS) {
        w.ts_ok = 1;
        w.tsval = tcp_ts_now(c, t);
        w.tsecr = t->ts_recent;
    }
    unsigned k = tcp_sack_blocks(t);
    if (k > 0) {
        /* RFC 2883 4: a D-SACK block first, reported once; then (RFC 2018
         * 4) the block of the most recent arrival, then the others most
         * recent first. tcp_sack_blocks counted only what fits. */
        unsigned i = 0;
        if (t->rflags & RF_DSACK) {
            w.sack[w.n_sack].l = t->dsack_l;
            w.sack[w.n_sack].r = t->dsack_r;
            w.n_sack++;
            t->rflags &= (uint16_t)~RF_DSACK;
            k--;
        }
        for (; i < k; i++) {
            w.sack[w.n_sack].l = t->ooo[i].l;
            w.sack[w.n_sack].r = t->ooo[i].r;
            w.n_sack++;
        }
    }
    return hdr_tcp_opts_emit(&w, o);
}

/* A segment being built, over IPv4 or IPv6 (issue 9). */
struct tcp_tx {
    uint8_t *l4;                /* the TCP header goes here */
    uint8_t v6;
    struct ip4_tx t4;
    struct ip6_tx t6;
};

static int tcp_tx_begin(struct mcore *c, struct tcp_tx *tx, const struct tcp_ips *ip,
                        size_t l4len)
{
    int err;
    tx->v6 = TCP_V6(ip->l6 != NULL);
    if (tx->v6) {
        err = ip6_tx_begin(c, &tx->t6, ip->l6, ip->r6, l4len);
        tx->l4 = tx->t6.l4;
    } else {
        err = ip4_tx_begin(c, &tx->t4, ip->l, ip->r, l4len);
        tx->l4 = tx->t4.l4;
    }
    return err;
}

/* Checksum (with the family's pseudo-header) and send. IPv4 goes with DF
 * (path MTU discovery, RFC 1191). IPv6 segments are sized from the MSS,
 * which Packet Too Big lowers (tcp6_icmp_error); one that is still larger
 * than the path MTU (sent before the news came) is fragmented by ip6.c
 * rather than lost. @p ecn: the ECN field (tcp_ecn_out). */
static void tcp_finish(struct mcore *c, struct tcp_tx *tx, size_t l4len, uint8_t ecn,
                       int *err)
{
    uint8_t *h = tx->l4;
    wr16(h + 16, 0);
    uint32_t sum;
    if (tx->v6)
        sum = ip6_pseudo_sum(tx->t6.src, tx->t6.dst, (uint32_t)l4len, IP_PROTO_TCP);
    else
        sum = cksum_pseudo(tx->t4.src, tx->t4.dst, IP_PROTO_TCP, (uint32_t)l4len);
    sum = cksum_add(sum, h, l4len);
    wr16(h + 16, cksum_fold(sum));
    if (tx->v6) {
        tx->t6.tclass = ecn;
        *err = ip6_tx_end(c, &tx->t6, IP_PROTO_TCP, l4len, 0);
    } else {
        tx->t4.tos = ecn;
        *err = ip4_tx_end(c, &tx->t4, IP_PROTO_TCP, l4len, IP4_TX_DF);
    }
    c->stats.tcp_segs_out++;
}

static void tcp_put_hdr(uint8_t *h, uint16_t sport, uint16_t dport, uint32_t seq,
                        uint32_t ack, unsigned hlen, uint8_t flags, uint16_t wnd)
{
    const struct hdr_tcp w = {.sport = sport, .dport = dport, .seq = seq, .ack = ack,
                               .hlen = (uint8_t)hlen, .flags = flags, .wnd = wnd};
    hdr_tcp_emit(&w, h);
}

int tcp_send_raw(struct mcore *c, const struct tcp_ips *ip, uint16_t lport,
                 uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags,
                 uint16_t wnd, const uint8_t *opts, unsigned olen)
{
    struct tcp_tx tx;
    unsigned hlen = TCP_HLEN + olen;
    int err = tcp_tx_begin(c, &tx, ip, hlen);
    if (err != 0)
        return err;
    tcp_put_hdr(tx.l4, lport, rport, seq, ack, hlen, flags, wnd);
    if (olen)
        memcpy(tx.l4 + TCP_HLEN, opts, olen);
    tcp_finish(c, &tx, hlen, 0, &err);
    return err;
}

void tcp_send_rst_for(struct mcore *c, const struct tcp_seg *sg)
{
    if (sg->flags & TCP_RST)
        return;     /* never answer a RST */
    struct tcp_ips ip = tcp_ips_seg(sg);
    if (sg->flags & TCP_ACK) {
        tcp_send_raw(c, &ip, sg->dport, sg->sport, sg->ack, 0, TCP_RST, 0, NULL, 0);
    } else {
        uint32_t len = sg->len + ((sg->flags & TCP_SYN) ? 1u : 0u) +
                       ((sg->flags & TCP_FIN) ? 1u : 0u);
        tcp_send_raw(c, &ip, sg->dport, sg->sport, 0, sg->seq + len, TCP_RST | TCP_ACK, 0,
                     NULL, 0);
    }
}

void tcp_send_synack_q(struct mcore *c, struct tcp_syn *q, uint16_t our_mss, uint8_t our_ws)
{
    uint8_t o[TCP_OPT_MAX];
    /* The TSval clock of an embryo: ms + its offset (same as tcp_ts_now). */
    uint32_t tsval = (uint32_t)(c->now / 1000u) + q->ts_off;
    unsigned olen = tcp_put_syn_opts(o, our_mss, q->sack_ok, q->ts_ok, tsval, q->ts_recent,
                                     q->ws != TCP_WS_NONE, our_ws);
    uint32_t wnd = c->env.layout.g.sock_rx_bytes;  /* a SYN's window is never scaled */
    struct tcp_ips ip = tcp_ips_syn(q);
    int err = tcp_send_raw(c, &ip, q->lport, q->rport, q->iss, q->irs + 1u,
                           (uint8_t)(TCP_SYN | TCP_ACK | (q->ecn_ok ? TCP_ECE : 0u)),
                           (uint16_t)(wnd > 0xffffu ? 0xffffu : wnd), o, olen);
    q->lwait = err == MOAT_E_NOBUFS ? c->now + TCP_LINKWAIT_US : 0;
}

uint16_t tcp_rcv_wnd_field(struct mcore *c, struct msock *s)
{
    /*
     * rcv_adv is the right edge we have promised, and it is always backed
     * by free ring space: it only moves right, to a point the ring can
     * hold, and only by a useful amount (RFC 9293 3.8.6.2.2, receiver SWS
     * avoidance). The field is that promise rounded down to the scale
     * unit: with window scaling the announced edge may then sit up to
     * 2^S - 1 bytes left of an earlier one (RFC 7323 appendix F); rounding
     * up instead would promise bytes the fixed ring may not have, and
     * repeated rounding creeps (seen against Linux: the window stuck
     * "open" on a full ring).
     */
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t space = tcp_rcv_space(c, s);
    uint32_t cur = TCP_SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    uint8_t ws = (t->flags & TF_WS) ? t->rcv_wscale : 0;
    uint32_t max = 0xffffu << ws;
    if (space > max)
        space = max;
    uint32_t thresh = tcp_rcv_limit(c, s) / 2u;
    if (thresh > t->adv_mss)
        thresh = t->adv_mss;
    uint32_t aligned = (space >> ws) << ws;
    if (aligned > cur && space - cur >= thresh) {
        t->rcv_adv = t->rcv_nxt + aligned;
        if (aligned > c->stats.tcp_rcv_wnd_max)
            c->stats.tcp_rcv_wnd_max = aligned;     /* autotuning visible in stats */
        return (uint16_t)(aligned >> ws);
    }
    uint32_t field = cur >> ws;
    return (uint16_t)(field > 0xffffu ? 0xffffu : field);
}

int tcp_send_seg(struct mcore *c, struct msock *s, uint32_t seq, uint32_t len,
                 uint8_t flags)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint8_t o[TCP_OPT_MAX];
    unsigned olen;
    uint16_t wnd;
    uint32_t ack = 0;

    if (flags & TCP_SYN) {
        uint32_t space = tcp_rcv_space(c, s);
        wnd = (uint16_t)(space > 0xffffu ? 0xffffu : space);  /* never scaled on a SYN */
        int offer_all = t->state == TCPS_SYN_SENT;
        olen = tcp_put_syn_opts(o, t->adv_mss, offer_all || (t->flags & TF_SACK),
                                offer_all || (t->flags & TF_TS), tcp_ts_now(c, t),
                                t->ts_recent, offer_all || (t->flags & TF_WS), t->rcv_wscale);
        if (t->state != TCPS_SYN_SENT) {
            flags |= TCP_ACK;
            ack = t->rcv_nxt;
            t->rcv_adv = t->rcv_nxt + wnd;
        }
    } else {
        olen = tcp_put_opts(c, t, o);
        flags |= TCP_ACK;
        ack = t->rcv_nxt;
        wnd = tcp_rcv_wnd_field(c, s);
    }
    uint8_t ecn = tcp_ecn_out(c, t, seq, len, &flags);  /* RFC 3168 (tcp_ecn.c) */
    unsigned hlen = TCP_HLEN + olen;
    struct tcp_tx tx;
    struct tcp_ips ip = tcp_ips_sock(s);
    int err = tcp_tx_begin(c, &tx, &ip, hlen + len);
    if (err != 0)
        return err;
    tcp_put_hdr(tx.l4, s->lport, s->rport, seq, ack, hlen, flags, wnd);
    memcpy(tx.l4 + TCP_HLEN, o, olen);
    if (len > 0) {
        moat_ring_get(&s->tx, seq - t->snd_data, tx.l4 + hlen, len);
        t->t_last_snd = c->now;
    }
    tcp_finish(c, &tx, hlen + len, ecn, &err);
    if (err == MOAT_E_NOBUFS)
        return err;     /* nothing left: no RACK record, the ACK is still owed */
    if (!(flags & TCP_SYN) && (len > 0 || (flags & TCP_FIN)))
        tcp_rack_sent(c, t, seq, len + ((flags & TCP_FIN) ? 1u : 0u));
    if (flags & TCP_ACK) {
        t->last_ack_sent = ack;
        t->flags &= ~(uint32_t)(TF_ACKNOW | TF_DELACK | TF_ACKSOON);
        t->t_delack = 0;
        t->rcv_unacked = 0;
        t->ooo_comp = 0;
    }
    return err;
}

int tcp_link_blocked(struct mcore *c, struct tcp_cb *t, int err)
{
    if (err != MOAT_E_NOBUFS)
        return 0;
    if (t->t_lwait == 0)
        t->t_lwait = c->now + TCP_LINKWAIT_US;
    return 1;
}

void tcp_send_ack(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    /* snd_max, not snd_nxt: after a timeout snd_nxt goes back to snd_una,
     * and a pure ACK numbered below what the peer already has would fail
     * its acceptability test and be dropped with the news it carries. */
    tcp_send_seg(c, s, t->snd_max, 0, 0);
}

void tcp_send_challenge_ack(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (c->now - t->chack_t >= 1000000u) {
        t->chack_t = c->now;
        t->chack_n = 0;
    }
    if (t->chack_n >= TCP_CHACK_PER_S)
        return;
    t->chack_n++;
    c->stats.tcp_challenge_acks++;
    tcp_send_seg(c, s, t->snd_max, 0, 0);
}

int tcp_data_end(struct mcore *c, struct msock *s, uint32_t *end)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->flags & TF_FIN_Q) {
        *end = t->fin_seq;
        return 0;
    }
    uint32_t avail = 0;
    if (moat_ring_avail(&s->tx, &avail) != 0) {
        MCORE_DROP(c, BOUNDARY);
        return MOAT_E_PEER;
    }
    *end = t->snd_data + avail;
    return 0;
}

/* Resend up to @p max bytes (0: a segment) at @p seq. Returns the
 * sequence space it covers, 0 if there was nothing to send; *@p blocked
 * says the link had no room for the frame: it did not leave, it is not
 * counted as a retransmission nor recorded for RACK, and the link-wait
 * timer is armed. */
static uint32_t tcp_retransmit(struct mcore *c, struct msock *s, uint32_t seq, uint32_t max,
                               int *blocked)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t end;
    *blocked = 0;
    if (tcp_data_end(c, s, &end) != 0)
        return 0;
    uint32_t seg = t->mss - tcp_opt_len(t);
    uint32_t len = TCP_SEQ_LT(seq, end) ? end - seq : 0;
    if (len > seg)
        len = seg;
    if (max != 0 && len > max)
        len = max;
    uint8_t flags = 0;
    if ((t->flags & TF_FIN_SENT) && seq + len == t->fin_seq && len < seg)
        flags |= TCP_FIN;
    if (len == 0 && !(flags & TCP_FIN))
        return 0;
    t->flags &= ~(uint32_t)TF_RTT_ON;   /* Karn */
    *blocked = tcp_link_blocked(c, t, tcp_send_seg(c, s, seq, len, flags | TCP_PSH));
    if (!*blocked)
        c->stats.tcp_retransmits++;
    if (t->t_rtx == 0)
        tcp_timer_rtx_arm(c, t);
    return len + ((flags & TCP_FIN) ? 1u : 0u);
}

/* For the timeout and the one-off resends: a frame the link refused
 * counts as sent (the RTO resends it). */
uint32_t tcp_retransmit_at(struct mcore *c, struct msock *s, uint32_t seq, uint32_t max)
{
    int blocked;
    return tcp_retransmit(c, s, seq, max, &blocked);
}

/* For loops that send while the window allows (SACK recovery, the PMTU
 * probe's repair): 0 also when the link refused the frame, so that the
 * loop stops instead of "sending" the same range again and again into a
 * full link (counted each time before: tcp_retransmits 730 against 399
 * retransmissions in the pcap of one rtt50r run, SACK recovery's guard
 * being 1024); the link-wait timer resumes it. */
uint32_t tcp_retransmit_try(struct mcore *c, struct msock *s, uint32_t seq, uint32_t max)
{
    int blocked;
    uint32_t n = tcp_retransmit(c, s, seq, max, &blocked);
    return blocked ? 0 : n;
}

/*
 * RFC 5681 4.1: a connection that has sent no data for longer than the
 * RTO no longer knows what the path holds (its ACK clock stopped), so it
 * restarts from RW = min(IW, cwnd) rather than sending a whole old cwnd
 * in one burst. IW is RFC 6928's (the SYN-loss reduction of 3.1 applies
 * to the first window only). "Idle" means nothing in flight too.
 */
static void tcp_idle_restart(struct mcore *c, struct tcp_cb *t)
{
    if (t->snd_max != t->snd_una || t->t_last_snd == 0 ||
        c->now - t->t_last_snd <= (uint64_t)t->rto)
        return;
    uint32_t iw = TCP_IW_SEGS * t->mss;
    uint32_t cap = 14600u > 2u * t->mss ? 14600u : 2u * t->mss;
    uint32_t rw = iw < cap ? iw : cap;
    if (t->cwnd > rw)
        t->cwnd = rw;
}

/* Send new data (or go-back-N retransmissions) from snd_nxt. Returns the
 * number of segments sent. */
static unsigned tcp_send_data(struct mcore *c, struct msock *s, uint32_t end)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    unsigned sent = 0;

    if (TCP_SEQ_LT(t->snd_nxt, end))
        tcp_idle_restart(c, t);
    for (unsigned guard = 0; guard < 4096; guard++) {
        if (!TCP_SEQ_LT(t->snd_nxt, end))
            break;
        uint32_t unsent = end - t->snd_nxt;
        uint32_t wedge = t->snd_una + t->snd_wnd;
        uint32_t uwnd = TCP_SEQ_GT(wedge, t->snd_nxt) ? wedge - t->snd_nxt : 0;
        uint32_t flight = t->snd_nxt - t->snd_una;
        uint32_t croom = t->cwnd > flight ? t->cwnd - flight : 0;
        uint32_t room = uwnd < croom ? uwnd : croom;
        uint32_t seg = t->mss - tcp_opt_len(t);
        uint32_t len = unsent < seg ? unsent : seg;
        if (len > room)
            len = room;
        if (len == 0)
            break;
        int rexmit = TCP_SEQ_LT(t->snd_nxt, t->snd_max);
        if (len < seg && !rexmit) {
            /* Nagle (RFC 9293 3.7.4) and sender SWS avoidance (3.8.6.2.1). */
            int idle = t->snd_max == t->snd_una;
            int may = s->nodelay || idle;
            int all = len == unsent;
            if (!((all && (may || (t->flags & TF_FIN_Q))) ||
                  (may && t->max_sndwnd > 0 && len >= t->max_sndwnd / 2u)))
                break;
        }
        uint8_t flags = 0;
        if (t->snd_nxt + len == end) {
            flags |= TCP_PSH;
            if ((t->flags & TF_FIN_Q) && len < seg + 1u)
                flags |= TCP_FIN;
        }
        if (rexmit) {
            t->flags &= ~(uint32_t)TF_RTT_ON;
            c->stats.tcp_retransmits++;
        } else if (!(t->flags & (TF_RTT_ON | TF_TS))) {
            t->flags |= TF_RTT_ON;
            t->rtt_seq = t->snd_nxt;
            t->rtt_t = c->now;
        }
        if (tcp_link_blocked(c, t, tcp_send_seg(c, s, t->snd_nxt, len, flags)))
            break;
        t->snd_nxt += len;
        if (flags & TCP_FIN) {
            t->snd_nxt++;
            t->flags |= TF_FIN_SENT;
        }
        if (TCP_SEQ_GT(t->snd_nxt, t->snd_max))
            t->snd_max = t->snd_nxt;
        if (t->t_rtx == 0)
            tcp_timer_rtx_arm(c, t);
        sent++;
    }
    return sent;
}

/* Does the right edge we could announce now move enough to tell the peer? */
static int tcp_want_wnd_update(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->flags & TF_FIN_RCVD)
        return 0;
    uint32_t cur = TCP_SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    uint32_t lim = tcp_rcv_limit(c, s);    /* autotuned cap (tcp_wnd.c) */
    if (cur >= lim / 2u)
        return 0;
    uint32_t space = tcp_rcv_space(c, s);
    uint32_t max = 0xffffu << ((t->flags & TF_WS) ? t->rcv_wscale : 0);
    if (space > max)
        space = max;
    uint32_t thresh = lim / 2u;
    if (thresh > t->adv_mss)
        thresh = t->adv_mss;
    return space > cur && space - cur >= thresh;
}

void tcp_output(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    unsigned sent = 0;

    switch (t->state) {
    case TCPS_CLOSED:
    case TCPS_LISTEN:
    case TCPS_SYN_SENT:
        return;
    case TCPS_SYN_RCVD:
        if (t->flags & TF_ACKNOW) {
            t->flags &= ~(uint32_t)TF_ACKNOW;
            tcp_send_seg(c, s, t->iss, 0, TCP_SYN);
        }
        return;
    default:
        break;
    }
    uint32_t end;
    if (tcp_data_end(c, s, &end) != 0) {
        tcp_drop(c, s, MOAT_E_PEER);
        return;
    }
    if (t->snd_wnd == 0 && t->t_persist != 0) {
        /* Zero window: the persist timer probes; nothing else goes out. */
    } else if ((t->flags & TF_SACK) &&
               (t->recovery == TCP_REC_FAST ||
                (t->recovery == TCP_REC_RTO && (t->rflags & RF_RTO_SACK)))) {
        uint64_t before = c->stats.tcp_segs_out;
        tcp_sack_output(c, s);
        sent = (unsigned)(c->stats.tcp_segs_out - before);
    } else {
        sent = tcp_pmtu_probe(c, s, end);   /* PMTU probe first, when due (tcp_pmtu.c) */
        sent += tcp_send_data(c, s, end);
    }
    /* A FIN with no data left to carry it. */
    if ((t->flags & TF_FIN_Q) && t->snd_nxt == t->fin_seq &&
        TCP_SEQ_GEQ(t->snd_nxt, end)) {
        tcp_send_seg(c, s, t->fin_seq, 0, TCP_FIN);
        t->flags |= TF_FIN_SENT;
        t->snd_nxt = t->fin_seq + 1u;
        if (TCP_SEQ_GT(t->snd_nxt, t->snd_max))
            t->snd_max = t->snd_nxt;
        if (t->t_rtx == 0)
            tcp_timer_rtx_arm(c, t);
        sent++;
    }
    /* Data waits but nothing is in flight to bring an ACK: the persist
     * timer probes a zero window and overrides SWS avoidance. */
    if (sent == 0 && TCP_SEQ_LT(t->snd_nxt, end) && t->snd_max == t->snd_una &&
        t->t_persist == 0 && t->t_rtx == 0)
        tcp_persist_arm(c, t);
    if (sent == 0 && ((t->flags & TF_ACKNOW) || tcp_want_wnd_update(c, s)))
        tcp_send_ack(c, s);
}
