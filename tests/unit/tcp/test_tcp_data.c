/* SPDX-License-Identifier: MIT */
/*
 * TCP data transfer, segment validation, windows, out-of-order queue and
 * persist timer: reference-scenarios.md sections 6, 9 and 10.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;

static void setup(void) { tfx_init(f); }
static void teardown(void) { tfx_teardown(f); }

/* TCP-RX-INSEQ-1 */
START_TEST(rx_in_sequence)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[4] = { 1, 2, 3, 4 }, got[8];
    tfx_peer_send(f, k, d, 4, TH_PSH);
    fx_expect_no_tx(f);                    /* ACK delayed */
    ck_assert_uint_eq(tfx_read(f, k->h, got, 8), 4);
    ck_assert_mem_eq(got, d, 4);
    ck_assert(!(fx_sock_status(f, k->h) & (MOAT_SS_RDHUP | MOAT_SS_ERR)));
    fx_advance(f, 40000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
}
END_TEST

/* TCP-RX-TRIM-1 */
START_TEST(rx_trim_left_edge)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[160], got[200];
    tfx_pattern(d, 160, 0);
    tfx_peer_send(f, k, d, 60, 0);
    struct tcp_repr r = tfx_seg(k, TH_ACK, d, 100);
    r.seq = k->peer_nxt - 60;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_read(f, k->h, got, 200), 100);
    ck_assert_mem_eq(got, d, 60);
    ck_assert_mem_eq(got + 60, d + 60, 40);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_nxt, k->peer_nxt + 40);
}
END_TEST

/* TCP-HDR-MALFORMED-1 */
START_TEST(malformed_header_length)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[4] = { 9, 9, 9, 9 };
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_FIN, d, 4);
    r.doff = 15;
    r.rsvd = 0x3;
    tfx_inject(f, &r);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 0);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_RDHUP));
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_MALFORMED), 1);
    tfx_peer_send(f, k, d, 4, 0);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 4);
}
END_TEST

/* TCP-B-CSUM-1 on a connection */
START_TEST(bad_checksum_dropped)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[5] = { 1, 2, 3, 4, 5 };
    struct tcp_repr r = tfx_seg(k, TH_ACK, d, 5);
    r.bad_cksum = true;
    tfx_inject(f, &r);
    r = tfx_seg(k, TH_RST, NULL, 0);
    r.bad_cksum = true;
    tfx_inject(f, &r);
    fx_advance(f, 100000);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 0);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
    /* odd-length payload: the fixture checks every transmitted checksum */
    ck_assert_uint_eq(tfx_write(f, k->h, d, 5), 5);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 5);
}
END_TEST

/* TCP-NAGLE-1 */
START_TEST(nagle)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[16];
    tfx_pattern(d, 16, 0);
    ck_assert_uint_eq(tfx_write(f, k->h, d, 7), 7);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 7);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, d + 7, 5), 5);
    fx_expect_no_tx(f);
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_NODELAY, 1), 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.len, 5);
    ck_assert_uint_eq(r.seq, k->snd_nxt + 7);
    ck_assert_mem_eq(r.data, d + 7, 5);
}
END_TEST

/* TCP-SNDBUF-1 (the ring never takes more than it holds) */
START_TEST(send_buffer_accounting)
{
    tfx_connect(f, k, &TFX_OPTS(.wnd = 2920));
    static uint8_t d[20000];
    tfx_pattern(d, sizeof d, 0);
    uint32_t n = tfx_write(f, k->h, d, sizeof d);
    ck_assert_uint_eq(n, 16384);
    ck_assert_uint_eq(tfx_write(f, k->h, d, 4), 0);
    ck_assert_uint_eq(fx_ntx(f), 2);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt + 1460, 2920);
    ck_assert_uint_eq(tfx_write(f, k->h, d + n, 4), 4);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt + 2920);
    ck_assert_mem_eq(r.data, d + 2920, r.len);
}
END_TEST

/* TCP-B-ZWND-RCV-1 */
START_TEST(zero_window_receive)
{
    tfx_connect(f, k, &TFX_OPTS());
    static uint8_t d[16384];
    tfx_pattern(d, sizeof d, 0);
    for (uint32_t off = 0; off < 16384; off += 1460) {
        uint32_t n = 16384 - off < 1460 ? 16384 - off : 1460;
        tfx_peer_send(f, k, d + off, n, 0);
    }
    fx_advance(f, 50000);
    struct tcp_repr last = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(last.wnd, 0);
    ck_assert_uint_eq(last.ack, k->peer_nxt);
    uint8_t out[100];
    tfx_write(f, k->h, out, 100);
    fx_tx_clear(f);
    /* (a) probe byte that also ACKs our data */
    struct tcp_repr p = tfx_seg(k, TH_ACK, d, 1);
    p.ack = k->snd_nxt + 100;
    tfx_inject(f, &p);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    ck_assert_uint_eq(a.wnd, 0);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_una, k->snd_nxt + 100);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->t_rtx, 0);
    fx_tx_clear(f);
    /* (c) SWS: small reads announce nothing; half the buffer does */
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 1), 1);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 10), 10);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 8192), 8192);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_ge(tfx_tx(f, 0).wnd, 1460);
}
END_TEST

/* TCP-B-SWS-1 (receiver): the right edge never moves left */
START_TEST(window_never_shrinks)
{
    tfx_connect(f, k, &TFX_OPTS());
    static uint8_t d[40000];
    tfx_pattern(d, sizeof d, 0);
    uint32_t edge = k->peer_nxt;
    uint32_t sent = 0;
    for (int round = 0; round < 40; round++) {
        tfx_peer_send(f, k, d + sent, 1000, 0);
        sent += 1000;
        if (round % 3 == 0)
            tfx_read(f, k->h, NULL, 700 + 300u * (unsigned)(round % 5));
        fx_advance(f, 50000);
        for (unsigned i = 0; i < fx_ntx(f); i++) {
            struct tcp_repr r = tfx_tx(f, i);
            uint32_t e = r.ack + r.wnd;
            ck_assert_msg(TCP_SEQ_GEQ(e, edge), "window shrank: %u < %u", e, edge);
            edge = e;
        }
        fx_tx_clear(f);
        if (TCP_SEQ_GEQ(k->peer_nxt + 1000, edge))
            break;
    }
}
END_TEST

/* Regression: with window scaling, rounding the announced window up (so it
 * never shrinks) must not let the internal promise creep past the ring,
 * and a pure ACK sitting in that rounding must still be taken. */
START_TEST(scaled_window_promise_backed_by_ring)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.sock_rx_bytes = 262144;
    fx_start(f);
    fx_arp_seed(f);
    tfx_connect(f, k, &TFX_OPTS(.ws = 2));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    struct msock *ms = &f->core->socks[moat_handle_idx(k->h)];
    ck_assert_uint_eq(t->rcv_wscale, 3);
    static uint8_t d[1001];
    tfx_pattern(d, sizeof d, 0);
    uint32_t edge = k->peer_nxt;
    for (int i = 0; i < 600; i++) {
        uint32_t wnd = TCP_SEQ_GT(t->rcv_adv, k->peer_nxt) ? t->rcv_adv - k->peer_nxt : 0;
        tfx_peer_send(f, k, d, wnd < 1001 ? wnd : 1001, 0);
        if (i % 50 == 0)
            tfx_read(f, k->h, NULL, 3333);
        uint32_t raw = 0;
        moat_ring_space(&ms->rx, &raw);
        ck_assert_uint_le(t->rcv_adv - t->rcv_nxt, raw);
        for (unsigned j = 0; j < fx_ntx(f); j++) {
            struct tcp_repr r = tfx_tx(f, j);
            uint32_t e = r.ack + ((uint32_t)r.wnd << 3);
            ck_assert(TCP_SEQ_GEQ(e + 7, edge));    /* RFC 7323 appendix F */
            if (TCP_SEQ_GT(e, edge))
                edge = e;
        }
        fx_tx_clear(f);
        if (wnd == 0)
            break;
    }
    /* a pure ACK numbered at the announced (rounded) edge still counts */
    uint8_t out[10] = { 0 };
    tfx_write(f, k->h, out, 10);
    struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
    a.seq = edge;
    a.ack = k->snd_nxt + 10;
    tfx_inject(f, &a);
    ck_assert_uint_eq(t->snd_una, k->snd_nxt + 10);
}
END_TEST

/* TCP-B-WNDUPD-1 */
START_TEST(window_update_wl1_wl2)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[100] = { 0 };
    struct tcp_repr old = tfx_seg(k, TH_ACK, NULL, 0);
    old.wnd = 8 * 1460;
    tfx_inject(f, &old);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_wnd, 8 * 1460);
    struct tcp_repr newer = tfx_seg(k, TH_ACK, d, 100);
    newer.wnd = 2 * 1460;
    k->peer_nxt += 100;
    tfx_inject(f, &newer);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_wnd, 2 * 1460);
    tfx_inject(f, &old);        /* reordered older segment */
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_wnd, 2 * 1460);
    struct tcp_repr upd = tfx_seg(k, TH_ACK, NULL, 0);
    upd.wnd = 4 * 1460;
    tfx_inject(f, &upd);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_wnd, 4 * 1460);
}
END_TEST

/* TCP-B-DELACK-1 */
START_TEST(delayed_ack_policy)
{
    tfx_connect(f, k, &TFX_OPTS());
    static uint8_t d[6000];
    tfx_pattern(d, sizeof d, 0);
    /* (a) */
    tfx_peer_send(f, k, d, 1460, 0);
    fx_expect_no_tx(f);
    fx_advance(f, 39000);
    fx_expect_no_tx(f);
    fx_advance(f, 1000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_tx_clear(f);
    /* (b) */
    tfx_peer_send(f, k, d, 1460, 0);
    fx_expect_no_tx(f);
    tfx_peer_send(f, k, d, 1460, 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
    fx_tx_clear(f);
    /* (c) above a hole: immediate duplicate ACK */
    uint32_t hole = k->peer_nxt;
    k->peer_nxt += 500;
    tfx_peer_send(f, k, d, 500, 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, hole);
    fx_tx_clear(f);
    /* (d) the hole filled: immediate ACK of everything */
    struct tcp_repr r = tfx_seg(k, TH_ACK, d, 500);
    r.seq = hole;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
}
END_TEST

/* TCP-B-TS-1 */
START_TEST(timestamps_paws)
{
    tfx_connect(f, k, &TFX_OPTS(.ts = true, .sack = true, .ws = 2));
    uint8_t d[10] = { 0 };
    k->peer_ts = 2000;
    tfx_peer_send(f, k, d, 10, TH_PSH);
    fx_advance(f, 50000);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert(a.ts);
    ck_assert_uint_eq(a.tsecr, 2000);
    fx_tx_clear(f);
    /* (b) older TSval in window: dropped, ACKed */
    k->peer_ts = 1500;
    struct tcp_repr r = tfx_seg(k, TH_ACK, d, 10);
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 10);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), 1);
    fx_tx_clear(f);
    /* (c) no TSopt: dropped */
    k->peer_ts = 3000;
    r = tfx_seg(k, TH_ACK, d, 10);
    r.ts = false;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 0);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), 2);
    /* (d) RST without TSopt, exact: processed */
    r = tfx_seg(k, TH_RST, NULL, 0);
    r.ts = false;
    tfx_inject(f, &r);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_CONNRESET);
}
END_TEST

/* TCP-B-TS-1: no TSopt at all when the peer's SYN had none; TCP-B-WSCALE-1 */
START_TEST(window_scale_negotiation)
{
    /* (b) passive, no WS from the peer: none back, no scaling */
    tfx_passive(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_wscale, 0);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_wscale, 0);
    tfx_abort(f, k->h);
    tfx_abort(f, k->lh);
    fx_tx_clear(f);
    /* (a)/(c) with a 256 KiB ring our own shift is 3 */
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.sock_rx_bytes = 262144;
    fx_start(f);
    fx_arp_seed(f);
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    /* the whole ring as the window (RCVBUF set: no autotuning) */
    ck_assert_int_eq(fx_setopt(f, lh, MOAT_OPT_RCVBUF, 262144), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 100, .flags = TH_SYN, .ws = 15, .mss = 1460));
    struct tcp_repr sa = tfx_tx(f, 0);
    ck_assert_int_eq(sa.ws, 3);
    ck_assert_uint_eq(sa.wnd, 65535);       /* never scaled in a SYN-ACK */
    ck_assert(!sa.ts);
    tfx_inject(f, &TSEG(.seq = 101, .ack = sa.seq + 1, .flags = TH_ACK, .wnd = 100));
    uint32_t h;
    ck_assert_int_eq(tfx_accept(f, lh, &h), 0);
    ck_assert_uint_eq(tfx_tcb(f, h)->snd_wscale, 14);   /* 15 is treated as 14 */
    ck_assert_uint_eq(tfx_tcb(f, h)->snd_wnd, 100u << 14);
    fx_tx_clear(f);
    uint8_t d[10] = { 0 };
    tfx_inject(f, &TSEG(.seq = 101, .ack = sa.seq + 1, .flags = TH_ACK, .data = d, .len = 10));
    fx_advance(f, 50000);
    struct tcp_repr a = tfx_tx(f, 0);
    /* never more than the ring holds; at most one scale unit less */
    ck_assert_uint_ge((uint32_t)a.wnd << 3, 262144 - 10 - 7);
    ck_assert_uint_le((uint32_t)a.wnd << 3, 262144 - 10);
}
END_TEST

/* TCP-B-RCVWRAP-1 */
START_TEST(receive_across_wrap)
{
    tfx_connect(f, k, &TFX_OPTS(.iss = 0xffffffffu - 1000u));
    static uint8_t d[3000], got[3100];
    tfx_pattern(d, 3000, 0);
    for (int i = 0; i < 3; i++)
        tfx_peer_send(f, k, d + 1000 * i, 1000, 0);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 3000);
    ck_assert_mem_eq(got, d, 3000);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    struct tcp_repr a = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(a.ack, (uint32_t)(0xffffffffu - 1000u + 1u + 3000u + 1u));
}
END_TEST

/* TCP-OOS-1: overlapping pieces, FIN only out of order */
START_TEST(ooo_fin_out_of_order)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[16], got[32];
    tfx_pattern(d, 16, 0);
    uint32_t X = k->peer_nxt;
    struct tcp_repr r;
#define PIECE(a, b, fl) do { r = tfx_seg(k, TH_ACK | (fl), d + (a), (b) - (a)); r.seq = X + (a); \
                             tfx_inject(f, &r); } while (0)
    PIECE(8, 16, TH_FIN);
    PIECE(4, 12, 0);
    PIECE(4, 14, 0);
    PIECE(2, 16, 0);
    r = tfx_seg(k, TH_ACK | TH_FIN, NULL, 0);
    r.seq = X + 16;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_read(f, k->h, got, 32), 0);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_RDHUP));
    PIECE(0, 4, 0);
    ck_assert_uint_eq(tfx_read(f, k->h, got, 32), 16);
    ck_assert_mem_eq(got, d, 16);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_nxt, X + 17);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->n_ooo, 0);
}
END_TEST

/* TCP-OOS-2 */
START_TEST(ooo_fin_in_sequence)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[16], got[32];
    tfx_pattern(d, 16, 0);
    uint32_t X = k->peer_nxt;
    struct tcp_repr r;
    PIECE(1, 3, 0);
    PIECE(4, 12, 0);
    PIECE(3, 14, 0);
    PIECE(2, 14, 0);
    PIECE(0, 4, 0);
    ck_assert_uint_eq(tfx_read(f, k->h, got, 32), 14);
    ck_assert_mem_eq(got, d, 14);
    PIECE(15, 16, 0);
    PIECE(15, 16, 0);
    PIECE(14, 16, TH_FIN);
    ck_assert_uint_eq(tfx_read(f, k->h, got, 32), 2);
    ck_assert_mem_eq(got, d + 14, 2);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->n_ooo, 0);
}
END_TEST

/* TCP-OOS-3 and TCP-OOS-4 (window straddling 2^32) */
static void ooo_overrun(uint32_t irs)
{
    tfx_connect(f, k, &TFX_OPTS(.iss = irs));
    const uint32_t W = 16384, M = 1460;
    static uint8_t d[20000], got[20000];
    tfx_pattern(d, sizeof d, 0);
    uint32_t X = k->peer_nxt;
    struct tcp_repr r;
    for (uint32_t i = 1; i <= 11; i++) {
        r = tfx_seg(k, TH_ACK, d + i * M, M);
        r.seq = X + i * M;
        tfx_inject(f, &r);
    }
    r = tfx_seg(k, TH_ACK, d, M);
    r.seq = X;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), W);
    ck_assert_mem_eq(got, d, W);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->n_ooo, 0);
}

START_TEST(ooo_overrun_window)
{
    ooo_overrun(TFX_PEER_ISS);
}
END_TEST

START_TEST(ooo_overrun_window_wrap)
{
    ooo_overrun(0xffffffffu - 8192u - 1u);
}
END_TEST

/* TCP-OOS-6: range bookkeeping is bounded */
START_TEST(ooo_range_cap)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[64];
    tfx_pattern(d, 64, 0);
    uint32_t X = k->peer_nxt;
    struct tcp_repr r;
    for (uint32_t i = 0; i < TCP_OOO_MAX + TCP_OOO_CHUNK + 2; i++) {
        r = tfx_seg(k, TH_ACK, d, 1);
        r.seq = X + 1 + 2 * i;
        tfx_inject(f, &r);
    }
    /* The TCB's own ranges and one pool chunk (tcp_ooo_grow) */
    ck_assert_uint_le(tfx_tcb(f, k->h)->n_ooo, TCP_OOO_MAX + TCP_OOO_CHUNK);
    ck_assert_uint_ge(fx_drop(f, MOAT_DROP_TCP_OOO_FULL), 1);
}
END_TEST

/* TCP-OOS-5: the stack-wide out-of-order byte budget */
START_TEST(ooo_byte_cap)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_ooo_bytes = 3000;
    fx_start(f);
    fx_arp_seed(f);
    tfx_connect(f, k, &TFX_OPTS());
    static uint8_t d[4000], got[5000];
    tfx_pattern(d, sizeof d, 0);
    uint32_t X = k->peer_nxt;
    struct tcp_repr r;
    for (uint32_t i = 0; i < 3; i++) {
        r = tfx_seg(k, TH_ACK, d + 1 + 1000 * i, 1000);
        r.seq = X + 1 + 1000 * i;
        tfx_inject(f, &r);
    }
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_OOO_FULL), 0);
    r = tfx_seg(k, TH_ACK, d + 3001, 1);
    r.seq = X + 3001;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_OOO_FULL), 1);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
    r = tfx_seg(k, TH_ACK, d, 1);
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 3001);
    ck_assert_mem_eq(got, d, 3001);
    ck_assert_uint_eq(f->core->tcp->ooo_bytes, 0);
}
END_TEST

/* TCP-B-RST-5961-1 (e): an ACK far below SND.UNA is dropped with an ACK */
START_TEST(ack_below_window)
{
    tfx_connect(f, k, &TFX_OPTS());
    static uint8_t d[3000];
    tfx_write(f, k->h, d, 3000);
    k->snd_nxt += 2920;
    tfx_peer_ack(f, k, k->snd_nxt, 1000);
    fx_tx_clear(f);
    uint32_t una = tfx_tcb(f, k->h)->snd_una;
    uint8_t b = 5;
    struct tcp_repr r = tfx_seg(k, TH_ACK, &b, 1);
    r.ack = una - 200000;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);   /* data not taken */
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_una, una);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 10), 0);
}
END_TEST

/* TCP-OOS-7: data after FIN and a second FIN, all 16 arrival orders */
START_TEST(ooo_double_fin_all_orders)
{
    for (unsigned set = 0; set < 16; set++) {
        tfx_connect(f, k, &TFX_OPTS());
        const uint32_t M = 1460;
        static uint8_t d[1460], got[4000];
        tfx_pattern(d, M, set);
        uint32_t X = k->peer_nxt;
        struct tcp_repr p[4];
        p[0] = tfx_seg(k, TH_ACK, d, M);
        p[1] = tfx_seg(k, TH_ACK | TH_FIN, NULL, 0);
        p[1].seq = X + M;
        uint8_t junk = 0xee;
        p[2] = tfx_seg(k, TH_ACK, &junk, 1);
        p[2].seq = X + M + 1;
        p[3] = tfx_seg(k, TH_ACK | TH_FIN, NULL, 0);
        p[3].seq = X + M + 2;
        for (int pass = 0; pass < 2; pass++)
            for (unsigned i = 0; i < 4; i++)
                if (((set >> i) & 1u) == (unsigned)pass)
                    tfx_inject(f, &p[i]);
        uint32_t n = tfx_read(f, k->h, got, sizeof got);
        ck_assert_msg(n == M, "set %u: got %u bytes", set, n);
        ck_assert_mem_eq(got, d, M);
        ck_assert_msg(fx_sock_status(f, k->h) & MOAT_SS_RDHUP, "set %u: no EOF", set);
        ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_nxt, X + M + 1);
        ck_assert_uint_eq(tfx_tcb(f, k->h)->n_ooo, 0);
        ck_assert_int_eq(tfx_abort(f, k->h), 0);
        fx_tx_clear(f);
    }
}
END_TEST

/* TCP-PERSIST-NONE-1 */
START_TEST(persist_not_for_full_window)
{
    tfx_connect(f, k, &TFX_OPTS(.wnd = 4 * 1460));
    static uint8_t d[8000];
    tfx_pattern(d, sizeof d, 0);
    tfx_write(f, k->h, d, 3 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 3);
    tfx_peer_ack(f, k, k->snd_nxt, 4 * 1460);
    tfx_write(f, k->h, d, 1460);
    tfx_write(f, k->h, d, 1);
    ck_assert_uint_eq(fx_ntx(f), 4);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->t_persist, 0);
    fx_tx_clear(f);
    fx_advance(f, tfx_tcb(f, k->h)->rto);
    ck_assert_uint_eq(fx_ntx(f), 1);   /* the RTO retransmission of segment 1 */
    ck_assert_uint_eq(tfx_tx(f, 0).seq, k->snd_nxt);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 1460);
}
END_TEST

/* TCP-PERSIST-PROBE-1 and TCP-PERSIST-TIMEOUT-1 */
START_TEST(persist_probe_and_timeout)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t d[1460];
    tfx_pattern(d, sizeof d, 0);
    tfx_write(f, k->h, d, 1460);
    fx_tx_clear(f);
    k->snd_nxt += 1460;
    tfx_peer_ack(f, k, k->snd_nxt, 0);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->t_persist, 0);
    uint8_t v = 0x77;
    tfx_write(f, k->h, &v, 1);
    fx_expect_no_tx(f);
    ck_assert_uint_ne(tfx_tcb(f, k->h)->t_persist, 0);
    fx_advance(f, tfx_tcb(f, k->h)->t_persist - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr p = tfx_tx(f, 0);
    ck_assert_uint_eq(p.len, 1);
    ck_assert_uint_eq(p.data[0], 0x77);
    ck_assert_uint_eq(p.seq, k->snd_nxt);
    fx_tx_clear(f);
    /* answered with window 0: count reset, interval grows */
    tfx_peer_ack(f, k, k->snd_nxt, 0);
    fx_advance(f, 600000000);
    ck_assert_uint_eq(fx_ntx(f), f->cfg.tcp_max_retries);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_eq(tfx_tx(f, i).len, 1);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_TIMEDOUT);
}
END_TEST

/* TCP-PERSIST-SPLIT-1 */
START_TEST(persist_split)
{
    tfx_connect(f, k, &TFX_OPTS(.wnd = 3 * 1460));
    static uint8_t d[6000];
    tfx_pattern(d, sizeof d, 0);
    uint32_t q = 3 * 1460 + 1095;
    tfx_write(f, k->h, d, q);
    ck_assert_uint_eq(fx_ntx(f), 3);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt + 3 * 1460, 730);
    fx_expect_no_tx(f);
    fx_advance(f, tfx_tcb(f, k->h)->t_persist - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.len, 730);
    ck_assert_mem_eq(r.data, d + 3 * 1460, 730);
    fx_tx_clear(f);
    tfx_write(f, k->h, d + q, 100);     /* (4) appended after the rest */
    tfx_peer_ack(f, k, k->snd_nxt + 3 * 1460 + 730, 730);
    ck_assert_uint_ge(fx_ntx(f), 1);
    r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt + 3 * 1460 + 730);
    ck_assert_uint_eq(r.len, 365 + 100);
    ck_assert_mem_eq(r.data, d + 3 * 1460 + 730, 465);
}
END_TEST

Suite *tcp_data_suite(void);
Suite *tcp_data_suite(void)
{
    Suite *s = suite_create("tcp_data");
    TCase *tc = tcase_create("data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rx_in_sequence);
    tcase_add_test(tc, rx_trim_left_edge);
    tcase_add_test(tc, malformed_header_length);
    tcase_add_test(tc, bad_checksum_dropped);
    tcase_add_test(tc, nagle);
    tcase_add_test(tc, send_buffer_accounting);
    tcase_add_test(tc, zero_window_receive);
    tcase_add_test(tc, window_never_shrinks);
    tcase_add_test(tc, scaled_window_promise_backed_by_ring);
    tcase_add_test(tc, window_update_wl1_wl2);
    tcase_add_test(tc, delayed_ack_policy);
    tcase_add_test(tc, timestamps_paws);
    tcase_add_test(tc, window_scale_negotiation);
    tcase_add_test(tc, receive_across_wrap);
    tcase_add_test(tc, ooo_fin_out_of_order);
    tcase_add_test(tc, ooo_fin_in_sequence);
    tcase_add_test(tc, ooo_overrun_window);
    tcase_add_test(tc, ooo_overrun_window_wrap);
    tcase_add_test(tc, ooo_range_cap);
    tcase_add_test(tc, ooo_double_fin_all_orders);
    tcase_add_test(tc, ooo_byte_cap);
    tcase_add_test(tc, ack_below_window);
    tcase_add_test(tc, persist_not_for_full_window);
    tcase_add_test(tc, persist_probe_and_timeout);
    tcase_add_test(tc, persist_split);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_data_suite)
