/* SPDX-License-Identifier: MIT */
/*
 * IPv6 (RFC 8200): input validation with every length checked against
 * what arrived, the extension-header walk (hop-by-hop only first,
 * destination options with the option-type action bits, routing headers
 * refused when they would make us forward, fragments to ip6_reass.c,
 * atomic fragments per RFC 6946), the multicast groups we listen to,
 * routing (on-link prefixes, default router from RAs), source selection
 * (a simple RFC 6724: same scope, longest matching prefix), output with
 * fragmentation, and the hand-off to neighbour discovery (nd.c). We never
 * forward: a routing header with segments left is a parameter problem.
 */
#include "core_priv.h"

#define IP6_MAX_EXTHDRS 8u      /* headers walked per datagram, bound on work */
#define IP6_FRAG_HLEN   8u

/* ---- addresses ---------------------------------------------------------- */

bool ip6_prefix_eq(const uint8_t a[16], const uint8_t b[16], unsigned plen)
{
    unsigned bytes = plen / 8, bits = plen % 8;
    if (plen > 128)
        return false;
    if (memcmp(a, b, bytes) != 0)
        return false;
    if (bits) {
        uint8_t m = (uint8_t)(0xff00u >> bits);
        return ((a[bytes] ^ b[bytes]) & m) == 0;
    }
    return true;
}

static unsigned common_prefix(const uint8_t a[16], const uint8_t b[16])
{
    unsigned n = 0;
    for (unsigned i = 0; i < 16; i++) {
        uint8_t x = a[i] ^ b[i];
        if (!x) {
            n += 8;
            continue;
        }
        while (!(x & 0x80)) {
            n++;
            x = (uint8_t)(x << 1);
        }
        break;
    }
    return n;
}

void ip6_solicited_node(const uint8_t a[16], uint8_t out[16])
{
    static const uint8_t pre[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
    memcpy(out, pre, 13);
    memcpy(out + 13, a + 13, 3);
}

void ip6_mcast_mac(const uint8_t group[16], uint8_t mac[6])
{
    mac[0] = 0x33;
    mac[1] = 0x33;
    memcpy(mac + 2, group + 12, 4);
}

static const uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static bool addr_usable(const struct ip6_addr *a)
{
    return a->state == IP6A_PREFERRED || a->state == IP6A_DEPRECATED;
}

bool ip6_is_ours(const struct mcore *c, const uint8_t a[16])
{
    for (unsigned i = 0; i < c->n_ifs; i++) {
        const struct mc_if6 *f = &c->ifs6[i];
        for (unsigned k = 0; f->on && k < MCORE_IP6_ADDRS; k++)
            if (addr_usable(&f->addr[k]) && ip6_eq(f->addr[k].a, a))
                return true;
    }
    return false;
}

/* Interface holding usable address @p a, or -1. */
static int if_of(const struct mcore *c, const uint8_t a[16])
{
    for (unsigned i = 0; i < c->n_ifs; i++) {
        const struct mc_if6 *f = &c->ifs6[i];
        for (unsigned k = 0; f->on && k < MCORE_IP6_ADDRS; k++)
            if (addr_usable(&f->addr[k]) && ip6_eq(f->addr[k].a, a))
                return (int)i;
    }
    return -1;
}

bool ip6_ll_addr(const struct mcore *c, unsigned ifx, uint8_t out[16])
{
    const struct mc_if6 *f = &c->ifs6[ifx];
    for (unsigned k = 0; f->on && k < MCORE_IP6_ADDRS; k++) {
        if (addr_usable(&f->addr[k]) && ip6_is_ll(f->addr[k].a)) {
            memcpy(out, f->addr[k].a, 16);
            return true;
        }
    }
    return false;
}

bool ip6_group_member(const struct mcore *c, unsigned ifx, const uint8_t g[16])
{
    const struct mc_if6 *f = &c->ifs6[ifx];
    if (!f->on)
        return false;
    if (ip6_eq(g, all_nodes))
        return true;
    uint8_t sn[16];
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        const struct ip6_addr *a = &f->addr[k];
        if (a->state == IP6A_NONE || a->state == IP6A_DUPLICATE)
            continue;
        ip6_solicited_node(a->a, sn);
        if (ip6_eq(sn, g))
            return true;
    }
    return false;
}

void ip6_init(struct mcore *c)
{
    c->ip6.frag_id = mcore_rand32(c);
    c->ip6.err_bucket.tokens = c->cfg.icmp_err_per_s;
    for (unsigned i = 0; i < c->n_ifs; i++) {
        const struct moat_if_config *ifc = &c->cfg.ifs[i];
        struct mc_if6 *f = &c->ifs6[i];
        memset(f, 0, sizeof(*f));
        if (ifc->no_ip6)
            continue;
        f->on = 1;
        f->no_slaac = ifc->no_slaac;
        f->mtu = c->ifs[i].mtu;
        f->reachable_ms = 30000;    /* RFC 4861 10: REACHABLE_TIME */
        f->retrans_ms = 1000;       /* RETRANS_TIMER */
        /* fe80::/64 + modified EUI-64 of the MAC (RFC 4291 2.5.1, app. A). */
        uint8_t ll[16] = {0xfe, 0x80};
        const uint8_t *m = c->ifs[i].mac;
        ll[8] = m[0] ^ 0x02;
        ll[9] = m[1];
        ll[10] = m[2];
        ll[11] = 0xff;
        ll[12] = 0xfe;
        ll[13] = m[3];
        ll[14] = m[4];
        ll[15] = m[5];
        nd_addr_add(c, i, ll, 64, IP6O_LINKLOCAL, MCORE_NEVER, MCORE_NEVER);
        for (unsigned k = 0; k < MOAT_IP6_STATIC_MAX; k++)
            if (!ip6_is_zero(ifc->ip6[k]))
                nd_addr_add(c, i, ifc->ip6[k], ifc->ip6_prefix[k], IP6O_STATIC, MCORE_NEVER,
                            MCORE_NEVER);
        nd_start_delays(c, i);
    }
}

/* ---- checksums ------------------------------------------------------------ */

uint16_t ip6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t proto)
{
    uint8_t tail[8] = {0};
    wr32(tail, len);
    tail[7] = proto;
    uint32_t s = cksum_add(0, src, 16);
    s = cksum_add(s, dst, 16);
    s = cksum_add(s, tail, 8);
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)s;
}

/* ---- input ------------------------------------------------------------------ */

/* Send a parameter problem about @p p (the datagram as received) pointing
 * at byte @p ptr; @p rx_base carries addresses and flags. */
static void param_problem(struct mcore *c, const struct ip6_rx *base, uint8_t code, size_t ptr)
{
    icmp6_send_error(c, base, ICMP6_PARAM_PROB, code, (uint32_t)ptr);
}

/* Options of a hop-by-hop or destination options header at @p h (hlen
 * bytes). Returns 0 to go on, -1 to drop (a problem already sent). */
static int walk_options(struct mcore *c, const struct ip6_rx *base, const uint8_t *h,
                        size_t hlen, size_t hoff)
{
    size_t i = 2;
    while (i < hlen) {
        uint8_t t = h[i];
        if (t == 0) {           /* Pad1 */
            i++;
            continue;
        }
        if (i + 2 > hlen || i + 2 + h[i + 1] > hlen) {
            MCORE_DROP(c, IP6_EXTHDR);
            param_problem(c, base, 0, hoff + i);
            return -1;
        }
        size_t olen = 2 + (size_t)h[i + 1];
        /* PadN (1) and router alert (5, RFC 2711) need no action; for the
         * rest the top two bits of the type say what to do (RFC 8200 4.2). */
        if (t != 1 && t != 5) {
            switch (t >> 6) {
            case 0:
                break;
            case 1:
                MCORE_DROP(c, IP6_EXTHDR);
                return -1;
            case 2:
                MCORE_DROP(c, IP6_EXTHDR);
                param_problem(c, base, 2, hoff + i);
                return -1;
            default:
                MCORE_DROP(c, IP6_EXTHDR);
                if (!base->to_mcast)
                    param_problem(c, base, 2, hoff + i);
                return -1;
            }
        }
        i += olen;
    }
    return 0;
}

void ip6_input_dgram(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len,
                     bool was_frag)
{
    struct ip6_rx rx;

    memcpy(rx.src, p + 8, 16);
    memcpy(rx.dst, p + 24, 16);
    rx.hlim = p[7];
    rx.tclass = (uint8_t)((p[0] << 4) | (p[1] >> 4));
    rx.ifx = (uint8_t)ifx;
    rx.to_mcast = ip6_is_mcast(rx.dst);
    rx.was_frag = was_frag;
    rx.csum_ok = 0;
    rx.dgram = p;
    rx.dgram_len = len;
    rx.l4 = NULL;
    rx.l4_len = 0;
    rx.proto = p[6];

    uint8_t nh = p[6];
    size_t off = MCORE_IP6_HLEN;
    size_t nhpos = 6;           /* where the current next-header value sits */
    for (unsigned n = 0;; n++) {
        if (n > IP6_MAX_EXTHDRS) {
            MCORE_DROP(c, IP6_EXTHDR);
            return;
        }
        switch (nh) {
        case IP6_PROTO_HOPOPTS:
        case IP6_PROTO_DSTOPTS:
        case IP6_PROTO_ROUTING: {
            if (nh == IP6_PROTO_HOPOPTS && off != MCORE_IP6_HLEN) {
                /* Hop-by-hop anywhere but first (RFC 8200 4.1). */
                MCORE_DROP(c, IP6_EXTHDR);
                param_problem(c, &rx, 1, nhpos);
                return;
            }
            if (off + 8 > len) {
                MCORE_DROP(c, IP6_EXTHDR);
                param_problem(c, &rx, 0, off > len ? 4 : off);
                return;
            }
            size_t hlen = ((size_t)p[off + 1] + 1) * 8;
            if (off + hlen > len) {
                MCORE_DROP(c, IP6_EXTHDR);
                param_problem(c, &rx, 0, off + 1);
                return;
            }
            if (nh == IP6_PROTO_ROUTING) {
                /* Segments left 0: ignore the header. Otherwise we would
                 * have to forward, which we never do; type 0 (deprecated,
                 * RFC 5095) and every other type get the same answer. */
                if (p[off + 3] != 0) {
                    MCORE_DROP(c, IP6_EXTHDR);
                    param_problem(c, &rx, 0, off + 2);
                    return;
                }
            } else if (walk_options(c, &rx, p + off, hlen, off) != 0) {
                return;
            }
            nhpos = off;
            nh = p[off];
            off += hlen;
            continue;
        }
        case IP6_PROTO_FRAG: {
            if (off + IP6_FRAG_HLEN > len) {
                MCORE_DROP(c, IP6_EXTHDR);
                param_problem(c, &rx, 0, 4);
                return;
            }
            uint16_t fo = rd16(p + off + 2);
            if ((fo & 0xfff9u) == 0 && !was_frag) {
                /* An atomic fragment (offset 0, M clear; RFC 6946): not
                 * reassembled, processed as it is. */
                nhpos = off;
                nh = p[off];
                off += IP6_FRAG_HLEN;
                continue;
            }
            if (was_frag) {
                /* A fragment header inside a reassembled datagram. */
                MCORE_DROP(c, FRAG_BAD);
                return;
            }
            size_t flen = len - off - IP6_FRAG_HLEN;
            if ((fo & 1u) && (flen & 7u)) {
                /* Not the last and not a multiple of 8 (RFC 8200 4.5). */
                MCORE_DROP(c, FRAG_BAD);
                param_problem(c, &rx, 0, 4);
                return;
            }
            if ((size_t)(fo & 0xfff8u) + flen > MCORE_IP_MAXLEN) {
                MCORE_DROP(c, FRAG_BAD);
                param_problem(c, &rx, 0, off + 2);
                return;
            }
            reass6_input(c, ifx, p, len, off, nhpos);
            return;
        }
        case IP6_PROTO_NONE:
            MCORE_DROP(c, IP6_PROTO);
            return;
        default:
            break;
        }
        break;
    }
    rx.proto = nh;
    rx.l4 = p + off;
    rx.l4_len = len - off;
    if (!was_frag && off == MCORE_IP6_HLEN)
        rx.csum_ok = (c->in_flags & MOAT_LINK_RX_CSUM_OK) != 0;
    if (nh != IP6_PROTO_ICMP6 && nh != IP_PROTO_TCP && nh != IP_PROTO_UDP) {
        MCORE_DROP(c, IP6_PROTO);
        param_problem(c, &rx, 1, nhpos);
        return;
    }
    ip6_deliver(c, &rx);
}

void ip6_input(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len)
{
    struct mc_if6 *f = &c->ifs6[ifx];

    if (!f->on) {
        MCORE_DROP(c, ETH_TYPE);
        return;
    }
    if (len < MCORE_IP6_HLEN || (p[0] >> 4) != 6) {
        MCORE_DROP(c, IP6_SHORT);
        return;
    }
    /* The payload length comes from the header; Ethernet padding after it
     * is cut off, a datagram longer than what arrived is dropped. A zero
     * payload length with a hop-by-hop header would be a jumbogram (RFC
     * 2675): not on Ethernet. */
    size_t plen = rd16(p + 4);
    if (MCORE_IP6_HLEN + plen > len) {
        MCORE_DROP(c, IP6_SHORT);
        return;
    }
    len = MCORE_IP6_HLEN + plen;
    const uint8_t *src = p + 8, *dst = p + 24;
    if (ip6_is_mcast(src)) {
        MCORE_DROP(c, IP6_BAD_SRC);
        return;
    }
    if (ip6_is_mcast(dst)) {
        if (!ip6_group_member(c, ifx, dst)) {
            MCORE_DROP(c, IP6_NOT_US);
            return;
        }
    } else if (!ip6_is_ours(c, dst)) {
        /* Tentative addresses receive nothing but DAD's solicitations,
         * which go to the solicited-node group (RFC 4862 5.4). */
        MCORE_DROP(c, IP6_NOT_US);
        return;
    }
    ip6_input_dgram(c, ifx, p, len, false);
}

void ip6_deliver(struct mcore *c, const struct ip6_rx *rx)
{
    switch (rx->proto) {
    case IP6_PROTO_ICMP6:
        icmp6_input(c, rx);
        break;
    case IP_PROTO_UDP:
        udp6_input(c, rx);
        break;
    case IP_PROTO_TCP:
        if (rx->to_mcast) {
            MCORE_DROP(c, IP6_NOT_US);
            break;
        }
        tcp6_input(c, rx);
        break;
    default:
        MCORE_DROP(c, IP6_PROTO);
        break;
    }
}

/* ---- routing ------------------------------------------------------------------ */

uint16_t ip6_pmtu_get(struct mcore *c, unsigned ifx, const uint8_t dst[16])
{
    uint16_t mtu = c->ifs6[ifx].mtu;
    for (unsigned i = 0; i < MCORE_IP6_PMTU; i++) {
        struct ip6_pmtu *e = &c->ip6.pmtu[i];
        if (e->mtu && ip6_eq(e->dst, dst)) {
            if (c->now >= e->expires) {
                e->mtu = 0;     /* RFC 8201 5.3: try the link MTU again */
                break;
            }
            if (e->mtu < mtu)
                mtu = e->mtu;
            break;
        }
    }
    return mtu;
}

#define IP6_PMTU_AGE_US (600ull * 1000000u)     /* RFC 8201 5.3: ten minutes */

void ip6_pmtu_set(struct mcore *c, const uint8_t dst[16], uint32_t mtu)
{
    struct ip6_pmtu *slot = NULL;
    if (mtu < IP6_MIN_MTU)
        mtu = IP6_MIN_MTU;      /* RFC 8201 4: never below the minimum */
    if (mtu > 0xffffu)
        return;
    for (unsigned i = 0; i < MCORE_IP6_PMTU; i++) {
        struct ip6_pmtu *e = &c->ip6.pmtu[i];
        if (e->mtu && ip6_eq(e->dst, dst)) {
            slot = e;
            break;
        }
        if (!slot || !e->mtu || (slot->mtu && e->expires < slot->expires))
            if (!slot || slot->mtu)
                slot = e;
    }
    memcpy(slot->dst, dst, 16);
    slot->mtu = (uint16_t)mtu;
    slot->expires = c->now + IP6_PMTU_AGE_US;
}

/* Best usable source on @p ifx for @p dst: same scope (link-local for
 * link-local and link-scope multicast, global otherwise), preferred over
 * deprecated, then the longest matching prefix. */
static bool pick_source(const struct mcore *c, unsigned ifx, const uint8_t dst[16],
                        uint8_t out[16])
{
    const struct mc_if6 *f = &c->ifs6[ifx];
    bool want_ll = ip6_is_ll(dst) || (ip6_is_mcast(dst) && (dst[1] & 0x0f) <= 2);
    const struct ip6_addr *best = NULL;
    unsigned best_score = 0;
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        const struct ip6_addr *a = &f->addr[k];
        if (!addr_usable(a))
            continue;
        unsigned score = 1;
        if (ip6_is_ll(a->a) == want_ll)
            score += 1000;
        if (a->state == IP6A_PREFERRED)
            score += 500;
        score += common_prefix(a->a, dst);
        if (score > best_score) {
            best = a;
            best_score = score;
        }
    }
    if (!best)
        return false;
    memcpy(out, best->a, 16);
    return true;
}

/* Route @p dst: interface, next hop (dst itself when on-link), source. */
static int route6(struct mcore *c, const uint8_t dst[16], unsigned *ifx, uint8_t src[16],
                  uint8_t nexthop[16])
{
    static const uint8_t loop[16] = {[15] = 1};
    int found = -1;

    if (ip6_is_zero(dst) || ip6_eq(dst, loop))
        return MOAT_E_HOSTUNREACH;
    if (!ip6_is_zero(src)) {
        found = if_of(c, src);
        if (found < 0)
            return MOAT_E_ADDRNOTAVAIL;
    }
    if (ip6_is_mcast(dst) || ip6_is_ll(dst)) {
        /* Link scope: the interface of the source, else the first one
         * with IPv6 (link-local zones other than the first need a source). */
        if (found < 0)
            for (unsigned i = 0; i < c->n_ifs && found < 0; i++)
                if (c->ifs6[i].on)
                    found = (int)i;
        if (found < 0)
            return MOAT_E_NETUNREACH;
        memcpy(nexthop, dst, 16);
    } else {
        int onlink = -1;
        for (unsigned i = 0; i < c->n_ifs; i++)
            if (c->ifs6[i].on && nd_on_link(c, i, dst) && (found < 0 || (int)i == found)) {
                onlink = (int)i;
                break;
            }
        if (onlink >= 0) {
            found = onlink;
            memcpy(nexthop, dst, 16);
        } else {
            unsigned r = found >= 0 ? (unsigned)found : MOAT_MAX_IFS;
            if (!nd_default_router(c, &r, nexthop))
                return MOAT_E_NETUNREACH;
            found = (int)r;
        }
    }
    *ifx = (unsigned)found;
    if (ip6_is_zero(src) && !pick_source(c, *ifx, dst, src))
        return MOAT_E_ADDRNOTAVAIL;
    return 0;
}

int ip6_route(struct mcore *c, const uint8_t dst[16], unsigned *ifx, uint8_t src[16],
              uint16_t *mtu)
{
    uint8_t nh[16];
    int err = route6(c, dst, ifx, src, nh);
    if (err)
        return err;
    if (mtu)
        *mtu = ip6_pmtu_get(c, *ifx, dst);
    return 0;
}

/* ---- output ------------------------------------------------------------------- */

void ip6_header(uint8_t *h, uint8_t tclass, size_t plen, uint8_t nh, uint8_t hlim,
                       const uint8_t src[16], const uint8_t dst[16])
{
    h[0] = (uint8_t)(0x60 | (tclass >> 4));
    h[1] = (uint8_t)(tclass << 4);
    h[2] = 0;
    h[3] = 0;
    wr16(h + 4, (uint16_t)plen);
    h[6] = nh;
    h[7] = hlim;
    memcpy(h + 8, src, 16);
    memcpy(h + 24, dst, 16);
}

int ip6_tx_begin(struct mcore *c, struct ip6_tx *tx, const uint8_t src[16],
                 const uint8_t dst[16], size_t l4_len)
{
    uint8_t mac[6];
    size_t cap;

    /* The whole datagram, header included, within ip_max_datagram (the
     * scratch buffer's size, as for IPv4). */
    if (l4_len + MCORE_IP6_HLEN > MCORE_IP_MAX(&c->cfg))
        return MOAT_E_MSGSIZE;
    memcpy(tx->src, src, 16);
    memcpy(tx->dst, dst, 16);
    tx->tclass = 0;
    tx->direct = 0;
    int err = route6(c, dst, &tx->ifx, tx->src, tx->nexthop);
    if (err) {
        MCORE_DROP(c, NO_ROUTE);
        return err;
    }
    if (ip6_is_ours(c, dst)) {
        MCORE_DROP(c, NO_ROUTE);    /* no loopback interface */
        return MOAT_E_HOSTUNREACH;
    }
    struct mc_if6 *f = &c->ifs6[tx->ifx];
    tx->hlim = f->cur_hlim ? f->cur_hlim : c->cfg.ip_ttl;
    tx->mtu = ip6_pmtu_get(c, tx->ifx, dst);
    if (l4_len + MCORE_IP6_HLEN <= tx->mtu && nd_lookup(c, tx->ifx, tx->nexthop, mac) &&
        eth_tx_acquire(c, tx->ifx, &tx->frame, &cap) == 0) {
        /* Fast path: build the frame in place in the link's buffer. */
        tx->direct = 1;
        hdr_eth_emit(tx->frame, mac, c->ifs[tx->ifx].mac, ETH_TYPE_IP6);
        tx->l4 = tx->frame + MCORE_ETH_HLEN + MCORE_IP6_HLEN;
        tx->l4_cap = tx->mtu - MCORE_IP6_HLEN;
        return 0;
    }
    tx->frame = c->scratch;
    tx->l4 = c->scratch + MCORE_IP6_HLEN;
    tx->l4_cap = MCORE_IP_MAX(&c->cfg) - MCORE_IP6_HLEN;
    return 0;
}

void ip6_tx_cancel(struct mcore *c, struct ip6_tx *tx)
{
    if (tx->direct)
        eth_tx_commit(c, tx->ifx, 0);
    tx->direct = 0;
}

int ip6_tx_end(struct mcore *c, struct ip6_tx *tx, uint8_t proto, size_t l4_len,
               unsigned flags)
{
    uint8_t hlim = tx->hlim;
    if (flags & IP6_TX_HLIM255)
        hlim = 255;
    else if (flags & IP6_TX_HLIM1)
        hlim = 1;
    if (tx->direct) {
        ip6_header(tx->frame + MCORE_ETH_HLEN, tx->tclass, l4_len, proto, hlim, tx->src,
                   tx->dst);
        tx->direct = 0;
        return eth_tx_commit(c, tx->ifx, MCORE_ETH_HLEN + MCORE_IP6_HLEN + l4_len);
    }
    ip6_header(c->scratch, tx->tclass, l4_len, proto, hlim, tx->src, tx->dst);
    return ip6_output_raw(c, tx->ifx, tx->nexthop, c->scratch, MCORE_IP6_HLEN + l4_len,
                          tx->mtu, !(flags & IP6_TX_NOFRAG));
}

/* One packet (fits the MTU) out: now, or queued behind neighbour discovery.
 * @p h/@p hl is the header part, @p d/@p dl the rest. */
static int ip6_emit(struct mcore *c, unsigned ifx, const uint8_t nexthop[16], const uint8_t *h,
                    size_t hl, const uint8_t *d, size_t dl)
{
    uint8_t mac[6];
    uint8_t *fr;
    size_t cap;

    if (nd_lookup(c, ifx, nexthop, mac)) {
        if (eth_tx_acquire(c, ifx, &fr, &cap) != 0)
            return MOAT_E_NOBUFS;
        hdr_eth_emit(fr, mac, c->ifs[ifx].mac, ETH_TYPE_IP6);
        memcpy(fr + MCORE_ETH_HLEN, h, hl);
        memcpy(fr + MCORE_ETH_HLEN + hl, d, dl);
        return eth_tx_commit(c, ifx, MCORE_ETH_HLEN + hl + dl);
    }
    if (hl + dl > MCORE_PKT_DATA) {
        MCORE_DROP(c, ND_QUEUE_FULL);
        return MOAT_E_NOBUFS;
    }
    struct pkt *p = pkt_alloc(c);
    if (!p)
        return MOAT_E_NOBUFS;
    memcpy(p->data, h, hl);
    memcpy(p->data + hl, d, dl);
    p->len = (uint16_t)(hl + dl);
    nd_queue(c, ifx, nexthop, p);
    return 0;
}

int ip6_output_raw(struct mcore *c, unsigned ifx, const uint8_t nexthop[16],
                   const uint8_t *dg, size_t len, size_t mtu, bool may_frag)
{
    if (len <= mtu)
        return ip6_emit(c, ifx, nexthop, dg, len, dg + len, 0);
    if (!may_frag) {
        MCORE_DROP(c, NO_ROUTE);
        return MOAT_E_MSGSIZE;
    }
    /* Fragment (RFC 8200 4.5). We never send extension headers before the
     * upper layer, so the unfragmentable part is the fixed header alone:
     * each fragment is header + fragment header + a multiple of 8 bytes
     * (but the last). One identification per original datagram. */
    uint8_t h[MCORE_IP6_HLEN + IP6_FRAG_HLEN];
    size_t step = (mtu - sizeof(h)) & ~(size_t)7;
    size_t plen = len - MCORE_IP6_HLEN, off = 0;
    uint32_t id = c->ip6.frag_id++;
    int err = 0;
    memcpy(h, dg, MCORE_IP6_HLEN);
    h[6] = IP6_PROTO_FRAG;
    h[MCORE_IP6_HLEN] = dg[6];
    h[MCORE_IP6_HLEN + 1] = 0;
    wr32(h + MCORE_IP6_HLEN + 4, id);
    while (off < plen) {
        size_t n = plen - off > step ? step : plen - off;
        uint16_t fo = (uint16_t)(off & 0xfff8u);
        if (off + n < plen)
            fo |= 1u;
        wr16(h + 4, (uint16_t)(IP6_FRAG_HLEN + n));
        wr16(h + MCORE_IP6_HLEN + 2, fo);
        int e = ip6_emit(c, ifx, nexthop, h, sizeof(h), dg + MCORE_IP6_HLEN + off, n);
        if (e && !err)
            err = e;
        c->stats.ip6_frags_out++;
        off += n;
    }
    return err;
}
