/* SPDX-License-Identifier: MIT */
/*
 * The board's echo service over the socket region (see echo.h). The
 * request/response protocol, ring indices and the datagram record format
 * are those of core/boundary.h; the send limit (tx_limit) and rx_read
 * updates follow app/client.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "moat/socket.h"
#include "echo.h"

#define ECHO_CHUNK 256u   /* bounce buffer: ring to ring in pieces this big */

/* One request, answered within the same mcore_poll (single loop: the core
 * serves the ctl ring first thing in every poll). */
static int echo_rpc(struct echo *e, struct moat_msg *m, uint64_t now_us)
{
    uint32_t space = 0, avail = 0;
    struct moat_msg r;

    if (moat_ring_space(&e->ctl, &space) != 0 || space < MOAT_MSG_SIZE)
        return MOAT_E_PEER;
    if (++e->next_id == 0)
        e->next_id = 1;
    m->id = e->next_id;
    moat_ring_put(&e->ctl, 0, m, MOAT_MSG_SIZE);
    moat_ring_publish(&e->ctl, MOAT_MSG_SIZE);
    (void)mcore_poll(e->core, now_us);
    if (moat_ring_avail(&e->evt, &avail) != 0 || avail < MOAT_MSG_SIZE)
        return MOAT_E_PEER;
    moat_ring_get(&e->evt, 0, &r, MOAT_MSG_SIZE);
    moat_ring_consume(&e->evt, MOAT_MSG_SIZE);
    if (r.type != MOAT_MSG_RESP || r.id != m->id || r.result > 0 || r.result <= MOAT_E_MIN_)
        return MOAT_E_PEER;
    *m = r;
    return r.result;
}

static int echo_req(struct echo *e, unsigned type, uint32_t h, struct moat_msg *m,
                    uint64_t now_us)
{
    memset(m, 0, sizeof *m);
    m->type = (uint16_t)type;
    m->sock = h;
    return echo_rpc(e, m, now_us);
}

/* Take a handle the core gave us (OPEN, ACCEPT): attach our ends of its
 * rings (fresh rings: both indices start at 0). */
static int echo_adopt(struct echo *e, struct echo_sock *s, uint32_t h)
{
    uint32_t idx = moat_handle_idx(h);
    if (h == 0 || moat_handle_gen(h) == 0 || idx >= e->lay.g.max_sockets)
        return MOAT_E_PEER;
    struct moat_sock_sh *sh = moat_region_sock(e->region, &e->lay, idx);
    s->h = h;
    moat_ring_attach(&s->rx, &sh->rx, moat_region_rx_data(e->region, &e->lay, idx),
                     e->lay.g.sock_rx_bytes, 0);
    moat_ring_attach(&s->tx, &sh->tx, moat_region_tx_data(e->region, &e->lay, idx),
                     e->lay.g.sock_tx_bytes, 0);
    return 0;
}

static int echo_open(struct echo *e, struct echo_sock *s, uint32_t type, uint16_t port,
                     uint64_t now_us)
{
    struct moat_msg m;
    int rc;

    memset(&m, 0, sizeof m);
    m.type = MOAT_MSG_OPEN;
    m.body.open.type = type;
    rc = echo_rpc(e, &m, now_us);
    if (rc == 0)
        rc = echo_adopt(e, s, m.body.resp.sock);
    if (rc != 0)
        return rc;
    memset(&m, 0, sizeof m);
    m.type = MOAT_MSG_BIND;
    m.sock = s->h;
    m.body.addr.port = port;
    return echo_rpc(e, &m, now_us);
}

static uint32_t echo_status(struct echo *e, const struct echo_sock *s)
{
    struct moat_sock_sh *sh = moat_region_sock(e->region, &e->lay, moat_handle_idx(s->h));
    return atomic_load_explicit(&sh->status, memory_order_acquire);
}

int echo_start(struct echo *e, struct mcore *core, void *region,
               const struct moat_layout *lay, uint16_t port, uint64_t now_us)
{
    struct moat_msg m;
    int rc;

    memset(e, 0, sizeof *e);
    e->core = core;
    e->region = region;
    e->lay = *lay;
    uint8_t *b = region;
    moat_ring_attach(&e->ctl, b + lay->off_ctl_sh, b + lay->off_ctl_data,
                     lay->g.ctl_slots * MOAT_MSG_SIZE, 0);
    moat_ring_attach(&e->evt, b + lay->off_evt_sh, b + lay->off_evt_data,
                     lay->g.ctl_slots * MOAT_MSG_SIZE, 0);
    rc = echo_open(e, &e->udp, MOAT_SOCK_DGRAM, port, now_us);
    if (rc != 0)
        return rc;
    rc = echo_open(e, &e->lst, MOAT_SOCK_STREAM, port, now_us);
    if (rc != 0)
        return rc;
    rc = echo_req(e, MOAT_MSG_LISTEN, e->lst.h, &m, now_us);
    return rc;
}

/* Copy @p n bytes from @p from's consumer index (+@p off) to @p to's
 * producer index (+@p to_off), in ECHO_CHUNK pieces; publishes nothing. */
static void echo_copy(struct moat_ring *from, uint32_t off, struct moat_ring *to,
                      uint32_t to_off, uint32_t n)
{
    uint8_t buf[ECHO_CHUNK];
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < ECHO_CHUNK ? n - done : ECHO_CHUNK;
        moat_ring_get(from, off + done, buf, k);
        moat_ring_put(to, to_off + done, buf, k);
        done += k;
    }
}

/* Datagrams: each record (moat_dgram_hdr + payload) goes back to its
 * source as soon as the send ring has room for it. */
static int echo_udp(struct echo *e)
{
    int moved = 0;
    for (;;) {
        uint32_t avail = 0, space = 0;
        struct moat_dgram_hdr dh;
        if (moat_ring_avail(&e->udp.rx, &avail) != 0 || avail < sizeof dh)
            return moved;
        moat_ring_get(&e->udp.rx, 0, &dh, sizeof dh);
        uint32_t rec = (uint32_t)sizeof dh + dh.len;
        if (rec > avail) {                      /* records are published whole */
            e->errors++;
            return moved;
        }
        if (moat_ring_space(&e->udp.tx, &space) != 0 || space < rec)
            return moved;                       /* later, when the core sent some */
        moat_ring_put(&e->udp.tx, 0, &dh, sizeof dh);   /* ip/port: back to the source */
        echo_copy(&e->udp.rx, sizeof dh, &e->udp.tx, sizeof dh, dh.len);
        moat_ring_publish(&e->udp.tx, rec);
        moat_ring_consume(&e->udp.rx, rec);
        e->udp_echoed++;
        moved = 1;
    }
}

/* Room in a TCP send ring, within the send limit the core publishes as
 * its congestion window grows (0 or past the ring: the whole ring). */
static uint32_t echo_tx_room(struct echo *e, struct echo_sock *s)
{
    uint32_t space = 0, lim = s->tx.cap;
    if (moat_ring_space(&s->tx, &space) != 0)
        return 0;
    struct moat_sock_sh *sh = moat_region_sock(e->region, &e->lay, moat_handle_idx(s->h));
    uint32_t pub = atomic_load_explicit(&sh->tx_limit, memory_order_acquire);
    if (pub != 0 && pub < lim)
        lim = pub;
    uint32_t used = s->tx.cap - space;
    return lim > used ? lim - used : 0;
}

static void echo_release(struct echo *e, struct echo_sock *s, uint64_t now_us)
{
    struct moat_msg m;
    (void)echo_req(e, MOAT_MSG_CLOSE, s->h, &m, now_us);   /* graceful: FIN after the data */
    memset(s, 0, sizeof *s);
    e->closed++;
}

/* One connection: move what arrived to the send ring; after the peer's
 * FIN and the last byte moved, close (the core sends what is left, then
 * its FIN). A reset or error closes at once. */
static int echo_conn(struct echo *e, struct echo_sock *s, uint64_t now_us)
{
    uint32_t avail = 0, n, status;
    int moved = 0;

    if (moat_ring_avail(&s->rx, &avail) != 0) {
        e->errors++;
        echo_release(e, s, now_us);
        return 1;
    }
    n = echo_tx_room(e, s);
    if (n > avail)
        n = avail;
    if (n > 0) {
        echo_copy(&s->rx, 0, &s->tx, 0, n);
        moat_ring_publish(&s->tx, n);
        moat_ring_consume(&s->rx, n);
        struct moat_sock_sh *sh = moat_region_sock(e->region, &e->lay, moat_handle_idx(s->h));
        atomic_store_explicit(&sh->rx_read, s->rx.local, memory_order_release);
        moved = 1;
        avail -= n;
    }
    status = echo_status(e, s);
    /* The core publishes data before it sets RDHUP: look at the ring
     * again after reading the status. */
    if ((status & (MOAT_SS_HUP | MOAT_SS_ERR)) ||
        (avail == 0 && (status & MOAT_SS_RDHUP) &&
         moat_ring_avail(&s->rx, &avail) == 0 && avail == 0)) {
        echo_release(e, s, now_us);
        moved = 1;
    }
    return moved;
}

int echo_serve(struct echo *e, uint64_t now_us)
{
    int moved = echo_udp(e);

    if (echo_status(e, &e->lst) & MOAT_SS_ACCEPTQ) {
        for (unsigned i = 0; i < ECHO_CONNS; i++) {
            if (e->conn[i].h != 0)
                continue;
            struct moat_msg m;
            if (echo_req(e, MOAT_MSG_ACCEPT, e->lst.h, &m, now_us) == 0) {
                if (echo_adopt(e, &e->conn[i], m.body.resp.sock) == 0)
                    e->accepted++;
                else
                    e->errors++;
                moved = 1;
            }
            break;
        }
    }
    for (unsigned i = 0; i < ECHO_CONNS; i++)
        if (e->conn[i].h != 0)
            moved |= echo_conn(e, &e->conn[i], now_us);
    return moved;
}
