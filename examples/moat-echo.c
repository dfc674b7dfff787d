/* SPDX-License-Identifier: MIT */
/*
 * moat-echo: UDP and TCP echo server on one moat stack (RFC 862 style).
 *
 *   moat-echo [link options] [--port N]        (default port 7)
 *
 * UDP: every datagram goes back to its sender unchanged, over IPv4 or
 * IPv6 (one dual-stack socket bound to ::). TCP likewise on both families
 * (one dual-stack listener on ::; IPv4 clients are accepted as IPv4
 * connections): every connection gets back exactly the bytes it sent, until it sends EOF; then
 * the server finishes sending and closes. Many connections are served at
 * once from one event loop over non-blocking sockets (moat_watch and
 * moat_poll_ready: a wake-up costs what became ready, however many idle
 * connections are open), and no byte is
 * dropped: what send does not take now is kept and retried on POLLOUT.
 * If this build's stack has no TCP yet (MOAT_E_NOTSUP), it serves UDP only
 * and says so on stderr. Prints "ready" on stdout once listening; exits 0
 * on SIGINT or SIGTERM, after printing the stack's counters on stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define ECHO_BUF 65536u       /* per TCP connection */
#define ECHO_UDP_MAX 65536u   /* largest datagram we echo */
#define ECHO_BATCH 64         /* operations per socket per wake-up (fairness) */
#define ECHO_EVENTS 256       /* ready sockets taken per moat_poll_ready */

struct conn {
    moat_sock_t s;            /* 0: free slot */
    uint8_t *buf;
    size_t off, len;          /* bytes received, not yet sent back: buf[off, off+len) */
    int eof;                  /* peer sent FIN */
    uint16_t watched;         /* events given to moat_watch */
};

struct echo {
    struct moat_stack *st;
    moat_sock_t udp, lst;     /* lst 0: no TCP */
    uint8_t *ubuf;
    size_t upend;             /* a datagram waiting for send space */
    struct moat_addr upeer;
    struct conn *conns;
    unsigned max_conns;
    unsigned long long accepted, closed;
    uint16_t udp_watched;
};

/* Watch for what the connection waits for now: room to send what it holds,
 * else data. Only a change costs a call. */
static void conn_watch(struct echo *e, struct conn *c)
{
    uint16_t want = c->len ? MOAT_POLLOUT : MOAT_POLLIN;
    if (c->s != 0 && want != c->watched && moat_watch(e->st, c->s, want, c) == 0)
        c->watched = want;
}

static void conn_close(struct echo *e, struct conn *c, int abort)
{
    if (abort)
        moat_sock_abort(e->st, c->s);
    else
        moat_sock_close(e->st, c->s);
    free(c->buf);
    memset(c, 0, sizeof *c);
    e->closed++;
}

/* Move data until the socket would block. Returns 0 to keep the connection,
 * 1 when it is finished (closed here). */
static int conn_serve(struct echo *e, struct conn *c)
{
    for (int n = 0; n < ECHO_BATCH; n++) {
        size_t done = 0;
        int rc;

        if (c->len > 0) {
            rc = moat_sock_send(e->st, c->s, c->buf + c->off, c->len, &done);
            if (rc == MOAT_E_AGAIN || (rc == 0 && done == 0))
                return 0;                      /* wait for POLLOUT */
            if (rc != 0) {
                conn_close(e, c, 1);
                return 1;
            }
            c->off += done;
            c->len -= done;
            if (c->len > 0)
                return 0;                      /* partial: ring full */
            c->off = 0;
            continue;
        }
        if (c->eof) {
            conn_close(e, c, 0);               /* all echoed: FIN follows */
            return 1;
        }
        rc = moat_sock_recv(e->st, c->s, c->buf, ECHO_BUF, &done);
        if (rc == MOAT_E_AGAIN)
            return 0;
        if (rc != 0) {                         /* reset, timeout: nothing to save */
            conn_close(e, c, 1);
            return 1;
        }
        if (done == 0)
            c->eof = 1;
        c->len = done;
    }
    return 0;
}

static void accept_all(struct echo *e)
{
    for (int n = 0; n < ECHO_BATCH; n++) {
        moat_sock_t ns = 0;
        struct conn *c = NULL;
        int rc = moat_sock_accept(e->st, e->lst, &ns, NULL);

        if (rc != 0)
            return;                            /* AGAIN, or MFILE: try again later */
        for (unsigned i = 0; i < e->max_conns; i++) {
            if (e->conns[i].s == 0) {
                c = &e->conns[i];
                break;
            }
        }
        if (!c || !(c->buf = malloc(ECHO_BUF))) {
            moat_sock_abort(e->st, ns);
            continue;
        }
        moat_sock_setopt(e->st, ns, MOAT_OPT_NONBLOCK, 1);
        c->s = ns;
        c->off = c->len = 0;
        c->eof = 0;
        c->watched = 0;
        e->accepted++;
        if (conn_serve(e, c) == 0)
            conn_watch(e, c);
    }
}

static void udp_serve(struct echo *e)
{
    for (int n = 0; n < ECHO_BATCH; n++) {
        size_t got = 0, sent = 0;
        int rc;

        if (e->upend == 0) {
            rc = moat_sock_recvfrom(e->st, e->udp, e->ubuf, ECHO_UDP_MAX, &e->upeer, &got);
            if (rc != 0)
                return;
            if (got == 0)
                continue;                      /* empty datagram: nothing to echo */
            e->upend = got;
        }
        rc = moat_sock_sendto(e->st, e->udp, e->ubuf, e->upend, &e->upeer, &sent);
        if (rc == MOAT_E_AGAIN || rc == MOAT_E_NOBUFS)
            return;                            /* keep it; retry on POLLOUT */
        /* Sent, or an error that retrying cannot fix (no ARP answer,
         * too long): either way this datagram is done. */
        e->upend = 0;
    }
}

int main(int argc, char **argv)
{
    struct moat_config cfg;
    struct echo e;
    struct moat_addr any = { .ip = 0, .port = 7 };
    struct moat_event *ev;
    int rc;

    ex_init("moat-echo", " [--port N]");
    ex_link_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        if (ex_link_opt(&cfg, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--port") == 0)
            any.port = (uint16_t)ex_parse_num("--port", ex_optarg(argc, argv, &i), 1, 65535, 0);
        else
            ex_bad_opt(argv[i]);
    }
    ex_link_finish(&cfg);
    ex_signals();

    memset(&e, 0, sizeof e);
    e.st = ex_open(&cfg);
    e.max_conns = cfg.max_sockets > 2 ? cfg.max_sockets - 2 : 1;
    e.conns = calloc(e.max_conns, sizeof *e.conns);
    e.ubuf = malloc(ECHO_UDP_MAX);
    ev = calloc(ECHO_EVENTS, sizeof *ev);
    if (!e.conns || !e.ubuf || !ev) {
        fprintf(stderr, "moat-echo: out of memory\n");
        moat_stack_close(e.st);
        return 1;
    }

    rc = moat_sock_open(e.st, MOAT_SOCK_DGRAM, &e.udp);
    if (rc == 0) {
        /* UDP echo on both families: the dual-stack any address (::)
         * takes IPv4 and IPv6 datagrams on one socket; the reply goes to
         * the address recvfrom reported, whichever family it is. */
        struct moat_addr any6 = { .port = any.port, .family = MOAT_AF_INET6 };
        rc = moat_sock_bind(e.st, e.udp, &any6);
    }
    if (rc == 0)
        rc = moat_sock_setopt(e.st, e.udp, MOAT_OPT_NONBLOCK, 1);
    if (rc != 0) {
        fprintf(stderr, "moat-echo: cannot open UDP port %u: %s\n", any.port, moat_strerror(rc));
        moat_stack_close(e.st);
        return 1;
    }

    /* TCP echo on both families: a listener on :: takes IPv4 and IPv6. */
    struct moat_addr tany6 = { .port = any.port, .family = MOAT_AF_INET6 };
    rc = ex_listen(e.st, &tany6, 128, 0, &e.lst);
    if (rc == MOAT_E_NOTSUP) {
        fprintf(stderr, "moat-echo: note: TCP is not available in this build (%s); "
                        "serving UDP echo only\n", moat_strerror(rc));
    } else if (rc != 0) {
        fprintf(stderr, "moat-echo: cannot listen on TCP port %u: %s\n", any.port,
                moat_strerror(rc));
        moat_stack_close(e.st);
        return 1;
    }
    ex_ready();
    if (!ex_link_dhcp()) {
        /* The static IPv4 address, as a lease would be printed; IPv6 ones
         * follow as DAD lets them be used (the loop below). */
        struct moat_dhcp_info info;
        if (moat_dhcp_info(e.st, 0, &info) == 0)
            ex_print_address(&info);
    }

    /* The user pointers: a connection, or one of these two markers. */
    rc = 0;
    if (e.lst)
        rc = moat_watch(e.st, e.lst, MOAT_POLLIN, &e.lst);
    if (rc == 0)
        rc = moat_watch(e.st, e.udp, MOAT_POLLIN, &e.udp);
    if (rc != 0) {
        fprintf(stderr, "moat-echo: watch: %s\n", moat_strerror(rc));
        moat_stack_close(e.st);
        return 1;
    }
    e.udp_watched = MOAT_POLLIN;
    /* With --dhcp: one "address ..." line after "ready" each time the
     * lease brings an address, "address none" when it is lost; IPv6
     * addresses likewise as they become usable (ex_print_ip6). */
    uint32_t addr_changes = 0;
    double addr_checked = 0;
    while (!ex_stop) {
        unsigned nready = 0;

        if (ex_now() - addr_checked >= 0.2) {
            addr_checked = ex_now();
            ex_print_ip6(e.st);     /* IPv6 addresses as DAD/SLAAC make them */
            struct moat_dhcp_info info;
            if (ex_link_dhcp() && moat_dhcp_info(e.st, 0, &info) == 0 &&
                info.changes != addr_changes) {
                addr_changes = info.changes;
                if (info.ip) {
                    ex_print_address(&info);
                } else {
                    printf("address none\n");
                    fflush(stdout);
                }
            }
        }

        rc = moat_poll_ready(e.st, ev, ECHO_EVENTS, EX_POLL_MS, &nready);
        if (rc != 0) {
            fprintf(stderr, "moat-echo: poll: %s\n", moat_strerror(rc));
            moat_stack_close(e.st);
            return 1;
        }
        for (unsigned i = 0; i < nready; i++) {
            if (ev[i].user == &e.udp) {
                uint16_t want;
                udp_serve(&e);
                want = e.upend ? MOAT_POLLOUT : MOAT_POLLIN;
                if (want != e.udp_watched && moat_watch(e.st, e.udp, want, &e.udp) == 0)
                    e.udp_watched = want;
            } else if (ev[i].user == &e.lst) {
                accept_all(&e);
            } else {
                struct conn *c = ev[i].user;
                /* Closed (or the slot reused) earlier in this batch? */
                if (c->s != ev[i].sock)
                    continue;
                if (conn_serve(&e, c) == 0)
                    conn_watch(&e, c);
            }
        }
    }

    for (unsigned i = 0; i < e.max_conns; i++) {
        if (e.conns[i].s)
            conn_close(&e, &e.conns[i], 1);
    }
    fprintf(stderr, "moat-echo: stopping: %llu TCP connections accepted\n", e.accepted);
    ex_print_stats(e.st);
    moat_stack_close(e.st);
    free(e.conns);
    free(e.ubuf);
    free(ev);
    return 0;
}
