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

/* ---- per-connection state (embedded in struct tcp_cb as t->cp) ------- */

/* CUBIC (RFC 9438). Windows in bytes, times in ms (t and K) or us. */
struct tcp_cubic {
    uint32_t w_max;             /* window before the last reduction (0: none yet) */
    uint32_t k_ms;              /* K: time from the epoch to reach w_max again */
    uint32_t w_est;             /* Reno-friendly estimate W_est */
    uint32_t cwnd_prior;        /* cwnd at the last congestion event */
    uint32_t ca_rem;            /* remainder of the per-ACK growth division */
    uint64_t est_rem;           /* remainder of the W_est division */
    uint64_t epoch;             /* start of this congestion avoidance stage (us), 0: none */
};

/* HyStart++ (RFC 9406) in CUBIC's initial slow start. RTTs in us. */
struct tcp_hystart {
    uint8_t phase;              /* TCP_HS_* */
    uint8_t samples;            /* RTT samples in this round */
    uint8_t css_rounds;         /* rounds spent in CSS */
    uint8_t started;            /* window_end is valid */
    uint32_t window_end;        /* the round ends when this is acknowledged */
    uint32_t last_min, cur_min; /* min RTT of the last / current round */
    uint32_t css_base;          /* cssBaselineMinRtt */
};
enum { TCP_HS_SS = 0, TCP_HS_CSS, TCP_HS_DONE };

/* ECN (RFC 3168) state of a connection. */
enum {
    TCP_ECN_OK   = 1u << 0,     /* negotiated: ECT on new data, ECE/CWR meaningful */
    TCP_ECN_ASKED = 1u << 1,    /* our SYN asked for it */
    TCP_ECN_ECHO = 1u << 2,     /* receiver: CE seen, ECE on our ACKs until CWR */
    TCP_ECN_CWR  = 1u << 3,     /* sender: reduced on ECE, CWR on the next new data */
    TCP_ECN_WND  = 1u << 4      /* sender: reduced; ecn_high bounds that window */
};

struct tcp_cong_priv {
    struct tcp_cubic cu, cu_prior;  /* cu_prior: before the last response (undo) */
    struct tcp_hystart hs;
    uint8_t hs_phase_prior;     /* hs.phase before the last response (undo) */
    uint32_t min_rtt;           /* lowest RTT sample seen (us), 0: none */
    uint32_t ecn_high;          /* no new ECE response before snd_una passes this */
    uint8_t ecn;                /* TCP_ECN_* */
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

/* ---- between the algorithm files (tcp_cong_reno.c, tcp_cubic.c) ------- */

/* NewReno: slow start (RFC 3465 byte counting) and congestion avoidance. */
void tcp_reno_on_ack(struct tcp_cb *t, uint32_t acked);
/* max(FlightSize / 2, 2 SMSS) (RFC 5681 3.1 equation 4). */
uint32_t tcp_reno_ssthresh(const struct tcp_cb *t);

void tcp_cubic_init(struct tcp_cb *t);
void tcp_cubic_on_ack(struct mcore *c, struct tcp_cb *t, uint32_t acked);
/* Reduction (RFC 9438 4.6, 4.7 fast convergence): returns the ssthresh. */
uint32_t tcp_cubic_on_congestion(struct tcp_cb *t);
/* Timeout (RFC 9438 4.8): returns the ssthresh. */
uint32_t tcp_cubic_on_rto(struct tcp_cb *t);

/* The cubic function and K in integer arithmetic, exposed for the tests:
 * W_cubic(t) in bytes for a window of @p w_max bytes, @p k_ms and
 * @p t_ms, and K in ms for growing back from @p cwnd to @p w_max. */
uint32_t tcp_cubic_w(uint32_t w_max, uint32_t k_ms, uint32_t t_ms, uint32_t mss);
uint32_t tcp_cubic_k_ms(uint32_t w_max, uint32_t cwnd, uint32_t mss);
/* floor(cbrt(x)) */
uint32_t tcp_icbrt64(uint64_t x);

/* RFC 9438 constants, fixed point. */
#define TCP_CUBIC_BETA_NUM   7u     /* beta_cubic = 0.7 */
#define TCP_CUBIC_BETA_DEN   10u
#define TCP_CUBIC_C_NUM      2u     /* C = 0.4 = 2/5 */
#define TCP_CUBIC_C_DEN      5u
/* alpha_cubic = 3 (1 - beta) / (1 + beta) = 0.9 / 1.7, in 1/1024 */
#define TCP_CUBIC_ALPHA_FP   542u
/* RFC 9406 constants (RTTs in us). */
#define TCP_HS_MIN_RTT_THRESH   4000u
#define TCP_HS_MAX_RTT_THRESH  16000u
#define TCP_HS_MIN_RTT_DIVISOR     8u
#define TCP_HS_N_RTT_SAMPLE        8u
#define TCP_HS_CSS_GROWTH_DIVISOR  4u
#define TCP_HS_CSS_ROUNDS          5u
#define TCP_HS_L                   8u   /* no pacing: at most 8 SMSS per ACK */

#endif
