/* SPDX-License-Identifier: MIT */
/*
 * Deterministic mutation of real frames (FUZZ-SINGLE-1 made exhaustive for
 * one-edit mutants): for each seed frame (ARP request, ICMP echo, UDP
 * datagram, UDP with IP options, both fragments of a datagram, an ICMP
 * error about our UDP, a TCP SYN) every truncation, every single-bit flip,
 * and every byte set to 0x00 and to 0xff is injected, once as is and once
 * with the IP/ICMP/UDP/TCP checksums recomputed so the mutant reaches the
 * deep parsers. After every input:
 *   - nothing crashed (run it under the ASan/UBSan build too);
 *   - every frame the stack sent is well formed (the fixture checks it);
 *   - the input is accounted: a drop counter went up, or something was
 *     delivered/answered (udp_in, frames_out, tcp_segs_in, a reassembly
 *     buffer held, a socket error posted), or it is a well-formed ARP
 *     packet (the cache update has no counter by design);
 *   - packet buffers in use are exactly those held by reassembly and ARP
 *     queues; every 64 inputs the timers run past every lifetime and the
 *     pool must be back to idle.
 */
#include <stdio.h>
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"
#include "core/core_priv.h"

#define P 12345
#define PORT_R 5000
#define PORT_C 4001

enum seed_kind {
    S_ARP, S_ECHO, S_UDP, S_UDP_OPTS, S_FRAG1, S_FRAG2, S_ICMP_ERR, S_TCP_SYN, S_COUNT
};

static const char *const seed_name[S_COUNT] = {
    "arp-request", "icmp-echo", "udp", "udp-ip-options", "frag-first", "frag-last",
    "icmp-unreach-about-udp", "tcp-syn",
};

struct mstate {
    struct fx f;
    uint32_t hb, hc;            /* bound, connected sockets */
    unsigned inputs, unaccounted;
    unsigned by_class[4];       /* see unaccounted_class() */
    bool strict;                /* fail on unaccounted inputs */
    char first_bad[512];
};

static size_t make_seed(struct fx *f, int kind, uint8_t *buf)
{
    uint8_t l4[256], data[64];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(0x30 + i);
    switch (kind) {
    case S_ARP:
        return fx_arp(buf, 1, fx_r_mac, FX_R_IP, fx_zero_mac, FX_L_IP, NULL, false);
    case S_ECHO: {
        size_t n = fx_icmp_echo(l4, 8, 0x77, 1, data, 56, false);
        struct fx_ip ip = FX_IP(.proto = 1);
        return fx_ip4(f, 0, buf, &ip, l4, n);
    }
    case S_UDP: {
        struct fx_ip ip = FX_IP(.proto = 17);
        return fx_udp_frame(f, 0, buf, &ip, PORT_R, P, data, 16, FX_CK_OK);
    }
    case S_UDP_OPTS: {
        static const uint8_t opts[4] = {1, 1, 1, 0};
        struct fx_ip ip = FX_IP(.proto = 17, .opts = opts, .opt_len = 4);
        return fx_udp_frame(f, 0, buf, &ip, PORT_R, P, data, 12, FX_CK_OK);
    }
    case S_FRAG1:
    case S_FRAG2: {
        size_t n = fx_udp_seg(l4, FX_R_IP, FX_L_IP, PORT_R, P, data, 32, FX_CK_OK, 0);
        struct fx_ip ip = FX_IP(.proto = 17, .id = 0xf00d, .mf = kind == S_FRAG1,
                                .frag_off = kind == S_FRAG1 ? 0 : 24);
        if (kind == S_FRAG1)
            return fx_ip4(f, 0, buf, &ip, l4, 24);
        return fx_ip4(f, 0, buf, &ip, l4 + 24, n - 24);
    }
    case S_ICMP_ERR: {
        uint8_t inner[128];
        struct fx_ip q = FX_IP(.proto = 17, .src = FX_L_IP, .dst = FX_R_IP);
        size_t qn = fx_udp_frame(f, 0, inner, &q, PORT_C, PORT_R, data, 10, FX_CK_OK);
        (void)qn;
        l4[0] = 3;
        l4[1] = 3;
        memset(l4 + 2, 0, 6);
        memcpy(l4 + 8, inner + 14, 28);
        wr16(l4 + 2, fx_cksum(l4, 36));
        struct fx_ip ip = FX_IP(.proto = 1);
        return fx_ip4(f, 0, buf, &ip, l4, 36);
    }
    case S_TCP_SYN: {
        memset(l4, 0, 24);
        wr16(l4, PORT_R);
        wr16(l4 + 2, 80);
        l4[4] = 0x12;                       /* seq */
        l4[12] = 6 << 4;                    /* data offset 6: one option word */
        l4[13] = 0x02;                      /* SYN */
        wr16(l4 + 14, 65535);
        l4[20] = 2;                         /* MSS 1460 */
        l4[21] = 4;
        wr16(l4 + 22, 1460);
        wr16(l4 + 16, fx_l4_cksum(FX_R_IP, FX_L_IP, 6, l4, 24));
        struct fx_ip ip = FX_IP(.proto = 6);
        return fx_ip4(f, 0, buf, &ip, l4, 24);
    }
    default:
        ck_abort_msg("unknown seed %d", kind);
        return 0;
    }
}

/* Recompute whatever checksums the (mutated) headers make computable. */
static void fix_checksums(uint8_t *fr, size_t len)
{
    if (len < 14 + 20 || rd16(fr + 12) != 0x0800)
        return;
    uint8_t *h = fr + 14;
    size_t avail = len - 14;
    size_t hl = (size_t)(h[0] & 0x0f) * 4;
    if (hl < 20 || hl > avail)
        return;
    wr16(h + 10, 0);
    wr16(h + 10, fx_cksum(h, hl));
    size_t tot = rd16(h + 2);
    if (tot < hl || tot > avail)
        return;
    if (rd16(h + 6) & 0x3fff)
        return;                             /* a fragment: no L4 header here */
    uint8_t *l4 = h + hl;
    size_t n = tot - hl;
    uint32_t src = (uint32_t)rd16(h + 12) << 16 | rd16(h + 14);
    uint32_t dst = (uint32_t)rd16(h + 16) << 16 | rd16(h + 18);
    switch (h[9]) {
    case 1:
        if (n >= 4) {
            wr16(l4 + 2, 0);
            wr16(l4 + 2, fx_cksum(l4, n));
        }
        break;
    case 17:
        if (n >= 8) {
            size_t ul = rd16(l4 + 4);
            if (ul >= 8 && ul <= n && rd16(l4 + 6) != 0) {
                wr16(l4 + 6, 0);
                uint16_t c = fx_l4_cksum(src, dst, 17, l4, ul);
                wr16(l4 + 6, c ? c : 0xffff);
            }
        }
        break;
    case 6:
        if (n >= 20) {
            wr16(l4 + 16, 0);
            wr16(l4 + 16, fx_l4_cksum(src, dst, 6, l4, n));
        }
        break;
    default:
        break;
    }
}

/* A well-formed Ethernet/IPv4 ARP packet for this interface: processed
 * (cache updated or ignored) without a counter, by design. */
static bool wellformed_arp(const uint8_t *fr, size_t len)
{
    if (len < 42 || rd16(fr + 12) != 0x0806)
        return false;
    if (!(fr[0] & 1) && memcmp(fr, fx_l_mac, 6) != 0)
        return false;
    const uint8_t *a = fr + 14;
    uint16_t op = rd16(a + 6);
    return rd16(a) == 1 && rd16(a + 2) == 0x0800 && a[4] == 6 && a[5] == 4 &&
           (op == 1 || op == 2) && !(a[8] & 1);
}

static uint64_t held_by_arp(const struct mcore *c)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < c->arp.n; i++)
        n += c->arp.tab[i].nq;
    return n;
}

/* Why an input went unaccounted, for the failure message. */
static const char *const class_name[4] = {
    "IPv4 fragment (duplicate of held data)", "ICMP query/reply or broadcast echo ignored",
    "ICMP error matching no socket or ignored", "other",
};

static unsigned unaccounted_class(const uint8_t *fr, size_t len)
{
    struct fx_pkt p;
    if (!fx_parse(fr, len, &p) || !p.is_ip || !p.l4)
        return 3;
    if (p.mf || p.frag_off)
        return 0;
    if (p.proto == 1 && p.l4_len >= 1) {
        uint8_t t = p.l4[0];
        return (t == 3 || t == 4 || t == 5 || t == 11 || t == 12) ? 2 : 1;
    }
    return 3;
}

static void drain(struct mstate *m)
{
    uint8_t buf[256];
    size_t got;
    uint32_t hs[2] = {m->hb, m->hc};
    for (unsigned k = 0; k < 2; k++)
        for (unsigned i = 0; i < 1000 && fx_recvfrom(&m->f, hs[k], buf, sizeof buf, &got,
                                                   NULL, NULL) == 0; i++)
            ;
    int64_t v;
    ck_assert_int_eq(fx_getopt(&m->f, m->hc, MOAT_OPT_ERROR, &v), 0);
}

static void settle(struct mstate *m)
{
    struct fx *f = &m->f;
    fx_advance(f, (uint64_t)f->cfg.reass_timeout_ms * 1000u + 5000000u);
    struct moat_stats st = fx_stats(f);
    ck_assert_msg(st.pkt_in_use == 0, "after %u inputs and all timers: %llu buffers held",
                  m->inputs, (unsigned long long)st.pkt_in_use);
    fx_tx_clear(f);
}

static void one_input(struct mstate *m, const uint8_t *fr, size_t len, const char *what)
{
    struct fx *f = &m->f;
    struct mcore *c = f->core;
    struct moat_stats a = fx_stats(f);
    uint32_t reass0 = c->reass_pkts;
    uint64_t arpq0 = held_by_arp(c);
    uint32_t err0 = fx_sock_status(f, m->hc) & MOAT_SS_ERR;

    fx_inject(f, 0, fr, len);
    m->inputs++;

    struct moat_stats b = fx_stats(f);
    ck_assert_uint_eq(b.frames_in, a.frames_in + 1);
    bool accounted = moat_stats_drops_total(&b) > moat_stats_drops_total(&a) ||
                     b.frames_out > a.frames_out || b.udp_in > a.udp_in ||
                     b.tcp_segs_in > a.tcp_segs_in || b.ip_reassembled > a.ip_reassembled ||
                     c->reass_pkts > reass0 || held_by_arp(c) > arpq0 ||
                     (!err0 && (fx_sock_status(f, m->hc) & MOAT_SS_ERR)) ||
                     wellformed_arp(fr, len);
    if (!accounted) {
        m->by_class[unaccounted_class(fr, len)]++;
        if (m->unaccounted++ == 0)
            snprintf(m->first_bad, sizeof m->first_bad, "%s", what);
        if (m->strict && m->unaccounted <= 20)
            fprintf(stderr, "unaccounted: %s\n", what);
    }
    ck_assert_msg(b.pkt_in_use == (uint64_t)c->reass_pkts + held_by_arp(c),
                  "%s: %llu buffers in use, reassembly holds %u, ARP queues %llu", what,
                  (unsigned long long)b.pkt_in_use, c->reass_pkts,
                  (unsigned long long)held_by_arp(c));
    drain(m);
    if (m->inputs % 64 == 0)
        settle(m);
    else
        fx_tx_clear(f);
}

static void run_seed(int kind, bool fix, bool strict)
{
    struct mstate m;
    memset(&m, 0, sizeof m);
    m.strict = strict;
    fx_init(&m.f);
    fx_arp_seed(&m.f);
    m.hb = fx_udp_bound(&m.f, 0, P);
    m.hc = fx_udp_bound(&m.f, 0, PORT_C);
    ck_assert_int_eq(fx_connect(&m.f, m.hc, FX_R_IP, PORT_R), 0);

    uint8_t seed[256], mut[256];
    char what[160];
    size_t n = make_seed(&m.f, kind, seed);
    ck_assert_uint_le(n, sizeof seed);

    /* the seed itself is accepted (answered, delivered or held) */
    struct moat_stats a = fx_stats(&m.f);
    one_input(&m, seed, n, seed_name[kind]);
    struct moat_stats b = fx_stats(&m.f);
    ck_assert_msg(moat_stats_drops_total(&b) == moat_stats_drops_total(&a) ||
                  kind == S_TCP_SYN,
                  "seed %s itself was dropped", seed_name[kind]);

    for (size_t cut = 0; cut < n; cut++) {
        memcpy(mut, seed, cut);
        if (fix)
            fix_checksums(mut, cut);
        snprintf(what, sizeof what, "%s%s truncated to %zu", seed_name[kind],
                 fix ? " (fixed)" : "", cut);
        one_input(&m, mut, cut, what);
    }
    for (size_t i = 0; i < n; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(mut, seed, n);
            mut[i] ^= (uint8_t)(1u << bit);
            if (fix)
                fix_checksums(mut, n);
            snprintf(what, sizeof what, "%s%s byte %zu bit %u", seed_name[kind],
                     fix ? " (fixed)" : "", i, bit);
            one_input(&m, mut, n, what);
        }
        for (unsigned v = 0; v < 2; v++) {
            memcpy(mut, seed, n);
            mut[i] = v ? 0xff : 0x00;
            if (fix)
                fix_checksums(mut, n);
            snprintf(what, sizeof what, "%s%s byte %zu = 0x%02x", seed_name[kind],
                     fix ? " (fixed)" : "", i, v ? 0xff : 0);
            one_input(&m, mut, n, what);
        }
    }
    settle(&m);
    ck_assert_msg(!strict || m.unaccounted == 0,
                  "%u of %u inputs neither delivered nor counted as a drop "
                  "[%s: %u; %s: %u; %s: %u; %s: %u]; first: %s",
                  m.unaccounted, m.inputs, class_name[0], m.by_class[0], class_name[1],
                  m.by_class[1], class_name[2], m.by_class[2], class_name[3], m.by_class[3],
                  m.first_bad);
    fx_teardown(&m.f);
}

/* Survival: no crash, no sanitizer report, no leak, valid output. */
START_TEST(mutate_raw)
{
    run_seed(_i, false, false);
}
END_TEST

START_TEST(mutate_fixed)
{
    run_seed(_i, true, false);
}
END_TEST

/* Accounting: the same inputs, each delivered or counted. */
START_TEST(account_raw)
{
    run_seed(_i, false, true);
}
END_TEST

START_TEST(account_fixed)
{
    run_seed(_i, true, true);
}
END_TEST

/* Oversized and odd-sized frames: up to 64 KiB of garbage and of valid
 * headers with huge lengths. */
START_TEST(oversize_frames)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    static uint8_t big[65536];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    memcpy(big, fx_l_mac, 6);
    const size_t sizes[] = {14, 15, 60, 1514, 1515, 9018, 65535, 65536};
    for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        wr16(big + 12, 0x0800);
        big[14] = 0x45;
        wr16(big + 16, 0xffff);
        fix_checksums(big, sizes[k]);
        fx_inject(&f, 0, big, sizes[k]);
        wr16(big + 12, 0x0806);
        fx_inject(&f, 0, big, sizes[k]);
    }
    /* a real UDP datagram in a jumbo frame to an MTU-1500 interface */
    uint32_t h = fx_udp_bound(&f, 0, P);
    struct fx_ip ip = FX_IP(.proto = 17);
    static uint8_t payload[3000];
    memset(payload, 0x3c, sizeof payload);
    size_t n = fx_udp_frame(&f, 0, big, &ip, PORT_R, P, payload, sizeof payload, FX_CK_OK);
    fx_inject(&f, 0, big, n);
    (void)h;
    ck_assert_uint_eq(fx_stats(&f).frames_in, 2 * 8 + 1);
    fx_teardown(&f);
}
END_TEST

static Suite *malformed_suite(void)
{
    Suite *s = suite_create("malformed");
    TCase *tr = tcase_create("raw");
    tcase_set_timeout(tr, 300);
    tcase_add_loop_test(tr, mutate_raw, 0, S_COUNT);
    suite_add_tcase(s, tr);
    TCase *tf = tcase_create("fixed");
    tcase_set_timeout(tf, 300);
    tcase_add_loop_test(tf, mutate_fixed, 0, S_COUNT);
    suite_add_tcase(s, tf);
    TCase *ta = tcase_create("accounting");
    tcase_set_timeout(ta, 300);
    tcase_add_loop_test(ta, account_raw, 0, S_COUNT);
    tcase_add_loop_test(ta, account_fixed, 0, S_COUNT);
    suite_add_tcase(s, ta);
    TCase *to = tcase_create("oversize");
    tcase_set_timeout(to, 60);
    tcase_add_test(to, oversize_frames);
    suite_add_tcase(s, to);
    return s;
}

MOAT_CHECK_MAIN(malformed_suite)
