/* SPDX-License-Identifier: MIT */
/*
 * IPv4 (RFC 791, RFC 1122 3.2/3.3): input validation with every length
 * taken from the header and checked against what arrived, the weak-host
 * acceptance rule, routing (on-link, default gateway), output with
 * fragmentation, and the hand-off to ARP for unresolved next hops.
 * Reassembly lives in ip4_reass.c; we never forward.
 */
#include "core_priv.h"

bool ip4_is_ours(const struct mcore *c, uint32_t ip)
{
    /* An interface without an address (DHCP not bound) owns nothing. */
    for (unsigned i = 0; i < c->n_ifs; i++)
        if (c->ifs[i].ip == ip && ip != 0)
            return true;
    return false;
}

void ip4_if_info(const struct mcore *c, unsigned ifx, struct moat_dhcp_info *out)
{
    memset(out, 0, sizeof(*out));
    if (ifx >= c->n_ifs)
        return;
    const struct mc_if *ifp = &c->ifs[ifx];
    out->state = MOAT_DHCP_OFF;
    out->ip = ifp->ip;
    out->mtu = ifp->mtu;
    out->router = ifp->gw;
    uint32_t pfx = 0;
    for (uint32_t m = ifp->mask; m & 0x80000000u; m <<= 1)
        pfx++;
    out->prefix = ifp->ip ? pfx : 0;
}

bool ip4_subnet_bcast(const struct mc_if *ifp, uint32_t ip)
{
    return ifp->mask < 0xfffffffeu && (ip & ifp->mask) == (ifp->ip & ifp->mask) &&
           (ip & ~ifp->mask) == ~ifp->mask;
}

bool ip4_is_bcast(const struct mcore *c, uint32_t ip)
{
    if (ip == 0xffffffffu)
        return true;
    for (unsigned i = 0; i < c->n_ifs; i++)
        if (ip4_subnet_bcast(&c->ifs[i], ip))
            return true;
    return false;
}

int ip4_if_of(const struct mcore *c, uint32_t ip)
{
    for (unsigned i = 0; i < c->n_ifs; i++)
        if ((c->ifs[i].ip == ip && ip != 0) || ip4_subnet_bcast(&c->ifs[i], ip))
            return (int)i;
    return -1;
}

static bool bad_source(const struct mcore *c, uint32_t src)
{
    return (src >> 24) == 127 || (src >> 28) >= 0xe || ip4_is_bcast(c, src);
}

void ip4_input(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len)
{
    struct ip4_rx rx;
    struct hdr_ip4 ip;

    /* The total length comes from the header; the frame may be padded
     * (Ethernet minimum) or, if shorter, truncated: drop that. */
    int err = hdr_ip4_parse(p, len, 0, &ip);
    if (err == HDR_E_SHORT) {
        MCORE_DROP(c, IP_SHORT);
        return;
    }
    if (err == HDR_E_VERSION) {
        MCORE_DROP(c, IP_VERSION);
        return;
    }
    if (c->cfg.ifs[ifx].ip6_only) {
        /* An IPv6-only interface (no address, no DHCP client): no IPv4
         * datagram is for us, broadcasts included. */
        MCORE_DROP(c, IP_NOT_US);
        return;
    }
    if (err != HDR_OK) {
        if (err == HDR_E_HDRLEN)
            MCORE_DROP(c, IP_HDRLEN);
        else if (err == HDR_E_TOTLEN)
            MCORE_DROP(c, IP_TOTLEN);
        else
            MCORE_DROP(c, IP_CHECKSUM);
        return;
    }
    rx.src = ip.src;
    rx.dst = ip.dst;
    if (bad_source(c, rx.src)) {
        MCORE_DROP(c, IP_BAD_SRC);
        return;
    }
    rx.to_bcast = 0;
    if (!ip4_is_ours(c, rx.dst)) {
        if (ip4_is_bcast(c, rx.dst) || rx.dst == 0xe0000001u /* all hosts */)
            rx.to_bcast = 1;
        else {
            MCORE_DROP(c, IP_NOT_US);
            return;
        }
    }
    rx.proto = ip.proto;
    rx.ttl = ip.ttl;
    rx.tos = ip.tos;
    rx.ifx = (uint8_t)ifx;
    rx.was_frag = 0;
    rx.csum_ok = 0;
    rx.dgram = p;
    rx.hdr_len = ip.hlen;
    rx.tot_len = ip.tot_len;
    rx.pay = c->in_pay;     /* NULL but for mcore_input_split */
    if (hdr_ip4_is_frag(&ip)) {
        if (rx.pay) {   /* mcore_split_hlen rules it out; never past here */
            MCORE_DROP(c, LINK_RX_BAD);
            return;
        }
        reass_input(c, &rx);    /* the reassembled datagram is checked whole */
        return;
    }
    rx.csum_ok = (c->in_flags & MOAT_LINK_RX_CSUM_OK) != 0;
    ip4_deliver(c, &rx);
}

size_t mcore_split_hlen(const uint8_t *f, size_t avail, size_t len, uint32_t flags)
{
    struct hdr_eth e;
    struct hdr_ip4 ip;
    struct hdr_tcp th;

    /* The checksum must be the link's word: with it the core never needs
     * the payload to decide (see mcore_input_split). */
    if (flags != MOAT_LINK_RX_CSUM_OK || avail > len || avail < MCORE_ETH_HLEN + MCORE_IP_HLEN)
        return 0;
    /* Only the fixed IPv4 header is read (no checksum): it lies in avail.
     * Its lengths are checked against the whole frame, len. */
    if (hdr_eth_parse(f, avail, &e) != HDR_OK || e.type != ETH_TYPE_IP4 ||
        hdr_ip4_parse(f + MCORE_ETH_HLEN, len - MCORE_ETH_HLEN, HDR_IP4_NO_CSUM, &ip) != HDR_OK ||
        ip.proto != IP_PROTO_TCP || hdr_ip4_is_frag(&ip))
        return 0;
    /* Exactly the frame: no Ethernet padding after the datagram. */
    if ((size_t)ip.tot_len != len - MCORE_ETH_HLEN)
        return 0;
    size_t t = MCORE_ETH_HLEN + ip.hlen;    /* the TCP header, all of it in avail */
    if (t > avail || hdr_tcp_parse(f + t, avail - t, &th) != HDR_OK)
        return 0;
    size_t h = t + th.hlen;
    if (h >= len)
        return 0;
    return h;
}

void ip4_deliver(struct mcore *c, const struct ip4_rx *rx)
{
    switch (rx->proto) {
    case IP_PROTO_ICMP:
        icmp_input(c, rx);
        break;
    case IP_PROTO_UDP:
        udp_input(c, rx);
        break;
    case IP_PROTO_TCP:
        if (rx->to_bcast) {
            MCORE_DROP(c, IP_NOT_US);
            break;
        }
        tcp_input(c, rx);
        break;
    default:
        MCORE_DROP(c, IP_PROTO);
        icmp_send_error(c, rx, ICMP_UNREACH, ICMP_UNREACH_PROTO, 0);
        break;
    }
}

int ip4_route(struct mcore *c, uint32_t dst, unsigned *ifx, uint32_t *src,
              uint32_t *nexthop)
{
    if (dst == 0 || (dst >> 24) == 127 || (dst >> 24) == 0)
        return MOAT_E_HOSTUNREACH;
    if (dst == 0xffffffffu) {
        unsigned i = 0;
        if (*src) {
            int k = ip4_if_of(c, *src);
            if (k < 0)
                return MOAT_E_ADDRNOTAVAIL;
            i = (unsigned)k;
        }
        /* An interface without an address (DHCP not bound) sends no
         * broadcast for the application: only the DHCP client speaks from
         * 0.0.0.0 (ip4_tx_begin_bcast). */
        if (!*src && c->ifs[i].ip == 0)
            return MOAT_E_ADDRNOTAVAIL;
        *ifx = i;
        *nexthop = dst;
        if (!*src)
            *src = c->ifs[i].ip;
        return 0;
    }
    /* On-link first; prefer the interface that owns a given source. */
    int found = -1;
    for (unsigned i = 0; i < c->n_ifs; i++) {
        const struct mc_if *ifp = &c->ifs[i];
        if ((dst & ifp->mask) == (ifp->ip & ifp->mask)) {
            if (found < 0 || (*src && ifp->ip == *src))
                found = (int)i;
        }
    }
    if (found >= 0) {
        *nexthop = dst;
    } else {
        for (unsigned i = 0; i < c->n_ifs; i++) {
            if (c->ifs[i].gw && (found < 0 || (*src && c->ifs[i].ip == *src)))
                found = (int)i;
        }
        if (found < 0)
            return MOAT_E_NETUNREACH;
        *nexthop = c->ifs[found].gw;
    }
    *ifx = (unsigned)found;
    if (!*src)
        *src = c->ifs[found].ip;
    return 0;
}

static void ip4_header(struct mcore *c, uint8_t *h, size_t tot, uint16_t id,
                       uint16_t frag, uint8_t proto, uint32_t src, uint32_t dst, uint8_t tos)
{
    const struct hdr_ip4 ip = {.hlen = MCORE_IP_HLEN, .tos = tos, .ttl = c->cfg.ip_ttl,
                                .proto = proto, .tot_len = (uint16_t)tot, .id = id,
                                .frag = frag, .src = src, .dst = dst};
    hdr_ip4_emit(&ip, h);
}

int ip4_tx_begin(struct mcore *c, struct ip4_tx *tx, uint32_t src, uint32_t dst,
                 size_t l4_len)
{
    uint8_t mac[6];
    size_t cap;
    int err;

    if (l4_len > MCORE_IP_MAX(&c->cfg) - MCORE_IP_HLEN)
        return MOAT_E_MSGSIZE;
    tx->src = src;
    tx->dst = dst;
    tx->tos = 0;
    err = ip4_route(c, dst, &tx->ifx, &tx->src, &tx->nexthop);
    if (err) {
        MCORE_DROP(c, NO_ROUTE);
        return err;
    }
    if (ip4_is_ours(c, dst)) {
        MCORE_DROP(c, NO_ROUTE);    /* no loopback interface */
        return MOAT_E_HOSTUNREACH;
    }
    struct mc_if *ifp = &c->ifs[tx->ifx];
    tx->direct = 0;
    if (l4_len + MCORE_IP_HLEN <= ifp->mtu && arp_lookup(c, tx->ifx, tx->nexthop, mac) &&
        eth_tx_acquire(c, tx->ifx, &tx->frame, &cap) == 0) {
        /* Fast path: build the frame in place in the link's buffer. */
        tx->direct = 1;
        hdr_eth_emit(tx->frame, mac, ifp->mac, ETH_TYPE_IP4);
        tx->l4 = tx->frame + MCORE_ETH_HLEN + MCORE_IP_HLEN;
        tx->l4_cap = ifp->mtu - MCORE_IP_HLEN;
        return 0;
    }
    tx->frame = c->scratch;
    tx->l4 = c->scratch + MCORE_IP_HLEN;
    tx->l4_cap = MCORE_IP_MAX(&c->cfg) - MCORE_IP_HLEN;
    return 0;
}

int ip4_tx_begin_bcast(struct mcore *c, struct ip4_tx *tx, unsigned ifx, uint32_t src,
                       size_t l4_len)
{
    struct mc_if *ifp = &c->ifs[ifx];
    size_t cap;

    /* No route lookup: the caller names the interface, because a host
     * without an address has nothing to choose one by. */
    if (l4_len + MCORE_IP_HLEN > ifp->mtu)
        return MOAT_E_MSGSIZE;
    if (eth_tx_acquire(c, ifx, &tx->frame, &cap) != 0)
        return MOAT_E_NOBUFS;
    tx->src = src;
    tx->dst = 0xffffffffu;
    tx->nexthop = 0xffffffffu;
    tx->ifx = ifx;
    tx->tos = 0;
    tx->direct = 1;
    hdr_eth_emit(tx->frame, eth_bcast, ifp->mac, ETH_TYPE_IP4);
    tx->l4 = tx->frame + MCORE_ETH_HLEN + MCORE_IP_HLEN;
    tx->l4_cap = ifp->mtu - MCORE_IP_HLEN;
    return 0;
}

void ip4_tx_cancel(struct mcore *c, struct ip4_tx *tx)
{
    if (tx->direct)
        eth_tx_commit(c, tx->ifx, 0);
    tx->direct = 0;
}

int ip4_tx_end(struct mcore *c, struct ip4_tx *tx, uint8_t proto, size_t l4_len,
               unsigned flags)
{
    size_t tot = l4_len + MCORE_IP_HLEN;
    uint16_t frag = (flags & IP4_TX_DF) ? HDR_IP4_DF : 0;
    uint16_t id = c->ip.next_id++;

    if (tx->direct) {
        ip4_header(c, tx->frame + MCORE_ETH_HLEN, tot, id, frag, proto, tx->src, tx->dst,
                   tx->tos);
        tx->direct = 0;
        return eth_tx_commit(c, tx->ifx, MCORE_ETH_HLEN + tot);
    }
    ip4_header(c, c->scratch, tot, id, frag, proto, tx->src, tx->dst, tx->tos);
    return ip4_output_raw(c, tx->ifx, tx->nexthop, c->scratch, tot);
}

/* One IP packet (fits the MTU) out: now, or queued behind ARP. */
static int ip4_emit(struct mcore *c, unsigned ifx, uint32_t nexthop, const uint8_t *h,
                    size_t hl, const uint8_t *data, size_t dlen)
{
    uint8_t mac[6];
    uint8_t *f;
    size_t cap;

    if (arp_lookup(c, ifx, nexthop, mac)) {
        if (eth_tx_acquire(c, ifx, &f, &cap) != 0)
            return MOAT_E_NOBUFS;
        hdr_eth_emit(f, mac, c->ifs[ifx].mac, ETH_TYPE_IP4);
        memcpy(f + MCORE_ETH_HLEN, h, hl);
        memcpy(f + MCORE_ETH_HLEN + hl, data, dlen);
        return eth_tx_commit(c, ifx, MCORE_ETH_HLEN + hl + dlen);
    }
    if (hl + dlen > MCORE_PKT_DATA) {
        MCORE_DROP(c, ARP_QUEUE_FULL);
        return MOAT_E_NOBUFS;
    }
    struct pkt *p = pkt_alloc(c);
    if (!p)
        return MOAT_E_NOBUFS;
    memcpy(p->data, h, hl);
    memcpy(p->data + hl, data, dlen);
    p->len = (uint16_t)(hl + dlen);
    arp_queue(c, ifx, nexthop, p);
    return 0;
}

int ip4_output_raw(struct mcore *c, unsigned ifx, uint32_t nexthop,
                   const uint8_t *dg, size_t len)
{
    size_t mtu = c->ifs[ifx].mtu;
    size_t hl = (size_t)(dg[0] & 0x0f) * 4;

    if (len <= mtu)
        return ip4_emit(c, ifx, nexthop, dg, hl, dg + hl, len - hl);
    uint16_t frag0 = rd16(dg + 6);
    if (frag0 & HDR_IP4_DF) {
        MCORE_DROP(c, NO_ROUTE);
        return MOAT_E_MSGSIZE;
    }
    /* Fragment (RFC 791): every piece but the last carries a multiple of
     * 8 bytes; offsets count 8-byte units. We never send options, so the
     * header is copied unchanged apart from length, offset and checksum. */
    uint8_t h[60];
    size_t step = (mtu - hl) & ~(size_t)7;
    size_t off = 0, plen = len - hl;
    int err = 0;
    memcpy(h, dg, hl);
    while (off < plen) {
        size_t n = plen - off > step ? step : plen - off;
        uint16_t f = (uint16_t)((off / 8) & HDR_IP4_OFFMASK);
        if (off + n < plen || (frag0 & HDR_IP4_MF))
            f |= HDR_IP4_MF;
        hdr_ip4_refit(h, (uint16_t)(hl + n), f);
        int e = ip4_emit(c, ifx, nexthop, h, hl, dg + hl + off, n);
        if (e && !err)
            err = e;
        c->stats.ip_frags_out++;
        off += n;
    }
    return err;
}
