/* SPDX-License-Identifier: MIT */
/*
 * IPv6 input checks and ICMPv6 (RFC 4443): echo to the global, link-local
 * and all-nodes addresses, the header checks (version, payload length,
 * multicast source, not ours, groups not joined), errors (unknown next
 * header, UDP port unreachable) with their quotes, the never-send rules
 * and the rate limit, and Packet Too Big lowering the path MTU.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx6.h"

static uint8_t frame[70100], msg[70000];

static void expect_echo_reply(const struct fx *f, unsigned i, const uint8_t src[16],
                              const uint8_t dst[16], uint16_t id, uint16_t seq,
                              const void *data, size_t len)
{
    struct fx6_pkt p = fx6_tx_pkt(f, i);
    ck_assert(p.is_icmp6);
    ck_assert_uint_eq(p.icmp_type, 129);
    ck_assert_uint_eq(p.icmp_code, 0);
    ck_assert_uint_eq(p.icmp_rest, (uint32_t)id << 16 | seq);
    ck_assert_mem_eq(p.src, src, 16);
    ck_assert_mem_eq(p.dst, dst, 16);
    ck_assert_mem_eq(p.eth_dst, fx_r_mac, 6);
    ck_assert_uint_eq(p.hlim, 64);
    ck_assert_uint_eq(p.l4_len, 8 + len);
    ck_assert_mem_eq(p.l4 + 8, data, len);
}

START_TEST(echo_global)
{
    struct fx f;
    fx6_init(&f);
    fx6_inject_echo(&f, NULL, 0x1234, 7, "hello, v6", 9);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, fx6_l_ip, fx6_r_ip, 0x1234, 7, "hello, v6", 9);
    ck_assert_uint_eq(fx_stats(&f).icmp6_echo_replies, 1);
    fx_teardown(&f);
}
END_TEST

START_TEST(echo_link_local)
{
    struct fx f;
    fx6_init(&f);
    uint8_t body[] = "ll";
    size_t n = fx6_icmp(msg, fx6_r_ll, fx6_l_ll, 128, 0, 0x00010002, body, 2);
    struct fx6_ip ip = {.src = fx6_r_ll, .dst = fx6_l_ll, .nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, fx6_l_ll, fx6_r_ll, 1, 2, "ll", 2);
    fx_teardown(&f);
}
END_TEST

/* ping ff02::1 is answered from a unicast address (RFC 4443 4.2). */
START_TEST(echo_all_nodes)
{
    struct fx f;
    fx6_init(&f);
    size_t n = fx6_icmp(msg, fx6_r_ll, fx6_all_nodes, 128, 0, 0x00050006, "m", 1);
    struct fx6_ip ip = {.src = fx6_r_ll, .dst = fx6_all_nodes, .nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, fx6_l_ll, fx6_r_ll, 5, 6, "m", 1);
    fx_teardown(&f);
}
END_TEST

/* Ethernet padding after the payload length is not part of the datagram. */
START_TEST(echo_padded_frame)
{
    struct fx f;
    fx6_init(&f);
    size_t n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 128, 0, 0x00010001, NULL, 0);
    struct fx6_ip ip = {.nh = 58, .plen = -1, .pad_to = 100};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, fx6_l_ip, fx6_r_ip, 1, 1, "", 0);
    fx_teardown(&f);
}
END_TEST

START_TEST(input_checks)
{
    struct fx f;
    fx6_init(&f);
    size_t n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 128, 0, 1, "x", 1);
    struct fx6_ip ip = {.nh = 58, .plen = -1};

    /* payload length longer than what arrived */
    ip.plen = (int)n + 1;
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_SHORT), 1);
    /* shorter than the fixed header */
    ip.plen = -1;
    size_t full = fx6_frame(&f, frame, &ip, msg, n);
    fx_inject(&f, 0, frame, 14 + 39);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_SHORT), 2);
    /* version 4 in an IPv6 EtherType */
    frame[14] = 0x40;
    fx_inject(&f, 0, frame, full);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_SHORT), 3);
    /* multicast source */
    ip.src = fx6_all_nodes;
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_BAD_SRC), 1);
    /* not our address */
    static const uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 9};
    ip.src = NULL;
    ip.dst = other;
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_NOT_US), 1);
    /* a multicast group we did not join: the MAC filter drops it */
    static const uint8_t grp[16] = {0xff, 0x02, [15] = 0x77};
    ip.dst = grp;
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ETH_NOT_US), 1);
    /* the same group behind the all-nodes MAC: ip6_input drops it */
    ip.eth_dst = (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_NOT_US), 2);
    /* a bad ICMPv6 checksum */
    ip = (struct fx6_ip){.nh = 58, .plen = -1};
    msg[2] ^= 1;
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ICMP6_MALFORMED), 1);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* With IPv6 off on the interface, the EtherType is not spoken. */
START_TEST(ip6_off)
{
    struct fx f;
    fx_init(&f);
    size_t n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 128, 0, 1, "x", 1);
    struct fx6_ip ip = {.nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ETH_TYPE), 1);
    fx_teardown(&f);
}
END_TEST

/* An unknown next header: parameter problem code 1 pointing at the byte
 * that named it (offset 6), quoting the datagram. */
START_TEST(unknown_next_header)
{
    struct fx f;
    fx6_init(&f);
    uint8_t payload[24];
    memset(payload, 0x5a, sizeof payload);
    struct fx6_ip ip = {.nh = 0x8f, .plen = -1};
    size_t n = fx6_frame(&f, frame, &ip, payload, sizeof payload);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert(p.is_icmp6);
    ck_assert_uint_eq(p.icmp_type, 4);
    ck_assert_uint_eq(p.icmp_code, 1);
    ck_assert_uint_eq(p.icmp_rest, 6);
    ck_assert_mem_eq(p.src, fx6_l_ip, 16);
    ck_assert_mem_eq(p.dst, fx6_r_ip, 16);
    ck_assert_uint_eq(p.l4_len, 8 + n - 14);
    ck_assert_mem_eq(p.l4 + 8, frame + 14, n - 14);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_PROTO), 1);
    ck_assert_uint_eq(fx_stats(&f).icmp6_errors_out, 1);
    fx_teardown(&f);
}
END_TEST

/* Quotes stop at 1280 bytes of error (RFC 4443 2.4 (c)). */
START_TEST(error_quote_bounded)
{
    struct fx f;
    fx6_init(&f);
    uint8_t payload[1400];
    memset(payload, 0x11, sizeof payload);
    struct fx6_ip ip = {.nh = 0x8f, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, payload, sizeof payload));
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(40 + p.l4_len, 1280);
    ck_assert_mem_eq(p.l4 + 8, frame + 14, 1280 - 48);
    fx_teardown(&f);
}
END_TEST

/* Never an error about a multicast destination, an ICMPv6 error, or
 * from the unspecified source. */
START_TEST(error_never_rules)
{
    struct fx f;
    fx6_init(&f);
    uint8_t payload[8] = {0};
    struct fx6_ip ip = {.dst = fx6_all_nodes, .nh = 0x8f, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, payload, sizeof payload));
    /* an ICMPv6 error with an unknown code from R: nothing back */
    size_t n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 1, 99, 0, payload, sizeof payload);
    ip = (struct fx6_ip){.nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    /* from :: */
    static const uint8_t zero[16];
    ip = (struct fx6_ip){.src = zero, .nh = 0x8f, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, payload, sizeof payload));
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_PROTO), 2);
    fx_teardown(&f);
}
END_TEST

/* UDP to a closed port: port unreachable (type 1 code 4). Errors share a
 * token bucket of icmp_err_per_s; refilled as time passes. */
START_TEST(port_unreach_ratelimit)
{
    struct fx f;
    fx6_config(&f);
    f.cfg.icmp_err_per_s = 3;
    fx_start(&f);
    fx_advance(&f, 1000);
    fx_tx_clear(&f);
    fx6_nd_seed(&f);
    uint8_t udp[12];
    size_t un = fx6_udp(udp, fx6_r_ip, fx6_l_ip, 5000, 4000, "abcd", 4);
    struct fx6_ip ip = {.nh = 17, .plen = -1};
    size_t n = fx6_frame(&f, frame, &ip, udp, un);
    for (int i = 0; i < 5; i++)
        fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_ntx(&f), 3);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 1);
    ck_assert_uint_eq(p.icmp_code, 4);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ICMP6_RATELIMIT), 2);
    fx_advance(&f, 1000000);
    fx_tx_clear(&f);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_teardown(&f);
}
END_TEST

/* Packet Too Big about one of our datagrams lowers the path MTU to its
 * sender (never below 1280): a 1400-byte echo reply then goes out in
 * fragments that fit. */
START_TEST(packet_too_big_pmtu)
{
    struct fx f;
    fx6_init(&f);
    /* the quoted datagram: ours, L -> R, ICMPv6 echo reply */
    uint8_t q[48] = {0x60, 0, 0, 0, 0, 8, 58, 64};
    memcpy(q + 8, fx6_l_ip, 16);
    memcpy(q + 24, fx6_r_ip, 16);
    q[40] = 129;
    size_t n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 2, 0, 1300, q, sizeof q);
    struct fx6_ip ip = {.nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    fx_expect_no_tx(&f);
    uint8_t data[1400];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    fx6_inject_echo(&f, NULL, 9, 9, data, sizeof data);
    ck_assert_uint_eq(fx_ntx(&f), 2);
    uint8_t got[1408];
    size_t total = 0;
    uint32_t id = 0;
    for (unsigned i = 0; i < 2; i++) {
        struct fx6_pkt p = fx6_tx_pkt(&f, i);
        ck_assert(p.has_frag);
        ck_assert_uint_le(40 + p.plen, 1300);
        if (i == 0)
            id = p.frag_id;
        ck_assert_uint_eq(p.frag_id, id);
        ck_assert_uint_eq(p.frag_off, total);
        ck_assert(p.frag_mf == (i == 0));
        memcpy(got + total, p.l4, p.l4_len);
        total += p.l4_len;
    }
    ck_assert_uint_eq(total, 1408);
    ck_assert_uint_eq(got[0], 129);
    ck_assert_mem_eq(got + 8, data, sizeof data);
    ck_assert_uint_eq(fx_stats(&f).ip6_frags_out, 2);
    fx_teardown(&f);
}
END_TEST

/* Without a default router an off-link source cannot be answered
 * (NO_ROUTE, nothing sent); a second static address on another prefix is
 * answered from itself (the source is the address asked). */
START_TEST(routing_off_link)
{
    struct fx f;
    fx6_config(&f);
    static const uint8_t second[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1};
    static const uint8_t peer2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 2};
    memcpy(f.cfg.ifs[0].ip6[1], second, 16);
    f.cfg.ifs[0].ip6_prefix[1] = 64;
    fx_start(&f);
    fx_advance(&f, 1000);
    fx_tx_clear(&f);
    fx6_nd_seed(&f);
    ck_assert_int_eq(mcore_nd_add_static(f.core, 0, peer2, fx_r_mac), 0);
    static const uint8_t far[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 9};
    size_t n = fx6_icmp(msg, far, fx6_l_ip, 128, 0, 1, "x", 1);
    struct fx6_ip ip = {.src = far, .nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_NO_ROUTE), 1);
    n = fx6_icmp(msg, peer2, second, 128, 0, 2, "y", 1);
    ip = (struct fx6_ip){.src = peer2, .dst = second, .nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, second, peer2, 0, 2, "y", 1);
    fx_teardown(&f);
}
END_TEST

/* A Packet Too Big quoting a later fragment of ours (no transport header
 * in the quote) still lowers the path MTU. */
START_TEST(packet_too_big_about_fragment)
{
    struct fx f;
    fx6_init(&f);
    uint8_t q[56] = {0x60, 0, 0, 0, 0, 16, 44, 64};
    memcpy(q + 8, fx6_l_ip, 16);
    memcpy(q + 24, fx6_r_ip, 16);
    q[40] = 58;
    q[42] = 0x05;               /* offset 1280, no transport header quoted */
    q[43] = 0x00;
    size_t n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 2, 0, 1280, q, sizeof q);
    struct fx6_ip ip = {.nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    fx_expect_no_tx(&f);
    uint8_t data[1300] = {0};
    fx6_inject_echo(&f, NULL, 9, 9, data, sizeof data);
    ck_assert_uint_eq(fx_ntx(&f), 2);
    for (unsigned i = 0; i < 2; i++)
        ck_assert_uint_le(40 + fx6_tx_pkt(&f, i).plen, 1280);
    fx_teardown(&f);
}
END_TEST

static Suite *icmp6_suite(void)
{
    Suite *s = suite_create("icmp6");
    TCase *tc = tcase_create("icmp6");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, echo_global);
    tcase_add_test(tc, echo_link_local);
    tcase_add_test(tc, echo_all_nodes);
    tcase_add_test(tc, echo_padded_frame);
    tcase_add_test(tc, input_checks);
    tcase_add_test(tc, ip6_off);
    tcase_add_test(tc, unknown_next_header);
    tcase_add_test(tc, error_quote_bounded);
    tcase_add_test(tc, error_never_rules);
    tcase_add_test(tc, port_unreach_ratelimit);
    tcase_add_test(tc, packet_too_big_pmtu);
    tcase_add_test(tc, routing_off_link);
    tcase_add_test(tc, packet_too_big_about_fragment);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(icmp6_suite)
