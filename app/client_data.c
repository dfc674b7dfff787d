/* SPDX-License-Identifier: MIT */
/*
 * The application side of the socket boundary: the data path, which
 * sends no control message and moves only ring indices -- UDP datagrams
 * (a record header and the payload), the TCP byte stream, and the
 * zero-copy TCP views into the socket rings (view + release / commit).
 */
#include "app/client_priv.h"

/* ---- data path: no ctl message, only ring indices --------------------- */

static int cl_send_udp(struct moat_stack *st, struct app_sock *s, const void *buf,
                       size_t len, const struct moat_addr *to, size_t *sent)
{
    struct moat_dgram_hdr dh;
    uint64_t deadline;
    uint32_t rec, room = 0;
    int r;

    if (len > CL_UDP_MAX || len + sizeof(dh) > s->sndbuf)
        return MOAT_E_MSGSIZE;
    if (!to) {
        if (cl_addr_unset(&s->peer))
            return MOAT_E_NOTCONN;
        to = &s->peer;
    }
    if (cl_addr_unset(to) || to->port == 0)
        return MOAT_E_INVAL;
    rec = (uint32_t)(sizeof(dh) + len);
    deadline = cl_deadline(s->sndtimeo_ms);
    for (;;) {
        if (cl_status(st, s) & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
        }
        r = cl_tx_room(st, s, &room);
        if (r != 0)
            return r;
        if (room >= rec)
            break;
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ERR, 0, rec, deadline);
        if (r != 0)
            return r;
    }
    /* One record, published at once: the net side never sees half. */
    memset(&dh, 0, sizeof dh);
    dh.ip = to->ip;
    dh.port = to->port;
    dh.len = (uint16_t)len;
    if (to->family == MOAT_AF_INET6) {
        dh.family = MOAT_AF_INET6;
        memcpy(dh.ip6, to->ip6, 16);
        dh.scope_id = to->scope_id;
    }
    moat_ring_put(&s->tx, 0, &dh, sizeof(dh));
    if (len)
        moat_ring_put(&s->tx, sizeof(dh), buf, (uint32_t)len);
    moat_ring_publish(&s->tx, rec);
    /* marked like a stream socket's: the net loop's sleep check sees
     * marks, not ring indices (netloop.c) */
    moat_dirty_mark(st->region, &st->lay, moat_handle_idx(s->handle));
    moat_stack_kick_net(st);
    *sent = len;
    return 0;
}

/*
 * The wait of a TCP send, shared by moat_sock_send and moat_sock_send_view:
 * returns 0 with *room > 0 (that many bytes may be written now), 0 with
 * *room == 0 (stop: @p have_done bytes already went, or non-blocking and
 * full, or the timeout passed), or an error for a caller that has sent
 * nothing yet (with @p have_done set, an error is left for the next call).
 */
static int cl_send_tcp_wait(struct moat_stack *st, struct app_sock *s, int have_done,
                            uint64_t deadline, uint32_t *room)
{
    int r;

    *room = 0;
    for (;;) {
        uint32_t status = cl_status(st, s);

        if (status & MOAT_SS_ERR) {
            if (have_done)
                return 0;   /* report the bytes now, the error next call */
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
            continue;
        }
        if (status & (MOAT_SS_WRSHUT | MOAT_SS_HUP))
            return have_done ? 0 : MOAT_E_PIPE;
        if (!(status & MOAT_SS_CONNECTED)) {
            if (!(status & MOAT_SS_CONNECTING))
                return have_done ? 0 : MOAT_E_NOTCONN;
            if (s->nonblock)
                return MOAT_E_AGAIN;
            r = cl_wait_sock(st, s, MOAT_SS_CONNECTED | MOAT_SS_ERR | MOAT_SS_HUP, 0, 0,
                             deadline);
            if (r != 0)
                return r;
            continue;
        }
        r = cl_tx_room(st, s, room);
        if (r != 0 || *room > 0 || s->nonblock)
            return r;
        r = cl_wait_sock(st, s, MOAT_SS_ERR | MOAT_SS_WRSHUT | MOAT_SS_HUP, 0, 1, deadline);
        if (r == MOAT_E_AGAIN)
            return 0;
        if (r != 0)
            return r;
    }
}

/* Make @p n bytes written past the producer index visible to the net
 * domain: the one publish path of send and send_commit. */
static void cl_send_tcp_publish(struct moat_stack *st, struct app_sock *s, uint32_t n)
{
    moat_ring_publish(&s->tx, n);
    moat_dirty_mark(st->region, &st->lay, moat_handle_idx(s->handle));
    moat_stack_kick_net(st);
}

static int cl_send_tcp(struct moat_stack *st, struct app_sock *s, const void *buf,
                       size_t len, size_t *sent)
{
    const uint8_t *p = buf;
    uint64_t deadline = cl_deadline(s->sndtimeo_ms);
    size_t done = 0;

    s->tx_view = 0;     /* a send view does not survive a send */
    while (done < len) {
        uint32_t room = 0, n;
        int r = cl_send_tcp_wait(st, s, done != 0, deadline, &room);

        if (r != 0)
            return r;
        if (room == 0)
            break;
        n = len - done < room ? (uint32_t)(len - done) : room;
        moat_ring_put(&s->tx, 0, p + done, n);
        cl_send_tcp_publish(st, s, n);
        done += n;
    }
    if (done == 0 && len > 0)
        return MOAT_E_AGAIN;
    *sent = done;
    return 0;
}

static int cl_send(struct moat_stack *st, moat_sock_t h, const void *buf, size_t len,
                   const struct moat_addr *to, size_t *sent)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!sent || (!buf && len))
        return MOAT_E_INVAL;
    *sent = 0;
    if (s->type == MOAT_SOCK_DGRAM)
        return cl_send_udp(st, s, buf, len, to, sent);
    return cl_send_tcp(st, s, buf, len, sent);   /* TCP ignores @p to */
}

int moat_sock_send(struct moat_stack *st, moat_sock_t h, const void *buf, size_t len,
                   size_t *sent)
{
    return cl_send(st, h, buf, len, NULL, sent);
}

int moat_sock_sendto(struct moat_stack *st, moat_sock_t h, const void *buf, size_t len,
                     const struct moat_addr *to, size_t *sent)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!to && s->type == MOAT_SOCK_DGRAM)
        return MOAT_E_INVAL;
    return cl_send(st, h, buf, len, to, sent);
}

static int cl_recv_udp(struct moat_stack *st, struct app_sock *s, void *buf, size_t len,
                       struct moat_addr *from, size_t *got)
{
    uint64_t deadline = cl_deadline(s->rcvtimeo_ms);
    struct moat_dgram_hdr dh;
    uint32_t avail = 0, n;
    int r;

    for (;;) {
        r = cl_rx_avail(st, s, &avail);
        if (r != 0)
            return r;
        if (avail >= sizeof(dh))
            break;
        if (avail != 0)
            return cl_fail(st, MOAT_E_PEER);   /* records are published whole */
        if (cl_status(st, s) & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
            continue;
        }
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ERR, 1, 0, deadline);
        if (r != 0)
            return r;
    }
    moat_ring_get(&s->rx, 0, &dh, sizeof(dh));     /* private copy, then check */
    if (dh.len > CL_UDP_MAX || dh.len > avail - sizeof(dh))
        return cl_fail(st, MOAT_E_PEER);
    n = dh.len < len ? dh.len : (uint32_t)len;
    if (n)
        moat_ring_get(&s->rx, sizeof(dh), buf, n);
    moat_ring_consume(&s->rx, (uint32_t)sizeof(dh) + dh.len);
    if (from) {
        memset(from, 0, sizeof *from);
        from->ip = dh.ip;
        from->port = dh.port;
        if (dh.family == MOAT_AF_INET6) {
            from->family = MOAT_AF_INET6;
            memcpy(from->ip6, dh.ip6, 16);
            from->scope_id = dh.scope_id;
        }
    }
    *got = n;
    return 0;
}

/*
 * The wait of a TCP receive, shared by moat_sock_recv and
 * moat_sock_recv_view: returns 0 with *avail > 0 (readable bytes), 0 with
 * *avail == 0 (end of stream, or nothing yet and @p block is 0: a
 * zero-length recv), or an error.
 */
static int cl_recv_tcp_wait(struct moat_stack *st, struct app_sock *s, int block,
                            uint32_t *avail)
{
    uint64_t deadline = cl_deadline(s->rcvtimeo_ms);
    uint32_t status;
    int r;

    for (;;) {
        r = cl_rx_avail(st, s, avail);
        if (r != 0 || *avail > 0)
            return r;
        status = cl_status(st, s);
        /* The net domain publishes data before it sets RDHUP, so look at
         * the ring again after reading the status. */
        r = cl_rx_avail(st, s, avail);
        if (r != 0 || *avail > 0)
            return r;
        if (status & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
            continue;
        }
        if (status & (MOAT_SS_RDHUP | MOAT_SS_HUP))
            return 0;       /* end of stream */
        if (!(status & (MOAT_SS_CONNECTED | MOAT_SS_CONNECTING)))
            return MOAT_E_NOTCONN;
        if (!block)
            return 0;
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ERR | MOAT_SS_RDHUP | MOAT_SS_HUP, 1, 0, deadline);
        if (r != 0)
            return r;
    }
}

/* Give @p n read bytes back to the net domain (the one consume path of
 * recv and recv_release); @p avail is what the ring held before. */
static void cl_recv_tcp_consume(struct moat_stack *st, struct app_sock *s, uint32_t n,
                                uint32_t avail)
{
    moat_ring_consume(&s->rx, n);
    atomic_store_explicit(&cl_sh(st, s)->rx_read, s->rx.local, memory_order_release);
    moat_dirty_mark(st->region, &st->lay, moat_handle_idx(s->handle));
    if ((uint64_t)avail * 2 >= s->rx.cap)
        moat_stack_kick_net(st);   /* the window may just have opened */
}

static int cl_recv_tcp(struct moat_stack *st, struct app_sock *s, void *buf, size_t len,
                       size_t *got)
{
    uint32_t avail = 0, n;
    int r;

    s->rx_view = 0;     /* a receive view does not survive a recv */
    r = cl_recv_tcp_wait(st, s, len != 0, &avail);
    if (r != 0)
        return r;
    n = avail < len ? avail : (uint32_t)len;
    if (n) {
        moat_ring_get(&s->rx, 0, buf, n);
        cl_recv_tcp_consume(st, s, n, avail);
    }
    *got = n;
    return 0;
}

static int cl_recv(struct moat_stack *st, moat_sock_t h, void *buf, size_t len,
                   struct moat_addr *from, size_t *got)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!got || (!buf && len))
        return MOAT_E_INVAL;
    *got = 0;
    if (s->type == MOAT_SOCK_DGRAM)
        return cl_recv_udp(st, s, buf, len, from, got);
    if (from)
        memset(from, 0, sizeof(*from));
    return cl_recv_tcp(st, s, buf, len, got);
}

int moat_sock_recv(struct moat_stack *st, moat_sock_t h, void *buf, size_t len, size_t *got)
{
    return cl_recv(st, h, buf, len, NULL, got);
}

int moat_sock_recvfrom(struct moat_stack *st, moat_sock_t h, void *buf, size_t len,
                       struct moat_addr *from, size_t *got)
{
    return cl_recv(st, h, buf, len, from, got);
}

/* ---- zero-copy TCP data path (views into the socket rings) ------------- */

/*
 * The views hand out spans of the rings themselves; the waits, the
 * consume/publish and the net-domain hints are recv's and send's own
 * (cl_recv_tcp_wait / cl_recv_tcp_consume, cl_send_tcp_wait /
 * cl_send_tcp_publish), so the two paths cannot drift apart. app_sock
 * keeps how many bytes the last view showed (rx_view / tx_view): a
 * release or commit past that is refused, so the application can never
 * move its own index beyond what the ring held for it (the net domain
 * checks the indices anyway; this keeps an honest application's mistake
 * from corrupting its stream). recv/send reset the count.
 */

/* Up to two spans covering @p len bytes from absolute index @p at. */
static unsigned cl_ring_spans(const struct moat_ring *r, uint32_t at, uint32_t len,
                              struct moat_iov v[2])
{
    uint32_t o = at & r->mask, first = r->cap - o;

    v[0].base = r->data + o;
    if (first >= len) {
        v[0].len = len;
        return 1;
    }
    v[0].len = first;
    v[1].base = r->data;
    v[1].len = len - first;
    return 2;
}

/* Handle, arguments and type checks shared by the four calls. */
static int cl_zc_sock(struct moat_stack *st, moat_sock_t h, struct app_sock **out)
{
    int r = cl_sock_get(st, h, 1, out);

    if (r != 0)
        return r;
    return (*out)->type == MOAT_SOCK_STREAM ? 0 : MOAT_E_NOTSUP;
}

/* The same plus the view's output arguments (*n is 0 until a view). */
static int cl_zc_view_args(struct moat_stack *st, moat_sock_t h, struct moat_iov v[2],
                           unsigned *n, struct app_sock **out)
{
    int r = cl_zc_sock(st, h, out);

    if (r != 0)
        return r;
    if (!v || !n)
        return MOAT_E_INVAL;
    *n = 0;
    return 0;
}

int moat_sock_recv_view(struct moat_stack *st, moat_sock_t h, struct moat_iov v[2],
                        unsigned *n)
{
    struct app_sock *s = NULL;
    uint32_t avail = 0;
    int r = cl_zc_view_args(st, h, v, n, &s);

    if (r != 0)
        return r;
    s->rx_view = 0;
    r = cl_recv_tcp_wait(st, s, 1, &avail);
    if (r != 0 || avail == 0)
        return r;           /* error, or end of stream with *n == 0 */
    *n = cl_ring_spans(&s->rx, s->rx.local, avail, v);
    s->rx_view = avail;
    return 0;
}

int moat_sock_recv_release(struct moat_stack *st, moat_sock_t h, size_t nbytes)
{
    struct app_sock *s = NULL;
    uint32_t avail = 0;
    int r = cl_zc_sock(st, h, &s);

    if (r != 0)
        return r;
    if (nbytes > s->rx_view)
        return MOAT_E_INVAL;
    if (nbytes == 0)
        return 0;
    r = cl_rx_avail(st, s, &avail);
    if (r != 0)
        return r;
    /* Only we consume, so the ring still holds what we viewed; a producer
     * index that went backwards is the net domain lying. */
    if (avail < nbytes)
        return cl_fail(st, MOAT_E_PEER);
    cl_recv_tcp_consume(st, s, (uint32_t)nbytes, avail);
    s->rx_view -= (uint32_t)nbytes;
    return 0;
}

int moat_sock_send_view(struct moat_stack *st, moat_sock_t h, struct moat_iov v[2],
                        unsigned *n)
{
    struct app_sock *s = NULL;
    uint32_t room = 0;
    int r = cl_zc_view_args(st, h, v, n, &s);

    if (r != 0)
        return r;
    s->tx_view = 0;
    r = cl_send_tcp_wait(st, s, 0, cl_deadline(s->sndtimeo_ms), &room);
    if (r != 0)
        return r;
    if (room == 0)
        return MOAT_E_AGAIN;
    *n = cl_ring_spans(&s->tx, s->tx.local, room, v);
    s->tx_view = room;
    return 0;
}

int moat_sock_send_commit(struct moat_stack *st, moat_sock_t h, size_t nbytes)
{
    struct app_sock *s = NULL;
    int r = cl_zc_sock(st, h, &s);

    if (r != 0)
        return r;
    if (nbytes > s->tx_view)
        return MOAT_E_INVAL;
    if (nbytes == 0)
        return 0;
    /* After shutdown(WR) (the FIN is queued) or a hang-up, bytes must not
     * follow: refused like send refuses them, nothing published. */
    if (cl_status(st, s) & (MOAT_SS_WRSHUT | MOAT_SS_HUP))
        return MOAT_E_PIPE;
    /* The free space we viewed can only have grown since (only we
     * produce), so these bytes are still ours to publish. */
    cl_send_tcp_publish(st, s, (uint32_t)nbytes);
    s->tx_view -= (uint32_t)nbytes;
    return 0;
}
