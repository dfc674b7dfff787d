/* SPDX-License-Identifier: MIT */
/*
 * Link-boundary fuzz harness: the fuzzer is a hostile link domain that
 * shares the frame region (link/linkring.h) with the net side
 * of link/linkring.c, which feeds a real core (as netloop
 * does). It writes descriptors with any offset, length and flags, any
 * ring index of the four rings, the bytes of any buffer (also after
 * handing it over), and the header's control words (generation bumps:
 * the restart protocol; net_ack, stop, sleeping flags, magic) -- and it
 * can also behave, consuming what the net side sends and giving buffers
 * back, so that the honest paths run too.
 *
 * Program: op u8 then arguments (missing bytes read as 0); op % 13:
 *   0 RX      buf u8, len u16: an honest receive descriptor for buffer
 *             buf of the rx pool (a frame the harness wrote with BUF)
 *   1 RXRAW   off u32, len u16, flags u16 (op bit 5: rsvd u32): any
 *             descriptor on the rx ring (rsvd: the bytes skipped before
 *             the frame, 0..LINKRING_RX_SKIP_MAX; kept near that range
 *             unless op bit 7)
 *   2 TXFREE  off u32 (op bit 5: rsvd u32): a descriptor on the tx-free
 *             ring (rsvd must be 0 there)
 *   3 INDEX   ring u8, value u32 (op bit 7: delta i16): a ring index the
 *             link side owns (rx prod, rx-free cons, tx cons, tx-free prod)
 *   4 BUF     buf u8, at u16, n u8, bytes: write a buffer (any pool)
 *   5 FRAME   buf u8, kind u8: a valid frame (ARP request, ICMP echo,
 *             UDP, TCP SYN) written into an rx buffer and pushed
 *   6 HDR     field u8, value u32: header words
 *   7 NETRX   n u8: the net side takes up to n frames into the core
 *   8 LINKTX  the link side consumes the tx ring honestly, checks every
 *             descriptor and frame, and gives the buffers back
 *   9 LINKRX  the link side takes back its receive buffers (checked)
 *  10 FLUSH   the net side flushes and arms (sleep protocol)
 *  11 CLOCK   ms u16
 *  12 SEND    the core sends: a UDP datagram from the application
 * Invariants: the net side hands the core only frames of 1..frame_size
 * bytes; every descriptor it publishes names a buffer of the right pool,
 * aligned, with a valid length (checked while the harness's own index of
 * that ring is honest); no buffer is handed to the link twice; frames it
 * sends are well formed (fz_check_frame); no leak (LeakSanitizer) and no
 * packet buffer held after shutdown.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fz.h"
#include "link/linkring.h"

#define L_NBUF 4u

struct fzl {
    struct fz z;
    struct linkring_layout lay;
    uint8_t *base;
    struct moat_link *link;
    struct moat_ring ring[LINKRING_NRINGS];  /* the link side's views */
    int honest[LINKRING_NRINGS];             /* our index there is our own */
    uint8_t held[2 * L_NBUF];                /* the link side holds buffer i */
    uint32_t gen;                            /* generation our view is of */
    int trust;                               /* gen/net_ack never forged */
    int bufs_ok;                             /* held[] is exact and transmit buffers
                                                untouched: no raw descriptor, index
                                                or tx-buffer write since the last
                                                restart */
    uint32_t h_udp;
    struct moat_ring urx, utx;
};

static struct moat_ring_sh *lr_sh(struct fzl *l, int i)
{
    return (struct moat_ring_sh *)(l->base + l->lay.off_rings) + i;
}

static void l_setup(struct fzl *l)
{
    memset(l, 0, sizeof *l);
    struct linkring_geom g;
    linkring_geom_for_mtu(FZ_MTU, L_NBUF, &g);
    if (linkring_layout(&g, &l->lay) != 0)
        fz_fail("linkring layout");
    l->base = fz_buf(2, l->lay.size, 4096);
    memset(l->base, 0, l->lay.buf_off);
    linkring_region_init(l->base, &l->lay);
    int nb = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int lb = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (nb < 0 || lb < 0)
        fz_fail("eventfd");
    if (linkring_net_link(l->base, l->lay.size, &l->lay, nb, lb, FZ_MTU, &l->link) != 0)
        fz_fail("linkring_net_link");
    /* the link side, as a fresh moat-linkd after the net side's ack */
    for (int i = 0; i < LINKRING_NRINGS; i++) {
        moat_ring_attach(&l->ring[i], lr_sh(l, i),
                         l->base + l->lay.off_desc + (size_t)i * g.ring_slots * sizeof(struct linkring_desc),
                         g.ring_slots * sizeof(struct linkring_desc), 0);
        l->honest[i] = 1;
    }
    for (unsigned i = 0; i < L_NBUF; i++)
        l->held[i] = 1;
    l->gen = atomic_load(&linkring_hdr(l->base)->gen);
    l->trust = 1;
    l->bufs_ok = 1;
    fz_config(&l->z);
    l->z.link_override = l->link;
    fz_start(&l->z);
    l->h_udp = fz_sock(&l->z, MOAT_SOCK_DGRAM, 5000, 0, 0, 0);
    if (l->h_udp)
        fz_rings(&l->z, l->h_udp, &l->urx, &l->utx);
}

static uint8_t *l_buf(struct fzl *l, uint32_t i)
{
    return l->base + l->lay.buf_off + (size_t)i * l->lay.g.frame_size;
}

/* Producer rings of the link side: rx and tx-free. */
static void l_push(struct fzl *l, int ri, uint32_t off, uint16_t len, uint16_t flags,
                   uint32_t rsvd)
{
    struct moat_ring *r = &l->ring[ri];
    struct linkring_desc d = {off, len, flags, rsvd};
    uint32_t cons = atomic_load(&r->sh->cons);
    if (r->local - cons >= r->cap)
        return;                 /* full (or the net side's index is odd) */
    moat_ring_put(r, 0, &d, sizeof d);
    moat_ring_publish(r, sizeof d);
}

static void l_honest_push(struct fzl *l, int ri, uint32_t i, uint16_t len)
{
    if (!l->held[i] || !l->honest[ri])
        return;
    l->held[i] = 0;
    l_push(l, ri, i * l->lay.g.frame_size, len, 0, 0);
}

/* Consumer rings of the link side: tx and rx-free. The net side's
 * descriptors are checked while our index has not been tampered with. */
static void l_consume(struct fzl *l, int ri)
{
    struct moat_ring *r = &l->ring[ri];
    uint32_t fs = l->lay.g.frame_size;
    int tx = ri == LINKRING_TX;
    uint32_t first = tx ? L_NBUF : 0;
    for (unsigned n = 0; n < 2 * L_NBUF; n++) {
        uint32_t prod = atomic_load(&r->sh->prod);
        if (prod - r->local < sizeof(struct linkring_desc) || prod - r->local > r->cap)
            break;
        struct linkring_desc d;
        moat_ring_get(r, 0, &d, sizeof d);
        r->local += sizeof d;
        atomic_store(&r->sh->cons, r->local);
        if (!l->honest[ri] || !l->trust || l->gen != atomic_load(&linkring_hdr(l->base)->gen))
            continue;
        uint32_t i = d.off / fs;
        if (d.off % fs || i < first || i >= first + L_NBUF || d.flags)
            fz_fail("net side published a descriptor outside its pool");
        if (tx && (d.len == 0 || d.len > fs))
            fz_fail("net side published a transmit length out of range");
        if (l->held[i] && l->bufs_ok)
            fz_fail("net side handed over a buffer the link side holds");
        l->held[i] = 1;
        if (tx) {
            /* the frame is the net side's only while the link side kept
             * to the protocol (a buffer given back early gets reused) */
            if (l->bufs_ok)
                fz_check_frame(l_buf(l, i), d.len);
            l_honest_push(l, LINKRING_TXFREE, i, 0);
        }
    }
}

static void l_netrx(struct fzl *l, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        const uint8_t *f;
        size_t len;
        if (l->link->ops->rx_acquire(l->link, &f, &len) != 0)
            break;
        if (len == 0 || len > l->lay.g.frame_size)
            fz_fail("net side took a frame of impossible length");
        mcore_input(l->z.core, 0, f, len, l->z.now);
        l->link->ops->rx_release(l->link);
    }
    mcore_poll(l->z.core, l->z.now);
}

static size_t l_frame(uint8_t *fr, uint8_t kind)
{
    uint8_t *ip = fr + 14, *p = ip + 20;
    switch (kind % 4u) {
    case 0:     /* ARP request for us */
        memset(fr, 0xff, 6);
        memcpy(fr + 6, fz_r_mac, 6);
        wr16(fr + 12, 0x0806);
        wr16(fr + 14, 1);
        wr16(fr + 16, 0x0800);
        fr[18] = 6;
        fr[19] = 4;
        wr16(fr + 20, 1);
        memcpy(fr + 22, fz_r_mac, 6);
        wr32(fr + 28, FZ_R_IP);
        memset(fr + 32, 0, 6);
        wr32(fr + 38, FZ_L_IP);
        return 42;
    case 1:     /* ICMP echo request */
        fz_eth(fr, 0x0800);
        fz_ip4(ip, 1, 8 + 32, 0);
        memset(p, 0, 40);
        p[0] = 8;
        wr16(p + 2, (uint16_t)~fz_sum16(0, p, 40));
        return 14 + 20 + 40;
    case 2:     /* UDP to the socket on 5000 */
        fz_eth(fr, 0x0800);
        fz_ip4(ip, 17, 8 + 16, 0);
        wr16(p, 7);
        wr16(p + 2, 5000);
        wr16(p + 4, 24);
        wr16(p + 6, 0);
        memset(p + 8, 'u', 16);
        return 14 + 20 + 24;
    default:    /* TCP SYN to a closed port: the core answers with a RST */
        fz_eth(fr, 0x0800);
        fz_ip4(ip, 6, 20, 0);
        memset(p, 0, 20);
        wr16(p, 40000);
        wr16(p + 2, 81);
        wr32(p + 4, 1);
        p[12] = 0x50;
        p[13] = 0x02;
        wr16(p + 14, 1000);
        wr16(p + 16, fz_l4sum(ip, 6, p, 20));
        return 14 + 20 + 20;
    }
}

static void run_op(struct fzl *l, uint8_t op, struct fz_rd *r)
{
    uint32_t fs = l->lay.g.frame_size;
    switch (op % 13u) {
    case 0: {
        uint32_t i = fz_arg8(r) % L_NBUF;
        uint16_t len = fz_arg16(r);
        l_honest_push(l, LINKRING_RX, i, (uint16_t)(len % (fs + 1u)));
        break;
    }
    case 1: {
        uint32_t off = fz_arg32(r);
        uint16_t len = fz_arg16(r), fl = fz_arg16(r);
        uint32_t rsvd = (op & 0x20) ? fz_arg32(r) : 0;
        if (!(op & 0x80)) {
            off %= 2u * L_NBUF * fs;
            rsvd %= LINKRING_RX_SKIP_MAX + 2u;   /* every valid skip and the first bad one */
        }
        l_push(l, LINKRING_RX, off, len, (op & 0x40) ? fl : 0, rsvd);
        l->bufs_ok = 0;     /* may hand over a buffer twice: the net side must cope */
        break;
    }
    case 2: {
        uint32_t off = fz_arg32(r);
        uint32_t rsvd = (op & 0x20) ? fz_arg32(r) : 0;
        if (!(op & 0x80))
            off %= 2u * L_NBUF * fs;
        l_push(l, LINKRING_TXFREE, off, 0, 0, rsvd);
        l->bufs_ok = 0;
        break;
    }
    case 3: {
        int ri = fz_arg8(r) % LINKRING_NRINGS;
        int prod = ri == LINKRING_RX || ri == LINKRING_TXFREE;
        _Atomic uint32_t *w = prod ? &lr_sh(l, ri)->prod : &lr_sh(l, ri)->cons;
        uint32_t v = (op & 0x80) ? atomic_load(w) + (uint32_t)(int32_t)(int16_t)fz_arg16(r)
                                 : fz_arg32(r);
        atomic_store(w, v);
        l->ring[ri].local = v;
        l->honest[ri] = 0;
        l->bufs_ok = 0;     /* stale descriptors become visible again */
        break;
    }
    case 4: {
        uint32_t i = fz_arg8(r) % (2u * L_NBUF);
        uint32_t at = fz_arg16(r) % fs;
        uint32_t n = fz_arg8(r);
        uint8_t *b = l_buf(l, i);
        if (i >= L_NBUF)
            l->bufs_ok = 0;     /* scribbles on a transmit buffer */
        for (uint32_t k = 0; k < n && at + k < fs; k++)
            b[at + k] = fz_arg8(r);
        break;
    }
    case 5: {
        uint32_t i = fz_arg8(r) % L_NBUF;
        uint8_t kind = fz_arg8(r);
        if (!l->held[i])
            break;
        size_t n = l_frame(l_buf(l, i), kind);
        l_honest_push(l, LINKRING_RX, i, (uint16_t)n);
        break;
    }
    case 6: {
        struct linkring_hdr *h = linkring_hdr(l->base);
        uint8_t f = fz_arg8(r);
        uint32_t v = fz_arg32(r);
        switch (f % 8u) {
        case 0:     /* a restart: the supervisor's move, but the words are shared */
            atomic_store(&h->gen, atomic_load(&h->gen) + 1u + (v & 1u));
            break;
        case 1:
            atomic_store(&h->net_ack, v);
            l->trust = 0;
            break;
        case 2: atomic_store(&h->stop, v); break;
        case 3: atomic_store(&h->net_broken, v); break;
        case 4: atomic_store(&h->link_sleeping, v & 1u); break;
        case 5: atomic_store(&h->net_sleeping, v & 1u); break;
        case 6: h->magic = v; break;
        default:
            atomic_store(&h->gen, v);
            l->trust = 0;
            break;
        }
        break;
    }
    case 7:
        l_netrx(l, fz_arg8(r) % 16u);
        break;
    case 8:
        l_consume(l, LINKRING_TX);
        break;
    case 9:
        l_consume(l, LINKRING_RXFREE);
        break;
    case 10:
        l->link->ops->flush(l->link);
        (void)l->link->ops->arm(l->link);
        break;
    case 11:
        fz_run_timers(&l->z, l->z.now + (uint64_t)fz_arg16(r) * 1000u);
        break;
    default: {
        uint32_t space;
        uint8_t rec[8 + 64];
        struct moat_dgram_hdr h = { .ip = FZ_R_IP, .port = 7, .len = 64 };
        if (!l->h_udp || moat_ring_space(&l->utx, &space) != 0 || space < sizeof rec)
            break;
        memcpy(rec, &h, sizeof h);
        memset(rec + 8, 'd', 64);
        moat_ring_put(&l->utx, 0, rec, sizeof rec);
        moat_ring_publish(&l->utx, sizeof rec);
        mcore_poll(l->z.core, l->z.now);
        break;
    }
    }
    /* the restart protocol, as moat-linkd follows it: once the net side
     * acknowledged a new generation, the link side owns every receive
     * buffer again and all four rings start from zero */
    struct linkring_hdr *h = linkring_hdr(l->base);
    uint32_t g = atomic_load(&h->gen);
    if (l->trust && g != l->gen && atomic_load(&h->net_ack) == g) {
        l->gen = g;
        l->bufs_ok = 1;
        for (int i = 0; i < LINKRING_NRINGS; i++) {
            l->ring[i].local = 0;
            l->honest[i] = 1;
        }
        for (unsigned i = 0; i < 2 * L_NBUF; i++)
            l->held[i] = i < L_NBUF;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fzl *l = malloc(sizeof *l);
    if (!l)
        fz_fail("out of memory");
    l_setup(l);
    struct fz_rd r = {data, size, 0};
    for (unsigned ops = 0; r.off < r.n && ops < 1000; ops++)
        run_op(l, fz_arg8(&r), &r);
    fz_finish(&l->z);
    l->link->ops->close(l->link);
    free(l);
    return 0;
}
