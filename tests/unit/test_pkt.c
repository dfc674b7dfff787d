/* SPDX-License-Identifier: MIT */
/*
 * Buffers (reference scenarios, section 12), as moat has them. There are
 * no buffer chains and no heap in moat:
 *
 *   - struct pkt (core/pkt.c): one fixed-size buffer from a pool sized at
 *     open, for what the core must hold (ARP queues, fragments). A
 *     "chain" is only the fragment list of a datagram under reassembly,
 *     copied into one datagram when complete;
 *   - byte rings (core/ring.h): socket data and every boundary channel.
 *     A ring's data area is the one place where bytes are split in two
 *     pieces (at the end of the area), so its copy helpers are where the
 *     "element boundary" scenarios apply.
 *
 * Covered here: zero-length buffers of each kind (BUF-ZERO-1), copies at
 * and across the ring's end (BUF-EDGE-1, BUF-COPY-ZEROTAIL-1), copying
 * between different segmentations (BUF-COPY-CHAINS-1), partial copies at
 * offsets (BUF-COPY-PARTIAL-1), fragments of mixed sizes and an empty
 * last fragment, and the pool's accounting under many free orders (the
 * pool counterpart of MEM-BASIC-1 and MEM-PATTERN-1).
 *
 * MEM-BASIC-1, MEM-PATTERN-1, MEM-BADFREE-1, MEM-DOUBLEFREE-1 do not
 * apply as written: the core has no heap (no malloc, no sizes to shrink,
 * nothing to fragment); its memory is carved into fixed pools when the
 * stack opens. The packet pool does not check frees: struct pkt pointers
 * are private to the core and never cross a boundary (only offsets do),
 * so a bad or double free could only come from a core bug; such a free
 * leaves the pool's in-use count wrong, which every fixture teardown
 * checks (RES-LEAK-1).
 */
#include <string.h>

#include "support/check_main.h"
#include "core/core_priv.h"
#include "core/ring.h"
#include "support/fx.h"

#define PORT_L 4000
#define PORT_R 5000

static uint8_t frame[2048];

/* ---- the packet-buffer pool --------------------------------------------- */

/* BUF-ZERO-1 (pool buffers; the pool counterpart of MEM-BASIC-1): a
 * buffer comes out of the pool empty (length 0), holding it counts one in
 * use, and freeing it (or freeing NULL) brings the count back exactly. */
START_TEST(pkt_zero_length_alloc_free)
{
    struct fx f;
    fx_init(&f);
    struct mcore *c = f.core;
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    struct pkt *a = pkt_alloc(c);
    struct pkt *b = pkt_alloc(c);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    ck_assert_uint_eq(a->len, 0);
    ck_assert_uint_eq(a->off, 0);
    ck_assert_ptr_null(a->next);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 2);
    pkt_free(c, a);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 1);
    pkt_free(c, NULL);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 1);
    pkt_free(c, b);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    /* a buffer that held data comes back out empty */
    a = pkt_alloc(c);
    a->len = 100;
    a->off = 14;
    pkt_free(c, a);
    b = pkt_alloc(c);
    ck_assert_ptr_eq(b, a);                         /* the pool is LIFO */
    ck_assert_uint_eq(b->len, 0);
    ck_assert_uint_eq(b->off, 0);
    pkt_free(c, b);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_PKT_NOMEM), 0);
    fx_teardown(&f);
}
END_TEST

/* The pool counterpart of MEM-PATTERN-1: for each kept buffer x and each
 * step 1..3, take the whole pool, free every step-th (but x), then the
 * rest, then x. Every pattern ends with nothing in use and the whole pool
 * available again (the same buffers, each once). */
START_TEST(pkt_pool_free_orders)
{
    enum { N = 16 };
    struct fx f;
    fx_config(&f);
    f.cfg.pkt_bufs = N;
    fx_start(&f);
    struct mcore *c = f.core;
    struct pkt *p[N], *all[N];
    for (unsigned i = 0; i < N; i++)
        all[i] = pkt_alloc(c);
    for (unsigned i = 0; i < N; i++)
        pkt_free(c, all[i]);
    for (unsigned x = 0; x < N; x++) {
        for (unsigned step = 1; step <= 3; step++) {
            for (unsigned i = 0; i < N; i++) {
                p[i] = pkt_alloc(c);
                ck_assert_ptr_nonnull(p[i]);
                unsigned seen = 0;
                for (unsigned j = 0; j < N; j++)
                    seen += all[j] == p[i];
                ck_assert_uint_eq(seen, 1);             /* one of the pool's */
                for (unsigned j = 0; j < i; j++)
                    ck_assert_ptr_ne(p[j], p[i]);       /* handed out once */
            }
            ck_assert_ptr_null(pkt_alloc(c));           /* exhausted: counted */
            ck_assert_uint_eq(fx_stats(&f).pkt_in_use, N);
            for (unsigned i = 0; i < N; i += step)
                if (i != x) {
                    pkt_free(c, p[i]);
                    p[i] = NULL;
                }
            for (unsigned i = 0; i < N; i++)
                if (i != x && p[i]) {
                    pkt_free(c, p[i]);
                    p[i] = NULL;
                }
            ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 1);
            pkt_free(c, p[x]);
            ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
        }
    }
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_PKT_NOMEM), N * 3);
    fx_teardown(&f);
}
END_TEST

/* ---- ring copies at the end of the data area ----------------------------- */

enum { CAP = 16, GUARD = 8 };

struct area {
    uint8_t lo[GUARD];
    uint8_t data[CAP];
    uint8_t hi[GUARD];
};

static void expect_guards(const struct area *a)
{
    for (unsigned i = 0; i < GUARD; i++) {
        ck_assert_uint_eq(a->lo[i], 0xee);
        ck_assert_uint_eq(a->hi[i], 0xee);
    }
}

/* BUF-EDGE-1, BUF-COPY-ZEROTAIL-1, BUF-ZERO-1 (ring): a copy of every
 * length 0..CAP starting at every position of the area (and at indices
 * about to wrap 2^32) lands exactly at [at, at + len) modulo the
 * capacity: the byte before the end, the byte at the start after the
 * wrap, a copy that ends exactly at the end (its second piece is empty
 * and writes nothing), and nothing outside. Reading it back at the same
 * index gives the same bytes and writes nothing past len. */
START_TEST(ring_copy_every_edge)
{
    static const uint32_t bases[] = {0, CAP, 0xffffffffu - 2u * CAP + 1u};
    struct moat_ring_sh sh;
    struct area a;
    struct moat_ring r;
    uint8_t src[CAP], dst[CAP + GUARD];
    for (unsigned i = 0; i < CAP; i++)
        src[i] = (uint8_t)(0xa0 + i);
    memset(&sh, 0, sizeof sh);
    ck_assert_int_eq(moat_ring_attach(&r, &sh, a.data, CAP, 0), 0);
    for (unsigned b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        for (uint32_t o = 0; o < 2u * CAP; o++) {
            uint32_t at = bases[b] + o;
            for (uint32_t len = 0; len <= CAP; len++) {
                memset(&a, 0xee, sizeof a);
                memset(a.data, 0, sizeof a.data);
                moat_ring_copy_in(&r, at, src, len);
                expect_guards(&a);
                for (uint32_t i = 0; i < CAP; i++) {
                    uint32_t k = (i - (at & (CAP - 1u))) & (CAP - 1u); /* stream offset */
                    ck_assert_msg(a.data[i] == (k < len ? src[k] : 0),
                                  "at %u len %u: data[%u] = %u", (unsigned)at,
                                  (unsigned)len, (unsigned)i, (unsigned)a.data[i]);
                }
                memset(dst, 0x55, sizeof dst);
                moat_ring_copy_out(&r, at, dst, len);
                ck_assert_mem_eq(dst, src, len);
                for (uint32_t i = len; i < sizeof dst; i++)
                    ck_assert_uint_eq(dst[i], 0x55);
            }
        }
    }
}
END_TEST

/* BUF-EDGE-1, single bytes: a one-byte put and get at the last byte of
 * the area and at the first byte after the wrap, through the producer
 * and consumer calls. */
START_TEST(ring_single_byte_at_wrap)
{
    struct moat_ring_sh sh;
    struct area a;
    struct moat_ring pr, co;
    memset(&a, 0xee, sizeof a);
    memset(a.data, 0, sizeof a.data);
    memset(&sh, 0, sizeof sh);
    atomic_store(&sh.prod, CAP - 1u);
    atomic_store(&sh.cons, CAP - 1u);
    ck_assert_int_eq(moat_ring_attach(&pr, &sh, a.data, CAP, CAP - 1u), 0);
    ck_assert_int_eq(moat_ring_attach(&co, &sh, a.data, CAP, CAP - 1u), 0);
    uint8_t x = 0x11, y = 0x22, g = 0;
    moat_ring_put(&pr, 0, &x, 1);
    moat_ring_put(&pr, 1, &y, 1);
    moat_ring_publish(&pr, 2);
    ck_assert_uint_eq(a.data[CAP - 1], 0x11);
    ck_assert_uint_eq(a.data[0], 0x22);
    ck_assert_uint_eq(a.data[1], 0);
    expect_guards(&a);
    moat_ring_get(&co, 1, &g, 1);
    ck_assert_uint_eq(g, 0x22);
    moat_ring_get(&co, 0, &g, 1);
    ck_assert_uint_eq(g, 0x11);
    moat_ring_consume(&co, 1);
    moat_ring_get(&co, 0, &g, 1);
    ck_assert_uint_eq(g, 0x22);
}
END_TEST

/* BUF-COPY-CHAINS-1: bytes 0..127 go in as eight 16-byte writes and come
 * out as reads of 35, 81 and 12 bytes, across the end of the area; byte
 * i of the output is i. */
START_TEST(ring_copy_between_segmentations)
{
    enum { C = 128 };
    static uint8_t data[C];
    struct moat_ring_sh sh;
    struct moat_ring pr, co;
    memset(&sh, 0, sizeof sh);
    atomic_store(&sh.prod, 100);
    atomic_store(&sh.cons, 100);
    ck_assert_int_eq(moat_ring_attach(&pr, &sh, data, C, 100), 0);
    ck_assert_int_eq(moat_ring_attach(&co, &sh, data, C, 100), 0);
    for (unsigned e = 0; e < 8; e++) {
        uint8_t piece[16];
        for (unsigned i = 0; i < 16; i++)
            piece[i] = (uint8_t)(e * 16 + i);
        moat_ring_put(&pr, e * 16, piece, 16);
    }
    moat_ring_publish(&pr, C);
    static const uint32_t outs[] = {35, 81, 12};
    uint8_t out[C + 1];
    uint32_t pos = 0;
    memset(out, 0xee, sizeof out);
    for (unsigned k = 0; k < 3; k++) {
        uint32_t avail = 0;
        ck_assert_int_eq(moat_ring_avail(&co, &avail), 0);
        ck_assert_uint_eq(avail, C - pos);
        moat_ring_get(&co, 0, out + pos, outs[k]);
        moat_ring_consume(&co, outs[k]);
        pos += outs[k];
    }
    ck_assert_uint_eq(pos, C);
    for (unsigned i = 0; i < C; i++)
        ck_assert_uint_eq(out[i], i);
    ck_assert_uint_eq(out[C], 0xee);
}
END_TEST

/* BUF-COPY-PARTIAL-1 (the parts that apply to a ring; refusing a release
 * or commit longer than the view is test_zcopy's): from 12 readable bytes
 * that wrap the end, a read of n bytes at offset k into a 14-byte zeroed
 * buffer at position j writes exactly those n bytes there and nothing
 * else, for every k, n and j that fit. */
START_TEST(ring_partial_reads_at_offsets)
{
    static const uint8_t msg[12] = {1, 2, 3, 4, 5, 'h', 'e', 'l', 'l', 'o', '!', 0};
    uint8_t data[CAP];
    struct moat_ring_sh sh;
    struct moat_ring pr, co;
    memset(&sh, 0, sizeof sh);
    atomic_store(&sh.prod, 9);
    atomic_store(&sh.cons, 9);
    ck_assert_int_eq(moat_ring_attach(&pr, &sh, data, CAP, 9), 0);
    ck_assert_int_eq(moat_ring_attach(&co, &sh, data, CAP, 9), 0);
    moat_ring_put(&pr, 0, msg, 5);                  /* two writes, like two elements */
    moat_ring_put(&pr, 5, msg + 5, 7);
    moat_ring_publish(&pr, 12);
    for (uint32_t k = 0; k <= 12; k++) {
        for (uint32_t n = 0; k + n <= 12; n++) {
            for (uint32_t j = 0; j + n <= 14; j++) {
                uint8_t dst[14];
                memset(dst, 0, sizeof dst);
                moat_ring_get(&co, k, dst + j, n);
                for (uint32_t i = 0; i < 14; i++) {
                    uint8_t want = (i >= j && i < j + n) ? msg[k + i - j] : 0;
                    ck_assert_msg(dst[i] == want, "k %u n %u j %u: dst[%u] = %u",
                                  (unsigned)k, (unsigned)n, (unsigned)j, (unsigned)i,
                                  (unsigned)dst[i]);
                }
            }
        }
    }
    uint32_t avail = 0;
    ck_assert_int_eq(moat_ring_avail(&co, &avail), 0);
    ck_assert_uint_eq(avail, 12);                   /* reading consumed nothing */
}
END_TEST

/* ---- datagrams: zero length, fragment lists ------------------------------ */

/* BUF-ZERO-1 (socket rings): an empty datagram is one record in the send
 * ring and one UDP datagram on the wire (length 8), and an empty datagram
 * received is one record the application reads as 0 bytes. */
START_TEST(udp_zero_length_both_ways)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    fx_tx_clear(&f);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, "", 0), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    ck_assert_uint_eq(f.tx[0].len, 60);            /* 42 bytes, padded */
    const uint8_t *ip = f.tx[0].data + 14;
    ck_assert_uint_eq(ip[9], 17);
    ck_assert_uint_eq(((unsigned)ip[2] << 8) | ip[3], 28);   /* IP total length */
    ck_assert_uint_eq(((unsigned)ip[24] << 8) | ip[25], 8);  /* UDP length */

    uint8_t seg[16], buf[4] = {0x55, 0x55, 0x55, 0x55};
    size_t sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, PORT_L, NULL, 0, FX_CK_OK, 0);
    struct fx_ip hdr = FX_IP(.proto = 17);
    size_t n = fx_ip4(&f, 0, frame, &hdr, seg, sl);
    fx_inject(&f, 0, frame, n);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_rx_count(&f, h), 2);
    size_t got = 99;
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    ck_assert_uint_eq(buf[0], 0x55);
    fx_teardown(&f);
}
END_TEST

/* A UDP datagram of @p dlen payload bytes (pattern i * 3 + 1). */
static size_t make_dgram(uint8_t *seg, size_t dlen)
{
    uint8_t d[512];
    for (size_t i = 0; i < dlen; i++)
        d[i] = (uint8_t)(i * 3 + 1);
    return fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, PORT_L, d, dlen, FX_CK_OK, 0);
}

static void inject_frag(struct fx *f, const uint8_t *dg, size_t off, size_t n, bool mf)
{
    struct fx_ip hdr = FX_IP(.proto = 17, .id = 0x7777, .frag_off = (uint16_t)off, .mf = mf);
    size_t len = fx_ip4(f, 0, frame, &hdr, dg + off, n);
    fx_inject(f, 0, frame, len);
}

/* BUF-COPY-CHAINS-1 and BUF-COPY-ZEROTAIL-1 on the one chain moat has:
 * fragments of mixed sizes (8..64 bytes, out of order) are copied into
 * one datagram with every byte in place; an empty last fragment is a
 * counted drop (MOAT_DROP_FRAG_BAD) that neither completes nor corrupts
 * the list, and the real last fragment completes it afterwards. */
START_TEST(frag_mixed_sizes_and_empty_tail)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    static uint8_t seg[8 + 200];
    size_t sl = make_dgram(seg, 200);
    ck_assert_uint_eq(sl, 208);
    /* pieces [off, off + n): 16, 40, 8, 64, 24, 56 (last) */
    static const uint16_t off[] = {0, 16, 56, 64, 128, 152};
    static const uint16_t len[] = {16, 40, 8, 64, 24, 56};
    static const unsigned order[] = {3, 0, 4, 2, 1};
    for (unsigned k = 0; k < 5; k++)
        inject_frag(&f, seg, off[order[k]], len[order[k]], true);
    ck_assert_uint_eq(fx_rx_count(&f, h), 0);
    /* an empty last fragment right where the data ends so far */
    inject_frag(&f, seg, 152, 0, false);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 1);
    ck_assert_uint_eq(fx_rx_count(&f, h), 0);
    ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 0);
    inject_frag(&f, seg, 152, 56, false);
    ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 1);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    uint8_t buf[256];
    size_t got = 0;
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, 200);
    ck_assert_mem_eq(buf, seg + 8, 200);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

static Suite *pkt_suite(void)
{
    Suite *s = suite_create("pkt");
    TCase *tc = tcase_create("pkt");
    tcase_add_test(tc, pkt_zero_length_alloc_free);
    tcase_add_test(tc, pkt_pool_free_orders);
    tcase_add_test(tc, ring_copy_every_edge);
    tcase_add_test(tc, ring_single_byte_at_wrap);
    tcase_add_test(tc, ring_copy_between_segmentations);
    tcase_add_test(tc, ring_partial_reads_at_offsets);
    tcase_add_test(tc, udp_zero_length_both_ways);
    tcase_add_test(tc, frag_mixed_sizes_and_empty_tail);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(pkt_suite)
