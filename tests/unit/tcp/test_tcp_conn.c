/* SPDX-License-Identifier: MIT */
/*
 * TCP connection set-up and teardown, RST generation and acceptance:
 * reference-scenarios.md sections 5 and 11 (TCP-LISTEN-*, TCP-OPEN-*,
 * TCP-CLOSE-*, TCP-ABORT-*, TCP-B-SIMOPEN/MSS/WSCALE/SYNRCVD/TIMEWAIT,
 * TCP-RST-*, TCP-B-RST-5961-1, TCP-B-RST-GEN-1).
 */
#include <check.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;

static void setup(void) { tfx_init(f); }
static void teardown(void) { tfx_teardown(f); }

/* TCP-LISTEN-SYN-1 */
START_TEST(listen_syn_one_synack_truncated_nothing)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, 1234), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    /* (b) first: 18-byte header, nothing happens */
    tfx_inject(f, &TSEG(.sport = 12345, .dport = 1234, .seq = 12345, .ack = 777,
                        .flags = TH_SYN, .cut = 2));
    fx_expect_no_tx(f);
    ck_assert_uint_eq(f->core->tcp->syn_used, 0);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_MALFORMED), 1);
    /* (a) stray ack field on a non-ACK SYN is ignored */
    tfx_inject(f, &TSEG(.sport = 12345, .dport = 1234, .seq = 12345, .ack = 777,
                        .flags = TH_SYN));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_SYN | TH_ACK);
    ck_assert_uint_eq(r.ack, 12346);
    ck_assert_uint_eq(r.sport, 1234);
    ck_assert_uint_eq(r.dport, 12345);
    ck_assert_uint_eq(r.mss, 1460);
}
END_TEST

/* TCP-OPEN-ACTIVE-1 with the ISS next to 2^32 */
START_TEST(open_active_iss_hook)
{
    tfx_teardown(f);
    tfx_config(f);
    f->iss_hook = 1;
    f->iss_fixed = 0xffffffffu;
    fx_start(f);
    fx_arp_seed(f);
    fx_tx_clear(f);
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    ck_assert_uint_eq(k.iss, 0xffffffffu);
    ck_assert_uint_eq(k.snd_nxt, 0);
    ck_assert(fx_sock_status(f, k.h) & MOAT_SS_CONNECTED);
}
END_TEST

/* TCP-CLOSE-LISTEN-1 */
START_TEST(close_listener)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, 1234), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, lh), 0);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
    tfx_inject(f, &TSEG(.dport = 1234, .seq = 5, .flags = TH_SYN));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST | TH_ACK);
    ck_assert_uint_eq(r.ack, 6);
}
END_TEST

/* TCP-CLOSE-SYNSENT-1 */
START_TEST(close_syn_sent)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, h), 0);
    fx_advance(f, 10000000);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST

/* TCP-CLOSE-ACTIVE-1 */
START_TEST(close_active_time_wait)
{
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k.h), 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr fin = tfx_tx(f, 0);
    ck_assert_uint_eq(fin.flags, TH_FIN | TH_ACK);
    ck_assert_uint_eq(fin.seq, k.snd_nxt);
    ck_assert_int_eq(tfx_tcb(f, k.h)->state, TCPS_FIN_WAIT_1);
    fx_tx_clear(f);
    k.snd_nxt++;
    tfx_peer_ack(f, &k, k.snd_nxt, 65535);
    fx_expect_no_tx(f);
    ck_assert_int_eq(tfx_tcb(f, k.h)->state, TCPS_FIN_WAIT_2);
    tfx_peer_send(f, &k, NULL, 0, TH_FIN);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags, TH_ACK);
    ck_assert_uint_eq(a.ack, k.peer_nxt);
    ck_assert_ptr_nonnull(tfx_tw(f, k.lport, k.rport));
    ck_assert_uint_eq(tfx_slots_used(f), 0);
    fx_advance(f, 2000000 - 1000);
    ck_assert_ptr_nonnull(tfx_tw(f, k.lport, k.rport));
    fx_advance(f, 2000);
    ck_assert_ptr_null(tfx_tw(f, k.lport, k.rport));
}
END_TEST

/* TCP-CLOSE-SIMUL-1 */
START_TEST(close_simultaneous)
{
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k.h), 0);
    fx_tx_clear(f);
    /* peer FIN that does not ack ours */
    tfx_peer_send(f, &k, NULL, 0, TH_FIN);
    ck_assert_int_eq(tfx_tcb(f, k.h)->state, TCPS_CLOSING);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.ack, k.peer_nxt);
    fx_tx_clear(f);
    tfx_peer_ack(f, &k, k.snd_nxt + 1, 65535);
    ck_assert_ptr_nonnull(tfx_tw(f, k.lport, k.rport));
    fx_advance(f, 2001000);
    ck_assert_ptr_null(tfx_tw(f, k.lport, k.rport));
}
END_TEST

/* TCP-CLOSE-PASSIVE-1 */
START_TEST(close_passive_data_fin)
{
    struct tfx_conn k;
    tfx_passive(f, &k, &TFX_OPTS());
    uint8_t b = 0x42;
    tfx_peer_send(f, &k, &b, 1, TH_FIN);
    ck_assert(fx_sock_status(f, k.h) & MOAT_SS_RDHUP);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k.irs + 3);
    fx_tx_clear(f);
    uint8_t got = 0;
    ck_assert_uint_eq(tfx_read(f, k.h, &got, 1), 1);
    ck_assert_uint_eq(got, 0x42);
    ck_assert_int_eq(fx_close(f, k.h), 0);
    ck_assert_int_eq(tfx_tcb(f, k.h)->state, TCPS_LAST_ACK);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr fin = tfx_tx(f, 0);
    ck_assert_uint_eq(fin.flags, TH_FIN | TH_ACK);
    tfx_peer_ack(f, &k, fin.seq + 1, 65535);
    /* only the listener is left */
    ck_assert_uint_eq(tfx_slots_used(f), 1);
}
END_TEST

/* TCP-ABORT-NEW-1, TCP-ABORT-RST-1 */
START_TEST(abort_new_and_established)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(tfx_abort(f, h), 0);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    ck_assert_int_eq(tfx_abort(f, k.h), 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST);
    ck_assert_uint_eq(r.sport, k.lport);
    ck_assert_uint_eq(r.dport, k.rport);
    ck_assert_uint_eq(r.seq, k.snd_nxt);
    ck_assert_uint_eq(r.ip_len, 40);
    ck_assert_uint_eq(tfx_slots_used(f), 0);
}
END_TEST

/* TCP-B-SIMOPEN-1 */
START_TEST(simultaneous_open)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5000, .flags = TH_SYN, .mss = 1460));
    ck_assert_int_eq(tfx_state(f, h), TCPS_SYN_RCVD);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr sa = tfx_tx(f, 0);
    ck_assert_uint_eq(sa.flags, TH_SYN | TH_ACK);
    ck_assert_uint_eq(sa.seq, syn.seq);
    ck_assert_uint_eq(sa.ack, 5001);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5001, .ack = syn.seq + 1,
                        .flags = TH_ACK));
    ck_assert_int_eq(tfx_state(f, h), TCPS_ESTABLISHED);
    ck_assert(fx_sock_status(f, h) & MOAT_SS_CONNECTED);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert(!(tfx_tx(f, i).flags & TH_RST));
}
END_TEST

/* TCP-B-MSS-1 (a)(b)(c) */
START_TEST(mss_option)
{
    uint8_t buf[10000];
    tfx_pattern(buf, sizeof buf, 0);
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS(.mss = 1000));
    ck_assert_uint_eq(k.mss, 1460);
    tfx_write(f, k.h, buf, sizeof buf);
    ck_assert_uint_gt(fx_ntx(f), 0);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_le(tfx_tx(f, i).len, 1000);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 1000);
    tfx_abort(f, k.h);
    fx_tx_clear(f);
    struct tfx_conn k2;
    tfx_connect(f, &k2, &TFX_OPTS(.mss = 0));
    tfx_write(f, k2.h, buf, sizeof buf);
    ck_assert_uint_gt(fx_ntx(f), 0);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_le(tfx_tx(f, i).len, 536);
}
END_TEST

/* TCP-SYN-TIMEOUT-1, and a retransmitted SYN carries the same options
 * (TCP-B-MSS-1) */
START_TEST(syn_timeout)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    ck_assert_int_eq(syn.ws, 0);        /* 16 KiB ring: shift 0, still offered */
    ck_assert(syn.sack_perm && syn.ts);
    ck_assert_uint_eq(syn.mss, 1460);
    uint64_t t0 = fx_tx(f, 0)->t;
    fx_tx_clear(f);
    fx_advance(f, 1000000 - 1);
    fx_expect_no_tx(f);
    fx_advance(f, 1);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(fx_tx(f, 0)->t - t0, 1000000);
    fx_advance(f, 400000000);
    ck_assert_uint_eq(fx_ntx(f), f->cfg.tcp_syn_retries);
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_uint_eq(r.flags, TH_SYN);
        ck_assert_uint_eq(r.seq, syn.seq);
        ck_assert_uint_eq(r.opt_len, syn.opt_len);
        ck_assert_uint_eq(r.mss, syn.mss);
    }
    uint32_t st = fx_sock_status(f, h);
    ck_assert(st & MOAT_SS_ERR);
    ck_assert(!(st & MOAT_SS_CONNECTED));
    ck_assert_int_eq(fx_sock_error(f, h), MOAT_E_TIMEDOUT);
}
END_TEST


/* TCP-B-SYNRCVD-1 (a) and (c) */
START_TEST(synrcvd_dup_syn_and_timeout)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1000, .flags = TH_SYN, .mss = 1460));
    struct tcp_repr a = tfx_tx(f, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1000, .flags = TH_SYN, .mss = 1460));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr b = tfx_tx(f, 0);
    ck_assert_uint_eq(b.flags, TH_SYN | TH_ACK);
    ck_assert_uint_eq(b.seq, a.seq);
    ck_assert_uint_eq(f->core->tcp->syn_used, 1);
    fx_tx_clear(f);
    /* (c) never completed: retransmitted with backoff, then released */
    fx_advance(f, 300000000);
    ck_assert_uint_eq(fx_ntx(f), f->cfg.tcp_syn_retries);
    for (unsigned i = 1; i < fx_ntx(f); i++)
        ck_assert_uint_gt(fx_tx(f, i)->t - fx_tx(f, i - 1)->t,
                          i >= 2 ? fx_tx(f, i - 1)->t - fx_tx(f, i - 2)->t : 0);
    ck_assert_uint_eq(f->core->tcp->syn_used, 0);
    ck_assert_int_eq(tfx_state(f, lh), TCPS_LISTEN);
}
END_TEST

/* TCP-B-SYNRCVD-1 (b): backlog full of unaccepted connections */
START_TEST(synrcvd_backlog_full)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 2), 0);
    for (uint16_t i = 0; i < 2; i++) {
        fx_tx_clear(f);
        tfx_inject(f, &TSEG(.sport = (uint16_t)(2000 + i), .seq = 1000, .flags = TH_SYN));
        struct tcp_repr sa = tfx_tx(f, 0);
        tfx_inject(f, &TSEG(.sport = (uint16_t)(2000 + i), .seq = 1001, .ack = sa.seq + 1,
                            .flags = TH_ACK));
    }
    ck_assert(fx_sock_status(f, lh) & MOAT_SS_ACCEPTQ);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 3000, .seq = 1000, .flags = TH_SYN));
    fx_expect_no_tx(f);     /* dropped silently, the client retries */
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_BACKLOG), 1);
    uint32_t c1;
    ck_assert_int_eq(tfx_accept(f, lh, &c1), 0);
    ck_assert_int_eq(tfx_state(f, c1), TCPS_ESTABLISHED);
    tfx_inject(f, &TSEG(.sport = 3000, .seq = 1000, .flags = TH_SYN));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
}
END_TEST

/* SYN queue full: SYN cookies, and a cookie ACK completes the handshake */
START_TEST(syn_cookies)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_syn_backlog = 2;
    fx_start(f);
    fx_arp_seed(f);
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    tfx_inject(f, &TSEG(.sport = 2000, .seq = 1000, .flags = TH_SYN, .mss = 1460));
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 1000, .flags = TH_SYN, .mss = 1460));
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 2002, .seq = 7000, .flags = TH_SYN, .mss = 1460, .ws = 7,
                        .ts = true, .tsval = 5));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr sa = tfx_tx(f, 0);
    ck_assert_uint_eq(sa.flags, TH_SYN | TH_ACK);
    ck_assert_uint_eq(sa.ack, 7001);
    ck_assert_uint_eq(sa.mss, 1460);
    /* the cookie keeps the options (they travel in TSval: issue 7) */
    ck_assert_int_ge(sa.ws, 0);
    ck_assert(sa.ts);
    ck_assert_uint_eq(sa.tsecr, 5);
    ck_assert_uint_eq(fx_stats(f).tcp_syncookies_sent, 1);
    fx_tx_clear(f);
    /* a forged ACK does not pass */
    tfx_inject(f, &TSEG(.sport = 2002, .seq = 7001, .ack = sa.seq + 2, .flags = TH_ACK));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST);
    fx_tx_clear(f);
    uint8_t d[3] = { 1, 2, 3 };
    tfx_inject(f, &TSEG(.sport = 2002, .seq = 7001, .ack = sa.seq + 1, .flags = TH_ACK | TH_PSH,
                        .data = d, .len = 3, .ts = true, .tsval = 6, .tsecr = sa.tsval));
    uint32_t c1;
    ck_assert_int_eq(tfx_accept(f, lh, &c1), 0);
    ck_assert_int_eq(tfx_state(f, c1), TCPS_ESTABLISHED);
    uint8_t got[3];
    ck_assert_uint_eq(tfx_read(f, c1, got, 3), 3);
    ck_assert_mem_eq(got, d, 3);
}
END_TEST

/* TCP-B-TIMEWAIT-1 */
START_TEST(time_wait_fin_retransmitted)
{
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k.h), 0);
    k.snd_nxt++;
    tfx_peer_ack(f, &k, k.snd_nxt, 65535);
    tfx_peer_send(f, &k, NULL, 0, TH_FIN);
    fx_tx_clear(f);
    fx_advance(f, 1500000);     /* 2MSL is 2 s here */
    struct tcp_repr fin = tfx_seg(&k, TH_FIN | TH_ACK, NULL, 0);
    fin.seq = k.peer_nxt - 1;
    tfx_inject(f, &fin);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags, TH_ACK);
    ck_assert_uint_eq(a.ack, k.peer_nxt);
    ck_assert_uint_eq(a.seq, k.snd_nxt);
    fx_tx_clear(f);
    fx_advance(f, 1900000);
    ck_assert_ptr_nonnull(tfx_tw(f, k.lport, k.rport));
    /* data in TIME-WAIT: ACKed, not delivered */
    uint8_t b = 1;
    struct tcp_repr dseg = tfx_seg(&k, TH_ACK, &b, 1);
    tfx_inject(f, &dseg);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_ACK);
    fx_advance(f, 200000);
    ck_assert_ptr_null(tfx_tw(f, k.lport, k.rport));
}
END_TEST

/* TCP-RST-TIMEWAIT-SYN-1: policy = challenge ACK for an old-numbered SYN;
 * a SYN above RCV.NXT for a listening port opens a new connection. */
START_TEST(time_wait_syn)
{
    struct tfx_conn k;
    tfx_passive(f, &k, &TFX_OPTS());
    /* our side closes first to land in TIME-WAIT */
    ck_assert_int_eq(fx_close(f, k.h), 0);
    struct tcp_repr fin = tfx_tx(f, 0);
    k.snd_nxt = fin.seq + 1;
    tfx_peer_ack(f, &k, k.snd_nxt, 65535);
    tfx_peer_send(f, &k, NULL, 0, TH_FIN);
    ck_assert_ptr_nonnull(tfx_tw(f, k.lport, k.rport));
    fx_tx_clear(f);
    struct tcp_repr syn = TSEG(.seq = k.peer_nxt - 1, .flags = TH_SYN);
    tfx_inject(f, &syn);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_ACK);
    ck_assert_ptr_nonnull(tfx_tw(f, k.lport, k.rport));
    fx_tx_clear(f);
    syn.seq = k.peer_nxt + 100000;
    tfx_inject(f, &syn);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
    ck_assert_ptr_null(tfx_tw(f, k.lport, k.rport));
}
END_TEST

/* TCP-RST-CLOSED-1, TCP-B-RST-GEN-1 */
START_TEST(rst_generation_closed_port)
{
    tfx_inject(f, &TSEG(.seq = 12345, .ack = 54321, .flags = TH_ACK));
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST);
    ck_assert_uint_eq(r.seq, 54321);
    ck_assert_uint_eq(r.sport, TFX_LPORT);
    ck_assert_uint_eq(r.dport, TFX_RPORT);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 5, .flags = TH_RST));
    fx_expect_no_tx(f);
    tfx_inject(f, &TSEG(.seq = 99, .flags = TH_SYN));
    r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST | TH_ACK);
    ck_assert_uint_eq(r.seq, 0);
    ck_assert_uint_eq(r.ack, 100);
    fx_tx_clear(f);
    uint8_t d[5] = { 0 };
    tfx_inject(f, &TSEG(.seq = 99, .flags = TH_FIN, .data = d, .len = 5));
    r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST | TH_ACK);
    ck_assert_uint_eq(r.ack, 105);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 99, .flags = TH_SYN, .to_bcast = true));
    fx_expect_no_tx(f);
    /* TCP-B-CSUM-1: a bad checksum never gets an answer */
    tfx_inject(f, &TSEG(.seq = 99, .flags = TH_SYN, .bad_cksum = true));
    fx_expect_no_tx(f);
}
END_TEST

/* TCP-RST-LISTEN-1 */
START_TEST(rst_listen)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 12345, .ack = 54321, .flags = TH_ACK));
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, 54321);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 12345, .flags = TH_RST));
    fx_expect_no_tx(f);
    tfx_inject(f, &TSEG(.seq = 12345, .flags = TH_SYN));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
}
END_TEST

/* TCP-RST-ACCEPT-1 (A: SYN-SENT), TCP-RST-SYNSENT-BADACK-1, -ACKONLY-1 */
START_TEST(rst_syn_sent)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    fx_tx_clear(f);
    uint32_t iss = syn.seq;
    /* bad SYN-ACK */
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 500, .ack = iss - 10, .flags = TH_SYN | TH_ACK));
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, iss - 10);
    ck_assert_int_eq(tfx_state(f, h), TCPS_SYN_SENT);
    fx_tx_clear(f);
    /* plain ACK = ISS */
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 500, .ack = iss, .flags = TH_ACK));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, iss);
    ck_assert_int_eq(tfx_state(f, h), TCPS_SYN_SENT);
    fx_tx_clear(f);
    /* RST with an unacceptable ACK: ignored */
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 0, .ack = iss + 1 - 10, .flags = TH_RST | TH_ACK));
    fx_expect_no_tx(f);
    ck_assert_int_eq(tfx_state(f, h), TCPS_SYN_SENT);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 0, .ack = iss + 1, .flags = TH_RST | TH_ACK));
    fx_expect_no_tx(f);
    ck_assert_int_eq(fx_sock_error(f, h), MOAT_E_CONNREFUSED);
    ck_assert(fx_sock_status(f, h) & MOAT_SS_HUP);
}
END_TEST

/* TCP-RST-ACCEPT-1 (B: ESTABLISHED), SOCK-RST-DATA-1 (data stays readable) */
START_TEST(rst_established)
{
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    uint8_t d[10] = "0123456789";
    tfx_peer_send(f, &k, d, 10, TH_PSH);
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(&k, TH_RST, NULL, 0);
    r.seq = k.peer_nxt - 10 - 10;
    tfx_inject(f, &r);
    fx_expect_no_tx(f);
    ck_assert_int_eq(tfx_state(f, k.h), TCPS_ESTABLISHED);
    r.seq = k.peer_nxt;
    tfx_inject(f, &r);
    fx_expect_no_tx(f);
    ck_assert_int_eq(fx_sock_error(f, k.h), MOAT_E_CONNRESET);
    uint8_t got[10];
    ck_assert_uint_eq(tfx_read(f, k.h, got, 10), 10);
    ck_assert_mem_eq(got, d, 10);
}
END_TEST

/* TCP-RST-SYNRCVD-BADACK-1, TCP-RST-SYNRCVD-1 */
START_TEST(rst_syn_rcvd)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1000, .flags = TH_SYN));
    uint32_t s = tfx_tx(f, 0).seq;
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1001, .ack = s + 1111, .flags = TH_ACK));
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s + 1111);
    ck_assert_uint_eq(f->core->tcp->syn_used, 1);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 1001, .flags = TH_RST));
    fx_expect_no_tx(f);
    ck_assert_uint_eq(f->core->tcp->syn_used, 0);
    ck_assert(!(fx_sock_status(f, lh) & MOAT_SS_ACCEPTQ));
    tfx_inject(f, &TSEG(.seq = 3000, .flags = TH_SYN));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
}
END_TEST

/* TCP-B-RST-5961-1 */
START_TEST(rst_5961)
{
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    uint8_t d[100] = { 0 };
    ck_assert_uint_eq(tfx_write(f, k.h, d, 100), 100);   /* data in flight */
    fx_tx_clear(f);
    /* (a) in window, not exact: one challenge ACK */
    struct tcp_repr r = tfx_seg(&k, TH_RST, NULL, 0);
    r.seq = k.peer_nxt + 100;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags, TH_ACK);
    ck_assert_uint_eq(a.seq, k.snd_nxt + 100);
    ck_assert_uint_eq(a.ack, k.peer_nxt);
    ck_assert_int_eq(tfx_state(f, k.h), TCPS_ESTABLISHED);
    fx_tx_clear(f);
    /* (b) outside the window: nothing */
    r.seq = k.peer_nxt + 16384 + 5;
    tfx_inject(f, &r);
    fx_expect_no_tx(f);
    /* (c) SYN: challenge ACK */
    struct tcp_repr syn = tfx_seg(&k, TH_SYN, NULL, 0);
    tfx_inject(f, &syn);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_ACK);
    ck_assert_int_eq(tfx_state(f, k.h), TCPS_ESTABLISHED);
    fx_tx_clear(f);
    /* (d) ACK beyond SND.NXT */
    tfx_peer_ack(f, &k, k.snd_nxt + 5000, 65535);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tcb(f, k.h)->snd_una, k.snd_nxt);
    fx_tx_clear(f);
    /* (f) a flood of in-window RSTs: rate-limited challenge ACKs */
    r.seq = k.peer_nxt + 50;
    for (int i = 0; i < 1000; i++)
        tfx_inject(f, &r);
    ck_assert_uint_le(fx_ntx(f), TCP_CHACK_PER_S);
    ck_assert_int_eq(tfx_state(f, k.h), TCPS_ESTABLISHED);
    /* an exact RST does reset */
    r.seq = k.peer_nxt;
    tfx_inject(f, &r);
    ck_assert_int_eq(fx_sock_error(f, k.h), MOAT_E_CONNRESET);
}
END_TEST

/* TCP-RES-1: TIME-WAIT does not hold a slot */
START_TEST(time_wait_frees_slot)
{
    struct tfx_conn k;
    tfx_connect(f, &k, &TFX_OPTS());
    ck_assert_int_eq(fx_close(f, k.h), 0);
    k.snd_nxt++;
    tfx_peer_ack(f, &k, k.snd_nxt, 65535);
    tfx_peer_send(f, &k, NULL, 0, TH_FIN);
    ck_assert_ptr_nonnull(tfx_tw(f, k.lport, k.rport));
    /* every slot can be opened while the old connection waits */
    uint32_t hs[8];
    for (unsigned i = 0; i < f->cfg.max_sockets; i++)
        hs[i] = tfx_stream_open(f);
    uint32_t extra;
    ck_assert_int_eq(fx_sock_open(f, MOAT_SOCK_STREAM, &extra), MOAT_E_MFILE);
    for (unsigned i = 0; i < f->cfg.max_sockets; i++)
        ck_assert_int_eq(fx_close(f, hs[i]), 0);
}
END_TEST

/* A fresh fixture with keepalive after 10 s idle, probes 1 s apart, 3 of
 * them; one connection with keepalive on, nothing captured yet. */
static void keepalive_conn(struct tfx_conn *k)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_keepidle_ms = 10000;
    f->cfg.tcp_keepintvl_ms = 1000;
    f->cfg.tcp_keepcnt = 3;
    fx_start(f);
    fx_arp_seed(f);
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_KEEPALIVE, 1), 0);
    fx_tx_clear(f);
}

/* TCP-B-KEEPALIVE-1 */
START_TEST(keepalive)
{
    struct tfx_conn k;
    keepalive_conn(&k);
    fx_advance(f, 9999000);
    fx_expect_no_tx(f);
    fx_advance(f, 2000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr p = tfx_tx(f, 0);
    ck_assert_uint_eq(p.seq, k.snd_nxt - 1);
    ck_assert_uint_eq(p.len, 0);
    /* (a) answered: stays up */
    tfx_peer_ack(f, &k, k.snd_nxt, 65535);
    fx_tx_clear(f);
    fx_advance(f, 9000000);
    fx_expect_no_tx(f);
    /* (b) silent: 3 probes, then timed out */
    fx_advance(f, 20000000);
    ck_assert_uint_eq(fx_ntx(f), 3);
    ck_assert_int_eq(fx_sock_error(f, k.h), MOAT_E_TIMEDOUT);
}
END_TEST
/* Keepalive turned off after two unanswered probes and on again: the
 * count starts afresh, so the peer again gets tcp_keepcnt (3) probes
 * before the connection times out, not the one an earlier period left. */
START_TEST(keepalive_reenabled_full_count)
{
    struct tfx_conn k;
    keepalive_conn(&k);
    fx_advance(f, 11500000);            /* idle 10 s, probe, 1 s, probe */
    ck_assert_uint_eq(fx_ntx(f), 2);
    ck_assert_int_eq(fx_setopt(f, k.h, MOAT_OPT_KEEPALIVE, 0), 0);
    ck_assert_int_eq(fx_setopt(f, k.h, MOAT_OPT_KEEPALIVE, 1), 0);
    fx_tx_clear(f);
    fx_advance(f, 12500000);            /* idle 10 s, then 3 probes 1 s apart */
    ck_assert_uint_eq(fx_ntx(f), 3);
    ck_assert_int_eq(fx_sock_error(f, k.h), 0);
    fx_advance(f, 1000000);             /* the third goes unanswered */
    ck_assert_uint_eq(fx_ntx(f), 3);
    ck_assert_int_eq(fx_sock_error(f, k.h), MOAT_E_TIMEDOUT);
}
END_TEST
Suite *tcp_conn_suite(void);
Suite *tcp_conn_suite(void)
{
    Suite *s = suite_create("tcp_conn");
    TCase *tc = tcase_create("conn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, listen_syn_one_synack_truncated_nothing);
    tcase_add_test(tc, open_active_iss_hook);
    tcase_add_test(tc, close_listener);
    tcase_add_test(tc, close_syn_sent);
    tcase_add_test(tc, close_active_time_wait);
    tcase_add_test(tc, close_simultaneous);
    tcase_add_test(tc, close_passive_data_fin);
    tcase_add_test(tc, abort_new_and_established);
    tcase_add_test(tc, simultaneous_open);
    tcase_add_test(tc, mss_option);
    tcase_add_test(tc, syn_timeout);
    tcase_add_test(tc, synrcvd_dup_syn_and_timeout);
    tcase_add_test(tc, synrcvd_backlog_full);
    tcase_add_test(tc, syn_cookies);
    tcase_add_test(tc, time_wait_fin_retransmitted);
    tcase_add_test(tc, time_wait_syn);
    tcase_add_test(tc, rst_generation_closed_port);
    tcase_add_test(tc, rst_listen);
    tcase_add_test(tc, rst_syn_sent);
    tcase_add_test(tc, rst_established);
    tcase_add_test(tc, rst_syn_rcvd);
    tcase_add_test(tc, rst_5961);
    tcase_add_test(tc, time_wait_frees_slot);
    tcase_add_test(tc, keepalive);
    tcase_add_test(tc, keepalive_reenabled_full_count);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_conn_suite)
