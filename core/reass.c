/* SPDX-License-Identifier: MIT */
/*
 * What IPv4 and IPv6 reassembly (ip4_reass.c, ip6_reass.c) share: the
 * fragment list of a datagram in progress (packets sorted by offset), and
 * the table of datagrams in progress -- finding a datagram's slot or
 * claiming one (the oldest gives way when all are taken), the bounds on
 * fragments per datagram and on the pool share reassembly may hold, and
 * the expiry loop. The families keep what differs: the key, how a
 * fragment is parsed and stored, the overlap policy, and what an expiry
 * sends.
 */
#include "core_priv.h"

#define FRAG_MAX_FRAGS 64u      /* fragments per datagram */

/* ---- fragment lists --------------------------------------------------- */

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

/* ---- the table of datagrams in progress ---------------------------------- */

static struct frag_slot *frag_at(const struct frag_table *t, uint32_t i)
{
    return (struct frag_slot *)((uint8_t *)t->slots + (size_t)i * t->stride);
}

void frag_slot_free(struct mcore *c, const struct frag_table *t, struct frag_slot *s)
{
    frag_list_free(c, s->frags);
    memset(s, 0, t->stride);
}

struct frag_slot *frag_slot_get(struct mcore *c, const struct frag_table *t,
                                frag_match_fn match, const void *key, unsigned ifx,
                                bool *fresh)
{
    struct frag_slot *freeslot = NULL, *oldest = NULL;

    *fresh = false;
    for (uint32_t i = 0; i < t->n; i++) {
        struct frag_slot *s = frag_at(t, i);
        if (!s->used) {
            if (!freeslot)
                freeslot = s;
            continue;
        }
        if (match(s, key))
            return s;
        if (!oldest || s->expires < oldest->expires)
            oldest = s;
    }
    if (!freeslot) {
        /* Out of slots: the oldest datagram in progress gives way. */
        MCORE_DROP(c, FRAG_NOMEM);
        frag_slot_free(c, t, oldest);
        freeslot = oldest;
    }
    freeslot->used = 1;
    freeslot->ifx = (uint8_t)ifx;
    freeslot->expires = c->now + (uint64_t)c->cfg.reass_timeout_ms * 1000u;
    if (freeslot->expires < *t->due)
        *t->due = freeslot->expires;
    *fresh = true;
    return freeslot;
}

struct pkt *frag_slot_pkt(struct mcore *c, const struct frag_table *t, struct frag_slot *s)
{
    if (s->nfrags >= FRAG_MAX_FRAGS || c->reass_pkts >= c->pkts.total / 2) {
        MCORE_DROP(c, FRAG_NOMEM);
        frag_slot_free(c, t, s);
        return NULL;
    }
    struct pkt *p = pkt_alloc(c);
    if (!p) {
        frag_slot_free(c, t, s);
        return NULL;
    }
    c->reass_pkts++;
    return p;
}

void frag_slot_add(struct frag_slot *s, struct pkt *p, size_t off, size_t n, bool last)
{
    p->aux = (uint32_t)off;
    frag_list_insert(&s->frags, p);
    s->nfrags++;
    if (last)
        s->total = (uint32_t)(off + n);
}

uint64_t frag_slots_poll(struct mcore *c, const struct frag_table *t, frag_expire_fn expire)
{
    uint64_t next = MCORE_NEVER;

    if (c->now < *t->due)
        return *t->due;
    for (uint32_t i = 0; i < t->n; i++) {
        struct frag_slot *s = frag_at(t, i);
        if (!s->used)
            continue;
        if (c->now >= s->expires) {
            expire(c, s);
            frag_slot_free(c, t, s);
            continue;
        }
        next = mcore_min(next, s->expires);
    }
    *t->due = next;
    return next;
}

void frag_slots_shutdown(struct mcore *c, const struct frag_table *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (frag_at(t, i)->used)
            frag_slot_free(c, t, frag_at(t, i));
}
