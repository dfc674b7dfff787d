/* SPDX-License-Identifier: MIT */
/*
 * The DNS stub resolver (include/moat/dns.h): queries in flight, their
 * UDP tries and TCP fallback over ordinary moat sockets, the TTL cache.
 * Runs in the application's process, on the application's side of the
 * socket boundary; message bytes are built and judged by dns_msg.c.
 *
 * A query is a small state machine:
 *
 *   UDP   one datagram to server[try % n] from a new socket (random port),
 *         wait timeout_ms (doubled each round); an answer that is
 *         malformed or not ours is ignored (the wait goes on); SERVFAIL,
 *         REFUSED, FORMERR, NOTIMP or an ICMP error move to the next try;
 *         TC moves to TCP.
 *   TCP   connect to the same server, send the query with its 2-byte
 *         length (RFC 1035 4.2.2), read one length-prefixed answer.
 *   DONE  result kept until moat_dns_result collects it.
 *
 * The cache keeps answers for their TTL and, per RFC 2308, NXDOMAIN and
 * "no address of this type" for the SOA's negative TTL (at most 3 h).
 */
#define _GNU_SOURCE

#include "moat/dns.h"

#include <stdlib.h>
#include <string.h>

#include "app/dns_msg.h"
#include "ports/linux/linux_port.h"

enum { Q_FREE = 0, Q_UDP, Q_TCP_CONNECT, Q_TCP_IO, Q_DONE };

#define DNS_TCP_MAX 65535u
/* RFC 2308 5: a negative answer is kept at most this long, whatever its
 * SOA says. */
#define DNS_NEG_TTL_MAX 10800u

struct dns_query {
    uint8_t state;
    uint16_t gen;               /* id = slot | gen << 16, so a stale id fails */
    uint16_t qtype;
    uint16_t txid;
    uint8_t qname[DNS_NAME_MAX];
    size_t qlen;
    uint32_t servers[MOAT_DNS_SERVERS];
    unsigned n_servers;
    unsigned try_no;            /* tries started */
    uint64_t deadline_us;       /* of the current try */
    moat_sock_t sock;
    int result;
    struct moat_dns_answer ans;
    /* TCP: query out (2 + len), then the answer in */
    uint8_t out[2 + DNS_HDR + DNS_NAME_MAX + 4];
    size_t out_len, out_sent;
    uint8_t *in;                /* DNS_TCP_MAX + 2 bytes, while in TCP */
    size_t in_got;
};

struct dns_cache_entry {
    uint8_t used;
    int result;                 /* 0, or MOAT_E_NONAME / MOAT_E_NODATA (RFC 2308) */
    uint16_t qtype;
    uint8_t qname[DNS_NAME_MAX];
    size_t qlen;
    uint64_t expires_us;
    struct moat_dns_answer ans;
};

struct moat_dns {
    struct moat_stack *st;
    struct moat_dns_config cfg;
    struct dns_query *q;
    struct dns_cache_entry *cache;
    struct moat_dns_stats stats;
};

void moat_dns_config_defaults(struct moat_dns_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->port = 53;
    cfg->timeout_ms = 2000;
    cfg->attempts = 2;
    cfg->cache_entries = 64;
    cfg->max_queries = 8;
}

int moat_dns_open(struct moat_stack *st, const struct moat_dns_config *cfg,
                  struct moat_dns **out)
{
    struct moat_dns_config c;
    if (!st || !out)
        return MOAT_E_INVAL;
    if (cfg)
        c = *cfg;
    else
        moat_dns_config_defaults(&c);
    if (c.port == 0 || c.timeout_ms == 0 || c.attempts == 0 || c.max_queries == 0 ||
        c.max_queries > 1024 || c.cache_entries > 65536 || c.attempts > 16)
        return MOAT_E_INVAL;
    struct moat_dns *d = calloc(1, sizeof(*d));
    if (!d)
        return MOAT_E_NOMEM;
    d->q = calloc(c.max_queries, sizeof(*d->q));
    d->cache = c.cache_entries ? calloc(c.cache_entries, sizeof(*d->cache)) : NULL;
    if (!d->q || (c.cache_entries && !d->cache)) {
        free(d->q);
        free(d->cache);
        free(d);
        return MOAT_E_NOMEM;
    }
    d->st = st;
    d->cfg = c;
    *out = d;
    return 0;
}

static void q_sock_close(struct moat_dns *d, struct dns_query *q)
{
    if (q->sock) {
        moat_sock_abort(d->st, q->sock);    /* UDP: a close; TCP: no lingering */
        q->sock = 0;
    }
    free(q->in);
    q->in = NULL;
}

void moat_dns_close(struct moat_dns *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i < d->cfg.max_queries; i++)
        q_sock_close(d, &d->q[i]);
    free(d->q);
    free(d->cache);
    free(d);
}

/* ---- cache ----------------------------------------------------------- */

static struct dns_cache_entry *cache_find(struct moat_dns *d, const uint8_t *qname,
                                          size_t qlen, uint16_t qtype, uint64_t now)
{
    for (uint32_t i = 0; i < d->cfg.cache_entries; i++) {
        struct dns_cache_entry *e = &d->cache[i];
        if (!e->used)
            continue;
        if (e->expires_us <= now) {
            e->used = 0;                /* TTL over: never served again */
            continue;
        }
        if (e->qtype == qtype && e->qlen == qlen && memcmp(e->qname, qname, qlen) == 0)
            return e;
    }
    return NULL;
}

/* Keep @p q's outcome: its answer for ans.ttl_s, or the negative
 * @p result for @p ttl_s seconds. */
static void cache_put(struct moat_dns *d, const struct dns_query *q, int result,
                      uint32_t ttl_s, uint64_t now)
{
    if (d->cfg.cache_entries == 0 || ttl_s == 0)
        return;                         /* TTL 0: use once, keep never (RFC 1035 3.2.1) */
    struct dns_cache_entry *victim = NULL;
    for (uint32_t i = 0; i < d->cfg.cache_entries; i++) {
        struct dns_cache_entry *e = &d->cache[i];
        if (!e->used || e->expires_us <= now) {
            victim = e;
            break;
        }
        if (e->qtype == q->qtype && e->qlen == q->qlen &&
            memcmp(e->qname, q->qname, q->qlen) == 0) {
            victim = e;
            break;
        }
        if (!victim || e->expires_us < victim->expires_us)
            victim = e;                 /* full: drop what expires first */
    }
    victim->used = 1;
    victim->result = result;
    victim->qtype = q->qtype;
    memcpy(victim->qname, q->qname, q->qlen);
    victim->qlen = q->qlen;
    victim->expires_us = now + (uint64_t)ttl_s * 1000000u;
    victim->ans = q->ans;
}

/* ---- queries ---------------------------------------------------------- */

static void q_finish(struct moat_dns *d, struct dns_query *q, int result)
{
    q_sock_close(d, q);
    q->result = result;
    q->state = Q_DONE;
}

/* Take a parsed reply that answers our question. Returns true when the
 * query is finished (or moved to TCP), false to try the next server. */
static bool q_take(struct moat_dns *d, struct dns_query *q, const struct dns_reply *r,
                   bool over_tcp)
{
    if (r->tc && !over_tcp)
        return false;                   /* handled by the caller */
    switch (r->rcode) {
    case DNS_RCODE_OK:
        break;
    case DNS_RCODE_NXDOMAIN:
        break;
    default:
        return false;                   /* SERVFAIL, REFUSED, ...: next server */
    }
    if (r->rcode == DNS_RCODE_NXDOMAIN || r->n == 0) {
        int res = r->rcode == DNS_RCODE_NXDOMAIN ? MOAT_E_NONAME : MOAT_E_NODATA;
        uint32_t ttl = r->neg_ttl < DNS_NEG_TTL_MAX ? r->neg_ttl : DNS_NEG_TTL_MAX;
        cache_put(d, q, res, ttl, moat_host_now_us());
        q_finish(d, q, res);
        return true;
    }
    memset(&q->ans, 0, sizeof(q->ans));
    q->ans.qtype = q->qtype;
    q->ans.n = r->n;
    q->ans.ttl_s = r->ttl;
    for (unsigned i = 0; i < r->n; i++) {
        if (q->qtype == MOAT_DNS_A)
            q->ans.ip4[i] = (uint32_t)r->addr[i][0] << 24 | (uint32_t)r->addr[i][1] << 16 |
                            (uint32_t)r->addr[i][2] << 8 | r->addr[i][3];
        else
            memcpy(q->ans.ip6[i], r->addr[i], 16);
    }
    cache_put(d, q, 0, q->ans.ttl_s, moat_host_now_us());
    q_finish(d, q, 0);
    return true;
}

static uint64_t try_timeout_us(const struct moat_dns *d, const struct dns_query *q)
{
    unsigned round = q->n_servers ? (q->try_no - 1u) / q->n_servers : 0;
    uint64_t t = (uint64_t)d->cfg.timeout_ms * 1000u;
    for (unsigned i = 0; i < round && t < 60000000u; i++)
        t *= 2u;
    return t;
}

/* Start the next UDP try, or finish with @p why_last when none is left. */
static void q_next_try(struct moat_dns *d, struct dns_query *q, int why_last)
{
    q_sock_close(d, q);
    for (;;) {
        if (q->try_no >= q->n_servers * d->cfg.attempts) {
            q_finish(d, q, why_last);
            return;
        }
        uint32_t server = q->servers[q->try_no % q->n_servers];
        q->try_no++;
        moat_host_random(NULL, &q->txid, sizeof(q->txid));
        size_t len;
        uint8_t msg[DNS_HDR + DNS_NAME_MAX + 4];
        if (dns_query_build(q->txid, q->qname, q->qlen, q->qtype, msg, sizeof(msg), &len) != 0) {
            q_finish(d, q, MOAT_E_INVAL);
            return;
        }
        /* A new socket per try: a fresh random source port, and a
         * connected socket only takes datagrams from that server. */
        struct moat_addr to = { .ip = server, .port = d->cfg.port };
        moat_sock_t s = 0;
        size_t sent = 0;
        int rc = moat_sock_open(d->st, MOAT_SOCK_DGRAM, &s);
        if (rc == 0)
            rc = moat_sock_setopt(d->st, s, MOAT_OPT_NONBLOCK, 1);
        if (rc == 0)
            rc = moat_sock_connect(d->st, s, &to);
        if (rc == 0)
            rc = moat_sock_send(d->st, s, msg, len, &sent);
        if (rc != 0) {
            if (s)
                moat_sock_close(d->st, s);
            why_last = rc;
            continue;                   /* e.g. no route to this server */
        }
        q->sock = s;
        q->state = Q_UDP;
        q->deadline_us = moat_host_now_us() + try_timeout_us(d, q);
        d->stats.sent_udp++;
        return;
    }
}

/* The UDP answer was truncated: ask the same server over TCP. */
static void q_to_tcp(struct moat_dns *d, struct dns_query *q)
{
    uint32_t server = q->servers[(q->try_no - 1u) % q->n_servers];
    size_t len;
    q_sock_close(d, q);
    d->stats.tcp_fallbacks++;
    moat_host_random(NULL, &q->txid, sizeof(q->txid));
    if (dns_query_build(q->txid, q->qname, q->qlen, q->qtype, q->out + 2,
                        sizeof(q->out) - 2, &len) != 0) {
        q_finish(d, q, MOAT_E_INVAL);
        return;
    }
    q->out[0] = (uint8_t)(len >> 8);
    q->out[1] = (uint8_t)len;
    q->out_len = len + 2;
    q->out_sent = 0;
    q->in_got = 0;
    q->in = malloc(DNS_TCP_MAX + 2u);
    struct moat_addr to = { .ip = server, .port = d->cfg.port };
    moat_sock_t s = 0;
    int rc = q->in ? moat_sock_open(d->st, MOAT_SOCK_STREAM, &s) : MOAT_E_NOMEM;
    if (rc == 0)
        rc = moat_sock_setopt(d->st, s, MOAT_OPT_NONBLOCK, 1);
    if (rc == 0) {
        q->sock = s;
        rc = moat_sock_connect(d->st, s, &to);
        if (rc == MOAT_E_INPROGRESS || rc == MOAT_E_AGAIN)
            rc = 0;
    } else if (s) {
        moat_sock_close(d->st, s);
    }
    if (rc != 0) {
        q_next_try(d, q, rc);
        return;
    }
    q->state = Q_TCP_CONNECT;
    q->deadline_us = moat_host_now_us() + 2u * try_timeout_us(d, q);
}

static void q_udp_read(struct moat_dns *d, struct dns_query *q)
{
    uint8_t buf[DNS_UDP_MAX + 1];
    for (unsigned k = 0; k < 16 && q->state == Q_UDP; k++) {
        size_t got = 0;
        int rc = moat_sock_recv(d->st, q->sock, buf, sizeof(buf), &got);
        if (rc == MOAT_E_AGAIN)
            return;
        if (rc != 0) {
            q_next_try(d, q, rc);       /* ICMP unreachable: CONNREFUSED */
            return;
        }
        struct dns_reply r;
        if (got > DNS_UDP_MAX ||
            dns_reply_parse(buf, got, q->txid, q->qname, q->qlen, q->qtype, &r) != 0) {
            d->stats.replies_ignored++;  /* keep waiting for the real one */
            continue;
        }
        if (r.tc) {
            q_to_tcp(d, q);
            return;
        }
        if (!q_take(d, q, &r, false))
            q_next_try(d, q, MOAT_E_CONNREFUSED);
    }
}

static void q_tcp_io(struct moat_dns *d, struct dns_query *q)
{
    while (q->out_sent < q->out_len) {
        size_t sent = 0;
        int rc = moat_sock_send(d->st, q->sock, q->out + q->out_sent,
                                q->out_len - q->out_sent, &sent);
        if (rc == MOAT_E_AGAIN)
            return;                     /* still connecting, or no room */
        if (rc != 0) {
            q_next_try(d, q, rc);
            return;
        }
        q->out_sent += sent;
        q->state = Q_TCP_IO;
    }
    q->state = Q_TCP_IO;
    for (;;) {
        size_t want = q->in_got < 2 ? 2 : 2u + ((size_t)q->in[0] << 8 | q->in[1]);
        if (q->in_got >= 2 && q->in_got == want) {
            struct dns_reply r;
            if (dns_reply_parse(q->in + 2, want - 2, q->txid, q->qname, q->qlen, q->qtype,
                                &r) != 0) {
                d->stats.replies_ignored++;
                q_next_try(d, q, MOAT_E_TIMEDOUT);
                return;
            }
            if (!q_take(d, q, &r, true))
                q_next_try(d, q, MOAT_E_CONNREFUSED);
            return;
        }
        size_t got = 0;
        int rc = moat_sock_recv(d->st, q->sock, q->in + q->in_got, want - q->in_got, &got);
        if (rc == MOAT_E_AGAIN)
            return;
        if (rc != 0 || got == 0) {
            q_next_try(d, q, rc ? rc : MOAT_E_CONNRESET);   /* closed early */
            return;
        }
        q->in_got += got;
    }
}

int moat_dns_query(struct moat_dns *d, const char *name, int qtype, uint32_t *id)
{
    uint8_t qname[DNS_NAME_MAX];
    size_t qlen;
    if (!d || !id || (qtype != MOAT_DNS_A && qtype != MOAT_DNS_AAAA) ||
        dns_name_encode(name, qname, &qlen) != 0)
        return MOAT_E_INVAL;
    struct dns_query *q = NULL;
    uint32_t slot;
    for (slot = 0; slot < d->cfg.max_queries; slot++)
        if (d->q[slot].state == Q_FREE) {
            q = &d->q[slot];
            break;
        }
    if (!q)
        return MOAT_E_NOMEM;
    d->stats.queries++;
    uint16_t gen = (uint16_t)(q->gen + 1u);
    memset(q, 0, sizeof(*q));
    q->gen = gen ? gen : 1;
    q->qtype = (uint16_t)qtype;
    memcpy(q->qname, qname, qlen);
    q->qlen = qlen;
    *id = slot | (uint32_t)q->gen << 16;

    uint64_t now = moat_host_now_us();
    struct dns_cache_entry *e = cache_find(d, qname, qlen, (uint16_t)qtype, now);
    if (e) {
        d->stats.cache_hits++;
        q->ans = e->ans;
        q->ans.ttl_s = (uint32_t)((e->expires_us - now + 999999u) / 1000000u);
        q->state = Q_DONE;
        q->result = e->result;          /* an answer, or a cached "no such name" */
        return 0;
    }
    for (unsigned i = 0; i < MOAT_DNS_SERVERS; i++)
        if (d->cfg.servers[i])
            q->servers[q->n_servers++] = d->cfg.servers[i];
    if (q->n_servers == 0) {
        struct moat_dhcp_info info;
        if (moat_dhcp_info(d->st, 0, &info) == 0)
            for (unsigned i = 0; i < MOAT_DHCP_DNS_MAX && i < MOAT_DNS_SERVERS; i++)
                if (info.dns[i])
                    q->servers[q->n_servers++] = info.dns[i];
    }
    if (q->n_servers == 0) {
        q->state = Q_FREE;
        return MOAT_E_ADDRNOTAVAIL;
    }
    q_next_try(d, q, MOAT_E_TIMEDOUT);
    return 0;
}

int moat_dns_pollfds(struct moat_dns *d, struct moat_pollfd *fds, unsigned max,
                     unsigned *n, int *timeout_ms)
{
    if (!d || !n || !timeout_ms || (max && !fds))
        return MOAT_E_INVAL;
    uint64_t now = moat_host_now_us(), first = UINT64_MAX;
    unsigned k = 0;
    for (uint32_t i = 0; i < d->cfg.max_queries; i++) {
        struct dns_query *q = &d->q[i];
        if (q->state == Q_FREE)
            continue;
        if (q->state == Q_DONE) {
            first = now;                /* a result to collect: do not sleep */
            continue;
        }
        if (q->deadline_us < first)
            first = q->deadline_us;
        if (k < max) {
            fds[k].sock = q->sock;
            fds[k].events = q->state == Q_TCP_CONNECT ? MOAT_POLLOUT | MOAT_POLLIN : MOAT_POLLIN;
            if (q->state == Q_TCP_IO && q->out_sent < q->out_len)
                fds[k].events |= MOAT_POLLOUT;
            fds[k].revents = 0;
            k++;
        }
    }
    *n = k;
    if (first == UINT64_MAX)
        *timeout_ms = -1;
    else
        *timeout_ms = first <= now ? 0 : (int)((first - now + 999u) / 1000u);
    return 0;
}

int moat_dns_process(struct moat_dns *d)
{
    if (!d)
        return MOAT_E_INVAL;
    for (uint32_t i = 0; i < d->cfg.max_queries; i++) {
        struct dns_query *q = &d->q[i];
        switch (q->state) {
        case Q_UDP:
            q_udp_read(d, q);
            break;
        case Q_TCP_CONNECT:
        case Q_TCP_IO:
            q_tcp_io(d, q);
            break;
        default:
            continue;
        }
        if ((q->state == Q_UDP || q->state == Q_TCP_CONNECT || q->state == Q_TCP_IO) &&
            moat_host_now_us() >= q->deadline_us) {
            d->stats.timeouts++;
            q_next_try(d, q, MOAT_E_TIMEDOUT);
        }
    }
    return 0;
}

int moat_dns_result(struct moat_dns *d, uint32_t id, struct moat_dns_answer *out)
{
    if (!d)
        return MOAT_E_INVAL;
    uint32_t slot = id & 0xffffu;
    if (slot >= d->cfg.max_queries || d->q[slot].gen != (id >> 16) ||
        d->q[slot].state == Q_FREE)
        return MOAT_E_BADHANDLE;
    struct dns_query *q = &d->q[slot];
    if (q->state != Q_DONE)
        return MOAT_E_AGAIN;
    int r = q->result;
    if (r == 0 && out)
        *out = q->ans;
    q->state = Q_FREE;
    return r;
}

int moat_dns_resolve(struct moat_dns *d, const char *name, int qtype, int timeout_ms,
                     struct moat_dns_answer *out)
{
    uint32_t id;
    int rc = moat_dns_query(d, name, qtype, &id);
    if (rc != 0)
        return rc;
    uint64_t end = timeout_ms < 0 ? UINT64_MAX
                                  : moat_host_now_us() + (uint64_t)timeout_ms * 1000u;
    for (;;) {
        rc = moat_dns_result(d, id, out);
        if (rc != MOAT_E_AGAIN)
            return rc;
        uint64_t now = moat_host_now_us();
        if (now >= end) {
            /* Give up: forget the query and its socket. */
            uint32_t slot = id & 0xffffu;
            q_finish(d, &d->q[slot], MOAT_E_TIMEDOUT);
            d->q[slot].state = Q_FREE;
            return MOAT_E_TIMEDOUT;
        }
        struct moat_pollfd fds[16];
        unsigned n = 0;
        int wait;
        moat_dns_pollfds(d, fds, 16, &n, &wait);
        if (end != UINT64_MAX && (wait < 0 || (uint64_t)wait * 1000u > end - now))
            wait = (int)((end - now + 999u) / 1000u);
        rc = moat_poll(d->st, fds, n, wait, NULL);
        if (rc != 0)
            return rc;
        rc = moat_dns_process(d);
        if (rc != 0)
            return rc;
    }
}

void moat_dns_stats(const struct moat_dns *d, struct moat_dns_stats *out)
{
    if (d && out)
        *out = d->stats;
}
