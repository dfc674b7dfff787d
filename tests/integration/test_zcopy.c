/* SPDX-License-Identifier: MIT */
/*
 * The zero-copy socket calls (moat_sock_recv_view / _release,
 * moat_sock_send_view / _commit) through two real stacks over a
 * shared-memory wire, in whichever backend this build links: a bulk
 * stream written and read in place with views that wrap around the end of
 * small rings, partial and refused releases/commits, non-blocking and
 * timed views, argument checks, UDP refused, close while viewed, and a
 * network domain that lies about the receive ring under a view.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <moat/moat.h>
#include <moat/socket.h>

#include "app/stack.h"
#include "core/boundary.h"
#include "ports/linux/linux_port.h"
#include "support/check_main.h"
#include "support/itest.h"

#define IP_A 0xc6120001u   /* 198.18.0.1 */
#define IP_B 0xc6120002u   /* 198.18.0.2 */
#define RING_BYTES 16384u  /* small rings: a bulk run wraps them many times */
#define ZC_BYTES (1u << 20)

static void case_dir_setup(void)
{
    itest_case_dir_make("zcopy");
}

/* Two stacks on one wire and one TCP connection between them:
 * cli on a, srv (accepted) on b. */
struct zc {
    char path[128];
    struct moat_stack *a, *b;
    moat_sock_t lst, cli, srv;
};

static void zc_open(struct zc *z, uint16_t port)
{
    struct moat_config ca, cb;
    struct moat_addr any = { .ip = 0, .port = port }, to = { .ip = IP_B, .port = port };
    int r;

    itest_wire_path(z->path, sizeof(z->path));
    itest_config(&ca, IP_A, MOAT_LINK_WIRE, z->path);
    itest_config(&cb, IP_B, MOAT_LINK_WIRE, z->path);
    ca.max_sockets = cb.max_sockets = 8;
    ca.sock_rx_bytes = cb.sock_rx_bytes = RING_BYTES;
    ca.sock_tx_bytes = cb.sock_tx_bytes = RING_BYTES;
    r = moat_stack_open(&ca, &z->a);
    ck_assert_msg(r == 0, "open A: %s", moat_strerror(r));
    r = moat_stack_open(&cb, &z->b);
    ck_assert_msg(r == 0, "open B: %s", moat_strerror(r));

    ck_assert_int_eq(moat_sock_open(z->b, MOAT_SOCK_STREAM, &z->lst), 0);
    ck_assert_int_eq(moat_sock_bind(z->b, z->lst, &any), 0);
    ck_assert_int_eq(moat_sock_listen(z->b, z->lst, 2), 0);
    ck_assert_int_eq(moat_sock_setopt(z->b, z->lst, MOAT_OPT_RCVTIMEO_MS, 10000), 0);
    ck_assert_int_eq(moat_sock_open(z->a, MOAT_SOCK_STREAM, &z->cli), 0);
    ck_assert_int_eq(moat_sock_setopt(z->a, z->cli, MOAT_OPT_SNDTIMEO_MS, 10000), 0);
    ck_assert_int_eq(moat_sock_setopt(z->a, z->cli, MOAT_OPT_RCVTIMEO_MS, 10000), 0);
    r = moat_sock_connect(z->a, z->cli, &to);
    ck_assert_msg(r == 0, "connect: %s", moat_strerror(r));
    r = moat_sock_accept(z->b, z->lst, &z->srv, NULL);
    ck_assert_msg(r == 0, "accept: %s", moat_strerror(r));
    ck_assert_int_eq(moat_sock_setopt(z->b, z->srv, MOAT_OPT_RCVTIMEO_MS, 10000), 0);
    ck_assert_int_eq(moat_sock_setopt(z->b, z->srv, MOAT_OPT_SNDTIMEO_MS, 10000), 0);
}

static void zc_close(struct zc *z)
{
    moat_stack_close(z->a);
    moat_stack_close(z->b);
    moat_wire_unlink(z->path);
}

static uint8_t zc_pattern(size_t i) { return (uint8_t)(i * 2654435761u >> 11); }

static size_t iov_total(const struct moat_iov *v, unsigned n)
{
    size_t t = 0;
    for (unsigned i = 0; i < n; i++)
        t += v[i].len;
    return t;
}

/* Wait (bounded) until a receive view shows at least @p want bytes. */
static size_t view_at_least(struct moat_stack *st, moat_sock_t s, size_t want,
                            struct moat_iov v[2], unsigned *n)
{
    uint64_t end = itest_now_ms() + 10000;
    size_t t = 0;

    while (itest_now_ms() < end) {
        int r = moat_sock_recv_view(st, s, v, n);
        ck_assert_msg(r == 0, "recv_view: %s", moat_strerror(r));
        ck_assert_uint_ge(*n, 1);
        t = iov_total(v, *n);
        if (t >= want)
            return t;
    }
    ck_abort_msg("only %zu of %zu bytes arrived", t, want);
    return t;
}

/* ---- a bulk stream in place, both ends --------------------------------- */

struct zc_reader {
    struct moat_stack *st;
    moat_sock_t s;
    size_t total;
    int err;
    long bad_at;          /* first wrong byte, -1 if none */
    unsigned wrapped;     /* views that came in two spans */
};

/* Read in place until end of stream; release at most 3001 bytes per view
 * (odd, and often less than viewed) so that views start anywhere in the
 * ring and keep wrapping. */
static void *zc_reader_main(void *arg)
{
    struct zc_reader *rd = arg;
    uint64_t end = itest_now_ms() + 60000;

    rd->bad_at = -1;
    while (itest_now_ms() < end) {
        struct moat_iov v[2];
        unsigned n;
        size_t k = 0, take;
        int r = moat_sock_recv_view(rd->st, rd->s, v, &n);

        if (r != 0) {
            rd->err = r;
            return NULL;
        }
        if (n == 0)
            return NULL;  /* end of stream */
        if (n == 2)
            rd->wrapped++;
        take = iov_total(v, n);
        if (take > 3001)
            take = 3001;
        for (unsigned i = 0; i < n && k < take; i++) {
            const uint8_t *p = v[i].base;
            for (size_t j = 0; j < v[i].len && k < take; j++, k++)
                if (p[j] != zc_pattern(rd->total + k) && rd->bad_at < 0)
                    rd->bad_at = (long)(rd->total + k);
        }
        r = moat_sock_recv_release(rd->st, rd->s, take);
        if (r != 0) {
            rd->err = r;
            return NULL;
        }
        rd->total += take;
    }
    rd->err = MOAT_E_TIMEDOUT;
    return NULL;
}

/* BUF-COPY-CHAINS-1, BUF-EDGE-1 (API level): a stream written in pieces
 * of up to 5003 bytes and read in pieces of up to 3001, through views of
 * one or two spans that split wherever the ring's end falls; every byte
 * arrives at its place. */
START_TEST(zc_bulk_in_place_wraps)
{
    struct zc z;
    struct zc_reader rd;
    pthread_t thr;
    size_t done = 0;
    unsigned wrapped = 0;

    zc_open(&z, 7600);
    memset(&rd, 0, sizeof(rd));
    rd.st = z.b;
    rd.s = z.srv;
    ck_assert_int_eq(pthread_create(&thr, NULL, zc_reader_main, &rd), 0);

    /* write at most 5003 bytes per view, straight into the send ring */
    while (done < ZC_BYTES) {
        struct moat_iov v[2];
        unsigned n;
        size_t k = 0, put;
        int r = moat_sock_send_view(z.a, z.cli, v, &n);

        ck_assert_msg(r == 0, "send_view: %s", moat_strerror(r));
        ck_assert(n == 1 || n == 2);
        /* BUF-COPY-ZEROTAIL-1: room that ends exactly at the ring's end
         * is one span, never a second one of length 0 */
        ck_assert_uint_gt(v[0].len, 0);
        if (n == 2) {
            ck_assert_uint_gt(v[1].len, 0);
            wrapped++;
        }
        put = iov_total(v, n);
        ck_assert_uint_gt(put, 0);
        ck_assert_uint_le(put, RING_BYTES);
        if (put > 5003)
            put = 5003;
        if (put > ZC_BYTES - done)
            put = ZC_BYTES - done;
        for (unsigned i = 0; i < n && k < put; i++) {
            uint8_t *p = v[i].base;
            for (size_t j = 0; j < v[i].len && k < put; j++, k++)
                p[j] = zc_pattern(done + k);
        }
        ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, put), 0);
        done += put;
    }
    ck_assert_int_eq(moat_sock_shutdown(z.a, z.cli, MOAT_SHUT_WR), 0);
    pthread_join(thr, NULL);
    ck_assert_msg(rd.err == 0, "reader: %s", moat_strerror(rd.err));
    ck_assert_int_eq(rd.bad_at, -1);
    ck_assert_uint_eq(rd.total, ZC_BYTES);
    /* 1 MiB through 16 KiB rings in odd-sized pieces: both ends wrapped */
    ck_assert_uint_gt(wrapped, 0);
    ck_assert_uint_gt(rd.wrapped, 0);

    /* end of stream stays end of stream for views too */
    {
        struct moat_iov v[2];
        unsigned n = 9;
        ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, v, &n), 0);
        ck_assert_uint_eq(n, 0);
    }
    zc_close(&z);
}
END_TEST

/* ---- partial and refused releases / commits ----------------------------- */

/* BUF-COPY-PARTIAL-1 (API level): a release or commit longer than the
 * view is refused and moves nothing; partial ones take exactly the bytes
 * asked for. BUF-ZERO-1 (views): releasing or committing 0 bytes is
 * accepted and changes nothing. */
START_TEST(zc_release_partial_and_refused)
{
    struct zc z;
    struct moat_iov v[2];
    unsigned n;
    size_t sent, got, room;
    char buf[16];

    zc_open(&z, 7601);
    ck_assert_int_eq(moat_sock_send(z.a, z.cli, "hello world", 11, &sent), 0);
    ck_assert_uint_eq(sent, 11);
    ck_assert_uint_eq(view_at_least(z.b, z.srv, 11, v, &n), 11);
    ck_assert_uint_eq(n, 1);
    ck_assert_mem_eq(v[0].base, "hello world", 11);

    /* more than viewed: refused, and nothing moved */
    ck_assert_int_eq(moat_sock_recv_release(z.b, z.srv, 12), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, v, &n), 0);
    ck_assert_uint_eq(iov_total(v, n), 11);
    ck_assert_mem_eq(v[0].base, "hello world", 11);

    /* partial releases add up to the view, no further */
    ck_assert_int_eq(moat_sock_recv_release(z.b, z.srv, 0), 0);
    ck_assert_int_eq(moat_sock_recv_release(z.b, z.srv, 6), 0);
    ck_assert_int_eq(moat_sock_recv_release(z.b, z.srv, 6), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_recv_release(z.b, z.srv, 2), 0);
    /* the rest is still there, for a view or a plain recv */
    ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, v, &n), 0);
    ck_assert_uint_eq(iov_total(v, n), 3);
    ck_assert_mem_eq(v[0].base, "rld", 3);
    ck_assert_int_eq(moat_sock_recv(z.b, z.srv, buf, sizeof(buf), &got), 0);
    ck_assert_uint_eq(got, 3);
    ck_assert_mem_eq(buf, "rld", 3);
    /* recv ended the view: releasing from it now is refused */
    ck_assert_int_eq(moat_sock_recv_release(z.b, z.srv, 1), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_setopt(z.b, z.srv, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_recv(z.b, z.srv, buf, sizeof(buf), &got), MOAT_E_AGAIN);

    /* send side: a commit past the view is refused; a partial one sends
     * exactly those bytes */
    ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, 1), MOAT_E_INVAL);   /* no view */
    ck_assert_int_eq(moat_sock_send_view(z.a, z.cli, v, &n), 0);
    room = iov_total(v, n);
    ck_assert_uint_ge(room, 5);
    ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, room + 1), MOAT_E_INVAL);
    memcpy(v[0].base, "abcde", 5);
    ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, 3), 0);
    ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, 0), 0);
    /* a plain send ends the view */
    ck_assert_int_eq(moat_sock_send(z.a, z.cli, "XY", 2, &sent), 0);
    ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, 1), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_setopt(z.b, z.srv, MOAT_OPT_NONBLOCK, 0), 0);
    ck_assert_uint_eq(view_at_least(z.b, z.srv, 5, v, &n), 5);
    ck_assert_uint_eq(n, 1);
    ck_assert_mem_eq(v[0].base, "abcXY", 5);
    ck_assert_int_eq(moat_sock_recv_release(z.b, z.srv, 5), 0);

    /* a commit after shutdown(WR) would put bytes behind the FIN: refused */
    ck_assert_int_eq(moat_sock_send_view(z.a, z.cli, v, &n), 0);
    memcpy(v[0].base, "late", 4);
    ck_assert_int_eq(moat_sock_shutdown(z.a, z.cli, MOAT_SHUT_WR), 0);
    ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, 4), MOAT_E_PIPE);
    ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, v, &n), 0);
    ck_assert_uint_eq(n, 0);                    /* the FIN, no "late" */
    zc_close(&z);
}
END_TEST

/* ---- waiting, arguments, UDP, close --------------------------------------- */

START_TEST(zc_nonblock_timeout_args)
{
    struct zc z;
    struct moat_iov v[2];
    unsigned n;
    moat_sock_t u, fresh;
    uint64_t t0, dt;

    zc_open(&z, 7602);
    /* nothing to read: AGAIN at once, or after RCVTIMEO (never early) */
    ck_assert_int_eq(moat_sock_setopt(z.b, z.srv, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, v, &n), MOAT_E_AGAIN);
    ck_assert_int_eq(moat_sock_setopt(z.b, z.srv, MOAT_OPT_NONBLOCK, 0), 0);
    ck_assert_int_eq(moat_sock_setopt(z.b, z.srv, MOAT_OPT_RCVTIMEO_MS, 120), 0);
    t0 = itest_now_ms();
    ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, v, &n), MOAT_E_AGAIN);
    dt = itest_now_ms() - t0;
    ck_assert_uint_ge(dt, 115);
    ck_assert_uint_lt(dt, 5000);

    /* bad arguments and handles */
    ck_assert_int_eq(moat_sock_recv_view(NULL, z.srv, v, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, NULL, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_recv_view(z.b, z.srv, v, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_send_view(z.a, z.cli, NULL, &n), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_send_view(z.a, z.cli, v, NULL), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_recv_view(z.b, 0, v, &n), MOAT_E_BADHANDLE);
    ck_assert_int_eq(moat_sock_send_view(z.a, 0x7777u, v, &n), MOAT_E_BADHANDLE);
    ck_assert_int_eq(moat_sock_recv_release(NULL, z.srv, 0), MOAT_E_INVAL);
    ck_assert_int_eq(moat_sock_send_commit(z.a, 0, 0), MOAT_E_BADHANDLE);

    /* not connected: the send view says so like send does */
    ck_assert_int_eq(moat_sock_open(z.a, MOAT_SOCK_STREAM, &fresh), 0);
    ck_assert_int_eq(moat_sock_send_view(z.a, fresh, v, &n), MOAT_E_NOTCONN);
    ck_assert_int_eq(moat_sock_recv_view(z.a, fresh, v, &n), MOAT_E_NOTCONN);

    /* UDP: datagrams are records, not a byte stream */
    ck_assert_int_eq(moat_sock_open(z.a, MOAT_SOCK_DGRAM, &u), 0);
    ck_assert_int_eq(moat_sock_recv_view(z.a, u, v, &n), MOAT_E_NOTSUP);
    ck_assert_int_eq(moat_sock_recv_release(z.a, u, 0), MOAT_E_NOTSUP);
    ck_assert_int_eq(moat_sock_send_view(z.a, u, v, &n), MOAT_E_NOTSUP);
    ck_assert_int_eq(moat_sock_send_commit(z.a, u, 0), MOAT_E_NOTSUP);

    /* close while viewed: fine, and the handle is gone */
    ck_assert_int_eq(moat_sock_send_view(z.a, z.cli, v, &n), 0);
    ck_assert_int_eq(moat_sock_close(z.a, z.cli), 0);
    ck_assert_int_eq(moat_sock_send_commit(z.a, z.cli, 1), MOAT_E_BADHANDLE);
    ck_assert_int_eq(moat_sock_close(z.a, fresh), 0);
    ck_assert_int_eq(moat_sock_close(z.a, u), 0);
    zc_close(&z);
}
END_TEST

/* ---- a lying network domain --------------------------------------------- */

/* The receive ring's producer index is the net domain's word: a view
 * trusts it only within the ring, and a release checks it again, so an
 * index that goes backwards under a view fails the stack (MOAT_E_PEER)
 * instead of letting the consumer index pass the producer's. */
START_TEST(zc_peer_lies_under_view)
{
    struct moat_config c;
    struct moat_stack *st = NULL;
    struct moat_sock_sh *sh;
    struct moat_iov v[2];
    unsigned n;
    moat_sock_t s;

    itest_config(&c, IP_A, MOAT_LINK_NONE, NULL);
    c.max_sockets = 4;
    c.sock_rx_bytes = c.sock_tx_bytes = RING_BYTES;
    ck_assert_int_eq(moat_stack_open(&c, &st), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &s), 0);
    sh = moat_region_sock(st->region, &st->lay, moat_handle_idx(s));

    /* "publish" five bytes as the net domain would, and view them */
    memcpy(moat_region_rx_data(st->region, &st->lay, moat_handle_idx(s)), "abcde", 5);
    atomic_store(&sh->rx.prod, 5u);
    ck_assert_int_eq(moat_sock_recv_view(st, s, v, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(v[0].len, 5);
    ck_assert_mem_eq(v[0].base, "abcde", 5);
    /* then take two of them back: releasing all five would pass prod */
    atomic_store(&sh->rx.prod, 3u);
    ck_assert_int_eq(moat_sock_recv_release(st, s, 5), MOAT_E_PEER);
    ck_assert_int_eq(moat_sock_recv_view(st, s, v, &n), MOAT_E_PEER);  /* failed for good */
    moat_stack_close(st);

    /* an index past the ring's capacity: the view refuses to show it */
    ck_assert_int_eq(moat_stack_open(&c, &st), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &s), 0);
    sh = moat_region_sock(st->region, &st->lay, moat_handle_idx(s));
    atomic_store(&sh->rx.prod, RING_BYTES + 1u);
    ck_assert_int_eq(moat_sock_recv_view(st, s, v, &n), MOAT_E_PEER);
    ck_assert_uint_eq(n, 0);
    moat_stack_close(st);
}
END_TEST

static Suite *zc_suite(void)
{
    Suite *s = suite_create("zcopy");
    TCase *tc = tcase_create("zcopy");

    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_add_test(tc, zc_bulk_in_place_wraps);
    tcase_add_test(tc, zc_release_partial_and_refused);
    tcase_add_test(tc, zc_nonblock_timeout_args);
    tcase_add_test(tc, zc_peer_lies_under_view);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(zc_suite)
