/* SPDX-License-Identifier: MIT */
/*
 * TCP congestion control and loss recovery: slow start and congestion
 * avoidance with byte counting (RFC 5681, RFC 3465), initial window of
 * ten segments (RFC 6928), fast retransmit with NewReno partial-ACK
 * handling (RFC 6582) when the peer does not do SACK, and SACK-based loss
 * recovery (RFC 6675: scoreboard, IsLost, pipe, NextSeg) when it does.
 *
 * Does not parse options (tcp_in.c) or build segments (tcp_out.c).
 */
#include "tcp_priv.h"

void tcp_cc_init(struct mcore *c, struct tcp_cb *t)
{
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
            if (TCP_SEQ_LT(e.l, l))
                l = e.l;
            if (TCP_SEQ_GT(e.r, r))
                r = e.r;
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
static uint32_t tcp_nonsacked(const struct tcp_cb *t, uint32_t a, uint32_t b)
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

/* RFC 6675 IsLost: holes below the returned sequence number are lost
 * (more than (DupThresh-1)*SMSS bytes or DupThresh blocks SACKed above). */
static uint32_t tcp_lost_end(const struct tcp_cb *t)
{
    uint32_t bytes = 0;
    for (unsigned k = t->n_sack; k-- > 0;) {
        bytes += t->sack[k].r - t->sack[k].l;
        if (bytes > (TCP_DUPTHRESH - 1u) * t->mss || t->n_sack - k >= TCP_DUPTHRESH)
            return t->sack[k].l;
    }
    return t->snd_una;
}

static uint32_t tcp_pipe(const struct tcp_cb *t)
{
    uint32_t lost_end = tcp_lost_end(t);
    return tcp_nonsacked(t, lost_end, t->snd_max) +
           tcp_nonsacked(t, t->snd_una, t->high_rxt);
}

/* First non-SACKed byte at or after @p from, and the length of its hole. */
static uint32_t tcp_next_hole(const struct tcp_cb *t, uint32_t from, uint32_t *len)
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

static void tcp_rxt_watch(struct tcp_cb *t)
{
    t->rxt_mark = t->snd_max;
    t->flags |= TF_RXT_WATCH;
}

/*
 * Lost retransmission of the first hole. RFC 6675 alone has only the
 * timeout for it; but once the receiver SACKs more than (DupThresh - 1)
 * segments that we sent after that retransmission, it cannot still be on
 * its way (the same reasoning as IsLost, applied to the retransmission):
 * send it again, within the same recovery episode.
 */
void tcp_sack_check_rxt(struct tcp_cb *t)
{
    if (!(t->flags & TF_RXT_WATCH) || t->recovery != TCP_REC_FAST)
        return;
    uint32_t above = 0;
    for (unsigned i = 0; i < t->n_sack; i++) {
        uint32_t l = t->sack[i].l, r = t->sack[i].r;
        if (TCP_SEQ_LT(l, t->rxt_mark))
            l = t->rxt_mark;
        if (TCP_SEQ_LT(l, r))
            above += r - l;
    }
    if (above > (TCP_DUPTHRESH - 1u) * t->mss) {
        t->flags &= ~(uint32_t)TF_RXT_WATCH;
        t->high_rxt = t->snd_una;   /* NextSeg offers the hole again */
    }
}

void tcp_sack_output(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t end;
    if (t->flags & TF_FIN_Q) {
        end = t->fin_seq;
    } else {
        uint32_t avail = 0;
        if (moat_ring_avail(&s->tx, &avail) != 0)
            return;
        end = t->snd_data + avail;
    }
    for (unsigned guard = 0; guard < 1024; guard++) {
        uint32_t pipe = tcp_pipe(t);
        if (pipe >= t->cwnd || t->cwnd - pipe < t->mss)
            break;
        if (TCP_SEQ_LT(t->high_rxt, t->snd_una))
            t->high_rxt = t->snd_una;
        uint32_t hl = 0;
        uint32_t hole = tcp_next_hole(t, t->high_rxt, &hl);
        uint32_t lost_end = tcp_lost_end(t);
        uint32_t top = t->n_sack ? t->sack[t->n_sack - 1].r : t->snd_una;
        if (hl > 0 && TCP_SEQ_LT(hole, lost_end)) {
            /* (1) a lost hole */
            uint32_t n = tcp_retransmit_at(c, s, hole, hl);
            if (n == 0)
                break;
            if (hole == t->snd_una)
                tcp_rxt_watch(t);
            t->high_rxt = hole + n;
            continue;
        }
        /* (2) new data within the peer's window */
        uint32_t wedge = t->snd_una + t->snd_wnd;
        if (TCP_SEQ_LT(t->snd_max, end) && TCP_SEQ_LT(t->snd_max, wedge)) {
            uint32_t len = end - t->snd_max;
            uint32_t room = wedge - t->snd_max;
            uint32_t seg = t->mss - ((t->flags & TF_TS) ? 12u : 0u) -
                           ((t->n_ooo) ? 4u + 8u * (t->n_ooo > 3 ? 3u : t->n_ooo) : 0u);
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
            tcp_send_seg(c, s, t->snd_nxt, len, flags);
            t->snd_nxt += len + ((flags & TCP_FIN) ? 1u : 0u);
            if (flags & TCP_FIN)
                t->flags |= TF_FIN_SENT;
            t->snd_max = t->snd_nxt;
            continue;
        }
        /* (3) any unSACKed hole below the highest SACKed byte */
        if (hl > 0 && TCP_SEQ_LT(hole, top)) {
            uint32_t n = tcp_retransmit_at(c, s, hole, hl);
            if (n == 0)
                break;
            if (hole == t->snd_una)
                tcp_rxt_watch(t);
            t->high_rxt = hole + n;
            continue;
        }
        break;
    }
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
            t->flags &= ~(uint32_t)TF_RXT_WATCH;
            t->dupacks = 0;
            tcp_cong_on_recovery_end(c, t);
            if (!(t->flags & TF_SACK)) {
                /* RFC 6582 3.2 step 3 (1): min(ssthresh, max(FlightSize,
                 * SMSS) + SMSS) */
                uint32_t fl = tcp_flight(t);
                uint32_t f = (fl > t->mss ? fl : t->mss) + t->mss;
                t->cwnd = f < t->ssthresh ? f : t->ssthresh;
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
        } else if (TCP_SEQ_LT(t->snd_una, t->high_rxt)) {
            /* The new first hole was resent earlier; watch it from now. */
            tcp_rxt_watch(t);
        } else {
            t->flags &= ~(uint32_t)TF_RXT_WATCH;
        }
        tcp_timer_rtx_arm(c, t);
        return;
    }
    t->dupacks = 0;
    if (t->recovery == TCP_REC_NONE)
        t->recover = t->snd_una;    /* trails snd_una so it never wraps past it */
    tcp_cong_on_ack(c, t, acked);
    if (t->recovery == TCP_REC_RTO && TCP_SEQ_GEQ(t->snd_una, t->recover))
        t->recovery = TCP_REC_NONE;
    tcp_cwnd_cap(c, s, t);
}

void tcp_cc_dupack(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->dupacks < 255)
        t->dupacks++;
    if (t->recovery == TCP_REC_FAST) {
        if (!(t->flags & TF_SACK))
            t->cwnd += t->mss;  /* RFC 5681 3.2 step 4: inflate */
        tcp_output(c, s);
        return;
    }
    if (t->recovery == TCP_REC_RTO)
        return;     /* duplicates of what the timeout resends (RFC 6582 3.2 step 2) */
    /* RFC 5827 early retransmit: with fewer than four segments in flight
     * and nothing new to send, three duplicates can never come. */
    unsigned thresh = TCP_DUPTHRESH;
    uint32_t end = t->snd_max;
    if (!(t->flags & TF_FIN_Q)) {
        uint32_t avail = 0;
        if (moat_ring_avail(&s->tx, &avail) == 0)
            end = t->snd_data + avail;
    } else {
        end = t->fin_seq;
    }
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
    int lost = t->dupacks >= thresh ||
               ((t->flags & TF_SACK) && tcp_lost_end(t) != t->snd_una);
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
    t->recover = t->snd_max;
    t->recovery = TCP_REC_FAST;
    if (t->flags & TF_SACK) {
        /* RFC 6675 5 step 4: cwnd = ssthresh, retransmit the first hole,
         * then let pipe decide. */
        t->cwnd = t->ssthresh;
        uint32_t hl = 0;
        uint32_t hole = tcp_next_hole(t, t->snd_una, &hl);
        t->high_rxt = hole + tcp_retransmit_at(c, s, hole, hl);
        if (hole == t->snd_una)
            tcp_rxt_watch(t);
        tcp_timer_rtx_arm(c, t);
        tcp_output(c, s);
    } else {
        tcp_retransmit_at(c, s, t->snd_una, 0);
        t->cwnd = t->ssthresh + TCP_DUPTHRESH * t->mss;
        tcp_timer_rtx_arm(c, t);
        tcp_output(c, s);
    }
}

void tcp_cc_rto(struct mcore *c, struct tcp_cb *t)
{
    /* RFC 5681 3.1 (4): ssthresh once per timeout series, cwnd = 1 SMSS. */
    tcp_cong_on_rto(c, t, t->retries <= 1);
    t->recovery = TCP_REC_RTO;
    t->flags &= ~(uint32_t)TF_RXT_WATCH;
    t->recover = t->snd_max;
    t->dupacks = 0;
    /* RFC 2018 8: forget SACK information after a timeout. */
    tcp_sack_clear(t);
}
