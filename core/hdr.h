/* SPDX-License-Identifier: MIT */
/*
 * The header layer: Ethernet II, IPv4, UDP and TCP headers as checked
 * views and plain representations (the "wire format"; not to be confused
 * with ports/linux/wire.c, the shared-memory link). A parse function takes bytes and how many
 * of them arrived, checks the header's shape against that length and
 * fills a struct in host order, or says what is wrong with it (enum
 * hdr_err); an emit function writes a struct back as bytes. Nothing here
 * decides whether a packet is for us or what it means to a connection:
 * that stays with the protocol code (eth.c, ip4.c, udp.c, tcp_parse.c),
 * which maps a header error to its drop counter.
 *
 * One copy of the header layouts for everything that reads or writes
 * them: the core, the TAP driver's offload paths (ports/linux/tap.c and
 * gso.c, which judge frames without holding any protocol state) and the
 * test fixtures (tests/support). Freestanding: no OS headers, no state.
 *
 * What a parse function reads: at most the bytes it was given, and of
 * those only the fixed header unless it says otherwise (the IPv4 header
 * checksum covers the options; TCP options are read by
 * hdr_tcp_opts_parse, inside the header length hdr_tcp_parse checked).
 */
#ifndef MOAT_HDR_H
#define MOAT_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a header was refused. 0 is a header of the right shape. */
enum hdr_err {
    HDR_OK = 0,
    HDR_E_SHORT,        /* fewer bytes than the fixed header */
    HDR_E_VERSION,      /* IPv4: the version field is not 4 */
    HDR_E_HDRLEN,       /* header length below the minimum or past the bytes */
    HDR_E_TOTLEN,       /* IPv4 total / UDP length below the header or past the bytes */
    HDR_E_CHECKSUM,     /* IPv4 header checksum */
};
/* A short English phrase for @p err (never NULL). */
const char *hdr_strerror(int err);

/* ---- Ethernet II ---------------------------------------------------------- */

#define HDR_ETH_LEN 14u

struct hdr_eth {
    const uint8_t *dst, *src;   /* into the frame */
    uint16_t type;
};

/* HDR_OK or HDR_E_SHORT. The payload starts at f + HDR_ETH_LEN. */
int hdr_eth_parse(const uint8_t *f, size_t len, struct hdr_eth *e);
void hdr_eth_emit(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/* ---- IPv4 ----------------------------------------------------------------- */

#define HDR_IP4_LEN 20u
#define HDR_IP4_DF 0x4000u
#define HDR_IP4_MF 0x2000u
#define HDR_IP4_OFFMASK 0x1fffu

struct hdr_ip4 {
    uint8_t hlen;               /* header bytes, options included */
    uint8_t tos, ttl, proto;
    uint16_t tot_len, id;
    uint16_t frag;              /* flags and offset as on the wire */
    uint32_t src, dst;
};

/* Do not check the header checksum (the caller checks it, or a device
 * header already vouched for the frame). Only the fixed 20 bytes are read. */
#define HDR_IP4_NO_CSUM 1u

/*
 * Check the IPv4 header at @p p against the @p len bytes there, in this
 * order: SHORT (under 20 bytes), VERSION, HDRLEN (under 20 or past len),
 * TOTLEN (under the header or past len; bytes after it are link padding),
 * CHECKSUM (unless HDR_IP4_NO_CSUM). Every field of @p ip is filled from
 * the header whatever the result but HDR_E_SHORT, so a caller can report
 * what a refused header said.
 */
int hdr_ip4_parse(const uint8_t *p, size_t len, unsigned flags, struct hdr_ip4 *ip);
/* Is @p ip a fragment (more to come, or not the first)? */
static inline bool hdr_ip4_is_frag(const struct hdr_ip4 *ip)
{
    return (ip->frag & (HDR_IP4_MF | HDR_IP4_OFFMASK)) != 0;
}
/* Write @p ip as a 20-byte header without options (ip->hlen is not read)
 * with its checksum. */
void hdr_ip4_emit(const struct hdr_ip4 *ip, uint8_t *p);
/* Give the header at @p p (its own length field says how long) a new total
 * length and fragment field, and the checksum that goes with them. */
void hdr_ip4_refit(uint8_t *p, uint16_t tot_len, uint16_t frag);

/* ---- UDP ------------------------------------------------------------------ */

#define HDR_UDP_LEN 8u

struct hdr_udp {
    uint16_t sport, dport;
    uint16_t len;               /* header and data */
    uint16_t csum;
};

/* SHORT (under 8 bytes) or TOTLEN (the length field under 8 or past
 * @p len: bytes after it are ignored, RFC 768); fields filled but on SHORT. */
int hdr_udp_parse(const uint8_t *u, size_t len, struct hdr_udp *h);
void hdr_udp_emit(const struct hdr_udp *h, uint8_t *u);

/* ---- TCP ------------------------------------------------------------------ */

#define HDR_TCP_LEN 20u
#define HDR_TCP_OPT_MAX 40u
#define HDR_TCP_SACK_MAX 4u

struct hdr_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hlen;               /* header bytes, options included */
    uint8_t flags;              /* all eight bits of byte 13 (FIN .. CWR) */
    uint16_t wnd, csum, urg;
};

/* SHORT (under 20 bytes) or HDRLEN (data offset under 5 words or past
 * @p len); fields filled but on SHORT. */
int hdr_tcp_parse(const uint8_t *h, size_t len, struct hdr_tcp *t);
/* Write the fixed 20 bytes; the data offset comes from t->hlen. */
void hdr_tcp_emit(const struct hdr_tcp *t, uint8_t *h);

/* The options moat reads and writes (RFC 9293, 7323, 2018). */
struct hdr_tcp_opts {
    uint8_t has_mss, has_ws, sack_ok, ts_ok;
    uint16_t mss;
    uint8_t ws;                 /* the shift as sent (not clamped) */
    uint8_t n_sack;
    uint8_t bad;                /* parse: a known option had the wrong length,
                                   or an option ran past the header */
    uint32_t tsval, tsecr;
    struct {
        uint32_t l, r;
    } sack[HDR_TCP_SACK_MAX];
};

/*
 * The options of the header @p h that hdr_tcp_parse accepted as @p t.
 * Reads only inside t->hlen. A known option of the wrong length is skipped
 * and one whose length runs past the header ends the list; both set ->bad.
 * Later copies of an option replace earlier ones.
 */
void hdr_tcp_opts_parse(const uint8_t *h, const struct hdr_tcp *t, struct hdr_tcp_opts *o);
/*
 * Write @p o at @p out, 4-byte aligned with NOPs: MSS; SACK-permitted
 * and timestamps (SACK-permitted filling the timestamps' alignment);
 * window scale; SACK blocks, as many as fit in the 40 option bytes.
 * Returns the bytes written (a multiple of 4, at most 40).
 */
unsigned hdr_tcp_opts_emit(const struct hdr_tcp_opts *o, uint8_t *out);
/* What hdr_tcp_opts_emit would write for @p o, in bytes. */
unsigned hdr_tcp_opts_len(const struct hdr_tcp_opts *o);

#endif
