/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, zero window and persist timer (reference-
 * scenarios.md section 10; RFC 9293 3.8.6.1, RFC 1122 4.2.2.17), beyond
 * test_tcp_data.c:
 *
 *   TCP-PERSIST-TIMEOUT-1  never abort while probes are answered; probe
 *                          intervals back off to the cap; the probe byte
 *                          is the same unaccepted byte each time.
 *   TCP-PERSIST-PROBE-1    an accepted probe byte moves the next probe on.
 *   TCP-PERSIST-SPLIT-1    steps (1)-(3) exactly, also across 2^32.
 *   Window reopening       data resumes at SND.UNA with no gap or repeat;
 *                          a FIN queued during the zero window follows;
 *                          a zero window with data in flight.
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
static uint8_t D[32768];

#define M 1460u

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* One MSS sent and acknowledged with window 0, then @p more bytes queued
 * (from D + M on). Capture cleared; k->snd_nxt = first unsent byte. */
static void zero_window_with_queue(uint32_t more)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    k->snd_nxt += M;
    tfx_peer_ack(f, k, k->snd_nxt, 0);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D + M, more), more);
    fx_expect_no_tx(f);
    ck_assert_uint_ne(tfx_tcb(f, k->h)->t_persist, 0);
}

/* Advance to the next persist deadline; returns the probe. */
static struct tcp_repr next_probe(uint64_t *when)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_ne(t->t_persist, 0);
    ck_assert_uint_gt(t->t_persist, f->now);
    fx_tx_clear(f);
    fx_advance(f, t->t_persist - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    *when = fx_tx(f, 0)->t;
    return tfx_tx(f, 0);
}

/* TCP-PERSIST-TIMEOUT-1, RFC 1122 4.2.2.17: a receiver that keeps
 * answering (window still 0) is probed indefinitely; the intervals grow
 * and are capped; each probe is the first unaccepted byte. */
START_TEST(persist_answered_never_aborts)
{
    zero_window_with_queue(100);
    const uint64_t cap = (uint64_t)f->cfg.tcp_rto_max_ms * 1000u;
    uint64_t prev_t = f->now, prev_iv = 0;
    unsigned n = f->cfg.tcp_max_retries * 3;
    for (unsigned i = 0; i < n; i++) {
        uint64_t when;
        struct tcp_repr p = next_probe(&when);
        ck_assert_uint_eq(p.len, 1);
        ck_assert_uint_eq(p.seq, k->snd_nxt);
        ck_assert_uint_eq(p.data[0], D[M]);
        uint64_t iv = when - prev_t;
        ck_assert_uint_le(iv, cap);
        if (i > 0)
            ck_assert_msg(iv >= prev_iv || iv == cap, "probe %u: interval %llu < %llu", i,
                          (unsigned long long)iv, (unsigned long long)prev_iv);
        prev_iv = iv;
        prev_t = when;
        tfx_peer_ack(f, k, k->snd_nxt, 0);      /* answered, window still 0 */
        ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
    }
    ck_assert_uint_eq(prev_iv, cap);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
    /* the window opens: everything from the probe byte on, in order */
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    uint32_t next = k->snd_nxt;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_uint_eq(r.seq, next);
        ck_assert_mem_eq(r.data, D + M + (r.seq - k->snd_nxt), r.len);
        next += r.len;
    }
    ck_assert_uint_eq(next, k->snd_nxt + 100);
}
END_TEST

/* TCP-PERSIST-PROBE-1: when the peer accepts the probe byte (ACK moves by
 * one, window still 0), the next probe carries the next new byte. */
START_TEST(persist_accepted_probe_moves_on)
{
    zero_window_with_queue(10);
    uint64_t when;
    for (uint32_t i = 0; i < 5; i++) {
        struct tcp_repr p = next_probe(&when);
        ck_assert_uint_eq(p.len, 1);
        ck_assert_uint_eq(p.seq, k->snd_nxt + i);
        ck_assert_uint_eq(p.data[0], D[M + i]);
        tfx_peer_ack(f, k, k->snd_nxt + i + 1, 0);
        ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_una, k->snd_nxt + i + 1);
    }
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt + 5, 65535);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt + 5);
    ck_assert_uint_eq(r.len, 5);
    ck_assert_mem_eq(r.data, D + M + 5, 5);
}
END_TEST

/* A close during the zero window: the FIN waits behind the data and goes
 * once the window opens (never ahead of queued bytes). */
START_TEST(persist_fin_after_window_opens)
{
    zero_window_with_queue(300);
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    uint64_t when;
    struct tcp_repr p = next_probe(&when);
    ck_assert(!(p.flags & TH_FIN));
    ck_assert_uint_eq(p.len, 1);
    tfx_peer_ack(f, k, k->snd_nxt, 0);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    uint32_t next = k->snd_nxt;
    int fin = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert(!fin);
        ck_assert_uint_eq(r.seq, next);
        ck_assert_mem_eq(r.data, D + M + (r.seq - k->snd_nxt), r.len);
        next += r.len;
        if (r.flags & TH_FIN) {
            fin = 1;
            ck_assert_uint_eq(next, k->snd_nxt + 300);
        }
    }
    ck_assert(fin);
    tfx_peer_ack(f, k, k->snd_nxt + 301, 65535);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_FIN_WAIT_2);
}
END_TEST

/* TCP-PERSIST-TIMEOUT-1 second half, with the schedule: once the peer is
 * silent, Rmax probes at non-decreasing intervals, then "timed out". */
START_TEST(persist_silent_peer_times_out)
{
    zero_window_with_queue(100);
    uint64_t when, prev = f->now, prev_iv = 0;
    for (unsigned i = 0; i < f->cfg.tcp_max_retries; i++) {
        struct tcp_repr p = next_probe(&when);
        ck_assert_uint_eq(p.len, 1);
        ck_assert_uint_eq(p.seq, k->snd_nxt);
        ck_assert_uint_ge(when - prev, prev_iv);
        prev_iv = when - prev;
        prev = when;
        ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
    }
    fx_tx_clear(f);
    fx_advance(f, 3600ull * 1000000u);
    fx_expect_no_tx(f);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_TIMEDOUT);
}
END_TEST


/* A zero window announced while data is in flight (the ACK covers only
 * the first segment): no abort by the retransmission timer while the
 * peer answers probes, and once the window opens every byte arrives in
 * order with no gap. */
START_TEST(zero_window_with_data_in_flight)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    const uint32_t s = k->snd_nxt;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 4 * M), 4 * M);
    ck_assert_uint_eq(fx_ntx(f), 4);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, s + M, 0);
    fx_expect_no_tx(f);
    for (unsigned i = 0; i < 2 * f->cfg.tcp_max_retries; i++) {
        ck_assert_uint_ne(t->t_persist, 0);
        fx_advance(f, t->t_persist - f->now);
        ck_assert_uint_ge(fx_ntx(f), 1);
        for (unsigned j = 0; j < fx_ntx(f); j++) {
            struct tcp_repr x = tfx_tx(f, j);
            ck_assert_uint_eq(x.seq, s + M);
            ck_assert_uint_le(x.len, 1);
            if (x.len)
                ck_assert_uint_eq(x.data[0], D[M]);
        }
        fx_tx_clear(f);
        tfx_peer_ack(f, k, s + M, 0);
        ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
    }
    uint32_t acked = s + M;
    for (int round = 0; round < 30 && TCP_SEQ_LT(acked, s + 4 * M); round++) {
        tfx_peer_ack(f, k, acked, 65535);
        for (unsigned j = 0; j < fx_ntx(f); j++) {
            struct tcp_repr x = tfx_tx(f, j);
            ck_assert_mem_eq(x.data, D + (x.seq - s), x.len);
        }
        fx_tx_clear(f);
        acked = t->snd_max;
    }
    tfx_peer_ack(f, k, acked, 65535);
    ck_assert_uint_eq(t->snd_una, s + 4 * M);
}
END_TEST


/* TCP-PERSIST-SPLIT-1 steps (1)-(3) without the extra write, at the
 * given ISS: 3.75 MSS written with cwnd = SND.WND = 3 MSS; the peer ACKs
 * the three segments with window MSS/2; the persist timer sends exactly
 * the first MSS/2 queued bytes; the ACK of those (window still MSS/2)
 * releases the remaining MSS/4 at once, byte-exact. */
static void persist_split(uint32_t iss)
{
    tfx_teardown(f);
    tfx_config(f);
    f->iss_hook = iss != 0;
    f->iss_fixed = iss;
    tfx_start(f);
    tfx_connect(f, k, &TFX_OPTS(.wnd = 3 * M));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = 3 * M;
    const uint32_t s = k->snd_nxt;
    const uint32_t q = 3 * M + 3 * M / 4;
    ck_assert_uint_eq(tfx_write(f, k->h, D, q), q);
    ck_assert_uint_eq(fx_ntx(f), 3);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, s + 3 * M, M / 2);           /* (1) */
    fx_expect_no_tx(f);
    ck_assert_uint_ne(t->t_persist, 0);
    fx_advance(f, t->t_persist - f->now);           /* (2) */
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, s + 3 * M);
    ck_assert_uint_eq(r.len, M / 2);
    ck_assert_mem_eq(r.data, D + 3 * M, M / 2);
    ck_assert_uint_eq(t->t_persist, 0);
    ck_assert_uint_ne(t->t_rtx, 0);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, s + 3 * M + M / 2, M / 2);   /* (3) */
    ck_assert_uint_eq(fx_ntx(f), 1);
    r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, s + 3 * M + M / 2);
    ck_assert_uint_eq(r.len, q - 3 * M - M / 2);
    ck_assert_mem_eq(r.data, D + 3 * M + M / 2, r.len);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, s + q, 65535);
    ck_assert_uint_eq(t->snd_una, s + q);
    fx_expect_no_tx(f);
}

START_TEST(persist_split_exact)
{
    persist_split(0);
}
END_TEST

/* The same with the split point just past 2^32. */
START_TEST(persist_split_across_wrap)
{
    persist_split(0xffffffffu - 3 * M - 100u);
}
END_TEST

Suite *tcp_scen_persist_suite(void);
Suite *tcp_scen_persist_suite(void)
{
    Suite *s = suite_create("tcp_scen_persist");
    TCase *tc = tcase_create("scen_persist");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, persist_answered_never_aborts);
    tcase_add_test(tc, persist_accepted_probe_moves_on);
    tcase_add_test(tc, persist_fin_after_window_opens);
    tcase_add_test(tc, persist_silent_peer_times_out);
    tcase_add_test(tc, zero_window_with_data_in_flight);
    tcase_add_test(tc, persist_split_exact);
    tcase_add_test(tc, persist_split_across_wrap);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_persist_suite)
