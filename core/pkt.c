/* SPDX-License-Identifier: MIT */
/*
 * Fixed-size packet buffers for what the core must hold on to: datagrams
 * waiting for ARP and fragments waiting for reassembly. Sized once at
 * init; exhaustion is a counted drop. Not used on the data fast path
 * (socket data lives in the socket rings).
 */
#include "core_priv.h"

size_t pkt_mem_size(uint32_t n)
{
    return (size_t)n * sizeof(struct pkt);
}

void pkt_init(struct mcore *c, void *mem, uint32_t n)
{
    struct pkt *arr = mem;
    c->pkts.free = NULL;
    for (uint32_t i = n; i-- > 0;) {
        arr[i].next = c->pkts.free;
        c->pkts.free = &arr[i];
    }
    c->pkts.total = n;
    c->pkts.in_use = 0;
}

struct pkt *pkt_alloc(struct mcore *c)
{
    struct pkt *p = c->pkts.free;
    if (!p) {
        MCORE_DROP(c, PKT_NOMEM);
        return NULL;
    }
    c->pkts.free = p->next;
    p->next = NULL;
    p->len = 0;
    p->off = 0;
    p->aux = 0;
    p->t = 0;
    c->pkts.in_use++;
    if (c->pkts.in_use > c->stats.pkt_high_water)
        c->stats.pkt_high_water = c->pkts.in_use;
    return p;
}

void pkt_free(struct mcore *c, struct pkt *p)
{
    if (!p)
        return;
    p->next = c->pkts.free;
    c->pkts.free = p;
    c->pkts.in_use--;
}

void pkt_free_list(struct mcore *c, struct pkt *head)
{
    while (head) {
        struct pkt *n = head->next;
        pkt_free(c, head);
        head = n;
    }
}

bool pkt_queue_push(struct mcore *c, struct pkt **head, struct pkt **tail, uint8_t *n,
                    uint32_t max, struct pkt *p)
{
    bool dropped = false;
    if (*n >= max && *head) {
        /* RFC 1122 2.3.2.2: keep the most recent; drop the oldest. */
        struct pkt *old = *head;
        *head = old->next;
        if (!*head)
            *tail = NULL;
        (*n)--;
        pkt_free(c, old);
        dropped = true;
    }
    p->next = NULL;
    if (*tail)
        (*tail)->next = p;
    else
        *head = p;
    *tail = p;
    (*n)++;
    return dropped;
}
