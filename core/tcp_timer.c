/* SPDX-License-Identifier: MIT */
/*
 * TCP timers: retransmission (RFC 6298: estimator, backoff, Karn's rule
 * lives with the sampling in tcp_in.c), SYN and SYN-ACK retransmission,
 * persist with zero-window probes (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17),
 * delayed ACK, keepalive (RFC 1122 4.2.3.6) and the orphaned FIN-WAIT-2
 * limit. Deadlines are absolute microseconds; tcp_poll() (tcp.c) collects
 * the earliest one.
 *
 * Does not hold TIME-WAIT (tcp.c) or congestion state changes beyond
 * calling tcp_cc_rto().
 */
#include "tcp_priv.h"

static uint32_t tcp_rto_min(const struct mcore *c)
{
    return c->cfg.tcp_rto_min_ms * 1000u;
}

static uint32_t tcp_rto_max(const struct mcore *c)
{
    uint32_t m = c->cfg.tcp_rto_max_ms * 1000u;
    return m < tcp_rto_min(c) ? tcp_rto_min(c) : m;
}

/* The RTO deadline moves only when an ACK advances SND.UNA (RFC 6298 5.3),
 * when recovery starts, when a loss probe goes out (RFC 8985 7.3), when it
 * fires (backed off) and when a segment is sent with the timer off;
 * duplicate ACKs and retransmissions never push it back, so a tail that
 * nothing repairs still times out one RTO after the last progress. */
void tcp_timer_rtx_arm(struct mcore *c, struct tcp_cb *t)
{
    t->t_rtx = c->now + t->rto;
}

/* RFC 6298 2.2/2.3, alpha 1/8, beta 1/4; clock granularity 1 ms. */
void tcp_rtt_sample(struct mcore *c, struct tcp_cb *t, uint32_t r)
{
    t->rtt_last = r ? r : 1;
    if (t->srtt == 0) {
        t->srtt = r ? r : 1;
        t->rttvar = r / 2u;
    } else {
        uint32_t d = t->srtt > r ? t->srtt - r : r - t->srtt;
        t->rttvar = t->rttvar - t->rttvar / 4u + d / 4u;
        t->srtt = t->srtt - t->srtt / 8u + r / 8u;
        if (t->srtt == 0)
            t->srtt = 1;
    }
    uint32_t k = 4u * t->rttvar;
    if (k < 1000u)
        k = 1000u;
    uint64_t rto = (uint64_t)t->srtt + k;
    if (rto < tcp_rto_min(c))
        rto = tcp_rto_min(c);
    if (rto > tcp_rto_max(c))
        rto = tcp_rto_max(c);
    t->rto = (uint32_t)rto;
}

static void tcp_backoff(struct mcore *c, struct tcp_cb *t)
{
    uint64_t r = (uint64_t)t->rto * 2u;
    if (r > tcp_rto_max(c))
        r = tcp_rto_max(c);
    t->rto = (uint32_t)r;
}

void tcp_persist_arm(struct mcore *c, struct tcp_cb *t)
{
    uint64_t iv = t->rto;
    for (unsigned i = 0; i < t->persist_shift && iv < tcp_rto_max(c); i++)
        iv *= 2u;
    if (iv < tcp_rto_min(c))
        iv = tcp_rto_min(c);
    if (iv > tcp_rto_max(c))
        iv = tcp_rto_max(c);
    t->t_persist = c->now + iv;
}

static void tcp_on_rtx(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    t->t_rtx = 0;
    if (t->state == TCPS_SYN_SENT || t->state == TCPS_SYN_RCVD) {
        if (++t->retries > c->cfg.tcp_syn_retries) {
            c->stats.tcp_timeouts++;
            tcp_drop(c, s, MOAT_E_TIMEDOUT);
            return;
        }
        tcp_backoff(c, t);
        t->flags |= TF_SYN_RETX;
        c->stats.tcp_retransmits++;
        tcp_send_seg(c, s, t->iss, 0, TCP_SYN);
        tcp_timer_rtx_arm(c, t);
        return;
    }
    if (t->snd_una == t->snd_max)
        return;
    if (++t->retries > c->cfg.tcp_max_retries) {
        c->stats.tcp_timeouts++;
        tcp_drop(c, s, MOAT_E_TIMEDOUT);
        return;
    }
    c->stats.tcp_timeouts++;
    tcp_cc_rto(c, t);
    tcp_pmtu_rto(t);                /* PMTU probing hook (tcp_pmtu.c) */
    tcp_backoff(c, t);
    t->flags &= ~(uint32_t)TF_RTT_ON;
    if (t->rflags & RF_RTO_SACK) {
        /* Resend what is not SACKed, oldest first, as cwnd (1 MSS, then
         * slow start) allows (tcp_sack_output). */
        uint32_t max_before = t->snd_max;
        uint64_t out_before = c->stats.tcp_retransmits;
        tcp_output(c, s);
        if (c->stats.tcp_retransmits == out_before && t->snd_max == max_before)
            tcp_retransmit_at(c, s, t->snd_una, 0);
        tcp_timer_rtx_arm(c, t);
        return;
    }
    /* Go back N from the oldest unacknowledged byte (RFC 5681 3.1 with
     * cwnd = 1 MSS; later ACKs clock out the rest). */
    t->snd_nxt = t->snd_una;
    uint32_t before_nxt = t->snd_nxt;
    tcp_output(c, s);
    if (t->snd_nxt == before_nxt) {
        /* Window closed or the FIN alone: retransmit the first segment
         * regardless (it doubles as a probe). */
        t->snd_nxt = t->snd_una + tcp_retransmit_at(c, s, t->snd_una, 0);
    }
    tcp_timer_rtx_arm(c, t);
}

static void tcp_on_persist(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    t->t_persist = 0;
    if (t->state < TCPS_ESTABLISHED || t->state == TCPS_CLOSING || t->state == TCPS_FIN_WAIT_2)
        return;
    uint32_t end;
    if (tcp_data_end(c, s, &end) != 0)
        return;
    if (t->snd_wnd == 0) {
        if (t->snd_una == t->snd_max && !TCP_SEQ_LT(t->snd_nxt, end))
            return;     /* nothing to probe with */
        if (++t->probes > c->cfg.tcp_max_retries) {
            c->stats.tcp_timeouts++;
            tcp_drop(c, s, MOAT_E_TIMEDOUT);
            return;
        }
        if (t->snd_una != t->snd_max) {
            /* The previous probe byte is still unacknowledged: resend it. */
            tcp_retransmit_at(c, s, t->snd_una, 1);
            t->t_rtx = 0;
        } else {
            /* RFC 9293 3.8.6.1: the probe carries the next new byte. */
            tcp_send_seg(c, s, t->snd_nxt, 1, 0);
            t->snd_nxt++;
            if (TCP_SEQ_GT(t->snd_nxt, t->snd_max))
                t->snd_max = t->snd_nxt;
        }
        if (t->persist_shift < 16)
            t->persist_shift++;
        tcp_persist_arm(c, t);
        return;
    }
    /* Window open but too small for SWS avoidance: the override timer
     * (RFC 9293 3.8.6.2.1) sends what fits. */
    if (!TCP_SEQ_LT(t->snd_nxt, end) || t->snd_max != t->snd_una)
        return;
    uint32_t wedge = t->snd_una + t->snd_wnd;
    uint32_t len = TCP_SEQ_GT(wedge, t->snd_nxt) ? wedge - t->snd_nxt : 0;
    uint32_t unsent = end - t->snd_nxt;
    if (len > unsent)
        len = unsent;
    if (len > t->mss)
        len = t->mss;
    if (len == 0)
        return;
    uint8_t flags = TCP_PSH;
    if ((t->flags & TF_FIN_Q) && t->snd_nxt + len == end)
        flags |= TCP_FIN;
    tcp_send_seg(c, s, t->snd_nxt, len, flags);
    t->snd_nxt += len + ((flags & TCP_FIN) ? 1u : 0u);
    if (flags & TCP_FIN)
        t->flags |= TF_FIN_SENT;
    if (TCP_SEQ_GT(t->snd_nxt, t->snd_max))
        t->snd_max = t->snd_nxt;
    tcp_timer_rtx_arm(c, t);
}

static void tcp_on_keep(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    t->t_keep = 0;
    if (!s->keepalive || (t->state != TCPS_ESTABLISHED && t->state != TCPS_CLOSE_WAIT))
        return;
    uint64_t intvl = (uint64_t)c->cfg.tcp_keepintvl_ms * 1000u;
    if (t->snd_una != t->snd_max) {
        /* Data outstanding: the retransmission timer watches the peer. */
        t->t_keep = c->now + (uint64_t)c->cfg.tcp_keepidle_ms * 1000u;
        return;
    }
    if (t->probes >= c->cfg.tcp_keepcnt) {
        c->stats.tcp_timeouts++;
        tcp_drop(c, s, MOAT_E_TIMEDOUT);
        return;
    }
    t->probes++;
    /* RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT - 1, no data; the peer answers
     * with an ACK. */
    tcp_send_seg(c, s, t->snd_una - 1u, 0, 0);
    t->t_keep = c->now + (intvl ? intvl : 1000000u);
}

uint64_t tcp_timers(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint64_t now = c->now;
    if (t->t_rtx && t->t_rtx <= now)
        tcp_on_rtx(c, s);
    if (t->state == TCPS_CLOSED)
        return MCORE_NEVER;
    if (t->t_lwait && t->t_lwait <= now)
        t->t_lwait = 0;     /* tcp_poll_one's tcp_output tries the link again */
    if ((t->t_rack && t->t_rack <= now) || (t->t_tlp && t->t_tlp <= now))
        tcp_rack_timers(c, s);
    if (t->state == TCPS_CLOSED)
        return MCORE_NEVER;
    if (t->t_persist && t->t_persist <= now)
        tcp_on_persist(c, s);
    if (t->state == TCPS_CLOSED)
        return MCORE_NEVER;
    if (t->t_delack && t->t_delack <= now) {
        t->t_delack = 0;
        t->flags |= TF_ACKNOW;
        tcp_output(c, s);
    }
    if (t->state == TCPS_CLOSED)
        return MCORE_NEVER;
    if (t->t_keep && t->t_keep <= now)
        tcp_on_keep(c, s);
    if (t->state == TCPS_CLOSED)
        return MCORE_NEVER;
    if (t->t_fin2 && t->t_fin2 <= now) {
        t->t_fin2 = 0;
        if (t->state == TCPS_FIN_WAIT_2 && (t->flags & TF_ORPHAN)) {
            tcp_drop(c, s, 0);
            return MCORE_NEVER;
        }
    }
    return MCORE_NEVER;
}

static void tcp_syn_q_send(struct mcore *c, struct tcp_syn *q, uint8_t ws)
{
    struct tcp_ips ips = tcp_ips_syn(q);
    tcp_send_synack_q(c, q, tcp_route_mss(c, &ips), ws);
}

uint64_t tcp_syn_q_poll(struct mcore *c)
{
    struct tcp_state *st = c->tcp;
    uint64_t next = MCORE_NEVER;
    if (st->syn_used == 0)
        return next;
    uint8_t ws = tcp_pick_wscale(c->env.layout.g.sock_rx_bytes);
    for (uint32_t i = 0; i < st->n_syn; i++) {
        struct tcp_syn *q = &st->syn[i];
        if (!q->used)
            continue;
        /* The link refused the last SYN-ACK: it never left, so sending it
         * now is no retransmission. Left to the timeout when that comes
         * first (it sends one anyway). */
        if (q->lwait != 0 && (q->lwait >= q->due || q->due <= c->now))
            q->lwait = 0;
        if (q->lwait != 0 && q->lwait <= c->now)
            tcp_syn_q_send(c, q, ws);
        if (q->due <= c->now) {
            if (++q->retries > c->cfg.tcp_syn_retries) {
                q->used = 0;
                st->syn_used--;
                continue;
            }
            c->stats.tcp_retransmits++;
            tcp_syn_q_send(c, q, ws);
            uint64_t iv = (uint64_t)c->cfg.tcp_rto_init_ms * 1000u << q->retries;
            if (iv > tcp_rto_max(c))
                iv = tcp_rto_max(c);
            q->due = c->now + iv;
        }
        if (q->due < next)
            next = q->due;
        if (q->lwait != 0 && q->lwait < next)
            next = q->lwait;
    }
    return next;
}
