/* SPDX-License-Identifier: MIT */
/*
 * Neighbour discovery (RFC 4861) for IPv6, the neighbour cache half:
 *   - the neighbour cache with neighbour unreachability detection
 *     (INCOMPLETE, REACHABLE, STALE, DELAY, PROBE) and a bounded queue of
 *     datagrams per unresolved entry (the packet pool, as ARP);
 *   - NS/NA with every length, the hop limit 255 and each option checked;
 *   - the dispatch of every ND/MLD message and of the ND timers.
 * The host's own addresses, router and prefix discovery and MLD are in
 * nd_auto.c; what both share is nd_priv.h.
 * We are a host: router solicitations are ignored, redirects too (a
 * documented limitation, docs/ipv6.md).
 */
#include "nd_priv.h"

static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};

size_t nd_mem_size(const struct moat_config *cfg)
{
    return (size_t)cfg->arp_entries * sizeof(struct nd_entry);
}

void nd_init(struct mcore *c, void *mem)
{
    c->ip6.nd = mem;
    c->ip6.n_nd = c->cfg.arp_entries;
    memset(mem, 0, nd_mem_size(&c->cfg));
    c->ip6.nd_due = MCORE_NEVER;
}

/* ---- sending --------------------------------------------------------------- */

/* A usable source on @p ifx for solicitations: the link-local address,
 * else any usable one. */
static bool nd_src(const struct mcore *c, unsigned ifx, uint8_t out[16])
{
    if (ip6_ll_addr(c, ifx, out))
        return true;
    const struct mc_if6 *f = &c->ifs6[ifx];
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++)
        if (f->addr[k].state == IP6A_PREFERRED || f->addr[k].state == IP6A_DEPRECATED) {
            memcpy(out, f->addr[k].a, 16);
            return true;
        }
    return false;
}

/* Neighbour solicitation for @p target: to its solicited-node group, or
 * unicast to @p target when @p unicast (NUD probe). @p dad: from ::. */
void nd_send_ns(struct mcore *c, unsigned ifx, const uint8_t target[16], bool unicast,
                    bool dad)
{
    uint8_t m[32] = {ICMP6_NS, 0};
    uint8_t src[16] = {0}, dst[16];
    size_t len = 24;

    memcpy(m + 8, target, 16);
    if (!dad) {
        if (!nd_src(c, ifx, src))
            return;
        m[24] = OPT_SLLA;
        m[25] = 1;
        memcpy(m + 26, c->ifs[ifx].mac, 6);
        len = 32;
    }
    if (unicast)
        memcpy(dst, target, 16);
    else
        ip6_solicited_node(target, dst);
    if (icmp6_send(c, ifx, src, dst, m, len, IP6_TX_HLIM255) == 0)
        c->stats.nd_solicits_out++;
}

static void send_na(struct mcore *c, unsigned ifx, const uint8_t target[16],
                    const uint8_t dst[16], bool solicited)
{
    uint8_t m[32] = {ICMP6_NA, 0};

    m[4] = (uint8_t)((solicited ? 0x40 : 0) | 0x20);   /* S, O; never R */
    memcpy(m + 8, target, 16);
    m[24] = OPT_TLLA;
    m[25] = 1;
    memcpy(m + 26, c->ifs[ifx].mac, 6);
    if (icmp6_send(c, ifx, target, dst, m, sizeof(m), IP6_TX_HLIM255) == 0)
        c->stats.nd_adverts_out++;
}












/* ---- the neighbour cache ------------------------------------------------------ */

static struct nd_entry *nd_find(struct mcore *c, unsigned ifx, const uint8_t ip[16])
{
    for (uint32_t i = 0; i < c->ip6.n_nd; i++) {
        struct nd_entry *e = &c->ip6.nd[i];
        if (e->state != ND_FREE && e->ifx == ifx && ip6_eq(e->ip, ip))
            return e;
    }
    return NULL;
}

static void nd_release(struct mcore *c, struct nd_entry *e)
{
    for (struct pkt *p = e->q_head; p; p = p->next)
        MCORE_DROP(c, ND_UNRESOLVED);
    pkt_free_list(c, e->q_head);
    memset(e, 0, sizeof(*e));
}

/* A free entry, or the oldest one evicted (STALE ones first); NULL if
 * every entry is static. */
static struct nd_entry *nd_slot(struct mcore *c)
{
    struct nd_entry *old = NULL;
    for (uint32_t i = 0; i < c->ip6.n_nd; i++) {
        struct nd_entry *e = &c->ip6.nd[i];
        if (e->state == ND_FREE)
            return e;
        if (e->state == ND_STATIC)
            continue;
        bool e_stale = e->state == ND_STALE, o_stale = old && old->state == ND_STALE;
        if (!old || (e_stale && !o_stale) || (e_stale == o_stale && e->created < old->created))
            old = e;
    }
    if (old)
        nd_release(c, old);
    return old;
}

static struct nd_entry *nd_new(struct mcore *c, unsigned ifx, const uint8_t ip[16])
{
    struct nd_entry *e = nd_slot(c);
    if (!e)
        return NULL;
    memcpy(e->ip, ip, 16);
    e->ifx = (uint8_t)ifx;
    e->created = c->now;
    return e;
}

static void nd_flush(struct mcore *c, struct nd_entry *e)
{
    struct pkt *p = e->q_head;
    e->q_head = e->q_tail = NULL;
    e->nq = 0;
    while (p) {
        struct pkt *n = p->next;
        /* Each was cut to the MTU before it was queued. */
        ip6_output_raw(c, e->ifx, e->ip, p->data, p->len, p->len, false);
        pkt_free(c, p);
        p = n;
    }
}

static void nd_set(struct mcore *c, struct nd_entry *e, uint8_t state)
{
    struct mc_if6 *f = &c->ifs6[e->ifx];
    e->state = state;
    e->probes = 0;
    switch (state) {
    case ND_REACHABLE:
        e->due = c->now + ms_us(f->reachable_ms);
        break;
    case ND_DELAY:
        e->due = c->now + ND_DELAY_US;
        break;
    default:
        e->due = MCORE_NEVER;
        break;
    }
    nd_due(c, e->due);
}

/* Learn @p mac for @p ip from a message that is no confirmation of
 * reachability (NS source, RA source; RFC 4861 7.2.3, 6.3.4). */
struct nd_entry *nd_learn_stale(struct mcore *c, unsigned ifx, const uint8_t ip[16],
                                       const uint8_t mac[6])
{
    struct nd_entry *e = nd_find(c, ifx, ip);
    if (!e)
        e = nd_new(c, ifx, ip);
    else if (e->state == ND_STATIC ||
             (e->state != ND_INCOMPLETE && memcmp(e->mac, mac, 6) == 0))
        return e;
    if (!e)
        return NULL;
    memcpy(e->mac, mac, 6);
    nd_set(c, e, ND_STALE);
    if (e->q_head)
        nd_flush(c, e);
    return e;
}

bool nd_lookup(struct mcore *c, unsigned ifx, const uint8_t nexthop[16], uint8_t mac[6])
{
    if (ip6_is_mcast(nexthop)) {
        ip6_mcast_mac(nexthop, mac);
        return true;
    }
    struct nd_entry *e = nd_find(c, ifx, nexthop);
    if (!e || e->state == ND_INCOMPLETE)
        return false;
    if (e->state == ND_STALE)
        nd_set(c, e, ND_DELAY);     /* traffic to a stale entry starts NUD */
    memcpy(mac, e->mac, 6);
    return true;
}

void nd_queue(struct mcore *c, unsigned ifx, const uint8_t nexthop[16], struct pkt *p)
{
    struct nd_entry *e = nd_find(c, ifx, nexthop);
    if (!e) {
        e = nd_new(c, ifx, nexthop);
        if (!e) {
            MCORE_DROP(c, ND_QUEUE_FULL);
            pkt_free(c, p);
            return;
        }
        e->state = ND_INCOMPLETE;
        e->probes = 1;
        e->due = c->now + ms_us(c->ifs6[ifx].retrans_ms);
        nd_due(c, e->due);
        nd_send_ns(c, ifx, nexthop, false, false);
    }
    if (e->state != ND_INCOMPLETE) {
        ip6_output_raw(c, ifx, nexthop, p->data, p->len, p->len, false);
        pkt_free(c, p);
        return;
    }
    if (pkt_queue_push(c, &e->q_head, &e->q_tail, &e->nq, c->cfg.arp_queue, p))
        MCORE_DROP(c, ND_QUEUE_FULL);
}

/* ---- input --------------------------------------------------------------------- */

/* Walk the options after @p fixed bytes: every option has a non-zero
 * length inside the message (RFC 4861 4.6). Returns false if not. */
bool nd_opts_valid(const uint8_t *m, size_t len, size_t fixed)
{
    size_t o = fixed;
    while (o < len) {
        if (o + 2 > len || m[o + 1] == 0 || o + (size_t)m[o + 1] * 8 > len)
            return false;
        o += (size_t)m[o + 1] * 8;
    }
    return true;
}

/* First option of @p type (validated list); NULL if none. */
const uint8_t *nd_opt_find(const uint8_t *m, size_t len, size_t fixed, uint8_t type)
{
    for (size_t o = fixed; o < len; o += (size_t)m[o + 1] * 8)
        if (m[o] == type)
            return m + o;
    return NULL;
}

static void ns_input(struct mcore *c, const struct ip6_rx *rx)
{
    const uint8_t *m = rx->l4;
    size_t len = rx->l4_len;
    const uint8_t *target = m + 8;
    bool from_dad = ip6_is_zero(rx->src);

    if (len < 24 || ip6_is_mcast(target) || !nd_opts_valid(m, len, 24))
        goto bad;
    const uint8_t *slla = nd_opt_find(m, len, 24, OPT_SLLA);
    if (slla && slla[1] != 1)
        goto bad;
    if (from_dad) {
        uint8_t sn[16];
        ip6_solicited_node(target, sn);
        if (!ip6_eq(rx->dst, sn) || slla)
            goto bad;
    }
    struct ip6_addr *a = nd_addr_find(c, rx->ifx, target);
    if (!a || a->state == IP6A_DUPLICATE) {
        MCORE_DROP(c, ICMP6_IGNORED);
        return;
    }
    if (a->state == IP6A_TENTATIVE) {
        /* Someone else probes the address we probe (RFC 4862 5.4.3). */
        if (from_dad)
            nd_addr_duplicate(c, rx->ifx, a);
        else
            MCORE_DROP(c, ICMP6_IGNORED);
        return;
    }
    if (!from_dad && slla)
        nd_learn_stale(c, rx->ifx, rx->src, slla + 2);
    send_na(c, rx->ifx, target, from_dad ? all_nodes : rx->src, !from_dad);
    return;
bad:
    MCORE_DROP(c, ND_MALFORMED);
}

static void na_input(struct mcore *c, const struct ip6_rx *rx)
{
    const uint8_t *m = rx->l4;
    size_t len = rx->l4_len;
    const uint8_t *target = m + 8;

    if (len < 24 || ip6_is_mcast(target) || !nd_opts_valid(m, len, 24))
        goto bad;
    bool r_flag = m[4] & 0x80, s_flag = m[4] & 0x40, o_flag = m[4] & 0x20;
    if (rx->to_mcast && s_flag)
        goto bad;
    const uint8_t *tlla = nd_opt_find(m, len, 24, OPT_TLLA);
    if (tlla && tlla[1] != 1)
        goto bad;
    struct ip6_addr *a = nd_addr_find(c, rx->ifx, target);
    if (a) {
        /* Someone answers for an address of ours: during DAD that is a
         * duplicate (RFC 4862 5.4.4); after it, nothing sane to do. */
        if (a->state == IP6A_TENTATIVE)
            nd_addr_duplicate(c, rx->ifx, a);
        else
            MCORE_DROP(c, ICMP6_IGNORED);
        return;
    }
    struct nd_entry *e = nd_find(c, rx->ifx, target);
    if (!e || e->state == ND_STATIC) {
        MCORE_DROP(c, ICMP6_IGNORED);   /* unsolicited news of a stranger */
        return;
    }
    /* RFC 4861 7.2.5. */
    if (e->state == ND_INCOMPLETE) {
        if (!tlla) {
            MCORE_DROP(c, ICMP6_IGNORED);
            return;
        }
        memcpy(e->mac, tlla + 2, 6);
        e->is_router = r_flag;
        nd_set(c, e, s_flag ? ND_REACHABLE : ND_STALE);
        nd_flush(c, e);
        return;
    }
    bool differs = tlla && memcmp(tlla + 2, e->mac, 6) != 0;
    if (!o_flag && differs) {
        if (e->state == ND_REACHABLE)
            nd_set(c, e, ND_STALE);
        return;
    }
    if (differs)
        memcpy(e->mac, tlla + 2, 6);
    if (s_flag)
        nd_set(c, e, ND_REACHABLE);
    else if (differs)
        nd_set(c, e, ND_STALE);
    if (e->is_router && !r_flag) {
        /* No longer a router (7.2.5 last paragraph). */
        for (unsigned i = 0; i < MCORE_IP6_ROUTERS; i++)
            if (c->ip6.routers[i].ifx == rx->ifx && ip6_eq(c->ip6.routers[i].ip, target))
                memset(&c->ip6.routers[i], 0, sizeof(c->ip6.routers[i]));
    }
    e->is_router = r_flag;
    return;
bad:
    MCORE_DROP(c, ND_MALFORMED);
}





void nd_input(struct mcore *c, const struct ip6_rx *rx)
{
    const uint8_t *m = rx->l4;

    if (m[0] == ICMP6_MLD_QUERY) {
        /* A querier asks (RFC 3810 5.1): answer within the maximum
         * response delay (capped at one second), at a random point. */
        if (rx->l4_len < 24 || !ip6_is_ll(rx->src)) {
            MCORE_DROP(c, ICMP6_MALFORMED);
            return;
        }
        uint32_t max_ms = rd16(m + 4);
        if (max_ms >= 32768u || max_ms > 1000u)
            max_ms = 1000u;
        uint64_t at = c->now + (max_ms ? (mcore_rand32(c) % max_ms) * 1000u : 0);
        nd_schedule_mld(c, rx->ifx, at);
        return;
    }
    if (m[0] < ICMP6_RS || m[0] > 137) {
        MCORE_DROP(c, ICMP6_IGNORED);   /* other hosts' reports */
        return;
    }
    /* RFC 4861 6.1, 7.1: only from on the link (hop limit 255), code 0. */
    if (rx->hlim != 255 || m[1] != 0 || rx->was_frag) {
        MCORE_DROP(c, ND_MALFORMED);
        return;
    }
    switch (m[0]) {
    case ICMP6_NS:
        ns_input(c, rx);
        break;
    case ICMP6_NA:
        na_input(c, rx);
        break;
    case ICMP6_RA:
        nd_ra_input(c, rx);
        break;
    default:
        MCORE_DROP(c, ICMP6_IGNORED);   /* RS (we are no router), redirect */
        break;
    }
}

/* ---- timers ---------------------------------------------------------------------- */


uint64_t nd_poll(struct mcore *c)
{
    uint64_t next = MCORE_NEVER;

    if (c->now < c->ip6.nd_due)
        return c->ip6.nd_due;
    c->ip6.nd_due = MCORE_NEVER;    /* what the steps below arm comes back */
    for (unsigned i = 0; i < c->n_ifs; i++)
        next = mcore_min(next, nd_poll_if(c, i));
    for (unsigned i = 0; i < MCORE_IP6_ROUTERS; i++) {
        struct ip6_router *r = &c->ip6.routers[i];
        if (ip6_is_zero(r->ip))
            continue;
        if (c->now >= r->expires)
            memset(r, 0, sizeof(*r));
        else
            next = mcore_min(next, r->expires);
    }
    for (unsigned i = 0; i < MCORE_IP6_PREFIXES; i++) {
        struct ip6_prefix *p = &c->ip6.prefixes[i];
        if (!p->plen)
            continue;
        if (c->now >= p->expires)
            memset(p, 0, sizeof(*p));
        else
            next = mcore_min(next, p->expires);
    }
    for (uint32_t i = 0; i < c->ip6.n_nd; i++) {
        struct nd_entry *e = &c->ip6.nd[i];
        if (e->state == ND_FREE || c->now < e->due) {
            if (e->state != ND_FREE)
                next = mcore_min(next, e->due);
            continue;
        }
        switch (e->state) {
        case ND_INCOMPLETE:
        case ND_PROBE:
            if (e->probes >= ND_MAX_SOLICIT) {
                nd_release(c, e);
                continue;
            }
            e->probes++;
            e->due = c->now + ms_us(c->ifs6[e->ifx].retrans_ms);
            nd_send_ns(c, e->ifx, e->ip, e->state == ND_PROBE, false);
            break;
        case ND_REACHABLE:
            nd_set(c, e, ND_STALE);
            break;
        case ND_DELAY:
            nd_set(c, e, ND_PROBE);
            e->probes = 1;
            e->due = c->now + ms_us(c->ifs6[e->ifx].retrans_ms);
            nd_send_ns(c, e->ifx, e->ip, true, false);
            break;
        default:
            break;
        }
        if (e->state != ND_FREE)
            next = mcore_min(next, e->due);
    }
    next = mcore_min(next, c->ip6.nd_due);
    c->ip6.nd_due = next;
    return next;
}

int mcore_nd_add_static(struct mcore *c, unsigned ifx, const uint8_t ip[16], const uint8_t mac[6])
{
    if (ifx >= c->n_ifs || ip6_is_mcast(ip) || ip6_is_zero(ip) || (mac[0] & 1))
        return MOAT_E_INVAL;
    struct nd_entry *e = nd_find(c, ifx, ip);
    if (!e)
        e = nd_new(c, ifx, ip);
    if (!e)
        return MOAT_E_NOMEM;
    memcpy(e->mac, mac, 6);
    e->state = ND_STATIC;
    e->due = MCORE_NEVER;
    if (e->q_head)
        nd_flush(c, e);
    return 0;
}

void nd_shutdown(struct mcore *c)
{
    for (uint32_t i = 0; i < c->ip6.n_nd; i++) {
        struct nd_entry *e = &c->ip6.nd[i];
        pkt_free_list(c, e->q_head);
        e->q_head = e->q_tail = NULL;
        e->nq = 0;
    }
}

