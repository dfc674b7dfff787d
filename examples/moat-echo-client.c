/* SPDX-License-Identifier: MIT */
/*
 * moat-echo-client: checks an echo server (moat-echo, or any RFC 862 echo
 * service) from a moat stack, and says what it saw.
 *
 *   moat-echo-client [link options] --peer ADDR [--port N] [--udp SIZES] [--tcp BYTES]
 *
 * ADDR is an IPv4 or an IPv6 address; a link-local IPv6 one may name its
 * zone as ADDR%N (N = interface index + 1, moat's scope_id; default: the
 * first interface). With an IPv6 peer the client first waits (up to 10 s)
 * until duplicate address detection lets it use an address of the
 * peer's scope. An empty SIZES ("--udp ''") skips the UDP checks.
 *
 * UDP: for each size in the comma-separated SIZES (default 1,512,1472,4000;
 * 4000 needs IP fragmentation both ways) sends one datagram of random bytes
 * and waits for the identical datagram back (up to 3 tries, 2 s each).
 * TCP (--tcp BYTES, default 0 = skip): sends BYTES random bytes while
 * reading the echo, compares every byte, and prints a hash of the stream
 * and the throughput. A stack without TCP (MOAT_E_NOTSUP) is reported and
 * skipped, not failed. Exit status 0 when every check passed.
 *
 * Used by scripts/demo.sh for its no-root mode: two moat stacks over the
 * shared-memory wire, this one against moat-echo.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define EC_MAX_SIZES 16

/* --peer: IPv4 dotted quad, or IPv6 with an optional %N zone (scope_id). */
static int ec_parse_peer(const char *text, struct moat_addr *peer)
{
    char buf[64];
    const char *pct = strchr(text, '%');
    uint16_t port = peer->port;
    if (strchr(text, ':') == NULL)
        return moat_ip4_parse(text, &peer->ip) != 0 || peer->ip == 0 ? -1 : 0;
    size_t n = pct ? (size_t)(pct - text) : strlen(text);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, text, n);
    buf[n] = 0;
    memset(peer, 0, sizeof *peer);
    peer->family = MOAT_AF_INET6;
    peer->port = port;
    if (moat_ip6_parse(buf, peer->ip6) != 0)
        return -1;
    if (pct) {
        char *end = NULL;
        unsigned long z = strtoul(pct + 1, &end, 10);
        if (end == pct + 1 || *end != 0 || z == 0 || z > 255)
            return -1;
        peer->scope_id = (uint32_t)z;
    }
    return 0;
}

#define EC_UDP_MAX 65507u
#define EC_CHUNK 65536u

/* xorshift64*: the test data only needs to be unpredictable to the stack,
 * not secret. */
static uint64_t ec_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void ec_fill(uint8_t *buf, size_t len, uint64_t *seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(ec_rand(seed) >> 56);
}

/* FNV-1a, 64 bit: a printable fingerprint of the stream, not a MAC. */
static uint64_t ec_fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int ec_udp(struct moat_stack *st, struct moat_addr *peer, const size_t *sizes,
                  unsigned n_sizes, uint64_t *seed)
{
    moat_sock_t s = 0;
    uint8_t *out = malloc(EC_UDP_MAX), *in = malloc(EC_UDP_MAX);
    int fails = 0;
    int rc = moat_sock_open(st, MOAT_SOCK_DGRAM, &s);

    if (rc == 0)
        rc = moat_sock_setopt(st, s, MOAT_OPT_NONBLOCK, 1);
    if (rc != 0 || !out || !in) {
        fprintf(stderr, "moat-echo-client: udp socket: %s\n", moat_strerror(rc));
        free(out);
        free(in);
        return 1;
    }
    for (unsigned k = 0; k < n_sizes && !ex_stop; k++) {
        size_t len = sizes[k], got = 0, sent = 0;
        int ok = 0;
        double t0 = 0, rtt = 0;

        ec_fill(out, len, seed);
        for (int attempt = 0; attempt < 3 && !ok && !ex_stop; attempt++) {
            t0 = ex_now();
            rc = moat_sock_sendto(st, s, out, len, peer, &sent);
            if (rc != 0) {
                fprintf(stderr, "moat-echo-client: udp %zu bytes: send: %s\n", len,
                        moat_strerror(rc));
                continue;
            }
            while (!ok && ex_now() - t0 < 2.0 && !ex_stop) {
                struct moat_pollfd p = { .sock = s, .events = MOAT_POLLIN };
                struct moat_addr from;
                if (moat_poll(st, &p, 1, 100, NULL) != 0)
                    break;
                rc = moat_sock_recvfrom(st, s, in, EC_UDP_MAX, &from, &got);
                if (rc != 0)
                    continue;
                /* An echo of an earlier, timed-out try has other bytes;
                 * skip it rather than fail. */
                if (from.ip == peer->ip && from.port == peer->port && got == len &&
                    memcmp(in, out, len) == 0) {
                    ok = 1;
                    rtt = ex_now() - t0;
                }
            }
        }
        if (ok) {
            printf("udp: %zu bytes echoed back identical (%.2f ms)\n", len, rtt * 1e3);
        } else {
            printf("udp: %zu bytes: FAILED, no identical echo in 3 tries\n", len);
            fails++;
        }
        fflush(stdout);
    }
    moat_sock_close(st, s);
    free(out);
    free(in);
    return fails ? 1 : 0;
}

static int ec_tcp(struct moat_stack *st, struct moat_addr *peer, uint64_t total, uint64_t *seed)
{
    moat_sock_t s = 0;
    uint8_t *out = malloc(EC_CHUNK), *in = malloc(EC_CHUNK), *expect = malloc(EC_CHUNK);
    uint64_t sent = 0, rcvd = 0, h_out = 1469598103934665603ull, h_in = h_out;
    uint64_t gen_seed = *seed, chk_seed = *seed;  /* replay the generator to check */
    size_t out_off = 0, out_len = 0;
    double t0, deadline;
    int rc = moat_sock_open(st, MOAT_SOCK_STREAM, &s), result = 1;

    if (!out || !in || !expect)
        goto done;
    if (rc == MOAT_E_NOTSUP) {
        printf("tcp: skipped: %s\n", moat_strerror(rc));
        result = 0;
        goto done;
    }
    if (rc == 0)
        rc = moat_sock_setopt(st, s, MOAT_OPT_NONBLOCK, 1);
    if (rc == 0)
        rc = moat_sock_connect(st, s, peer);
    deadline = ex_now() + 10.0;
    while (rc == MOAT_E_INPROGRESS && ex_now() < deadline && !ex_stop) {
        struct moat_pollfd p = { .sock = s, .events = MOAT_POLLOUT };
        unsigned nready = 0;
        int64_t err = 0;
        if (moat_poll(st, &p, 1, EX_POLL_MS, &nready) != 0 || nready == 0)
            continue;
        if (moat_sock_getopt(st, s, MOAT_OPT_ERROR, &err) == 0 && err != 0)
            rc = (int)err;
        else if (p.revents & (MOAT_POLLERR | MOAT_POLLHUP))
            rc = MOAT_E_CONNREFUSED;
        else
            rc = 0;
    }
    if (rc == MOAT_E_NOTSUP) {
        printf("tcp: skipped: %s\n", moat_strerror(rc));
        result = 0;
        goto done;
    }
    if (rc != 0) {
        printf("tcp: FAILED to connect: %s\n", moat_strerror(rc));
        goto done;
    }

    t0 = ex_now();
    deadline = t0 + 120.0;
    while (rcvd < total && !ex_stop && ex_now() < deadline) {
        struct moat_pollfd p = { .sock = s, .events = MOAT_POLLIN };
        size_t n = 0;

        if (out_len == 0 && sent < total) {
            out_len = total - sent < EC_CHUNK ? (size_t)(total - sent) : EC_CHUNK;
            out_off = 0;
            ec_fill(out, out_len, &gen_seed);
            h_out = ec_fnv(h_out, out, out_len);
        }
        if (out_len > 0) {
            rc = moat_sock_send(st, s, out + out_off, out_len, &n);
            if (rc != 0 && rc != MOAT_E_AGAIN) {
                printf("tcp: FAILED: send: %s\n", moat_strerror(rc));
                goto done;
            }
            out_off += n;
            out_len -= n;
            sent += n;
            if (sent == total && out_len == 0)
                moat_sock_shutdown(st, s, MOAT_SHUT_WR);
        }
        rc = moat_sock_recv(st, s, in, EC_CHUNK, &n);
        if (rc == 0 && n == 0) {
            printf("tcp: FAILED: echo server closed after %llu of %llu bytes\n",
                   (unsigned long long)rcvd, (unsigned long long)total);
            goto done;
        }
        if (rc == 0) {
            ec_fill(expect, n, &chk_seed);
            if (memcmp(in, expect, n) != 0) {
                printf("tcp: FAILED: echoed bytes differ near offset %llu\n",
                       (unsigned long long)rcvd);
                goto done;
            }
            h_in = ec_fnv(h_in, in, n);
            rcvd += n;
            continue;
        }
        if (rc != MOAT_E_AGAIN) {
            printf("tcp: FAILED: recv: %s\n", moat_strerror(rc));
            goto done;
        }
        if (out_len > 0)
            p.events |= MOAT_POLLOUT;
        moat_poll(st, &p, 1, EX_POLL_MS, NULL);
    }
    if (rcvd != total) {
        printf("tcp: FAILED: %llu of %llu bytes echoed before the deadline\n",
               (unsigned long long)rcvd, (unsigned long long)total);
        goto done;
    }
    {
        double secs = ex_now() - t0;
        printf("tcp: %llu bytes sent and echoed back identical, fnv1a64 %016llx both ways, "
               "%.3f s, %.1f Mbit/s each way\n", (unsigned long long)total,
               (unsigned long long)h_in, secs, (double)total * 8.0 / secs / 1e6);
        result = h_in == h_out ? 0 : 1;
    }
done:
    if (s)
        moat_sock_close(st, s);
    free(out);
    free(in);
    free(expect);
    return result;
}

int main(int argc, char **argv)
{
    struct moat_config cfg;
    struct moat_stack *st;
    struct moat_addr peer = { .ip = 0, .port = 7 };
    size_t sizes[EC_MAX_SIZES] = { 1, 512, 1472, 4000 };
    unsigned n_sizes = 4;
    uint64_t tcp_bytes = 0, seed;
    int have_peer = 0, rc;

    ex_init("moat-echo-client", " --peer ADDR [--port N] [--udp SIZE,SIZE,...] [--tcp BYTES]");
    ex_link_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (ex_link_opt(&cfg, argc, argv, &i))
            continue;
        if (strcmp(a, "--peer") == 0) {
            if (ec_parse_peer(ex_optarg(argc, argv, &i), &peer) != 0)
                ex_usage("--peer: expected an IPv4 or IPv6 address (IPv6: ADDR or ADDR%N)");
            have_peer = 1;
        } else if (strcmp(a, "--port") == 0) {
            peer.port = (uint16_t)ex_parse_num(a, ex_optarg(argc, argv, &i), 1, 65535, 0);
        } else if (strcmp(a, "--udp") == 0) {
            char list[256], *save = NULL;
            const char *v = ex_optarg(argc, argv, &i);
            if (strlen(v) >= sizeof list)
                ex_usage("--udp: list too long");
            strcpy(list, v);
            n_sizes = 0;
            for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (n_sizes == EC_MAX_SIZES)
                    ex_usage("--udp: at most 16 sizes");
                sizes[n_sizes++] = (size_t)ex_parse_num(a, tok, 1, EC_UDP_MAX, 0);
            }
        } else if (strcmp(a, "--tcp") == 0) {
            tcp_bytes = ex_parse_num(a, ex_optarg(argc, argv, &i), 0, 1ull << 40, 1);
        } else {
            ex_bad_opt(a);
        }
    }
    if (!have_peer)
        ex_usage("--peer ADDR is required");
    ex_link_finish(&cfg);
    ex_signals();
    seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull | 1;

    st = ex_open(&cfg);
    if (ex_link_dhcp() && ex_wait_address(st, 30000, NULL) != 0) {
        moat_stack_close(st);
        return 1;
    }
    /* DAD keeps a new address tentative for about a second: wait for one
     * of the peer's scope (link-local for a link-local peer). */
    if (peer.family == MOAT_AF_INET6 &&
        ex_wait_ip6(st, peer.ip6[0] == 0xfe && (peer.ip6[1] & 0xc0) == 0x80, 10000) != 0) {
        printf("ip6: FAILED: no usable IPv6 address of the peer's scope\n");
        moat_stack_close(st);
        return 1;
    }
    rc = n_sizes ? ec_udp(st, &peer, sizes, n_sizes, &seed) : 0;
    if (tcp_bytes > 0 && !ex_stop)
        rc |= ec_tcp(st, &peer, tcp_bytes, &seed);
    fflush(stdout);
    ex_print_stats(st);
    moat_stack_close(st);
    return rc;
}
