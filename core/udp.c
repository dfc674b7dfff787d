/* SPDX-License-Identifier: MIT */
/*
 * UDP (RFC 768, RFC 1122 4.1.3): input validation and demultiplexing to
 * datagram sockets (unicast, subnet-directed and limited broadcast),
 * delivery as records into the socket's receive ring, transmission of the
 * records the application left in its send ring, and ICMP errors for
 * connected sockets. Socket slots and ports are sock.c's.
 *
 * IPv6 (RFC 8200 8.1, RFC 768): udp6_input and the IPv6 branch of the
 * send path, on top of ip6.c's contract (core_priv.h). A socket bound to
 * an IPv6 address takes only IPv6 datagrams for it; one bound to the
 * dual-stack any address (::) takes both families; one bound to the IPv4
 * any address (or an IPv4 address) only IPv4. The checksum is mandatory
 * over IPv6: a zero one is dropped (UDP_MALFORMED).
 */
#include "core_priv.h"

#define UDP_HLEN 8u
#define UDP_MAX_PAYLOAD (MCORE_IP_MAXLEN - MCORE_IP_HLEN - UDP_HLEN)
#define UDP_TX_BATCH 64u   /* datagrams per socket per poll, for fairness */

/* Does socket @p s take a datagram for dst:dport from src:sport? Returns a
 * match strength (0: no). */
static int udp_match(const struct mcore *c, const struct msock *s, const struct ip4_rx *rx,
                     uint16_t sport, uint16_t dport)
{
    int score = 1;

    if (s->type != MOAT_SOCK_DGRAM || !s->bound || s->lport != dport)
        return 0;
    if (s->l6 && !ip6_is_zero(s->lip6))
        return 0;                   /* bound to an IPv6 address */
    if (s->connected) {
        if (s->r6 || s->rip != rx->src || s->rport != sport)
            return 0;
        score += 2;
    }
    if (s->lip == 0)
        return score;
    if (rx->dst == s->lip)
        return score + 1;
    if (rx->dst == 0xffffffffu)     /* limited broadcast: the ingress interface */
        return c->ifs[rx->ifx].ip == s->lip ? score + 1 : 0;
    int k = ip4_if_of(c, rx->dst);  /* directed broadcast: the subnet's owner */
    if (k >= 0 && c->ifs[k].ip == s->lip && rx->dst != c->ifs[k].ip)
        return score + 1;
    return 0;
}

/* Put one datagram from the peer described by @p h (len filled here) into
 * @p s's receive ring. */
static void udp_deliver_rec(struct mcore *c, struct msock *s, struct moat_dgram_hdr *h,
                            const uint8_t *data, size_t n)
{
    uint32_t space;

    if (moat_ring_space(&s->rx, &space) != 0) {
        sock_error(c, s, MOAT_E_PEER);
        MCORE_DROP(c, BOUNDARY);
        return;
    }
    uint32_t used = s->rx.cap - space;
    if (space < sizeof(*h) + n || used + sizeof(*h) + n > s->rcvbuf) {
        MCORE_DROP(c, UDP_RCVBUF);
        return;
    }
    h->len = (uint16_t)n;
    moat_ring_put(&s->rx, 0, h, sizeof(*h));
    moat_ring_put(&s->rx, sizeof(*h), data, (uint32_t)n);
    moat_ring_publish(&s->rx, (uint32_t)(sizeof(*h) + n));
    c->stats.udp_in++;
    mcore_sock_changed(c, s);
}

static void udp_deliver(struct mcore *c, struct msock *s, const struct ip4_rx *rx,
                        uint16_t sport, const uint8_t *data, size_t n)
{
    struct moat_dgram_hdr h = { .ip = rx->src, .port = sport };
    udp_deliver_rec(c, s, &h, data, n);
}

/* A validated datagram of either family (one of rx4/rx6 set) on its way
 * to the sockets. */
struct udp_in {
    const struct ip4_rx *rx4;
    const struct ip6_rx *rx6;
    uint16_t sport, dport;
    const uint8_t *data;
    size_t n;
    bool group;                 /* broadcast / multicast: every match gets a copy */
};

static int udp6_match(const struct msock *s, const struct ip6_rx *rx, uint16_t sport,
                      uint16_t dport);
static void udp6_deliver(struct mcore *c, struct msock *s, const struct ip6_rx *rx,
                         uint16_t sport, const uint8_t *data, size_t n);

static int udp_in_match(const struct mcore *c, const struct msock *s, const struct udp_in *in)
{
    if (in->rx4)
        return udp_match(c, s, in->rx4, in->sport, in->dport);
    /* IPv6 multicast goes to sockets bound to :: only */
    if (in->group && !ip6_is_zero(s->lip6))
        return 0;
    return udp6_match(s, in->rx6, in->sport, in->dport);
}

static void udp_in_deliver(struct mcore *c, struct msock *s, const struct udp_in *in)
{
    if (in->rx4)
        udp_deliver(c, s, in->rx4, in->sport, in->data, in->n);
    else
        udp6_deliver(c, s, in->rx6, in->sport, in->data, in->n);
}

/* Deliver to every matching socket (group) or to the best match.
 * Returns false when no socket took it. */
static bool udp_demux(struct mcore *c, const struct udp_in *in)
{
    struct msock *best = NULL;
    int best_score = 0;

    for (uint32_t i = c->dgram_head; i != 0; i = c->socks[i - 1u].dnext) {
        struct msock *s = &c->socks[i - 1u];
        int sc = udp_in_match(c, s, in);
        if (sc > 0 && in->group)
            udp_in_deliver(c, s, in);
        if (sc > best_score) {
            best = s;
            best_score = sc;
        }
    }
    if (best && !in->group)
        udp_in_deliver(c, best, in);
    return best != NULL;
}

void udp_input(struct mcore *c, const struct ip4_rx *rx)
{
    const uint8_t *u = rx->dgram + rx->hdr_len;
    struct hdr_udp h;

    /* Bytes beyond the UDP length are ignored (RFC 768). */
    if (hdr_udp_parse(u, rx->tot_len - rx->hdr_len, &h) != HDR_OK) {
        MCORE_DROP(c, UDP_MALFORMED);
        return;
    }
    size_t ulen = h.len;
    /* A zero checksum means "none" over IPv4; csum_ok: the link vouched
     * for it (MOAT_LINK_RX_CSUM_OK; the field may hold only a partial sum). */
    if (h.csum != 0 && !rx->csum_ok) {
        uint32_t sum = cksum_pseudo(rx->src, rx->dst, IP_PROTO_UDP, (uint32_t)ulen);
        if (cksum_fold(cksum_add(sum, u, ulen)) != 0) {
            MCORE_DROP(c, UDP_MALFORMED);
            return;
        }
    }
    uint16_t sport = h.sport, dport = h.dport;
    const uint8_t *data = u + UDP_HLEN;
    size_t n = ulen - UDP_HLEN;

    /* The DHCP client (dhcp.c) has port 68 of its interface to itself. */
    if (dport == 68 && dhcp_input(c, rx, sport, data, n))
        return;

    struct udp_in in = {.rx4 = rx, .rx6 = NULL, .sport = sport, .dport = dport,
                        .data = data, .n = n, .group = rx->to_bcast != 0};
    if (!udp_demux(c, &in)) {
        MCORE_DROP(c, UDP_NO_PORT);
        if (!in.group)
            icmp_send_error(c, rx, ICMP_UNREACH, ICMP_UNREACH_PORT, 0);
    }
}

/* Write the UDP header and the @p n payload bytes at ring offset @p at to
 * @p u, with the checksum over the pseudo-header sum @p pseudo (never 0
 * on the wire: that means "none" over IPv4 and is invalid over IPv6). */
static void udp_fill(struct msock *s, uint8_t *u, uint16_t dport, uint32_t at, uint32_t n,
                     uint32_t pseudo)
{
    struct hdr_udp h = {.sport = s->lport, .dport = dport,
                         .len = (uint16_t)(UDP_HLEN + n), .csum = 0};
    hdr_udp_emit(&h, u);
    moat_ring_get(&s->tx, at, u + UDP_HLEN, n);
    uint16_t ck = cksum_fold(cksum_add(pseudo, u, UDP_HLEN + n));
    wr16(u + 6, ck == 0 ? 0xffff : ck);
}

/* The result of handing a datagram to the IP layer, for the application. */
static int udp_sent(struct mcore *c, int err)
{
    if (err == 0)
        c->stats.udp_out++;
    return err == MOAT_E_NOBUFS ? 0 : err;  /* a full link is a drop, like a wire loss */
}

/* Send one datagram of @p n bytes whose payload sits in @p s's send ring
 * at offset @p at. Returns 0 or an error for the application. */
static int udp_send_one(struct mcore *c, struct msock *s, uint32_t dip, uint16_t dport,
                        uint32_t at, uint32_t n)
{
    struct ip4_tx tx;
    int err;

    if (!s->bound && (err = sock_bind(c, s, 0, 0)) != 0)
        return err;
    if (s->l6 && !ip6_is_zero(s->lip6))
        return MOAT_E_ADDRNOTAVAIL;     /* bound to an IPv6 address */
    if (ip4_is_bcast(c, dip) && !s->broadcast)
        return MOAT_E_PERM;
    err = ip4_tx_begin(c, &tx, s->lip, dip, UDP_HLEN + n);
    if (err)
        return err;
    udp_fill(s, tx.l4, dport, at, n,
             cksum_pseudo(tx.src, tx.dst, IP_PROTO_UDP, UDP_HLEN + n));
    return udp_sent(c, ip4_tx_end(c, &tx, IP_PROTO_UDP, UDP_HLEN + n, 0));
}

/* The IPv6 twin of udp_send_one: to @p dst (zone @p scope = interface + 1
 * for a link-local destination, 0: interface 0). An unbound socket is
 * bound to the dual-stack any address first; an IPv4-bound one cannot
 * send to IPv6 (MOAT_E_ADDRNOTAVAIL). */
static int udp_send_one6(struct mcore *c, struct msock *s, const uint8_t dst[16],
                         uint32_t scope, uint16_t dport, uint32_t at, uint32_t n)
{
    static const uint8_t any[16];
    uint8_t src[16];
    struct ip6_tx tx;
    int err;

    if (!s->bound && (err = sock_bind6(c, s, any, 0)) != 0)
        return err;
    if (!s->l6)
        return MOAT_E_ADDRNOTAVAIL;
    if (scope > c->n_ifs)
        return MOAT_E_INVAL;
    memcpy(src, s->lip6, 16);
    /* A link-local destination's zone is given by the source address. */
    if (ip6_is_zero(src) && ip6_is_ll(dst) && !ip6_ll_addr(c, scope ? scope - 1u : 0, src))
        return MOAT_E_ADDRNOTAVAIL;
    if (n > 0xffffu - UDP_HLEN)
        return MOAT_E_MSGSIZE;
    err = ip6_tx_begin(c, &tx, src, dst, UDP_HLEN + n);
    if (err)
        return err;
    udp_fill(s, tx.l4, dport, at, n, ip6_pseudo_sum(tx.src, tx.dst, UDP_HLEN + n, IP_PROTO_UDP));
    return udp_sent(c, ip6_tx_end(c, &tx, IP_PROTO_UDP, UDP_HLEN + n, 0));
}

static void udp_poll_sock(struct mcore *c, struct msock *s)
{
    for (unsigned k = 0; k < UDP_TX_BATCH; k++) {
        struct moat_dgram_hdr h;
        uint32_t avail;

        if (moat_ring_avail(&s->tx, &avail) != 0)
            goto violation;
        if (avail == 0)
            return;
        if (avail < sizeof(h))
            goto violation;
        moat_ring_get(&s->tx, 0, &h, sizeof(h));
        if (h.len > UDP_MAX_PAYLOAD || sizeof(h) + h.len > avail)
            goto violation;
        uint32_t dip = h.ip;
        uint16_t dport = h.port;
        int err;
        if (h.family == MOAT_AF_INET6) {
            if (ip6_is_zero(h.ip6) || dport == 0)
                err = MOAT_E_INVAL;
            else
                err = udp_send_one6(c, s, h.ip6, h.scope_id, dport, sizeof(h), h.len);
        } else if (h.family != 0 && h.family != MOAT_AF_INET) {
            err = MOAT_E_INVAL;
        } else if (dip == 0 && dport == 0 && s->connected && s->r6) {
            err = udp_send_one6(c, s, s->rip6, s->rscope, s->rport, sizeof(h), h.len);
        } else {
            if (dip == 0 && dport == 0 && s->connected) {
                dip = s->rip;
                dport = s->rport;
            }
            if (dip == 0 || dport == 0)
                err = MOAT_E_NOTCONN;
            else
                err = udp_send_one(c, s, dip, dport, sizeof(h), h.len);
        }
        moat_ring_consume(&s->tx, (uint32_t)sizeof(h) + h.len);
        mcore_sock_changed(c, s);
        if (err)
            sock_error(c, s, err);
    }
    return;
violation:
    /* The application broke its own ring: fail the socket, not the stack.
     * A consistent ring is emptied and the socket goes on; an impossible
     * index cannot be consumed, so the socket's sending stops until it is
     * closed (no error storm every poll). */
    MCORE_DROP(c, BOUNDARY);
    sock_error(c, s, MOAT_E_PEER);
    {
        uint32_t avail;
        if (moat_ring_avail(&s->tx, &avail) == 0)
            moat_ring_consume(&s->tx, avail);
        else
            s->tx_dead = 1;
    }
    mcore_sock_changed(c, s);   /* room freed after sock_error's mark */
}

void udp_flush(struct mcore *c, struct msock *s)
{
    /* Bounded: the ring holds at most cap / (header + 1) records. */
    for (uint32_t k = 0; k <= s->tx.cap / (sizeof(struct moat_dgram_hdr) + 1u) / UDP_TX_BATCH + 1; k++) {
        uint32_t avail;
        if (moat_ring_avail(&s->tx, &avail) != 0 || avail == 0)
            return;
        udp_poll_sock(c, s);
    }
}

void udp_poll(struct mcore *c)
{
    for (uint32_t i = c->dgram_head; i != 0; i = c->socks[i - 1u].dnext) {
        struct msock *s = &c->socks[i - 1u];
        if (s->type == MOAT_SOCK_DGRAM && s->app_owned && !s->tx_dead)
            udp_poll_sock(c, s);
    }
}

/* An ICMP(v6) error about our datagram sport -> dst:dport (@p dst6 NULL:
 * IPv4 @p dst4). Like BSD sockets, report only to a connected socket
 * (RFC 1122 4.1.3.3 leaves the unconnected case to the implementation). */
static void udp_report(struct mcore *c, uint16_t sport, uint32_t dst4, const uint8_t *dst6,
                       uint16_t dport, int err)
{
    for (uint32_t i = c->dgram_head; i != 0; i = c->socks[i - 1u].dnext) {
        struct msock *s = &c->socks[i - 1u];
        if (s->type != MOAT_SOCK_DGRAM || !s->connected || s->lport != sport ||
            s->rport != dport || s->r6 != (dst6 != NULL))
            continue;
        if (dst6 ? ip6_eq(s->rip6, dst6) : s->rip == dst4) {
            sock_error(c, s, err);
            return;
        }
    }
    MCORE_DROP(c, ICMP_NO_MATCH);
}

void udp_icmp_error(struct mcore *c, const struct ip4_quote *q, uint8_t type, uint8_t code)
{
    uint16_t sport = rd16(q->l4), dport = rd16(q->l4 + 2);
    int err;

    if (type != ICMP_UNREACH) {
        MCORE_DROP(c, ICMP_NO_MATCH);   /* UDP has no use for Time Exceeded etc. */
        return;
    }
    switch (code) {
    case ICMP_UNREACH_PORT:
    case ICMP_UNREACH_PROTO:
        err = MOAT_E_CONNREFUSED;
        break;
    case ICMP_UNREACH_NET:
        err = MOAT_E_NETUNREACH;
        break;
    case ICMP_UNREACH_NEEDFRAG:
        err = MOAT_E_MSGSIZE;
        break;
    default:
        err = MOAT_E_HOSTUNREACH;
        break;
    }
    udp_report(c, sport, q->dst, NULL, dport, err);
}

/* ---- IPv6 ------------------------------------------------------------- */

/* udp_match for an IPv6 datagram: only sockets bound to IPv6 (a specific
 * address or the dual-stack ::) take it. */
static int udp6_match(const struct msock *s, const struct ip6_rx *rx, uint16_t sport,
                      uint16_t dport)
{
    int score = 1;

    if (s->type != MOAT_SOCK_DGRAM || !s->bound || !s->l6 || s->lport != dport)
        return 0;
    if (s->connected) {
        if (!s->r6 || !ip6_eq(s->rip6, rx->src) || s->rport != sport)
            return 0;
        score += 2;
    }
    if (ip6_is_zero(s->lip6))
        return score;
    return ip6_eq(s->lip6, rx->dst) ? score + 1 : 0;
}

static void udp6_deliver(struct mcore *c, struct msock *s, const struct ip6_rx *rx,
                         uint16_t sport, const uint8_t *data, size_t n)
{
    struct moat_dgram_hdr h = { .port = sport, .family = MOAT_AF_INET6 };
    memcpy(h.ip6, rx->src, 16);
    h.scope_id = ip6_is_ll(rx->src) ? rx->ifx + 1u : 0;
    udp_deliver_rec(c, s, &h, data, n);
}

void udp6_input(struct mcore *c, const struct ip6_rx *rx)
{
    const uint8_t *u = rx->l4;
    struct hdr_udp h;

    if (hdr_udp_parse(u, rx->l4_len, &h) != HDR_OK) {
        MCORE_DROP(c, UDP_MALFORMED);
        return;
    }
    size_t ulen = h.len;
    /* RFC 8200 8.1: a zero checksum is invalid over IPv6. */
    if (h.csum == 0) {
        MCORE_DROP(c, UDP_MALFORMED);
        return;
    }
    if (!rx->csum_ok && cksum_fold(cksum_add(ip6_pseudo_sum(rx->src, rx->dst, (uint32_t)ulen,
                                                            IP_PROTO_UDP), u, ulen)) != 0) {
        MCORE_DROP(c, UDP_MALFORMED);
        return;
    }
    uint16_t sport = h.sport, dport = h.dport;
    const uint8_t *data = u + UDP_HLEN;
    size_t n = ulen - UDP_HLEN;

    struct udp_in in = {.rx4 = NULL, .rx6 = rx, .sport = sport, .dport = dport,
                        .data = data, .n = n, .group = rx->to_mcast != 0};
    if (!udp_demux(c, &in)) {
        MCORE_DROP(c, UDP_NO_PORT);
        if (!in.group)
            icmp6_send_error(c, rx, ICMP6_UNREACH, ICMP6_UNREACH_PORT, 0);
    }
}

/* An ICMPv6 error about one of our datagrams: reported to a connected
 * socket (as over IPv4). Packet Too Big needs nothing here: ip6.c lowered
 * the path MTU and later datagrams are fragmented to it. */
void udp6_icmp_error(struct mcore *c, const struct ip6_quote *q, uint8_t type, uint8_t code,
                     uint32_t param)
{
    uint16_t sport = rd16(q->l4), dport = rd16(q->l4 + 2);
    int err;

    (void)param;
    if (type == ICMP6_PKT_TOO_BIG)
        return;
    if (type != ICMP6_UNREACH) {
        MCORE_DROP(c, ICMP_NO_MATCH);   /* time exceeded, parameter problem */
        return;
    }
    switch (code) {
    case ICMP6_UNREACH_PORT:
        err = MOAT_E_CONNREFUSED;
        break;
    case 0:                             /* no route to destination */
        err = MOAT_E_NETUNREACH;
        break;
    default:
        err = MOAT_E_HOSTUNREACH;
        break;
    }
    udp_report(c, sport, 0, q->dst, dport, err);
}
