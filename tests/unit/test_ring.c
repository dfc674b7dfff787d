/* SPDX-License-Identifier: MIT */
/*
 * The SPSC byte ring of core/ring.h, single-threaded: attach rules, empty
 * and full edges, wrap of the data area and of the free-running 32-bit
 * indices, and a hostile peer index (reported as MOAT_E_PEER, never
 * trusted). The two-thread stress test lives with the backends.
 */
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "core/ring.h"

struct pair {
    struct moat_ring_sh sh;
    uint8_t data[64];
    struct moat_ring prod, cons;
};

_Static_assert(sizeof(struct moat_ring_sh) == 2 * MOAT_CACHELINE, "ring_sh layout");

static void pair_init(struct pair *p, uint32_t cap, uint32_t start)
{
    memset(p, 0, sizeof *p);
    atomic_store(&p->sh.prod, start);
    atomic_store(&p->sh.cons, start);
    ck_assert_int_eq(moat_ring_attach(&p->prod, &p->sh, p->data, cap, start), 0);
    ck_assert_int_eq(moat_ring_attach(&p->cons, &p->sh, p->data, cap, start), 0);
}

static uint32_t space_of(const struct moat_ring *r)
{
    uint32_t s = 0xdead;
    ck_assert_int_eq(moat_ring_space(r, &s), 0);
    return s;
}

static uint32_t avail_of(const struct moat_ring *r)
{
    uint32_t a = 0xdead;
    ck_assert_int_eq(moat_ring_avail(r, &a), 0);
    return a;
}

START_TEST(ring_layout)
{
    ck_assert_uint_eq(offsetof(struct moat_ring_sh, prod), 0);
    ck_assert_uint_eq(offsetof(struct moat_ring_sh, cons), MOAT_CACHELINE);
}
END_TEST

START_TEST(ring_attach_rules)
{
    struct moat_ring_sh sh;
    uint8_t d[16];
    struct moat_ring r;
    static const uint32_t bad[] = {0, 1, 3, 6, 12, 0x80000001u, 0xffffffffu};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(moat_ring_attach(&r, &sh, d, bad[i], 0), MOAT_E_INVAL);
    ck_assert_int_eq(moat_ring_attach(&r, &sh, d, 2, 0), 0);
    ck_assert_uint_eq(r.mask, 1);
    ck_assert_int_eq(moat_ring_attach(&r, &sh, d, 16, 7), 0);
    ck_assert_uint_eq(r.mask, 15);
    ck_assert_uint_eq(r.local, 7);
    moat_ring_reset(&sh);
    ck_assert_uint_eq(atomic_load(&sh.prod), 0);
    ck_assert_uint_eq(atomic_load(&sh.cons), 0);
}
END_TEST

START_TEST(ring_empty_full)
{
    struct pair p;
    pair_init(&p, 16, 0);
    ck_assert_uint_eq(space_of(&p.prod), 16);
    ck_assert_uint_eq(avail_of(&p.cons), 0);
    uint8_t in[16], out[16];
    for (unsigned i = 0; i < 16; i++)
        in[i] = (uint8_t)(i + 1);
    moat_ring_put(&p.prod, 0, in, 10);
    ck_assert_uint_eq(avail_of(&p.cons), 0);        /* not yet published */
    moat_ring_put(&p.prod, 10, in + 10, 6);
    moat_ring_publish(&p.prod, 16);
    ck_assert_uint_eq(space_of(&p.prod), 0);        /* full */
    ck_assert_uint_eq(avail_of(&p.cons), 16);
    moat_ring_get(&p.cons, 0, out, 16);
    ck_assert_mem_eq(out, in, 16);
    ck_assert_uint_eq(space_of(&p.prod), 0);        /* not yet consumed */
    moat_ring_consume(&p.cons, 5);
    ck_assert_uint_eq(space_of(&p.prod), 5);
    ck_assert_uint_eq(avail_of(&p.cons), 11);
    moat_ring_get(&p.cons, 3, out, 2);              /* peek at an offset */
    ck_assert_uint_eq(out[0], 9);
    ck_assert_uint_eq(out[1], 10);
    moat_ring_consume(&p.cons, 11);
    ck_assert_uint_eq(avail_of(&p.cons), 0);
    ck_assert_uint_eq(space_of(&p.prod), 16);
}
END_TEST

/* Records that straddle the end of the data area come out whole; the
 * indices run across 2^32 without a hiccup. */
START_TEST(ring_wrap)
{
    static const uint32_t starts[] = {0, 5, 0xfffffff0u, 0xfffffffbu, 0x7ffffffcu};
    for (unsigned s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        struct pair p;
        pair_init(&p, 32, starts[s]);
        uint32_t seq = 0, got = 0;
        for (unsigned round = 0; round < 200; round++) {
            uint32_t n = 1 + round % 13;
            uint8_t rec[16], out[16];
            if (space_of(&p.prod) >= n) {
                for (uint32_t i = 0; i < n; i++)
                    rec[i] = (uint8_t)(seq + i);
                moat_ring_put(&p.prod, 0, rec, n);
                moat_ring_publish(&p.prod, n);
                seq += n;
            }
            uint32_t a = avail_of(&p.cons);
            uint32_t take = a > 7 ? 7 : a;
            moat_ring_get(&p.cons, 0, out, take);
            for (uint32_t i = 0; i < take; i++)
                ck_assert_uint_eq(out[i], (uint8_t)(got + i));
            moat_ring_consume(&p.cons, take);
            got += take;
            ck_assert_uint_le(avail_of(&p.cons) + space_of(&p.prod), 32);
            ck_assert_uint_eq(avail_of(&p.cons) + space_of(&p.prod), 32);
        }
        ck_assert_uint_gt(got, 200);
    }
}
END_TEST

START_TEST(ring_copy_full_capacity)
{
    struct pair p;
    pair_init(&p, 64, 40);
    uint8_t in[64], out[64];
    for (unsigned i = 0; i < 64; i++)
        in[i] = (uint8_t)(0xa0 ^ i);
    moat_ring_put(&p.prod, 0, in, 64);
    moat_ring_publish(&p.prod, 64);
    ck_assert_uint_eq(avail_of(&p.cons), 64);
    moat_ring_get(&p.cons, 0, out, 64);
    ck_assert_mem_eq(out, in, 64);
    /* byte 0 of the record landed at data[40] */
    ck_assert_uint_eq(p.data[40], in[0]);
    ck_assert_uint_eq(p.data[39], in[63]);
}
END_TEST

/* The peer's index is never trusted: impossible values are MOAT_E_PEER. */
START_TEST(ring_hostile_peer)
{
    struct pair p;
    pair_init(&p, 16, 100);
    uint32_t v;
    /* producer claims more than the capacity */
    atomic_store(&p.sh.prod, 100 + 17);
    ck_assert_int_eq(moat_ring_avail(&p.cons, &v), MOAT_E_PEER);
    /* producer index behind ours */
    atomic_store(&p.sh.prod, 99);
    ck_assert_int_eq(moat_ring_avail(&p.cons, &v), MOAT_E_PEER);
    atomic_store(&p.sh.prod, 100 + 16);
    ck_assert_int_eq(moat_ring_avail(&p.cons, &v), 0);
    ck_assert_uint_eq(v, 16);
    /* consumer claims to have read what was never written */
    atomic_store(&p.sh.prod, 100);
    atomic_store(&p.sh.cons, 101);
    ck_assert_int_eq(moat_ring_space(&p.prod, &v), MOAT_E_PEER);
    atomic_store(&p.sh.cons, 100 - 17);
    ck_assert_int_eq(moat_ring_space(&p.prod, &v), MOAT_E_PEER);
    /* exactly one capacity behind is legal: the ring is full */
    atomic_store(&p.sh.cons, 100 - 16);
    ck_assert_int_eq(moat_ring_space(&p.prod, &v), 0);
    ck_assert_uint_eq(v, 0);
}
END_TEST

/* Fixed-size records (the ctl/evt use): 64-byte messages fill the ring
 * exactly. */
START_TEST(ring_messages)
{
    enum { CAP = 4 * 64 };
    struct moat_ring_sh *sh = aligned_alloc(64, sizeof *sh);
    uint8_t *data = aligned_alloc(64, CAP);
    ck_assert_ptr_nonnull(sh);
    ck_assert_ptr_nonnull(data);
    moat_ring_reset(sh);
    struct moat_ring pr, co;
    ck_assert_int_eq(moat_ring_attach(&pr, sh, data, CAP, 0), 0);
    ck_assert_int_eq(moat_ring_attach(&co, sh, data, CAP, 0), 0);
    uint8_t m[64], o[64];
    for (unsigned k = 0; k < 1000; k++) {
        unsigned burst = 1 + k % 4;
        for (unsigned i = 0; i < burst; i++) {
            ck_assert_uint_ge(space_of(&pr), 64);
            memset(m, (int)(k * 4 + i), sizeof m);
            moat_ring_put(&pr, 0, m, 64);
            moat_ring_publish(&pr, 64);
        }
        if (burst == 4)
            ck_assert_uint_eq(space_of(&pr), 0);
        for (unsigned i = 0; i < burst; i++) {
            ck_assert_uint_ge(avail_of(&co), 64);
            moat_ring_get(&co, 0, o, 64);
            moat_ring_consume(&co, 64);
            memset(m, (int)(k * 4 + i), sizeof m);
            ck_assert_mem_eq(o, m, 64);
        }
    }
    free(sh);
    free(data);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, ring_layout);
    tcase_add_test(tc, ring_attach_rules);
    tcase_add_test(tc, ring_empty_full);
    tcase_add_test(tc, ring_wrap);
    tcase_add_test(tc, ring_copy_full_capacity);
    tcase_add_test(tc, ring_hostile_peer);
    tcase_add_test(tc, ring_messages);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(ring_suite)
