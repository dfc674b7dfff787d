/* SPDX-License-Identifier: MIT */
/*
 * Congestion control as a small module: the window policy only. The
 * algorithm decides how the congestion window grows when data is
 * acknowledged, what the slow-start threshold becomes when the network
 * signals congestion (a loss, an ECN echo, a timeout) and how to restore
 * both when that signal turns out to have been spurious.
 *
 * What it does not decide: which segments are lost (RACK-TLP, RFC 6675
 * and NewReno in tcp_cc.c), what is retransmitted and how fast the window
 * drains during recovery (PRR in tcp_cc.c). Loss recovery calls these
 * hooks; nothing else changes ssthresh.
 *
 * The algorithm of a connection is t->cong (enum tcp_cong_algo), taken
 * from the stack's configuration when the TCB is reset; a socket option
 * may change it before the connection starts. Dispatch is a switch, not
 * a table of function pointers: the set is closed and small.
 */
#ifndef MOAT_TCP_CONG_H
#define MOAT_TCP_CONG_H

#include <stdint.h>

struct mcore;
struct tcp_cb;

enum tcp_cong_algo {
    TCP_CONG_NEWRENO = 0,       /* RFC 5681 with RFC 3465 byte counting */
    TCP_CONG_CUBIC = 1,         /* RFC 9438 (HyStart++, RFC 9406, in slow start) */
    TCP_CONG_N
};

/* Connection start (or restart of a TCB): initial ssthresh and the
 * algorithm's private state. cwnd itself is the initial window, set by
 * the handshake code. */
void tcp_cong_init(struct mcore *c, struct tcp_cb *t);

/* @p acked new bytes were cumulatively acknowledged outside loss
 * recovery: grow cwnd (slow start or congestion avoidance). The latest RTT
 * sample, if this ACK produced one, is t->rtt_last (0: none). */
void tcp_cong_on_ack(struct mcore *c, struct tcp_cb *t, uint32_t acked);

/* The network signalled congestion (loss detected, or an ECN echo): save
 * what undo needs, set and return the new ssthresh. The caller owns cwnd
 * during the recovery that follows (PRR) and sets cwnd = ssthresh when it
 * ends (tcp_cong_on_recovery_end). */
uint32_t tcp_cong_on_congestion(struct mcore *c, struct tcp_cb *t);

/* Recovery is over (the ACK covered the recovery point). */
void tcp_cong_on_recovery_end(struct mcore *c, struct tcp_cb *t);

/* A retransmission timeout fired (@p first: the first of a series):
 * ssthresh from the flight once per series, cwnd = 1 SMSS. */
void tcp_cong_on_rto(struct mcore *c, struct tcp_cb *t, int first);

/* The last congestion response was spurious (D-SACK or timestamps prove
 * the retransmitted data had arrived): restore cwnd, ssthresh and the
 * algorithm's state as they were before it. */
void tcp_cong_undo(struct mcore *c, struct tcp_cb *t);

/* Name for statistics and documentation ("newreno", "cubic"). */
const char *tcp_cong_name(unsigned algo);

#endif
