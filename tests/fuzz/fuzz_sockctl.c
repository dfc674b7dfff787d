/* SPDX-License-Identifier: MIT */
/*
 * Socket-boundary fuzz harness: the fuzzer is a hostile application that
 * shares the socket region with the net domain (core/boundary.h) and
 * writes whatever it likes there -- control messages (core/msg.def) with
 * any type, handle and body, ring indices of the ctl/evt rings and of
 * every socket's data rings, socket status and error words, dirty hints,
 * region header words, and the bytes of its send rings (UDP datagram
 * records with lying lengths, stream data) -- while the peer keeps the
 * sockets busy with traffic. The reader side under test is the net
 * domain's: core/core.c (ctl_poll, poll_app_work), core/sock.c, udp.c and
 * the TCP send path reading the rings.
 *
 * Program: op u8 then arguments (missing bytes read as 0); op % 12:
 *   0 MSG    MOAT_MSG_SIZE (128) raw bytes as one request (ctl ring), published
 *   1 REQ    type u8, handle sel u8, body[112]: a request with a valid
 *            type (mostly) and a handle the net domain gave us (sel)
 *   2 CTLIDX ctl prod += i16 (op bit 7: set to u32 instead)
 *   3 EVTIDX evt cons: same
 *   4 WORD   slot u8, field u8, value u32: a word of a socket's shared
 *            state (ring indices, status, error, rx_read, tx_limit)
 *   5 TXDATA slot u8, len u16, bytes...: app writes its send ring
 *            (UDP: op bit 7 builds a datagram record with lying length)
 *   6 HINTS  flag u8, word u8, value u32: dirty hints and bitmap words
 *   7 HDR    field u8, value u32: region header words
 *   8 PEER   kind u8, port u8, len u8: a frame from the peer (TCP SYN /
 *            ACK / data to port 80, UDP to a bound port)
 *   9 CLOCK  ms u16
 *  10 READ   slot u8: the application consumes a socket's receive ring
 *            and its evt ring honestly
 *  11 RESET  the application puts the ctl/evt indices back where an
 *            honest one would have them
 * Invariants: nothing outside the region or the core's memory is touched
 * (ASan), every message back is one of the catalog's net -> app messages
 * and every RESP carries a code of the error list, no packet buffer
 * or slot is held after the timers and shutdown (fz_finish).
 */
#include <stdlib.h>
#include <string.h>

#include "fz.h"

#define S_SLOTS 6u

struct fzs {
    struct fz z;
    uint32_t handles[8];
    unsigned n_handles;
    uint32_t ctl_prod, evt_cons;     /* where an honest application's are */
    uint32_t peer_seq;
};


static struct moat_ring_sh *ring_sh(struct fzs *s, size_t off)
{
    return (struct moat_ring_sh *)(s->z.region + off);
}

/* Publish one message on the ctl ring the honest way (our own index). */
static void put_msg(struct fzs *s, const struct moat_msg *m)
{
    struct moat_ring_sh *sh = ring_sh(s, s->z.lay.off_ctl_sh);
    uint32_t cap = MOAT_CTL_SLOTS * MOAT_MSG_SIZE;
    uint8_t *data = s->z.region + s->z.lay.off_ctl_data;
    uint32_t at = s->ctl_prod & (cap - 1u);     /* 64-byte records never wrap */
    memcpy(data + at, m, MOAT_MSG_SIZE);
    s->ctl_prod += MOAT_MSG_SIZE;
    atomic_store_explicit(&sh->prod, s->ctl_prod, memory_order_release);
}

/* Read every answer the net domain published, learning handles. */
static void drain_evt(struct fzs *s)
{
    struct moat_ring_sh *sh = ring_sh(s, s->z.lay.off_evt_sh);
    uint32_t cap = MOAT_CTL_SLOTS * MOAT_MSG_SIZE;
    uint8_t *data = s->z.region + s->z.lay.off_evt_data;
    uint32_t prod = atomic_load_explicit(&sh->prod, memory_order_acquire);
    for (unsigned n = 0; n < MOAT_CTL_SLOTS && prod - s->evt_cons >= MOAT_MSG_SIZE; n++) {
        struct moat_msg r;
        memcpy(&r, data + (s->evt_cons & (cap - 1u)), sizeof r);
        s->evt_cons += MOAT_MSG_SIZE;
        if (moat_msg_check(&r, MOAT_DIR_NET) != 0)
            fz_fail("net domain sent a message outside the catalog");
        if (r.type != MOAT_MSG_RESP)
            continue;
        if (r.result > 0 || r.result < -(int32_t)MOAT_ERRI_COUNT_)
            fz_fail("RESP with a result outside the error list");
        if (r.result == 0 && r.body.resp.sock && s->n_handles < 8)
            s->handles[s->n_handles++] = r.body.resp.sock;
    }
    atomic_store_explicit(&sh->cons, s->evt_cons, memory_order_release);
}

static void s_poll(struct fzs *s)
{
    mcore_poll(s->z.core, s->z.now);
    drain_evt(s);
}

static void s_setup(struct fzs *s)
{
    memset(s, 0, sizeof *s);
    struct fz *z = &s->z;
    fz_config(z);
    z->cfg.max_sockets = S_SLOTS;
    z->cfg.sock_rx_bytes = 4096;
    z->cfg.sock_tx_bytes = 4096;
    fz_start(z);
    /* a UDP socket on 5000, a TCP listener on 80 (the harness's own
     * requests, honest, through the same ring) */
    uint32_t h;
    h = fz_sock(z, MOAT_SOCK_DGRAM, 5000, 0, 0, 0);
    if (h)
        s->handles[s->n_handles++] = h;
    h = fz_sock(z, MOAT_SOCK_STREAM, 80, 0, 0, 1);
    if (h)
        s->handles[s->n_handles++] = h;
    s->ctl_prod = z->ctl.local;
    s->evt_cons = z->evt.local;
    s->peer_seq = 5000;
}

static void peer(struct fzs *s, struct fz_rd *r)
{
    uint8_t kind = fz_arg8(r), port = fz_arg8(r), len = fz_arg8(r);
    struct fz_seg g;
    memset(&g, 0, sizeof g);
    g.sport = (uint16_t)(40000u + (port & 3u));
    g.dport = 80;
    g.wnd = 65535;
    switch (kind % 4u) {
    case 0:             /* SYN */
        g.flags = 0x02;
        g.seq = s->peer_seq;
        fz_tcp_inject(&s->z, &g);
        break;
    case 1: {           /* ACK of the SYN-ACK + data: learns the stack's ISS */
        const uint8_t *t;
        size_t tl;
        for (unsigned i = 0; i < FZ_CAP; i++) {
            if (fz_cap_tcp(&s->z, i, &t, &tl) && rd16(t + 2) == g.sport) {
                g.ack = rd32(t + 4) + ((t[13] & 0x02) ? 1u : 0u);
                break;
            }
        }
        g.flags = 0x10;
        g.seq = s->peer_seq + 1u;
        g.len = len;
        fz_tcp_inject(&s->z, &g);
        break;
    }
    default: {          /* UDP datagram to 5000 + port % 4 */
        uint8_t fr[14 + 20 + 8 + 255];
        uint8_t *ip = fr + 14, *u = ip + 20;
        fz_eth(fr, 0x0800);
        fz_ip4(ip, 17, 8u + len, 0);
        wr16(u, 7);
        wr16(u + 2, (uint16_t)(5000u + (port & 3u)));
        wr16(u + 4, (uint16_t)(8u + len));
        wr16(u + 6, 0);
        memset(u + 8, kind, len);
        fz_input(&s->z, fr, 14 + 20 + 8u + len);
        break;
    }
    }
}

static void run_op(struct fzs *s, uint8_t op, struct fz_rd *r)
{
    struct fz *z = &s->z;
    uint8_t *b = z->region;
    const struct moat_layout *lay = &z->lay;
    switch (op % 12u) {
    case 0: {
        struct moat_msg m;
        uint8_t raw[MOAT_MSG_SIZE];
        for (unsigned i = 0; i < sizeof raw; i++)
            raw[i] = fz_arg8(r);
        memcpy(&m, raw, sizeof m);
        put_msg(s, &m);
        break;
    }
    case 1: {
        struct moat_msg m;
        memset(&m, 0, sizeof m);
        uint8_t t = fz_arg8(r), sel = fz_arg8(r);
        m.type = (uint16_t)((t & 0x80) ? t : 1u + t % (MOAT_MSG_COUNT_ - 1u));
        m.id = s->ctl_prod;
        if (s->n_handles)
            m.sock = s->handles[sel % s->n_handles];
        if (sel & 0x80)
            m.sock ^= (uint32_t)sel << 16;      /* stale generation */
        for (unsigned i = 0; i < sizeof m.body.raw; i++)
            m.body.raw[i] = fz_arg8(r);
        if (m.type == MOAT_MSG_OPEN)
            m.body.open.type = 1u + m.body.open.type % 2u;
        put_msg(s, &m);
        break;
    }
    case 2:
    case 3: {
        int ctl = (op % 12u) == 2;
        struct moat_ring_sh *sh = ring_sh(s, ctl ? lay->off_ctl_sh : lay->off_evt_sh);
        _Atomic uint32_t *w = ctl ? &sh->prod : &sh->cons;
        uint32_t v = (op & 0x80) ? fz_arg32(r)
                                 : atomic_load(w) + (uint32_t)(int32_t)(int16_t)fz_arg16(r);
        atomic_store(w, v);
        break;
    }
    case 4: {
        uint32_t slot = fz_arg8(r) % S_SLOTS;
        uint8_t f = fz_arg8(r);
        uint32_t v = fz_arg32(r);
        struct moat_sock_sh *sh = moat_region_sock(b, lay, slot);
        _Atomic uint32_t *w[] = {&sh->rx.prod, &sh->rx.cons, &sh->tx.prod, &sh->tx.cons,
                                 &sh->status, &sh->rx_read, &sh->tx_limit};
        if (f % 8u == 7u)
            atomic_store(&sh->error, (int32_t)v);
        else if (f & 0x80)
            atomic_store(w[f % 7u], atomic_load(w[f % 7u]) + (v & 0xffffu));
        else
            atomic_store(w[f % 7u], v);
        break;
    }
    case 5: {
        uint32_t slot = fz_arg8(r) % S_SLOTS;
        uint32_t len = fz_arg16(r) % 2048u;
        struct moat_sock_sh *sh = moat_region_sock(b, lay, slot);
        uint8_t *data = moat_region_tx_data(b, lay, slot);
        uint32_t cap = lay->g.sock_tx_bytes;
        uint32_t prod = atomic_load(&sh->tx.prod);
        uint32_t at = 0;
        if (op & 0x80) {        /* a datagram record whose header may lie */
            struct moat_dgram_hdr h = { .ip = FZ_R_IP, .port = 7, .len = (uint16_t)fz_arg16(r) };
            uint8_t hb[sizeof h];
            memcpy(hb, &h, sizeof h);
            for (unsigned i = 0; i < sizeof hb; i++)
                data[(prod + at++) & (cap - 1u)] = hb[i];
        }
        for (uint32_t i = 0; i < len; i++)
            data[(prod + at++) & (cap - 1u)] = fz_arg8(r);
        atomic_store(&sh->tx.prod, prod + at);
        break;
    }
    case 6: {
        struct moat_region_hdr *h = moat_region_hdr(b);
        uint8_t flag = fz_arg8(r), word = fz_arg8(r);
        uint32_t v = fz_arg32(r);
        atomic_store(&h->dirty_hints, flag & 1u);
        _Atomic uint32_t *w = (_Atomic uint32_t *)(b + ((word & 1) ? lay->off_dirty_sum
                                                                  : lay->off_dirty));
        uint32_t nw = (word & 1) ? lay->n_dirty_sum : lay->n_dirty;
        atomic_store(&w[(word >> 1) % nw], v);
        break;
    }
    case 7: {
        struct moat_region_hdr *h = moat_region_hdr(b);
        uint8_t f = fz_arg8(r);
        uint32_t v = fz_arg32(r);
        switch (f % 8u) {
        case 0: h->magic = v; break;
        case 1: h->geom.max_sockets = v; break;
        case 2: h->geom.sock_rx_bytes = v; break;
        case 3: h->size = v; break;
        case 4: atomic_store(&h->app_seq, v); break;
        case 5: atomic_store(&h->net_sleeping, v); break;
        case 6: atomic_store(&h->stop, v); break;
        default: atomic_store(&h->net_ready, v); break;
        }
        break;
    }
    case 8:
        peer(s, r);
        break;
    case 9:
        fz_run_timers(z, z->now + (uint64_t)fz_arg16(r) * 1000u);
        break;
    case 10: {
        uint32_t slot = fz_arg8(r) % S_SLOTS;
        struct moat_sock_sh *sh = moat_region_sock(b, lay, slot);
        atomic_store(&sh->rx.cons, atomic_load(&sh->rx.prod));
        break;
    }
    default:
        atomic_store(&ring_sh(s, lay->off_ctl_sh)->prod, s->ctl_prod);
        atomic_store(&ring_sh(s, lay->off_evt_sh)->cons, s->evt_cons);
        break;
    }
    s_poll(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fzs one;       /* static: the snapshot's address (fz.h) */
    struct fzs *s = &one;
    if (!fz_restore(s, sizeof *s)) {
        s_setup(s);
        fz_snapshot(s, sizeof *s);
    }
    struct fz_rd r = {data, size, 0};
    for (unsigned ops = 0; r.off < r.n && ops < 1000; ops++)
        run_op(s, fz_arg8(&r), &r);
    fz_finish(&s->z);
    return 0;
}
