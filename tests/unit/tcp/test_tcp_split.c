/* SPDX-License-Identifier: MIT */
/*
 * Split input (issue 8, mcore_split_hlen / mcore_input_split): a large TCP
 * segment handed to the core as a private copy of its headers plus its
 * payload left in the link's (shared) memory. What the core decides comes
 * from the headers alone: a payload the link rewrites after hand-over
 * changes only the bytes the application reads, which with
 * MOAT_LINK_RX_CSUM_OK (required for a split) are the link's word anyway.
 * Shapes a split cannot take are refused before any state changes.
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

#define SPL_RING (256u << 10)
#define SPL_LEN  20000u
#define SPL_PEEK (14u + 60u + 60u)  /* what a link copies to look (linkring.c) */

static uint8_t seg[70000], frame[70100], hdr[SPL_PEEK], shared[70000];
static uint8_t data[3 * SPL_LEN], got[3 * SPL_LEN];

static void setup(void)
{
    tfx_config(f);
    f->cfg.sock_rx_bytes = SPL_RING;
    tfx_start(f);
    tfx_passive(f, k, &TFX_OPTS(.ws = 7));
    tfx_pattern(data, sizeof data, 0);
}

static void teardown(void) { tfx_teardown(f); }

static uint64_t drops(int reason) { return fx_stats(f).drops[reason]; }

/* The peer's segment of @p len bytes at @p off into data, as one frame. */
static size_t spl_frame(uint32_t seq, uint32_t off, uint32_t len, uint8_t flags)
{
    struct tcp_repr r = tfx_seg(k, flags, data + off, len);
    r.seq = seq;
    size_t n = tfx_build(seg, FX_R_IP, FX_L_IP, &r);
    return fx_ip4(f, 0, frame, &FX_IP(.proto = 6, .df = true), seg, n);
}

/* Hand frame[0, n) over as a link with split receive does: copy the first
 * bytes, decide the split on the copy, leave the rest in "shared" memory.
 * Returns the header length (0: not splittable). */
static size_t spl_handover(size_t n, uint32_t flags)
{
    size_t peek = n < SPL_PEEK ? n : SPL_PEEK;
    memcpy(hdr, frame, peek);
    memcpy(shared, frame, n);
    return mcore_split_hlen(hdr, peek, n, flags);
}

/* The peer's segment of @p len bytes at @p off into data, split and
 * input. Returns the frame's length. */
static size_t spl_input(uint32_t seq, uint32_t off, uint32_t len)
{
    size_t n = spl_frame(seq, off, len, TH_ACK);
    size_t h = spl_handover(n, MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_eq(h, n - len);      /* split where the payload starts */
    ck_assert_int_eq(mcore_input_split(f->core, 0, hdr, h, shared + h, n - h,
                                       MOAT_LINK_RX_CSUM_OK, f->now), 0);
    fx_poll(f);
    return n;
}

START_TEST(split_delivers_like_a_whole_frame)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint64_t in0 = fx_stats(f).bytes_in;
    size_t n = spl_input(k->peer_nxt, 0, SPL_LEN);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt + SPL_LEN);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), SPL_LEN);
    ck_assert_mem_eq(got, data, SPL_LEN);
    ck_assert_uint_ge(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, tfx_ntcp(f) - 1).ack, k->peer_nxt + SPL_LEN);
    ck_assert_uint_eq(fx_drops_total(f), 0);
    ck_assert_uint_eq(fx_stats(f).bytes_in - in0, n);     /* the whole frame */
}
END_TEST

/* The link rewrites the payload after the net side looked (between the
 * split decision and the core's copy): every decision is the one the
 * headers dictate; only the delivered bytes are the new ones. The TCP
 * checksum no longer matches them, and nothing notices: the link vouched
 * for it (CSUM_OK), so what the application reads is the link's choice,
 * as it would be if the link had sent those bytes to begin with. */
START_TEST(split_payload_changed_after_handover_decides_nothing)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    size_t n = spl_frame(k->peer_nxt, 0, SPL_LEN, TH_ACK);
    size_t h = spl_handover(n, MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_gt(h, 0);
    /* The hostile rewrite: a copy of the headers with RST/FIN/SYN set and
     * another sequence number, then 0xff. */
    memset(shared + h, 0xff, n - h);
    memcpy(shared + h, frame, h);
    shared[h + h - 20 + 13] = TH_RST | TH_FIN | TH_SYN;
    shared[h + 14 + 12] ^= 0x80;
    uint8_t want[SPL_LEN];
    memcpy(want, shared + h, SPL_LEN);
    fx_tx_clear(f);
    ck_assert_int_eq(mcore_input_split(f->core, 0, hdr, h, shared + h, n - h,
                                       MOAT_LINK_RX_CSUM_OK, f->now), 0);
    fx_poll(f);
    /* Same decisions as for the honest payload (previous test). */
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt + SPL_LEN);
    ck_assert_uint_ge(tfx_ntcp(f), 1);
    struct tcp_repr a = tfx_tx(f, tfx_ntcp(f) - 1);
    ck_assert_uint_eq(a.ack, k->peer_nxt + SPL_LEN);
    ck_assert_uint_eq(a.flags & (TH_RST | TH_FIN | TH_SYN), 0);
    ck_assert_uint_eq(fx_drops_total(f), 0);
    /* Only the delivered bytes differ: exactly the rewritten ones. */
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), SPL_LEN);
    ck_assert_mem_eq(got, want, SPL_LEN);
}
END_TEST

START_TEST(split_out_of_order_then_filled)
{
    /* Out-of-order data goes into the ring past the producer, also read
     * once from the link's memory. */
    spl_input(k->peer_nxt + SPL_LEN, SPL_LEN, SPL_LEN);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
    spl_input(k->peer_nxt, 0, SPL_LEN);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 2 * SPL_LEN);
    ck_assert_mem_eq(got, data, 2 * SPL_LEN);
    ck_assert_uint_eq(fx_drops_total(f), 0);
}
END_TEST

/* What cannot be split: no split point, and the core refuses it too
 * (a counted drop, nothing delivered, no state change). */
START_TEST(split_refuses_other_shapes)
{
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t nxt = t->rcv_nxt;
    size_t n = spl_frame(k->peer_nxt, 0, SPL_LEN, TH_ACK);
    size_t h = n - SPL_LEN;
    /* The checksum not vouched for by the link: the core would need the
     * payload to decide, so no split. Nor with BAD set. */
    ck_assert_uint_eq(spl_handover(n, 0), 0);
    ck_assert_uint_eq(spl_handover(n, MOAT_LINK_RX_CSUM_OK | MOAT_LINK_RX_BAD), 0);
    ck_assert_int_eq(mcore_input_split(f->core, 0, hdr, h, shared + h, n - h, 0, f->now),
                     MOAT_E_INVAL);
    /* Ethernet padding after the datagram (the frame is longer). */
    ck_assert_uint_eq(spl_handover(n + 4, MOAT_LINK_RX_CSUM_OK), 0);
    /* A split point that is not where the headers end. */
    ck_assert_uint_eq(spl_handover(n, MOAT_LINK_RX_CSUM_OK), h);
    ck_assert_int_eq(mcore_input_split(f->core, 0, hdr, h - 4, shared + h - 4, n - h + 4,
                                       MOAT_LINK_RX_CSUM_OK, f->now), MOAT_E_INVAL);
    /* Headers alone (no payload) are not worth a split. */
    ck_assert_uint_eq(mcore_split_hlen(hdr, h, h, MOAT_LINK_RX_CSUM_OK), 0);
    /* Not all headers copied: the TCP header lies past what was looked at. */
    ck_assert_uint_eq(mcore_split_hlen(hdr, h - 1, n, MOAT_LINK_RX_CSUM_OK), 0);
    /* A fragment, UDP. */
    frame[14 + 6] |= 0x20;
    ck_assert_uint_eq(spl_handover(n, MOAT_LINK_RX_CSUM_OK), 0);
    ck_assert_int_eq(mcore_input_split(f->core, 0, hdr, h, shared + h, n - h,
                                       MOAT_LINK_RX_CSUM_OK, f->now), MOAT_E_INVAL);
    frame[14 + 6] &= (uint8_t)~0x20u;
    frame[14 + 9] = 17;
    ck_assert_uint_eq(spl_handover(n, MOAT_LINK_RX_CSUM_OK), 0);
    fx_poll(f);
    ck_assert_uint_eq(drops(MOAT_DROP_LINK_RX_BAD), 3);
    ck_assert_uint_eq(fx_drops_total(f), 3);
    ck_assert_uint_eq(t->rcv_nxt, nxt);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcp_split");
    TCase *tc = tcase_create("split");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, split_delivers_like_a_whole_frame);
    tcase_add_test(tc, split_payload_changed_after_handover_decides_nothing);
    tcase_add_test(tc, split_out_of_order_then_filled);
    tcase_add_test(tc, split_refuses_other_shapes);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(suite)
