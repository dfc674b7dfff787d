/* SPDX-License-Identifier: MIT */
/*
 * UDP over IPv6 (udp.c's udp6_input / IPv6 send path, core.c's BIND and
 * CONNECT with MOAT_AF_INET6): delivery with the peer's IPv6 address in
 * the record header, the dual-stack any address (::) taking both
 * families while an IPv4 wildcard takes only IPv4, the mandatory checksum
 * (zero and wrong ones dropped), the IPv6 pseudo-header on output, a
 * link-local destination's zone, bind conflicts across families, connect
 * + NAME, and an ICMPv6 port unreachable reaching a connected socket.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx6.h"

#define P 12345
#define PORT_R 5000

static uint8_t frame[4096], msg[2048];
static const uint8_t any6[16];

/* A UDP datagram R:sport -> dst:dport over IPv6 (@p ck: checksum kind). */
static void inject6(struct fx *f, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                    uint16_t dport, const void *data, size_t len, enum fx_ck ck)
{
    uint8_t u[1500];
    const uint8_t *s = src ? src : fx6_r_ip, *d = dst ? dst : fx6_l_ip;
    fx6_udp(u, s, d, sport, dport, data, len);
    if (ck == FX_CK_ZERO)
        u[6] = u[7] = 0;
    else if (ck == FX_CK_BAD)
        u[6] ^= 0x01, u[7] ^= 0x01;
    struct fx6_ip ip = {.src = s, .dst = d, .nh = 17, .plen = -1};
    fx_inject(f, 0, frame, fx6_frame(f, frame, &ip, u, 8 + len));
}

static uint32_t udp6_bound(struct fx *f, const uint8_t a[16], uint16_t port)
{
    uint32_t h;
    ck_assert_int_eq(fx_udp_open(f, &h), 0);
    ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_BIND, h, a, 0, port), 0);
    return h;
}

START_TEST(rx_dual_stack)
{
    struct fx f;
    fx6_init(&f);
    fx_arp_seed(&f);
    uint32_t h = udp6_bound(&f, any6, P);
    inject6(&f, NULL, NULL, PORT_R, P, "over v6", 7, FX_CK_OK);
    fx_inject_udp(&f, PORT_R + 1, P, "over v4", 7);

    char buf[64];
    size_t got;
    struct moat_dgram_hdr dh;
    ck_assert_int_eq(fx_recv_rec(&f, h, buf, sizeof buf, &got, &dh), 0);
    ck_assert_uint_eq(got, 7);
    ck_assert_mem_eq(buf, "over v6", 7);
    ck_assert_uint_eq(dh.family, MOAT_AF_INET6);
    ck_assert_mem_eq(dh.ip6, fx6_r_ip, 16);
    ck_assert_uint_eq(dh.scope_id, 0);
    ck_assert_uint_eq(dh.port, PORT_R);
    /* the IPv4 datagram reaches the same dual-stack socket, as IPv4 */
    ck_assert_int_eq(fx_recv_rec(&f, h, buf, sizeof buf, &got, &dh), 0);
    ck_assert_mem_eq(buf, "over v4", 7);
    ck_assert_uint_eq(dh.family, 0);
    ck_assert_uint_eq(dh.ip, FX_R_IP);
    ck_assert_uint_eq(dh.port, PORT_R + 1);
    ck_assert_uint_eq(fx_stats(&f).udp_in, 2);
    fx_teardown(&f);
}
END_TEST

/* An IPv4 wildcard socket is IPv4 only: the IPv6 datagram finds no port
 * and R gets an ICMPv6 port unreachable. */
START_TEST(rx_v4_wildcard_not_v6)
{
    struct fx f;
    fx6_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    inject6(&f, NULL, NULL, PORT_R, P, "x", 1, FX_CK_OK);
    ck_assert_uint_eq(fx_rx_count(&f, h), 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_NO_PORT), 1);
    ck_assert_int_eq(fx6_find_icmp(&f, 0, 1), 0);
    ck_assert_uint_eq(fx6_tx_pkt(&f, 0).icmp_code, 4);
    fx_teardown(&f);
}
END_TEST

/* RFC 8200 8.1: the checksum is mandatory; zero and wrong ones drop. */
START_TEST(rx_checksum)
{
    struct fx f;
    fx6_init(&f);
    uint32_t h = udp6_bound(&f, fx6_l_ip, P);
    inject6(&f, NULL, NULL, PORT_R, P, "zero", 4, FX_CK_ZERO);
    inject6(&f, NULL, NULL, PORT_R, P, "bad!", 4, FX_CK_BAD);
    ck_assert_uint_eq(fx_rx_count(&f, h), 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_MALFORMED), 2);
    ck_assert_uint_eq(fx_ntx(&f), 0);   /* no port unreachable for those */
    inject6(&f, NULL, NULL, PORT_R, P, "good", 4, FX_CK_OK);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    fx_teardown(&f);
}
END_TEST

/* A socket bound to one IPv6 address takes only datagrams for it (the
 * link-local address is another destination). */
START_TEST(rx_specific_address)
{
    struct fx f;
    fx6_init(&f);
    uint32_t h = udp6_bound(&f, fx6_l_ip, P);
    inject6(&f, fx6_r_ll, fx6_l_ll, PORT_R, P, "ll", 2, FX_CK_OK);
    ck_assert_uint_eq(fx_rx_count(&f, h), 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_NO_PORT), 1);
    fx_inject_udp(&f, PORT_R, P, "v4", 2);
    ck_assert_uint_eq(fx_rx_count(&f, h), 0);
    inject6(&f, NULL, NULL, PORT_R, P, "gl", 2, FX_CK_OK);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    fx_teardown(&f);
}
END_TEST

/* sendto an IPv6 address: one IPv6/UDP datagram from L's global address,
 * the checksum over the IPv6 pseudo-header. */
START_TEST(tx_sendto6)
{
    struct fx f;
    fx6_init(&f);
    uint32_t h;
    ck_assert_int_eq(fx_udp_open(&f, &h), 0);
    ck_assert_int_eq(fx_sendto6(&f, h, fx6_r_ip, 0, 7, "hello6", 6), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.proto, 17);
    ck_assert_mem_eq(p.src, fx6_l_ip, 16);
    ck_assert_mem_eq(p.dst, fx6_r_ip, 16);
    ck_assert_uint_eq(p.l4_len, 14);
    ck_assert_uint_eq(p.l4[2] << 8 | p.l4[3], 7);
    ck_assert_uint_eq(p.l4[4] << 8 | p.l4[5], 14);
    ck_assert_uint_ne(p.l4[6] << 8 | p.l4[7], 0);
    ck_assert_uint_eq(fx6_l4_cksum(p.src, p.dst, 17, p.l4, p.l4_len), 0);
    ck_assert_mem_eq(p.l4 + 8, "hello6", 6);
    ck_assert_uint_eq(fx_stats(&f).udp_out, 1);
    /* the socket was bound (dual-stack) by the send: NAME says so */
    struct moat_m_addr local, remote;
    ck_assert_int_eq(fx_name(&f, h, &local, &remote), 0);
    ck_assert_uint_eq(local.family, MOAT_AF_INET6);
    ck_assert_mem_eq(local.ip6, any6, 16);
    ck_assert_uint_eq(local.port, p.l4[0] << 8 | p.l4[1]);
    fx_teardown(&f);
}
END_TEST

/* A link-local destination leaves from L's link-local address. */
START_TEST(tx_link_local)
{
    struct fx f;
    fx6_init(&f);
    uint32_t h;
    ck_assert_int_eq(fx_udp_open(&f, &h), 0);
    ck_assert_int_eq(fx_sendto6(&f, h, fx6_r_ll, 1, 9, "ll", 2), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_mem_eq(p.src, fx6_l_ll, 16);
    ck_assert_mem_eq(p.dst, fx6_r_ll, 16);
    ck_assert_uint_eq(fx6_l4_cksum(p.src, p.dst, 17, p.l4, p.l4_len), 0);
    /* a zone past the interfaces is refused, reported on the socket */
    ck_assert_int_eq(fx_sendto6(&f, h, fx6_r_ll, 5, 9, "ll", 2), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_INVAL);
    fx_teardown(&f);
}
END_TEST

/* An IPv4-bound socket cannot send to IPv6, nor an IPv6-bound one to
 * IPv4; the error goes to the socket and nothing is sent. */
START_TEST(tx_family_mismatch)
{
    struct fx f;
    fx6_init(&f);
    fx_arp_seed(&f);
    uint32_t h4 = fx_udp_bound(&f, 0, P);
    ck_assert_int_eq(fx_sendto6(&f, h4, fx6_r_ip, 0, 7, "x", 1), 0);
    ck_assert_int_eq(fx_sock_error(&f, h4), MOAT_E_ADDRNOTAVAIL);
    uint32_t h6 = udp6_bound(&f, fx6_l_ip, P + 1);
    ck_assert_int_eq(fx_sendto(&f, h6, FX_R_IP, 7, "x", 1), 0);
    ck_assert_int_eq(fx_sock_error(&f, h6), MOAT_E_ADDRNOTAVAIL);
    ck_assert_uint_eq(fx_ntx(&f), 0);
    /* the dual-stack socket sends both */
    uint32_t hd = udp6_bound(&f, any6, P + 2);
    ck_assert_int_eq(fx_sendto(&f, hd, FX_R_IP, 7, "4", 1), 0);
    ck_assert_int_eq(fx_sendto6(&f, hd, fx6_r_ip, 0, 7, "6", 1), 0);
    ck_assert_uint_eq(fx_ntx(&f), 2);
    ck_assert(fx_tx_pkt(&f, 0).is_udp);
    ck_assert(fx6_tx_pkt(&f, 1).is_ip6);
    fx_teardown(&f);
}
END_TEST

/* Bind conflicts across families: :: overlaps every address of the port,
 * the IPv4 wildcard only IPv4 ones; an address not ours is refused. */
START_TEST(bind_rules)
{
    struct fx f;
    fx6_init(&f);
    uint32_t a = fx_udp_bound(&f, 0, P), b, c, d;
    ck_assert_int_eq(fx_udp_open(&f, &b), 0);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, b, any6, 0, P), MOAT_E_ADDRINUSE);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, b, fx6_l_ip, 0, P), 0);
    ck_assert_int_eq(fx_udp_open(&f, &c), 0);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, c, fx6_l_ip, 0, P), MOAT_E_ADDRINUSE);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, c, fx6_l_ll, 0, P), 0);
    ck_assert_int_eq(fx_udp_open(&f, &d), 0);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, d, fx6_r_ip, 0, P + 1),
                     MOAT_E_ADDRNOTAVAIL);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, d, any6, 0, P + 1), 0);
    uint32_t e;
    ck_assert_int_eq(fx_udp_open(&f, &e), 0);
    ck_assert_int_eq(fx_bind(&f, e, FX_L_IP, P + 1), MOAT_E_ADDRINUSE);
    /* stream ports are separate from datagram ones: TCP on `::` port P+1
     * is fine (TCP over IPv6: tests/unit/tcp/test_tcp_ip6.c) */
    uint32_t t;
    ck_assert_int_eq(fx_sock_open(&f, MOAT_SOCK_STREAM, &t), 0);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, t, any6, 0, P + 1), 0);
    (void)a;
    fx_teardown(&f);
}
END_TEST

/* connect to an IPv6 peer: send without an address goes there, only
 * that peer's datagrams are taken, NAME reports both ends, and an ICMPv6
 * port unreachable about it becomes CONNREFUSED. */
START_TEST(connected)
{
    struct fx f;
    fx6_init(&f);
    uint32_t h;
    ck_assert_int_eq(fx_udp_open(&f, &h), 0);
    ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_CONNECT, h, fx6_r_ip, 0, PORT_R), 0);
    struct moat_m_addr local, remote;
    ck_assert_int_eq(fx_name(&f, h, &local, &remote), 0);
    ck_assert_uint_eq(local.family, MOAT_AF_INET6);
    ck_assert_mem_eq(local.ip6, fx6_l_ip, 16);      /* the source the route picks */
    ck_assert_uint_eq(remote.family, MOAT_AF_INET6);
    ck_assert_mem_eq(remote.ip6, fx6_r_ip, 16);
    ck_assert_uint_eq(remote.port, PORT_R);
    uint16_t lport = local.port;

    ck_assert_int_eq(fx_sendto(&f, h, 0, 0, "to peer", 7), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_mem_eq(p.dst, fx6_r_ip, 16);
    ck_assert_uint_eq(p.l4[2] << 8 | p.l4[3], PORT_R);

    inject6(&f, NULL, NULL, PORT_R + 9, lport, "other", 5, FX_CK_OK);
    ck_assert_uint_eq(fx_rx_count(&f, h), 0);
    inject6(&f, NULL, NULL, PORT_R, lport, "peer", 4, FX_CK_OK);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);

    /* R answers our datagram with a port unreachable quoting it */
    size_t qlen = fx_tx(&f, 0)->len - 14;
    memcpy(frame + 2048, fx_tx(&f, 0)->data + 14, qlen);
    size_t n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 1, 4, 0, frame + 2048, qlen);
    struct fx6_ip ip = {.src = fx6_r_ip, .dst = fx6_l_ip, .nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_CONNREFUSED);
    fx_teardown(&f);
}
END_TEST

static Suite *udp6_suite(void)
{
    Suite *s = suite_create("udp6");
    TCase *tc = tcase_create("udp6");
    tcase_add_test(tc, rx_dual_stack);
    tcase_add_test(tc, rx_v4_wildcard_not_v6);
    tcase_add_test(tc, rx_checksum);
    tcase_add_test(tc, rx_specific_address);
    tcase_add_test(tc, tx_sendto6);
    tcase_add_test(tc, tx_link_local);
    tcase_add_test(tc, tx_family_mismatch);
    tcase_add_test(tc, bind_rules);
    tcase_add_test(tc, connected);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(udp6_suite)
