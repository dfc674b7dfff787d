/* SPDX-License-Identifier: MIT */
/*
 * DNS messages (RFC 1035 4, AAAA per RFC 3596) for the stub resolver
 * (app/dns.c): names to wire form, the query, and the parse of
 * a reply with the same distrust as a frame from the network. Pure
 * functions, no state, no I/O; the unit and fuzz tests call them directly.
 *
 * A reply is believed only if it answers our question: ID, QR, opcode 0,
 * exactly one question equal to ours (names compared without case).
 * Compressed names may only point backwards, at most DNS_MAX_JUMPS times,
 * and decode to at most 255 bytes; every count and RDLENGTH is checked
 * against the bytes that are there. Addresses are taken from A/AAAA
 * records of class IN whose owner is the question name or the end of a
 * CNAME chain that starts at it (at most DNS_MAX_CNAMES links).
 */
#ifndef MOAT_DNS_MSG_H
#define MOAT_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX   255u   /* wire form, root label included */
#define DNS_HDR        12u
#define DNS_UDP_MAX    512u   /* RFC 1035 4.2.1: larger answers set TC */
#define DNS_MAX_JUMPS  16u    /* compression pointers followed per name */
#define DNS_MAX_CNAMES 8u
#define DNS_MAX_ADDRS  8u
#define DNS_TYPE_A     1u
#define DNS_TYPE_CNAME 5u
#define DNS_TYPE_SOA   6u
#define DNS_TYPE_AAAA  28u
#define DNS_CLASS_IN   1u

enum dns_rcode { DNS_RCODE_OK = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2,
                 DNS_RCODE_NXDOMAIN = 3, DNS_RCODE_NOTIMP = 4, DNS_RCODE_REFUSED = 5 };

/* "www.example.org" (a trailing dot is allowed) to wire form in @p out
 * (DNS_NAME_MAX bytes), lower case. Labels 1..63 bytes, no empty label,
 * total <= 255. Returns 0 or MOAT_E_INVAL. */
int dns_name_encode(const char *text, uint8_t out[DNS_NAME_MAX], size_t *len);

/* A standard query with RD set for (qname, qtype, IN). @p cap >= DNS_HDR
 * + qlen + 4. Returns 0 or MOAT_E_INVAL. */
int dns_query_build(uint16_t id, const uint8_t *qname, size_t qlen, uint16_t qtype,
                    uint8_t *out, size_t cap, size_t *len);

/* Read the (possibly compressed) name at *@p off of @p msg into wire form
 * in @p out (lower case) and move *@p off past it. Returns 0 or
 * MOAT_E_INVAL (runs past the message, forward or looping pointer, too
 * long, reserved label type). */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t out[DNS_NAME_MAX],
                  size_t *outlen);

struct dns_reply {
    uint8_t rcode;
    bool tc;                  /* truncated: ask again over TCP */
    uint16_t n;               /* addresses found (at most DNS_MAX_ADDRS) */
    uint32_t ttl;             /* smallest TTL among them and the CNAMEs used */
    uint32_t neg_ttl;         /* no address (NXDOMAIN or none of the type): how
                                 long that may be cached, from the SOA in the
                                 authority section (RFC 2308 5: the smaller of
                                 its TTL and its MINIMUM); 0 without an SOA */
    uint8_t addr[DNS_MAX_ADDRS][16];   /* A: first 4 bytes; network order */
};

/* Parse a reply to query (id, qname, qtype). Returns 0 when it answers
 * that query (then look at rcode, tc and n), MOAT_E_INVAL when it is
 * malformed or answers something else (ignore it; a spoofer or a stale
 * answer). */
int dns_reply_parse(const uint8_t *msg, size_t len, uint16_t id, const uint8_t *qname,
                    size_t qlen, uint16_t qtype, struct dns_reply *out);

#endif
