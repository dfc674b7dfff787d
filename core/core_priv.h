/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces between the core's modules, and struct mcore, which
 * holds ALL of a stack's mutable state. Nothing here is seen outside core/
 * (backends and ports use core/core.h).
 *
 * Module map (one concern per file):
 *   bytes.h     big-endian loads and stores
 *   cksum.c     internet checksum
 *   pkt.c       fixed-size packet buffer pool (ARP queue, reassembly)
 *   eth.c       Ethernet II parse/emit, input demux
 *   arp.c       ARP cache, resolution, pending queues, responder
 *   ip4.c       IPv4 input validation, routing, output, fragmentation
 *   reass.c     what IPv4 and IPv6 reassembly share
 *   ip4_reass.c IPv4 reassembly
 *   icmp.c      ICMP echo, errors (generation with rate limit, delivery)
 *   udp.c       UDP input/output, datagram rings
 *   dhcp.c      DHCPv4 client (one per interface with dhcp = 1)
 *   ip6.c       IPv6 input (extension headers), routing, output, fragmentation
 *   ip6_reass.c IPv6 reassembly (RFC 8200 4.5, RFC 5722)
 *   icmp6.c     ICMPv6 echo, errors (rate-limited), Packet Too Big -> PMTU
 *   nd.c        NDP neighbour cache and NUD, routers, prefixes, DAD, SLAAC, MLDv2
 *   sock.c      socket slots, handles, ports, status words
 *   tcp*.c      TCP (see tcp.h)
 *   core.c      init, poll, the ctl-ring dispatcher, stats
 */
#ifndef MOAT_CORE_PRIV_H
#define MOAT_CORE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "moat/moat.h"
#include "moat/socket.h"
#include "boundary.h"
#include "bytes.h"
#include "cksum.h"
#include "core.h"
#include "hdr.h"
#include "ring.h"

/* ---- limits ---------------------------------------------------------- */

#define MCORE_ETH_HLEN   14u
#define MCORE_IP_HLEN    20u          /* we never send IP options */
#define MCORE_IP_MAXLEN  65535u
/* The largest datagram this configuration builds or reassembles
 * (moat_config.ip_max_datagram; 0: MCORE_IP_MAXLEN). */
#define MCORE_IP_MAX(cfg) ((cfg)->ip_max_datagram ? (cfg)->ip_max_datagram : MCORE_IP_MAXLEN)
#define MCORE_PKT_DATA   2048u        /* one frame of MTU <= 2000 */
#define MCORE_MAX_MTU    9000u

/* ---- struct mcore ---------------------------------------------------- */

struct mc_if {
    uint32_t ip, mask, gw;      /* host order; mask from prefix */
    uint8_t mac[6];
    uint16_t mtu;
    struct moat_link *link;
};

/* Packet buffer: private core memory, never shared. */
struct pkt {
    struct pkt *next;
    uint64_t t;                 /* user: timestamp */
    uint32_t aux;               /* user: e.g. next hop */
    uint16_t len;               /* bytes used in data[] */
    uint16_t off;               /* user: offset */
    uint8_t data[MCORE_PKT_DATA];
};

struct pkt_pool {
    struct pkt *free;
    uint32_t total, in_use;
};

struct arp_entry {
    uint32_t ip;                /* 0: free */
    uint8_t mac[6];
    uint8_t ifx;
    uint8_t state;              /* ARP_FREE, ARP_PENDING, ARP_RESOLVED, ARP_STATIC */
    uint8_t tries;              /* requests sent while pending */
    uint8_t nq;                 /* packets queued */
    uint64_t expires;           /* resolved: end of life; pending: next retry */
    uint64_t created;           /* for "evict the oldest" */
    struct pkt *q_head, *q_tail;
};

struct arp_state {
    struct arp_entry *tab;
    uint32_t n;
    uint64_t next_due;
};

struct reass_slot;              /* ip4_reass.c */

struct ip4_state {
    uint16_t next_id;
    struct reass_slot *reass;
    uint32_t n_reass;
    uint64_t reass_due;
};

struct icmp_state {
    uint64_t tokens_at;         /* time the bucket was last refilled */
    uint32_t tokens;
};

struct tcp_state;               /* tcp.c */
struct tcp_cb;                  /* tcp.c */

/* ---- IPv6 state (ip6.c, ip6_reass.c, icmp6.c, nd.c) ---------------------- */

#define MCORE_IP6_HLEN   40u
#define MCORE_IP6_ADDRS  MOAT_IP6_ADDRS  /* per interface: link-local, static, SLAAC */
#define MCORE_IP6_ROUTERS 4u
#define MCORE_IP6_PREFIXES 8u
#define MCORE_IP6_PMTU   8u             /* destinations with a learnt path MTU */

enum ip6_addr_state {           /* = moat_ip6_info.state */
    IP6A_NONE = 0, IP6A_TENTATIVE, IP6A_PREFERRED, IP6A_DEPRECATED, IP6A_DUPLICATE
};
enum ip6_addr_origin { IP6O_NONE = 0, IP6O_LINKLOCAL, IP6O_STATIC, IP6O_SLAAC };

struct ip6_addr {
    uint8_t a[16];
    uint8_t plen;
    uint8_t state;              /* enum ip6_addr_state */
    uint8_t origin;             /* enum ip6_addr_origin */
    uint8_t dad_left;           /* DAD solicitations still to send */
    uint64_t dad_due;           /* next DAD step (0: at the next poll) */
    uint64_t preferred_until;   /* MCORE_NEVER: infinite */
    uint64_t valid_until;
};

struct mc_if6 {
    uint8_t on;                 /* IPv6 enabled on this interface */
    uint8_t no_slaac;
    uint8_t rs_left;            /* router solicitations still to send */
    uint8_t mld_pending;        /* an MLDv2 report is due at mld_due */
    uint8_t cur_hlim;           /* from RAs; 0: cfg.ip_ttl */
    uint16_t mtu;               /* IPv6 link MTU (RA MTU option may lower it) */
    uint32_t reachable_ms, retrans_ms;
    uint32_t changes;           /* counts addresses gained or lost */
    uint64_t rs_due, mld_due;
    struct ip6_addr addr[MCORE_IP6_ADDRS];
    /* Random delays drawn at start (RFC 4862 5.4.2, RFC 4861 6.3.7): the
     * first report and DAD solicitation wait start_delay_us from the
     * first poll (start_pending until then), the first RS rs_delay_us
     * after the link-local address became usable. */
    uint8_t start_pending;
    uint32_t start_delay_us, rs_delay_us;
};

struct nd_entry {
    uint8_t ip[16];
    uint8_t mac[6];
    uint8_t ifx;
    uint8_t state;              /* ND_FREE, INCOMPLETE, REACHABLE, STALE, DELAY, PROBE */
    uint8_t is_router;
    uint8_t probes;             /* solicitations sent in INCOMPLETE/PROBE */
    uint8_t nq;                 /* packets queued (INCOMPLETE) */
    uint64_t due;               /* next state change or retransmission */
    uint64_t created;
    struct pkt *q_head, *q_tail;
};

struct ip6_router {
    uint8_t ip[16];             /* link-local; all-zero: free slot */
    uint8_t ifx;
    uint64_t expires;
};

struct ip6_prefix {
    uint8_t p[16];
    uint8_t plen;               /* 0: free slot */
    uint8_t ifx;
    uint64_t expires;           /* on-link until (MCORE_NEVER: infinite) */
};

struct ip6_pmtu {
    uint8_t dst[16];
    uint16_t mtu;               /* 0: free slot */
    uint64_t expires;
};

struct reass6_slot;             /* ip6_reass.c */

struct ip6_state {
    uint32_t frag_id;
    struct nd_entry *nd;
    uint32_t n_nd;
    uint64_t nd_due;            /* earliest nd.c timer (cache, DAD, RS, MLD, lifetimes) */
    struct ip6_router routers[MCORE_IP6_ROUTERS];
    struct ip6_prefix prefixes[MCORE_IP6_PREFIXES];
    struct ip6_pmtu pmtu[MCORE_IP6_PMTU];
    struct reass6_slot *reass;
    uint32_t n_reass;
    uint64_t reass_due;
    struct icmp_state err_bucket;   /* ICMPv6 errors (icmp_bucket_take) */
};

/* DHCP client of one interface (dhcp.c). Times are absolute, in us. */
struct dhcp_if {
    uint8_t state;              /* enum moat_dhcp_state; MOAT_DHCP_OFF: static */
    uint8_t tries;              /* transmissions in the current state */
    uint8_t probes;             /* ARP probes sent for the offered address */
    uint32_t xid;               /* transaction id of the current exchange */
    uint32_t server;            /* server identifier (option 54) */
    uint32_t offered;           /* yiaddr of the offer / ACK being taken */
    uint32_t prefix, router, mtu;
    uint32_t dns[MOAT_DHCP_DNS_MAX];
    uint32_t lease_s, t1_s, t2_s; /* as used (after dhcp_lease_max_s) */
    uint32_t changes;
    uint64_t t_begin;           /* start of this acquisition (the secs field) */
    uint64_t t_req;             /* when the REQUEST that got the ACK was sent */
    uint64_t t_lease;           /* lease start (RFC 2131 4.4.1: its REQUEST) */
    uint64_t t_next;            /* next timer of any kind, MCORE_NEVER: none */
};

struct msock {
    uint16_t gen;               /* handle generation, never 0 */
    uint8_t type;               /* 0 free, MOAT_SOCK_DGRAM, MOAT_SOCK_STREAM */
    uint8_t app_owned;          /* the application holds a handle */
    uint8_t bound, connected;
    uint8_t nodelay, keepalive, reuseaddr, broadcast;
    uint8_t tx_dead;            /* UDP: the application broke its send ring */
    int32_t linger_ms;
    uint32_t rcvbuf, sndbuf;    /* effective ring sizes */
    uint32_t lip, rip;          /* host order */
    uint16_t lport, rport;
    uint32_t status;            /* private copy of sh->status */
    struct moat_sock_sh *sh;
    struct moat_ring rx;        /* we produce */
    struct moat_ring tx;        /* we consume */
    struct tcp_cb *tcb;         /* STREAM only, owned by tcp.c */
    uint32_t dnext, dprev;      /* DGRAM: list of datagram sockets (slot + 1) */
    uint8_t buf_lock;           /* SOCK_RCVBUF_SET: the app chose RCVBUF (no autotuning) */
    /* IPv6 (UDP only so far; sock.c, udp.c). l6: bound to the IPv6 address
     * lip6 (lip stays 0); lip6 all-zero (::) is the dual-stack any address,
     * which also takes IPv4 datagrams. r6: connected to the IPv6 peer rip6,
     * rscope its zone (interface + 1, for a link-local peer; 0: none). */
    uint8_t l6, r6, rscope;
    uint8_t lip6[16], rip6[16];
};
#define SOCK_RCVBUF_SET 1u

struct mcore {
    struct moat_config cfg;
    struct mcore_env env;
    struct mc_if ifs[MOAT_MAX_IFS];
    unsigned n_ifs;
    struct moat_stats stats;
    uint64_t now;               /* time of the current input/poll */
    int app_wakeup;

    uint8_t *scratch;           /* one IP datagram being built or reassembled */
    uint8_t *scratch2;
    struct pkt_pool pkts;
    struct arp_state arp;
    struct ip4_state ip;
    struct icmp_state icmp;

    struct msock *socks;
    uint32_t n_socks;
    /* Slots [sock_hi, n_socks) have never been allocated (sock_alloc takes
     * the lowest free slot), so per-poll and per-packet scans over the
     * sockets stop at sock_hi instead of walking every configured slot. */
    uint32_t sock_hi;
    uint32_t sock_used;         /* slots allocated now */
    uint32_t sock_free_lo;      /* no free slot below this index */
    /* Datagram sockets, linked (slot + 1, 0 = end): UDP's per-datagram and
     * per-poll loops walk these, not every slot (TCP connections can be
     * tens of thousands). */
    uint32_t dgram_head;
    uint16_t port_seed;
    struct moat_ring ctl;       /* we consume requests */
    struct moat_ring evt;       /* we produce completions */
    int ctl_dead;               /* the application violated the protocol */

    struct tcp_state *tcp;
    struct dhcp_if dhcp[MOAT_MAX_IFS];  /* dhcp.c; state OFF on static interfaces */
    uint64_t prng[2];           /* xorshift128+ state, seeded from env.rng */
    uint32_t reass_pkts;        /* pkt buffers held by reassembly */
    uint8_t *txbuf[MOAT_MAX_IFS]; /* link buffer acquired and not committed */
    uint32_t in_flags;          /* MOAT_LINK_RX_* of the frame being input */
    /* mcore_input_split: the payload of the frame being input, in memory
     * the link may still write (NULL: the frame is contiguous). Read once,
     * by tcp_rcv_data's copy into the socket ring (eth.c says why). */
    const uint8_t *in_pay;
    struct mc_if6 ifs6[MOAT_MAX_IFS];   /* ip6.c/nd.c; on = 0: no IPv6 there */
    struct ip6_state ip6;
};

#define MCORE_DROP(c, reason) ((c)->stats.drops[MOAT_DROP_##reason]++)

/* ---- helpers from core.c --------------------------------------------- */

uint32_t mcore_rand32(struct mcore *c);
void mcore_random(struct mcore *c, void *buf, size_t len);
static inline void mcore_wake_app(struct mcore *c) { c->app_wakeup = 1; }
/* Something poll reports for @p s may have changed: set its ready hint
 * (core/boundary.h moat_ready_mark; after the change is stored) and wake
 * the application. */
static inline void mcore_sock_changed(struct mcore *c, struct msock *s)
{
    moat_ready_mark(c->env.region, &c->env.layout, (uint32_t)(s - c->socks));
    mcore_wake_app(c);
}
static inline uint64_t mcore_min(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ---- cksum.c: cksum.h (included above) ------------------------------------ */

/* ---- pkt.c ------------------------------------------------------------ */

size_t pkt_mem_size(uint32_t n);
void pkt_init(struct mcore *c, void *mem, uint32_t n);
struct pkt *pkt_alloc(struct mcore *c);         /* NULL when exhausted (counted) */
void pkt_free(struct mcore *c, struct pkt *p);  /* takes p; NULL is fine */
void pkt_free_list(struct mcore *c, struct pkt *head);
/* Append @p p (taken) to the queue head/tail of *n packets; when it holds
 * @p max already, the oldest is freed first and true returned (ARP and
 * neighbour discovery queues count that as a drop). */
bool pkt_queue_push(struct mcore *c, struct pkt **head, struct pkt **tail, uint8_t *n,
                    uint32_t max, struct pkt *p);

/* ---- eth.c ------------------------------------------------------------ */

#define ETH_TYPE_IP4 0x0800u
#define ETH_TYPE_ARP 0x0806u
#define ETH_TYPE_IP6 0x86ddu
/* Write an Ethernet header at @p f. */
extern const uint8_t eth_bcast[6];
/* A transmit buffer of interface @p ifx's link (counts LINK_TX_FULL). */
int eth_tx_acquire(struct mcore *c, unsigned ifx, uint8_t **buf, size_t *cap);
/* Send the acquired buffer's first @p len bytes (padded to the Ethernet
 * minimum); counts frames_out or LINK_TX_ERROR. */
int eth_tx_commit(struct mcore *c, unsigned ifx, size_t len);
/* MAC of @p nexthop on @p ifx for broadcast/multicast next hops; false
 * for unicast ones (those need ARP). */
bool eth_group_mac(const struct mcore *c, unsigned ifx, uint32_t nexthop, uint8_t mac[6]);

/* ---- arp.c ------------------------------------------------------------ */

size_t arp_mem_size(const struct moat_config *cfg);
void arp_init(struct mcore *c, void *mem);
void arp_input(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len);
/* Look up @p nexthop; fills @p mac and returns true if resolved. */
bool arp_lookup(struct mcore *c, unsigned ifx, uint32_t nexthop, uint8_t mac[6]);
/* Queue a complete IP datagram (takes @p p, len = IP bytes at data+14)
 * for @p nexthop and send/refresh the ARP request. */
void arp_queue(struct mcore *c, unsigned ifx, uint32_t nexthop, struct pkt *p);
uint64_t arp_poll(struct mcore *c);
void arp_announce(struct mcore *c, unsigned ifx);
/* RFC 5227 probe for @p ip: a request with sender address 0.0.0.0 (the
 * interface holds no address while probing; dhcp.c). */
void arp_probe(struct mcore *c, unsigned ifx, uint32_t ip);

/* ---- ip4.c ------------------------------------------------------------ */

#define IP_PROTO_ICMP 1u
#define IP_PROTO_TCP  6u
#define IP_PROTO_UDP  17u

struct ip4_rx {
    uint32_t src, dst;
    uint8_t proto, ttl, tos;
    uint8_t ifx;
    uint8_t to_bcast;           /* dst was broadcast or multicast */
    uint8_t was_frag;           /* reassembled */
    uint8_t csum_ok;            /* the link vouched for the TCP/UDP checksum
                                   (MOAT_LINK_RX_CSUM_OK; never for fragments) */
    const uint8_t *dgram;       /* the whole datagram: header + payload */
    size_t hdr_len, tot_len;
    /* Non-NULL (mcore_input_split): dgram holds the IP and TCP headers
     * only and the TCP payload is here, in link memory; only an
     * unfragmented TCP datagram with csum_ok gets this far with it. */
    const uint8_t *pay;
};

/* What an ICMP error quotes of one of our own datagrams. */
struct ip4_quote {
    uint32_t src, dst;          /* of the quoted (our) datagram */
    uint8_t proto;
    const uint8_t *l4;          /* quoted transport bytes */
    size_t l4_len;              /* at least 8 */
};

enum { IP4_TX_DF = 1u };

/* An outgoing datagram being built. */
struct ip4_tx {
    uint8_t *l4;                /* write the transport header + payload here */
    size_t l4_cap;
    uint32_t src, dst, nexthop;
    unsigned ifx;
    uint8_t tos;                /* TOS/ECN byte; 0 from ip4_tx_begin (TCP sets ECT) */
    /* private to ip4.c */
    uint8_t *frame;
    int direct;                 /* frame is a link buffer, sent as is */
};

void ip4_input(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len);
/* Deliver a validated (possibly reassembled) datagram to its protocol. */
void ip4_deliver(struct mcore *c, const struct ip4_rx *rx);
/* Choose interface, source and next hop for @p dst.
 * Returns 0, MOAT_E_NETUNREACH, MOAT_E_HOSTUNREACH (loopback, 0.0.0.0). */
int ip4_route(struct mcore *c, uint32_t dst, unsigned *ifx, uint32_t *src,
              uint32_t *nexthop);
/* Start a datagram of @p l4_len transport bytes to @p dst from @p src
 * (0: chosen by the route). Returns 0, a route error, MOAT_E_MSGSIZE. */
int ip4_tx_begin(struct mcore *c, struct ip4_tx *tx, uint32_t src, uint32_t dst,
                 size_t l4_len);
/* Finish and send it (fragmenting or queueing for ARP as needed).
 * Returns 0 or an error (the datagram is gone either way; drops counted). */
int ip4_tx_end(struct mcore *c, struct ip4_tx *tx, uint8_t proto, size_t l4_len,
               unsigned flags);
void ip4_tx_cancel(struct mcore *c, struct ip4_tx *tx);
/* Start a datagram to 255.255.255.255 on interface @p ifx from @p src,
 * which may be 0.0.0.0 (a host without an address, RFC 2131 4.1; the
 * DHCP client). Returns 0, MOAT_E_MSGSIZE or MOAT_E_NOBUFS (no link
 * buffer). Finish with ip4_tx_end. */
int ip4_tx_begin_bcast(struct mcore *c, struct ip4_tx *tx, unsigned ifx, uint32_t src,
                       size_t l4_len);
/* Send an IP datagram already built in @p dg (header included) on @p ifx
 * to @p nexthop: fragments if needed. Used by the ARP queue flush. */
int ip4_output_raw(struct mcore *c, unsigned ifx, uint32_t nexthop,
                   const uint8_t *dg, size_t len);
/* Is @p ip one of ours / a broadcast for one of our interfaces? */
bool ip4_is_ours(const struct mcore *c, uint32_t ip);
bool ip4_is_bcast(const struct mcore *c, uint32_t ip);
/* Is @p ip the directed broadcast of @p ifp's subnet (never for /31, /32)? */
bool ip4_subnet_bcast(const struct mc_if *ifp, uint32_t ip);
/* Fill @p out with what interface @p ifx holds now (address, prefix,
 * router, MTU), state MOAT_DHCP_OFF and no lease; all zero for an
 * interface that does not exist. The DHCP client (dhcp.c, or dhcp_none.c
 * in a core without it) adds its lease on top. */
void ip4_if_info(const struct mcore *c, unsigned ifx, struct moat_dhcp_info *out);
/* Which interface has @p ip as its address or subnet broadcast (-1 if none). */
int ip4_if_of(const struct mcore *c, uint32_t ip);

/* ---- ip4_reass.c ------------------------------------------------------ */

size_t reass_mem_size(const struct moat_config *cfg);
void reass_init(struct mcore *c, void *mem);
/* Feed one fragment (validated header). When it completes a datagram,
 * delivers it. */
void reass_input(struct mcore *c, const struct ip4_rx *rx);
uint64_t reass_poll(struct mcore *c);
/* Drop every datagram in progress (stack shutdown). */
void reass_shutdown(struct mcore *c);

/* ---- reass.c: what IPv4 and IPv6 reassembly share ----------------------- */

/* Fragment lists: packets sorted by offset (p->aux), data from p->off to
 * p->len; each counts in reass_pkts. */
static inline size_t frag_len(const struct pkt *p) { return (size_t)p->len - p->off; }
void frag_list_free(struct mcore *c, struct pkt *head);
void frag_list_insert(struct pkt **head, struct pkt *p);
/* No hole up to @p total (0: the last fragment has not come). */
bool frag_list_complete(const struct pkt *head, uint32_t total);
/* Is [off, off+n) (@p last: the final piece) consistent with the end we
 * know (@p total, 0: unknown) and the data held? */
bool frag_list_fits(const struct pkt *head, uint32_t total, size_t off, size_t n, bool last);

/* A datagram in progress: the first member of each family's slot, which
 * adds its key. */
struct frag_slot {
    uint8_t used;
    uint8_t ifx;
    uint8_t nfrags;
    uint8_t dead;               /* IPv6: an overlap was seen, drop the rest until expiry */
    uint32_t total;             /* payload length once the last fragment came; 0 before */
    uint64_t expires;
    struct pkt *frags;          /* the fragment list */
};
/* A family's table: @p n slots of @p stride bytes, and its next expiry. */
struct frag_table {
    void *slots;
    size_t stride;
    uint32_t n;
    uint64_t *due;
};
typedef bool (*frag_match_fn)(const struct frag_slot *s, const void *key);
/* The slot of the datagram @p key names (@p match), or a new one on
 * interface @p ifx (*fresh: the caller fills its key): a free slot, else
 * the oldest datagram gives way (FRAG_NOMEM). Its timeout starts. */
struct frag_slot *frag_slot_get(struct mcore *c, const struct frag_table *t,
                                frag_match_fn match, const void *key, unsigned ifx,
                                bool *fresh);
/* A packet buffer for the next fragment of @p s; NULL after dropping the
 * whole datagram (too many fragments or reassembly's half of the pool
 * used: FRAG_NOMEM; or the pool empty). Counts in reass_pkts. */
struct pkt *frag_slot_pkt(struct mcore *c, const struct frag_table *t, struct frag_slot *s);
/* Add @p p ([off, off+n), @p last: the final piece) to @p s. */
void frag_slot_add(struct frag_slot *s, struct pkt *p, size_t off, size_t n, bool last);
/* Free the datagram: its fragments and the whole slot (key too). */
void frag_slot_free(struct mcore *c, const struct frag_table *t, struct frag_slot *s);
/* Expire datagrams past their timeout (@p expire counts the drop and sends
 * what the family sends, then the slot is freed); returns the next expiry. */
typedef void (*frag_expire_fn)(struct mcore *c, struct frag_slot *s);
uint64_t frag_slots_poll(struct mcore *c, const struct frag_table *t, frag_expire_fn expire);
void frag_slots_shutdown(struct mcore *c, const struct frag_table *t);

/* ---- icmp.c ----------------------------------------------------------- */

#define ICMP_ECHO_REPLY   0u
#define ICMP_UNREACH      3u
#define ICMP_ECHO         8u
#define ICMP_TIME_EXCEEDED 11u
#define ICMP_UNREACH_NET   0u
#define ICMP_UNREACH_HOST  1u
#define ICMP_UNREACH_PROTO 2u
#define ICMP_UNREACH_PORT  3u
#define ICMP_UNREACH_NEEDFRAG 4u

void icmp_input(struct mcore *c, const struct ip4_rx *rx);
/* Send an ICMP error about @p rx (quotes its header and 8 bytes), subject
 * to the RFC 1122 never-send rules and the rate limit. */
void icmp_send_error(struct mcore *c, const struct ip4_rx *rx, uint8_t type,
                     uint8_t code, uint32_t rest);
/* Take a token from bucket @p b (cfg.icmp_err_per_s per second, as many
 * at most); false when none is left. ICMPv4 and ICMPv6 have one each. */
bool icmp_bucket_take(struct mcore *c, struct icmp_state *b);

/* ---- udp.c ------------------------------------------------------------ */

void udp_input(struct mcore *c, const struct ip4_rx *rx);
void udp_icmp_error(struct mcore *c, const struct ip4_quote *q, uint8_t type,
                    uint8_t code);
/* Send the datagrams waiting in UDP send rings. */
void udp_poll(struct mcore *c);
/* Send everything waiting in @p s's send ring (before a close). */
void udp_flush(struct mcore *c, struct msock *s);

/* ---- sock.c ----------------------------------------------------------- */

int sock_init(struct mcore *c, void *mem);
size_t sock_mem_size(const struct moat_config *cfg);
/* Allocate a free slot of @p type (rings reset). NULL when none. */
struct msock *sock_alloc(struct mcore *c, uint8_t type);
/* Free a slot: the handle goes stale, status cleared. */
void sock_free(struct mcore *c, struct msock *s);
/* Handle <-> slot. sock_get returns NULL for a stale or bad handle. */
struct msock *sock_get(struct mcore *c, uint32_t handle);
uint32_t sock_handle(const struct mcore *c, const struct msock *s);
static inline uint32_t sock_idx(const struct mcore *c, const struct msock *s)
{
    return (uint32_t)(s - c->socks);
}
/* Bind @p s to lip:lport (port 0: ephemeral). Checks conflicts among
 * sockets of the same type. Returns 0, ADDRINUSE, ADDRNOTAVAIL. */
int sock_bind(struct mcore *c, struct msock *s, uint32_t lip, uint16_t lport);
/* The same for an IPv6 address (all-zero: dual-stack any). Datagram
 * sockets only for now: MOAT_E_NOTSUP for a stream socket. */
int sock_bind6(struct mcore *c, struct msock *s, const uint8_t lip6[16], uint16_t lport);
/* Status word: set and clear bits, publish to the application. */
void sock_status(struct mcore *c, struct msock *s, uint32_t set, uint32_t clear);
/* Post a pending error (MOAT_SS_ERR). */
void sock_error(struct mcore *c, struct msock *s, int err);

/* ---- dhcp.c ----------------------------------------------------------- */

/* A DHCP message as the client reads it (only what it uses). */
struct dhcp_repr {
    uint8_t op;                 /* 1 request, 2 reply */
    uint8_t type;               /* option 53; 0: none */
    uint32_t xid;
    uint16_t flags;
    uint32_t ciaddr, yiaddr;
    uint8_t chaddr[6];
    uint32_t server;            /* option 54; 0: none */
    uint32_t mask;              /* option 1; 0: none */
    uint32_t router;            /* first of option 3; 0: none */
    uint32_t dns[MOAT_DHCP_DNS_MAX];
    uint32_t mtu;               /* option 26; 0: none */
    uint32_t lease, t1, t2;     /* options 51, 58, 59; 0: none */
};

/* Parse @p len bytes of a BOOTP/DHCP message (the UDP payload) with every
 * length checked, option overload (option 52) included. Returns 0 or
 * MOAT_E_INVAL. Pure: no state, used by the fuzz and unit tests too. */
int dhcp_parse(const uint8_t *p, size_t len, struct dhcp_repr *r);
/* Set up the clients of the interfaces configured with dhcp (mcore_init). */
void dhcp_init(struct mcore *c);
/* A UDP datagram to port 68: returns true if a DHCP client took it. */
bool dhcp_input(struct mcore *c, const struct ip4_rx *rx, uint16_t sport,
                const uint8_t *data, size_t len);
/* An ARP packet on @p ifx while its client probes (conflict detection). */
void dhcp_arp_input(struct mcore *c, unsigned ifx, uint16_t op, const uint8_t sha[6],
                    uint32_t spa, uint32_t tpa);
/* Timers: retransmissions, probes, T1, T2, expiry. Returns the next due time. */
uint64_t dhcp_poll(struct mcore *c);
/* Fill @p out with interface @p ifx's address and lease. */
void dhcp_info(const struct mcore *c, unsigned ifx, struct moat_dhcp_info *out);

#include "ip6_priv.h"   /* the IPv6 layer's interfaces: ip6, ip6_reass, icmp6, nd */
#include "tcp.h"

#endif
