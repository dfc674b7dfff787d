/* SPDX-License-Identifier: MIT */
/*
 * moat-fetch [link options] [--dns ADDR]... [--timeout S] [--limit-rate N]
 *            [-4 | -6] [--stats] URL
 * moat-fetch [link options] [--dns ADDR]... [-4 | -6] --resolve NAME
 *
 * Fetch http://HOST[:PORT]/PATH over moat and write the body to stdout.
 * HOST is a name, an IPv4 literal or an IPv6 literal in brackets
 * (http://[2001:db8::1]:8080/x; a link-local one with its zone,
 * http://[fe80::1%25tap0]/ or [fe80::1%1]: the --tap name or the scope id,
 * interface index + 1). A name is looked up by DNS, A and AAAA at once;
 * the addresses are tried in order, the next one when a connection fails
 * or times out: IPv6 first when the stack holds a usable global IPv6
 * address, else IPv4 first (fetch_url.c). -4 / -6 use only one family.
 * Then one HTTP/1.0 GET (so the answer is never chunked) over TCP. DNS
 * servers are the --dns ones, else those of the DHCP lease (--dhcp).
 * --resolve prints the addresses of NAME, one a line (A, then AAAA), and
 * exits.
 *
 * Without --ip and --dhcp the stack is IPv6-only: moat-fetch waits (up to
 * --timeout) for a usable IPv6 address before it connects; so it does for
 * an IPv6 literal or -6.
 *
 * Errors are one line on stderr, "moat-fetch: WHAT: why", and exit 1;
 * argument errors exit 2. --limit-rate reads at most N bytes per second
 * (a slow reader, for tests that need a long transfer); --stats prints the
 * stack's and the resolver's counters on stderr at the end.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "examples/common.h"
#include "examples/fetch_url.h"
#include "moat/dns.h"

#define FETCH_HDR_MAX 16384u

static _Noreturn void fail(struct moat_stack *st, const char *what, const char *why)
{
    fprintf(stderr, "moat-fetch: %s: %s\n", what, why);
    if (st)
        moat_stack_close(st);
    exit(1);
}

/* The message for a connect/send/recv failure: a blocking call that timed
 * out says AGAIN; an address that went away under a connection was a
 * DHCP lease ending (core/dhcp.c). */
static const char *io_error(int rc)
{
    if (rc == MOAT_E_AGAIN)
        return moat_strerror(MOAT_E_TIMEDOUT);
    if (rc == MOAT_E_ADDRNOTAVAIL && ex_link_dhcp())
        return "our address is gone: the DHCP lease ended (address not available)";
    return moat_strerror(rc);
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !ex_stop)
        ;
}

/* The A and AAAA queries of @p fam, in flight together; *rc4 / *rc6 get
 * their results (MOAT_E_NOTSUP: not asked). Returns 0, or an error that
 * concerns both (no server, the stack gone). */
static int lookup(struct moat_dns *dns, struct moat_stack *st, const char *name,
                  enum fetch_family fam, int timeout_ms, struct moat_dns_answer *a4, int *rc4,
                  struct moat_dns_answer *a6, int *rc6)
{
    uint32_t id4 = 0, id6 = 0;
    *rc4 = *rc6 = MOAT_E_NOTSUP;
    if (fam != FETCH_IP6_ONLY) {
        int rc = moat_dns_query(dns, name, MOAT_DNS_A, &id4);
        if (rc != 0)
            return rc;
        *rc4 = MOAT_E_AGAIN;
    }
    if (fam != FETCH_IP4_ONLY) {
        int rc = moat_dns_query(dns, name, MOAT_DNS_AAAA, &id6);
        if (rc != 0)
            return rc;
        *rc6 = MOAT_E_AGAIN;
    }
    double end = ex_now() + timeout_ms / 1000.0;
    for (;;) {
        if (*rc4 == MOAT_E_AGAIN)
            *rc4 = moat_dns_result(dns, id4, a4);
        if (*rc6 == MOAT_E_AGAIN)
            *rc6 = moat_dns_result(dns, id6, a6);
        if (*rc4 != MOAT_E_AGAIN && *rc6 != MOAT_E_AGAIN)
            return 0;
        double left = end - ex_now();
        if (left <= 0 || ex_stop) {
            /* What is still open is forgotten when the resolver closes. */
            if (*rc4 == MOAT_E_AGAIN)
                *rc4 = MOAT_E_TIMEDOUT;
            if (*rc6 == MOAT_E_AGAIN)
                *rc6 = MOAT_E_TIMEDOUT;
            return 0;
        }
        struct moat_pollfd fds[16];
        unsigned n = 0;
        int wait = -1;
        moat_dns_pollfds(dns, fds, 16, &n, &wait);
        if (wait < 0 || wait > (int)(left * 1000) + 1)
            wait = (int)(left * 1000) + 1;
        if (wait > EX_POLL_MS)
            wait = EX_POLL_MS;
        int rc = moat_poll(st, fds, n, wait, NULL);
        if (rc == 0)
            rc = moat_dns_process(dns);
        if (rc != 0)
            return rc;
    }
}

/* The most telling of two lookup results (both failed). */
static int lookup_error(int rc4, int rc6)
{
    if (rc4 == MOAT_E_NOTSUP)
        return rc6;
    if (rc6 == MOAT_E_NOTSUP)
        return rc4;
    if (rc4 == MOAT_E_NODATA || rc4 == MOAT_E_NONAME)
        return rc6 == MOAT_E_NODATA ? rc6 : rc4;
    return rc4;
}

/* Open a TCP connection to @p to, giving up after @p timeout_ms. Returns
 * 0 and the socket, or the error with nothing left open. */
static int try_connect(struct moat_stack *st, const struct moat_addr *to, int timeout_ms,
                       moat_sock_t *out)
{
    moat_sock_t s;
    int rc = moat_sock_open(st, MOAT_SOCK_STREAM, &s);
    if (rc != 0)
        return rc;
    rc = moat_sock_setopt(st, s, MOAT_OPT_SNDTIMEO_MS, timeout_ms);
    if (rc == 0)
        rc = moat_sock_connect(st, s, to);
    if (rc != 0) {
        moat_sock_close(st, s);
        return rc;
    }
    *out = s;
    return 0;
}

static const char *addr_text(const struct moat_addr *a, char *buf)
{
    if (a->family == MOAT_AF_INET6)
        return moat_ip6_format(a->ip6, buf);
    return moat_ip4_format(a->ip, buf);
}

/* Per try when more addresses follow: a dead IPv6 path should cost
 * seconds, not the whole --timeout (happy eyeballs, much simplified:
 * one after the other, RFC 8305 races them). */
#define FETCH_TRY_MS 3000

int main(int argc, char **argv)
{
    struct moat_config cfg;
    struct moat_dns_config dcfg;
    const char *url_text = NULL, *resolve = NULL;
    unsigned n_dns = 0;
    double timeout_s = 30;
    uint64_t rate = 0;
    int stats = 0;
    enum fetch_family fam = FETCH_ANY;

    ex_init("moat-fetch", " [--dns ADDR]... [--timeout S] [--limit-rate N] [-4 | -6] [--stats]"
                          " (URL | --resolve NAME)\n"
                          "  URL                http://HOST[:PORT]/PATH; body to stdout; HOST may\n"
                          "                     be [IPv6] or [fe80::X%25ZONE] (ZONE: the --tap\n"
                          "                     name or 1)\n"
                          "  -4, -6             use only IPv4 / only IPv6 (default: both, IPv6\n"
                          "                     first when a global IPv6 address is held)");
    ex_link_defaults(&cfg);
    moat_dns_config_defaults(&dcfg);
    for (int i = 1; i < argc; i++) {
        if (ex_link_opt(&cfg, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--dns") == 0) {
            const char *v = ex_optarg(argc, argv, &i);
            if (n_dns >= MOAT_DNS_SERVERS || moat_ip4_parse(v, &dcfg.servers[n_dns]) != 0)
                ex_usage("--dns: expected an IPv4 address (at most 3 of them)");
            n_dns++;
        } else if (strcmp(argv[i], "--timeout") == 0) {
            timeout_s = ex_parse_seconds("--timeout", ex_optarg(argc, argv, &i));
        } else if (strcmp(argv[i], "--limit-rate") == 0) {
            rate = ex_parse_num("--limit-rate", ex_optarg(argc, argv, &i), 1, 1ull << 40, 1);
        } else if (strcmp(argv[i], "--stats") == 0) {
            stats = 1;
        } else if (strcmp(argv[i], "-4") == 0 || strcmp(argv[i], "--ipv4") == 0) {
            fam = FETCH_IP4_ONLY;
        } else if (strcmp(argv[i], "-6") == 0 || strcmp(argv[i], "--ipv6") == 0) {
            fam = FETCH_IP6_ONLY;
        } else if (strcmp(argv[i], "--resolve") == 0) {
            resolve = ex_optarg(argc, argv, &i);
        } else if (argv[i][0] != '-' && !url_text) {
            url_text = argv[i];
        } else {
            ex_bad_opt(argv[i]);
        }
    }
    if (!url_text == !resolve)
        ex_usage("give a URL or --resolve NAME");
    struct fetch_url url;
    memset(&url, 0, sizeof url);
    if (url_text) {
        const char *why = NULL;
        if (fetch_url_parse(url_text, &url, &why) != 0) {
            /* One line, not the usage text: the URL is the problem. */
            fprintf(stderr, "moat-fetch: %s: %s\n", url_text, why);
            return 2;
        }
    }
    if (resolve) {
        if (strlen(resolve) >= sizeof(url.host))
            ex_usage("--resolve: name too long");
        strcpy(url.host, resolve);
    }
    uint32_t lit4 = 0;
    int is_lit4 = !url.is_ip6 && moat_ip4_parse(url.host, &lit4) == 0 && !resolve;
    if ((url.is_ip6 && fam == FETCH_IP4_ONLY) || (is_lit4 && fam == FETCH_IP6_ONLY))
        ex_usage("-4/-6 contradicts the address in the URL");
    /* Small rings: one connection, one resolver. */
    cfg.max_sockets = 64;
    cfg.sock_rx_bytes = cfg.sock_tx_bytes = 1u << 20;
    ex_link_finish(&cfg);
    uint32_t scope = 0;
    if (url.zone[0] && fetch_zone_scope(url.zone, cfg.ifs[0].dev, cfg.n_ifs, &scope) != 0) {
        fprintf(stderr, "moat-fetch: %s: zone '%s' is no interface of this stack (give %s or 1)\n",
                url_text, url.zone, cfg.ifs[0].dev);
        return 2;
    }
    ex_signals();
    struct moat_stack *st = ex_open(&cfg);
    int timeout_ms = (int)(timeout_s * 1000);
    double t_end = ex_now() + timeout_s;
    if (ex_link_dhcp() && ex_wait_address(st, timeout_ms, NULL) != 0) {
        moat_stack_close(st);
        return 1;
    }
    /* IPv6 is the only way, or the asked one: wait for an address to send
     * from (a link-local one will do for a link-local literal). */
    int ll_lit = url.is_ip6 && url.ip6[0] == 0xfe && (url.ip6[1] & 0xc0) == 0x80;
    if (!resolve && (url.is_ip6 || fam == FETCH_IP6_ONLY || ex_link_ip6_only()) &&
        ex_wait_ip6(st, ll_lit, (int)((t_end - ex_now()) * 1000)) != 0)
        fail(st, url.host, ll_lit ? "no usable IPv6 link-local address (DAD failed?)"
                                  : "no global IPv6 address (no router advertisement?)");

    /* The name: a literal, or DNS. */
    struct moat_dns *dns = NULL;
    struct moat_dns_answer a4, a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    int rc4 = MOAT_E_NOTSUP, rc6 = MOAT_E_NOTSUP;
    if (url.is_ip6) {
        a6.n = 1;
        memcpy(a6.ip6[0], url.ip6, 16);
        rc6 = 0;
    } else if (is_lit4) {
        a4.n = 1;
        a4.ip4[0] = lit4;
        rc4 = 0;
    } else {
        int rc = moat_dns_open(st, &dcfg, &dns);
        if (rc == 0)
            rc = lookup(dns, st, url.host, fam, timeout_ms, &a4, &rc4, &a6, &rc6);
        if (rc == 0 && rc4 != 0 && rc6 != 0)
            rc = lookup_error(rc4, rc6);
        if (rc == MOAT_E_ADDRNOTAVAIL)
            fail(st, url.host, "no DNS server: give --dns ADDR, or --dhcp with a server that names one");
        if (rc == MOAT_E_CONNREFUSED)
            fail(st, url.host, "the DNS servers refused the query or failed (REFUSED, SERVFAIL)");
        if (rc != 0)
            fail(st, url.host, moat_strerror(rc));
    }
    if (resolve) {
        char a[MOAT_IP6_STRLEN];
        for (unsigned i = 0; rc4 == 0 && i < a4.n; i++)
            printf("%s\n", moat_ip4_format(a4.ip4[i], a));
        for (unsigned i = 0; rc6 == 0 && i < a6.n; i++)
            printf("%s\n", moat_ip6_format(a6.ip6[i], a));
        fflush(stdout);
    } else {
        char what[300];
        snprintf(what, sizeof what, "%s", url.host_hdr);
        struct moat_stats sst;
        memset(&sst, 0, sizeof sst);
        int prefer6 = url.is_ip6 ||
                      (moat_stack_stats(st, &sst) == 0 && fetch_have_global6(&sst.ip6[0]));
        /* A global address still in DAD (a static --ip6 just after start)
         * is usable within a second or two: worth that wait when the name
         * has IPv6 addresses. */
        if (!prefer6 && rc6 == 0 && fam == FETCH_ANY && fetch_tentative_global6(&sst.ip6[0]))
            prefer6 = ex_wait_ip6(st, 0, timeout_ms < 3000 ? timeout_ms : 3000) == 0;
        struct moat_addr cand[2 * MOAT_DNS_MAX_ADDRS];
        unsigned ncand = fetch_order(rc6 == 0 ? &a6 : NULL, rc4 == 0 ? &a4 : NULL, prefer6,
                                     fam, url.port, cand, 2 * MOAT_DNS_MAX_ADDRS);
        if (ncand == 0)
            fail(st, what, fam == FETCH_IP4_ONLY ? "no IPv4 address for this name"
                                                 : "no IPv6 address for this name");
        moat_sock_t s = 0;
        int rc = MOAT_E_HOSTUNREACH;
        for (unsigned i = 0; i < ncand && !ex_stop; i++) {
            int left_ms = (int)((t_end - ex_now()) * 1000);
            if (left_ms <= 0) {
                rc = MOAT_E_TIMEDOUT;
                break;
            }
            int try_ms = i + 1 < ncand && left_ms > FETCH_TRY_MS ? FETCH_TRY_MS : left_ms;
            cand[i].scope_id = cand[i].family == MOAT_AF_INET6 ? scope : 0;
            rc = try_connect(st, &cand[i], try_ms, &s);
            if (rc == 0)
                break;
            if (i + 1 < ncand) {
                char a[MOAT_IP6_STRLEN];
                fprintf(stderr, "moat-fetch: note: %s: %s; trying the next address\n",
                        addr_text(&cand[i], a), io_error(rc));
            }
        }
        if (rc != 0) {
            if (ncand > 1) {
                char why[160];
                snprintf(why, sizeof why, "%s (tried %u addresses)", io_error(rc), ncand);
                fail(st, what, why);
            }
            fail(st, what, io_error(rc));
        }
        rc = moat_sock_setopt(st, s, MOAT_OPT_SNDTIMEO_MS, timeout_ms);
        if (rc == 0)
            rc = moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, timeout_ms);
        if (rc != 0)
            fail(st, what, io_error(rc));
        char req[2600];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: moat-fetch\r\n"
                         "Accept: */*\r\n\r\n", url.path, url.host_hdr);
        for (size_t off = 0; off < (size_t)n;) {
            size_t sent = 0;
            rc = moat_sock_send(st, s, req + off, (size_t)n - off, &sent);
            if (rc != 0)
                fail(st, what, io_error(rc));
            off += sent;
        }
        /* Header: up to the blank line. */
        static char buf[1u << 16];
        size_t have = 0;
        char *body = NULL;
        while (!body) {
            size_t got = 0;
            if (have >= FETCH_HDR_MAX)
                fail(st, what, "HTTP header longer than 16 KiB");
            rc = moat_sock_recv(st, s, buf + have, FETCH_HDR_MAX - have, &got);
            if (rc != 0)
                fail(st, what, io_error(rc));
            if (got == 0)
                fail(st, what, "connection closed before the HTTP header ended");
            have += got;
            buf[have] = 0;
            char *e = strstr(buf, "\r\n\r\n");
            if (e)
                body = e + 4;
        }
        int major = 0, minor = 0, status = 0;
        if (sscanf(buf, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
            fail(st, what, "not an HTTP response");
        if (status != 200) {
            char why[64];
            snprintf(why, sizeof why, "HTTP status %d", status);
            fail(st, what, why);
        }
        long long clen = -1;
        for (char *h = strstr(buf, "\r\n"); h && h < body; h = strstr(h + 2, "\r\n")) {
            if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                clen = atoll(h + 17);
        }
        size_t first = have - (size_t)(body - buf);
        uint64_t total = first;
        if (first && fwrite(body, 1, first, stdout) != first)
            fail(st, "stdout", strerror(errno));
        double t0 = ex_now();
        while (!ex_stop) {
            size_t got = 0;
            size_t want = sizeof buf;
            if (rate) {
                /* Sleep until the byte count is back under the rate. */
                double ahead = (double)total / (double)rate - (ex_now() - t0);
                if (ahead > 0)
                    sleep_us((uint64_t)(ahead * 1e6));
                if (want > rate / 10 + 1)
                    want = rate / 10 + 1;
            }
            rc = moat_sock_recv(st, s, buf, want, &got);
            if (rc != 0)
                fail(st, what, io_error(rc));
            if (got == 0)
                break;
            if (fwrite(buf, 1, got, stdout) != got)
                fail(st, "stdout", strerror(errno));
            total += got;
        }
        if (ex_stop)
            fail(st, what, "interrupted");
        if (clen >= 0 && total != (uint64_t)clen) {
            char why[96];
            snprintf(why, sizeof why, "body has %llu bytes, Content-Length said %lld",
                     (unsigned long long)total, clen);
            fail(st, what, why);
        }
        fflush(stdout);
        moat_sock_close(st, s);
    }
    if (stats) {
        ex_print_stats(st);
        if (dns) {
            struct moat_dns_stats ds;
            moat_dns_stats(dns, &ds);
            fprintf(stderr, "moat-fetch: dns: queries=%llu cache_hits=%llu sent_udp=%llu "
                            "tcp_fallbacks=%llu replies_ignored=%llu timeouts=%llu\n",
                    (unsigned long long)ds.queries, (unsigned long long)ds.cache_hits,
                    (unsigned long long)ds.sent_udp, (unsigned long long)ds.tcp_fallbacks,
                    (unsigned long long)ds.replies_ignored, (unsigned long long)ds.timeouts);
        }
    }
    moat_dns_close(dns);
    moat_stack_close(st);
    return 0;
}
