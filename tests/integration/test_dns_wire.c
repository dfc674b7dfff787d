/* SPDX-License-Identifier: MIT */
/*
 * The DNS stub resolver (include/moat/dns.h) between two stacks over the
 * shared-memory wire, against a DNS server played by this test on stack B
 * (a thread serving UDP and TCP port 53 with a behaviour chosen per case):
 *
 *   stack A 198.18.0.1/24  ==== wire ====  stack B 198.18.0.2/24
 *   moat_dns_resolve / query+poll          fake server, UDP+TCP 53
 *
 * Checks: an answer and its cache (a second lookup sends nothing; after
 * the TTL it asks again; TTL 0 is never cached); a silent server makes the
 * resolver time out and try again with a new ID from a new port; a reply
 * with the wrong ID, or from the wrong port, is ignored (DNS-B-RESP-1); a
 * truncated answer is asked again over TCP;
 * SERVFAIL everywhere and NXDOMAIN give their errors (NXDOMAIN cached for
 * its SOA's negative TTL); two queries in
 * flight at once through moat_dns_pollfds + moat_poll; the server table
 * (DNS-SERVERS-1).
 *
 * Reference scenarios (/work/shared/reference-scenarios.md section 16):
 *   DNS-B-RESP-1    dns_spoofed_reply_ignored, dns_reply_from_wrong_port_ignored,
 *                   dns_timeout_then_retry
 *   DNS-SERVERS-1   dns_server_table
 *
 * Bounded: the server thread waits with a receive timeout, each case has a
 * wall-clock limit through the resolver's own timeouts.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <moat/dns.h>
#include <moat/moat.h>
#include <moat/socket.h>

#include "ports/linux/linux_port.h"
#include "support/check_main.h"
#include "support/itest.h"

#define IP_A 0xc6120001u   /* 198.18.0.1 */
#define IP_B 0xc6120002u   /* 198.18.0.2 */

enum behaviour { ANSWER, SILENT_FIRST, SPOOF_FIRST, WRONG_PORT_FIRST, TRUNCATE, SERVFAIL,
                 NXDOMAIN, TTL0 };

struct srv {
    struct moat_stack *st;
    enum behaviour how;
    atomic_int stop;
    atomic_uint udp_queries, tcp_queries;
    pthread_mutex_t lock;       /* ready: the sockets are bound (env_open waits) */
    pthread_cond_t cond;
    int ready;
    uint16_t ids[8];            /* IDs of the first UDP queries */
    uint16_t ports[8];          /* and their source ports */
    pthread_t th;
};

struct env {
    char path[128];
    struct moat_stack *a, *b;
    struct srv srv;
    struct moat_dns *d;
};

static void case_dir_setup(void)
{
    itest_case_dir_make("dnswire");
}

/* A reply to @p q (a query of @p qn bytes) in @p out; returns its length. */
static size_t make_reply(const uint8_t *q, size_t qn, enum behaviour how, bool tcp, uint8_t *out)
{
    uint16_t qtype = (uint16_t)(q[qn - 4] << 8 | q[qn - 3]);
    unsigned rcode = how == SERVFAIL ? 2 : how == NXDOMAIN ? 3 : 0;
    unsigned n = (how == TRUNCATE) ? 40 : (rcode ? 0 : 2);
    bool tc = how == TRUNCATE && !tcp;
    memcpy(out, q, qn);                 /* ID and the question */
    out[2] = (uint8_t)(0x81 | (tc ? 0x02 : 0));
    out[3] = (uint8_t)(0x80 | rcode);
    out[6] = 0;
    out[7] = (uint8_t)(tc ? 0 : n);
    size_t o = qn;
    for (unsigned i = 0; i < n && !tc; i++) {
        static const uint8_t rr_a[] = { 0xc0, 0x0c, 0, 1, 0, 1 };
        static const uint8_t rr_aaaa[] = { 0xc0, 0x0c, 0, 28, 0, 1 };
        memcpy(out + o, qtype == 28 ? rr_aaaa : rr_a, 6);
        o += 6;
        uint32_t ttl = how == TTL0 ? 0 : 1;
        out[o++] = (uint8_t)(ttl >> 24); out[o++] = (uint8_t)(ttl >> 16);
        out[o++] = (uint8_t)(ttl >> 8); out[o++] = (uint8_t)ttl;
        if (qtype == 28) {
            out[o++] = 0; out[o++] = 16;
            memset(out + o, 0, 16);
            out[o] = 0x20; out[o + 1] = 0x01; out[o + 15] = (uint8_t)(i + 1);
            o += 16;
        } else {
            out[o++] = 0; out[o++] = 4;
            out[o++] = 192; out[o++] = 0; out[o++] = 2; out[o++] = (uint8_t)(10 + i);
        }
    }
    if (how == NXDOMAIN) {
        /* RFC 2308: an SOA in the authority section, negative TTL 5 s */
        static const uint8_t soa[] = { 0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0, 30, 0, 24,
                                       0xc0, 0x0c, 0xc0, 0x0c, 0, 0, 0, 1, 0, 0, 0, 2,
                                       0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5 };
        memcpy(out + o, soa, sizeof soa);
        o += sizeof soa;
        out[9] = 1;
    }
    return o;
}

static void serve_tcp(struct srv *s, moat_sock_t c)
{
    uint8_t in[600], out[2048];
    size_t have = 0;
    moat_sock_setopt(s->st, c, MOAT_OPT_RCVTIMEO_MS, 2000);
    while (have < 2 || have < 2u + (size_t)(in[0] << 8 | in[1])) {
        size_t got = 0;
        if (moat_sock_recv(s->st, c, in + have, sizeof in - have, &got) != 0 || got == 0)
            goto done;
        have += got;
    }
    atomic_fetch_add(&s->tcp_queries, 1);
    size_t n = make_reply(in + 2, have - 2, s->how, true, out + 2);
    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    for (size_t off = 0; off < n + 2;) {
        size_t sent = 0;
        if (moat_sock_send(s->st, c, out + off, n + 2 - off, &sent) != 0)
            break;
        off += sent;
    }
done:
    moat_sock_close(s->st, c);
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    moat_sock_t u, l, u54;
    struct moat_addr a53 = { .ip = 0, .port = 53 }, a54 = { .ip = 0, .port = 54 };
    ck_assert_int_eq(moat_sock_open(s->st, MOAT_SOCK_DGRAM, &u54), 0);
    ck_assert_int_eq(moat_sock_bind(s->st, u54, &a54), 0);
    ck_assert_int_eq(moat_sock_open(s->st, MOAT_SOCK_DGRAM, &u), 0);
    ck_assert_int_eq(moat_sock_bind(s->st, u, &a53), 0);
    ck_assert_int_eq(moat_sock_setopt(s->st, u, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_open(s->st, MOAT_SOCK_STREAM, &l), 0);
    ck_assert_int_eq(moat_sock_bind(s->st, l, &a53), 0);
    ck_assert_int_eq(moat_sock_listen(s->st, l, 4), 0);
    ck_assert_int_eq(moat_sock_setopt(s->st, l, MOAT_OPT_NONBLOCK, 1), 0);
    pthread_mutex_lock(&s->lock);
    s->ready = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    while (!atomic_load(&s->stop)) {
        struct moat_pollfd fds[2] = { { u, MOAT_POLLIN, 0 }, { l, MOAT_POLLIN, 0 } };
        if (moat_poll(s->st, fds, 2, 100, NULL) != 0)
            break;
        uint8_t q[600], out[2048];
        struct moat_addr from;
        size_t got = 0;
        while (moat_sock_recvfrom(s->st, u, q, sizeof q, &from, &got) == 0) {
            unsigned k = atomic_fetch_add(&s->udp_queries, 1);
            if (k < 8) {
                s->ids[k] = (uint16_t)(q[0] << 8 | q[1]);
                s->ports[k] = from.port;
            }
            if (k == 0 && s->how == SILENT_FIRST)
                continue;
            size_t n = make_reply(q, got, s->how, false, out);
            if (k == 0 && s->how == SPOOF_FIRST) {
                out[0] ^= 0x55;         /* wrong ID first, the real one after */
                moat_sock_sendto(s->st, u, out, n, &from, &got);
                out[0] ^= 0x55;
            }
            if (k == 0 && s->how == WRONG_PORT_FIRST) {
                /* the right ID and question from port 54, other addresses */
                uint8_t bad[2048];
                memcpy(bad, out, n);
                bad[n - 1] ^= 0x55;
                bad[n - 1 - 16] ^= 0x55;
                moat_sock_sendto(s->st, u54, bad, n, &from, &got);
            }
            moat_sock_sendto(s->st, u, out, n, &from, &got);
        }
        moat_sock_t c;
        while (moat_sock_accept(s->st, l, &c, NULL) == 0)
            serve_tcp(s, c);
    }
    moat_sock_close(s->st, u);
    moat_sock_close(s->st, l);
    moat_sock_close(s->st, u54);
    return NULL;
}

static void env_open(struct env *e, enum behaviour how)
{
    struct moat_config ca, cb;
    memset(e, 0, sizeof *e);
    itest_wire_path(e->path, sizeof e->path);
    itest_config(&ca, IP_A, MOAT_LINK_WIRE, e->path);
    itest_config(&cb, IP_B, MOAT_LINK_WIRE, e->path);
    ca.max_sockets = cb.max_sockets = 16;
    ca.sock_rx_bytes = ca.sock_tx_bytes = cb.sock_rx_bytes = cb.sock_tx_bytes = 64u * 1024;
    ck_assert_int_eq(moat_stack_open(&ca, &e->a), 0);
    ck_assert_int_eq(moat_stack_open(&cb, &e->b), 0);
    e->srv.st = e->b;
    e->srv.how = how;
    pthread_mutex_init(&e->srv.lock, NULL);
    pthread_cond_init(&e->srv.cond, NULL);
    ck_assert_int_eq(pthread_create(&e->srv.th, NULL, srv_main, &e->srv), 0);
    /* Queries only once port 53 is bound: before, B answers with ICMP
     * port unreachable and the resolver (rightly) moves on. */
    pthread_mutex_lock(&e->srv.lock);
    while (!e->srv.ready)
        pthread_cond_wait(&e->srv.cond, &e->srv.lock);
    pthread_mutex_unlock(&e->srv.lock);
    struct moat_dns_config dc;
    moat_dns_config_defaults(&dc);
    dc.servers[0] = IP_B;
    dc.timeout_ms = 300;
    dc.attempts = 2;
    ck_assert_int_eq(moat_dns_open(e->a, &dc, &e->d), 0);
}

static void env_close(struct env *e)
{
    moat_dns_close(e->d);
    atomic_store(&e->srv.stop, 1);
    pthread_join(e->srv.th, NULL);
    pthread_cond_destroy(&e->srv.cond);
    pthread_mutex_destroy(&e->srv.lock);
    moat_stack_close(e->a);
    moat_stack_close(e->b);
    moat_wire_unlink(e->path);
}

static struct moat_dns_stats dstats(const struct env *e)
{
    struct moat_dns_stats s;
    moat_dns_stats(e->d, &s);
    return s;
}

START_TEST(dns_answer_and_cache)
{
    struct env e;
    struct moat_dns_answer a;
    env_open(&e, ANSWER);
    ck_assert_int_eq(moat_dns_resolve(e.d, "files.moat.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_uint_eq(a.ip4[0], 0xc000020au);
    ck_assert_uint_eq(a.ip4[1], 0xc000020bu);
    ck_assert_uint_eq(a.ttl_s, 1);
    /* from the cache: nothing sent */
    ck_assert_int_eq(moat_dns_resolve(e.d, "FILES.moat.test.", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 1);
    ck_assert_uint_eq(dstats(&e).cache_hits, 1);
    /* past the TTL (1 s) it asks again: waiting for time itself here */
    itest_pause_ms(1100);
    ck_assert_int_eq(moat_dns_resolve(e.d, "files.moat.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 2);
    /* AAAA parses and comes back in ip6 */
    ck_assert_int_eq(moat_dns_resolve(e.d, "files.moat.test", MOAT_DNS_AAAA, 5000, &a), 0);
    ck_assert_uint_eq(a.qtype, MOAT_DNS_AAAA);
    ck_assert_uint_eq(a.ip6[1][0], 0x20);
    ck_assert_uint_eq(a.ip6[1][15], 2);
    env_close(&e);
}
END_TEST

START_TEST(dns_ttl0_not_cached)
{
    struct env e;
    struct moat_dns_answer a;
    env_open(&e, TTL0);
    ck_assert_int_eq(moat_dns_resolve(e.d, "x.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_int_eq(moat_dns_resolve(e.d, "x.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 2);
    ck_assert_uint_eq(dstats(&e).cache_hits, 0);
    env_close(&e);
}
END_TEST

/* DNS-B-RESP-1 (a new random ID and source port per try) */
START_TEST(dns_timeout_then_retry)
{
    struct env e;
    struct moat_dns_answer a;
    env_open(&e, SILENT_FIRST);
    uint64_t t0 = itest_now_ms();
    ck_assert_int_eq(moat_dns_resolve(e.d, "files.moat.test", MOAT_DNS_A, 5000, &a), 0);
    uint64_t took = itest_now_ms() - t0;
    ck_assert_uint_ge(took, 250);               /* it waited for the first try */
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 2);
    ck_assert_uint_ne(e.srv.ids[0], e.srv.ids[1]);      /* a new ID ... */
    ck_assert_uint_ne(e.srv.ports[0], e.srv.ports[1]);  /* ... from a new port */
    ck_assert_uint_eq(dstats(&e).timeouts, 1);
    env_close(&e);
}
END_TEST

/* DNS-B-RESP-1 (wrong ID) */
START_TEST(dns_spoofed_reply_ignored)
{
    struct env e;
    struct moat_dns_answer a;
    env_open(&e, SPOOF_FIRST);
    ck_assert_int_eq(moat_dns_resolve(e.d, "files.moat.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_uint_eq(dstats(&e).replies_ignored, 1);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 1);
    env_close(&e);
}
END_TEST

/* DNS-B-RESP-1: a well-formed answer with our ID and question from the
 * server's address but another port is not taken (the resolver's socket
 * is connected to server:53); the real one is. Wrong IDs:
 * dns_spoofed_reply_ignored; new ID and port per try:
 * dns_timeout_then_retry. */
START_TEST(dns_reply_from_wrong_port_ignored)
{
    struct env e;
    struct moat_dns_answer a;
    env_open(&e, WRONG_PORT_FIRST);
    ck_assert_int_eq(moat_dns_resolve(e.d, "files.moat.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_uint_eq(a.ip4[0], 0xc000020au);
    ck_assert_uint_eq(a.ip4[1], 0xc000020bu);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 1);
    env_close(&e);
}
END_TEST

/* DNS-SERVERS-1 (what of it applies: the table is the fixed array
 * moat_dns_config.servers[MOAT_DNS_SERVERS], so no index can be out of
 * range): every entry starts unspecified (0); unspecified entries are
 * skipped; with none set and no DHCP lease a query fails at once with
 * MOAT_E_ADDRNOTAVAIL and sends nothing. */
START_TEST(dns_server_table)
{
    struct env e;
    struct moat_dns_answer a;
    struct moat_dns_config dc;
    struct moat_dns *d;
    uint32_t id;
    env_open(&e, ANSWER);
    moat_dns_config_defaults(&dc);
    for (unsigned i = 0; i < MOAT_DNS_SERVERS; i++)
        ck_assert_uint_eq(dc.servers[i], 0);
    ck_assert_int_eq(moat_dns_open(e.a, &dc, &d), 0);
    ck_assert_int_eq(moat_dns_query(d, "files.moat.test", MOAT_DNS_A, &id),
                     MOAT_E_ADDRNOTAVAIL);
    moat_dns_close(d);
    dc.servers[MOAT_DNS_SERVERS - 1] = IP_B;    /* the last entry only */
    dc.timeout_ms = 300;
    ck_assert_int_eq(moat_dns_open(e.a, &dc, &d), 0);
    ck_assert_int_eq(moat_dns_resolve(d, "files.moat.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(a.n, 2);
    struct moat_dns_stats st;
    moat_dns_stats(d, &st);
    ck_assert_uint_eq(st.sent_udp, 1);          /* no try wasted on an empty entry */
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 1);
    moat_dns_close(d);
    env_close(&e);
}
END_TEST

START_TEST(dns_truncated_asks_over_tcp)
{
    struct env e;
    struct moat_dns_answer a;
    env_open(&e, TRUNCATE);
    ck_assert_int_eq(moat_dns_resolve(e.d, "big.moat.test", MOAT_DNS_A, 5000, &a), 0);
    ck_assert_uint_eq(a.n, MOAT_DNS_MAX_ADDRS);
    ck_assert_uint_eq(atomic_load(&e.srv.tcp_queries), 1);
    ck_assert_uint_eq(dstats(&e).tcp_fallbacks, 1);
    env_close(&e);
}
END_TEST

START_TEST(dns_errors)
{
    struct env e;
    struct moat_dns_answer a;
    env_open(&e, SERVFAIL);
    ck_assert_int_eq(moat_dns_resolve(e.d, "files.moat.test", MOAT_DNS_A, 5000, &a),
                     MOAT_E_CONNREFUSED);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 2);      /* attempts = 2 */
    env_close(&e);
    env_open(&e, NXDOMAIN);
    ck_assert_int_eq(moat_dns_resolve(e.d, "nosuch.moat.test", MOAT_DNS_A, 5000, &a),
                     MOAT_E_NONAME);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 1);
    /* the NXDOMAIN is cached for the SOA's negative TTL (RFC 2308) */
    ck_assert_int_eq(moat_dns_resolve(e.d, "nosuch.moat.test", MOAT_DNS_A, 5000, &a),
                     MOAT_E_NONAME);
    ck_assert_uint_eq(atomic_load(&e.srv.udp_queries), 1);
    ck_assert_uint_eq(dstats(&e).cache_hits, 1);
    ck_assert_int_eq(moat_dns_resolve(e.d, "bad..name", MOAT_DNS_A, 5000, &a), MOAT_E_INVAL);
    env_close(&e);
}
END_TEST

/* Two queries at once through the non-blocking calls and moat_poll. */
START_TEST(dns_nonblocking_two_queries)
{
    struct env e;
    struct moat_dns_answer a4, a6;
    uint32_t q4, q6;
    env_open(&e, ANSWER);
    ck_assert_int_eq(moat_dns_query(e.d, "one.test", MOAT_DNS_A, &q4), 0);
    ck_assert_int_eq(moat_dns_query(e.d, "two.test", MOAT_DNS_AAAA, &q6), 0);
    int r4 = MOAT_E_AGAIN, r6 = MOAT_E_AGAIN;
    uint64_t end = itest_now_ms() + 5000;
    while ((r4 == MOAT_E_AGAIN || r6 == MOAT_E_AGAIN) && itest_now_ms() < end) {
        struct moat_pollfd fds[4];
        unsigned n;
        int wait;
        ck_assert_int_eq(moat_dns_pollfds(e.d, fds, 4, &n, &wait), 0);
        ck_assert_int_ge(wait, 0);
        ck_assert_int_eq(moat_poll(e.a, fds, n, wait, NULL), 0);
        ck_assert_int_eq(moat_dns_process(e.d), 0);
        if (r4 == MOAT_E_AGAIN)
            r4 = moat_dns_result(e.d, q4, &a4);
        if (r6 == MOAT_E_AGAIN)
            r6 = moat_dns_result(e.d, q6, &a6);
    }
    ck_assert_int_eq(r4, 0);
    ck_assert_int_eq(r6, 0);
    ck_assert_uint_eq(a4.qtype, MOAT_DNS_A);
    ck_assert_uint_eq(a6.qtype, MOAT_DNS_AAAA);
    /* collected ids are gone */
    ck_assert_int_eq(moat_dns_result(e.d, q4, &a4), MOAT_E_BADHANDLE);
    env_close(&e);
}
END_TEST

static Suite *dns_wire_suite(void)
{
    Suite *s = suite_create("dns_wire");
    TCase *tc = tcase_create("resolver");
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dns_answer_and_cache);
    tcase_add_test(tc, dns_ttl0_not_cached);
    tcase_add_test(tc, dns_timeout_then_retry);
    tcase_add_test(tc, dns_spoofed_reply_ignored);
    tcase_add_test(tc, dns_truncated_asks_over_tcp);
    tcase_add_test(tc, dns_reply_from_wrong_port_ignored);
    tcase_add_test(tc, dns_server_table);
    tcase_add_test(tc, dns_errors);
    tcase_add_test(tc, dns_nonblocking_two_queries);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(dns_wire_suite)
