/* SPDX-License-Identifier: MIT */
/*
 * Explicit Congestion Notification for TCP (RFC 3168 section 6.1).
 *
 * Negotiation (moat_config.tcp_ecn, as Linux's tcp_ecn): 0 never; 1 our
 * SYNs ask (ECE + CWR) and we agree when asked; 2 (the default) we only
 * agree when asked. An agreeing SYN-ACK carries ECE alone. A retransmitted
 * SYN no longer asks (a path that drops ECN-setup SYNs still connects).
 * Connections completed through SYN cookies do not use ECN.
 *
 * Once negotiated:
 *   - new data segments carry ECT(0); pure ACKs, retransmissions, SYNs
 *     and window probes of old data do not (6.1.1, 6.1.5);
 *   - the receiver that sees CE sets ECE on every ACK until a segment
 *     with CWR arrives (6.1.3);
 *   - the sender answers ECE as it would a loss, through the congestion
 *     module (tcp_cong_on_congestion; nothing is retransmitted), at most
 *     once per window of data and not during loss recovery, and sets CWR
 *     on the next new data segment (6.1.2). The reduction is not undone
 *     by spurious-loss detection: the mark was real.
 */
#include "tcp_priv.h"

#define IP_ECN_ECT0 2u
#define IP_ECN_CE   3u

int tcp_ecn_syn_wants(const struct mcore *c, const struct tcp_seg *sg)
{
    return c->cfg.tcp_ecn != 0 &&
           (sg->ecn_flags & (TCP_ECE | TCP_CWR)) == (TCP_ECE | TCP_CWR);
}

void tcp_ecn_established(struct mcore *c, struct tcp_cb *t, int ok)
{
    if (ok) {
        t->cp.ecn |= TCP_ECN_OK;
        c->stats.tcp_ecn_conns++;
    } else {
        t->cp.ecn = 0;
    }
}

void tcp_ecn_synack_in(struct mcore *c, struct tcp_cb *t, const struct tcp_seg *sg)
{
    /* 6.1.1: the answer to an ECN-setup SYN has ECE set and CWR clear. */
    tcp_ecn_established(c, t, (t->cp.ecn & TCP_ECN_ASKED) &&
                              (sg->ecn_flags & (TCP_ECE | TCP_CWR)) == TCP_ECE);
}

uint8_t tcp_ecn_out(struct mcore *c, struct tcp_cb *t, uint32_t seq, uint32_t len,
                    uint8_t *flags)
{
    if (*flags & TCP_SYN) {
        if (t->state == TCPS_SYN_SENT) {
            if (c->cfg.tcp_ecn == 1 && !(t->flags & TF_SYN_RETX)) {
                *flags |= TCP_ECE | TCP_CWR;
                t->cp.ecn |= TCP_ECN_ASKED;
            }
        } else if (t->cp.ecn & TCP_ECN_OK) {
            *flags |= TCP_ECE;      /* our SYN-ACK agrees */
        }
        return 0;
    }
    if (!(t->cp.ecn & TCP_ECN_OK))
        return 0;
    if (t->cp.ecn & TCP_ECN_ECHO)
        *flags |= TCP_ECE;
    if (len == 0 || TCP_SEQ_LT(seq, t->snd_max))
        return 0;   /* pure ACK, FIN alone, or a retransmission */
    if (t->cp.ecn & TCP_ECN_CWR) {
        *flags |= TCP_CWR;
        t->cp.ecn &= (uint8_t)~TCP_ECN_CWR;
    }
    return IP_ECN_ECT0;
}

void tcp_ecn_in(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (!(t->cp.ecn & TCP_ECN_OK))
        return;
    /* Receiver (6.1.3): CWR ends the echo, a CE (even on that same
     * segment) starts it again. The first CE is acknowledged at once so
     * the sender hears of it within the round trip. */
    if (sg->ecn_flags & TCP_CWR)
        t->cp.ecn &= (uint8_t)~TCP_ECN_ECHO;
    if (sg->ip_ecn == IP_ECN_CE) {
        c->stats.tcp_ecn_ce_rcvd++;
        if (!(t->cp.ecn & TCP_ECN_ECHO) && sg->len > 0)
            t->flags |= TF_ACKNOW;
        t->cp.ecn |= TCP_ECN_ECHO;
    }
    /* Sender (6.1.2). The window of the last reduction ends when the ACK
     * passes what had been sent then (checked on every ACK, so that the
     * mark never ages past half the sequence space). */
    if ((t->cp.ecn & TCP_ECN_WND) && TCP_SEQ_GT(sg->ack, t->cp.ecn_high))
        t->cp.ecn &= (uint8_t)~TCP_ECN_WND;
    if (!(sg->ecn_flags & TCP_ECE))
        return;
    c->stats.tcp_ecn_ece_rcvd++;
    if (t->recovery != TCP_REC_NONE)
        return;     /* a loss response is already under way in this window */
    if (t->cp.ecn & TCP_ECN_WND)
        return;     /* already reduced for this window of data */
    tcp_cong_on_congestion(c, t);
    tcp_cong_on_recovery_end(c, t);     /* cwnd = ssthresh, at once */
    t->prior_cwnd = 0;                  /* not undoable */
    t->cp.ecn |= TCP_ECN_CWR | TCP_ECN_WND;
    t->cp.ecn_high = t->snd_max;
    c->stats.tcp_ecn_reductions++;
}
