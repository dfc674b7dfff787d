/* SPDX-License-Identifier: MIT */
/*
 * Windows that follow the path: receive-window autotuning (dynamic right
 * sizing), send-limit growth with the congestion window, and the one
 * per-stack memory budget (cfg.tcp_mem_bytes) that bounds both.
 *
 * The socket rings are fixed at their configured size (sock_rx_bytes,
 * sock_tx_bytes). What moves is how much of them a connection may use:
 *
 *  - Receive: a connection starts with a window cap of TCP_WND_INIT (or
 *    the ring, if smaller). Once per receiver-side RTT it compares the
 *    bytes the application consumed during that RTT with the cap and
 *    raises the cap to twice that amount plus 16 segments, more while
 *    that amount is growing (see tcp_wnd_rcv_data), so a reader that
 *    keeps up lets the window grow ahead of a sender in slow start until
 *    it covers the bandwidth-delay product or reaches the ring. A slow
 *    reader consumes little and the cap stays put. The receiver's RTT comes from
 *    the timestamps the peer echoes (RFC 7323) or, without timestamps,
 *    from the time one advertised window takes to arrive (an upper bound).
 *  - Send: the application may fill the tx ring up to snd_lim, which grows
 *    to 2 cwnd + 4 MSS as cwnd grows (never shrinks: the bytes already
 *    written stay). The limit is published in the slot's shared tx_limit
 *    word; the application side clamps it to the ring.
 *  - Budget: the sum over connections of rcv_cap + snd_lim is charged to
 *    tcp_state.mem_used. A connection's initial allowance is always
 *    granted; growth is granted only up to cfg.tcp_mem_bytes, and a growth
 *    cut short is counted (stats.tcp_mem_capped). Windows never shrink, so
 *    nothing already advertised is taken back (RFC 9293 3.8.6).
 *
 * An application that sets MOAT_OPT_RCVBUF chooses its window itself: the
 * cap is then the ring and the option governs (no autotuning), as with
 * Linux's SO_RCVBUF lock.
 *
 * Does not decide the window field or SWS avoidance (tcp_out.c) nor
 * congestion control (tcp_cc.c); it only moves the caps they respect.
 */
#include "tcp_priv.h"

static uint32_t tcp_wnd_init_cap(uint32_t ring)
{
    return ring < TCP_WND_INIT ? ring : TCP_WND_INIT;
}

uint32_t tcp_rcv_limit(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t lim = s->rx.cap;
    if (!(s->buf_lock & SOCK_RCVBUF_SET))
        lim = t->rcv_cap != 0 ? t->rcv_cap : tcp_wnd_init_cap(s->rx.cap);
    if (s->rcvbuf != 0 && s->rcvbuf < lim)
        lim = s->rcvbuf;
    return lim < s->rx.cap ? lim : s->rx.cap;
}

static void tcp_wnd_stats(struct mcore *c)
{
    c->stats.tcp_mem_used = c->tcp->mem_used;
    c->stats.tcp_mem_budget = c->cfg.tcp_mem_bytes;
}

/* Charge @p add bytes for @p t: all of them when @p force (the initial
 * allowance), else at most what the budget has left. Returns the bytes
 * granted. */
static uint32_t tcp_wnd_charge(struct mcore *c, struct tcp_cb *t, uint32_t add, int force)
{
    struct tcp_state *st = c->tcp;
    uint64_t budget = c->cfg.tcp_mem_bytes;
    if (!force) {
        uint64_t left = st->mem_used < budget ? budget - st->mem_used : 0;
        if (add > left) {
            add = (uint32_t)left;
            c->stats.tcp_mem_capped++;
        }
    }
    st->mem_used += add;
    t->mem_charged += add;
    tcp_wnd_stats(c);
    return add;
}

/* Raise *@p cur towards @p want (at most @p ring), as far as the budget
 * allows. Returns 1 if it grew. */
static int tcp_wnd_grow(struct mcore *c, struct tcp_cb *t, uint32_t *cur, uint64_t want,
                        uint32_t ring)
{
    if (want > ring)
        want = ring;
    if (want <= *cur)
        return 0;
    uint32_t got = tcp_wnd_charge(c, t, (uint32_t)want - *cur, 0);
    *cur += got;
    return got != 0;
}

void tcp_wnd_release(struct mcore *c, struct tcp_cb *t)
{
    struct tcp_state *st = c->tcp;
    st->mem_used -= t->mem_charged < st->mem_used ? t->mem_charged : st->mem_used;
    t->mem_charged = 0;
    tcp_wnd_stats(c);
}

static void tcp_wnd_publish(struct mcore *c, struct msock *s, uint32_t lim)
{
    /* Release: pairs with the application's acquire load in cl_tx_room. */
    atomic_store_explicit(&s->sh->tx_limit, lim, memory_order_release);
    mcore_sock_changed(c, s);   /* a larger limit can make it writable */
}

void tcp_wnd_established(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->mem_charged != 0)
        return;
    if (t->rcv_cap == 0)
        t->rcv_cap = tcp_wnd_init_cap(s->rx.cap);
    if (t->snd_lim == 0)
        t->snd_lim = tcp_wnd_init_cap(s->tx.cap);
    (void)tcp_wnd_charge(c, t, t->rcv_cap + t->snd_lim, 1);
    tcp_wnd_publish(c, s, t->snd_lim);
    tcp_wnd_snd_grow(c, s);
}

/* One receiver RTT sample (us), filtered towards the smaller values: a
 * sample is an upper bound (sender pauses, delayed ACKs inflate it). */
static void tcp_wnd_rtt_sample(struct tcp_cb *t, uint64_t us)
{
    if (us < 1000u)
        us = 1000u;         /* the TSval clock ticks in ms */
    if (us > 60000000u)
        return;
    uint32_t v = (uint32_t)us;
    if (t->rcv_rtt == 0 || v < t->rcv_rtt)
        t->rcv_rtt = v;
    else
        t->rcv_rtt += (v - t->rcv_rtt) / 8u;
}

static void tcp_wnd_rtt_measure(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if ((t->flags & TF_TS) && sg->ts_ok && sg->tsecr != 0) {
        /* The peer echoes the TSval of our latest ACK: the time since we
         * sent it is one round trip plus the peer's holding time. Only the
         * first segment echoing a given TSval is a sample: the peer keeps
         * echoing its TS.Recent until one of our segments updates it
         * (RFC 7323 4.3: only one at or left of its Last.ACK.sent), which
         * under reordering can take many round trips (measured with Linux
         * as the sender on 20 ms + 0..10 ms reordering each way: the same
         * TSecr on every segment for 400 ms at a time). Each repeat made a
         * sample one interval longer, the estimate followed them up to
         * 400-900 ms, autotuning then measured once per "RTT" of that
         * length and the window stayed at 478 KiB for 10 real round trips
         * while the sender was limited by it. */
        if (sg->tsecr == t->rrtt_tsecr)
            return;
        t->rrtt_tsecr = sg->tsecr;
        uint32_t d = tcp_ts_now(c, t) - sg->tsecr;
        if (d < 0x80000000u)
            tcp_wnd_rtt_sample(t, (uint64_t)d * 1000u);
        return;
    }
    /* No timestamps: time from now until data from beyond the right edge
     * we have announced arrives; the peer can send it only after an ACK
     * of ours moved the edge, so this takes at least one round trip (an
     * upper bound when the peer is slower than the window). */
    if (t->rrtt_t != 0 && TCP_SEQ_GT(t->rcv_nxt, t->rrtt_seq)) {
        tcp_wnd_rtt_sample(t, c->now - t->rrtt_t);
        t->rrtt_t = 0;
    }
    if (t->rrtt_t == 0) {
        t->rrtt_seq = t->rcv_adv;
        t->rrtt_t = c->now != 0 ? c->now : 1;
    }
}

void tcp_wnd_rcv_data(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->mem_charged == 0 || (s->buf_lock & SOCK_RCVBUF_SET))
        return;
    tcp_wnd_rtt_measure(c, s, sg);
    uint32_t space = 0;
    if (moat_ring_space(&s->rx, &space) != 0)
        return;             /* counted and handled by the receive path */
    /* The application's consumer index: what it has read so far. */
    uint32_t consumed = s->rx.local - (s->rx.cap - space);
    if (t->at_t == 0 || t->rcv_rtt == 0) {
        t->at_t = c->now != 0 ? c->now : 1;
        t->at_copied = consumed;
        return;
    }
    if (c->now - t->at_t < t->rcv_rtt)
        return;
    uint32_t copied = consumed - t->at_copied;
    uint32_t prev = t->at_prev;
    t->at_t = c->now != 0 ? c->now : 1;
    t->at_copied = consumed;
    t->at_prev = copied;
    /* Twice what the application took in one round trip, and 16 segments
     * of slack, as Linux's dynamic right sizing. When that amount grew
     * since the last interval the sender is still speeding up (slow
     * start, BBR's startup): it will have sent more by the time this
     * window reaches it, so add twice the growth seen, up to twice the
     * window again, like Linux does. Without it a sender doubling per
     * round trip found the window a round behind: measured with Linux's
     * BBR sending on 20 ms + 0..10 ms reordering each way, rwnd-limited
     * 150-480 ms of a 1.5 s transfer (ss's rwnd_limited) against a
     * kernel receiver's 4 ms, and BBR's startup saw its bandwidth stop
     * growing. */
    uint64_t want = 2ull * copied + 16ull * t->adv_mss;
    if (prev != 0 && copied > prev) {
        uint64_t g = copied - prev < prev ? copied - prev : prev;
        want += 2u * want * g / prev;
    }
    if (tcp_wnd_grow(c, t, &t->rcv_cap, want, s->rx.cap))
        c->stats.tcp_rcv_autotunes++;
}

void tcp_wnd_snd_grow(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->mem_charged == 0)
        return;
    if (tcp_wnd_grow(c, t, &t->snd_lim, 2ull * t->cwnd + 4ull * t->mss, s->tx.cap)) {
        c->stats.tcp_snd_grows++;
        tcp_wnd_publish(c, s, t->snd_lim);
    }
}
