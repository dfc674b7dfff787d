/* SPDX-License-Identifier: MIT */
/*
 * moat-fetch's URL parser and address order (examples/fetch_url.c, linked
 * in by tests/unit/tests.cmake): IPv6 literals with zones and ports, the
 * Host header, bad input refused with a reason, and which family is tried
 * first.
 */
#include <string.h>

#include "examples/fetch_url.h"
#include "support/check_main.h"

static struct fetch_url u;
static const char *why;

static void ok(const char *text)
{
    why = NULL;
    ck_assert_msg(fetch_url_parse(text, &u, &why) == 0, "%s: %s", text, why ? why : "?");
}

/* Refused, with a reason containing @p part. */
static void refused(const char *text, const char *part)
{
    why = NULL;
    ck_assert_msg(fetch_url_parse(text, &u, &why) == -1, "%s accepted", text);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, part) != NULL, "%s: '%s' lacks '%s'", text, why, part);
    ck_assert_ptr_null(strchr(why, '\n'));
}

START_TEST(names_and_ipv4)
{
    ok("http://files.moat.test:8000/file.bin");
    ck_assert_str_eq(u.host, "files.moat.test");
    ck_assert_uint_eq(u.port, 8000);
    ck_assert_str_eq(u.path, "/file.bin");
    ck_assert_int_eq(u.is_ip6, 0);
    ck_assert_str_eq(u.host_hdr, "files.moat.test:8000");
    ok("http://192.0.2.1");
    ck_assert_str_eq(u.host, "192.0.2.1");
    ck_assert_uint_eq(u.port, 80);
    ck_assert_str_eq(u.path, "/");
    ck_assert_str_eq(u.host_hdr, "192.0.2.1");
    ok("http://h/a?b=c#frag");
    ck_assert_str_eq(u.path, "/a?b=c");
    ok("http://h?q");
    ck_assert_str_eq(u.path, "/?q");
}
END_TEST

START_TEST(ipv6_literals)
{
    static const uint8_t a1[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    ok("http://[2001:db8::1]:8080/x");
    ck_assert_int_eq(u.is_ip6, 1);
    ck_assert_mem_eq(u.ip6, a1, 16);
    ck_assert_str_eq(u.host, "2001:db8::1");
    ck_assert_str_eq(u.zone, "");
    ck_assert_uint_eq(u.port, 8080);
    ck_assert_str_eq(u.path, "/x");
    ck_assert_str_eq(u.host_hdr, "[2001:db8::1]:8080");
    ok("http://[2001:db8::1]");
    ck_assert_uint_eq(u.port, 80);
    ck_assert_str_eq(u.path, "/");
    ck_assert_str_eq(u.host_hdr, "[2001:db8::1]");
    ok("http://[::ffff:192.0.2.1]/");
    ck_assert_int_eq(u.is_ip6, 1);
    /* zones: RFC 6874 "%25", and the bare '%' people type; never in Host */
    ok("http://[fe80::1%25tap0]:81/y");
    ck_assert_str_eq(u.zone, "tap0");
    ck_assert_str_eq(u.host, "fe80::1");
    ck_assert_str_eq(u.host_hdr, "[fe80::1]:81");
    ok("http://[fe80::1%1]/");
    ck_assert_str_eq(u.zone, "1");
    ok("http://[fe80::1%252]/");    /* %25 + "2" */
    ck_assert_str_eq(u.zone, "2");
}
END_TEST

START_TEST(bad_input)
{
    refused("https://h/", "https");
    refused("ftp://h/", "http://");
    refused("http://", "without a host");
    refused("http:///x", "without a host");
    refused("http://[2001:db8::1/x", "closing ']'");
    refused("http://[]/", "bad IPv6");
    refused("http://[2001:db8::g]/", "bad IPv6");
    refused("http://[192.0.2.1]/", "bad IPv6");
    refused("http://[2001:db8::1]x/", "after the host");
    refused("http://[2001:db8::1%25eth0]/", "link-local");
    refused("http://[fe80::1%25]/", "zone");
    refused("http://[fe80::1%]/", "zone");
    refused("http://[fe80::1%25a/b]/", "zone");
    refused("http://h:0/", "port");
    refused("http://h:65536/", "port");
    refused("http://h:99999999999999999999/", "port");
    refused("http://h:/", "port");
    refused("http://h:8o/", "after the host");
    refused("http://user@h/", "user information");
    refused("http://h o/", "host name");
    refused("http://h/a b", "spaces");
    refused("http://h/a\r\nX: y", "line breaks");
    char longhost[300];
    memset(longhost, 'a', sizeof longhost);
    memcpy(longhost, "http://", 7);
    longhost[sizeof longhost - 1] = 0;
    refused(longhost, "longer than 255");
}
END_TEST

START_TEST(zone_scope)
{
    uint32_t scope = 0;
    ck_assert_int_eq(fetch_zone_scope("1", "tap0", 1, &scope), 0);
    ck_assert_uint_eq(scope, 1);
    ck_assert_int_eq(fetch_zone_scope("tap0", "tap0", 1, &scope), 0);
    ck_assert_uint_eq(scope, 1);
    ck_assert_int_eq(fetch_zone_scope("2", "tap0", 2, &scope), 0);
    ck_assert_uint_eq(scope, 2);
    ck_assert_int_eq(fetch_zone_scope("2", "tap0", 1, &scope), -1);
    ck_assert_int_eq(fetch_zone_scope("0", "tap0", 1, &scope), -1);
    ck_assert_int_eq(fetch_zone_scope("1x", "tap0", 1, &scope), -1);
    ck_assert_int_eq(fetch_zone_scope("eth0", "tap0", 1, &scope), -1);
    ck_assert_int_eq(fetch_zone_scope("eth0", NULL, 1, &scope), -1);
}
END_TEST

START_TEST(global6_held)
{
    struct moat_ip6_info in;
    memset(&in, 0, sizeof in);
    static const uint8_t ll[16] = {0xfe, 0x80, [15] = 5};
    static const uint8_t g[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5};
    memcpy(in.addr[0], ll, 16);
    in.state[0] = MOAT_IP6_PREFERRED;
    ck_assert_int_eq(fetch_have_global6(&in), 0);   /* link-local only */
    memcpy(in.addr[1], g, 16);
    ck_assert_int_eq(fetch_tentative_global6(&in), 0);
    in.state[1] = MOAT_IP6_TENTATIVE;
    ck_assert_int_eq(fetch_have_global6(&in), 0);   /* not usable yet */
    ck_assert_int_eq(fetch_tentative_global6(&in), 1);
    in.state[1] = MOAT_IP6_DUPLICATE;
    ck_assert_int_eq(fetch_have_global6(&in), 0);
    in.state[1] = MOAT_IP6_DEPRECATED;
    ck_assert_int_eq(fetch_have_global6(&in), 1);
    ck_assert_int_eq(fetch_tentative_global6(&in), 0);
    in.state[1] = MOAT_IP6_PREFERRED;
    ck_assert_int_eq(fetch_have_global6(&in), 1);
}
END_TEST

START_TEST(address_order)
{
    struct moat_dns_answer a4, a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    a4.n = 2;
    a4.ip4[0] = 0xc0000201u;
    a4.ip4[1] = 0xc0000202u;
    a6.n = 1;
    a6.ip6[0][0] = 0x20;
    a6.ip6[0][15] = 7;
    struct moat_addr out[16];

    unsigned n = fetch_order(&a6, &a4, 1, FETCH_ANY, 8000, out, 16);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0].family, MOAT_AF_INET6);
    ck_assert_mem_eq(out[0].ip6, a6.ip6[0], 16);
    ck_assert_uint_eq(out[0].port, 8000);
    ck_assert_uint_ne(out[1].family, MOAT_AF_INET6);
    ck_assert_uint_eq(out[1].ip, 0xc0000201u);
    ck_assert_uint_eq(out[2].ip, 0xc0000202u);
    ck_assert_uint_eq(out[2].port, 8000);

    /* no global IPv6 address: IPv4 first, IPv6 still tried last */
    n = fetch_order(&a6, &a4, 0, FETCH_ANY, 80, out, 16);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0].ip, 0xc0000201u);
    ck_assert_uint_eq(out[2].family, MOAT_AF_INET6);

    /* -4 / -6 */
    n = fetch_order(&a6, &a4, 1, FETCH_IP4_ONLY, 80, out, 16);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_ne(out[0].family, MOAT_AF_INET6);
    n = fetch_order(&a6, &a4, 0, FETCH_IP6_ONLY, 80, out, 16);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0].family, MOAT_AF_INET6);

    /* a failed lookup (NULL), and the bound on out */
    n = fetch_order(NULL, &a4, 1, FETCH_ANY, 80, out, 16);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0].ip, 0xc0000201u);
    n = fetch_order(&a6, NULL, 0, FETCH_IP4_ONLY, 80, out, 16);
    ck_assert_uint_eq(n, 0);
    n = fetch_order(&a6, &a4, 1, FETCH_ANY, 80, out, 2);
    ck_assert_uint_eq(n, 2);
}
END_TEST

static Suite *fetch_url_suite(void)
{
    Suite *s = suite_create("fetch_url");
    TCase *tc = tcase_create("fetch_url");
    tcase_add_test(tc, names_and_ipv4);
    tcase_add_test(tc, ipv6_literals);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, zone_scope);
    tcase_add_test(tc, global6_held);
    tcase_add_test(tc, address_order);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(fetch_url_suite)
