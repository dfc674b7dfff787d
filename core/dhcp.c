/* SPDX-License-Identifier: MIT */
/*
 * DHCPv4 client (RFC 2131, options RFC 2132), one per interface configured
 * with dhcp = 1: DISCOVER/OFFER/REQUEST/ACK, an RFC 5227 ARP probe of the
 * acknowledged address with DECLINE on conflict, renewal at T1 (unicast
 * to the server), rebinding at T2 (broadcast), and expiry or NAK, which
 * take the address away: connections using it fail with
 * MOAT_E_ADDRNOTAVAIL and the client starts over.
 *
 * It lives in the core, not in the application, because it configures
 * the interface itself, must run before any application socket can, and
 * speaks from 0.0.0.0 to 255.255.255.255 -- things no application socket
 * may do. It sends through ip4.c (ip4_tx_begin_bcast for the broadcasts)
 * and receives from udp.c, which hands it every datagram to port 68 of an
 * interface it runs on; it owns no socket slot.
 *
 * Every received message goes through dhcp_parse, which trusts no length
 * or count; values from a server are checked before use (addresses that
 * cannot be a host's, non-contiguous masks, MTUs and lease times out of
 * range). Not done: INIT-REBOOT, DHCPRELEASE on close, DHCPINFORM, relay
 * agents, option concatenation (RFC 3396).
 */
#include "core_priv.h"

/* moat_stats.dhcp[] is sized without <moat/moat.h>: keep them in step. */
_Static_assert(sizeof(((struct moat_stats *)0)->dhcp) / sizeof(struct moat_dhcp_info) ==
                   MOAT_MAX_IFS, "moat_stats.dhcp[] must have MOAT_MAX_IFS entries");

#define DHCP_SERVER_PORT 67u
#define DHCP_CLIENT_PORT 68u
#define DHCP_FIXED       236u          /* op .. file */
#define DHCP_COOKIE      0x63825363u
#define DHCP_MIN_MSG     300u          /* BOOTP minimum (RFC 1542 2.1) */
#define DHCP_MSG_CAP     400u
#define DHCP_FLAG_BCAST  0x8000u

enum {
    DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK, DHCPNAK, DHCPRELEASE
};

enum {
    OPT_PAD = 0, OPT_MASK = 1, OPT_ROUTER = 3, OPT_DNS = 6, OPT_MTU = 26,
    OPT_REQ_IP = 50, OPT_LEASE = 51, OPT_OVERLOAD = 52, OPT_MSG_TYPE = 53,
    OPT_SERVER = 54, OPT_PARAMS = 55, OPT_MAX_SIZE = 57, OPT_T1 = 58, OPT_T2 = 59,
    OPT_CLIENT_ID = 61, OPT_END = 255
};

#define SEC 1000000ull
/* RFC 2131 4.1: retransmit after 4 s, doubling up to 64 s, +-1 s. */
#define DHCP_RTX_FIRST   (4u * SEC)
#define DHCP_RTX_MAX     (64u * SEC)
#define DHCP_REQ_TRIES   4u            /* REQUESTs for one offer, then start over */
/* RFC 2131 4.4.5: in RENEWING/REBINDING wait half the time left, but at
 * least 60 s. */
#define DHCP_RENEW_MIN   (60u * SEC)
/* RFC 5227 2.1.1 constants. */
#define PROBE_WAIT       (1u * SEC)
#define PROBE_NUM        3u
#define PROBE_MIN        (1u * SEC)
#define PROBE_MAX        (2u * SEC)
#define ANNOUNCE_WAIT    (2u * SEC)
/* RFC 2131 3.1.5: after a DECLINE wait at least ten seconds. */
#define DECLINE_WAIT     (10u * SEC)
/* After a NAK start over soon, but not in a tight loop with a server
 * that NAKs everything. */
#define NAK_WAIT         (2u * SEC)
#define LEASE_MIN_S      10u           /* shorter leases are taken as this */
#define LEASE_INFINITE   0xffffffffu

/* ---- parsing ---------------------------------------------------------- */

/* Could @p ip be a host's unicast address? */
static bool host_addr(uint32_t ip)
{
    uint32_t a = ip >> 24;
    return ip != 0 && a != 0 && a != 127 && a < 224;
}

static void opt_addrs(const uint8_t *v, size_t n, uint32_t *out, unsigned max)
{
    for (unsigned i = 0; i < max && (size_t)(i + 1u) * 4u <= n; i++)
        out[i] = rd32(v + 4u * i);
}

/* Walk one option area [p, p+len). Returns 0, or MOAT_E_INVAL for an
 * option whose length runs past the area. *overload gets option 52;
 * @p overload NULL means an overloaded sname/file field, where option 52
 * itself is invalid (RFC 2132 9.3 puts it in the options field): the
 * message is refused rather than half believed. The first instance of an
 * option wins; repeats are ignored. */
static int opt_walk(const uint8_t *p, size_t len, struct dhcp_repr *r, uint8_t *overload,
                    uint32_t *seen)
{
    size_t i = 0;
    while (i < len) {
        uint8_t code = p[i];
        if (code == OPT_PAD) {
            i++;
            continue;
        }
        if (code == OPT_END)
            return 0;
        if (i + 2u > len)
            return MOAT_E_INVAL;
        size_t n = p[i + 1u];
        if (n > len - i - 2u)
            return MOAT_E_INVAL;    /* a length that lies */
        const uint8_t *v = p + i + 2u;
        i += 2u + n;
        if (code == OPT_OVERLOAD && !overload)
            return MOAT_E_INVAL;    /* overload inside an overloaded field */
        /* one bit per option we read, so a repeat cannot override */
        unsigned bit;
        switch (code) {
        case OPT_MASK: bit = 0; break;
        case OPT_ROUTER: bit = 1; break;
        case OPT_DNS: bit = 2; break;
        case OPT_MTU: bit = 3; break;
        case OPT_LEASE: bit = 4; break;
        case OPT_OVERLOAD: bit = 5; break;
        case OPT_MSG_TYPE: bit = 6; break;
        case OPT_SERVER: bit = 7; break;
        case OPT_T1: bit = 8; break;
        case OPT_T2: bit = 9; break;
        default: continue;
        }
        if (*seen & (1u << bit))
            continue;
        *seen |= 1u << bit;
        switch (code) {
        case OPT_MASK: if (n == 4) r->mask = rd32(v); break;
        case OPT_ROUTER: if (n >= 4) r->router = rd32(v); break;
        case OPT_DNS: opt_addrs(v, n, r->dns, MOAT_DHCP_DNS_MAX); break;
        case OPT_MTU: if (n == 2) r->mtu = rd16(v); break;
        case OPT_LEASE: if (n == 4) r->lease = rd32(v); break;
        case OPT_OVERLOAD: if (n == 1 && overload) *overload = v[0]; break;
        case OPT_MSG_TYPE: if (n == 1) r->type = v[0]; break;
        case OPT_SERVER: if (n == 4) r->server = rd32(v); break;
        case OPT_T1: if (n == 4) r->t1 = rd32(v); break;
        case OPT_T2: if (n == 4) r->t2 = rd32(v); break;
        default: break;
        }
    }
    return 0;   /* no END: tolerated, the area is exhausted */
}

int dhcp_parse(const uint8_t *p, size_t len, struct dhcp_repr *r)
{
    memset(r, 0, sizeof(*r));
    if (!p || len < DHCP_FIXED + 4u)
        return MOAT_E_INVAL;
    if (p[1] != 1 || p[2] != 6 || rd32(p + DHCP_FIXED) != DHCP_COOKIE)
        return MOAT_E_INVAL;    /* not Ethernet, or plain BOOTP */
    r->op = p[0];
    r->xid = rd32(p + 4);
    r->flags = rd16(p + 10);
    r->ciaddr = rd32(p + 12);
    r->yiaddr = rd32(p + 16);
    memcpy(r->chaddr, p + 28, 6);
    uint8_t overload = 0;
    uint32_t seen = 0;
    if (opt_walk(p + DHCP_FIXED + 4u, len - DHCP_FIXED - 4u, r, &overload, &seen) != 0)
        return MOAT_E_INVAL;
    /* RFC 2132 9.3: options continue in file (1), sname (2) or both (3);
     * only what the main area said counts, and the areas are fixed size. */
    if ((overload & 1u) && opt_walk(p + 108, 128, r, NULL, &seen) != 0)
        return MOAT_E_INVAL;
    if ((overload & 2u) && opt_walk(p + 44, 64, r, NULL, &seen) != 0)
        return MOAT_E_INVAL;
    return 0;
}

/* ---- building and sending ----------------------------------------------- */

static uint8_t *opt_put(uint8_t *o, uint8_t code, const void *v, uint8_t n)
{
    o[0] = code;
    o[1] = n;
    memcpy(o + 2, v, n);
    return o + 2 + n;
}

static uint8_t *opt_put32(uint8_t *o, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    wr32(b, v);
    return opt_put(o, code, b, 4);
}

/* Send a message of @p type for interface @p ifx. Broadcast from 0.0.0.0
 * unless the interface holds an address: then unicast to the server when
 * @p unicast (RENEWING), else broadcast from that address (REBINDING). */
static void dhcp_send(struct mcore *c, unsigned ifx, uint8_t type, bool unicast)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    struct mc_if *ifp = &c->ifs[ifx];
    uint8_t m[DHCP_MSG_CAP];
    struct ip4_tx tx;
    int err;

    memset(m, 0, sizeof(m));
    m[0] = 1;
    m[1] = 1;
    m[2] = 6;
    wr32(m + 4, d->xid);
    uint64_t secs = (c->now - d->t_begin) / SEC;
    wr16(m + 8, (uint16_t)(secs > 0xffff ? 0xffff : secs));
    /* Without an address we cannot take a unicast reply before ARP knows
     * us: ask for broadcast replies (RFC 2131 4.1). */
    if (ifp->ip == 0)
        wr16(m + 10, DHCP_FLAG_BCAST);
    if (type == DHCPREQUEST && ifp->ip != 0)
        wr32(m + 12, ifp->ip);             /* ciaddr: RENEWING, REBINDING */
    memcpy(m + 28, ifp->mac, 6);
    wr32(m + DHCP_FIXED, DHCP_COOKIE);
    uint8_t *o = m + DHCP_FIXED + 4u;
    o = opt_put(o, OPT_MSG_TYPE, &type, 1);
    uint8_t cid[7] = {1};
    memcpy(cid + 1, ifp->mac, 6);
    o = opt_put(o, OPT_CLIENT_ID, cid, sizeof(cid));
    if (type == DHCPDISCOVER && d->offered)
        o = opt_put32(o, OPT_REQ_IP, d->offered);     /* the configured hint */
    if ((type == DHCPREQUEST && ifp->ip == 0) || type == DHCPDECLINE) {
        /* SELECTING (RFC 2131 4.3.2) and DECLINE name address and server. */
        o = opt_put32(o, OPT_REQ_IP, d->offered);
        o = opt_put32(o, OPT_SERVER, d->server);
    }
    if (type != DHCPDECLINE) {
        static const uint8_t params[] = { OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_MTU,
                                          OPT_LEASE, OPT_T1, OPT_T2 };
        uint8_t sz[2];
        o = opt_put(o, OPT_PARAMS, params, sizeof(params));
        wr16(sz, (uint16_t)(ifp->mtu < 1500 ? ifp->mtu : 1500));
        o = opt_put(o, OPT_MAX_SIZE, sz, 2);
    }
    *o++ = OPT_END;
    size_t n = (size_t)(o - m);
    if (n < DHCP_MIN_MSG)
        n = DHCP_MIN_MSG;

    size_t l4 = 8u + n;
    if (unicast && ifp->ip != 0)
        err = ip4_tx_begin(c, &tx, ifp->ip, d->server, l4);
    else
        err = ip4_tx_begin_bcast(c, &tx, ifx, ifp->ip, l4);
    if (err)
        return;     /* counted where it failed; the timer retransmits */
    uint8_t *u = tx.l4;
    wr16(u, DHCP_CLIENT_PORT);
    wr16(u + 2, DHCP_SERVER_PORT);
    wr16(u + 4, (uint16_t)l4);
    wr16(u + 6, 0);
    memcpy(u + 8, m, n);
    uint16_t ck = cksum_fold(cksum_add(cksum_pseudo(tx.src, tx.dst, IP_PROTO_UDP,
                                                    (uint32_t)l4), u, l4));
    wr16(u + 6, ck == 0 ? 0xffff : ck);
    if (ip4_tx_end(c, &tx, IP_PROTO_UDP, l4, 0) != 0)
        return;
    if (type == DHCPDISCOVER)
        c->stats.dhcp_discovers++;
    else if (type == DHCPREQUEST)
        c->stats.dhcp_requests++;
}

/* ---- state changes ---------------------------------------------------- */

static uint64_t jitter(struct mcore *c, uint64_t base, uint64_t spread)
{
    /* base - spread/2 .. base + spread/2 (RFC 2131 4.1: +-1 s) */
    return base - spread / 2u + (uint64_t)mcore_rand32(c) % (spread + 1u);
}

static uint64_t rtx_wait(struct mcore *c, unsigned tries)
{
    uint64_t w = DHCP_RTX_FIRST;
    for (unsigned i = 1; i < tries && w < DHCP_RTX_MAX; i++)
        w *= 2u;
    return jitter(c, w, 2u * SEC);
}

/* From the stack's PRNG (seeded from the host's random source at init):
 * a confined net domain may no longer ask the host for randomness
 * (getrandom is outside its seccomp filter), and an xid needs to be
 * unpredictable to an off-path sender, not a secret key. */
static void new_xid(struct mcore *c, struct dhcp_if *d)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++)         /* byte-wise, as mcore_random draws */
        x = x << 8 | (uint8_t)mcore_rand32(c);
    d->xid = x;
}

static void set_state(struct mcore *c, struct dhcp_if *d, uint8_t st, uint64_t next)
{
    d->state = st;
    d->tries = 0;
    d->t_next = next;
    mcore_wake_app(c);
}

/* Remove the interface's address: every socket that used it learns. */
static void unconfigure(struct mcore *c, unsigned ifx)
{
    struct mc_if *ifp = &c->ifs[ifx];
    struct dhcp_if *d = &c->dhcp[ifx];
    uint32_t old = ifp->ip;
    if (old == 0)
        return;
    ifp->ip = 0;
    ifp->mask = 0xffffffffu;
    ifp->gw = 0;
    ifp->mtu = c->cfg.ifs[ifx].mtu;
    if (ifp->link && ifp->link->mtu && ifp->link->mtu < ifp->mtu)
        ifp->mtu = ifp->link->mtu;
    d->changes++;
    tcp_addr_lost(c, old, MOAT_E_ADDRNOTAVAIL);
    for (uint32_t i = c->dgram_head; i != 0; i = c->socks[i - 1u].dnext) {
        struct msock *s = &c->socks[i - 1u];
        if (s->type == MOAT_SOCK_DGRAM && s->lip == old && s->app_owned)
            sock_error(c, s, MOAT_E_ADDRNOTAVAIL);
    }
    mcore_wake_app(c);
}

static void start_over(struct mcore *c, unsigned ifx, uint64_t wait)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    unconfigure(c, ifx);
    d->offered = 0;
    d->server = 0;
    set_state(c, d, MOAT_DHCP_INIT, c->now + wait);
}

static void send_discover(struct mcore *c, unsigned ifx)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    if (d->state != MOAT_DHCP_SELECTING) {
        new_xid(c, d);
        d->t_begin = c->now;
        set_state(c, d, MOAT_DHCP_SELECTING, 0);
    }
    d->tries++;
    dhcp_send(c, ifx, DHCPDISCOVER, false);
    d->t_next = c->now + rtx_wait(c, d->tries);
}

static void send_request(struct mcore *c, unsigned ifx)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    d->tries++;
    d->t_req = c->now;
    dhcp_send(c, ifx, DHCPREQUEST, d->state == MOAT_DHCP_RENEWING);
}

/* Wait in RENEWING/REBINDING: half the time to @p until, at least 60 s,
 * but never past it (RFC 2131 4.4.5). */
static uint64_t renew_wait(struct mcore *c, uint64_t until)
{
    uint64_t left = until > c->now ? until - c->now : 0;
    uint64_t w = left / 2u < DHCP_RENEW_MIN ? DHCP_RENEW_MIN : left / 2u;
    return c->now + (w < left ? w : left);
}

static uint64_t at_s(const struct dhcp_if *d, uint32_t s)
{
    if (d->lease_s == LEASE_INFINITE)
        return MCORE_NEVER;
    return d->t_lease + (uint64_t)s * SEC;
}

/* The probe found nobody: configure the interface. */
static void bind_lease(struct mcore *c, unsigned ifx)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    struct mc_if *ifp = &c->ifs[ifx];
    ifp->ip = d->offered;
    ifp->mask = d->prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> d->prefix);
    ifp->gw = d->router;
    if (d->mtu && d->mtu < ifp->mtu)
        ifp->mtu = (uint16_t)d->mtu;
    d->changes++;
    arp_announce(c, ifx);   /* RFC 5227 2.3 */
    set_state(c, d, MOAT_DHCP_BOUND, at_s(d, d->t1_s));
}

/* Take the lease values of an ACK (checked already). */
static void take_lease(struct mcore *c, struct dhcp_if *d, const struct dhcp_repr *r,
                       unsigned ifx)
{
    uint32_t lease = r->lease;
    uint32_t cap = c->cfg.dhcp_lease_max_s;
    if (lease < LEASE_MIN_S)
        lease = LEASE_MIN_S;
    uint32_t t1 = r->t1, t2 = r->t2;
    if (cap && lease > cap) {
        /* Scale the server's times down with the lease. */
        if (t1 && lease != LEASE_INFINITE)
            t1 = (uint32_t)((uint64_t)t1 * cap / lease);
        if (t2 && lease != LEASE_INFINITE)
            t2 = (uint32_t)((uint64_t)t2 * cap / lease);
        if (lease == LEASE_INFINITE)
            t1 = t2 = 0;
        lease = cap;
    }
    /* RFC 2131 4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease. */
    if (lease != LEASE_INFINITE && (t2 == 0 || t2 >= lease))
        t2 = (uint32_t)((uint64_t)lease * 7u / 8u);
    if (lease != LEASE_INFINITE && (t1 == 0 || t1 >= t2))
        t1 = lease / 2u < t2 ? lease / 2u : t2;
    d->lease_s = lease;
    d->t1_s = t1;
    d->t2_s = t2;
    d->t_lease = d->t_req;
    d->server = r->server ? r->server : d->server;
    d->offered = r->yiaddr;
    /* Prefix from a contiguous mask; else the configured one. */
    uint32_t pfx = c->cfg.ifs[ifx].prefix;
    if (r->mask) {
        uint32_t inv = ~r->mask;
        if ((inv & (inv + 1u)) == 0) {
            pfx = 0;
            for (uint32_t m = r->mask; m & 0x80000000u; m <<= 1)
                pfx++;
        }
    }
    if (pfx < 1 || pfx > 32)
        pfx = c->cfg.ifs[ifx].prefix;
    d->prefix = pfx;
    uint32_t mask = pfx >= 32 ? 0xffffffffu : ~(0xffffffffu >> pfx);
    /* A router must be a host on the new subnet. */
    d->router = (host_addr(r->router) && (r->router & mask) == (r->yiaddr & mask) &&
                 r->router != r->yiaddr) ? r->router : 0;
    memset(d->dns, 0, sizeof(d->dns));
    for (unsigned i = 0, k = 0; i < MOAT_DHCP_DNS_MAX; i++)
        if (host_addr(r->dns[i]))
            d->dns[k++] = r->dns[i];
    d->mtu = (r->mtu >= 576 && r->mtu <= MCORE_MAX_MTU) ? r->mtu : 0;
}

static void on_ack(struct mcore *c, unsigned ifx, const struct dhcp_repr *r)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    struct mc_if *ifp = &c->ifs[ifx];
    if (!host_addr(r->yiaddr) || r->lease == 0) {
        MCORE_DROP(c, DHCP_MALFORMED);  /* an ACK we cannot use */
        return;
    }
    c->stats.dhcp_acks++;
    if (d->state == MOAT_DHCP_REQUESTING) {
        take_lease(c, d, r, ifx);
        /* RFC 5227 2.1.1: PROBE_WAIT random, then PROBE_NUM probes. */
        d->probes = 0;
        set_state(c, d, MOAT_DHCP_PROBING,
                  c->now + (uint64_t)mcore_rand32(c) % (PROBE_WAIT + 1u));
        return;
    }
    /* RENEWING / REBINDING */
    if (r->yiaddr != ifp->ip) {
        /* A different address: the old one is gone; probe the new one. */
        unconfigure(c, ifx);
        take_lease(c, d, r, ifx);
        d->probes = 0;
        set_state(c, d, MOAT_DHCP_PROBING, c->now);
        return;
    }
    take_lease(c, d, r, ifx);
    uint32_t mask = d->prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> d->prefix);
    ifp->mask = mask;
    ifp->gw = d->router;
    c->stats.dhcp_renewals++;
    set_state(c, d, MOAT_DHCP_BOUND, at_s(d, d->t1_s));
}

bool dhcp_input(struct mcore *c, const struct ip4_rx *rx, uint16_t sport,
                const uint8_t *data, size_t len)
{
    unsigned ifx = rx->ifx;
    if (ifx >= c->n_ifs || c->dhcp[ifx].state == MOAT_DHCP_OFF)
        return false;   /* a static interface: port 68 is the application's */
    struct dhcp_if *d = &c->dhcp[ifx];
    struct dhcp_repr r;
    if (sport != DHCP_SERVER_PORT || dhcp_parse(data, len, &r) != 0 || r.op != 2 ||
        r.xid != d->xid || memcmp(r.chaddr, c->ifs[ifx].mac, 6) != 0) {
        MCORE_DROP(c, DHCP_MALFORMED);
        return true;
    }
    switch (d->state) {
    case MOAT_DHCP_SELECTING:
        /* The first usable offer wins (RFC 2131 4.4.1 lets us choose). */
        if (r.type != DHCPOFFER || !host_addr(r.yiaddr) || !host_addr(r.server))
            break;
        d->offered = r.yiaddr;
        d->server = r.server;
        set_state(c, d, MOAT_DHCP_REQUESTING, 0);
        send_request(c, ifx);
        d->t_next = c->now + rtx_wait(c, d->tries);
        return true;
    case MOAT_DHCP_REQUESTING:
    case MOAT_DHCP_RENEWING:
    case MOAT_DHCP_REBINDING:
        /* Only the server we asked may answer in REQUESTING (RFC 2131
         * 4.3.2); in REBINDING any server may. */
        if (d->state != MOAT_DHCP_REBINDING && r.server && r.server != d->server)
            break;
        if (r.type == DHCPACK) {
            on_ack(c, ifx, &r);
            return true;
        }
        if (r.type == DHCPNAK) {
            c->stats.dhcp_naks++;
            if (c->ifs[ifx].ip != 0)
                c->stats.dhcp_expiries++;
            start_over(c, ifx, NAK_WAIT);
            return true;
        }
        break;
    default:
        break;
    }
    MCORE_DROP(c, DHCP_MALFORMED);      /* valid but not wanted now */
    return true;
}

void dhcp_arp_input(struct mcore *c, unsigned ifx, uint16_t op, const uint8_t sha[6],
                    uint32_t spa, uint32_t tpa)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    (void)op;
    if (memcmp(sha, c->ifs[ifx].mac, 6) == 0)
        return;
    /* RFC 5227 2.1.1: someone uses the address (sender), or probes for it
     * at the same time (sender 0, target the address). */
    if (spa == d->offered || (spa == 0 && tpa == d->offered)) {
        c->stats.dhcp_declines++;
        dhcp_send(c, ifx, DHCPDECLINE, false);
        start_over(c, ifx, DECLINE_WAIT);
    }
}

void dhcp_init(struct mcore *c)
{
    for (unsigned i = 0; i < c->n_ifs; i++) {
        struct dhcp_if *d = &c->dhcp[i];
        memset(d, 0, sizeof(*d));
        d->t_next = MCORE_NEVER;
        if (!c->cfg.ifs[i].dhcp)
            continue;
        /* Start without an address; a configured one is only a hint
         * (option 50 in DISCOVER). */
        struct mc_if *ifp = &c->ifs[i];
        d->offered = ifp->ip;
        ifp->ip = 0;
        ifp->mask = 0xffffffffu;
        ifp->gw = 0;
        d->state = MOAT_DHCP_INIT;
        d->t_next = 0;      /* at the first poll */
    }
}

/* RENEWING (to T2) or REBINDING (to the lease end): enter @p st unless
 * in it already, then send a REQUEST. One transaction id per state, so a
 * late answer to an earlier transmission still counts. */
static void extend(struct mcore *c, unsigned ifx, uint8_t st, uint64_t until)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    if (d->state != st) {
        set_state(c, d, st, 0);
        d->t_begin = c->now;
        new_xid(c, d);
    }
    send_request(c, ifx);
    d->t_next = renew_wait(c, until);
}

static void dhcp_timer(struct mcore *c, unsigned ifx)
{
    struct dhcp_if *d = &c->dhcp[ifx];
    switch (d->state) {
    case MOAT_DHCP_INIT:
    case MOAT_DHCP_SELECTING:
        send_discover(c, ifx);
        break;
    case MOAT_DHCP_REQUESTING:
        if (d->tries >= DHCP_REQ_TRIES) {
            start_over(c, ifx, 0);
            send_discover(c, ifx);
            break;
        }
        send_request(c, ifx);
        d->t_next = c->now + rtx_wait(c, d->tries);
        break;
    case MOAT_DHCP_PROBING:
        if (d->probes < PROBE_NUM) {
            d->probes++;
            arp_probe(c, ifx, d->offered);
            if (d->probes < PROBE_NUM)
                d->t_next = c->now + PROBE_MIN +
                            (uint64_t)mcore_rand32(c) % (PROBE_MAX - PROBE_MIN + 1u);
            else
                d->t_next = c->now + ANNOUNCE_WAIT;
        } else {
            bind_lease(c, ifx);
        }
        break;
    case MOAT_DHCP_BOUND:
    case MOAT_DHCP_RENEWING:
    case MOAT_DHCP_REBINDING: {
        uint64_t t2 = at_s(d, d->t2_s), end = at_s(d, d->lease_s);
        if (c->now >= end) {
            /* RFC 2131 4.4.5: the lease expired; stop using the address. */
            c->stats.dhcp_expiries++;
            start_over(c, ifx, 0);
            send_discover(c, ifx);
            break;
        }
        if (c->now >= t2)
            extend(c, ifx, MOAT_DHCP_REBINDING, end);
        else
            extend(c, ifx, MOAT_DHCP_RENEWING, t2);
        break;
    }
    default:
        d->t_next = MCORE_NEVER;
        break;
    }
}

uint64_t dhcp_poll(struct mcore *c)
{
    uint64_t next = MCORE_NEVER;
    for (unsigned i = 0; i < c->n_ifs; i++) {
        struct dhcp_if *d = &c->dhcp[i];
        if (d->state == MOAT_DHCP_OFF)
            continue;
        /* Bounded: each step moves t_next past now or changes state. */
        for (unsigned k = 0; k < 4 && d->t_next <= c->now; k++)
            dhcp_timer(c, i);
        next = mcore_min(next, d->t_next);
    }
    return next;
}

void dhcp_info(const struct mcore *c, unsigned ifx, struct moat_dhcp_info *out)
{
    ip4_if_info(c, ifx, out);
    if (ifx >= c->n_ifs)
        return;
    const struct mc_if *ifp = &c->ifs[ifx];
    const struct dhcp_if *d = &c->dhcp[ifx];
    out->state = d->state;
    out->changes = d->changes;
    if (d->state == MOAT_DHCP_OFF)
        return;
    out->server = d->server;
    memcpy(out->dns, d->dns, sizeof(out->dns));
    if (ifp->ip != 0) {
        out->lease_s = d->lease_s;
        out->t1_s = d->t1_s;
        out->t2_s = d->t2_s;
        uint64_t end = at_s(d, d->lease_s);
        out->remaining_s = end == MCORE_NEVER ? LEASE_INFINITE
                         : end > c->now ? (uint32_t)((end - c->now) / SEC) : 0;
    }
}
