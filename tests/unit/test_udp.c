/* SPDX-License-Identifier: MIT */
/*
 * UDP: UDP-RX-UNICAST-1, UDP-RX-DIRECTED-BCAST-1, UDP-RX-LIMITED-BCAST-1
 * (two-interface fixture), UDP-BIND-1 (the IPv4 rows: moat has no IPv6, so
 * the IPv6 and dual-stack rows do not exist; the "dual-stack wildcard vs
 * specific" row becomes "IPv4 wildcard vs specific", which must conflict),
 * UDP-ALLOC-1, UDP-B-1 (IPv4 parts; "checksum 0 over IPv6" does not apply),
 * plus the send path, connected-socket filtering, broadcast permission and
 * receive-ring accounting.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"

#define P 12345
#define PORT_R 5000

static uint8_t frame[4096];

static const char data16[] = "0123456789abcdef";

/* A 16-byte datagram with checksum 0 from the peer of @p ifx to dst:P. */
static void inject16(struct fx *f, unsigned ifx, uint32_t dst)
{
    bool bcast = dst == FX_LIMITED_BCAST || (dst & 0xff) == 0xff;
    struct fx_ip ip = FX_IP(.proto = 17, .src = f->peer_ip[ifx], .dst = dst,
                            .eth_dst = bcast ? fx_bcast_mac : NULL);
    size_t n = fx_udp_frame(f, ifx, frame, &ip, PORT_R, P, data16, 16, FX_CK_ZERO);
    fx_inject(f, ifx, frame, n);
}

/* Take one datagram from @p h and check it is the 16 bytes from @p src. */
static void expect16(struct fx *f, uint32_t h, uint32_t src)
{
    char buf[64];
    size_t got = 0;
    uint32_t ip = 0;
    uint16_t port = 0;
    ck_assert_int_eq(fx_recvfrom(f, h, buf, sizeof buf, &got, &ip, &port), 0);
    ck_assert_uint_eq(got, 16);
    ck_assert_mem_eq(buf, data16, 16);
    ck_assert_uint_eq(ip, src);
    ck_assert_uint_eq(port, PORT_R);
}

struct two { struct fx f; uint32_t s1, s2; };

static void two_setup(struct two *t)
{
    fx_init2(&t->f);
    t->s1 = fx_udp_bound(&t->f, FX_IF1_IP, P);
    t->s2 = fx_udp_bound(&t->f, FX_L_IP, P);
}

/* UDP-RX-UNICAST-1 */
START_TEST(udp_rx_unicast_1)
{
    struct two t;
    two_setup(&t);
    inject16(&t.f, 0, FX_IF1_IP);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s1), 1);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s2), 0);
    expect16(&t.f, t.s1, FX_IF1_PEER);
    inject16(&t.f, 1, FX_L_IP);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s1), 0);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s2), 1);
    expect16(&t.f, t.s2, FX_R_IP);
    fx_expect_no_tx(&t.f);
    fx_teardown(&t.f);
}
END_TEST

/* UDP-RX-DIRECTED-BCAST-1: moat, like lwIP, accepts a directed broadcast
 * for any of its subnets whatever the ingress interface, and delivers it to
 * the socket bound in that subnet (never to the other one). */
START_TEST(udp_rx_directed_bcast_1)
{
    struct two t;
    two_setup(&t);
    inject16(&t.f, 1, FX_IF1_BCAST);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s2), 0);
    ck_assert_uint_le(fx_rx_count(&t.f, t.s1), 1);
    if (fx_rx_count(&t.f, t.s1))
        expect16(&t.f, t.s1, FX_R_IP);
    inject16(&t.f, 0, FX_BCAST_IP);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s1), 0);
    ck_assert_uint_le(fx_rx_count(&t.f, t.s2), 1);
    if (fx_rx_count(&t.f, t.s2))
        expect16(&t.f, t.s2, FX_IF1_PEER);
    /* on its own interface a directed broadcast is certainly delivered */
    inject16(&t.f, 0, FX_IF1_BCAST);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s1), 1);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s2), 0);
    expect16(&t.f, t.s1, FX_IF1_PEER);
    fx_expect_no_tx(&t.f);
    fx_teardown(&t.f);
}
END_TEST

/* UDP-RX-LIMITED-BCAST-1 */
START_TEST(udp_rx_limited_bcast_1)
{
    struct two t;
    two_setup(&t);
    inject16(&t.f, 0, FX_LIMITED_BCAST);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s1), 1);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s2), 0);
    expect16(&t.f, t.s1, FX_IF1_PEER);
    inject16(&t.f, 1, FX_LIMITED_BCAST);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s1), 0);
    ck_assert_uint_eq(fx_rx_count(&t.f, t.s2), 1);
    expect16(&t.f, t.s2, FX_R_IP);
    fx_expect_no_tx(&t.f);
    fx_teardown(&t.f);
}
END_TEST

/* A wildcard-bound socket gets broadcasts from every interface, and each
 * broadcast goes to every matching socket once. */
START_TEST(udp_rx_bcast_wildcard)
{
    struct fx f;
    fx_init2(&f);
    uint32_t w = fx_udp_bound(&f, 0, P + 1);
    struct fx_ip ip = FX_IP(.proto = 17, .src = FX_IF1_PEER, .dst = FX_LIMITED_BCAST,
                            .eth_dst = fx_bcast_mac);
    size_t n = fx_udp_frame(&f, 0, frame, &ip, PORT_R, P + 1, "a", 1, FX_CK_OK);
    fx_inject(&f, 0, frame, n);
    ip = FX_IP(.proto = 17, .src = FX_R_IP, .dst = FX_BCAST_IP, .eth_dst = fx_bcast_mac);
    n = fx_udp_frame(&f, 1, frame, &ip, PORT_R, P + 1, "b", 1, FX_CK_OK);
    fx_inject(&f, 1, frame, n);
    ck_assert_uint_eq(fx_rx_count(&f, w), 2);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* UDP-BIND-1 (IPv4 rows; see the file comment for the IPv6 ones). */
START_TEST(udp_bind_1)
{
    struct fx f;
    fx_init2(&f);
    static const struct { uint32_t first, second; int rc; } rows[] = {
        {0, 0, MOAT_E_ADDRINUSE},                       /* wildcard, wildcard */
        {FX_IF1_IP, FX_L_IP, 0},                        /* two different addresses */
        {FX_IF1_IP, FX_IF1_IP, MOAT_E_ADDRINUSE},       /* same address */
        {0, FX_IF1_IP, MOAT_E_ADDRINUSE},               /* wildcard, then specific */
        {FX_L_IP, 0, MOAT_E_ADDRINUSE},                 /* specific, then wildcard */
    };
    for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint32_t a = 0, b = 0;
        ck_assert_int_eq(fx_udp_open(&f, &a), 0);
        ck_assert_int_eq(fx_udp_open(&f, &b), 0);
        ck_assert_int_eq(fx_bind(&f, a, rows[i].first, P), 0);
        int rc = fx_bind(&f, b, rows[i].second, P);
        ck_assert_msg(rc == rows[i].rc, "row %u: %s, want %s", i, moat_errname(rc),
                      moat_errname(rows[i].rc));
        /* another port is always fine */
        if (rc != 0)
            ck_assert_int_eq(fx_bind(&f, b, rows[i].second, P + 1), 0);
        ck_assert_int_eq(fx_close(&f, a), 0);
        ck_assert_int_eq(fx_close(&f, b), 0);
    }
    /* the port is free again once the socket is closed */
    uint32_t a = fx_udp_bound(&f, 0, P);
    ck_assert_int_eq(fx_close(&f, a), 0);
    a = fx_udp_bound(&f, 0, P);
    /* binding twice, and to an address that is not ours */
    ck_assert_int_eq(fx_bind(&f, a, 0, P + 2), MOAT_E_STATE);
    uint32_t b = 0;
    ck_assert_int_eq(fx_udp_open(&f, &b), 0);
    ck_assert_int_eq(fx_bind(&f, b, FX_IP4(192, 0, 2, 77), P + 3), MOAT_E_ADDRNOTAVAIL);
    /* port 0 picks an ephemeral port (RFC 6056 range) */
    ck_assert_int_eq(fx_bind(&f, b, 0, 0), 0);
    struct moat_m_addr local;
    ck_assert_int_eq(fx_name(&f, b, &local, NULL), 0);
    ck_assert_uint_ge(local.port, 49152);
    ck_assert_uint_eq(local.ip, 0);
    /* a TCP socket on the same port does not conflict with UDP (if TCP exists) */
    uint32_t t = 0;
    if (fx_sock_open(&f, MOAT_SOCK_STREAM, &t) == 0)
        ck_assert_int_eq(fx_bind(&f, t, 0, P), 0);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* Handles survive the 16-bit generation wrapping: a slot reused 70000
 * times never hands out generation 0 (handle 0 means "no socket"), and
 * every handle differs from the one before it. */
START_TEST(handle_generation_wraps_without_zero)
{
    struct fx f;
    fx_init(&f);
    uint32_t prev = 0;
    for (unsigned i = 0; i < 70000; i++) {
        uint32_t h = 0;
        if (fx_udp_open(&f, &h) != 0 || moat_handle_gen(h) == 0 || h == prev)
            ck_abort_msg("open %u gave handle %#x (previous %#x)", i, h, prev);
        if (fx_close(&f, h) != 0)
            ck_abort_msg("close %u of %#x failed", i, h);
        prev = h;
    }
    fx_teardown(&f);
}
END_TEST

/* UDP-ALLOC-1 */
START_TEST(udp_alloc_1)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = 0;
    ck_assert_int_eq(fx_udp_open(&f, &h), 0);
    ck_assert(fx_sock_status(&f, h) & MOAT_SS_OPEN);
    ck_assert_int_eq(fx_close(&f, h), 0);
    ck_assert_uint_eq(fx_sock_status(&f, h), 0);
    fx_expect_no_tx(&f);
    /* the old handle is stale now */
    ck_assert_int_eq(fx_bind(&f, h, 0, P), MOAT_E_BADHANDLE);
    ck_assert_int_eq(fx_close(&f, h), MOAT_E_BADHANDLE);
    /* reopening gives a different handle, even for the same slot */
    uint32_t h2 = 0;
    ck_assert_int_eq(fx_udp_open(&f, &h2), 0);
    ck_assert_uint_ne(h2, h);
    ck_assert_int_eq(fx_close(&f, h2), 0);
    /* fill every slot, one more fails, everything returns */
    uint32_t hs[64];
    ck_assert_uint_le(f.cfg.max_sockets, 64);
    for (unsigned i = 0; i < f.cfg.max_sockets; i++)
        ck_assert_int_eq(fx_udp_open(&f, &hs[i]), 0);
    uint32_t extra;
    ck_assert_int_eq(fx_udp_open(&f, &extra), MOAT_E_MFILE);
    for (unsigned i = 0; i < f.cfg.max_sockets; i++)
        ck_assert_int_eq(fx_close(&f, hs[i]), 0);
    ck_assert_int_eq(fx_udp_open(&f, &extra), 0);
    /* bad requests: unknown type, handle 0 */
    ck_assert_int_eq(fx_sock_open(&f, 7, &h), MOAT_E_INVAL);
    ck_assert_int_eq(fx_bind(&f, 0, 0, P), MOAT_E_BADHANDLE);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* UDP-B-1: length and checksum rules. */
START_TEST(udp_b_1_rx_rules)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    char buf[64];
    size_t got;
    uint8_t seg[64];
    struct fx_ip ip = FX_IP(.proto = 17);

    /* UDP length > IP payload: dropped */
    size_t sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P, data16, 16, FX_CK_OK, 1);
    size_t n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_MALFORMED), 1);

    /* UDP length < IP payload: delivered with the UDP length */
    sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P, data16, 16, FX_CK_OK, -6);
    n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, 10);
    ck_assert_mem_eq(buf, data16, 10);

    /* UDP length < 8: dropped */
    for (int ul = 0; ul < 8; ul++) {
        sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P, data16, 16, FX_CK_ZERO,
                        ul - 24);
        n = fx_ip4(&f, 0, frame, &ip, seg, sl);
        fx_inject(&f, 0, frame, n);
    }
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_MALFORMED), 9);
    /* IP payload shorter than a UDP header */
    n = fx_ip4(&f, 0, frame, &ip, seg, 7);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_MALFORMED), 10);

    /* wrong non-zero checksum: dropped */
    sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P, data16, 16, FX_CK_BAD, 0);
    n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_MALFORMED), 11);
    ck_assert_uint_eq(fx_rx_avail(&f, h), 0);

    /* checksum 0 over IPv4: accepted; a 0xffff checksum (computed 0) too */
    sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P, data16, 16, FX_CK_ZERO, 0);
    n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, 16);

    /* a zero-length datagram is a datagram */
    sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P, NULL, 0, FX_CK_OK, 0);
    n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, 0);
    fx_expect_no_tx(&f);

    /* unbound unicast: port unreachable quoting the datagram */
    sl = fx_udp_seg(seg, FX_R_IP, FX_L_IP, PORT_R, P + 9, data16, 16, FX_CK_OK, 0);
    n = fx_ip4(&f, 0, frame, &ip, seg, sl);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_icmp);
    ck_assert_uint_eq(p.icmp_type, 3);
    ck_assert_uint_eq(p.icmp_code, 3);
    ck_assert_uint_eq(p.dst, FX_R_IP);
    ck_assert_uint_eq(p.icmp_body_len, 28);
    ck_assert_mem_eq(p.icmp_body, frame + 14, 28);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_NO_PORT), 1);
    fx_tx_clear(&f);

    /* unbound broadcast: nothing */
    struct fx_ip bip = FX_IP(.proto = 17, .dst = FX_BCAST_IP, .eth_dst = fx_bcast_mac);
    n = fx_udp_frame(&f, 0, frame, &bip, PORT_R, P + 9, data16, 16, FX_CK_OK);
    fx_inject(&f, 0, frame, n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_NO_PORT), 2);
    fx_teardown(&f);
}
END_TEST

/* UDP-B-1: an outgoing checksum that computes to 0 is sent as 0xffff. */
START_TEST(udp_b_1_tx_cksum_ffff)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    /* choose the last two bytes so that the one's complement sum of
     * pseudo-header + header + data is 0xffff */
    uint8_t d[16];
    memcpy(d, "zero-checksum!", 14);
    d[14] = d[15] = 0;
    uint8_t seg[64];
    fx_udp_seg(seg, FX_L_IP, FX_R_IP, 7000, PORT_R, d, 16, FX_CK_ZERO, 0);
    uint16_t c = fx_l4_cksum(FX_L_IP, FX_R_IP, 17, seg, 24);   /* = ~sum */
    uint16_t sum = (uint16_t)~c;
    uint16_t x = (uint16_t)~sum;        /* sum + x = 0xffff */
    d[14] = (uint8_t)(x >> 8);
    d[15] = (uint8_t)x;
    fx_udp_seg(seg, FX_L_IP, FX_R_IP, 7000, PORT_R, d, 16, FX_CK_ZERO, 0);
    ck_assert_uint_eq(fx_l4_cksum(FX_L_IP, FX_R_IP, 17, seg, 24), 0);   /* computes to 0 */
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, d, 16), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_udp);
    ck_assert_uint_eq(p.udp_cksum, 0xffff);
    fx_teardown(&f);
}
END_TEST

/* The send path: addresses, ports, TTL, no fragmentation, one frame each. */
START_TEST(udp_send_basic)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, data16, 16), 0);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R + 1, "", 0), 0);
    static uint8_t big[1472];
    memset(big, 0x5c, sizeof big);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, big, sizeof big), 0);
    ck_assert_uint_eq(fx_ntx(&f), 3);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_udp);
    ck_assert_uint_eq(p.src, FX_L_IP);
    ck_assert_uint_eq(p.dst, FX_R_IP);
    ck_assert_uint_eq(p.sport, 7000);
    ck_assert_uint_eq(p.dport, PORT_R);
    ck_assert_uint_eq(p.ttl, f.cfg.ip_ttl);
    ck_assert_uint_eq(p.udp_data_len, 16);
    ck_assert_mem_eq(p.udp_data, data16, 16);
    ck_assert_mem_eq(p.eth_dst, fx_r_mac, 6);
    p = fx_tx_pkt(&f, 1);
    ck_assert_uint_eq(p.udp_len, 8);
    ck_assert_uint_eq(p.dport, PORT_R + 1);
    p = fx_tx_pkt(&f, 2);
    ck_assert(!p.mf);
    ck_assert_uint_eq(p.tot_len, 1500);
    ck_assert_mem_eq(p.udp_data, big, sizeof big);
    ck_assert_uint_eq(fx_stats(&f).udp_out, 3);
    /* an unbound socket is bound to an ephemeral port by its first send */
    uint32_t u = 0;
    ck_assert_int_eq(fx_udp_open(&f, &u), 0);
    fx_tx_clear(&f);
    ck_assert_int_eq(fx_sendto(&f, u, FX_R_IP, PORT_R, "e", 1), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    ck_assert_uint_ge(fx_tx_pkt(&f, 0).sport, 49152);
    struct moat_m_addr local;
    ck_assert_int_eq(fx_name(&f, u, &local, NULL), 0);
    ck_assert_uint_eq(local.port, fx_tx_pkt(&f, 0).sport);
    /* no destination on an unconnected socket: NOTCONN, nothing sent */
    fx_tx_clear(&f);
    ck_assert_int_eq(fx_sendto(&f, u, 0, 0, "e", 1), 0);
    fx_expect_no_tx(&f);
    ck_assert_int_eq(fx_sock_error(&f, u), MOAT_E_NOTCONN);
    fx_teardown(&f);
}
END_TEST

/* Many datagrams queued at once all leave, in order (more than one poll
 * batch). */
START_TEST(udp_send_many)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, 7000);
    /* write 200 records without polling in between */
    struct fx_app_sock *as = &f.socks[moat_handle_idx(h)];
    for (unsigned i = 0; i < 200; i++) {
        struct moat_dgram_hdr dh = {.ip = FX_R_IP, .port = PORT_R, .len = 4};
        uint8_t d[4] = {(uint8_t)i, (uint8_t)(i >> 8), 0xaa, 0xbb};
        moat_ring_put(&as->tx, 0, &dh, sizeof dh);
        moat_ring_put(&as->tx, sizeof dh, d, 4);
        moat_ring_publish(&as->tx, sizeof dh + 4);
    }
    fx_poll(&f);        /* the application's doorbell */
    ck_assert_uint_eq(fx_ntx(&f), 200);
    for (unsigned i = 0; i < 200; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert_uint_eq(p.udp_data[0], (uint8_t)i);
    }
    fx_teardown(&f);
}
END_TEST

/* A connected socket takes only its peer's datagrams and sends to it. */
START_TEST(udp_connected)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t c = fx_udp_bound(&f, 0, P);
    ck_assert_int_eq(fx_connect(&f, c, FX_R_IP, PORT_R), 0);
    struct moat_m_addr local, remote;
    ck_assert_int_eq(fx_name(&f, c, &local, &remote), 0);
    ck_assert_uint_eq(local.ip, FX_L_IP);
    ck_assert_uint_eq(local.port, P);
    ck_assert_uint_eq(remote.ip, FX_R_IP);
    ck_assert_uint_eq(remote.port, PORT_R);
    fx_inject_udp(&f, PORT_R + 1, P, "wrong port", 10);
    struct fx_ip ip = FX_IP(.proto = 17, .src = FX_IP4(192, 0, 2, 3));
    size_t n = fx_udp_frame(&f, 0, frame, &ip, PORT_R, P, "wrong host", 10, FX_CK_OK);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_rx_avail(&f, c), 0);
    fx_inject_udp(&f, PORT_R, P, "right", 5);
    ck_assert_uint_eq(fx_rx_count(&f, c), 1);
    /* a more specific (connected) socket wins over a wildcard one */
    fx_tx_clear(&f);
    ck_assert_int_eq(fx_sendto(&f, c, 0, 0, "reply", 5), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.dst, FX_R_IP);
    ck_assert_uint_eq(p.dport, PORT_R);
    ck_assert_uint_eq(p.sport, P);
    /* connect checks its arguments and routes */
    uint32_t d = 0;
    ck_assert_int_eq(fx_udp_open(&f, &d), 0);
    ck_assert_int_eq(fx_connect(&f, d, 0, PORT_R), MOAT_E_INVAL);
    ck_assert_int_eq(fx_connect(&f, d, FX_R_IP, 0), MOAT_E_INVAL);
    ck_assert_int_eq(fx_connect(&f, d, FX_IP4(198, 18, 0, 9), 9), MOAT_E_NETUNREACH);
    fx_teardown(&f);
}
END_TEST

/* Broadcast needs MOAT_OPT_BROADCAST; then it goes to ff:ff:ff:ff:ff:ff. */
START_TEST(udp_send_broadcast)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, 68);
    ck_assert_int_eq(fx_sendto(&f, h, FX_BCAST_IP, 67, "dhcp?", 5), 0);
    fx_expect_no_tx(&f);
    ck_assert(fx_sock_status(&f, h) & MOAT_SS_ERR);
    ck_assert_int_eq(fx_setopt(&f, h, MOAT_OPT_BROADCAST, 1), 0);
    int64_t v = 0;
    ck_assert_int_eq(fx_getopt(&f, h, MOAT_OPT_BROADCAST, &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(fx_sendto(&f, h, FX_BCAST_IP, 67, "dhcp?", 5), 0);
    ck_assert_int_eq(fx_sendto(&f, h, FX_LIMITED_BCAST, 67, "dhcp!", 5), 0);
    ck_assert_uint_eq(fx_ntx(&f), 2);
    for (unsigned i = 0; i < 2; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert(p.is_udp);
        ck_assert_mem_eq(p.eth_dst, fx_bcast_mac, 6);
        ck_assert_uint_eq(p.src, FX_L_IP);
    }
    ck_assert_uint_eq(fx_tx_pkt(&f, 1).dst, FX_LIMITED_BCAST);
    fx_teardown(&f);
}
END_TEST

/* A full receive ring drops (counted), keeps record boundaries, and
 * accepts again once the application has read. RCVBUF limits it. */
START_TEST(udp_rcvbuf_full)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, P);
    static uint8_t d[1000];
    memset(d, 0x42, sizeof d);
    unsigned fit = f.cfg.sock_rx_bytes / (sizeof(struct moat_dgram_hdr) + sizeof d);
    for (unsigned i = 0; i < fit + 5; i++)
        fx_inject_udp(&f, PORT_R, P, d, sizeof d);
    ck_assert_uint_eq(fx_rx_count(&f, h), fit);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_UDP_RCVBUF), 5);
    char buf[2000];
    size_t got;
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, sizeof d);
    fx_inject_udp(&f, PORT_R, P, d, sizeof d);
    ck_assert_uint_eq(fx_rx_count(&f, h), fit);
    /* RCVBUF */
    ck_assert_int_eq(fx_setopt(&f, h, MOAT_OPT_RCVBUF, 1024 * 1024), MOAT_E_RANGE);
    ck_assert_int_eq(fx_setopt(&f, h, MOAT_OPT_RCVBUF, 10), MOAT_E_RANGE);
    uint32_t h2 = fx_udp_bound(&f, 0, P + 1);
    ck_assert_int_eq(fx_setopt(&f, h2, MOAT_OPT_RCVBUF, 4096), 0);
    for (unsigned i = 0; i < 10; i++)
        fx_inject_udp(&f, PORT_R, P + 1, d, sizeof d);
    ck_assert_uint_eq(fx_rx_count(&f, h2), 4096 / (sizeof(struct moat_dgram_hdr) + sizeof d));
    fx_teardown(&f);
}
END_TEST

static Suite *udp_suite(void)
{
    Suite *s = suite_create("udp");
    TCase *rx = tcase_create("rx");
    tcase_set_timeout(rx, 30);
    tcase_add_test(rx, udp_rx_unicast_1);
    tcase_add_test(rx, udp_rx_directed_bcast_1);
    tcase_add_test(rx, udp_rx_limited_bcast_1);
    tcase_add_test(rx, udp_rx_bcast_wildcard);
    tcase_add_test(rx, udp_b_1_rx_rules);
    tcase_add_test(rx, udp_rcvbuf_full);
    suite_add_tcase(s, rx);
    TCase *so = tcase_create("sock");
    tcase_set_timeout(so, 30);
    tcase_add_test(so, udp_bind_1);
    tcase_add_test(so, udp_alloc_1);
    tcase_add_test(so, handle_generation_wraps_without_zero);
    tcase_add_test(so, udp_connected);
    suite_add_tcase(s, so);
    TCase *tx = tcase_create("tx");
    tcase_set_timeout(tx, 30);
    tcase_add_test(tx, udp_b_1_tx_cksum_ffff);
    tcase_add_test(tx, udp_send_basic);
    tcase_add_test(tx, udp_send_many);
    tcase_add_test(tx, udp_send_broadcast);
    suite_add_tcase(s, tx);
    return s;
}

MOAT_CHECK_MAIN(udp_suite)
