/* SPDX-License-Identifier: MIT */
/*
 * IPv6 additions to the unit-test fixture (tests/support/fx.h): the
 * addresses of L and R on 2001:db8:1::/64, a config with IPv6 on, frame
 * builders (IPv6 header, extension headers, fragments, ICMPv6 with its
 * checksum) and a parser for what the core sends. fx_check_frame calls
 * fx6_check_frame for every transmitted IPv6 frame (version, lengths,
 * hop limit, ICMPv6/UDP checksums).
 */
#ifndef MOAT_TEST_FX6_H
#define MOAT_TEST_FX6_H

#include "support/fx.h"

extern const uint8_t fx6_l_ip[16];     /* 2001:db8:1::1 (static, /64) */
extern const uint8_t fx6_r_ip[16];     /* 2001:db8:1::2 */
extern const uint8_t fx6_r_ll[16];     /* fe80::2 */
extern const uint8_t fx6_all_nodes[16];  /* ff02::1 */
/* L's link-local address: fe80:: + modified EUI-64 of fx_l_mac. */
extern const uint8_t fx6_l_ll[16];

/* fx_config with IPv6 on interface 0: static 2001:db8:1::1/64, no SLAAC,
 * no DAD (ip6_dad_transmits 0), so nothing is sent but the MLD reports of
 * the first poll. */
void fx6_config(struct fx *f);
/* fx6_config + fx_start + the start-up reports run and cleared + R
 * (global and link-local) as static neighbours: a quiet stack that
 * answers at once. */
void fx6_init(struct fx *f);
/* R (2001:db8:1::2 and fe80::2) as static neighbours of interface 0. */
void fx6_nd_seed(struct fx *f);

/* ---- builders ------------------------------------------------------------ */

struct fx6_ip {
    const uint8_t *src, *dst;   /* NULL: R global / L global */
    uint8_t nh;                 /* next header of the fixed header */
    uint8_t hlim;               /* 0: 64 */
    int plen;                   /* payload length field; -1: computed */
    const uint8_t *eth_dst;     /* NULL: L's MAC, or 33:33:.. for multicast dst */
    size_t pad_to;              /* pad the frame (Ethernet) with 0xa5 to this length */
};

/* A frame carrying @p payload (extension headers + upper layer, built by
 * the caller) behind an IPv6 header. Returns the frame length. */
size_t fx6_frame(const struct fx *f, uint8_t *buf, const struct fx6_ip *ip,
                 const void *payload, size_t len);
/* ICMPv6 message at @p out: type, code, the 4 bytes after the checksum
 * (@p rest) and @p body; checksum over the pseudo-header of src/dst (len
 * = the whole message). Returns 8 + blen. NDP messages fit the same
 * shape (flags or hop limit/lifetime in @p rest). */
size_t fx6_icmp(uint8_t *out, const uint8_t src[16], const uint8_t dst[16], uint8_t type,
                uint8_t code, uint32_t rest, const void *body, size_t blen);
/* UDP header + @p data at @p out, checksummed for @p src -> @p dst (a
 * computed 0 is sent as 0xffff: zero means none, which IPv6 forbids).
 * Returns 8 + len. */
size_t fx6_udp(uint8_t *out, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
               uint16_t dport, const void *data, size_t len);
/* Checksum of an upper-layer message with the IPv6 pseudo-header (stored
 * form; 0 when verifying a correct one). */
uint16_t fx6_l4_cksum(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                      const void *l4, size_t len);
/* Build and inject an ICMPv6 echo request R -> @p dst (NULL: L global). */
void fx6_inject_echo(struct fx *f, const uint8_t *dst, uint16_t id, uint16_t seq,
                     const void *data, size_t len);

/* ---- parser ------------------------------------------------------------------ */

struct fx6_pkt {
    bool is_ip6;
    uint8_t eth_dst[6];
    uint8_t src[16], dst[16];
    uint8_t hlim, tclass, nh;   /* nh: of the fixed header */
    uint16_t plen;
    bool has_hbh, has_frag;
    uint16_t frag_off;          /* bytes */
    bool frag_mf;
    uint32_t frag_id;
    uint8_t proto;              /* upper layer */
    const uint8_t *l4;
    size_t l4_len;
    bool is_icmp6;              /* unfragmented (or first fragment) ICMPv6 */
    uint8_t icmp_type, icmp_code;
    uint32_t icmp_rest;
};

bool fx6_parse(const uint8_t *frame, size_t len, struct fx6_pkt *p);
/* Parse captured frame @p i (asserts it is IPv6). */
struct fx6_pkt fx6_tx_pkt(const struct fx *f, unsigned i);
/* Index of the first captured frame that is ICMPv6 of @p type, from @p from; -1 if none. */
int fx6_find_icmp(const struct fx *f, unsigned from, uint8_t type);
/* Check an IPv6 frame the core sent (called by fx_check_frame). */
const char *fx6_check_frame(const uint8_t *frame, size_t len, char *why, size_t whylen);

#endif
