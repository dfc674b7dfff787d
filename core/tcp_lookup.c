/* SPDX-License-Identifier: MIT */
/*
 * TCP's tables: the keyed-hash buckets of connections, the lookup of a
 * segment's connection and listener (with the IPv6/IPv4 rules of a `::`
 * listener), and the TIME-WAIT table with its expiry queue.
 */
#include "tcp_priv.h"

/* ---- lookup ------------------------------------------------------------- */

static uint32_t tcp_bucket(const struct tcp_state *st, uint32_t lip, uint16_t lport,
                           uint32_t rip, uint16_t rport)
{
    /* A cheap keyed mix: the key keeps a remote attacker from aiming at
     * one chain. */
    uint32_t k0, k1;
    memcpy(&k0, st->key, 4);
    memcpy(&k1, st->key + 4, 4);
    uint32_t h = (rip ^ k0) * 0x9e3779b1u;
    h ^= (((uint32_t)rport << 16) | lport) + k1;
    h *= 0x85ebca6bu;
    h ^= lip;
    h ^= h >> 15;
    h *= 0xc2b2ae35u;
    h ^= h >> 13;
    return h & st->hmask;
}

void tcp_hash_add(struct mcore *c, struct msock *s)
{
    struct tcp_state *st = c->tcp;
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->in_hash)
        return;
    uint32_t b = tcp_bucket(st, s->lip, s->lport, s->rip, s->rport);
    t->hnext = st->hash[b];
    st->hash[b] = sock_idx(c, s) + 1u;
    t->in_hash = 1;
}

void tcp_hash_del(struct mcore *c, struct msock *s)
{
    struct tcp_state *st = c->tcp;
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (!t->in_hash)
        return;
    uint32_t b = tcp_bucket(st, s->lip, s->lport, s->rip, s->rport);
    uint32_t *pp = &st->hash[b];
    uint32_t me = sock_idx(c, s) + 1u;
    for (unsigned guard = 0; *pp != 0 && guard <= st->n; guard++) {
        if (*pp == me) {
            *pp = t->hnext;
            break;
        }
        pp = &st->cbs[*pp - 1u].hnext;
    }
    t->hnext = 0;
    t->in_hash = 0;
}

struct msock *tcp_lookup(struct mcore *c, const struct tcp_ips *ip, uint16_t lport,
                         uint16_t rport)
{
    struct tcp_state *st = c->tcp;
    uint32_t i = st->hash[tcp_bucket(st, ip->l, lport, ip->r, rport)];
    for (unsigned guard = 0; i != 0 && guard <= st->n; guard++) {
        struct msock *s = &c->socks[i - 1u];
        if (s->lport == lport && s->rport == rport &&
            tcp_ips_eq(ip, s->lip, s->rip, s->r6, s->lip6, s->rip6) &&
            st->cbs[i - 1u].state != TCPS_LISTEN)
            return s;
        i = st->cbs[i - 1u].hnext;
    }
    return NULL;
}

/* Does listener @p s take a segment to @p l6 (NULL: an IPv4 one)? An
 * IPv4 listener (l6 = 0) takes IPv4 only; one bound to `::` both
 * families (dual stack); one bound to an IPv6 address only that. */
static bool tcp_listen_family(const struct msock *s, const uint8_t *l6)
{
    if (!s->l6)
        return l6 == NULL;
    if (ip6_is_zero(s->lip6))
        return true;
    return l6 != NULL && ip6_eq(s->lip6, l6);
}

/* Listeners sit in the connection hash under (lip, lport, 0, 0): no
 * connection has remote port 0, and the state check keeps a segment from
 * port 0 off a listener. One probe for the address, one for the wildcard.
 * IPv6 listeners have lip 0 (sock.c), so they sit with the wildcard and
 * tcp_listen_family sorts them out. */
static struct msock *tcp_listen_probe(struct mcore *c, uint32_t lip, uint16_t lport,
                                      const uint8_t *l6)
{
    struct tcp_state *st = c->tcp;
    uint32_t i = st->hash[tcp_bucket(st, lip, lport, 0, 0)];
    for (unsigned guard = 0; i != 0 && guard <= st->n; guard++) {
        struct msock *s = &c->socks[i - 1u];
        if (s->lport == lport && s->lip == lip && s->rport == 0 && s->rip == 0 &&
            st->cbs[i - 1u].state == TCPS_LISTEN && tcp_listen_family(s, l6))
            return s;
        i = st->cbs[i - 1u].hnext;
    }
    return NULL;
}

struct msock *tcp_find_listener(struct mcore *c, const struct tcp_ips *ip, uint16_t lport)
{
    struct msock *s = NULL;
    if (ip->l6 == NULL && ip->l != 0)
        s = tcp_listen_probe(c, ip->l, lport, NULL);
    return s != NULL ? s : tcp_listen_probe(c, 0, lport, ip->l6);
}

/*
 * TIME-WAIT index: the entries are found through their own keyed hash and
 * expire from the head of a queue. Every wait is 2*MSL from the moment it
 * starts (or restarts, which moves the entry to the tail), so the queue is
 * in order of expiry: no per-segment or per-poll walk over the table.
 */

/* Every TIME-WAIT entry free, the index empty. */
void tcp_tw_reset_all(struct tcp_state *st)
{
    memset(st->tw, 0, (size_t)st->n_tw * sizeof(st->tw[0]));
    memset(st->tw_hash, 0, ((size_t)st->tw_hmask + 1u) * sizeof(uint32_t));
    for (uint32_t i = 0; i < st->n_tw; i++)
        st->tw[i].qnext = i + 2u <= st->n_tw ? i + 2u : 0;
    st->tw_free = st->n_tw ? 1u : 0;
    st->tw_head = st->tw_tail = 0;
    st->tw_used = 0;
    st->tw_due = 0;
}

uint32_t tcp_tw_bucket(const struct tcp_state *st, uint32_t lip, uint16_t lport,
                       uint32_t rip, uint16_t rport)
{
    return tcp_bucket(st, lip, lport, rip, rport) & st->tw_hmask;
}

/* Take @p w out of the expiry queue. */
static void tcp_tw_dequeue(struct tcp_state *st, struct tcp_tw *w)
{
    if (w->qprev)
        st->tw[w->qprev - 1u].qnext = w->qnext;
    else
        st->tw_head = w->qnext;
    if (w->qnext)
        st->tw[w->qnext - 1u].qprev = w->qprev;
    else
        st->tw_tail = w->qprev;
    w->qnext = w->qprev = 0;
}

static void tcp_tw_unlink(struct tcp_state *st, struct tcp_tw *w)
{
    uint32_t me = (uint32_t)(w - st->tw) + 1u;
    uint32_t *pp = &st->tw_hash[tcp_tw_bucket(st, w->lip, w->lport, w->rip, w->rport)];
    for (unsigned guard = 0; *pp != 0 && guard <= st->n_tw; guard++) {
        if (*pp == me) {
            *pp = w->hnext;
            break;
        }
        pp = &st->tw[*pp - 1u].hnext;
    }
    w->hnext = 0;
    tcp_tw_dequeue(st, w);
}

void tcp_tw_append(struct tcp_state *st, struct tcp_tw *w)
{
    uint32_t me = (uint32_t)(w - st->tw) + 1u;
    w->qnext = 0;
    w->qprev = st->tw_tail;
    if (st->tw_tail)
        st->tw[st->tw_tail - 1u].qnext = me;
    else
        st->tw_head = me;
    st->tw_tail = me;
    st->tw_due = st->tw[st->tw_head - 1u].expires;
}

void tcp_tw_release(struct mcore *c, struct tcp_tw *w)
{
    struct tcp_state *st = c->tcp;
    if (w->expires == 0)
        return;
    tcp_tw_unlink(st, w);
    w->expires = 0;
    w->qnext = st->tw_free;
    st->tw_free = (uint32_t)(w - st->tw) + 1u;
    st->tw_used--;
    st->tw_due = st->tw_head ? st->tw[st->tw_head - 1u].expires : 0;
}

void tcp_tw_restart(struct mcore *c, struct tcp_tw *w)
{
    struct tcp_state *st = c->tcp;
    tcp_tw_dequeue(st, w);      /* the hash key is unchanged */
    w->expires = c->now + 2ull * c->cfg.tcp_msl_ms * 1000u;
    if (w->expires == 0)
        w->expires = 1;
    tcp_tw_append(st, w);
}

struct tcp_tw *tcp_tw_find(struct mcore *c, const struct tcp_ips *ip, uint16_t lport,
                           uint16_t rport)
{
    struct tcp_state *st = c->tcp;
    if (st->tw_used == 0)
        return NULL;
    uint32_t i = st->tw_hash[tcp_tw_bucket(st, ip->l, lport, ip->r, rport)];
    for (unsigned guard = 0; i != 0 && guard <= st->n_tw; guard++) {
        struct tcp_tw *w = &st->tw[i - 1u];
        if (w->expires != 0 && w->lport == lport && w->rport == rport &&
            tcp_ips_eq(ip, w->lip, w->rip, w->v6, w->lip6, w->rip6))
            return w;
        i = w->hnext;
    }
    return NULL;
}
