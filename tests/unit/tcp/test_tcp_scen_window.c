/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, windows and segment validation (reference-
 * scenarios.md sections 6 and 8), beyond test_tcp_data.c:
 *
 *   TCP-B-ZWND-RCV-1  (b) a pure ACK at RCV.NXT while our window is zero
 *                     is accepted and advances SND.UNA.
 *   TCP-B-SWS-1       sender side: a small window while much is queued
 *                     waits for the override timer; all-queued-data fits;
 *                     receiver side: the exact update threshold.
 *   Receive window    trimmed to the right edge (RFC 9293 3.10.7.4), a FIN
 *                     beyond it not processed; the announced window is
 *                     the free receive ring; data in a SYN-ACK.
 *   TCP-B-TS-1        TSopt on every non-RST segment, TSval monotonic,
 *                     TS.Recent not taken from an out-of-order segment,
 *                     PAWS across a peer clock wrap.
 *   TCP-NAGLE-1       two writes before output coalesce into one segment.
 *   TCP-B-DUPACK-DEF-1 (e) duplicates with nothing outstanding.
 *   TCP-B-CSUM-1      odd-length input, good and bad checksums; a bad SYN
 *                     to a listener.
 *   Old duplicates ACKed at once; a peer that shrinks its window (RFC
 *   9293 3.8.6.2.2).
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
#define RX 16384u               /* fx_config: receive ring */

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* Put bytes into the send ring without running the core (the
 * application writes twice before the network loop runs). */
static void ring_put_nopoll(uint32_t h, const void *data, uint32_t len)
{
    struct fx_app_sock *as = &f->socks[moat_handle_idx(h)];
    ck_assert_uint_eq(as->handle, h);
    uint32_t space = 0;
    ck_assert_int_eq(moat_ring_space(&as->tx, &space), 0);
    ck_assert_uint_ge(space, len);
    moat_ring_put(&as->tx, 0, data, len);
    moat_ring_publish(&as->tx, len);
}

/* The peer fills our receive ring: zero window announced. */
static void fill_receive_window(void)
{
    for (uint32_t off = 0; off < RX; off += M) {
        uint32_t n = RX - off < M ? RX - off : M;
        tfx_peer_send(f, k, D + off, n, 0);
    }
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr last = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(last.ack, k->peer_nxt);
    ck_assert_uint_eq(last.wnd, 0);
    fx_tx_clear(f);
}

/* The peer sends D[0, end) in MSS-sized segments, unread; capture cleared. */
static void peer_send_upto(uint32_t end)
{
    for (uint32_t off = 0; off < end; off += M) {
        uint32_t n = end - off < M ? end - off : M;
        tfx_peer_send(f, k, D + off, n, 0);
    }
    fx_tx_clear(f);
}

/* TCP-B-ZWND-RCV-1 (b): with our window at zero, a zero-length ACK with
 * SEQ = RCV.NXT is acceptable (RFC 9293 3.10.7.4 table: length 0, window
 * 0, SEG.SEQ = RCV.NXT) and its acknowledgment is processed. */
START_TEST(zero_window_pure_ack_accepted)
{
    tfx_connect(f, k, &TFX_OPTS());
    fill_receive_window();
    ck_assert_uint_eq(tfx_write(f, k->h, D, 200), 200);
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_tx_clear(f);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    tfx_peer_ack(f, k, k->snd_nxt + 100, 65535);
    ck_assert_uint_eq(t->snd_una, k->snd_nxt + 100);
    ck_assert_uint_ne(t->t_rtx, 0);
    tfx_peer_ack(f, k, k->snd_nxt + 200, 65535);
    ck_assert_uint_eq(t->snd_una, k->snd_nxt + 200);
    ck_assert_uint_eq(t->t_rtx, 0);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt);
    /* nothing to answer: pure ACKs in order */
    fx_expect_no_tx(f);
}
END_TEST

/* Segments trimmed to the window (RFC 9293 3.10.7.4): with 1000 bytes of
 * window left, a 1460-byte segment yields exactly 1000 bytes, an ACK for
 * them and window 0. */
START_TEST(segment_trimmed_to_right_edge)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint32_t first = RX - 1000;
    peer_send_upto(first);
    struct tcp_repr r = tfx_seg(k, TH_ACK, D + first, M);
    tfx_inject(f, &r);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt + 1000);
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, fx_ntx(f) - 1);
    ck_assert_uint_eq(a.ack, k->peer_nxt + 1000);
    ck_assert_uint_eq(a.wnd, 0);
    static uint8_t got[RX + 100];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), RX);
    ck_assert_mem_eq(got, D, RX);
}
END_TEST

/* The announced window is the free receive ring: after 1000 unread bytes
 * the ACK says RX - 1000 (the right edge stays where it was). */
START_TEST(window_follows_unread_data)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, D, 1000, 0);
    fx_advance(f, 500000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    ck_assert_uint_eq(a.wnd, RX - 1000);
}
END_TEST

/* TCP-B-SWS-1, sender side (RFC 9293 3.8.6.2.1): the peer once offered
 * 65535, now 100 bytes; 10000 bytes are queued and nothing is in flight.
 * 100 bytes is neither a full segment, nor all the queued data, nor half
 * the peer's largest window: nothing is sent at once; the override timer
 * (0.1 to 1 s) then sends what fits. */
START_TEST(sender_sws_waits_for_override)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_ack(f, k, k->snd_nxt, 100);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 10000), 10000);
    fx_expect_no_tx(f);
    uint64_t t0 = f->now;
    for (int i = 0; i < 100 && fx_ntx(f) == 0; i++)
        fx_advance(f, 10000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_ge(fx_tx(f, 0)->t - t0, 100000);
    ck_assert_uint_le(fx_tx(f, 0)->t - t0, 1000000);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt);
    ck_assert_uint_le(r.len, 100);
    ck_assert_uint_gt(r.len, 0);
    ck_assert_mem_eq(r.data, D, r.len);
}
END_TEST

/* TCP-B-SWS-1, sender side: when all queued data fits the small window it
 * is sent at once (pushed, nothing in flight). */
START_TEST(sender_sws_all_queued_data_goes)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_ack(f, k, k->snd_nxt, 100);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 50), 50);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 50);
}
END_TEST

/* TCP-B-TS-1: every segment we send (SYN-ACK aside, checked elsewhere)
 * carries TSopt; TSval never goes backwards; TSecr echoes TS.Recent, which
 * an out-of-order segment (SEQ > Last.ACK.sent) does not update (RFC 7323
 * 4.3). */
START_TEST(timestamps_every_segment_and_recent_rule)
{
    tfx_connect(f, k, &TFX_OPTS(.ts = true));
    k->peer_ts = 2000;
    tfx_peer_send(f, k, D, 100, TH_PSH);
    fx_advance(f, 500000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).tsecr, 2000);
    /* out of order, newer TSval: dup ACK still echoes 2000 */
    uint32_t hole = k->peer_nxt;
    struct tcp_repr r = tfx_seg(k, TH_ACK, D + 200, 100);
    r.seq = hole + 100;
    r.tsval = 5000;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 2);
    struct tcp_repr d = tfx_tx(f, 1);
    ck_assert_uint_eq(d.ack, hole);
    ck_assert_uint_eq(d.tsecr, 2000);
    /* the hole filled with TSval 3000: echoed */
    r = tfx_seg(k, TH_ACK, D + 100, 100);
    r.tsval = 3000;
    tfx_inject(f, &r);
    k->peer_nxt += 200;
    ck_assert_uint_eq(fx_ntx(f), 3);
    struct tcp_repr a = tfx_tx(f, 2);
    ck_assert_uint_eq(a.ack, k->peer_nxt);
    ck_assert_uint_eq(a.tsecr, 3000);
    k->peer_ts = 3000;
    /* our data and FIN */
    ck_assert_uint_eq(tfx_write(f, k->h, D, 3000), 3000);
    ck_assert_int_eq(tfx_shutdown(f, k->h, MOAT_SHUT_WR), 0);
    fx_advance(f, 500000);
    uint32_t last_tsval = 0;
    int fin = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr x = tfx_tx(f, i);
        if (x.flags & TH_RST)
            continue;
        ck_assert_msg(x.ts, "segment %u without TSopt", i);
        if (i > 0)
            ck_assert(TCP_SEQ_GEQ(x.tsval, last_tsval));
        last_tsval = x.tsval;
        if (x.flags & TH_FIN)
            fin = 1;
    }
    ck_assert(fin);
}
END_TEST

/* TCP-NAGLE-1, last sentence: two writes issued before the stack runs
 * are sent as one segment. */
START_TEST(nagle_back_to_back_writes_coalesce)
{
    tfx_connect(f, k, &TFX_OPTS());
    ring_put_nopoll(k->h, D, 4);
    ring_put_nopoll(k->h, D + 4, 3);
    fx_poll(f);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.len, 7);
    ck_assert_uint_eq(r.seq, k->snd_nxt);
    ck_assert_mem_eq(r.data, D, 7);
    /* Nagle: 5 more bytes wait for the ACK of the 7, then go at once */
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D + 7, 5), 5);
    fx_expect_no_tx(f);
    tfx_peer_ack(f, k, k->snd_nxt + 7, 65535);
    ck_assert_uint_eq(fx_ntx(f), 1);
    r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt + 7);
    ck_assert_uint_eq(r.len, 5);
    ck_assert_mem_eq(r.data, D + 7, 5);
}
END_TEST

/* TCP-B-DUPACK-DEF-1 (e): pure duplicate ACKs with nothing outstanding
 * never trigger a retransmission (RFC 5681 2, condition (a)). */
START_TEST(dupacks_with_nothing_outstanding)
{
    tfx_connect(f, k, &TFX_OPTS());
    ck_assert_uint_eq(tfx_write(f, k->h, D, 100), 100);
    k->snd_nxt += 100;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    fx_tx_clear(f);
    for (int i = 0; i < 5; i++)
        tfx_peer_ack(f, k, k->snd_nxt, 65535);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->recovery, TCP_REC_NONE);
    ck_assert_uint_eq(fx_stats(f).tcp_fast_retransmits, 0);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 0);
}
END_TEST


/* RFC 9293 3.10.7.4 / RFC 5681 4.2: an old duplicate segment (already
 * received) is acknowledged at once and not delivered again. */
START_TEST(duplicate_segment_acked_not_redelivered)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_peer_send(f, k, D, 100, TH_PSH);
    fx_advance(f, 500000);
    fx_tx_clear(f);
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 100);
    r.seq = k->peer_nxt - 100;
    tfx_inject(f, &r);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
    uint8_t got[300];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 100);
    ck_assert_mem_eq(got, D, 100);
}
END_TEST

/* TCP-B-CSUM-1 on the receive side: an odd-length segment with a correct
 * checksum (pad byte) is accepted; the same with a bad one is dropped; a
 * SYN with a bad checksum to a listener creates nothing. */
START_TEST(odd_length_checksums)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 7);
    r.bad_cksum = true;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 100), 0);
    r.bad_cksum = false;
    tfx_inject(f, &r);
    uint8_t got[16];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 7);
    ck_assert_mem_eq(got, D, 7);
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, 81), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_advance(f, 500000);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = 81, .seq = 1, .flags = TH_SYN, .bad_cksum = true));
    fx_expect_no_tx(f);
    ck_assert_uint_eq(f->core->tcp->syn_used, 0);
}
END_TEST

/* RFC 9293 3.8.6.2.2: the peer shrinks its window (right edge moves left
 * while data is in flight). No new data beyond the new edge; the old data
 * is retransmitted normally; when the window opens again the stream
 * continues with no gap and no byte out of place. */
START_TEST(peer_shrinks_window)
{
    tfx_connect(f, k, &TFX_OPTS(.wnd = 8 * M));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    const uint32_t s = k->snd_nxt;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 11 * M), 11 * M);
    ck_assert_uint_eq(t->snd_max, s + 8 * M);
    fx_tx_clear(f);
    tfx_peer_ack(f, k, s + M, 2 * M);       /* edge s + 3 MSS < s + 8 MSS */
    fx_expect_no_tx(f);
    ck_assert_uint_eq(t->snd_una, s + M);
    ck_assert_uint_eq(t->snd_max, s + 8 * M);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_ERR));
    fx_advance(f, t->t_rtx - f->now);
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, s + M);
    ck_assert_mem_eq(r.data, D + M, r.len);
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr x = tfx_tx(f, i);
        ck_assert(TCP_SEQ_LEQ(x.seq + x.len, s + 3 * M));
    }
    /* the window opens: everything to the end, in order */
    uint32_t acked = s + M;
    for (int round = 0; round < 30 && TCP_SEQ_LT(acked, s + 11 * M); round++) {
        for (unsigned i = 0; i < fx_ntx(f); i++) {
            struct tcp_repr x = tfx_tx(f, i);
            ck_assert_mem_eq(x.data, D + (x.seq - s), x.len);
        }
        fx_tx_clear(f);
        acked = t->snd_max;
        tfx_peer_ack(f, k, acked, 65535);
    }
    ck_assert_uint_eq(t->snd_una, s + 11 * M);
}
END_TEST


/* RFC 9293 3.10.7.4: a segment trimmed at the right window edge loses
 * its FIN with the trimmed bytes (the FIN lies beyond the window). With
 * 1000 bytes of window, 1460 bytes + FIN: 1000 bytes accepted, no
 * end-of-stream, the ACK is for the 1000 bytes only. */
START_TEST(fin_beyond_window_not_processed)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint32_t first = RX - 1000;
    peer_send_upto(first);
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_FIN, D + first, M);
    tfx_inject(f, &r);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt + 1000);
    ck_assert(!(fx_sock_status(f, k->h) & MOAT_SS_RDHUP));
    ck_assert_int_eq(t->state, TCPS_ESTABLISHED);
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, fx_ntx(f) - 1).ack, k->peer_nxt + 1000);
    /* the rest and the FIN, once there is room again */
    static uint8_t got[RX];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), RX);
    k->peer_nxt += 1000;
    tfx_peer_send(f, k, D + RX, M - 1000, TH_FIN);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_RDHUP);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), M - 1000);
    ck_assert_mem_eq(got, D + RX, M - 1000);
}
END_TEST

/* RFC 9293 3.10.7.3: data carried by a SYN-ACK may be queued; whatever
 * our ACK acknowledges must be delivered, exactly once. */
START_TEST(synack_with_data)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    struct tcp_repr syn = tfx_tx(f, 0);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 5000, .ack = syn.seq + 1,
                        .flags = TH_SYN | TH_ACK, .mss = 1460, .data = D, .len = 10));
    ck_assert_int_eq(tfx_state(f, h), TCPS_ESTABLISHED);
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    uint32_t ack = tfx_tx(f, fx_ntx(f) - 1).ack;
    ck_assert_msg(ack == 5001 || ack == 5011, "ACK %u", ack);
    uint8_t got[32];
    ck_assert_uint_eq(tfx_read(f, h, got, sizeof got), ack - 5001);
    if (ack == 5011)
        ck_assert_mem_eq(got, D, 10);
}
END_TEST


/* TCP-B-SWS-1 receiver, the exact threshold (RFC 9293 3.8.6.2.2 / RFC
 * 1122 4.2.3.3): from a zero window, no update while the freed space is
 * below min(buffer/2, MSS) = 1460; one as soon as it reaches it. */
START_TEST(receiver_sws_exact_threshold)
{
    tfx_connect(f, k, &TFX_OPTS());
    fill_receive_window();
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, M - 1), M - 1);
    fx_advance(f, 500000);
    fx_expect_no_tx(f);
    ck_assert_uint_eq(tfx_read(f, k->h, NULL, 1), 1);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr u = tfx_tx(f, 0);
    ck_assert_uint_eq(u.ack, k->peer_nxt);
    ck_assert_uint_eq(u.wnd, M);
}
END_TEST


/* TCP-B-TS-1 / RFC 7323 5.2: PAWS compares TSvals modulo 2^32; a peer
 * clock crossing 2^32 is not "older". */
START_TEST(timestamps_peer_clock_wraps)
{
    tfx_connect(f, k, &TFX_OPTS(.ts = true));
    /* the peer's clock runs forward in steps below 2^31 up to the wrap,
     * each step acknowledged before the next */
    const uint32_t clock[4] = { 0x70000000u, 0xe0000000u, 0xfffffff0u, 0x00000010u };
    uint8_t got[64];
    for (unsigned i = 0; i < 4; i++) {
        k->peer_ts = clock[i];
        tfx_peer_send(f, k, D + 5 * i, 5, TH_PSH);
        fx_advance(f, 500000);  /* our ACK: TS.Recent follows (RFC 7323 4.3) */
    }
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 20);
    ck_assert_mem_eq(got, D, 20);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), 0);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, fx_ntx(f) - 1).tsecr, 0x10u);
    /* and one from before the wrap is now old */
    k->peer_ts = 0xfffffff8u;
    fx_tx_clear(f);
    tfx_peer_send(f, k, D + 20, 10, TH_PSH);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
    ck_assert_uint_eq(fx_drop(f, MOAT_DROP_TCP_PAWS), 1);
}
END_TEST

Suite *tcp_scen_window_suite(void);
Suite *tcp_scen_window_suite(void)
{
    Suite *s = suite_create("tcp_scen_window");
    TCase *tc = tcase_create("scen_window");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, zero_window_pure_ack_accepted);
    tcase_add_test(tc, segment_trimmed_to_right_edge);
    tcase_add_test(tc, window_follows_unread_data);
    tcase_add_test(tc, sender_sws_waits_for_override);
    tcase_add_test(tc, sender_sws_all_queued_data_goes);
    tcase_add_test(tc, timestamps_every_segment_and_recent_rule);
    tcase_add_test(tc, nagle_back_to_back_writes_coalesce);
    tcase_add_test(tc, dupacks_with_nothing_outstanding);
    tcase_add_test(tc, duplicate_segment_acked_not_redelivered);
    tcase_add_test(tc, odd_length_checksums);
    tcase_add_test(tc, peer_shrinks_window);
    tcase_add_test(tc, fin_beyond_window_not_processed);
    tcase_add_test(tc, synack_with_data);
    tcase_add_test(tc, receiver_sws_exact_threshold);
    tcase_add_test(tc, timestamps_peer_clock_wraps);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_window_suite)
