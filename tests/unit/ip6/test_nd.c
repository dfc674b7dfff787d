/* SPDX-License-Identifier: MIT */
/*
 * Neighbour discovery (RFC 4861), DAD and SLAAC (RFC 4862), MLDv2 reports
 * (RFC 3810): NS answered with NA; message validation (hop limit, code,
 * option lengths, DAD form); resolution with a bounded queue and NUD
 * through REACHABLE, STALE, DELAY, PROBE and removal; DAD of every address
 * and its conflicts (NA for the target, another node's DAD); router
 * solicitation, RA with prefix, MTU and router lifetime giving a SLAAC
 * address and a default router; lifetimes; the MLD report that joins the
 * solicited-node groups, and the answer to a query; a SLAAC address that
 * expires ends the TCP connections that use it.
 */
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/fx6.h"
#include "support/tcp_fx.h"

static uint8_t frame[4096], msg[2048];

static const uint8_t r3_ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 3};
static const uint8_t r3_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x03};
static const uint8_t zero16[16];

/* Inject an ICMPv6 message (msg, len) from @p src to @p dst, hop limit
 * @p hlim (255 for NDP). */
static void inject_icmp(struct fx *f, const uint8_t *src, const uint8_t *dst, uint8_t hlim,
                        size_t len)
{
    struct fx6_ip ip = {.src = src, .dst = dst, .nh = 58, .hlim = hlim, .plen = -1};
    fx_inject(f, 0, frame, fx6_frame(f, frame, &ip, msg, len));
}

/* NS for @p target with an optional SLLA option (@p mac). */
static size_t ns_msg(const uint8_t *src, const uint8_t *dst, const uint8_t *target,
                     const uint8_t *mac)
{
    uint8_t body[24];
    size_t bl = 16;
    memcpy(body, target, 16);
    if (mac) {
        body[16] = 1;
        body[17] = 1;
        memcpy(body + 18, mac, 6);
        bl = 24;
    }
    return fx6_icmp(msg, src, dst, 135, 0, 0, body, bl);
}

/* NA for @p target with flags (R 0x80, S 0x40, O 0x20) and a TLLA. */
static size_t na_msg(const uint8_t *src, const uint8_t *dst, const uint8_t *target,
                     uint8_t flags, const uint8_t *mac)
{
    uint8_t body[24];
    size_t bl = 16;
    memcpy(body, target, 16);
    if (mac) {
        body[16] = 2;
        body[17] = 1;
        memcpy(body + 18, mac, 6);
        bl = 24;
    }
    return fx6_icmp(msg, src, dst, 136, 0, (uint32_t)flags << 24, body, bl);
}

/* Recompute the checksum of msg (n bytes, R global -> L global) after an edit. */
static void recksum(size_t n)
{
    msg[2] = msg[3] = 0;
    uint16_t ck = fx6_l4_cksum(fx6_r_ip, fx6_l_ip, 58, msg, n);
    msg[2] = (uint8_t)(ck >> 8);
    msg[3] = (uint8_t)ck;
}

static void solicited_node(const uint8_t *a, uint8_t out[16])
{
    static const uint8_t pre[13] = {0xff, 0x02, [11] = 1, [12] = 0xff};
    memcpy(out, pre, 13);
    memcpy(out + 13, a + 13, 3);
}

/* Interface 0's address info from the stats. */
static struct moat_ip6_info info(const struct fx *f)
{
    return fx_stats(f).ip6[0];
}

/* State of address @p a on interface 0 (MOAT_IP6_NONE if absent). */
static unsigned addr_state(const struct fx *f, const uint8_t *a)
{
    struct moat_ip6_info in = info(f);
    for (unsigned k = 0; k < MOAT_IP6_ADDRS; k++)
        if (in.state[k] != MOAT_IP6_NONE && memcmp(in.addr[k], a, 16) == 0)
            return in.state[k];
    return MOAT_IP6_NONE;
}

START_TEST(ns_answered)
{
    struct fx f;
    fx6_init(&f);
    uint8_t sn[16];
    solicited_node(fx6_l_ip, sn);
    size_t n = ns_msg(r3_ip, sn, fx6_l_ip, r3_mac);
    struct fx6_ip ip = {.src = r3_ip, .dst = sn, .nh = 58, .hlim = 255, .plen = -1,
                        .eth_dst = (const uint8_t[6]){0x33, 0x33, 0xff, 0, 0, 1}};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 136);
    ck_assert_uint_eq(p.hlim, 255);
    ck_assert_uint_eq(p.icmp_rest >> 24, 0x60);          /* S and O, not R */
    ck_assert_mem_eq(p.l4 + 8, fx6_l_ip, 16);
    ck_assert_uint_eq(p.l4[24], 2);                       /* TLLA */
    ck_assert_mem_eq(p.l4 + 26, fx_l_mac, 6);
    ck_assert_mem_eq(p.dst, r3_ip, 16);
    ck_assert_mem_eq(p.src, fx6_l_ip, 16);
    /* the SLLA made R3 a (stale) neighbour: the NA went to its MAC */
    ck_assert_mem_eq(p.eth_dst, r3_mac, 6);
    ck_assert_uint_eq(fx_stats(&f).nd_adverts_out, 1);
    fx_teardown(&f);
}
END_TEST

START_TEST(nd_validation)
{
    struct fx f;
    fx6_init(&f);
    uint8_t sn[16];
    solicited_node(fx6_l_ip, sn);
    /* hop limit not 255: from off the link */
    size_t n = ns_msg(fx6_r_ip, fx6_l_ip, fx6_l_ip, fx_r_mac);
    inject_icmp(&f, fx6_r_ip, fx6_l_ip, 64, n);
    /* code not 0 */
    n = ns_msg(fx6_r_ip, fx6_l_ip, fx6_l_ip, fx_r_mac);
    msg[1] = 1;
    recksum(n);
    inject_icmp(&f, fx6_r_ip, fx6_l_ip, 255, n);
    /* an option of length 0 */
    n = ns_msg(fx6_r_ip, fx6_l_ip, fx6_l_ip, fx_r_mac);
    msg[25] = 0;
    recksum(n);
    inject_icmp(&f, fx6_r_ip, fx6_l_ip, 255, n);
    /* an option running past the end */
    n = ns_msg(fx6_r_ip, fx6_l_ip, fx6_l_ip, fx_r_mac);
    msg[25] = 2;
    recksum(n);
    inject_icmp(&f, fx6_r_ip, fx6_l_ip, 255, n);
    /* DAD form (from ::) sent to a unicast address */
    n = ns_msg(zero16, fx6_l_ip, fx6_l_ip, NULL);
    inject_icmp(&f, zero16, fx6_l_ip, 255, n);
    /* DAD form with a source link-layer option */
    n = ns_msg(zero16, sn, fx6_l_ip, fx_r_mac);
    inject_icmp(&f, zero16, sn, 255, n);
    /* too short */
    n = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, 135, 0, 0, fx6_l_ip, 8);
    inject_icmp(&f, fx6_r_ip, fx6_l_ip, 255, n);
    /* a multicast target */
    n = ns_msg(fx6_r_ip, fx6_l_ip, fx6_all_nodes, fx_r_mac);
    inject_icmp(&f, fx6_r_ip, fx6_l_ip, 255, n);
    /* an NA to a multicast address with S set */
    n = na_msg(fx6_r_ll, fx6_all_nodes, r3_ip, 0x40, r3_mac);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ND_MALFORMED), 9);
    fx_teardown(&f);
}
END_TEST

/* A reply to an unknown neighbour waits for resolution (at most arp_queue
 * datagrams, the oldest dropped), the NA releases it, then NUD: REACHABLE
 * -> STALE after the reachable time -> DELAY on use -> PROBE (unicast NS)
 * -> gone after 3 unanswered probes. */
START_TEST(resolution_and_nud)
{
    struct fx f;
    fx6_init(&f);
    uint8_t fr[256];
    uint8_t sn[16];
    solicited_node(r3_ip, sn);
    for (uint16_t i = 0; i < 6; i++) {
        size_t n = fx6_icmp(msg, r3_ip, fx6_l_ip, 128, 0, i, "q", 1);
        struct fx6_ip ip = {.src = r3_ip, .nh = 58, .plen = -1};
        fx_inject(&f, 0, fr, fx6_frame(&f, fr, &ip, msg, n));
    }
    /* one multicast NS so far, replies queued */
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx6_pkt p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 135);
    ck_assert_mem_eq(p.dst, sn, 16);
    ck_assert_mem_eq(p.l4 + 8, r3_ip, 16);
    ck_assert_uint_eq(p.l4[24], 1);                      /* SLLA */
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ND_QUEUE_FULL), 6 - f.cfg.arp_queue);
    fx_tx_clear(&f);
    size_t n = na_msg(r3_ip, fx6_l_ip, r3_ip, 0x60, r3_mac);
    inject_icmp(&f, r3_ip, fx6_l_ip, 255, n);
    ck_assert_uint_eq(fx_ntx(&f), f.cfg.arp_queue);
    for (unsigned i = 0; i < fx_ntx(&f); i++) {
        p = fx6_tx_pkt(&f, i);
        ck_assert_uint_eq(p.icmp_type, 129);
        ck_assert_mem_eq(p.eth_dst, r3_mac, 6);
        ck_assert_uint_eq(p.icmp_rest, 6 - f.cfg.arp_queue + i);   /* oldest dropped */
    }
    fx_tx_clear(&f);
    /* REACHABLE for 30 s: no traffic of its own */
    fx_advance(&f, 29000000);
    fx_expect_no_tx(&f);
    fx_advance(&f, 2000000);    /* now STALE: still nothing sent */
    fx_expect_no_tx(&f);
    /* use it: the reply goes at once (DELAY), a probe 5 s later */
    struct fx6_ip ip = {.src = r3_ip, .nh = 58, .plen = -1};
    n = fx6_icmp(msg, r3_ip, fx6_l_ip, 128, 0, 99, "q", 1);
    fx_inject(&f, 0, fr, fx6_frame(&f, fr, &ip, msg, n));
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_tx_clear(&f);
    fx_advance(&f, 4900000);
    fx_expect_no_tx(&f);
    fx_advance(&f, 200000);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 135);
    ck_assert_mem_eq(p.dst, r3_ip, 16);                  /* unicast probe */
    ck_assert_mem_eq(p.eth_dst, r3_mac, 6);
    fx_tx_clear(&f);
    /* two more probes a second apart, then the entry is gone */
    fx_advance(&f, 3100000);
    ck_assert_uint_eq(fx_ntx(&f), 2);
    fx_tx_clear(&f);
    n = fx6_icmp(msg, r3_ip, fx6_l_ip, 128, 0, 100, "q", 1);
    fx_inject(&f, 0, fr, fx6_frame(&f, fr, &ip, msg, n));
    p = fx6_tx_pkt(&f, 0);
    ck_assert_uint_eq(p.icmp_type, 135);
    ck_assert_mem_eq(p.dst, sn, 16);                     /* resolving from scratch */
    fx_teardown(&f);
}
END_TEST

/* Nobody answers: three multicast solicitations a second apart, then
 * the queued datagrams are dropped (ND_UNRESOLVED). */
START_TEST(unresolved_drops)
{
    struct fx f;
    fx6_init(&f);
    size_t n = fx6_icmp(msg, r3_ip, fx6_l_ip, 128, 0, 1, "q", 1);
    struct fx6_ip ip = {.src = r3_ip, .nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    fx_advance(&f, 5000000);
    ck_assert_uint_eq(fx_ntx(&f), 3);
    for (unsigned i = 0; i < 3; i++)
        ck_assert_uint_eq(fx6_tx_pkt(&f, i).icmp_type, 135);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ND_UNRESOLVED), 1);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_teardown(&f);
}
END_TEST

/* Start with DAD: the MLD report joins the solicited-node groups first
 * (from ::), then one NS from :: per address; after RetransTimer (1 s)
 * the addresses are preferred and the report is sent again from the
 * link-local address. Tentative addresses receive nothing. */
START_TEST(dad_and_mld_at_start)
{
    struct fx f;
    fx6_config(&f);
    f.cfg.ip6_dad_transmits = 1;
    fx_start(&f);
    ck_assert_uint_ge(fx_ntx(&f), 3);
    int m = fx6_find_icmp(&f, 0, 143);
    ck_assert_int_ge(m, 0);
    struct fx6_pkt p = fx6_tx_pkt(&f, (unsigned)m);
    ck_assert(p.has_hbh);
    ck_assert_uint_eq(p.hlim, 1);
    static const uint8_t mld2[16] = {0xff, 0x02, [15] = 0x16};
    ck_assert_mem_eq(p.dst, mld2, 16);
    ck_assert_mem_eq(p.src, zero16, 16);
    ck_assert_uint_eq((unsigned)(p.l4[6] << 8 | p.l4[7]), 2);   /* two groups */
    uint8_t sn_ll[16], sn_g[16];
    solicited_node(fx6_l_ll, sn_ll);
    solicited_node(fx6_l_ip, sn_g);
    ck_assert_uint_eq(p.l4[8], 4);                     /* CHANGE_TO_EXCLUDE */
    bool seen_ll = false, seen_g = false;
    for (unsigned r = 0; r < 2; r++) {
        seen_ll |= memcmp(p.l4 + 8 + 20 * r + 4, sn_ll, 16) == 0;
        seen_g |= memcmp(p.l4 + 8 + 20 * r + 4, sn_g, 16) == 0;
    }
    ck_assert(seen_ll && seen_g);
    int ns = fx6_find_icmp(&f, 0, 135);
    ck_assert_int_gt(ns, m);                           /* the report came first */
    p = fx6_tx_pkt(&f, (unsigned)ns);
    ck_assert_mem_eq(p.src, zero16, 16);
    ck_assert_uint_eq(p.hlim, 255);
    ck_assert_uint_eq(p.l4_len, 24);                   /* no SLLA from :: */
    ck_assert_int_ge(fx6_find_icmp(&f, (unsigned)ns + 1, 135), 0);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ip), MOAT_IP6_TENTATIVE);
    fx_tx_clear(&f);
    /* tentative: an echo to it is not ours */
    fx6_nd_seed(&f);
    fx6_inject_echo(&f, NULL, 1, 1, "t", 1);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP6_NOT_US), 1);
    fx_advance(&f, 1000000);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ip), MOAT_IP6_PREFERRED);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ll), MOAT_IP6_PREFERRED);
    m = fx6_find_icmp(&f, 0, 143);
    ck_assert_int_ge(m, 0);
    ck_assert_mem_eq(fx6_tx_pkt(&f, (unsigned)m).src, fx6_l_ll, 16);
    ck_assert_uint_ge(info(&f).changes, 2);
    fx_tx_clear(&f);
    fx6_inject_echo(&f, NULL, 1, 2, "t", 1);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_teardown(&f);
}
END_TEST

/* DAD conflicts: an NA for the tentative address, or another node's DAD
 * solicitation for it, makes it duplicate for good. */
START_TEST(dad_conflicts)
{
    struct fx f;
    fx6_config(&f);
    f.cfg.ip6_dad_transmits = 2;
    fx_start(&f);
    fx_tx_clear(&f);
    size_t n = na_msg(fx6_r_ll, fx6_all_nodes, fx6_l_ip, 0x20, fx_r_mac);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ip), MOAT_IP6_DUPLICATE);
    uint8_t sn[16];
    solicited_node(fx6_l_ll, sn);
    n = ns_msg(zero16, sn, fx6_l_ll, NULL);
    struct fx6_ip ip = {.src = zero16, .dst = sn, .nh = 58, .hlim = 255, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(addr_state(&f, fx6_l_ll), MOAT_IP6_DUPLICATE);
    ck_assert_uint_eq(fx_stats(&f).dad_conflicts, 2);
    fx_advance(&f, 5000000);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ip), MOAT_IP6_DUPLICATE);
    /* a duplicate address answers nothing, and is not in the groups */
    fx_tx_clear(&f);
    fx6_nd_seed(&f);
    fx6_inject_echo(&f, NULL, 1, 1, "t", 1);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* An RA (prefix A+L, MTU, router lifetime, SLLA) into an interface with
 * SLAAC on. */
static size_t ra_msg(uint16_t router_life, uint32_t valid, uint32_t pref, uint32_t mtu,
                     uint8_t pflags)
{
    uint8_t body[8 + 8 + 32 + 8];
    memset(body, 0, sizeof body);
    /* reachable time, retrans timer: 0 = unspecified */
    uint8_t *o = body + 8;
    o[0] = 1;                   /* SLLA */
    o[1] = 1;
    memcpy(o + 2, fx_r_mac, 6);
    o += 8;
    o[0] = 3;                   /* prefix information */
    o[1] = 4;
    o[2] = 64;
    o[3] = pflags;
    o[4] = (uint8_t)(valid >> 24), o[5] = (uint8_t)(valid >> 16);
    o[6] = (uint8_t)(valid >> 8), o[7] = (uint8_t)valid;
    o[8] = (uint8_t)(pref >> 24), o[9] = (uint8_t)(pref >> 16);
    o[10] = (uint8_t)(pref >> 8), o[11] = (uint8_t)pref;
    static const uint8_t pfx[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
    memcpy(o + 16, pfx, 8);
    o += 32;
    o[0] = 5;                   /* MTU */
    o[1] = 1;
    o[4] = (uint8_t)(mtu >> 24), o[5] = (uint8_t)(mtu >> 16);
    o[6] = (uint8_t)(mtu >> 8), o[7] = (uint8_t)mtu;
    return fx6_icmp(msg, fx6_r_ll, fx6_all_nodes, 134, 0, (uint32_t)64 << 24 | router_life,
                    body, sizeof body);
}

static const uint8_t slaac_ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,
                                     0x00, 0x00, 0xc0, 0xff, 0xfe, 0x00, 0x02, 0x01};

static void slaac_start(struct fx *f)
{
    fx6_config(f);
    f->cfg.ifs[0].no_slaac = 0;
    f->cfg.ip6_dad_transmits = 1;
    fx_start(f);
    fx_advance(f, 1000000);     /* link-local DAD done: the RS goes out */
}

START_TEST(slaac_from_ra)
{
    struct fx f;
    slaac_start(&f);
    int rs = fx6_find_icmp(&f, 0, 133);
    ck_assert_int_ge(rs, 0);
    struct fx6_pkt p = fx6_tx_pkt(&f, (unsigned)rs);
    static const uint8_t all_routers[16] = {0xff, 0x02, [15] = 2};
    ck_assert_mem_eq(p.dst, all_routers, 16);
    ck_assert_mem_eq(p.src, fx6_l_ll, 16);
    ck_assert_uint_eq(p.hlim, 255);
    ck_assert_uint_eq(p.l4[8], 1);                     /* SLLA */
    ck_assert_uint_eq(fx_stats(&f).nd_rs_out, 1);
    fx_tx_clear(&f);
    size_t n = ra_msg(1800, 3600, 1800, 1400, 0xc0);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    ck_assert_uint_eq(fx_stats(&f).nd_ra_in, 1);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_TENTATIVE);
    fx_advance(&f, 1100000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_PREFERRED);
    struct moat_ip6_info in = info(&f);
    ck_assert_mem_eq(in.router, fx6_r_ll, 16);
    ck_assert_uint_eq(in.mtu, 1400);
    /* no more solicitations once a router answered */
    fx_tx_clear(&f);
    fx_advance(&f, 10000000);
    ck_assert_int_lt(fx6_find_icmp(&f, 0, 133), 0);
    /* an echo to the SLAAC address from off-link goes back via the router
     * (its MAC from the RA's SLLA), in fragments of at most 1400 bytes */
    fx_tx_clear(&f);
    static const uint8_t far[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 9};
    uint8_t data[1500] = {0};
    n = fx6_icmp(msg, far, slaac_ip, 128, 0, 5, data, sizeof data);
    struct fx6_ip ip = {.src = far, .dst = slaac_ip, .nh = 58, .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    ck_assert_uint_eq(fx_ntx(&f), 2);
    for (unsigned i = 0; i < 2; i++) {
        p = fx6_tx_pkt(&f, i);
        ck_assert_mem_eq(p.eth_dst, fx_r_mac, 6);
        ck_assert_mem_eq(p.dst, far, 16);
        ck_assert_mem_eq(p.src, slaac_ip, 16);
        ck_assert_uint_le(40 + p.plen, 1400);
        ck_assert_uint_eq(p.hlim, 64);                 /* the RA's cur hop limit */
    }
    fx_teardown(&f);
}
END_TEST

/* A SLAAC address whose valid lifetime ends takes the TCP connections
 * from it along (MOAT_E_ADDRNOTAVAIL, nothing sent from the address we no
 * longer hold); a connection from the static address stays. */
START_TEST(slaac_expiry_ends_tcp)
{
    struct fx f;
    slaac_start(&f);
    fx6_nd_seed(&f);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, ra_msg(1800, 30, 10, 1500, 0xc0));
    fx_advance(&f, 1100000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_PREFERRED);
    uint32_t h[2];
    for (unsigned k = 0; k < 2; k++) {
        const uint8_t *src = k ? fx6_l_ip : slaac_ip;
        h[k] = tfx_stream_open(&f);
        ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_BIND, h[k], src, 0, 0), 0);
        fx_tx_clear(&f);
        ck_assert_int_eq(fx_addr6_call(&f, MOAT_MSG_CONNECT, h[k], fx6_r_ip, 0, 7),
                         MOAT_E_INPROGRESS);
        struct tcp_repr syn = tfx_tx(&f, 0);
        ck_assert_mem_eq(syn.ip6_src, src, 16);
        tfx_inject(&f, &TSEG(.sport = 7, .dport = syn.sport, .seq = 100, .ack = syn.seq + 1,
                             .flags = TH_SYN | TH_ACK, .mss = 1440, .af = 6,
                             .src6 = fx6_r_ip, .dst6 = src));
        ck_assert_int_eq(tfx_state(&f, h[k]), TCPS_ESTABLISHED);
    }
    fx_tx_clear(&f);
    fx_advance(&f, 30000000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_NONE);
    ck_assert_int_eq(tfx_state(&f, h[0]), TCPS_CLOSED);
    ck_assert_int_eq(fx_sock_error(&f, h[0]), MOAT_E_ADDRNOTAVAIL);
    ck_assert_int_eq(tfx_state(&f, h[1]), TCPS_ESTABLISHED);
    for (unsigned i = 0; i < fx_ntx(&f); i++) {
        struct tcp_repr r;
        if (tfx_parse(&f, i, &r))
            ck_assert_mem_ne(r.ip6_src, slaac_ip, 16);
    }
    tfx_teardown(&f);
}
END_TEST

/* Lifetimes: preferred runs out -> deprecated, valid -> gone; the router
 * lifetime ends the default route. A short valid lifetime in a later RA
 * is believed only down to two hours (RFC 4862 5.5.3 (e)). */
START_TEST(slaac_lifetimes)
{
    struct fx f;
    slaac_start(&f);
    size_t n = ra_msg(20, 30, 10, 1500, 0xc0);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    fx_advance(&f, 1100000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_PREFERRED);
    fx_advance(&f, 10000000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_DEPRECATED);
    fx_advance(&f, 10000000);
    ck_assert_mem_eq(info(&f).router, zero16, 16);     /* router lifetime 20 s over */
    fx_advance(&f, 10000000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_NONE);
    /* a long lifetime, then an RA trying to cut it to 10 s: two hours */
    n = ra_msg(1800, 86400, 86400, 1500, 0xc0);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    fx_advance(&f, 1100000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_PREFERRED);
    n = ra_msg(1800, 10, 10, 1500, 0xc0);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    fx_advance(&f, 60000000);
    ck_assert_uint_ne(addr_state(&f, slaac_ip), MOAT_IP6_NONE);
    fx_teardown(&f);
}
END_TEST

/* RAs that must change nothing: hop limit not 255, source not link-local,
 * a prefix without A (no address), SLAAC off (no RS, no address). */
START_TEST(ra_ignored)
{
    struct fx f;
    slaac_start(&f);
    size_t n = ra_msg(1800, 3600, 1800, 1400, 0xc0);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 64, n);
    n = fx6_icmp(msg, fx6_r_ip, fx6_all_nodes, 134, 0, 1800, zero16, 8);
    inject_icmp(&f, fx6_r_ip, fx6_all_nodes, 255, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ND_MALFORMED), 2);
    n = ra_msg(1800, 3600, 1800, 1400, 0x80);          /* L only */
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    fx_advance(&f, 2000000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_NONE);
    fx_teardown(&f);

    fx6_config(&f);
    f.cfg.ip6_dad_transmits = 1;
    fx_start(&f);
    fx_advance(&f, 10000000);
    ck_assert_int_lt(fx6_find_icmp(&f, 0, 133), 0);
    n = ra_msg(1800, 3600, 1800, 1400, 0xc0);
    inject_icmp(&f, fx6_r_ll, fx6_all_nodes, 255, n);
    fx_advance(&f, 2000000);
    ck_assert_uint_eq(addr_state(&f, slaac_ip), MOAT_IP6_NONE);
    fx_teardown(&f);
}
END_TEST

/* An MLD query is answered with a report within its maximum delay. */
START_TEST(mld_query_answered)
{
    struct fx f;
    fx6_init(&f);
    uint8_t q[16] = {0};
    /* MLDv2 general query: max resp 500 ms, group ::, QRV etc. zero */
    size_t n = fx6_icmp(msg, fx6_r_ll, fx6_all_nodes, 130, 0, 500u << 16, q, 16);
    struct fx6_ip ip = {.src = fx6_r_ll, .dst = fx6_all_nodes, .nh = 58, .hlim = 1,
                        .plen = -1};
    fx_inject(&f, 0, frame, fx6_frame(&f, frame, &ip, msg, n));
    fx_advance(&f, 600000);
    int m = fx6_find_icmp(&f, 0, 143);
    ck_assert_int_ge(m, 0);
    ck_assert_uint_le(fx_tx(&f, (unsigned)m)->t, FX_T0 + 1000 + 600000);
    ck_assert_uint_eq(fx_stats(&f).mld_reports_out, 3);   /* 2 at start + 1 */
    fx_teardown(&f);
}
END_TEST

static Suite *nd_suite(void)
{
    Suite *s = suite_create("nd");
    TCase *tc = tcase_create("nd");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ns_answered);
    tcase_add_test(tc, nd_validation);
    tcase_add_test(tc, resolution_and_nud);
    tcase_add_test(tc, unresolved_drops);
    tcase_add_test(tc, dad_and_mld_at_start);
    tcase_add_test(tc, dad_conflicts);
    tcase_add_test(tc, slaac_from_ra);
    tcase_add_test(tc, slaac_lifetimes);
    tcase_add_test(tc, slaac_expiry_ends_tcp);
    tcase_add_test(tc, ra_ignored);
    tcase_add_test(tc, mld_query_answered);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(nd_suite)
