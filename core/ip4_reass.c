/* SPDX-License-Identifier: MIT */
/*
 * IPv4 reassembly (RFC 791, RFC 815, RFC 1122 3.3.2) with bounded memory:
 * a fixed number of datagrams in progress, fragments copied into packet
 * buffers (at most half of the pool), a timeout after which the slot is
 * freed and, if the first fragment had arrived, ICMP Time Exceeded sent.
 *
 * Policy for overlaps (documented choice): a fragment whose bytes agree
 * with what we hold where they overlap is accepted (exact duplicates are
 * ignored); one that disagrees discards the whole datagram and is counted
 * as FRAG_OVERLAP, so a mix of two versions is never delivered.
 */
#include "core_priv.h"

struct reass_slot {
    struct frag_slot f;         /* first; frags: p->off = header length */
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
};

struct reass_key {
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
};

static struct frag_table reass_table(struct mcore *c)
{
    return (struct frag_table){ c->ip.reass, sizeof(struct reass_slot), c->ip.n_reass,
                                &c->ip.reass_due };
}

static bool reass_match(const struct frag_slot *f, const void *key)
{
    const struct reass_slot *s = (const struct reass_slot *)f;
    const struct reass_key *k = key;
    return s->src == k->src && s->dst == k->dst && s->id == k->id && s->proto == k->proto;
}

size_t reass_mem_size(const struct moat_config *cfg)
{
    return (size_t)cfg->reass_slots * sizeof(struct reass_slot);
}

void reass_init(struct mcore *c, void *mem)
{
    c->ip.reass = mem;
    c->ip.n_reass = c->cfg.reass_slots;
    memset(mem, 0, reass_mem_size(&c->cfg));
    c->ip.reass_due = MCORE_NEVER;
}

static void reass_free(struct mcore *c, struct reass_slot *r)
{
    struct frag_table t = reass_table(c);
    frag_slot_free(c, &t, &r->f);
}

/* Compare the overlap of [o, o+n) with what @p r holds. Returns -1 on a
 * conflict, 1 if fully covered already, 0 otherwise. */
static int reass_overlap(const struct reass_slot *r, size_t o, size_t n, const uint8_t *d)
{
    size_t covered = 0;
    for (const struct pkt *p = r->f.frags; p; p = p->next) {
        size_t po = p->aux, pn = frag_len(p);
        size_t lo = o > po ? o : po;
        size_t hi = (o + n) < (po + pn) ? (o + n) : (po + pn);
        if (lo >= hi)
            continue;
        if (memcmp(d + (lo - o), p->data + p->off + (lo - po), hi - lo) != 0)
            return -1;
        covered += hi - lo;
    }
    return covered >= n ? 1 : 0;
}

static void reass_complete(struct mcore *c, struct reass_slot *r)
{
    if (!frag_list_complete(r->f.frags, r->f.total))
        return;
    /* Complete: header of the first fragment, then every piece in place. */
    struct pkt *first = r->f.frags;
    size_t hl = first->off;
    uint8_t *d = c->scratch2;
    memcpy(d, first->data, hl);
    for (struct pkt *p = r->f.frags; p; p = p->next)
        memcpy(d + hl + p->aux, p->data + p->off, frag_len(p));
    wr16(d + 2, (uint16_t)(hl + r->f.total));
    wr16(d + 6, 0);
    struct ip4_rx rx = {
        .src = r->src, .dst = r->dst, .proto = r->proto, .ttl = d[8], .tos = d[1],
        .ifx = r->f.ifx, .to_bcast = !ip4_is_ours(c, r->dst), .was_frag = 1,
        .dgram = d, .hdr_len = hl, .tot_len = hl + r->f.total,
    };
    reass_free(c, r);
    c->stats.ip_reassembled++;
    ip4_deliver(c, &rx);
}

void reass_input(struct mcore *c, const struct ip4_rx *rx)
{
    const uint8_t *h = rx->dgram;
    uint16_t f = rd16(h + 6);
    size_t off = (size_t)(f & HDR_IP4_OFFMASK) * 8;
    size_t n = rx->tot_len - rx->hdr_len;
    bool last = !(f & HDR_IP4_MF);

    if (n == 0 || off + n > MCORE_IP_MAX(&c->cfg) - rx->hdr_len || (!last && (n & 7)) ||
        rx->tot_len > MCORE_PKT_DATA) {
        MCORE_DROP(c, FRAG_BAD);
        return;
    }
    struct frag_table t = reass_table(c);
    struct reass_key key = { rx->src, rx->dst, rd16(h + 4), rx->proto };
    bool fresh;
    struct reass_slot *r =
        (struct reass_slot *)frag_slot_get(c, &t, reass_match, &key, rx->ifx, &fresh);
    if (fresh) {
        r->src = key.src;
        r->dst = key.dst;
        r->id = key.id;
        r->proto = key.proto;
    }
    /* Consistency with what we know of the end of the datagram. */
    if (!frag_list_fits(r->f.frags, r->f.total, off, n, last))
        goto bad;
    int ov = reass_overlap(r, off, n, h + rx->hdr_len);
    if (ov < 0) {
        MCORE_DROP(c, FRAG_OVERLAP);
        reass_free(c, r);
        return;
    }
    if (ov > 0) {
        MCORE_DROP(c, FRAG_DUP);
        return;
    }
    struct pkt *p = frag_slot_pkt(c, &t, &r->f);
    if (!p)
        return;
    memcpy(p->data, h, rx->tot_len);
    p->len = (uint16_t)rx->tot_len;
    p->off = (uint16_t)rx->hdr_len;
    frag_slot_add(&r->f, p, off, n, last);
    reass_complete(c, r);
    return;
bad:
    MCORE_DROP(c, FRAG_BAD);
    reass_free(c, r);
}

/* RFC 1122 3.3.2: Time Exceeded, code 1, quoting the first fragment, only
 * when it has arrived. */
static void reass_expire(struct mcore *c, struct frag_slot *f)
{
    const struct reass_slot *r = (const struct reass_slot *)f;
    struct pkt *first = f->frags;
    MCORE_DROP(c, FRAG_TIMEOUT);
    if (first && first->aux == 0) {
        struct ip4_rx rx = {
            .src = r->src, .dst = r->dst, .proto = r->proto,
            .ifx = f->ifx, .to_bcast = !ip4_is_ours(c, r->dst),
            .dgram = first->data, .hdr_len = first->off, .tot_len = first->len,
        };
        icmp_send_error(c, &rx, ICMP_TIME_EXCEEDED, 1, 0);
    }
}

uint64_t reass_poll(struct mcore *c)
{
    struct frag_table t = reass_table(c);
    return frag_slots_poll(c, &t, reass_expire);
}

void reass_shutdown(struct mcore *c)
{
    struct frag_table t = reass_table(c);
    frag_slots_shutdown(c, &t);
}
