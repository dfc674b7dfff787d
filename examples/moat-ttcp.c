/* SPDX-License-Identifier: MIT */
/*
 * moat-ttcp: bulk TCP throughput and request/response latency, measured by
 * one program over either moat or the host's own sockets (--kernel), so the
 * two stacks are compared with the same code.
 *
 *   moat-ttcp -t [link options] --peer ADDR [--port N] [--bytes N | --seconds S] [--rr COUNT]
 *   moat-ttcp -r [link options] [--port N] [--rr COUNT]
 *   moat-ttcp -t|-r ... --connections N
 *   ... --kernel: the same over the host's BSD sockets (link options other
 *   than --ip, which then names the local address, are not used)
 *
 * -t connects and sends (default 16 MiB), then shuts down its side and
 * waits for the receiver to close, so the time covers delivery of the last
 * byte to the receiving program. -r accepts one connection and counts bytes
 * until EOF. With --rr, -t does COUNT one-byte round trips against an echo
 * server and -r is such an echo server. The last line on stdout is
 *   ttcp: bytes=N seconds=S Mbit/s=X      or      ttcp: rr=N seconds=S rtt_us=X
 * With --connections N (a benchmark extension, not in DESIGN.md section 6),
 * -t opens N connections one after the other, each a whole transaction:
 * connect, one byte each way, orderly close (the client's FIN first, the
 * receiver's FIN awaited), so the rate covers both handshakes; -r serves N
 * such connections, echoing. Both print
 *   ttcp: conns=N seconds=S conns_per_s=X
 * With --zerocopy (moat only, bulk -t/-r), the data path uses the
 * zero-copy socket calls (moat_sock_send_view/commit, recv_view/release):
 * -t commits send-ring space in place without writing it (ttcp's payload
 * means nothing; a real application would produce its data there) and -r
 * releases what it views without copying it out, so the difference to the
 * default run is the cost of the application-boundary copy.
 * MOAT_TTCP_ZEROCOPY=1 in the environment is the benchmark lever for the
 * same (bench/backends.sh COLUMNS); it is ignored where --zerocopy would be
 * refused (--kernel, --rr, --connections), so a column can set it for all
 * its cases.
 * The environment variable MOAT_SPIN_US, when set, overrides cfg.spin_us
 * (how long a factored domain or the application spins before sleeping).
 * Every wait is a poll with a short timeout, so SIGINT/SIGTERM end the run.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "ttcp_io.h"

#define TTCP_CHUNK (128u * 1024u)
#define TTCP_DEFAULT_BYTES (16ull << 20)
#define TTCP_DRAIN_S 30.0       /* wait this long for the receiver's close */

struct opts {
    int transmit, receive, kernel;
    uint32_t local, peer;
    int have_peer;
    uint16_t port;
    uint64_t bytes;
    double seconds;
    uint64_t rr;
    uint64_t conns;
    int zerocopy;
};

/* --connections, moat only: the control requests per connection on the
 * application's side of the socket boundary (moat_stats.app_ctl_*), the
 * ones it waited for and the ones it posted; stderr, for bench/ and
 * docs/backends-compare.md. */
static void t_ctl_report(struct tio *t, const char *side, uint64_t conns)
{
    struct moat_stats s;

    if (t->kernel || conns == 0 || moat_stack_stats(t->st, &s) != 0)
        return;
    fprintf(stderr, "moat-ttcp %s: control requests per connection: %.2f waited, %.2f posted"
            " (%llu posted errors)\n", side, (double)s.app_ctl_waited / (double)conns,
            (double)s.app_ctl_posted / (double)conns,
            (unsigned long long)s.app_ctl_posted_errors);
}

/* One connection of --connections, client side: connect, one byte there
 * and back, our FIN, then wait for the peer's FIN. */
static int conn_once(struct tio *t, const struct opts *o, uint8_t *buf)
{
    int64_t s = 0;
    size_t got = 0;
    double deadline = ex_now() + TTCP_DRAIN_S;
    int rc = t_connect(t, o->local, o->peer, o->port, &s);

    if (rc != 0)
        return rc;
    t_nodelay(t, s);
    buf[0] = 0x5a;
    rc = t_send_all(t, s, buf, 1);
    if (rc == 0)
        rc = t_recv_some(t, s, buf, 1, &got, deadline);
    if (rc == 0 && got == 0)
        rc = MOAT_E_CONNRESET;
    if (rc == 0)
        rc = t_shutdown_wr(t, s);
    while (rc == 0) {
        rc = t_recv_some(t, s, buf, TTCP_CHUNK, &got, deadline);
        if (rc == 0 && got == 0)
            break;                      /* the peer's FIN: done */
    }
    t_close(t, s);
    return rc;
}

static int run_connections(struct tio *t, const struct opts *o, uint8_t *buf)
{
    char ipb[16];
    double t0 = ex_now(), t1;

    for (uint64_t i = 0; i < o->conns; i++) {
        int rc = conn_once(t, o, buf);
        if (rc != 0) {
            fprintf(stderr, "moat-ttcp: connection %llu to %s:%u failed: %s\n",
                    (unsigned long long)i, moat_ip4_format(o->peer, ipb), o->port,
                    t_strerror(t, rc));
            return 1;
        }
        if (i == 0)
            fprintf(stderr, "moat-ttcp -t: connections to %s:%u (%s)\n",
                    moat_ip4_format(o->peer, ipb), o->port,
                    o->kernel ? "kernel sockets" : moat_backend_name());
    }
    t1 = ex_now();
    printf("ttcp: conns=%llu seconds=%.3f conns_per_s=%.1f\n", (unsigned long long)o->conns,
           t1 - t0, (double)o->conns / (t1 - t0));
    t_ctl_report(t, "-t", o->conns);
    return 0;
}

static int run_transmit(struct tio *t, const struct opts *o, uint8_t *buf)
{
    int64_t s = 0;
    char ipb[16];
    double t0, t1;
    uint64_t total = 0;
    int rc = t_connect(t, o->local, o->peer, o->port, &s);

    if (rc != 0) {
        fprintf(stderr, "moat-ttcp: cannot connect to %s:%u: %s\n",
                moat_ip4_format(o->peer, ipb), o->port, t_strerror(t, rc));
        return 1;
    }
    fprintf(stderr, "moat-ttcp -t: connected to %s:%u (%s)\n", moat_ip4_format(o->peer, ipb),
            o->port, o->kernel ? "kernel sockets" : moat_backend_name());

    if (o->rr) {
        t_nodelay(t, s);
        t0 = ex_now();
        for (uint64_t i = 0; i < o->rr; i++) {
            uint8_t b = (uint8_t)i;
            size_t got = 0;
            rc = t_send_all(t, s, &b, 1);
            if (rc == 0)
                rc = t_recv_some(t, s, &b, 1, &got, ex_now() + TTCP_DRAIN_S);
            if (rc == 0 && got == 0)
                rc = MOAT_E_CONNRESET;         /* echo server closed early */
            if (rc != 0) {
                fprintf(stderr, "moat-ttcp: round trip %llu failed: %s\n",
                        (unsigned long long)i, t_strerror(t, rc));
                t_close(t, s);
                return 1;
            }
        }
        t1 = ex_now();
        t_close(t, s);
        printf("ttcp: rr=%llu seconds=%.3f rtt_us=%.1f\n", (unsigned long long)o->rr,
               t1 - t0, (t1 - t0) * 1e6 / (double)o->rr);
        return 0;
    }

    t0 = ex_now();
    for (;;) {
        size_t n = TTCP_CHUNK;
        if (o->seconds > 0) {
            if (ex_now() - t0 >= o->seconds)
                break;
        } else {
            if (total >= o->bytes)
                break;
            if (o->bytes - total < n)
                n = (size_t)(o->bytes - total);
        }
        rc = t_send_all(t, s, o->zerocopy ? NULL : buf, n);
        if (rc != 0) {
            fprintf(stderr, "moat-ttcp: send failed after %llu bytes: %s\n",
                    (unsigned long long)total, t_strerror(t, rc));
            t_close(t, s);
            return 1;
        }
        total += n;
    }
    /* Our FIN follows the data; the receiver closes once it has read it
     * all, so its FIN marks delivery of the last byte. */
    rc = t_shutdown_wr(t, s);
    if (rc == 0) {
        double deadline = ex_now() + TTCP_DRAIN_S;
        size_t got = 1;
        while (rc == 0 && got != 0)
            rc = t_recv_some(t, s, buf, TTCP_CHUNK, &got, deadline);
    }
    t1 = ex_now();
    if (rc != 0 && rc != MOAT_E_CONNRESET)
        fprintf(stderr, "moat-ttcp: warning: no orderly close from the receiver (%s); "
                        "time measured to now\n", t_strerror(t, rc));
    t_close(t, s);
    printf("ttcp: bytes=%llu seconds=%.3f Mbit/s=%.2f\n", (unsigned long long)total,
           t1 - t0, (double)total * 8.0 / (t1 - t0) / 1e6);
    return 0;
}

static int run_receive(struct tio *t, const struct opts *o, uint8_t *buf)
{
    int64_t l = 0, s = 0;
    uint32_t peer = 0;
    char ipb[16];
    double t0, t1;
    uint64_t total = 0;
    int rc = t_listen(t, o->local, o->port, &l);

    if (rc != 0) {
        fprintf(stderr, "moat-ttcp: cannot listen on port %u: %s\n", o->port,
                t_strerror(t, rc));
        return 1;
    }
    ex_ready();
    for (;;) {
        if (ex_stop) {
            t_close(t, l);
            return 1;
        }
        rc = t_accept(t, l, &s, &peer);
        if (rc == 0)
            break;
        if (rc != MOAT_E_AGAIN) {
            fprintf(stderr, "moat-ttcp: accept: %s\n", t_strerror(t, rc));
            t_close(t, l);
            return 1;
        }
        rc = t_wait(t, l, 0, EX_POLL_MS);
        if (rc != 0) {
            fprintf(stderr, "moat-ttcp: poll: %s\n", t_strerror(t, rc));
            t_close(t, l);
            return 1;
        }
    }
    t_close(t, l);
    fprintf(stderr, "moat-ttcp -r: connection from %s (%s)\n", moat_ip4_format(peer, ipb),
            o->kernel ? "kernel sockets" : moat_backend_name());
    if (o->rr)
        t_nodelay(t, s);

    t0 = ex_now();
    for (;;) {
        size_t got = 0;
        rc = t_recv_some(t, s, o->zerocopy ? NULL : buf, TTCP_CHUNK, &got, 0);
        if (rc != 0 || got == 0)
            break;
        if (o->rr)
            rc = t_send_all(t, s, buf, got);     /* echo back */
        if (rc != 0)
            break;
        total += got;
    }
    t1 = ex_now();
    t_close(t, s);
    if (rc != 0) {
        fprintf(stderr, "moat-ttcp: receive failed after %llu bytes: %s\n",
                (unsigned long long)total, t_strerror(t, rc));
        return 1;
    }
    if (o->rr)
        printf("ttcp: rr=%llu seconds=%.3f rtt_us=%.1f\n", (unsigned long long)total,
               t1 - t0, total ? (t1 - t0) * 1e6 / (double)total : 0.0);
    else
        printf("ttcp: bytes=%llu seconds=%.3f Mbit/s=%.2f\n", (unsigned long long)total,
               t1 - t0, t1 > t0 ? (double)total * 8.0 / (t1 - t0) / 1e6 : 0.0);
    return 0;
}

/* -r --connections N: accept N connections one after the other, echo each
 * until its EOF, then close it. */
static int run_serve_connections(struct tio *t, const struct opts *o, uint8_t *buf)
{
    int64_t l = 0;
    uint32_t peer = 0;
    double t0 = 0, t1;
    int rc = t_listen(t, o->local, o->port, &l);

    if (rc != 0) {
        fprintf(stderr, "moat-ttcp: cannot listen on port %u: %s\n", o->port,
                t_strerror(t, rc));
        return 1;
    }
    ex_ready();
    for (uint64_t i = 0; i < o->conns && rc == 0; i++) {
        int64_t s = 0;
        for (;;) {
            if (ex_stop) {
                rc = MOAT_E_CLOSED;
                break;
            }
            rc = t_accept(t, l, &s, &peer);
            if (rc != MOAT_E_AGAIN)
                break;
            rc = t_wait(t, l, 0, EX_POLL_MS);
            if (rc != 0)
                break;
        }
        if (rc != 0)
            break;
        if (i == 0)
            t0 = ex_now();
        t_nodelay(t, s);
        for (;;) {
            size_t got = 0;
            rc = t_recv_some(t, s, buf, TTCP_CHUNK, &got, ex_now() + TTCP_DRAIN_S);
            if (rc != 0 || got == 0)
                break;
            rc = t_send_all(t, s, buf, got);
            if (rc != 0)
                break;
        }
        t_close(t, s);
    }
    t1 = ex_now();
    t_close(t, l);
    if (rc != 0) {
        fprintf(stderr, "moat-ttcp: serving connections: %s\n", t_strerror(t, rc));
        return 1;
    }
    printf("ttcp: conns=%llu seconds=%.3f conns_per_s=%.1f\n", (unsigned long long)o->conns,
           t1 - t0, t1 > t0 ? (double)o->conns / (t1 - t0) : 0.0);
    t_ctl_report(t, "-r", o->conns);
    return 0;
}

int main(int argc, char **argv)
{
    struct moat_config cfg;
    struct opts o;
    struct tio t;
    uint8_t *buf;
    int rc, have_link = 0;

    memset(&o, 0, sizeof o);
    o.port = 5001;
    ex_init("moat-ttcp", " -t|-r [--peer ADDR] [--port N] [--bytes N | --seconds S]"
                         " [--rr COUNT] [--connections N] [--kernel] [--zerocopy]\n"
                         "  (-t sends to --peer; -r receives one connection;"
                         " --rr: one-byte round trips;\n"
                         "   --kernel: use the host's sockets, --ip is then the local address;\n"
                         "   --zerocopy: bulk data in place in the socket rings, no copy)");
    ex_link_defaults(&cfg);
    {
        /* Benchmark lever: the spin before sleeping (bench/backends.sh). */
        const char *spin = getenv("MOAT_SPIN_US");
        if (spin && *spin)
            cfg.spin_us = (uint32_t)ex_parse_num("MOAT_SPIN_US", spin, 0, 1000000, 0);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--tap") == 0 || strcmp(a, "--wire") == 0)
            have_link = 1;
        if (ex_link_opt(&cfg, argc, argv, &i))
            continue;
        if (strcmp(a, "-t") == 0)
            o.transmit = 1;
        else if (strcmp(a, "-r") == 0)
            o.receive = 1;
        else if (strcmp(a, "--kernel") == 0)
            o.kernel = 1;
        else if (strcmp(a, "--zerocopy") == 0)
            o.zerocopy = 1;
        else if (strcmp(a, "--peer") == 0) {
            const char *v = ex_optarg(argc, argv, &i);
            if (moat_ip4_parse(v, &o.peer) != 0 || o.peer == 0)
                ex_usage("--peer: expected a dotted IPv4 address");
            o.have_peer = 1;
        } else if (strcmp(a, "--port") == 0)
            o.port = (uint16_t)ex_parse_num(a, ex_optarg(argc, argv, &i), 1, 65535, 0);
        else if (strcmp(a, "--bytes") == 0)
            o.bytes = ex_parse_num(a, ex_optarg(argc, argv, &i), 1, UINT64_MAX >> 4, 1);
        else if (strcmp(a, "--seconds") == 0)
            o.seconds = ex_parse_seconds(a, ex_optarg(argc, argv, &i));
        else if (strcmp(a, "--connections") == 0)
            o.conns = ex_parse_num(a, ex_optarg(argc, argv, &i), 1, 100000000, 0);
        else if (strcmp(a, "--rr") == 0)
            o.rr = ex_parse_num(a, ex_optarg(argc, argv, &i), 1, 100000000, 0);
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            ex_usage(NULL);
        else {
            char why[300];
            snprintf(why, sizeof why, "unknown option '%.200s'", a);
            ex_usage(why);
        }
    }
    if (o.transmit == o.receive)
        ex_usage("give exactly one of -t (transmit) or -r (receive)");
    if (o.transmit && !o.have_peer)
        ex_usage("-t needs --peer ADDR");
    if (o.bytes && o.seconds > 0)
        ex_usage("give --bytes or --seconds, not both");
    if (o.receive && (o.bytes || o.seconds > 0))
        ex_usage("--bytes and --seconds apply to -t; -r reads until the sender closes");
    if (o.conns && (o.rr || o.bytes || o.seconds > 0))
        ex_usage("--connections does its own one-byte exchange: drop --rr/--bytes/--seconds");
    {
        const char *zc = getenv("MOAT_TTCP_ZEROCOPY");
        if (zc && strcmp(zc, "1") == 0 && !o.kernel && !o.rr && !o.conns)
            o.zerocopy = 1;
    }
    if (o.zerocopy && (o.kernel || o.rr || o.conns))
        ex_usage("--zerocopy is for moat's bulk path: drop --kernel/--rr/--connections");
    if (o.transmit && !o.bytes && o.seconds <= 0)
        o.bytes = TTCP_DEFAULT_BYTES;
    if (o.kernel && have_link)
        ex_usage("--kernel uses the host's own stack: drop --tap/--wire");
    if (!o.kernel)
        ex_link_finish(&cfg);
    else if (ex_link_have_ip())
        o.local = cfg.ifs[0].ip;
    ex_signals();

    buf = malloc(TTCP_CHUNK);
    if (!buf) {
        fprintf(stderr, "moat-ttcp: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < TTCP_CHUNK; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 8));   /* not all zeros: no accidental compression */

    memset(&t, 0, sizeof t);
    t.kernel = o.kernel;
    if (!o.kernel) {
        t.st = ex_open(&cfg);
        if (ex_link_dhcp() && ex_wait_address(t.st, 30000, NULL) != 0) {
            moat_stack_close(t.st);
            free(buf);
            return 1;
        }
    }
    if (o.transmit)
        rc = o.conns ? run_connections(&t, &o, buf) : run_transmit(&t, &o, buf);
    else
        rc = o.conns ? run_serve_connections(&t, &o, buf) : run_receive(&t, &o, buf);
    fflush(stdout);
    if (t.st)
        moat_stack_close(t.st);
    free(buf);
    return rc;
}
