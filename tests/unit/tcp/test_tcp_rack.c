/* SPDX-License-Identifier: MIT */
/*
 * Loss detection and recovery of a SACK connection, in virtual time
 * (core/tcp_rack.c, core/tcp_cc.c):
 *
 *   rack_reorder_within_window  RFC 8985 6.2: a segment overtaken by one
 *                               sent after it is not retransmitted while
 *                               the reordering window (min_RTT / 4) runs;
 *                               arriving late, it never is.
 *   rack_timer_beyond_window    ... and is retransmitted exactly when the
 *                               RACK reorder timer expires.
 *   tlp_tail_drop               RFC 8985 7: the last two segments lost; a
 *                               probe after 2 SRTT brings the SACK that
 *                               lets RACK repair the loss, no RTO.
 *   tlp_repaired_loss /         RFC 8985 7.4: a probe that repaired a loss
 *   tlp_spurious_probe          brings one congestion response; one answered
 *                               by a D-SACK brings none.
 *   dsack_generated             RFC 2883 4.1.1/4.1.2: a duplicate segment is
 *                               reported in the first SACK block, once;
 *                               for out-of-order data the containing block
 *                               follows.
 *   dsack_undo                  RFC 3708: the only retransmission of the
 *                               episode comes back as a D-SACK: cwnd and
 *                               ssthresh are restored (tcp_cong_undo).
 *   eifel_undo / eifel_no_undo  RFC 3522: the first ACK after the
 *                               retransmission echoes the original's TSval
 *                               (undo) or the retransmission's (no undo).
 *   prr_proportional            RFC 6937: while pipe > ssthresh the bytes
 *                               sent in recovery track
 *                               CEIL(prr_delivered * ssthresh / RecoverFS)
 *                               (one segment granularity).
 *   rescue_retransmission       RFC 6675 NextSeg rule 4: with nothing lost
 *                               left and no new data, the highest unSACKed
 *                               segment is resent once; no RTO.
 *   rto_keeps_scoreboard        after a timeout only what is not SACKed is
 *                               resent (RFC 8985 6.3).
 *   min_rtt_merged_ranges       more send times than TCP_TXR_MAX ranges:
 *                               the merged range carries the later time
 *                               (TXR_APPROX), and its ACK, shorter than
 *                               the real round trip by that difference,
 *                               does not lower min_RTT (which sizes the
 *                               reordering window).
 *   rack_rtt_merged_ranges      ... and a delivered merged range counts as
 *                               sent at its earliest time: RACK.rtt is not
 *                               short by the range's span, so an earlier
 *                               segment still inside the reordering
 *                               window is not declared lost.
 *
 * Does not hold fixtures (tcp_fx.c) or the NewReno tests (test_tcp_loss.c,
 * test_tcp_scen_fastrec.c).
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

#define M 1460u
#define R 10000u    /* the path's round trip, us */

static void setup(void)
{
    tfx_pin_cong(MOAT_TCP_CONG_NEWRENO);    /* PRR's expected figures use ssthresh = flight / 2 */
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* An ACK of @p ack with up to two SACK blocks (offsets from @p base in
 * segments; n = 0: none), a TSecr (0: none) and window field @p wnd. */
static void sack_ack_wnd(uint32_t ack, uint32_t base, unsigned n, const uint32_t b[][2],
                         uint32_t tsecr, uint16_t wnd)
{
    struct tcp_repr r = tfx_seg(k, TH_ACK, NULL, 0);
    r.ack = ack;
    r.wnd = wnd;
    r.n_sack = n;
    for (unsigned i = 0; i < n; i++) {
        r.sack[i][0] = base + b[i][0] * M;
        r.sack[i][1] = base + b[i][1] * M;
    }
    r.tsecr = tsecr;
    tfx_inject(f, &r);
}

/* The same with the fixture's usual window. */
static void sack_ack(uint32_t ack, uint32_t base, unsigned n, const uint32_t b[][2],
                     uint32_t tsecr)
{
    sack_ack_wnd(ack, base, n, b, tsecr, tfx_seg(k, TH_ACK, NULL, 0).wnd);
}

/* One segment out and acknowledged after R: RACK's min_RTT becomes R; SRTT
 * is set to R (the handshake's zero-time sample would otherwise dominate
 * it). Returns the next sequence number to be sent. */
static uint32_t warm_up(struct tcp_cb *t)
{
    uint32_t s = k->snd_nxt;
    uint32_t seg = k->ts ? M - 12u : M;     /* a full segment */
    ck_assert_uint_eq(tfx_write(f, k->h, D, seg), seg);
    ck_assert_uint_eq(fx_ntx(f), 1);
    uint32_t tsv = tfx_tx(f, 0).tsval;
    fx_tx_clear(f);
    fx_advance(f, R);
    sack_ack(s + seg, s, 0, NULL, k->ts ? tsv : 0);
    ck_assert(t->rflags & RF_RTT);
    ck_assert_uint_eq(t->min_rtt, R);
    t->srtt = R;
    t->rttvar = R / 2;
    fx_tx_clear(f);
    return s + seg;
}

static void open_sack(bool ts)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true, .ts = ts));
    ck_assert(tfx_tcb(f, k->h)->flags & TF_SACK);
}

/* A SACK connection (no timestamps) after warm_up with @p n segments
 * sent R ago; returns the first of them. */
static uint32_t flight_of(struct tcp_cb **tp, uint32_t n)
{
    open_sack(false);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = warm_up(t);
    ck_assert_uint_eq(tfx_write(f, k->h, D + M, n * M), n * M);
    ck_assert_uint_eq(fx_ntx(f), n);
    fx_tx_clear(f);
    fx_advance(f, R);
    *tp = t;
    return s;
}

/* Bytes of data sent since the last fx_tx_clear, and whether a segment
 * started at @p seq. */
static uint32_t sent_bytes(void)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++)
        n += tfx_tx(f, i).len;
    return n;
}
static bool sent_at(uint32_t seq)
{
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        if (r.seq == seq && r.len > 0)
            return true;
    }
    return false;
}

START_TEST(rack_reorder_within_window)
{
    struct tcp_cb *t;
    uint32_t s = flight_of(&t, 4);
    /* segment 2 arrives first */
    const uint32_t b[1][2] = { { 1, 2 } };
    sack_ack(s, s, 1, b, 0);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert_uint_eq(t->t_rack, f->now + R / 4);   /* reo_wnd = min_RTT / 4 */
    /* segment 1 arrives inside the window */
    fx_advance(f, R / 8);
    const uint32_t b2[1][2] = { { 1, 2 } };
    sack_ack(s + M, s, 1, b2, 0);
    ck_assert(t->rflags & RF_REORD);
    fx_advance(f, R / 2);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_msg(tfx_tx(f, i).len == 0, "retransmission at %u", tfx_tx(f, i).seq - s);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 0);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    tfx_peer_ack(f, k, s + 4 * M, 65535);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 0);
}
END_TEST

START_TEST(rack_timer_beyond_window)
{
    struct tcp_cb *t;
    uint32_t s = flight_of(&t, 4);
    const uint32_t b[1][2] = { { 1, 2 } };
    sack_ack(s, s, 1, b, 0);
    uint64_t due = t->t_rack;
    ck_assert_uint_eq(due, f->now + R / 4);
    fx_advance(f, due - f->now - 1);
    fx_expect_no_tx(f);
    fx_advance(f, 1);
    /* RFC 8985 6.3: only segment 1 (sent before the delivered one) */
    ck_assert(sent_at(s));
    ck_assert(!sent_at(s + 2 * M));
    ck_assert(!sent_at(s + 3 * M));
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 1);
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert_uint_eq(fx_stats(f).tcp_timeouts, 0);
}
END_TEST

/* A peer's window closes and reopens during SACK recovery: what is in
 * flight stays watched (here the retransmission timer), so a loss RACK
 * cannot see is still repaired. Before the fix the reopening cleared the
 * persist timer, the zero window had cleared the retransmission timer,
 * and tcp_output (in recovery: only what RACK marked lost) sent nothing:
 * the connection waited forever (seen in test_tcp_wire's echo at 5 %). */
START_TEST(window_reopen_in_recovery)
{
    struct tcp_cb *t;
    uint32_t s = flight_of(&t, 4);
    const uint32_t b[1][2] = { { 1, 2 } };
    sack_ack(s, s, 1, b, 0);
    fx_advance(f, t->t_rack - f->now);
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    sack_ack_wnd(s, s, 1, b, 0, 0);         /* the window closes ... */
    sack_ack_wnd(s, s, 1, b, 0, 65535);     /* ... and opens again */
    ck_assert_uint_eq(t->t_persist, 0);
    ck_assert_uint_ne(t->t_rtx, 0);
    fx_tx_clear(f);
    fx_advance(f, t->t_rtx - f->now);
    ck_assert_msg(fx_ntx(f) > 0, "nothing resent by the time the RTO was due");
}
END_TEST

START_TEST(tlp_tail_drop)
{
    open_sack(false);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = warm_up(t);
    const uint64_t t1 = f->now;
    ck_assert_uint_eq(tfx_write(f, k->h, D + M, 10 * M), 10 * M);
    ck_assert_uint_eq(fx_ntx(f), 10);
    fx_tx_clear(f);
    fx_advance(f, R);
    /* segments 9 and 10 are lost */
    tfx_peer_ack(f, k, s + 8 * M, 65535);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(t->t_tlp, f->now + 2 * R);    /* PTO = 2 SRTT */
    ck_assert_uint_lt(t->t_tlp, t->t_rtx);
    fx_advance(f, 2 * R);
    /* the probe: no new data, so the last segment again */
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s + 9 * M);
    ck_assert_uint_eq(tfx_tx(f, 0).len, M);
    ck_assert_uint_eq(fx_stats(f).tcp_tlp_probes, 1);
    fx_tx_clear(f);
    /* its SACK shows segment 9 missing: RACK marks it lost at once */
    fx_advance(f, R);
    const uint32_t b[1][2] = { { 9, 10 } };
    sack_ack(s + 8 * M, s, 1, b, 0);
    ck_assert(sent_at(s + 8 * M));
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert_uint_eq(fx_stats(f).tcp_timeouts, 0);
    ck_assert_uint_lt(f->now - t1, t->rto);     /* repaired well before any RTO */
    fx_tx_clear(f);
    tfx_peer_ack(f, k, s + 10 * M, 65535);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert_uint_eq(t->snd_una, s + 10 * M);
}
END_TEST

START_TEST(dsack_generated)
{
    open_sack(false);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t p = k->peer_nxt;
    tfx_peer_send(f, k, D, 100, TH_PSH);
    fx_tx_clear(f);
    /* the same segment again */
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 100);
    r.seq = p;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.ack, p + 100);
    ck_assert_uint_eq(a.n_sack, 1);
    ck_assert_uint_eq(a.sack[0][0], p);
    ck_assert_uint_eq(a.sack[0][1], p + 100);
    ck_assert(!(t->rflags & RF_DSACK));     /* reported once */
    fx_tx_clear(f);
    /* out of order data, then its duplicate: D-SACK, then its block */
    r = tfx_seg(k, TH_ACK | TH_PSH, D + 1000, 200);
    r.seq = p + 1000;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_tx(f, fx_ntx(f) - 1).n_sack, 1);
    fx_tx_clear(f);
    tfx_inject(f, &r);
    ck_assert_uint_ge(fx_ntx(f), 1);
    a = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(a.ack, p + 100);
    ck_assert_uint_eq(a.n_sack, 2);
    ck_assert_uint_eq(a.sack[0][0], p + 1000);
    ck_assert_uint_eq(a.sack[0][1], p + 1200);
    ck_assert_uint_eq(a.sack[1][0], p + 1000);
    ck_assert_uint_eq(a.sack[1][1], p + 1200);
}
END_TEST

/* Ten segments out after the warm-up, segment 1 "lost": three SACKs
 * start recovery and segment 1 is resent. Returns the first sequence. */
static uint32_t recovery_on_seg1(struct tcp_cb *t, uint32_t *cw0, uint32_t *ss0)
{
    uint32_t s = warm_up(t);
    ck_assert_uint_eq(tfx_write(f, k->h, D + M, 10 * M), 10 * M);
    fx_tx_clear(f);
    *cw0 = t->cwnd;
    *ss0 = t->ssthresh;
    fx_advance(f, R);
    for (uint32_t i = 2; i <= 4; i++) {
        const uint32_t b[1][2] = { { 1, i } };
        sack_ack(s, s, 1, b, 0);
    }
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert(sent_at(s));
    ck_assert_uint_lt(t->ssthresh, *ss0);
    ck_assert_uint_lt(t->cwnd, *cw0);
    fx_tx_clear(f);
    return s;
}

START_TEST(dsack_undo)
{
    open_sack(false);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t cw0, ss0;
    uint32_t s = recovery_on_seg1(t, &cw0, &ss0);
    ck_assert_uint_eq(t->undo_retrans, 1);
    fx_advance(f, R);
    /* everything arrived, and segment 1 twice: D-SACK below the ACK */
    const uint32_t b[1][2] = { { 0, 1 } };
    sack_ack(s + 10 * M, s, 1, b, 0);
    ck_assert_uint_eq(fx_stats(f).tcp_dsacks_in, 1);
    ck_assert_uint_eq(fx_stats(f).tcp_undos, 1);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert_uint_eq(t->ssthresh, ss0);
    ck_assert_uint_ge(t->cwnd, cw0);
}
END_TEST

static void eifel(bool echo_original)
{
    open_sack(true);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = warm_up(t);
    ck_assert_uint_eq(tfx_write(f, k->h, D + M, 10 * M), 10 * M);
    uint32_t ts_orig = tfx_tx(f, 0).tsval;
    fx_tx_clear(f);
    uint32_t ss0 = t->ssthresh;
    fx_advance(f, R);
    for (uint32_t i = 2; i <= 4; i++) {
        const uint32_t b[1][2] = { { 1, i } };
        sack_ack(s, s, 1, b, 0);
    }
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr rx = tfx_tx(f, 0);
    ck_assert_uint_eq(rx.seq, s);
    ck_assert_uint_gt(rx.tsval - ts_orig, 0);   /* R later on the ms clock */
    ck_assert(t->rflags & RF_EIFEL);
    fx_tx_clear(f);
    fx_advance(f, R);
    sack_ack(t->snd_max, s, 0, NULL, echo_original ? ts_orig : rx.tsval);
    ck_assert(!(t->rflags & RF_EIFEL));
    if (echo_original) {
        ck_assert_uint_eq(fx_stats(f).tcp_undos, 1);
        ck_assert_uint_eq(t->ssthresh, ss0);
    } else {
        ck_assert_uint_eq(fx_stats(f).tcp_undos, 0);
        ck_assert_uint_lt(t->ssthresh, ss0);
    }
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
}

START_TEST(eifel_undo) { eifel(true); }
END_TEST
START_TEST(eifel_no_undo) { eifel(false); }
END_TEST

START_TEST(prr_proportional)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.sock_tx_bytes = 65536;   /* 40 segments queued */
    tfx_start(f);
    open_sack(false);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = warm_up(t);
    t->cwnd = 20 * M;
    ck_assert_uint_eq(tfx_write(f, k->h, D + M, 40 * M), 40 * M);
    ck_assert_uint_eq(fx_ntx(f), 20);
    fx_tx_clear(f);
    fx_advance(f, R);
    for (uint32_t i = 2; i <= 4; i++) {
        if (i == 4)
            fx_tx_clear(f);
        const uint32_t b[1][2] = { { 1, i } };
        sack_ack(s, s, 1, b, 0);
    }
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    const uint64_t ss = t->ssthresh, fs = t->recover_fs;
    /* RecoverFS: the 20 segments and two of limited transmit (RFC 3042) */
    ck_assert_uint_eq(fs, 22 * M);
    ck_assert_uint_eq(ss, 11 * M);
    /* the entering ACK delivered one segment; the first retransmission
     * goes regardless of the formula */
    uint32_t total = sent_bytes();
    ck_assert_uint_eq(total, M);
    ck_assert(sent_at(s));
    for (uint32_t j = 2; j <= 10; j++) {
        fx_tx_clear(f);
        const uint32_t b[1][2] = { { 1, j + 3 } };
        sack_ack(s, s, 1, b, 0);
        total += sent_bytes();
        uint64_t want = ((uint64_t)j * M * ss + fs - 1) / fs;   /* RFC 6937 3 */
        ck_assert_msg(total >= want && total < want + M,
                      "after %u ACKs in recovery: %u bytes sent, PRR allows %llu", j, total,
                      (unsigned long long)want);
        ck_assert_uint_eq(t->prr_out, total);
        ck_assert_uint_eq(t->prr_delivered, j * M);
    }
}
END_TEST

START_TEST(rescue_retransmission)
{
    struct tcp_cb *t;
    uint32_t s = flight_of(&t, 10);
    /* segments 1 and 10 lost; 2..9 SACKed one by one */
    unsigned seg1 = 0, seg10 = 0;
    for (uint32_t i = 2; i <= 9; i++) {
        const uint32_t b[1][2] = { { 1, i } };
        sack_ack(s, s, 1, b, 0);
        seg1 += sent_at(s);
        seg10 += sent_at(s + 9 * M);
        fx_tx_clear(f);
    }
    ck_assert_uint_eq(seg1, 1);
    ck_assert_uint_eq(seg10, 1);
    ck_assert(t->rflags & RF_RESCUE);
    ck_assert_uint_eq(fx_stats(f).tcp_timeouts, 0);
    tfx_peer_ack(f, k, s + 10 * M, 65535);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
}
END_TEST

/* RFC 8985 7.4: the probe resent the one lost tail segment. Without a
 * D-SACK for it, the loss was real: one congestion response once the ACK
 * goes past the probe. With a D-SACK, the probe was the duplicate:
 * nothing changes. */
static void tlp_loss_detection(bool dsack)
{
    struct tcp_cb *t;
    uint32_t s = flight_of(&t, 4);
    tfx_peer_ack(f, k, s + 3 * M, 65535);       /* segment 4 lost (or late) */
    ck_assert_uint_ne(t->t_tlp, 0);
    uint32_t ss0 = t->ssthresh;
    fx_tx_clear(f);
    fx_advance(f, t->t_tlp - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s + 3 * M);
    ck_assert(t->rflags & RF_TLP_RETX);
    fx_tx_clear(f);
    fx_advance(f, R);
    tfx_peer_ack(f, k, s + 4 * M, 65535);
    if (dsack) {
        const uint32_t b[1][2] = { { 3, 4 } };
        sack_ack(s + 4 * M, s, 1, b, 0);
        ck_assert(!(t->rflags & RF_TLP));
    }
    ck_assert_uint_eq(t->ssthresh, ss0);        /* not decided yet / never */
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    fx_advance(f, R);
    tfx_peer_ack(f, k, s + 5 * M, 65535);
    ck_assert(!(t->rflags & RF_TLP));
    if (dsack)
        ck_assert_uint_eq(t->ssthresh, ss0);
    else
        ck_assert_uint_lt(t->ssthresh, ss0);
    ck_assert_uint_eq(fx_stats(f).tcp_timeouts, 0);
}

START_TEST(tlp_repaired_loss) { tlp_loss_detection(false); }
END_TEST
START_TEST(tlp_spurious_probe) { tlp_loss_detection(true); }
END_TEST

/* RFC 8985 6.3 / tcp_cc_rto: the retransmission of the only hole is lost,
 * and so is the answer to the recovery probe; at the RTO the scoreboard
 * is kept: only the hole is resent, never the SACKed segments (go-back-N
 * would resend segment 2 after the hole's ACK). */
START_TEST(min_rtt_merged_ranges)
{
    open_sack(false);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = warm_up(t);
    const uint32_t gap = 1000u;
    /* One segment per send time, TCP_TXR_MAX + 1 times: the first two
     * ranges merge into one with the second's time. */
    for (uint32_t i = 0; i < TCP_TXR_MAX + 1u; i++) {
        ck_assert_uint_eq(tfx_write(f, k->h, D + i * M, M), M);
        ck_assert_uint_eq(fx_ntx(f), 1);
        fx_tx_clear(f);
        if (i < TCP_TXR_MAX)
            fx_advance(f, gap);
    }
    ck_assert_uint_eq(t->n_txr, TCP_TXR_MAX);
    ck_assert_uint_eq(t->txr[0].l, s);
    ck_assert(t->txr_f[0] & TXR_APPROX);
    ck_assert(!(t->txr_f[TCP_TXR_MAX - 1u] & TXR_APPROX));
    /* The first segment acknowledged exactly R after it was sent: the
     * merged range's time makes that R - gap, not a real round trip. */
    fx_advance(f, R - TCP_TXR_MAX * gap);
    sack_ack(s + M, s, 0, NULL, 0);
    ck_assert_uint_eq(t->snd_una, s + M);
    ck_assert_uint_eq(t->min_rtt, R);
    /* A range with an exact time still lowers it: the last segment, sent
     * at the last time, acknowledged R - gap after it. */
    fx_advance(f, R - gap - (R - TCP_TXR_MAX * gap));
    sack_ack(s + (TCP_TXR_MAX + 1u) * M, s, 0, NULL, 0);
    ck_assert_uint_eq(t->min_rtt, R - gap);
}
END_TEST

/* Segment A, then B and C 100 us apart, then fillers 1000 us apart until
 * the ranges run out: B and C (the closest pair) merge into one range
 * with times [B, C]. B is SACKed exactly R after it was sent; A, sent
 * 1000 us before B, may arrive until R + reo_wnd after it was sent. With
 * the merged range's latest time (C's) as RACK.xmit_ts, RACK.rtt was
 * R - 100 and A was retransmitted 100 us too early, though it arrived. */
START_TEST(rack_rtt_merged_ranges)
{
    open_sack(false);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t s = warm_up(t);
    const uint32_t gaps[TCP_TXR_MAX] = { 1000, 100, 1000, 1000, 1000, 1000, 1000, 1000 };
    for (uint32_t i = 0; i < TCP_TXR_MAX + 1u; i++) {
        ck_assert_uint_eq(tfx_write(f, k->h, D + i * M, M), M);
        ck_assert_uint_eq(fx_ntx(f), 1);
        fx_tx_clear(f);
        if (i < TCP_TXR_MAX)
            fx_advance(f, gaps[i]);
    }
    ck_assert_uint_eq(t->n_txr, TCP_TXR_MAX);
    ck_assert_uint_eq(t->txr[1].l, s + M);      /* B and C: one range */
    ck_assert_uint_eq(t->txr[2].l, s + 3 * M);
    ck_assert_uint_eq(t->txr[1].t - t->txr[1].t0, 100);
    /* B SACKed R after it was sent (C's time + R - 100). */
    uint32_t since_b = 100u;
    for (unsigned i = 2; i < TCP_TXR_MAX; i++)
        since_b += gaps[i];
    fx_advance(f, R - since_b);
    const uint32_t b[1][2] = { { 1, 2 } };
    sack_ack(s, s, 1, b, 0);
    ck_assert_uint_eq(t->rack_rtt, R);
    const uint32_t reo = R / 4u;                /* min_RTT / 4 */
    ck_assert_uint_eq(t->t_rack, f->now + reo - gaps[0]);
    /* A arrives 50 us before that deadline: never resent. */
    fx_advance(f, reo - gaps[0] - 50u);
    fx_expect_no_tx(f);
    sack_ack(s + M, s, 1, b, 0);
    fx_advance(f, R);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_msg(tfx_tx(f, i).len == 0, "retransmission at %u", tfx_tx(f, i).seq - s);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 0);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
}
END_TEST

START_TEST(rto_keeps_scoreboard)
{
    struct tcp_cb *t;
    uint32_t s = flight_of(&t, 4);
    const uint32_t b[1][2] = { { 1, 4 } };
    sack_ack(s, s, 1, b, 0);
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert(sent_at(s));
    fx_tx_clear(f);
    ck_assert_uint_ne(t->t_tlp, 0);
    fx_advance(f, t->t_tlp - f->now);       /* the recovery probe */
    ck_assert_uint_eq(fx_stats(f).tcp_tlp_probes, 1);
    fx_tx_clear(f);
    fx_advance(f, t->t_rtx - f->now);       /* nothing came back: RTO */
    ck_assert_uint_eq(fx_stats(f).tcp_timeouts, 1);
    ck_assert_uint_eq(t->recovery, TCP_REC_RTO);
    ck_assert(t->rflags & RF_RTO_SACK);
    ck_assert_uint_eq(t->n_sack, 1);
    ck_assert(sent_at(s));
    ck_assert(!sent_at(s + M) && !sent_at(s + 2 * M) && !sent_at(s + 3 * M));
    fx_tx_clear(f);
    fx_advance(f, R);
    sack_ack(s + M, s, 1, b, 0);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_msg(tfx_tx(f, i).len == 0, "SACKed data resent at %u", tfx_tx(f, i).seq - s);
    tfx_peer_ack(f, k, s + 4 * M, 65535);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert(!(t->rflags & RF_RTO_SACK));
}
END_TEST

Suite *tcp_rack_suite(void);
Suite *tcp_rack_suite(void)
{
    Suite *s = suite_create("tcp_rack");
    TCase *tc = tcase_create("rack");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rack_reorder_within_window);
    tcase_add_test(tc, rack_timer_beyond_window);
    tcase_add_test(tc, window_reopen_in_recovery);
    tcase_add_test(tc, tlp_tail_drop);
    tcase_add_test(tc, tlp_repaired_loss);
    tcase_add_test(tc, tlp_spurious_probe);
    tcase_add_test(tc, dsack_generated);
    tcase_add_test(tc, dsack_undo);
    tcase_add_test(tc, eifel_undo);
    tcase_add_test(tc, eifel_no_undo);
    tcase_add_test(tc, prr_proportional);
    tcase_add_test(tc, rescue_retransmission);
    tcase_add_test(tc, rto_keeps_scoreboard);
    tcase_add_test(tc, min_rtt_merged_ranges);
    tcase_add_test(tc, rack_rtt_merged_ranges);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_rack_suite)
