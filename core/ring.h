/* SPDX-License-Identifier: MIT */
/*
 * The one ring: a single-producer/single-consumer byte ring in shared
 * memory. Every channel that crosses a domain boundary uses it: control
 * requests and completions (fixed 64-byte records), UDP datagrams
 * (length-prefixed records), TCP streams (plain bytes) and frame
 * descriptors between link and net (8-byte records).
 *
 * Shared memory holds only the two free-running 32-bit indices, each on
 * its own cache line and each written by exactly one side. Everything
 * else (capacity, data pointer, and our own index) is private to one side,
 * fixed at attach and never re-read from shared memory, so a hostile peer
 * can corrupt the bytes and its own index but never our bounds. A peer
 * index that claims more than the capacity is reported as MOAT_E_PEER.
 *
 * Memory orders: the producer writes data, then store-releases prod; the
 * consumer load-acquires prod before reading data (pairs with the release
 * in moat_ring_publish). The consumer reads data, then store-releases cons;
 * the producer load-acquires cons before overwriting (pairs with the
 * release in moat_ring_consume).
 *
 * Does not do notification: see the doorbell words of the region
 * (core/boundary.h) and the backends.
 */
#ifndef MOAT_RING_H
#define MOAT_RING_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "moat/err.h"

#define MOAT_CACHELINE 64

struct moat_ring_sh {
    _Atomic uint32_t prod;                    /* written by the producer only */
    uint8_t pad0[MOAT_CACHELINE - 4];
    _Atomic uint32_t cons;                    /* written by the consumer only */
    uint8_t pad1[MOAT_CACHELINE - 4];
};

/* One side's private view. */
struct moat_ring {
    struct moat_ring_sh *sh;
    uint8_t *data;
    uint32_t cap;     /* power of two */
    uint32_t mask;
    uint32_t local;   /* our own index: prod for a producer, cons for a consumer */
};

/* Attach a view; @p cap must be a power of two >= 2. @p local is our
 * starting index (0 for a freshly reset ring). Returns 0 or MOAT_E_INVAL. */
static inline int moat_ring_attach(struct moat_ring *r, void *sh, void *data,
                                   uint32_t cap, uint32_t local)
{
    if (cap < 2 || (cap & (cap - 1)) != 0)
        return MOAT_E_INVAL;
    r->sh = (struct moat_ring_sh *)sh;
    r->data = (uint8_t *)data;
    r->cap = cap;
    r->mask = cap - 1;
    r->local = local;
    return 0;
}

/* Reset both indices to zero. Only while neither side uses the ring. */
static inline void moat_ring_reset(struct moat_ring_sh *sh)
{
    atomic_store_explicit(&sh->prod, 0, memory_order_relaxed);
    atomic_store_explicit(&sh->cons, 0, memory_order_release);
}

/* Copy helpers with wrap-around; @p at is an absolute (free-running) index. */
static inline void moat_ring_copy_in(struct moat_ring *r, uint32_t at,
                                     const void *src, uint32_t len)
{
    uint32_t o = at & r->mask;
    uint32_t first = r->cap - o;
    if (first >= len) {
        memcpy(r->data + o, src, len);
    } else {
        memcpy(r->data + o, src, first);
        memcpy(r->data, (const uint8_t *)src + first, len - first);
    }
}

static inline void moat_ring_copy_out(const struct moat_ring *r, uint32_t at,
                                      void *dst, uint32_t len)
{
    uint32_t o = at & r->mask;
    uint32_t first = r->cap - o;
    if (first >= len) {
        memcpy(dst, r->data + o, len);
    } else {
        memcpy(dst, r->data + o, first);
        memcpy((uint8_t *)dst + first, r->data, len - first);
    }
}

/* Producer only: free bytes. Returns 0, or MOAT_E_PEER if the consumer's
 * index is impossible. */
static inline int moat_ring_space(const struct moat_ring *r, uint32_t *space)
{
    /* Pairs with the store-release of cons in moat_ring_consume(). */
    uint32_t cons = atomic_load_explicit(&r->sh->cons, memory_order_acquire);
    uint32_t used = r->local - cons;
    if (used > r->cap)
        return MOAT_E_PEER;
    *space = r->cap - used;
    return 0;
}

/* Producer only: write @p len bytes @p off bytes past our unpublished
 * producer index. The caller has checked the space. */
static inline void moat_ring_put(struct moat_ring *r, uint32_t off,
                                 const void *src, uint32_t len)
{
    moat_ring_copy_in(r, r->local + off, src, len);
}

/* Producer only: make @p len more bytes visible to the consumer. */
static inline void moat_ring_publish(struct moat_ring *r, uint32_t len)
{
    r->local += len;
    /* Pairs with the load-acquire of prod in moat_ring_avail(). */
    atomic_store_explicit(&r->sh->prod, r->local, memory_order_release);
}

/* Consumer only: readable bytes. Returns 0, or MOAT_E_PEER if the
 * producer's index is impossible. */
static inline int moat_ring_avail(const struct moat_ring *r, uint32_t *avail)
{
    /* Pairs with the store-release of prod in moat_ring_publish(). */
    uint32_t prod = atomic_load_explicit(&r->sh->prod, memory_order_acquire);
    uint32_t n = prod - r->local;
    if (n > r->cap)
        return MOAT_E_PEER;
    *avail = n;
    return 0;
}

/* Consumer only: copy @p len bytes starting @p off bytes past our index
 * (the caller has checked they are available). */
static inline void moat_ring_get(const struct moat_ring *r, uint32_t off,
                                 void *dst, uint32_t len)
{
    moat_ring_copy_out(r, r->local + off, dst, len);
}

/* Consumer only: give @p len bytes back to the producer. */
static inline void moat_ring_consume(struct moat_ring *r, uint32_t len)
{
    r->local += len;
    /* Pairs with the load-acquire of cons in moat_ring_space(). */
    atomic_store_explicit(&r->sh->cons, r->local, memory_order_release);
}

#endif
