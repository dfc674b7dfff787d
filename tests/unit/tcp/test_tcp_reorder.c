/* SPDX-License-Identifier: MIT */
/*
 * A path that reorders, in virtual time (core/tcp_in.c: PAWS and the
 * out-of-order ranges of the receiver):
 *
 *   paws_disordered_ack       a pure ACK overtaken by a later one (older
 *                             TSval, SEG.SEQ >= RCV.NXT, acknowledging
 *                             nothing new) is not dropped by PAWS: its
 *                             SACK block reaches the scoreboard; the send
 *                             window stays the newer one.
 *   paws_disordered_limits    ... but PAWS still drops a lagging ACK that
 *                             would acknowledge new data, one that lags by
 *                             more than an RTO's worth of milliseconds,
 *                             and one whose SEG.SEQ is below RCV.NXT
 *                             (one past it, in the window, counts).
 *   paws_old_data_dsack       the original of a segment already taken as a
 *                             retransmission, arriving after it (older
 *                             TSval), is PAWS-dropped and answered with a
 *                             D-SACK block for it (RFC 2883 4.1.1).
 *   paws_old_data_dropped     data with an older TSval at or above
 *                             RCV.NXT (a wrapped old duplicate) is still
 *                             dropped: not stored, no SACK or D-SACK.
 *   ooo_many_ranges           TCP_OOO_MAX + TCP_OOO_CHUNK holes at once
 *                             are all held (none dropped as TCP_OOO_FULL),
 *                             past TCP_OOO_MAX in a lent pool chunk; SACK
 *                             blocks stay most recent first; one more
 *                             range is a counted drop; filling them
 *                             delivers the stream intact and returns the
 *                             chunk.
 *   ooo_pool_shared           with the pool's one chunk lent, another
 *                             connection is held to TCP_OOO_MAX (a counted
 *                             drop); an abort returns the chunk.
 *   overtaken_ack_reply_limited  the peer's pure ACKs overtaken by its own
 *                             later data (SEG.SEQ below RCV.NXT: dropped
 *                             as out of the window, or by PAWS with an
 *                             older TSval) are answered by at most one ACK
 *                             per TCP_OOW_ACK_US; data below RCV.NXT is
 *                             still answered every time (D-SACK).
 *   ooo_ack_compressed        the first TCP_DUPTHRESH out-of-order segments
 *                             past one RCV.NXT are ACKed at once; later
 *                             ones wait min(SRTT / 20, 1 ms) (or for
 *                             TCP_SACK_COMP_MAX segments) and share one
 *                             ACK whose SACK blocks cover them; a D-SACK
 *                             and filling the hole are ACKed at once;
 *                             without SACK every one is ACKed at once.
 *   sack_scoreboard_many_ranges  the sender keeps TCP_SACK_MAX SACKed
 *                             ranges reported three an ACK, and resends
 *                             none of them.
 *
 * Does not hold fixtures (tcp_fx.c) or loss recovery (test_tcp_rack.c).
 */
#include <check.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[65536];

#define M 1448u     /* a full segment with timestamps (MSS 1460) */

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

static void open_ts_sack(void)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true, .ts = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert(t->flags & TF_TS);
    ck_assert(t->flags & TF_SACK);
}

/* Our @p n segments in flight; returns the first sequence number. */
static uint32_t send_flight(uint32_t n)
{
    uint32_t s = k->snd_nxt;
    ck_assert_uint_eq(tfx_write(f, k->h, D, n * M), n * M);
    ck_assert_uint_eq(fx_ntx(f), n);
    fx_tx_clear(f);
    return s;
}

/* A pure ACK from the peer with TSval @p tsval, ACK @p ack, window @p wnd
 * and one SACK block [l, r) (none when l == r). */
static void ack_ts(uint32_t tsval, uint32_t ack, uint16_t wnd, uint32_t l, uint32_t r)
{
    struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
    a.tsval = tsval;
    a.ack = ack;
    a.wnd = wnd;
    if (l != r) {
        a.n_sack = 1;
        a.sack[0][0] = l;
        a.sack[0][1] = r;
    }
    tfx_inject(f, &a);
}

static uint32_t sent_data(void)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++)
        n += tfx_tx(f, i).len;
    return n;
}

static bool sacked(const struct tcp_cb *t, uint32_t l, uint32_t r)
{
    for (unsigned i = 0; i < t->n_sack; i++)
        if (TCP_SEQ_LEQ(t->sack[i].l, l) && TCP_SEQ_GEQ(t->sack[i].r, r))
            return true;
    return false;
}

START_TEST(paws_disordered_ack)
{
    open_ts_sack();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = send_flight(6);
    /* The peer sent ACK 1 (SACK of segment 2, window W1) then ACK 2 (SACK
     * of segments 2..4, window W2); ACK 2 arrives first. */
    ack_ts(5000, s, 60000, s + 2 * M, s + 4 * M);
    ck_assert_uint_eq(t->ts_recent, 5000);
    uint32_t wnd = t->snd_wnd;
    uint64_t paws0 = fx_drop(f, MOAT_DROP_TCP_PAWS);
    ack_ts(4999, s, 30000, s + 1 * M, s + 2 * M);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0);
    ck_assert(sacked(t, s + 1 * M, s + 4 * M));    /* the late ACK's block counted */
    ck_assert_uint_eq(t->ts_recent, 5000);          /* TS.Recent stays */
    ck_assert_uint_eq(t->snd_wnd, wnd);              /* and so does the window */
}
END_TEST

START_TEST(paws_disordered_limits)
{
    open_ts_sack();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = send_flight(6);
    ack_ts(5000, s, 60000, s + 4 * M, s + 5 * M);
    uint64_t paws0 = fx_drop(f, MOAT_DROP_TCP_PAWS);
    /* (a) would acknowledge new data */
    ack_ts(4999, s + M, 60000, 0, 0);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 1);
    ck_assert_uint_eq(t->snd_una, s);
    /* (b) lags by more than one RTO in milliseconds */
    uint32_t lag = t->rto / 1000u + 1u;
    ack_ts(5000 - lag, s, 60000, s + 1 * M, s + 2 * M);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 2);
    ck_assert(!sacked(t, s + 1 * M, s + 2 * M));
    /* ... while just within it, it counts */
    ack_ts(5000 - (lag - 1u), s, 60000, s + 1 * M, s + 2 * M);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 2);
    ck_assert(sacked(t, s + 1 * M, s + 2 * M));
    /* (c) SEG.SEQ below RCV.NXT: the peer's data sent after this ACK
     * arrived before it (that data's ACK field is the newer one) */
    uint32_t p = k->peer_nxt;
    k->peer_ts = 5001;
    tfx_peer_send(f, k, D, 100, TH_PSH);
    ck_assert_uint_eq(t->ts_recent, 5001);
    struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
    a.tsval = 5000;
    a.ack = s;
    a.seq = p;
    a.n_sack = 1;
    a.sack[0][0] = s + 2 * M;
    a.sack[0][1] = s + 3 * M;
    tfx_inject(f, &a);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 3);
    ck_assert(!sacked(t, s + 2 * M, s + 3 * M));
    /* (d) SEG.SEQ past RCV.NXT in the window: the peer's data sent before
     * it is still on the way; the ACK counts */
    a.seq = k->peer_nxt + 1000u;
    tfx_inject(f, &a);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 3);
    ck_assert(sacked(t, s + 2 * M, s + 3 * M));
}
END_TEST

START_TEST(paws_old_data_dsack)
{
    open_ts_sack();
    uint32_t p = k->peer_nxt;
    /* The retransmission (TSval 2000) arrives first ... */
    k->peer_ts = 2000;
    tfx_peer_send(f, k, D, 500, TH_PSH);
    fx_tx_clear(f);
    /* ... then the original (TSval 1990), overtaken on the path. */
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 500);
    r.seq = p;
    r.tsval = 1990;
    uint64_t paws0 = fx_drop(f, MOAT_DROP_TCP_PAWS);
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 1);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.ack, p + 500);
    ck_assert_uint_eq(a.n_sack, 1);
    ck_assert_uint_eq(a.sack[0][0], p);
    ck_assert_uint_eq(a.sack[0][1], p + 500);
    ck_assert_uint_eq(a.tsecr, 2000);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 1000), 500);
}
END_TEST

START_TEST(paws_old_data_dropped)
{
    open_ts_sack();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t p = k->peer_nxt;
    k->peer_ts = 2000;
    tfx_peer_send(f, k, D, 100, TH_PSH);
    fx_tx_clear(f);
    uint64_t paws0 = fx_drop(f, MOAT_DROP_TCP_PAWS);
    /* An old duplicate whose sequence numbers wrapped into the window:
     * at RCV.NXT and past it, with an older TSval. */
    for (uint32_t off = 0; off <= 1000; off += 1000) {
        struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D + 100, 200);
        r.seq = p + 100 + off;
        r.tsval = 1000;
        tfx_inject(f, &r);
    }
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 2);
    ck_assert_uint_eq(t->rcv_nxt, p + 100);
    ck_assert_uint_eq(t->n_ooo, 0);
    ck_assert_uint_eq(fx_ntx(f), 2);
    for (unsigned i = 0; i < 2; i++) {
        ck_assert_uint_eq(tfx_tx(f, i).ack, p + 100);
        ck_assert_uint_eq(tfx_tx(f, i).n_sack, 0);
    }
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 1000), 100);
}
END_TEST

START_TEST(ooo_many_ranges)
{
    open_ts_sack();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    struct tcp_state *st = f->core->tcp;
    uint32_t p = k->peer_nxt;
    const uint32_t seg = 20;
    /* Reordering over a whole flight leaves hundreds of holes at once
     * (issue 7, 20 ms + 0..10 ms jitter each way): past the TCB's own
     * TCP_OOO_MAX ranges the rest come from a pool chunk. */
    enum { N = TCP_OOO_MAX + TCP_OOO_CHUNK };
    ck_assert_uint_ge(N, 255);
    uint32_t free0 = st->ooo_nfree;
    ck_assert_uint_ge(free0, 1);
    /* Every other segment of 2 * N arrives: N holes. */
    for (uint32_t i = 0; i < N; i++) {
        struct tcp_repr r = tfx_seg(k, TH_ACK, D + (2 * i + 1) * seg, seg);
        r.seq = p + (2 * i + 1) * seg;
        tfx_inject(f, &r);
        ck_assert_uint_eq(t->ooo_chunk != 0, i + 1 > TCP_OOO_MAX);
    }
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_OOO_FULL), 0);
    ck_assert_uint_eq(t->n_ooo, N);
    ck_assert_uint_eq(st->ooo_nfree, free0 - 1);
    ck_assert_uint_eq(t->rcv_nxt, p);
    /* The ACK for the last arrival SACKs it first, then the two before
     * it (RFC 2018 4), although most ranges now live in the chunk. */
    fx_tx_clear(f);
    struct tcp_repr y = tfx_seg(k, TH_ACK, D + (2 * N - 1) * seg, seg);
    y.seq = p + (2 * N - 1) * seg;
    tfx_inject(f, &y);          /* a duplicate: D-SACK, then the ranges */
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(a.n_sack, 3);
    for (unsigned i = 1; i < 3; i++) {
        ck_assert_uint_eq(a.sack[i][0], p + (2 * (N - i) + 1) * seg);
        ck_assert_uint_eq(a.sack[i][1], p + (2 * (N - i) + 2) * seg);
    }
    /* One more separate range does not fit: a counted drop. */
    struct tcp_repr x = tfx_seg(k, TH_ACK, D + (2 * N + 1) * seg, seg);
    x.seq = p + (2 * N + 1) * seg;
    tfx_inject(f, &x);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_OOO_FULL), 1);
    ck_assert_uint_eq(t->n_ooo, N);
    /* The holes filled in reverse order: all delivered, in order, and the
     * chunk goes back to the pool once the ranges fit the TCB again. */
    for (uint32_t i = N; i-- > 0;) {
        struct tcp_repr r = tfx_seg(k, TH_ACK, D + 2 * i * seg, seg);
        r.seq = p + 2 * i * seg;
        tfx_inject(f, &r);
        ck_assert_uint_eq(t->ooo_chunk != 0, t->n_ooo > TCP_OOO_MAX);
    }
    ck_assert_uint_eq(t->n_ooo, 0);
    ck_assert_uint_eq(st->ooo_nfree, free0);
    ck_assert_uint_eq(t->rcv_nxt, p + 2 * N * seg);
    static uint8_t got[2 * N * 20];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), sizeof got);
    ck_assert_mem_eq(got, D, sizeof got);
}
END_TEST

START_TEST(overtaken_ack_reply_limited)
{
    open_ts_sack();
    uint32_t p = k->peer_nxt;
    uint32_t tsv = k->peer_ts;
    /* The peer's data [p, p + 100) arrives, sent after its pure ACKs at
     * SEG.SEQ = p, which arrive next: below RCV.NXT. */
    struct tcp_repr d = tfx_seg(k, TH_ACK, D, 100);
    d.tsval = tsv + 5;
    tfx_inject(f, &d);
    fx_tx_clear(f);
    uint64_t oow0 = fx_drop(f, MOAT_DROP_TCP_OUT_OF_WINDOW);
    uint64_t paws0 = fx_drop(f, MOAT_DROP_TCP_PAWS);
    for (unsigned i = 0; i < 4; i++) {
        struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
        a.seq = p;
        a.tsval = (i & 1) ? tsv : tsv + 5;     /* older TSval: PAWS; equal: window */
        tfx_inject(f, &a);
    }
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_OUT_OF_WINDOW), oow0 + 2);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), paws0 + 2);
    ck_assert_uint_eq(fx_ntx(f), 1);            /* one answer, not four */
    /* A duplicate of data is answered at once, with its D-SACK. */
    fx_tx_clear(f);
    tfx_inject(f, &d);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).n_sack, 1);
    ck_assert_uint_eq(tfx_tx(f, 0).sack[0][0], p);
    /* After TCP_OOW_ACK_US, the next overtaken ACK is answered again. */
    fx_advance(f, TCP_OOW_ACK_US);
    fx_tx_clear(f);
    struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
    a.seq = p;
    a.tsval = tsv + 5;
    tfx_inject(f, &a);
    ck_assert_uint_eq(fx_ntx(f), 1);
}
END_TEST

/* Peer segment @p i (of @p seg bytes from @p p) arrives. */
static void peer_seg(uint32_t p, uint32_t seg, uint32_t i)
{
    struct tcp_repr r = tfx_seg(k, TH_ACK, D + i * seg, seg);
    r.seq = p + i * seg;
    tfx_inject(f, &r);
}

/* ACKs sent since the last fx_tx_clear. */
static unsigned acks_out(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++)
        n += (tfx_tx(f, i).flags & TH_ACK) && tfx_tx(f, i).len == 0;
    return n;
}

static void ooo_ack_case(bool sack)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = sack, .ts = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    const uint32_t srtt = 10000u;
    t->srtt = srtt;
    uint32_t p = k->peer_nxt;
    const uint32_t seg = 100;
    fx_tx_clear(f);
    /* Segment 0 is late; 1, 2, 3 arrive: three ACKs at once. */
    for (uint32_t i = 1; i <= TCP_DUPTHRESH; i++) {
        peer_seg(p, seg, i);
        ck_assert_uint_eq(acks_out(), i);
    }
    /* 5, 7, 9 (three new holes) wait with SACK; not without. */
    fx_tx_clear(f);
    for (uint32_t i = 5; i <= 9; i += 2)
        peer_seg(p, seg, i);
    if (!sack) {
        ck_assert_uint_eq(acks_out(), 3);
        return;
    }
    ck_assert_uint_eq(acks_out(), 0);
    ck_assert_uint_eq(t->t_delack, f->now + srtt / TCP_SACK_COMP_DIV);
    fx_advance(f, srtt / TCP_SACK_COMP_DIV - 1u);
    ck_assert_uint_eq(acks_out(), 0);
    fx_advance(f, 1);
    ck_assert_uint_eq(acks_out(), 1);
    struct tcp_repr a = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(a.ack, p);
    ck_assert_uint_eq(a.n_sack, 3);     /* newest first: 9, 7, 5 */
    for (unsigned b = 0; b < 3; b++) {
        ck_assert_uint_eq(a.sack[b][0], p + (9 - 2 * b) * seg);
        ck_assert_uint_eq(a.sack[b][1], p + (10 - 2 * b) * seg);
    }
    /* A duplicate of out-of-order data: its D-SACK goes at once. */
    fx_tx_clear(f);
    peer_seg(p, seg, 9);
    ck_assert_uint_eq(acks_out(), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).sack[0][0], p + 9 * seg);
    /* TCP_SACK_COMP_MAX waiting segments: no waiting for the timer. */
    fx_tx_clear(f);
    for (uint32_t i = 0; i < TCP_SACK_COMP_MAX; i++)
        peer_seg(p, seg, 11 + 2 * i);
    ck_assert_uint_eq(acks_out(), 1);
    /* The hole filled: ACKed at once. */
    fx_tx_clear(f);
    peer_seg(p, seg, 0);
    ck_assert_uint_eq(acks_out(), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, p + 4 * seg);
}

START_TEST(ooo_ack_compressed) { ooo_ack_case(true); }
END_TEST
START_TEST(ooo_ack_no_sack) { ooo_ack_case(false); }
END_TEST

/* The pool is shared: with its only chunk lent, another connection keeps
 * TCP_OOO_MAX ranges (one more is a counted drop); closing the first
 * returns the chunk. */
START_TEST(ooo_pool_shared)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_ooo_bytes = TCP_OOO_CHUNK_KIB * 1024u;  /* one chunk */
    tfx_start(f);
    struct tcp_state *st = f->core->tcp;
    ck_assert_uint_eq(st->n_ooo_chunks, 1);
    struct tfx_conn k1, k2;
    tfx_connect(f, &k1, &TFX_OPTS(.sack = true));
    tfx_connect(f, &k2, &TFX_OPTS(.sack = true));
    struct tfx_conn *ks[2] = { &k1, &k2 };
    for (unsigned c = 0; c < 2; c++) {
        for (uint32_t i = 0; i < TCP_OOO_MAX + 1; i++) {
            struct tcp_repr r = tfx_seg(ks[c], TH_ACK, D, 10);
            r.seq = ks[c]->peer_nxt + (2 * i + 1) * 10;
            tfx_inject(f, &r);
        }
    }
    ck_assert_uint_eq(tfx_tcb(f, k1.h)->n_ooo, TCP_OOO_MAX + 1);
    ck_assert_uint_ne(tfx_tcb(f, k1.h)->ooo_chunk, 0);
    ck_assert_uint_eq(tfx_tcb(f, k2.h)->n_ooo, TCP_OOO_MAX);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_OOO_FULL), 1);
    ck_assert_uint_eq(st->ooo_nfree, 0);
    ck_assert_int_eq(tfx_abort(f, k1.h), 0);
    ck_assert_uint_eq(st->ooo_nfree, 1);
    struct tcp_repr r = tfx_seg(&k2, TH_ACK, D, 10);
    r.seq = k2.peer_nxt + (2 * TCP_OOO_MAX + 1) * 10;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_tcb(f, k2.h)->n_ooo, TCP_OOO_MAX + 1);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_OOO_FULL), 1);
}
END_TEST

START_TEST(sack_scoreboard_many_ranges)
{
    open_ts_sack();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    /* The same on the sending side: the peer holds TCP_SACK_MAX holes
     * (measured: up to 25 under 25 % reordering) and reports them three
     * blocks an ACK, newest first, as Linux does. */
    ck_assert_uint_ge(TCP_SACK_MAX, 32);
    uint32_t s = send_flight(10);
    const uint32_t q = 200;     /* block i: [s + (2i + 1) q, s + (2i + 2) q) */
    ck_assert_uint_le(2 * TCP_SACK_MAX * q, 10 * M);
    for (uint32_t i = 0; i < TCP_SACK_MAX; i += 3) {
        struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
        a.ack = s;
        a.n_sack = 0;
        for (uint32_t j = i + 3; j-- > i;) {
            if (j >= TCP_SACK_MAX)
                continue;
            a.sack[a.n_sack][0] = s + (2 * j + 1) * q;
            a.sack[a.n_sack][1] = s + (2 * j + 2) * q;
            a.n_sack++;
        }
        tfx_inject(f, &a);
    }
    ck_assert_uint_eq(t->n_sack, TCP_SACK_MAX);
    for (uint32_t j = 0; j < TCP_SACK_MAX; j++)
        ck_assert_msg(sacked(t, s + (2 * j + 1) * q, s + (2 * j + 2) * q), "block %u lost", j);
    /* Nothing SACKed is ever sent again. */
    fx_advance(f, 100000);
    ck_assert_uint_gt(sent_data(), 0);     /* the holes were (RACK, or RTO) */
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        for (uint32_t j = 0; j < TCP_SACK_MAX && r.len > 0; j++) {
            uint32_t l = s + (2 * j + 1) * q, e = l + q;
            ck_assert_msg(!(TCP_SEQ_LT(r.seq, e) && TCP_SEQ_GT(r.seq + r.len, l)),
                          "SACKed block %u resent", j);
        }
    }
}
END_TEST

static Suite *tcp_reorder_suite(void)
{
    Suite *s = suite_create("tcp_reorder");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, paws_disordered_ack);
    tcase_add_test(tc, paws_disordered_limits);
    tcase_add_test(tc, paws_old_data_dsack);
    tcase_add_test(tc, paws_old_data_dropped);
    tcase_add_test(tc, ooo_many_ranges);
    tcase_add_test(tc, overtaken_ack_reply_limited);
    tcase_add_test(tc, ooo_ack_compressed);
    tcase_add_test(tc, ooo_ack_no_sack);
    tcase_add_test(tc, ooo_pool_shared);
    tcase_add_test(tc, sack_scoreboard_many_ranges);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_reorder_suite)
