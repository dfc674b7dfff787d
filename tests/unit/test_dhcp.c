/* SPDX-License-Identifier: MIT */
/*
 * DHCPv4 client (core/dhcp.c) in virtual time, against a server played by
 * the test (R, 192.0.2.2):
 *
 *     moat (no address, MAC 02:00:c0:00:02:01)        server R
 *       DISCOVER  0.0.0.0:68 -> 255.255.255.255:67  -->
 *                                                   <--  OFFER  yiaddr .50
 *       REQUEST   (50 = .50, 54 = R), broadcast     -->
 *                                                   <--  ACK    lease, T1, T2
 *       3 ARP probes (sender 0.0.0.0), then bound, gratuitous ARP
 *       T1: REQUEST unicast .50 -> R; T2: broadcast; lease end: address gone
 *
 * plus NAK, DECLINE on an ARP conflict, messages that are not for us, and
 * dhcp_parse on hostile bytes (lying lengths, overload, every truncation
 * and byte flip of a valid ACK).
 *
 * Reference scenarios (/work/shared/reference-scenarios.md section 15):
 *   DHCP-HAPPY-1          dhcp_happy_path_step_by_step
 *   DHCP-DECLINE-1        dhcp_decline_on_conflict
 *   DHCP-RELAY-RENEW-1    dhcp_relayed_renew_via_gateway
 *   DHCP-MALFORMED-NAK-1  dhcp_malformed_nak_ignored, dhcp_parse_rejects_lies
 *   DHCP-OVERLOAD-1       dhcp_offer_overload_loop_refused, dhcp_parse_overload
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"
#include "support/seeds.h"
#include "support/tcp_fx.h"
#include "core/core_priv.h"
#include "core/tcp_priv.h"

#define YI_DEFAULT FX_IP4(192, 0, 2, 50)
/* The address the test server leases (the TCP case leases L's own
 * 192.0.2.1 so that tcp_fx's segments are addressed to it). */
static uint32_t YI = YI_DEFAULT;
#define SRV     FX_R_IP
#define DNS1    FX_IP4(192, 0, 2, 53)
#define SEC     1000000ull

static uint8_t frame[2048];

/* ---- the server's messages ----------------------------------------------- */

struct srv_msg {
    uint8_t type;
    uint32_t xid, yiaddr, server, mask, router, dns, lease, t1, t2;
    uint16_t mtu;
    const uint8_t *chaddr;       /* NULL: the client's */
};

static size_t build_msg(const struct srv_msg *m, uint8_t *out)
{
    memset(out, 0, 300);
    out[0] = 2;
    out[1] = 1;
    out[2] = 6;
    out[4] = (uint8_t)(m->xid >> 24); out[5] = (uint8_t)(m->xid >> 16);
    out[6] = (uint8_t)(m->xid >> 8);  out[7] = (uint8_t)m->xid;
    out[16] = (uint8_t)(m->yiaddr >> 24); out[17] = (uint8_t)(m->yiaddr >> 16);
    out[18] = (uint8_t)(m->yiaddr >> 8);  out[19] = (uint8_t)m->yiaddr;
    memcpy(out + 28, m->chaddr ? m->chaddr : fx_l_mac, 6);
    out[236] = 99; out[237] = 130; out[238] = 83; out[239] = 99;
    uint8_t *o = out + 240;
#define PUT32(code, v) do { if (v) { o[0] = (code); o[1] = 4; o[2] = (uint8_t)((v) >> 24); \
        o[3] = (uint8_t)((v) >> 16); o[4] = (uint8_t)((v) >> 8); o[5] = (uint8_t)(v); o += 6; } } while (0)
    *o++ = 53; *o++ = 1; *o++ = m->type;
    PUT32(54, m->server);
    PUT32(1, m->mask);
    PUT32(3, m->router);
    PUT32(6, m->dns);
    PUT32(51, m->lease);
    PUT32(58, m->t1);
    PUT32(59, m->t2);
    if (m->mtu) {
        *o++ = 26; *o++ = 2; *o++ = (uint8_t)(m->mtu >> 8); *o++ = (uint8_t)m->mtu;
    }
#undef PUT32
    *o++ = 255;
    size_t n = (size_t)(o - out);
    return n < 300 ? 300 : n;
}

/* Inject the @p n message bytes @p msg from src:67 to dst:68 (broadcast
 * unless dst is unicast). */
static void inject_raw(struct fx *f, const uint8_t *msg, size_t n, uint32_t src, uint32_t dst)
{
    struct fx_ip ip = FX_IP(.proto = 17, .src = src, .dst = dst,
                            .eth_dst = dst == 0xffffffffu ? fx_bcast_mac : NULL);
    size_t len = fx_udp_frame(f, 0, frame, &ip, 67, 68, msg, n, FX_CK_OK);
    fx_inject(f, 0, frame, len);
}

/* ... @p m from @p src (a server or a relay agent). */
static void inject_msg_from(struct fx *f, const struct srv_msg *m, uint32_t src, uint32_t dst)
{
    uint8_t msg[600];
    size_t n = build_msg(m, msg);
    inject_raw(f, msg, n, src, dst);
}

/* ... @p m from R. */
static void inject_msg(struct fx *f, const struct srv_msg *m, uint32_t dst)
{
    inject_msg_from(f, m, SRV, dst);
}

/* ---- what the client sends ------------------------------------------------- */

struct cli_msg {
    bool ok;
    uint32_t src, dst, xid, ciaddr;
    uint16_t flags;
    struct dhcp_repr r;
    uint32_t req_ip, server;     /* options 50, 54 */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The last DHCP message the client sent, if any. */
static struct cli_msg last_msg(const struct fx *f)
{
    struct cli_msg c;
    memset(&c, 0, sizeof c);
    for (unsigned i = fx_ntx(f); i-- > 0;) {
        struct fx_pkt p = fx_tx_pkt(f, i);
        if (!p.is_udp || p.sport != 68 || p.dport != 67)
            continue;
        c.ok = dhcp_parse(p.udp_data, p.udp_data_len, &c.r) == 0;
        c.src = p.src;
        c.dst = p.dst;
        c.xid = c.r.xid;
        c.ciaddr = c.r.ciaddr;
        c.flags = c.r.flags;
        /* options 50 and 54 are request-side: walk them here */
        const uint8_t *o = p.udp_data + 240, *end = p.udp_data + p.udp_data_len;
        while (o + 2 <= end && o[0] != 255) {
            if (o[0] == 0) { o++; continue; }
            if (o[0] == 50 && o[1] == 4) c.req_ip = be32(o + 2);
            if (o[0] == 54 && o[1] == 4) c.server = be32(o + 2);
            o += 2 + o[1];
        }
        return c;
    }
    return c;
}

static unsigned count_dhcp(const struct fx *f, uint8_t type)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct fx_pkt p = fx_tx_pkt(f, i);
        struct dhcp_repr r;
        if (p.is_udp && p.dport == 67 && dhcp_parse(p.udp_data, p.udp_data_len, &r) == 0 &&
            r.type == type)
            n++;
    }
    return n;
}

static unsigned count_probes(const struct fx *f, uint32_t target)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct fx_pkt p = fx_tx_pkt(f, i);
        if (p.is_arp && p.arp_op == 1 && p.arp_spa == 0 && p.arp_tpa == target)
            n++;
    }
    return n;
}

static struct moat_dhcp_info info(const struct fx *f)
{
    return fx_stats(f).dhcp[0];
}

/* ---- fixtures -------------------------------------------------------------- */

static void dhcp_start(struct fx *f)
{
    tfx_config(f);
    f->cfg.ifs[0].ip = 0;
    f->cfg.ifs[0].dhcp = 1;
    f->allow_zero_src = true;
    fx_start(f);
}

/* Lease of @p lease s (T1/T2 by the server when nonzero): DISCOVER, OFFER,
 * REQUEST, ACK. Leaves the client probing, frames cleared. */
static void to_probing(struct fx *f, uint32_t lease, uint32_t t1, uint32_t t2)
{
    dhcp_start(f);
    struct cli_msg d = last_msg(f);
    ck_assert(d.ok);
    ck_assert_uint_eq(d.r.type, 1);             /* DISCOVER */
    ck_assert_uint_eq(d.src, 0);
    ck_assert_uint_eq(d.dst, 0xffffffffu);
    ck_assert_uint_eq(d.flags & 0x8000u, 0x8000u);
    ck_assert_uint_eq(info(f).state, MOAT_DHCP_SELECTING);
    fx_tx_clear(f);
    inject_msg(f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                     .lease = lease }, 0xffffffffu);
    struct cli_msg q = last_msg(f);
    ck_assert(q.ok);
    ck_assert_uint_eq(q.r.type, 3);             /* REQUEST */
    ck_assert_uint_eq(q.req_ip, YI);
    ck_assert_uint_eq(q.server, SRV);
    ck_assert_uint_eq(q.src, 0);
    ck_assert_uint_eq(q.xid, d.xid);
    ck_assert_uint_eq(info(f).state, MOAT_DHCP_REQUESTING);
    fx_tx_clear(f);
    inject_msg(f, &(struct srv_msg){ .type = 5, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                     .mask = 0xffffff00u, .router = SRV, .dns = DNS1,
                                     .lease = lease, .t1 = t1, .t2 = t2, .mtu = 1400 },
               0xffffffffu);
    ck_assert_uint_eq(info(f).state, MOAT_DHCP_PROBING);
    ck_assert_uint_eq(info(f).ip, 0);           /* not before the probe */
}

/* ... and through the probe to BOUND. */
static void to_bound(struct fx *f, uint32_t lease, uint32_t t1, uint32_t t2)
{
    to_probing(f, lease, t1, t2);
    fx_advance(f, 8 * SEC);     /* PROBE_WAIT + 3 probes + ANNOUNCE_WAIT <= 7 s */
    ck_assert_uint_eq(count_probes(f, YI), 3);
    struct moat_dhcp_info i = info(f);
    ck_assert_uint_eq(i.state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(i.ip, YI);
    ck_assert_uint_eq(i.prefix, 24);
    ck_assert_uint_eq(i.router, SRV);
    ck_assert_uint_eq(i.dns[0], DNS1);
    ck_assert_uint_eq(i.mtu, 1400);
    ck_assert_uint_eq(i.lease_s, lease);
    /* the gratuitous ARP announces the new address */
    struct fx_pkt last = fx_tx_pkt(f, fx_ntx(f) - 1);
    ck_assert(last.is_arp);
    ck_assert_uint_eq(last.arp_spa, YI);
    ck_assert_uint_eq(last.arp_tpa, YI);
    fx_tx_clear(f);
    fx_arp_seed(f);             /* R resolved: renewals go out at once */
}

/* The time the client counts its lease from: the REQUEST that got it. The
 * fixture does everything at FX_T0. */
static uint64_t lease_at(uint32_t s) { return FX_T0 + (uint64_t)s * SEC; }

static void advance_to(struct fx *f, uint64_t t)
{
    ck_assert_uint_ge(t, f->now);
    fx_advance(f, t - f->now);
}

/* Index of the one DHCP message (UDP 68 -> 67) among the captured frames;
 * asserts there is exactly one. */
static unsigned only_dhcp_frame(const struct fx *f)
{
    unsigned n = 0, at = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct fx_pkt p = fx_tx_pkt(f, i);
        if (p.is_udp && p.sport == 68 && p.dport == 67) {
            n++;
            at = i;
        }
    }
    ck_assert_uint_eq(n, 1);
    return at;
}

/* Captured frame @p i is a client message of @p type broadcast without an
 * address: Ethernet broadcast from our MAC, 0.0.0.0:68 -> 255.255.255.255:67,
 * op 1, htype 1, hlen 6, hops 0, ciaddr/yiaddr/siaddr/giaddr 0, chaddr our
 * MAC, the magic cookie (RFC 2131 2, 4.1). */
static void expect_client_bcast(const struct fx *f, unsigned i, uint8_t type)
{
    static const uint8_t zero16[16];
    struct fx_pkt p = fx_tx_pkt(f, i);
    struct dhcp_repr r;
    ck_assert(p.is_udp);
    ck_assert_mem_eq(p.eth_dst, fx_bcast_mac, 6);
    ck_assert_mem_eq(p.eth_src, fx_l_mac, 6);
    ck_assert_uint_eq(p.src, 0);
    ck_assert_uint_eq(p.dst, 0xffffffffu);
    ck_assert_uint_eq(p.sport, 68);
    ck_assert_uint_eq(p.dport, 67);
    ck_assert_uint_ge(p.udp_data_len, 244);
    const uint8_t *m = p.udp_data;
    ck_assert_uint_eq(m[0], 1);                 /* op BOOTREQUEST */
    ck_assert_uint_eq(m[1], 1);                 /* htype Ethernet */
    ck_assert_uint_eq(m[2], 6);                 /* hlen */
    ck_assert_uint_eq(m[3], 0);                 /* hops */
    ck_assert_mem_eq(m + 12, zero16, 16);       /* ciaddr yiaddr siaddr giaddr */
    ck_assert_mem_eq(m + 28, fx_l_mac, 6);      /* chaddr */
    ck_assert_mem_eq(m + 236, "\x63\x82\x53\x63", 4);
    ck_assert_int_eq(dhcp_parse(m, p.udp_data_len, &r), 0);
    ck_assert_uint_eq(r.type, type);
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(dhcp_acquire_and_stats)
{
    struct fx f;
    to_bound(&f, 600, 0, 0);
    struct moat_dhcp_info i = info(&f);
    ck_assert_uint_eq(i.t1_s, 300);            /* RFC 2131 defaults: 0.5 and 0.875 */
    ck_assert_uint_eq(i.t2_s, 525);
    ck_assert_uint_eq(i.server, SRV);
    ck_assert_uint_eq(i.changes, 1);
    struct moat_stats st = fx_stats(&f);
    ck_assert_uint_eq(st.dhcp_discovers, 1);
    ck_assert_uint_eq(st.dhcp_requests, 1);
    ck_assert_uint_eq(st.dhcp_acks, 1);
    /* the address works: a UDP datagram to it is delivered */
    uint32_t h = fx_udp_bound(&f, YI, 7);
    struct fx_ip ip = FX_IP(.proto = 17, .dst = YI);
    size_t n = fx_udp_frame(&f, 0, frame, &ip, 999, 7, "x", 1, FX_CK_OK);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    fx_teardown(&f);
}
END_TEST

/* Before the lease nothing is "ours": unicast to the offered address and
 * ARP for 0.0.0.0 are dropped, not answered. */
START_TEST(dhcp_no_address_before_bound)
{
    struct fx f;
    to_probing(&f, 600, 0, 0);
    fx_tx_clear(&f);
    uint64_t not_us = fx_drop(&f, MOAT_DROP_IP_NOT_US);
    fx_inject_udp(&f, 999, 7, "x", 1);           /* to 192.0.2.1, not ours */
    struct fx_ip ip = FX_IP(.proto = 17, .dst = YI);
    size_t n = fx_udp_frame(&f, 0, frame, &ip, 999, 7, "x", 1, FX_CK_OK);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_IP_NOT_US), not_us + 2);
    n = fx_arp(frame, 1, fx_r_mac, SRV, fx_zero_mac, 0, NULL, false);
    fx_inject(&f, 0, frame, n);
    fx_expect_no_tx(&f);
    /* nor may the application broadcast from 0.0.0.0 */
    uint32_t u = fx_udp_bound(&f, 0, 9);
    ck_assert_int_eq(fx_setopt(&f, u, MOAT_OPT_BROADCAST, 1), 0);
    ck_assert_int_eq(fx_sendto(&f, u, 0xffffffffu, 9, "x", 1), 0);
    ck_assert_int_eq(fx_sock_error(&f, u), MOAT_E_ADDRNOTAVAIL);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

START_TEST(dhcp_renew_at_t1)
{
    struct fx f;
    to_bound(&f, 100, 40, 80);
    advance_to(&f, lease_at(40) - 1);
    ck_assert_uint_eq(count_dhcp(&f, 3), 0);
    advance_to(&f, lease_at(40) + 1);
    struct cli_msg q = last_msg(&f);
    ck_assert(q.ok);
    ck_assert_uint_eq(q.r.type, 3);
    ck_assert_uint_eq(q.src, YI);               /* unicast from the address */
    ck_assert_uint_eq(q.dst, SRV);
    ck_assert_uint_eq(q.ciaddr, YI);
    ck_assert_uint_eq(q.req_ip, 0);             /* no 50/54 when renewing */
    ck_assert_uint_eq(q.server, 0);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_RENEWING);
    inject_msg(&f, &(struct srv_msg){ .type = 5, .xid = q.xid, .yiaddr = YI, .server = SRV,
                                      .mask = 0xffffff00u, .lease = 100, .t1 = 40, .t2 = 80 },
               YI);
    struct moat_dhcp_info i = info(&f);
    ck_assert_uint_eq(i.state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(i.ip, YI);
    ck_assert_uint_eq(i.remaining_s, 99);
    ck_assert_uint_eq(fx_stats(&f).dhcp_renewals, 1);
    /* the next renewal is 40 s after this one */
    fx_tx_clear(&f);
    advance_to(&f, lease_at(80) - SEC);
    ck_assert_uint_eq(count_dhcp(&f, 3), 0);
    advance_to(&f, lease_at(82));
    ck_assert_uint_eq(count_dhcp(&f, 3), 1);
    fx_teardown(&f);
}
END_TEST

START_TEST(dhcp_rebind_at_t2)
{
    struct fx f;
    to_bound(&f, 100, 40, 80);
    advance_to(&f, lease_at(79));
    /* one unicast REQUEST at T1 (the next would be 60 s later: past T2) */
    ck_assert_uint_eq(count_dhcp(&f, 3), 1);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_RENEWING);
    fx_tx_clear(&f);
    advance_to(&f, lease_at(80) + 1);
    struct cli_msg q = last_msg(&f);
    ck_assert(q.ok);
    ck_assert_uint_eq(q.src, YI);
    ck_assert_uint_eq(q.dst, 0xffffffffu);      /* any server */
    ck_assert_uint_eq(q.ciaddr, YI);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REBINDING);
    /* another server may answer while rebinding */
    inject_msg(&f, &(struct srv_msg){ .type = 5, .xid = q.xid, .yiaddr = YI,
                                      .server = FX_IP4(192, 0, 2, 3), .lease = 100 },
               0xffffffffu);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(info(&f).server, FX_IP4(192, 0, 2, 3));
    fx_teardown(&f);
}
END_TEST

/* Nobody answers: at the end of the lease the address goes, sockets using
 * it see MOAT_E_ADDRNOTAVAIL, and the client starts over. */
START_TEST(dhcp_expiry_removes_address)
{
    struct fx f;
    to_bound(&f, 100, 40, 80);
    uint32_t h = fx_udp_bound(&f, YI, 7);
    uint32_t any = fx_udp_bound(&f, 0, 8);
    advance_to(&f, lease_at(100) - 1);
    ck_assert_uint_eq(info(&f).ip, YI);
    ck_assert_uint_eq(fx_sock_error(&f, h), 0);
    fx_tx_clear(&f);
    advance_to(&f, lease_at(100) + 1);
    struct moat_dhcp_info i = info(&f);
    ck_assert_uint_eq(i.ip, 0);
    ck_assert_uint_eq(i.state, MOAT_DHCP_SELECTING);
    ck_assert_uint_eq(i.changes, 2);
    ck_assert_uint_eq(fx_stats(&f).dhcp_expiries, 1);
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_ADDRNOTAVAIL);
    ck_assert_int_eq(fx_sock_error(&f, any), 0);
    struct cli_msg d = last_msg(&f);
    ck_assert_uint_eq(d.r.type, 1);
    ck_assert_uint_eq(d.src, 0);
    /* nothing can be sent from the lost address: no route */
    ck_assert_int_eq(fx_sendto(&f, any, FX_R_IP, 9, "x", 1), 0);
    ck_assert_int_eq(fx_sock_error(&f, any), MOAT_E_NETUNREACH);
    fx_teardown(&f);
}
END_TEST

/* A TCP connection over the leased address fails with ADDRNOTAVAIL when
 * the lease ends, without a RST (the address is no longer ours to send
 * from); a listener on the wildcard address stays. */
START_TEST(dhcp_expiry_drops_tcp)
{
    struct fx f;
    YI = FX_L_IP;
    to_bound(&f, 100, 40, 80);
    uint32_t lh = tfx_stream_open(&f);
    ck_assert_int_eq(fx_bind(&f, lh, 0, 8080), 0);
    ck_assert_int_eq(tfx_listen(&f, lh, 4), 0);
    struct tfx_conn k;
    tfx_connect(&f, &k, &TFX_OPTS());
    ck_assert_int_eq(tfx_state(&f, k.h), TCPS_ESTABLISHED);
    advance_to(&f, lease_at(100) + 1);
    ck_assert_uint_eq(info(&f).ip, 0);
    ck_assert_int_eq(fx_sock_error(&f, k.h), MOAT_E_ADDRNOTAVAIL);
    ck_assert_uint_ne(fx_sock_status(&f, k.h) & MOAT_SS_HUP, 0);
    for (unsigned i = 0; i < fx_ntx(&f); i++) {
        struct tcp_repr r;
        if (tfx_parse(&f, i, &r))
            ck_assert_uint_eq(r.flags & TH_RST, 0);
    }
    ck_assert_int_eq(tfx_state(&f, lh), TCPS_LISTEN);
    YI = YI_DEFAULT;
    tfx_teardown(&f);
}
END_TEST

START_TEST(dhcp_nak_while_requesting)
{
    struct fx f;
    dhcp_start(&f);
    struct cli_msg d = last_msg(&f);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                      .lease = 100 }, 0xffffffffu);
    fx_tx_clear(&f);
    inject_msg(&f, &(struct srv_msg){ .type = 6, .xid = d.xid, .server = SRV }, 0xffffffffu);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_INIT);
    ck_assert_uint_eq(fx_stats(&f).dhcp_naks, 1);
    ck_assert_uint_eq(fx_stats(&f).dhcp_expiries, 0);
    fx_advance(&f, 3 * SEC);
    struct cli_msg again = last_msg(&f);
    ck_assert_uint_eq(again.r.type, 1);
    ck_assert_uint_ne(again.xid, d.xid);        /* a new transaction */
    fx_teardown(&f);
}
END_TEST

START_TEST(dhcp_nak_while_renewing_drops_address)
{
    struct fx f;
    to_bound(&f, 100, 40, 80);
    uint32_t h = fx_udp_bound(&f, YI, 7);
    advance_to(&f, lease_at(41));
    struct cli_msg q = last_msg(&f);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_RENEWING);
    /* a NAK from another server is not believed */
    inject_msg(&f, &(struct srv_msg){ .type = 6, .xid = q.xid, .server = FX_IP4(192, 0, 2, 3) },
               YI);
    ck_assert_uint_eq(info(&f).ip, YI);
    inject_msg(&f, &(struct srv_msg){ .type = 6, .xid = q.xid, .server = SRV }, YI);
    ck_assert_uint_eq(info(&f).ip, 0);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_INIT);
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_ADDRNOTAVAIL);
    ck_assert_uint_eq(fx_stats(&f).dhcp_expiries, 1);
    fx_teardown(&f);
}
END_TEST

/* DHCP-DECLINE-1 */
/* RFC 5227: an ARP from another host using the address during the probe
 * (here after the first probe) makes the client DECLINE it -- that one
 * broadcast and nothing else -- and wait ten seconds. */
START_TEST(dhcp_decline_on_conflict)
{
    struct fx f;
    to_probing(&f, 600, 0, 0);
    fx_advance(&f, 1500000);
    ck_assert_uint_eq(count_probes(&f, YI), 1); /* PROBE_WAIT <= 1 s, then >= 1 s apart */
    fx_tx_clear(&f);
    static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x77};
    size_t n = fx_arp(frame, 2, other, YI, fx_l_mac, 0, fx_l_mac, false);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_client_bcast(&f, 0, 4);              /* DECLINE, broadcast */
    struct cli_msg d = last_msg(&f);
    ck_assert(d.ok);
    ck_assert_uint_eq(d.r.type, 4);             /* DECLINE */
    ck_assert_uint_eq(d.req_ip, YI);
    ck_assert_uint_eq(d.server, SRV);
    ck_assert_uint_eq(d.src, 0);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_INIT);
    ck_assert_uint_eq(info(&f).ip, 0);
    ck_assert_uint_eq(fx_stats(&f).dhcp_declines, 1);
    fx_tx_clear(&f);
    fx_advance(&f, 9 * SEC);
    ck_assert_uint_eq(count_dhcp(&f, 1), 0);
    fx_advance(&f, 2 * SEC);
    ck_assert_uint_eq(count_dhcp(&f, 1), 1);
    fx_teardown(&f);
}
END_TEST

/* Another host probing for the same address at the same time counts too. */
START_TEST(dhcp_decline_on_simultaneous_probe)
{
    struct fx f;
    to_probing(&f, 600, 0, 0);
    static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x78};
    size_t n = fx_arp(frame, 1, other, 0, fx_zero_mac, YI, NULL, false);
    fx_inject(&f, 0, frame, n);
    ck_assert_uint_eq(fx_stats(&f).dhcp_declines, 1);
    /* while our own probes (sender 0, our MAC) are not a conflict */
    struct fx f2;
    to_probing(&f2, 600, 0, 0);
    n = fx_arp(frame, 1, fx_l_mac, 0, fx_zero_mac, YI, NULL, false);
    fx_inject(&f2, 0, frame, n);
    ck_assert_uint_eq(fx_stats(&f2).dhcp_declines, 0);
    fx_teardown(&f2);
    fx_teardown(&f);
}
END_TEST

/* Retransmission: 4 s, 8 s, ... (+-1 s), a new REQUEST round after four
 * unanswered ones. */
START_TEST(dhcp_retransmits_with_backoff)
{
    struct fx f;
    dhcp_start(&f);
    fx_advance(&f, 2900000);
    ck_assert_uint_eq(count_dhcp(&f, 1), 1);
    fx_advance(&f, 2200000);                    /* 5.1 s */
    ck_assert_uint_eq(count_dhcp(&f, 1), 2);
    fx_advance(&f, 6 * SEC);                    /* 11.1 s: next >= 5 + 7 */
    ck_assert_uint_eq(count_dhcp(&f, 1), 2);
    fx_advance(&f, 8 * SEC);
    ck_assert_uint_eq(count_dhcp(&f, 1), 3);
    fx_teardown(&f);
}
END_TEST

/* Four unanswered REQUESTs for an offer: back to DISCOVER. */
START_TEST(dhcp_request_gives_up)
{
    struct fx f;
    dhcp_start(&f);
    struct cli_msg d = last_msg(&f);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = YI, .server = SRV },
               0xffffffffu);
    fx_tx_clear(&f);
    /* the first went out with the offer; three more after 4, 8, 16 s (+-1) */
    fx_advance(&f, 31 * SEC);
    ck_assert_uint_eq(count_dhcp(&f, 3), 3);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REQUESTING);
    fx_advance(&f, 34 * SEC);       /* and 32 s after the fourth */
    ck_assert_uint_ge(count_dhcp(&f, 1), 1);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_SELECTING);
    fx_teardown(&f);
}
END_TEST

/* A renewal that answers with another address: the old one goes (its
 * sockets told), the new one is probed and then bound. */
START_TEST(dhcp_renew_to_other_address)
{
    struct fx f;
    to_bound(&f, 100, 40, 80);
    uint32_t h = fx_udp_bound(&f, YI, 7);
    advance_to(&f, lease_at(41));
    struct cli_msg q = last_msg(&f);
    uint32_t other = FX_IP4(192, 0, 2, 77);
    fx_tx_clear(&f);
    inject_msg(&f, &(struct srv_msg){ .type = 5, .xid = q.xid, .yiaddr = other, .server = SRV,
                                      .mask = 0xffffff00u, .lease = 100 }, YI);
    ck_assert_uint_eq(info(&f).ip, 0);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_PROBING);
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_ADDRNOTAVAIL);
    fx_advance(&f, 8 * SEC);
    ck_assert_uint_eq(count_probes(&f, other), 3);
    ck_assert_uint_eq(info(&f).ip, other);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_BOUND);
    fx_teardown(&f);
}
END_TEST

/* Replies that are not ours, or not wanted now, change nothing. */
START_TEST(dhcp_ignores_foreign_messages)
{
    struct fx f;
    dhcp_start(&f);
    struct cli_msg d = last_msg(&f);
    static const uint8_t other[6] = {0x02, 1, 2, 3, 4, 5};
    uint64_t bad = fx_drop(&f, MOAT_DROP_DHCP_MALFORMED);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid + 1, .yiaddr = YI, .server = SRV },
               0xffffffffu);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                      .chaddr = other }, 0xffffffffu);
    inject_msg(&f, &(struct srv_msg){ .type = 5, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                      .lease = 60 }, 0xffffffffu);   /* ACK unasked */
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = FX_IP4(127, 0, 0, 1),
                                      .server = SRV }, 0xffffffffu);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = 0xe0000001u,
                                      .server = SRV }, 0xffffffffu);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_DHCP_MALFORMED), bad + 5);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_SELECTING);
    fx_teardown(&f);
}
END_TEST

/* A static interface leaves port 68 to the application. */
START_TEST(dhcp_static_interface_port_68_is_a_port)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, 68);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = 1, .yiaddr = YI, .server = SRV },
               FX_L_IP);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_OFF);
    ck_assert_uint_eq(info(&f).ip, FX_L_IP);
    fx_teardown(&f);
}
END_TEST

/* The lease cap (dhcp_lease_max_s) scales T1/T2 down with the lease. */
START_TEST(dhcp_lease_cap)
{
    struct fx f;
    fx_config(&f);
    f.cfg.ifs[0].ip = 0;
    f.cfg.ifs[0].dhcp = 1;
    f.cfg.dhcp_lease_max_s = 30;
    f.allow_zero_src = true;
    fx_start(&f);
    struct cli_msg d = last_msg(&f);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = YI, .server = SRV },
               0xffffffffu);
    inject_msg(&f, &(struct srv_msg){ .type = 5, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                      .lease = 120, .t1 = 60, .t2 = 100 }, 0xffffffffu);
    fx_advance(&f, 8 * SEC);
    struct moat_dhcp_info i = info(&f);
    ck_assert_uint_eq(i.state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(i.lease_s, 30);
    ck_assert_uint_eq(i.t1_s, 15);
    ck_assert_uint_eq(i.t2_s, 25);
    fx_teardown(&f);
}
END_TEST

/* DHCP-HAPPY-1: the exchange step by step with the header of each
 * message; an OFFER and an ACK for another transaction change nothing;
 * between the ACK and the bound address only ARP goes out (the RFC 5227
 * probes and the announcement, all broadcast). The scenario's addresses. */
START_TEST(dhcp_happy_path_step_by_step)
{
    struct fx f;
    const uint32_t yi = FX_IP4(195, 170, 189, 200), srv = FX_IP4(195, 170, 189, 171);
    struct srv_msg m = { .type = 2, .yiaddr = yi, .server = srv, .mask = 0xffffff00u,
                         .router = srv, .lease = 120 };
    dhcp_start(&f);
    expect_client_bcast(&f, only_dhcp_frame(&f), 1);   /* exactly one DISCOVER */
    uint32_t xid = last_msg(&f).xid;
    fx_tx_clear(&f);
    /* (1) an OFFER with the wrong xid */
    m.xid = xid + 1;
    inject_msg_from(&f, &m, srv, 0xffffffffu);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_SELECTING);
    ck_assert_uint_eq(info(&f).ip, 0);
    /* (2) the right one: exactly one REQUEST naming address and server */
    m.xid = xid;
    inject_msg_from(&f, &m, srv, 0xffffffffu);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    expect_client_bcast(&f, 0, 3);
    struct cli_msg q = last_msg(&f);
    ck_assert_uint_eq(q.xid, xid);
    ck_assert_uint_eq(q.req_ip, yi);            /* option 50 */
    ck_assert_uint_eq(q.server, srv);           /* option 54 (RFC 2131 4.3.2) */
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REQUESTING);
    fx_tx_clear(&f);
    /* (3) an ACK with the wrong xid */
    m.type = 5;
    m.xid = xid + 1;
    inject_msg_from(&f, &m, srv, 0xffffffffu);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REQUESTING);
    /* (4) the right ACK: nothing at once, the probe starts */
    m.xid = xid;
    inject_msg_from(&f, &m, srv, 0xffffffffu);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_PROBING);
    ck_assert_uint_eq(info(&f).ip, 0);
    /* (5) 20 s: broadcast ARP only, then the address is configured */
    fx_advance(&f, 20 * SEC);
    ck_assert_uint_ge(fx_ntx(&f), 4);
    for (unsigned i = 0; i < fx_ntx(&f); i++) {
        struct fx_pkt p = fx_tx_pkt(&f, i);
        ck_assert_msg(p.is_arp, "frame %u is not ARP", i);
        ck_assert_mem_eq(p.eth_dst, fx_bcast_mac, 6);
    }
    ck_assert_uint_eq(count_probes(&f, yi), 3);
    struct moat_dhcp_info i = info(&f);
    ck_assert_uint_eq(i.state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(i.ip, yi);
    ck_assert_uint_eq(i.prefix, 24);
    ck_assert_uint_eq(i.router, srv);
    /* the server answers ARP, so that the renewals the teardown's timers
     * send do not sit in the ARP queue when the pools are checked */
    size_t n = fx_arp(frame, 2, fx_r_mac, srv, fx_l_mac, yi, fx_l_mac, false);
    fx_inject(&f, 0, frame, n);
    fx_teardown(&f);
}
END_TEST

/* DHCP-RELAY-RENEW-1: OFFER and ACK come from a relay agent (source
 * address not the server identifier, which is off-link); the lease is
 * taken. At T1 the unicast renewal goes through the gateway: ARP for the
 * gateway, not the server, then the REQUEST to the gateway's MAC with
 * ciaddr set. After the renewal ACK nothing is sent for 10000 s (below
 * the new T1) and the address stays. The scenario's addresses. */
START_TEST(dhcp_relayed_renew_via_gateway)
{
    struct fx f;
    const uint32_t relay = FX_IP4(79, 138, 50, 2), srv = FX_IP4(10, 181, 4, 1),
                   yi = FX_IP4(79, 138, 51, 5), gw = FX_IP4(79, 138, 50, 1);
    static const uint8_t gw_mac[6] = {0x02, 0, 0, 0, 0, 0x51};
    struct srv_msg m = { .type = 2, .yiaddr = yi, .server = srv, .mask = 0xfffffe00u,
                         .router = gw, .lease = 21577 };
    dhcp_start(&f);
    m.xid = last_msg(&f).xid;
    inject_msg_from(&f, &m, relay, 0xffffffffu);
    struct cli_msg q = last_msg(&f);
    ck_assert_uint_eq(q.r.type, 3);
    ck_assert_uint_eq(q.server, srv);
    m.type = 5;
    inject_msg_from(&f, &m, relay, 0xffffffffu);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_PROBING);
    fx_advance(&f, 8 * SEC);
    struct moat_dhcp_info i = info(&f);
    ck_assert_uint_eq(i.state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(i.ip, yi);
    ck_assert_uint_eq(i.prefix, 23);
    ck_assert_uint_eq(i.router, gw);
    ck_assert_uint_eq(i.server, srv);
    ck_assert_uint_eq(i.t1_s, 10788);
    fx_tx_clear(&f);
    advance_to(&f, lease_at(10788) - SEC);
    fx_expect_no_tx(&f);
    advance_to(&f, lease_at(10788) + SEC / 10);  /* just past T1 */
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_RENEWING);
    ck_assert_uint_eq(info(&f).ip, yi);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt a = fx_tx_pkt(&f, 0);         /* the server is off-link */
    ck_assert(a.is_arp);
    ck_assert_uint_eq(a.arp_op, 1);
    ck_assert_mem_eq(a.eth_dst, fx_bcast_mac, 6);
    ck_assert_uint_eq(a.arp_tpa, gw);
    ck_assert_uint_eq(a.arp_spa, yi);
    fx_tx_clear(&f);
    uint8_t fr[64];
    size_t n = fx_arp(fr, 2, gw_mac, gw, fx_l_mac, yi, fx_l_mac, false);
    fx_inject(&f, 0, fr, n);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    struct fx_pkt p = fx_tx_pkt(&f, 0);
    ck_assert(p.is_udp);
    ck_assert_mem_eq(p.eth_dst, gw_mac, 6);
    q = last_msg(&f);
    ck_assert(q.ok);
    ck_assert_uint_eq(q.r.type, 3);
    ck_assert_uint_eq(q.src, yi);
    ck_assert_uint_eq(q.dst, srv);
    ck_assert_uint_eq(q.ciaddr, yi);
    /* the renewal ACK, through the relay, unicast to us */
    m.xid = q.xid;
    inject_msg_from(&f, &m, relay, yi);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(fx_stats(&f).dhcp_renewals, 1);
    fx_tx_clear(&f);
    fx_advance(&f, 10000 * SEC);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(info(&f).ip, yi);
    fx_teardown(&f);
}
END_TEST

/* DHCP-MALFORMED-NAK-1: a NAK for our transaction without END whose last
 * option runs past the message is dropped whole: the client stays
 * REQUESTING with the same xid, retry count and retry time, and sends
 * nothing. The same NAK with its END in place is believed. */
START_TEST(dhcp_malformed_nak_ignored)
{
    struct fx f;
    dhcp_start(&f);
    uint32_t xid = last_msg(&f).xid;
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = xid, .yiaddr = YI, .server = SRV,
                                      .lease = 100 }, 0xffffffffu);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REQUESTING);
    fx_tx_clear(&f);
    const struct dhcp_if before = f.core->dhcp[0];
    uint8_t m[600];
    build_msg(&(struct srv_msg){ .type = 6, .xid = xid, .server = SRV }, m);
    /* 53 at 240, 54 at 243, END at 249: replace the END by option 56
     * claiming 40 bytes of which 10 are there, and end the message. */
    ck_assert_uint_eq(m[249], 255);
    m[249] = 56;
    m[250] = 40;
    memset(m + 251, 'x', 10);
    uint64_t bad = fx_drop(&f, MOAT_DROP_DHCP_MALFORMED);
    inject_raw(&f, m, 261, SRV, 0xffffffffu);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_DHCP_MALFORMED), bad + 1);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REQUESTING);
    ck_assert_uint_eq(fx_stats(&f).dhcp_naks, 0);
    ck_assert_uint_eq(f.core->dhcp[0].xid, before.xid);
    ck_assert_uint_eq(f.core->dhcp[0].tries, before.tries);
    ck_assert_uint_eq(f.core->dhcp[0].t_next, before.t_next);
    m[249] = 255;
    inject_raw(&f, m, 300, SRV, 0xffffffffu);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_INIT);
    ck_assert_uint_eq(fx_stats(&f).dhcp_naks, 1);
    fx_teardown(&f);
}
END_TEST

/* DHCP-OVERLOAD-1: an OFFER whose sname and file carry option 52 again
 * (overload inside an overloaded field: invalid, and a loop for a parser
 * that follows it) is refused for overload 3, 2 and 1 -- no REQUEST, no
 * address; with overload 0 the fields are not options and it is taken. */
START_TEST(dhcp_offer_overload_loop_refused)
{
    for (unsigned ov = 4; ov-- > 0;) {
        struct fx f;
        dhcp_start(&f);
        uint8_t m[600];
        size_t n = build_msg(&(struct srv_msg){ .type = 2, .xid = last_msg(&f).xid,
                                                .yiaddr = YI, .server = SRV, .lease = 120 }, m);
        fx_tx_clear(&f);
        /* 53 at 240, 54 at 243, 51 at 249, END at 255 */
        ck_assert_uint_eq(m[255], 255);
        m[255] = 52; m[256] = 1; m[257] = (uint8_t)ov; m[258] = 255;
        static const uint8_t inner[] = { 52, 1, 3, 255 };
        memcpy(m + 44, inner, sizeof inner);    /* sname */
        memcpy(m + 108, inner, sizeof inner);   /* file */
        inject_raw(&f, m, n, SRV, 0xffffffffu);
        if (ov) {
            ck_assert_msg(count_dhcp(&f, 3) == 0, "overload %u: a REQUEST went out", ov);
            ck_assert_uint_eq(info(&f).state, MOAT_DHCP_SELECTING);
        } else {
            ck_assert_uint_eq(count_dhcp(&f, 3), 1);
            ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REQUESTING);
        }
        ck_assert_uint_eq(info(&f).ip, 0);
        fx_teardown(&f);
    }
}
END_TEST

/* ---- dhcp_parse on hostile bytes -------------------------------------------- */

/* DHCP-MALFORMED-NAK-1 (the parser's part) */
START_TEST(dhcp_parse_rejects_lies)
{
    uint8_t m[600];
    struct dhcp_repr r;
    size_t n = build_msg(&(struct srv_msg){ .type = 5, .xid = 7, .yiaddr = YI, .server = SRV,
                                            .lease = 60 }, m);
    ck_assert_int_eq(dhcp_parse(m, n, &r), 0);
    ck_assert_uint_eq(r.type, 5);
    ck_assert_uint_eq(r.lease, 60);
    ck_assert_int_eq(dhcp_parse(m, 239, &r), MOAT_E_INVAL);      /* no cookie */
    ck_assert_int_eq(dhcp_parse(NULL, 0, &r), MOAT_E_INVAL);
    m[236] ^= 1;
    ck_assert_int_eq(dhcp_parse(m, n, &r), MOAT_E_INVAL);        /* BOOTP, not DHCP */
    m[236] ^= 1;
    /* an option whose length runs past the message */
    m[240] = 53; m[241] = 200;
    ck_assert_int_eq(dhcp_parse(m, 250, &r), MOAT_E_INVAL);
    /* an option code as the last byte, no room for its length */
    n = build_msg(&(struct srv_msg){ .type = 2 }, m);
    m[243] = 51;
    ck_assert_int_eq(dhcp_parse(m, 244, &r), MOAT_E_INVAL);
    /* wrong-size values are ignored, not read past */
    n = build_msg(&(struct srv_msg){ .type = 2 }, m);
    m[243] = 51; m[244] = 3; m[245] = 1; m[246] = 2; m[247] = 3; m[248] = 255;
    ck_assert_int_eq(dhcp_parse(m, n, &r), 0);
    ck_assert_uint_eq(r.lease, 0);
    /* a repeated option cannot override the first */
    n = build_msg(&(struct srv_msg){ .type = 2 }, m);
    m[243] = 53; m[244] = 1; m[245] = 5; m[246] = 255;
    ck_assert_int_eq(dhcp_parse(m, n, &r), 0);
    ck_assert_uint_eq(r.type, 2);
}
END_TEST

/* DHCP-OVERLOAD-1 (the parser's part) */
START_TEST(dhcp_parse_overload)
{
    uint8_t m[600];
    struct dhcp_repr r;
    size_t n = build_msg(&(struct srv_msg){ .type = 5 }, m);
    /* main: 53, 52 = 3 (file and sname), end; file: lease; sname: server */
    m[243] = 52; m[244] = 1; m[245] = 3; m[246] = 255;
    uint8_t *file = m + 108, *sname = m + 44;
    file[0] = 51; file[1] = 4; file[2] = 0; file[3] = 0; file[4] = 1; file[5] = 0; file[6] = 255;
    sname[0] = 54; sname[1] = 4; sname[2] = 192; sname[3] = 0; sname[4] = 2; sname[5] = 2;
    sname[6] = 255;
    ck_assert_int_eq(dhcp_parse(m, n, &r), 0);
    ck_assert_uint_eq(r.lease, 256);
    ck_assert_uint_eq(r.server, SRV);
    /* an option in file claiming more than the 128-byte field: rejected */
    file[0] = 3; file[1] = 200;
    ck_assert_int_eq(dhcp_parse(m, n, &r), MOAT_E_INVAL);
    /* option 52 inside an overloaded field: refused, not chained
     * (DHCP-OVERLOAD-1) */
    file[0] = 52; file[1] = 1; file[2] = 2; file[3] = 255;
    m[245] = 1;
    memset(sname, 0, 64);
    sname[0] = 51; sname[1] = 4; sname[2] = 9; sname[3] = 9; sname[4] = 9; sname[5] = 9;
    ck_assert_int_eq(dhcp_parse(m, n, &r), MOAT_E_INVAL);
    /* ... but sname is not read when only file is overloaded */
    file[0] = 0;
    ck_assert_int_eq(dhcp_parse(m, n, &r), 0);
    ck_assert_uint_eq(r.lease, 0);
}
END_TEST

/* Every truncation and every single-byte change of a full ACK parses
 * cleanly or fails cleanly (run under ASan in scripts/test.sh). */
START_TEST(dhcp_parse_mutations)
{
    uint8_t m[600], t[600];
    struct dhcp_repr r;
    size_t n = build_msg(&(struct srv_msg){ .type = 5, .xid = 7, .yiaddr = YI, .server = SRV,
                                            .mask = 0xffffff00u, .router = SRV, .dns = DNS1,
                                            .lease = 60, .t1 = 30, .t2 = 50, .mtu = 1400 }, m);
    unsigned ok = 0;
    for (size_t len = 0; len <= n; len++) {
        memcpy(t, m, n);
        if (dhcp_parse(t, len, &r) == 0)
            ok++;
    }
    ck_assert_uint_gt(ok, 0);
    for (size_t i = 236; i < n; i++) {
        for (unsigned v = 0; v < 256; v += 17) {
            memcpy(t, m, n);
            t[i] = (uint8_t)v;
            (void)dhcp_parse(t, n, &r);
        }
    }
}
END_TEST

/* The fuzz seeds (tests/fuzz/corpus/dhcp) are what their README says:
 * the valid ones parse, the lying one is refused. */
static void dhcp_seed(const char *name, const uint8_t *data, size_t len, void *arg)
{
    (void)arg;
    struct dhcp_repr r;
    int want = strstr(name, "lying") ? MOAT_E_INVAL : 0;
    ck_assert_msg(dhcp_parse(data, len, &r) == want, "seed %s", name);
    if (want == 0)
        ck_assert_uint_eq(r.xid, 0x11223344u);
}

START_TEST(dhcp_parse_fuzz_seeds)
{
    ck_assert_uint_ge(seeds_each(__FILE__, "dhcp", dhcp_seed, NULL), 6);
}
END_TEST

/* A hostile server's values are checked before use: a non-contiguous
 * mask falls back to the configured prefix, an off-subnet router and a
 * tiny MTU are ignored, a zero lease is refused. */
START_TEST(dhcp_distrusts_values)
{
    struct fx f;
    dhcp_start(&f);
    struct cli_msg d = last_msg(&f);
    inject_msg(&f, &(struct srv_msg){ .type = 2, .xid = d.xid, .yiaddr = YI, .server = SRV },
               0xffffffffu);
    inject_msg(&f, &(struct srv_msg){ .type = 5, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                      .lease = 0 }, 0xffffffffu);
    ck_assert_uint_eq(info(&f).state, MOAT_DHCP_REQUESTING);
    inject_msg(&f, &(struct srv_msg){ .type = 5, .xid = d.xid, .yiaddr = YI, .server = SRV,
                                      .mask = 0xff00ff00u, .router = FX_IP4(10, 0, 0, 1),
                                      .dns = 0xffffffffu, .lease = 60, .mtu = 100 },
               0xffffffffu);
    fx_advance(&f, 8 * SEC);
    struct moat_dhcp_info i = info(&f);
    ck_assert_uint_eq(i.state, MOAT_DHCP_BOUND);
    ck_assert_uint_eq(i.prefix, 24);
    ck_assert_uint_eq(i.router, 0);
    ck_assert_uint_eq(i.dns[0], 0);
    ck_assert_uint_eq(i.mtu, 1500);
    fx_teardown(&f);
}
END_TEST

static Suite *dhcp_suite(void)
{
    Suite *s = suite_create("dhcp");
    TCase *st = tcase_create("states");
    tcase_set_timeout(st, 30);
    tcase_add_test(st, dhcp_acquire_and_stats);
    tcase_add_test(st, dhcp_no_address_before_bound);
    tcase_add_test(st, dhcp_renew_at_t1);
    tcase_add_test(st, dhcp_rebind_at_t2);
    tcase_add_test(st, dhcp_expiry_removes_address);
    tcase_add_test(st, dhcp_expiry_drops_tcp);
    tcase_add_test(st, dhcp_nak_while_requesting);
    tcase_add_test(st, dhcp_nak_while_renewing_drops_address);
    tcase_add_test(st, dhcp_decline_on_conflict);
    tcase_add_test(st, dhcp_decline_on_simultaneous_probe);
    tcase_add_test(st, dhcp_retransmits_with_backoff);
    tcase_add_test(st, dhcp_ignores_foreign_messages);
    tcase_add_test(st, dhcp_request_gives_up);
    tcase_add_test(st, dhcp_renew_to_other_address);
    tcase_add_test(st, dhcp_static_interface_port_68_is_a_port);
    tcase_add_test(st, dhcp_lease_cap);
    tcase_add_test(st, dhcp_distrusts_values);
    tcase_add_test(st, dhcp_happy_path_step_by_step);
    tcase_add_test(st, dhcp_relayed_renew_via_gateway);
    tcase_add_test(st, dhcp_malformed_nak_ignored);
    tcase_add_test(st, dhcp_offer_overload_loop_refused);
    suite_add_tcase(s, st);
    TCase *p = tcase_create("parse");
    tcase_set_timeout(p, 30);
    tcase_add_test(p, dhcp_parse_rejects_lies);
    tcase_add_test(p, dhcp_parse_overload);
    tcase_add_test(p, dhcp_parse_mutations);
    tcase_add_test(p, dhcp_parse_fuzz_seeds);
    suite_add_tcase(s, p);
    return s;
}

MOAT_CHECK_MAIN(dhcp_suite)
