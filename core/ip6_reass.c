/* SPDX-License-Identifier: MIT */
/*
 * IPv6 reassembly (RFC 8200 4.5) with the same bounds as IPv4's
 * (ip4_reass.c): cfg.reass_slots datagrams at once, fragments copied into
 * packet buffers of the shared pool (IPv4 and IPv6 together hold at most
 * half of it), cfg.reass_timeout_ms to complete, then ICMPv6 Time Exceeded
 * (code 1) if the first fragment had come.
 *
 * Overlaps (RFC 5722): a fragment that overlaps another discards the whole
 * datagram and every later fragment of it until the timeout (counted
 * FRAG_OVERLAP). An exact duplicate (same offset, length and bytes: a
 * retransmission on the link) is ignored (FRAG_DUP), as Linux does; any
 * other overlap, even with agreeing bytes, is an attack or a bug.
 *
 * RFC 7112: the first fragment must hold the whole header chain; the
 * reassembled datagram is walked again by ip6_input_dgram, which refuses
 * a second fragment header.
 */
#include "core_priv.h"

#define REASS6_MAX_FRAGS 64u
#define FRAG_HLEN 8u

struct reass6_slot {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t used;
    uint8_t dead;               /* overlap seen: drop the rest until expiry */
    uint8_t ifx;
    uint8_t nfrags;
    uint32_t total;             /* payload length once the last fragment came; 0 before */
    uint64_t expires;
    /* sorted by offset; p->aux = offset, p->off = unfragmentable part length
     * (the fragment header removed), p->t = position of the next-header
     * byte that named the fragment header */
    struct pkt *frags;
};

size_t reass6_mem_size(const struct moat_config *cfg)
{
    return (size_t)cfg->reass_slots * sizeof(struct reass6_slot);
}

void reass6_init(struct mcore *c, void *mem)
{
    c->ip6.reass = mem;
    c->ip6.n_reass = c->cfg.reass_slots;
    memset(mem, 0, reass6_mem_size(&c->cfg));
    c->ip6.reass_due = MCORE_NEVER;
}

static void slot_free(struct mcore *c, struct reass6_slot *r)
{
    frag_list_free(c, r->frags);
    memset(r, 0, sizeof(*r));
}

static size_t frag_len(const struct pkt *p) { return (size_t)p->len - p->off; }

static void complete(struct mcore *c, struct reass6_slot *r)
{
    if (!frag_list_complete(r->frags, r->total))
        return;
    struct pkt *first = r->frags;
    size_t ul = first->off;
    if (ul + r->total > MCORE_IP_MAX(&c->cfg)) {    /* scratch2's size */
        MCORE_DROP(c, FRAG_BAD);
        slot_free(c, r);
        return;
    }
    uint8_t *d = c->scratch2;
    memcpy(d, first->data, ul);
    for (struct pkt *p = r->frags; p; p = p->next)
        memcpy(d + ul + p->aux, p->data + p->off, frag_len(p));
    size_t plen = ul - MCORE_IP6_HLEN + r->total;
    unsigned ifx = r->ifx;
    if (plen > 0xffffu) {
        MCORE_DROP(c, FRAG_BAD);
        slot_free(c, r);
        return;
    }
    wr16(d + 4, (uint16_t)plen);
    slot_free(c, r);
    c->stats.ip6_reassembled++;
    ip6_input_dgram(c, ifx, d, MCORE_IP6_HLEN + plen, true);
}

void reass6_input(struct mcore *c, unsigned ifx, const uint8_t *h, size_t len, size_t foff,
                  size_t nhpos)
{
    const uint8_t *fh = h + foff;
    uint16_t fo = rd16(fh + 2);
    size_t off = fo & 0xfff8u;
    bool last = !(fo & 1u);
    uint32_t id = rd32(fh + 4);
    size_t n = len - foff - FRAG_HLEN;
    struct reass6_slot *r = NULL, *freeslot = NULL, *oldest = NULL;

    /* What we keep: the unfragmentable part, then this fragment's data. */
    if (n == 0 || foff + n > MCORE_PKT_DATA || foff + off + n > MCORE_IP_MAX(&c->cfg)) {
        MCORE_DROP(c, FRAG_BAD);
        return;
    }
    for (uint32_t i = 0; i < c->ip6.n_reass; i++) {
        struct reass6_slot *s = &c->ip6.reass[i];
        if (!s->used) {
            if (!freeslot)
                freeslot = s;
            continue;
        }
        if (s->id == id && ip6_eq(s->src, h + 8) && ip6_eq(s->dst, h + 24)) {
            r = s;
            break;
        }
        if (!oldest || s->expires < oldest->expires)
            oldest = s;
    }
    if (!r) {
        if (!freeslot) {
            MCORE_DROP(c, FRAG_NOMEM);
            slot_free(c, oldest);
            freeslot = oldest;
        }
        r = freeslot;
        r->used = 1;
        memcpy(r->src, h + 8, 16);
        memcpy(r->dst, h + 24, 16);
        r->id = id;
        r->ifx = (uint8_t)ifx;
        r->expires = c->now + (uint64_t)c->cfg.reass_timeout_ms * 1000u;
        if (r->expires < c->ip6.reass_due)
            c->ip6.reass_due = r->expires;
    }
    if (r->dead) {
        MCORE_DROP(c, FRAG_OVERLAP);
        return;
    }
    if (!frag_list_fits(r->frags, r->total, off, n, last))
        goto bad;
    for (struct pkt *q = r->frags; q; q = q->next) {
        size_t qo = q->aux, qn = frag_len(q);
        if (off >= qo + qn || qo >= off + n)
            continue;
        if (qo == off && qn == n && memcmp(q->data + q->off, h + foff + FRAG_HLEN, n) == 0) {
            MCORE_DROP(c, FRAG_DUP);
            return;
        }
        /* RFC 5722: the whole datagram goes, and what follows of it. */
        MCORE_DROP(c, FRAG_OVERLAP);
        frag_list_free(c, r->frags);
        r->frags = NULL;
        r->nfrags = 0;
        r->dead = 1;
        return;
    }
    if (r->nfrags >= REASS6_MAX_FRAGS || c->reass_pkts >= c->pkts.total / 2) {
        MCORE_DROP(c, FRAG_NOMEM);
        slot_free(c, r);
        return;
    }
    struct pkt *p = pkt_alloc(c);
    if (!p) {
        slot_free(c, r);
        return;
    }
    c->reass_pkts++;
    /* Unfragmentable part with the fragment header cut out: the byte that
     * named it now names what it named. */
    memcpy(p->data, h, foff);
    p->data[nhpos] = fh[0];
    memcpy(p->data + foff, h + foff + FRAG_HLEN, n);
    p->len = (uint16_t)(foff + n);
    p->off = (uint16_t)foff;
    p->aux = (uint32_t)off;
    frag_list_insert(&r->frags, p);
    r->nfrags++;
    if (last)
        r->total = (uint32_t)(off + n);
    complete(c, r);
    return;
bad:
    MCORE_DROP(c, FRAG_BAD);
    slot_free(c, r);
}

uint64_t reass6_poll(struct mcore *c)
{
    uint64_t next = MCORE_NEVER;

    if (c->now < c->ip6.reass_due)
        return c->ip6.reass_due;
    for (uint32_t i = 0; i < c->ip6.n_reass; i++) {
        struct reass6_slot *r = &c->ip6.reass[i];
        if (!r->used)
            continue;
        if (c->now >= r->expires) {
            struct pkt *first = r->frags;
            if (!r->dead)
                MCORE_DROP(c, FRAG_TIMEOUT);
            if (first && first->aux == 0) {
                /* RFC 8200 4.5: Time Exceeded code 1, quoting the first
                 * fragment (as we keep it: without its fragment header). */
                struct ip6_rx rx = {
                    .ifx = r->ifx, .to_mcast = ip6_is_mcast(r->dst), .proto = first->data[6],
                    .dgram = first->data, .dgram_len = first->len,
                };
                memcpy(rx.src, r->src, 16);
                memcpy(rx.dst, r->dst, 16);
                icmp6_send_error(c, &rx, ICMP6_TIME_EXCEEDED, 1, 0);
            }
            slot_free(c, r);
            continue;
        }
        next = mcore_min(next, r->expires);
    }
    c->ip6.reass_due = next;
    return next;
}

void reass6_shutdown(struct mcore *c)
{
    for (uint32_t i = 0; i < c->ip6.n_reass; i++)
        if (c->ip6.reass[i].used)
            slot_free(c, &c->ip6.reass[i]);
}
