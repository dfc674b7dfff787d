/* SPDX-License-Identifier: MIT */
/*
 * ICMPv4: ICMP-UNREACH-QUOTE-1/2 (and the IP-options variant), ICMP-B-ECHO-1
 * (a-d), port-unreachable rate limiting, and ICMP errors delivered to a
 * connected UDP socket (status ERR + MOAT_E_CONNREFUSED ...). ICMP-B-TCP-1
 * belongs to the TCP suites.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"

#define PORT_R 5000
#define PORT_L 4000

static uint8_t frame[4096];

/* ICMP-UNREACH-QUOTE-1/2 core: a datagram of protocol 0x22 with @p plen
 * payload bytes and @p optlen option bytes; expect exactly one protocol
 * unreachable quoting header + min(8, plen). */
static void unreach_quote(size_t plen, size_t optlen)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint8_t payload[32], opts[8] = {1, 1, 1, 0, 0, 0, 0, 0};  /* NOPs, EOL */
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(0xa0 + i);
    struct fx_ip ip = FX_IP(.proto = 0x22, .opts = opts, .opt_len = optlen);
    size_t n = fx_ip4(&f, 0, frame, &ip, payload, plen);
    fx_inject(&f, 0, frame, n);

    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_icmp);
    ck_assert_uint_eq(p.icmp_type, 3);
    ck_assert_uint_eq(p.icmp_code, 2);
    ck_assert_uint_eq(p.icmp_rest, 0);              /* the 4 unused bytes */
    ck_assert_uint_eq(p.src, FX_L_IP);
    ck_assert_uint_eq(p.dst, FX_R_IP);
    ck_assert_mem_eq(p.eth_dst, fx_r_mac, 6);
    size_t hl = 20 + optlen, q = hl + (plen < 8 ? plen : 8);
    ck_assert_uint_eq(p.l4_len, 8 + q);             /* ICMP message length */
    ck_assert_uint_eq(p.icmp_body_len, q);
    ck_assert_mem_eq(p.icmp_body, frame + 14, q);   /* byte-exact, nothing more */
    ck_assert_uint_eq(p.tot_len, 20 + 8 + q);
    ck_assert_uint_eq(fx_stats(&f).icmp_errors_out, 1);
    fx_teardown(&f);
}

/* ICMP-UNREACH-QUOTE-1 */
START_TEST(icmp_unreach_quote_1)
{
    unreach_quote(1, 0);
}
END_TEST

/* ICMP-UNREACH-QUOTE-2 */
START_TEST(icmp_unreach_quote_2)
{
    unreach_quote(11, 0);
}
END_TEST

/* ICMP-UNREACH-QUOTE-2, options variant: the whole header is quoted. */
START_TEST(icmp_unreach_quote_options)
{
    unreach_quote(11, 8);
    unreach_quote(0, 4);
}
END_TEST

/* The quote of a padded frame stops at the IP total length. */
START_TEST(icmp_unreach_quote_padded)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    struct fx_ip ip = FX_IP(.proto = 0x22, .pad_to = 60);
    size_t n = fx_ip4(&f, 0, frame, &ip, "Q", 1);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_body_len, 21);
    ck_assert_mem_eq(p.icmp_body, frame + 14, 21);
    fx_teardown(&f);
}
END_TEST

static void expect_echo_reply(const struct fx *f, unsigned i, uint16_t id, uint16_t seq,
                              const uint8_t *data, size_t len)
{
    struct fx_pkt p = fx_tx_pkt(f, i);
    ck_assert(p.is_icmp);
    ck_assert_uint_eq(p.icmp_type, 0);
    ck_assert_uint_eq(p.icmp_code, 0);
    ck_assert_uint_eq(p.icmp_id, id);
    ck_assert_uint_eq(p.icmp_seq, seq);
    ck_assert_uint_eq(p.src, FX_L_IP);
    ck_assert_uint_eq(p.dst, FX_R_IP);
    ck_assert_uint_eq(p.icmp_body_len, len);
    ck_assert_mem_eq(p.icmp_body, data, len);
}

/* ICMP-B-ECHO-1 (a) */
START_TEST(icmp_b_echo_1a)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint8_t data[56];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 3);
    fx_inject_echo(&f, 0x1234, 7, data, sizeof data);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, 0x1234, 7, data, sizeof data);
    ck_assert_mem_eq(fx_tx_pkt(&f, 0).eth_dst, fx_r_mac, 6);
    ck_assert_uint_eq(fx_stats(&f).icmp_echo_replies, 1);
    /* odd length and empty data */
    fx_tx_clear(&f);
    fx_inject_echo(&f, 1, 0xffff, data, 57 - 1 - 0);
    fx_inject_echo(&f, 2, 0, data, 0);
    fx_inject_echo(&f, 3, 1, data, 1);
    ck_assert_uint_eq(fx_ntx(&f), 3);
    expect_echo_reply(&f, 0, 1, 0xffff, data, 56);
    expect_echo_reply(&f, 1, 2, 0, data, 0);
    expect_echo_reply(&f, 2, 3, 1, data, 1);
    fx_teardown(&f);
}
END_TEST

/* ICMP-B-ECHO-1 (a) with R unresolved: one ARP request, then the reply. */
START_TEST(icmp_b_echo_1a_arp)
{
    struct fx f;
    fx_init(&f);
    fx_inject_echo(&f, 9, 9, "abcd", 4);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_expect_arp_request(&f, 0, FX_R_IP);
    fx_tx_clear(&f);
    fx_arp_reply_from(&f, 0, FX_R_IP, fx_r_mac);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, 9, 9, (const uint8_t *)"abcd", 4);
    fx_teardown(&f);
}
END_TEST

/* ICMP-B-ECHO-1 (a) with IP options in the request. */
START_TEST(icmp_b_echo_1a_options)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint8_t seg[64];
    static const uint8_t opts[4] = {1, 1, 0, 0};
    size_t sl = fx_icmp_echo(seg, 8, 5, 6, "options", 7, false);
    struct fx_ip ip = FX_IP(.proto = 1, .opts = opts, .opt_len = 4);
    size_t n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_echo_reply(&f, 0, 5, 6, (const uint8_t *)"options", 7);
    fx_teardown(&f);
}
END_TEST

/* ICMP-B-ECHO-1 (b): 3000 bytes, fragmented both ways. */
START_TEST(icmp_b_echo_1b_fragmented)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    static uint8_t data[3000], seg[3008], re[3008];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    size_t sl = fx_icmp_echo(seg, 8, 0xbeef, 42, data, sizeof data, false);
    for (size_t off = 0; off < sl; off += 1480) {
        size_t n = sl - off > 1480 ? 1480 : sl - off;
        struct fx_ip ip = FX_IP(.proto = 1, .id = 0x3000, .frag_off = (uint16_t)off,
                                .mf = off + n < sl);
        size_t fl = fx_ip4(&f, 0, frame, &ip, seg + off, n);
        fx_inject(&f, 0, frame, fl);
    }
    ck_assert_uint_eq(fx_ntx(&f), 3);
    size_t covered = 0;
    uint16_t id = fx_tx_pkt(&f, 0).id;
    for (unsigned i = 0; i < 3; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert(p.is_ip);
        ck_assert_uint_eq(p.proto, 1);
        ck_assert_uint_eq(p.id, id);
        ck_assert_uint_eq(p.src, FX_L_IP);
        ck_assert_uint_eq(p.dst, FX_R_IP);
        ck_assert_uint_le(p.frag_off + p.l4_len, sizeof re);
        memcpy(re + p.frag_off, p.l4, p.l4_len);
        covered += p.l4_len;
        ck_assert(p.mf == (i < 2));
    }
    ck_assert_uint_eq(covered, 3008);
    ck_assert_uint_eq(fx_cksum(re, 3008), 0);
    ck_assert_uint_eq(re[0], 0);
    ck_assert_uint_eq(((unsigned)re[4] << 8 | re[5]), 0xbeef);
    ck_assert_uint_eq(((unsigned)re[6] << 8 | re[7]), 42);
    ck_assert_mem_eq(re + 8, data, sizeof data);
    fx_teardown(&f);
}
END_TEST

/* ICMP-B-ECHO-1 (c): bad checksum, and runts. */
START_TEST(icmp_b_echo_1c_bad_cksum)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint8_t seg[64];
    size_t sl = fx_icmp_echo(seg, 8, 1, 1, "payload", 7, true);
    struct fx_ip ip = FX_IP(.proto = 1);
    size_t n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ICMP_MALFORMED), 1);
    /* 7 bytes of ICMP: shorter than its header */
    n = fx_ip4(&f, 0, frame, &ip, seg, 7);
    fx_inject(&f, 0, frame, n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ICMP_MALFORMED), 2);
    ck_assert_uint_eq(fx_stats(&f).icmp_echo_replies, 0);
    fx_teardown(&f);
}
END_TEST

/* ICMP-B-ECHO-1 (d): datagrams that must never cause an ICMP error. */
START_TEST(icmp_b_echo_1d_never)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint8_t udp[64], seg[128];
    /* UDP to an unused port, addressed to broadcasts and multicast */
    const uint32_t dsts[] = {FX_BCAST_IP, FX_LIMITED_BCAST, FX_IP4(224, 0, 0, 1)};
    for (unsigned i = 0; i < 3; i++) {
        struct fx_ip ip = FX_IP(.proto = 17, .dst = dsts[i], .eth_dst = fx_bcast_mac);
        size_t n = fx_udp_frame(&f, 0, frame, &ip, PORT_R, 9, "x", 1, FX_CK_OK);
        fx_inject(&f, 0, frame, n);
        /* an unknown protocol the same way */
        ip.proto = 0x22;
        n = fx_ip4(&f, 0, frame, &ip, "x", 1);
        fx_inject(&f, 0, frame, n);
    }
    fx_expect_no_tx(&f);
    /* source 0.0.0.0 */
    {
        struct fx_ip ip = FX_IP(.proto = 17, .src = 0);
        size_t n = fx_udp_frame(&f, 0, frame, &ip, PORT_R, 9, "x", 1, FX_CK_OK);
        fx_inject(&f, 0, frame, n);
        ip.proto = 0x22;
        n = fx_ip4(&f, 0, frame, &ip, "x", 1);
        fx_inject(&f, 0, frame, n);
    }
    fx_expect_no_tx(&f);
    /* broadcast / multicast sources are dropped at IP anyway */
    {
        struct fx_ip ip = FX_IP(.proto = 17, .src = FX_BCAST_IP);
        size_t n = fx_udp_frame(&f, 0, frame, &ip, PORT_R, 9, "x", 1, FX_CK_OK);
        fx_inject(&f, 0, frame, n);
        ip.src = FX_IP4(239, 1, 2, 3);
        n = fx_udp_frame(&f, 0, frame, &ip, PORT_R, 9, "x", 1, FX_CK_OK);
        fx_inject(&f, 0, frame, n);
    }
    fx_expect_no_tx(&f);
    /* an ICMP error message (to an unbound port's datagram) never gets one */
    {
        uint8_t inner[64];
        struct fx_ip q = FX_IP(.proto = 17, .src = FX_L_IP, .dst = FX_R_IP);
        size_t qn = fx_udp_frame(&f, 0, inner, &q, PORT_L, PORT_R, "abcdefgh", 8, FX_CK_OK);
        seg[0] = 3;
        seg[1] = 3;
        memset(seg + 2, 0, 6);
        memcpy(seg + 8, inner + 14, qn - 14);
        size_t sl = 8 + qn - 14;
        uint16_t c = fx_cksum(seg, sl);
        seg[2] = (uint8_t)(c >> 8);
        seg[3] = (uint8_t)c;
        struct fx_ip ip = FX_IP(.proto = 1);
        size_t n = fx_ip4(&f, 0, frame, &ip, seg, sl);
        fx_inject(&f, 0, frame, n);
        /* and a Time Exceeded with garbage inside */
        memset(seg, 0x77, 40);
        seg[0] = 11;
        seg[1] = 0;
        seg[2] = seg[3] = 0;
        c = fx_cksum(seg, 40);
        seg[2] = (uint8_t)(c >> 8);
        seg[3] = (uint8_t)c;
        n = fx_ip4(&f, 0, frame, &ip, seg, 40);
        fx_inject(&f, 0, frame, n);
    }
    fx_expect_no_tx(&f);
    /* a non-first fragment alone (to an unbound port): nothing, ever */
    {
        size_t un = fx_udp_seg(udp, FX_R_IP, FX_L_IP, PORT_R, 9, "0123456789abcdef", 16,
                               FX_CK_OK, 0);
        struct fx_ip ip = FX_IP(.proto = 17, .frag_off = 8, .id = 0x99);
        size_t n = fx_ip4(&f, 0, frame, &ip, udp + 8, un - 8);
        fx_inject(&f, 0, frame, n);
        fx_advance(&f, (uint64_t)f.cfg.reass_timeout_ms * 1000u + 1000000u);
    }
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_stats(&f).icmp_errors_out, 0);
    /* while an ordinary unicast to an unused port does get one */
    fx_inject_udp(&f, PORT_R, 9, "x", 1);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_teardown(&f);
}
END_TEST

/* Echo requests to a broadcast address are not answered (documented
 * choice in icmp.c: no smurf amplification). Echo replies and other
 * informational types cause nothing. */
START_TEST(icmp_echo_bcast_and_others)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint8_t seg[64];
    size_t sl = fx_icmp_echo(seg, 8, 1, 2, "bcast", 5, false);
    struct fx_ip ip = FX_IP(.proto = 1, .dst = FX_BCAST_IP, .eth_dst = fx_bcast_mac);
    size_t n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ip.dst = FX_LIMITED_BCAST;
    n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    fx_expect_no_tx(&f);
    const uint8_t types[] = {0, 13, 14, 17, 42, 255};
    for (unsigned i = 0; i < sizeof types; i++) {
        sl = fx_icmp_echo(seg, types[i], 1, 2, "other", 5, false);
        ip = FX_IP(.proto = 1);
        n = fx_ip4(&f, 0, frame, &ip, seg, sl);
        fx_inject(&f, 0, frame, n);
    }
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* Port unreachable is rate limited (token bucket, icmp_err_per_s). */
START_TEST(icmp_port_unreach_ratelimit)
{
    struct fx f;
    fx_config(&f);
    f.cfg.icmp_err_per_s = 5;
    fx_start(&f);
    fx_tx_clear(&f);
    fx_arp_seed(&f);
    for (unsigned i = 0; i < 20; i++)
        fx_inject_udp(&f, PORT_R, 9, "x", 1);
    ck_assert_uint_eq(fx_ntx(&f), 5);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ICMP_RATELIMIT), 15);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_NO_PORT), 20);
    for (unsigned i = 0; i < 5; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert(p.is_icmp);
        ck_assert_uint_eq(p.icmp_type, 3);
        ck_assert_uint_eq(p.icmp_code, 3);
    }
    /* the bucket refills with time: about rate per second, never more */
    fx_tx_clear(&f);
    fx_advance(&f, 200000);
    for (unsigned i = 0; i < 20; i++)
        fx_inject_udp(&f, PORT_R, 9, "x", 1);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_tx_clear(&f);
    fx_advance(&f, 10000000);
    for (unsigned i = 0; i < 20; i++)
        fx_inject_udp(&f, PORT_R, 9, "x", 1);
    ck_assert_uint_eq(fx_ntx(&f), 5);
    /* a steady 1 per 100 ms stays under 5/s: all answered */
    fx_tx_clear(&f);
    fx_advance(&f, 10000000);
    for (unsigned i = 0; i < 30; i++) {
        fx_inject_udp(&f, PORT_R, 9, "x", 1);
        fx_advance(&f, 200000);
    }
    ck_assert_uint_eq(fx_ntx(&f), 30);
    fx_teardown(&f);
}
END_TEST

/* Build an ICMP error of @p type/@p code quoting a UDP datagram
 * src:sport -> dst:dport (as we would have sent it) and inject it. */
static void inject_icmp_about_udp(struct fx *f, uint8_t type, uint8_t code, uint32_t src,
                                  uint16_t sport, uint32_t dst, uint16_t dport, size_t qcut)
{
    uint8_t inner[128], seg[128];
    struct fx_ip q = FX_IP(.proto = 17, .src = src, .dst = dst);
    size_t qn = fx_udp_frame(f, 0, inner, &q, sport, dport, "0123456789", 10, FX_CK_OK);
    size_t ql = qn - 14;
    if (ql > 28)
        ql = 28;                    /* header + 8 bytes, as routers quote */
    ql -= qcut;
    seg[0] = type;
    seg[1] = code;
    memset(seg + 2, 0, 6);
    memcpy(seg + 8, inner + 14, ql);
    uint16_t c = fx_cksum(seg, 8 + ql);
    seg[2] = (uint8_t)(c >> 8);
    seg[3] = (uint8_t)c;
    struct fx_ip ip = FX_IP(.proto = 1);
    size_t n = fx_ip4(f, 0, frame, &ip, seg, 8 + ql);
    fx_inject(f, 0, frame, n);
}

/* ICMP errors reach a connected UDP socket as a pending error. */
START_TEST(icmp_error_to_connected_udp)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t hc = fx_udp_bound(&f, 0, PORT_L);
    ck_assert_int_eq(fx_connect(&f, hc, FX_R_IP, PORT_R), 0);
    ck_assert(fx_sock_status(&f, hc) & MOAT_SS_CONNECTED);
    uint32_t hu = fx_udp_bound(&f, 0, PORT_L + 1);    /* unconnected */
    ck_assert_int_eq(fx_sendto(&f, hc, 0, 0, "hello", 5), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    ck_assert_uint_eq(fx_tx_pkt(&f, 0).dport, PORT_R);

    /* not ours: wrong ports, wrong peer, unconnected socket */
    inject_icmp_about_udp(&f, 3, 3, FX_L_IP, PORT_L, FX_R_IP, PORT_R + 1, 0);
    inject_icmp_about_udp(&f, 3, 3, FX_L_IP, PORT_L + 7, FX_R_IP, PORT_R, 0);
    inject_icmp_about_udp(&f, 3, 3, FX_L_IP, PORT_L, FX_IP4(192, 0, 2, 3), PORT_R, 0);
    inject_icmp_about_udp(&f, 3, 3, FX_L_IP, PORT_L + 1, FX_R_IP, PORT_R, 0);
    ck_assert(!(fx_sock_status(&f, hc) & MOAT_SS_ERR));
    ck_assert(!(fx_sock_status(&f, hu) & MOAT_SS_ERR));
    /* a quote not from us is malformed */
    uint64_t mal = fx_drop(&f, MOAT_DROP_ICMP_MALFORMED);
    inject_icmp_about_udp(&f, 3, 3, FX_IP4(192, 0, 2, 9), PORT_L, FX_R_IP, PORT_R, 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ICMP_MALFORMED), mal + 1);
    /* a quote shorter than header + 8 is malformed */
    inject_icmp_about_udp(&f, 3, 3, FX_L_IP, PORT_L, FX_R_IP, PORT_R, 1);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ICMP_MALFORMED), mal + 2);
    ck_assert(!(fx_sock_status(&f, hc) & MOAT_SS_ERR));

    /* port unreachable about our datagram: ECONNREFUSED */
    inject_icmp_about_udp(&f, 3, 3, FX_L_IP, PORT_L, FX_R_IP, PORT_R, 0);
    ck_assert(fx_sock_status(&f, hc) & MOAT_SS_ERR);
    ck_assert_int_eq(fx_sock_error(&f, hc), MOAT_E_CONNREFUSED);
    int64_t v = 0;
    ck_assert_int_eq(fx_getopt(&f, hc, MOAT_OPT_ERROR, &v), 0);
    ck_assert_int_eq(v, MOAT_E_CONNREFUSED);
    ck_assert(!(fx_sock_status(&f, hc) & MOAT_SS_ERR));  /* reading clears it */
    ck_assert_int_eq(fx_getopt(&f, hc, MOAT_OPT_ERROR, &v), 0);
    ck_assert_int_eq(v, 0);

    /* other codes */
    static const struct { uint8_t type, code; int err; } map[] = {
        {3, 0, MOAT_E_NETUNREACH},
        {3, 1, MOAT_E_HOSTUNREACH},
        {3, 2, MOAT_E_CONNREFUSED},
        {3, 4, MOAT_E_MSGSIZE},
        {3, 13, MOAT_E_HOSTUNREACH},
    };
    for (unsigned i = 0; i < sizeof map / sizeof map[0]; i++) {
        inject_icmp_about_udp(&f, map[i].type, map[i].code, FX_L_IP, PORT_L, FX_R_IP,
                              PORT_R, 0);
        ck_assert_msg(fx_sock_status(&f, hc) & MOAT_SS_ERR, "code %u", map[i].code);
        ck_assert_int_eq(fx_getopt(&f, hc, MOAT_OPT_ERROR, &v), 0);
        ck_assert_msg(v == map[i].err, "code %u: %lld", map[i].code, (long long)v);
    }
    /* Time Exceeded is not an error for the socket */
    inject_icmp_about_udp(&f, 11, 0, FX_L_IP, PORT_L, FX_R_IP, PORT_R, 0);
    ck_assert(!(fx_sock_status(&f, hc) & MOAT_SS_ERR));
    /* the socket still works */
    fx_tx_clear(&f);
    ck_assert_int_eq(fx_sendto(&f, hc, 0, 0, "again", 5), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_teardown(&f);
}
END_TEST

static Suite *icmp_suite(void)
{
    Suite *s = suite_create("icmp");
    TCase *tc = tcase_create("icmp");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, icmp_unreach_quote_1);
    tcase_add_test(tc, icmp_unreach_quote_2);
    tcase_add_test(tc, icmp_unreach_quote_options);
    tcase_add_test(tc, icmp_unreach_quote_padded);
    tcase_add_test(tc, icmp_b_echo_1a);
    tcase_add_test(tc, icmp_b_echo_1a_arp);
    tcase_add_test(tc, icmp_b_echo_1a_options);
    tcase_add_test(tc, icmp_b_echo_1b_fragmented);
    tcase_add_test(tc, icmp_b_echo_1c_bad_cksum);
    tcase_add_test(tc, icmp_b_echo_1d_never);
    tcase_add_test(tc, icmp_echo_bcast_and_others);
    tcase_add_test(tc, icmp_port_unreach_ratelimit);
    tcase_add_test(tc, icmp_error_to_connected_udp);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(icmp_suite)
