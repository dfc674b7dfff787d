/* SPDX-License-Identifier: MIT */
/*
 * TCP input: demultiplexing (connections, TIME-WAIT, listeners) and the
 * RFC 9293 3.10.7 event processing for SYN-SENT and the synchronized
 * states, with the RFC 5961 (challenge ACKs, ACK range check), RFC 7323
 * (PAWS, TS.Recent) and RFC 5927 (ICMP) hardening.
 *
 * Parsing is tcp_parse.c, the listener, SYN queue, cookies and TIME-WAIT
 * tcp_listen.c, received data tcp_rcv.c. Does not build segments
 * (tcp_out.c) or run timers (tcp_timer.c).
 */
#include "tcp_priv.h"

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
    tcp_syn_opts_apply(c, t, sg->mss, sg->ws, sg->sack_ok, sg->ts_ok, sg->tsval);
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

void tcp_syn_opts_apply(struct mcore *c, struct tcp_cb *t, uint16_t mss, uint8_t ws,
                        bool sack_ok, bool ts_ok, uint32_t tsval)
{
    t->mss = tcp_clamp_mss(mss, t->adv_mss);
    t->rcv_mss = t->mss;
    if (ws != TCP_WS_NONE) {
        t->flags |= TF_WS;
        t->snd_wscale = ws;
    } else {
        t->rcv_wscale = 0;      /* RFC 7323 2.2: both sides scale or neither */
    }
    if (sack_ok)
        t->flags |= TF_SACK;
    if (ts_ok) {
        t->flags |= TF_TS;
        t->ts_recent = tsval;
        t->ts_recent_t = c->now;
    }
}

void tcp_process(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
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
