/* SPDX-License-Identifier: MIT */
/*
 * IPv6 extension headers (RFC 8200 4): the walk with bounds, hop-by-hop
 * only first, destination options and the option-type action bits,
 * routing headers (segments left 0 ignored, otherwise refused: we never
 * forward; type 0 per RFC 5095), atomic fragments (RFC 6946), unknown
 * next headers and the bound on the number of headers. Also the text
 * helpers moat_ip6_parse/format.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx6.h"

static uint8_t frame[4096], pl[2048];

/* An echo request (id 1, seq 1, "ping") at @p out, checksummed for R -> L. */
static size_t echo_at(uint8_t *out)
{
    return fx6_icmp(out, fx6_r_ip, fx6_l_ip, 128, 0, 0x00010001, "ping", 4);
}

/* Inject R -> L global with @p nh and @p len bytes of pl. */
static void inject(struct fx *f, uint8_t nh, size_t len)
{
    struct fx6_ip ip = {.nh = nh, .plen = -1};
    fx_inject(f, 0, frame, fx6_frame(f, frame, &ip, pl, len));
}

static bool got_echo_reply(const struct fx *f)
{
    return fx_ntx(f) == 1 && fx6_find_icmp(f, 0, 129) == 0;
}

/* One parameter problem with @p code and pointer @p ptr. */
static void expect_param_problem(const struct fx *f, uint8_t code, uint32_t ptr)
{
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct fx6_pkt p = fx6_tx_pkt(f, 0);
    ck_assert(p.is_icmp6);
    ck_assert_uint_eq(p.icmp_type, 4);
    ck_assert_uint_eq(p.icmp_code, code);
    ck_assert_uint_eq(p.icmp_rest, ptr);
}

START_TEST(hbh_then_echo)
{
    struct fx f;
    fx6_init(&f);
    /* hop-by-hop: next 58, len 0 (8 bytes), router alert, PadN(0) */
    uint8_t h[8] = {58, 0, 5, 2, 0, 0, 1, 0};
    memcpy(pl, h, 8);
    size_t n = echo_at(pl + 8);
    inject(&f, 0, 8 + n);
    ck_assert(got_echo_reply(&f));
    fx_teardown(&f);
}
END_TEST

/* Hop-by-hop after a destination options header: parameter problem code
 * 1 pointing at the next-header byte that named it (the dest opts' first). */
START_TEST(hbh_not_first)
{
    struct fx f;
    fx6_init(&f);
    uint8_t d[8] = {0, 0, 1, 4, 0, 0, 0, 0};        /* dest opts -> HBH, PadN 4 */
    uint8_t h[8] = {58, 0, 1, 4, 0, 0, 0, 0};       /* HBH -> ICMPv6 */
    memcpy(pl, d, 8);
    memcpy(pl + 8, h, 8);
    size_t n = echo_at(pl + 16);
    inject(&f, 60, 16 + n);
    expect_param_problem(&f, 1, 40);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_EXTHDR), 1);
    fx_teardown(&f);
}
END_TEST

START_TEST(routing_refused)
{
    struct fx f;
    fx6_init(&f);
    /* type 0 with one segment left (RFC 5095): refused, pointer at the type */
    uint8_t r[24] = {58, 2, 0, 1};
    memcpy(pl, r, 24);
    size_t n = echo_at(pl + 24);
    inject(&f, 43, 24 + n);
    expect_param_problem(&f, 0, 42);
    fx_tx_clear(&f);
    /* type 4 (segment routing) with segments left: refused the same way */
    pl[2] = 4;
    inject(&f, 43, 24 + n);
    expect_param_problem(&f, 0, 42);
    fx_tx_clear(&f);
    /* segments left 0: the header is ignored, the echo answered */
    pl[3] = 0;
    inject(&f, 43, 24 + n);
    ck_assert(got_echo_reply(&f));
    fx_teardown(&f);
}
END_TEST

/* Destination options: unknown option types by their top two bits. */
START_TEST(dest_option_actions)
{
    struct fx f;
    fx6_init(&f);
    uint8_t d[8] = {58, 0, 0x00, 4, 0, 0, 0, 0};  /* type 0x00 (unknown, skip) */
    memcpy(pl, d, 8);
    size_t n = echo_at(pl + 8);
    d[2] = 0x1e;                                    /* 00: skip */
    memcpy(pl, d, 8);
    inject(&f, 60, 8 + n);
    ck_assert(got_echo_reply(&f));
    fx_tx_clear(&f);
    pl[2] = 0x5e;                                   /* 01: discard silently */
    inject(&f, 60, 8 + n);
    fx_expect_no_tx(&f);
    pl[2] = 0x9e;                                   /* 10: discard + problem code 2 */
    inject(&f, 60, 8 + n);
    expect_param_problem(&f, 2, 42);
    fx_tx_clear(&f);
    pl[2] = 0xde;                                   /* 11: same, unicast dst */
    inject(&f, 60, 8 + n);
    expect_param_problem(&f, 2, 42);
    fx_tx_clear(&f);
    /* 11 to a multicast destination: no error; 10 to multicast: an error */
    size_t m = fx6_icmp(pl + 8, fx6_r_ll, fx6_all_nodes, 128, 0, 1, "p", 1);
    struct fx6_ip ip = {.src = fx6_r_ll, .dst = fx6_all_nodes, .nh = 60, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, pl, 8 + m));
    fx_expect_no_tx(&f);
    pl[2] = 0x9e;
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, pl, 8 + m));
    expect_param_problem(&f, 2, 42);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_EXTHDR), 5);
    fx_teardown(&f);
}
END_TEST

START_TEST(bad_lengths)
{
    struct fx f;
    fx6_init(&f);
    /* an option longer than its header: problem code 0 at the option */
    uint8_t d[8] = {58, 0, 1, 9, 0, 0, 0, 0};
    memcpy(pl, d, 8);
    size_t n = echo_at(pl + 8);
    inject(&f, 60, 8 + n);
    expect_param_problem(&f, 0, 42);
    fx_tx_clear(&f);
    /* a header longer than the datagram: problem at its length byte */
    uint8_t d2[8] = {58, 200, 1, 4, 0, 0, 0, 0};
    memcpy(pl, d2, 8);
    inject(&f, 60, 8 + n);
    expect_param_problem(&f, 0, 41);
    fx_tx_clear(&f);
    /* a header cut short (fewer than 8 bytes left) */
    inject(&f, 60, 4);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_EXTHDR), 3);
    /* no next header (59): silently dropped */
    inject(&f, 59, 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_PROTO), 1);
    fx_teardown(&f);
}
END_TEST

/* A chain of more destination options headers than the walk allows. */
START_TEST(too_many_headers)
{
    struct fx f;
    fx6_init(&f);
    size_t off = 0;
    for (int i = 0; i < 12; i++) {
        uint8_t d[8] = {60, 0, 1, 4, 0, 0, 0, 0};
        if (i == 11)
            d[0] = 58;
        memcpy(pl + off, d, 8);
        off += 8;
    }
    size_t n = echo_at(pl + off);
    inject(&f, 60, off + n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_EXTHDR), 1);
    fx_teardown(&f);
}
END_TEST

/* Offset 0 and M clear (RFC 6946): processed at once, no reassembly. */
START_TEST(atomic_fragment)
{
    struct fx f;
    fx6_init(&f);
    uint8_t fh[8] = {58, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    memcpy(pl, fh, 8);
    size_t n = echo_at(pl + 8);
    inject(&f, 44, 8 + n);
    ck_assert(got_echo_reply(&f));
    ck_assert_uint_eq(fx_stats(&f).ip6_reassembled, 0);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

START_TEST(text_forms)
{
    uint8_t a[16], pfx = 0;
    char buf[MOAT_IP6_STRLEN];
    static const struct { const char *in, *out; } ok[] = {
        {"2001:db8:1::2", "2001:db8:1::2"},
        {"::", "::"},
        {"::1", "::1"},
        {"fe80::c0ff:fe00:201", "fe80::c0ff:fe00:201"},
        {"2001:0DB8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"},
        {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
        {"1::", "1::"},
        {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
        {"::ffff:192.0.2.1", "::ffff:c000:201"},
        {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(moat_ip6_parse(ok[i].in, a) == 0, "%s", ok[i].in);
        ck_assert_str_eq(moat_ip6_format(a, buf), ok[i].out);
    }
    static const char *const bad[] = {"", ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::",
                                      "1:2:3:4:5:6:7", "g::", "1:", ":1", "::1.2.3",
                                      "::256.0.0.1", "1:2:3:4:5:6:7:1.2.3.4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(moat_ip6_parse(bad[i], a) == MOAT_E_INVAL, "%s accepted", bad[i]);
    ck_assert_int_eq(moat_ip6_parse_cidr("2001:db8::5/48", a, &pfx), 0);
    ck_assert_uint_eq(pfx, 48);
    ck_assert_int_eq(moat_ip6_parse_cidr("2001:db8::5/129", a, &pfx), MOAT_E_INVAL);
    ck_assert_int_eq(moat_ip6_parse_cidr("2001:db8::5/0", a, &pfx), MOAT_E_INVAL);
    /* the config check */
    struct moat_config cfg;
    moat_config_defaults(&cfg);
    cfg.ifs[0].ip = 0xc0000201u;
    ck_assert_int_eq(moat_config_check(&cfg, NULL, 0), 0);
    memcpy(cfg.ifs[0].ip6[1], fx6_l_ip, 16);
    ck_assert_int_eq(moat_config_check(&cfg, NULL, 0), MOAT_E_RANGE);   /* prefix 0 */
    cfg.ifs[0].ip6_prefix[1] = 64;
    ck_assert_int_eq(moat_config_check(&cfg, NULL, 0), 0);
    cfg.ifs[0].ip6[1][0] = 0xff;
    ck_assert_int_eq(moat_config_check(&cfg, NULL, 0), MOAT_E_INVAL);   /* multicast */
}
END_TEST

static Suite *ext_suite(void)
{
    Suite *s = suite_create("ip6_ext");
    TCase *tc = tcase_create("ip6_ext");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, hbh_then_echo);
    tcase_add_test(tc, hbh_not_first);
    tcase_add_test(tc, routing_refused);
    tcase_add_test(tc, dest_option_actions);
    tcase_add_test(tc, bad_lengths);
    tcase_add_test(tc, too_many_headers);
    tcase_add_test(tc, atomic_fragment);
    tcase_add_test(tc, text_forms);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(ext_suite)
