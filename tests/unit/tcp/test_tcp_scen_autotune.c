/* SPDX-License-Identifier: MIT */
/*
 * Windows that follow the path (issue 7, item 3; core/tcp_wnd.c), in
 * virtual time against a scripted peer:
 *
 *   - a fast reader: the receive window cap doubles about once per RTT
 *     from TCP_WND_INIT until it covers the ring, and the announced window
 *     exceeds the old fixed 256 KiB;
 *   - a slow reader: the cap stays at its initial value;
 *   - MOAT_OPT_RCVBUF turns autotuning off (the option governs);
 *   - the per-stack budget: growth stops at tcp_mem_bytes, counted; the
 *     announced right edge never moves left; closing gives it back;
 *   - the send limit grows with cwnd (2 cwnd + 4 MSS) and is published in
 *     the slot's tx_limit word, never past the ring.
 *
 * Does not hold fixtures (tcp_fx.c).
 */
#include <check.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[4096];

#define M      1460u
#define RING   (1u << 20)       /* 1 MiB rings: room to grow */
#define RTT_US 50000u           /* the scripted path's round trip */

static uint32_t last_tsval;     /* TSval of the last segment we sent */
static int frozen_tsecr;        /* the peer keeps echoing one TSval (its TS.Recent) */

static void setup(void)
{
    frozen_tsecr = 0;
    tfx_config(f);
    f->cfg.sock_rx_bytes = RING;
    f->cfg.sock_tx_bytes = RING;
    tfx_start(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

static void restart_budget(uint64_t budget)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.sock_rx_bytes = RING;
    f->cfg.sock_tx_bytes = RING;
    f->cfg.tcp_mem_bytes = budget;
    tfx_start(f);
}

static void connect_ts(void)
{
    tfx_connect(f, k, &TFX_OPTS(.ws = 7, .ts = true, .sack = true));
    ck_assert(tfx_tcb(f, k->h)->flags & TF_TS);
    /* our ACK of the SYN-ACK went out just now; the peer's first data,
     * echoing it, comes one round trip later (the handshake itself took
     * no time here: an echo at once would be a sample of 0 ms) */
    last_tsval = tcp_ts_now(f->core, tfx_tcb(f, k->h));
    fx_advance(f, RTT_US);
}

/* The window we announced: the right edge minus RCV.NXT. */
static uint32_t announced(void)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    return t->rcv_adv - t->rcv_nxt;
}

/* One round trip of a peer that always fills the window we announce:
 * it sends up to our right edge in MSS segments (echoing the TSval of our
 * last segment, as RFC 7323 has it; the edge may move while it sends),
 * the application reads up to @p read_max bytes, one RTT passes and we
 * note the TSval of the last ACK we sent. Returns the bytes the peer
 * sent. */
static uint32_t round_trip(uint32_t read_max)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t sent = 0;
    fx_tx_clear(f);
    while (TCP_SEQ_LT(k->peer_nxt, t->rcv_adv)) {
        uint32_t w = t->rcv_adv - k->peer_nxt;
        uint32_t n = w < M ? w : M;
        struct tcp_repr r = tfx_seg(k, TH_ACK, D, n);
        r.tsecr = last_tsval;
        k->peer_nxt += n;
        tfx_inject(f, &r);
        sent += n;
    }
    uint32_t got = 0;
    while (got < read_max) {
        uint32_t chunk = read_max - got < sizeof D ? read_max - got : (uint32_t)sizeof D;
        uint32_t n = tfx_read(f, k->h, NULL, chunk);
        if (n == 0)
            break;
        got += n;
    }
    fx_advance(f, RTT_US);
    unsigned n = tfx_ntcp(f);
    if (n > 0 && !frozen_tsecr) {
        struct tcp_repr a = tfx_tx(f, n - 1);
        ck_assert(a.ts);
        last_tsval = a.tsval;
    }
    return sent;
}

/* A reader that keeps up: the cap doubles each RTT up to the ring and
 * the window passes the old 256 KiB limit. */
START_TEST(fast_reader_window_grows)
{
    connect_ts();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_le(announced(), TCP_WND_INIT);
    uint32_t prev_cap = t->rcv_cap, rounds = 0, total = 0;
    ck_assert_uint_eq(prev_cap, TCP_WND_INIT);
    while (t->rcv_cap < RING && rounds < 20) {
        uint32_t sent = round_trip(RING);
        total += sent;
        ck_assert_uint_le(t->rcv_cap, RING);
        /* the peer moved a whole window: the cap never falls behind it,
         * and grows at most 2 x 3 times what was read in one RTT (plus
         * 16 segments): twice, then up to twice more while growing */
        ck_assert_uint_ge(t->rcv_cap, prev_cap);
        ck_assert_uint_le(t->rcv_cap, 6u * (prev_cap + 2u * M) + 48u * M);
        prev_cap = t->rcv_cap;
        rounds++;
    }
    ck_assert_uint_eq(t->rcv_cap, RING);
    /* 64 KiB -> 1 MiB is four doublings; the first RTT only measures */
    ck_assert_uint_le(rounds, 6);
    ck_assert_uint_gt(f->core->stats.tcp_rcv_autotunes, 0);
    (void)round_trip(RING);
    ck_assert_uint_gt(announced(), 256u * 1024);
    ck_assert_uint_gt(total, RING);
    /* the TSval clock ticks in ms */
    ck_assert_uint_ge(t->rcv_rtt, RTT_US - 1000u);
    ck_assert_uint_le(t->rcv_rtt, RTT_US + 1000u);
}
END_TEST

/* A peer whose TS.Recent does not move (Linux under heavy reordering: our
 * segments that reach it at or left of its Last.ACK.sent are rare, RFC
 * 7323 4.3) echoes one TSval for many round trips. Only the first segment
 * with a given TSecr measures the RTT: the repeats say nothing about the
 * path, and taking them made the estimate grow by an RTT per RTT, the
 * growth interval with it, and the window stalled while the sender was
 * limited by it. */
START_TEST(frozen_tsecr_window_grows)
{
    connect_ts();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    (void)round_trip(RING);     /* one real echo: an RTT of 50 ms */
    frozen_tsecr = 1;
    uint32_t rounds = 0;
    while (t->rcv_cap < RING && rounds < 20) {
        (void)round_trip(RING);
        ck_assert_uint_le(t->rcv_rtt, RTT_US + 1000u);
        rounds++;
    }
    /* as with a peer that echoes every ACK (fast_reader_window_grows) */
    ck_assert_uint_eq(t->rcv_cap, RING);
    ck_assert_uint_le(rounds, 8);
    ck_assert_uint_ge(t->rcv_rtt, RTT_US - 1000u);
}
END_TEST

/* A sender speeding up (each round trip it moves the whole window, which
 * grew): the next window anticipates more than twice the last round, as
 * Linux's right sizing does, so that a sender in slow start or BBR's
 * startup is not held a round behind by the window. */
START_TEST(window_leads_growing_sender)
{
    connect_ts();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t last = 0, led = 0;
    for (int i = 0; i < 6 && t->rcv_cap < RING; i++) {
        uint32_t sent = round_trip(RING);
        /* round_trip's reads end one interval: the cap set at the first
         * segment of the next round answers them */
        if (last != 0 && sent > last && t->rcv_cap < RING) {
            (void)round_trip(0);    /* a round without reads: cap from `sent` */
            ck_assert_uint_ge(t->rcv_cap, 3u * sent);
            led++;
            break;
        }
        last = sent;
    }
    ck_assert_uint_gt(led, 0);
}
END_TEST

/* A reader that takes 8 KiB per RTT: no reason to grow. */
START_TEST(slow_reader_no_growth)
{
    connect_ts();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    for (int i = 0; i < 12; i++) {
        (void)round_trip(8192);
        ck_assert_uint_le(announced(), TCP_WND_INIT);
    }
    ck_assert_uint_eq(t->rcv_cap, TCP_WND_INIT);
    ck_assert_uint_eq(f->core->stats.tcp_rcv_autotunes, 0);
}
END_TEST

/* Without timestamps the RTT comes from the time one window takes. */
START_TEST(fast_reader_no_timestamps)
{
    tfx_connect(f, k, &TFX_OPTS(.ws = 7));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert(!(t->flags & TF_TS));
    for (int i = 0; i < 12 && t->rcv_cap < RING; i++) {
        uint32_t w = announced(), sent = 0;
        while (sent < w) {
            uint32_t n = w - sent < M ? w - sent : M;
            tfx_peer_send(f, k, D, n, 0);
            sent += n;
        }
        while (tfx_read(f, k->h, NULL, sizeof D) > 0)
            ;
        fx_advance(f, RTT_US);
    }
    ck_assert_uint_eq(t->rcv_cap, RING);
    ck_assert_uint_ge(t->rcv_rtt, RTT_US);
    ck_assert_uint_le(t->rcv_rtt, 2u * RTT_US);
}
END_TEST

/* RCVBUF set by the application: its value is the window, no tuning. */
START_TEST(rcvbuf_option_disables_autotuning)
{
    tfx_connect(f, k, &TFX_OPTS(.ws = 7, .ts = true));
    last_tsval = tcp_ts_now(f->core, tfx_tcb(f, k->h));
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_RCVBUF, 128 * 1024), 0);
    for (int i = 0; i < 6; i++) {
        /* the peer moves the whole RCVBUF each RTT from the start */
        uint32_t sent = round_trip(RING);
        ck_assert_uint_le(announced(), 128u * 1024);
        ck_assert_uint_gt(sent, 128u * 1024 - M);
        ck_assert_uint_le(sent, 128u * 1024);
    }
    ck_assert_uint_eq(f->core->stats.tcp_rcv_autotunes, 0);
}
END_TEST

/* The budget stops growth (counted), the right edge never moves left,
 * and a closed connection gives its windows back. */
START_TEST(budget_caps_growth)
{
    /* initial allowances: 64 KiB receive + 64 KiB send; 128 KiB to grow */
    const uint64_t budget = 256u * 1024;
    restart_budget(budget);
    connect_ts();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_eq(f->core->stats.tcp_mem_budget, budget);
    ck_assert_uint_eq(f->core->stats.tcp_mem_used, 2u * TCP_WND_INIT);
    uint32_t edge = t->rcv_adv;
    for (int i = 0; i < 10; i++) {
        (void)round_trip(RING);
        ck_assert(TCP_SEQ_GEQ(t->rcv_adv, edge));
        edge = t->rcv_adv;
        ck_assert_uint_le(f->core->stats.tcp_mem_used, budget);
    }
    ck_assert_uint_eq(t->rcv_cap, budget - TCP_WND_INIT);
    ck_assert_uint_eq(f->core->stats.tcp_mem_used, budget);
    ck_assert_uint_gt(f->core->stats.tcp_mem_capped, 0);
    ck_assert_uint_le(announced(), budget - TCP_WND_INIT);
    ck_assert_int_eq(tfx_abort(f, k->h), 0);
    ck_assert_uint_eq(f->core->stats.tcp_mem_used, 0);
}
END_TEST

/* The application may fill the send ring up to 2 cwnd + 4 MSS, published
 * in tx_limit; it grows as the peer acknowledges and cwnd opens. */
START_TEST(send_limit_follows_cwnd)
{
    tfx_connect(f, k, &TFX_OPTS(.ws = 7, .sack = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    struct msock *s = &f->core->socks[moat_handle_idx(k->h)];
    uint32_t lim0 = atomic_load(&s->sh->tx_limit);
    ck_assert_uint_eq(lim0, TCP_WND_INIT);
    ck_assert_uint_eq(t->snd_lim, lim0);
    uint32_t acked = 0, prev = lim0;
    for (int round = 0; round < 12; round++) {
        /* the application writes what the published limit allows */
        struct fx_app_sock *as = &f->socks[moat_handle_idx(k->h)];
        uint32_t space = 0;
        ck_assert_int_eq(moat_ring_space(&as->tx, &space), 0);
        uint32_t used = as->tx.cap - space;
        uint32_t lim = atomic_load(&s->sh->tx_limit);
        if (lim > used) {
            uint32_t room = lim - used;
            while (room > 0) {
                uint32_t n = room < sizeof D ? room : (uint32_t)sizeof D;
                ck_assert_uint_eq(tfx_write(f, k->h, D, n), n);
                room -= n;
            }
        }
        /* the peer acknowledges every data segment sent this round at once
         * (the new data its ACKs release is acknowledged in the next
         * round). No time passes: the handshake's RTT was 0 as well, so no
         * timer (TLP, RTO) mistakes the scripted delay for a loss and
         * congestion control sees only acknowledgements */
        unsigned nseg = tfx_ntcp(f);
        uint32_t hi = k->snd_nxt;
        for (unsigned i = 0; i < nseg; i++) {
            struct tcp_repr d = tfx_tx(f, i);
            if (d.len > 0 && TCP_SEQ_GT(d.seq + d.len, hi))
                hi = d.seq + d.len;
        }
        fx_tx_clear(f);
        for (uint32_t a = k->snd_nxt; TCP_SEQ_LT(a, hi);) {
            a = TCP_SEQ_LT(a + 2u * M, hi) ? a + 2u * M : hi;
            tfx_peer_ack(f, k, a, 65535);
        }
        acked += hi - k->snd_nxt;
        k->snd_nxt = hi;
        uint32_t now_lim = atomic_load(&s->sh->tx_limit);
        ck_assert_uint_eq(now_lim, t->snd_lim);
        ck_assert_uint_ge(now_lim, prev);       /* never shrinks */
        ck_assert_uint_le(now_lim, RING);
        uint64_t want = 2ull * t->cwnd + 4ull * t->mss;
        ck_assert_uint_eq(now_lim, want > RING ? RING : (want < prev ? prev : want));
        prev = now_lim;
    }
    ck_assert_uint_gt(acked, 0);
    ck_assert_uint_eq(f->core->stats.tcp_retransmits, 0);
    ck_assert_uint_gt(prev, 4u * TCP_WND_INIT);
    ck_assert_uint_gt(f->core->stats.tcp_snd_grows, 0);
}
END_TEST

Suite *tcp_scen_autotune_suite(void);
Suite *tcp_scen_autotune_suite(void)
{
    Suite *s = suite_create("tcp_scen_autotune");
    TCase *tc = tcase_create("scen_autotune");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fast_reader_window_grows);
    tcase_add_test(tc, frozen_tsecr_window_grows);
    tcase_add_test(tc, window_leads_growing_sender);
    tcase_add_test(tc, slow_reader_no_growth);
    tcase_add_test(tc, fast_reader_no_timestamps);
    tcase_add_test(tc, rcvbuf_option_disables_autotuning);
    tcase_add_test(tc, budget_caps_growth);
    tcase_add_test(tc, send_limit_follows_cwnd);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_autotune_suite)
