/* SPDX-License-Identifier: MIT */
/*
 * ARP (RFC 826, RFC 1122 2.3.2): the neighbour cache with aging and static
 * entries, resolution with a bounded queue of datagrams per next hop,
 * request retries rate-limited to one per second per destination, the
 * responder, and gratuitous announcements. Does not build IP datagrams
 * (ip4.c) and never trusts a length it did not check.
 */
#include "core_priv.h"

enum { ARP_FREE = 0, ARP_PENDING, ARP_RESOLVED, ARP_STATIC };

#define ARP_RETRY_US   1000000u  /* one request per second per destination */
#define ARP_MAX_TRIES  3u        /* then the queued datagrams are dropped */
#define ARP_PKT_LEN    28u

size_t arp_mem_size(const struct moat_config *cfg)
{
    return (size_t)cfg->arp_entries * sizeof(struct arp_entry);
}

void arp_init(struct mcore *c, void *mem)
{
    c->arp.tab = mem;
    c->arp.n = c->cfg.arp_entries;
    memset(mem, 0, arp_mem_size(&c->cfg));
    c->arp.next_due = MCORE_NEVER;
}

static void arp_send(struct mcore *c, unsigned ifx, uint16_t op, const uint8_t *tha,
                     uint32_t tpa, const uint8_t *eth_dst)
{
    struct mc_if *ifp = &c->ifs[ifx];
    uint8_t *f;
    size_t cap;

    if (eth_tx_acquire(c, ifx, &f, &cap) != 0)
        return;
    hdr_eth_emit(f, eth_dst, ifp->mac, ETH_TYPE_ARP);
    uint8_t *a = f + MCORE_ETH_HLEN;
    wr16(a, 1);             /* hardware: Ethernet */
    wr16(a + 2, ETH_TYPE_IP4);
    a[4] = 6;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, ifp->mac, 6);
    wr32(a + 14, ifp->ip);
    memcpy(a + 18, tha, 6);
    wr32(a + 24, tpa);
    if (eth_tx_commit(c, ifx, MCORE_ETH_HLEN + ARP_PKT_LEN) == 0) {
        if (op == 1)
            c->stats.arp_requests_out++;
        else
            c->stats.arp_replies_out++;
    }
}

static void arp_request(struct mcore *c, unsigned ifx, uint32_t ip)
{
    static const uint8_t zero[6] = {0};
    arp_send(c, ifx, 1, zero, ip, eth_bcast);
}

void arp_probe(struct mcore *c, unsigned ifx, uint32_t ip)
{
    /* arp_send puts the interface address in the sender field: 0.0.0.0
     * while the DHCP client probes, as RFC 5227 2.1.1 wants. */
    arp_request(c, ifx, ip);
}

void arp_announce(struct mcore *c, unsigned ifx)
{
    static const uint8_t zero[6] = {0};
    if (c->ifs[ifx].ip == 0)
        return;     /* no address yet (DHCP) */
    /* Gratuitous ARP: a request for our own address (RFC 5227 announce). */
    arp_send(c, ifx, 1, zero, c->ifs[ifx].ip, eth_bcast);
}

void mcore_arp_announce(struct mcore *c, uint64_t now_us)
{
    c->now = now_us;
    for (unsigned i = 0; i < c->n_ifs; i++)
        arp_announce(c, i);
}

static struct arp_entry *arp_find(struct mcore *c, unsigned ifx, uint32_t ip)
{
    for (uint32_t i = 0; i < c->arp.n; i++) {
        struct arp_entry *e = &c->arp.tab[i];
        if (e->state != ARP_FREE && e->ip == ip && e->ifx == ifx)
            return e;
    }
    return NULL;
}

static void arp_release(struct mcore *c, struct arp_entry *e)
{
    if (e->q_head) {
        for (struct pkt *p = e->q_head; p; p = p->next)
            MCORE_DROP(c, ARP_UNRESOLVED);
        pkt_free_list(c, e->q_head);
    }
    memset(e, 0, sizeof(*e));
}

/* A free entry, or the oldest dynamic one evicted; NULL if all are static. */
static struct arp_entry *arp_slot(struct mcore *c)
{
    struct arp_entry *old = NULL;
    for (uint32_t i = 0; i < c->arp.n; i++) {
        struct arp_entry *e = &c->arp.tab[i];
        if (e->state == ARP_FREE)
            return e;
        if (e->state != ARP_STATIC && (!old || e->created < old->created))
            old = e;
    }
    if (old)
        arp_release(c, old);
    return old;
}

static void arp_due(struct mcore *c, uint64_t t)
{
    if (t < c->arp.next_due)
        c->arp.next_due = t;
}

/* Send what waited for @p e's address, oldest first. */
static void arp_flush(struct mcore *c, struct arp_entry *e)
{
    struct pkt *p = e->q_head;
    e->q_head = e->q_tail = NULL;
    e->nq = 0;
    while (p) {
        struct pkt *n = p->next;
        ip4_output_raw(c, e->ifx, e->ip, p->data, p->len);
        pkt_free(c, p);
        p = n;
    }
}

static void arp_learn(struct mcore *c, struct arp_entry *e, const uint8_t *mac)
{
    if (e->state == ARP_STATIC)
        return;
    memcpy(e->mac, mac, 6);
    e->state = ARP_RESOLVED;
    e->tries = 0;
    e->expires = c->now + (uint64_t)c->cfg.arp_timeout_ms * 1000u;
    arp_due(c, e->expires);
    if (e->q_head)
        arp_flush(c, e);
}

void arp_input(struct mcore *c, unsigned ifx, const uint8_t *a, size_t len)
{
    struct mc_if *ifp = &c->ifs[ifx];

    if (len < ARP_PKT_LEN || rd16(a) != 1 || rd16(a + 2) != ETH_TYPE_IP4 ||
        a[4] != 6 || a[5] != 4) {
        MCORE_DROP(c, ARP_MALFORMED);
        return;
    }
    uint16_t op = rd16(a + 6);
    const uint8_t *sha = a + 8;
    uint32_t spa = rd32(a + 14);
    uint32_t tpa = rd32(a + 24);
    if ((op != 1 && op != 2) || (sha[0] & 1)) {
        MCORE_DROP(c, ARP_MALFORMED);
        return;
    }
    if (c->dhcp[ifx].state == MOAT_DHCP_PROBING)
        dhcp_arp_input(c, ifx, op, sha, spa, tpa);
    if (ifp->ip == 0) {
        /* No address (DHCP not bound): nothing to answer, and a probe for
         * 0.0.0.0 must not look like one for us. */
        MCORE_DROP(c, ARP_NOT_US);
        return;
    }
    if (spa == ifp->ip && spa != 0) {
        /* Someone else claims our address; nothing sane to learn. */
        MCORE_DROP(c, ARP_MALFORMED);
        return;
    }
    /* RFC 826 merge: update an existing entry for the sender... */
    struct arp_entry *e = spa ? arp_find(c, ifx, spa) : NULL;
    if (e)
        arp_learn(c, e, sha);
    if (tpa != ifp->ip) {
        if (!e)
            MCORE_DROP(c, ARP_NOT_US);
        return;
    }
    /* ...and create one only when we are the target. */
    if (!e && spa && (spa & ifp->mask) == (ifp->ip & ifp->mask)) {
        e = arp_slot(c);
        if (e) {
            e->ip = spa;
            e->ifx = (uint8_t)ifx;
            e->created = c->now;
            arp_learn(c, e, sha);
        }
    }
    if (op == 1)
        arp_send(c, ifx, 2, sha, spa, sha);
}

bool arp_lookup(struct mcore *c, unsigned ifx, uint32_t nexthop, uint8_t mac[6])
{
    if (eth_group_mac(c, ifx, nexthop, mac))
        return true;
    struct arp_entry *e = arp_find(c, ifx, nexthop);
    if (!e || (e->state != ARP_RESOLVED && e->state != ARP_STATIC))
        return false;
    memcpy(mac, e->mac, 6);
    return true;
}

void arp_queue(struct mcore *c, unsigned ifx, uint32_t nexthop, struct pkt *p)
{
    struct arp_entry *e = arp_find(c, ifx, nexthop);
    if (!e) {
        e = arp_slot(c);
        if (!e) {
            MCORE_DROP(c, ARP_QUEUE_FULL);
            pkt_free(c, p);
            return;
        }
        e->ip = nexthop;
        e->ifx = (uint8_t)ifx;
        e->state = ARP_PENDING;
        e->created = c->now;
        e->tries = 1;
        e->expires = c->now + ARP_RETRY_US;
        arp_due(c, e->expires);
        arp_request(c, ifx, nexthop);
    }
    if (e->state != ARP_PENDING) {
        /* Resolved meanwhile (cannot happen within one call, but be safe). */
        ip4_output_raw(c, ifx, nexthop, p->data, p->len);
        pkt_free(c, p);
        return;
    }
    if (pkt_queue_push(c, &e->q_head, &e->q_tail, &e->nq, c->cfg.arp_queue, p))
        MCORE_DROP(c, ARP_QUEUE_FULL);
}

uint64_t arp_poll(struct mcore *c)
{
    uint64_t next = MCORE_NEVER;

    if (c->now < c->arp.next_due)
        return c->arp.next_due;
    for (uint32_t i = 0; i < c->arp.n; i++) {
        struct arp_entry *e = &c->arp.tab[i];
        if (e->state == ARP_PENDING && c->now >= e->expires) {
            if (e->tries >= ARP_MAX_TRIES) {
                arp_release(c, e);
                continue;
            }
            e->tries++;
            e->expires = c->now + ARP_RETRY_US;
            arp_request(c, e->ifx, e->ip);
        } else if (e->state == ARP_RESOLVED && c->now >= e->expires) {
            arp_release(c, e);
            continue;
        }
        if (e->state == ARP_PENDING || e->state == ARP_RESOLVED)
            next = mcore_min(next, e->expires);
    }
    c->arp.next_due = next;
    return next;
}

int mcore_arp_add_static(struct mcore *c, unsigned ifx, uint32_t ip, const uint8_t mac[6])
{
    if (ifx >= c->n_ifs || ip == 0 || (mac[0] & 1))
        return MOAT_E_INVAL;
    struct arp_entry *e = arp_find(c, ifx, ip);
    if (!e) {
        e = arp_slot(c);
        if (!e)
            return MOAT_E_NOMEM;
        e->ip = ip;
        e->ifx = (uint8_t)ifx;
        e->created = c->now;
    }
    memcpy(e->mac, mac, 6);
    e->state = ARP_STATIC;
    if (e->q_head)
        arp_flush(c, e);
    return 0;
}

int mcore_arp_remove(struct mcore *c, unsigned ifx, uint32_t ip)
{
    struct arp_entry *e = arp_find(c, ifx, ip);
    if (!e)
        return MOAT_E_INVAL;
    arp_release(c, e);
    return 0;
}
