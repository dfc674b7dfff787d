/* SPDX-License-Identifier: MIT */
/*
 * CUBIC (RFC 9438) with HyStart++ (RFC 9406) in its initial slow start.
 *
 * Integer arithmetic only (the core has no libm and may run without an
 * FPU): windows in bytes, the cubic function's time in milliseconds, C and
 * beta_cubic as exact fractions (2/5, 7/10), alpha_cubic in 1/1024, K from
 * an integer cube root. The error against the real-valued formulas is well
 * under one byte per segment of window (tests/unit/tcp/test_tcp_cong.c
 * checks it).
 *
 *   W_cubic(t) = C (t - K)^3 + W_max            (segments, t and K in s)
 *   K          = cbrt((W_max - cwnd_epoch) / C)
 *
 * t runs from the start of the congestion avoidance stage (the first ACK
 * after a reduction, or after slow start ends); the RTT added to t for the
 * target (RFC 9438 4.2) is the lowest RTT seen on the connection.
 *
 * HyStart++ is CUBIC's only (NewReno stays the plain RFC 5681 reference
 * algorithm) and runs in the initial slow start only: after a timeout
 * ssthresh is known and standard slow start applies (RFC 9406 4.3).
 */
#include "tcp_priv.h"

#define CUBIC_INF 0xffffffffu
#define CUBIC_WND_MAX 0x3fffffffu
#define CUBIC_D_MAX 2000000u        /* |t - K| clamp: 2000 s keeps d^3 in 64 bits */

uint32_t tcp_icbrt64(uint64_t x)
{
    /* Digit by digit in base 8: y doubles each step and gains the bit if
     * (y + 1)^3 - y^3 = 3y(y + 1) + 1 more still fits under x. */
    uint64_t y = 0;
    for (int s = 63; s >= 0; s -= 3) {
        y += y;
        uint64_t b = 3u * y * (y + 1u) + 1u;
        if ((x >> s) >= b) {
            x -= b << s;
            y++;
        }
    }
    return (uint32_t)y;
}

uint32_t tcp_cubic_k_ms(uint32_t w_max, uint32_t cwnd, uint32_t mss)
{
    if (w_max <= cwnd || mss == 0)
        return 0;
    /* K [ms] = cbrt((W_max - cwnd) / mss / C [s^3]) * 1000
     *        = cbrt((W_max - cwnd) * 2.5e9 / mss)   (fits: diff < 2^32) */
    uint64_t x = (uint64_t)(w_max - cwnd) * 2500000000u / mss;
    return tcp_icbrt64(x);
}

uint32_t tcp_cubic_w(uint32_t w_max, uint32_t k_ms, uint32_t t_ms, uint32_t mss)
{
    int below = t_ms < k_ms;
    uint64_t d = below ? k_ms - t_ms : t_ms - k_ms;
    if (d > CUBIC_D_MAX)
        d = CUBIC_D_MAX;
    /* C d^3 with d in ms is 0.4e-9 d^3 segments = d^3 * 2 / 5e6 thousandths
     * of a segment. */
    uint64_t msegs = d * d * d / 1000u * TCP_CUBIC_C_NUM / (TCP_CUBIC_C_DEN * 1000u);
    uint64_t off = msegs * mss / 1000u;
    uint64_t w;
    if (below)
        w = off < w_max ? w_max - off : 0;
    else
        w = (uint64_t)w_max + off;
    return w > CUBIC_WND_MAX ? CUBIC_WND_MAX : (uint32_t)w;
}

void tcp_cubic_init(struct tcp_cb *t)
{
    struct tcp_hystart *hs = &t->cp.hs;
    memset(hs, 0, sizeof(*hs));
    hs->phase = TCP_HS_SS;
    hs->last_min = hs->cur_min = hs->css_base = CUBIC_INF;
}

/* RFC 9438 4.6: ssthresh = flight_size * beta_cubic, at least 2 SMSS. */
static uint32_t cubic_ssthresh(const struct tcp_cb *t)
{
    uint32_t s = (uint32_t)((uint64_t)tcp_flight(t) * TCP_CUBIC_BETA_NUM / TCP_CUBIC_BETA_DEN);
    uint32_t two = 2u * t->mss;
    return s > two ? s : two;
}

/*
 * RFC 9406 per ACK in slow start: rounds end when the ACK covers what was
 * outstanding at their start (window_end = snd_max then). Returns 1 when
 * conservative slow start has lasted CSS_ROUNDS rounds: slow start is over.
 */
static int hystart_ack(struct tcp_cb *t)
{
    struct tcp_hystart *hs = &t->cp.hs;
    if (!hs->started || TCP_SEQ_GEQ(t->snd_una, hs->window_end)) {
        if (hs->started) {
            hs->last_min = hs->cur_min;
            if (hs->phase == TCP_HS_CSS && ++hs->css_rounds >= TCP_HS_CSS_ROUNDS) {
                hs->phase = TCP_HS_DONE;
                t->ssthresh = t->cwnd;      /* on to congestion avoidance */
                return 1;
            }
        }
        hs->started = 1;
        hs->window_end = t->snd_max;
        hs->cur_min = CUBIC_INF;
        hs->samples = 0;
    }
    if (t->rtt_last != 0) {
        if (t->rtt_last < hs->cur_min)
            hs->cur_min = t->rtt_last;
        if (hs->samples < 255u)
            hs->samples++;
    }
    if (hs->samples < TCP_HS_N_RTT_SAMPLE || hs->cur_min == CUBIC_INF)
        return 0;
    if (hs->phase == TCP_HS_SS) {
        if (hs->last_min == CUBIC_INF)
            return 0;
        uint32_t th = hs->last_min / TCP_HS_MIN_RTT_DIVISOR;
        if (th > TCP_HS_MAX_RTT_THRESH)
            th = TCP_HS_MAX_RTT_THRESH;
        if (th < TCP_HS_MIN_RTT_THRESH)
            th = TCP_HS_MIN_RTT_THRESH;
        if ((uint64_t)hs->cur_min >= (uint64_t)hs->last_min + th) {
            hs->css_base = hs->cur_min;
            hs->phase = TCP_HS_CSS;
            hs->css_rounds = 0;
        }
    } else if (hs->cur_min < hs->css_base) {
        /* The RTT came back down: the increase was spurious. */
        hs->phase = TCP_HS_SS;
        hs->css_base = CUBIC_INF;
    }
    return 0;
}

static void cubic_slow_start(struct tcp_cb *t, uint32_t acked)
{
    uint32_t l = (t->recovery == TCP_REC_RTO ? 1u : TCP_HS_L) * t->mss;
    uint32_t inc = acked < l ? acked : l;
    if (t->cp.hs.phase != TCP_HS_DONE && t->recovery == TCP_REC_NONE) {
        if (hystart_ack(t))
            return;
        if (t->cp.hs.phase == TCP_HS_CSS)
            inc /= TCP_HS_CSS_GROWTH_DIVISOR;
    }
    t->cwnd += inc;
}

static void cubic_avoidance(struct mcore *c, struct tcp_cb *t, uint32_t acked)
{
    struct tcp_cubic *cu = &t->cp.cu;
    uint32_t mss = t->mss;
    uint32_t cwnd = t->cwnd;
    if (cu->epoch == 0) {
        /* A new congestion avoidance stage. Without a reduction before it
         * (slow start ended by HyStart++ or ssthresh; the first after a
         * timeout, RFC 9438 4.8) W_max is where we are and K is 0. */
        cu->epoch = c->now != 0 ? c->now : 1u;
        if (cu->w_max > cwnd) {
            cu->k_ms = tcp_cubic_k_ms(cu->w_max, cwnd, mss);
        } else {
            cu->w_max = cwnd;
            cu->k_ms = 0;
        }
        cu->w_est = cwnd;
        cu->ca_rem = 0;
        cu->est_rem = 0;
    }
    uint64_t el = c->now > cu->epoch ? (c->now - cu->epoch) / 1000u : 0;
    uint32_t t_ms = el > 0xffffffu ? 0xffffffu : (uint32_t)el;
    uint32_t rtt_ms = (t->cp.min_rtt != 0 ? t->cp.min_rtt : t->srtt) / 1000u;

    /* RFC 9438 4.3: the Reno-friendly estimate, alpha_cubic until W_est
     * reaches the window of the last congestion event, then 1. */
    uint32_t alpha = cu->w_est >= cu->cwnd_prior ? 1024u : TCP_CUBIC_ALPHA_FP;
    uint64_t num = (uint64_t)acked * mss * alpha + cu->est_rem;
    uint64_t den = (uint64_t)cwnd * 1024u;
    uint64_t inc = num / den;
    cu->est_rem = num % den;
    uint64_t we = (uint64_t)cu->w_est + inc;
    cu->w_est = we > CUBIC_WND_MAX ? CUBIC_WND_MAX : (uint32_t)we;
    if (tcp_cubic_w(cu->w_max, cu->k_ms, t_ms, mss) < cu->w_est) {
        if (cu->w_est > t->cwnd)
            t->cwnd = cu->w_est;
        cu->ca_rem = 0;
        return;
    }

    /* RFC 9438 4.4/4.5 (concave, convex): toward W_cubic(t + RTT), never
     * less than cwnd, never more than 1.5 cwnd; (target - cwnd) / cwnd
     * per SMSS acknowledged. */
    uint32_t target = tcp_cubic_w(cu->w_max, cu->k_ms, t_ms + rtt_ms, mss);
    uint32_t cap = cwnd + cwnd / 2u;
    if (target > cap)
        target = cap;
    if (target <= cwnd)
        return;
    uint64_t n2 = (uint64_t)(target - cwnd) * acked + cu->ca_rem;
    t->cwnd = cwnd + (uint32_t)(n2 / cwnd);
    cu->ca_rem = (uint32_t)(n2 % cwnd);
}

void tcp_cubic_on_ack(struct mcore *c, struct tcp_cb *t, uint32_t acked)
{
    if (t->cwnd < t->ssthresh)
        cubic_slow_start(t, acked);
    else
        cubic_avoidance(c, t, acked);
}

uint32_t tcp_cubic_on_congestion(struct tcp_cb *t)
{
    struct tcp_cubic *cu = &t->cp.cu;
    uint32_t cwnd = t->cwnd;
    /* RFC 9438 4.7 fast convergence: a window that has shrunk since the
     * last event releases bandwidth: W_max = cwnd (1 + beta) / 2. */
    if (cwnd < cu->w_max)
        cu->w_max = (uint32_t)((uint64_t)cwnd * (TCP_CUBIC_BETA_DEN + TCP_CUBIC_BETA_NUM) /
                               (2u * TCP_CUBIC_BETA_DEN));
    else
        cu->w_max = cwnd;
    cu->cwnd_prior = cwnd;
    cu->epoch = 0;
    t->cp.hs.phase = TCP_HS_DONE;
    return cubic_ssthresh(t);
}

uint32_t tcp_cubic_on_rto(struct tcp_cb *t)
{
    struct tcp_cubic *cu = &t->cp.cu;
    uint32_t s = cubic_ssthresh(t);
    cu->cwnd_prior = t->cwnd;
    cu->w_max = 0;      /* the next stage starts with W_max = cwnd, K = 0 */
    cu->epoch = 0;
    t->cp.hs.phase = TCP_HS_DONE;
    return s;
}
