/* SPDX-License-Identifier: MIT */
/*
 * lwip_tap_echo: lwIP (the lwip_peer code of the interop test) as a TCP
 * echo server on a TAP device, so bench/impaired.sh can put lwIP on the
 * same impaired path as moat-echo and the kernel.
 *
 *   lwip_tap_echo --tap IF --ip A.B.C.D/N [--gw G] [--port 7] [--max-seconds 300]
 *                 [--sink | --source BYTES --peer P | --connect N --peer P]
 *
 * Serves one connection (lwp_tcp_echo: every byte back, FIN after the
 * peer's FIN once all is echoed), prints "ready" once listening, and a
 * line "lwip_tap_echo: bytes=N flags=F err=E" when the peer's FIN came.
 * It then keeps lwIP running (its FIN and retransmissions may still be in
 * flight) until SIGTERM/SIGINT or --max-seconds, and exits 0 if the
 * connection ended cleanly, 1 otherwise. Not a test by itself.
 *
 * The other modes put lwIP in bench/backends.sh's columns (issue 8, item
 * 5), against moat-ttcp --kernel at the other end:
 *   --sink              as the echo, but discards what it receives (bulk
 *                       kernel -> lwIP), and exits 200 ms after the peer's
 *                       FIN instead of waiting for a signal;
 *   --source BYTES      connect to P:port, send BYTES, FIN, wait for the
 *                       peer's FIN (bulk lwIP -> kernel); then exits;
 *   --connect N         N connections to P:port one after the other, each
 *                       one byte sent, FIN, the peer's FIN awaited (the
 *                       client of moat-ttcp -r --connections); then exits.
 * The client modes print "ready" too (at once), and exit 0 when every
 * connection ended with the peer's FIN.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moat/err.h"
#include "linux_port.h"
#include "lwip_peer.h"

static int parse_ip(const char *s, uint32_t *ip, unsigned *prefix)
{
    char buf[32];
    struct in_addr a;
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *ip = ntohl(a.s_addr);
    if (prefix)
        *prefix = slash ? (unsigned)strtoul(slash + 1, NULL, 10) : 24;
    return (prefix && *prefix > 32) ? -1 : 0;
}

/* --source / --connect: one connection of @p bytes (--source), or
 * @p conns connections of one byte each (--connect), one after the other.
 * Each waits for the peer's FIN, so the peer has read everything. The
 * sink's pattern check is of no interest here (the kernel side sends its
 * own bytes). Returns the exit status. */
static int run_client(struct lwp *lw, uint32_t peer, uint16_t port, unsigned long long bytes,
                      unsigned long long conns, unsigned max_s)
{
    unsigned long long n = bytes ? 1 : conns;
    printf("ready\n");
    fflush(stdout);
    for (unsigned long long i = 0; i < n; i++) {
        struct lwp_conn_result cr;
        int h = lwp_tcp_source(lw, peer, port, i + 1, bytes ? bytes : 1);
        if (h < 0) {
            fprintf(stderr, "lwip_tap_echo: connection %llu: %s\n", i, moat_strerror(h));
            return 1;
        }
        int r = lwp_wait(lw, h, LWP_F_PEER_FIN, max_s * 1000u, &cr);
        lwp_release(lw, h);
        if (r < 0) {
            fprintf(stderr, "lwip_tap_echo: connection %llu: %s (flags 0x%x)\n", i,
                    moat_strerror(r), cr.flags);
            return 1;
        }
    }
    fprintf(stderr, "lwip_tap_echo: %llu connection(s) done\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tap", required_argument, NULL, 't' },
        { "ip", required_argument, NULL, 'i' },
        { "gw", required_argument, NULL, 'g' },
        { "port", required_argument, NULL, 'p' },
        { "max-seconds", required_argument, NULL, 's' },
        { "sink", no_argument, NULL, 'k' },
        { "source", required_argument, NULL, 'o' },
        { "connect", required_argument, NULL, 'c' },
        { "peer", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *tap = NULL;
    uint32_t ip = 0, gw = 0, peer = 0;
    unsigned prefix = 24, port = 7, max_s = 300;
    unsigned long long source = 0, connect = 0;
    int sink = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': tap = optarg; break;
        case 'i': if (parse_ip(optarg, &ip, &prefix) < 0) ip = 0; break;
        case 'g': if (parse_ip(optarg, &gw, NULL) < 0) gw = 0; break;
        case 'p': port = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': max_s = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'k': sink = 1; break;
        case 'o': source = strtoull(optarg, NULL, 10); break;
        case 'c': connect = strtoull(optarg, NULL, 10); break;
        case 'P': if (parse_ip(optarg, &peer, NULL) < 0) peer = 0; break;
        default: goto usage;
        }
    }
    if (tap == NULL || ip == 0 || port == 0 || port > 65535 || max_s == 0)
        goto usage;
    if ((source || connect) && (peer == 0 || sink || (source && connect)))
        goto usage;

    /* Block the signals that end us; sigtimedwait collects them below. */
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);

    int fd, r;
    struct moat_link *link;
    struct lwp *lw;
    /* Plain frames: lwIP knows nothing of the link's receive flags, of
     * 64 KiB coalesced segments or of partial checksums. */
    if ((r = moat_tap_open_opts(tap, 0, &fd)) < 0 || (r = moat_tap_link(fd, 1500, &link)) < 0) {
        fprintf(stderr, "lwip_tap_echo: cannot open TAP %s: %s\n", tap, moat_strerror(r));
        return 1;
    }
    if ((r = lwp_start(link, ip, (uint8_t)prefix, &lw)) < 0) {
        fprintf(stderr, "lwip_tap_echo: lwp_start: %s\n", moat_strerror(r));
        return 1;
    }
    if (gw)
        lwp_set_gateway(lw, gw);
    if (source || connect) {
        r = run_client(lw, peer, (uint16_t)port, source, connect, max_s);
        lwp_stop(lw);
        return r;
    }
    int h = sink ? lwp_tcp_sink(lw, (uint16_t)port, 0) : lwp_tcp_echo(lw, (uint16_t)port);
    if (h < 0) {
        fprintf(stderr, "lwip_tap_echo: listen: %s\n", moat_strerror(h));
        lwp_stop(lw);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);

    struct lwp_conn_result cr;
    r = lwp_wait(lw, h, LWP_F_PEER_FIN, max_s * 1000u, &cr);
    fprintf(stderr, "lwip_tap_echo: bytes=%llu sent=%llu flags=0x%x err=%s (%s)\n",
            (unsigned long long)cr.bytes, (unsigned long long)cr.sent, cr.flags,
            cr.err ? lwp_errname(cr.err) : "none", r < 0 ? moat_strerror(r) : "ok");
    /* The sink leaves on its own (a benchmark waits for its exit and its
     * CPU time): 200 ms for its FIN to be acknowledged is plenty on a
     * TAP; the echo waits for the signal as before. */
    struct timespec ts = { (time_t)max_s, 0 };
    if (sink) {
        ts.tv_sec = 0;
        ts.tv_nsec = 200 * 1000000L;
    }
    sigtimedwait(&ss, NULL, &ts);
    lwp_stop(lw);
    return r < 0 ? 1 : 0;
usage:
    fprintf(stderr, "usage: lwip_tap_echo --tap IF --ip A.B.C.D/N [--gw G] [--port P] "
                    "[--max-seconds S] [--sink | --source BYTES --peer P | --connect N --peer P]\n");
    return 2;
}
