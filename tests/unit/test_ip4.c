/* SPDX-License-Identifier: MIT */
/*
 * IPv4: IP4-FRAG-OUT-1, IP4-REASS-1, IP4-LOOPBACK-1, IP4-ATON-1,
 * IP4-B-HDR-1 and IP4-B-REASS-2 (a-g), plus reassembly-slot exhaustion,
 * the basic input drops and the datagram bound (moat_config.ip_max_datagram).
 * Every frame the stack emits has its checksums verified by the fixture as
 * it is captured.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"

#define P 12345
#define PORT_R 5000

static uint8_t frame[2048];

/* A UDP datagram (header + @p dlen pattern bytes) from R:PORT_R to L:P,
 * checksummed, in @p seg. Returns its length. */
static size_t make_udp(uint8_t *seg, size_t dlen, uint8_t salt)
{
    uint8_t data[4096];
    ck_assert_uint_le(dlen, sizeof data);
    for (size_t i = 0; i < dlen; i++)
        data[i] = (uint8_t)(i * 7 + salt);
    return fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P, data, dlen, FX_CK_OK, 0);
}

/* Inject @p n bytes at @p data as the fragment at offset @p off. */
static void inject_piece(struct fx *f, const uint8_t *data, size_t off, size_t n, bool mf,
                         uint16_t id)
{
    struct fx_ip ip = FX_IP(.proto = 17, .id = id, .frag_off = (uint16_t)off, .mf = mf);
    size_t len = fx_ip4(f, 0, frame, &ip, data, n);
    fx_inject(f, 0, frame, len);
}

/* Inject the piece [off, off+n) of @p dg (an IP payload) as a fragment. */
static void inject_frag(struct fx *f, const uint8_t *dg, size_t off, size_t n, bool mf,
                        uint16_t id)
{
    inject_piece(f, dg + off, off, n, mf, id);
}

/* Expect the one datagram in @p h to be the payload of @p seg. */
static void expect_dgram(struct fx *f, uint32_t h, const uint8_t *seg, size_t seglen)
{
    static uint8_t buf[8192];
    size_t got = 0;
    uint32_t ip = 0;
    uint16_t port = 0;
    ck_assert_uint_eq(fx_rx_count(f, h), 1);
    ck_assert_int_eq(fx_recvfrom(f, h, buf, sizeof buf, &got, &ip, &port), 0);
    ck_assert_uint_eq(got, seglen - 8);
    ck_assert_mem_eq(buf, seg + 8, seglen - 8);
    ck_assert_uint_eq(ip, FX_R_IP);
    ck_assert_uint_eq(port, PORT_R);
}

/* IP4-FRAG-OUT-1 */
START_TEST(ip4_frag_out_1)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    static uint8_t data[8000 - 8];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, data, sizeof data), 0);

    ck_assert_uint_eq(fx_ntx(&f), 6);       /* all at once, none deferred */
    static uint8_t re[8000];
    size_t total_ip = 0, covered = 0;
    struct fx_pkt p0 = fx_tx_pkt(&f, 0);
    for (unsigned i = 0; i < 6; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert(p.is_ip);
        ck_assert_uint_eq(p.proto, 17);
        ck_assert_uint_eq(p.id, p0.id);
        ck_assert_uint_eq(p.ip_hl, 20);
        ck_assert_uint_eq(p.frag_off, i * 1480u);
        ck_assert_uint_eq(p.frag_off % 8, 0);
        ck_assert(p.mf == (i < 5));
        ck_assert(!p.df);
        ck_assert_uint_eq(p.l4_len, i < 5 ? 1480u : 600u);
        ck_assert_uint_le(p.tot_len, 1500);
        ck_assert_mem_eq(p.eth_dst, fx_r_mac, 6);
        total_ip += p.tot_len;
        memcpy(re + p.frag_off, p.l4, p.l4_len);
        covered += p.l4_len;
    }
    ck_assert_uint_eq(total_ip, 8000 + 6 * 20);
    ck_assert_uint_eq(covered, 8000);
    /* the reassembled datagram is the original, checksum included */
    ck_assert_uint_eq(((unsigned)re[4] << 8 | re[5]), 8000);
    ck_assert_uint_eq(fx_l4_cksum(FX_L_IP, FX_R_IP, 17, re, 8000), 0);
    ck_assert_mem_eq(re + 8, data, sizeof data);
    ck_assert_uint_eq(fx_stats(&f).ip_frags_out, 6);

    /* the next datagram gets another Identification */
    fx_tx_clear(&f);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, data, 3000), 0);
    ck_assert_uint_eq(fx_ntx(&f), 3);
    ck_assert_uint_ne(fx_tx_pkt(&f, 0).id, p0.id);
    fx_teardown(&f);
}
END_TEST

/* An MTU whose payload room is not a multiple of 8: every fragment but the
 * last still carries a multiple of 8 bytes and fits the MTU. */
START_TEST(ip4_frag_out_odd_mtu)
{
    struct fx f;
    fx_config(&f);
    f.cfg.ifs[0].mtu = 1006;
    fx_start(&f);
    fx_tx_clear(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    static uint8_t data[3000], re[3008];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 5);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, data, sizeof data), 0);
    ck_assert_uint_eq(fx_ntx(&f), 4);
    size_t covered = 0;
    for (unsigned i = 0; i < 4; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert_uint_le(p.tot_len, 1006);
        ck_assert_uint_eq(p.frag_off, i * 984u);
        ck_assert_uint_eq(p.l4_len, i < 3 ? 984u : 3008u - 3 * 984u);
        ck_assert(p.mf == (i < 3));
        memcpy(re + p.frag_off, p.l4, p.l4_len);
        covered += p.l4_len;
    }
    ck_assert_uint_eq(covered, 3008);
    ck_assert_uint_eq(fx_l4_cksum(FX_L_IP, FX_R_IP, 17, re, 3008), 0);
    ck_assert_mem_eq(re + 8, data, sizeof data);
    fx_teardown(&f);
}
END_TEST

/* Start the fixture configured in @p f with R resolved, then: a UDP
 * datagram of @p max payload bytes leaves at once in @p frames fragments;
 * one byte more sends nothing and fails the socket with MSGSIZE (or, if
 * @p peer_ok, PEER: a record above what UDP can carry at all is a broken
 * record to the core). Tears the fixture down. */
static void expect_udp_limit(struct fx *f, size_t max, unsigned frames, bool peer_ok)
{
    static uint8_t data[65536];
    fx_start(f);
    fx_tx_clear(f);
    fx_arp_seed(f);
    uint32_t h = fx_udp_bound(f, 0, 7000);
    ck_assert_int_eq(fx_sendto(f, h, FX_R_IP, PORT_R, data, max), 0);
    ck_assert_uint_eq(fx_ntx(f), frames);
    ck_assert(!(fx_sock_status(f, h) & MOAT_SS_ERR));
    fx_tx_clear(f);
    ck_assert_int_eq(fx_sendto(f, h, FX_R_IP, PORT_R, data, max + 1), 0);
    fx_expect_no_tx(f);
    ck_assert(fx_sock_status(f, h) & MOAT_SS_ERR);
    int32_t err = fx_sock_error(f, h);
    ck_assert_msg(err == MOAT_E_MSGSIZE || (peer_ok && err == MOAT_E_PEER), "error %d", err);
    fx_teardown(f);
}

/* A datagram larger than IP can carry is refused, nothing is sent. The
 * client library refuses it with MSGSIZE before it reaches the ring; a
 * record that says so anyway is failed by the core (MSGSIZE, or PEER for
 * a broken record). */
START_TEST(ip4_frag_out_too_big)
{
    struct fx f;
    fx_config(&f);
    f.cfg.sock_tx_bytes = 131072;
    /* 65507 + 8 bytes in 1480-byte steps */
    expect_udp_limit(&f, 65535 - 28, 45, true);
}
END_TEST

/* IP4-REASS-1 */
START_TEST(ip4_reass_1)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1800];
    size_t n = make_udp(seg, 1800 - 8, 1);
    ck_assert_uint_eq(n, 1800);
    static const unsigned order[9] = {1600, 0, 200, 400, 600, 800, 1400, 1200, 1000};
    for (unsigned k = 0; k < 9; k++) {
        uint64_t drops = fx_drops_total(&f);
        inject_frag(&f, seg, order[k], 200, order[k] != 1600, 0x4242);
        if (k < 8) {
            ck_assert_msg(fx_rx_avail(&f, h) == 0, "delivered after %u fragments", k + 1);
            ck_assert_uint_eq(fx_drops_total(&f), drops);
            ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 0);
        }
    }
    expect_dgram(&f, h, seg, n);
    ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 1);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_expect_no_tx(&f);

    /* the slot is gone: the same Identification reassembles again */
    for (unsigned k = 0; k < 9; k++)
        inject_frag(&f, seg, 200 * k, 200, k != 8, 0x4242);
    expect_dgram(&f, h, seg, n);
    ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 2);
    fx_teardown(&f);
}
END_TEST

/* IP4-LOOPBACK-1: 127/8 (and our own address: no loopback interface)
 * never leaves the host. */
START_TEST(ip4_loopback_1)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    ck_assert_int_eq(fx_sendto(&f, h, FX_IP4(127, 0, 0, 1), 7, "lo", 2), 0);
    fx_expect_no_tx(&f);
    ck_assert(fx_sock_status(&f, h) & MOAT_SS_ERR);
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_HOSTUNREACH);
    ck_assert_int_eq(fx_sendto(&f, h, FX_IP4(127, 1, 2, 3), 7, "lo", 2), 0);
    ck_assert_int_eq(fx_sendto(&f, h, FX_L_IP, 7, "me", 2), 0);
    ck_assert_int_eq(fx_sendto(&f, h, FX_IP4(0, 1, 2, 3), 7, "zero", 4), 0);
    fx_expect_no_tx(&f);
    ck_assert_uint_ge(fx_drop(&f, MOAT_DROP_NO_ROUTE), 4);
    /* connecting to loopback fails or the send does: nothing on the wire */
    uint32_t h2 = 0;
    ck_assert_int_eq(fx_udp_open(&f, &h2), 0);
    int rc = fx_connect(&f, h2, FX_IP4(127, 0, 0, 1), 7);
    if (rc == 0)
        ck_assert_int_eq(fx_sendto(&f, h2, 0, 0, "lo", 2), 0);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* Off-link destinations go to the default gateway's MAC (ARP asks for the
 * gateway, never for the destination); without a gateway: NETUNREACH. */
START_TEST(ip4_route_gateway)
{
    struct fx f;
    fx_config(&f);
    f.cfg.ifs[0].gw = FX_IP4(192, 0, 2, 254);
    fx_start(&f);
    fx_tx_clear(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    const uint32_t far = FX_IP4(198, 18, 7, 7);
    const uint8_t gw_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0xfe};
    ck_assert_int_eq(fx_sendto(&f, h, far, PORT_R, "via-gw", 6), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_expect_arp_request(&f, 0, FX_IP4(192, 0, 2, 254));
    fx_tx_clear(&f);
    fx_arp_reply_from(&f, 0, FX_IP4(192, 0, 2, 254), gw_mac);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_udp);
    ck_assert_uint_eq(p.dst, far);
    ck_assert_uint_eq(p.src, FX_L_IP);
    ck_assert_mem_eq(p.eth_dst, gw_mac, 6);
    /* on-link traffic still goes direct */
    fx_tx_clear(&f);
    fx_arp_seed(&f);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, "direct", 6), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    ck_assert_mem_eq(fx_tx_pkt(&f, 0).eth_dst, fx_r_mac, 6);
    fx_teardown(&f);

    fx_init(&f);                                /* no gateway */
    h = fx_udp_bound(&f, 0, 7000);
    ck_assert_int_eq(fx_sendto(&f, h, far, PORT_R, "nowhere", 7), 0);
    fx_expect_no_tx(&f);
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_NETUNREACH);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_NO_ROUTE), 1);
    fx_teardown(&f);
}
END_TEST

/* IP4-ATON-1 */
START_TEST(ip4_aton_1)
{
    static const struct { const char *text; int ok; uint32_t v; } t[] = {
        {"198.18.0.1", 1, FX_IP4(198, 18, 0, 1)},
        {"198.18.0.0001", 1, FX_IP4(198, 18, 0, 1)},
        {"192.168.1", 1, FX_IP4(192, 168, 0, 1)},
        {"192.168.0xd3", 1, FX_IP4(192, 168, 0, 0xd3)},
        {"198.18.0.zzz", 0, 0},
        {"192.168.0xz5", 0, 0},
        {"192.168.095", 0, 0},
        {"10", 1, 10},
        {"10.1", 1, FX_IP4(10, 0, 0, 1)},
        {"0x7f.1", 1, FX_IP4(127, 0, 0, 1)},
        {"255.255.255.255", 1, 0xffffffffu},
        {"256.1.1.1", 0, 0},
        {"1.2.3.4.5", 0, 0},
        {"1..3.4", 0, 0},
        {"1.2.3.", 0, 0},
        {"", 0, 0},
        {"1.2.3.4 ", 0, 0},
        {"1.2.65536", 0, 0},
        {"0x", 0, 0},
        {"4294967296", 0, 0},
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint32_t v = 0xdeadbeef;
        int rc = moat_ip4_parse(t[i].text, &v);
        ck_assert_msg((rc == 0) == (t[i].ok == 1), "case %u \"%s\": rc %d", i, t[i].text, rc);
        if (t[i].ok)
            ck_assert_msg(v == t[i].v, "case %u \"%s\": got %08x want %08x", i, t[i].text,
                          v, t[i].v);
        else
            ck_assert_int_eq(rc, MOAT_E_INVAL);
    }
    uint32_t v;
    ck_assert_int_eq(moat_ip4_parse(NULL, &v), MOAT_E_INVAL);
    uint8_t prefix = 99;
    ck_assert_int_eq(moat_ip4_parse_cidr("192.0.2.1/24", &v, &prefix), 0);
    ck_assert_uint_eq(v, FX_L_IP);
    ck_assert_uint_eq(prefix, 24);
    prefix = 7;
    ck_assert_int_eq(moat_ip4_parse_cidr("198.18.0.1", &v, &prefix), 0);
    ck_assert_uint_eq(prefix, 7);
    ck_assert_int_eq(moat_ip4_parse_cidr("198.18.0.1/33", &v, &prefix), MOAT_E_INVAL);
    ck_assert_int_eq(moat_ip4_parse_cidr("198.18.0.1/", &v, &prefix), MOAT_E_INVAL);
    char buf[16];
    ck_assert_str_eq(moat_ip4_format(FX_IP4(198, 18, 0, 255), buf), "198.18.0.255");
    ck_assert_str_eq(moat_ip4_format(0xffffffffu, buf), "255.255.255.255");
    uint8_t mac[6];
    ck_assert_int_eq(moat_mac_parse("02:00:c0:00:02:01", mac), 0);
    ck_assert_mem_eq(mac, fx_l_mac, 6);
    ck_assert_int_eq(moat_mac_parse("02:00:c0:00:02", mac), MOAT_E_INVAL);
    ck_assert_int_eq(moat_mac_parse("02:00:c0:00:02:0g", mac), MOAT_E_INVAL);
}
END_TEST

/* IP4-B-HDR-1: each malformed header is dropped silently with its own
 * counter; options are skipped; TTL 0 addressed to us is accepted. */
START_TEST(ip4_b_hdr_1)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    uint8_t udp[64];
    size_t un = fx_udp_seg(udp, FX_R_IP, FX_L_IP, PORT_R, P, "0123456789abcdef", 16,
                           FX_CK_OK, 0);
    static const struct {
        const char *what;
        struct fx_ip ip;
        int cut;            /* bytes removed from the end of the frame */
        enum moat_drop reason;
    } bad[] = {
        {"bad checksum", FX_IP(.proto = 17, .bad_cksum = true), 0, MOAT_DROP_IP_CHECKSUM},
        {"version 6", FX_IP(.proto = 17, .version = 6), 0, MOAT_DROP_IP_VERSION},
        {"version 0", FX_IP(.proto = 17, .version = 0), 0, MOAT_DROP_IP_VERSION},
        {"IHL 4", FX_IP(.proto = 17, .ihl = 4), 0, MOAT_DROP_IP_HDRLEN},
        {"IHL 0", FX_IP(.proto = 17, .ihl = 0xf0), 0, MOAT_DROP_IP_HDRLEN},
        {"IHL 15 > datagram", FX_IP(.proto = 17, .ihl = 15, .tot_len = 20), 0,
         MOAT_DROP_IP_HDRLEN},
        {"total < IHL*4", FX_IP(.proto = 17, .tot_len = 19), 0, MOAT_DROP_IP_TOTLEN},
        {"total > bytes", FX_IP(.proto = 17), 1, MOAT_DROP_IP_TOTLEN},
        {"total 65535", FX_IP(.proto = 17, .tot_len = 65535), 0, MOAT_DROP_IP_TOTLEN},
        {"src 127.0.0.1", FX_IP(.proto = 17, .src = FX_IP4(127, 0, 0, 1)), 0,
         MOAT_DROP_IP_BAD_SRC},
        {"src limited bcast", FX_IP(.proto = 17, .src = 0xffffffffu), 0,
         MOAT_DROP_IP_BAD_SRC},
        {"src subnet bcast", FX_IP(.proto = 17, .src = FX_BCAST_IP), 0,
         MOAT_DROP_IP_BAD_SRC},
        {"src multicast", FX_IP(.proto = 17, .src = FX_IP4(224, 0, 0, 5)), 0,
         MOAT_DROP_IP_BAD_SRC},
        {"src class E", FX_IP(.proto = 17, .src = FX_IP4(240, 0, 0, 1)), 0,
         MOAT_DROP_IP_BAD_SRC},
        {"dst not ours", FX_IP(.proto = 17, .dst = FX_IP4(192, 0, 2, 3)), 0,
         MOAT_DROP_IP_NOT_US},
        {"dst other subnet", FX_IP(.proto = 17, .dst = FX_IP4(198, 18, 0, 1)), 0,
         MOAT_DROP_IP_NOT_US},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct moat_stats before = fx_stats(&f);
        size_t n = fx_ip4(&f, 0, frame, &bad[i].ip, udp, un);
        fx_inject(&f, 0, frame, n - (size_t)bad[i].cut);
        struct moat_stats after = fx_stats(&f);
        ck_assert_msg(after.drops[bad[i].reason] == before.drops[bad[i].reason] + 1,
                      "%s: %s not counted", bad[i].what, moat_drop_name((int)bad[i].reason));
        ck_assert_msg(moat_stats_drops_total(&after) == moat_stats_drops_total(&before) + 1,
                      "%s: more than one drop counted", bad[i].what);
        ck_assert_msg(fx_rx_avail(&f, h) == 0, "%s: delivered", bad[i].what);
        ck_assert_msg(fx_ntx(&f) == 0, "%s: something was sent", bad[i].what);
    }
    /* shorter than an IP header */
    fx_eth(frame, fx_l_mac, fx_r_mac, 0x0800);
    memset(frame + 14, 0x45, 19);
    fx_inject(&f, 0, frame, 14 + 19);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP_SHORT), 1);

    /* valid: options (NOP + 3 EOL), TTL 0, padding after the datagram */
    static const uint8_t opts[4] = {1, 0, 0, 0};
    const struct fx_ip good[] = {
        FX_IP(.proto = 17, .opts = opts, .opt_len = 4),
        FX_IP(.proto = 17, .ttl = 0),
        FX_IP(.proto = 17, .tos = 0xb8, .df = true),
        FX_IP(.proto = 17, .pad_to = 200),
    };
    for (unsigned i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t drops = fx_drops_total(&f);
        size_t n = fx_ip4(&f, 0, frame, &good[i], udp, un);
        fx_inject(&f, 0, frame, n);
        char buf[64];
        size_t got = 0;
        ck_assert_msg(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL) == 0,
                      "valid case %u not delivered", i);
        ck_assert_uint_eq(got, 16);
        ck_assert_mem_eq(buf, "0123456789abcdef", 16);
        ck_assert_uint_eq(fx_drops_total(&f), drops);
    }
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* IP4-B-REASS-2 (a): only the first fragment: freed at the timeout with one
 * Time Exceeded (code 1) quoting it. */
START_TEST(ip4_b_reass_2a_timeout_first)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1000];
    make_udp(seg, 1000 - 8, 2);
    inject_frag(&f, seg, 0, 400, true, 0x5151);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 1);
    uint64_t t_us = (uint64_t)f.cfg.reass_timeout_ms * 1000u;
    fx_advance(&f, t_us - 1000);
    fx_expect_no_tx(&f);
    fx_advance(&f, 2000);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_icmp);
    ck_assert_uint_eq(p.icmp_type, 11);
    ck_assert_uint_eq(p.icmp_code, 1);
    ck_assert_uint_eq(p.icmp_rest, 0);
    ck_assert_uint_eq(p.src, FX_L_IP);
    ck_assert_uint_eq(p.dst, FX_R_IP);
    ck_assert_uint_eq(p.icmp_body_len, 20 + 8);
    struct fx_ip ip = FX_IP(.proto = 17, .id = 0x5151, .frag_off = 0, .mf = true);
    size_t n = fx_ip4(&f, 0, frame, &ip, seg, 400);
    (void)n;
    ck_assert_mem_eq(p.icmp_body, frame + 14, 20 + 8);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_TIMEOUT), 1);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    fx_teardown(&f);
}
END_TEST

/* IP4-B-REASS-2 (a) with the source not in the ARP cache: the Time
 * Exceeded waits for ARP, and the ARP retry timer armed while the
 * reassembly timer ran must be honoured (mcore_poll's deadline), so the
 * retries come one second apart and the held buffer is released. */
START_TEST(ip4_b_reass_2a_timeout_unresolved)
{
    struct fx f;
    fx_init(&f);
    static uint8_t seg[1000];
    make_udp(seg, 1000 - 8, 2);
    inject_frag(&f, seg, 0, 400, true, 0x5150);
    fx_advance(&f, (uint64_t)f.cfg.reass_timeout_ms * 1000u + 1000u);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_expect_arp_request(&f, 0, FX_R_IP);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 1);      /* the ICMP, queued */
    ck_assert_msg(f.next_due <= f.now + 1000000u,
                  "mcore_poll's deadline is %s, but the ARP retry is due in 1 s",
                  f.next_due == MCORE_NEVER ? "never" : "later");
    fx_advance(&f, 10000000u);
    ck_assert_uint_ge(fx_ntx(&f), 2);
    ck_assert_uint_le(fx_tx(&f, 1)->t - fx_tx(&f, 0)->t, 1100000u);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    /* answered in time, the Time Exceeded goes out */
    fx_tx_clear(&f);
    inject_frag(&f, seg, 0, 400, true, 0x5151);
    fx_advance(&f, (uint64_t)f.cfg.reass_timeout_ms * 1000u + 1000u);
    fx_tx_clear(&f);
    fx_arp_reply_from(&f, 0, FX_R_IP, fx_r_mac);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_icmp);
    ck_assert_uint_eq(p.icmp_type, 11);
    fx_teardown(&f);
}
END_TEST

/* IP4-B-REASS-2 (b): non-first fragments only: freed, no ICMP. */
START_TEST(ip4_b_reass_2b_timeout_nonfirst)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1000];
    make_udp(seg, 1000 - 8, 3);
    inject_frag(&f, seg, 400, 400, true, 0x5252);
    inject_frag(&f, seg, 800, 200, false, 0x5252);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 2);
    fx_advance(&f, (uint64_t)f.cfg.reass_timeout_ms * 1000u + 1000000u);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_TIMEOUT), 1);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    fx_teardown(&f);
}
END_TEST

/* IP4-B-REASS-2 (c): an exact duplicate mid-way changes nothing. */
START_TEST(ip4_b_reass_2c_duplicate)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1200];
    size_t n = make_udp(seg, 1200 - 8, 4);
    inject_frag(&f, seg, 0, 400, true, 0x5353);
    inject_frag(&f, seg, 400, 400, true, 0x5353);
    inject_frag(&f, seg, 400, 400, true, 0x5353);
    inject_frag(&f, seg, 0, 400, true, 0x5353);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    inject_frag(&f, seg, 800, 400, false, 0x5353);
    expect_dgram(&f, h, seg, n);
    /* a duplicate of a piece after completion starts a new datagram that
     * never completes and is freed by the timer (no ICMP: not offset 0) */
    inject_frag(&f, seg, 400, 400, true, 0x5353);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    /* an overlap with identical bytes is accepted too */
    inject_frag(&f, seg, 0, 600, true, 0x5454);
    inject_frag(&f, seg, 400, 800, false, 0x5454);
    expect_dgram(&f, h, seg, n);
    ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 2);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* IP4-B-REASS-2 (d): an overlap with different bytes. Policy (ip4_reass.c):
 * the whole datagram is discarded and FRAG_OVERLAP counted; never a mix. */
START_TEST(ip4_b_reass_2d_overlap)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1200], evil[1200];
    make_udp(seg, 1200 - 8, 5);
    memcpy(evil, seg, sizeof evil);
    for (size_t i = 400; i < 800; i++)
        evil[i] ^= 0x5a;
    inject_frag(&f, seg, 0, 600, true, 0x5555);
    inject_frag(&f, evil, 400, 400, true, 0x5555);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_OVERLAP), 1);
    inject_frag(&f, seg, 600, 600, false, 0x5555);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    /* whatever arrives next for that id, no corrupt datagram is delivered */
    inject_frag(&f, seg, 0, 600, true, 0x5555);
    static uint8_t buf[2048];
    size_t got = 0;
    if (fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL) == 0) {
        ck_assert_uint_eq(got, 1200 - 8);
        ck_assert_mem_eq(buf, seg + 8, got);
    }
    fx_teardown(&f);
}
END_TEST

/* IP4-B-REASS-2 (e)(f): offset + length beyond 65535, a non-last
 * fragment whose length is not a multiple of 8; and related nonsense. */
START_TEST(ip4_b_reass_2ef_bad)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1200];
    make_udp(seg, 1200 - 8, 6);
    inject_piece(&f, seg, 65528, 200, false, 0x5656);          /* (e) */
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 1);
    inject_piece(&f, seg, 65000, 528, true, 0x5657);           /* (e) with MF */
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 2);
    inject_frag(&f, seg, 0, 401, true, 0x5658);                /* (f) */
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 3);
    inject_frag(&f, seg, 8, 0, true, 0x5659);                  /* empty fragment */
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 4);
    /* a last fragment that ends before data already held */
    inject_frag(&f, seg, 400, 400, true, 0x565a);
    inject_frag(&f, seg, 8, 200, false, 0x565a);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 5);
    /* two different "last" fragments */
    inject_frag(&f, seg, 800, 400, false, 0x565b);
    inject_frag(&f, seg, 400, 408, false, 0x565b);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 6);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* IP4-B-REASS-2 (g): interleaved datagrams reassemble independently;
 * also with the same id from two protocols. */
START_TEST(ip4_b_reass_2g_interleaved)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t a[1200], b[1000];
    size_t na = make_udp(a, 1200 - 8, 7);
    size_t nb = make_udp(b, 1000 - 8, 8);
    inject_frag(&f, a, 800, 400, false, 0x0a0a);
    inject_frag(&f, b, 0, 504, true, 0x0b0b);
    inject_frag(&f, a, 0, 400, true, 0x0a0a);
    inject_frag(&f, b, 504, 496, false, 0x0b0b);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    expect_dgram(&f, h, b, nb);
    inject_frag(&f, a, 400, 400, true, 0x0a0a);
    expect_dgram(&f, h, a, na);
    ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 2);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

/* More datagrams in progress than slots: the oldest gives way (counted),
 * no buffer leaks, and the newest still completes. */
START_TEST(ip4_reass_slots_exhausted)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[800];
    size_t n = make_udp(seg, 800 - 8, 9);
    const unsigned k = f.cfg.reass_slots + 3;
    for (unsigned i = 0; i < k; i++) {
        inject_frag(&f, seg, 0, 400, true, (uint16_t)(0x7000 + i));
        fx_advance(&f, 1000);
    }
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_NOMEM), 3);
    ck_assert_uint_le(fx_stats(&f).pkt_in_use, f.cfg.reass_slots);
    inject_frag(&f, seg, 400, 400, false, (uint16_t)(0x7000 + k - 1));
    expect_dgram(&f, h, seg, n);
    /* the evicted first one cannot complete */
    inject_frag(&f, seg, 400, 400, false, 0x7000);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    fx_teardown(&f);
}
END_TEST

/* Reassembly may use at most part of the packet pool: a flood of distinct
 * fragments never starves it (pool never exhausted). */
START_TEST(ip4_reass_pool_bound)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1600];
    make_udp(seg, 1600 - 8, 10);
    for (unsigned i = 0; i < 200; i++)
        inject_frag(&f, seg, 8 * (i % 150), 8, true, (uint16_t)(0x6000 + i % 3));
    ck_assert_uint_lt(fx_stats(&f).pkt_in_use, f.cfg.pkt_bufs);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_PKT_NOMEM), 0);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    fx_teardown(&f);
}
END_TEST

/* A datagram to an unknown protocol counts IP_PROTO (and is answered in
 * the ICMP suite). */
START_TEST(ip4_unknown_proto_counted)
{
    struct fx f;
    fx_init(&f);
    struct fx_ip ip = FX_IP(.proto = 0x22, .dst = FX_BCAST_IP, .eth_dst = fx_bcast_mac);
    size_t n = fx_ip4(&f, 0, frame, &ip, "z", 1);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP_PROTO), 1);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* ---- moat_config.ip_max_datagram (docs/footprint.md) ------------------ */

/* The bound is checked, and it shrinks the core's memory by the two
 * datagram buffers' difference. */
START_TEST(ip4_maxdgram_config)
{
    struct fx f;
    fx_config(&f);
    struct moat_config cfg = f.cfg;
    char why[128];
    size_t full = mcore_mem_size(&cfg);
    cfg.ip_max_datagram = 0;                       /* 0: the default, 65535 */
    ck_assert_uint_eq(mcore_mem_size(&cfg), full);
    cfg.ip_max_datagram = cfg.ifs[0].mtu;
    ck_assert_int_eq(moat_config_check(&cfg, why, sizeof why), 0);
    size_t small = mcore_mem_size(&cfg);
    ck_assert_uint_ne(small, 0);
    ck_assert_uint_ge(full - small, 2u * (65535u - cfg.ifs[0].mtu - 64u));
    cfg.ip_max_datagram = cfg.ifs[0].mtu - 1u;     /* below the MTU */
    ck_assert_int_eq(moat_config_check(&cfg, why, sizeof why), MOAT_E_RANGE);
    ck_assert_uint_eq(mcore_mem_size(&cfg), 0);
    cfg.ifs[0].mtu = 576;
    cfg.ip_max_datagram = 575;
    ck_assert_int_eq(moat_config_check(&cfg, why, sizeof why), MOAT_E_RANGE);
    cfg.ip_max_datagram = 65536;
    ck_assert_int_eq(moat_config_check(&cfg, why, sizeof why), MOAT_E_RANGE);
}
END_TEST

/* Sending: a datagram up to the bound goes out in fragments; one byte
 * more fails the socket with MSGSIZE and sends nothing. */
START_TEST(ip4_maxdgram_send)
{
    struct fx f;
    fx_config(&f);
    f.cfg.ip_max_datagram = 3000;
    /* 2980 bytes of IP payload: 1480 + 1480 + 20 */
    expect_udp_limit(&f, 3000 - 28, 3, false);
}
END_TEST

/* At the smallest useful bound, the MTU: a full-size datagram whose next
 * hop is not resolved yet waits in the datagram buffer and leaves whole
 * once ARP answers. */
START_TEST(ip4_maxdgram_mtu_arp_wait)
{
    struct fx f;
    fx_config(&f);
    f.cfg.ip_max_datagram = f.cfg.ifs[0].mtu;
    fx_start(&f);
    fx_tx_clear(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    static uint8_t data[1500];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13);
    const size_t max = f.cfg.ifs[0].mtu - 28u;
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, data, max), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_expect_arp_request(&f, 0, FX_R_IP);
    fx_tx_clear(&f);
    fx_arp_reply_from(&f, 0, FX_R_IP, fx_r_mac);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_ip);
    ck_assert_uint_eq(p.tot_len, f.cfg.ifs[0].mtu);
    ck_assert(!p.mf);
    ck_assert_mem_eq(p.l4 + 8, data, max);
    fx_teardown(&f);
}
END_TEST

/* Reassembly: a datagram of exactly the bound is delivered; one whose
 * fragments reach past it is dropped as FRAG_BAD, nothing delivered. */
START_TEST(ip4_maxdgram_reass)
{
    struct fx f;
    fx_config(&f);
    f.cfg.ip_max_datagram = 1820;
    fx_start(&f);
    fx_tx_clear(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t seg[1808];
    size_t n = make_udp(seg, 1800 - 8, 3);     /* 20 + 1800 = 1820 bytes of IP */
    for (unsigned k = 0; k < 9; k++)
        inject_frag(&f, seg, 200 * k, 200, k != 8, 0x6161);
    expect_dgram(&f, h, seg, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 0);

    n = make_udp(seg, 1808 - 8, 4);            /* 20 + 1808 = 1828: 8 bytes too many */
    for (unsigned k = 0; k < 9; k++)
        inject_frag(&f, seg, 200 * k, 200, true, 0x6262);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 0);
    inject_frag(&f, seg, 1800, 8, false, 0x6262);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_FRAG_BAD), 1);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    ck_assert_uint_eq(fx_stats(&f).ip_reassembled, 1);
    fx_teardown(&f);
}
END_TEST

static Suite *ip4_suite(void)
{
    Suite *s = suite_create("ip4");
    TCase *tc = tcase_create("ip4");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ip4_frag_out_1);
    tcase_add_test(tc, ip4_frag_out_odd_mtu);
    tcase_add_test(tc, ip4_frag_out_too_big);
    tcase_add_test(tc, ip4_reass_1);
    tcase_add_test(tc, ip4_loopback_1);
    tcase_add_test(tc, ip4_route_gateway);
    tcase_add_test(tc, ip4_aton_1);
    tcase_add_test(tc, ip4_b_hdr_1);
    tcase_add_test(tc, ip4_unknown_proto_counted);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("reass");
    tcase_set_timeout(tr, 30);
    tcase_add_test(tr, ip4_b_reass_2a_timeout_first);
    tcase_add_test(tr, ip4_b_reass_2a_timeout_unresolved);
    tcase_add_test(tr, ip4_b_reass_2b_timeout_nonfirst);
    tcase_add_test(tr, ip4_b_reass_2c_duplicate);
    tcase_add_test(tr, ip4_b_reass_2d_overlap);
    tcase_add_test(tr, ip4_b_reass_2ef_bad);
    tcase_add_test(tr, ip4_b_reass_2g_interleaved);
    tcase_add_test(tr, ip4_reass_slots_exhausted);
    tcase_add_test(tr, ip4_reass_pool_bound);
    suite_add_tcase(s, tr);
    TCase *tm = tcase_create("maxdgram");
    tcase_set_timeout(tm, 30);
    tcase_add_test(tm, ip4_maxdgram_config);
    tcase_add_test(tm, ip4_maxdgram_send);
    tcase_add_test(tm, ip4_maxdgram_mtu_arp_wait);
    tcase_add_test(tm, ip4_maxdgram_reass);
    suite_add_tcase(s, tm);
    return s;
}

MOAT_CHECK_MAIN(ip4_suite)
