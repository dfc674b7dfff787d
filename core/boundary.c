/* SPDX-License-Identifier: MIT */
/*
 * The socket region's layout, header checks, and the validator of the
 * message catalog (core/msg.def). Shared by the net domain and the
 * application side of every backend.
 */
#include "boundary.h"

#include "moat/moat.h"

static size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }
static int pow2(uint32_t v) { return v >= 2 && (v & (v - 1)) == 0; }

/* max_sockets up to 65536 (MOAT_MAX_SOCKETS): the handle has 16 bits of
 * slot index. The data part of the region is only reserved here: pages of
 * a slot's rings are touched (and cost memory) once the slot carries data. */
int moat_layout_compute(const struct moat_geom *g, struct moat_layout *out)
{
    size_t off = 0;

    if (!g || !out || g->max_sockets == 0 || g->max_sockets > 65536u ||
        !pow2(g->sock_rx_bytes) || !pow2(g->sock_tx_bytes) || !pow2(g->ctl_slots))
        return MOAT_E_INVAL;
    if (g->sock_rx_bytes > (64u << 20) || g->sock_tx_bytes > (64u << 20) ||
        g->ctl_slots > 4096)
        return MOAT_E_RANGE;
    out->g = *g;
    off = align_up(sizeof(struct moat_region_hdr), MOAT_CACHELINE);
    out->off_ctl_sh = off;
    off += sizeof(struct moat_ring_sh);
    out->off_evt_sh = off;
    off += sizeof(struct moat_ring_sh);
    out->off_socks = off;
    off += (size_t)g->max_sockets * sizeof(struct moat_sock_sh);
    off = align_up(off, MOAT_CACHELINE);
    out->n_dirty = (g->max_sockets + 31u) / 32u;
    out->n_dirty_sum = (out->n_dirty + 31u) / 32u;
    out->off_dirty = off;
    off = align_up(off + (size_t)out->n_dirty * sizeof(uint32_t), MOAT_CACHELINE);
    out->off_dirty_sum = off;
    off = align_up(off + (size_t)out->n_dirty_sum * sizeof(uint32_t), MOAT_CACHELINE);
    out->off_ready = off;
    off = align_up(off + (size_t)out->n_dirty * sizeof(uint32_t), MOAT_CACHELINE);
    out->off_ready_sum = off;
    off = align_up(off + (size_t)out->n_dirty_sum * sizeof(uint32_t), MOAT_CACHELINE);
    out->off_ctl_data = off;
    off += (size_t)g->ctl_slots * MOAT_MSG_SIZE;
    out->off_evt_data = off;
    off += (size_t)g->ctl_slots * MOAT_MSG_SIZE;
    off = align_up(off, 4096);
    out->off_sock_data = off;
    out->sock_stride = (size_t)g->sock_rx_bytes + g->sock_tx_bytes;
    off += (size_t)g->max_sockets * out->sock_stride;
    out->size = align_up(off, 4096);
    return 0;
}

int moat_layout_for_config(const struct moat_config *cfg, struct moat_layout *out)
{
    struct moat_geom g = {
        .max_sockets = cfg->max_sockets,
        .sock_rx_bytes = cfg->sock_rx_bytes,
        .sock_tx_bytes = cfg->sock_tx_bytes,
        .ctl_slots = MOAT_CTL_SLOTS,
    };
    return moat_layout_compute(&g, out);
}

void moat_region_init(void *base, const struct moat_layout *lay)
{
    struct moat_region_hdr *h = base;
    uint8_t *b = base;

    memset(base, 0, lay->off_sock_data);
    h->magic = MOAT_REGION_MAGIC;
    h->version = MOAT_REGION_VERSION;
    h->geom = lay->g;
    h->size = lay->size;
    moat_ring_reset((struct moat_ring_sh *)(b + lay->off_ctl_sh));
    moat_ring_reset((struct moat_ring_sh *)(b + lay->off_evt_sh));
    for (uint32_t i = 0; i < lay->g.max_sockets; i++) {
        struct moat_sock_sh *s = moat_region_sock(base, lay, i);
        moat_ring_reset(&s->rx);
        moat_ring_reset(&s->tx);
    }
}

int moat_region_check(const void *base, size_t size, const struct moat_layout *lay)
{
    const struct moat_region_hdr *h = base;

    if (!base || size < lay->size)
        return MOAT_E_PEER;
    if (h->magic != MOAT_REGION_MAGIC || h->version != MOAT_REGION_VERSION)
        return MOAT_E_PEER;
    if (h->geom.max_sockets != lay->g.max_sockets ||
        h->geom.sock_rx_bytes != lay->g.sock_rx_bytes ||
        h->geom.sock_tx_bytes != lay->g.sock_tx_bytes ||
        h->geom.ctl_slots != lay->g.ctl_slots || h->size != lay->size)
        return MOAT_E_PEER;
    return 0;
}

static const uint8_t msg_dir[MOAT_MSG_COUNT_] = {
    [MOAT_MSG_INVALID_] = 0,
#define MOAT_MSG(name, dir, member, needs_sock) [MOAT_MSG_##name] = MOAT_DIR_##dir,
#include "msg.def"
#undef MOAT_MSG
};

static const char *const msg_names[MOAT_MSG_COUNT_] = {
    [MOAT_MSG_INVALID_] = "INVALID",
#define MOAT_MSG(name, dir, member, needs_sock) [MOAT_MSG_##name] = #name,
#include "msg.def"
#undef MOAT_MSG
};

int moat_msg_check(const struct moat_msg *m, enum moat_msg_dir from)
{
    if (m->type == 0 || m->type >= MOAT_MSG_COUNT_)
        return MOAT_E_PEER;
    if (msg_dir[m->type] != from)
        return MOAT_E_PEER;
    if (m->pad != 0)
        return MOAT_E_PEER;
    return 0;
}

const char *moat_msg_name(unsigned type)
{
    if (type >= MOAT_MSG_COUNT_)
        return "UNKNOWN";
    return msg_names[type];
}
