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
 *
 * Known failures are in TCases named known_failures_*, run only with
 * MOAT_RUN_KNOWN_FAILURES=1. Does not hold fixtures (tcp_fx.c).
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
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_api_suite)
