/* SPDX-License-Identifier: MIT */
/*
 * Stateful TCP fuzz harness: the input is a small program that drives up
 * to three connections of one stack (192.0.2.1, listener on port 80) with
 * segments from the peer, calls of the application, ICMP errors and clock
 * steps. The harness keeps both sides' sequence numbers (as the unit
 * tests' tcp_fx.c does, without Check), so that most mutants produce
 * segments the connection accepts and the fuzzer explores states, windows,
 * retransmission, SACK, timestamps, PMTU, FIN/RST handling and close.
 *
 * Program: op u8, then the op's argument bytes (missing bytes read as 0).
 *   op bits 0-3: operation (table in run_op), bits 4-5: connection k
 *   (0..2; 3 = 0), bits 6-7: free for the operation.
 * Connection k's peer is 192.0.2.2 port 40000+k (passive: it opens to our
 * port 80) or 7000+k (active: the application connects to it).
 *
 * Invariants (abort = crash report):
 *   - every byte the application reads is fz_pattern(s) for its sequence
 *     number s (all the peer ever sends), and no byte is read beyond the
 *     highest sequence number the peer sent;
 *   - every byte the stack sends is the application's byte at that stream
 *     offset, and never past what the application wrote;
 *   - frames well formed, checksums right (fz.c);
 *   - after ten virtual minutes and shutdown: no packet buffer held, every
 *     slot free (fz_finish).
 */
#include <stdlib.h>
#include <string.h>

#include "fz.h"

#define T_NCONN 3u

struct conn {
    int used;                   /* a peer exists for this k */
    int active;                 /* we opened it (peer port 7000+k) */
    uint16_t pport;             /* peer port */
    uint16_t lport;             /* our port */
    uint32_t h;                 /* application handle, 0 before accept */
    struct moat_ring rx, tx;
    /* the peer */
    uint32_t p_iss, p_nxt;      /* its ISS and next sequence number */
    uint32_t p_max;             /* highest sequence number it sent data up to */
    int p_max_ok;
    int p_mixed;                /* the peer used more than one ISS: no p_max check */
    /* the stack, as seen on the wire */
    int heard;
    uint32_t s_end;             /* highest seq + len the stack sent */
    uint32_t s_tsval;           /* its last TSval */
    int ts_on;                  /* its SYN carried timestamps: the peer sends them */
    /* the application */
    int iss_ok;
    uint32_t iss;               /* the stack's ISS (from the TCB) */
    uint32_t written;           /* bytes written to the send ring */
    int irs_ok;
    uint32_t irs;               /* the peer's ISS as the stack took it */
    uint32_t nread;
};

struct fzt {
    struct fz z;
    uint32_t h_lis;
    struct conn c[T_NCONN];
};

static uint8_t app_byte(uint32_t pos) { return (uint8_t)(fz_pattern(pos) ^ 0xa5u); }

static struct tcp_cb *t_tcb(struct fzt *t, uint32_t h)
{
    return &t->z.core->tcp->cbs[moat_handle_idx(h)];
}

/* Everything the stack sends to a peer of ours is checked here. */
static void t_hook(void *ctx, const uint8_t *f, size_t len)
{
    struct fzt *t = ctx;
    struct fz_tseg g;
    (void)len;
    if (!fz_tcp_parse(f, &g))
        return;
    const uint8_t *tc = g.tcp;
    size_t thl = g.hlen;
    uint8_t fl = g.flags;
    uint32_t n = g.len;
    struct conn *c = NULL;
    for (unsigned k = 0; k < T_NCONN; k++)
        if (t->c[k].used && t->c[k].pport == g.dport)
            c = &t->c[k];
    if (!c)
        return;
    fz_track_end(&g, &c->heard, &c->s_end);
    /* the stack's TSval, for the peer's TSecr */
    for (size_t o = 20; o + 1 < thl;) {
        uint8_t kind = tc[o];
        if (kind == 0)
            break;
        if (kind == 1) {
            o++;
            continue;
        }
        uint8_t ol = tc[o + 1];
        if (ol < 2 || o + ol > thl)
            fz_fail("stack sent a malformed TCP option");
        if (kind == 8 && ol == 10) {
            c->s_tsval = rd32(tc + o + 2);
            if (fl & 0x02)
                c->ts_on = 1;
        }
        o += ol;
    }
    if (n == 0 || !c->iss_ok)
        return;
    if (fl & 0x02)
        fz_fail("stack sent data on a SYN");
    uint32_t off = g.seq - (c->iss + 1u);
    if (off > c->written || n > c->written - off)
        fz_fail("stack sent bytes the application never wrote");
    const uint8_t *d = tc + thl;
    for (uint32_t i = 0; i < n; i++)
        if (d[i] != app_byte(off + i))
            fz_fail("stack sent a byte that differs from the application's");
}

static void t_setup(struct fzt *t)
{
    memset(t, 0, sizeof *t);
    struct fz *z = &t->z;
    fz_config(z);
    z->cfg.max_sockets = 6;
    z->cfg.tcp_msl_ms = 1000;
    fz_start(z);
    z->hook = t_hook;
    z->hook_ctx = t;
    t->h_lis = fz_sock(z, MOAT_SOCK_STREAM, 80, 0, 0, 1);
    if (!t->h_lis)
        fz_fail("listener");
}

/* ---- the argument reader -------------------------------------------------- */


/* ---- the peer --------------------------------------------------------------- */

static void t_send(struct fzt *t, struct conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
                   uint16_t wnd, const uint8_t *opt, size_t olen, uint32_t len)
{
    struct fz_seg s;
    memset(&s, 0, sizeof s);
    s.sport = c->pport;
    s.dport = c->lport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.wnd = wnd;
    uint8_t ts[12];
    if (olen == 0 && c->ts_on && !(flags & 0x04)) {
        /* RFC 7323: once negotiated, every segment but a RST carries one */
        ts[0] = 1;
        ts[1] = 1;
        ts[2] = 8;
        ts[3] = 10;
        wr32(ts + 4, (uint32_t)(t->z.now / 1000u));
        wr32(ts + 8, c->s_tsval);
        opt = ts;
        olen = sizeof ts;
    }
    s.opt = opt;
    s.opt_len = olen;
    s.len = len;
    if (len > FZ_MTU - 60)
        s.len = len = FZ_MTU - 60;
    uint32_t p0 = seq + ((flags & 0x02) ? 1u : 0u);
    if (len && !(flags & 0x04) && (!c->p_max_ok || TCP_SEQ_GT(p0 + len, c->p_max))) {
        c->p_max = p0 + len;
        c->p_max_ok = 1;
    }
    fz_tcp_inject(&t->z, &s);
}

/* SYN options from @p sel: bit0 MSS (value @p mss), bit1 WS (@p ws),
 * bit2 SACK-permitted, bit3 timestamps. */
static size_t syn_opts(uint8_t *o, uint8_t sel, uint16_t mss, uint8_t ws, uint32_t tsecr,
                       uint64_t now)
{
    size_t n = 0;
    if (sel & 1) {
        o[n++] = 2;
        o[n++] = 4;
        wr16(o + n, mss);
        n += 2;
    }
    if (sel & 2) {
        o[n++] = 1;
        o[n++] = 3;
        o[n++] = 3;
        o[n++] = ws;
    }
    if (sel & 4) {
        o[n++] = 1;
        o[n++] = 1;
        o[n++] = 4;
        o[n++] = 2;
    }
    if (sel & 8) {
        o[n++] = 1;
        o[n++] = 1;
        o[n++] = 8;
        o[n++] = 10;
        wr32(o + n, (uint32_t)(now / 1000u));
        wr32(o + n + 4, tsecr);
        n += 8;
    }
    return n;
}

static void t_new_peer(struct conn *c, uint32_t iss)
{
    c->ts_on = 0;
    /* The read check's bound (p_max) covers every segment sent from this
     * slot's port: the stack may still deliver data of an earlier SYN. It
     * holds only while all of them used one ISS; after another, it is off. */
    if (c->p_max_ok && iss != c->p_iss)
        c->p_mixed = 1;
    c->p_iss = iss;
    c->p_nxt = iss + 1u;
    c->heard = 0;
}

/* ---- the application -------------------------------------------------------- */

static int t_ctl(struct fzt *t, uint16_t type, uint32_t h, uint32_t a, int64_t v,
                 struct moat_msg *r)
{
    struct moat_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.sock = h;
    switch (type) {
    case MOAT_MSG_SHUTDOWN:
        m.body.shut.how = a;
        break;
    case MOAT_MSG_SETOPT:
        m.body.opt.opt = a;
        m.body.opt.value = v;
        break;
    case MOAT_MSG_CONNECT:
        m.body.addr.ip = FZ_R_IP;
        m.body.addr.port = (uint16_t)a;
        break;
    case MOAT_MSG_OPEN:
        m.body.open.type = MOAT_SOCK_STREAM;
        break;
    default:
        break;
    }
    return fz_call(&t->z, &m, r);
}

static void t_attach(struct fzt *t, struct conn *c, uint32_t h)
{
    c->h = h;
    fz_rings(&t->z, h, &c->rx, &c->tx);
    struct tcp_cb *cb = t_tcb(t, h);
    c->iss = cb->iss;
    c->iss_ok = 1;
    c->written = 0;
    c->nread = 0;
    c->irs_ok = 0;
}

static void t_read(struct fzt *t, struct conn *c, uint32_t want)
{
    uint32_t avail;
    uint8_t buf[4096];
    if (!c->h)
        return;
    if (moat_ring_avail(&c->rx, &avail) != 0)
        fz_fail("core published an impossible stream rx index");
    if (avail > want)
        avail = want;
    if (avail > sizeof buf)
        avail = sizeof buf;
    if (avail == 0)
        return;
    if (!c->irs_ok) {
        c->irs = t_tcb(t, c->h)->irs;
        c->irs_ok = 1;
    }
    moat_ring_get(&c->rx, 0, buf, avail);
    moat_ring_consume(&c->rx, avail);
    uint32_t base = c->irs + 1u + c->nread;
    for (uint32_t i = 0; i < avail; i++)
        if (buf[i] != fz_pattern(base + i))
            fz_fail("stream delivered a byte the peer never sent there");
    if (c->p_max_ok && !c->p_mixed && TCP_SEQ_GT(base + avail, c->p_max) &&
        c->irs == c->p_iss)
        fz_fail("stream delivered more bytes than the peer sent");
    c->nread += avail;
    mcore_poll(t->z.core, t->z.now);
}

static void t_write(struct fzt *t, struct conn *c, uint32_t n)
{
    uint32_t space;
    uint8_t buf[4096];
    if (!c->h)
        return;
    if (moat_ring_space(&c->tx, &space) != 0)
        fz_fail("core published an impossible stream tx index");
    if (n > space)
        n = space;
    if (n > sizeof buf)
        n = sizeof buf;
    for (uint32_t i = 0; i < n; i++)
        buf[i] = app_byte(c->written + i);
    moat_ring_put(&c->tx, 0, buf, n);
    moat_ring_publish(&c->tx, n);
    c->written += n;
    mcore_poll(t->z.core, t->z.now);
}

static void t_accept(struct fzt *t)
{
    struct moat_msg r;
    if (t_ctl(t, MOAT_MSG_ACCEPT, t->h_lis, 0, 0, &r) != 0)
        return;
    uint16_t rport = r.body.resp.remote.port;
    for (unsigned k = 0; k < T_NCONN; k++) {
        struct conn *c = &t->c[k];
        if (c->used && !c->active && c->pport == rport) {
            t_attach(t, c, r.body.resp.sock);
            return;
        }
    }
    /* a connection of a passive peer whose slot has since been taken by
     * an active open: the application does not want it */
    if (rport < 40000u || rport >= 40000u + T_NCONN)
        fz_fail("accepted a connection from a port the peer never used");
    t_ctl(t, MOAT_MSG_ABORT, r.body.resp.sock, 0, 0, &r);
}

/* ---- the program ------------------------------------------------------------ */

static void run_op(struct fzt *t, uint8_t op, struct fz_rd *r)
{
    struct fz *z = &t->z;
    unsigned k = (op >> 4) & 3u;
    if (k >= T_NCONN)
        k = 0;
    struct conn *c = &t->c[k];
    uint8_t opt[40];
    struct moat_msg resp;

    switch (op & 15u) {
    case 0: {       /* peer SYN to port 80: sel u8, mss u16, ws u8, iss u8 */
        uint8_t sel = fz_arg8(r);
        uint16_t mss = fz_arg16(r);
        uint8_t ws = fz_arg8(r);
        uint32_t iss = 0x10000000u * (fz_arg8(r) & 15u) + 777u;
        if (c->used && c->active)
            break;
        c->used = 1;
        c->active = 0;
        c->pport = (uint16_t)(40000u + k);
        c->lport = 80;
        t_new_peer(c, iss);
        size_t n = syn_opts(opt, sel, mss, ws, 0, z->now);
        t_send(t, c, iss, 0, (uint8_t)(0x02 | ((sel & 0x10) ? 0xc0 : 0)), 65535, opt, n, 0);
        break;
    }
    case 1: {       /* application connects to port 7000+k: cong u8 */
        uint8_t cfg = fz_arg8(r);
        if (c->used)
            break;
        if (t_ctl(t, MOAT_MSG_OPEN, 0, 0, 0, &resp) != 0)
            break;
        uint32_t h = resp.body.resp.sock;
        if (cfg & 1)
            t_ctl(t, MOAT_MSG_SETOPT, h, MOAT_OPT_TCP_CONG,
                  (cfg & 2) ? MOAT_TCP_CONG_CUBIC : MOAT_TCP_CONG_NEWRENO, &resp);
        if (cfg & 4)
            t_ctl(t, MOAT_MSG_SETOPT, h, MOAT_OPT_NODELAY, 1, &resp);
        c->used = 1;
        c->active = 1;
        c->pport = (uint16_t)(7000u + k);
        c->heard = 0;
        c->p_max_ok = 0;       /* a new connection: the aborted one delivers nothing */
        c->p_mixed = 0;
        t_attach(t, c, h);
        if (t_ctl(t, MOAT_MSG_CONNECT, h, c->pport, 0, &resp) != 0)
            c->iss_ok = 0;
        else
            c->iss = t_tcb(t, h)->iss;
        c->lport = t->z.core->socks[moat_handle_idx(h)].lport;
        break;
    }
    case 2: {       /* peer SYN-ACK for an active open: sel u8, mss u16, ws u8 */
        uint8_t sel = fz_arg8(r);
        uint16_t mss = fz_arg16(r);
        uint8_t ws = fz_arg8(r);
        if (!c->used || !c->active || !c->heard)
            break;
        int offered = c->ts_on;
        t_new_peer(c, 0x20000000u + 99u * k);
        c->heard = 1;
        c->ts_on = offered && (sel & 8);
        size_t n = syn_opts(opt, sel, mss, ws, c->s_tsval, z->now);
        t_send(t, c, c->p_iss, c->s_end, (uint8_t)(0x12 | ((sel & 0x10) ? 0x40 : 0)), 65535,
               opt, n, 0);
        break;
    }
    case 3: {       /* peer segment: flags u8, dseq i8, dack i8, len u16, wnd u16, omask u8,
                       sack a u16, sack b u16. omask bit 0: timestamps even if not
                       negotiated, bit 5: none even if negotiated, bits 1-2: SACK
                       blocks, bit 3: keep SYN/RST flags, bit 4: length up to 64 K */
        uint8_t fl = fz_arg8(r);
        int8_t dseq = (int8_t)fz_arg8(r);
        int8_t dack = (int8_t)fz_arg8(r);
        uint16_t len = fz_arg16(r);
        uint16_t wnd = fz_arg16(r);
        uint8_t om = fz_arg8(r);
        uint16_t sa = fz_arg16(r), sb = fz_arg16(r);
        if (!c->used)
            break;
        size_t n = 0;
        if ((om & 1) || (c->ts_on && !(om & 0x20))) {   /* timestamps */
            opt[n++] = 1;
            opt[n++] = 1;
            opt[n++] = 8;
            opt[n++] = 10;
            wr32(opt + n, (uint32_t)(z->now / 1000u));
            wr32(opt + n + 4, c->s_tsval);
            n += 8;
        }
        unsigned nsack = (om >> 1) & 3u;
        if (nsack) {
            opt[n++] = 1;
            opt[n++] = 1;
            opt[n++] = 5;
            opt[n++] = (uint8_t)(2 + 8 * nsack);
            for (unsigned i = 0; i < nsack; i++) {
                uint32_t hi = c->s_end - (uint32_t)sa * (i + 1u) / 4u;
                uint32_t lo = hi - sb / (i + 1u) - 1u;
                wr32(opt + n, lo);
                wr32(opt + n + 4, hi);
                n += 8;
            }
        }
        uint32_t seq = c->p_nxt + (uint32_t)(int32_t)dseq;
        uint32_t ack = c->s_end + (uint32_t)(int32_t)dack;
        if ((om & 8) == 0)
            fl = (uint8_t)(fl & ~0x06u) | 0x10;     /* mostly plain ACKs, no SYN/RST */
        if ((om & 16) == 0)
            len = (uint16_t)(len % 1461u);
        t_send(t, c, seq, ack, fl, wnd, opt, n, len);
        uint32_t end = seq + len + ((fl & 0x01) ? 1u : 0u);
        if (TCP_SEQ_GT(end, c->p_nxt) && !(fl & 0x04))
            c->p_nxt = end;
        break;
    }
    case 4: {       /* peer ACKs everything, wnd u16 */
        uint16_t wnd = fz_arg16(r);
        if (c->used && c->heard)
            t_send(t, c, c->p_nxt, c->s_end, 0x10, wnd, NULL, 0, 0);
        break;
    }
    case 5:         /* application writes: n u16 */
        t_write(t, c, fz_arg16(r));
        break;
    case 6:         /* application reads: n u16 */
        t_read(t, c, fz_arg16(r));
        break;
    case 7:
        t_accept(t);
        break;
    case 8: {       /* shutdown: how u8 */
        uint8_t how = fz_arg8(r);
        if (c->h)
            t_ctl(t, MOAT_MSG_SHUTDOWN, c->h, (uint32_t)how % 4u, 0, &resp);
        break;
    }
    case 9:         /* close (bit 6) or abort: the slot forgets the handle */
        if (c->h) {
            t_ctl(t, (op & 0x40) ? MOAT_MSG_CLOSE : MOAT_MSG_ABORT, c->h, 0, 0, &resp);
            c->h = 0;
            if (!(op & 0x40))
                c->used = 0;
        }
        break;
    case 10: {      /* setopt: opt u8, value i16 */
        uint8_t o = fz_arg8(r);
        int16_t v = (int16_t)fz_arg16(r);
        if (c->h)
            t_ctl(t, MOAT_MSG_SETOPT, c->h, o % 14u, (int64_t)v * ((o & 0x80) ? 64 : 1),
                  &resp);
        break;
    }
    case 11: {      /* clock: ms u16 (bit 6: run to the next deadline instead) */
        uint16_t ms = fz_arg16(r);
        if (op & 0x40) {
            uint64_t due = mcore_poll(z->core, z->now);
            if (due != MCORE_NEVER && due > z->now && due - z->now < 3600ull * 1000000u)
                fz_run_timers(z, due);
        } else {
            fz_run_timers(z, z->now + (uint64_t)ms * 1000u);
        }
        break;
    }
    case 12: {      /* peer RST: dseq i8 (bit 6: with ACK) */
        int8_t d = (int8_t)fz_arg8(r);
        if (c->used)
            t_send(t, c, c->p_nxt + (uint32_t)(int32_t)d, c->s_end,
                   (uint8_t)(0x04 | ((op & 0x40) ? 0x10 : 0)), 0, NULL, 0, 0);
        break;
    }
    case 13: {      /* ICMP error about the last segment sent to the peer: type u8,
                       code u8, mtu u16 */
        uint8_t type = fz_arg8(r) & 1u ? 3 : 11;
        uint8_t code = fz_arg8(r);
        uint16_t mtu = fz_arg16(r);
        const uint8_t *tc;
        size_t tl;
        if (!fz_cap_tcp(z, 0, &tc, &tl))
            break;
        uint8_t fr[14 + 20 + 8 + 60 + 8];
        const uint8_t *qip = tc - 20;       /* the stack sends no IP options */
        uint8_t *ip = fr + 14, *ic = ip + 20;
        fz_eth(fr, 0x0800);
        fz_ip4(ip, 1, 8 + 28, 0);
        memset(ic, 0, 8);
        ic[0] = type;
        ic[1] = (uint8_t)(code % 6u);
        wr16(ic + 6, mtu);
        memcpy(ic + 8, qip, 28);
        wr16(ic + 2, (uint16_t)~fz_sum16(0, ic, 36));
        fz_input(z, fr, 14 + 20 + 36);
        break;
    }
    case 14: {      /* raw segment: flags u8, dseq i8, olen u8, opts[olen], len u16 */
        uint8_t fl = fz_arg8(r);
        int8_t dseq = (int8_t)fz_arg8(r);
        size_t ol = fz_arg8(r) % 41u;
        for (size_t i = 0; i < ol; i++)
            opt[i] = fz_arg8(r);
        uint16_t len = fz_arg16(r) % 1461u;
        if (c->used) {
            uint32_t seq = c->p_nxt + (uint32_t)(int32_t)dseq;
            t_send(t, c, seq, c->s_end, fl, 65535, opt, ol, len);
            uint32_t end = seq + len + ((fl & 0x01) ? 1u : 0u);
            if (TCP_SEQ_GT(end, c->p_nxt) && !(fl & 0x06))
                c->p_nxt = end;
        }
        break;
    }
    default:        /* peer FIN (with ACK) */
        if (c->used && c->heard) {
            t_send(t, c, c->p_nxt, c->s_end, 0x11, 65535, NULL, 0, 0);
            c->p_nxt++;
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fzt one;       /* static: the snapshot's address (fz.h) */
    struct fzt *t = &one;
    if (!fz_restore(t, sizeof *t)) {
        t_setup(t);
        fz_snapshot(t, sizeof *t);
    }
    struct fz_rd r = {data, size, 0};
    for (unsigned ops = 0; r.off < r.n && ops < 1000; ops++)
        run_op(t, fz_arg8(&r), &r);
    for (unsigned k = 0; k < T_NCONN; k++)
        t_read(t, &t->c[k], 1u << 20);
    fz_finish(&t->z);
    return 0;
}
