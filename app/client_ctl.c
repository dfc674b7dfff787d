/* SPDX-License-Identifier: MIT */
/*
 * The application side of the socket boundary: the socket calls that are
 * control requests to the net domain (open, bind, connect, listen, accept,
 * shutdown, close, abort, options, names), waited for or posted (client.c's
 * cl_rpc / cl_post).
 */
#include "app/client_priv.h"

/* ---- control operations ----------------------------------------------- */

int moat_sock_open(struct moat_stack *st, int type, moat_sock_t *out)
{
    struct moat_msg req, resp;
    int r;

    if (!st || !out)
        return MOAT_E_INVAL;
    if (type != MOAT_SOCK_DGRAM && type != MOAT_SOCK_STREAM)
        return MOAT_E_INVAL;
    app_req_init(&req, MOAT_MSG_OPEN, 0);
    req.body.open.type = (uint32_t)type;
    r = cl_rpc(st, &req, &resp);
    if (r != 0)
        return r;
    r = cl_sock_adopt(st, resp.body.resp.sock, (uint8_t)type);
    if (r != 0)
        return r;
    *out = resp.body.resp.sock;
    return 0;
}

/* struct moat_addr <-> the boundary's struct moat_m_addr (either family). */
static void cl_addr_to_msg(struct moat_m_addr *m, const struct moat_addr *a)
{
    memset(m, 0, sizeof *m);
    m->ip = a->ip;
    m->port = a->port;
    m->family = a->family;
    if (a->family == MOAT_AF_INET6) {
        memcpy(m->ip6, a->ip6, 16);
        m->scope_id = a->scope_id;
    }
}

static void cl_addr_from_msg(struct moat_addr *a, const struct moat_m_addr *m)
{
    memset(a, 0, sizeof *a);
    a->ip = m->ip;
    a->port = m->port;
    if (m->family == MOAT_AF_INET6) {
        a->family = MOAT_AF_INET6;
        memcpy(a->ip6, m->ip6, 16);
        a->scope_id = m->scope_id;
    }
}

/* No address: IPv4 0.0.0.0 or IPv6 ::. */
bool cl_addr_unset(const struct moat_addr *a)
{
    static const uint8_t zero[16];
    if (a->family == MOAT_AF_INET6)
        return memcmp(a->ip6, zero, 16) == 0;
    return a->ip == 0;
}

static int cl_addr_rpc(struct moat_stack *st, struct app_sock *s, unsigned type,
                       const struct moat_addr *a)
{
    struct moat_msg req, resp;

    app_req_init(&req, type, s->handle);
    cl_addr_to_msg(&req.body.addr, a);
    return cl_rpc(st, &req, &resp);
}

int moat_sock_bind(struct moat_stack *st, moat_sock_t h, const struct moat_addr *a)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!a)
        return MOAT_E_INVAL;
    return cl_addr_rpc(st, s, MOAT_MSG_BIND, a);
}

int moat_sock_connect(struct moat_stack *st, moat_sock_t h, const struct moat_addr *a)
{
    struct app_sock *s = NULL;
    uint32_t status;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!a)
        return MOAT_E_INVAL;
    r = cl_addr_rpc(st, s, MOAT_MSG_CONNECT, a);
    if (s->type == MOAT_SOCK_DGRAM) {
        if (r == 0)
            s->peer = *a;
        return r;
    }
    if (r != 0 && r != MOAT_E_INPROGRESS)
        return r;
    if (s->nonblock)
        return (cl_status(st, s) & MOAT_SS_CONNECTED) ? 0 : MOAT_E_INPROGRESS;

    r = cl_wait_sock(st, s, MOAT_SS_CONNECTED | MOAT_SS_ERR | MOAT_SS_HUP, 0, 0,
                     cl_deadline(s->sndtimeo_ms));
    if (r != 0)
        return r;
    status = cl_status(st, s);
    if (status & MOAT_SS_ERR) {
        r = cl_take_error(st, s);
        if (r != 0)
            return r;
    }
    if (status & MOAT_SS_CONNECTED)
        return 0;
    return MOAT_E_CONNABORTED;
}

int moat_sock_listen(struct moat_stack *st, moat_sock_t h, int backlog)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (s->type != MOAT_SOCK_STREAM)
        return MOAT_E_NOTSUP;
    app_req_init(&req, MOAT_MSG_LISTEN, h);
    req.body.listen.backlog = backlog < 0 ? 0u : (uint32_t)backlog;
    return cl_rpc(st, &req, &resp);
}

int moat_sock_accept(struct moat_stack *st, moat_sock_t h, moat_sock_t *out,
                     struct moat_addr *peer)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    uint64_t deadline;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!out)
        return MOAT_E_INVAL;
    if (s->type != MOAT_SOCK_STREAM)
        return MOAT_E_NOTSUP;
    deadline = cl_deadline(s->rcvtimeo_ms);
    for (;;) {
        /* A listener whose status shows no queued connection (and nothing
         * else to report) would answer MOAT_E_AGAIN: skip that round trip.
         * The net domain sets ACCEPTQ after queueing a connection and
         * clears it only when it hands out the last one (tcp.c, tcp_in.c). */
        const uint32_t m = MOAT_SS_LISTENING | MOAT_SS_ACCEPTQ | MOAT_SS_ERR | MOAT_SS_HUP;
        r = MOAT_E_AGAIN;
        if ((cl_status(st, s) & m) != MOAT_SS_LISTENING) {
            app_req_init(&req, MOAT_MSG_ACCEPT, h);
            r = cl_rpc(st, &req, &resp);
        }
        if (r == 0)
            break;
        if (r != MOAT_E_AGAIN)
            return r;
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ACCEPTQ | MOAT_SS_ERR | MOAT_SS_HUP, 0, 0, deadline);
        if (r != 0)
            return r;
        if (cl_status(st, s) & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
        }
    }
    r = cl_sock_adopt(st, resp.body.resp.sock, MOAT_SOCK_STREAM);
    if (r != 0)
        return r;
    *out = resp.body.resp.sock;
    if (peer)
        cl_addr_from_msg(peer, &resp.body.resp.remote);
    return 0;
}

int moat_sock_shutdown(struct moat_stack *st, moat_sock_t h, int how)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (how < MOAT_SHUT_RD || how > MOAT_SHUT_RDWR)
        return MOAT_E_INVAL;
    app_req_init(&req, MOAT_MSG_SHUTDOWN, h);
    req.body.shut.how = (uint32_t)how;
    return cl_rpc(st, &req, &resp);
}

/* CLOSE or ABORT: the handle is gone afterwards whatever the answer, so
 * the request is posted, not waited for (cl_post). The slot is freed by
 * the net domain when it serves the request, before any later request:
 * an OPEN that gets the same slot back sees a new generation. */
static int cl_release(struct moat_stack *st, moat_sock_t h, unsigned type)
{
    struct moat_msg req;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 0, &s);

    if (r != 0)
        return r;
    /* A datagram handed to sendto() counts as sent, as with the kernel's
     * sockets; but the net domain handles requests before send rings in
     * a round, so give it (briefly) the datagrams still in our ring
     * before the slot goes away. TCP's close is graceful in the net
     * domain itself. */
    if (type == MOAT_MSG_CLOSE && s->type == MOAT_SOCK_DGRAM && !cl_dead(st))
        (void)cl_wait_sock(st, s, 0, 0, s->sndbuf, cl_deadline(CL_CLOSE_DRAIN_MS));
    if (!cl_dead(st)) {
        app_req_init(&req, type, h);
        (void)cl_post(st, &req);
    }
    cl_sock_forget(st, s);
    return 0;
}

int moat_sock_close(struct moat_stack *st, moat_sock_t h)
{
    return cl_release(st, h, MOAT_MSG_CLOSE);
}

int moat_sock_abort(struct moat_stack *st, moat_sock_t h)
{
    return cl_release(st, h, MOAT_MSG_ABORT);
}

/* The options the net domain keeps (set and read with a request); the
 * others live in the client (blocking mode, timeouts) or are get-only. */
static bool cl_opt_in_net(int opt)
{
    switch (opt) {
    case MOAT_OPT_NODELAY:
    case MOAT_OPT_KEEPALIVE:
    case MOAT_OPT_REUSEADDR:
    case MOAT_OPT_RCVBUF:
    case MOAT_OPT_SNDBUF:
    case MOAT_OPT_LINGER_MS:
    case MOAT_OPT_BROADCAST:
    case MOAT_OPT_TCP_CONG:
        return true;
    default:
        return false;
    }
}

int moat_sock_setopt(struct moat_stack *st, moat_sock_t h, int opt, int64_t value)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    switch (opt) {
    case MOAT_OPT_NONBLOCK:
        if (value != 0 && value != 1)
            return MOAT_E_RANGE;
        s->nonblock = (uint8_t)value;
        return 0;
    case MOAT_OPT_RCVTIMEO_MS:
    case MOAT_OPT_SNDTIMEO_MS:
        if (value < 0 || value > (int64_t)UINT32_MAX / 1000)
            return MOAT_E_RANGE;
        if (opt == MOAT_OPT_RCVTIMEO_MS)
            s->rcvtimeo_ms = (uint32_t)value;
        else
            s->sndtimeo_ms = (uint32_t)value;
        return 0;
    case MOAT_OPT_ERROR:
        return MOAT_E_NOTSUP;   /* get only */
    default:
        if (!cl_opt_in_net(opt))
            return MOAT_E_NOTSUP;
        break;
    }
    if (opt == MOAT_OPT_SNDBUF && value <= 0)
        return MOAT_E_RANGE;
    app_req_init(&req, MOAT_MSG_SETOPT, h);
    req.body.opt.opt = (uint32_t)opt;
    req.body.opt.value = value;
    /* A boolean option of a handle we own cannot fail in an honest net
     * domain (core.c ctl_setopt, tcp_sock_setopt): post it instead of
     * waiting (cl_post). Later requests are served after it, and the send
     * ring only after the requests of a round, so data sent next already
     * sees the option (MOAT_OPT_NODELAY). */
    if (opt == MOAT_OPT_NODELAY || opt == MOAT_OPT_KEEPALIVE || opt == MOAT_OPT_REUSEADDR ||
        opt == MOAT_OPT_BROADCAST)
        return cl_post(st, &req);
    r = cl_rpc(st, &req, &resp);
    if (r == 0 && opt == MOAT_OPT_SNDBUF)
        s->sndbuf = value > (int64_t)s->tx.cap ? s->tx.cap : (uint32_t)value;
    return r;
}

int moat_sock_getopt(struct moat_stack *st, moat_sock_t h, int opt, int64_t *value)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!value)
        return MOAT_E_INVAL;
    switch (opt) {
    case MOAT_OPT_NONBLOCK:
        *value = s->nonblock;
        return 0;
    case MOAT_OPT_RCVTIMEO_MS:
        *value = s->rcvtimeo_ms;
        return 0;
    case MOAT_OPT_SNDTIMEO_MS:
        *value = s->sndtimeo_ms;
        return 0;
    case MOAT_OPT_ERROR:
        /* The net domain writes the error word before it sets MOAT_SS_ERR
         * (sock_error) and sets ERR whenever there is an error: without
         * ERR there is none to read or clear, so answer 0 here and save
         * the round trip (non-blocking connect asks this once per
         * connection). With ERR, the GETOPT below reads and clears it. */
        if (!(cl_status(st, s) & MOAT_SS_ERR)) {
            *value = 0;
            return 0;
        }
        break;
    default:
        if (!cl_opt_in_net(opt))
            return MOAT_E_NOTSUP;
        break;
    }
    app_req_init(&req, MOAT_MSG_GETOPT, h);
    req.body.opt.opt = (uint32_t)opt;
    r = cl_rpc(st, &req, &resp);
    if (r != 0)
        return r;
    *value = resp.body.resp.value;
    return 0;
}

int moat_sock_name(struct moat_stack *st, moat_sock_t h, struct moat_addr *local,
                   struct moat_addr *remote)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    app_req_init(&req, MOAT_MSG_NAME, h);
    r = cl_rpc(st, &req, &resp);
    if (r != 0)
        return r;
    if (local)
        cl_addr_from_msg(local, &resp.body.resp.local);
    if (remote)
        cl_addr_from_msg(remote, &resp.body.resp.remote);
    return 0;
}
