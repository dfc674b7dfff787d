/* SPDX-License-Identifier: MIT */
/*
 * Congestion control modules (tcp_cong.h): dispatch and NewReno.
 *
 * NewReno here is the window policy of RFC 5681: slow start with
 * appropriate byte counting (RFC 3465, L = 2 SMSS, 1 SMSS while repairing
 * after a timeout), congestion avoidance of one SMSS per window, ssthresh =
 * max(FlightSize / 2, 2 SMSS) on congestion. Fast-recovery window
 * inflation (RFC 6582) belongs to loss recovery (tcp_cc.c), not here.
 */
#include "tcp_priv.h"

static uint32_t cong_half_flight(const struct tcp_cb *t)
{
    uint32_t h = tcp_flight(t) / 2u;
    uint32_t two = 2u * t->mss;
    return h > two ? h : two;
}

static void reno_on_ack(struct tcp_cb *t, uint32_t acked)
{
    if (t->cwnd < t->ssthresh) {
        uint32_t l = (t->recovery == TCP_REC_RTO ? 1u : 2u) * t->mss;
        t->cwnd += acked < l ? acked : l;
    } else {
        t->bytes_acked += acked;
        if (t->bytes_acked >= t->cwnd) {
            t->bytes_acked -= t->cwnd;
            t->cwnd += t->mss;
        }
    }
}

void tcp_cong_init(struct mcore *c, struct tcp_cb *t)
{
    (void)c;
    t->ssthresh = 0x3fffffffu;
    t->bytes_acked = 0;
    t->rtt_last = 0;
    t->prior_cwnd = 0;
    t->prior_ssthresh = 0;
    if (t->cong >= TCP_CONG_N)
        t->cong = TCP_CONG_NEWRENO;
}

void tcp_cong_on_ack(struct mcore *c, struct tcp_cb *t, uint32_t acked)
{
    (void)c;
    switch (t->cong) {
    default:
        reno_on_ack(t, acked);
        break;
    }
}

uint32_t tcp_cong_on_congestion(struct mcore *c, struct tcp_cb *t)
{
    (void)c;
    t->prior_cwnd = t->cwnd;
    t->prior_ssthresh = t->ssthresh;
    t->bytes_acked = 0;
    switch (t->cong) {
    default:
        t->ssthresh = cong_half_flight(t);
        break;
    }
    return t->ssthresh;
}

void tcp_cong_on_recovery_end(struct mcore *c, struct tcp_cb *t)
{
    (void)c;
    t->cwnd = t->ssthresh;
    t->bytes_acked = 0;
}

void tcp_cong_on_rto(struct mcore *c, struct tcp_cb *t, int first)
{
    (void)c;
    if (first) {
        t->prior_cwnd = t->cwnd;
        t->prior_ssthresh = t->ssthresh;
        t->ssthresh = cong_half_flight(t);
    }
    t->cwnd = t->mss;
    t->bytes_acked = 0;
}

void tcp_cong_undo(struct mcore *c, struct tcp_cb *t)
{
    (void)c;
    if (t->prior_cwnd == 0)
        return;     /* nothing to undo */
    /* RFC 4015 3.2 / RFC 5682-style: back to at least the old window. */
    if (t->cwnd < t->prior_cwnd)
        t->cwnd = t->prior_cwnd;
    if (t->ssthresh < t->prior_ssthresh)
        t->ssthresh = t->prior_ssthresh;
    t->prior_cwnd = 0;
}

const char *tcp_cong_name(unsigned algo)
{
    switch (algo) {
    case TCP_CONG_NEWRENO: return "newreno";
    case TCP_CONG_CUBIC:   return "cubic";
    default:               return "?";
    }
}
