/* SPDX-License-Identifier: MIT */
/*
 * The smallest core: built without TCP and without the DHCP client
 * (core/tcp_none.c and core/dhcp_none.c with MOAT_CORE_TCP=0 and
 * MOAT_CORE_DHCP=0; the library is ports/baremetal's moat_baremetal_min),
 * driven by the ordinary unit fixture (tests/support/fx.c needs nothing
 * but the core). Checks that leaving the parts out behaves as documented
 * (core/tcp_none.c, core/dhcp_none.c, docs/footprint.md): a TCP segment is
 * answered as an unsupported protocol, a STREAM socket cannot be opened,
 * DHCP cannot be configured, and UDP (port 68 included) still works.
 *
 * Not named test_*.c: tests/CMakeLists.txt would link it against the full
 * core. tests/unit/tests.cmake builds it against moat_baremetal_min.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"

#if !defined(MOAT_CORE_TCP) || MOAT_CORE_TCP || !defined(MOAT_CORE_DHCP) || MOAT_CORE_DHCP
#error "core_min.c tests the core built with MOAT_CORE_TCP=0 MOAT_CORE_DHCP=0"
#endif

/* A TCP SYN from R: ICMP protocol unreachable quoting it, counted as
 * IP_PROTO, nothing else sent. */
START_TEST(core_min_tcp_proto_unreach)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint8_t tcp[20] = { 0x9c, 0x40, 0x00, 0x50, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff };
    static uint8_t frame[256];
    struct fx_ip ip = FX_IP(.proto = 6);
    size_t n = fx_ip4(&f, 0, frame, &ip, tcp, sizeof tcp);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP_PROTO), 1);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_icmp);
    ck_assert_uint_eq(p.icmp_type, 3);
    ck_assert_uint_eq(p.icmp_code, 2);          /* protocol unreachable */
    ck_assert_uint_eq(p.dst, FX_R_IP);
    /* the quote: the offending IP header and the first 8 bytes of TCP */
    ck_assert_uint_ge(p.icmp_body_len, 28);
    ck_assert_uint_eq(p.icmp_body[9], 6);
    ck_assert_mem_eq(p.icmp_body + 20, tcp, 8);
    fx_teardown(&f);
}
END_TEST

/* A STREAM socket is refused with NOTSUP (fx_teardown checks that no
 * slot stayed allocated); a DGRAM socket opens, and a datagram to port 68 reaches it (no DHCP
 * client takes it first). */
START_TEST(core_min_sockets)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = 0;
    ck_assert_int_eq(fx_sock_open(&f, MOAT_SOCK_STREAM, &h), MOAT_E_NOTSUP);
    uint32_t u = fx_udp_bound(&f, 0, 68);
    fx_inject_udp(&f, 67, 68, "lease?", 6);
    ck_assert_uint_eq(fx_rx_count(&f, u), 1);
    char buf[16];
    size_t got = 0;
    uint32_t from = 0;
    uint16_t port = 0;
    ck_assert_int_eq(fx_recvfrom(&f, u, buf, sizeof buf, &got, &from, &port), 0);
    ck_assert_uint_eq(got, 6);
    ck_assert_mem_eq(buf, "lease?", 6);
    ck_assert_uint_eq(port, 67);
    fx_teardown(&f);
}
END_TEST

/* An interface asking for DHCP is refused at configuration time; the
 * lease information of a static interface says OFF. */
START_TEST(core_min_dhcp)
{
    struct fx f;
    fx_config(&f);
    struct moat_config cfg = f.cfg;
    cfg.ifs[0].dhcp = 1;
    ck_assert_int_eq(moat_config_check(&cfg, NULL, 0), MOAT_E_NOTSUP);
    ck_assert_uint_eq(mcore_mem_size(&cfg), 0);
    fx_start(&f);
    struct moat_stats st = fx_stats(&f);
    ck_assert_uint_eq(st.dhcp[0].state, MOAT_DHCP_OFF);
    ck_assert_uint_eq(st.dhcp[0].ip, FX_L_IP);
    ck_assert_uint_eq(st.dhcp[0].prefix, 24);
    fx_teardown(&f);
}
END_TEST

static Suite *core_min_suite(void)
{
    Suite *s = suite_create("core_min");
    TCase *tc = tcase_create("core_min");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, core_min_tcp_proto_unreach);
    tcase_add_test(tc, core_min_sockets);
    tcase_add_test(tc, core_min_dhcp);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(core_min_suite)
