/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, out-of-order queue (reference-scenarios.md section
 * 9, BUF-64K-1 of section 12, the receiver half of TCP-B-SACK-1), with the
 * step-by-step checks test_tcp_data.c leaves out: after every arrival the
 * queue's ranges (internal), an immediate duplicate ACK for RCV.NXT (RFC
 * 5681 4.2), nothing delivered before the hole is filled, and an immediate
 * ACK of everything when it is.
 *
 * Every test asserts the RFC's behaviour; all pass against the current
 * core. Does not hold fixtures (tcp_fx.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[200000];
static uint8_t GOT[200000];

#define M 1460u

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* Inject bytes [a, b) of D at X + a, with extra flags; returns the number
 * of segments the stack sent in reply (and leaves them captured). */
static unsigned piece(uint32_t X, uint32_t a, uint32_t b, uint8_t fl)
{
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(k, (uint8_t)(TH_ACK | fl), D + a, b - a);
    r.seq = X + a;
    tfx_inject(f, &r);
    return fx_ntx(f);
}

/* The queue holds exactly the ranges @p want (pairs of offsets from X, in
 * any order), and a FIN at X + @p fin_off if @p fin_off is not 0. */
static void expect_ooo(uint32_t X, unsigned n, const uint32_t want[][2], uint32_t fin_off)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_eq(t->n_ooo, n);
    for (unsigned i = 0; i < n; i++) {
        int found = 0;
        for (unsigned j = 0; j < t->n_ooo; j++)
            if (t->ooo[j].l == X + want[i][0] && t->ooo[j].r == X + want[i][1])
                found = 1;
        ck_assert_msg(found, "range [%u, %u) missing", want[i][0], want[i][1]);
    }
    if (fin_off) {
        ck_assert(t->flags & TF_FIN_OOO);
        ck_assert_uint_eq(t->rfin_seq, X + fin_off);
    } else {
        ck_assert(!(t->flags & TF_FIN_OOO));
    }
}

/* One immediate duplicate ACK for X, nothing delivered. */
static void expect_dupack(uint32_t X)
{
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags & (TH_ACK | TH_SYN | TH_RST | TH_FIN), TH_ACK);
    ck_assert_uint_eq(a.ack, X);
    ck_assert_uint_eq(a.len, 0);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_nxt, X);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_RDHUP));
}

/* TCP-OOS-1, step by step; @p irs puts X anywhere (2^32 - 8: the queue
 * straddles the wrap). */
static void oos1(uint32_t irs)
{
    tfx_connect(f, k, &TFX_OPTS(.iss = irs));
    uint32_t X = k->peer_nxt;
    piece(X, 8, 16, TH_FIN);                /* (a) */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 8, 16 } }, 16);
    piece(X, 4, 12, 0);                     /* (b) */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 4, 16 } }, 16);
    piece(X, 4, 14, 0);                     /* (c) covered: ignored */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 4, 16 } }, 16);
    piece(X, 2, 16, 0);                     /* (d) wider, FIN kept */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 2, 16 } }, 16);
    piece(X, 16, 16, TH_FIN);               /* (e) duplicate FIN */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 2, 16 } }, 16);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, 64), 0);
    piece(X, 0, 4, 0);                      /* (f) */
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, X + 17);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, 64), 16);
    ck_assert_mem_eq(GOT, D, 16);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    expect_ooo(X, 0, NULL, 0);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_nxt, X + 17);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSE_WAIT);
    ck_assert_uint_eq(f->core->tcp->ooo_bytes, 0);
}

START_TEST(oos1_stepwise)
{
    oos1(TFX_PEER_ISS);
}
END_TEST

START_TEST(oos1_stepwise_across_wrap)
{
    oos1(0xffffffffu - 8u);
}
END_TEST

/* TCP-OOS-2, step by step. */
static void oos2(uint32_t irs)
{
    tfx_connect(f, k, &TFX_OPTS(.iss = irs));
    uint32_t X = k->peer_nxt;
    piece(X, 1, 3, 0);                      /* (a) */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 1, 3 } }, 0);
    piece(X, 4, 12, 0);                     /* (b) */
    expect_dupack(X);
    expect_ooo(X, 2, (const uint32_t[][2]){ { 1, 3 }, { 4, 12 } }, 0);
    piece(X, 3, 14, 0);                     /* (c) joins both */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 1, 14 } }, 0);
    piece(X, 2, 14, 0);                     /* (d) */
    expect_dupack(X);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 1, 14 } }, 0);
    piece(X, 0, 4, 0);                      /* (e) the hole: immediate ACK */
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, X + 14);
    expect_ooo(X, 0, NULL, 0);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, 64), 14);
    ck_assert_mem_eq(GOT, D, 14);
    piece(X, 15, 16, 0);                    /* (f) */
    expect_dupack(X + 14);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 15, 16 } }, 0);
    piece(X, 15, 16, 0);                    /* (g) */
    expect_dupack(X + 14);
    expect_ooo(X, 1, (const uint32_t[][2]){ { 15, 16 } }, 0);
    piece(X, 14, 16, TH_FIN);               /* (h) */
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, X + 17);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, 64), 2);
    ck_assert_mem_eq(GOT, D + 14, 2);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    expect_ooo(X, 0, NULL, 0);
    ck_assert_uint_eq(f->core->tcp->ooo_bytes, 0);
}

START_TEST(oos2_stepwise)
{
    oos2(TFX_PEER_ISS);
}
END_TEST

START_TEST(oos2_stepwise_across_wrap)
{
    oos2(0xffffffffu - 5u);
}
END_TEST

/* TCP-OOS-3 wire half: a segment wholly beyond the right edge is answered
 * with a duplicate ACK and leaves the queue unchanged. */
static void oos3(uint32_t irs)
{
    tfx_connect(f, k, &TFX_OPTS(.iss = irs));
    uint32_t X = k->peer_nxt;
    const uint32_t W = 16384;
    for (uint32_t i = 1; i * M < W; i++) {
        uint32_t e = (i + 1) * M < W ? (i + 1) * M : W;
        piece(X, i * M, e, 0);
        expect_dupack(X);
    }
    uint32_t queued = f->core->tcp->ooo_bytes;
    ck_assert_uint_eq(queued, W - M);
    piece(X, W, W + M, 0);
    expect_dupack(X);
    ck_assert_uint_eq(f->core->tcp->ooo_bytes, queued);
    piece(X, 0, M, 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, X + W);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, sizeof GOT), W);
    ck_assert_mem_eq(GOT, D, W);
}

START_TEST(oos3_beyond_window_dupack)
{
    oos3(TFX_PEER_ISS);
}
END_TEST

/* TCP-OOS-4: the same with the window straddling 2^32. */
START_TEST(oos4_beyond_window_across_wrap)
{
    oos3(0xffffffffu - 8192u);
}
END_TEST

/* TCP-OOS-7, the CLOSE-WAIT case on the wire: after data and FIN in
 * order, a byte after the FIN and a second FIN are acknowledged with
 * ACK = FIN + 1 and change nothing. */
START_TEST(oos7_after_fin_acked_not_delivered)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint32_t X = k->peer_nxt;
    piece(X, 0, M, 0);
    piece(X, M, M, TH_FIN);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSE_WAIT);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, X + M + 1);
    uint8_t junk = 0xee;
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(k, TH_ACK, &junk, 1);
    r.seq = X + M + 1;
    tfx_inject(f, &r);
    r = tfx_seg(k, TH_ACK | TH_FIN, NULL, 0);
    r.seq = X + M + 2;
    tfx_inject(f, &r);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_eq(tfx_tx(f, i).ack, X + M + 1);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_nxt, X + M + 1);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, sizeof GOT), M);
    ck_assert_mem_eq(GOT, D, M);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, sizeof GOT), 0);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSE_WAIT);
}
END_TEST

/* BUF-64K-1, TCP form: with window scaling and a 256 KiB window, more
 * than 64 KiB queued out of order (16-bit length trap), then the hole:
 * every byte delivered once, in order. */
START_TEST(ooo_more_than_64k_window_scaled)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.sock_rx_bytes = 262144;
    fx_start(f);
    fx_arp_seed(f);
    tfx_connect(f, k, &TFX_OPTS(.ws = 7));
    ck_assert(tfx_tcb(f, k->h)->flags & TF_WS);
    /* The whole ring as the window from the start (no autotuning). */
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_RCVBUF, 262144), 0);
    uint32_t X = k->peer_nxt;
    const uint32_t N = 120;                 /* 175200 bytes */
    for (uint32_t i = 1; i < N; i++) {
        piece(X, i * M, (i + 1) * M, 0);
        expect_dupack(X);
    }
    ck_assert_uint_eq(f->core->tcp->ooo_bytes, (N - 1) * M);
    ck_assert_uint_gt((N - 1) * M, 65536);
    piece(X, 0, M, 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, X + N * M);
    ck_assert_uint_eq(tfx_read(f, k->h, GOT, sizeof GOT), N * M);
    ck_assert_mem_eq(GOT, D, N * M);
    ck_assert_uint_eq(f->core->tcp->ooo_bytes, 0);
}
END_TEST

/* TCP-B-SACK-1 receiver: at most 4 blocks, 3 with timestamps (RFC 2018
 * 3); the first block holds the most recent arrival. */
static void sack_limit(bool ts, unsigned max_blocks)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true, .ts = ts));
    uint32_t X = k->peer_nxt;
    for (uint32_t i = 1; i <= 5; i++) {
        piece(X, 100 * i, 100 * i + 50, 0);
        expect_dupack(X);
        struct tcp_repr a = tfx_tx(f, 0);
        ck_assert_uint_eq(a.n_sack, i < max_blocks ? i : max_blocks);
        ck_assert_uint_eq(a.sack[0][0], X + 100 * i);
        ck_assert_uint_eq(a.sack[0][1], X + 100 * i + 50);
        ck_assert_uint_le(a.opt_len, 40);
        ck_assert(a.ts == ts);
        for (unsigned b = 0; b < a.n_sack; b++)
            ck_assert(TCP_SEQ_GT(a.sack[b][0], X));
    }
}

START_TEST(sack_blocks_max_four)
{
    sack_limit(false, 4);
}
END_TEST

START_TEST(sack_blocks_max_three_with_timestamps)
{
    sack_limit(true, 3);
}
END_TEST

Suite *tcp_scen_ooo_suite(void);
Suite *tcp_scen_ooo_suite(void)
{
    Suite *s = suite_create("tcp_scen_ooo");
    TCase *tc = tcase_create("scen_ooo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, oos1_stepwise);
    tcase_add_test(tc, oos2_stepwise);
    tcase_add_test(tc, oos1_stepwise_across_wrap);
    tcase_add_test(tc, oos2_stepwise_across_wrap);
    tcase_add_test(tc, oos3_beyond_window_dupack);
    tcase_add_test(tc, oos4_beyond_window_across_wrap);
    tcase_add_test(tc, oos7_after_fin_acked_not_delivered);
    tcase_add_test(tc, ooo_more_than_64k_window_scaled);
    tcase_add_test(tc, sack_blocks_max_four);
    tcase_add_test(tc, sack_blocks_max_three_with_timestamps);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_ooo_suite)
