/* SPDX-License-Identifier: MIT */
/*
 * Congestion control modules (tcp_cong.h): the dispatch and what every
 * algorithm shares (undo bookkeeping, the minimum RTT, the end of
 * recovery). The algorithms: NewReno in tcp_cong_reno.c, CUBIC with
 * HyStart++ in tcp_cubic.c.
 */
#include "tcp_priv.h"

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
    /* Every algorithm's state is reset whichever is selected, so that the
     * socket option may switch the algorithm of a TCB that has not started. */
    uint8_t ecn = t->cp.ecn;
    memset(&t->cp.cu, 0, sizeof(t->cp.cu));
    memset(&t->cp.cu_prior, 0, sizeof(t->cp.cu_prior));
    t->cp.min_rtt = 0;
    tcp_cubic_init(t);
    t->cp.ecn = ecn;    /* negotiated by the handshake, not congestion state */
}

void tcp_cong_on_ack(struct mcore *c, struct tcp_cb *t, uint32_t acked)
{
    if (t->rtt_last != 0 && (t->cp.min_rtt == 0 || t->rtt_last < t->cp.min_rtt))
        t->cp.min_rtt = t->rtt_last;
    switch (t->cong) {
    case TCP_CONG_CUBIC:
        tcp_cubic_on_ack(c, t, acked);
        break;
    default:
        tcp_reno_on_ack(t, acked);
        break;
    }
}

static void cong_save_prior(struct tcp_cb *t)
{
    t->prior_cwnd = t->cwnd;
    t->prior_ssthresh = t->ssthresh;
    t->cp.cu_prior = t->cp.cu;
    t->cp.hs_phase_prior = t->cp.hs.phase;
}

uint32_t tcp_cong_on_congestion(struct mcore *c, struct tcp_cb *t)
{
    (void)c;
    cong_save_prior(t);
    t->bytes_acked = 0;
    switch (t->cong) {
    case TCP_CONG_CUBIC:
        t->ssthresh = tcp_cubic_on_congestion(t);
        break;
    default:
        t->ssthresh = tcp_reno_ssthresh(t);
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
        cong_save_prior(t);
        switch (t->cong) {
        case TCP_CONG_CUBIC:
            t->ssthresh = tcp_cubic_on_rto(t);
            break;
        default:
            t->ssthresh = tcp_reno_ssthresh(t);
            break;
        }
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
    /* RFC 9438 4.9: CUBIC's W_max, K, epoch and W_est as they were. */
    t->cp.cu = t->cp.cu_prior;
    /* And HyStart++ (RFC 9406) where it was: the response ended it, and a
     * spurious one in slow start (ssthresh back at infinity) would
     * otherwise leave slow start with nothing to end it but a real loss
     * (measured on 20 ms + 0..10 ms reordering each way: cwnd 2.5 MB,
     * SRTT 125 ms on a 45 ms path). */
    t->cp.hs.phase = t->cp.hs_phase_prior;
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
