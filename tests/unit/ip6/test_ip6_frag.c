/* SPDX-License-Identifier: MIT */
/*
 * IPv6 fragmentation and reassembly (RFC 8200 4.5, RFC 5722): in-order and
 * reordered fragments, exact duplicates ignored, any other overlap
 * discards the datagram (and its later fragments), the timeout with Time
 * Exceeded only when the first fragment came, length rules answered with
 * parameter problems, the memory bound, and our own fragments of a 4000-
 * byte echo reply.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx6.h"

static uint8_t frame[4096], msg[8192], pl[4096];

/* The echo request R -> L of @p dlen data bytes, in msg; returns its length. */
static size_t echo_msg(size_t dlen)
{
    uint8_t data[6000];
    for (size_t i = 0; i < dlen; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    return fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 128, 0, 0x00420001, data, dlen);
}

/* Inject bytes [off, off+n) of msg as a fragment of datagram @p id. */
static void frag(struct fx *f, uint32_t id, size_t off, size_t n, bool more)
{
    uint8_t fh[8] = {58, 0, (uint8_t)(off >> 8), (uint8_t)((off & 0xf8) | (more ? 1 : 0)),
                     (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    memcpy(pl, fh, 8);
    memcpy(pl + 8, msg + (off < 6000 ? off : 0), n);   /* offsets past msg: any bytes */
    struct fx6_ip ip = {.nh = 44, .plen = -1};
    fx_inject(f, 0, frame, fx6_frame(f, frame, &ip, pl, 8 + n));
}

/* The reply fragments the core sent, reassembled into @p out; returns the
 * ICMPv6 length. Checks each fits 1500 and the offsets follow. */
static size_t collect(const struct fx *f, uint8_t *out)
{
    size_t total = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct fx6_pkt p = fx6_tx_pkt(f, i);
        ck_assert(p.has_frag);
        ck_assert_uint_le(40 + p.plen, 1500);
        ck_assert_uint_eq(p.frag_off, total);
        ck_assert(p.frag_mf == (i + 1 < fx_ntx(f)));
        memcpy(out + total, p.l4, p.l4_len);
        total += p.l4_len;
    }
    return total;
}

START_TEST(reassemble_reordered_and_reply_fragmented)
{
    struct fx f;
    fx6_init(&f);
    size_t n = echo_msg(4000);      /* 4008 bytes of ICMPv6 */
    frag(&f, 7, 2896, n - 2896, false);
    frag(&f, 7, 0, 1448, true);
    fx_expect_no_tx(&f);
    frag(&f, 7, 1448, 1448, true);
    ck_assert_uint_eq(fx_stats(&f).ip6_reassembled, 1);
    ck_assert_uint_eq(fx_ntx(&f), 3);
    uint8_t got[8192];
    ck_assert_uint_eq(collect(&f, got), n);
    ck_assert_uint_eq(got[0], 129);
    ck_assert_mem_eq(got + 8, msg + 8, n - 8);
    ck_assert_uint_eq(fx_stats(&f).ip6_frags_out, 3);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

START_TEST(exact_duplicate_ignored)
{
    struct fx f;
    fx6_init(&f);
    size_t n = echo_msg(2000);
    frag(&f, 9, 0, 1024, true);
    frag(&f, 9, 0, 1024, true);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_DUP), 1);
    frag(&f, 9, 1024, n - 1024, false);
    ck_assert_uint_eq(fx_stats(&f).ip6_reassembled, 1);
    ck_assert_uint_ge(fx_ntx(&f), 1);
    fx_teardown(&f);
}
END_TEST

/* RFC 5722: an overlap (even with the same bytes) kills the datagram; its
 * later fragments are dropped too, nothing is delivered. */
START_TEST(overlap_discards)
{
    struct fx f;
    fx6_init(&f);
    size_t n = echo_msg(2000);
    frag(&f, 11, 0, 1024, true);
    frag(&f, 11, 512, 1024, true);      /* overlaps [512, 1024) */
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_OVERLAP), 1);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    frag(&f, 11, 1024, n - 1024, false);
    frag(&f, 11, 0, 1024, true);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_OVERLAP), 3);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_stats(&f).ip6_reassembled, 0);
    fx_teardown(&f);
}
END_TEST

START_TEST(timeout_time_exceeded)
{
    struct fx f;
    fx6_init(&f);
    echo_msg(2000);
    frag(&f, 13, 0, 1024, true);            /* first fragment came */
    frag(&f, 14, 1024, 1024, true);         /* another datagram, first missing */
    fx_expect_no_tx(&f);
    fx_advance(&f, (uint64_t)f.cfg.reass_timeout_ms * 1000u + 1000u);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_TIMEOUT), 2);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 3);
    ck_assert_uint_eq(p.icmp_code, 1);
    ck_assert_mem_eq(p.dst, fx6_r_ip, 16);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

START_TEST(length_rules)
{
    struct fx f;
    fx6_init(&f);
    echo_msg(2000);
    /* not the last, not a multiple of 8: problem code 0 at the payload length */
    frag(&f, 15, 0, 1001, true);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 4);
    ck_assert_uint_eq(p.icmp_code, 0);
    ck_assert_uint_eq(p.icmp_rest, 4);
    fx_tx_clear(&f);
    /* offset + length beyond 65535: problem at the fragment offset field */
    frag(&f, 16, 65000, 1000, false);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 4);
    ck_assert_uint_eq(p.icmp_rest, 42);
    fx_tx_clear(&f);
    /* a last fragment that ends before data we hold */
    frag(&f, 17, 1024, 1024, true);
    frag(&f, 17, 512, 256, false);
    ck_assert_uint_ge(fx_drop(&f, MOAT_DROP_FRAG_BAD), 3);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

/* Reassembly holds at most half of the packet pool (shared with IPv4);
 * slots beyond reass_slots push out the oldest datagram. */
START_TEST(memory_bound)
{
    struct fx f;
    fx6_init(&f);
    echo_msg(4000);
    for (uint32_t id = 100; id < 100 + 40; id++)
        frag(&f, id, 0, 1024, true);
    ck_assert_uint_le(fx_stats(&f).pkt_in_use, f.cfg.pkt_bufs / 2);
    ck_assert_uint_le(fx_stats(&f).pkt_in_use, f.cfg.reass_slots);
    ck_assert_uint_ge(fx_drop(&f, MOAT_DROP_FRAG_NOMEM), 40 - f.cfg.reass_slots);
    for (uint32_t id = 200; id < 202; id++)
        for (size_t off = 0; off < 3072; off += 512)
            frag(&f, id, off, 512, true);
    ck_assert_uint_le(fx_stats(&f).pkt_in_use, f.cfg.pkt_bufs / 2);
    fx_teardown(&f);
}
END_TEST

/* A fragment header inside a reassembled datagram is refused. */
START_TEST(nested_fragment_refused)
{
    struct fx f;
    fx6_init(&f);
    /* the inner datagram: an atomic-looking fragment header, then echo */
    uint8_t inner[64];
    uint8_t fh[8] = {58, 0, 0, 0, 0, 0, 0, 1};
    memcpy(inner, fh, 8);
    size_t n = fx6_icmp(inner + 8, fx6_r_ip, fx6_l_ip, 128, 0, 1, "abcdefgh", 8);
    memcpy(msg, inner, 8 + n);
    /* outer fragments carry next header 44 */
    uint8_t p1[8] = {44, 0, 0, 1, 0, 0, 0, 21};
    memcpy(pl, p1, 8);
    memcpy(pl + 8, msg, 16);
    struct fx6_ip ip = {.nh = 44, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, pl, 24));
    uint8_t p2[8] = {44, 0, 0, 16, 0, 0, 0, 21};
    memcpy(pl, p2, 8);
    memcpy(pl + 8, msg + 16, 8 + n - 16);
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, pl, 8 + 8 + n - 16));
    ck_assert_uint_eq(fx_stats(&f).ip6_reassembled, 1);
    fx_expect_no_tx(&f);
    ck_assert_uint_ge(fx_drop(&f, MOAT_DROP_FRAG_BAD), 1);
    fx_teardown(&f);
}
END_TEST

static Suite *frag_suite(void)
{
    Suite *s = suite_create("ip6_frag");
    TCase *tc = tcase_create("ip6_frag");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reassemble_reordered_and_reply_fragmented);
    tcase_add_test(tc, exact_duplicate_ignored);
    tcase_add_test(tc, overlap_discards);
    tcase_add_test(tc, timeout_time_exceeded);
    tcase_add_test(tc, length_rules);
    tcase_add_test(tc, memory_bound);
    tcase_add_test(tc, nested_fragment_refused);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(frag_suite)
