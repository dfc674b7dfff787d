/* SPDX-License-Identifier: MIT */
/*
 * The link boundary of the factored backends (see linkring.h for the
 * region layout and the restart protocol): the net side as a struct
 * moat_link that netloop drives like any device, and the link side that
 * moat-linkd uses to move frames between a device and the rings.
 *
 * Trust: the net side does not trust the link domain. Every descriptor is
 * copied once into a local variable and checked there (pool, alignment,
 * length, ownership bit) before it is used; received frames are copied
 * into private memory before the core sees them, so a link domain that
 * keeps writing a buffer after handing it over cannot change bytes the
 * core has already validated. A ring index that claims more than the
 * capacity cuts the link off (net_broken) until the supervisor restarts
 * the link domain.
 *
 * Does not open devices, spawn processes or decide when to sleep.
 */
#define _GNU_SOURCE
#include "linkring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/boundary.h"
#include "moat/err.h"
#include "ports/linux/gso.h"

#define LR_NONE      UINT32_MAX
/* What a descriptor's rsvd word may hold on a ring (lr_check). */
#define LR_AUX_NONE  0
#define LR_AUX_GSO   1
#define LR_AUX_SKIP  2
#define LR_DESC      ((uint32_t)sizeof(struct linkring_desc))
/* Receive buffers are given back in batches of this many (or when the rx
 * ring runs dry, or at flush), so that one cache-line write covers many
 * frames and a duplicate within a batch is still caught by the bitmap. */
#define LR_RET_BATCH 32u
/* Where the frame handed out by tx_acquire lies in a GSO region (see
 * lr_net_tx_acquire_gso). */
#define LR_OUT_NONE   0
#define LR_OUT_STAGE  1     /* private stage buffer */
#define LR_OUT_APPEND 2     /* in the pending GSO frame, headers over its tail */
#define LR_OUT_FRESH  3     /* at the start of free transmit buffer cur_tx */
/* Largest Ethernet + IPv4 + TCP header a GSO segment can have. */
#define LR_SAVE_MAX  (14u + 20u + 60u)

static const char *const lr_bad_names[] = {
#define LINKRING_BAD_NAME_(n, d) #n,
    LINKRING_BAD(LINKRING_BAD_NAME_)
#undef LINKRING_BAD_NAME_
};

const char *linkring_bad_name(int reason)
{
    if (reason < 0 || reason >= LINKRING_BAD_COUNT)
        return "UNKNOWN";
    return lr_bad_names[reason];
}

/* ---- geometry ----------------------------------------------------------- */

static int lr_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

void linkring_geom_for_mtu(uint16_t mtu, uint32_t nbufs, struct linkring_geom *g)
{
    /* Ethernet header, VLAN slack */
    linkring_geom_for_frame((uint32_t)mtu + 14u + 4u, nbufs, g);
}

void linkring_geom_for_frame(uint32_t need, uint32_t nbufs, struct linkring_geom *g)
{
    uint32_t fs = 2048;
    while (fs < need && fs < LINKRING_FRAME_MAX)
        fs <<= 1;
    uint32_t slots = 2;
    while (slots < nbufs)
        slots <<= 1;
    memset(g, 0, sizeof *g);
    g->frame_size = fs;
    g->n_rx = nbufs;
    g->n_tx = nbufs;
    g->ring_slots = slots;
}

/* Bytes before every transmit frame in its buffer (LINKRING_GEOM_TX_HEAD). */
static uint32_t lr_tx_head(const struct linkring_geom *g)
{
    return (g->flags & LINKRING_GEOM_TX_HEAD) ? LINKRING_TX_HEAD : 0;
}

static size_t lr_align(size_t v, size_t a) { return (v + a - 1) / a * a; }

int linkring_layout(const struct linkring_geom *g, struct linkring_layout *out)
{
    if (!g || !out || !lr_pow2(g->frame_size) || !lr_pow2(g->ring_slots))
        return MOAT_E_INVAL;
    if (g->frame_size < 2048 || g->frame_size > LINKRING_FRAME_MAX || g->n_rx == 0 ||
        g->n_tx == 0)
        return MOAT_E_RANGE;
    /* A ring holds every buffer of its pool, so an honest producer never
     * finds it full; slots * 16 must fit the ring's 32-bit arithmetic. */
    if (g->ring_slots < g->n_rx || g->ring_slots < g->n_tx || g->ring_slots > (1u << 20))
        return MOAT_E_RANGE;
    if ((g->flags & ~(LINKRING_GEOM_TX_GSO | LINKRING_GEOM_TX_HEAD)) != 0 || g->rsvd != 0)
        return MOAT_E_INVAL;
    if ((g->flags & LINKRING_GEOM_TX_GSO) &&
        g->frame_size < 14u + MOAT_GSO_IP_MAX + lr_tx_head(g))
        return MOAT_E_RANGE;
    /* Descriptor offsets are 32-bit. */
    if ((uint64_t)(g->n_rx + (uint64_t)g->n_tx) * g->frame_size > UINT32_MAX)
        return MOAT_E_RANGE;
    memset(out, 0, sizeof *out);
    out->g = *g;
    out->off_rings = lr_align(sizeof(struct linkring_hdr), MOAT_CACHELINE);
    out->off_desc = out->off_rings + LINKRING_NRINGS * sizeof(struct moat_ring_sh);
    size_t desc_end = out->off_desc + (size_t)LINKRING_NRINGS * g->ring_slots * LR_DESC;
    out->buf_off = lr_align(desc_end, g->frame_size < 4096 ? 4096 : g->frame_size);
    out->size = out->buf_off + ((size_t)g->n_rx + g->n_tx) * g->frame_size;
    return 0;
}

static struct moat_ring_sh *lr_ring_sh(void *base, const struct linkring_layout *lay, int i)
{
    return (struct moat_ring_sh *)((uint8_t *)base + lay->off_rings) + i;
}

static uint8_t *lr_ring_data(void *base, const struct linkring_layout *lay, int i)
{
    return (uint8_t *)base + lay->off_desc + (size_t)i * lay->g.ring_slots * LR_DESC;
}

void linkring_region_init(void *base, const struct linkring_layout *lay)
{
    struct linkring_hdr *h = linkring_hdr(base);
    h->magic = LINKRING_MAGIC;
    h->version = LINKRING_VERSION;
    h->geom = lay->g;
    h->size = lay->size;
    for (int i = 0; i < LINKRING_NRINGS; i++)
        moat_ring_reset(lr_ring_sh(base, lay, i));
    atomic_store_explicit(&h->net_ack, 0, memory_order_relaxed);
    atomic_store_explicit(&h->last_call_net, -1, memory_order_relaxed);
    atomic_store_explicit(&h->last_call_link, -1, memory_order_relaxed);
    /* Pairs with the load-acquire of gen in lr_net_sync() / linkring_dev_ready(). */
    atomic_store_explicit(&h->gen, 1, memory_order_release);
}

int linkring_region_check(const void *base, size_t size, const struct linkring_layout *lay)
{
    const struct linkring_hdr *h = (const struct linkring_hdr *)base;
    if (!base || size < lay->size || size < sizeof *h)
        return MOAT_E_PEER;
    if (h->magic != LINKRING_MAGIC || h->version != LINKRING_VERSION || h->size != lay->size)
        return MOAT_E_PEER;
    if (memcmp(&h->geom, &lay->g, sizeof h->geom) != 0)
        return MOAT_E_PEER;
    return 0;
}

/* ---- doorbells ---------------------------------------------------------- */

void linkring_bell_ring(int fd)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already huge: the peer is awake anyway. */
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

void linkring_bell_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);   /* non-blocking eventfd */
    (void)r;
}

/* ---- ring helpers (one record = one descriptor) ------------------------- */

/* Consumer: take the next descriptor into @p d without publishing our index
 * (lr_cons_commit does that once per batch). Returns 0, MOAT_E_AGAIN or
 * MOAT_E_PEER (impossible producer index). */
static int lr_pop(struct moat_ring *r, struct linkring_desc *d)
{
    uint32_t avail;
    if (moat_ring_avail(r, &avail) != 0)
        return MOAT_E_PEER;
    if (avail < LR_DESC)
        return MOAT_E_AGAIN;
    /* The copy is the only read of the record: everything after works on
     * the private *d, so the peer rewriting the slot changes nothing. */
    moat_ring_get(r, 0, d, LR_DESC);
    r->local += LR_DESC;
    return 0;
}

static void lr_cons_commit(struct moat_ring *r)
{
    /* Pairs with the load-acquire of cons in moat_ring_space(): the
     * records before r->local have been copied out. */
    if (atomic_load_explicit(&r->sh->cons, memory_order_relaxed) != r->local)
        atomic_store_explicit(&r->sh->cons, r->local, memory_order_release);
}

static int lr_avail_desc(const struct moat_ring *r)
{
    uint32_t avail;
    return moat_ring_avail(r, &avail) == 0 && avail >= LR_DESC;
}

/* Producer: append and publish one descriptor. Returns 0, MOAT_E_NOBUFS or
 * MOAT_E_PEER (impossible consumer index). */
static int lr_push(struct moat_ring *r, uint32_t off, uint32_t len, uint32_t flags,
                   uint32_t aux)
{
    uint32_t space;
    if (moat_ring_space(r, &space) != 0)
        return MOAT_E_PEER;
    if (space < LR_DESC)
        return MOAT_E_NOBUFS;
    struct linkring_desc d = { off, len, flags, aux };
    moat_ring_put(r, 0, &d, LR_DESC);
    moat_ring_publish(r, LR_DESC);
    return 0;
}

static int lr_bit(const uint8_t *bits, uint32_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
static void lr_set(uint8_t *bits, uint32_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static void lr_clr(uint8_t *bits, uint32_t i) { bits[i >> 3] &= (uint8_t)~(1u << (i & 7)); }

/*
 * Check a descriptor received from the other side for a buffer of the pool
 * [first, first + count). @p need_len: it must carry a frame length.
 * @p flags_ok: the flag bits this ring may carry; @p aux: what rsvd may hold
 * there (LR_AUX_*: nothing, a GSO frame's segment size on the tx ring of a
 * GSO region, the frame's offset in its buffer on the rx ring).
 * Returns the buffer index, or LR_NONE after counting the reason.
 */
static uint32_t lr_check(const struct linkring_layout *lay, const uint8_t *mine,
                         const struct linkring_desc *d, uint32_t first, uint32_t count,
                         int need_len, uint32_t flags_ok, int aux,
                         struct linkring_counters *c)
{
    uint32_t fs = lay->g.frame_size;
    int gso = aux == LR_AUX_GSO && (d->flags & LINKRING_TX_GSO);
    int bad_aux = gso ? d->rsvd == 0 || d->rsvd > 0xffffu
                      : aux == LR_AUX_SKIP ? d->rsvd > LINKRING_RX_SKIP_MAX : d->rsvd != 0;
    if ((d->flags & ~flags_ok) != 0 || bad_aux) {
        c->bad[LINKRING_BAD_FLAGS]++;
        return LR_NONE;
    }
    if (d->off & (fs - 1)) {
        c->bad[LINKRING_BAD_ALIGN]++;
        return LR_NONE;
    }
    uint32_t i = d->off / fs;
    if (i < first || i - first >= count) {
        c->bad[LINKRING_BAD_RANGE]++;
        return LR_NONE;
    }
    /* rsvd is at most LINKRING_RX_SKIP_MAX where it is an offset: no wrap. */
    if (need_len && (d->len == 0 || d->len > fs || (aux == LR_AUX_SKIP && d->len + d->rsvd > fs))) {
        c->bad[LINKRING_BAD_LEN]++;
        return LR_NONE;
    }
    if (lr_bit(mine, i)) {
        c->bad[LINKRING_BAD_DUP]++;
        return LR_NONE;
    }
    return i;
}

static void lr_attach_rings(struct moat_ring ring[LINKRING_NRINGS], void *base,
                            const struct linkring_layout *lay)
{
    for (int i = 0; i < LINKRING_NRINGS; i++) {
        /* Cannot fail: ring_slots * 8 is a power of two >= 16 (checked
         * by linkring_layout). */
        (void)moat_ring_attach(&ring[i], lr_ring_sh(base, lay, i), lr_ring_data(base, lay, i),
                               lay->g.ring_slots * LR_DESC, 0);
    }
}

/* ---- net side ----------------------------------------------------------- */

struct lr_net {
    struct moat_link link;          /* first: netloop sees only this */
    void *base;
    struct linkring_hdr *hdr;
    struct linkring_layout lay;     /* private copy, never re-read */
    uint8_t *bufs;
    struct moat_ring ring[LINKRING_NRINGS];
    uint8_t *mine;                  /* bit per buffer: we hold it */
    uint32_t *free_tx;              /* transmit buffers we hold */
    uint32_t n_free_tx;
    uint32_t *ret_rx;               /* receive buffers to give back */
    uint32_t n_ret_rx;
    uint32_t cur_tx;                /* handed to the core by tx_acquire */
    uint8_t *copy;                  /* private copy of the current rx frame */
    uint32_t gen;                   /* generation we last reset for */
    int broken;
    int dirty;                      /* published something since the last bell */
    int net_bell, link_bell;
    struct linkring_counters cnt;
    linkring_try_fn try_fn;
    linkring_idle_fn idle_fn;
    /* LINKRING_GEOM_TX_GSO: the core writes each frame into stage (private
     * memory), and consecutive segments join gso, which is built in the
     * shared transmit buffer gso_idx and goes out as one descriptor. */
    uint8_t *stage;
    size_t stage_cap;
    int stage_out;                  /* LR_OUT_*: where the acquired frame is */
    uint8_t save[LR_SAVE_MAX];      /* LR_OUT_APPEND: the bytes it covers */
    struct moat_gso gso;
    uint32_t gso_idx;
};

static struct lr_net *lr_net_of(struct moat_link *l) { return (struct lr_net *)l; }

static void lr_net_reset(struct lr_net *n, uint32_t g)
{
    uint32_t nb = n->lay.g.n_rx + n->lay.g.n_tx;
    memset(n->mine, 0, (nb + 7) / 8);
    n->n_free_tx = 0;
    for (uint32_t i = n->lay.g.n_rx; i < nb; i++) {
        lr_set(n->mine, i);
        n->free_tx[n->n_free_tx++] = i;
    }
    n->n_ret_rx = 0;
    n->cur_tx = LR_NONE;
    n->gso.len = 0;         /* its buffer is taken back with the others */
    n->gso.segs = 0;
    n->stage_out = LR_OUT_NONE;
    for (int i = 0; i < LINKRING_NRINGS; i++) {
        moat_ring_reset(n->ring[i].sh);
        n->ring[i].local = 0;
    }
    n->broken = 0;
    n->dirty = 0;
    atomic_store_explicit(&n->hdr->net_broken, 0, memory_order_relaxed);
    n->gen = g;
    n->cnt.resets++;
    /* Pairs with the load-acquire of net_ack in linkring_dev_ready(): the
     * ring resets above are visible to the new link domain. */
    atomic_store_explicit(&n->hdr->net_ack, g, memory_order_release);
    linkring_bell_ring(n->link_bell);
}

/* A new link domain generation: reset our side. Returns nonzero if it did. */
static int lr_net_sync(struct lr_net *n)
{
    /* Pairs with the store-release of gen by the supervisor (after the old
     * link domain has been reaped) in linkring_region_init / the restart. */
    uint32_t g = atomic_load_explicit(&n->hdr->gen, memory_order_acquire);
    if (g == n->gen)
        return 0;
    lr_net_reset(n, g);
    return 1;
}

static void lr_net_try(struct lr_net *n)
{
    if (!n->try_fn || atomic_load_explicit(&n->hdr->try_net, memory_order_relaxed) == 0)
        return;
    unsigned t = atomic_exchange_explicit(&n->hdr->try_net, 0, memory_order_relaxed);
    if (t)
        n->try_fn(t);
}

static void lr_net_cut(struct lr_net *n)
{
    if (!n->broken) {
        n->broken = 1;
        n->cnt.bad[LINKRING_BAD_INDEX]++;
        atomic_store_explicit(&n->hdr->net_broken, 1, memory_order_relaxed);
    }
}

static void lr_net_return_rx(struct lr_net *n)
{
    for (uint32_t k = 0; k < n->n_ret_rx; k++) {
        uint32_t i = n->ret_rx[k];
        int r = lr_push(&n->ring[LINKRING_RXFREE], i * n->lay.g.frame_size, 0, 0, 0);
        if (r == MOAT_E_PEER) {
            lr_net_cut(n);
            break;
        }
        /* NOBUFS cannot happen with an honest consumer (the ring holds the
         * whole pool); with a dishonest one the buffer is simply lost. */
        lr_clr(n->mine, i);
        n->dirty = 1;
    }
    n->n_ret_rx = 0;
}

static int lr_net_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    struct lr_net *n = lr_net_of(l);
    lr_net_sync(n);
    lr_net_try(n);
    if (atomic_load_explicit(&n->hdr->net_sleeping, memory_order_relaxed))
        atomic_store_explicit(&n->hdr->net_sleeping, 0, memory_order_relaxed);
    if (n->broken)
        return MOAT_E_AGAIN;
    if (n->n_ret_rx >= LR_RET_BATCH)
        lr_net_return_rx(n);
    /* Bounded: at most one ring's worth of bad descriptors per call. */
    for (uint32_t tries = 0; tries < n->lay.g.ring_slots; tries++) {
        struct linkring_desc d;
        int r = lr_pop(&n->ring[LINKRING_RX], &d);
        if (r == MOAT_E_PEER) {
            lr_net_cut(n);
            return MOAT_E_AGAIN;
        }
        if (r != 0)
            break;
        uint32_t i = lr_check(&n->lay, n->mine, &d, 0, n->lay.g.n_rx, 1, MOAT_LINK_RX_KNOWN,
                              LR_AUX_SKIP, &n->cnt);
        if (i == LR_NONE)
            continue;
        lr_set(n->mine, i);
        /* The one copy: from here on the core reads private memory. */
        memcpy(n->copy, n->bufs + (size_t)i * n->lay.g.frame_size + d.rsvd, d.len);
        n->ret_rx[n->n_ret_rx++] = i;
        n->cnt.frames++;
        /* Checked above against the bits a receive descriptor may carry;
         * what they claim is the link domain's word (as the frame is). */
        n->link.rx_flags = d.flags;
        *frame = n->copy;
        *len = d.len;
        return 0;
    }
    /* Ring dry: give the buffers back now and free the ring slots. */
    lr_net_return_rx(n);
    lr_cons_commit(&n->ring[LINKRING_RX]);
    return MOAT_E_AGAIN;
}

static void lr_net_rx_release(struct moat_link *l)
{
    (void)l;    /* the frame was a private copy; its buffer is already queued */
}

static void lr_net_reclaim_tx(struct lr_net *n)
{
    for (uint32_t tries = 0; tries < n->lay.g.ring_slots; tries++) {
        struct linkring_desc d;
        int r = lr_pop(&n->ring[LINKRING_TXFREE], &d);
        if (r == MOAT_E_PEER) {
            lr_net_cut(n);
            return;
        }
        if (r != 0)
            break;
        uint32_t i = lr_check(&n->lay, n->mine, &d, n->lay.g.n_rx, n->lay.g.n_tx, 0, 0, 0, &n->cnt);
        if (i == LR_NONE)
            continue;
        lr_set(n->mine, i);
        n->free_tx[n->n_free_tx++] = i;
    }
    lr_cons_commit(&n->ring[LINKRING_TXFREE]);
}

/* Where the frame of transmit buffer @p i starts. */
static uint8_t *lr_net_tx_frame(struct lr_net *n, uint32_t i)
{
    return n->bufs + (size_t)i * n->lay.g.frame_size + lr_tx_head(&n->lay.g);
}

/*
 * GSO region: where the core writes its next frame. Without a copy when it
 * can be: while a GSO frame is pending and can take another full segment,
 * right where that segment's payload belongs, i.e. its headers over the
 * last hlen bytes of the frame so far (saved first, put back at commit);
 * otherwise at the start of a free transmit buffer, where a new GSO frame
 * can start or a plain frame go as it is. The private stage buffer (a copy
 * at commit) only when no buffer is free but one is pending. The core
 * writes into shared memory as on the plain path (lr_net_tx_acquire): a
 * link domain that writes there meanwhile spoils only the frame; every
 * length used at commit comes from the core's len, not from those bytes.
 */
static int lr_net_tx_acquire_gso(struct lr_net *n, uint8_t **buf, size_t *cap)
{
    struct moat_gso *g = &n->gso;
    if (g->len != 0 && !g->closed && g->hlen <= LR_SAVE_MAX &&
        g->len - 14u + g->mss <= MOAT_GSO_IP_MAX) {
        uint8_t *p = g->frame + g->len - g->hlen;
        memcpy(n->save, p, g->hlen);
        n->stage_out = LR_OUT_APPEND;
        *buf = p;
        *cap = n->stage_cap;
        return 0;
    }
    if (n->n_free_tx == 0)
        lr_net_reclaim_tx(n);
    if (n->n_free_tx > 0) {
        n->cur_tx = n->free_tx[--n->n_free_tx];
        n->stage_out = LR_OUT_FRESH;
        *buf = lr_net_tx_frame(n, n->cur_tx);
        *cap = n->stage_cap;
        return 0;
    }
    if (g->len == 0) {
        /* A shared buffer is needed at commit unless the frame joins the
         * pending GSO frame; with none pending and none free, say so now. */
        n->cnt.no_buf++;
        return MOAT_E_NOBUFS;
    }
    n->stage_out = LR_OUT_STAGE;
    *buf = n->stage;
    *cap = n->stage_cap;
    return 0;
}

static int lr_net_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct lr_net *n = lr_net_of(l);
    lr_net_sync(n);
    if (n->broken) {
        n->cnt.no_buf++;
        return MOAT_E_NOBUFS;
    }
    if (n->stage)
        return lr_net_tx_acquire_gso(n, buf, cap);
    if (n->cur_tx == LR_NONE) {
        if (n->n_free_tx == 0)
            lr_net_reclaim_tx(n);
        if (n->n_free_tx == 0) {
            n->cnt.no_buf++;
            return MOAT_E_NOBUFS;
        }
        n->cur_tx = n->free_tx[--n->n_free_tx];
    }
    /* Zero copy: the core writes the frame straight into the shared buffer.
     * We own it until tx_commit; a link domain writing it meanwhile can
     * only spoil its own outgoing frame (the core derives no length or
     * index from bytes it reads back from a transmit buffer). */
    *buf = lr_net_tx_frame(n, n->cur_tx);
    *cap = n->lay.g.frame_size - lr_tx_head(&n->lay.g);
    return 0;
}

/* Publish shared transmit buffer @p i holding @p len bytes. On failure
 * the buffer stays ours. Returns 0 or MOAT_E_IO. */
static int lr_net_tx_push(struct lr_net *n, uint32_t i, uint32_t len, uint32_t flags,
                          uint32_t aux)
{
    int r = lr_push(&n->ring[LINKRING_TX], i * n->lay.g.frame_size, len, flags, aux);
    if (r != 0) {
        if (r == MOAT_E_PEER)
            lr_net_cut(n);
        n->free_tx[n->n_free_tx++] = i;
        return MOAT_E_IO;
    }
    lr_clr(n->mine, i);
    n->dirty = 1;
    n->cnt.frames_out++;
    return 0;
}

/* Send the pending GSO frame, if any (a single segment goes as a plain
 * frame). Returns 0 or MOAT_E_IO. */
static int lr_net_gso_push(struct lr_net *n)
{
    if (n->gso.len == 0)
        return 0;
    uint16_t gs;
    size_t len = moat_gso_finish(&n->gso, &gs);
    return lr_net_tx_push(n, n->gso_idx, (uint32_t)len, gs ? LINKRING_TX_GSO : 0, gs);
}

/* GSO region, LR_OUT_FRESH: the frame is at the start of transmit buffer
 * cur_tx. It joins the pending GSO frame (a copy of its payload, as from
 * stage), or the pending frame goes and this one starts the next GSO frame
 * where it lies, or goes as it is. */
static int lr_net_tx_commit_fresh(struct lr_net *n, size_t len)
{
    uint32_t i = n->cur_tx;
    n->cur_tx = LR_NONE;
    uint8_t *b = lr_net_tx_frame(n, i);
    struct moat_gso_seg sg;
    int cand = len != 0 && len <= n->stage_cap && moat_gso_parse(b, len, &sg);
    if (len == 0 || len > n->stage_cap || (cand && moat_gso_append(&n->gso, b, &sg))) {
        n->free_tx[n->n_free_tx++] = i;
        return len > n->stage_cap ? MOAT_E_IO : 0;
    }
    if (lr_net_gso_push(n) != 0) {
        n->free_tx[n->n_free_tx++] = i;
        return MOAT_E_IO;
    }
    if (cand) {
        n->gso.frame = b;
        n->gso_idx = i;
        moat_gso_start(&n->gso, b, len, &sg);
        return 0;
    }
    return lr_net_tx_push(n, i, (uint32_t)len, 0, 0);
}

/* GSO region: the frame in stage joins the pending GSO frame, starts one
 * in a shared buffer, or is copied to one and sent as it is. */
static int lr_net_tx_commit_gso(struct lr_net *n, size_t len)
{
    int out = n->stage_out;
    n->stage_out = LR_OUT_NONE;
    if (out == LR_OUT_NONE)
        return MOAT_E_IO;
    if (out == LR_OUT_FRESH)
        return lr_net_tx_commit_fresh(n, len);
    if (out == LR_OUT_APPEND) {
        /* The frame's headers lie over the pending frame's last hlen
         * bytes, its payload where it belongs. Taken: the payload stays,
         * the saved bytes go back. Not taken: moved to stage first. */
        struct moat_gso *g = &n->gso;
        uint8_t *p = g->frame + g->len - g->hlen;
        size_t hl = g->hlen;
        struct moat_gso_seg sg;
        if (len != 0 && len <= n->stage_cap && moat_gso_parse(p, len, &sg) &&
            moat_gso_append(g, p, &sg)) {
            memcpy(p, n->save, hl);
            return 0;
        }
        if (len != 0 && len <= n->stage_cap)
            memcpy(n->stage, p, len);
        memcpy(p, n->save, hl);
    }
    if (len == 0)
        return 0;
    if (len > n->stage_cap)
        return MOAT_E_IO;
    struct moat_gso_seg sg;
    int cand = moat_gso_parse(n->stage, len, &sg);
    if (cand && moat_gso_append(&n->gso, n->stage, &sg))
        return 0;
    if (lr_net_gso_push(n) != 0)
        return MOAT_E_IO;
    if (n->n_free_tx == 0)
        lr_net_reclaim_tx(n);
    if (n->n_free_tx == 0) {
        n->cnt.no_buf++;
        return MOAT_E_AGAIN;    /* like a full device queue: TCP holds back */
    }
    uint32_t i = n->free_tx[--n->n_free_tx];
    uint8_t *b = lr_net_tx_frame(n, i);
    if (cand) {
        n->gso.frame = b;
        n->gso_idx = i;
        moat_gso_start(&n->gso, n->stage, len, &sg);
        return 0;
    }
    memcpy(b, n->stage, len);
    return lr_net_tx_push(n, i, (uint32_t)len, 0, 0);
}

static int lr_net_tx_commit(struct moat_link *l, size_t len)
{
    struct lr_net *n = lr_net_of(l);
    if (n->stage)
        return lr_net_tx_commit_gso(n, len);
    uint32_t i = n->cur_tx;
    if (i == LR_NONE)
        return MOAT_E_IO;
    n->cur_tx = LR_NONE;
    if (len == 0 || len > n->lay.g.frame_size - lr_tx_head(&n->lay.g)) {
        n->free_tx[n->n_free_tx++] = i;
        return len == 0 ? 0 : MOAT_E_IO;
    }
    return lr_net_tx_push(n, i, (uint32_t)len, 0, 0);
}

static int lr_net_flush(struct moat_link *l)
{
    struct lr_net *n = lr_net_of(l);
    if (n->broken)
        return 0;
    lr_net_gso_push(n);     /* the batch's GSO frame goes now */
    lr_net_return_rx(n);
    lr_cons_commit(&n->ring[LINKRING_RX]);
    lr_cons_commit(&n->ring[LINKRING_TXFREE]);
    if (n->dirty) {
        n->dirty = 0;
        /* Our publishes (store-release of prod) must be ordered before we
         * read link_sleeping; the link side stores link_sleeping, fences,
         * then reads our prod. With a full fence on both sides at least
         * one of us sees the other's write: no lost wake-up. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&n->hdr->link_sleeping, memory_order_relaxed) &&
            atomic_exchange_explicit(&n->hdr->link_sleeping, 0, memory_order_seq_cst)) {
            linkring_bell_ring(n->link_bell);
            n->cnt.bells++;
        }
    }
    return 0;
}

static int lr_net_wait_fd(struct moat_link *l)
{
    return lr_net_of(l)->net_bell;
}

static int lr_net_arm(struct moat_link *l)
{
    struct lr_net *n = lr_net_of(l);
    if (lr_net_sync(n))
        return 1;
    lr_net_try(n);
    if (n->idle_fn)
        n->idle_fn();
    lr_net_flush(l);
    linkring_counters_publish(n->hdr, 0, &n->cnt);      /* diagnostics only */
    linkring_bell_drain(n->net_bell);
    atomic_store_explicit(&n->hdr->net_sleeping, 1, memory_order_seq_cst);
    /* Pairs with the fence in linkring_dev_flush(): see lr_net_flush. */
    atomic_thread_fence(memory_order_seq_cst);
    /* Transmit buffers coming back matter only when we ran out: the
     * link side rings for them too, so a starved sender does not sleep
     * through their return. */
    if ((!n->broken && (lr_avail_desc(&n->ring[LINKRING_RX]) ||
                        (n->n_free_tx == 0 && lr_avail_desc(&n->ring[LINKRING_TXFREE])))) ||
        atomic_load_explicit(&n->hdr->gen, memory_order_relaxed) != n->gen) {
        atomic_store_explicit(&n->hdr->net_sleeping, 0, memory_order_relaxed);
        return 1;
    }
    return 0;
}

static void lr_net_close(struct moat_link *l)
{
    struct lr_net *n = lr_net_of(l);
    close(n->net_bell);
    close(n->link_bell);
    free(n->mine);
    free(n->free_tx);
    free(n->ret_rx);
    free(n->copy);
    free(n->stage);
    free(n);
}

static const struct moat_link_ops lr_net_ops = {
    .rx_acquire = lr_net_rx_acquire,
    .rx_release = lr_net_rx_release,
    .tx_acquire = lr_net_tx_acquire,
    .tx_commit = lr_net_tx_commit,
    .flush = lr_net_flush,
    .wait_fd = lr_net_wait_fd,
    .next_due_us = NULL,
    .arm = lr_net_arm,
    .close = lr_net_close,
};

int linkring_net_link(void *base, size_t size, const struct linkring_layout *lay,
                      int net_bell, int link_bell, uint16_t mtu, struct moat_link **out)
{
    int err = linkring_region_check(base, size, lay);
    struct lr_net *n = NULL;
    if (err == 0) {
        n = calloc(1, sizeof *n);
        err = n ? 0 : MOAT_E_NOMEM;
    }
    if (err == 0) {
        uint32_t nb = lay->g.n_rx + lay->g.n_tx;
        n->mine = calloc((nb + 7) / 8, 1);
        n->free_tx = calloc(lay->g.n_tx, sizeof(uint32_t));
        n->ret_rx = calloc(lay->g.n_rx, sizeof(uint32_t));
        n->copy = malloc(lay->g.frame_size);
        if (lay->g.flags & LINKRING_GEOM_TX_GSO) {
            n->stage_cap = (size_t)mtu + 14u + 4u;
            n->stage = malloc(n->stage_cap);
        }
        if (!n->mine || !n->free_tx || !n->ret_rx || !n->copy ||
            ((lay->g.flags & LINKRING_GEOM_TX_GSO) && !n->stage))
            err = MOAT_E_NOMEM;
    }
    if (err != 0) {
        /* Takes the bells even on failure. */
        close(net_bell);
        close(link_bell);
        if (n) {
            free(n->mine);
            free(n->free_tx);
            free(n->ret_rx);
            free(n->copy);
            free(n->stage);
            free(n);
        }
        return err;
    }
    n->link.ops = &lr_net_ops;
    n->link.mtu = mtu;
    n->base = base;
    n->hdr = linkring_hdr(base);
    n->lay = *lay;
    n->bufs = (uint8_t *)base + lay->buf_off;
    lr_attach_rings(n->ring, base, lay);
    n->net_bell = net_bell;
    n->link_bell = link_bell;
    n->cur_tx = LR_NONE;
    n->gen = 0;     /* the region starts at gen 1: the first call resets */
    lr_net_sync(n);
    *out = &n->link;
    return 0;
}

#define LR_CNT_WORDS (sizeof(struct linkring_counters) / sizeof(uint32_t))

void linkring_counters_publish(void *base, int link_side, const struct linkring_counters *c)
{
    struct linkring_hdr *h = linkring_hdr(base);
    if (link_side)
        moat_seq_publish(&h->link_cnt_seq, &h->link_cnt, c, LR_CNT_WORDS);
    else
        moat_seq_publish(&h->net_cnt_seq, &h->net_cnt, c, LR_CNT_WORDS);
}

int linkring_counters_read(const void *base, int link_side, struct linkring_counters *out,
                           unsigned tries)
{
    const struct linkring_hdr *h = base;
    for (unsigned i = 0; i < tries; i++) {
        int rc = link_side ? moat_seq_read(&h->link_cnt_seq, &h->link_cnt, out, LR_CNT_WORDS)
                           : moat_seq_read(&h->net_cnt_seq, &h->net_cnt, out, LR_CNT_WORDS);
        if (rc == 0)
            return 0;
    }
    return MOAT_E_AGAIN;
}

void linkring_net_counters(struct moat_link *l, struct linkring_counters *out)
{
    *out = lr_net_of(l)->cnt;
}

void linkring_net_set_try(struct moat_link *l, linkring_try_fn fn)
{
    lr_net_of(l)->try_fn = fn;
}

void linkring_net_set_idle(struct moat_link *l, linkring_idle_fn fn)
{
    lr_net_of(l)->idle_fn = fn;
}

/* ---- link side ---------------------------------------------------------- */

int linkring_dev_attach(struct linkring_dev *d, void *base, size_t size,
                        const struct linkring_layout *lay, int net_bell, int link_bell)
{
    memset(d, 0, sizeof *d);
    int err = linkring_region_check(base, size, lay);
    if (err != 0)
        return err;
    uint32_t nb = lay->g.n_rx + lay->g.n_tx;
    d->mine = calloc((nb + 7) / 8, 1);
    d->free_rx = calloc(lay->g.n_rx, sizeof(uint32_t));
    if (!d->mine || !d->free_rx) {
        free(d->mine);
        free(d->free_rx);
        d->mine = NULL;
        d->free_rx = NULL;
        return MOAT_E_NOMEM;
    }
    d->base = base;
    d->hdr = linkring_hdr(base);
    d->lay = *lay;
    d->bufs = (uint8_t *)base + lay->buf_off;
    lr_attach_rings(d->ring, base, lay);
    d->net_bell = net_bell;
    d->link_bell = link_bell;
    d->cur_rx = LR_NONE;
    d->cur_tx = LR_NONE;
    return 0;
}

void linkring_dev_detach(struct linkring_dev *d)
{
    free(d->mine);
    free(d->free_rx);
    d->mine = NULL;
    d->free_rx = NULL;
}

int linkring_dev_ready(struct linkring_dev *d)
{
    if (d->started)
        return 1;
    /* Pairs with the store-release of net_ack in lr_net_reset(). */
    uint32_t ack = atomic_load_explicit(&d->hdr->net_ack, memory_order_acquire);
    uint32_t g = atomic_load_explicit(&d->hdr->gen, memory_order_acquire);
    if (ack != g || g == 0)
        return 0;
    uint32_t nr = d->lay.g.n_rx;
    memset(d->mine, 0, (nr + d->lay.g.n_tx + 7) / 8);
    d->n_free_rx = 0;
    for (uint32_t i = 0; i < nr; i++) {
        lr_set(d->mine, i);
        d->free_rx[d->n_free_rx++] = i;
    }
    for (int i = 0; i < LINKRING_NRINGS; i++)
        d->ring[i].local = 0;
    d->gen = g;
    d->started = 1;
    return 1;
}

static void lr_dev_reclaim_rx(struct linkring_dev *d)
{
    for (uint32_t tries = 0; tries < d->lay.g.ring_slots; tries++) {
        struct linkring_desc ds;
        if (lr_pop(&d->ring[LINKRING_RXFREE], &ds) != 0)
            break;
        uint32_t i = lr_check(&d->lay, d->mine, &ds, 0, d->lay.g.n_rx, 0, 0, 0, &d->cnt);
        if (i == LR_NONE)
            continue;
        lr_set(d->mine, i);
        d->free_rx[d->n_free_rx++] = i;
    }
    lr_cons_commit(&d->ring[LINKRING_RXFREE]);
}

int linkring_dev_rx_buf(struct linkring_dev *d, uint8_t **buf, uint32_t *cap)
{
    if (!d->started)
        return MOAT_E_NOBUFS;
    if (d->cur_rx == LR_NONE) {
        if (d->n_free_rx == 0)
            lr_dev_reclaim_rx(d);
        if (d->n_free_rx == 0)
            return MOAT_E_NOBUFS;
        d->cur_rx = d->free_rx[--d->n_free_rx];
    }
    *buf = d->bufs + (size_t)d->cur_rx * d->lay.g.frame_size;
    *cap = d->lay.g.frame_size;
    return 0;
}

void linkring_dev_rx_push(struct linkring_dev *d, uint32_t len)
{
    linkring_dev_rx_push_flags(d, len, 0);
}

void linkring_dev_rx_push_flags(struct linkring_dev *d, uint32_t len, uint32_t flags)
{
    linkring_dev_rx_push_at(d, 0, len, flags);
}

void linkring_dev_rx_push_at(struct linkring_dev *d, uint32_t skip, uint32_t len, uint32_t flags)
{
    uint32_t i = d->cur_rx;
    if (i == LR_NONE)
        return;
    if (len == 0 || skip > LINKRING_RX_SKIP_MAX || len > d->lay.g.frame_size - skip)
        return;     /* keep the buffer for the next frame */
    flags &= MOAT_LINK_RX_KNOWN;
    if (lr_push(&d->ring[LINKRING_RX], i * d->lay.g.frame_size, len, flags, skip) != 0) {
        d->cnt.no_buf++;
        return;
    }
    d->cur_rx = LR_NONE;
    lr_clr(d->mine, i);
    d->dirty = 1;
    d->cnt.frames++;
}

int linkring_dev_tx_peek(struct linkring_dev *d, const uint8_t **frame, uint32_t *len)
{
    if (!d->started)
        return MOAT_E_AGAIN;
    for (uint32_t tries = 0; d->cur_tx == LR_NONE && tries < d->lay.g.ring_slots; tries++) {
        struct linkring_desc ds;
        if (lr_pop(&d->ring[LINKRING_TX], &ds) != 0)
            break;
        uint32_t ok = (d->lay.g.flags & LINKRING_GEOM_TX_GSO) ? LINKRING_TX_GSO : 0;
        uint32_t i = lr_check(&d->lay, d->mine, &ds, d->lay.g.n_rx, d->lay.g.n_tx, 1, ok,
                              ok ? LR_AUX_GSO : LR_AUX_NONE, &d->cnt);
        if (i == LR_NONE)
            continue;
        if (ds.len > d->lay.g.frame_size - lr_tx_head(&d->lay.g)) {
            d->cnt.bad[LINKRING_BAD_LEN]++;     /* runs past its buffer after the head */
            continue;
        }
        lr_set(d->mine, i);
        d->cur_tx = i;
        d->cur_tx_len = ds.len;
        d->cur_tx_gso = (ds.flags & LINKRING_TX_GSO) ? (uint16_t)ds.rsvd : 0;
    }
    if (d->cur_tx == LR_NONE) {
        lr_cons_commit(&d->ring[LINKRING_TX]);
        return MOAT_E_AGAIN;
    }
    *frame = d->bufs + (size_t)d->cur_tx * d->lay.g.frame_size + lr_tx_head(&d->lay.g);
    *len = d->cur_tx_len;
    return 0;
}

void linkring_dev_tx_done(struct linkring_dev *d)
{
    uint32_t i = d->cur_tx;
    if (i == LR_NONE)
        return;
    d->cur_tx = LR_NONE;
    d->cur_tx_gso = 0;
    /* Release the descriptor's TX slot before the buffer goes back: the
     * TX ring has exactly as many slots as there are buffers, so a buffer
     * the net side can reuse while its old descriptor still counts in the
     * ring (cons committed only at flush) made the net side's next push
     * find the ring full and drop a finished frame (LINK_TX_ERROR under
     * load, issue 7). */
    lr_cons_commit(&d->ring[LINKRING_TX]);
    if (lr_push(&d->ring[LINKRING_TXFREE], i * d->lay.g.frame_size, 0, 0, 0) != 0)
        return;     /* cannot happen with an honest net side */
    lr_clr(d->mine, i);
    d->dirty = 1;
    d->cnt.frames_out++;
}

void linkring_dev_flush(struct linkring_dev *d)
{
    if (!d->started)
        return;
    lr_cons_commit(&d->ring[LINKRING_TX]);
    lr_cons_commit(&d->ring[LINKRING_RXFREE]);
    if (d->dirty) {
        d->dirty = 0;
        /* Pairs with the fence in lr_net_arm(): see lr_net_flush. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&d->hdr->net_sleeping, memory_order_relaxed) &&
            atomic_exchange_explicit(&d->hdr->net_sleeping, 0, memory_order_seq_cst)) {
            linkring_bell_ring(d->net_bell);
            d->cnt.bells++;
        }
        linkring_counters_publish(d->hdr, 1, &d->cnt);       /* diagnostics only */
    }
}

int linkring_dev_tx_pending(struct linkring_dev *d)
{
    return d->started && (d->cur_tx != LR_NONE || lr_avail_desc(&d->ring[LINKRING_TX]));
}

int linkring_dev_arm(struct linkring_dev *d)
{
    linkring_dev_flush(d);
    linkring_counters_publish(d->hdr, 1, &d->cnt);       /* diagnostics only */
    linkring_bell_drain(d->link_bell);
    atomic_store_explicit(&d->hdr->link_sleeping, 1, memory_order_seq_cst);
    /* Pairs with the fence in lr_net_flush(). */
    atomic_thread_fence(memory_order_seq_cst);
    int work = atomic_load_explicit(&d->hdr->stop, memory_order_relaxed) != 0 ||
               atomic_load_explicit(&d->hdr->try_link, memory_order_relaxed) != 0;
    if (!d->started) {
        work |= linkring_dev_ready(d);
    } else {
        work |= linkring_dev_tx_pending(d);
        if (d->n_free_rx == 0 && d->cur_rx == LR_NONE)
            work |= lr_avail_desc(&d->ring[LINKRING_RXFREE]);
    }
    if (work)
        atomic_store_explicit(&d->hdr->link_sleeping, 0, memory_order_relaxed);
    return work;
}
