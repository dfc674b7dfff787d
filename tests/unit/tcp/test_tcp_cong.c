/* SPDX-License-Identifier: MIT */
/*
 * The congestion control module (core/tcp_cong.h) and ECN:
 *
 *   - CUBIC (RFC 9438): the integer cube root; K and W_cubic(t) against
 *     the real-valued formulas (computed here, tolerance one MSS); the
 *     window of a connection in congestion avoidance against W_cubic(t)
 *     in the concave and convex regions; the beta_cubic reduction; fast
 *     convergence; the Reno-friendly region (W_est); the timeout; undo
 *     (with HyStart++ back where it was).
 *     These drive the module directly with a TCB and virtual time.
 *   - HyStart++ (RFC 9406): to CSS on an RTT increase, back to slow start
 *     when the RTT falls again, to congestion avoidance after CSS_ROUNDS.
 *   - selection: moat_config.tcp_cong and MOAT_OPT_TCP_CONG (range, state,
 *     inheritance by accepted connections), configuration checks.
 *   - ECN (RFC 3168) through the real stack: negotiation both ways and
 *     not when the peer does not ask or it is off; ECT(0) only on new
 *     data; the ECE response once per window with CWR on the next new
 *     data and no retransmission; CE -> ECE until CWR.
 *
 * Does not test loss detection (test_tcp_loss.c, test_tcp_scen_*.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

#define M 1460u

/* ---- module-level: a TCB and a clock ------------------------------------ */

static struct mcore C;
static struct tcp_cb T;

static void mod_init(uint8_t algo)
{
    memset(&C, 0, sizeof C);
    memset(&T, 0, sizeof T);
    C.now = 1000000u;
    T.mss = M;
    T.cong = algo;
    T.snd_una = T.snd_max = 1000u;
    tcp_cong_init(&C, &T);
}

/* cwnd of data in flight (the sender is cwnd-limited). */
static void mod_fill(void)
{
    T.snd_max = T.snd_una + T.cwnd;
}

/* Real-valued cube root (Newton), so the test does not need libm. */
static double cbrt_d(double x)
{
    if (x <= 0)
        return 0;
    double y = x > 1 ? x / 3 : 1;
    for (int i = 0; i < 300; i++)
        y = (2 * y + x / (y * y)) / 3;
    return y;
}

/* RFC 9438 figure 2 and equation 1, windows in segments, times in s. */
static double rfc_k(double w_max, double cwnd_epoch)
{
    return cbrt_d((w_max - cwnd_epoch) / 0.4);
}
static double rfc_w(double w_max, double k, double t)
{
    double d = t - k;
    return 0.4 * d * d * d + w_max;
}

/* A congestion event at cwnd (all of it in flight) and its recovery. */
static uint32_t mod_congestion(uint32_t cwnd)
{
    T.cwnd = cwnd;
    mod_fill();
    uint32_t ss = tcp_cong_on_congestion(&C, &T);
    tcp_cong_on_recovery_end(&C, &T);
    return ss;
}

/* Acknowledge one SMSS at a time, spacing the ACKs so that a cwnd of data
 * is acknowledged per @p rtt_us, until the clock reaches @p until. */
static void mod_ack_until(uint64_t until, uint32_t rtt_us)
{
    while (C.now < until) {
        uint64_t step = (uint64_t)rtt_us * M / T.cwnd;
        C.now += step ? step : 1u;
        T.snd_una += M;
        T.snd_max += M;
        T.rtt_last = rtt_us;
        tcp_cong_on_ack(&C, &T, M);
    }
}

START_TEST(icbrt_exact)
{
    static const uint64_t roots[] = { 0, 1, 2, 3, 7, 10, 100, 1000, 4217, 65535, 100000,
                                      1048575, 2097151, 2642245 };
    for (unsigned i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        uint64_t r = roots[i];
        uint64_t cube = r * r * r;
        ck_assert_uint_eq(tcp_icbrt64(cube), r);
        if (cube > 0)
            ck_assert_uint_eq(tcp_icbrt64(cube - 1), r - 1);
        if (r >= 1 && r < 2642245u)
            ck_assert_uint_eq(tcp_icbrt64(cube + 1), r);
    }
    /* the largest argument: floor(cbrt(2^64 - 1)) = 2642245 */
    ck_assert_uint_eq(tcp_icbrt64(UINT64_MAX), 2642245u);
}
END_TEST

/* K = cbrt((W_max - cwnd_epoch) / C) over a range of windows, to 1 ms. */
START_TEST(cubic_k_matches_formula)
{
    static const uint32_t wm[] = { 10, 20, 100, 1000, 10000, 100000 };
    for (unsigned i = 0; i < sizeof wm / sizeof wm[0]; i++) {
        uint32_t w_max = wm[i] * M;
        uint32_t epoch = w_max / 10u * 7u;
        double k = rfc_k(wm[i], wm[i] * 0.7) * 1000.0;
        uint32_t got = tcp_cubic_k_ms(w_max, epoch, M);
        ck_assert_msg(got + 1.0 >= k && got <= k + 1.0, "K %u ms for W_max %u segs, RFC %.3f",
                      got, wm[i], k);
    }
    ck_assert_uint_eq(tcp_cubic_k_ms(10 * M, 10 * M, M), 0);
    ck_assert_uint_eq(tcp_cubic_k_ms(10 * M, 12 * M, M), 0);
}
END_TEST

/* W_cubic(t) in bytes against equation 1, both sides of K, to one MSS. */
START_TEST(cubic_w_matches_formula)
{
    const double w_max = 100, k = rfc_k(100, 70);
    uint32_t k_ms = tcp_cubic_k_ms(100 * M, 70 * M, M);
    static const uint32_t ts[] = { 0, 500, 1000, 2000, 4000, 4217, 5000, 8000, 20000, 60000 };
    for (unsigned i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        double want = rfc_w(w_max, k, ts[i] / 1000.0) * M;
        if (want < 0)
            want = 0;
        double got = tcp_cubic_w(100 * M, k_ms, ts[i], M);
        ck_assert_msg(got >= want - M && got <= want + M, "W_cubic(%u ms) = %.0f, RFC %.0f",
                      ts[i], got, want);
    }
}
END_TEST

/* RFC 9438 4.6: ssthresh = flight * beta_cubic; W_max = cwnd; after
 * recovery cwnd = ssthresh; K from W_max and that cwnd. */
START_TEST(cubic_beta_reduction)
{
    mod_init(TCP_CONG_CUBIC);
    uint32_t ss = mod_congestion(100 * M);
    ck_assert_uint_eq(ss, 70 * M);
    ck_assert_uint_eq(T.ssthresh, 70 * M);
    ck_assert_uint_eq(T.cwnd, 70 * M);
    ck_assert_uint_eq(T.cp.cu.w_max, 100 * M);
    ck_assert_uint_eq(T.cp.cu.epoch, 0);
    mod_ack_until(C.now + 1, 10000);    /* the first ACK opens the epoch */
    double k = rfc_k(100, 70) * 1000.0;
    ck_assert(T.cp.cu.k_ms + 1.0 >= k && T.cp.cu.k_ms <= k + 1.0);
    /* and never below 2 SMSS */
    mod_init(TCP_CONG_CUBIC);
    ck_assert_uint_eq(mod_congestion(2 * M), 2 * M);
}
END_TEST

/* The window in congestion avoidance follows W_cubic(t), t from the start
 * of the stage: concave below K, plateau at W_max, convex after. A
 * 100 ms RTT and a 1000-segment W_max keep the Reno-friendly estimate
 * below the curve throughout (that region is tested below). */
START_TEST(cubic_window_follows_w_cubic)
{
    mod_init(TCP_CONG_CUBIC);
    const uint32_t rtt = 100000;
    T.cp.min_rtt = rtt;
    mod_congestion(1000 * M);
    mod_ack_until(C.now + 1, rtt);
    const uint64_t epoch = T.cp.cu.epoch;
    ck_assert_uint_ne(epoch, 0);
    const double k = rfc_k(1000, 700);      /* 9.086 s */
    static const uint32_t at_ms[] = { 500, 1000, 3000, 6000, 8000, 9086, 10000, 11000, 12000 };
    for (unsigned i = 0; i < sizeof at_ms / sizeof at_ms[0]; i++) {
        mod_ack_until(epoch + at_ms[i] * 1000ull, rtt);
        double t_s = (double)(C.now - epoch) / 1e6;
        double want = rfc_w(1000, k, t_s) * M;
        ck_assert_msg(T.cwnd + (double)M >= want && T.cwnd <= want + M,
                      "t=%u ms cwnd %u, W_cubic %.0f", at_ms[i], T.cwnd, want);
        ck_assert_uint_lt(T.cp.cu.w_est, T.cwnd);
    }
    ck_assert_uint_gt(T.cwnd, 1000 * M);    /* convex: past W_max */
}
END_TEST

/* RFC 9438 4.2: far into the convex region the target is clamped to
 * 1.5 cwnd, so one ACK of an SMSS adds at most half an SMSS. */
START_TEST(cubic_target_clamp)
{
    mod_init(TCP_CONG_CUBIC);
    T.cp.min_rtt = 10000;
    mod_congestion(100 * M);
    mod_ack_until(C.now + 1, 10000);
    C.now += 30000000u;                 /* 30 s later W_cubic is ~6900 segments */
    for (unsigned i = 0; i < 5; i++) {
        uint32_t before = T.cwnd;
        mod_ack_until(C.now + 1, 10000);
        ck_assert_uint_ge(T.cwnd, before + M / 2u - 1u);
        ck_assert_uint_le(T.cwnd, before + M / 2u + 1u);
    }
}
END_TEST

/* RFC 9438 4.7: a second event below the last W_max remembers less. */
START_TEST(cubic_fast_convergence)
{
    mod_init(TCP_CONG_CUBIC);
    mod_congestion(100 * M);
    ck_assert_uint_eq(T.cp.cu.w_max, 100 * M);
    mod_ack_until(C.now + 100000, 10000);
    uint32_t cw = T.cwnd;
    ck_assert_uint_lt(cw, 100 * M);
    mod_congestion(cw);
    ck_assert_uint_eq(T.cp.cu.w_max, (uint32_t)((uint64_t)cw * 17u / 20u));
    ck_assert_uint_eq(T.cp.cu.cwnd_prior, cw);
    /* a third event above it: W_max is the window itself */
    mod_congestion(120 * M);
    ck_assert_uint_eq(T.cp.cu.w_max, 120 * M);
}
END_TEST

/* RFC 9438 4.3: with a short RTT Reno's AIMD (alpha_cubic, then 1 once
 * W_est passes the window of the last event) outgrows the cubic curve:
 * cwnd is W_est. */
START_TEST(cubic_reno_friendly_region)
{
    mod_init(TCP_CONG_CUBIC);
    mod_congestion(100 * M);
    const uint32_t rtt = 1000;      /* 1 ms */
    T.cp.min_rtt = rtt;
    mod_ack_until(C.now + 1, rtt);
    const uint64_t epoch = T.cp.cu.epoch;
    /* the same estimate in real numbers, one SMSS acknowledged per step */
    double est = 70.0 * M + 0.9 / 1.7 * M * M / (70.0 * M), cw = est;
    double k = rfc_k(100, 70);
    static const uint32_t at_ms[] = { 40, 80 };     /* alpha_cubic, then 1 past 100 segs */
    for (unsigned i = 0; i < 2; i++) {
        while (C.now < epoch + at_ms[i] * 1000u) {
            double alpha = est >= 100.0 * M ? 1.0 : 0.9 / 1.7;
            mod_ack_until(C.now + 1, rtt);
            est += alpha * M * M / cw;
            if (est > cw)
                cw = est;
        }
        double wc = rfc_w(100, k, (double)(C.now - epoch) / 1e6) * M;
        ck_assert_msg(T.cwnd + (double)M >= cw && T.cwnd <= cw + M, "t=%u ms cwnd %u W_est %.0f",
                      at_ms[i], T.cwnd, cw);
        ck_assert_msg(T.cwnd > wc + 5.0 * M, "cwnd %u W_cubic %.0f", T.cwnd, wc);
    }
    ck_assert_uint_gt(T.cwnd, 100 * M);
}
END_TEST

/* RFC 9438 4.9 / the module's undo: everything as before the event. */
START_TEST(cubic_undo_restores_state)
{
    mod_init(TCP_CONG_CUBIC);
    mod_congestion(100 * M);
    mod_ack_until(C.now + 2000000u, 10000);
    struct tcp_cubic before = T.cp.cu;
    uint32_t cw = T.cwnd, ss = T.ssthresh;
    T.cwnd = cw;
    mod_fill();
    tcp_cong_on_congestion(&C, &T);
    T.cwnd = T.ssthresh;
    ck_assert_uint_ne(T.cp.cu.epoch, before.epoch);
    uint32_t ss_new = T.ssthresh;
    tcp_cong_undo(&C, &T);
    ck_assert_uint_eq(T.cwnd, cw);
    ck_assert_uint_eq(T.ssthresh, ss_new > ss ? ss_new : ss);   /* never lowered */
    ck_assert_uint_eq(T.cp.cu.w_max, before.w_max);
    ck_assert_uint_eq(T.cp.cu.k_ms, before.k_ms);
    ck_assert_uint_eq(T.cp.cu.epoch, before.epoch);
    ck_assert_uint_eq(T.cp.cu.w_est, before.w_est);
}
END_TEST

/* RFC 9438 4.8: timeout: ssthresh by beta_cubic, cwnd 1 SMSS; the next
 * stage starts with K = 0 and W_max = the window at its start. */
START_TEST(cubic_timeout)
{
    mod_init(TCP_CONG_CUBIC);
    T.cwnd = 50 * M;
    mod_fill();
    tcp_cong_on_rto(&C, &T, 1);
    ck_assert_uint_eq(T.ssthresh, 35 * M);
    ck_assert_uint_eq(T.cwnd, M);
    tcp_cong_on_rto(&C, &T, 0);     /* a second timeout of the series */
    ck_assert_uint_eq(T.ssthresh, 35 * M);
    T.recovery = TCP_REC_RTO;
    while (T.cwnd < T.ssthresh)
        mod_ack_until(C.now + 1, 10000);
    T.recovery = TCP_REC_NONE;
    uint32_t start = T.cwnd;
    mod_ack_until(C.now + 1, 10000);
    ck_assert_uint_eq(T.cp.cu.k_ms, 0);
    ck_assert_uint_eq(T.cp.cu.w_max, start);
}
END_TEST

/* NewReno through the same hooks: half the flight, 1 SMSS per window. */
START_TEST(newreno_module)
{
    mod_init(TCP_CONG_NEWRENO);
    ck_assert_uint_eq(mod_congestion(40 * M), 20 * M);
    uint32_t cw = T.cwnd;
    for (unsigned i = 0; i < 20; i++)
        mod_ack_until(C.now + 1, 10000);
    ck_assert_uint_eq(T.cwnd, cw + M);
}
END_TEST

/* ---- HyStart++ ------------------------------------------------------------- */

/* One round of slow start: the window in flight acknowledged in SMSS
 * ACKs, each with RTT sample @p rtt_us. */
static void hs_round(uint32_t rtt_us)
{
    mod_fill();
    uint32_t end = T.snd_max;
    while (TCP_SEQ_LT(T.snd_una, end) && T.cwnd < T.ssthresh) {
        C.now += 100;
        T.snd_una += M;
        T.rtt_last = rtt_us;
        tcp_cong_on_ack(&C, &T, M);
    }
}

START_TEST(hystart_css_and_back)
{
    mod_init(TCP_CONG_CUBIC);
    T.cwnd = 10 * M;
    hs_round(100000);
    hs_round(100000);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_SS);
    /* stable RTT: standard slow start, 1 SMSS per SMSS acknowledged */
    uint32_t before = T.cwnd;
    hs_round(100000);
    ck_assert_uint_eq(T.cwnd, 2 * before);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_SS);
    /* the RTT rises by more than max(4 ms, min(100/8 ms, 16 ms)) = 12.5 ms */
    hs_round(113000);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_CSS);
    ck_assert_uint_eq(T.cp.hs.css_base, 113000);
    /* CSS: growth divided by CSS_GROWTH_DIVISOR */
    before = T.cwnd;
    uint32_t n = 0;
    mod_fill();
    for (unsigned i = 0; i < 8; i++, n++) {
        C.now += 100;
        T.snd_una += M;
        T.rtt_last = 114000;
        tcp_cong_on_ack(&C, &T, M);
    }
    ck_assert_uint_eq(T.cwnd, before + n * (M / 4u));
    /* the RTT falls below the CSS baseline: back to slow start */
    hs_round(90000);
    hs_round(90000);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_SS);
    ck_assert_uint_eq(T.ssthresh, 0x3fffffffu);
}
END_TEST

/* A lasting increase: CSS_ROUNDS rounds of CSS, then congestion avoidance
 * with ssthresh = cwnd. An increase under the threshold changes nothing. */
START_TEST(hystart_css_to_avoidance)
{
    mod_init(TCP_CONG_CUBIC);
    T.cwnd = 10 * M;
    hs_round(20000);
    hs_round(20000);
    hs_round(23900);    /* +3.9 ms < MIN_RTT_THRESH (4 ms) */
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_SS);
    hs_round(30000);    /* +6.1 ms against the last round's 23.9 ms */
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_CSS);
    for (unsigned r = 0; r < TCP_HS_CSS_ROUNDS && T.cp.hs.phase == TCP_HS_CSS; r++)
        hs_round(30000);
    hs_round(30000);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_DONE);
    ck_assert_uint_lt(T.ssthresh, 0x3fffffffu);
    ck_assert_uint_ge(T.cwnd, T.ssthresh);
    /* congestion avoidance from here: the next ACK opens a CUBIC epoch */
    mod_ack_until(C.now + 1, 30000);
    ck_assert_uint_ne(T.cp.cu.epoch, 0);
}
END_TEST

/* Too few RTT samples per round (N_RTT_SAMPLE = 8): no decision. */
START_TEST(hystart_needs_samples)
{
    mod_init(TCP_CONG_CUBIC);
    T.cwnd = 4 * M;     /* rounds of 4, 8 ACKs */
    hs_round(20000);
    hs_round(20000);
    T.cwnd = 4 * M;
    hs_round(60000);    /* only 4 samples */
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_SS);
}
END_TEST

/* A spurious response in slow start, undone: HyStart++ is on again (the
 * response had ended it), so an RTT increase still ends slow start; before
 * the fix slow start went on until a real loss. */
START_TEST(cubic_undo_restores_hystart)
{
    mod_init(TCP_CONG_CUBIC);
    T.cwnd = 10 * M;
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_SS);
    mod_fill();
    tcp_cong_on_congestion(&C, &T);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_DONE);
    T.cwnd = T.ssthresh;
    tcp_cong_undo(&C, &T);
    ck_assert_uint_eq(T.ssthresh, 0x3fffffffu);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_SS);
    hs_round(20000);
    hs_round(20000);
    hs_round(30000);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_CSS);
    /* a response in congestion avoidance, undone: stays done */
    mod_init(TCP_CONG_CUBIC);
    mod_congestion(100 * M);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_DONE);
    mod_fill();
    tcp_cong_on_congestion(&C, &T);
    tcp_cong_undo(&C, &T);
    ck_assert_uint_eq(T.cp.hs.phase, TCP_HS_DONE);
}
END_TEST

/* ---- selection: config and socket option ------------------------------------ */

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[65536];

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

static void restart_cfg(int cong, int ecn)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.sock_tx_bytes = 65536;
    if (cong >= 0)
        f->cfg.tcp_cong = (uint8_t)cong;
    if (ecn >= 0)
        f->cfg.tcp_ecn = (uint8_t)ecn;
    tfx_start(f);
}

START_TEST(config_defaults_and_checks)
{
    struct moat_config c;
    moat_config_defaults(&c);
    ck_assert_uint_eq(c.tcp_cong, MOAT_TCP_CONG_CUBIC);
    ck_assert_uint_eq(c.tcp_ecn, 2);
    c.ifs[0].ip = 0xc0000201u;
    char why[128];
    ck_assert_int_eq(moat_config_check(&c, why, sizeof why), 0);
    c.tcp_cong = 2;
    ck_assert_int_eq(moat_config_check(&c, why, sizeof why), MOAT_E_RANGE);
    c.tcp_cong = MOAT_TCP_CONG_NEWRENO;
    c.tcp_ecn = 3;
    ck_assert_int_eq(moat_config_check(&c, why, sizeof why), MOAT_E_RANGE);
}
END_TEST

START_TEST(option_selects_algorithm)
{
    int64_t v = -1;
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_getopt(f, h, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_CUBIC);   /* the stack's default */
    ck_assert_int_eq(fx_setopt(f, h, MOAT_OPT_TCP_CONG, MOAT_TCP_CONG_NEWRENO), 0);
    ck_assert_int_eq(fx_getopt(f, h, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_NEWRENO);
    ck_assert_uint_eq(tfx_tcb(f, h)->cong, TCP_CONG_NEWRENO);
    ck_assert_int_eq(fx_setopt(f, h, MOAT_OPT_TCP_CONG, 2), MOAT_E_RANGE);
    ck_assert_int_eq(fx_setopt(f, h, MOAT_OPT_TCP_CONG, -1), MOAT_E_RANGE);
    /* UDP has none */
    uint32_t u = 0;
    ck_assert_int_eq(fx_sock_open(f, MOAT_SOCK_DGRAM, &u), 0);
    ck_assert_int_eq(fx_setopt(f, u, MOAT_OPT_TCP_CONG, 1), MOAT_E_NOTSUP);
    ck_assert_int_eq(fx_getopt(f, u, MOAT_OPT_TCP_CONG, &v), MOAT_E_NOTSUP);
    /* once connecting it is too late; the value stays */
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_TCP_CONG, MOAT_TCP_CONG_NEWRENO), MOAT_E_STATE);
    ck_assert_int_eq(fx_getopt(f, k->h, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_CUBIC);
}
END_TEST

START_TEST(config_selects_algorithm_and_listener_passes_it_on)
{
    restart_cfg(MOAT_TCP_CONG_NEWRENO, -1);
    int64_t v = -1;
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_getopt(f, k->h, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_NEWRENO);
    tfx_abort(f, k->h);
    /* a listener set to CUBIC hands it to what it accepts */
    restart_cfg(MOAT_TCP_CONG_NEWRENO, -1);
    uint32_t l = tfx_stream_open(f);
    ck_assert_int_eq(fx_setopt(f, l, MOAT_OPT_TCP_CONG, MOAT_TCP_CONG_CUBIC), 0);
    ck_assert_int_eq(fx_bind(f, l, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, l, 4), 0);
    ck_assert_int_eq(fx_setopt(f, l, MOAT_OPT_TCP_CONG, MOAT_TCP_CONG_CUBIC), 0);
    struct tcp_repr syn = TSEG(.seq = TFX_PEER_ISS, .flags = TH_SYN, .mss = 1460);
    tfx_inject(f, &syn);
    struct tcp_repr sa = tfx_tx(f, 0);
    tfx_inject(f, &TSEG(.seq = TFX_PEER_ISS + 1, .ack = sa.seq + 1, .flags = TH_ACK));
    uint32_t ch = 0;
    ck_assert_int_eq(tfx_accept(f, l, &ch), 0);
    ck_assert_int_eq(fx_getopt(f, ch, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_CUBIC);
}
END_TEST

/* ---- ECN ------------------------------------------------------------------------- */

#define ECN_MASK 3u
#define ECT0 2u
#define CE 3u

/* Passive, default tcp_ecn (2): agreed when asked; data ECT(0), ACKs not. */
START_TEST(ecn_passive_negotiated)
{
    restart_cfg(-1, -1);
    uint64_t conns = fx_stats(f).tcp_ecn_conns;
    tfx_passive(f, k, &TFX_OPTS(.ecn = true));   /* asserts ECE on the SYN-ACK */
    ck_assert_uint_eq(fx_stats(f).tcp_ecn_conns, conns + 1);
    ck_assert_uint_ne(tfx_tcb(f, k->h)->cp.ecn & TCP_ECN_OK, 0);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 3 * M), 3 * M);
    ck_assert_uint_eq(fx_ntx(f), 3);
    for (unsigned i = 0; i < 3; i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_uint_eq(r.tos & ECN_MASK, ECT0);
        ck_assert_uint_eq(r.flags & (TH_ECE | TH_CWR), 0);
    }
    fx_tx_clear(f);
    /* a pure ACK is not ECN-capable */
    tfx_peer_send(f, k, D, 100, TH_PSH);
    tfx_peer_send(f, k, D, 100, TH_PSH);
    fx_advance(f, 200000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.len, 0);
    ck_assert_uint_eq(a.tos & ECN_MASK, 0);
}
END_TEST

/* The peer does not ask, or tcp_ecn is 0: no ECE on the SYN-ACK, no ECT. */
START_TEST(ecn_not_negotiated)
{
    restart_cfg(-1, -1);
    tfx_passive(f, k, &TFX_OPTS());     /* asserts a plain SYN-ACK */
    ck_assert_uint_eq(tfx_tcb(f, k->h)->cp.ecn, 0);
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    ck_assert_uint_eq(tfx_tx(f, 0).tos & ECN_MASK, 0);
    restart_cfg(-1, 0);
    tfx_passive(f, k, &TFX_OPTS(.ecn = true));   /* asserts no ECE with tcp_ecn 0 */
    ck_assert_uint_eq(tfx_tcb(f, k->h)->cp.ecn, 0);
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    ck_assert_uint_eq(tfx_tx(f, 0).tos & ECN_MASK, 0);
    /* default 2 never asks on connect (tfx_connect asserts a plain SYN) */
    restart_cfg(-1, 2);
    tfx_connect(f, k, &TFX_OPTS(.ecn = true));
    ck_assert_uint_eq(tfx_tcb(f, k->h)->cp.ecn & TCP_ECN_OK, 0);
}
END_TEST

/* Active, tcp_ecn 1: the SYN asks (ECE + CWR); an answer with ECE agrees,
 * one without does not. */
START_TEST(ecn_active_negotiated)
{
    restart_cfg(-1, 1);
    tfx_connect(f, k, &TFX_OPTS(.ecn = true));  /* asserts ECE|CWR on the SYN */
    ck_assert_uint_ne(tfx_tcb(f, k->h)->cp.ecn & TCP_ECN_OK, 0);
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    ck_assert_uint_eq(tfx_tx(f, 0).tos & ECN_MASK, ECT0);
    tfx_abort(f, k->h);
    fx_tx_clear(f);
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_tcb(f, k->h)->cp.ecn & TCP_ECN_OK, 0);
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    ck_assert_uint_eq(tfx_tx(f, 0).tos & ECN_MASK, 0);
}
END_TEST

/* Sender: ECE halves (beta) once per window without retransmitting; CWR
 * on the next new data; an ECE after that window reduces again. */
static void ecn_response(int cong)
{
    restart_cfg(cong, -1);
    tfx_passive(f, k, &TFX_OPTS(.ecn = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = 10 * M;
    t->ssthresh = 5 * M;        /* congestion avoidance */
    ck_assert_uint_eq(tfx_write(f, k->h, D, 30 * M), 30 * M);
    ck_assert_uint_eq(fx_ntx(f), 10);
    const uint32_t s = k->snd_nxt;
    const uint64_t rx0 = fx_stats(f).tcp_retransmits;
    fx_tx_clear(f);
    struct tcp_repr a = tfx_seg(k, TH_ACK | TH_ECE, NULL, 0);
    a.ack = s + M;
    tfx_inject(f, &a);
    uint32_t want = cong == MOAT_TCP_CONG_NEWRENO ? 10 * M / 2 : 10 * M * 7 / 10;
    ck_assert_uint_eq(t->ssthresh, want);
    ck_assert_uint_le(t->cwnd, want + M);
    ck_assert_uint_eq(fx_stats(f).tcp_ecn_reductions, 1);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, rx0);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    /* more ECE in the same window: no further reduction */
    uint32_t cw = t->cwnd, ss = t->ssthresh;
    for (uint32_t i = 2; i <= 6; i++) {
        a.ack = s + i * M;
        tfx_inject(f, &a);
    }
    ck_assert_uint_eq(t->ssthresh, ss);
    ck_assert_uint_ge(t->cwnd, cw);
    ck_assert_uint_eq(fx_stats(f).tcp_ecn_reductions, 1);
    /* the first new data segment after the reduction carries CWR, once */
    unsigned n = fx_ntx(f), cwr = 0;
    ck_assert_uint_ge(n, 1);
    for (unsigned i = 0; i < n; i++) {
        struct tcp_repr r = tfx_tx(f, i);
        if (r.flags & TH_CWR) {
            cwr++;
            ck_assert_uint_eq(r.seq, s + 10 * M);   /* new data, past the old window */
            ck_assert_uint_eq(i, 0);
        }
        ck_assert_uint_eq(r.tos & ECN_MASK, ECT0);
    }
    ck_assert_uint_eq(cwr, 1);
    /* ECE on an ACK past that window: a new congestion event */
    a.ack = t->snd_max;
    tfx_inject(f, &a);
    ck_assert_uint_eq(fx_stats(f).tcp_ecn_reductions, 2);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, rx0);
}

START_TEST(ecn_ece_response_cubic) { ecn_response(MOAT_TCP_CONG_CUBIC); }
END_TEST
START_TEST(ecn_ece_response_newreno) { ecn_response(MOAT_TCP_CONG_NEWRENO); }
END_TEST

/* Receiver: CE -> ECE on every ACK until a segment with CWR arrives. */
START_TEST(ecn_ce_echoed_until_cwr)
{
    restart_cfg(-1, -1);
    tfx_passive(f, k, &TFX_OPTS(.ecn = true));
    uint64_t ce0 = fx_stats(f).tcp_ecn_ce_rcvd;
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 100);
    r.tos = CE;
    k->peer_nxt += 100;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_stats(f).tcp_ecn_ce_rcvd, ce0 + 1);
    ck_assert_uint_eq(fx_ntx(f), 1);                  /* acknowledged at once */
    ck_assert_uint_ne(tfx_tx(f, 0).flags & TH_ECE, 0);
    fx_tx_clear(f);
    /* unmarked data: still ECE */
    for (unsigned i = 0; i < 2; i++) {
        r = tfx_seg(k, TH_ACK | TH_PSH, D, 100);
        r.tos = ECT0;
        k->peer_nxt += 100;
        tfx_inject(f, &r);
    }
    fx_advance(f, 200000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_ne(tfx_tx(f, i).flags & TH_ECE, 0);
    /* our own data carries ECE too */
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 10), 10);
    ck_assert_uint_ne(tfx_tx(f, 0).flags & TH_ECE, 0);
    k->snd_nxt += 10;
    fx_tx_clear(f);
    /* CWR ends the echo */
    for (unsigned i = 0; i < 2; i++) {
        r = tfx_seg(k, (uint8_t)(TH_ACK | TH_PSH | (i == 0 ? TH_CWR : 0u)), D, 100);
        r.tos = ECT0;
        k->peer_nxt += 100;
        tfx_inject(f, &r);
    }
    fx_advance(f, 200000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_eq(tfx_tx(f, i).flags & TH_ECE, 0);
}
END_TEST

/* Retransmissions are not ECN-capable (RFC 3168 6.1.5). */
START_TEST(ecn_no_ect_on_retransmission)
{
    restart_cfg(-1, -1);
    tfx_passive(f, k, &TFX_OPTS(.ecn = true));
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    ck_assert_uint_eq(tfx_tx(f, 0).tos & ECN_MASK, ECT0);
    fx_tx_clear(f);
    fx_advance(f, 1500000);     /* past the initial RTO */
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt);
    ck_assert_uint_eq(r.len, M);
    ck_assert_uint_eq(r.tos & ECN_MASK, 0);
}
END_TEST

Suite *tcp_cong_suite(void);
Suite *tcp_cong_suite(void)
{
    Suite *s = suite_create("tcp_cong");
    TCase *tc = tcase_create("cubic");
    tcase_add_test(tc, icbrt_exact);
    tcase_add_test(tc, cubic_k_matches_formula);
    tcase_add_test(tc, cubic_w_matches_formula);
    tcase_add_test(tc, cubic_beta_reduction);
    tcase_add_test(tc, cubic_window_follows_w_cubic);
    tcase_add_test(tc, cubic_target_clamp);
    tcase_add_test(tc, cubic_fast_convergence);
    tcase_add_test(tc, cubic_reno_friendly_region);
    tcase_add_test(tc, cubic_undo_restores_state);
    tcase_add_test(tc, cubic_undo_restores_hystart);
    tcase_add_test(tc, cubic_timeout);
    tcase_add_test(tc, newreno_module);
    suite_add_tcase(s, tc);
    tc = tcase_create("hystart");
    tcase_add_test(tc, hystart_css_and_back);
    tcase_add_test(tc, hystart_css_to_avoidance);
    tcase_add_test(tc, hystart_needs_samples);
    suite_add_tcase(s, tc);
    tc = tcase_create("select");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_defaults_and_checks);
    tcase_add_test(tc, option_selects_algorithm);
    tcase_add_test(tc, config_selects_algorithm_and_listener_passes_it_on);
    suite_add_tcase(s, tc);
    tc = tcase_create("ecn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ecn_passive_negotiated);
    tcase_add_test(tc, ecn_not_negotiated);
    tcase_add_test(tc, ecn_active_negotiated);
    tcase_add_test(tc, ecn_ece_response_cubic);
    tcase_add_test(tc, ecn_ece_response_newreno);
    tcase_add_test(tc, ecn_ce_echoed_until_cwr);
    tcase_add_test(tc, ecn_no_ect_on_retransmission);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_cong_suite)
