/* SPDX-License-Identifier: MIT */
/*
 * Deterministic one-edit mutants of real IPv6 frames (as test_malformed.c
 * does for IPv4): for each seed (echo, echo behind hop-by-hop and
 * destination options, NS with SLLA, RA with SLLA/prefix/MTU, the first
 * fragment of a datagram, an MLD query, a packet too big about our echo
 * reply) every truncation, every single-bit flip, and every byte set to
 * 0x00 and to 0xff is injected, as is and with the upper-layer checksum
 * recomputed so that the mutant reaches the deep parsers. After each:
 * nothing crashed (also under ASan/UBSan), every frame the stack sent is
 * well formed (the fixture checks each, fx6_check_frame), and every 64
 * inputs the timers run past every lifetime; at the end the packet pool
 * must be idle (fx_teardown).
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx6.h"

enum { S_ECHO, S_EXT, S_NS, S_RA, S_FRAG, S_MLDQ, S_PTB, S_COUNT };

static uint8_t msg[2048];

static size_t make_seed(struct fx *f, int kind, uint8_t *buf)
{
    uint8_t pl[1600];
    static const uint8_t sn[16] = {0xff, 0x02, [11] = 1, [12] = 0xff, 0, 0, 1};
    struct fx6_ip ip = {.nh = 58, .plen = -1};
    size_t n;
    switch (kind) {
    case S_ECHO:
        n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 128, 0, 0x00010001, "0123456789abcdef", 16);
        return fx6_frame(f, buf, &ip, msg, n);
    case S_EXT: {
        uint8_t h[16] = {60, 0, 5, 2, 0, 0, 1, 0, 58, 0, 0x1e, 4, 0, 0, 0, 0};
        memcpy(pl, h, 16);
        n = fx6_icmp(pl + 16, fx6_r_ip, fx6_l_ip, 128, 0, 2, "ext", 3);
        ip.nh = 0;
        return fx6_frame(f, buf, &ip, pl, 16 + n);
    }
    case S_NS: {
        uint8_t b[24];
        memcpy(b, fx6_l_ip, 16);
        b[16] = 1;
        b[17] = 1;
        memcpy(b + 18, fx_r_mac, 6);
        n = fx6_icmp(msg, fx6_r_ip, sn, 135, 0, 0, b, 24);
        ip.dst = sn;
        ip.hlim = 255;
        return fx6_frame(f, buf, &ip, msg, n);
    }
    case S_RA: {
        uint8_t b[56] = {0};
        b[8] = 1, b[9] = 1;
        memcpy(b + 10, fx_r_mac, 6);
        uint8_t *o = b + 16;
        o[0] = 3, o[1] = 4, o[2] = 64, o[3] = 0xc0;
        o[6] = 0x0e, o[7] = 0x10, o[10] = 0x07, o[11] = 0x08;
        static const uint8_t pfx[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 7};
        memcpy(o + 16, pfx, 8);
        b[48] = 5, b[49] = 1, b[54] = 0x05, b[55] = 0x78;
        n = fx6_icmp(msg, fx6_r_ll, fx6_all_nodes, 134, 0, (64u << 24) | 600, b, sizeof b);
        ip.src = fx6_r_ll;
        ip.dst = fx6_all_nodes;
        ip.hlim = 255;
        return fx6_frame(f, buf, &ip, msg, n);
    }
    case S_FRAG: {
        uint8_t fh[8] = {58, 0, 0, 1, 0, 0, 0x12, 0x34};
        memcpy(pl, fh, 8);
        uint8_t data[64] = {0};
        n = fx6_icmp(pl + 8, fx6_r_ip, fx6_l_ip, 128, 0, 3, data, sizeof data);
        ip.nh = 44;
        return fx6_frame(f, buf, &ip, pl, 8 + 48);
    }
    case S_MLDQ: {
        uint8_t q[16] = {0};
        n = fx6_icmp(msg, fx6_r_ll, fx6_all_nodes, 130, 0, 100u << 16, q, 16);
        ip.src = fx6_r_ll;
        ip.dst = fx6_all_nodes;
        ip.hlim = 1;
        return fx6_frame(f, buf, &ip, msg, n);
    }
    default: {
        uint8_t q[48] = {0x60, 0, 0, 0, 0, 8, 58, 64};
        memcpy(q + 8, fx6_l_ip, 16);
        memcpy(q + 24, fx6_r_ip, 16);
        q[40] = 129;
        n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 2, 0, 1280, q, sizeof q);
        return fx6_frame(f, buf, &ip, msg, n);
    }
    }
}

/* Recompute the upper-layer checksum after a mutation (the fixed header
 * and the hop-by-hop/destination options walked with bounds). */
static void fix_cksum(uint8_t *fr, size_t len)
{
    if (len < 54 || fr[12] != 0x86 || fr[13] != 0xdd)
        return;
    uint8_t *h = fr + 14;
    size_t n = 40u + (size_t)(h[4] << 8 | h[5]);
    if (n > len - 14)
        return;
    uint8_t nh = h[6];
    size_t off = 40;
    for (int i = 0; i < 4 && (nh == 0 || nh == 60); i++) {
        if (off + 8 > n)
            return;
        nh = h[off];
        off += ((size_t)h[off + 1] + 1) * 8;
    }
    if (off + 4 > n || nh != 58)
        return;
    h[off + 2] = h[off + 3] = 0;
    uint16_t c = fx6_l4_cksum(h + 8, h + 24, 58, h + off, n - off);
    h[off + 2] = (uint8_t)(c >> 8);
    h[off + 3] = (uint8_t)c;
}

static unsigned inputs;

static void feed(struct fx *f, const uint8_t *fr, size_t len, bool fix)
{
    static uint8_t m[2048];
    memcpy(m, fr, len);
    if (fix)
        fix_cksum(m, len);
    fx_inject(f, 0, m, len);
    fx_tx_clear(f);
    if (++inputs % 64 == 0) {
        fx_advance(f, 40000000);    /* past reassembly, NUD and DAD timers */
        fx_tx_clear(f);
    }
}

static void mutate_all(int kind)
{
    struct fx f;
    uint8_t seed[2048], m[2048];
    inputs = 0;
    fx6_init(&f);
    size_t len = make_seed(&f, kind, seed);
    for (int fix = 0; fix < 2; fix++) {
        for (size_t cut = 0; cut < len; cut++)
            feed(&f, seed, cut, fix);
        for (size_t i = 14; i < len; i++) {
            for (int b = 0; b < 8; b++) {
                memcpy(m, seed, len);
                m[i] ^= (uint8_t)(1u << b);
                feed(&f, m, len, fix);
            }
            memcpy(m, seed, len);
            m[i] = 0;
            feed(&f, m, len, fix);
            m[i] = 0xff;
            feed(&f, m, len, fix);
        }
    }
    fx_advance(&f, 40000000);
    ck_assert_uint_ge(inputs, 2 * 10 * (len - 14));    /* every mutant went in */
    ck_assert_uint_gt(fx_drops_total(&f), inputs / 2);  /* most were refused */
    fx_teardown(&f);
}

START_TEST(mutants)
{
    mutate_all(_i);
}
END_TEST

static Suite *malformed6_suite(void)
{
    Suite *s = suite_create("ip6_malformed");
    TCase *tc = tcase_create("ip6_malformed");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, mutants, 0, S_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(malformed6_suite)
