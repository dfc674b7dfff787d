/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, retransmission timer (reference-scenarios.md
 * section 7; RFC 6298, RFC 5681 3.1, RFC 3465), beyond test_tcp_loss.c:
 *
 *   TCP-RTO-RECOVERY-1  all five steps with the ISS next to 2^32: cwnd
 *                       1 MSS, ssthresh, go-back-N, new data held, L = 1
 *                       SMSS after a timeout, congestion avoidance after.
 *   TCP-B-RTO-CALC-1    (a) the first sample from the handshake, (d) each
 *                       retransmission exactly at the doubled RTO up to the
 *                       cap, (f) the timer restarted by an ACK of new data.
 *   RFC 6298 5.7        RTO of 3 s after a retransmitted SYN.
 *   TCP-RTO-LINKDOWN-1  abort on the same schedule with the link down.
 *   TCP-B-KEEPALIVE-1   off by default; the idle timer restarts on peer
 *                       traffic; the probe's fields.
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
    tfx_pin_cong(MOAT_TCP_CONG_NEWRENO);    /* NewReno's window arithmetic */
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* Assert captured segment @p i is data at @p seq of @p len bytes with the
 * matching pattern bytes (offset from @p base). */
static void expect_data(unsigned i, uint32_t seq, uint32_t len, uint32_t base)
{
    struct tcp_repr r = tfx_tx(f, i);
    ck_assert_uint_eq(r.seq, seq);
    ck_assert_uint_eq(r.len, len);
    ck_assert_mem_eq(r.data, D + (seq - base), len);
}

/* TCP-RTO-RECOVERY-1, exactly as specified (cwnd set through the TCB). */
START_TEST(rto_recovery_five_steps)
{
    tfx_restart_iss(f, 0xffffff00u - M - 1u);
    tfx_connect(f, k, &TFX_OPTS());
    const uint32_t s0 = k->snd_nxt;
    ck_assert_uint_eq(s0, 0xffffff00u - M);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = 5 * M;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 5 * M), 5 * M);
    ck_assert_uint_eq(fx_ntx(f), 5);
    for (unsigned i = 0; i < 5; i++)
        expect_data(i, s0 + i * M, M, s0);
    fx_tx_clear(f);
    /* (1) the timeout: one retransmission, cwnd 1 MSS, ssthresh = max(FlightSize/2, 2 MSS) */
    fx_advance(f, t->rto);
    ck_assert_uint_eq(fx_ntx(f), 1);
    expect_data(0, s0, M, s0);
    ck_assert_uint_eq(t->cwnd, M);
    ck_assert_uint_eq(t->ssthresh, 5 * M / 2);
    ck_assert_uint_eq(t->recover, s0 + 5 * M);      /* recovery point */
    fx_tx_clear(f);
    /* (2) one more MSS from the application: nothing goes out */
    ck_assert_uint_eq(tfx_write(f, k->h, D + 5 * M, M), M);
    fx_expect_no_tx(f);
    /* (3) seg0 acknowledged: slow start, cwnd 2 MSS, seg1 and seg2 resent */
    tfx_peer_ack(f, k, s0 + M, 65535);
    ck_assert_uint_eq(t->cwnd, 2 * M);
    ck_assert_uint_eq(fx_ntx(f), 2);
    expect_data(0, s0 + M, M, s0);
    expect_data(1, s0 + 2 * M, M, s0);
    fx_tx_clear(f);
    /* (4) one ACK for 2 MSS: cwnd grows by 1 MSS only (RFC 3465 L = 1
     * SMSS after a timeout); seg3, seg4 resent and the new seg5 sent */
    tfx_peer_ack(f, k, s0 + 3 * M, 65535);
    ck_assert_uint_eq(t->cwnd, 3 * M);
    ck_assert_uint_eq(fx_ntx(f), 3);
    expect_data(0, s0 + 3 * M, M, s0);
    expect_data(1, s0 + 4 * M, M, s0);
    expect_data(2, s0 + 5 * M, M, s0);
    fx_tx_clear(f);
    /* (5) seg3+seg4 acknowledged: recovery over, cwnd >= ssthresh, so
     * congestion avoidance: no growth on this ACK, 2 MSS counted */
    tfx_peer_ack(f, k, s0 + 5 * M, 65535);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert_uint_eq(t->cwnd, 3 * M);
    ck_assert_uint_eq(t->bytes_acked, 2 * M);
    fx_expect_no_tx(f);
    tfx_peer_ack(f, k, s0 + 6 * M, 65535);
    ck_assert_uint_eq(t->snd_una, s0 + 6 * M);
}
END_TEST

/* TCP-B-RTO-CALC-1 (a): the first sample R = 100 ms (the handshake) gives
 * SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) = 300 ms (floored
 * at the configured minimum), and data is retransmitted exactly then. */
START_TEST(rto_first_sample)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    fx_tx_clear(f);
    fx_advance(f, 100000);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5000, .ack = syn.seq + 1,
                        .flags = TH_SYN | TH_ACK, .mss = 1460));
    struct tcp_cb *t = tfx_tcb(f, h);
    ck_assert_int_eq(t->state, TCPS_ESTABLISHED);
    ck_assert_uint_eq(t->srtt, 100000);
    ck_assert_uint_eq(t->rttvar, 50000);
    uint32_t expect = 300000;
    if (expect < f->cfg.tcp_rto_min_ms * 1000u)
        expect = f->cfg.tcp_rto_min_ms * 1000u;
    ck_assert_uint_eq(t->rto, expect);
    fx_tx_clear(f);
    uint32_t idx = moat_handle_idx(h);
    (void)idx;
    struct tfx_conn c = { .h = h, .lport = syn.sport, .rport = TFX_RPORT, .iss = syn.seq,
                          .irs = 5000, .snd_nxt = syn.seq + 1, .peer_nxt = 5001 };
    ck_assert_uint_eq(tfx_write(f, c.h, D, 100), 100);
    ck_assert_uint_eq(fx_ntx(f), 1);
    uint64_t t0 = fx_tx(f, 0)->t;
    fx_tx_clear(f);
    fx_advance(f, expect - 1);
    fx_expect_no_tx(f);
    fx_advance(f, 1);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(fx_tx(f, 0)->t - t0, expect);
    expect_data(0, c.snd_nxt, 100, c.snd_nxt);
}
END_TEST

/* TCP-B-RTO-CALC-1 (f), RFC 6298 5.3: an ACK of new data while data is
 * still outstanding restarts the timer, so the remaining segment is resent
 * one RTO after that ACK, not one RTO after it was first sent. */
START_TEST(rto_restarted_by_ack_of_new_data)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 2 * M), 2 * M);
    ck_assert_uint_eq(fx_ntx(f), 2);
    uint64_t t0 = f->now;
    uint32_t rto0 = t->rto;
    fx_tx_clear(f);
    fx_advance(f, rto0 / 2);
    tfx_peer_ack(f, k, k->snd_nxt + M, 65535);
    uint64_t ta = f->now;
    uint32_t rto1 = t->rto;     /* the ACK may carry a sample */
    ck_assert_uint_eq(t->t_rtx, ta + rto1);
    fx_advance(f, (t0 + rto0) - f->now + 1);
    if (ta + rto1 > t0 + rto0 + 1)
        fx_expect_no_tx(f);
    fx_advance(f, ta + rto1 - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(fx_tx(f, 0)->t, ta + rto1);
    expect_data(0, k->snd_nxt + M, M, k->snd_nxt);
}
END_TEST

/* TCP-B-RTO-CALC-1 (d) with TCP-RTO-TIMEOUT-1: the RTO doubles at each
 * timeout of the same segment up to the cap (60 s), each retransmission
 * is sent exactly at the current RTO, and after Rmax the connection is
 * aborted one (capped) RTO after the last retransmission. */
START_TEST(rto_backoff_exact_schedule)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint64_t iv = t->rto;
    const uint64_t cap = (uint64_t)f->cfg.tcp_rto_max_ms * 1000u;
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    uint64_t prev = fx_tx(f, 0)->t;
    fx_tx_clear(f);
    for (unsigned i = 0; i < f->cfg.tcp_max_retries; i++) {
        fx_advance(f, iv - 1);
        ck_assert_msg(fx_ntx(f) == 0, "retransmission %u early", i + 1);
        fx_advance(f, 1);
        ck_assert_msg(fx_ntx(f) == 1, "retransmission %u not at %llu us", i + 1,
                      (unsigned long long)iv);
        ck_assert_uint_eq(fx_tx(f, 0)->t - prev, iv);
        expect_data(0, k->snd_nxt, M, k->snd_nxt);
        prev = fx_tx(f, 0)->t;
        fx_tx_clear(f);
        iv = iv * 2 > cap ? cap : iv * 2;
    }
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
    fx_advance(f, iv - 1);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
    fx_advance(f, 1);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_TIMEDOUT);
    fx_expect_no_tx(f);
}
END_TEST

/* Advance in 10 ms steps until the socket reports an error; returns when. */
static uint64_t time_of_error(uint32_t h)
{
    for (unsigned i = 0; i < 100000; i++) {
        if (fx_sock_status(f, h) & MOAT_SS_ERR)
            return f->now;
        fx_advance(f, 10000);
    }
    ck_abort_msg("no error within 1000 s");
    return 0;
}

/* TCP-RTO-LINKDOWN-1: with the link down after the first retransmission
 * the connection is aborted on the same schedule as with the link up. */
START_TEST(rto_link_down_same_schedule)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    uint64_t t_up0 = f->now;
    uint64_t up = time_of_error(k->h) - t_up0;
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_TIMEDOUT);
    ck_assert_int_eq(tfx_abort(f, k->h), 0);
    fx_tx_clear(f);
    struct tfx_conn c2;
    tfx_connect(f, &c2, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, c2.h, D, M), M);
    uint64_t t_dn0 = f->now;
    fx_tx_clear(f);
    fx_advance(f, tfx_tcb(f, c2.h)->rto);
    ck_assert_uint_eq(fx_ntx(f), 1);
    f->links[0].fail_tx = 1000000;
    uint64_t down = time_of_error(c2.h) - t_dn0;
    f->links[0].fail_tx = 0;
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_int_eq(fx_sock_error(f, c2.h), MOAT_E_TIMEDOUT);
    uint64_t d = up > down ? up - down : down - up;
    ck_assert_msg(d <= 10000, "link up: %llu us, link down: %llu us",
                  (unsigned long long)up, (unsigned long long)down);
}
END_TEST

/* RFC 6298 5.7 (MUST): "If the timer expires awaiting the ACK of a SYN
 * segment and the TCP implementation is using an RTO less than 3 seconds,
 * the RTO MUST be re-initialized to 3 seconds when data transmission
 * begins". One SYN retransmission (RTO backed off to 2 s), then the
 * SYN-ACK (no timestamps, so Karn leaves no sample): the first data
 * segment must not be retransmitted before 3 s. (Found failing: it went
 * at 2 s; since fixed in tcp_in.c.) */
START_TEST(rto_three_seconds_after_syn_retransmission)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    fx_tx_clear(f);
    fx_advance(f, 1000000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN);
    fx_advance(f, 10000);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5000, .ack = syn.seq + 1,
                        .flags = TH_SYN | TH_ACK, .mss = 1460));
    ck_assert_int_eq(tfx_state(f, h), TCPS_ESTABLISHED);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, h, D, 100), 100);
    ck_assert_uint_eq(fx_ntx(f), 1);
    uint64_t t0 = fx_tx(f, 0)->t;
    fx_tx_clear(f);
    fx_advance(f, 3000000 - 1);
    ck_assert_msg(fx_ntx(f) == 0, "data retransmitted %llu us after it was sent (RTO %u us)",
                  fx_ntx(f) ? (unsigned long long)(fx_tx(f, 0)->t - t0) : 0ull,
                  tfx_tcb(f, h)->rto);
    fx_advance(f, 1);
    ck_assert_uint_eq(fx_ntx(f), 1);
}
END_TEST


/* TCP-B-KEEPALIVE-1: off unless enabled (and the default idle time is at
 * least two hours, RFC 1122 4.2.3.6): an idle connection sends nothing
 * for three hours. */
START_TEST(keepalive_off_by_default)
{
    ck_assert_uint_ge(f->cfg.tcp_keepidle_ms, 7200000u);
    tfx_connect(f, k, &TFX_OPTS());
    fx_advance(f, 3ull * 3600 * 1000000);
    fx_expect_no_tx(f);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
}
END_TEST

/* TCP-B-KEEPALIVE-1: any traffic from the peer restarts the idle timer;
 * the probe is SEQ = SND.NXT - 1 with no data, ACK = RCV.NXT. */
START_TEST(keepalive_idle_restarted_by_peer_traffic)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_keepidle_ms = 10000;
    f->cfg.tcp_keepintvl_ms = 1000;
    f->cfg.tcp_keepcnt = 3;
    tfx_start(f);
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_KEEPALIVE, 1), 0);
    fx_tx_clear(f);
    fx_advance(f, 8000000);
    tfx_peer_send(f, k, D, 10, TH_PSH);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 10);
    fx_advance(f, 1000000);         /* the delayed ACK goes out */
    fx_tx_clear(f);
    uint64_t t_data = f->now - 1000000;
    fx_advance(f, t_data + 10000000 - 1000 - f->now);
    fx_expect_no_tx(f);
    fx_advance(f, 2000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr p = tfx_tx(f, 0);
    ck_assert_uint_eq(p.seq, k->snd_nxt - 1);
    ck_assert_uint_le(p.len, 1);
    ck_assert_uint_eq(p.ack, k->peer_nxt);
    ck_assert_uint_eq(p.flags & (TH_ACK | TH_SYN | TH_FIN | TH_RST), TH_ACK);
}
END_TEST

Suite *tcp_scen_rto_suite(void);
Suite *tcp_scen_rto_suite(void)
{
    Suite *s = suite_create("tcp_scen_rto");
    TCase *tc = tcase_create("scen_rto");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rto_recovery_five_steps);
    tcase_add_test(tc, rto_first_sample);
    tcase_add_test(tc, rto_restarted_by_ack_of_new_data);
    tcase_add_test(tc, rto_backoff_exact_schedule);
    tcase_add_test(tc, rto_link_down_same_schedule);
    tcase_add_test(tc, keepalive_off_by_default);
    tcase_add_test(tc, keepalive_idle_restarted_by_peer_traffic);
    tcase_add_test(tc, rto_three_seconds_after_syn_retransmission);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_rto_suite)
