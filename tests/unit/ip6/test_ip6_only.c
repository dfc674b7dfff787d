/* SPDX-License-Identifier: MIT */
/*
 * An IPv6-only interface (moat_if_config.ip6_only): no IPv4 address, no
 * DHCP client, IPv6 on.
 * The configuration is checked (the flag needs IPv6 and excludes an IPv4
 * address and DHCP; no address without the flag stays an error), ARP stays
 * quiet (no announcement, no answer), every IPv4 datagram is dropped and
 * counted as IP_NOT_US (broadcasts too), and IPv6 works as usual.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx6.h"

static uint8_t frame[2048], l4[256];

static void v6_only_config(struct fx *f)
{
    fx6_config(f);
    f->cfg.ifs[0].ip = 0;
    f->cfg.ifs[0].ip6_only = 1;
}

START_TEST(config_check)
{
    struct fx f;
    char why[160];
    v6_only_config(&f);
    ck_assert_int_eq(moat_config_check(&f.cfg, why, sizeof why), 0);
    /* without the flag, no address is still a mistake */
    f.cfg.ifs[0].ip6_only = 0;
    ck_assert_int_eq(moat_config_check(&f.cfg, why, sizeof why), MOAT_E_INVAL);
    ck_assert_ptr_nonnull(strstr(why, "no IPv4 address"));
    f.cfg.ifs[0].ip6_only = 1;
    f.cfg.ifs[0].no_ip6 = 1;
    ck_assert_int_eq(moat_config_check(&f.cfg, why, sizeof why), MOAT_E_INVAL);
    ck_assert_ptr_nonnull(strstr(why, "needs IPv6"));
    f.cfg.ifs[0].no_ip6 = 0;
    f.cfg.ifs[0].dhcp = 1;
    ck_assert_int_eq(moat_config_check(&f.cfg, why, sizeof why), MOAT_E_INVAL);
    f.cfg.ifs[0].dhcp = 0;
    f.cfg.ifs[0].ip = FX_L_IP;
    ck_assert_int_eq(moat_config_check(&f.cfg, why, sizeof why), MOAT_E_INVAL);
    ck_assert_ptr_nonnull(strstr(why, "no IPv4 address and no DHCP"));
}
END_TEST

START_TEST(ipv4_quiet_ipv6_answers)
{
    struct fx f;
    v6_only_config(&f);
    fx_start(&f);
    /* no gratuitous ARP at start (nor anything else IPv4) */
    for (unsigned i = 0; i < fx_ntx(&f); i++)
        ck_assert(!fx_tx_pkt(&f, i).is_arp);
    fx_tx_clear(&f);
    fx6_nd_seed(&f);

    /* ARP: a request for 0.0.0.0 (our "address") or anything else: silence */
    size_t n = fx_arp(frame, 1, fx_r_mac, FX_R_IP, (const uint8_t[6]){0}, 0, NULL, false);
    fx_inject(&f, 0, frame, n);
    n = fx_arp(frame, 1, fx_r_mac, FX_R_IP, (const uint8_t[6]){0}, FX_L_IP, NULL, false);
    fx_inject(&f, 0, frame, n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ARP_NOT_US), 2);

    /* IPv4: an echo to the old address, a broadcast UDP datagram */
    n = fx_icmp_echo(l4, 8, 1, 1, "x", 1, false);
    struct fx_ip ip = FX_IP(.proto = 1);
    fx_inject(&f, 0, frame, fx_ip4(&f, 0, frame, &ip, l4, n));
    ip = FX_IP(.proto = 17, .dst = 0xffffffffu, .eth_dst = fx_bcast_mac);
    fx_inject(&f, 0, frame,
              fx_udp_frame(&f, 0, frame, &ip, 1000, 68, "y", 1, FX_CK_OK));
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP_NOT_US), 2);

    /* IPv6 still answers */
    fx6_inject_echo(&f, NULL, 7, 1, "z", 1);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_mem_eq(p.src, fx6_l_ip, 16);
    ck_assert_uint_eq(fx_stats(&f).icmp6_echo_replies, 1);
    fx_teardown(&f);
}
END_TEST

static Suite *ip6_only_suite(void)
{
    Suite *s = suite_create("ip6_only");
    TCase *tc = tcase_create("ip6_only");
    tcase_add_test(tc, config_check);
    tcase_add_test(tc, ipv4_quiet_ipv6_answers);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(ip6_only_suite)
