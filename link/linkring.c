/* SPDX-License-Identifier: MIT */
/*
 * The link boundary of the factored backends (see linkring.h for the
 * region layout and the restart protocol): the region itself, shared by
 * both sides -- geometry and layout, initialisation and the header check,
 * the doorbells, the descriptor check, and the counters each side
 * publishes. The net domain's side is linkring_net.c, the link domain's
 * (what moat-linkd runs) linkring_dev.c.
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

/*
 * The no-lost-wake-up handshake, the same on both sides. A side that
 * published records calls linkring_wake_peer(): its publishes (store-
 * release of prod/cons) are ordered before it reads the peer's sleeping
 * flag. A side about to sleep calls linkring_sleep_prepare() and then
 * re-checks its rings: it sets its own flag and fences before reading
 * the peer's indices. With a full fence on both sides at least one sees
 * the other's write, so either the publisher rings or the sleeper sees
 * the work.
 */
void linkring_wake_peer(_Atomic uint32_t *peer_sleeping, int peer_bell,
                        struct linkring_counters *cnt)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(peer_sleeping, memory_order_relaxed) &&
        atomic_exchange_explicit(peer_sleeping, 0, memory_order_seq_cst)) {
        linkring_bell_ring(peer_bell);
        cnt->bells++;
    }
}

void linkring_sleep_prepare(void *base, int link_side, _Atomic uint32_t *my_sleeping, int my_bell,
                            const struct linkring_counters *cnt)
{
    linkring_counters_publish(base, link_side, cnt);     /* diagnostics only */
    linkring_bell_drain(my_bell);
    atomic_store_explicit(my_sleeping, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
}


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

void linkring_view_attach(struct linkring_view *v, void *base, const struct linkring_layout *lay,
                          int net_bell, int link_bell)
{
    v->base = base;
    v->hdr = linkring_hdr(base);
    v->lay = *lay;
    v->bufs = (uint8_t *)base + lay->buf_off;
    for (int i = 0; i < LINKRING_NRINGS; i++) {
        /* Cannot fail: ring_slots * 8 is a power of two >= 16 (checked
         * by linkring_layout). */
        (void)moat_ring_attach(&v->ring[i], lr_ring_sh(base, lay, i), lr_ring_data(base, lay, i),
                               lay->g.ring_slots * LR_DESC, 0);
    }
    v->net_bell = net_bell;
    v->link_bell = link_bell;
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
