/* SPDX-License-Identifier: MIT */
/*
 * moat DNS stub resolver: A and AAAA lookups (RFC 1035, RFC 3596) over the
 * stack's own UDP and TCP sockets.
 *
 * The resolver runs in the application, as a library over ordinary moat
 * sockets, not in the network domain: the net domain stays smaller (one
 * parser of hostile bytes fewer where the protocol state lives) and the
 * resolver works unchanged in every backend. docs/dhcp-dns.md has the why
 * and the limits.
 *
 * Each query uses a random 16-bit ID and a new socket (so a random
 * ephemeral source port), tries the servers in turn with a timeout per
 * try, asks again over TCP when an answer comes back truncated, and keeps
 * answers in a bounded cache for their TTL (and "no such name" for the
 * negative TTL of RFC 2308). Servers come from the
 * configuration or, when none are given, from interface 0's DHCP lease.
 *
 * Non-blocking use, fitting moat_poll:
 *
 *     moat_dns_query(d, "example.org", MOAT_DNS_A, &id);
 *     for (;;) {
 *         if (moat_dns_result(d, id, &ans) != MOAT_E_AGAIN) break;
 *         moat_dns_pollfds(d, fds, N, &n, &timeout_ms);   (+ the app's own)
 *         moat_poll(st, fds, n, timeout_ms, NULL);
 *         moat_dns_process(d);
 *     }
 *
 * or the blocking helper moat_dns_resolve(). One resolver must not be used
 * by two threads at once.
 */
#ifndef MOAT_DNS_H
#define MOAT_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "moat.h"
#include "socket.h"

#ifdef __cplusplus
extern "C" {
#endif

struct moat_dns;    /* opaque; one per moat_dns_open() */

enum moat_dns_type { MOAT_DNS_A = 1, MOAT_DNS_AAAA = 28 };

#define MOAT_DNS_SERVERS   3
#define MOAT_DNS_MAX_ADDRS 8

struct moat_dns_config {
    uint32_t servers[MOAT_DNS_SERVERS]; /* host order; all 0: the DHCP lease's */
    uint16_t port;            /* server port (default 53) */
    uint32_t timeout_ms;      /* one try (default 2000); doubled after each round */
    uint32_t attempts;        /* rounds over the servers (default 2) */
    uint32_t cache_entries;   /* answers kept (default 64; 0: no cache) */
    uint32_t max_queries;     /* queries in flight at once (default 8) */
};

struct moat_dns_answer {
    uint16_t qtype;           /* MOAT_DNS_A or MOAT_DNS_AAAA */
    uint16_t n;               /* addresses */
    uint32_t ttl_s;           /* seconds the answer is still valid for */
    uint32_t ip4[MOAT_DNS_MAX_ADDRS];      /* A: host order */
    uint8_t ip6[MOAT_DNS_MAX_ADDRS][16];   /* AAAA: network order */
};

/* Fill @p cfg with the defaults above. */
void moat_dns_config_defaults(struct moat_dns_config *cfg);

/*
 * Make a resolver for stack @p st (borrowed; must outlive the resolver).
 * Borrows @p cfg (NULL: defaults). Writes it to @p out.
 * Returns 0, MOAT_E_INVAL or MOAT_E_NOMEM. Never blocks.
 */
int moat_dns_open(struct moat_stack *st, const struct moat_dns_config *cfg,
                  struct moat_dns **out);

/* Close every socket of @p d and free it (takes @p d; NULL is fine). */
void moat_dns_close(struct moat_dns *d);

/*
 * Start looking up @p name (borrowed; a host name, trailing dot allowed)
 * for @p qtype (enum moat_dns_type). Writes a query id to @p id; its
 * result comes from moat_dns_result. A cached answer is ready at once.
 * Returns 0, MOAT_E_INVAL (bad name or type), MOAT_E_NOMEM (max_queries
 * in flight), MOAT_E_ADDRNOTAVAIL (no DNS server: none configured and no
 * DHCP lease with one). Never blocks.
 */
int moat_dns_query(struct moat_dns *d, const char *name, int qtype, uint32_t *id);

/*
 * The sockets the resolver waits on, for the application's moat_poll:
 * writes up to @p max entries to @p fds and their count to @p n, and to
 * @p timeout_ms the longest the caller may wait before moat_dns_process
 * must run (-1: no query in flight). Returns 0 or MOAT_E_INVAL.
 */
int moat_dns_pollfds(struct moat_dns *d, struct moat_pollfd *fds, unsigned max,
                     unsigned *n, int *timeout_ms);

/* Read answers, retransmit and time out; call after moat_poll. Never
 * blocks. Returns 0 or the stack's failure code (MOAT_E_DEAD). */
int moat_dns_process(struct moat_dns *d);

/*
 * The result of query @p id: MOAT_E_AGAIN while it runs; else the query
 * is finished and forgotten, and the call returns 0 (@p out filled, n >= 1),
 * MOAT_E_NONAME (the name does not exist), MOAT_E_NODATA (it has no
 * address of that type), MOAT_E_TIMEDOUT (no server answered),
 * MOAT_E_CONNREFUSED (the servers refused or failed: SERVFAIL, REFUSED,
 * or ICMP port unreachable), MOAT_E_BADHANDLE (unknown id).
 */
int moat_dns_result(struct moat_dns *d, uint32_t id, struct moat_dns_answer *out);

/*
 * Blocking helper: query, wait (at most @p timeout_ms; -1: as long as
 * the tries take) and return the result as moat_dns_result does, or
 * MOAT_E_TIMEDOUT.
 */
int moat_dns_resolve(struct moat_dns *d, const char *name, int qtype, int timeout_ms,
                     struct moat_dns_answer *out);

/* Counters of one resolver (for tests and diagnostics). */
struct moat_dns_stats {
    uint64_t queries;         /* moat_dns_query calls */
    uint64_t cache_hits;
    uint64_t sent_udp;        /* datagrams sent (tries) */
    uint64_t tcp_fallbacks;   /* truncated answers asked again over TCP */
    uint64_t replies_ignored; /* malformed, spoofed or stale replies dropped */
    uint64_t timeouts;        /* tries that got no answer in time */
};
void moat_dns_stats(const struct moat_dns *d, struct moat_dns_stats *out);

#ifdef __cplusplus
}
#endif
#endif
