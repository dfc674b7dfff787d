/* SPDX-License-Identifier: MIT */
/*
 * Scale scenarios (issue 7, item 5): what a listener does when every
 * socket slot is in use, the listen backlog as the bound of the accept
 * queue, SYN cookies that keep the peer's options, and the timer
 * structure (many idle connections cost nothing per poll; a due timer of
 * one of them fires; poll's next deadline is the earliest one).
 *
 *   slot_full_syn_refused       every slot in use: a SYN is answered with
 *                               RST|ACK at once (connect fails "refused").
 *   slot_full_completing_ack    a slot free at SYN time is gone when the
 *                               ACK arrives: RST, the embryo is forgotten.
 *   slot_full_cookie_ack        the same for a SYN-cookie ACK.
 *   accept_queue_bound          backlog N: the N+1st completing ACK is
 *                               dropped (no slot taken), the peer's retry
 *                               completes once the application accepted.
 *   cookie_options_round_trip   a SYN-cookie connection gets the same
 *                               window scale, SACK and timestamps as a
 *                               SYN-queue connection from the same SYN;
 *                               without timestamps MSS only; option bits
 *                               changed in TSecr do not pass.
 *   timers_many_idle            500 idle connections: none is on the timer
 *                               heap and poll reports no deadline; one
 *                               keepalive armed among them is the next
 *                               deadline, fires alone, and the next one is
 *                               right after it; a second timer on another
 *                               connection orders correctly.
 *   time_wait_queue             TIME-WAIT entries expire in order from a
 *                               queue; a retransmitted FIN restarts one
 *                               and moves it behind a younger one; the
 *                               next deadline follows.
 *   dirty_hints_only_marked     with dirty hints on, a write is sent when
 *                               its socket is marked (moat_dirty_mark) and
 *                               only then: idle sockets are not scanned.
 *
 * Does not hold fixtures (tcp_fx.c).
 */
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

#define N_IDLE 500u

static struct fx F;
static struct fx *f = &F;

static void setup(void) { tfx_init(f); }
static uint32_t c_syn_used(struct fx *x) { return x->core->tcp->syn_used; }
static void teardown(void) { tfx_teardown(f); }

static uint32_t listener(uint32_t backlog)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, backlog), 0);
    fx_tx_clear(f);
    return lh;
}

/* Open plain sockets until only @p left slots are free. */
static unsigned fill_slots(uint32_t *hs, unsigned left)
{
    unsigned n = 0;
    while (tfx_slots_used(f) + left < f->cfg.max_sockets)
        hs[n++] = tfx_stream_open(f);
    return n;
}

START_TEST(slot_full_syn_refused)
{
    uint32_t hs[8];
    (void)listener(4);
    unsigned n = fill_slots(hs, 0);
    ck_assert_uint_eq(tfx_slots_used(f), f->cfg.max_sockets);
    tfx_inject(f, &TSEG(.sport = 2000, .seq = 1000, .flags = TH_SYN, .mss = 1460));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST | TH_ACK);
    ck_assert_uint_eq(r.ack, 1001);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_NO_SLOT), 1);
    ck_assert_uint_eq(c_syn_used(f), 0);
    /* a slot given back: the next SYN is answered with a SYN-ACK */
    ck_assert_int_eq(fx_close(f, hs[n - 1]), 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 1000, .flags = TH_SYN, .mss = 1460));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
}
END_TEST

START_TEST(slot_full_completing_ack)
{
    uint32_t hs[8];
    (void)listener(4);
    (void)fill_slots(hs, 1);
    tfx_inject(f, &TSEG(.sport = 2000, .seq = 1000, .flags = TH_SYN, .mss = 1460));
    struct tcp_repr sa = tfx_tx(f, 0);
    ck_assert_uint_eq(sa.flags, TH_SYN | TH_ACK);
    /* the application takes the last slot meanwhile */
    uint32_t last = tfx_stream_open(f);
    ck_assert_uint_ne(last, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 2000, .seq = 1001, .ack = sa.seq + 1, .flags = TH_ACK));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST);
    ck_assert_uint_eq(r.seq, sa.seq + 1);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_NO_SLOT), 1);
    /* the embryo is gone: its SYN-ACK is not retransmitted */
    ck_assert_uint_eq(c_syn_used(f), 0);
    fx_tx_clear(f);
    fx_advance(f, 10ull * 1000 * 1000);
    ck_assert_uint_eq(tfx_ntcp(f), 0);
}
END_TEST

START_TEST(slot_full_cookie_ack)
{
    uint32_t hs[8];
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_syn_backlog = 1;
    tfx_start(f);
    (void)listener(4);
    (void)fill_slots(hs, 1);
    tfx_inject(f, &TSEG(.sport = 2000, .seq = 1000, .flags = TH_SYN, .mss = 1460));
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 5000, .flags = TH_SYN, .mss = 1460));
    struct tcp_repr sa = tfx_tx(f, 0);
    ck_assert_uint_eq(fx_stats(f).tcp_syncookies_sent, 1);
    (void)tfx_stream_open(f);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 5001, .ack = sa.seq + 1, .flags = TH_ACK));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_NO_SLOT), 1);
}
END_TEST

START_TEST(accept_queue_bound)
{
    uint32_t lh = listener(1);
    struct tcp_repr sa[2];
    for (unsigned i = 0; i < 2; i++) {
        fx_tx_clear(f);
        tfx_inject(f, &TSEG(.sport = (uint16_t)(2000 + i), .seq = 1000, .flags = TH_SYN,
                            .mss = 1460));
        sa[i] = tfx_tx(f, 0);
        ck_assert_uint_eq(sa[i].flags, TH_SYN | TH_ACK);
    }
    tfx_inject(f, &TSEG(.sport = 2000, .seq = 1001, .ack = sa[0].seq + 1, .flags = TH_ACK));
    unsigned used = tfx_slots_used(f);
    fx_tx_clear(f);
    /* the queue holds one: the second completing ACK is dropped, no slot taken */
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 1001, .ack = sa[1].seq + 1, .flags = TH_ACK));
    ck_assert_uint_eq(tfx_ntcp(f), 0);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_BACKLOG), 1);
    ck_assert_uint_eq(tfx_slots_used(f), used);
    uint32_t c1, c2;
    ck_assert_int_eq(tfx_accept(f, lh, &c1), 0);
    ck_assert_int_eq(tfx_accept(f, lh, &c2), MOAT_E_AGAIN);
    /* the peer's retransmission completes now */
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 1001, .ack = sa[1].seq + 1, .flags = TH_ACK));
    ck_assert_int_eq(tfx_accept(f, lh, &c2), 0);
    ck_assert_int_eq(tfx_state(f, c2), TCPS_ESTABLISHED);
}
END_TEST

/* Complete a handshake for a SYN from @p port with all options; return
 * the accepted connection's TCB. */
static struct tcp_cb *open_with_opts(uint32_t lh, uint16_t port, bool ts, struct tcp_repr *sa)
{
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = port, .seq = 1000, .flags = TH_SYN, .mss = 1400, .ws = 6,
                        .sack_perm = true, .ts = ts, .tsval = 777));
    *sa = tfx_tx(f, 0);
    ck_assert_uint_eq(sa->flags, TH_SYN | TH_ACK);
    tfx_inject(f, &TSEG(.sport = port, .seq = 1001, .ack = sa->seq + 1, .flags = TH_ACK,
                        .wnd = 1000, .ts = ts, .tsval = 778, .tsecr = sa->tsval));
    uint32_t h;
    ck_assert_int_eq(tfx_accept(f, lh, &h), 0);
    ck_assert_int_eq(tfx_state(f, h), TCPS_ESTABLISHED);
    return tfx_tcb(f, h);
}

START_TEST(cookie_options_round_trip)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_syn_backlog = 1;
    f->cfg.sock_rx_bytes = 1u << 20;    /* so that we scale too */
    tfx_start(f);
    uint32_t lh = listener(4);
    /* through the SYN queue */
    struct tcp_repr sq, sc;
    struct tcp_cb *q = open_with_opts(lh, 3000, true, &sq);
    ck_assert_uint_eq(fx_stats(f).tcp_syncookies_sent, 0);
    /* fill the SYN queue; the next SYN gets a cookie */
    tfx_inject(f, &TSEG(.sport = 3001, .seq = 1000, .flags = TH_SYN, .mss = 1460));
    struct tcp_cb *k = open_with_opts(lh, 3002, true, &sc);
    ck_assert_uint_eq(fx_stats(f).tcp_syncookies_sent, 1);
    /* the SYN-ACKs offer the same */
    ck_assert_int_eq(sc.ws, sq.ws);
    ck_assert_int_gt(sc.ws, 0);
    ck_assert(sc.sack_perm && sq.sack_perm);
    ck_assert(sc.ts && sq.ts);
    ck_assert_uint_eq(sc.tsecr, 777);
    ck_assert_uint_eq(sc.mss, sq.mss);
    /* and the connections are the same */
    uint32_t want = TF_WS | TF_SACK | TF_TS;
    ck_assert_uint_eq(q->flags & want, want);
    ck_assert_uint_eq(k->flags & want, want);
    ck_assert_uint_eq(k->snd_wscale, 6);
    ck_assert_uint_eq(k->snd_wscale, q->snd_wscale);
    ck_assert_uint_eq(k->rcv_wscale, q->rcv_wscale);
    ck_assert_uint_eq(k->ts_recent, 778);
    ck_assert_uint_eq(k->snd_wnd, 1000u << 6);
    ck_assert_uint_le(k->mss, 1400);
    ck_assert_uint_ge(k->mss, 1360);
    /* our next TSval is not behind the SYN-ACK's (the peer's PAWS) */
    ck_assert(TCP_SEQ_GEQ(tcp_ts_now(f->core, k), sc.tsval));

    /* a peer without timestamps: MSS only */
    struct tcp_repr sn;
    struct tcp_cb *n = open_with_opts(lh, 3003, false, &sn);
    ck_assert_uint_eq(fx_stats(f).tcp_syncookies_sent, 2);
    ck_assert_int_eq(sn.ws, -1);
    ck_assert(!sn.sack_perm && !sn.ts);
    ck_assert_uint_eq(n->flags & want, 0);

    /* option bits changed on the way back do not pass */
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 3004, .seq = 1000, .flags = TH_SYN, .mss = 1400, .ws = 6,
                        .ts = true, .tsval = 777));
    struct tcp_repr sf = tfx_tx(f, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 3004, .seq = 1001, .ack = sf.seq + 1, .flags = TH_ACK,
                        .ts = true, .tsval = 778, .tsecr = sf.tsval ^ 0x10u));
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST);
}
END_TEST

/* A fixture with room for @p n connections plus a listener, and @p n
 * connections accepted from peer ports 10000.. (no options). */
static void many(unsigned n, uint32_t *hs)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.max_sockets = n + 1u;
    f->cfg.tcp_keepidle_ms = 60000;
    f->cfg.tcp_keepintvl_ms = 5000;
    tfx_start(f);
    uint32_t lh = listener(n);
    for (unsigned i = 0; i < n; i++) {
        uint16_t port = (uint16_t)(10000u + i);
        fx_tx_clear(f);
        tfx_inject(f, &TSEG(.sport = port, .seq = 1000, .flags = TH_SYN, .mss = 1460));
        struct tcp_repr sa = tfx_tx(f, 0);
        tfx_inject(f, &TSEG(.sport = port, .seq = 1001, .ack = sa.seq + 1, .flags = TH_ACK));
        ck_assert_int_eq(tfx_accept(f, lh, &hs[i]), 0);
    }
    fx_tx_clear(f);
}

START_TEST(timers_many_idle)
{
    static uint32_t hs[N_IDLE];
    many(N_IDLE, hs);
    struct tcp_state *st = f->core->tcp;
    ck_assert_uint_eq(st->heap_n, 0);
    fx_poll(f);
    ck_assert_uint_eq(f->next_due, MCORE_NEVER);
    /* one keepalive, deep in the table */
    uint64_t t0 = f->now;
    ck_assert_int_eq(fx_setopt(f, hs[377], MOAT_OPT_KEEPALIVE, 1), 0);
    ck_assert_uint_eq(st->heap_n, 1);
    ck_assert_uint_eq(f->next_due, t0 + 60000ull * 1000);
    /* a later one elsewhere does not move the next deadline */
    fx_advance(f, 1000000);
    ck_assert_int_eq(fx_setopt(f, hs[12], MOAT_OPT_KEEPALIVE, 1), 0);
    ck_assert_uint_eq(st->heap_n, 2);
    ck_assert_uint_eq(f->next_due, t0 + 60000ull * 1000);
    /* the first fires alone: one probe, to its peer */
    fx_tx_clear(f);
    fx_advance(f, 59000ull * 1000);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).dport, 10000u + 377u);
    /* next: the second connection's keepalive (t0 + 61 s) comes before the
     * first one's next probe (t0 + 65 s) */
    ck_assert_uint_eq(f->next_due, t0 + 61000ull * 1000);
    fx_tx_clear(f);
    fx_advance(f, 2000ull * 1000);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).dport, 10000u + 12u);
    ck_assert_uint_eq(f->next_due, t0 + 65000ull * 1000);
    /* keepalive off: off the heap */
    ck_assert_int_eq(fx_setopt(f, hs[377], MOAT_OPT_KEEPALIVE, 0), 0);
    ck_assert_int_eq(fx_setopt(f, hs[12], MOAT_OPT_KEEPALIVE, 0), 0);
    ck_assert_uint_eq(st->heap_n, 0);
    ck_assert_uint_eq(f->next_due, MCORE_NEVER);
}
END_TEST

START_TEST(dirty_hints_only_marked)
{
    static uint32_t hs[64];
    many(64, hs);
    atomic_store(&moat_region_hdr(f->region)->dirty_hints, 1);
    uint8_t d[100];
    memset(d, 'x', sizeof d);
    ck_assert_uint_eq(tfx_write(f, hs[40], d, sizeof d), sizeof d);
    ck_assert_uint_eq(tfx_ntcp(f), 0);      /* not marked: not looked at */
    moat_dirty_mark(f->region, &f->lay, moat_handle_idx(hs[40]));
    ck_assert(moat_dirty_pending(f->region, &f->lay));
    fx_poll(f);
    ck_assert(!moat_dirty_pending(f->region, &f->lay));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.dport, 10040u);
    ck_assert_uint_eq(r.len, sizeof d);
}
END_TEST

/* An active connection through to TIME-WAIT (we close first). */
static void to_time_wait(struct tfx_conn *k)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_to_time_wait(f, k);
}

START_TEST(time_wait_queue)
{
    struct tfx_conn a, b;
    uint64_t msl2 = 2ull * f->cfg.tcp_msl_ms * 1000u;
    uint64_t t0 = f->now;
    to_time_wait(&a);
    fx_advance(f, 100000);
    to_time_wait(&b);
    ck_assert_uint_eq(f->core->tcp->tw_used, 2);
    ck_assert_uint_eq(f->next_due, t0 + msl2);
    /* a's FIN again at +500 ms: ACKed, its wait restarts */
    fx_advance(f, 400000);
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(&a, TH_FIN | TH_ACK, NULL, 0);
    r.seq = a.peer_nxt - 1u;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(f->next_due, t0 + 100000 + msl2);     /* b first now */
    fx_advance(f, msl2 - 400000 + 50000);                   /* t0 + 2*MSL + 150 ms */
    ck_assert_ptr_null(tfx_tw(f, b.lport, b.rport));
    ck_assert_ptr_nonnull(tfx_tw(f, a.lport, a.rport));
    ck_assert_uint_eq(f->next_due, t0 + 500000 + msl2);
    fx_advance(f, 400000);
    ck_assert_ptr_null(tfx_tw(f, a.lport, a.rport));
    ck_assert_uint_eq(f->core->tcp->tw_used, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcp_scen_scale");
    TCase *tc = tcase_create("scale");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, slot_full_syn_refused);
    tcase_add_test(tc, slot_full_completing_ack);
    tcase_add_test(tc, slot_full_cookie_ack);
    tcase_add_test(tc, accept_queue_bound);
    tcase_add_test(tc, cookie_options_round_trip);
    tcase_add_test(tc, timers_many_idle);
    tcase_add_test(tc, time_wait_queue);
    tcase_add_test(tc, dirty_hints_only_marked);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(suite)
