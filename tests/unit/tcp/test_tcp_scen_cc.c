/* SPDX-License-Identifier: MIT */
/*
 * Congestion control outside loss recovery, as issue 3 asks for it
 * (RFC 5681 3.1 and 4.1, RFC 3465, RFC 6928); reference-scenarios.md
 * section 7/8 preconditions ("cwnd = ...") rely on these:
 *
 *   - the initial window is 10 segments (RFC 6928), and 1 segment when
 *     the SYN had to be retransmitted (RFC 5681 3.1, RFC 6928 2);
 *   - slow start grows cwnd by the bytes acknowledged, at most 2 SMSS per
 *     ACK (RFC 3465 L = 2 SMSS);
 *   - congestion avoidance adds 1 SMSS once a full cwnd has been
 *     acknowledged (byte counting);
 *   - after an idle period longer than the RTO, cwnd restarts from no
 *     more than the initial window (RFC 5681 4.1, SHOULD).
 *
 * Every test asserts the RFC's behaviour. A test moat fails is kept in a
 * TCase named known_failures_<scenario>, compiled always but run only with
 * MOAT_RUN_KNOWN_FAILURES=1 (or CK_RUN_CASE=known_failures_<scenario>),
 * so the default run stays green and the failure reproducible. Does not
 * hold fixtures (tcp_fx.c).
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
static uint8_t D[65536];

#define M 1460u

static void setup(void)
{
    tfx_pin_cong(MOAT_TCP_CONG_NEWRENO);    /* NewReno's window arithmetic */
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* A fixture with a bigger send ring, for windows beyond 11 segments. */
static void restart_big_tx(void)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.sock_tx_bytes = 65536;
    tfx_start(f);
}

/* RFC 6928: IW = min(10 MSS, max(2 MSS, 14600)) = 10 segments of 1460. */
START_TEST(initial_window_ten_segments)
{
    restart_big_tx();
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, 20 * M), 20 * M);
    ck_assert_uint_eq(fx_ntx(f), 10);
    for (unsigned i = 0; i < 10; i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_uint_eq(r.seq, k->snd_nxt + i * M);
        ck_assert_uint_eq(r.len, M);
    }
}
END_TEST

/* RFC 6928 2 / RFC 5681 3.1: when the SYN was retransmitted the initial
 * window is one segment. */
START_TEST(initial_window_one_after_syn_loss)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    fx_tx_clear(f);
    fx_advance(f, 1000000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5000, .ack = syn.seq + 1,
                        .flags = TH_SYN | TH_ACK, .mss = 1460));
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, h, D, 5 * M), 5 * M);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).len, M);
}
END_TEST

/* RFC 5681 3.1 with RFC 3465: in slow start each ACK adds the bytes it
 * acknowledges, but no more than 2 SMSS. */
START_TEST(slow_start_byte_counting)
{
    restart_big_tx();
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = 4 * M;
    t->ssthresh = 64 * M;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 30 * M), 30 * M);
    ck_assert_uint_eq(fx_ntx(f), 4);
    const uint32_t s = k->snd_nxt;
    tfx_peer_ack(f, k, s + M, 65535);               /* 1 SMSS acked */
    ck_assert_uint_eq(t->cwnd, 5 * M);
    tfx_peer_ack(f, k, s + 4 * M, 65535);           /* a stretch ACK of 3 */
    ck_assert_uint_eq(t->cwnd, 7 * M);
    tfx_peer_ack(f, k, s + 4 * M + 100, 65535);     /* a partial segment */
    ck_assert_uint_eq(t->cwnd, 7 * M + 100);
}
END_TEST

/* RFC 5681 3.1 congestion avoidance with byte counting: cwnd grows by 1
 * SMSS once a whole cwnd of data has been acknowledged, not per ACK. */
START_TEST(congestion_avoidance_one_mss_per_window)
{
    restart_big_tx();
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = t->ssthresh = 4 * M;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 30 * M), 30 * M);
    ck_assert_uint_eq(fx_ntx(f), 4);
    const uint32_t s = k->snd_nxt;
    for (uint32_t i = 1; i <= 3; i++) {
        tfx_peer_ack(f, k, s + i * M, 65535);
        ck_assert_uint_eq(t->cwnd, 4 * M);
    }
    tfx_peer_ack(f, k, s + 4 * M, 65535);
    ck_assert_uint_eq(t->cwnd, 5 * M);
    for (uint32_t i = 5; i <= 9; i++)
        tfx_peer_ack(f, k, s + i * M, 65535);
    ck_assert_uint_eq(t->cwnd, 6 * M);
    /* the flight follows cwnd */
    ck_assert_uint_eq(t->snd_max - t->snd_una, 6 * M);
}
END_TEST

/* RFC 5681 4.1 (SHOULD): after more than an RTO without sending, cwnd
 * is brought back to at most the restart window min(IW, cwnd) before
 * new data goes out. */
START_TEST(restart_window_after_idle)
{
    restart_big_tx();
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = 30 * M;
    t->ssthresh = 64 * M;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 20 * M), 20 * M);
    ck_assert_uint_eq(fx_ntx(f), 20);
    k->snd_nxt += 20 * M;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    fx_tx_clear(f);
    fx_advance(f, 10ull * 1000000u + 10u * t->rto);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 20 * M), 20 * M);
    ck_assert_msg(fx_ntx(f) <= 10, "%u segments in one burst after idle", fx_ntx(f));
}
END_TEST

Suite *tcp_scen_cc_suite(void);
Suite *tcp_scen_cc_suite(void)
{
    Suite *s = suite_create("tcp_scen_cc");
    TCase *tc = tcase_create("scen_cc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, initial_window_ten_segments);
    tcase_add_test(tc, initial_window_one_after_syn_loss);
    tcase_add_test(tc, slow_start_byte_counting);
    tcase_add_test(tc, congestion_avoidance_one_mss_per_window);
    tcase_add_test(tc, restart_window_after_idle);   /* RFC 5681 4.1 */
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_cc_suite)
