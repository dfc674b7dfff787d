/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, RST generation and acceptance (reference-
 * scenarios.md section 11; RFC 9293 3.10.7, RFC 5961), beyond
 * test_tcp_conn.c:
 *
 *   TCP-RST-LISTEN-1   a SYN-ACK to a listener gets <SEQ=SEG.ACK><RST>; a
 *                      segment without SYN, ACK or RST is dropped.
 *   TCP-B-RST-5961-1   (d) data riding on an ACK above SND.NXT is not
 *                      delivered; (c) a SYN outside the window or in
 *                      CLOSE-WAIT: one ACK, connection kept; (f) the
 *                      challenge-ACK budget refills after a second.
 *   TCP-RST-SYNRCVD-1  an in-window but inexact RST leaves the embryo.
 *   TCP-B-RST-GEN-1    RST fields for a segment with data and ACK.
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
static uint8_t D[4096];

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

static uint32_t listener(void)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    return lh;
}

/* TCP-RST-LISTEN-1 / RFC 9293 3.10.7.2: in LISTEN any acknowledgment is
 * bad, including a SYN-ACK: <SEQ=SEG.ACK><CTL=RST>, no SYN-ACK, no embryo;
 * the listener still answers a SYN afterwards. */
START_TEST(listen_synack_gets_rst)
{
    uint32_t lh = listener();
    tfx_inject(f, &TSEG(.seq = 700, .ack = 4242, .flags = TH_SYN | TH_ACK));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST);
    ck_assert_uint_eq(r.seq, 4242);
    ck_assert_uint_eq(f->core->tcp->syn_used, 0);
    ck_assert_int_eq(tfx_state(f, lh), TCPS_LISTEN);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 700, .flags = TH_SYN));
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
}
END_TEST

/* RFC 9293 3.10.7.2, "fourth, other text or control": a segment with
 * neither SYN, ACK nor RST (here FIN with data) to a listener is dropped
 * without a reply and creates nothing. */
START_TEST(listen_other_control_dropped)
{
    uint32_t lh = listener();
    tfx_inject(f, &TSEG(.seq = 700, .flags = TH_FIN, .data = D, .len = 5));
    tfx_inject(f, &TSEG(.seq = 700, .flags = 0, .data = D, .len = 5));
    tfx_inject(f, &TSEG(.seq = 700, .flags = TH_PSH));
    fx_expect_no_tx(f);
    ck_assert_uint_eq(f->core->tcp->syn_used, 0);
    ck_assert_int_eq(tfx_state(f, lh), TCPS_LISTEN);
    ck_assert(!(fx_sock_status(f, lh) & MOAT_SS_ACCEPTQ));
}
END_TEST

/* TCP-B-RST-GEN-1: a data segment with ACK to a closed port gets
 * <SEQ=SEG.ACK><CTL=RST> without ACK, ports swapped, 40 bytes. */
START_TEST(closed_port_data_with_ack)
{
    tfx_inject(f, &TSEG(.dport = 4444, .seq = 100, .ack = 0xfffffff0u, .flags = TH_ACK | TH_PSH,
                        .data = D, .len = 33));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST);
    ck_assert_uint_eq(r.seq, 0xfffffff0u);
    ck_assert_uint_eq(r.sport, 4444);
    ck_assert_uint_eq(r.dport, TFX_RPORT);
    ck_assert_uint_eq(r.ip_len, 40);
    ck_assert_uint_eq(r.dst, FX_R_IP);
}
END_TEST

/* TCP-B-RST-5961-1 (d), RFC 5961 5.2: "if SEG.ACK > SND.NXT then send an
 * ACK, drop the segment, and return": the 5 data bytes it carries are not
 * delivered and RCV.NXT does not move. */
START_TEST(ack_above_sndnxt_data_dropped)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, 100), 100);
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 5);
    r.ack = k->snd_nxt + 100 + 5000;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags & (TH_ACK | TH_RST | TH_SYN), TH_ACK);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt);
    ck_assert_uint_eq(t->snd_una, k->snd_nxt);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 0);
    ck_assert_int_eq(t->state, TCPS_ESTABLISHED);
}
END_TEST

/* TCP-B-RST-5961-1 (c): a SYN far outside the window, and a SYN in
 * CLOSE-WAIT: one ACK each, connection kept, nothing reset. */
START_TEST(syn_in_synchronized_states)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_repr syn = tfx_seg(k, TH_SYN, NULL, 0);
    syn.seq = k->peer_nxt + 1000000;
    tfx_inject(f, &syn);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags & (TH_ACK | TH_RST | TH_SYN), TH_ACK);
    ck_assert_uint_eq(a.seq, k->snd_nxt);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
    fx_tx_clear(f);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSE_WAIT);
    fx_tx_clear(f);
    syn = tfx_seg(k, TH_SYN, NULL, 0);
    tfx_inject(f, &syn);
    ck_assert_uint_eq(fx_ntx(f), 1);
    a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags & (TH_ACK | TH_RST | TH_SYN), TH_ACK);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSE_WAIT);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
}
END_TEST

/* TCP-B-RST-5961-1 (f), RFC 5961 7: the challenge-ACK limit is per time
 * unit; after a second the connection can answer again. */
START_TEST(challenge_ack_budget_refills)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_repr r = tfx_seg(k, TH_RST, NULL, 0);
    r.seq = k->peer_nxt + 50;
    for (int i = 0; i < 200; i++)
        tfx_inject(f, &r);
    unsigned first = fx_ntx(f);
    ck_assert_uint_ge(first, 1);
    ck_assert_uint_le(first, TCP_CHACK_PER_S);
    fx_tx_clear(f);
    tfx_inject(f, &r);
    fx_expect_no_tx(f);
    fx_advance(f, 1100000);
    fx_tx_clear(f);
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags & (TH_ACK | TH_RST), TH_ACK);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
    ck_assert_uint_ge(fx_stats(f).tcp_challenge_acks, first + 1);
}
END_TEST

/* TCP-RST-SYNRCVD-1 with RFC 5961 3.2 ("In all states except SYN-SENT,
 * all reset (RST) packets are validated by checking their SEQ fields"):
 * a RST inside the window but not at RCV.NXT must not remove the
 * embryonic connection (a challenge ACK may answer it); the handshake
 * then still completes. (Found failing: any in-window RST removed the
 * embryo; since fixed in tcp_in.c.) */
START_TEST(synrcvd_inexact_rst_keeps_embryo)
{
    uint32_t lh = listener();
    tfx_inject(f, &TSEG(.seq = 1000, .flags = TH_SYN, .mss = 1460));
    struct tcp_repr sa = tfx_tx(f, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1001 + 100, .flags = TH_RST));
    ck_assert_uint_eq(f->core->tcp->syn_used, 1);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert(!(tfx_tx(f, i).flags & TH_RST));
    fx_tx_clear(f);
    /* the handshake still completes */
    tfx_inject(f, &TSEG(.seq = 1001, .ack = sa.seq + 1, .flags = TH_ACK));
    fx_expect_no_tx(f);
    uint32_t h;
    ck_assert_int_eq(tfx_accept(f, lh, &h), 0);
    ck_assert_int_eq(tfx_state(f, h), TCPS_ESTABLISHED);
}
END_TEST

/* RFC 9293 3.10.7.4: a RST outside the window in a synchronized state is
 * dropped without a reply (RFC 5961 3.2 (b)); also in FIN-WAIT-2. */
START_TEST(rst_out_of_window_silent)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    k->snd_nxt++;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(k, TH_RST, NULL, 0);
    r.seq = k->peer_nxt - 1;
    tfx_inject(f, &r);
    r.seq = k->peer_nxt + 16384 + 1;
    tfx_inject(f, &r);
    fx_expect_no_tx(f);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_FIN_WAIT_2);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
}
END_TEST

Suite *tcp_scen_rst_suite(void);
Suite *tcp_scen_rst_suite(void)
{
    Suite *s = suite_create("tcp_scen_rst");
    TCase *tc = tcase_create("scen_rst");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, listen_synack_gets_rst);
    tcase_add_test(tc, listen_other_control_dropped);
    tcase_add_test(tc, closed_port_data_with_ack);
    tcase_add_test(tc, ack_above_sndnxt_data_dropped);
    tcase_add_test(tc, syn_in_synchronized_states);
    tcase_add_test(tc, challenge_ack_budget_refills);
    tcase_add_test(tc, rst_out_of_window_silent);
    tcase_add_test(tc, synrcvd_inexact_rst_keeps_embryo);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_rst_suite)
