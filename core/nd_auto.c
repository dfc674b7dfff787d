/* SPDX-License-Identifier: MIT */
/*
 * IPv6 address autoconfiguration (RFC 4862) and router discovery (RFC
 * 4861 6), the half of neighbour discovery that is about us (the cache is
 * nd.c):
 *   - the router list (default router) and the on-link prefix list from
 *     router advertisements, their MTU option and lifetimes;
 *   - duplicate address detection for every address, SLAAC addresses from
 *     prefix information options (A flag, /64, lifetimes with the two-hour
 *     rule of RFC 4862 5.5.3 (e));
 *   - the random start-up delays and the router solicitations;
 *   - one MLDv2 report (RFC 3810) naming every solicited-node group
 *     whenever an address is added, and again when a querier asks.
 */
#include "nd_priv.h"

static const uint8_t all_routers[16] = {0xff, 0x02, [15] = 2};
static const uint8_t mld2_routers[16] = {0xff, 0x02, [15] = 0x16};

static void send_rs(struct mcore *c, unsigned ifx)
{
    uint8_t m[16] = {ICMP6_RS, 0};
    uint8_t src[16] = {0};
    size_t len = 8;

    /* With a source address, our link address goes along (RFC 4861 4.1);
     * from :: it must not. */
    if (ip6_ll_addr(c, ifx, src)) {
        m[8] = OPT_SLLA;
        m[9] = 1;
        memcpy(m + 10, c->ifs[ifx].mac, 6);
        len = 16;
    }
    if (icmp6_send(c, ifx, src, all_routers, m, len, IP6_TX_HLIM255) == 0)
        c->stats.nd_rs_out++;
}

/* One MLDv2 report (RFC 3810 5.2) listing every solicited-node group of
 * @p ifx as EXCLUDE {} (we listen to all sources). Hop limit 1 and a
 * hop-by-hop header with the router alert option, as 5.2.13 requires;
 * source link-local, or :: while it is still tentative (RFC 3590 4). */
static void send_mld_report(struct mcore *c, unsigned ifx)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    uint8_t groups[MCORE_IP6_ADDRS][16];
    unsigned ng = 0;
    uint8_t src[16] = {0};
    uint8_t mac[6];
    uint8_t *fr;
    size_t cap;

    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        const struct ip6_addr *a = &f->addr[k];
        if (a->state == IP6A_NONE || a->state == IP6A_DUPLICATE)
            continue;
        uint8_t g[16];
        ip6_solicited_node(a->a, g);
        bool dup = false;
        for (unsigned j = 0; j < ng && !dup; j++)
            dup = ip6_eq(groups[j], g);
        if (!dup)
            memcpy(groups[ng++], g, 16);
    }
    if (ng == 0)
        return;
    ip6_ll_addr(c, ifx, src);
    size_t icmp_len = 8 + 20 * (size_t)ng;
    size_t plen = 8 + icmp_len;
    if (eth_tx_acquire(c, ifx, &fr, &cap) != 0)
        return;
    ip6_mcast_mac(mld2_routers, mac);
    hdr_eth_emit(fr, mac, c->ifs[ifx].mac, ETH_TYPE_IP6);
    uint8_t *h = fr + MCORE_ETH_HLEN;
    memset(h + MCORE_IP6_HLEN, 0, plen);
    ip6_header(h, 0, plen, IP6_PROTO_HOPOPTS, 1, src, mld2_routers);
    uint8_t *hbh = h + MCORE_IP6_HLEN;
    hbh[0] = IP6_PROTO_ICMP6;
    hbh[1] = 0;
    hbh[2] = 5;                 /* router alert (RFC 2711), value 0: MLD */
    hbh[3] = 2;
    hbh[6] = 1;                 /* PadN, 0 bytes of padding */
    hbh[7] = 0;
    uint8_t *m = hbh + 8;
    m[0] = ICMP6_MLD2_REPORT;
    wr16(m + 6, (uint16_t)ng);
    for (unsigned j = 0; j < ng; j++) {
        uint8_t *r = m + 8 + 20 * j;
        r[0] = 4;               /* CHANGE_TO_EXCLUDE_MODE: join */
        memcpy(r + 4, groups[j], 16);
    }
    wr16(m + 2, cksum_fold(cksum_add(ip6_pseudo_sum(src, mld2_routers, (uint32_t)icmp_len,
                                                    IP6_PROTO_ICMP6), m, icmp_len)));
    if (eth_tx_commit(c, ifx, MCORE_ETH_HLEN + MCORE_IP6_HLEN + plen) == 0)
        c->stats.mld_reports_out++;
}

void nd_schedule_mld(struct mcore *c, unsigned ifx, uint64_t at)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    if (!f->mld_pending || at < f->mld_due)
        f->mld_due = at;
    f->mld_pending = 1;
    nd_due(c, f->mld_due);
}

int nd_addr_add(struct mcore *c, unsigned ifx, const uint8_t a[16], uint8_t plen,
                uint8_t origin, uint64_t preferred_until, uint64_t valid_until)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    struct ip6_addr *slot = NULL;

    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        if (f->addr[k].state != IP6A_NONE && ip6_eq(f->addr[k].a, a))
            return MOAT_E_ADDRINUSE;
        if (!slot && f->addr[k].state == IP6A_NONE)
            slot = &f->addr[k];
    }
    if (!slot)
        return MOAT_E_NOMEM;
    memset(slot, 0, sizeof(*slot));
    memcpy(slot->a, a, 16);
    slot->plen = plen;
    slot->origin = origin;
    slot->preferred_until = preferred_until;
    slot->valid_until = valid_until;
    /* Tentative until DAD ran (RFC 4862 5.4); the first step, and the
     * report that joins its solicited-node group before it (5.4.2), at
     * the next poll. */
    slot->state = IP6A_TENTATIVE;
    slot->dad_left = c->cfg.ip6_dad_transmits;
    slot->dad_due = c->now;
    nd_schedule_mld(c, ifx, c->now);
    nd_due(c, c->now);
    if (origin == IP6O_LINKLOCAL && !f->no_slaac)
        f->rs_left = ND_RS_COUNT;   /* sent once the link-local address is usable */
    return 0;
}

static void addr_usable_now(struct mcore *c, unsigned ifx, struct ip6_addr *a)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    a->state = c->now >= a->preferred_until ? IP6A_DEPRECATED : IP6A_PREFERRED;
    f->changes++;
    if (a->origin == IP6O_LINKLOCAL) {
        if (f->rs_left) {
            f->rs_due = c->now + f->rs_delay_us;
            f->rs_delay_us = 0;     /* only before the first one */
            nd_due(c, f->rs_due);
        }
        /* The report went out from ::; say it again with our address. */
        nd_schedule_mld(c, ifx, c->now);
    }
}

/* MAX_RTR_SOLICITATION_DELAY (RFC 4861 10): the bound of both delays. */
#define ND_MAX_START_DELAY_US 1000000u


void nd_start_delays(struct mcore *c, unsigned ifx)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    if (c->env.nd_no_start_delay)
        return;
    /* RFC 4862 5.4.2: nodes starting together (a power failure) must not
     * all solicit at once, so the group join and the first DAD
     * solicitation of the start-up addresses wait a random 0..1 s. RFC
     * 4861 6.3.7: the same for the first router solicitation. Drawn from
     * the core's generator, so a seeded test sees a reproducible delay. */
    f->start_delay_us = mcore_rand32(c) % ND_MAX_START_DELAY_US;
    f->rs_delay_us = mcore_rand32(c) % ND_MAX_START_DELAY_US;
    f->start_pending = 1;
}

/* The first poll of an interface: c->now is the first real time, so the
 * start delay becomes a deadline here. */
static void apply_start_delay(struct mcore *c, unsigned ifx)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    uint64_t at = c->now + f->start_delay_us;
    f->start_pending = 0;
    if (f->mld_pending)
        f->mld_due = at;
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        struct ip6_addr *a = &f->addr[k];
        if (a->state != IP6A_TENTATIVE || !a->dad_left)
            continue;
        a->dad_due = at;
        /* RFC 4861 6.3.7: a host that waited already (for DAD) need not
         * wait again before its first RS. */
        if (a->origin == IP6O_LINKLOCAL)
            f->rs_delay_us = 0;
    }
    nd_due(c, at);
}

/* DAD found @p a in use elsewhere (RFC 4862 5.4.5): never use it. */
void nd_addr_duplicate(struct mcore *c, unsigned ifx, struct ip6_addr *a)
{
    bool was_usable = a->state == IP6A_PREFERRED || a->state == IP6A_DEPRECATED;
    a->state = IP6A_DUPLICATE;
    c->stats.dad_conflicts++;
    if (was_usable)
        c->ifs6[ifx].changes++;
}

struct ip6_addr *nd_addr_find(struct mcore *c, unsigned ifx, const uint8_t a[16])
{
    struct mc_if6 *f = &c->ifs6[ifx];
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++)
        if (f->addr[k].state != IP6A_NONE && ip6_eq(f->addr[k].a, a))
            return &f->addr[k];
    return NULL;
}

bool nd_on_link(const struct mcore *c, unsigned ifx, const uint8_t dst[16])
{
    const struct mc_if6 *f = &c->ifs6[ifx];
    /* The prefixes of static addresses (configured on-link) and the
     * prefixes RAs announced with L; a SLAAC address alone does not make
     * its prefix on-link (RFC 5942). */
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        const struct ip6_addr *a = &f->addr[k];
        if ((a->origin == IP6O_STATIC || a->origin == IP6O_LINKLOCAL) &&
            a->state != IP6A_NONE && ip6_prefix_eq(a->a, dst, a->plen))
            return true;
    }
    for (unsigned i = 0; i < MCORE_IP6_PREFIXES; i++) {
        const struct ip6_prefix *p = &c->ip6.prefixes[i];
        if (p->plen && p->ifx == ifx && c->now < p->expires &&
            ip6_prefix_eq(p->p, dst, p->plen))
            return true;
    }
    return false;
}

bool nd_default_router(struct mcore *c, unsigned *ifx, uint8_t out[16])
{
    for (unsigned i = 0; i < MCORE_IP6_ROUTERS; i++) {
        const struct ip6_router *r = &c->ip6.routers[i];
        if (ip6_is_zero(r->ip) || c->now >= r->expires)
            continue;
        if (*ifx < c->n_ifs && r->ifx != *ifx)
            continue;
        *ifx = r->ifx;
        memcpy(out, r->ip, 16);
        return true;
    }
    return false;
}

static void router_update(struct mcore *c, unsigned ifx, const uint8_t ip[16], uint16_t life_s)
{
    struct ip6_router *slot = NULL;
    for (unsigned i = 0; i < MCORE_IP6_ROUTERS; i++) {
        struct ip6_router *r = &c->ip6.routers[i];
        if (!ip6_is_zero(r->ip) && r->ifx == ifx && ip6_eq(r->ip, ip)) {
            slot = r;
            break;
        }
        if (!slot && (ip6_is_zero(r->ip) || c->now >= r->expires))
            slot = r;
    }
    if (!slot)
        return;     /* list full: the routers we know keep serving */
    if (life_s == 0) {
        if (ip6_eq(slot->ip, ip))
            memset(slot, 0, sizeof(*slot));
        return;
    }
    memcpy(slot->ip, ip, 16);
    slot->ifx = (uint8_t)ifx;
    slot->expires = c->now + (uint64_t)life_s * 1000000u;
    nd_due(c, slot->expires);
}

static void prefix_update(struct mcore *c, unsigned ifx, const uint8_t *p, uint8_t plen,
                          uint32_t valid_s)
{
    struct ip6_prefix *slot = NULL;
    for (unsigned i = 0; i < MCORE_IP6_PREFIXES; i++) {
        struct ip6_prefix *e = &c->ip6.prefixes[i];
        if (e->plen == plen && e->ifx == ifx && ip6_prefix_eq(e->p, p, plen)) {
            slot = e;
            break;
        }
        if (!slot && (!e->plen || c->now >= e->expires))
            slot = e;
    }
    if (!slot)
        return;
    if (valid_s == 0) {
        if (slot->plen == plen && ip6_prefix_eq(slot->p, p, plen))
            memset(slot, 0, sizeof(*slot));
        return;
    }
    memset(slot->p, 0, 16);
    memcpy(slot->p, p, (plen + 7u) / 8u);
    slot->plen = plen;
    slot->ifx = (uint8_t)ifx;
    slot->expires = life_until(c, valid_s);
    nd_due(c, slot->expires);
}

/* RFC 4862 5.5.3 for one prefix information option with A set. */
static void slaac_prefix(struct mcore *c, unsigned ifx, const uint8_t *prefix, uint8_t plen,
                         uint32_t valid_s, uint32_t pref_s)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    if (plen != 64)
        return;     /* our interface identifiers are 64 bits (RFC 4291 2.5.1) */
    uint8_t a[16];
    memcpy(a, prefix, 8);
    uint8_t ll[16];
    /* The interface identifier of the link-local address (EUI-64). */
    bool have_ll = false;
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++)
        if (f->addr[k].origin == IP6O_LINKLOCAL) {
            memcpy(ll, f->addr[k].a, 16);
            have_ll = true;
        }
    if (!have_ll)
        return;
    memcpy(a + 8, ll + 8, 8);
    struct ip6_addr *cur = nd_addr_find(c, ifx, a);
    if (!cur) {
        if (valid_s == 0)
            return;
        nd_addr_add(c, ifx, a, plen, IP6O_SLAAC, life_until(c, pref_s), life_until(c, valid_s));
        return;
    }
    if (cur->origin != IP6O_SLAAC)
        return;
    cur->preferred_until = life_until(c, pref_s);
    if (cur->state == IP6A_DEPRECATED && c->now < cur->preferred_until)
        cur->state = IP6A_PREFERRED;
    /* (e): a short valid lifetime is only believed down to two hours,
     * so a forged RA cannot take the address away at once. */
    uint64_t want = life_until(c, valid_s);
    uint64_t remaining = cur->valid_until == MCORE_NEVER ? MCORE_NEVER : cur->valid_until - c->now;
    if (want > c->now + ND_TWO_HOURS_US || want > cur->valid_until)
        cur->valid_until = want;
    else if (remaining > ND_TWO_HOURS_US)
        cur->valid_until = c->now + ND_TWO_HOURS_US;
    nd_due(c, cur->preferred_until);
    nd_due(c, cur->valid_until);
}

void nd_ra_input(struct mcore *c, const struct ip6_rx *rx)
{
    const uint8_t *m = rx->l4;
    size_t len = rx->l4_len;
    unsigned ifx = rx->ifx;
    struct mc_if6 *f = &c->ifs6[ifx];

    if (len < 16 || !ip6_is_ll(rx->src) || !nd_opts_valid(m, len, 16))
        goto bad;
    /* Check every option we use before acting on any. */
    for (size_t o = 16; o < len; o += (size_t)m[o + 1] * 8) {
        if ((m[o] == OPT_SLLA && m[o + 1] != 1) || (m[o] == OPT_MTU && m[o + 1] != 1) ||
            (m[o] == OPT_PREFIX && (m[o + 1] != 4 || m[o + 2] > 128)))
            goto bad;
    }
    c->stats.nd_ra_in++;
    if (m[4])
        f->cur_hlim = m[4];
    uint32_t reach = rd32(m + 8), retrans = rd32(m + 12);
    if (reach && reach <= 3600000u)
        f->reachable_ms = reach;
    if (retrans && retrans <= 60000u)
        f->retrans_ms = retrans < 100 ? 100 : retrans;
    router_update(c, ifx, rx->src, rd16(m + 6));
    f->rs_left = 0;             /* a router answered */
    for (size_t o = 16; o < len; o += (size_t)m[o + 1] * 8) {
        const uint8_t *op = m + o;
        switch (op[0]) {
        case OPT_SLLA: {
            struct nd_entry *e = nd_learn_stale(c, ifx, rx->src, op + 2);
            if (e)
                e->is_router = 1;
            break;
        }
        case OPT_MTU: {
            uint32_t mtu = rd32(op + 4);
            if (mtu >= IP6_MIN_MTU && mtu <= c->ifs[ifx].mtu)
                f->mtu = (uint16_t)mtu;
            break;
        }
        case OPT_PREFIX: {
            uint8_t plen = op[2], fl = op[3];
            uint32_t valid = rd32(op + 4), pref = rd32(op + 8);
            const uint8_t *p = op + 16;
            if (ip6_is_ll(p) || ip6_is_mcast(p) || pref > valid)
                break;      /* RFC 4862 5.5.3 (b), (c) */
            if (fl & 0x80)
                prefix_update(c, ifx, p, plen, valid);
            if ((fl & 0x40) && !f->no_slaac)
                slaac_prefix(c, ifx, p, plen, valid, pref);
            break;
        }
        default:
            break;          /* unknown options are ignored (RFC 4861 4.6) */
        }
    }
    return;
bad:
    MCORE_DROP(c, ND_MALFORMED);
}

uint64_t nd_poll_if(struct mcore *c, unsigned ifx)
{
    struct mc_if6 *f = &c->ifs6[ifx];
    uint64_t next = MCORE_NEVER;

    if (!f->on)
        return next;
    if (f->start_pending)
        apply_start_delay(c, ifx);
    /* The report first: DAD's solicitation must find us in the group. */
    if (f->mld_pending && c->now >= f->mld_due) {
        f->mld_pending = 0;
        send_mld_report(c, ifx);
    }
    if (f->mld_pending)
        next = mcore_min(next, f->mld_due);
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        struct ip6_addr *a = &f->addr[k];
        if (a->state == IP6A_TENTATIVE && c->now >= a->dad_due) {
            if (a->dad_left) {
                a->dad_left--;
                nd_send_ns(c, ifx, a->a, false, true);
                a->dad_due = c->now + ms_us(f->retrans_ms);
            } else {
                addr_usable_now(c, ifx, a);
            }
        }
        if (a->state == IP6A_PREFERRED && c->now >= a->preferred_until)
            a->state = IP6A_DEPRECATED;
        if (a->state != IP6A_NONE && c->now >= a->valid_until) {
            bool was_usable = a->state == IP6A_PREFERRED || a->state == IP6A_DEPRECATED;
            if (was_usable)     /* TCP connections from it cannot go on */
                tcp6_addr_lost(c, a->a, MOAT_E_ADDRNOTAVAIL);
            memset(a, 0, sizeof(*a));
            if (was_usable)
                f->changes++;
            continue;
        }
        if (a->state == IP6A_TENTATIVE)
            next = mcore_min(next, a->dad_due);
        if (a->state == IP6A_PREFERRED)
            next = mcore_min(next, a->preferred_until);
        if (a->state != IP6A_NONE)
            next = mcore_min(next, a->valid_until);
    }
    if (f->rs_left && c->now >= f->rs_due && ip6_ll_addr(c, ifx, (uint8_t[16]){0})) {
        f->rs_left--;
        send_rs(c, ifx);
        f->rs_due = c->now + ND_RS_INTERVAL_US;
    }
    if (f->rs_left && ip6_ll_addr(c, ifx, (uint8_t[16]){0}))
        next = mcore_min(next, f->rs_due);
    return next;
}

void ip6_info(const struct mcore *c, unsigned ifx, struct moat_ip6_info *out)
{
    memset(out, 0, sizeof(*out));
    if (ifx >= c->n_ifs || !c->ifs6[ifx].on)
        return;
    const struct mc_if6 *f = &c->ifs6[ifx];
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        memcpy(out->addr[k], f->addr[k].a, 16);
        out->prefix[k] = f->addr[k].plen;
        out->state[k] = f->addr[k].state;
        out->origin[k] = f->addr[k].origin;
    }
    for (unsigned i = 0; i < MCORE_IP6_ROUTERS; i++) {
        const struct ip6_router *r = &c->ip6.routers[i];
        if (!ip6_is_zero(r->ip) && r->ifx == ifx && c->now < r->expires) {
            memcpy(out->router, r->ip, 16);
            break;
        }
    }
    out->mtu = f->mtu;
    out->changes = f->changes;
}
