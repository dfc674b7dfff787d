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

#define IP_MF      0x2000u
#define IP_OFFMASK 0x1fffu
#define REASS_MAX_FRAGS 64u

struct reass_slot {
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    uint8_t used;
    uint8_t ifx;
    uint8_t nfrags;
    uint32_t total;             /* payload length once the last fragment came; 0 before */
    uint64_t expires;
    struct pkt *frags;          /* sorted by offset; p->aux = offset, p->off = header length */
};

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

/* ---- fragment lists (IPv4 and IPv6 reassembly) ---- */

static size_t frag_len(const struct pkt *p) { return (size_t)p->len - p->off; }

void frag_list_free(struct mcore *c, struct pkt *head)
{
    for (struct pkt *p = head; p; p = p->next)
        c->reass_pkts--;
    pkt_free_list(c, head);
}

void frag_list_insert(struct pkt **head, struct pkt *p)
{
    struct pkt **pp = head;
    while (*pp && (*pp)->aux <= p->aux)
        pp = &(*pp)->next;
    p->next = *pp;
    *pp = p;
}

bool frag_list_complete(const struct pkt *head, uint32_t total)
{
    size_t need = 0;
    for (const struct pkt *p = head; p; p = p->next) {
        if (p->aux > need)
            return false;                   /* a hole */
        if (p->aux + frag_len(p) > need)
            need = p->aux + frag_len(p);
    }
    return total && need >= total;
}

bool frag_list_fits(const struct pkt *head, uint32_t total, size_t off, size_t n, bool last)
{
    if (total && (off + n > total || (last && off + n != total)))
        return false;
    if (last && !total)
        for (const struct pkt *q = head; q; q = q->next)
            if (q->aux + frag_len(q) > off + n)
                return false;
    return true;
}

static void reass_free(struct mcore *c, struct reass_slot *r)
{
    frag_list_free(c, r->frags);
    memset(r, 0, sizeof(*r));
}

/* Compare the overlap of [o, o+n) with what @p r holds. Returns -1 on a
 * conflict, 1 if fully covered already, 0 otherwise. */
static int reass_overlap(const struct reass_slot *r, size_t o, size_t n, const uint8_t *d)
{
    size_t covered = 0;
    for (const struct pkt *p = r->frags; p; p = p->next) {
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
    if (!frag_list_complete(r->frags, r->total))
        return;
    /* Complete: header of the first fragment, then every piece in place. */
    struct pkt *first = r->frags;
    size_t hl = first->off;
    uint8_t *d = c->scratch2;
    memcpy(d, first->data, hl);
    for (struct pkt *p = r->frags; p; p = p->next)
        memcpy(d + hl + p->aux, p->data + p->off, frag_len(p));
    wr16(d + 2, (uint16_t)(hl + r->total));
    wr16(d + 6, 0);
    struct ip4_rx rx = {
        .src = r->src, .dst = r->dst, .proto = r->proto, .ttl = d[8], .tos = d[1],
        .ifx = r->ifx, .to_bcast = !ip4_is_ours(c, r->dst), .was_frag = 1,
        .dgram = d, .hdr_len = hl, .tot_len = hl + r->total,
    };
    reass_free(c, r);
    c->stats.ip_reassembled++;
    ip4_deliver(c, &rx);
}

void reass_input(struct mcore *c, const struct ip4_rx *rx)
{
    const uint8_t *h = rx->dgram;
    uint16_t f = rd16(h + 6);
    size_t off = (size_t)(f & IP_OFFMASK) * 8;
    size_t n = rx->tot_len - rx->hdr_len;
    bool last = !(f & IP_MF);
    struct reass_slot *r = NULL, *freeslot = NULL, *oldest = NULL;

    if (n == 0 || off + n > MCORE_IP_MAX(&c->cfg) - rx->hdr_len || (!last && (n & 7)) ||
        rx->tot_len > MCORE_PKT_DATA) {
        MCORE_DROP(c, FRAG_BAD);
        return;
    }
    for (uint32_t i = 0; i < c->ip.n_reass; i++) {
        struct reass_slot *s = &c->ip.reass[i];
        if (!s->used) {
            if (!freeslot)
                freeslot = s;
            continue;
        }
        if (s->src == rx->src && s->dst == rx->dst && s->id == rd16(h + 4) &&
            s->proto == rx->proto) {
            r = s;
            break;
        }
        if (!oldest || s->expires < oldest->expires)
            oldest = s;
    }
    if (!r) {
        if (!freeslot) {
            /* Out of slots: the oldest datagram in progress gives way. */
            MCORE_DROP(c, FRAG_NOMEM);
            reass_free(c, oldest);
            freeslot = oldest;
        }
        r = freeslot;
        r->used = 1;
        r->src = rx->src;
        r->dst = rx->dst;
        r->id = rd16(h + 4);
        r->proto = rx->proto;
        r->ifx = rx->ifx;
        r->expires = c->now + (uint64_t)c->cfg.reass_timeout_ms * 1000u;
        if (r->expires < c->ip.reass_due)
            c->ip.reass_due = r->expires;
    }
    /* Consistency with what we know of the end of the datagram. */
    if (!frag_list_fits(r->frags, r->total, off, n, last))
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
    if (r->nfrags >= REASS_MAX_FRAGS || c->reass_pkts >= c->pkts.total / 2) {
        MCORE_DROP(c, FRAG_NOMEM);
        reass_free(c, r);
        return;
    }
    struct pkt *p = pkt_alloc(c);
    if (!p) {
        reass_free(c, r);
        return;
    }
    c->reass_pkts++;
    memcpy(p->data, h, rx->tot_len);
    p->len = (uint16_t)rx->tot_len;
    p->off = (uint16_t)rx->hdr_len;
    p->aux = (uint32_t)off;
    frag_list_insert(&r->frags, p);
    r->nfrags++;
    if (last)
        r->total = (uint32_t)(off + n);
    reass_complete(c, r);
    return;
bad:
    MCORE_DROP(c, FRAG_BAD);
    reass_free(c, r);
}

uint64_t reass_poll(struct mcore *c)
{
    uint64_t next = MCORE_NEVER;

    if (c->now < c->ip.reass_due)
        return c->ip.reass_due;
    for (uint32_t i = 0; i < c->ip.n_reass; i++) {
        struct reass_slot *r = &c->ip.reass[i];
        if (!r->used)
            continue;
        if (c->now >= r->expires) {
            MCORE_DROP(c, FRAG_TIMEOUT);
            struct pkt *first = r->frags;
            if (first && first->aux == 0) {
                /* RFC 1122 3.3.2: Time Exceeded, code 1, quoting the first
                 * fragment, only when it has arrived. */
                struct ip4_rx rx = {
                    .src = r->src, .dst = r->dst, .proto = r->proto,
                    .ifx = r->ifx, .to_bcast = !ip4_is_ours(c, r->dst),
                    .dgram = first->data, .hdr_len = first->off, .tot_len = first->len,
                };
                icmp_send_error(c, &rx, ICMP_TIME_EXCEEDED, 1, 0);
            }
            reass_free(c, r);
            continue;
        }
        next = mcore_min(next, r->expires);
    }
    c->ip.reass_due = next;
    return next;
}

void reass_shutdown(struct mcore *c)
{
    for (uint32_t i = 0; i < c->ip.n_reass; i++)
        if (c->ip.reass[i].used)
            reass_free(c, &c->ip.reass[i]);
}
