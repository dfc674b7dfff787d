/* SPDX-License-Identifier: MIT */
/*
 * The internet checksum of core/cksum.c (cksum_add, cksum_fold,
 * cksum_pseudo) against the RFC 1071 example and a plain reference sum
 * (tests/support/fx.c), over every length and alignment up to a few
 * hundred bytes, piecewise accumulation, and carries over 64 KiB.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"
#include "core/core_priv.h"

/* RFC 1071 section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2. */
START_TEST(cksum_rfc1071_example)
{
    static const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint32_t s = cksum_add(0, b, sizeof b);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    ck_assert_uint_eq(s, 0xddf2);
    ck_assert_uint_eq(cksum_fold(cksum_add(0, b, sizeof b)), (uint16_t)~0xddf2);
    ck_assert_uint_eq(fx_cksum(b, sizeof b), (uint16_t)~0xddf2);
}
END_TEST

START_TEST(cksum_edges)
{
    ck_assert_uint_eq(cksum_fold(cksum_add(0, "", 0)), 0xffff);
    static uint8_t z[64], ff[65536];
    ck_assert_uint_eq(cksum_fold(cksum_add(0, z, sizeof z)), 0xffff);
    memset(ff, 0xff, sizeof ff);
    /* 32768 words of ffff: the sum is ffff (negative zero), checksum 0 */
    ck_assert_uint_eq(cksum_fold(cksum_add(0, ff, sizeof ff)), 0);
    ck_assert_uint_eq(cksum_fold(cksum_add(0, ff, 65535)), fx_cksum(ff, 65535));
    /* odd byte is the high half of a zero-padded word */
    static const uint8_t one[1] = {0x12};
    ck_assert_uint_eq(cksum_fold(cksum_add(0, one, 1)), (uint16_t)~0x1200);
    /* a message containing its own checksum sums to zero */
    uint8_t m[10] = {0x45, 0, 0, 28, 0xab, 0xcd, 0, 0, 0x40, 0x11};
    uint16_t c = cksum_fold(cksum_add(0, m, sizeof m));
    m[6] = (uint8_t)(c >> 8);
    m[7] = (uint8_t)c;
    ck_assert_uint_eq(cksum_fold(cksum_add(0, m, sizeof m)), 0);
}
END_TEST

/* Every length 0..300 at every alignment 0..7 agrees with the reference. */
START_TEST(cksum_vs_reference)
{
    static uint8_t buf[320];
    uint32_t x = 0x12345678;
    for (unsigned round = 0; round < 4; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = round == 3 ? 0xff : (uint8_t)(x >> 16);
        }
        for (size_t al = 0; al < 8; al++)
            for (size_t len = 0; len + al <= 300; len++)
                ck_assert_msg(cksum_fold(cksum_add(0, buf + al, len)) == fx_cksum(buf + al, len),
                              "round %u align %zu len %zu", round, al, len);
    }
}
END_TEST

/* Even-length pieces may be added in any order; a start sum carries. */
START_TEST(cksum_piecewise)
{
    static uint8_t buf[2000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 37 + (i >> 7));
    uint16_t whole = cksum_fold(cksum_add(0, buf, 1999));
    for (size_t cut = 0; cut <= 1998; cut += 2) {
        uint32_t s = cksum_add(0, buf, cut);
        s = cksum_add(s, buf + cut, 1999 - cut);
        ck_assert_msg(cksum_fold(s) == whole, "cut %zu", cut);
        uint32_t r = cksum_add(0, buf + cut, 1999 - cut - (1999 - cut) % 2);
        r = cksum_add(r, buf, cut);
        if ((1999 - cut) % 2)
            r = cksum_add(r, buf + 1998, 1);
        ck_assert_msg(cksum_fold(r) == whole, "reordered cut %zu", cut);
    }
    /* a large starting sum (many pieces) still folds right */
    uint32_t s = 0;
    for (unsigned k = 0; k < 1000; k++)
        s = cksum_add(s, buf, 2000);
    uint32_t ref = 0;
    for (unsigned k = 0; k < 1000; k++) {
        uint16_t c = (uint16_t)~fx_cksum(buf, 2000);
        ref += c;
        ref = (ref & 0xffff) + (ref >> 16);
    }
    ck_assert_uint_eq(cksum_fold(s), (uint16_t)~ref);
}
END_TEST

START_TEST(cksum_pseudo_header)
{
    static uint8_t seg[1500];
    for (size_t i = 0; i < sizeof seg; i++)
        seg[i] = (uint8_t)(i ^ 0x5a);
    static const uint32_t addrs[][2] = {
        {FX_IP4(192, 0, 2, 1), FX_IP4(192, 0, 2, 2)},
        {0xffffffffu, 0xffffffffu},
        {0, 0},
        {FX_IP4(198, 18, 255, 254), FX_IP4(10, 0, 0, 1)},
    };
    static const size_t lens[] = {0, 1, 8, 9, 1480, 1499};
    static const uint8_t protos[] = {6, 17, 255};
    for (unsigned a = 0; a < 4; a++)
        for (unsigned l = 0; l < 6; l++)
            for (unsigned p = 0; p < 3; p++) {
                uint32_t s = cksum_pseudo(addrs[a][0], addrs[a][1], protos[p],
                                          (uint32_t)lens[l]);
                uint16_t got = cksum_fold(cksum_add(s, seg, lens[l]));
                uint16_t want = fx_l4_cksum(addrs[a][0], addrs[a][1], protos[p], seg,
                                            lens[l]);
                ck_assert_msg(got == want, "addr %u len %zu proto %u: %04x != %04x", a,
                              lens[l], protos[p], got, want);
            }
    /* a length above 16 bits is summed as two words (TCP over jumbo) */
    uint32_t s = cksum_pseudo(0, 0, 0, 0x10001u);
    ck_assert_uint_eq(cksum_fold(s), (uint16_t)~2);
}
END_TEST

static Suite *cksum_suite(void)
{
    Suite *s = suite_create("cksum");
    TCase *tc = tcase_create("cksum");
    tcase_add_test(tc, cksum_rfc1071_example);
    tcase_add_test(tc, cksum_edges);
    tcase_add_test(tc, cksum_vs_reference);
    tcase_add_test(tc, cksum_piecewise);
    tcase_add_test(tc, cksum_pseudo_header);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(cksum_suite)
