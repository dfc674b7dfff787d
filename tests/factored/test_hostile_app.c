/* SPDX-License-Identifier: MIT */
/*
 * The net side of the socket boundary against an application that lies.
 * The test is the hostile application: besides the public API it writes
 * the socket region directly, through the client's own ring views in
 * struct moat_stack (app/stack.h), so the client's private
 * indices stay in step with what it published. It sends requests the
 * client would never send (unknown types, the net's own RESP type, a
 * nonzero pad, forged and stale handles, absurd backlog / option / shutdown
 * values), UDP records whose length lies, impossible ring indices, bytes
 * written into a TCP send ring after CLOSE, and finally an impossible ctl
 * ring index (after which the application's next call fails with
 * MOAT_E_PEER, the net domain's explicit answer). Each time the net domain
 * must answer the request with an
 * error (MOAT_E_PEER for a malformed message) or fail only the offending
 * socket with MOAT_E_PEER, count MOAT_DROP_BOUNDARY, and keep serving
 * every honest socket and stack.
 *
 * Runs unchanged in every backend: in the thread backend the net domain is
 * a thread of this process, in the factored ones it is moat-netd.
 *
 *   stack A (hostile app)  <== shared-memory wire ==>  stack B (honest)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "moat/moat.h"
#include "moat/socket.h"
#include "app/stack.h"
#include "ports/linux/linux_port.h"
#include "support/check_main.h"
#include "support/itest.h"

#define HA_IP_A 0xc0000201u   /* 192.0.2.1 */
#define HA_IP_B 0xc0000202u   /* 192.0.2.2 */
#define HA_IP_OTHER 0xc6120001u /* 198.18.0.1: not ours */
#define HA_WAIT_MS 3000u

static void case_dir_setup(void)
{
    itest_case_dir_make("hostile-app");
}

static struct moat_stack *ha_open(const char *wire, uint32_t ip)
{
    struct moat_config cfg;
    struct moat_stack *st = NULL;
    moat_config_defaults(&cfg);
    cfg.max_sockets = 8;
    cfg.sock_rx_bytes = 16 * 1024;
    cfg.sock_tx_bytes = 16 * 1024;
    cfg.ifs[0].ip = ip;
    cfg.ifs[0].prefix = 24;
    if (wire) {
        cfg.ifs[0].link = MOAT_LINK_WIRE;
        snprintf(cfg.ifs[0].dev, sizeof cfg.ifs[0].dev, "%s", wire);
    }
    int r = moat_stack_open(&cfg, &st);
    ck_assert_msg(r == 0, "stack open: %s", moat_strerror(r));
    return st;
}

struct ha_pair {
    char path[160];
    struct moat_stack *a, *b;
};

static void ha_pair_open(struct ha_pair *p)
{
    memset(p, 0, sizeof *p);
    itest_wire_path(p->path, sizeof p->path);
    p->a = ha_open(p->path, HA_IP_A);
    p->b = ha_open(p->path, HA_IP_B);
}

static void ha_pair_close(struct ha_pair *p)
{
    moat_stack_close(p->a);
    moat_stack_close(p->b);
    moat_wire_unlink(p->path);
}

/*
 * One request straight onto the ctl ring, past the client's argument
 * checks, and its answer. The client's lock and ring views are used so
 * that its next RPC finds the rings where it expects them. Returns 0 with
 * *resp filled, or MOAT_E_AGAIN when no answer came within @p ms (the
 * request then stays unanswered: only the last test does that).
 */
static int ha_raw(struct moat_stack *st, struct moat_msg *req, struct moat_msg *resp,
                  unsigned ms)
{
    uint32_t space = 0, avail = 0;
    int r = MOAT_E_AGAIN;

    pthread_mutex_lock(&st->lock);
    ck_assert_int_eq(moat_ring_space(&st->ctl, &space), 0);
    ck_assert_uint_ge(space, MOAT_MSG_SIZE);
    if (++st->next_id == 0)
        st->next_id = 1;
    req->id = st->next_id;
    moat_ring_put(&st->ctl, 0, req, MOAT_MSG_SIZE);
    moat_ring_publish(&st->ctl, MOAT_MSG_SIZE);
    uint64_t end = itest_now_us() + (uint64_t)ms * 1000u;
    for (unsigned i = 0;; i++) {
        moat_stack_kick_net(st);
        ck_assert_int_eq(moat_ring_avail(&st->evt, &avail), 0);
        if (avail >= MOAT_MSG_SIZE) {
            moat_ring_get(&st->evt, 0, resp, MOAT_MSG_SIZE);
            moat_ring_consume(&st->evt, MOAT_MSG_SIZE);
            r = 0;
            break;
        }
        if ((i & 63u) == 63u && itest_now_us() >= end)
            break;
        sched_yield();
    }
    pthread_mutex_unlock(&st->lock);
    if (r == 0) {
        ck_assert_uint_eq(resp->type, MOAT_MSG_RESP);
        ck_assert_uint_eq(resp->id, req->id);
    }
    return r;
}

/* A raw request of @p type about @p sock; returns the net domain's result. */
static int ha_req(struct moat_stack *st, unsigned type, uint32_t sock, struct moat_msg *m)
{
    struct moat_msg resp;
    m->type = (uint16_t)type;
    m->sock = sock;
    ck_assert_int_eq(ha_raw(st, m, &resp, HA_WAIT_MS), 0);
    return resp.result;
}

static uint64_t ha_boundary(struct moat_stack *st)
{
    struct moat_stats s;
    ck_assert_int_eq(moat_stack_stats(st, &s), 0);
    return s.drops[MOAT_DROP_BOUNDARY];
}

static struct app_sock *ha_sock(struct moat_stack *st, moat_sock_t h)
{
    struct app_sock *s = &st->socks[moat_handle_idx(h)];
    ck_assert_uint_eq(s->handle, h);
    return s;
}

static struct moat_sock_sh *ha_sh(struct moat_stack *st, moat_sock_t h)
{
    return moat_region_sock(st->region, &st->lay, moat_handle_idx(h));
}

static moat_sock_t ha_udp(struct moat_stack *st, uint32_t ip, uint16_t port)
{
    moat_sock_t s;
    struct moat_addr a = { .ip = ip, .port = port };
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s), 0);
    ck_assert_int_eq(moat_sock_bind(st, s, &a), 0);
    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, HA_WAIT_MS), 0);
    return s;
}

/* @p from sends @p tag to @p to_ip:@p to_port; @p rx must receive it. */
static void ha_udp_ok(struct moat_stack *src, moat_sock_t from, struct moat_stack *dst,
                      moat_sock_t rx, uint32_t to_ip, uint16_t to_port, uint8_t tag)
{
    uint8_t buf[64], got[64];
    struct moat_addr to = { .ip = to_ip, .port = to_port };
    size_t n = 0;
    memset(buf, tag, sizeof buf);
    ck_assert_int_eq(moat_sock_sendto(src, from, buf, sizeof buf, &to, &n), 0);
    ck_assert_uint_eq(n, sizeof buf);
    int r = moat_sock_recv(dst, rx, got, sizeof got, &n);
    ck_assert_msg(r == 0, "honest datagram %u not received: %s", tag, moat_strerror(r));
    ck_assert_uint_eq(n, sizeof buf);
    ck_assert_uint_eq(got[0], tag);
    ck_assert_uint_eq(got[63], tag);
}

/* Wait (bounded) until the status word of @p h shows MOAT_SS_ERR, then
 * check that the pending error is MOAT_E_PEER. */
static void ha_expect_peer(struct moat_stack *st, moat_sock_t h)
{
    struct moat_pollfd pf = { .sock = h, .events = 0 };
    unsigned n = 0;
    int64_t v = 0;
    ck_assert_int_eq(moat_poll(st, &pf, 1, (int)HA_WAIT_MS, &n), 0);
    ck_assert_msg(pf.revents & MOAT_POLLERR, "no error on the offending socket (revents %#x)",
                  pf.revents);
    ck_assert_int_eq(moat_sock_getopt(st, h, MOAT_OPT_ERROR, &v), 0);
    ck_assert_int_eq(v, MOAT_E_PEER);
}

/* ---- malformed requests ------------------------------------------------- */

START_TEST(garbage_requests_answered_with_peer)
{
    struct moat_stack *st = ha_open(NULL, HA_IP_A);
    uint64_t b0 = ha_boundary(st);
    const struct { uint16_t type, pad; } bad[] = {
        { 0, 0 },                               /* MOAT_MSG_INVALID_ */
        { MOAT_MSG_COUNT_, 0 },                 /* one past the catalog */
        { MOAT_MSG_COUNT_ + 77, 0 },
        { 0xffff, 0 },
        { MOAT_MSG_RESP, 0 },                   /* the net domain's own message */
        { MOAT_MSG_OPEN, 1 },                   /* nonzero pad */
        { MOAT_MSG_CLOSE, 0x8000 },
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct moat_msg m;
        memset(&m, 0xa5, sizeof m);             /* garbage everywhere else too */
        m.pad = bad[i].pad;
        m.result = 12345;
        ck_assert_int_eq(ha_req(st, bad[i].type, 0xdeadbeefu, &m), MOAT_E_PEER);
    }
    uint64_t b1 = ha_boundary(st);
    ck_assert_uint_ge(b1, b0 + sizeof bad / sizeof bad[0]);

    /* Forged handles: out of range, generation 0, the wrong generation. */
    moat_sock_t s = ha_udp(st, HA_IP_A, 5000);
    const uint32_t forged[] = {
        0, 0xffffu | (1u << 16), moat_handle_make(7, 0), moat_handle_idx(s),
        s ^ (1u << 16), s ^ (0x8000u << 16), 0xffffffffu,
    };
    for (unsigned i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        struct moat_msg m;
        memset(&m, 0, sizeof m);
        m.body.addr.ip = HA_IP_A;
        m.body.addr.port = 6000;
        ck_assert_int_eq(ha_req(st, MOAT_MSG_BIND, forged[i], &m), MOAT_E_BADHANDLE);
        memset(&m, 0, sizeof m);
        ck_assert_int_eq(ha_req(st, MOAT_MSG_CLOSE, forged[i], &m), MOAT_E_BADHANDLE);
    }
    /* The honest socket and the channel are untouched. */
    struct moat_addr local;
    ck_assert_int_eq(moat_sock_name(st, s, &local, NULL), 0);
    ck_assert_uint_eq(local.port, 5000);
    ck_assert_int_eq(moat_sock_close(st, s), 0);
    ck_assert_uint_eq(ha_boundary(st), b1);   /* bad handles are errors, not violations */
    moat_stack_close(st);
}
END_TEST

START_TEST(stale_handle_after_close)
{
    struct moat_stack *st = ha_open(NULL, HA_IP_A);
    moat_sock_t s1, s2;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &s1), 0);
    ck_assert_int_eq(moat_sock_close(st, s1), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &s2), 0);
    ck_assert_uint_ne(s1, s2);
    /* The old handle names nothing any more, even if the slot is reused. */
    struct moat_msg m;
    memset(&m, 0, sizeof m);
    m.body.opt.opt = MOAT_OPT_REUSEADDR;
    m.body.opt.value = 1;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_SETOPT, s1, &m), MOAT_E_BADHANDLE);
    memset(&m, 0, sizeof m);
    m.body.listen.backlog = 4;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_LISTEN, s1, &m), MOAT_E_BADHANDLE);
    memset(&m, 0, sizeof m);
    ck_assert_int_eq(ha_req(st, MOAT_MSG_ABORT, s1, &m), MOAT_E_BADHANDLE);
    /* The new owner of the slot is unaffected. */
    int64_t v = 1;
    ck_assert_int_eq(moat_sock_getopt(st, s2, MOAT_OPT_REUSEADDR, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(moat_sock_listen(st, s2, 4), 0);
    ck_assert_int_eq(moat_sock_close(st, s2), 0);
    moat_stack_close(st);
}
END_TEST

START_TEST(absurd_values_rejected)
{
    struct moat_stack *st = ha_open(NULL, HA_IP_A);
    struct moat_msg m;
    moat_sock_t t, t2, u;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &t), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_STREAM, &t2), 0);
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &u), 0);

    memset(&m, 0, sizeof m);
    m.body.open.type = 0xffffffffu;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_OPEN, 0, &m), MOAT_E_INVAL);
    /* A huge backlog is clamped, not trusted. */
    memset(&m, 0, sizeof m);
    m.body.listen.backlog = 0xffffffffu;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_LISTEN, t, &m), 0);
    ck_assert(atomic_load(&ha_sh(st, t)->status) & MOAT_SS_LISTENING);

    const struct { moat_sock_t *s; uint32_t opt; int64_t v; int want; } opts[] = {
        { &u, MOAT_OPT_RCVBUF, INT64_MAX, MOAT_E_RANGE },
        { &u, MOAT_OPT_RCVBUF, INT64_MIN, MOAT_E_RANGE },
        { &u, MOAT_OPT_RCVBUF, (int64_t)1 << 32, MOAT_E_RANGE },
        { &u, MOAT_OPT_SNDBUF, -1, MOAT_E_RANGE },
        { &u, MOAT_OPT_SNDBUF, 64 * 1024 * 1024, MOAT_E_RANGE },
        { &t2, MOAT_OPT_LINGER_MS, INT64_MIN, MOAT_E_RANGE },
        { &t2, MOAT_OPT_LINGER_MS, (int64_t)1 << 40, MOAT_E_RANGE },
        { &t2, 0, 1, MOAT_E_NOTSUP },
        { &t2, 0xffffffffu, 1, MOAT_E_NOTSUP },
        { &t2, MOAT_OPT_ERROR, 1, MOAT_E_NOTSUP },   /* get only */
    };
    for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        memset(&m, 0, sizeof m);
        m.body.opt.opt = opts[i].opt;
        m.body.opt.value = opts[i].v;
        ck_assert_msg(ha_req(st, MOAT_MSG_SETOPT, *opts[i].s, &m) == opts[i].want,
                      "SETOPT row %u", i);
    }
    memset(&m, 0, sizeof m);
    m.body.opt.opt = 0x7fffffffu;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_GETOPT, u, &m), MOAT_E_NOTSUP);
    memset(&m, 0, sizeof m);
    m.body.shut.how = 0xffffffffu;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_SHUTDOWN, t2, &m), MOAT_E_INVAL);
    memset(&m, 0, sizeof m);
    m.body.shut.how = 0;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_SHUTDOWN, t2, &m), MOAT_E_INVAL);
    memset(&m, 0, sizeof m);
    m.body.addr.ip = HA_IP_OTHER;
    m.body.addr.port = 80;
    ck_assert_int_eq(ha_req(st, MOAT_MSG_BIND, u, &m), MOAT_E_ADDRNOTAVAIL);
    memset(&m, 0, sizeof m);        /* UDP connect to 0.0.0.0:0 */
    ck_assert_int_eq(ha_req(st, MOAT_MSG_CONNECT, u, &m), MOAT_E_INVAL);
    memset(&m, 0, sizeof m);        /* accept on a UDP socket */
    ck_assert_int_eq(ha_req(st, MOAT_MSG_ACCEPT, u, &m), MOAT_E_NOTSUP);

    /* Nothing of that stuck. */
    int64_t v = 0;
    ck_assert_int_eq(moat_sock_getopt(st, u, MOAT_OPT_RCVBUF, &v), 0);
    ck_assert_int_eq(v, 16 * 1024);
    ck_assert_int_eq(moat_sock_getopt(st, t2, MOAT_OPT_LINGER_MS, &v), 0);
    ck_assert_int_eq(v, -1);
    moat_stack_close(st);
}
END_TEST

/* ---- the data path ------------------------------------------------------ */

/* Publish raw bytes on @p h's send ring through the client's own view. */
static void ha_tx_raw(struct moat_stack *st, moat_sock_t h, const void *p, uint32_t len)
{
    struct app_sock *s = ha_sock(st, h);
    uint32_t space = 0;
    ck_assert_int_eq(moat_ring_space(&s->tx, &space), 0);
    ck_assert_uint_ge(space, len);
    moat_ring_put(&s->tx, 0, p, len);
    moat_ring_publish(&s->tx, len);
    moat_stack_kick_net(st);
}

START_TEST(udp_records_that_lie)
{
    struct ha_pair p;
    ha_pair_open(&p);
    moat_sock_t sa = ha_udp(p.a, HA_IP_A, 4000);
    moat_sock_t sb = ha_udp(p.b, HA_IP_B, 4001);
    ha_udp_ok(p.a, sa, p.b, sb, HA_IP_B, 4001, 1);
    uint64_t b0 = ha_boundary(p.a);

    uint8_t rec[64];
    struct moat_dgram_hdr h = { .ip = HA_IP_B, .port = 4001, .len = 60000 };   /* claims more than follows */
    memset(rec, 0xee, sizeof rec);
    memcpy(rec, &h, sizeof h);
    ha_tx_raw(p.a, sa, rec, sizeof rec);
    ha_expect_peer(p.a, sa);
    ha_udp_ok(p.a, sa, p.b, sb, HA_IP_B, 4001, 2);         /* the socket recovers */

    ha_tx_raw(p.a, sa, rec, 5);                             /* half a header */
    ha_expect_peer(p.a, sa);
    ha_udp_ok(p.a, sa, p.b, sb, HA_IP_B, 4001, 3);

    h.len = 0xffff;                                         /* above the UDP maximum */
    memcpy(rec, &h, sizeof h);
    ha_tx_raw(p.a, sa, rec, sizeof rec);
    ha_expect_peer(p.a, sa);
    ha_udp_ok(p.a, sa, p.b, sb, HA_IP_B, 4001, 4);

    ck_assert_uint_ge(ha_boundary(p.a), b0 + 3);
    /* None of the lies reached the wire. */
    uint8_t buf[128];
    size_t n = 0;
    ck_assert_int_eq(moat_sock_setopt(p.b, sb, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_recv(p.b, sb, buf, sizeof buf, &n), MOAT_E_AGAIN);
    ha_pair_close(&p);
}
END_TEST

START_TEST(impossible_socket_indices_fail_that_socket_only)
{
    struct ha_pair p;
    ha_pair_open(&p);
    moat_sock_t bad = ha_udp(p.a, HA_IP_A, 4000);
    moat_sock_t good = ha_udp(p.a, HA_IP_A, 4002);
    moat_sock_t sb = ha_udp(p.b, HA_IP_B, 4001);
    struct app_sock *s = ha_sock(p.a, bad);
    struct moat_sock_sh *sh = ha_sh(p.a, bad);
    uint64_t b0 = ha_boundary(p.a);

    /* A send ring producer index beyond the capacity. */
    atomic_store(&sh->tx.prod, s->tx.local + s->tx.cap + 64);
    moat_stack_kick_net(p.a);
    ha_expect_peer(p.a, bad);
    ha_udp_ok(p.a, good, p.b, sb, HA_IP_B, 4001, 5);
    ha_udp_ok(p.b, sb, p.a, good, HA_IP_A, 4002, 6);

    /* A receive ring consumer index ahead of the producer. */
    atomic_store(&sh->rx.cons, s->rx.local + 1);
    uint8_t buf[32] = { 0 };
    struct moat_addr to = { .ip = HA_IP_A, .port = 4000 };
    size_t n = 0;
    ck_assert_int_eq(moat_sock_sendto(p.b, sb, buf, sizeof buf, &to, &n), 0);
    ha_expect_peer(p.a, bad);
    ha_udp_ok(p.a, good, p.b, sb, HA_IP_B, 4001, 7);
    ha_udp_ok(p.b, sb, p.a, good, HA_IP_A, 4002, 8);
    ck_assert_uint_ge(ha_boundary(p.a), b0 + 2);

    /* Closing the broken socket frees its slot; a new socket there works. */
    ck_assert_int_eq(moat_sock_close(p.a, bad), 0);
    moat_sock_t again = ha_udp(p.a, HA_IP_A, 4000);
    ha_udp_ok(p.a, again, p.b, sb, HA_IP_B, 4001, 9);
    ha_udp_ok(p.b, sb, p.a, again, HA_IP_A, 4000, 10);
    ha_pair_close(&p);
}
END_TEST

/* A connected TCP pair: @p ca on A, @p cb on B. */
static void ha_tcp_pair(struct ha_pair *p, moat_sock_t *ca, moat_sock_t *cb, moat_sock_t *lb,
                        uint16_t port)
{
    struct moat_addr la = { .ip = HA_IP_B, .port = port };
    ck_assert_int_eq(moat_sock_open(p->b, MOAT_SOCK_STREAM, lb), 0);
    ck_assert_int_eq(moat_sock_bind(p->b, *lb, &la), 0);
    ck_assert_int_eq(moat_sock_listen(p->b, *lb, 4), 0);
    ck_assert_int_eq(moat_sock_setopt(p->b, *lb, MOAT_OPT_RCVTIMEO_MS, HA_WAIT_MS), 0);
    ck_assert_int_eq(moat_sock_open(p->a, MOAT_SOCK_STREAM, ca), 0);
    ck_assert_int_eq(moat_sock_setopt(p->a, *ca, MOAT_OPT_SNDTIMEO_MS, HA_WAIT_MS), 0);
    ck_assert_int_eq(moat_sock_setopt(p->a, *ca, MOAT_OPT_RCVTIMEO_MS, HA_WAIT_MS), 0);
    ck_assert_int_eq(moat_sock_connect(p->a, *ca, &la), 0);
    ck_assert_int_eq(moat_sock_accept(p->b, *lb, cb, NULL), 0);
    ck_assert_int_eq(moat_sock_setopt(p->b, *cb, MOAT_OPT_RCVTIMEO_MS, HA_WAIT_MS), 0);
}

/* Read from @p s until end of stream (bounded); returns the byte count and
 * checks every byte is @p fill. */
static size_t ha_drain(struct moat_stack *st, moat_sock_t s, uint8_t fill, int *err)
{
    uint8_t buf[4096];
    size_t total = 0, n = 0;
    *err = 0;
    for (int i = 0; i < 10000; i++) {
        int r = moat_sock_recv(st, s, buf, sizeof buf, &n);
        if (r != 0) {
            *err = r;
            break;
        }
        if (n == 0)
            break;
        for (size_t k = 0; k < n; k++)
            ck_assert_uint_eq(buf[k], fill);
        total += n;
    }
    return total;
}

/* Read @p want bytes from @p s (bounded); returns how many came. */
static size_t ha_drain_some(struct moat_stack *st, moat_sock_t s, size_t want)
{
    uint8_t buf[4096];
    size_t total = 0, n = 0;
    for (int i = 0; i < 1000 && total < want; i++) {
        if (moat_sock_recv(st, s, buf, sizeof buf, &n) != 0 || n == 0)
            break;
        total += n;
    }
    return total;
}

START_TEST(tcp_send_ring_written_after_close)
{
    struct ha_pair p;
    moat_sock_t ca, cb, lb;
    uint8_t data[1000], junk[4096];
    size_t n = 0;
    int err = 0;
    ha_pair_open(&p);
    ha_tcp_pair(&p, &ca, &cb, &lb, 5001);
    memset(data, 'a', sizeof data);
    memset(junk, 'X', sizeof junk);
    ck_assert_int_eq(moat_sock_send(p.a, ca, data, sizeof data, &n), 0);
    ck_assert_uint_eq(n, sizeof data);
    uint32_t idx = moat_handle_idx(ca);
    ck_assert_int_eq(moat_sock_close(p.a, ca), 0);
    /* close() posts its request without waiting (client.c cl_post): any
     * later request is answered only after the close was served, and from
     * then on the ring is the closed connection's. (Bytes written between
     * the two are the application's own, sent on its own connection.) */
    struct moat_stats stats;
    ck_assert_int_eq(moat_stack_stats(p.a, &stats), 0);

    /* The handle is gone; the hostile application keeps writing the ring
     * the connection still drains, and lies about its indices. */
    struct moat_sock_sh *sh = moat_region_sock(p.a->region, &p.a->lay, idx);
    uint8_t *tx = moat_region_tx_data(p.a->region, &p.a->lay, idx);
    uint32_t prod = atomic_load(&sh->tx.prod);
    for (uint32_t k = 0; k < sizeof junk; k++)
        tx[(prod + k) & (p.a->lay.g.sock_tx_bytes - 1)] = junk[k];
    atomic_store(&sh->tx.prod, prod + (uint32_t)sizeof junk);
    atomic_store(&sh->rx.cons, 0xdeadbeefu);
    moat_dirty_mark(p.a->region, &p.a->lay, idx);
    moat_stack_kick_net(p.a);

    /* The peer gets exactly what was sent before the close, then the end. */
    ck_assert_uint_eq(ha_drain(p.b, cb, 'a', &err), sizeof data);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(moat_sock_close(p.b, cb), 0);

    /* And the stack still makes connections. */
    ck_assert_int_eq(moat_sock_open(p.a, MOAT_SOCK_STREAM, &ca), 0);
    struct moat_addr la = { .ip = HA_IP_B, .port = 5001 };
    ck_assert_int_eq(moat_sock_setopt(p.a, ca, MOAT_OPT_SNDTIMEO_MS, HA_WAIT_MS), 0);
    ck_assert_int_eq(moat_sock_connect(p.a, ca, &la), 0);
    ck_assert_int_eq(moat_sock_accept(p.b, lb, &cb, NULL), 0);
    ck_assert_int_eq(moat_sock_setopt(p.b, cb, MOAT_OPT_RCVTIMEO_MS, HA_WAIT_MS), 0);
    ck_assert_int_eq(moat_sock_send(p.a, ca, data, 10, &n), 0);
    ck_assert_int_eq(moat_sock_recv(p.b, cb, junk, sizeof junk, &n), 0);
    ck_assert_uint_eq(n, 10);
    ck_assert_uint_eq(junk[0], 'a');
    ha_pair_close(&p);
}
END_TEST

START_TEST(tcp_impossible_send_index_drops_connection)
{
    struct ha_pair p;
    moat_sock_t ca, cb, lb;
    uint8_t buf[256];
    size_t n = 0;
    int err = 0;
    ha_pair_open(&p);
    ha_tcp_pair(&p, &ca, &cb, &lb, 5002);
    memset(buf, 'b', sizeof buf);
    ck_assert_int_eq(moat_sock_send(p.a, ca, buf, sizeof buf, &n), 0);
    ck_assert_uint_eq(ha_drain_some(p.b, cb, sizeof buf), sizeof buf);
    uint64_t b0 = ha_boundary(p.a);

    struct app_sock *s = ha_sock(p.a, ca);
    atomic_store(&ha_sh(p.a, ca)->tx.prod, s->tx.local + s->tx.cap + 1);
    /* published the way the library does (dirty hint, then the kick): the
     * net domain looks at the socket and must refuse the index */
    moat_dirty_mark(p.a->region, &p.a->lay, moat_handle_idx(ca));
    moat_stack_kick_net(p.a);
    /* The offending connection fails with MOAT_E_PEER ... */
    struct moat_pollfd pf = { .sock = ca, .events = MOAT_POLLIN };
    unsigned nr = 0;
    ck_assert_int_eq(moat_poll(p.a, &pf, 1, (int)HA_WAIT_MS, &nr), 0);
    ck_assert(pf.revents & MOAT_POLLERR);
    ck_assert_int_eq(moat_sock_recv(p.a, ca, buf, sizeof buf, &n), MOAT_E_PEER);
    ck_assert_uint_gt(ha_boundary(p.a), b0);
    /* ... the peer learns the connection is gone (RST) ... */
    (void)ha_drain(p.b, cb, 'b', &err);
    ck_assert_msg(err == MOAT_E_CONNRESET || err == 0, "peer saw %s", moat_errname(err));
    /* ... and the stacks go on. */
    moat_sock_t u = ha_udp(p.a, HA_IP_A, 4000), ub = ha_udp(p.b, HA_IP_B, 4001);
    ha_udp_ok(p.a, u, p.b, ub, HA_IP_B, 4001, 11);
    ha_pair_close(&p);
}
END_TEST

/* ---- the ctl ring itself ------------------------------------------------- */

START_TEST(impossible_ctl_index_closes_the_channel_only)
{
    struct ha_pair p;
    ha_pair_open(&p);
    moat_sock_t sa = ha_udp(p.a, HA_IP_A, 4000);
    moat_sock_t sb = ha_udp(p.b, HA_IP_B, 4001);
    ha_udp_ok(p.a, sa, p.b, sb, HA_IP_B, 4001, 20);

    /* Half a request: no honest client publishes that. */
    struct moat_ring_sh *ctl = (struct moat_ring_sh *)((uint8_t *)p.a->region +
                                                       p.a->lay.off_ctl_sh);
    atomic_store(&ctl->prod, p.a->ctl.local + 3);
    moat_stack_kick_net(p.a);

    /* The net domain stops listening on that ctl ring for good and says
     * so in the region header: the application's next call fails with
     * MOAT_E_PEER at once (before: a request waited 10 s for an answer
     * that never came), and so does every call after it. */
    uint64_t end = itest_now_us() + 2000000u;
    while (atomic_load(&p.a->hdr->ctl_error) == 0 && itest_now_us() < end)
        itest_pause_ms(1);
    ck_assert_int_eq(atomic_load(&p.a->hdr->ctl_error), MOAT_E_PEER);
    uint64_t t0 = itest_now_us();
    moat_sock_t s1;
    ck_assert_int_eq(moat_sock_open(p.a, MOAT_SOCK_DGRAM, &s1), MOAT_E_PEER);
    ck_assert_uint_lt(itest_now_us() - t0, 1000000u);
    uint8_t byte = 1;
    size_t sent = 0;
    ck_assert_int_eq(moat_sock_send(p.a, sa, &byte, 1, &sent), MOAT_E_PEER);
    /* The net domain lives on, and the other stack does not notice. */
    ck_assert(moat_be_alive(p.a));
    moat_sock_t s2;
    ck_assert_int_eq(moat_sock_open(p.b, MOAT_SOCK_DGRAM, &s2), 0);
    ck_assert_int_eq(moat_sock_close(p.b, s2), 0);
    /* Closing the stack needs no ctl round trip. */
    ha_pair_close(&p);
}
END_TEST

static Suite *hostile_app_suite(void)
{
    Suite *s = suite_create("hostile_app");
    TCase *tc = tcase_create("ctl");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, garbage_requests_answered_with_peer);
    tcase_add_test(tc, stale_handle_after_close);
    tcase_add_test(tc, absurd_values_rejected);
    suite_add_tcase(s, tc);
    tc = tcase_create("data");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_add_test(tc, udp_records_that_lie);
    tcase_add_test(tc, impossible_socket_indices_fail_that_socket_only);
    tcase_add_test(tc, tcp_send_ring_written_after_close);
    tcase_add_test(tc, tcp_impossible_send_index_drops_connection);
    tcase_add_test(tc, impossible_ctl_index_closes_the_channel_only);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(hostile_app_suite)
