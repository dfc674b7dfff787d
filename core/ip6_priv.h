/* SPDX-License-Identifier: MIT */
/*
 * The IPv6 layer's internal interfaces (core-private), included by
 * core_priv.h after struct mcore and the IPv4 interfaces: ip6.c (the
 * network layer TCP and UDP code against), ip6_reass.c, icmp6.c and the
 * neighbour discovery of nd.c / nd_auto.c. Its state structs are in
 * core_priv.h, inside struct mcore.
 */
#ifndef MOAT_IP6_PRIV_H
#define MOAT_IP6_PRIV_H

#ifndef MOAT_CORE_PRIV_H
#error "include core_priv.h, not ip6_priv.h"
#endif

/* ---- ip6.c: the IPv6 network layer (the contract TCP/UDP code against) ---- */

#define IP6_PROTO_HOPOPTS 0u
#define IP6_PROTO_ROUTING 43u
#define IP6_PROTO_FRAG    44u
#define IP6_PROTO_ICMP6   58u
#define IP6_PROTO_NONE    59u
#define IP6_PROTO_DSTOPTS 60u
#define IP6_MIN_MTU       1280u

/* A validated datagram after the extension headers. */
struct ip6_rx {
    uint8_t src[16], dst[16];
    uint8_t proto;              /* upper-layer protocol (after hop-by-hop/dest/fragment) */
    uint8_t hlim, tclass, ifx;
    uint8_t to_mcast;           /* dst was multicast */
    uint8_t was_frag;           /* reassembled */
    uint8_t csum_ok;            /* link vouched for the L4 checksum (never for fragments) */
    const uint8_t *l4;  size_t l4_len;     /* upper-layer header + payload */
    const uint8_t *dgram; size_t dgram_len; /* whole datagram (for ICMPv6 errors) */
};

/* An outgoing datagram being built (mirrors struct ip4_tx). */
struct ip6_tx {
    uint8_t *l4;                /* write the transport header + payload here */
    size_t l4_cap;
    uint8_t src[16], dst[16];
    unsigned ifx;
    uint8_t tclass;             /* traffic class (DSCP/ECN); 0 from ip6_tx_begin */
    /* private to ip6.c */
    uint8_t nexthop[16];
    uint8_t hlim;
    uint16_t mtu;               /* path MTU to dst */
    uint8_t *frame;
    int direct;                 /* frame is a link buffer, sent as is */
};

/* What an ICMPv6 error quotes of one of our own datagrams. */
struct ip6_quote {
    uint8_t src[16], dst[16];   /* of the quoted (our) datagram */
    uint8_t proto;              /* upper layer, after the extension headers */
    const uint8_t *l4;          /* quoted transport bytes */
    size_t l4_len;              /* at least 8 */
};

/* ip6_tx_end flags. */
enum {
    IP6_TX_NOFRAG = 1u,         /* larger than the path MTU: MOAT_E_MSGSIZE, not fragments */
    IP6_TX_HLIM255 = 2u,        /* hop limit 255 (NDP, RFC 4861 6.1) */
    IP6_TX_HLIM1 = 4u           /* hop limit 1 (MLD) */
};

void ip6_input(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len);
/* Dispatch a validated datagram: 58 -> icmp6_input; 6 -> tcp6_input;
 * 17 -> udp6_input; anything else a parameter problem. */
void ip6_deliver(struct mcore *c, const struct ip6_rx *rx);
/* Choose interface, source and path MTU for @p dst. @p src may be all-zero
 * (chosen here, RFC 6724 simplified: an address of the destination's
 * scope, longest matching prefix) or one of ours (it picks the interface,
 * which is how a link-local destination's zone is given). Returns 0,
 * MOAT_E_NETUNREACH (no on-link prefix, no default router),
 * MOAT_E_ADDRNOTAVAIL (no usable source), MOAT_E_HOSTUNREACH (::, ::1). */
int  ip6_route(struct mcore *c, const uint8_t dst[16], unsigned *ifx, uint8_t src[16],
               uint16_t *mtu);
/* Start a datagram of @p l4_len upper-layer bytes to @p dst from @p src
 * (all-zero: chosen). Returns 0, a route error or MOAT_E_MSGSIZE. */
int  ip6_tx_begin(struct mcore *c, struct ip6_tx *tx, const uint8_t src[16],
                  const uint8_t dst[16], size_t l4_len);
/* Finish and send it: fragments when l4_len exceeds the path MTU (unless
 * IP6_TX_NOFRAG), queues behind neighbour discovery when needed. Returns 0
 * or an error; the datagram is gone either way (drops counted). */
int  ip6_tx_end(struct mcore *c, struct ip6_tx *tx, uint8_t proto, size_t l4_len,
                unsigned flags);
void ip6_tx_cancel(struct mcore *c, struct ip6_tx *tx);
/* The pseudo-header (RFC 8200 8.1) as a folded 16-bit ones' complement sum,
 * NOT complemented: cksum_fold(cksum_add(ip6_pseudo_sum(...), l4, len)) is
 * the checksum to store, and 0 when checking a received one. */
uint16_t ip6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t proto);
/* One of our unicast addresses (tentative and duplicate ones are not). */
bool ip6_is_ours(const struct mcore *c, const uint8_t a[16]);
/* Interface @p ifx's usable link-local address; false if none (yet). */
bool ip6_ll_addr(const struct mcore *c, unsigned ifx, uint8_t out[16]);
/* Write the 40-byte fixed header at @p h (flow label 0). */
void ip6_header(uint8_t *h, uint8_t tclass, size_t plen, uint8_t nh, uint8_t hlim,
                const uint8_t src[16], const uint8_t dst[16]);
/* Send an IPv6 datagram already built in @p dg (header included) on @p ifx
 * via @p nexthop, fragmenting to @p mtu when allowed. Used by the ND queue. */
int  ip6_output_raw(struct mcore *c, unsigned ifx, const uint8_t nexthop[16],
                    const uint8_t *dg, size_t len, size_t mtu, bool may_frag);
/* Small address helpers. */
static inline bool ip6_is_zero(const uint8_t a[16])
{
    static const uint8_t z[16];
    return memcmp(a, z, 16) == 0;
}
static inline bool ip6_is_mcast(const uint8_t a[16]) { return a[0] == 0xff; }
static inline bool ip6_is_ll(const uint8_t a[16]) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }
static inline bool ip6_eq(const uint8_t a[16], const uint8_t b[16]) { return memcmp(a, b, 16) == 0; }
bool ip6_prefix_eq(const uint8_t a[16], const uint8_t b[16], unsigned plen);
/* ff02::1:ffXX:XXXX for @p a. */
void ip6_solicited_node(const uint8_t a[16], uint8_t out[16]);
/* 33:33 + the group's low 32 bits (RFC 2464 7). */
void ip6_mcast_mac(const uint8_t group[16], uint8_t mac[6]);
/* Does interface @p ifx listen to multicast group @p g (all-nodes, a
 * solicited-node group of one of its addresses, tentative ones included)? */
bool ip6_group_member(const struct mcore *c, unsigned ifx, const uint8_t g[16]);
/* The upper-layer hooks: tcp_in.c (tcp_none.c without TCP) and udp.c. */
void tcp6_input(struct mcore *c, const struct ip6_rx *rx);
void udp6_input(struct mcore *c, const struct ip6_rx *rx);
/* An ICMPv6 error (dest unreachable, packet too big, time exceeded,
 * parameter problem) about a datagram we sent; @p param is bytes 4..7
 * (the MTU for a packet too big, after ip6.c lowered the path MTU). */
void tcp6_icmp_error(struct mcore *c, const struct ip6_quote *q, uint8_t type, uint8_t code,
                     uint32_t param);
void udp6_icmp_error(struct mcore *c, const struct ip6_quote *q, uint8_t type, uint8_t code,
                     uint32_t param);
/* Path MTU to @p dst (interface MTU when nothing was learnt). */
uint16_t ip6_pmtu_get(struct mcore *c, unsigned ifx, const uint8_t dst[16]);
void ip6_pmtu_set(struct mcore *c, const uint8_t dst[16], uint32_t mtu);
/* Set up interface state (mcore_init): link-local, static addresses. */
void ip6_init(struct mcore *c);

/* ---- ip6_reass.c -------------------------------------------------------- */

size_t reass6_mem_size(const struct moat_config *cfg);
void reass6_init(struct mcore *c, void *mem);
/* A datagram with a non-atomic fragment header at @p foff (bytes from the
 * start; @p nhpos: offset of the next-header byte that named it). */
void reass6_input(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len,
                  size_t foff, size_t nhpos);
uint64_t reass6_poll(struct mcore *c);
void reass6_shutdown(struct mcore *c);
/* Continue input of a whole (reassembled or unfragmented) datagram. */
void ip6_input_dgram(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len,
                     bool was_frag);

/* ---- icmp6.c ------------------------------------------------------------ */

#define ICMP6_UNREACH      1u
#define ICMP6_PKT_TOO_BIG  2u
#define ICMP6_TIME_EXCEEDED 3u
#define ICMP6_PARAM_PROB   4u
#define ICMP6_ECHO         128u
#define ICMP6_ECHO_REPLY   129u
#define ICMP6_UNREACH_PORT 4u

void icmp6_input(struct mcore *c, const struct ip6_rx *rx);
/* Send an ICMPv6 error about @p rx (quotes as much as fits in 1280 bytes),
 * subject to RFC 4443 2.4 (e): never about errors, multicast (except packet
 * too big and parameter problem code 2), unspecified/multicast sources; and
 * to the rate limit (cfg.icmp_err_per_s, a token bucket). */
void icmp6_send_error(struct mcore *c, const struct ip6_rx *rx, uint8_t type, uint8_t code,
                      uint32_t param);
/* Build and send an ICMPv6 message of @p len bytes at @p msg (checksum
 * filled here) from @p src (zero: chosen; :: allowed for DAD with
 * IP6_TX_HLIM255 on interface @p ifx's multicast) to @p dst. */
int icmp6_send(struct mcore *c, unsigned ifx, const uint8_t src[16], const uint8_t dst[16],
               const uint8_t *msg, size_t len, unsigned flags);

/* ---- nd.c --------------------------------------------------------------- */

size_t nd_mem_size(const struct moat_config *cfg);
void nd_init(struct mcore *c, void *mem);
/* ICMPv6 types 130..137 (MLD queries, RS/RA/NS/NA/redirect). */
void nd_input(struct mcore *c, const struct ip6_rx *rx);
/* Resolved link address of @p nexthop on @p ifx (multicast mapped here). */
bool nd_lookup(struct mcore *c, unsigned ifx, const uint8_t nexthop[16], uint8_t mac[6]);
/* Queue a complete IPv6 datagram (takes @p p) for @p nexthop and solicit. */
void nd_queue(struct mcore *c, unsigned ifx, const uint8_t nexthop[16], struct pkt *p);
/* Timers: NUD, DAD, router solicitation, MLD, lifetimes. */
uint64_t nd_poll(struct mcore *c);
void nd_shutdown(struct mcore *c);
/* Default router for @p ifx (any interface if ifx >= n_ifs); false if none. */
bool nd_default_router(struct mcore *c, unsigned *ifx, uint8_t out[16]);
/* Is @p dst on-link for @p ifx (a prefix of an address or from an RA)? */
bool nd_on_link(const struct mcore *c, unsigned ifx, const uint8_t dst[16]);
/* Interface @p ifx's addresses, router and MTU for moat_stats. */
void ip6_info(const struct mcore *c, unsigned ifx, struct moat_ip6_info *out);
/* Add an address (tentative; DAD starts at the next poll). */
int nd_addr_add(struct mcore *c, unsigned ifx, const uint8_t a[16], uint8_t plen,
                uint8_t origin, uint64_t preferred_until, uint64_t valid_until);
/* Draw interface @p ifx's start delays (ip6_init, after its addresses). */
void nd_start_delays(struct mcore *c, unsigned ifx);

#endif
