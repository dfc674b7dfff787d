/* SPDX-License-Identifier: MIT */
/*
 * What the two sides of the link boundary share beyond linkring.h (private
 * to link/): descriptor ring helpers (one record = one descriptor), the
 * descriptor check both sides apply to what the other side hands them,
 * and attaching the rings of a region. linkring_net.c is the net domain's
 * side, linkring_dev.c the link domain's; linkring.c the region itself.
 */
#ifndef MOAT_LINKRING_PRIV_H
#define MOAT_LINKRING_PRIV_H

#include <stdatomic.h>
#include <stdint.h>

#include "linkring.h"
#include "moat/err.h"

#define LR_NONE      UINT32_MAX
/* What a descriptor's rsvd word may hold on a ring (linkring_desc_check). */
#define LR_AUX_NONE  0
#define LR_AUX_GSO   1
#define LR_AUX_SKIP  2
#define LR_DESC      ((uint32_t)sizeof(struct linkring_desc))

/* Bytes before every transmit frame in its buffer (LINKRING_GEOM_TX_HEAD). */
static inline uint32_t lr_tx_head(const struct linkring_geom *g)
{
    return (g->flags & LINKRING_GEOM_TX_HEAD) ? LINKRING_TX_HEAD : 0;
}

/* ---- ring helpers (one record = one descriptor) ------------------------- */

/* Consumer: take the next descriptor into @p d without publishing our index
 * (lr_cons_commit does that once per batch). Returns 0, MOAT_E_AGAIN or
 * MOAT_E_PEER (impossible producer index). */
static inline int lr_pop(struct moat_ring *r, struct linkring_desc *d)
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

static inline void lr_cons_commit(struct moat_ring *r)
{
    /* Pairs with the load-acquire of cons in moat_ring_space(): the
     * records before r->local have been copied out. */
    if (atomic_load_explicit(&r->sh->cons, memory_order_relaxed) != r->local)
        atomic_store_explicit(&r->sh->cons, r->local, memory_order_release);
}

static inline int lr_avail_desc(const struct moat_ring *r)
{
    uint32_t avail;
    return moat_ring_avail(r, &avail) == 0 && avail >= LR_DESC;
}

/* Producer: append and publish one descriptor. Returns 0, MOAT_E_NOBUFS or
 * MOAT_E_PEER (impossible consumer index). */
static inline int lr_push(struct moat_ring *r, uint32_t off, uint32_t len, uint32_t flags,
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

static inline int lr_bit(const uint8_t *bits, uint32_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
static inline void lr_set(uint8_t *bits, uint32_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void lr_clr(uint8_t *bits, uint32_t i) { bits[i >> 3] &= (uint8_t)~(1u << (i & 7)); }

/*
 * Check a descriptor received from the other side for a buffer of the pool
 * [first, first + count). @p need_len: it must carry a frame length.
 * @p flags_ok: the flag bits this ring may carry; @p aux: what rsvd may hold
 * there (LR_AUX_*: nothing, a GSO frame's segment size on the tx ring of a
 * GSO region, the frame's offset in its buffer on the rx ring).
 * Returns the buffer index, or LR_NONE after counting the reason.
 */
uint32_t linkring_desc_check(const struct linkring_layout *lay, const uint8_t *mine,
                             const struct linkring_desc *d, uint32_t first, uint32_t count,
                             int need_len, uint32_t flags_ok, int aux,
                             struct linkring_counters *c);

/* Fill @p v for the region at @p base laid out as @p lay (already checked
 * by linkring_region_check): the same on both sides. */
void linkring_view_attach(struct linkring_view *v, void *base, const struct linkring_layout *lay,
                          int net_bell, int link_bell);

void linkring_wake_peer(_Atomic uint32_t *peer_sleeping, int peer_bell,
                        struct linkring_counters *cnt);
void linkring_sleep_prepare(void *base, int link_side, _Atomic uint32_t *my_sleeping, int my_bell,
                            const struct linkring_counters *cnt);

#endif
