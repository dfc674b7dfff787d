/* SPDX-License-Identifier: MIT */
/*
 * The unit-test fixture: one protocol core (core/core.h) driven entirely by
 * the test, single-threaded, in virtual time.
 *
 *   - struct fx bundles a config, a malloc'd socket region laid out exactly
 *     as the backends lay it out, one fake link per interface that records
 *     every transmitted frame, the core itself, a seeded RNG and the clock
 *     f->now (microseconds, only moved by fx_advance()).
 *   - Frame builders for the peer R (192.0.2.2, 02:00:c0:00:02:02) emit
 *     Ethernet, ARP, IPv4 (options, fragments, broken-header knobs), ICMP
 *     and UDP bytes with correct checksums unless told otherwise.
 *   - Parsers turn captured frames back into fields (struct fx_pkt). Every
 *     frame the core transmits is checked as it is captured (IPv4 header
 *     checksum, UDP and ICMP checksums, our source MAC); a bad one fails the
 *     test at the next fixture call.
 *   - An application side drives the socket region as libmoat's client does
 *     (requests on the ctl ring, RESP from the evt ring, datagram records in
 *     the slot rings), but in the test's own thread: fx_call() publishes a
 *     request, runs mcore_poll() and reads the answer.
 *   - fx_teardown() closes what the test left open, runs the timers past the
 *     reassembly and ARP lifetimes and asserts that every pool is idle
 *     (RES-LEAK-1).
 *
 * Tests own a struct fx on their stack: fx_init(&f) ... fx_teardown(&f).
 * Does not contain TCP helpers (tests/support/tcp_fx.*) nor Check's main
 * (tests/support/check_main.h).
 */
#ifndef MOAT_TEST_FX_H
#define MOAT_TEST_FX_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/moat.h"
#include "moat/socket.h"
#include "moat/stats.h"
#include "core/boundary.h"
#include "core/core.h"
#include "core/ring.h"

/* The template initialisers below (FX_IP, ...) set defaults and let the
 * caller override fields by designated initialisers; GCC's -Woverride-init
 * (in -Wextra) would flag exactly that intended use. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#endif

/* ---- addresses used by every suite (host byte order) ------------------ */

#define FX_IP4(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

#define FX_L_IP      FX_IP4(192, 0, 2, 1)     /* the stack under test */
#define FX_R_IP      FX_IP4(192, 0, 2, 2)     /* the peer (this harness) */
#define FX_BCAST_IP  FX_IP4(192, 0, 2, 255)
#define FX_IF1_IP    FX_IP4(198, 18, 0, 1)    /* two-interface variant */
#define FX_IF1_PEER  FX_IP4(198, 18, 0, 2)
#define FX_IF1_BCAST FX_IP4(198, 18, 0, 255)
#define FX_LIMITED_BCAST 0xffffffffu

extern const uint8_t fx_l_mac[6];      /* 02:00:c0:00:02:01 */
extern const uint8_t fx_r_mac[6];      /* 02:00:c0:00:02:02 */
extern const uint8_t fx_if1_mac[6];    /* 02:00:c6:12:00:01 */
extern const uint8_t fx_if1_peer_mac[6]; /* 02:00:c6:12:00:02 */
extern const uint8_t fx_bcast_mac[6];  /* ff:ff:ff:ff:ff:ff */
extern const uint8_t fx_zero_mac[6];

#define FX_FRAME_MAX 9100u    /* a jumbo frame plus slack */
#define FX_T0 1000000u        /* virtual time at start: 1 s, never 0 */

/* ---- the fixture ------------------------------------------------------ */

struct fx;

struct fx_frame {
    unsigned ifx;
    uint64_t t;               /* virtual time of transmission */
    size_t len;
    uint8_t *data;            /* malloc'd copy */
};

struct fx_link {
    struct moat_link link;    /* first: the core sees this */
    struct fx *f;
    unsigned ifx;
    int acquired;             /* a tx buffer is out */
    unsigned fail_tx;         /* >0: the next N tx_acquire fail (MOAT_E_AGAIN) */
    uint8_t buf[FX_FRAME_MAX];
};

struct fx_app_sock {
    uint32_t handle;          /* 0: not open */
    struct moat_ring rx;      /* app consumes */
    struct moat_ring tx;      /* app produces */
};

struct fx {
    struct moat_config cfg;
    int started;
    /* Set before fx_start to keep the core's random delay before the
     * first MLD report, DAD and router solicitation (RFC 4862 5.4.2); by
     * default the fixture turns it off (mcore_env.nd_no_start_delay) so
     * tests see them at the first poll. */
    int nd_start_delay;
    /* Set before fx_start: every ISS the core picks is iss_fixed
     * (mcore_env.tcp_iss_hook), instead of RFC 6528's. */
    int iss_hook;
    uint32_t iss_fixed;

    /* socket region, as a backend lays it out */
    void *region;
    size_t region_size;
    struct moat_layout lay;
    struct moat_ring ctl;     /* app produces requests */
    struct moat_ring evt;     /* app consumes completions */
    uint32_t next_id;
    struct fx_app_sock *socks;    /* lay.g.max_sockets entries */

    /* the peer on each interface (R on the 192.0.2.0/24 one) */
    uint32_t peer_ip[MOAT_MAX_IFS];
    uint8_t peer_mac[MOAT_MAX_IFS][6];

    /* the core */
    struct fx_link links[MOAT_MAX_IFS];
    void *core_mem;
    size_t core_len;
    struct mcore *core;
    uint64_t rng_state;

    /* virtual time */
    uint64_t now;
    uint64_t next_due;        /* what mcore_poll last returned */

    /* captured transmissions since the last fx_tx_clear() */
    struct fx_frame *tx;
    unsigned n_tx, tx_cap;
    char bad_frame[256];      /* non-empty: a captured frame failed a check */
    bool allow_zero_udp_cksum;    /* accept a transmitted UDP checksum of 0 */
    bool allow_zero_src;          /* accept IPv4 source 0.0.0.0 (a DHCP client) */

    /* teardown: how far to run the timers before checking pools (us);
     * 0 = default (past reassembly and ARP lifetimes) */
    uint64_t teardown_advance_us;
    bool skip_idle_check;     /* a suite that checks idleness itself */
};

/* Fill f->cfg with the fixture defaults: one interface L = 192.0.2.1/24,
 * MAC 02:00:c0:00:02:01, MTU 1500, small pools, fixed seed. Tests may then
 * change f->cfg before fx_start(). */
void fx_config(struct fx *f);
/* Two interfaces: IF1 (ifx 0) = 198.18.0.1/24, IF2 (ifx 1) = 192.0.2.1/24. */
void fx_config2(struct fx *f);
/* Build region, links and core from f->cfg, then do what the network
 * loop does at start: mcore_arp_announce + a first mcore_poll (the
 * gratuitous ARPs are captured, not cleared). */
void fx_start(struct fx *f);
/* fx_config + fx_start + fx_tx_clear: the usual one-interface fixture. */
void fx_init(struct fx *f);
/* fx_config2 + fx_start + fx_tx_clear. */
void fx_init2(struct fx *f);
/* Close open sockets, run timers, assert all pools idle, free everything. */
void fx_teardown(struct fx *f);
/* Free everything without any check (for tests that expect failure). */
void fx_free(struct fx *f);

/* ---- time and input ---------------------------------------------------- */

/* Run mcore_poll once at f->now. */
void fx_poll(struct fx *f);
/* Advance the clock by @p us, calling mcore_poll at every deadline that
 * falls inside the interval (bounded) -- and only then, as the network
 * loop does: a deadline the core forgets to report never fires. */
void fx_advance(struct fx *f, uint64_t us);
/* mcore_input on interface @p ifx, then mcore_poll. */
void fx_inject(struct fx *f, unsigned ifx, const void *frame, size_t len);

/* A copy of the core's counters. */
struct moat_stats fx_stats(const struct fx *f);
uint64_t fx_drop(const struct fx *f, enum moat_drop reason);
uint64_t fx_drops_total(const struct fx *f);

/* Pre-resolve the peer R (static ARP entry on interface 0; for the
 * two-interface fixture also the IF1 peer). */
void fx_arp_seed(struct fx *f);
/* Resolve @p ip on @p ifx by injecting an ARP reply (a dynamic entry). */
void fx_arp_reply_from(struct fx *f, unsigned ifx, uint32_t ip, const uint8_t mac[6]);

/* ---- captured frames ---------------------------------------------------- */

unsigned fx_ntx(const struct fx *f);
const struct fx_frame *fx_tx(const struct fx *f, unsigned i);
void fx_tx_clear(struct fx *f);
/* Assert that nothing was transmitted since the last clear. */
#define fx_expect_no_tx(f) ck_assert_uint_eq(fx_ntx(f), 0)

/* A captured (or built) frame, parsed. Pointers point into the frame. */
struct fx_pkt {
    const uint8_t *raw;
    size_t len;
    unsigned ifx;
    uint8_t eth_dst[6], eth_src[6];
    uint16_t eth_type;

    bool is_arp;
    uint16_t arp_op;
    uint8_t arp_sha[6], arp_tha[6];
    uint32_t arp_spa, arp_tpa;

    bool is_ip;                       /* EtherType IPv4, at least 20 bytes */
    int ip_err;                       /* core/hdr.h's verdict on the header
                                         (its checksum not included) */
    uint8_t ip_ver, ip_hl;            /* hl in bytes */
    uint8_t tos, ttl, proto;
    uint16_t tot_len, id;
    uint16_t frag_off;                /* in bytes */
    bool df, mf;
    uint32_t src, dst;
    const uint8_t *ip_hdr;
    const uint8_t *l4;                /* IP payload (by tot_len) */
    size_t l4_len;

    bool is_icmp;                     /* unfragmented ICMP */
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_id, icmp_seq;       /* echo */
    uint32_t icmp_rest;               /* bytes 4..7 */
    const uint8_t *icmp_body;         /* after the 8-byte header */
    size_t icmp_body_len;

    bool is_udp;                      /* unfragmented UDP */
    uint16_t sport, dport, udp_len, udp_cksum;
    const uint8_t *udp_data;
    size_t udp_data_len;
};

/* Parse @p len bytes; returns false if not even an Ethernet header. */
bool fx_parse(const uint8_t *frame, size_t len, struct fx_pkt *p);
/* Parse captured frame @p i (asserts it exists). */
struct fx_pkt fx_tx_pkt(const struct fx *f, unsigned i);
/* Check one transmitted frame; returns NULL or what is wrong. */
const char *fx_check_frame(const struct fx *f, unsigned ifx, const uint8_t *frame,
                           size_t len, char *why, size_t whylen);

/* Assertions on captured frames. */
void fx_expect_arp_request(const struct fx *f, unsigned i, uint32_t target);

/* ---- checksums ---------------------------------------------------------- */

uint16_t fx_cksum(const void *data, size_t len);  /* RFC 1071, as stored */
uint16_t fx_l4_cksum(uint32_t src, uint32_t dst, uint8_t proto, const void *l4,
                     size_t len);

/* ---- frame builders ------------------------------------------------------ */

/* Ethernet header at @p buf; returns 14. */
size_t fx_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/* An ARP packet (Ethernet/IPv4) in a frame; returns the frame length (42,
 * or 60 if @p pad). eth_dst NULL: broadcast for a request, tha for a reply. */
size_t fx_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa,
              const uint8_t tha[6], uint32_t tpa, const uint8_t *eth_dst, bool pad);

/* IPv4 header description; use FX_IP(...) for defaults. */
struct fx_ip {
    uint32_t src, dst;
    uint8_t proto, ttl, tos;
    uint16_t id;
    uint16_t frag_off;        /* bytes; must be a multiple of 8 to be valid */
    bool mf, df;
    const uint8_t *opts;      /* options bytes (padded to 4 by the caller) */
    size_t opt_len;
    /* knobs for broken headers */
    uint8_t version;          /* default 4 */
    int ihl;                  /* header 32-bit words; 0 = computed */
    int tot_len;              /* 0 = computed */
    bool bad_cksum;
    /* Ethernet */
    const uint8_t *eth_dst;   /* NULL = interface MAC */
    const uint8_t *eth_src;   /* NULL = peer MAC */
    size_t pad_to;            /* pad the frame with 0xa5 up to this length */
};

#define FX_IP(...) ((struct fx_ip){ .src = FX_R_IP, .dst = FX_L_IP, .ttl = 64, \
                                    .version = 4, .id = 0x1234, __VA_ARGS__ })

/* A frame for interface @p ifx carrying @p l4 (l4_len bytes) in an IPv4
 * header described by @p ip. Returns the frame length. */
size_t fx_ip4(const struct fx *f, unsigned ifx, uint8_t *buf, const struct fx_ip *ip,
              const void *l4, size_t l4_len);

enum fx_ck { FX_CK_OK = 0, FX_CK_ZERO, FX_CK_BAD };

/* A UDP header + payload at @p out (checksum per @p ck over the given
 * addresses); @p len_delta is added to the UDP length field (0: exact).
 * Returns 8 + len. */
size_t fx_udp_seg(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport,
                  uint16_t dport, const void *data, size_t len, enum fx_ck ck,
                  int len_delta);
/* ICMP echo request/reply at @p out; returns 8 + len. */
size_t fx_icmp_echo(uint8_t *out, uint8_t type, uint16_t id, uint16_t seq,
                    const void *data, size_t len, bool bad_cksum);

/* A whole UDP frame from ip->src:sport to ip->dst:dport. */
size_t fx_udp_frame(const struct fx *f, unsigned ifx, uint8_t *buf,
                    const struct fx_ip *ip, uint16_t sport, uint16_t dport,
                    const void *data, size_t len, enum fx_ck ck);
/* Build and inject a UDP datagram R:sport -> L:dport on interface 0. */
void fx_inject_udp(struct fx *f, uint16_t sport, uint16_t dport,
                   const void *data, size_t len);
/* Build and inject an ICMP echo request from R to L on interface 0. */
void fx_inject_echo(struct fx *f, uint16_t id, uint16_t seq, const void *data,
                    size_t len);

/* ---- the application side ------------------------------------------------ */

/* Publish @p req (id filled in) on the ctl ring, run mcore_poll and read
 * the RESP with the same id into @p resp. Returns resp->result. Fails the
 * test if no RESP comes back. */
int fx_call(struct fx *f, struct moat_msg *req, struct moat_msg *resp);

int fx_sock_open(struct fx *f, int type, uint32_t *handle);
int fx_udp_open(struct fx *f, uint32_t *handle);
int fx_bind(struct fx *f, uint32_t h, uint32_t ip, uint16_t port);
int fx_connect(struct fx *f, uint32_t h, uint32_t ip, uint16_t port);
int fx_close(struct fx *f, uint32_t h);
/* Send @p type (MOAT_MSG_CLOSE or MOAT_MSG_ABORT) for @p h and forget the
 * application side of the handle, whatever the result. */
int fx_sock_end(struct fx *f, uint32_t h, uint16_t type);
int fx_setopt(struct fx *f, uint32_t h, int opt, int64_t value);
int fx_getopt(struct fx *f, uint32_t h, int opt, int64_t *value);
int fx_name(struct fx *f, uint32_t h, struct moat_m_addr *local,
            struct moat_m_addr *remote);
/* STATS request (the core copies its counters into the region header). */
int fx_stats_call(struct fx *f, struct moat_stats *out);

/* Open a UDP socket bound to ip:port (asserts success); returns the handle. */
uint32_t fx_udp_bound(struct fx *f, uint32_t ip, uint16_t port);

/* Write one datagram record to the slot's tx ring and run mcore_poll.
 * ip 0 / port 0: the connected peer. Returns 0, MOAT_E_NOBUFS (ring full)
 * or MOAT_E_BADHANDLE (not open here). */
int fx_sendto(struct fx *f, uint32_t h, uint32_t ip, uint16_t port,
              const void *data, size_t len);
/* Read one datagram record from the slot's rx ring. Returns 0 (got the
 * payload length, at most cap bytes copied), MOAT_E_AGAIN (empty) or
 * MOAT_E_PEER (a malformed record). */
int fx_recvfrom(struct fx *f, uint32_t h, void *buf, size_t cap, size_t *got,
                uint32_t *ip, uint16_t *port);
/* Bytes waiting in the slot's rx ring. */
/* Either family: the record header as the application writes/reads it
 * (fx_send_rec fills len). */
int fx_send_rec(struct fx *f, uint32_t h, const struct moat_dgram_hdr *hdr,
                const void *data, size_t len);
int fx_recv_rec(struct fx *f, uint32_t h, void *buf, size_t cap, size_t *got,
                struct moat_dgram_hdr *hdr);
/* An IPv6 destination (scope: interface + 1 for link-local, 0: none). */
int fx_sendto6(struct fx *f, uint32_t h, const uint8_t ip6[16], uint32_t scope,
               uint16_t port, const void *data, size_t len);
/* BIND / CONNECT with an IPv6 address (type MOAT_MSG_BIND or _CONNECT). */
int fx_addr6_call(struct fx *f, uint16_t type, uint32_t h, const uint8_t ip6[16],
                  uint32_t scope, uint16_t port);
uint32_t fx_rx_avail(struct fx *f, uint32_t h);
/* Datagrams waiting (walks the records without consuming). */
unsigned fx_rx_count(struct fx *f, uint32_t h);
/* The slot's status word and error word. */
uint32_t fx_sock_status(struct fx *f, uint32_t h);
int32_t fx_sock_error(struct fx *f, uint32_t h);

/* Record alignment of moat_dgram_hdr records in the slot rings. */
#ifndef FX_DGRAM_ALIGN
#define FX_DGRAM_ALIGN 1u
#endif

#endif
