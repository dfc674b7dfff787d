/* SPDX-License-Identifier: MIT */
/*
 * The application side of the socket boundary (app/client.c)
 * against a network domain that lies. The test plays the net domain: it
 * builds a socket region in shared memory and a struct moat_stack over it
 * exactly as moat_stack_open() leaves one after the backend's hook (ring
 * views attached, no backend: st->be is NULL, so the client's liveness
 * check reports a silent peer as gone), and a fake net thread answers the
 * client's requests from a script: wrong ids, the wrong message type,
 * impossible results and handles, impossible ring indices on the evt ring
 * and on a socket's rings, UDP records whose length lies, pending errors
 * that are not error codes, and finally random bytes written all over the
 * region while the application keeps calling.
 *
 * Every client call must come back in bounded time with an error
 * (MOAT_E_PEER for a violation, MOAT_E_DEAD for a peer that went silent),
 * never crash (the sanitizer builds run this too) and never read or write
 * outside the region. The failure sticks: every later call returns it.
 *
 * Independent of the backend: the same client code runs in every one, and
 * the fake net domain is a thread of this process in all of them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "moat/moat.h"
#include "moat/socket.h"
#include "app/stack.h"
#include "app/wake.h"
#include "support/check_main.h"
#include "support/itest.h"

#define HN_SOCKS   4u
#define HN_RING    4096u
#define HN_BOUND_US 3000000u    /* every call returns within this */

struct hn;
/* The script: fill @p resp for @p req (already a RESP with its id, result
 * 0). Return 1 to publish it, 0 to stay silent. May write the region. */
typedef int (*hn_script_fn)(struct hn *h, const struct moat_msg *req, struct moat_msg *resp);

struct hn {
    struct moat_stack *st;
    void *region;
    struct moat_layout lay;
    struct moat_ring ctl, evt;      /* the fake net's views */
    pthread_t thr;
    _Atomic int stop;
    _Atomic unsigned requests;      /* requests seen */
    hn_script_fn script;
    int variant;                    /* for the script */
    uint32_t next_gen;
};

static void *hn_net_main(void *arg)
{
    struct hn *h = arg;
    struct moat_region_hdr *hdr = moat_region_hdr(h->region);
    while (!atomic_load(&h->stop)) {
        uint32_t avail = 0, space = 0;
        if (moat_ring_avail(&h->ctl, &avail) != 0 || moat_ring_space(&h->evt, &space) != 0) {
            sched_yield();      /* someone scribbled our rings: go quiet */
            continue;
        }
        if (avail < MOAT_MSG_SIZE || space < MOAT_MSG_SIZE) {
            sched_yield();
            continue;
        }
        struct moat_msg req, resp;
        moat_ring_get(&h->ctl, 0, &req, MOAT_MSG_SIZE);
        moat_ring_consume(&h->ctl, MOAT_MSG_SIZE);
        atomic_fetch_add(&h->requests, 1);
        memset(&resp, 0, sizeof resp);
        resp.type = MOAT_MSG_RESP;
        resp.id = req.id;
        resp.sock = req.sock;
        if (h->script(h, &req, &resp)) {
            moat_ring_put(&h->evt, 0, &resp, MOAT_MSG_SIZE);
            moat_ring_publish(&h->evt, MOAT_MSG_SIZE);
        }
        wake_app(hdr);
    }
    return NULL;
}

static void hn_start(struct hn *h, hn_script_fn script, int variant)
{
    struct moat_config cfg;
    struct moat_geom g = { HN_SOCKS, HN_RING, HN_RING, MOAT_CTL_SLOTS };
    memset(h, 0, sizeof *h);
    h->script = script;
    h->variant = variant;
    h->next_gen = 1;
    ck_assert_int_eq(moat_layout_compute(&g, &h->lay), 0);
    h->region = mmap(NULL, h->lay.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(h->region, MAP_FAILED);
    moat_region_init(h->region, &h->lay);
    uint8_t *b = h->region;
    moat_ring_attach(&h->ctl, b + h->lay.off_ctl_sh, b + h->lay.off_ctl_data,
                     g.ctl_slots * MOAT_MSG_SIZE, 0);
    moat_ring_attach(&h->evt, b + h->lay.off_evt_sh, b + h->lay.off_evt_data,
                     g.ctl_slots * MOAT_MSG_SIZE, 0);

    /* What moat_stack_open() builds around a backend's region. */
    moat_config_defaults(&cfg);
    cfg.max_sockets = HN_SOCKS;
    cfg.sock_rx_bytes = HN_RING;
    cfg.sock_tx_bytes = HN_RING;
    cfg.spin_us = 20;
    struct moat_stack *st = calloc(1, sizeof *st);
    ck_assert_ptr_nonnull(st);
    st->cfg = cfg;
    st->lay = h->lay;
    st->region = h->region;
    st->region_size = h->lay.size;
    st->hdr = moat_region_hdr(h->region);
    st->socks = calloc(HN_SOCKS, sizeof *st->socks);
    ck_assert_ptr_nonnull(st->socks);
    ck_assert_int_eq(pthread_mutex_init(&st->lock, NULL), 0);
    st->net_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ck_assert_int_ge(st->net_efd, 0);
    moat_ring_attach(&st->ctl, b + h->lay.off_ctl_sh, b + h->lay.off_ctl_data,
                     g.ctl_slots * MOAT_MSG_SIZE, 0);
    moat_ring_attach(&st->evt, b + h->lay.off_evt_sh, b + h->lay.off_evt_data,
                     g.ctl_slots * MOAT_MSG_SIZE, 0);
    h->st = st;
    atomic_store(&st->hdr->net_ready, 1);
    ck_assert_int_eq(pthread_create(&h->thr, NULL, hn_net_main, h), 0);
}

static void hn_stop(struct hn *h)
{
    atomic_store(&h->stop, 1);
    pthread_join(h->thr, NULL);
    int efd = h->st->net_efd;
    moat_stack_close(h->st);    /* no backend: frees the client side only */
    close(efd);
    munmap(h->region, h->lay.size);
}

/* An honest answer to OPEN: the lowest free slot, rings reset, status OPEN. */
static uint32_t hn_alloc(struct hn *h)
{
    for (uint32_t i = 0; i < HN_SOCKS; i++) {
        struct moat_sock_sh *sh = moat_region_sock(h->region, &h->lay, i);
        if (atomic_load(&sh->status) != 0)
            continue;
        moat_ring_reset(&sh->rx);
        moat_ring_reset(&sh->tx);
        atomic_store(&sh->error, 0);
        atomic_store(&sh->status, MOAT_SS_OPEN);
        return moat_handle_make(i, h->next_gen++);
    }
    return 0;
}

static struct moat_sock_sh *hn_sh(struct hn *h, moat_sock_t s)
{
    return moat_region_sock(h->region, &h->lay, moat_handle_idx(s));
}

/* Honest for everything but what a test changes by hand. */
static int hn_honest(struct hn *h, const struct moat_msg *req, struct moat_msg *resp)
{
    if (req->type == MOAT_MSG_OPEN) {
        resp->body.resp.sock = hn_alloc(h);
        if (!resp->body.resp.sock)
            resp->result = MOAT_E_MFILE;
    } else if (req->type == MOAT_MSG_CLOSE || req->type == MOAT_MSG_ABORT) {
        atomic_store(&hn_sh(h, req->sock)->status, 0);
    }
    return 1;
}

/* The call returned the stack's failure, in time, and it sticks. */
static void hn_failed(struct hn *h, int r, uint64_t t0, int want)
{
    uint64_t took = itest_now_us() - t0;
    ck_assert_msg(r == want, "got %s, want %s", moat_errname(r), moat_errname(want));
    ck_assert_msg(took < HN_BOUND_US, "call took %llu us", (unsigned long long)took);
    moat_sock_t s;
    struct moat_stats stats;
    struct moat_pollfd pf = { .sock = 1, .events = MOAT_POLLIN };
    ck_assert_int_eq(moat_sock_open(h->st, MOAT_SOCK_DGRAM, &s), want);
    ck_assert_int_eq(moat_stack_stats(h->st, &stats), want);
    ck_assert_int_eq(moat_poll(h->st, &pf, 1, 1000, NULL), want);
}

/* ---- the evt ring ------------------------------------------------------- */

static int hn_bad_resp(struct hn *h, const struct moat_msg *req, struct moat_msg *resp)
{
    (void)req;
    switch (h->variant) {
    case 0: resp->id ^= 1; break;                         /* someone else's answer */
    case 1: resp->type = MOAT_MSG_OPEN; break;            /* the app's own message type */
    case 2: resp->type = 0; break;
    case 3: resp->type = 0xfff0; break;
    case 4: resp->pad = 7; break;
    case 5: resp->result = 5; break;                      /* not an error code */
    case 6: resp->result = MOAT_E_MIN_; break;
    case 7: resp->result = INT32_MIN; break;
    default: break;
    }
    resp->body.resp.sock = moat_handle_make(0, 1);
    return 1;
}

START_TEST(malformed_answers_fail_the_stack)
{
    for (int v = 0; v < 8; v++) {
        struct hn h;
        moat_sock_t s = 0;
        hn_start(&h, hn_bad_resp, v);
        uint64_t t0 = itest_now_us();
        int r = moat_sock_open(h.st, MOAT_SOCK_DGRAM, &s);
        hn_failed(&h, r, t0, MOAT_E_PEER);
        hn_stop(&h);
    }
}
END_TEST

static int hn_bad_evt_index(struct hn *h, const struct moat_msg *req, struct moat_msg *resp)
{
    struct moat_ring_sh *sh = h->evt.sh;
    uint32_t local = h->evt.local;
    switch (h->variant) {
    case 0: atomic_store(&sh->prod, local + h->evt.cap + MOAT_MSG_SIZE); break;
    case 1: atomic_store(&sh->prod, local + 10); break;   /* part of a message */
    case 2: atomic_store(&sh->prod, local - MOAT_MSG_SIZE); break;
    case 3: atomic_store(&sh->prod, 0x80000000u); break;
    /* The ctl ring's consumer index (ours) made impossible: the client
     * must not believe it has room, nor wait for it forever. */
    case 4:
        atomic_store(&h->ctl.sh->cons, h->ctl.local + 4 * h->ctl.cap);
        return hn_honest(h, req, resp);
    default: break;
    }
    return 0;
}

START_TEST(impossible_evt_indices_fail_the_stack)
{
    for (int v = 0; v < 5; v++) {
        struct hn h;
        moat_sock_t s = 0;
        hn_start(&h, hn_bad_evt_index, v);
        if (v == 4)     /* answered; the next request finds the index */
            ck_assert_int_eq(moat_sock_open(h.st, MOAT_SOCK_DGRAM, &s), 0);
        uint64_t t0 = itest_now_us();
        int r = moat_sock_open(h.st, MOAT_SOCK_DGRAM, &s);
        hn_failed(&h, r, t0, MOAT_E_PEER);
        hn_stop(&h);
    }
}
END_TEST

static int hn_bad_handle(struct hn *h, const struct moat_msg *req, struct moat_msg *resp)
{
    hn_honest(h, req, resp);
    if (req->type == MOAT_MSG_OPEN && atomic_load(&h->requests) == 2) {
        switch (h->variant) {
        case 0: resp->body.resp.sock = 0; break;
        case 1: resp->body.resp.sock = moat_handle_make(1, 0); break;     /* generation 0 */
        case 2: resp->body.resp.sock = moat_handle_make(HN_SOCKS, 1); break;
        case 3: resp->body.resp.sock = moat_handle_make(0xffff, 0xffff); break;
        case 4: resp->body.resp.sock = moat_handle_make(0, 1); break;     /* slot 0 is in use */
        default: break;
        }
    }
    if (req->type == MOAT_MSG_ACCEPT)
        resp->body.resp.sock = req->sock;   /* "the new connection is the listener" */
    return 1;
}

START_TEST(impossible_handles_fail_the_stack)
{
    for (int v = 0; v < 6; v++) {
        struct hn h;
        moat_sock_t s0 = 0, s1 = 0;
        hn_start(&h, hn_bad_handle, v);
        ck_assert_int_eq(moat_sock_open(h.st, v == 5 ? MOAT_SOCK_STREAM : MOAT_SOCK_DGRAM, &s0), 0);
        ck_assert_uint_eq(moat_handle_idx(s0), 0);
        uint64_t t0 = itest_now_us();
        int r = v == 5 ? moat_sock_accept(h.st, s0, &s1, NULL)
                       : moat_sock_open(h.st, MOAT_SOCK_DGRAM, &s1);
        hn_failed(&h, r, t0, MOAT_E_PEER);
        hn_stop(&h);
    }
}
END_TEST

/* ---- a socket's rings and words ----------------------------------------- */

/* A socket opened through the honest script, non-blocking. */
static moat_sock_t hn_sock(struct hn *h, int type)
{
    moat_sock_t s = 0;
    ck_assert_int_eq(moat_sock_open(h->st, type, &s), 0);
    ck_assert_int_eq(moat_sock_setopt(h->st, s, MOAT_OPT_NONBLOCK, 1), 0);
    return s;
}

/* Net side: publish @p len bytes of @p p on the socket's receive ring at
 * producer index @p prod (free-running). */
static void hn_rx_put(struct hn *h, moat_sock_t s, uint32_t prod, const void *p, uint32_t len)
{
    uint8_t *d = moat_region_rx_data(h->region, &h->lay, moat_handle_idx(s));
    for (uint32_t k = 0; k < len; k++)
        d[(prod + k) & (HN_RING - 1)] = ((const uint8_t *)p)[k];
    atomic_store(&hn_sh(h, s)->rx.prod, prod + len);
}

START_TEST(udp_receive_ring_lies)
{
    /* the end of the first (honest) record: header + 16 bytes */
    enum { REC1 = sizeof(struct moat_dgram_hdr) + 16 };
    for (int v = 0; v < 5; v++) {
        struct hn h;
        uint8_t buf[2048], rec[96];
        size_t n = 0;
        struct moat_addr from;
        hn_start(&h, hn_honest, 0);
        moat_sock_t s = hn_sock(&h, MOAT_SOCK_DGRAM);
        struct moat_dgram_hdr dh = { .ip = 0xc0000202u, .port = 7, .len = 16 };
        memset(rec, 0x5a, sizeof rec);
        memcpy(rec, &dh, sizeof dh);
        hn_rx_put(&h, s, 0, rec, sizeof dh + 16);                  /* one honest record first */
        ck_assert_int_eq(moat_sock_recvfrom(h.st, s, buf, sizeof buf, &from, &n), 0);
        ck_assert_uint_eq(n, 16);
        ck_assert_uint_eq(from.port, 7);
        switch (v) {
        case 0: dh.len = 1000; memcpy(rec, &dh, sizeof dh); hn_rx_put(&h, s, REC1, rec, sizeof dh + 16); break;
        case 1: dh.len = 0xffff; memcpy(rec, &dh, sizeof dh); hn_rx_put(&h, s, REC1, rec, sizeof rec); break;
        case 2: hn_rx_put(&h, s, REC1, rec, 5); break;       /* half a header */
        case 3: atomic_store(&hn_sh(&h, s)->rx.prod, REC1 + HN_RING + 8); break;
        case 4: atomic_store(&hn_sh(&h, s)->rx.prod, 20); break;   /* moved backwards */
        default: break;
        }
        uint64_t t0 = itest_now_us();
        int r = moat_sock_recvfrom(h.st, s, buf, sizeof buf, &from, &n);
        hn_failed(&h, r, t0, MOAT_E_PEER);
        hn_stop(&h);
    }
}
END_TEST

START_TEST(stream_rings_lie)
{
    for (int v = 0; v < 4; v++) {
        struct hn h;
        uint8_t buf[256];
        size_t n = 0;
        int r;
        hn_start(&h, hn_honest, 0);
        moat_sock_t s = hn_sock(&h, MOAT_SOCK_STREAM);
        struct moat_sock_sh *sh = hn_sh(&h, s);
        atomic_store(&sh->status, MOAT_SS_OPEN | MOAT_SS_CONNECTED);
        memset(buf, 'q', sizeof buf);
        hn_rx_put(&h, s, 0, buf, 100);
        ck_assert_int_eq(moat_sock_recv(h.st, s, buf, sizeof buf, &n), 0);
        ck_assert_uint_eq(n, 100);
        ck_assert_int_eq(moat_sock_send(h.st, s, buf, 50, &n), 0);
        ck_assert_uint_eq(n, 50);
        uint64_t t0 = itest_now_us();
        switch (v) {
        case 0:     /* receive producer beyond the capacity */
            atomic_store(&sh->rx.prod, 100 + HN_RING + 1);
            r = moat_sock_recv(h.st, s, buf, sizeof buf, &n);
            break;
        case 1:     /* send consumer ahead of what we produced */
            atomic_store(&sh->tx.cons, 51);
            r = moat_sock_send(h.st, s, buf, 10, &n);
            break;
        case 2:     /* send consumer far behind */
            atomic_store(&sh->tx.cons, 50 - HN_RING - 1);
            r = moat_sock_send(h.st, s, buf, 10, &n);
            break;
        default: {  /* poll looks at both rings */
            struct moat_pollfd pf = { .sock = s, .events = MOAT_POLLIN | MOAT_POLLOUT };
            atomic_store(&sh->rx.prod, 0xfffffff0u);
            r = moat_poll(h.st, &pf, 1, 100, NULL);
            break;
        }
        }
        hn_failed(&h, r, t0, MOAT_E_PEER);
        hn_stop(&h);
    }
}
END_TEST

/* The TCP send limit the net domain publishes (tx_limit, core/tcp_wnd.c)
 * only ever narrows what the application writes: a limit past the ring
 * means the ring, 0 means the ring; a small one is obeyed. */
START_TEST(stream_send_limit_lies)
{
    struct hn h;
    static uint8_t buf[2 * HN_RING];
    size_t n = 0;
    hn_start(&h, hn_honest, 0);
    moat_sock_t s = hn_sock(&h, MOAT_SOCK_STREAM);
    struct moat_sock_sh *sh = hn_sh(&h, s);
    atomic_store(&sh->status, MOAT_SS_OPEN | MOAT_SS_CONNECTED);
    ck_assert_int_eq(moat_sock_setopt(h.st, s, MOAT_OPT_NONBLOCK, 1), 0);
    atomic_store(&sh->tx_limit, 100);
    ck_assert_int_eq(moat_sock_send(h.st, s, buf, sizeof buf, &n), 0);
    ck_assert_uint_eq(n, 100);
    ck_assert_int_eq(moat_sock_send(h.st, s, buf, sizeof buf, &n), MOAT_E_AGAIN);
    atomic_store(&sh->tx_limit, 0xffffffffu);
    ck_assert_int_eq(moat_sock_send(h.st, s, buf, sizeof buf, &n), 0);
    ck_assert_uint_eq(n, HN_RING - 100);
    atomic_store(&sh->tx.cons, HN_RING);    /* the fake net took it all */
    atomic_store(&sh->tx_limit, 0);
    ck_assert_int_eq(moat_sock_send(h.st, s, buf, sizeof buf, &n), 0);
    ck_assert_uint_eq(n, HN_RING);
    hn_stop(&h);
}
END_TEST

/* GETOPT(MOAT_OPT_ERROR) answered with a value that is not an error. */
static int hn_bad_error(struct hn *h, const struct moat_msg *req, struct moat_msg *resp)
{
    hn_honest(h, req, resp);
    if (req->type == MOAT_MSG_GETOPT) {
        if (h->variant == 0)
            resp->body.resp.value = 7;
        else if (h->variant == 1)
            resp->body.resp.value = (int64_t)1 << 40;
        else if (h->variant == 2)
            resp->body.resp.value = 0;          /* and the error word says -1000 */
        else
            resp->body.resp.value = 0;          /* and the error word says 0 */
        /* A net domain that lies forever would be answered forever; this
         * one stops after a while, so the test is bounded either way. */
        if (atomic_load(&h->requests) > 64)
            return 0;
    }
    return 1;
}

START_TEST(pending_errors_that_are_not_errors)
{
    for (int v = 0; v < 4; v++) {
        struct hn h;
        uint8_t buf[64];
        size_t n = 0;
        hn_start(&h, hn_bad_error, v);
        moat_sock_t s = hn_sock(&h, MOAT_SOCK_DGRAM);
        struct moat_sock_sh *sh = hn_sh(&h, s);
        atomic_store(&sh->error, v == 2 ? -1000 : 0);
        atomic_store(&sh->status, MOAT_SS_OPEN | MOAT_SS_ERR);
        uint64_t t0 = itest_now_us();
        int r = moat_sock_recv(h.st, s, buf, sizeof buf, &n);
        unsigned rounds = atomic_load(&h.requests);
        if (v < 3) {
            hn_failed(&h, r, t0, MOAT_E_PEER);
        } else {
            /* ERR set, yet no error anywhere. See the audit report: the
             * client asks again and again; only this peer going silent
             * ends it (MOAT_E_DEAD). Bounded here, by the script. */
            fprintf(stderr, "ERR without an error: %u requests, then %s\n", rounds,
                    moat_errname(r));
            ck_assert(r == MOAT_E_PEER || r == MOAT_E_DEAD);
            ck_assert_uint_lt(itest_now_us() - t0, HN_BOUND_US);
        }
        hn_stop(&h);
    }
}
END_TEST

/* ---- a silent peer, and random scribbling -------------------------------- */

static int hn_silent(struct hn *h, const struct moat_msg *req, struct moat_msg *resp)
{
    (void)h;
    (void)req;
    (void)resp;
    return 0;
}

START_TEST(silent_peer_is_dead_in_bounded_time)
{
    struct hn h;
    moat_sock_t s = 0;
    hn_start(&h, hn_silent, 0);
    uint64_t t0 = itest_now_us();
    int r = moat_sock_open(h.st, MOAT_SOCK_STREAM, &s);
    hn_failed(&h, r, t0, MOAT_E_DEAD);
    hn_stop(&h);
}
END_TEST

struct hn_scribble {
    struct hn *h;
    uint64_t end_us;    /* the scribbler stops by itself: a call may be stuck */
    uint64_t seed;
    int slow;
};

static void *hn_scribbler(void *arg)
{
    struct hn_scribble *sc = arg;
    uint8_t *b = sc->h->region;
    uint64_t x = sc->seed;
    for (unsigned i = 0; (i & 1023u) != 0 || itest_now_us() < sc->end_us; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* Mostly the first pages (header, indices, socket words), where
         * a lie does most harm; sometimes anywhere. */
        size_t span = (x & 3) ? sc->h->lay.off_sock_data : sc->h->lay.size;
        size_t off = (size_t)((x >> 8) % (span - 4));
        uint32_t v = (uint32_t)(x >> 32);
        memcpy(b + off, &v, (x >> 5) & 1 ? 4 : 1);
        if (sc->slow) {
            /* Pacing of the hostile peer (not synchronisation): a lie now
             * and then, so that many calls run on a stack that is wrong
             * without having failed yet. */
            struct timespec ts = { 0, 20000 };
            nanosleep(&ts, NULL);
        } else if ((x & 0xff) == 0) {
            sched_yield();
        }
    }
    return NULL;
}

START_TEST(random_scribbling)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct hn h;
        struct hn_scribble sc = { .h = &h, .seed = seed * 0x9e3779b97f4a7c15ull,
                                  .slow = (int)(seed & 1) };
        unsigned before_fail = 0;
        pthread_t thr;
        uint8_t buf[1500];
        size_t n = 0;
        unsigned calls = 0;
        hn_start(&h, hn_honest, 0);
        moat_sock_t u = hn_sock(&h, MOAT_SOCK_DGRAM);
        moat_sock_t t = hn_sock(&h, MOAT_SOCK_STREAM);
        uint64_t end = itest_now_us() + 300000u;
        sc.end_us = end;
        ck_assert_int_eq(pthread_create(&thr, NULL, hn_scribbler, &sc), 0);
        int r = 0;
        /* Keep calling while the region is being rewritten under us. A
         * call that waits for an answer may outlast the scribbler: a peer
         * that keeps changing app_seq keeps the client waiting (see the
         * audit report), so the scribbler ends by itself. */
        while (itest_now_us() < end) {
            struct moat_addr to = { .ip = 0xc0000202u, .port = 9 };
            struct moat_pollfd pf[2] = { { u, MOAT_POLLIN | MOAT_POLLOUT, 0 },
                                         { t, MOAT_POLLIN | MOAT_POLLOUT, 0 } };
            (void)moat_sock_sendto(h.st, u, buf, 100, &to, &n);
            (void)moat_sock_recvfrom(h.st, u, buf, sizeof buf, NULL, &n);
            (void)moat_sock_send(h.st, t, buf, 200, &n);
            (void)moat_sock_recv(h.st, t, buf, sizeof buf, &n);
            (void)moat_poll(h.st, pf, 2, 0, NULL);
            calls += 5;
            if (!before_fail && atomic_load(&h.st->dead))
                before_fail = calls;
        }
        pthread_join(thr, NULL);
        /* Whatever state it was left in, calls keep returning in time. */
        uint64_t t0 = itest_now_us();
        r = moat_sock_recv(h.st, t, buf, sizeof buf, &n);
        ck_assert_uint_lt(itest_now_us() - t0, HN_BOUND_US);
        ck_assert(r <= 0);
        fprintf(stderr, "scribble seed %llu (%s): %u calls, the stack failed after %u, "
                "then %s\n", (unsigned long long)seed, sc.slow ? "slow" : "fast", calls,
                before_fail, moat_errname(r));
        hn_stop(&h);
    }
}
END_TEST

static Suite *hostile_net_suite(void)
{
    Suite *s = suite_create("hostile_net");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, malformed_answers_fail_the_stack);
    tcase_add_test(tc, impossible_evt_indices_fail_the_stack);
    tcase_add_test(tc, impossible_handles_fail_the_stack);
    tcase_add_test(tc, udp_receive_ring_lies);
    tcase_add_test(tc, stream_rings_lie);
    tcase_add_test(tc, stream_send_limit_lies);
    tcase_add_test(tc, pending_errors_that_are_not_errors);
    tcase_add_test(tc, silent_peer_is_dead_in_bounded_time);
    tcase_add_test(tc, random_scribbling);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(hostile_net_suite)
