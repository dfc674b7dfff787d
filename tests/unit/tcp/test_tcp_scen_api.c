/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, sockets API semantics as the core implements them
 * (reference-scenarios.md section 14; the library side of MSG_PEEK,
 * recvmsg and select lives in libmoat and is not driven here):
 *
 *   SOCK-CONNECT-NB-1  connect: INPROGRESS, then ALREADY, then ISCONN;
 *                      listen without bind takes an ephemeral port that
 *                      getsockname reports and that answers SYNs.
 *   SOCK-RST-DATA-1    data received before a RST stays readable, in
 *                      order, then the error (CONNRESET) and hang-up.
 *   SOCK-PEEK-EOF-1    bytes looked at but not consumed do not open the
 *                      receive window; consuming them does; data + FIN in
 *                      one segment is data then end-of-stream.
 *   SOCK-SELECT-1      the status word of a fresh TCP socket (documented
 *                      choice: open only, nothing readable or writable).
 *   SOCK-ALLOC-1       slots run out with MFILE and come back on close.
 *   Also: a listener closed with unaccepted connections resets them;
 *   REUSEADDR during TIME-WAIT; abort in SYN-SENT; linger 0; RCVBUF; the
 *   accept queue with a connection that is already half-closed or reset.
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
#define RX 16384u

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* SOCK-CONNECT-NB-1 */
START_TEST(connect_inprogress_already_isconn)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    ck_assert(fx_sock_status(f, h) & MOAT_SS_CONNECTING);
    struct tcp_repr syn = tfx_tx(f, 0);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_ALREADY);
    fx_expect_no_tx(f);                 /* no second SYN */
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5000, .ack = syn.seq + 1,
                        .flags = TH_SYN | TH_ACK, .mss = 1460));
    uint32_t st = fx_sock_status(f, h);
    ck_assert(st & MOAT_SS_CONNECTED);
    ck_assert(!(st & MOAT_SS_CONNECTING));
    fx_tx_clear(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_ISCONN);
    fx_expect_no_tx(f);
    ck_assert_int_eq(tfx_state(f, h), TCPS_ESTABLISHED);
}
END_TEST

/* SOCK-CONNECT-NB-1 setup: listen without bind assigns an ephemeral
 * port; getsockname reports it and a SYN to it gets a SYN-ACK. */
START_TEST(listen_without_bind_ephemeral)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    struct moat_m_addr local, remote;
    memset(&local, 0, sizeof local);
    memset(&remote, 0, sizeof remote);
    ck_assert_int_eq(fx_name(f, lh, &local, &remote), 0);
    ck_assert_uint_ne(local.port, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = local.port, .seq = 9, .flags = TH_SYN, .mss = 1460));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr sa = tfx_tx(f, 0);
    ck_assert_uint_eq(sa.flags, TH_SYN | TH_ACK);
    ck_assert_uint_eq(sa.sport, local.port);
    ck_assert_uint_eq(sa.ack, 10);
}
END_TEST

/* SOCK-RST-DATA-1 (lwIP #50088): 10 bytes delivered, then a RST: the
 * bytes stay readable in order, the error is CONNRESET, status HUP. */
START_TEST(rst_keeps_received_data)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, D, 6, 0);
    tfx_peer_send(f, k, D + 6, 4, TH_PSH);
    struct tcp_repr r = tfx_seg(k, TH_RST | TH_ACK, NULL, 0);
    tfx_inject(f, &r);
    uint32_t st = fx_sock_status(f, k->h);
    ck_assert(st & MOAT_SS_HUP);
    ck_assert(st & MOAT_SS_ERR);
    ck_assert(!(st & MOAT_SS_CONNECTED));
    ck_assert_uint_eq(fx_rx_avail(f, k->h), 10);
    uint8_t got[32];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 10);
    ck_assert_mem_eq(got, D, 10);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_CONNRESET);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
}
END_TEST

/* SOCK-PEEK-EOF-1 (lwIP f5c37c8c): looking at bytes without consuming
 * them must not open the window; consuming them does. */
START_TEST(peek_does_not_open_window)
{
    tfx_connect(f, k, &TFX_OPTS());
    for (uint32_t off = 0; off < RX; off += M) {
        uint32_t n = RX - off < M ? RX - off : M;
        tfx_peer_send(f, k, D + off, n, 0);
    }
    fx_advance(f, 500000);
    ck_assert_uint_eq(tfx_tx(f, fx_ntx(f) - 1).wnd, 0);
    fx_tx_clear(f);
    /* peek: copy out without moving the consumer index */
    struct fx_app_sock *as = &f->socks[moat_handle_idx(k->h)];
    uint8_t got[RX];
    uint32_t avail = 0;
    ck_assert_int_eq(moat_ring_avail(&as->rx, &avail), 0);
    ck_assert_uint_eq(avail, RX);
    moat_ring_get(&as->rx, 0, got, 3);
    ck_assert_mem_eq(got, D, 3);
    fx_poll(f);
    fx_advance(f, 1000000);
    fx_expect_no_tx(f);
    /* consume half: the window opens */
    ck_assert_uint_eq(tfx_read(f, k->h, got, RX / 2), RX / 2);
    ck_assert_mem_eq(got, D, RX / 2);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr u = tfx_tx(f, 0);
    ck_assert_uint_eq(u.ack, k->peer_nxt);
    ck_assert_uint_eq(u.wnd, RX / 2);
}
END_TEST

/* SOCK-PEEK-EOF-1: "test" and FIN in one segment: 4 bytes, then end of
 * stream; the socket can still send (CLOSE-WAIT). */
START_TEST(data_and_fin_one_segment)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, "test", 4, TH_FIN | TH_PSH);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    ck_assert(!(fx_sock_status(f, k->h) & (MOAT_SS_HUP | MOAT_SS_ERR)));
    uint8_t got[8];
    ck_assert_uint_eq(tfx_read(f, k->h, got, 3), 3);
    ck_assert_mem_eq(got, "tes", 3);
    ck_assert_uint_eq(tfx_read(f, k->h, got, 8), 1);
    ck_assert_uint_eq(got[0], 't');
    ck_assert_uint_eq(tfx_read(f, k->h, got, 8), 0);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, "foo", 3), 3);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 3);
}
END_TEST

/* SOCK-SELECT-1, documented choice: a fresh, unconnected TCP socket is
 * only OPEN (no CONNECTED, no hang-up, no error), unlike Linux's POLLHUP. */
START_TEST(fresh_socket_status)
{
    uint32_t h = tfx_stream_open(f);
    uint32_t st = fx_sock_status(f, h);
    ck_assert(st & MOAT_SS_OPEN);
    ck_assert(!(st & (MOAT_SS_CONNECTED | MOAT_SS_HUP | MOAT_SS_ERR | MOAT_SS_RDHUP |
                      MOAT_SS_CONNECTING | MOAT_SS_LISTENING)));
    ck_assert_uint_eq(fx_rx_avail(f, h), 0);
    fx_expect_no_tx(f);
}
END_TEST

/* SOCK-ALLOC-1: the slot table runs out with MFILE; a close gives one back. */
START_TEST(slot_exhaustion_and_reuse)
{
    uint32_t hs[64];
    unsigned n = f->cfg.max_sockets;
    ck_assert_uint_le(n, 64);
    for (unsigned i = 0; i < n; i++)
        hs[i] = tfx_stream_open(f);
    uint32_t extra = 0;
    ck_assert_int_eq(fx_sock_open(f, MOAT_SOCK_STREAM, &extra), MOAT_E_MFILE);
    ck_assert_int_eq(fx_close(f, hs[3]), 0);
    ck_assert_int_eq(fx_sock_open(f, MOAT_SOCK_STREAM, &extra), 0);
    ck_assert_uint_ne(extra, hs[3]);        /* a new handle generation */
    hs[3] = extra;
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(fx_close(f, hs[i]), 0);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST


/* Closing a listener with a completed but never accepted connection:
 * that connection is reset (<SEQ=SND.NXT><RST>) and nothing is left. */
START_TEST(listener_close_resets_unaccepted)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1000, .flags = TH_SYN, .mss = 1460));
    struct tcp_repr sa = tfx_tx(f, 0);
    tfx_inject(f, &TSEG(.seq = 1001, .ack = sa.seq + 1, .flags = TH_ACK));
    ck_assert(fx_sock_status(f, lh) & MOAT_SS_ACCEPTQ);
    /* and one embryo */
    tfx_inject(f, &TSEG(.sport = 40001, .seq = 77, .flags = TH_SYN, .mss = 1460));
    ck_assert_uint_eq(f->core->tcp->syn_used, 1);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, lh), 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags & TH_RST, TH_RST);
    ck_assert_uint_eq(r.seq, sa.seq + 1);
    ck_assert_uint_eq(r.dport, TFX_RPORT);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
    ck_assert_uint_eq(f->core->tcp->syn_used, 0);
    fx_tx_clear(f);
    /* the port is closed now */
    tfx_inject(f, &TSEG(.seq = 5, .flags = TH_SYN));
    ck_assert_uint_eq(tfx_tx(f, 0).flags & TH_RST, TH_RST);
}
END_TEST

/* MOAT_OPT_REUSEADDR: while a connection of port 80 is in TIME-WAIT, a
 * plain bind to port 80 is refused and a bind with the option succeeds. */
START_TEST(bind_during_time_wait)
{
    tfx_passive(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k->lh), 0);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    struct tcp_repr fin = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(fin.flags & TH_FIN, TH_FIN);
    tfx_peer_ack(f, k, fin.seq + 1, 65535);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_ptr_nonnull(tfx_tw(f, TFX_LPORT, TFX_RPORT));
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, h, 0, TFX_LPORT), MOAT_E_ADDRINUSE);
    ck_assert_int_eq(fx_setopt(f, h, MOAT_OPT_REUSEADDR, 1), 0);
    ck_assert_int_eq(fx_bind(f, h, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, h, 4), 0);
    /* TIME-WAIT still answers its own 4-tuple */
    fx_tx_clear(f);
    struct tcp_repr again = tfx_seg(k, TH_FIN | TH_ACK, NULL, 0);
    again.seq = k->peer_nxt - 1;
    tfx_inject(f, &again);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_ACK);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
}
END_TEST

/* RFC 9293 3.10.5 ABORT in SYN-SENT: nothing to tell the peer; in
 * ESTABLISHED with linger 0, close is an abort: one RST, nothing left. */
START_TEST(abort_syn_sent_and_linger_zero)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    fx_tx_clear(f);
    ck_assert_int_eq(tfx_abort(f, h), 0);
    fx_advance(f, 10000000);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_LINGER_MS, 0), 0);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 100), 100);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags & (TH_RST | TH_FIN | TH_SYN), TH_RST);
    ck_assert_uint_eq(r.seq, k->snd_nxt + 100);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
    fx_tx_clear(f);
    fx_advance(f, 10000000);
    fx_expect_no_tx(f);
}
END_TEST

/* MOAT_OPT_RCVBUF bounds the receive window from the SYN on (RFC 9293:
 * the window is what we are prepared to buffer). */
START_TEST(rcvbuf_bounds_window)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_setopt(f, h, MOAT_OPT_RCVBUF, 4096), 0);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    ck_assert_uint_eq(syn.wnd, 4096);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5000, .ack = syn.seq + 1,
                        .flags = TH_SYN | TH_ACK, .mss = 1460));
    ck_assert_uint_eq(tfx_tx(f, 0).wnd, 4096);
    fx_tx_clear(f);
    /* 5000 bytes offered, 4096 taken */
    uint32_t seq = 5001;
    for (uint32_t off = 0; off < 5000; off += 1000) {
        tfx_inject(f, &TSEG(.dport = syn.sport, .seq = seq + off, .ack = syn.seq + 1,
                            .flags = TH_ACK, .data = D + off, .len = 1000));
    }
    ck_assert_uint_eq(tfx_tcb(f, h)->rcv_nxt, seq + 4096);
    uint8_t got[8192];
    ck_assert_uint_eq(tfx_read(f, h, got, sizeof got), 4096);
    ck_assert_mem_eq(got, D, 4096);
}
END_TEST


static uint32_t listener80(void)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    return lh;
}

/* The handshake's ACK carries data and FIN: the connection reaches the
 * accept queue already in CLOSE-WAIT; the application accepts it, reads
 * the bytes and sees end-of-stream; byte and FIN are acknowledged. */
START_TEST(handshake_ack_with_data_and_fin)
{
    uint32_t lh = listener80();
    tfx_inject(f, &TSEG(.seq = 1000, .flags = TH_SYN, .mss = 1460));
    struct tcp_repr sa = tfx_tx(f, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1001, .ack = sa.seq + 1, .flags = TH_ACK | TH_FIN | TH_PSH,
                        .data = D, .len = 5));
    uint32_t h;
    ck_assert_int_eq(tfx_accept(f, lh, &h), 0);
    ck_assert_int_eq(tfx_state(f, h), TCPS_CLOSE_WAIT);
    uint8_t got[16];
    ck_assert_uint_eq(tfx_read(f, h, got, sizeof got), 5);
    ck_assert_mem_eq(got, D, 5);
    ck_assert(fx_sock_status(f, h) & MOAT_SS_RDHUP);
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, fx_ntx(f) - 1).ack, 1001 + 5 + 1);
}
END_TEST

/* A connection reset while waiting in the accept queue: either it leaves
 * the queue (ACCEPTQ cleared, accept says AGAIN) or accept returns it with
 * CONNRESET pending; either way nothing leaks and nothing is sent. */
START_TEST(reset_while_in_accept_queue)
{
    uint32_t lh = listener80();
    tfx_inject(f, &TSEG(.seq = 1000, .flags = TH_SYN, .mss = 1460));
    struct tcp_repr sa = tfx_tx(f, 0);
    tfx_inject(f, &TSEG(.seq = 1001, .ack = sa.seq + 1, .flags = TH_ACK));
    ck_assert(fx_sock_status(f, lh) & MOAT_SS_ACCEPTQ);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1001, .flags = TH_RST));
    fx_expect_no_tx(f);
    uint32_t h = 0;
    int rc = tfx_accept(f, lh, &h);
    if (rc == 0) {
        ck_assert(fx_sock_status(f, h) & MOAT_SS_HUP);
        ck_assert_int_eq(fx_sock_error(f, h), MOAT_E_CONNRESET);
    } else {
        ck_assert_int_eq(rc, MOAT_E_AGAIN);
        ck_assert(!(fx_sock_status(f, lh) & MOAT_SS_ACCEPTQ));
        ck_assert_uint_eq(tfx_slots_used(f), 1);
    }
    /* the listener goes on */
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 40002, .seq = 50, .flags = TH_SYN, .mss = 1460));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
}
END_TEST

Suite *tcp_scen_api_suite(void);
Suite *tcp_scen_api_suite(void)
{
    Suite *s = suite_create("tcp_scen_api");
    TCase *tc = tcase_create("scen_api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, connect_inprogress_already_isconn);
    tcase_add_test(tc, listen_without_bind_ephemeral);
    tcase_add_test(tc, rst_keeps_received_data);
    tcase_add_test(tc, peek_does_not_open_window);
    tcase_add_test(tc, data_and_fin_one_segment);
    tcase_add_test(tc, fresh_socket_status);
    tcase_add_test(tc, slot_exhaustion_and_reuse);
    tcase_add_test(tc, listener_close_resets_unaccepted);
    tcase_add_test(tc, bind_during_time_wait);
    tcase_add_test(tc, abort_syn_sent_and_linger_zero);
    tcase_add_test(tc, rcvbuf_bounds_window);
    tcase_add_test(tc, handshake_ack_with_data_and_fin);
    tcase_add_test(tc, reset_while_in_accept_queue);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_api_suite)
