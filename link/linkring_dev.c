/* SPDX-License-Identifier: MIT */
/*
 * The link domain's side of the link boundary (see linkring.h for the
 * region layout and the restart protocol): what moat-linkd uses to move
 * frames between a device and the rings. It checks every descriptor the
 * net domain hands it (linkring_desc_check) as the net side does the
 * other way. The net domain's side is linkring_net.c.
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
    linkring_view_attach(&d->v, base, lay, net_bell, link_bell);
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
    uint32_t ack = atomic_load_explicit(&d->v.hdr->net_ack, memory_order_acquire);
    uint32_t g = atomic_load_explicit(&d->v.hdr->gen, memory_order_acquire);
    if (ack != g || g == 0)
        return 0;
    uint32_t nr = d->v.lay.g.n_rx;
    memset(d->mine, 0, (nr + d->v.lay.g.n_tx + 7) / 8);
    d->n_free_rx = 0;
    for (uint32_t i = 0; i < nr; i++) {
        lr_set(d->mine, i);
        d->free_rx[d->n_free_rx++] = i;
    }
    for (int i = 0; i < LINKRING_NRINGS; i++)
        d->v.ring[i].local = 0;
    d->gen = g;
    d->started = 1;
    return 1;
}

/* Called at every acquire, not only when the stack is empty: the buffer
 * handed out next is then the one returned last, still in the cache.
 * Refilling only when empty cycled through every buffer of the region
 * (16 MiB with 64 KiB frames) and made each copy a cache miss. */
static void lr_dev_reclaim_rx(struct linkring_dev *d)
{
    for (uint32_t tries = 0; tries < d->v.lay.g.ring_slots; tries++) {
        struct linkring_desc ds;
        if (lr_pop(&d->v.ring[LINKRING_RXFREE], &ds) != 0)
            break;
        uint32_t i = linkring_desc_check(&d->v.lay, d->mine, &ds, 0, d->v.lay.g.n_rx, 0, 0, 0, &d->cnt);
        if (i == LR_NONE)
            continue;
        lr_set(d->mine, i);
        d->free_rx[d->n_free_rx++] = i;
    }
    lr_cons_commit(&d->v.ring[LINKRING_RXFREE]);
}

int linkring_dev_rx_buf(struct linkring_dev *d, uint8_t **buf, uint32_t *cap)
{
    if (!d->started)
        return MOAT_E_NOBUFS;
    if (d->cur_rx == LR_NONE) {
        lr_dev_reclaim_rx(d);
        if (d->n_free_rx == 0)
            return MOAT_E_NOBUFS;
        d->cur_rx = d->free_rx[--d->n_free_rx];
    }
    *buf = d->v.bufs + (size_t)d->cur_rx * d->v.lay.g.frame_size;
    *cap = d->v.lay.g.frame_size;
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
    if (len == 0 || skip > LINKRING_RX_SKIP_MAX || len > d->v.lay.g.frame_size - skip)
        return;     /* keep the buffer for the next frame */
    flags &= MOAT_LINK_RX_KNOWN;
    if (lr_push(&d->v.ring[LINKRING_RX], i * d->v.lay.g.frame_size, len, flags, skip) != 0) {
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
    for (uint32_t tries = 0; d->cur_tx == LR_NONE && tries < d->v.lay.g.ring_slots; tries++) {
        struct linkring_desc ds;
        if (lr_pop(&d->v.ring[LINKRING_TX], &ds) != 0)
            break;
        uint32_t ok = (d->v.lay.g.flags & LINKRING_GEOM_TX_GSO) ? LINKRING_TX_GSO : 0;
        uint32_t i = linkring_desc_check(&d->v.lay, d->mine, &ds, d->v.lay.g.n_rx, d->v.lay.g.n_tx, 1, ok,
                              ok ? LR_AUX_GSO : LR_AUX_NONE, &d->cnt);
        if (i == LR_NONE)
            continue;
        if (ds.len > d->v.lay.g.frame_size - lr_tx_head(&d->v.lay.g)) {
            d->cnt.bad[LINKRING_BAD_LEN]++;     /* runs past its buffer after the head */
            continue;
        }
        lr_set(d->mine, i);
        d->cur_tx = i;
        d->cur_tx_len = ds.len;
        d->cur_tx_gso = (ds.flags & LINKRING_TX_GSO) ? (uint16_t)ds.rsvd : 0;
    }
    if (d->cur_tx == LR_NONE) {
        lr_cons_commit(&d->v.ring[LINKRING_TX]);
        return MOAT_E_AGAIN;
    }
    *frame = d->v.bufs + (size_t)d->cur_tx * d->v.lay.g.frame_size + lr_tx_head(&d->v.lay.g);
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
    lr_cons_commit(&d->v.ring[LINKRING_TX]);
    if (lr_push(&d->v.ring[LINKRING_TXFREE], i * d->v.lay.g.frame_size, 0, 0, 0) != 0)
        return;     /* cannot happen with an honest net side */
    lr_clr(d->mine, i);
    d->dirty = 1;
    d->cnt.frames_out++;
}

void linkring_dev_flush(struct linkring_dev *d)
{
    if (!d->started)
        return;
    lr_cons_commit(&d->v.ring[LINKRING_TX]);
    lr_cons_commit(&d->v.ring[LINKRING_RXFREE]);
    if (d->dirty) {
        d->dirty = 0;
        linkring_wake_peer(&d->v.hdr->net_sleeping, d->v.net_bell, &d->cnt);
        linkring_counters_publish(d->v.hdr, 1, &d->cnt);       /* diagnostics only */
    }
}

int linkring_dev_tx_pending(struct linkring_dev *d)
{
    return d->started && (d->cur_tx != LR_NONE || lr_avail_desc(&d->v.ring[LINKRING_TX]));
}

int linkring_dev_arm(struct linkring_dev *d)
{
    linkring_dev_flush(d);
    linkring_sleep_prepare(d->v.hdr, 1, &d->v.hdr->link_sleeping, d->v.link_bell, &d->cnt);
    int work = atomic_load_explicit(&d->v.hdr->stop, memory_order_relaxed) != 0 ||
               atomic_load_explicit(&d->v.hdr->try_link, memory_order_relaxed) != 0;
    if (!d->started) {
        work |= linkring_dev_ready(d);
    } else {
        work |= linkring_dev_tx_pending(d);
        if (d->n_free_rx == 0 && d->cur_rx == LR_NONE)
            work |= lr_avail_desc(&d->v.ring[LINKRING_RXFREE]);
    }
    if (work)
        atomic_store_explicit(&d->v.hdr->link_sleeping, 0, memory_order_relaxed);
    return work;
}
