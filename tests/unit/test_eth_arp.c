/* SPDX-License-Identifier: MIT */
/*
 * Ethernet and ARP, black-box through the fixture (tests/support/fx.h):
 * ARP-RESOLVE-1, ARP-CACHE-EVICT-1, ARP-STATIC-AGE-1, ARP-B-1 (a-d),
 * ETH-B-PAD-1 (the UDP half; the TCP half is in the TCP suites), the
 * start-up gratuitous ARP and the Ethernet input drops.
 *
 * "X is cached" is checked only through the wire: a send to X emits the IP
 * frame at once iff X is resolved, an ARP request otherwise.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"

#define PORT_L 4000
#define PORT_R 5000

/* A MAC for on-link host 192.0.2.h. */
static void host_mac(uint8_t mac[6], unsigned h)
{
    const uint8_t m[6] = {0x02, 0x00, 0x0a, 0x0b, 0x0c, (uint8_t)h};
    memcpy(mac, m, 6);
}

/* Send a 4-byte datagram to ip:PORT_R from socket @p h. */
static void send4(struct fx *f, uint32_t h, uint32_t ip)
{
    ck_assert_int_eq(fx_sendto(f, h, ip, PORT_R, "ping", 4), 0);
}

/* Assert frame @p i is our UDP datagram to @p ip at Ethernet @p mac. */
static void expect_udp_to(const struct fx *f, unsigned i, uint32_t ip, const uint8_t mac[6])
{
    struct fx_pkt p = fx_tx_pkt(f, i);
    ck_assert_msg(p.is_udp, "frame #%u is not UDP (type 0x%04x)", i, p.eth_type);
    ck_assert_uint_eq(p.dst, ip);
    ck_assert_uint_eq(p.src, FX_L_IP);
    ck_assert_mem_eq(p.eth_dst, mac, 6);
    ck_assert_uint_eq(p.dport, PORT_R);
    ck_assert_uint_eq(p.udp_data_len, 4);
    ck_assert_mem_eq(p.udp_data, "ping", 4);
}

/* Is @p ip resolved? Sends one datagram; the answer comes from the wire.
 * A miss leaves a pending entry behind (and the datagram queued). */
static bool cached(struct fx *f, uint32_t h, uint32_t ip, uint8_t mac_out[6])
{
    fx_tx_clear(f);
    send4(f, h, ip);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct fx_pkt p = fx_tx_pkt(f, 0);
    if (p.is_arp) {
        fx_expect_arp_request(f, 0, ip);
        return false;
    }
    ck_assert(p.is_udp);
    ck_assert_uint_eq(p.dst, ip);
    if (mac_out)
        memcpy(mac_out, p.eth_dst, 6);
    return true;
}

/* Resolve @p ip with a dynamic entry: send, see the request, answer it,
 * see the queued datagram go out. */
static void resolve(struct fx *f, uint32_t h, uint32_t ip, const uint8_t mac[6])
{
    fx_tx_clear(f);
    send4(f, h, ip);
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_expect_arp_request(f, 0, ip);
    fx_tx_clear(f);
    fx_arp_reply_from(f, 0, ip, mac);
    ck_assert_uint_eq(fx_ntx(f), 1);
    expect_udp_to(f, 0, ip, mac);
    fx_tx_clear(f);
}

START_TEST(gratuitous_arp_on_start)
{
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_arp);
    ck_assert_mem_eq(p.eth_dst, fx_bcast_mac, 6);
    ck_assert_mem_eq(p.eth_src, fx_l_mac, 6);
    ck_assert_mem_eq(p.arp_sha, fx_l_mac, 6);
    ck_assert_uint_eq(p.arp_spa, FX_L_IP);
    ck_assert_uint_eq(p.arp_tpa, FX_L_IP);
    /* mcore_arp_announce sends another one per interface */
    fx_tx_clear(&f);
    mcore_arp_announce(f.core, f.now);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    ck_assert_uint_eq(fx_tx_pkt(&f, 0).arp_tpa, FX_L_IP);
    fx_teardown(&f);
}
END_TEST

START_TEST(gratuitous_arp_two_ifs)
{
    struct fx f;
    fx_config2(&f);
    fx_start(&f);
    ck_assert_uint_eq(fx_ntx(&f), 2);
    bool seen[2] = {false, false};
    for (unsigned i = 0; i < 2; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert(p.is_arp);
        ck_assert_uint_eq(p.arp_spa, f.cfg.ifs[p.ifx].ip);
        ck_assert_uint_eq(p.arp_tpa, f.cfg.ifs[p.ifx].ip);
        seen[p.ifx] = true;
    }
    ck_assert(seen[0] && seen[1]);
    fx_teardown(&f);
}
END_TEST

/* ARP-RESOLVE-1 */
START_TEST(arp_resolve_1)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    const uint32_t A = FX_IP4(192, 0, 2, 10);
    uint8_t ma[6];
    host_mac(ma, 10);

    send4(&f, h, A);
    ck_assert_uint_eq(fx_ntx(&f), 1);           /* the request, no IP yet */
    fx_expect_arp_request(&f, 0, A);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.eth_type, 0x0806);
    fx_tx_clear(&f);

    fx_arp_reply_from(&f, 0, A, ma);
    ck_assert_uint_eq(fx_ntx(&f), 1);           /* exactly the queued datagram */
    expect_udp_to(&f, 0, A, ma);
    fx_tx_clear(&f);

    send4(&f, h, A);                            /* cache hit: IP at once */
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_udp_to(&f, 0, A, ma);
    ck_assert_uint_eq(fx_stats(&f).arp_requests_out, 2);   /* gratuitous + one */
    fx_teardown(&f);
}
END_TEST

/* ARP-CACHE-EVICT-1 */
START_TEST(arp_cache_evict_1)
{
    struct fx f;
    fx_init(&f);
    const unsigned N = f.cfg.arp_entries;
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    uint8_t mac[6], got[6];

    for (unsigned i = 0; i < N; i++) {
        host_mac(mac, 10 + i);
        resolve(&f, h, FX_IP4(192, 0, 2, 10 + i), mac);
        fx_advance(&f, 1000000);
    }
    /* (1) a static entry takes the oldest dynamic slot, silently */
    const uint32_t S1 = FX_IP4(192, 0, 2, 100);
    uint8_t ms1[6];
    host_mac(ms1, 100);
    ck_assert_int_eq(mcore_arp_add_static(f.core, 0, S1, ms1), 0);
    fx_expect_no_tx(&f);
    for (unsigned i = 1; i < N; i++) {
        host_mac(mac, 10 + i);
        ck_assert_msg(cached(&f, h, FX_IP4(192, 0, 2, 10 + i), got), "A%u evicted", i);
        ck_assert_mem_eq(got, mac, 6);
    }
    ck_assert(cached(&f, h, S1, got));
    ck_assert_mem_eq(got, ms1, 6);
    ck_assert_msg(!cached(&f, h, FX_IP4(192, 0, 2, 10), NULL), "A0 should be evicted");
    /* answer the pending A0 so that it is resolved again */
    host_mac(mac, 10);
    fx_tx_clear(&f);
    fx_arp_reply_from(&f, 0, FX_IP4(192, 0, 2, 10), mac);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_udp_to(&f, 0, FX_IP4(192, 0, 2, 10), mac);

    /* (2) resolve everything again; S1 stays whatever is evicted */
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned i = 0; i < N; i++) {
            uint32_t ip = FX_IP4(192, 0, 2, 10 + i);
            host_mac(mac, 10 + i);
            fx_advance(&f, 100000);
            if (!cached(&f, h, ip, NULL)) {
                fx_tx_clear(&f);
                fx_arp_reply_from(&f, 0, ip, mac);
                ck_assert_uint_eq(fx_ntx(&f), 1);
                expect_udp_to(&f, 0, ip, mac);
            }
            ck_assert_msg(cached(&f, h, S1, got), "static S1 evicted (round %u, A%u)", round, i);
            ck_assert_mem_eq(got, ms1, 6);
        }
    }
    /* (3) S2 resolves without ARP while present, needs ARP after removal */
    const uint32_t S2 = FX_IP4(192, 0, 2, 101);
    uint8_t ms2[6];
    host_mac(ms2, 101);
    fx_tx_clear(&f);
    ck_assert_int_eq(mcore_arp_add_static(f.core, 0, S2, ms2), 0);
    fx_expect_no_tx(&f);
    ck_assert(cached(&f, h, S2, got));
    ck_assert_mem_eq(got, ms2, 6);
    ck_assert_int_eq(mcore_arp_remove(f.core, 0, S2), 0);
    ck_assert(!cached(&f, h, S2, NULL));
    ck_assert(cached(&f, h, S1, NULL));
    fx_teardown(&f);
}
END_TEST

/* All-static cache: a new destination cannot get a slot; counted, no crash. */
START_TEST(arp_cache_all_static)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    uint8_t mac[6];
    for (unsigned i = 0; i < f.cfg.arp_entries; i++) {
        host_mac(mac, 10 + i);
        ck_assert_int_eq(mcore_arp_add_static(f.core, 0, FX_IP4(192, 0, 2, 10 + i), mac), 0);
    }
    host_mac(mac, 99);
    ck_assert_int_eq(mcore_arp_add_static(f.core, 0, FX_IP4(192, 0, 2, 99), mac), MOAT_E_NOMEM);
    uint64_t before = fx_drops_total(&f);
    send4(&f, h, FX_IP4(192, 0, 2, 99));
    fx_expect_no_tx(&f);
    ck_assert_uint_gt(fx_drops_total(&f), before);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

/* ARP-STATIC-AGE-1 */
START_TEST(arp_static_age_1)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    uint8_t mac[6], ms[6];
    const uint32_t S = FX_IP4(192, 0, 2, 100);
    host_mac(ms, 100);
    ck_assert_int_eq(mcore_arp_add_static(f.core, 0, S, ms), 0);
    for (unsigned i = 0; i < 3; i++) {
        host_mac(mac, 10 + i);
        resolve(&f, h, FX_IP4(192, 0, 2, 10 + i), mac);
    }
    /* just before the lifetime ends they are all still there */
    fx_advance(&f, (uint64_t)f.cfg.arp_timeout_ms * 1000u - 1000000u);
    ck_assert(cached(&f, h, FX_IP4(192, 0, 2, 12), NULL));
    fx_advance(&f, 2000000u);
    for (unsigned i = 0; i < 3; i++)
        ck_assert_msg(!cached(&f, h, FX_IP4(192, 0, 2, 10 + i), NULL),
                      "dynamic entry %u outlived arp_timeout_ms", i);
    uint8_t got[6];
    ck_assert(cached(&f, h, S, got));
    ck_assert_mem_eq(got, ms, 6);
    /* far longer still: static is forever */
    fx_advance(&f, 10u * (uint64_t)f.cfg.arp_timeout_ms * 1000u);
    ck_assert(cached(&f, h, S, NULL));
    ck_assert_int_eq(mcore_arp_remove(f.core, 0, S), 0);
    ck_assert(!cached(&f, h, S, NULL));
    ck_assert_int_eq(mcore_arp_remove(f.core, 0, FX_IP4(192, 0, 2, 200)), MOAT_E_INVAL);
    fx_teardown(&f);
}
END_TEST

/* ARP-B-1 (a): the responder answers a request for L and learns R. */
START_TEST(arp_b1_a_responder)
{
    struct fx f;
    fx_init(&f);
    uint8_t fr[64];
    size_t n = fx_arp(fr, 1, fx_r_mac, FX_R_IP, fx_zero_mac, FX_L_IP, NULL, false);
    fx_inject(&f, 0, fr, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_arp);
    ck_assert_uint_eq(p.arp_op, 2);
    ck_assert_mem_eq(p.eth_dst, fx_r_mac, 6);           /* unicast */
    ck_assert_mem_eq(p.arp_sha, fx_l_mac, 6);
    ck_assert_uint_eq(p.arp_spa, FX_L_IP);
    ck_assert_mem_eq(p.arp_tha, fx_r_mac, 6);
    ck_assert_uint_eq(p.arp_tpa, FX_R_IP);
    ck_assert_uint_ge(p.len, 60);                       /* padded runt */
    ck_assert_uint_eq(fx_stats(&f).arp_replies_out, 1);

    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    uint8_t got[6];
    ck_assert(cached(&f, h, FX_R_IP, got));             /* R learnt */
    ck_assert_mem_eq(got, fx_r_mac, 6);

    /* a padded (60-byte) request is answered too */
    fx_tx_clear(&f);
    n = fx_arp(fr, 1, fx_r_mac, FX_R_IP, fx_zero_mac, FX_L_IP, NULL, true);
    fx_inject(&f, 0, fr, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    ck_assert_uint_eq(fx_tx_pkt(&f, 0).arp_op, 2);
    fx_teardown(&f);
}
END_TEST

/* ARP-B-1 (b): a request for another host: no reply, nothing learnt. */
START_TEST(arp_b1_b_not_target)
{
    struct fx f;
    fx_init(&f);
    const uint32_t Q = FX_IP4(192, 0, 2, 9), T = FX_IP4(192, 0, 2, 77);
    uint8_t mq[6], fr[64];
    host_mac(mq, 9);
    size_t n = fx_arp(fr, 1, mq, Q, fx_zero_mac, T, NULL, false);
    fx_inject(&f, 0, fr, n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ARP_NOT_US), 1);
    /* nor a reply addressed to somebody else */
    n = fx_arp(fr, 2, mq, Q, fx_r_mac, T, fx_bcast_mac, false);
    fx_inject(&f, 0, fr, n);
    fx_expect_no_tx(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    ck_assert_msg(!cached(&f, h, Q, NULL), "Q was added to the cache");
    fx_teardown(&f);
}
END_TEST

/* ARP-B-1 (c): a new MAC for a cached sender updates the entry, whether it
 * comes in a request, a reply or a gratuitous ARP. */
START_TEST(arp_b1_c_update)
{
    struct fx f;
    fx_init(&f);
    uint8_t fr[64], got[6];
    const uint8_t m2[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x22};
    const uint8_t m3[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x33};
    const uint8_t m4[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x44};
    size_t n = fx_arp(fr, 1, fx_r_mac, FX_R_IP, fx_zero_mac, FX_L_IP, NULL, false);
    fx_inject(&f, 0, fr, n);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    ck_assert(cached(&f, h, FX_R_IP, got));
    ck_assert_mem_eq(got, fx_r_mac, 6);

    /* gratuitous ARP (request for its own address) */
    fx_tx_clear(&f);
    n = fx_arp(fr, 1, m2, FX_R_IP, fx_zero_mac, FX_R_IP, NULL, false);
    fx_inject(&f, 0, fr, n);
    fx_expect_no_tx(&f);
    ck_assert(cached(&f, h, FX_R_IP, got));
    ck_assert_mem_eq(got, m2, 6);

    /* a reply to us */
    fx_tx_clear(&f);
    fx_arp_reply_from(&f, 0, FX_R_IP, m3);
    fx_expect_no_tx(&f);
    ck_assert(cached(&f, h, FX_R_IP, got));
    ck_assert_mem_eq(got, m3, 6);

    /* a request for some other host still updates the sender's entry */
    fx_tx_clear(&f);
    n = fx_arp(fr, 1, m4, FX_R_IP, fx_zero_mac, FX_IP4(192, 0, 2, 77), NULL, false);
    fx_inject(&f, 0, fr, n);
    fx_expect_no_tx(&f);
    ck_assert(cached(&f, h, FX_R_IP, got));
    ck_assert_mem_eq(got, m4, 6);
    fx_teardown(&f);
}
END_TEST

/* ARP-B-1 (d): queueing while pending, retry rate, most recent packet kept,
 * input to L still served meanwhile. */
START_TEST(arp_b1_d_pending)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    const unsigned Q = f.cfg.arp_queue;
    char msg[8];

    for (unsigned i = 0; i < Q + 2; i++) {
        memcpy(msg, "dgram-", 6);
        msg[6] = (char)('0' + i);
        ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, msg, 7), 0);
    }
    ck_assert_uint_eq(fx_ntx(&f), 1);           /* one request, not one per datagram */
    fx_expect_arp_request(&f, 0, FX_R_IP);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ARP_QUEUE_FULL), 2);

    /* a datagram for L arriving meanwhile is delivered normally */
    fx_tx_clear(&f);
    fx_inject_udp(&f, PORT_R, PORT_L, "in", 2);
    fx_expect_no_tx(&f);
    char buf[16];
    size_t got;
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, 2);

    /* retries: at most one per second */
    fx_advance(&f, 500000);
    fx_expect_no_tx(&f);
    fx_advance(&f, 600000);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_expect_arp_request(&f, 0, FX_R_IP);
    fx_tx_clear(&f);

    fx_arp_reply_from(&f, 0, FX_R_IP, fx_r_mac);
    ck_assert_uint_eq(fx_ntx(&f), Q);
    /* oldest dropped, the most recent kept, order preserved */
    for (unsigned i = 0; i < Q; i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert(p.is_udp);
        ck_assert_uint_eq(p.udp_data_len, 7);
        ck_assert_int_eq(p.udp_data[6], '0' + (int)(i + 2));
    }
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

/* ARP-B-1 (d): a next hop that never answers: bounded requests at <= 1/s,
 * then the entry and its queue are dropped (counted); a later send starts
 * afresh. */
START_TEST(arp_b1_d_unanswered)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    send4(&f, h, FX_R_IP);
    send4(&f, h, FX_R_IP);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 2);
    fx_advance(&f, 30000000);
    unsigned reqs = fx_ntx(&f);
    ck_assert_uint_ge(reqs, 2);
    ck_assert_uint_le(reqs, 10);
    for (unsigned i = 0; i < reqs; i++) {
        fx_expect_arp_request(&f, i, FX_R_IP);
        if (i > 0)
            ck_assert_uint_ge(fx_tx(&f, i)->t - fx_tx(&f, i - 1)->t, 1000000);
    }
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ARP_UNRESOLVED), 2);
    fx_tx_clear(&f);
    fx_advance(&f, 30000000);
    fx_expect_no_tx(&f);                        /* gave up: no more requests */
    ck_assert(!cached(&f, h, FX_R_IP, NULL));   /* a new send asks again */
    fx_teardown(&f);
}
END_TEST

/* Bad ARP: wrong hardware/protocol, short, multicast sender MAC, someone
 * claiming our address. */
START_TEST(arp_malformed)
{
    struct fx f;
    fx_init(&f);
    uint8_t fr[64];
    size_t n = fx_arp(fr, 1, fx_r_mac, FX_R_IP, fx_zero_mac, FX_L_IP, NULL, false);
    uint8_t bad[64];

    memcpy(bad, fr, n);
    bad[14 + 1] = 6;                                    /* hardware type 6 */
    fx_inject(&f, 0, bad, n);
    memcpy(bad, fr, n);
    bad[14 + 5] = 16;                                   /* plen 16 */
    fx_inject(&f, 0, bad, n);
    memcpy(bad, fr, n);
    bad[14 + 7] = 9;                                    /* opcode 9 */
    fx_inject(&f, 0, bad, n);
    fx_inject(&f, 0, fr, 14 + 27);                      /* one byte short */
    memcpy(bad, fr, n);
    bad[14 + 8] = 0x01;                                 /* group sender MAC */
    fx_inject(&f, 0, bad, n);
    n = fx_arp(bad, 1, fx_r_mac, FX_L_IP, fx_zero_mac, FX_L_IP, NULL, false);
    fx_inject(&f, 0, bad, n);                           /* claims L */
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ARP_MALFORMED), 6);
    fx_teardown(&f);
}
END_TEST

/* Ethernet input drops: runt, another unicast MAC, unknown EtherType;
 * broadcast accepted. */
START_TEST(eth_input_drops)
{
    struct fx f;
    fx_init(&f);
    uint8_t fr[64];
    const uint8_t other[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
    fx_inject(&f, 0, fr, 0);
    fx_eth(fr, fx_l_mac, fx_r_mac, 0x0800);
    fx_inject(&f, 0, fr, 13);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ETH_SHORT), 2);

    size_t n = fx_arp(fr, 1, fx_r_mac, FX_R_IP, fx_zero_mac, FX_L_IP, other, false);
    fx_inject(&f, 0, fr, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ETH_NOT_US), 1);
    fx_expect_no_tx(&f);

    memset(fr, 0, sizeof fr);
    fx_eth(fr, fx_l_mac, fx_r_mac, 0x86dd);             /* IPv6: not spoken */
    fx_inject(&f, 0, fr, 60);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ETH_TYPE), 1);
    fx_expect_no_tx(&f);

    /* an out-of-range interface index is a drop, not a crash */
    n = fx_arp(fr, 1, fx_r_mac, FX_R_IP, fx_zero_mac, FX_L_IP, NULL, false);
    fx_inject(&f, 7, fr, n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_stats(&f).frames_in, 5);
    ck_assert_uint_eq(fx_drops_total(&f), 5);
    fx_teardown(&f);
}
END_TEST

/* ETH-B-PAD-1 (UDP half): lengths come from the IP header, not the frame. */
START_TEST(eth_b_pad_1_udp)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    uint8_t fr[128];
    struct fx_ip ip = FX_IP(.proto = 17, .pad_to = 60);
    size_t n = fx_udp_frame(&f, 0, fr, &ip, PORT_R, PORT_L, "X", 1, FX_CK_OK);
    ck_assert_uint_eq(n, 60);
    ck_assert_uint_eq(((unsigned)fr[16] << 8 | fr[17]), 29);    /* IP total length */
    fx_inject(&f, 0, fr, n);
    char buf[64];
    size_t got = 0;
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), 0);
    ck_assert_uint_eq(got, 1);
    ck_assert_int_eq(buf[0], 'X');
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), MOAT_E_AGAIN);

    /* the same frame cut shorter than the IP total length: dropped */
    ip = FX_IP(.proto = 17);
    n = fx_udp_frame(&f, 0, fr, &ip, PORT_R, PORT_L, "ABCDEFGH", 8, FX_CK_OK);
    fx_inject(&f, 0, fr, n - 1);
    ck_assert_int_eq(fx_recvfrom(&f, h, buf, sizeof buf, &got, NULL, NULL), MOAT_E_AGAIN);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP_TOTLEN), 1);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* Frames we send that are shorter than the Ethernet minimum are padded
 * with zeros (never with stale buffer bytes). */
START_TEST(eth_tx_pad_zero)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, PORT_L);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, PORT_R, "x", 1), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    const struct fx_frame *fr = fx_tx(&f, 0);
    ck_assert_uint_eq(fr->len, 60);
    for (size_t i = 14 + 29; i < 60; i++)
        ck_assert_uint_eq(fr->data[i], 0);
    fx_teardown(&f);
}
END_TEST

static Suite *eth_arp_suite(void)
{
    Suite *s = suite_create("eth_arp");
    TCase *tc = tcase_create("arp");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, gratuitous_arp_on_start);
    tcase_add_test(tc, gratuitous_arp_two_ifs);
    tcase_add_test(tc, arp_resolve_1);
    tcase_add_test(tc, arp_cache_evict_1);
    tcase_add_test(tc, arp_cache_all_static);
    tcase_add_test(tc, arp_static_age_1);
    tcase_add_test(tc, arp_b1_a_responder);
    tcase_add_test(tc, arp_b1_b_not_target);
    tcase_add_test(tc, arp_b1_c_update);
    tcase_add_test(tc, arp_b1_d_pending);
    tcase_add_test(tc, arp_b1_d_unanswered);
    tcase_add_test(tc, arp_malformed);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("eth");
    tcase_set_timeout(te, 30);
    tcase_add_test(te, eth_input_drops);
    tcase_add_test(te, eth_b_pad_1_udp);
    tcase_add_test(te, eth_tx_pad_zero);
    suite_add_tcase(s, te);
    return s;
}

MOAT_CHECK_MAIN(eth_arp_suite)
