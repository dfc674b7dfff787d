/* SPDX-License-Identifier: MIT */
/*
 * Edge cases of the public API through real stacks (link NONE, or two
 * stacks over a shared-memory wire): argument checks, handle checks,
 * pool exhaustion and slot reuse, non-blocking and timed calls, poll
 * readiness, independence of two stacks in one process, and the errors
 * moat_stack_open reports for a missing device.
 *
 * Timing checks are loose (a loaded CI machine is slow) but one-sided
 * where it matters: a timed-out call must not return early.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <moat/moat.h>
#include <moat/socket.h>

#include "app/stack.h"
#include "core/boundary.h"
#include "ports/linux/linux_port.h"
#include "support/check_main.h"
#include "support/itest.h"

#define IP_A 0xc6120001u   /* 198.18.0.1 */
#define IP_B 0xc6120002u   /* 198.18.0.2 */
#define N_SOCKS 8u
#define CASE_DIR_TAG "api"

/* One directory per test case (tests/support/itest.h). */
static void case_dir_setup(void)
{
    itest_case_dir_make(CASE_DIR_TAG);
}

static void cfg_small(struct moat_config *c, uint32_t ip, enum moat_link_kind kind,
                      const char *dev)
{
    itest_config(c, ip, kind, dev);
    c->max_sockets = N_SOCKS;
    c->sock_rx_bytes = 16384;
    c->sock_tx_bytes = 16384;
}

static struct moat_stack *open_none(void)
{
    struct moat_config c;
    struct moat_stack *st = NULL;
    int r;

    cfg_small(&c, IP_A, MOAT_LINK_NONE, NULL);
    r = moat_stack_open(&c, &st);
    ck_assert_msg(r == 0, "moat_stack_open: %s", moat_strerror(r));
    ck_assert_ptr_nonnull(st);
    return st;
}

static moat_sock_t udp_bound(struct moat_stack *st, uint16_t port)
{
    struct moat_addr a = { .ip = 0, .port = port };
    moat_sock_t s;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s), 0);
    ck_assert_int_eq(moat_sock_bind(st, s, &a), 0);
    return s;
}

/* Two stacks over a wire in a private temporary directory. */
struct pair {
    char path[128];
    struct moat_stack *a, *b;
};

static void pair_open_n(struct pair *p, uint32_t max_sockets)
{
    struct moat_config ca, cb;
    int r;

    itest_wire_path(p->path, sizeof(p->path));
    cfg_small(&ca, IP_A, MOAT_LINK_WIRE, p->path);
    cfg_small(&cb, IP_B, MOAT_LINK_WIRE, p->path);
    ca.max_sockets = cb.max_sockets = max_sockets;
    r = moat_stack_open(&ca, &p->a);
    ck_assert_msg(r == 0, "open A: %s", moat_strerror(r));
    r = moat_stack_open(&cb, &p->b);
    ck_assert_msg(r == 0, "open B: %s", moat_strerror(r));
}

static void pair_open(struct pair *p)
{
    pair_open_n(p, N_SOCKS);
}

static void pair_close(struct pair *p)
{
    moat_stack_close(p->a);
    moat_stack_close(p->b);
    moat_wire_unlink(p->path);
}

/* ---- arguments and handles -------------------------------------------- */

START_TEST(api_backend_name)
{
    const char *n = moat_backend_name();
    ck_assert_ptr_nonnull(n);
    ck_assert(strcmp(n, "thread") == 0 || strcmp(n, "process") == 0 ||
              strcmp(n, "seccomp") == 0);
}
END_TEST

START_TEST(api_bad_handles)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5000);
    const moat_sock_t bad[] = {
        0,                                      /* never valid */
        moat_handle_make(N_SOCKS + 3, 1),       /* index out of range */
        moat_handle_make(moat_handle_idx(s), moat_handle_gen(s) + 1),  /* wrong gen */
        moat_handle_make(moat_handle_idx(s) + 1, moat_handle_gen(s)),  /* not opened */
        0xffffffffu,
    };
    struct moat_addr a = { .ip = IP_B, .port = 9 }, la, ra;
    struct moat_pollfd pf[2];
    char buf[16] = { 0 };
    size_t n;
    int64_t v;
    moat_sock_t out;
    unsigned ready;

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        moat_sock_t h = bad[i];
        ck_assert_int_eq(moat_sock_bind(st, h, &a), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_connect(st, h, &a), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_listen(st, h, 4), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_accept(st, h, &out, NULL), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_send(st, h, buf, 4, &n), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_recv(st, h, buf, 4, &n), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_sendto(st, h, buf, 4, &a, &n), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_recvfrom(st, h, buf, 4, &la, &n), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_shutdown(st, h, MOAT_SHUT_WR), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_setopt(st, h, MOAT_OPT_NONBLOCK, 1), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_getopt(st, h, MOAT_OPT_NONBLOCK, &v), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_name(st, h, &la, &ra), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_close(st, h), MOAT_E_BADHANDLE);
        ck_assert_int_eq(moat_sock_abort(st, h), MOAT_E_BADHANDLE);
    }

    /* poll reports a bad handle as NVAL even when not asked, and does not
     * disturb the good one next to it */
    pf[0] = (struct moat_pollfd){ .sock = bad[2], .events = MOAT_POLLIN };
    pf[1] = (struct moat_pollfd){ .sock = s, .events = MOAT_POLLOUT };
    ck_assert_int_eq(moat_poll(st, pf, 2, 0, &ready), 0);
    ck_assert_uint_eq(ready, 2);
    ck_assert_uint_eq(pf[0].revents, MOAT_POLLNVAL);
    ck_assert_uint_eq(pf[1].revents, MOAT_POLLOUT);

    /* the good socket still works after all that */
    ck_assert_int_eq(moat_sock_name(st, s, &la, NULL), 0);
    ck_assert_uint_eq(la.port, 5000);
    ck_assert_int_eq(moat_sock_close(st, s), 0);
    moat_stack_close(st);
}
END_TEST

START_TEST(api_null_args)
{
    struct moat_config c;
    struct moat_stack *st = NULL;
    struct moat_stats stats;
    struct moat_pollfd pf;
    moat_sock_t s;
    size_t n;
    char buf[8] = { 0 };

    cfg_small(&c, IP_A, MOAT_LINK_NONE, NULL);
    ck_assert_int_eq(moat_stack_open(NULL, &st), MOAT_E_INVAL);
    ck_assert_int_eq(moat_stack_open(&c, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_stack_stats(NULL, &stats), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_open(NULL, MOAT_SOCK_DGRAM, &s), MOAT_E_INVAL);
    ck_assert_int_eq(moat_poll(NULL, &pf, 1, 0, NULL), MOAT_E_INVAL);
    moat_stack_close(NULL);   /* harmless */

    st = open_none();
    ck_assert_int_eq(moat_stack_stats(st, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_open(st, 99, &s), MOAT_E_INVAL);
    ck_assert_int_eq(moat_poll(st, NULL, 1, 0, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_poll(st, NULL, 0, 0, NULL), 0);

    s = udp_bound(st, 5001);
    ck_assert_int_eq(moat_sock_bind(st, s, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_connect(st, s, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_send(st, s, NULL, 4, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_send(st, s, buf, 4, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_sendto(st, s, buf, 4, NULL, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_recv(st, s, NULL, 4, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_recv(st, s, buf, 4, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_getopt(st, s, MOAT_OPT_RCVTIMEO_MS, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_shutdown(st, s, 0), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_shutdown(st, s, 7), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_close(st, s), 0);
    moat_stack_close(st);
}
END_TEST

START_TEST(api_options)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5002);
    int64_t v = -1;

    ck_assert_int_eq(moat_sock_getopt(st, s, MOAT_OPT_NONBLOCK, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_getopt(st, s, MOAT_OPT_NONBLOCK, &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_NONBLOCK, 2), MOAT_E_RANGE);
    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, -5), MOAT_E_RANGE);
    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_SNDTIMEO_MS, 1234), 0);
    ck_assert_int_eq(moat_sock_getopt(st, s, MOAT_OPT_SNDTIMEO_MS, &v), 0);
    ck_assert_int_eq(v, 1234);
    ck_assert_int_eq(moat_sock_setopt(st, s, 999, 1), MOAT_E_NOTSUP);
    ck_assert_int_eq(moat_sock_getopt(st, s, 999, &v), MOAT_E_NOTSUP);
    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_ERROR, 0), MOAT_E_NOTSUP);
    /* no error pending on a fresh socket */
    ck_assert_int_eq(moat_sock_getopt(st, s, MOAT_OPT_ERROR, &v), 0);
    ck_assert_int_eq(v, 0);
    moat_stack_close(st);
}
END_TEST

/* MOAT_OPT_TCP_CONG through the backend (client.c passes it to the net
 * domain): the stack's default, set before listening, refused on UDP and
 * out of range. */
START_TEST(api_tcp_cong_option)
{
    struct moat_stack *st = open_none();
    moat_sock_t t, u = udp_bound(st, 5003);
    int64_t v = -1;

    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &t), 0);
    ck_assert_int_eq(moat_sock_getopt(st, t, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_CUBIC);
    ck_assert_int_eq(moat_sock_setopt(st, t, MOAT_OPT_TCP_CONG, MOAT_TCP_CONG_NEWRENO), 0);
    ck_assert_int_eq(moat_sock_getopt(st, t, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_NEWRENO);
    ck_assert_int_eq(moat_sock_setopt(st, t, MOAT_OPT_TCP_CONG, 7), MOAT_E_RANGE);
    ck_assert_int_eq(moat_sock_setopt(st, u, MOAT_OPT_TCP_CONG, 1), MOAT_E_NOTSUP);
    struct moat_addr a = { .ip = 0, .port = 5004 };
    ck_assert_int_eq(moat_sock_bind(st, t, &a), 0);
    ck_assert_int_eq(moat_sock_listen(st, t, 4), 0);
    ck_assert_int_eq(moat_sock_setopt(st, t, MOAT_OPT_TCP_CONG, MOAT_TCP_CONG_CUBIC), 0);
    ck_assert_int_eq(moat_sock_getopt(st, t, MOAT_OPT_TCP_CONG, &v), 0);
    ck_assert_int_eq(v, MOAT_TCP_CONG_CUBIC);
    moat_stack_close(st);
}
END_TEST

START_TEST(api_double_bind)
{
    struct moat_stack *st = open_none();
    moat_sock_t s1 = udp_bound(st, 6000), s2, s3;
    struct moat_addr same = { .ip = 0, .port = 6000 }, ours = { .ip = IP_A, .port = 6000 }, other = { .ip = 0, .port = 6001 };
    struct moat_addr foreign = { .ip = 0xc6120063u, .port = 6002 };   /* 198.18.0.99: not ours */

    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s2), 0);
    ck_assert_int_eq(moat_sock_bind(st, s2, &same), MOAT_E_ADDRINUSE);
    ck_assert_int_eq(moat_sock_bind(st, s2, &ours), MOAT_E_ADDRINUSE);
    ck_assert_int_eq(moat_sock_bind(st, s2, &foreign), MOAT_E_ADDRNOTAVAIL);
    ck_assert_int_eq(moat_sock_bind(st, s2, &other), 0);
    /* after the owner closes, the port is free again */
    ck_assert_int_eq(moat_sock_close(st, s1), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s3), 0);
    ck_assert_int_eq(moat_sock_bind(st, s3, &same), 0);
    moat_stack_close(st);
}
END_TEST

/* ---- blocking behaviour ----------------------------------------------- */

START_TEST(api_nonblock_recv_empty)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5003);
    struct moat_addr from;
    char buf[64];
    size_t got = 77;
    uint64_t t0;

    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_NONBLOCK, 1), 0);
    t0 = itest_now_ms();
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(moat_sock_recvfrom(st, s, buf, sizeof(buf), &from, &got),
                         MOAT_E_AGAIN);
    ck_assert_uint_lt(itest_now_ms() - t0, 1000);
    ck_assert_uint_eq(got, 0);
    moat_stack_close(st);
}
END_TEST

START_TEST(api_rcvtimeo)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5004);
    char buf[64];
    size_t got;
    uint64_t t0, dt;

    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, 150), 0);
    t0 = itest_now_ms();
    ck_assert_int_eq(moat_sock_recv(st, s, buf, sizeof(buf), &got), MOAT_E_AGAIN);
    dt = itest_now_ms() - t0;
    ck_assert_uint_ge(dt, 145);
    ck_assert_uint_lt(dt, 1500);
    moat_stack_close(st);
}
END_TEST

/* SOCK-MSG-UDP-1 and SOCK-PKTINFO-1 do not apply: moat has no
 * sendmsg/recvmsg and no ancillary data. A datagram is one contiguous
 * buffer per moat_sock_sendto/recvfrom (zero-copy views refuse UDP with
 * MOAT_E_NOTSUP: test_zcopy's zc_nonblock_timeout_args), and recvfrom
 * reports the source address only, not the destination address or the
 * receiving interface. */
START_TEST(api_udp_send_errors)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5005);
    struct moat_addr to = { .ip = IP_B, .port = 9 }, zero_port = { .ip = IP_B, .port = 0 };
    static char big[70000];
    size_t n;

    ck_assert_int_eq(moat_sock_send(st, s, big, 10, &n), MOAT_E_NOTCONN);
    ck_assert_int_eq(moat_sock_sendto(st, s, big, 65508, &to, &n), MOAT_E_MSGSIZE);
    /* larger than this socket's 16 KiB send ring can ever hold */
    ck_assert_int_eq(moat_sock_sendto(st, s, big, 20000, &to, &n), MOAT_E_MSGSIZE);
    ck_assert_int_eq(moat_sock_sendto(st, s, big, 10, &zero_port, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_sendto(st, s, big, 100, &to, &n), 0);
    ck_assert_uint_eq(n, 100);
    moat_stack_close(st);
}
END_TEST

/* ---- pools and handles ------------------------------------------------ */

START_TEST(api_mfile_and_reuse)
{
    struct moat_stack *st = open_none();
    moat_sock_t s[N_SOCKS + 1], extra, again;
    struct moat_addr a = { .ip = 0, .port = 7100 };
    unsigned n = 0;
    int r;

    for (unsigned i = 0; i < N_SOCKS + 1; i++) {
        r = moat_sock_open(st, i % 2 ? MOAT_SOCK_STREAM : MOAT_SOCK_DGRAM, &s[n]);
        if (r != 0)
            break;
        n++;
    }
    ck_assert_int_eq(r, MOAT_E_MFILE);
    ck_assert_uint_eq(n, N_SOCKS);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &extra), MOAT_E_MFILE);

    /* handles are all different */
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++)
            ck_assert_uint_ne(s[i], s[j]);

    /* closing one frees its slot; the new handle names the same slot with
     * a new generation, and the old handle is dead for good */
    ck_assert_int_eq(moat_sock_close(st, s[2]), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &again), 0);
    ck_assert_uint_ne(again, s[2]);
    ck_assert_uint_eq(moat_handle_idx(again), moat_handle_idx(s[2]));
    ck_assert_uint_ne(moat_handle_gen(again), moat_handle_gen(s[2]));
    ck_assert_int_eq(moat_sock_bind(st, s[2], &a), MOAT_E_BADHANDLE);
    ck_assert_int_eq(moat_sock_close(st, s[2]), MOAT_E_BADHANDLE);
    ck_assert_int_eq(moat_sock_bind(st, again, &a), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &extra), MOAT_E_MFILE);

    /* close everything, then the whole table is usable again */
    s[2] = again;
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(moat_sock_close(st, s[i]), 0);
    for (unsigned i = 0; i < N_SOCKS; i++)
        ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s[i]), 0);
    moat_stack_close(st);
}
END_TEST

/* ---- posted requests (client.c cl_post) -------------------------------- */

/* Close, abort and boolean options are posted: the call does not wait for
 * the net domain's answer, the next waited request collects it. Many more
 * posts in a row than the ctl ring has slots must neither block nor lose
 * an answer; every later request still gets its own answer; the options
 * took effect in order; a closed slot comes back with a new generation. */
START_TEST(api_posted_requests)
{
    struct moat_stack *st = open_none();
    struct moat_stats a, b;
    moat_sock_t s, t, again;
    unsigned n = 3u * st->lay.g.ctl_slots;
    int64_t v = -1;

    ck_assert_int_eq(moat_stack_stats(st, &a), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &s), 0);
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_NODELAY, (int64_t)(i & 1u)), 0);
    /* the last one posted set it to (n - 1) & 1 */
    ck_assert_int_eq(moat_sock_getopt(st, s, MOAT_OPT_NODELAY, &v), 0);
    ck_assert_int_eq(v, (int64_t)((n - 1u) & 1u));
    /* no pending error: answered without asking the net domain */
    ck_assert_int_eq(moat_sock_getopt(st, s, MOAT_OPT_ERROR, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(moat_stack_stats(st, &b), 0);
    ck_assert_uint_eq(b.app_ctl_posted - a.app_ctl_posted, n);
    /* OPEN, GETOPT(NODELAY) and this STATS were waited for; not GETOPT(ERROR) */
    ck_assert_uint_eq(b.app_ctl_waited - a.app_ctl_waited, 3);
    ck_assert_uint_eq(b.app_ctl_posted_errors, 0);

    /* open and close more sockets than there are slots and ctl slots,
     * without waiting in between: each close's slot is free again when
     * the next open is served */
    for (unsigned i = 0; i < n; i++) {
        ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &t), 0);
        ck_assert_int_eq(moat_sock_close(st, t), 0);
        ck_assert_int_eq(moat_sock_getopt(st, t, MOAT_OPT_NODELAY, &v), MOAT_E_BADHANDLE);
    }
    ck_assert_int_eq(moat_sock_abort(st, s), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &again), 0);
    ck_assert_uint_ne(again, s);
    ck_assert_int_eq(moat_stack_stats(st, &a), 0);
    ck_assert_uint_eq(a.app_ctl_posted - b.app_ctl_posted, n + 1u);
    ck_assert_uint_eq(a.app_ctl_posted_errors, 0);
    ck_assert_int_eq(moat_sock_close(st, again), 0);
    moat_stack_close(st);
}
END_TEST

/* A non-blocking accept on a listener with nothing queued returns
 * MOAT_E_AGAIN from the listener's status, without a round trip; on a
 * socket that does not listen it still gets the net domain's answer. */
START_TEST(api_accept_empty_no_round_trip)
{
    struct moat_stack *st = open_none();
    struct moat_stats a, b;
    struct moat_addr la = { .ip = 0, .port = 7200 };
    moat_sock_t l, c, x = 0;

    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &c), 0);
    ck_assert_int_eq(moat_sock_setopt(st, c, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_accept(st, c, &x, NULL), MOAT_E_STATE);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &l), 0);
    ck_assert_int_eq(moat_sock_bind(st, l, &la), 0);
    ck_assert_int_eq(moat_sock_listen(st, l, 4), 0);
    ck_assert_int_eq(moat_sock_setopt(st, l, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_stack_stats(st, &a), 0);
    for (unsigned i = 0; i < 10; i++)
        ck_assert_int_eq(moat_sock_accept(st, l, &x, NULL), MOAT_E_AGAIN);
    ck_assert_int_eq(moat_stack_stats(st, &b), 0);
    ck_assert_uint_eq(b.app_ctl_waited - a.app_ctl_waited, 1);     /* the STATS */
    moat_stack_close(st);
}
END_TEST

/* The error of a posted request has no caller to go to: it is counted in
 * moat_stats.app_ctl_posted_errors, and the stack goes on working. The
 * test makes the net domain refuse a close by naming the right slot with
 * a generation it does not know (planted in the client's table, as only
 * a broken application could). */
START_TEST(api_posted_error_counted)
{
    struct moat_stack *st = open_none();
    struct moat_stats a, b;
    moat_sock_t s = udp_bound(st, 5020), forged, t;
    uint32_t idx = moat_handle_idx(s);
    int64_t v = -1;

    ck_assert_int_eq(moat_stack_stats(st, &a), 0);
    uint16_t gen = (uint16_t)(moat_handle_gen(s) + 1u);
    forged = moat_handle_make(idx, gen != 0 ? gen : 1u);
    st->socks[idx].handle = forged;
    ck_assert_int_eq(moat_sock_close(st, forged), 0);   /* posted: no error to return */
    ck_assert_int_eq(moat_stack_stats(st, &b), 0);      /* collects the BADHANDLE */
    ck_assert_uint_eq(b.app_ctl_posted_errors - a.app_ctl_posted_errors, 1);
    ck_assert_uint_eq(b.app_ctl_posted - a.app_ctl_posted, 1);
    /* the real socket is still the net domain's, its slot still busy */
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &t), 0);
    ck_assert_uint_ne(moat_handle_idx(t), idx);
    ck_assert_int_eq(moat_sock_getopt(st, t, MOAT_OPT_BROADCAST, &v), 0);
    ck_assert_int_eq(v, 0);
    moat_stack_close(st);
}
END_TEST

/* ---- poll ------------------------------------------------------------- */

START_TEST(api_poll_readiness)
{
    struct pair p;
    moat_sock_t sa, sb;
    struct moat_addr to_b = { .ip = IP_B, .port = 7200 }, from;
    struct moat_pollfd pf;
    unsigned ready = 99;
    char buf[256];
    size_t n;
    uint64_t t0, dt;

    pair_open(&p);
    sa = udp_bound(p.a, 0);
    sb = udp_bound(p.b, 7200);

    /* a fresh UDP socket is writable, not readable */
    pf = (struct moat_pollfd){ .sock = sb, .events = MOAT_POLLIN | MOAT_POLLOUT };
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 0, &ready), 0);
    ck_assert_uint_eq(ready, 1);
    ck_assert_uint_eq(pf.revents, MOAT_POLLOUT);

    /* POLLIN alone times out after roughly the timeout */
    pf = (struct moat_pollfd){ .sock = sb, .events = MOAT_POLLIN };
    t0 = itest_now_ms();
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 100, &ready), 0);
    dt = itest_now_ms() - t0;
    ck_assert_uint_eq(ready, 0);
    ck_assert_uint_eq(pf.revents, 0);
    ck_assert_uint_ge(dt, 95);
    ck_assert_uint_lt(dt, 1500);

    /* a datagram from the other stack makes it readable (blocking poll) */
    ck_assert_int_eq(moat_sock_sendto(p.a, sa, "hello", 5, &to_b, &n), 0);
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 5000, &ready), 0);
    ck_assert_uint_eq(ready, 1);
    ck_assert_uint_eq(pf.revents, MOAT_POLLIN);
    ck_assert_int_eq(moat_sock_recvfrom(p.b, sb, buf, sizeof(buf), &from, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_uint_eq(from.ip, IP_A);

    /* and not readable once drained */
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 0, &ready), 0);
    ck_assert_uint_eq(ready, 0);
    pair_close(&p);
}
END_TEST

/* ---- independence of stacks -------------------------------------------- */

START_TEST(api_two_stacks_independent)
{
    struct pair p;
    moat_sock_t sa, sb, sa2;
    struct moat_addr to_b = { .ip = IP_B, .port = 7300 }, to_a = { .ip = IP_A, .port = 7300 }, from;
    struct moat_stats st_a, st_b;
    char buf[64];
    size_t n;

    pair_open(&p);
    /* the same port on both stacks: separate port spaces */
    sa = udp_bound(p.a, 7300);
    sb = udp_bound(p.b, 7300);
    ck_assert_int_eq(moat_sock_setopt(p.a, sa, MOAT_OPT_RCVTIMEO_MS, 5000), 0);
    ck_assert_int_eq(moat_sock_setopt(p.b, sb, MOAT_OPT_RCVTIMEO_MS, 5000), 0);
    /* handles of one stack mean nothing to the other */
    ck_assert_int_eq(moat_sock_open(p.a, MOAT_SOCK_DGRAM, &sa2), 0);
    if (sa2 != sb)
        ck_assert_int_eq(moat_sock_close(p.b, sa2), MOAT_E_BADHANDLE);

    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(moat_sock_sendto(p.a, sa, "ping", 4, &to_b, &n), 0);
        ck_assert_int_eq(moat_sock_recvfrom(p.b, sb, buf, sizeof(buf), &from, &n), 0);
        ck_assert_uint_eq(from.ip, IP_A);
        ck_assert_int_eq(moat_sock_sendto(p.b, sb, "pong!", 5, &to_a, &n), 0);
        ck_assert_int_eq(moat_sock_recvfrom(p.a, sa, buf, sizeof(buf), &from, &n), 0);
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(from.ip, IP_B);
    }
    ck_assert_int_eq(moat_stack_stats(p.a, &st_a), 0);
    ck_assert_int_eq(moat_stack_stats(p.b, &st_b), 0);
    ck_assert_uint_ge(st_a.udp_out, 20);
    ck_assert_uint_ge(st_b.udp_out, 20);
    ck_assert_uint_ge(st_a.udp_in, 20);
    ck_assert_uint_ge(st_b.udp_in, 20);

    /* closing one stack leaves the other working */
    moat_stack_close(p.a);
    p.a = NULL;
    ck_assert_int_eq(moat_sock_name(p.b, sb, &from, NULL), 0);
    ck_assert_uint_eq(from.port, 7300);
    ck_assert_int_eq(moat_stack_stats(p.b, &st_b), 0);
    pair_close(&p);
}
END_TEST

/* ---- TCP through the client's stream paths ----------------------------- */

#define TCP_BYTES (1u << 20)

static uint8_t tcp_pattern(size_t i) { return (uint8_t)(i * 2654435761u >> 13); }

struct reader {
    struct moat_stack *st;
    moat_sock_t s;
    size_t total;
    int err;
    int bad_at;              /* index of the first wrong byte, -1 if none */
};

/* Read until end of stream, checking every byte against the pattern. */
static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    static uint8_t buf[7000];   /* odd size: reads straddle the ring's wrap */
    uint64_t end = itest_now_ms() + 60000;

    rd->bad_at = -1;
    while (itest_now_ms() < end) {
        size_t got;
        int r = moat_sock_recv(rd->st, rd->s, buf, sizeof(buf), &got);
        if (r != 0) {
            rd->err = r;
            return NULL;
        }
        if (got == 0)
            return NULL;     /* end of stream */
        for (size_t i = 0; i < got; i++)
            if (buf[i] != tcp_pattern(rd->total + i) && rd->bad_at < 0)
                rd->bad_at = (int)(rd->total + i);
        rd->total += got;
    }
    rd->err = MOAT_E_TIMEDOUT;
    return NULL;
}

/* A connected pair: client on A, accepted socket on B. */
static void tcp_connect_pair(struct pair *p, uint16_t port, moat_sock_t *cli,
                             moat_sock_t *lst, moat_sock_t *srv)
{
    struct moat_addr any = { .ip = 0, .port = port }, to = { .ip = IP_B, .port = port }, peer, name;
    int r;

    ck_assert_int_eq(moat_sock_open(p->b, MOAT_SOCK_STREAM, lst), 0);
    ck_assert_int_eq(moat_sock_bind(p->b, *lst, &any), 0);
    ck_assert_int_eq(moat_sock_listen(p->b, *lst, 4), 0);
    ck_assert_int_eq(moat_sock_setopt(p->b, *lst, MOAT_OPT_RCVTIMEO_MS, 10000), 0);
    ck_assert_int_eq(moat_sock_open(p->a, MOAT_SOCK_STREAM, cli), 0);
    ck_assert_int_eq(moat_sock_setopt(p->a, *cli, MOAT_OPT_SNDTIMEO_MS, 10000), 0);
    r = moat_sock_connect(p->a, *cli, &to);
    ck_assert_msg(r == 0, "connect: %s", moat_strerror(r));
    r = moat_sock_accept(p->b, *lst, srv, &peer);
    ck_assert_msg(r == 0, "accept: %s", moat_strerror(r));
    ck_assert_uint_eq(peer.ip, IP_A);
    ck_assert_int_eq(moat_sock_name(p->a, *cli, &name, NULL), 0);
    ck_assert_uint_eq(peer.port, name.port);
}

START_TEST(api_tcp_stream_and_eof)
{
    static uint8_t out[TCP_BYTES];
    struct pair p;
    moat_sock_t cli, lst, srv;
    struct reader rd;
    pthread_t thr;
    size_t sent, got;
    char buf[16];

    pair_open(&p);
    tcp_connect_pair(&p, 7400, &cli, &lst, &srv);
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = tcp_pattern(i);

    memset(&rd, 0, sizeof(rd));
    rd.st = p.b;
    rd.s = srv;
    ck_assert_int_eq(moat_sock_setopt(p.b, srv, MOAT_OPT_RCVTIMEO_MS, 20000), 0);
    ck_assert_int_eq(pthread_create(&thr, NULL, reader_main, &rd), 0);
    /* blocking send: everything goes, in as many ring-fulls as it takes */
    ck_assert_int_eq(moat_sock_send(p.a, cli, out, sizeof(out), &sent), 0);
    ck_assert_uint_eq(sent, sizeof(out));
    ck_assert_int_eq(moat_sock_shutdown(p.a, cli, MOAT_SHUT_WR), 0);
    ck_assert_int_eq(moat_sock_send(p.a, cli, out, 10, &sent), MOAT_E_PIPE);
    pthread_join(thr, NULL);
    ck_assert_msg(rd.err == 0, "reader: %s", moat_strerror(rd.err));
    ck_assert_int_eq(rd.bad_at, -1);
    ck_assert_uint_eq(rd.total, sizeof(out));

    /* the other direction still works after our FIN; then its FIN */
    ck_assert_int_eq(moat_sock_send(p.b, srv, "bye", 3, &sent), 0);
    ck_assert_int_eq(moat_sock_close(p.b, srv), 0);
    ck_assert_int_eq(moat_sock_setopt(p.a, cli, MOAT_OPT_RCVTIMEO_MS, 10000), 0);
    ck_assert_int_eq(moat_sock_recv(p.a, cli, buf, sizeof(buf), &got), 0);
    ck_assert_uint_eq(got, 3);
    ck_assert_mem_eq(buf, "bye", 3);
    ck_assert_int_eq(moat_sock_recv(p.a, cli, buf, sizeof(buf), &got), 0);
    ck_assert_uint_eq(got, 0);                  /* end of stream */
    ck_assert_int_eq(moat_sock_recv(p.a, cli, buf, sizeof(buf), &got), 0);
    ck_assert_uint_eq(got, 0);                  /* and it stays there */
    ck_assert_int_eq(moat_sock_close(p.a, cli), 0);
    ck_assert_int_eq(moat_sock_close(p.b, lst), 0);
    pair_close(&p);
}
END_TEST

START_TEST(api_tcp_refused)
{
    struct pair p;
    moat_sock_t s;
    struct moat_addr to = { .ip = IP_B, .port = 7401 };
    int64_t v;
    int r;

    pair_open(&p);
    ck_assert_int_eq(moat_sock_open(p.a, MOAT_SOCK_STREAM, &s), 0);
    ck_assert_int_eq(moat_sock_setopt(p.a, s, MOAT_OPT_SNDTIMEO_MS, 10000), 0);
    r = moat_sock_connect(p.a, s, &to);
    ck_assert_msg(r == MOAT_E_CONNREFUSED, "connect: %s", moat_errname(r));
    /* the error was reported once and is gone */
    ck_assert_int_eq(moat_sock_getopt(p.a, s, MOAT_OPT_ERROR, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(moat_sock_close(p.a, s), 0);
    pair_close(&p);
}
END_TEST

START_TEST(api_tcp_nonblocking)
{
    struct pair p;
    moat_sock_t lst, cli, srv;
    struct moat_addr any = { .ip = 0, .port = 7402 }, to = { .ip = IP_B, .port = 7402 };
    struct moat_pollfd pf;
    unsigned ready;
    size_t n;
    char buf[32];
    uint64_t t0, dt;
    int r;

    pair_open(&p);
    ck_assert_int_eq(moat_sock_open(p.b, MOAT_SOCK_STREAM, &lst), 0);
    ck_assert_int_eq(moat_sock_bind(p.b, lst, &any), 0);
    ck_assert_int_eq(moat_sock_listen(p.b, lst, 4), 0);

    /* accept with nothing waiting: AGAIN at once, or after RCVTIMEO */
    ck_assert_int_eq(moat_sock_setopt(p.b, lst, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_accept(p.b, lst, &srv, NULL), MOAT_E_AGAIN);
    ck_assert_int_eq(moat_sock_setopt(p.b, lst, MOAT_OPT_NONBLOCK, 0), 0);
    ck_assert_int_eq(moat_sock_setopt(p.b, lst, MOAT_OPT_RCVTIMEO_MS, 120), 0);
    t0 = itest_now_ms();
    ck_assert_int_eq(moat_sock_accept(p.b, lst, &srv, NULL), MOAT_E_AGAIN);
    dt = itest_now_ms() - t0;
    ck_assert_uint_ge(dt, 115);
    ck_assert_uint_lt(dt, 2000);
    /* UDP has nothing to accept */
    {
        moat_sock_t u;
        ck_assert_int_eq(moat_sock_open(p.b, MOAT_SOCK_DGRAM, &u), 0);
        ck_assert_int_eq(moat_sock_listen(p.b, u, 1), MOAT_E_NOTSUP);
        ck_assert_int_eq(moat_sock_accept(p.b, u, &srv, NULL), MOAT_E_NOTSUP);
    }

    /* non-blocking connect: INPROGRESS, then POLLOUT when established */
    ck_assert_int_eq(moat_sock_open(p.a, MOAT_SOCK_STREAM, &cli), 0);
    ck_assert_int_eq(moat_sock_setopt(p.a, cli, MOAT_OPT_NONBLOCK, 1), 0);
    r = moat_sock_connect(p.a, cli, &to);
    ck_assert_msg(r == MOAT_E_INPROGRESS || r == 0, "connect: %s", moat_errname(r));
    pf = (struct moat_pollfd){ .sock = cli, .events = MOAT_POLLOUT };
    ck_assert_int_eq(moat_poll(p.a, &pf, 1, 10000, &ready), 0);
    ck_assert_uint_eq(ready, 1);
    ck_assert_uint_eq(pf.revents, MOAT_POLLOUT);

    /* the listener polls readable: a connection waits */
    pf = (struct moat_pollfd){ .sock = lst, .events = MOAT_POLLIN };
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 10000, &ready), 0);
    ck_assert_uint_eq(pf.revents, MOAT_POLLIN);
    ck_assert_int_eq(moat_sock_accept(p.b, lst, &srv, NULL), 0);

    /* non-blocking recv on an empty connection */
    ck_assert_int_eq(moat_sock_setopt(p.b, srv, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_recv(p.b, srv, buf, sizeof(buf), &n), MOAT_E_AGAIN);
    ck_assert_int_eq(moat_sock_send(p.a, cli, "0123456789", 10, &n), 0);
    ck_assert_uint_eq(n, 10);
    pf = (struct moat_pollfd){ .sock = srv, .events = MOAT_POLLIN };
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 10000, &ready), 0);
    ck_assert_uint_eq(pf.revents, MOAT_POLLIN);
    ck_assert_int_eq(moat_sock_recv(p.b, srv, buf, sizeof(buf), &n), 0);
    ck_assert_uint_eq(n, 10);
    ck_assert_mem_eq(buf, "0123456789", 10);

    /* abort: the peer sees a reset (error, or hang-up), never a hang */
    ck_assert_int_eq(moat_sock_abort(p.a, cli), 0);
    pf = (struct moat_pollfd){ .sock = srv, .events = MOAT_POLLIN };
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 10000, &ready), 0);
    ck_assert_uint_eq(ready, 1);
    ck_assert(pf.revents & (MOAT_POLLERR | MOAT_POLLHUP));
    r = moat_sock_recv(p.b, srv, buf, sizeof(buf), &n);
    ck_assert_msg(r == MOAT_E_CONNRESET || (r == 0 && n == 0), "recv after RST: %s",
                  moat_errname(r));
    pair_close(&p);
}
END_TEST

/* SOCK-MSG-TCP-1. moat has no sendmsg/recvmsg: a send takes one buffer
 * and reports how much of it the send ring took, and the scatter side is
 * the receive view (up to two spans, moat_sock_recv_view). About twice the
 * send ring goes through non-blocking calls: whenever poll reports the
 * socket writable, a send of the rest takes a positive count, never more
 * than offered (and never MOAT_E_AGAIN: only the application fills its
 * send ring, so the room poll saw is still there); the caller advances by
 * that count. The receiver copies each view's spans out in order and
 * releases an odd amount at a time; the bytes reassemble the exact
 * pattern. An accepted socket does not inherit the listener's
 * non-blocking flag. */
START_TEST(api_tcp_partial_sends_and_views)
{
    enum { TOTAL = 2 * 16384 + 1234 };  /* cfg_small: 16 KiB send ring */
    static uint8_t out[TOTAL], in[TOTAL];
    struct pair p;
    moat_sock_t lst, cli, srv;
    struct moat_addr any = { .ip = 0, .port = 7404 }, to = { .ip = IP_B, .port = 7404 };
    struct moat_pollfd pf;
    unsigned ready, partial = 0, sends = 0;
    size_t sent = 0, got = 0;
    int64_t v = -1;

    for (size_t i = 0; i < TOTAL; i++)
        out[i] = tcp_pattern(i);
    pair_open(&p);
    ck_assert_int_eq(moat_sock_open(p.b, MOAT_SOCK_STREAM, &lst), 0);
    ck_assert_int_eq(moat_sock_bind(p.b, lst, &any), 0);
    ck_assert_int_eq(moat_sock_listen(p.b, lst, 4), 0);
    ck_assert_int_eq(moat_sock_setopt(p.b, lst, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_open(p.a, MOAT_SOCK_STREAM, &cli), 0);
    ck_assert_int_eq(moat_sock_setopt(p.a, cli, MOAT_OPT_SNDTIMEO_MS, 10000), 0);
    ck_assert_int_eq(moat_sock_connect(p.a, cli, &to), 0);
    pf = (struct moat_pollfd){ .sock = lst, .events = MOAT_POLLIN };
    ck_assert_int_eq(moat_poll(p.b, &pf, 1, 10000, &ready), 0);
    ck_assert_uint_eq(ready, 1);
    ck_assert_int_eq(moat_sock_accept(p.b, lst, &srv, NULL), 0);
    ck_assert_int_eq(moat_sock_getopt(p.b, srv, MOAT_OPT_NONBLOCK, &v), 0);
    ck_assert_int_eq(v, 0);                         /* not inherited */
    ck_assert_int_eq(moat_sock_setopt(p.b, srv, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_setopt(p.a, cli, MOAT_OPT_NONBLOCK, 1), 0);

    uint64_t end = itest_now_ms() + 60000;
    for (unsigned round = 0; got < TOTAL; round++) {
        ck_assert_msg(round < 200000 && itest_now_ms() < end,
                      "stalled: sent %zu, received %zu", sent, got);
        if (sent < TOTAL) {
            pf = (struct moat_pollfd){ .sock = cli, .events = MOAT_POLLOUT };
            ck_assert_int_eq(moat_poll(p.a, &pf, 1, 0, &ready), 0);
            if (pf.revents & MOAT_POLLOUT) {
                size_t n = 0;
                int r = moat_sock_send(p.a, cli, out + sent, TOTAL - sent, &n);
                ck_assert_msg(r == 0, "send with room: %s", moat_errname(r));
                ck_assert_uint_gt(n, 0);
                ck_assert_uint_le(n, TOTAL - sent);
                partial += n < TOTAL - sent;
                sends++;
                sent += n;
            }
        }
        struct moat_iov iov[2];
        unsigned nv = 0;
        int r = moat_sock_recv_view(p.b, srv, iov, &nv);
        if (r == MOAT_E_AGAIN) {
            pf = (struct moat_pollfd){ .sock = srv, .events = MOAT_POLLIN };
            ck_assert_int_eq(moat_poll(p.b, &pf, 1, sent < TOTAL ? 0 : 100, &ready), 0);
            continue;
        }
        ck_assert_msg(r == 0, "recv view: %s", moat_errname(r));
        ck_assert_uint_ge(nv, 1);
        ck_assert_uint_le(nv, 2);
        size_t take = 3001, done = 0;
        for (unsigned k = 0; k < nv && done < take; k++) {
            size_t c = iov[k].len < take - done ? iov[k].len : take - done;
            ck_assert_uint_gt(iov[k].len, 0);
            ck_assert_uint_le(got + done + c, sent);    /* nothing that was not sent */
            memcpy(in + got + done, iov[k].base, c);
            done += c;
        }
        ck_assert_int_eq(moat_sock_recv_release(p.b, srv, done), 0);
        got += done;
    }
    ck_assert_uint_eq(sent, TOTAL);
    ck_assert_uint_ge(partial, 1);                  /* more than one ring-full */
    ck_assert_uint_ge(sends, 3);
    ck_assert_mem_eq(in, out, TOTAL);
    ck_assert_int_eq(moat_sock_close(p.a, cli), 0);
    ck_assert_int_eq(moat_sock_close(p.b, srv), 0);
    ck_assert_int_eq(moat_sock_close(p.b, lst), 0);
    pair_close(&p);
}
END_TEST

/* ---- a dead or lying network domain ------------------------------------ */

struct blocked {
    struct moat_stack *st;
    moat_sock_t s;
    int r;
    uint64_t ms;
};

static void *blocked_recv(void *arg)
{
    struct blocked *b = arg;
    char buf[16];
    size_t got;
    uint64_t t0 = itest_now_ms();
    b->r = moat_sock_recv(b->st, b->s, buf, sizeof(buf), &got);   /* no timeout */
    b->ms = itest_now_ms() - t0;
    return NULL;
}

START_TEST(api_dead_wakes_waiters)
{
    struct moat_stack *st = open_none();
    struct blocked b = { st, udp_bound(st, 5010), 1, 0 };
    struct moat_stats stats;
    pthread_t thr;
    moat_sock_t s2;

    ck_assert_int_eq(pthread_create(&thr, NULL, blocked_recv, &b), 0);
    /* Let the receiver get into its wait: poll on another socket for a
     * while (bounded, and not a synchronisation: the test holds either
     * way, it only covers the sleeping case more surely). */
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s2), 0);
    {
        struct moat_pollfd pf = { .sock = s2, .events = MOAT_POLLIN };
        ck_assert_int_eq(moat_poll(st, &pf, 1, 100, NULL), 0);
    }
    moat_stack_mark_dead(st);
    pthread_join(thr, NULL);
    ck_assert_int_eq(b.r, MOAT_E_DEAD);
    ck_assert_uint_lt(b.ms, 5000);
    /* every later call says so, nothing hangs, close still works */
    ck_assert_int_eq(moat_stack_stats(st, &stats), MOAT_E_DEAD);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s2), MOAT_E_DEAD);
    ck_assert_int_eq(moat_poll(st, NULL, 0, -1, NULL), MOAT_E_DEAD);
    ck_assert_int_eq(moat_sock_close(st, b.s), 0);
    moat_stack_close(st);
}
END_TEST

START_TEST(api_peer_lies_about_ring)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5011), s2 = udp_bound(st, 5012);
    struct moat_sock_sh *sh = moat_region_sock(st->region, &st->lay, moat_handle_idx(s));
    char buf[64];
    size_t got;
    int64_t v;

    /* a producer index beyond the ring's capacity */
    atomic_store(&sh->rx.prod, 0x40000000u);
    ck_assert_int_eq(moat_sock_recv(st, s, buf, sizeof(buf), &got), MOAT_E_PEER);
    /* the stack is failed for good, with the same reason */
    ck_assert_int_eq(moat_sock_getopt(st, s2, MOAT_OPT_RCVTIMEO_MS, &v), MOAT_E_PEER);
    ck_assert_int_eq(moat_sock_recv(st, s2, buf, sizeof(buf), &got), MOAT_E_PEER);
    ck_assert_int_eq(moat_sock_close(st, s), 0);
    moat_stack_close(st);

    /* a datagram record whose length claims more than the ring holds */
    st = open_none();
    s = udp_bound(st, 5013);
    sh = moat_region_sock(st->region, &st->lay, moat_handle_idx(s));
    {
        struct moat_dgram_hdr h = { .ip = IP_B, .port = 9, .len = 1000 };
        memcpy(moat_region_rx_data(st->region, &st->lay, moat_handle_idx(s)), &h, sizeof(h));
        atomic_store(&sh->rx.prod, 8u + 16u);
    }
    ck_assert_int_eq(moat_sock_recv(st, s, buf, sizeof(buf), &got), MOAT_E_PEER);
    moat_stack_close(st);
}
END_TEST

/* ---- event-driven readiness (moat_watch / moat_poll_ready) -------------- */

#define RD_N 40u   /* idle sockets among which two become ready */

/* Poll (waiting up to 5 s in all) until @p want sockets are reported;
 * returns the count of the last call. */
static unsigned ready_until(struct moat_stack *st, struct moat_event *ev, unsigned max,
                            unsigned want)
{
    unsigned n = 0;
    uint64_t end = itest_now_ms() + 5000;

    do {
        ck_assert_int_eq(moat_poll_ready(st, ev, max, 500, &n), 0);
    } while (n < want && itest_now_ms() < end);
    return n;
}

START_TEST(api_ready_reports_changed_only)
{
    struct pair p;
    moat_sock_t sa, sb[RD_N];
    int tag[RD_N];
    struct moat_addr from;
    struct moat_event ev[RD_N];
    unsigned n = 99;
    char buf[64];
    size_t got;

    pair_open_n(&p, 64);
    sa = udp_bound(p.a, 0);
    for (unsigned i = 0; i < RD_N; i++) {
        sb[i] = udp_bound(p.b, (uint16_t)(7300 + i));
        tag[i] = (int)i;
        ck_assert_int_eq(moat_watch(p.b, sb[i], MOAT_POLLIN, &tag[i]), 0);
    }
    /* nothing is readable: an empty answer, also after a short wait */
    ck_assert_int_eq(moat_poll_ready(p.b, ev, RD_N, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(moat_poll_ready(p.b, ev, RD_N, 50, &n), 0);
    ck_assert_uint_eq(n, 0);

    /* datagrams to sockets 3 and 31: exactly those two are reported */
    {
        struct moat_addr t3 = { .ip = IP_B, .port = 7303 }, t31 = { .ip = IP_B, .port = 7331 };
        ck_assert_int_eq(moat_sock_sendto(p.a, sa, "three", 5, &t3, &got), 0);
        ck_assert_int_eq(moat_sock_sendto(p.a, sa, "thirty-one", 10, &t31, &got), 0);
    }
    n = ready_until(p.b, ev, RD_N, 2);
    ck_assert_uint_eq(n, 2);
    {
        int seen3 = 0, seen31 = 0;
        for (unsigned i = 0; i < n; i++) {
            int t = *(int *)ev[i].user;
            ck_assert_uint_eq(ev[i].revents, MOAT_POLLIN);
            ck_assert_uint_eq(ev[i].sock, sb[t]);
            seen3 += t == 3;
            seen31 += t == 31;
        }
        ck_assert_int_eq(seen3, 1);
        ck_assert_int_eq(seen31, 1);
    }

    /* level-triggered: still readable, so reported again without a change */
    ck_assert_int_eq(moat_poll_ready(p.b, ev, RD_N, 0, &n), 0);
    ck_assert_uint_eq(n, 2);

    /* max 1: one now, the other next time (neither is lost) */
    ck_assert_int_eq(moat_poll_ready(p.b, ev, 1, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
    {
        int first = *(int *)ev[0].user;
        ck_assert_int_eq(moat_poll_ready(p.b, ev, 1, 0, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_ne(*(int *)ev[0].user, first);
    }

    /* drain 3: only 31 stays */
    ck_assert_int_eq(moat_sock_recvfrom(p.b, sb[3], buf, sizeof(buf), &from, &got), 0);
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(moat_poll_ready(p.b, ev, RD_N, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(*(int *)ev[0].user, 31);

    /* unwatched: not reported though still readable */
    ck_assert_int_eq(moat_watch(p.b, sb[31], 0, NULL), 0);
    ck_assert_int_eq(moat_poll_ready(p.b, ev, RD_N, 0, &n), 0);
    ck_assert_uint_eq(n, 0);

    /* watching a socket that is ready already reports it at once */
    ck_assert_int_eq(moat_watch(p.b, sb[31], MOAT_POLLIN | MOAT_POLLOUT, &tag[31]), 0);
    ck_assert_int_eq(moat_poll_ready(p.b, ev, RD_N, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ev[0].revents, MOAT_POLLIN | MOAT_POLLOUT);

    /* a watched socket that is closed is not reported any more */
    ck_assert_int_eq(moat_sock_close(p.b, sb[31]), 0);
    ck_assert_int_eq(moat_poll_ready(p.b, ev, RD_N, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(moat_watch(p.b, sb[31], MOAT_POLLIN, NULL), MOAT_E_BADHANDLE);
    pair_close(&p);
}
END_TEST

START_TEST(api_ready_hup)
{
    struct pair p;
    moat_sock_t cli, lst, srv;
    struct moat_event ev[4];
    unsigned n = 0;

    pair_open(&p);
    tcp_connect_pair(&p, 7400, &cli, &lst, &srv);
    ck_assert_int_eq(moat_watch(p.b, srv, MOAT_POLLIN | MOAT_POLLRDHUP, NULL), 0);
    ck_assert_int_eq(moat_poll_ready(p.b, ev, 4, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    /* the peer resets the connection: HUP (and the error) are reported */
    ck_assert_int_eq(moat_sock_abort(p.a, cli), 0);
    n = ready_until(p.b, ev, 4, 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ev[0].sock, srv);
    ck_assert(ev[0].revents & MOAT_POLLHUP);
    ck_assert(ev[0].revents & MOAT_POLLIN);
    /* and keeps being reported until the handle is closed */
    ck_assert_int_eq(moat_poll_ready(p.b, ev, 4, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(moat_sock_close(p.b, srv), 0);
    ck_assert_int_eq(moat_poll_ready(p.b, ev, 4, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    pair_close(&p);
}
END_TEST

START_TEST(api_ready_bad_args)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5021);
    struct moat_event ev[2];
    unsigned n = 99;

    ck_assert_int_eq(moat_watch(NULL, s, MOAT_POLLIN, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_watch(st, s, 0x8000u, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_watch(st, 0, MOAT_POLLIN, NULL), MOAT_E_BADHANDLE);
    ck_assert_int_eq(moat_watch(st, s + 1u, MOAT_POLLIN, NULL), MOAT_E_BADHANDLE);
    ck_assert_int_eq(moat_poll_ready(NULL, ev, 2, 0, &n), MOAT_E_INVAL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(moat_poll_ready(st, NULL, 2, 0, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_poll_ready(st, ev, 0, 0, &n), MOAT_E_INVAL);
    /* NULL nready is allowed */
    ck_assert_int_eq(moat_poll_ready(st, ev, 2, 0, NULL), 0);
    moat_stack_close(st);
}
END_TEST

/* A hostile net domain sets every bit of the ready hints, in range and
 * not: the application looks only at slots it watches, reports only what
 * is really ready, and reads nothing outside the bitmap. */
START_TEST(api_ready_hostile_bits)
{
    struct moat_stack *st = open_none();
    moat_sock_t s = udp_bound(st, 5031), s2 = udp_bound(st, 5032);
    _Atomic uint32_t *w = (_Atomic uint32_t *)((uint8_t *)st->region + st->lay.off_ready);
    _Atomic uint32_t *sum =
        (_Atomic uint32_t *)((uint8_t *)st->region + st->lay.off_ready_sum);
    struct moat_event ev[N_SOCKS];
    unsigned n = 99;

    ck_assert_int_eq(moat_watch(st, s, MOAT_POLLIN, NULL), 0);
    ck_assert_int_eq(moat_watch(st, s2, MOAT_POLLOUT, NULL), 0);
    for (int round = 0; round < 3; round++) {
        for (uint32_t i = 0; i < st->lay.n_dirty; i++)
            atomic_store(&w[i], 0xffffffffu);
        for (uint32_t i = 0; i < st->lay.n_dirty_sum; i++)
            atomic_store(&sum[i], 0xffffffffu);   /* words beyond n_dirty too */
        ck_assert_int_eq(moat_poll_ready(st, ev, N_SOCKS, 0, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(ev[0].sock, s2);
        ck_assert_uint_eq(ev[0].revents, MOAT_POLLOUT);
    }
    moat_stack_close(st);
}
END_TEST

/* ---- opening devices ---------------------------------------------------- */

START_TEST(api_missing_tap)
{
    struct moat_config c;
    struct moat_stack *st = NULL;
    char name[16];
    int r;

    snprintf(name, sizeof(name), "moatnx%u", (unsigned)getpid() % 100000u);
    cfg_small(&c, IP_A, MOAT_LINK_TAP, name);
    r = moat_stack_open(&c, &st);
    if (geteuid() != 0 && r == MOAT_E_PERM)
        return;   /* without privileges the port cannot even look */
    ck_assert_int_eq(r, MOAT_E_NODEV);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(moat_strerror(r), "ip tuntap add"));
    ck_assert_str_eq(moat_errname(r), "MOAT_E_NODEV");
}
END_TEST

START_TEST(api_bad_config)
{
    struct moat_config c;
    struct moat_stack *st = NULL;

    cfg_small(&c, IP_A, MOAT_LINK_NONE, NULL);
    c.sock_rx_bytes = 10000;   /* not a power of two */
    ck_assert_int_lt(moat_stack_open(&c, &st), 0);
    ck_assert_ptr_null(st);
    cfg_small(&c, IP_A, MOAT_LINK_CUSTOM, NULL);   /* custom without a link */
    ck_assert_int_lt(moat_stack_open(&c, &st), 0);
    ck_assert_ptr_null(st);
}
END_TEST

/* MOAT_LINK_CUSTOM is a link object in the application's memory: the
 * factored backends, whose link domain is another process, refuse it at
 * open with MOAT_E_NOTSUP (and a line on stderr) and leave nothing open.
 * The thread backend drives such links itself (tests/unit uses them). */
START_TEST(api_custom_link_factored)
{
    static const struct moat_link_ops no_ops;   /* never called: refused first */
    struct moat_link link = { .ops = &no_ops };
    struct moat_config c;
    struct moat_stack *st = NULL;

    if (strcmp(moat_backend_name(), "thread") == 0)
        return;
    cfg_small(&c, IP_A, MOAT_LINK_CUSTOM, NULL);
    c.ifs[0].custom = &link;
    ck_assert_int_eq(moat_stack_open(&c, &st), MOAT_E_NOTSUP);
    ck_assert_ptr_null(st);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_add_test(tc, api_backend_name);
    tcase_add_test(tc, api_custom_link_factored);
    tcase_add_test(tc, api_bad_handles);
    tcase_add_test(tc, api_null_args);
    tcase_add_test(tc, api_options);
    tcase_add_test(tc, api_tcp_cong_option);
    tcase_add_test(tc, api_double_bind);
    tcase_add_test(tc, api_nonblock_recv_empty);
    tcase_add_test(tc, api_rcvtimeo);
    tcase_add_test(tc, api_udp_send_errors);
    tcase_add_test(tc, api_mfile_and_reuse);
    tcase_add_test(tc, api_posted_requests);
    tcase_add_test(tc, api_posted_error_counted);
    tcase_add_test(tc, api_accept_empty_no_round_trip);
    tcase_add_test(tc, api_poll_readiness);
    tcase_add_test(tc, api_two_stacks_independent);
    tcase_add_test(tc, api_missing_tap);
    tcase_add_test(tc, api_bad_config);
    tcase_add_test(tc, api_dead_wakes_waiters);
    tcase_add_test(tc, api_peer_lies_about_ring);
    tcase_add_test(tc, api_ready_bad_args);
    tcase_add_test(tc, api_ready_hostile_bits);
    tcase_add_test(tc, api_ready_reports_changed_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("tcp");
    tcase_set_timeout(tc, 90);
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_add_test(tc, api_tcp_stream_and_eof);
    tcase_add_test(tc, api_tcp_refused);
    tcase_add_test(tc, api_tcp_nonblocking);
    tcase_add_test(tc, api_tcp_partial_sends_and_views);
    tcase_add_test(tc, api_ready_hup);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(api_suite)
