/* SPDX-License-Identifier: MIT */
/*
 * The net domain's side of the link boundary (see linkring.h for the
 * region layout and the restart protocol): a struct moat_link that
 * netloop drives like any device. The link domain's side is
 * linkring_dev.c; what both share is linkring.c and linkring_priv.h.
 *
 * Trust: the net side does not trust the link domain. Every descriptor is
 * copied once into a local variable and checked there (pool, alignment,
 * length, ownership bit) before it is used; received frames are copied
 * into private memory before the core sees them, so a link domain that
 * keeps writing a buffer after handing it over cannot change bytes the
 * core has already validated. With moat_link.rx_split (netloop sets it)
 * a large TCP segment whose checksum the link vouched for is split
 * instead: its headers are copied, its payload is left in the shared
 * buffer and read once by the core, straight into the socket ring
 * (mcore_split_hlen, mcore_input_split: the payload decides nothing). A ring index that claims more than the
 * capacity cuts the link off (net_broken) until the supervisor restarts
 * the link domain.
 *
 * Does not open devices, spawn processes or decide when to sleep.
 */
#define _GNU_SOURCE
#include "linkring_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/boundary.h"
#include "core/core.h"
#include "moat/err.h"
#include "ports/linux/gso.h"

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
/* Split receive (moat_link.rx_split): the bytes copied first, enough for
 * the largest Ethernet + IPv4 + TCP header, and the smallest frame worth
 * leaving in place (below it the whole copy is cheaper than holding the
 * buffer until rx_release). */
#define LR_SPLIT_PEEK (14u + 60u + 60u)
#define LR_SPLIT_MIN  512u

struct lr_net {
    struct moat_link link;          /* first: netloop sees only this */
    struct linkring_view v;
    uint8_t *mine;                  /* bit per buffer: we hold it */
    uint32_t *free_tx;              /* transmit buffers we hold */
    uint32_t n_free_tx;
    uint32_t *ret_rx;               /* receive buffers to give back */
    uint32_t n_ret_rx;
    uint32_t cur_tx;                /* handed to the core by tx_acquire */
    uint8_t *copy;                  /* private copy of the current rx frame */
    uint32_t held_rx;               /* split frame's buffer, given back at release */
    uint32_t gen;                   /* generation we last reset for */
    int broken;
    int dirty;                      /* published something since the last bell */
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
    uint32_t nb = n->v.lay.g.n_rx + n->v.lay.g.n_tx;
    memset(n->mine, 0, (nb + 7) / 8);
    n->n_free_tx = 0;
    for (uint32_t i = n->v.lay.g.n_rx; i < nb; i++) {
        lr_set(n->mine, i);
        n->free_tx[n->n_free_tx++] = i;
    }
    n->n_ret_rx = 0;
    n->held_rx = LR_NONE;   /* taken back with the others */
    n->cur_tx = LR_NONE;
    n->gso.len = 0;         /* its buffer is taken back with the others */
    n->gso.segs = 0;
    n->stage_out = LR_OUT_NONE;
    for (int i = 0; i < LINKRING_NRINGS; i++) {
        moat_ring_reset(n->v.ring[i].sh);
        n->v.ring[i].local = 0;
    }
    n->broken = 0;
    n->dirty = 0;
    atomic_store_explicit(&n->v.hdr->net_broken, 0, memory_order_relaxed);
    n->gen = g;
    n->cnt.resets++;
    /* Pairs with the load-acquire of net_ack in linkring_dev_ready(): the
     * ring resets above are visible to the new link domain. */
    atomic_store_explicit(&n->v.hdr->net_ack, g, memory_order_release);
    linkring_bell_ring(n->v.link_bell);
}

/* A new link domain generation: reset our side. Returns nonzero if it did. */
static int lr_net_sync(struct lr_net *n)
{
    /* Pairs with the store-release of gen by the supervisor (after the old
     * link domain has been reaped) in linkring_region_init / the restart. */
    uint32_t g = atomic_load_explicit(&n->v.hdr->gen, memory_order_acquire);
    if (g == n->gen)
        return 0;
    lr_net_reset(n, g);
    return 1;
}

static void lr_net_try(struct lr_net *n)
{
    if (!n->try_fn || atomic_load_explicit(&n->v.hdr->try_net, memory_order_relaxed) == 0)
        return;
    unsigned t = atomic_exchange_explicit(&n->v.hdr->try_net, 0, memory_order_relaxed);
    if (t)
        n->try_fn(t);
}

static void lr_net_cut(struct lr_net *n)
{
    if (!n->broken) {
        n->broken = 1;
        n->cnt.bad[LINKRING_BAD_INDEX]++;
        atomic_store_explicit(&n->v.hdr->net_broken, 1, memory_order_relaxed);
    }
}

static void lr_net_return_rx(struct lr_net *n)
{
    for (uint32_t k = 0; k < n->n_ret_rx; k++) {
        uint32_t i = n->ret_rx[k];
        int r = lr_push(&n->v.ring[LINKRING_RXFREE], i * n->v.lay.g.frame_size, 0, 0, 0);
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

static void lr_net_rx_release(struct moat_link *l);

static int lr_net_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    struct lr_net *n = lr_net_of(l);
    lr_net_sync(n);
    lr_net_try(n);
    if (atomic_load_explicit(&n->v.hdr->net_sleeping, memory_order_relaxed))
        atomic_store_explicit(&n->v.hdr->net_sleeping, 0, memory_order_relaxed);
    if (n->broken)
        return MOAT_E_AGAIN;
    if (n->held_rx != LR_NONE)      /* no rx_release since a split frame */
        lr_net_rx_release(&n->link);
    if (n->n_ret_rx >= LR_RET_BATCH)
        lr_net_return_rx(n);
    /* Bounded: at most one ring's worth of bad descriptors per call. */
    for (uint32_t tries = 0; tries < n->v.lay.g.ring_slots; tries++) {
        struct linkring_desc d;
        int r = lr_pop(&n->v.ring[LINKRING_RX], &d);
        if (r == MOAT_E_PEER) {
            lr_net_cut(n);
            return MOAT_E_AGAIN;
        }
        if (r != 0)
            break;
        uint32_t i = linkring_desc_check(&n->v.lay, n->mine, &d, 0, n->v.lay.g.n_rx, 1, MOAT_LINK_RX_KNOWN,
                              LR_AUX_SKIP, &n->cnt);
        if (i == LR_NONE)
            continue;
        lr_set(n->mine, i);
        const uint8_t *src = n->v.bufs + (size_t)i * n->v.lay.g.frame_size + d.rsvd;
        size_t peek = d.len < LR_SPLIT_PEEK ? d.len : LR_SPLIT_PEEK;
        /* The one copy of the headers: from here on every decision (ours
         * and the core's) is made on private memory. */
        memcpy(n->copy, src, peek);
        size_t h = 0;
        if (n->link.rx_split && d.len >= LR_SPLIT_MIN)
            h = mcore_split_hlen(n->copy, peek, d.len, d.flags);
        n->cnt.frames++;
        /* Checked above against the bits a receive descriptor may carry;
         * what they claim is the link domain's word (as the frame is). */
        n->link.rx_flags = d.flags;
        *frame = n->copy;
        if (h != 0) {
            /* Split: the TCP payload stays in the shared buffer, which we
             * hold (mine bit, so the link cannot hand it again) until
             * rx_release. The core reads it once, copying it into the
             * socket ring (mcore_input_split says why that is safe); the
             * bytes from h to peek we copied are never looked at. */
            n->link.rx_pay = src + h;
            n->link.rx_pay_len = d.len - h;
            n->held_rx = i;
            *len = h;
            return 0;
        }
        /* The rest of the one copy: the core reads only private memory. */
        memcpy(n->copy + peek, src + peek, d.len - peek);
        n->link.rx_pay = NULL;
        n->link.rx_pay_len = 0;
        n->ret_rx[n->n_ret_rx++] = i;
        *len = d.len;
        return 0;
    }
    /* Ring dry: give the buffers back now and free the ring slots. */
    lr_net_return_rx(n);
    lr_cons_commit(&n->v.ring[LINKRING_RX]);
    return MOAT_E_AGAIN;
}

static void lr_net_rx_release(struct moat_link *l)
{
    /* A copied frame's buffer is already queued; a split one's goes now. */
    struct lr_net *n = lr_net_of(l);
    if (n->held_rx != LR_NONE) {
        n->ret_rx[n->n_ret_rx++] = n->held_rx;
        n->held_rx = LR_NONE;
    }
    n->link.rx_pay = NULL;
    n->link.rx_pay_len = 0;
}

/* At every acquire, so that the buffer used next is the one returned
 * last (see lr_dev_reclaim_rx in linkring_dev.c). */
static void lr_net_reclaim_tx(struct lr_net *n)
{
    for (uint32_t tries = 0; tries < n->v.lay.g.ring_slots; tries++) {
        struct linkring_desc d;
        int r = lr_pop(&n->v.ring[LINKRING_TXFREE], &d);
        if (r == MOAT_E_PEER) {
            lr_net_cut(n);
            return;
        }
        if (r != 0)
            break;
        uint32_t i = linkring_desc_check(&n->v.lay, n->mine, &d, n->v.lay.g.n_rx, n->v.lay.g.n_tx, 0, 0, 0, &n->cnt);
        if (i == LR_NONE)
            continue;
        lr_set(n->mine, i);
        n->free_tx[n->n_free_tx++] = i;
    }
    lr_cons_commit(&n->v.ring[LINKRING_TXFREE]);
}

/* Where the frame of transmit buffer @p i starts. */
static uint8_t *lr_net_tx_frame(struct lr_net *n, uint32_t i)
{
    return n->v.bufs + (size_t)i * n->v.lay.g.frame_size + lr_tx_head(&n->v.lay.g);
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
    *cap = n->v.lay.g.frame_size - lr_tx_head(&n->v.lay.g);
    return 0;
}

/* Publish shared transmit buffer @p i holding @p len bytes. On failure
 * the buffer stays ours. Returns 0 or MOAT_E_IO. */
static int lr_net_tx_push(struct lr_net *n, uint32_t i, uint32_t len, uint32_t flags,
                          uint32_t aux)
{
    int r = lr_push(&n->v.ring[LINKRING_TX], i * n->v.lay.g.frame_size, len, flags, aux);
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
    if (len == 0 || len > n->v.lay.g.frame_size - lr_tx_head(&n->v.lay.g)) {
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
    lr_cons_commit(&n->v.ring[LINKRING_RX]);
    lr_cons_commit(&n->v.ring[LINKRING_TXFREE]);
    if (n->dirty) {
        n->dirty = 0;
        linkring_wake_peer(&n->v.hdr->link_sleeping, n->v.link_bell, &n->cnt);
    }
    return 0;
}

static int lr_net_wait_fd(struct moat_link *l)
{
    return lr_net_of(l)->v.net_bell;
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
    linkring_sleep_prepare(n->v.hdr, 0, &n->v.hdr->net_sleeping, n->v.net_bell, &n->cnt);
    /* Transmit buffers coming back matter only when we ran out: the
     * link side rings for them too, so a starved sender does not sleep
     * through their return. */
    if ((!n->broken && (lr_avail_desc(&n->v.ring[LINKRING_RX]) ||
                        (n->n_free_tx == 0 && lr_avail_desc(&n->v.ring[LINKRING_TXFREE])))) ||
        atomic_load_explicit(&n->v.hdr->gen, memory_order_relaxed) != n->gen) {
        atomic_store_explicit(&n->v.hdr->net_sleeping, 0, memory_order_relaxed);
        return 1;
    }
    return 0;
}

/* The private memory of @p n and @p n itself (NULL: nothing). */
static void lr_net_free(struct lr_net *n)
{
    if (!n)
        return;
    free(n->mine);
    free(n->free_tx);
    free(n->ret_rx);
    free(n->copy);
    free(n->stage);
    free(n);
}

static void lr_net_close(struct moat_link *l)
{
    struct lr_net *n = lr_net_of(l);
    close(n->v.net_bell);
    close(n->v.link_bell);
    lr_net_free(n);
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
        lr_net_free(n);
        return err;
    }
    n->link.ops = &lr_net_ops;
    n->link.mtu = mtu;
    linkring_view_attach(&n->v, base, lay, net_bell, link_bell);
    n->cur_tx = LR_NONE;
    n->gen = 0;     /* the region starts at gen 1: the first call resets */
    n->held_rx = LR_NONE;
    lr_net_sync(n);
    *out = &n->link;
    return 0;
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
