/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, connection teardown (reference-scenarios.md section
 * 5, RFC 9293 3.6 and 3.10.7.4), beyond what test_tcp_conn.c checks:
 *
 *   TCP-CLOSE-PASSIVE-1  the lwIP #51937 class: the application closes
 *                        while its own data is unacknowledged (peer ACKs,
 *                        or never does); close with unread data is a RST.
 *   TCP-CLOSE-SIMUL-1    TIME-WAIT lasts exactly 2*MSL from CLOSING.
 *   TCP-B-TIMEWAIT-1     a retransmitted FIN restarts 2*MSL, to the tick.
 *   TCP-RES-1            the TIME-WAIT table reclaims its oldest entry.
 *   RST in FIN-WAIT-1/2, CLOSE-WAIT and LAST-ACK (RFC 9293 3.10.7.4 with
 *   RFC 5961 3.2), half-close both ways, FIN after all queued data, FIN
 *   retransmission (alone, with data, in LAST-ACK), FIN-WAIT-1 straight
 *   to TIME-WAIT, the orphaned FIN-WAIT-2 bound, TIME-WAIT timestamps.
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

#define TWO_MSL 2000000u      /* tfx_config: msl 1 s */

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* Bring k (active) to TIME-WAIT: close, peer ACKs our FIN, peer FIN. */
static void to_time_wait(struct tfx_conn *c) { tfx_to_time_wait(f, c); }

/* TCP-CLOSE-PASSIVE-1 (lwIP #51937): we have 500 bytes in flight when the
 * peer's byte+FIN arrives; the application reads, sees end-of-stream and
 * closes. The FIN follows our data (seq = data end), LAST-ACK, and the
 * peer's ACK of everything releases the connection. */
START_TEST(close_passive_with_unacked_data)
{
    tfx_passive(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, 500), 500);
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_tx_clear(f);
    uint8_t b = 0x42, got = 0;
    tfx_peer_send(f, k, &b, 1, TH_FIN);     /* acks nothing of ours */
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    ck_assert_uint_eq(tfx_read(f, k->h, &got, 1), 1);
    ck_assert_uint_eq(got, 0x42);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_int_eq(t->state, TCPS_LAST_ACK);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr fin = tfx_tx(f, 0);
    ck_assert_uint_eq(fin.flags & (TH_FIN | TH_RST), TH_FIN);
    ck_assert_uint_eq(fin.seq + fin.len, k->snd_nxt + 500);
    ck_assert_uint_eq(fin.ack, k->peer_nxt);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt + 501, 65535);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_slots_used(f), 1);    /* the listener only */
}
END_TEST

/* Same, but the peer vanishes: the data+FIN are retransmitted a bounded
 * number of times and the connection is released (no leak, RES-LEAK-1). */
START_TEST(close_passive_peer_vanishes_bounded)
{
    tfx_passive(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, 500), 500);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    fx_tx_clear(f);
    fx_advance(f, 3600ull * 1000000u);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_le(fx_ntx(f), f->cfg.tcp_max_retries + 1);
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        if (r.flags & TH_RST)
            continue;
        ck_assert_uint_eq(r.seq, k->snd_nxt);
    }
    ck_assert_uint_eq(tfx_slots_used(f), 1);
}
END_TEST

/* RFC 9293 3.10.4 / RFC 2525 2.17: closing with received data unread
 * tells the peer with a RST (SEQ = SND.NXT); nothing is left behind. */
START_TEST(close_with_unread_data_resets)
{
    tfx_passive(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, D, 10, TH_PSH);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags & TH_RST, TH_RST);
    ck_assert_uint_eq(r.seq, k->snd_nxt);
    ck_assert_uint_eq(tfx_slots_used(f), 1);
    fx_tx_clear(f);
    fx_advance(f, 10000000);
    fx_expect_no_tx(f);
}
END_TEST

/* TCP-CLOSE-SIMUL-1: from CLOSING, TIME-WAIT lasts exactly 2*MSL. */
START_TEST(close_simultaneous_two_msl_exact)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k->h), 0);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_FIN | TH_ACK);
    fx_tx_clear(f);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);   /* does not ack our FIN */
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSING);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.seq, k->snd_nxt + 1);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt + 1, 65535);
    fx_expect_no_tx(f);
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
    fx_advance(f, TWO_MSL - 1000);
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
    fx_advance(f, 2000);
    ck_assert_ptr_null(tfx_tw(f, k->lport, k->rport));
    fx_expect_no_tx(f);
}
END_TEST

/* TCP-B-TIMEWAIT-1: 1.5 s into TIME-WAIT the peer's FIN comes again: the
 * same ACK goes out and the entry lives until 2*MSL after that FIN. */
START_TEST(time_wait_restart_exact)
{
    tfx_connect(f, k, &TFX_OPTS());
    to_time_wait(k);
    struct tcp_repr first = tfx_tx(f, fx_ntx(f) - 1);
    fx_tx_clear(f);
    fx_advance(f, 1500000);
    struct tcp_repr fin = tfx_seg(k, TH_FIN | TH_ACK, NULL, 0);
    fin.seq = k->peer_nxt - 1;
    tfx_inject(f, &fin);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags, TH_ACK);
    ck_assert_uint_eq(a.seq, first.seq);
    ck_assert_uint_eq(a.ack, first.ack);
    fx_tx_clear(f);
    fx_advance(f, TWO_MSL - 1000);
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
    fx_advance(f, 2000);
    ck_assert_ptr_null(tfx_tw(f, k->lport, k->rport));
    /* gone: the same FIN now gets a RST */
    tfx_inject(f, &fin);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags & TH_RST, TH_RST);
}
END_TEST

/* TCP-RES-1: the TIME-WAIT table is bounded; when full, a new TIME-WAIT
 * entry reclaims the oldest one, and the count stays at capacity. */
START_TEST(time_wait_table_reclaims_oldest)
{
    uint32_t n = f->core->tcp->n_tw;
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_le(n, 256);
    uint16_t first_lport = 0, last_lport = 0;
    for (uint32_t i = 0; i <= n; i++) {
        struct tfx_conn c;
        tfx_connect(f, &c, &TFX_OPTS());
        to_time_wait(&c);
        fx_tx_clear(f);
        if (i == 0)
            first_lport = c.lport;
        last_lport = c.lport;
        ck_assert_uint_eq(f->core->tcp->tw_used, i < n ? i + 1 : n);
        fx_advance(f, 1000);
    }
    ck_assert_uint_ne(first_lport, last_lport);
    ck_assert_ptr_null(tfx_tw(f, first_lport, TFX_RPORT));
    ck_assert_ptr_nonnull(tfx_tw(f, last_lport, TFX_RPORT));
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST

/* RFC 9293 3.10.7.4 (RST, synchronized states) with RFC 5961 3.2: in
 * FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT an exact RST is "connection reset";
 * an in-window inexact one gets a challenge ACK and changes nothing. In
 * LAST-ACK an exact RST just releases the connection. */
static void rst_check(int state)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_int_eq(t->state, state);
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(k, TH_RST, NULL, 0);
    r.seq = k->peer_nxt + 10;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags & (TH_ACK | TH_RST | TH_SYN), TH_ACK);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    ck_assert_int_eq(t->state, state);
    fx_tx_clear(f);
    r.seq = k->peer_nxt;
    tfx_inject(f, &r);
    fx_expect_no_tx(f);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_HUP);
}

START_TEST(rst_in_fin_wait_1)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    rst_check(TCPS_FIN_WAIT_1);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_CONNRESET);
}
END_TEST

START_TEST(rst_in_fin_wait_2)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    k->snd_nxt++;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    rst_check(TCPS_FIN_WAIT_2);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_CONNRESET);
}
END_TEST

START_TEST(rst_in_close_wait)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    rst_check(TCPS_CLOSE_WAIT);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_CONNRESET);
}
END_TEST

START_TEST(rst_in_last_ack)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    rst_check(TCPS_LAST_ACK);
    ck_assert_int_eq(tfx_abort(f, k->h), 0);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST

/* Half-close, receiving side (RFC 9293 3.6): after our FIN is ACKed
 * (FIN-WAIT-2) the peer's data is still delivered and acknowledged; its
 * FIN then leads to TIME-WAIT. */
START_TEST(fin_wait_2_still_receives)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_WRSHUT);
    k->snd_nxt++;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_FIN_WAIT_2);
    fx_tx_clear(f);
    tfx_peer_send(f, k, D, 100, TH_PSH);
    uint8_t got[200];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 100);
    ck_assert_mem_eq(got, D, 100);
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, fx_ntx(f) - 1).ack, k->peer_nxt);
    fx_tx_clear(f);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
}
END_TEST

/* Half-close, sending side (SOCK-PEEK-EOF-1's CLOSE-WAIT part): after the
 * peer's FIN we can still send; close then sends our FIN after the data. */
START_TEST(close_wait_can_send)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSE_WAIT);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, "foo", 3), 3);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt);
    ck_assert_uint_eq(r.len, 3);
    ck_assert_mem_eq(r.data, "foo", 3);
    ck_assert_uint_eq(r.ack, k->peer_nxt);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    ck_assert_int_eq(tfx_tcb(f, k->h)->state, TCPS_LAST_ACK);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr fin = tfx_tx(f, 0);
    ck_assert_uint_eq(fin.flags & TH_FIN, TH_FIN);
    ck_assert_uint_eq(fin.seq + fin.len, k->snd_nxt + 3);
    tfx_peer_ack(f, k, k->snd_nxt + 4, 65535);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST

/* RFC 9293 3.10.4: CLOSE queues the FIN behind all data; with a 1000-byte
 * window, no FIN goes out until the last byte can. */
START_TEST(fin_after_all_queued_data)
{
    tfx_connect(f, k, &TFX_OPTS(.wnd = 1000));
    ck_assert_uint_eq(tfx_write(f, k->h, D, 3000), 3000);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    uint32_t sent = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert(!(r.flags & TH_FIN));
        sent += r.len;
    }
    ck_assert_uint_le(sent, 1000);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt + sent, 5000);
    uint32_t next = k->snd_nxt + sent;
    int fin_seen = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert(!fin_seen);
        ck_assert_uint_eq(r.seq, next);
        ck_assert_mem_eq(r.data, D + (r.seq - k->snd_nxt), r.len);
        next += r.len;
        if (r.flags & TH_FIN) {
            fin_seen = 1;
            ck_assert_uint_eq(next, k->snd_nxt + 3000);
        }
    }
    ck_assert(fin_seen);
    ck_assert_int_eq(tfx_tcb(f, k->h)->state, TCPS_FIN_WAIT_1);
    /* finish the close so that nothing is left for teardown */
    k->snd_nxt += 3001;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
}
END_TEST

/* The FIN is retransmitted at the RTO with the same sequence number. */
START_TEST(fin_retransmitted_on_rto)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr fin = tfx_tx(f, 0);
    fx_tx_clear(f);
    uint32_t rto = tfx_tcb(f, k->h)->rto;
    fx_advance(f, rto - 1);
    fx_expect_no_tx(f);
    fx_advance(f, 1);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags & TH_FIN, TH_FIN);
    ck_assert_uint_eq(r.seq, fin.seq);
    ck_assert_uint_eq(r.len, 0);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt + 1, 65535);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_FIN_WAIT_2);
    fx_advance(f, 60000000);
    fx_expect_no_tx(f);
}
END_TEST

/* An orphaned FIN-WAIT-2 (application closed, peer never sends its FIN)
 * does not live forever. */
START_TEST(orphan_fin_wait_2_bounded)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k->h), 0);
    k->snd_nxt++;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    ck_assert_uint_eq(tfx_slots_used(f), 1);
    fx_advance(f, 600ull * 1000000u);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST


/* TCP-B-TIMEWAIT-1 with timestamps (RFC 7323 3.2: TSopt on every
 * non-RST segment once negotiated): the TIME-WAIT ACK carries TSopt,
 * TSecr echoes the peer's TSval, our TSval does not go backwards. */
START_TEST(time_wait_ack_carries_timestamps)
{
    tfx_connect(f, k, &TFX_OPTS(.ts = true));
    k->peer_ts = 5000;
    ck_assert_int_eq(fx_close(f, k->h), 0);
    struct tcp_repr fin = tfx_tx(f, 0);
    ck_assert(fin.ts);
    k->snd_nxt++;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    k->peer_ts = 5001;
    fx_tx_clear(f);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert(a.ts);
    ck_assert_uint_eq(a.tsecr, 5001);
    ck_assert(TCP_SEQ_GEQ(a.tsval, fin.tsval));
    fx_tx_clear(f);
    fx_advance(f, 500000);
    k->peer_ts = 5600;
    struct tcp_repr again = tfx_seg(k, TH_FIN | TH_ACK, NULL, 0);
    again.seq = k->peer_nxt - 1;
    tfx_inject(f, &again);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr b = tfx_tx(f, 0);
    ck_assert(b.ts);
    ck_assert(TCP_SEQ_GEQ(b.tsval, a.tsval + 500));
    ck_assert(b.tsecr == 5001 || b.tsecr == 5600);
    ck_assert_uint_eq(b.ack, k->peer_nxt);
}
END_TEST


/* RFC 9293 3.10.7.4 (FIN-WAIT-1, eighth step): a FIN that also
 * acknowledges our FIN goes straight to TIME-WAIT, with one ACK. */
START_TEST(fin_wait_1_fin_acking_ours)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k->h), 0);
    fx_tx_clear(f);
    k->snd_nxt++;
    tfx_peer_send(f, k, NULL, 0, TH_FIN);     /* tfx_seg acks k->snd_nxt */
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags, TH_ACK);
    ck_assert_uint_eq(a.seq, k->snd_nxt);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST

/* Data and FIN both lost: at the RTO they are resent from SND.UNA and
 * the FIN rides on (or follows) the last data byte, same sequence
 * numbers as before; the ACK of everything reaches FIN-WAIT-2. */
START_TEST(data_and_fin_retransmitted)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, 300), 300);
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    fx_tx_clear(f);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    fx_advance(f, t->t_rtx - f->now);
    ck_assert_uint_ge(fx_ntx(f), 1);
    uint32_t next = k->snd_nxt;
    int fin = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_uint_eq(r.seq, next);
        ck_assert_mem_eq(r.data, D + (r.seq - k->snd_nxt), r.len);
        next += r.len;
        if (r.flags & TH_FIN) {
            fin = 1;
            ck_assert_uint_eq(next, k->snd_nxt + 300);
        }
    }
    if (!fin) {
        /* the FIN may wait for the next ACK (cwnd is 1 MSS after the RTO) */
        ck_assert_uint_eq(next, k->snd_nxt + 300);
        fx_tx_clear(f);
        tfx_peer_ack(f, k, next, 65535);
        ck_assert_uint_eq(fx_ntx(f), 1);
        struct tcp_repr r = tfx_tx(f, 0);
        ck_assert_uint_eq(r.flags & TH_FIN, TH_FIN);
        ck_assert_uint_eq(r.seq, k->snd_nxt + 300);
    }
    tfx_peer_ack(f, k, k->snd_nxt + 301, 65535);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_FIN_WAIT_2);
}
END_TEST

/* LAST-ACK: our FIN lost; it is retransmitted at the RTO and the peer's
 * ACK of it releases the connection. */
START_TEST(last_ack_fin_retransmitted)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    ck_assert_int_eq(tfx_tcb(f, k->h)->state, TCPS_LAST_ACK);
    struct tcp_repr fin = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(fin.flags & TH_FIN, TH_FIN);
    fx_tx_clear(f);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    fx_advance(f, t->t_rtx - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags & TH_FIN, TH_FIN);
    ck_assert_uint_eq(r.seq, fin.seq);
    ck_assert_uint_eq(r.ack, k->peer_nxt);
    tfx_peer_ack(f, k, fin.seq + 1, 65535);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST

Suite *tcp_scen_close_suite(void);
Suite *tcp_scen_close_suite(void)
{
    Suite *s = suite_create("tcp_scen_close");
    TCase *tc = tcase_create("scen_close");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, close_passive_with_unacked_data);
    tcase_add_test(tc, close_passive_peer_vanishes_bounded);
    tcase_add_test(tc, close_with_unread_data_resets);
    tcase_add_test(tc, close_simultaneous_two_msl_exact);
    tcase_add_test(tc, time_wait_restart_exact);
    tcase_add_test(tc, time_wait_table_reclaims_oldest);
    tcase_add_test(tc, time_wait_ack_carries_timestamps);
    tcase_add_test(tc, rst_in_fin_wait_1);
    tcase_add_test(tc, rst_in_fin_wait_2);
    tcase_add_test(tc, rst_in_close_wait);
    tcase_add_test(tc, rst_in_last_ack);
    tcase_add_test(tc, fin_wait_2_still_receives);
    tcase_add_test(tc, close_wait_can_send);
    tcase_add_test(tc, fin_after_all_queued_data);
    tcase_add_test(tc, fin_retransmitted_on_rto);
    tcase_add_test(tc, orphan_fin_wait_2_bounded);
    tcase_add_test(tc, fin_wait_1_fin_acking_ours);
    tcase_add_test(tc, data_and_fin_retransmitted);
    tcase_add_test(tc, last_ack_fin_retransmitted);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_close_suite)
