/* SPDX-License-Identifier: MIT */
/*
 * TCP loss recovery: fast retransmit with NewReno partial-ACK handling
 * (RFC 6582) when the peer does not do SACK, and SACK-based recovery when
 * it does: the scoreboard and pipe of RFC 6675, with RACK (tcp_rack.c)
 * deciding what is lost, PRR (RFC 6937) deciding how much is sent per ACK,
 * and the RFC 6675 rescue retransmission. The window policy itself (slow
 * start, congestion avoidance, ssthresh) is tcp_cong.c's.
 *
 * Does not parse options (tcp_in.c) or build segments (tcp_out.c).
 */
#include "tcp_priv.h"

void tcp_cc_init(struct mcore *c, struct tcp_cb *t)
{
    tcp_rack_init(t);
    t->cwnd = 0;
    t->recovery = TCP_REC_NONE;
    t->dupacks = 0;
    t->n_sack = 0;
    tcp_cong_init(c, t);
}

uint32_t tcp_flight(const struct tcp_cb *t)
{
    return t->snd_max - t->snd_una;
}

static void tcp_cwnd_cap(struct mcore *c, struct msock *s, struct tcp_cb *t)
{
    /* A congestion window far beyond what the send ring can hold is
     * meaningless and only risks overflow. */
    uint32_t cap = 2u * s->tx.cap + 16u * t->mss;
    (void)c;
    if (t->cwnd > cap)
        t->cwnd = cap;
    if (t->cwnd < t->mss)
        t->cwnd = t->mss;
}

/* ---- SACK scoreboard (ranges above snd_una, sorted, disjoint) --------- */

void tcp_sack_clear(struct tcp_cb *t)
{
    t->n_sack = 0;
}

uint32_t tcp_sacked_bytes(const struct tcp_cb *t)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < t->n_sack; i++)
        n += t->sack[i].r - t->sack[i].l;
    return n;
}

/* Drop what the cumulative ACK covers. */
static void tcp_sack_trim(struct tcp_cb *t)
{
    unsigned j = 0;
    for (unsigned i = 0; i < t->n_sack; i++) {
        struct tcp_range r = t->sack[i];
        if (TCP_SEQ_LEQ(r.r, t->snd_una))
            continue;
        if (TCP_SEQ_LT(r.l, t->snd_una))
            r.l = t->snd_una;
        t->sack[j++] = r;
    }
    t->n_sack = (uint8_t)j;
}

static void tcp_sack_insert(struct tcp_cb *t, uint32_t l, uint32_t r)
{
    /* Merge with every range it touches. */
    unsigned j = 0;
    struct tcp_range out[TCP_SACK_MAX + 1];
    int placed = 0;
    for (unsigned i = 0; i < t->n_sack; i++) {
        struct tcp_range e = t->sack[i];
        if (TCP_SEQ_LT(e.r, l)) {
            out[j++] = e;
        } else if (TCP_SEQ_GT(e.l, r)) {
            if (!placed) {
                out[j++] = (struct tcp_range){ l, r };
                placed = 1;
            }
            out[j++] = e;
        } else {
            tcp_range_widen(&l, &r, &e);
        }
    }
    if (!placed)
        out[j++] = (struct tcp_range){ l, r };
    if (j > TCP_SACK_MAX)
        j = TCP_SACK_MAX;   /* forget the highest block; it will be reported again */
    memcpy(t->sack, out, j * sizeof(out[0]));
    t->n_sack = (uint8_t)j;
}

void tcp_sack_update(struct tcp_cb *t, const struct tcp_seg *sg)
{
    tcp_sack_trim(t);
    for (unsigned i = 0; i < sg->n_sack; i++) {
        uint32_t l = sg->sack[i].l, r = sg->sack[i].r;
        /* Ignore D-SACKs and blocks for data never sent (RFC 2883, 6675). */
        if (!TCP_SEQ_LT(l, r) || TCP_SEQ_LEQ(r, t->snd_una) || TCP_SEQ_GT(r, t->snd_max))
            continue;
        if (TCP_SEQ_LT(l, t->snd_una))
            l = t->snd_una;
        tcp_sack_insert(t, l, r);
    }
}

/* Bytes in [a, b) that are not SACKed. */
uint32_t tcp_nonsacked(const struct tcp_cb *t, uint32_t a, uint32_t b)
{
    if (!TCP_SEQ_LT(a, b))
        return 0;
    uint32_t n = b - a;
    for (unsigned i = 0; i < t->n_sack; i++) {
        uint32_t l = t->sack[i].l, r = t->sack[i].r;
        if (TCP_SEQ_LT(l, a))
            l = a;
        if (TCP_SEQ_GT(r, b))
            r = b;
        if (TCP_SEQ_LT(l, r))
            n -= r - l;
    }
    return n;
}

/* RFC 6675 pipe with RACK's notion of lost: every byte sent and neither
 * SACKed nor marked lost (a retransmitted byte is in flight again). */
static uint32_t tcp_pipe(const struct tcp_cb *t)
{
    uint32_t out = tcp_nonsacked(t, t->snd_una, t->snd_max);
    uint32_t lost = tcp_rack_lost_bytes(t);
    return out > lost ? out - lost : 0;
}

uint32_t tcp_next_hole(const struct tcp_cb *t, uint32_t from, uint32_t *len)
{
    uint32_t s = from;
    for (unsigned i = 0; i < t->n_sack; i++) {
        const struct tcp_range *r = &t->sack[i];
        if (TCP_SEQ_LEQ(r->r, s))
            continue;
        if (TCP_SEQ_LEQ(r->l, s)) {
            s = r->r;
            continue;
        }
        *len = r->l - s;
        return s;
    }
    *len = TCP_SEQ_LT(s, t->snd_max) ? t->snd_max - s : 0;
    return s;
}

/*
 * Transmission during SACK recovery (RFC 6675 5 with RACK deciding what is
 * lost, RFC 8985 6.3): while pipe is below cwnd (which PRR sets, see
 * tcp_prr), send (1) the first range RACK marked lost, else (2) new data
 * within the peer's window, else (3) once per recovery the RFC 6675 rescue
 * retransmission: the last segment before snd_max, if it is not SACKed.
 * Rule (3) repairs a loss at the tail of the recovery window, which RACK
 * cannot see (nothing after it is delivered) and TLP does not probe during
 * recovery.
 */
void tcp_sack_output(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t end;
    if (tcp_data_end(c, s, &end) != 0)
        return;
    for (unsigned guard = 0; guard < 1024; guard++) {
        if (tcp_pipe(t) >= t->cwnd)
            break;
        uint32_t hl = 0;
        uint32_t hole = tcp_rack_next_lost(t, t->snd_una, &hl);
        if (hl > 0) {
            /* (1) a lost range */
            if (tcp_retransmit_try(c, s, hole, hl) == 0)
                break;
            continue;
        }
        /* (2) new data within the peer's window */
        uint32_t wedge = t->snd_una + t->snd_wnd;
        if (TCP_SEQ_LT(t->snd_max, end) && TCP_SEQ_LT(t->snd_max, wedge)) {
            uint32_t len = end - t->snd_max;
            uint32_t room = wedge - t->snd_max;
            uint32_t seg = t->mss - tcp_opt_len(t);
            if (len > seg)
                len = seg;
            if (len > room)
                len = room;
            uint8_t flags = 0;
            if (t->snd_max + len == end) {
                flags |= TCP_PSH;
                if (t->flags & TF_FIN_Q)
                    flags |= TCP_FIN;
            }
            t->snd_nxt = t->snd_max;
            if (tcp_link_blocked(c, t, tcp_send_seg(c, s, t->snd_nxt, len, flags)))
                break;
            t->snd_nxt += len + ((flags & TCP_FIN) ? 1u : 0u);
            if (flags & TCP_FIN)
                t->flags |= TF_FIN_SENT;
            t->snd_max = t->snd_nxt;
            continue;
        }
        /* (3) rescue retransmission (RFC 6675 4, NextSeg rule 4) */
        if (t->recovery == TCP_REC_FAST && !(t->rflags & RF_RESCUE) &&
            TCP_SEQ_LT(t->snd_una, t->snd_max)) {
            /* One segment ending at the highest unSACKed byte. */
            uint32_t last = t->snd_max;
            if (t->n_sack > 0 && t->sack[t->n_sack - 1u].r == last)
                last = t->sack[t->n_sack - 1u].l;
            if ((t->flags & TF_FIN_SENT) && last == t->fin_seq + 1u)
                last = t->fin_seq;
            if (!TCP_SEQ_GT(last, t->snd_una))
                break;
            uint32_t seg = t->mss - tcp_opt_len(t);
            uint32_t n = last - t->snd_una;
            uint32_t start = last - (n < seg ? n : seg);
            t->rflags |= RF_RESCUE;     /* RescueRxt: once per recovery */
            tcp_retransmit_at(c, s, start, last - start);
        }
        break;
    }
}

void tcp_cc_enter_recovery(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    c->stats.tcp_fast_retransmits++;
    tcp_cong_on_congestion(c, t);
    tcp_rack_episode(t);
    t->recover = t->snd_max;
    t->recovery = TCP_REC_FAST;
    t->t_tlp = 0;
    /* Recovery responds to the congestion an unresolved probe might have
     * revealed; do not respond twice. */
    t->rflags &= (uint16_t)~(RF_TLP | RF_TLP_RETX);
    /* RFC 6937 3: PRR starts counting. */
    t->prr_delivered = 0;
    t->prr_out = 0;
    t->recover_fs = tcp_flight(t);
    tcp_timer_rtx_arm(c, t);
}

/*
 * RFC 6937 PRR with slow-start reduction bound (PRR-SSRB): @p delivered
 * bytes reached the receiver with this ACK (cumulatively or newly SACKed).
 * While pipe is above ssthresh, send in proportion ssthresh / RecoverFS of
 * what was delivered; below it, grow back toward ssthresh no faster than
 * slow start. The result is expressed as cwnd = pipe + sndcnt, which
 * tcp_sack_output then fills. The first retransmission of an episode goes
 * out whatever the formula says (as RFC 6675 5 step 4 demands).
 */
static void tcp_prr(struct tcp_cb *t, uint32_t delivered)
{
    t->prr_delivered += delivered;
    uint32_t pipe = tcp_pipe(t);
    int64_t sndcnt;
    if (pipe > t->ssthresh) {
        uint64_t fs = t->recover_fs ? t->recover_fs : 1u;
        uint64_t want = ((uint64_t)t->prr_delivered * t->ssthresh + fs - 1u) / fs;
        sndcnt = (int64_t)want - (int64_t)t->prr_out;
    } else {
        int64_t limit = (int64_t)t->prr_delivered - (int64_t)t->prr_out;
        if (limit < (int64_t)delivered)
            limit = delivered;
        limit += t->mss;
        sndcnt = (int64_t)t->ssthresh - (int64_t)pipe;
        if (sndcnt > limit)
            sndcnt = limit;
    }
    if (sndcnt < 0)
        sndcnt = 0;
    if (t->prr_out == 0 && sndcnt < t->mss)
        sndcnt = t->mss;
    uint64_t cw = (uint64_t)pipe + (uint64_t)sndcnt;
    t->cwnd = cw > 0xffffffffu ? 0xffffffffu : (uint32_t)cw;
}

void tcp_cc_sack_ack(struct mcore *c, struct msock *s, uint32_t delivered)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (!(t->flags & TF_SACK) || t->state < TCPS_ESTABLISHED)
        return;
    if (t->recovery == TCP_REC_RTO) {
        /* Timeout recovery on the scoreboard: RACK still finds lost
         * retransmissions; cwnd grows by slow start (tcp_cc_ack). */
        if (t->rflags & RF_RTO_SACK) {
            tcp_rack_detect(c, t);
            tcp_output(c, s);
        }
        return;
    }
    tcp_rack_detect(c, t);
    if (t->recovery == TCP_REC_NONE) {
        if (tcp_rack_lost_bytes(t) == 0)
            return;
        tcp_cc_enter_recovery(c, s);
    }
    tcp_prr(t, delivered);
    tcp_output(c, s);
}

/* ---- ACK-driven window updates ------------------------------------------ */

void tcp_cc_ack(struct mcore *c, struct msock *s, uint32_t ack, uint32_t acked)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    (void)ack;
    tcp_sack_trim(t);
    if (t->recovery == TCP_REC_FAST) {
        if (TCP_SEQ_GEQ(t->snd_una, t->recover)) {
            /* Full ACK: leave recovery (RFC 6582 3.2 step 3, RFC 6675 5). */
            t->recovery = TCP_REC_NONE;
            t->dupacks = 0;
            t->rflags &= (uint16_t)~(RF_TLP | RF_TLP_RETX);  /* a probe of recovery */
            tcp_cong_on_recovery_end(c, t);
            if (!(t->flags & TF_SACK)) {
                /* RFC 6582 3.2 step 3 (1): min(ssthresh, max(FlightSize,
                 * SMSS) + SMSS) */
                uint32_t fl = tcp_flight(t);
                uint32_t f = (fl > t->mss ? fl : t->mss) + t->mss;
                t->cwnd = f < t->ssthresh ? f : t->ssthresh;
            } else if (t->reo_persist > 0 && --t->reo_persist == 0) {
                t->reo_mult = 1;    /* RFC 8985 6.2.4: no D-SACK for 16 recoveries */
            }
            tcp_cwnd_cap(c, s, t);
            return;
        }
        /* Partial ACK. */
        if (!(t->flags & TF_SACK)) {
            /* RFC 6582 3.2 step 4: retransmit the next hole at once,
             * deflate by what was acknowledged, add back one SMSS. */
            t->cwnd = t->cwnd > acked ? t->cwnd - acked : 0;
            if (acked >= t->mss)
                t->cwnd += t->mss;
            tcp_cwnd_cap(c, s, t);
            tcp_retransmit_at(c, s, t->snd_una, 0);
        }
        tcp_timer_rtx_arm(c, t);
        return;
    }
    t->dupacks = 0;
    if (t->recovery == TCP_REC_NONE)
        t->recover = t->snd_una;    /* trails snd_una so it never wraps past it */
    tcp_cong_on_ack(c, t, acked);
    if (t->recovery == TCP_REC_RTO && TCP_SEQ_GEQ(t->snd_una, t->recover)) {
        t->recovery = TCP_REC_NONE;
        t->rflags &= (uint16_t)~RF_RTO_SACK;
    }
    tcp_cwnd_cap(c, s, t);
}

void tcp_cc_dupack(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->dupacks < 255)
        t->dupacks++;
    if (t->recovery == TCP_REC_FAST) {
        if (!(t->flags & TF_SACK)) {
            t->cwnd += t->mss;  /* RFC 5681 3.2 step 4: inflate */
            tcp_output(c, s);
        }
        return;     /* with SACK: tcp_cc_sack_ack */
    }
    if (t->recovery == TCP_REC_RTO)
        return;     /* duplicates of what the timeout resends (RFC 6582 3.2 step 2) */
    /* RFC 5827 early retransmit: with fewer than four segments in flight
     * and nothing new to send, three duplicates can never come. */
    unsigned thresh = TCP_DUPTHRESH;
    uint32_t end;
    if (tcp_data_end(c, s, &end) != 0)
        end = t->snd_max;       /* the ring lies: no new data to count on */
    uint32_t wedge = t->snd_una + t->snd_wnd;
    uint32_t smss = t->mss - ((t->flags & TF_TS) ? 12u : 0u);
    int can_send = TCP_SEQ_LT(t->snd_max, end) && TCP_SEQ_GT(wedge, t->snd_max) &&
                   wedge - t->snd_max >= smss;
    if (!can_send) {
        /* Also when the peer's window leaves no room for a new segment:
         * either way no further duplicates can be produced. */
        uint32_t segs = (tcp_flight(t) + smss - 1u) / smss;
        if (segs < 4u)
            thresh = segs > 2u ? segs - 1u : 1u;
    }
    /* With SACK, RACK (tcp_rack.c) alone decides what is lost: counting
     * duplicates would call every reordering deeper than three segments a
     * loss. Limited transmit still applies. */
    int lost = !(t->flags & TF_SACK) && t->dupacks >= thresh;
    if (!lost || !TCP_SEQ_GEQ(t->snd_una, t->recover)) {
        if (t->dupacks <= 2 && can_send) {
            /* RFC 3042 limited transmit: one new segment per duplicate
             * ACK, outside cwnd (which itself does not change), so that a
             * small window still produces enough duplicates. */
            uint32_t save = t->cwnd;
            t->cwnd = (t->snd_nxt - t->snd_una) + t->mss;
            tcp_output(c, s);
            t->cwnd = save;
        }
        return;
    }
    c->stats.tcp_fast_retransmits++;
    tcp_cong_on_congestion(c, t);
    tcp_rack_episode(t);
    t->recover = t->snd_max;
    t->recovery = TCP_REC_FAST;
    tcp_retransmit_at(c, s, t->snd_una, 0);
    t->cwnd = t->ssthresh + TCP_DUPTHRESH * t->mss;
    tcp_timer_rtx_arm(c, t);
    tcp_output(c, s);
}

void tcp_cc_rto(struct mcore *c, struct tcp_cb *t)
{
    /* RFC 5681 3.1 (4): ssthresh once per timeout series, cwnd = 1 SMSS. */
    int first = t->retries <= 1;
    tcp_cong_on_rto(c, t, first);
    if (first || t->recovery != TCP_REC_RTO)
        tcp_rack_episode(t);
    t->recovery = TCP_REC_RTO;
    t->recover = t->snd_max;
    t->dupacks = 0;
    /* With SACK, the first timeout of a series keeps the scoreboard and
     * resends only what is not SACKed, RACK watching the retransmissions
     * (RFC 8985 6.3, as Linux does). A second timeout in a row may mean
     * the receiver reneged: then, as RFC 2018 8 says, forget SACK
     * information and go back N from SND.UNA. */
    if ((t->flags & TF_SACK) && first && t->n_txr > 0) {
        t->rflags |= RF_RTO_SACK;
        tcp_rack_rto(c, t, 1);
    } else {
        t->rflags &= (uint16_t)~RF_RTO_SACK;
        tcp_sack_clear(t);
        tcp_rack_rto(c, t, 0);
    }
}
