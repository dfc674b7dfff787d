/* SPDX-License-Identifier: MIT */
/*
 * moat-fetch's pure parts, kept apart so unit tests can call them
 * (tests/unit/test_fetch_url.c): the URL parser (IPv6 literals in
 * brackets with an optional zone, RFC 3986 3.2.2 and RFC 6874) and the
 * order in which the addresses of a name are tried.
 *
 * Public headers only, like every example.
 */
#ifndef MOAT_EXAMPLES_FETCH_URL_H
#define MOAT_EXAMPLES_FETCH_URL_H

#include <stdint.h>

#include "moat/dns.h"
#include "moat/moat.h"
#include "moat/socket.h"

struct fetch_url {
    char host[256];         /* a name, an IPv4 literal, or the IPv6 literal without [] */
    char zone[32];          /* the IPv6 zone (after %25 or %); "" when none */
    int is_ip6;             /* the host was [IPv6]: ip6 holds it */
    uint8_t ip6[16];
    uint16_t port;          /* 80 unless given */
    char path[2048];        /* from the first '/' ("/" when none); fragment cut off */
    char host_hdr[300];     /* the Host header: [v6] in brackets (no zone), :port unless 80 */
};

/* Parse http://HOST[:PORT][/PATH]. Returns 0, or -1 with *why set to a
 * one-line reason (a static string). */
int fetch_url_parse(const char *text, struct fetch_url *out, const char **why);

/* The scope id (moat_addr.scope_id: interface index + 1) a zone names:
 * a decimal number is the scope id itself; @p dev0 (interface 0's
 * device, e.g. the TAP name; may be NULL) names interface 0. Returns 0,
 * or -1 for a zone that names nothing (> @p n_ifs). */
int fetch_zone_scope(const char *zone, const char *dev0, unsigned n_ifs, uint32_t *scope);

/* Does @p in hold a usable (preferred or deprecated) IPv6 address that
 * is not link-local? Then IPv6 destinations are reachable (probably). */
int fetch_have_global6(const struct moat_ip6_info *in);
/* Does @p in hold a global IPv6 address that is still tentative (in DAD)? */
int fetch_tentative_global6(const struct moat_ip6_info *in);

/* Which families moat-fetch may use. */
enum fetch_family { FETCH_ANY = 0, FETCH_IP4_ONLY, FETCH_IP6_ONLY };

/*
 * The addresses to try, in order, into @p out (at most @p max), each with
 * @p port: with @p prefer6 (a usable global IPv6 address is held) the
 * AAAA answers first, then the A ones, else the other way round (RFC
 * 6724 in short: IPv6 only when it can work, IPv4 as the fallback); @p
 * fam drops the other family. Either answer may be NULL (not asked or
 * failed). Returns the number written.
 */
unsigned fetch_order(const struct moat_dns_answer *aaaa, const struct moat_dns_answer *a,
                     int prefer6, enum fetch_family fam, uint16_t port,
                     struct moat_addr *out, unsigned max);

#endif
