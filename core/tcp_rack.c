/* SPDX-License-Identifier: MIT */
/*
 * TCP loss detection for SACK connections and spurious-retransmission
 * handling for all:
 *
 *   - RACK (RFC 8985 6): a segment is lost once a segment sent after it has
 *     been delivered and a reordering window has passed. Needs the time
 *     each byte was last sent: txr[], a fixed array of time-stamped
 *     sequence ranges per connection (see below).
 *   - TLP (RFC 8985 7): when the sender falls silent with data in flight,
 *     a probe after about two round trips (new data, or the last segment
 *     again) brings the SACK that lets RACK repair a tail loss without
 *     waiting for the retransmission timeout.
 *   - D-SACK (RFC 2883): the receiver reports duplicate data in the first
 *     SACK block (tcp_dsack_note, encoded by tcp_out.c); the sender counts
 *     the duplicates of its retransmissions (RFC 3708): when every
 *     retransmission of an episode was a duplicate, the congestion
 *     response is undone. D-SACKs also widen RACK's reordering window
 *     (RFC 8985 6.2.4).
 *   - Eifel detection (RFC 3522) with the RFC 4015 response: the first ACK
 *     after the first retransmission echoes a TSval older than that
 *     retransmission, so the original arrived: undo.
 *
 * Transmit-time ranges: txr[0..n_txr) partitions [snd_una, txr_top) in
 * sequence order; range i covers [txr[i].l, txr[i + 1].l) (the last one up
 * to txr_top) and all of its bytes were last sent at txr[i].t (c->now
 * truncated to 32 bits: differences are valid for 35 minutes, longer than
 * any segment stays unacknowledged). Segments sent at the same microsecond
 * share a range; a retransmission splits the range it lands in. When the
 * array is full, the two neighbours closest in time are merged; the range
 * then keeps both the latest time (t) and the earliest (t0), and each
 * role uses the one that errs towards "not lost": a range judged for loss
 * counts as sent at t (its deadline comes later, never too early), and a
 * delivered range counts as sent at t0 for RACK's most recent delivery
 * (RACK.xmit_ts earlier and RACK.rtt longer: fewer ranges count as sent
 * before it, and their deadlines come later). Taking t for both made
 * RACK.rtt short by up to a range's span (measured: RACK.rtt 20-39 ms on a
 * path whose minimum is 42 ms), so segments only reordered within the
 * reordering window were declared lost and resent. TCP_TXR_MAX = 8
 * ranges cost 104 bytes per connection; all RACK/TLP/PRR/undo state
 * together adds 200 bytes to struct tcp_cb (400 -> 600 bytes on x86-64).
 * No allocation, no scan longer than the array.
 *
 * What this file does not do: choose what to send during recovery and how
 * much (tcp_cc.c: PRR, RFC 6675 rescue), change ssthresh (tcp_cong.c).
 */
#include "tcp_priv.h"

static int32_t tdiff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

void tcp_rack_init(struct tcp_cb *t)
{
    t->n_txr = 0;
    t->rflags = 0;
    t->reo_mult = 1;
    t->reo_persist = 0;
    t->undo_retrans = 0;
    t->t_rack = 0;
    t->t_tlp = 0;
}

/* ---- transmit-time ranges --------------------------------------------------- */

static uint32_t txr_end(const struct tcp_cb *t, unsigned i)
{
    return i + 1u < t->n_txr ? t->txr[i + 1u].l : t->txr_top;
}

static void txr_remove(struct tcp_cb *t, unsigned i)
{
    for (unsigned k = i; k + 1u < t->n_txr; k++) {
        t->txr[k] = t->txr[k + 1u];
        t->txr_f[k] = t->txr_f[k + 1u];
    }
    t->n_txr--;
}

/* Merge range i + 1 into range i: the later time, lost only if both were,
 * retransmitted if either was; approximate (TXR_APPROX) when the times
 * differed, since part of it was then sent earlier than its time says. */
static void txr_merge(struct tcp_cb *t, unsigned i)
{
    uint8_t a = t->txr_f[i], b = t->txr_f[i + 1u];
    uint8_t approx = (uint8_t)((a | b) & TXR_APPROX);
    if (t->txr[i + 1u].t != t->txr[i].t)
        approx = TXR_APPROX;
    if (tdiff(t->txr[i + 1u].t, t->txr[i].t) > 0)
        t->txr[i].t = t->txr[i + 1u].t;
    if (tdiff(t->txr[i + 1u].t0, t->txr[i].t0) < 0)
        t->txr[i].t0 = t->txr[i + 1u].t0;
    t->txr_f[i] = (uint8_t)((a & b & TXR_LOST) | ((a | b) & TXR_RETX) | approx);
    txr_remove(t, i + 1u);
}

/* Free entries until @p need more fit. */
static void txr_room(struct tcp_cb *t, unsigned need)
{
    while (t->n_txr + need > TCP_TXR_MAX && t->n_txr >= 2) {
        unsigned best = 0;
        uint32_t gap = 0xffffffffu;
        for (unsigned i = 0; i + 1u < t->n_txr; i++) {
            int32_t d = tdiff(t->txr[i + 1u].t, t->txr[i].t);
            uint32_t g = d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;
            if (g < gap) {
                gap = g;
                best = i;
            }
        }
        txr_merge(t, best);
    }
}

/* Index of the range holding @p seq, or -1. */
static int txr_find(const struct tcp_cb *t, uint32_t seq)
{
    for (unsigned i = 0; i < t->n_txr; i++)
        if (TCP_SEQ_GEQ(seq, t->txr[i].l) && TCP_SEQ_LT(seq, txr_end(t, i)))
            return (int)i;
    return -1;
}

/* Make @p seq the start of a range (the caller made room for one). */
static void txr_split(struct tcp_cb *t, uint32_t seq)
{
    int i = txr_find(t, seq);
    if (i < 0 || t->txr[i].l == seq || t->n_txr >= TCP_TXR_MAX)
        return;
    for (unsigned k = t->n_txr; k > (unsigned)i + 1u; k--) {
        t->txr[k] = t->txr[k - 1u];
        t->txr_f[k] = t->txr_f[k - 1u];
    }
    t->txr[i + 1] = (struct tcp_txr){ seq, t->txr[i].t, t->txr[i].t0 };
    t->txr_f[i + 1] = t->txr_f[i];
    t->n_txr++;
}

/* Forget what the cumulative ACK @p una covers. */
static void txr_trim(struct tcp_cb *t, uint32_t una)
{
    if (t->n_txr == 0)
        return;
    if (TCP_SEQ_GEQ(una, t->txr_top)) {
        t->n_txr = 0;
        t->txr_top = una;
        return;
    }
    while (t->n_txr > 1 && TCP_SEQ_LEQ(t->txr[1].l, una))
        txr_remove(t, 0);
    if (TCP_SEQ_LT(t->txr[0].l, una))
        t->txr[0].l = una;
}

void tcp_rack_episode(struct tcp_cb *t)
{
    t->undo_lo = t->snd_una;
    t->undo_hi = t->snd_max;
    t->undo_retrans = 0;
    t->rflags |= RF_UNDO;
    t->rflags &= (uint16_t)~(RF_EIFEL | RF_RESCUE);
}

void tcp_rack_sent(struct mcore *c, struct tcp_cb *t, uint32_t seq, uint32_t len)
{
    int retx = TCP_SEQ_LT(seq, t->snd_max);
    if (retx && (t->rflags & RF_UNDO)) {
        /* Eifel: the TSval of the episode's first retransmission, if it
         * repairs the oldest hole (so the next ACK that advances is for
         * it or its original). */
        if (t->undo_retrans == 0 && (t->flags & TF_TS) && seq == t->snd_una) {
            t->eifel_ts = tcp_ts_now(c, t);
            t->rflags |= RF_EIFEL;
        }
        if (t->undo_retrans < 0xffffu)
            t->undo_retrans++;
    }
    if (t->recovery == TCP_REC_FAST)
        t->prr_out += len;
    if (!(t->flags & TF_SACK))
        return;
    if (retx && t->recovery == TCP_REC_FAST)
        tcp_tlp_arm(c, t);      /* a probe also watches recovery's last send */
    uint32_t now = (uint32_t)c->now;
    uint32_t end = seq + len;
    if (t->n_txr == 0) {
        t->txr_top = t->snd_una;
        if (!(t->rflags & RF_RTT))
            t->rack_fack = t->snd_una;
    }
    if (TCP_SEQ_LT(seq, t->snd_una))
        seq = t->snd_una;
    if (!TCP_SEQ_LT(seq, end))
        return;
    if (TCP_SEQ_LT(seq, t->txr_top)) {
        /* (Part of) a retransmission: one range [seq, hi) sent now. */
        uint32_t hi = TCP_SEQ_GT(end, t->txr_top) ? t->txr_top : end;
        txr_room(t, 2);
        txr_split(t, seq);
        txr_split(t, hi);
        int i = txr_find(t, seq);
        if (i >= 0) {
            while ((unsigned)i + 1u < t->n_txr && TCP_SEQ_LT(t->txr[i + 1].l, hi))
                txr_remove(t, (unsigned)i + 1u);
            t->txr[i].t = now;
            t->txr[i].t0 = now;
            t->txr_f[i] = TXR_RETX;
        }
        if (TCP_SEQ_GT(end, t->txr_top))
            t->txr_top = end;   /* ran past the top: the last range grows */
        return;
    }
    /* New data (after a timeout, go-back-N resends count as "new" here
     * but are marked retransmitted). */
    uint8_t f = retx ? TXR_RETX : 0u;
    if (t->n_txr > 0 && t->txr[t->n_txr - 1u].t == now && t->txr_f[t->n_txr - 1u] == f) {
        t->txr_top = end;
    } else {
        txr_room(t, 1);
        t->txr[t->n_txr] = (struct tcp_txr){ t->txr_top, now, now };
        t->txr_f[t->n_txr] = f;
        t->n_txr++;
        t->txr_top = end;
    }
    if (!retx)
        tcp_tlp_arm(c, t);
}

/* ---- RACK ------------------------------------------------------------------ */

/* RFC 8985 6.2 step 4: reo_wnd = min(reo_mult * min_RTT / 4, SRTT), 0
 * while no reordering was seen and either recovery is on or DupThresh
 * segments are SACKed. min_RTT is the smallest sample of the connection.
 * Deviation for paths of a few microseconds (a TAP, the shared-memory
 * wire): once reordering was seen, a step is at least TCP_REO_STEP_US
 * and the bound at least TCP_REO_BOUND_US, because SRTT (from millisecond
 * timestamps) and min_RTT there are far below the time a frame can be
 * held back, and each spurious retransmission costs a D-SACK round and
 * an undo. */
#define TCP_REO_STEP_US  250u
#define TCP_REO_BOUND_US 1000u
static uint32_t rack_reo_wnd(const struct tcp_cb *t)
{
    uint32_t step = t->min_rtt / 4u;
    uint32_t bound = t->srtt > t->min_rtt ? t->srtt : t->min_rtt;
    if (!(t->rflags & RF_REORD)) {
        if (t->recovery != TCP_REC_NONE)
            return 0;
        if (tcp_sacked_bytes(t) >= TCP_DUPTHRESH * (uint32_t)t->mss)
            return 0;
    } else {
        if (step < TCP_REO_STEP_US)
            step = TCP_REO_STEP_US;
        if (bound < TCP_REO_BOUND_US)
            bound = TCP_REO_BOUND_US;
    }
    uint64_t w = (uint64_t)t->reo_mult * step;
    return w < bound ? (uint32_t)w : bound;
}

/* [a, b) was delivered by this ACK: RFC 8985 6.2 steps 1-3 for each range
 * it touches. @p fack: highest sequence delivered before this ACK. */
static void rack_deliver(struct mcore *c, struct tcp_cb *t, uint32_t a, uint32_t b,
                         uint32_t fack)
{
    uint32_t now = (uint32_t)c->now;
    for (unsigned i = 0; i < t->n_txr; i++) {
        uint32_t l = t->txr[i].l, e = txr_end(t, i);
        if (!TCP_SEQ_LT(l, b) || !TCP_SEQ_GT(e, a))
            continue;
        uint32_t ee = TCP_SEQ_LT(e, b) ? e : b;
        uint32_t ti = t->txr[i].t;
        int32_t rtt = tdiff(now, ti);
        if (rtt < 0)
            rtt = 0;
        if (t->txr_f[i] & TXR_RETX) {
            /* Step 1: an ACK faster than the path's minimum RTT must be
             * for the original transmission, not this one. */
            if ((t->rflags & RF_RTT) && (uint32_t)rtt < t->min_rtt)
                continue;
        } else {
            /* A merged range's time is that of its latest part: a sample
             * from it can be shorter than any real round trip, and a
             * min_RTT too small shrinks every reo_wnd step (measured on
             * 20 ms + 0..10 ms reordering each way: min_RTT 22.6 ms on a
             * 40 ms path, reo_wnd never covering the reordering, 2,000
             * spurious retransmissions per 16 MiB). Only exact times
             * lower min_RTT. */
            if (!(t->rflags & RF_RTT) ||
                (!(t->txr_f[i] & TXR_APPROX) && (uint32_t)rtt < t->min_rtt))
                t->min_rtt = (uint32_t)rtt;
            /* Step 3: delivered below what was already delivered, never
             * retransmitted: the network reordered it. */
            if ((t->rflags & RF_RTT) && TCP_SEQ_LT(ee, fack))
                t->rflags |= RF_REORD;
        }
        /* Steps 2-3 (RACK.xmit_ts, RACK.rtt): a merged range counts as
         * sent at its earliest time (see the top of the file). */
        uint32_t t0 = t->txr[i].t0;
        int32_t rtt0 = tdiff(now, t0);
        if (!(t->rflags & RF_RTT) || tdiff(t0, t->rack_t) > 0 ||
            (t0 == t->rack_t && TCP_SEQ_GT(ee, t->rack_end))) {
            t->rack_t = t0;
            t->rack_end = ee;
            t->rack_rtt = rtt0 > 0 ? (uint32_t)rtt0 : 0u;
        }
        t->rflags |= RF_RTT;
    }
}

/* The parts of [a, b) not covered by the (sorted) ranges @p old. */
static void rack_deliver_new(struct mcore *c, struct tcp_cb *t, uint32_t a, uint32_t b,
                             const struct tcp_range *old, unsigned n_old, uint32_t fack)
{
    uint32_t cur = a;
    for (unsigned i = 0; i < n_old && TCP_SEQ_LT(cur, b); i++) {
        if (TCP_SEQ_LEQ(old[i].r, cur))
            continue;
        if (TCP_SEQ_GEQ(old[i].l, b))
            break;
        if (TCP_SEQ_GT(old[i].l, cur))
            rack_deliver(c, t, cur, old[i].l, fack);
        cur = old[i].r;
    }
    if (TCP_SEQ_LT(cur, b))
        rack_deliver(c, t, cur, b, fack);
}

uint32_t tcp_rack_detect(struct mcore *c, struct tcp_cb *t)
{
    t->t_rack = 0;
    if (!(t->flags & TF_SACK) || !(t->rflags & RF_RTT) || t->n_txr == 0)
        return 0;
    uint32_t now = (uint32_t)c->now;
    uint32_t reo = rack_reo_wnd(t);
    /* Within the range sent at rack_t, only what lies below rack_end was
     * sent before the delivered segment. */
    int k = txr_find(t, t->rack_end);
    if (k >= 0 && t->txr[k].t == t->rack_t && t->txr[k].t0 == t->rack_t &&
        t->txr[k].l != t->rack_end) {
        txr_room(t, 1);
        txr_split(t, t->rack_end);
    }
    uint32_t newly = 0;
    int64_t timeout = 0;
    for (unsigned i = 0; i < t->n_txr; i++) {
        if (t->txr_f[i] & TXR_LOST)
            continue;
        uint32_t l = t->txr[i].l, e = txr_end(t, i);
        uint32_t ti = t->txr[i].t;
        /* Sent before the delivered segment: earlier, or at the same
         * time and lower in sequence (one burst), unless it is a
         * retransmission (sent after everything of its time). */
        int before = tdiff(t->rack_t, ti) > 0 ||
                     (ti == t->rack_t && !(t->txr_f[i] & TXR_RETX) &&
                      TCP_SEQ_LEQ(e, t->rack_end));
        if (!before)
            continue;
        uint32_t holes = tcp_nonsacked(t, l, e);
        if (holes == 0)
            continue;
        int64_t remaining = (int64_t)tdiff(ti + t->rack_rtt + reo, now);
        if (remaining <= 0) {
            t->txr_f[i] |= TXR_LOST;
            newly += holes;
        } else if (remaining > timeout) {
            timeout = remaining;
        }
    }
    if (timeout > 0)
        t->t_rack = c->now + (uint64_t)timeout;
    return newly;
}

uint32_t tcp_rack_lost_bytes(const struct tcp_cb *t)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < t->n_txr; i++)
        if (t->txr_f[i] & TXR_LOST)
            n += tcp_nonsacked(t, t->txr[i].l, txr_end(t, i));
    return n;
}

uint32_t tcp_rack_next_lost(const struct tcp_cb *t, uint32_t from, uint32_t *len)
{
    for (unsigned i = 0; i < t->n_txr; i++) {
        if (!(t->txr_f[i] & TXR_LOST))
            continue;
        uint32_t l = t->txr[i].l, e = txr_end(t, i);
        if (TCP_SEQ_LEQ(e, from))
            continue;
        if (TCP_SEQ_LT(l, from))
            l = from;
        uint32_t hl = 0;
        uint32_t h = tcp_next_hole(t, l, &hl);
        if (hl > 0 && TCP_SEQ_LT(h, e)) {
            *len = TCP_SEQ_LT(h + hl, e) ? hl : e - h;
            return h;
        }
    }
    *len = 0;
    return from;
}

/* ---- undo ------------------------------------------------------------------- */

void tcp_rack_undo(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    c->stats.tcp_undos++;
    tcp_cong_undo(c, t);
    t->rflags &= (uint16_t)~(RF_UNDO | RF_EIFEL | RF_RTO_SACK);
    for (unsigned i = 0; i < t->n_txr; i++)
        t->txr_f[i] &= (uint8_t)~TXR_LOST;
    if (t->recovery == TCP_REC_FAST) {
        t->recovery = TCP_REC_NONE;
        t->dupacks = 0;
    } else if (t->recovery == TCP_REC_RTO) {
        /* RFC 4015 3.2: the timeout was spurious; go on with new data
         * instead of resending what has arrived. */
        t->recovery = TCP_REC_NONE;
        if (TCP_SEQ_LT(t->snd_nxt, t->snd_max))
            t->snd_nxt = t->snd_max;
    }
}

/* The probe of a tail loss was needed: the original was lost, respond to
 * the congestion it signalled (RFC 8985 7.4.2), once. */
static void tlp_loss(struct mcore *c, struct tcp_cb *t)
{
    t->rflags &= (uint16_t)~(RF_UNDO | RF_EIFEL);  /* undo data now describe this response */
    tcp_cong_on_congestion(c, t);
    tcp_cong_on_recovery_end(c, t);
}

void tcp_rack_ack(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    int advances = TCP_SEQ_GT(sg->ack, t->snd_una);
    int dsack = 0;
    uint32_t dl = 0, dr = 0;

    if ((t->flags & TF_SACK) && sg->n_sack > 0) {
        dl = sg->sack[0].l;
        dr = sg->sack[0].r;
        dsack = TCP_SEQ_LT(dl, dr) &&
                (TCP_SEQ_LEQ(dr, sg->ack) ||
                 (sg->n_sack > 1 && TCP_SEQ_GEQ(dl, sg->sack[1].l) &&
                  TCP_SEQ_LEQ(dr, sg->sack[1].r)));
    }
    if (t->flags & TF_SACK) {
        struct tcp_range old[TCP_SACK_MAX];
        unsigned n_old = t->n_sack;
        memcpy(old, t->sack, n_old * sizeof(old[0]));
        uint32_t fack = t->rack_fack;
        if (t->n_txr == 0 || !(t->rflags & RF_RTT) || TCP_SEQ_LT(fack, t->snd_una))
            fack = t->snd_una;
        if (sg->n_sack > 0)
            tcp_sack_update(t, sg);
        if (t->n_txr > 0) {
            if (advances)
                rack_deliver_new(c, t, t->snd_una, sg->ack, old, n_old, fack);
            for (unsigned k = dsack ? 1u : 0u; k < sg->n_sack; k++) {
                uint32_t l = sg->sack[k].l, r = sg->sack[k].r;
                if (TCP_SEQ_LT(l, sg->ack))
                    l = sg->ack;
                if (TCP_SEQ_GT(r, t->txr_top))
                    r = t->txr_top;
                if (TCP_SEQ_LT(l, r))
                    rack_deliver_new(c, t, l, r, old, n_old, fack);
            }
        }
        uint32_t top = advances ? sg->ack : fack;
        if (TCP_SEQ_LT(top, fack))
            top = fack;
        for (unsigned k = dsack ? 1u : 0u; k < sg->n_sack; k++)
            if (TCP_SEQ_GT(sg->sack[k].r, top) && TCP_SEQ_LEQ(sg->sack[k].r, t->snd_max))
                top = sg->sack[k].r;
        t->rack_fack = top;
        if (advances)
            txr_trim(t, sg->ack);
    }

    if (dsack) {
        c->stats.tcp_dsacks_in++;
        if ((t->rflags & RF_TLP_RETX) && TCP_SEQ_LEQ(dr, t->tlp_end) &&
            TCP_SEQ_GT(dr, t->tlp_end - t->mss - 1u)) {
            /* The probe itself was the duplicate: nothing was lost, and
             * nothing was reordered either. */
            t->rflags &= (uint16_t)~(RF_TLP | RF_TLP_RETX);
        } else {
            /* RFC 8985 6.2.4: a D-SACK is evidence of reordering; widen
             * the window by a step at most once per round trip, and keep
             * it for TCP_REO_PERSIST recoveries. */
            t->rflags |= RF_REORD;
            if (!(t->rflags & RF_REO_RND) || TCP_SEQ_GEQ(t->snd_una, t->reo_round)) {
                if (t->reo_mult < 255u)
                    t->reo_mult++;
                t->reo_round = t->snd_max;
                t->rflags |= RF_REO_RND;
            }
            t->reo_persist = TCP_REO_PERSIST;
        }
        /* RFC 3708 2: every retransmission of the episode came back as a
         * duplicate: the original segments had all arrived. Only D-SACKs
         * of data the episode could have resent count (a duplicate made
         * by the network elsewhere says nothing about this episode). */
        if ((t->rflags & RF_UNDO) && t->undo_retrans > 0 && TCP_SEQ_GEQ(dl, t->undo_lo) &&
            TCP_SEQ_LEQ(dr, t->undo_hi)) {
            uint32_t segs = (dr - dl + t->mss - 1u) / t->mss;
            t->undo_retrans = segs >= t->undo_retrans ? 0 : (uint16_t)(t->undo_retrans - segs);
            if (t->undo_retrans == 0)
                tcp_rack_undo(c, s);
        }
    }

    if ((t->rflags & RF_EIFEL) && advances) {
        t->rflags &= (uint16_t)~RF_EIFEL;
        /* RFC 3522 2: the ACK echoes the original transmission. */
        if ((t->rflags & RF_UNDO) && (t->flags & TF_TS) && sg->ts_ok && sg->tsecr != 0 &&
            TCP_SEQ_LT(sg->tsecr, t->eifel_ts))
            tcp_rack_undo(c, s);
    }

    if ((t->rflags & RF_TLP) && TCP_SEQ_GEQ(sg->ack, t->tlp_end)) {
        if (!(t->rflags & RF_TLP_RETX)) {
            t->rflags &= (uint16_t)~RF_TLP;     /* a new-data probe: RACK/RTO judge it */
        } else if (TCP_SEQ_GT(sg->ack, t->tlp_end) ||
                   (!advances && sg->ack == t->tlp_end && !dsack)) {
            /* Acknowledged beyond the probe, or a second ACK at its end,
             * and no D-SACK for it: the probe repaired a loss. */
            t->rflags &= (uint16_t)~(RF_TLP | RF_TLP_RETX);
            if (t->recovery == TCP_REC_NONE)
                tlp_loss(c, t);
        }
    }
}

/* ---- timers: reorder timer and tail loss probe -------------------------------- */

void tcp_tlp_arm(struct mcore *c, struct tcp_cb *t)
{
    t->t_tlp = 0;
    if (!(t->flags & TF_SACK) || t->state < TCPS_ESTABLISHED ||
        t->recovery == TCP_REC_RTO || (t->rflags & RF_TLP) || t->srtt == 0)
        return;
    uint32_t top = TCP_SEQ_GT(t->txr_top, t->snd_max) ? t->txr_top : t->snd_max;
    uint32_t flight = top - t->snd_una;
    if (flight == 0)
        return;
    /* RFC 8985 7.2: PTO = 2 SRTT, plus the peer's worst-case delayed ACK
     * when a single segment is in flight (we assume it delays like we
     * do), at least TCP_PTO_MIN_US (timer and scheduling slack), and only
     * if it comes before the RTO. */
    uint64_t pto = 2ull * t->srtt;
    if (flight <= t->mss)
        pto += (uint64_t)c->cfg.tcp_delack_ms * 1000u;
    if (pto < TCP_PTO_MIN_US)
        pto = TCP_PTO_MIN_US;
    if (pto >= t->rto)
        return;
    t->t_tlp = c->now + pto;
}

/* Resend the last segment as a probe. Returns 0 if nothing went out. */
static int tlp_retransmit_last(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t last = t->snd_max;
    if ((t->flags & TF_FIN_SENT) && last == t->fin_seq + 1u)
        last = t->fin_seq;
    uint32_t seg = t->mss - tcp_opt_len(t);
    uint32_t n = last - t->snd_una;
    uint32_t start = last - (n < seg ? n : seg);
    return tcp_retransmit_at(c, s, start, last - start) != 0;
}

/*
 * The probe timer expired: nothing was heard for a PTO.
 *
 * Open state (RFC 8985 7.3): new data if the windows allow one more
 * segment, else the last segment again. Two deviations, both for
 * receivers that hold their ACKs (measured against Linux: a receiver whose
 * application does not read, as in an echo whose other direction is
 * blocked, delays the ACK of in-order data by up to 200 ms): a new-data
 * probe that is not answered within another PTO is followed by one
 * retransmission probe (a duplicate is answered at once, RFC 5681 4.2);
 * and in fast recovery, where RACK needs a later delivery to see a lost
 * retransmission or a lost tail, the probe is the last segment again.
 * At most two probes per flight; then the RTO.
 */
static void tlp_fire(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->recovery == TCP_REC_RTO || t->snd_una == t->snd_max ||
        t->state < TCPS_ESTABLISHED || t->snd_wnd == 0)
        return;
    if (t->rflags & RF_TLP) {
        /* the second probe */
        if ((t->rflags & RF_TLP_RETX) || !TCP_SEQ_LT(t->snd_una, t->tlp_end))
            return;
        if (!tlp_retransmit_last(c, s))
            return;
        t->rflags |= RF_TLP_RETX;
    } else if (t->recovery == TCP_REC_FAST) {
        t->rflags |= RF_TLP;
        if (!tlp_retransmit_last(c, s)) {
            t->rflags &= (uint16_t)~RF_TLP;
            return;
        }
        t->rflags |= RF_TLP_RETX;
    } else {
        uint32_t before = t->snd_max;
        uint32_t save = t->cwnd;
        t->rflags |= RF_TLP;        /* keeps tcp_rack_sent from re-arming */
        t->cwnd = (t->snd_nxt - t->snd_una) + t->mss;
        tcp_output(c, s);
        if (t->state == TCPS_CLOSED)
            return;
        t->cwnd = save;
        if (t->snd_max != before) {
            t->rflags &= (uint16_t)~RF_TLP_RETX;
        } else if (tlp_retransmit_last(c, s)) {
            t->rflags |= RF_TLP_RETX;
        } else {
            t->rflags &= (uint16_t)~RF_TLP;
            return;
        }
    }
    c->stats.tcp_tlp_probes++;
    t->tlp_end = t->snd_max;
    tcp_timer_rtx_arm(c, t);    /* the RTO now runs from the probe */
    if (!(t->rflags & RF_TLP_RETX)) {
        /* the second probe, if this one is not answered */
        t->rflags &= (uint16_t)~RF_TLP;
        tcp_tlp_arm(c, t);
        t->rflags |= RF_TLP;
    }
}

void tcp_rack_timers(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->t_rack && t->t_rack <= c->now) {
        t->t_rack = 0;
        tcp_cc_sack_ack(c, s, 0);   /* detects, enters recovery, sends */
    }
    if (t->state == TCPS_CLOSED)
        return;
    if (t->t_tlp && t->t_tlp <= c->now) {
        t->t_tlp = 0;
        tlp_fire(c, s);
    }
}

void tcp_rack_rto(struct mcore *c, struct tcp_cb *t, int keep)
{
    (void)c;
    if (keep) {
        /* RFC 8985 6.3: after a timeout everything not SACKed is lost. */
        for (unsigned i = 0; i < t->n_txr; i++)
            t->txr_f[i] |= TXR_LOST;
    } else {
        t->n_txr = 0;
        t->txr_top = t->snd_una;
    }
    t->t_rack = 0;
    t->t_tlp = 0;
    t->rflags &= (uint16_t)~(RF_TLP | RF_TLP_RETX);
}

/* ---- receiver: D-SACK ------------------------------------------------------- */

void tcp_dsack_note(struct tcp_cb *t, uint32_t l, uint32_t r)
{
    if (!(t->flags & TF_SACK) || !TCP_SEQ_LT(l, r))
        return;
    t->dsack_l = l;
    t->dsack_r = r;
    t->rflags |= RF_DSACK;
}
