/* SPDX-License-Identifier: MIT */
/*
 * moat-fetch [link options] [--dns ADDR]... [--timeout S] [--limit-rate N]
 *            [--stats] URL
 * moat-fetch [link options] [--dns ADDR]... --resolve NAME
 *
 * Fetch http://HOST[:PORT]/PATH over moat and write the body to stdout:
 * the host is looked up by DNS (A records; an IPv4 literal is used as is),
 * then one HTTP/1.0 GET (so the answer is never chunked) over TCP. DNS
 * servers are the --dns ones, else those of the DHCP lease (--dhcp).
 * --resolve prints the addresses of NAME, one a line, and exits.
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
#include "moat/dns.h"

#define FETCH_HDR_MAX 16384u

struct url {
    char host[256];
    uint16_t port;
    char path[2048];
};

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

static int parse_url(const char *u, struct url *out)
{
    const char *p;
    if (strncmp(u, "http://", 7) != 0)
        return -1;
    p = u + 7;
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(out->host))
        return -1;
    memcpy(out->host, p, hl);
    out->host[hl] = 0;
    p += hl;
    out->port = 80;
    if (*p == ':') {
        char *end;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (end == p + 1 || v == 0 || v > 65535)
            return -1;
        out->port = (uint16_t)v;
        p = end;
    }
    if (*p == 0)
        p = "/";
    if (*p != '/' || strlen(p) >= sizeof(out->path) || strpbrk(p, " \r\n"))
        return -1;
    strcpy(out->path, p);
    return 0;
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !ex_stop)
        ;
}

int main(int argc, char **argv)
{
    struct moat_config cfg;
    struct moat_dns_config dcfg;
    const char *url_text = NULL, *resolve = NULL;
    unsigned n_dns = 0;
    double timeout_s = 30;
    uint64_t rate = 0;
    int stats = 0;

    ex_init("moat-fetch", " [--dns ADDR]... [--timeout S] [--limit-rate N] [--stats]"
                          " (URL | --resolve NAME)\n"
                          "  URL                http://HOST[:PORT]/PATH; body to stdout");
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
    struct url url;
    memset(&url, 0, sizeof url);
    if (url_text && parse_url(url_text, &url) != 0)
        ex_usage("URL must be http://HOST[:PORT]/PATH (https is not supported)");
    if (resolve) {
        if (strlen(resolve) >= sizeof(url.host))
            ex_usage("--resolve: name too long");
        strcpy(url.host, resolve);
    }
    /* Small rings: one connection, one resolver. */
    cfg.max_sockets = 64;
    cfg.sock_rx_bytes = cfg.sock_tx_bytes = 1u << 20;
    ex_link_finish(&cfg);
    ex_signals();
    struct moat_stack *st = ex_open(&cfg);
    int timeout_ms = (int)(timeout_s * 1000);
    if (ex_link_dhcp() && ex_wait_address(st, timeout_ms, NULL) != 0) {
        moat_stack_close(st);
        return 1;
    }

    /* The name: a literal, or DNS. */
    uint32_t ip = 0;
    struct moat_dns *dns = NULL;
    struct moat_dns_answer ans;
    memset(&ans, 0, sizeof ans);
    if (url.host[0] == '[')
        fail(st, url.host, "IPv6 addresses are not supported yet");
    if (moat_ip4_parse(url.host, &ip) == 0 && !resolve) {
        ans.n = 1;
        ans.ip4[0] = ip;
    } else {
        int rc = moat_dns_open(st, &dcfg, &dns);
        if (rc == 0)
            rc = moat_dns_resolve(dns, url.host, MOAT_DNS_A, timeout_ms, &ans);
        if (rc == MOAT_E_ADDRNOTAVAIL)
            fail(st, url.host, "no DNS server: give --dns ADDR, or --dhcp with a server that names one");
        if (rc == MOAT_E_CONNREFUSED)
            fail(st, url.host, "the DNS servers refused the query or failed (REFUSED, SERVFAIL)");
        if (rc != 0)
            fail(st, url.host, moat_strerror(rc));
        ip = ans.ip4[0];
    }
    if (resolve) {
        char a[16];
        for (unsigned i = 0; i < ans.n; i++)
            printf("%s\n", moat_ip4_format(ans.ip4[i], a));
        fflush(stdout);
    } else {
        char what[300];
        snprintf(what, sizeof what, "%s:%u", url.host, url.port);
        moat_sock_t s;
        struct moat_addr to = { .ip = ip, .port = url.port };
        int rc = moat_sock_open(st, MOAT_SOCK_STREAM, &s);
        if (rc == 0)
            rc = moat_sock_setopt(st, s, MOAT_OPT_SNDTIMEO_MS, timeout_ms);
        if (rc == 0)
            rc = moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, timeout_ms);
        if (rc == 0)
            rc = moat_sock_connect(st, s, &to);
        if (rc != 0)
            fail(st, what, io_error(rc));
        char req[2600];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: moat-fetch\r\n"
                         "Accept: */*\r\n\r\n", url.path, url.host);
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
