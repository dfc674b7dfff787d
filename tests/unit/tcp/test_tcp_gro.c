/* SPDX-License-Identifier: MIT */
/*
 * Input from a device with receive offload (issue 8): TCP segments larger
 * than any MSS or MTU (the kernel's TSO frames through a TAP, taken whole
 * GRO-style), and the link's per-frame flags (moat_link.rx_flags):
 * MOAT_LINK_RX_CSUM_OK skips the TCP/UDP checksum of an unfragmented
 * datagram only, MOAT_LINK_RX_BAD is a counted drop.
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

#define GRO_RING (256u << 10)
#define GRO_LEN 30000u          /* three jumbo frames' worth, > 20 MSS of 1460 */

static uint8_t seg[70000], frame[70100], data[3 * GRO_LEN], got[3 * GRO_LEN];

static void setup(void)
{
    tfx_config(f);
    f->cfg.sock_rx_bytes = GRO_RING;
    tfx_start(f);
    /* Window scaling so that the window can exceed 64 KiB. */
    tfx_passive(f, k, &TFX_OPTS(.ws = 7));
    tfx_pattern(data, sizeof data, 0);
}

static void teardown(void) { tfx_teardown(f); }

/* The peer's next segment of @p len bytes at @p off into data, as one frame. */
static size_t gro_frame(uint32_t seq, uint32_t off, uint32_t len, bool bad_cksum)
{
    struct tcp_repr r = tfx_seg(k, TH_ACK, data + off, len);
    r.seq = seq;
    r.bad_cksum = bad_cksum;
    size_t n = tfx_build(seg, FX_R_IP, FX_L_IP, &r);
    return fx_ip4(f, 0, frame, &FX_IP(.proto = 6, .df = true), seg, n);
}

static void gro_input(size_t len, uint32_t flags)
{
    mcore_input_flags(f->core, 0, frame, len, flags, f->now);
    fx_poll(f);
}

static uint64_t drops(int reason) { return fx_stats(f).drops[reason]; }

START_TEST(gro_large_segment_taken_whole)
{
    /* The window we announced covers it (autotuning starts below the ring). */
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_ge(t->rcv_adv - t->rcv_nxt, GRO_LEN);
    size_t n = gro_frame(k->peer_nxt, 0, GRO_LEN, false);
    ck_assert_uint_gt(n, 9000u + 14u);
    gro_input(n, 0);    /* no flag: checksum verified by the core, and right */
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), GRO_LEN);
    ck_assert_mem_eq(got, data, GRO_LEN);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt + GRO_LEN);
    /* Many full segments' worth: acknowledged by the end of the batch. */
    ck_assert_uint_ge(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, tfx_ntcp(f) - 1).ack, k->peer_nxt + GRO_LEN);
    ck_assert_uint_eq(fx_drops_total(f), 0);
}
END_TEST

START_TEST(gro_csum_ok_flag_skips_the_tcp_checksum)
{
    /* NEEDS_CSUM from a TAP: the field holds only a partial sum. */
    size_t n = gro_frame(k->peer_nxt, 0, GRO_LEN, true);
    gro_input(n, MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_eq(drops(MOAT_DROP_TCP_MALFORMED), 0);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), GRO_LEN);
    ck_assert_mem_eq(got, data, GRO_LEN);
}
END_TEST

START_TEST(gro_without_flag_a_bad_checksum_is_dropped)
{
    size_t n = gro_frame(k->peer_nxt, 0, GRO_LEN, true);
    gro_input(n, 0);
    ck_assert_uint_eq(drops(MOAT_DROP_TCP_MALFORMED), 1);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
    /* The flag vouches for the TCP checksum only: a bad IPv4 header
     * checksum is still caught. */
    n = gro_frame(k->peer_nxt, 0, GRO_LEN, false);
    frame[14 + 10] ^= 0x01;
    gro_input(n, MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_eq(drops(MOAT_DROP_IP_CHECKSUM), 1);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
}
END_TEST

START_TEST(gro_large_segments_out_of_order_then_filled)
{
    /* The second 30000 bytes first: queued out of order, then the first
     * arrives and both are delivered in order. */
    size_t n = gro_frame(k->peer_nxt + GRO_LEN, GRO_LEN, GRO_LEN, false);
    gro_input(n, 0);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
    n = gro_frame(k->peer_nxt, 0, GRO_LEN, false);
    gro_input(n, 0);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 2 * GRO_LEN);
    ck_assert_mem_eq(got, data, 2 * GRO_LEN);
    ck_assert_uint_eq(fx_drops_total(f), 0);
}
END_TEST

START_TEST(gro_beyond_the_window_is_trimmed)
{
    /* A coalesced segment is still bounded by the window we announced:
     * half of it is used by a first segment the application does not
     * read, then a second one reaches past the right edge. */
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t edge = t->rcv_adv;
    size_t n = gro_frame(k->peer_nxt, 0, GRO_LEN, false);
    gro_input(n, 0);
    uint32_t wnd = edge - (k->peer_nxt + GRO_LEN);
    ck_assert_uint_lt(wnd, GRO_LEN + 10000u);
    n = gro_frame(k->peer_nxt + GRO_LEN, GRO_LEN, GRO_LEN + 10000u, false);
    gro_input(n, MOAT_LINK_RX_CSUM_OK);
    uint32_t r = tfx_read(f, k->h, got, sizeof got);
    ck_assert_uint_eq(r, GRO_LEN + wnd);
    ck_assert_mem_eq(got, data, r);
}
END_TEST

START_TEST(link_rx_bad_is_a_counted_drop)
{
    size_t n = gro_frame(k->peer_nxt, 0, 100, false);
    fx_tx_clear(f);
    gro_input(n, MOAT_LINK_RX_BAD | MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_eq(drops(MOAT_DROP_LINK_RX_BAD), 1);
    ck_assert_uint_eq(fx_drops_total(f), 1);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
    fx_expect_no_tx(f);
}
END_TEST

START_TEST(csum_ok_is_not_trusted_for_fragments)
{
    /* A flagged frame's flag covers that frame alone: a datagram put
     * together from fragments has its checksum checked whole. */
    struct tcp_repr r = tfx_seg(k, TH_ACK, data, 200);
    r.bad_cksum = true;
    size_t l4 = tfx_build(seg, FX_R_IP, FX_L_IP, &r);
    size_t n = fx_ip4(f, 0, frame, &FX_IP(.proto = 6, .id = 7, .mf = true), seg, 104);
    gro_input(n, MOAT_LINK_RX_CSUM_OK);
    n = fx_ip4(f, 0, frame, &FX_IP(.proto = 6, .id = 7, .frag_off = 104), seg + 104, l4 - 104);
    gro_input(n, MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_eq(fx_stats(f).ip_reassembled, 1);
    ck_assert_uint_eq(drops(MOAT_DROP_TCP_MALFORMED), 1);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcp_gro");
    TCase *tc = tcase_create("gro");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gro_large_segment_taken_whole);
    tcase_add_test(tc, gro_csum_ok_flag_skips_the_tcp_checksum);
    tcase_add_test(tc, gro_without_flag_a_bad_checksum_is_dropped);
    tcase_add_test(tc, gro_large_segments_out_of_order_then_filled);
    tcase_add_test(tc, gro_beyond_the_window_is_trimmed);
    tcase_add_test(tc, link_rx_bad_is_a_counted_drop);
    tcase_add_test(tc, csum_ok_is_not_trusted_for_fragments);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(suite)
