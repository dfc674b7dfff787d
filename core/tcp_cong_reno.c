/* SPDX-License-Identifier: MIT */
/*
 * NewReno's window policy (tcp_cong.h): RFC 5681 slow start with
 * appropriate byte counting (RFC 3465, L = 2 SMSS, 1 SMSS while repairing
 * after a timeout), congestion avoidance of one SMSS per window, ssthresh
 * = max(FlightSize / 2, 2 SMSS) on congestion. Fast-recovery window
 * inflation (RFC 6582) belongs to loss recovery (tcp_cc.c), not here.
 */
#include "tcp_priv.h"

uint32_t tcp_reno_ssthresh(const struct tcp_cb *t)
{
    uint32_t h = tcp_flight(t) / 2u;
    uint32_t two = 2u * t->mss;
    return h > two ? h : two;
}

void tcp_reno_on_ack(struct tcp_cb *t, uint32_t acked)
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
