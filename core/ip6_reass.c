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

#define FRAG_HLEN 8u

struct reass6_slot {
    /* First. frags: p->off = unfragmentable part length (the fragment
     * header removed). */
    struct frag_slot f;
    uint8_t src[16], dst[16];
    uint32_t id;
};

struct reass6_key {
    const uint8_t *src, *dst;
    uint32_t id;
};

static struct frag_table reass6_table(struct mcore *c)
{
    return (struct frag_table){ c->ip6.reass, sizeof(struct reass6_slot), c->ip6.n_reass,
                                &c->ip6.reass_due };
}

static bool reass6_match(const struct frag_slot *f, const void *key)
{
    const struct reass6_slot *s = (const struct reass6_slot *)f;
    const struct reass6_key *k = key;
    return s->id == k->id && ip6_eq(s->src, k->src) && ip6_eq(s->dst, k->dst);
}

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
    struct frag_table t = reass6_table(c);
    frag_slot_free(c, &t, &r->f);
}

static void complete(struct mcore *c, struct reass6_slot *r)
{
    if (!frag_list_complete(r->f.frags, r->f.total))
        return;
    struct pkt *first = r->f.frags;
    size_t ul = first->off;
    if (ul + r->f.total > MCORE_IP_MAX(&c->cfg)) {    /* scratch2's size */
        MCORE_DROP(c, FRAG_BAD);
        slot_free(c, r);
        return;
    }
    uint8_t *d = c->scratch2;
    memcpy(d, first->data, ul);
    for (struct pkt *p = r->f.frags; p; p = p->next)
        memcpy(d + ul + p->aux, p->data + p->off, frag_len(p));
    size_t plen = ul - MCORE_IP6_HLEN + r->f.total;
    unsigned ifx = r->f.ifx;
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

    /* What we keep: the unfragmentable part, then this fragment's data. */
    if (n == 0 || foff + n > MCORE_PKT_DATA || foff + off + n > MCORE_IP_MAX(&c->cfg)) {
        MCORE_DROP(c, FRAG_BAD);
        return;
    }
    struct frag_table t = reass6_table(c);
    struct reass6_key key = { h + 8, h + 24, id };
    bool fresh;
    struct reass6_slot *r =
        (struct reass6_slot *)frag_slot_get(c, &t, reass6_match, &key, ifx, &fresh);
    if (fresh) {
        memcpy(r->src, h + 8, 16);
        memcpy(r->dst, h + 24, 16);
        r->id = id;
    }
    if (r->f.dead) {
        MCORE_DROP(c, FRAG_OVERLAP);
        return;
    }
    if (!frag_list_fits(r->f.frags, r->f.total, off, n, last))
        goto bad;
    for (struct pkt *q = r->f.frags; q; q = q->next) {
        size_t qo = q->aux, qn = frag_len(q);
        if (off >= qo + qn || qo >= off + n)
            continue;
        if (qo == off && qn == n && memcmp(q->data + q->off, h + foff + FRAG_HLEN, n) == 0) {
            MCORE_DROP(c, FRAG_DUP);
            return;
        }
        /* RFC 5722: the whole datagram goes, and what follows of it. */
        MCORE_DROP(c, FRAG_OVERLAP);
        frag_list_free(c, r->f.frags);
        r->f.frags = NULL;
        r->f.nfrags = 0;
        r->f.dead = 1;
        return;
    }
    struct pkt *p = frag_slot_pkt(c, &t, &r->f);
    if (!p)
        return;
    /* Unfragmentable part with the fragment header cut out: the byte that
     * named it now names what it named. */
    memcpy(p->data, h, foff);
    p->data[nhpos] = fh[0];
    memcpy(p->data + foff, h + foff + FRAG_HLEN, n);
    p->len = (uint16_t)(foff + n);
    p->off = (uint16_t)foff;
    frag_slot_add(&r->f, p, off, n, last);
    complete(c, r);
    return;
bad:
    MCORE_DROP(c, FRAG_BAD);
    slot_free(c, r);
}

/* RFC 8200 4.5: Time Exceeded code 1, quoting the first fragment (as we
 * keep it: without its fragment header), only when it has arrived. */
static void reass6_expire(struct mcore *c, struct frag_slot *f)
{
    const struct reass6_slot *r = (const struct reass6_slot *)f;
    struct pkt *first = f->frags;
    if (!f->dead)
        MCORE_DROP(c, FRAG_TIMEOUT);
    if (first && first->aux == 0) {
        struct ip6_rx rx = {
            .ifx = f->ifx, .to_mcast = ip6_is_mcast(r->dst), .proto = first->data[6],
            .dgram = first->data, .dgram_len = first->len,
        };
        memcpy(rx.src, r->src, 16);
        memcpy(rx.dst, r->dst, 16);
        icmp6_send_error(c, &rx, ICMP6_TIME_EXCEEDED, 1, 0);
    }
}

uint64_t reass6_poll(struct mcore *c)
{
    struct frag_table t = reass6_table(c);
    return frag_slots_poll(c, &t, reass6_expire);
}

void reass6_shutdown(struct mcore *c)
{
    struct frag_table t = reass6_table(c);
    frag_slots_shutdown(c, &t);
}
