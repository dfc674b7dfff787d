/* SPDX-License-Identifier: MIT */
/*
 * TCP: memory layout, connection lookup, initial sequence numbers
 * (RFC 6528), the socket operations the socket layer calls, and the poll
 * entry point that drives timers and output. The segment state machine is
 * in tcp_in.c, segment construction in tcp_out.c, timers in tcp_timer.c,
 * congestion control and SACK in tcp_cc.c.
 *
 * Slot ownership: a TCB lives in the control block of its socket slot. The
 * application's close hands the slot to TCP (app_owned = 0); TCP frees it
 * with sock_free() once the connection is over. TIME-WAIT does not hold a
 * slot: it moves to a compact table (struct tcp_tw).
 *
 * Does not own: port allocation and bind conflicts between unconnected
 * sockets (sock.c), IP routing and output (ip4.c).
 */
#include "tcp_priv.h"

/* ---- memory ----------------------------------------------------------- */

#define TCP_ALIGN(x) (((x) + 63u) & ~(size_t)63u)

static uint32_t tcp_n_tw(const struct moat_config *cfg)
{
    uint32_t n = cfg->max_sockets * 4u;
    return n < 16u ? 16u : n;
}

static uint32_t tcp_n_buckets(const struct moat_config *cfg)
{
    uint32_t b = 16;
    while (b < cfg->max_sockets * 2u && b < (1u << 20))
        b <<= 1;
    return b;
}

static uint32_t tcp_n_tw_buckets(const struct moat_config *cfg)
{
    uint32_t b = 16;
    while (b < tcp_n_tw(cfg) && b < (1u << 20))
        b <<= 1;
    return b;
}

static uint32_t tcp_n_syn(const struct moat_config *cfg)
{
    return cfg->tcp_syn_backlog ? cfg->tcp_syn_backlog : 1u;
}

/* Every TIME-WAIT entry free, the index empty. */
static void tcp_tw_reset_all(struct tcp_state *st)
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

/* Chunks in the per-stack pool of out-of-order ranges (TCP_OOO_CHUNK in
 * tcp_priv.h): one per TCP_OOO_CHUNK_KIB of the out-of-order byte budget,
 * since a connection needs a chunk only while it holds more than
 * TCP_OOO_MAX ranges of data; at least one, at most one per slot (and
 * within the uint16_t indices). Default 4 MiB: 16 chunks, 28 KiB. */
static uint32_t tcp_ooo_chunks(const struct moat_config *cfg)
{
    uint32_t n = cfg->tcp_ooo_bytes / (TCP_OOO_CHUNK_KIB * 1024u);
    if (n > cfg->max_sockets)
        n = cfg->max_sockets;
    if (n > 65535u)
        n = 65535u;
    return n > 0 ? n : 1u;
}

size_t tcp_mem_size(const struct moat_config *cfg)
{
    if (cfg == NULL || cfg->max_sockets == 0)
        return 0;
    return TCP_ALIGN(sizeof(struct tcp_state)) +
           TCP_ALIGN((size_t)cfg->max_sockets * sizeof(struct tcp_cb)) +
           TCP_ALIGN((size_t)tcp_n_syn(cfg) * sizeof(struct tcp_syn)) +
           TCP_ALIGN((size_t)tcp_n_tw(cfg) * sizeof(struct tcp_tw)) +
           TCP_ALIGN((size_t)tcp_n_tw_buckets(cfg) * sizeof(uint32_t)) +
           TCP_ALIGN((size_t)cfg->max_sockets * sizeof(uint32_t)) +
           TCP_ALIGN((size_t)tcp_n_buckets(cfg) * sizeof(uint32_t)) +
           TCP_ALIGN((size_t)tcp_ooo_chunks(cfg) * TCP_OOO_CHUNK * sizeof(struct tcp_range)) +
           TCP_ALIGN((size_t)tcp_ooo_chunks(cfg) * sizeof(uint16_t));
}

/* Bytes of TCP state per socket slot: the TCB, its timer-heap entry, its
 * share of the hash buckets (up to 2 per slot) and of the TIME-WAIT table
 * (4 entries per slot). */
size_t tcp_slot_bytes(const struct moat_config *cfg)
{
    if (cfg == NULL || cfg->max_sockets == 0)
        return 0;
    return sizeof(struct tcp_cb) + sizeof(uint32_t) +
           (tcp_n_buckets(cfg) * sizeof(uint32_t) + cfg->max_sockets - 1u) / cfg->max_sockets +
           ((tcp_n_tw(cfg) * sizeof(struct tcp_tw) + tcp_n_tw_buckets(cfg) * sizeof(uint32_t)) +
            cfg->max_sockets - 1u) / cfg->max_sockets;
}

int tcp_init(struct mcore *c, void *mem)
{
    const struct moat_config *cfg = &c->cfg;
    size_t len = tcp_mem_size(cfg);
    if (mem == NULL || len == 0)
        return MOAT_E_INVAL;
    uint8_t *p = mem;
    memset(p, 0, len);
    struct tcp_state *st = (struct tcp_state *)p;
    p += TCP_ALIGN(sizeof(*st));
    st->cbs = (struct tcp_cb *)p;
    st->n = cfg->max_sockets;
    p += TCP_ALIGN((size_t)st->n * sizeof(struct tcp_cb));
    st->syn = (struct tcp_syn *)p;
    st->n_syn = tcp_n_syn(cfg);
    p += TCP_ALIGN((size_t)st->n_syn * sizeof(struct tcp_syn));
    st->tw = (struct tcp_tw *)p;
    st->n_tw = tcp_n_tw(cfg);
    p += TCP_ALIGN((size_t)st->n_tw * sizeof(struct tcp_tw));
    st->tw_hash = (uint32_t *)p;
    st->tw_hmask = tcp_n_tw_buckets(cfg) - 1u;
    p += TCP_ALIGN((size_t)tcp_n_tw_buckets(cfg) * sizeof(uint32_t));
    tcp_tw_reset_all(st);
    st->heap = (uint32_t *)p;
    p += TCP_ALIGN((size_t)st->n * sizeof(uint32_t));
    st->hash = (uint32_t *)p;
    st->hmask = tcp_n_buckets(cfg) - 1u;
    p += TCP_ALIGN((size_t)tcp_n_buckets(cfg) * sizeof(uint32_t));
    st->n_ooo_chunks = tcp_ooo_chunks(cfg);
    st->ooo_pool = (struct tcp_range *)p;
    p += TCP_ALIGN((size_t)st->n_ooo_chunks * TCP_OOO_CHUNK * sizeof(struct tcp_range));
    st->ooo_free = (uint16_t *)p;
    st->ooo_nfree = st->n_ooo_chunks;
    for (uint32_t i = 0; i < st->n_ooo_chunks; i++)
        st->ooo_free[i] = (uint16_t)i;
    mcore_random(c, st->key, sizeof(st->key));
    c->stats.tcp_mem_budget = cfg->tcp_mem_bytes;
    mcore_random(c, st->ckey, sizeof(st->ckey));
    c->tcp = st;
    return 0;
}

/* ---- SipHash-2-4 (keyed hash for ISNs, cookies, buckets) ---------------- */

static inline uint64_t tcp_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

static inline uint64_t tcp_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8u * i);
    return v;
}

#define TCP_SIPROUND(v0, v1, v2, v3)                                   \
    do {                                                               \
        v0 += v1; v1 = tcp_rotl(v1, 13); v1 ^= v0; v0 = tcp_rotl(v0, 32); \
        v2 += v3; v3 = tcp_rotl(v3, 16); v3 ^= v2;                     \
        v0 += v3; v3 = tcp_rotl(v3, 21); v3 ^= v0;                     \
        v2 += v1; v1 = tcp_rotl(v1, 17); v1 ^= v2; v2 = tcp_rotl(v2, 32); \
    } while (0)

uint64_t tcp_siphash(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = tcp_le64(key), k1 = tcp_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ull ^ k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0;
    uint64_t v3 = 0x7465646279746573ull ^ k1;
    size_t full = len & ~(size_t)7u;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = tcp_le64(in + i);
        v3 ^= m;
        TCP_SIPROUND(v0, v1, v2, v3);
        TCP_SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = full; i < len; i++)
        b |= (uint64_t)in[i] << (8u * (i - full));
    v3 ^= b;
    TCP_SIPROUND(v0, v1, v2, v3);
    TCP_SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        TCP_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secret),
 * M a 4 us clock. The test hook replaces it with a fixed value so tests can
 * place sequence numbers next to 2^32.
 */
uint32_t tcp_iss(struct mcore *c, const struct tcp_ips *ip, uint16_t lport, uint16_t rport)
{
    if (c->cfg.tcp_iss_hook)
        return c->cfg.tcp_iss_fixed;
    uint8_t b[TCP_TUPLE_MAX];
    size_t n = tcp_tuple_bytes(ip, lport, rport, b);
    return (uint32_t)tcp_siphash(c->tcp->key, b, n) + (uint32_t)(c->now >> 2);
}

size_t tcp_tuple_bytes(const struct tcp_ips *ip, uint16_t lport, uint16_t rport, uint8_t *b)
{
    size_t n = 8;
    if (TCP_V6(ip->l6 != NULL)) {
        memcpy(b, ip->l6, 16);
        memcpy(b + 16, ip->r6, 16);
        n = 32;
    } else {
        wr32(b, ip->l);
        wr32(b + 4, ip->r);
    }
    wr16(b + n, lport);
    wr16(b + n + 2, rport);
    return n + 4u;
}

uint32_t tcp_fold6(const struct mcore *c, const uint8_t a[16])
{
    return (uint32_t)tcp_siphash(c->tcp->key, a, 16);
}

uint32_t tcp_ts_now(const struct mcore *c, const struct tcp_cb *t)
{
    return (uint32_t)(c->now / 1000u) + t->ts_off;
}

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

static void tcp_hash_del(struct mcore *c, struct msock *s)
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
static uint32_t tcp_tw_bucket(const struct tcp_state *st, uint32_t lip, uint16_t lport,
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

static void tcp_tw_append(struct tcp_state *st, struct tcp_tw *w)
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

/* ---- TCB life cycle ------------------------------------------------------ */

void tcp_cb_reset(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->in_hash)
        tcp_hash_del(c, s);
    tcp_ooo_clear(c, t);
    tcp_wnd_release(c, t);
    tcp_heap_del(c->tcp, sock_idx(c, s));
    uint32_t rnext = t->rnext;
    uint8_t in_ready = t->in_ready;
    memset(t, 0, sizeof(*t));
    t->rnext = rnext;           /* a ready-list link outlives the TCB */
    t->in_ready = in_ready;
    s->tcb = t;
    t->state = TCPS_CLOSED;
    t->rto = c->cfg.tcp_rto_init_ms * 1000u;
    t->mss = TCP_MSS_DEFAULT;
    t->rcv_mss = TCP_MSS_DEFAULT;
    t->cong = c->cfg.tcp_cong;      /* MOAT_OPT_TCP_CONG may change it */
    tcp_cc_init(c, t);
}

void tcp_ooo_clear(struct mcore *c, struct tcp_cb *t)
{
    c->tcp->ooo_bytes -= t->ooo_bytes < c->tcp->ooo_bytes ? t->ooo_bytes : c->tcp->ooo_bytes;
    t->ooo_bytes = 0;
    t->n_ooo = 0;
    tcp_ooo_grow(c, t, 0);
}

/* Make room for @p n out-of-order ranges in @p t: borrow a pool chunk when
 * n is past the TCB's own TCP_OOO_MAX, give it back when n fits there
 * (callers shrink n_ooo first). Returns 0, or -1 when n is more than
 * TCP_OOO_MAX + TCP_OOO_CHUNK or the pool is empty (the caller counts a
 * TCP_OOO_FULL drop). */
int tcp_ooo_grow(struct mcore *c, struct tcp_cb *t, unsigned n)
{
    struct tcp_state *st = c->tcp;
    if (n <= TCP_OOO_MAX) {
        if (t->ooo_chunk != 0) {
            st->ooo_free[st->ooo_nfree++] = (uint16_t)(t->ooo_chunk - 1u);
            t->ooo_chunk = 0;
        }
        return 0;
    }
    if (n > TCP_OOO_MAX + TCP_OOO_CHUNK)
        return -1;
    if (t->ooo_chunk == 0) {
        if (st->ooo_nfree == 0)
            return -1;
        t->ooo_chunk = (uint16_t)(st->ooo_free[--st->ooo_nfree] + 1u);
    }
    return 0;
}

void tcp_release(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    tcp_hash_del(c, s);
    tcp_ooo_clear(c, t);
    tcp_sack_clear(t);
    tcp_wnd_release(c, t);
    t->state = TCPS_CLOSED;
    t->t_rtx = t->t_persist = t->t_delack = t->t_keep = t->t_fin2 = 0;
    t->flags &= ~(uint32_t)(TF_ACKNOW | TF_DELACK | TF_ACKSOON);
    tcp_heap_del(c->tcp, sock_idx(c, s));
    if (!s->app_owned && t->listener == 0)
        sock_free(c, s);
}

void tcp_drop(struct mcore *c, struct msock *s, int err)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->state == TCPS_SYN_SENT && err == MOAT_E_TIMEDOUT && t->soft_err_set)
        err = t->soft_err;
    if (err != 0 && (s->app_owned || t->listener))
        sock_error(c, s, err);
    sock_status(c, s, MOAT_SS_HUP | MOAT_SS_RDHUP | MOAT_SS_WRSHUT,
                MOAT_SS_CONNECTED | MOAT_SS_CONNECTING);
    mcore_wake_app(c);
    tcp_release(c, s);
}

void tcp_enter_time_wait(struct mcore *c, struct msock *s)
{
    struct tcp_state *st = c->tcp;
    struct tcp_cb *t = tcp_cb_of(c, s);
    struct tcp_tw *w = NULL;
    if (st->tw_free == 0 && st->tw_head != 0) {
        /* Table full: the connection closest to the end of its 2*MSL
         * (the head of the queue) makes room (resource policy TCP-RES-1). */
        tcp_tw_release(c, &st->tw[st->tw_head - 1u]);
    }
    if (st->tw_free != 0) {
        w = &st->tw[st->tw_free - 1u];
        st->tw_free = w->qnext;
        st->tw_used++;
        memset(w, 0, sizeof(*w));
        w->lip = s->lip;
        w->rip = s->rip;
        w->v6 = s->r6;
        if (s->r6) {
            memcpy(w->lip6, s->lip6, 16);
            memcpy(w->rip6, s->rip6, 16);
        }
        w->lport = s->lport;
        w->rport = s->rport;
        w->snd_nxt = t->snd_max;
        w->rcv_nxt = t->rcv_nxt;
        w->ts_ok = (t->flags & TF_TS) != 0;
        w->ts_recent = t->ts_recent;
        w->ts_off = t->ts_off;
        uint32_t wnd = t->rcv_adv - t->rcv_nxt;
        w->wnd = (uint16_t)((wnd >> t->rcv_wscale) > 0xffffu ? 0xffffu : (wnd >> t->rcv_wscale));
        w->expires = c->now + 2ull * c->cfg.tcp_msl_ms * 1000u;
        if (w->expires == 0)
            w->expires = 1;
        uint32_t b = tcp_tw_bucket(st, w->lip, w->lport, w->rip, w->rport);
        w->hnext = st->tw_hash[b];
        st->tw_hash[b] = (uint32_t)(w - st->tw) + 1u;
        tcp_tw_append(st, w);
    }
    sock_status(c, s, MOAT_SS_HUP | MOAT_SS_RDHUP | MOAT_SS_WRSHUT, MOAT_SS_CONNECTED);
    mcore_wake_app(c);
    tcp_release(c, s);
}

uint64_t tcp_tw_poll(struct mcore *c)
{
    struct tcp_state *st = c->tcp;
    /* The queue is in order of expiry: take what is due off its head. */
    for (unsigned guard = 0; st->tw_head != 0 && guard <= st->n_tw; guard++) {
        struct tcp_tw *w = &st->tw[st->tw_head - 1u];
        if (w->expires > c->now)
            return w->expires;
        tcp_tw_release(c, w);
    }
    return st->tw_head != 0 ? st->tw[st->tw_head - 1u].expires : MCORE_NEVER;
}

void tcp_established(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    t->state = TCPS_ESTABLISHED;
    s->connected = 1;
    t->retries = 0;
    /* The send limit is published before CONNECTED (release order), so
     * the application never sees a connection without its limit. */
    tcp_wnd_established(c, s);
    sock_status(c, s, MOAT_SS_CONNECTED, MOAT_SS_CONNECTING);
    if (s->keepalive && c->cfg.tcp_keepidle_ms)
        t->t_keep = c->now + (uint64_t)c->cfg.tcp_keepidle_ms * 1000u;
    if (t->flags & TF_FIN_Q) {
        /* shutdown(WR) while the handshake was under way */
        uint32_t avail = 0;
        (void)moat_ring_avail(&s->tx, &avail);
        t->fin_seq = t->snd_data + avail;
        t->state = TCPS_FIN_WAIT_1;
    }
    mcore_wake_app(c);
}

/* Free bytes of the receive ring, limited by the RCVBUF option and the
 * autotuned window cap (tcp_rcv_limit, tcp_wnd.c). */
uint32_t tcp_rcv_space(struct mcore *c, struct msock *s)
{
    uint32_t space = 0;
    if (moat_ring_space(&s->rx, &space) != 0) {
        MCORE_DROP(c, BOUNDARY);
        return 0;
    }
    uint32_t lim = tcp_rcv_limit(c, s);
    if (lim < s->rx.cap) {
        uint32_t used = s->rx.cap - space;
        space = used >= lim ? 0 : lim - used;
    }
    return space;
}

/* ---- socket operations ---------------------------------------------------- */

int tcp_sock_open(struct mcore *c, struct msock *s)
{
    tcp_cb_reset(c, s);
    return 0;
}

uint16_t tcp_route_mss(struct mcore *c, const struct tcp_ips *ip)
{
    unsigned ifx = 0;
    uint32_t src = 0, nh = 0;
    uint32_t mtu = 576;
    if (TCP_V6(ip->l6 != NULL)) {
        /* IPv6: the link MTU (an RA may have lowered it) less the 40-byte
         * fixed header and the 20-byte TCP header; 1280 at least (RFC
         * 8200 5). A lower path MTU is learnt from Packet Too Big. */
        uint8_t src6[16];
        uint16_t pmtu;
        memcpy(src6, ip->l6, 16);
        mtu = IP6_MIN_MTU;
        if (ip6_route(c, ip->r6, &ifx, src6, &pmtu) == 0 && ifx < c->n_ifs &&
            c->ifs6[ifx].mtu > IP6_MIN_MTU)
            mtu = c->ifs6[ifx].mtu;
        return (uint16_t)(mtu - 60u);
    }
    if (ip4_route(c, ip->r, &ifx, &src, &nh) == 0 && ifx < c->n_ifs)
        mtu = c->ifs[ifx].mtu;
    if (mtu < 576u)
        mtu = 576u;
    return (uint16_t)(mtu - 40u);
}

uint8_t tcp_pick_wscale(uint32_t cap)
{
    uint8_t ws = 0;
    while (ws < TCP_WS_MAX && (cap >> ws) > 0xffffu)
        ws++;
    return ws;
}

static int tcp_connect_tuple(struct mcore *c, struct msock *s, const struct tcp_ips *ips,
                             uint16_t port, uint8_t rscope);

/* May @p s start an active open? */
static int tcp_connect_state(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    s->tcb = t;
    switch (t->state) {
    case TCPS_CLOSED:
        break;
    case TCPS_SYN_SENT:
    case TCPS_SYN_RCVD:
        return MOAT_E_ALREADY;
    case TCPS_LISTEN:
        return MOAT_E_STATE;
    default:
        return MOAT_E_ISCONN;
    }
    if (s->status & MOAT_SS_HUP)
        return MOAT_E_STATE;  /* a used connection is not reopened */
    return 0;
}

int tcp_sock_connect6(struct mcore *c, struct msock *s, const uint8_t ip6[16], uint16_t port,
                      uint32_t scope_id)
{
    int err = tcp_connect_state(c, s);
    if (err != 0 || TCP_V6(1) == 0)
        return err != 0 ? err : MOAT_E_NETUNREACH;  /* no IPv6 in this core */
    /* No connections to multicast (RFC 1122 4.2.3.10's rule, IPv6 has no
     * broadcast); a link-local peer needs its zone when it is ambiguous. */
    if (ip6_is_zero(ip6) || ip6_is_mcast(ip6) || port == 0 || scope_id > c->n_ifs)
        return MOAT_E_INVAL;
    if (s->bound && !s->l6)
        return MOAT_E_ADDRNOTAVAIL;     /* bound to an IPv4 address */
    uint8_t src[16] = {0};
    unsigned ifx;
    uint16_t mtu;
    if (s->bound)
        memcpy(src, s->lip6, 16);
    if (ip6_is_zero(src) && ip6_is_ll(ip6) &&
        !ip6_ll_addr(c, scope_id ? scope_id - 1u : 0, src))
        return MOAT_E_ADDRNOTAVAIL;
    err = ip6_route(c, ip6, &ifx, src, &mtu);
    if (err != 0)
        return err;
    if (!s->bound) {
        static const uint8_t any[16];
        err = sock_bind6(c, s, any, 0);
        if (err != 0)
            return err;
    }
    struct tcp_ips ips = {tcp_fold6(c, src), tcp_fold6(c, ip6), src, ip6};
    return tcp_connect_tuple(c, s, &ips, port, ip6_is_ll(ip6) ? (uint8_t)(ifx + 1u) : 0);
}

int tcp_sock_connect(struct mcore *c, struct msock *s, uint32_t ip, uint16_t port)
{
    int err = tcp_connect_state(c, s);
    if (err != 0)
        return err;
    if (s->bound && s->l6 && !ip6_is_zero(s->lip6))
        return MOAT_E_ADDRNOTAVAIL;     /* bound to a specific IPv6 address */
    /* RFC 1122 4.2.3.10: no connections to broadcast or multicast. */
    if (ip == 0 || port == 0 || ip4_is_bcast(c, ip) || (ip >> 28) == 0xe)
        return MOAT_E_INVAL;
    unsigned ifx;
    uint32_t src = s->lip, nh;
    err = ip4_route(c, ip, &ifx, &src, &nh);
    if (err != 0)
        return err;
    if (!s->bound) {
        err = sock_bind(c, s, src, 0);
        if (err != 0)
            return err;
    }
    uint32_t lip = s->lip != 0 ? s->lip : src;
    struct tcp_ips ips = {lip, ip, NULL, NULL};
    return tcp_connect_tuple(c, s, &ips, port, 0);
}

/* The common end of an active open: @p ip is the connection's address
 * pair (IPv4, or IPv6 with l6/r6 pointing at s->lip6/rip6). */
static int tcp_connect_tuple(struct mcore *c, struct msock *s, const struct tcp_ips *ips,
                             uint16_t port, uint8_t rscope)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (tcp_lookup(c, ips, s->lport, port) != NULL)
        return MOAT_E_ADDRINUSE;
    struct tcp_tw *w = tcp_tw_find(c, ips, s->lport, port);
    if (w != NULL) {
        if (!s->reuseaddr)
            return MOAT_E_ADDRINUSE;
        tcp_tw_release(c, w);
    }
    tcp_cb_reset(c, s);
    if (ips->l6 != NULL) {
        /* From here the connection's addresses: the local one as the route
         * chose it (a socket bound to :: now holds a specific address). */
        memcpy(s->lip6, ips->l6, 16);
        memcpy(s->rip6, ips->r6, 16);
        ips = NULL;
    }
    s->lip = ips != NULL ? ips->l : tcp_fold6(c, s->lip6);
    s->rip = ips != NULL ? ips->r : tcp_fold6(c, s->rip6);
    s->r6 = ips == NULL;
    struct tcp_ips me = tcp_ips_sock(s);
    ips = &me;
    s->rscope = rscope;
    s->rport = port;
    t->iss = tcp_iss(c, ips, s->lport, port);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss;
    t->snd_data = t->iss + 1u;
    t->recover = t->iss;
    t->adv_mss = tcp_route_mss(c, ips);
    t->mss = t->adv_mss < TCP_MSS_DEFAULT ? t->adv_mss : TCP_MSS_DEFAULT;
    t->rcv_wscale = tcp_pick_wscale(s->rx.cap);
    t->ts_off = mcore_rand32(c);
    t->rtt_t = c->now;
    t->state = TCPS_SYN_SENT;
    tcp_hash_add(c, s);
    sock_status(c, s, MOAT_SS_CONNECTING, 0);
    c->stats.tcp_conns_opened++;
    tcp_send_seg(c, s, t->iss, 0, TCP_SYN);
    t->snd_nxt = t->snd_max = t->iss + 1u;
    tcp_timer_rtx_arm(c, t);
    return MOAT_E_INPROGRESS;
}

int tcp_sock_listen(struct mcore *c, struct msock *s, uint32_t backlog)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    s->tcb = t;
    if (backlog == 0)
        backlog = 1;
    if (backlog > c->n_socks)
        backlog = c->n_socks;
    if (t->state == TCPS_LISTEN) {
        t->backlog = backlog;
        return 0;
    }
    if (t->state != TCPS_CLOSED || (s->status & MOAT_SS_HUP) || s->connected)
        return MOAT_E_STATE;
    if (!s->bound) {
        int err = sock_bind(c, s, 0, 0);
        if (err != 0)
            return err;
    }
    struct tcp_ips me = {s->lip, 0, s->l6 ? s->lip6 : NULL, NULL};
    struct msock *other = tcp_find_listener(c, &me, s->lport);
    if (other != NULL && other != s && other->lip == s->lip && other->l6 == s->l6 &&
        (!s->l6 || ip6_eq(other->lip6, s->lip6)))
        return MOAT_E_ADDRINUSE;
    tcp_cb_reset(c, s);
    t->state = TCPS_LISTEN;
    t->backlog = backlog;
    s->rip = 0;
    s->rport = 0;
    tcp_hash_add(c, s);         /* as (lip, lport, 0, 0): tcp_find_listener */
    sock_status(c, s, MOAT_SS_LISTENING, 0);
    return 0;
}

int tcp_sock_accept(struct mcore *c, struct msock *s, uint32_t *child,
                    struct moat_m_addr *peer)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->state != TCPS_LISTEN)
        return MOAT_E_STATE;
    if (t->acc_head == 0)
        return MOAT_E_AGAIN;
    uint32_t ci = t->acc_head - 1u;
    struct msock *ch = &c->socks[ci];
    struct tcp_cb *ct = &c->tcp->cbs[ci];
    t->acc_head = ct->acc_next;
    if (t->acc_head == 0)
        t->acc_tail = 0;
    t->acc_n--;
    ct->acc_next = 0;
    ct->listener = 0;
    ch->app_owned = 1;
    sock_status(c, ch, MOAT_SS_OPEN, 0);
    if (t->acc_head == 0)
        sock_status(c, s, 0, MOAT_SS_ACCEPTQ);
    if (child != NULL)
        *child = sock_handle(c, ch);
    if (peer != NULL) {
        /* An IPv4 peer of a dual-stack listener is reported as IPv4
         * (not as ::ffff:a.b.c.d): the child is a plain IPv4 connection. */
        memset(peer, 0, sizeof *peer);
        if (ch->r6) {
            peer->family = MOAT_AF_INET6;
            memcpy(peer->ip6, ch->rip6, 16);
            peer->scope_id = ch->rscope;
        } else {
            peer->ip = ch->rip;
        }
        peer->port = ch->rport;
    }
    c->stats.tcp_conns_accepted++;
    if (ct->state == TCPS_CLOSED) {
        /* The connection died while it waited; the application sees its
         * error and HUP on the new handle. Nothing more to do. */
    }
    return 0;
}

/* Queue our FIN after the data now in the send ring. */
static void tcp_queue_fin(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->flags & TF_FIN_Q)
        return;
    t->flags |= TF_FIN_Q;
    switch (t->state) {
    case TCPS_ESTABLISHED:
    case TCPS_SYN_RCVD:
        t->state = TCPS_FIN_WAIT_1;
        break;
    case TCPS_CLOSE_WAIT:
        t->state = TCPS_LAST_ACK;
        break;
    default:
        break;  /* SYN-SENT: decided when the handshake completes */
    }
    if (t->state != TCPS_SYN_SENT) {
        uint32_t avail = 0;
        if (moat_ring_avail(&s->tx, &avail) != 0) {
            MCORE_DROP(c, BOUNDARY);
            avail = 0;
        }
        t->fin_seq = t->snd_data + avail;
    }
}

int tcp_sock_shutdown(struct mcore *c, struct msock *s, uint32_t how)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->state == TCPS_CLOSED || t->state == TCPS_LISTEN)
        return MOAT_E_NOTCONN;
    if (how & MOAT_SHUT_RD)
        t->flags |= TF_RD_SHUT;
    if (how & MOAT_SHUT_WR) {
        tcp_queue_fin(c, s);
        sock_status(c, s, MOAT_SS_WRSHUT, 0);
        tcp_output(c, s);
    }
    return 0;
}

static void tcp_listener_close(struct mcore *c, struct msock *s)
{
    struct tcp_state *st = c->tcp;
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t me = sock_idx(c, s);
    /* Embryos go silently; their peers' ACKs will meet a RST. */
    for (uint32_t i = 0; i < st->n_syn; i++) {
        if (st->syn[i].used && st->syn[i].listener == me) {
            st->syn[i].used = 0;
            st->syn_used--;
        }
    }
    /* Established children nobody accepted are reset. */
    uint32_t ci = t->acc_head;
    for (unsigned guard = 0; ci != 0 && guard <= st->n; guard++) {
        struct msock *ch = &c->socks[ci - 1u];
        struct tcp_cb *ct = &st->cbs[ci - 1u];
        uint32_t next = ct->acc_next;
        ct->acc_next = 0;
        ct->listener = 0;
        if (ct->state >= TCPS_SYN_RCVD) {
            struct tcp_ips ip = tcp_ips_sock(ch);
            tcp_send_raw(c, &ip, ch->lport, ch->rport, ct->snd_max, 0, TCP_RST, 0, NULL, 0);
        }
        tcp_release(c, ch);
        if (ch->type != 0 && !ch->app_owned)
            sock_free(c, ch);
        ci = next;
    }
    t->acc_head = t->acc_tail = 0;
    t->acc_n = 0;
    sock_status(c, s, 0, MOAT_SS_LISTENING | MOAT_SS_ACCEPTQ);
}

static int tcp_abort_conn(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    switch (t->state) {
    case TCPS_LISTEN:
        tcp_listener_close(c, s);
        break;
    case TCPS_SYN_RCVD:
    case TCPS_ESTABLISHED:
    case TCPS_FIN_WAIT_1:
    case TCPS_FIN_WAIT_2:
    case TCPS_CLOSE_WAIT:
    case TCPS_CLOSING:
    case TCPS_LAST_ACK:
    {   /* RFC 9293 3.10.4: <SEQ=SND.NXT><CTL=RST> */
        struct tcp_ips ip = tcp_ips_sock(s);
        tcp_send_raw(c, &ip, s->lport, s->rport, t->snd_max, 0, TCP_RST, 0, NULL, 0);
        break;
    }
    default:
        break;
    }
    sock_status(c, s, MOAT_SS_HUP | MOAT_SS_WRSHUT | MOAT_SS_RDHUP,
                MOAT_SS_CONNECTED | MOAT_SS_CONNECTING);
    tcp_release(c, s);
    return 0;
}

int tcp_sock_abort(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    s->app_owned = 0;
    t->flags |= TF_ORPHAN;
    tcp_abort_conn(c, s);
    if (s->type != 0 && t->state == TCPS_CLOSED && t->listener == 0)
        sock_free(c, s);
    return 0;
}

int tcp_sock_close(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    s->app_owned = 0;
    t->flags |= TF_ORPHAN;
    switch (t->state) {
    case TCPS_CLOSED:
    case TCPS_SYN_SENT:
    case TCPS_LISTEN:
        /* RFC 9293 3.10.4: nothing to tell the peer. */
        if (t->state == TCPS_LISTEN)
            tcp_listener_close(c, s);
        tcp_release(c, s);
        if (s->type != 0)
            sock_free(c, s);
        return 0;
    default:
        break;
    }
    uint32_t space = 0;
    int unread = moat_ring_space(&s->rx, &space) == 0 && space != s->rx.cap;
    if (s->linger_ms == 0 || unread) {
        /* Linger 0 means abort; unread data means the application will
         * never see what the peer sent: tell it with a RST (RFC 2525 2.17). */
        return tcp_abort_conn(c, s);
    }
    tcp_queue_fin(c, s);
    if (t->state == TCPS_FIN_WAIT_2 && t->t_fin2 == 0)
        t->t_fin2 = c->now + 2ull * c->cfg.tcp_msl_ms * 1000u;
    tcp_output(c, s);
    return 0;
}

int tcp_sock_setopt(struct mcore *c, struct msock *s, int opt, int64_t value)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    switch (opt) {
    case MOAT_OPT_NODELAY:
        s->nodelay = value != 0;
        if (s->nodelay && t->state >= TCPS_ESTABLISHED)
            tcp_output(c, s);
        break;
    case MOAT_OPT_KEEPALIVE:
        s->keepalive = value != 0;
        if (s->keepalive && t->state >= TCPS_ESTABLISHED && c->cfg.tcp_keepidle_ms)
            t->t_keep = c->now + (uint64_t)c->cfg.tcp_keepidle_ms * 1000u;
        else if (!s->keepalive)
            t->t_keep = 0;
        break;
    case MOAT_OPT_RCVBUF:
        if (t->state >= TCPS_ESTABLISHED)
            tcp_output(c, s);   /* a window update if it grew */
        break;
    case MOAT_OPT_TCP_CONG:
        /* Before connect or listen only: the algorithm's state starts with
         * the connection (a listener's choice passes to its children). */
        if (t->state != TCPS_CLOSED && t->state != TCPS_LISTEN)
            return MOAT_E_STATE;
        if (s->status & MOAT_SS_HUP)
            return MOAT_E_STATE;
        t->cong = (uint8_t)value;
        tcp_cong_init(c, t);
        break;
    default:
        break;
    }
    return 0;
}

int tcp_sock_cong(struct mcore *c, struct msock *s)
{
    return tcp_cb_of(c, s)->cong;
}

int tcp_port_busy(struct mcore *c, uint32_t lip, uint16_t lport, int reuse)
{
    struct tcp_state *st = c->tcp;
    if (st == NULL)
        return 0;
    for (uint32_t i = 0; i < c->n_socks && i < st->n; i++) {
        struct msock *s = &c->socks[i];
        if (s->type != MOAT_SOCK_STREAM || s->lport != lport)
            continue;
        uint8_t state = st->cbs[i].state;
        if (state == TCPS_CLOSED)
            continue;
        if (lip != 0 && s->lip != 0 && s->lip != lip)
            continue;
        if (state == TCPS_LISTEN || !reuse)
            return 1;
    }
    if (!reuse && st->tw_used != 0) {
        for (uint32_t i = 0; i < st->n_tw; i++) {
            struct tcp_tw *w = &st->tw[i];
            if (w->expires != 0 && w->lport == lport &&
                (lip == 0 || w->lip == lip))
                return 1;
        }
    }
    return 0;
}

/* Drop every connection whose local address is @p ip (IPv4) or @p ip6. */
static void tcp_addr_gone(struct mcore *c, uint32_t ip, const uint8_t *ip6, int err)
{
    struct tcp_state *st = c->tcp;
    if (st == NULL)
        return;
    for (uint32_t i = 0; i < c->sock_hi && i < st->n; i++) {
        struct msock *s = &c->socks[i];
        struct tcp_cb *t = &st->cbs[i];
        /* Listeners bound to the address stay (they accept nothing until
         * it comes back); connections using it cannot go on. */
        if (s->type != MOAT_SOCK_STREAM || t->state == TCPS_CLOSED || t->state == TCPS_LISTEN)
            continue;
        if (ip6 != NULL ? (s->r6 && ip6_eq(s->lip6, ip6)) : (!s->r6 && s->lip == ip))
            tcp_drop(c, s, err);
    }
}

void tcp_addr_lost(struct mcore *c, uint32_t ip, int err)
{
    if (ip != 0)
        tcp_addr_gone(c, ip, NULL, err);
}

void tcp6_addr_lost(struct mcore *c, const uint8_t ip6[16], int err)
{
    tcp_addr_gone(c, 0, ip6, err);
}

void tcp_shutdown_all(struct mcore *c)
{
    struct tcp_state *st = c->tcp;
    if (st == NULL)
        return;
    for (uint32_t i = 0; i < c->n_socks && i < st->n; i++) {
        struct msock *s = &c->socks[i];
        struct tcp_cb *t = &st->cbs[i];
        if (s->type != MOAT_SOCK_STREAM || t->state == TCPS_CLOSED)
            continue;
        if (t->state >= TCPS_SYN_RCVD) {
            struct tcp_ips ip = tcp_ips_sock(s);
            tcp_send_raw(c, &ip, s->lport, s->rport, t->snd_max, 0, TCP_RST, 0, NULL, 0);
        }
        t->listener = 0;
        t->acc_head = t->acc_tail = t->acc_next = 0;
        t->acc_n = 0;
        tcp_hash_del(c, s);
        tcp_ooo_clear(c, t);
        tcp_wnd_release(c, t);      /* its windows leave the stack's budget */
        t->state = TCPS_CLOSED;
        t->t_rtx = t->t_persist = t->t_delack = t->t_keep = t->t_fin2 = 0;
    }
    for (uint32_t i = 0; i < st->n; i++) {
        st->cbs[i].heap_pos = 0;
        st->cbs[i].in_ready = 0;
        st->cbs[i].rnext = 0;
    }
    st->heap_n = 0;
    st->ready = 0;
    memset(st->syn, 0, (size_t)st->n_syn * sizeof(st->syn[0]));
    st->syn_used = 0;
    tcp_tw_reset_all(st);
    st->ooo_bytes = 0;
}

/* ---- scheduling ------------------------------------------------------------
 *
 * tcp_poll must not cost anything per idle connection. Two structures do
 * the work a scan over every slot used to do:
 *
 *  - a binary min-heap of the connections that have a timer armed, keyed
 *    by sched_t, the value tcp_cb_deadline() had when the connection was
 *    last scheduled. A timer only moves when something happens to its
 *    connection (a segment, an application operation, a timer run), and
 *    each of those touches the connection (tcp_touch), so tcp_poll
 *    reschedules it: the heap key is never later than the true deadline
 *    for long. A key earlier than the true deadline is harmless (the
 *    connection is looked at, nothing is due, it is rescheduled).
 *  - the ready list: connections touched since the last poll. tcp_poll
 *    runs their due timers and output (the end-of-batch ACK, data the
 *    application wrote, a window update after it read) and reschedules
 *    them.
 *
 * Cost per poll: O(touched + due * log n). Which sockets the application
 * wrote to or read from is told by mcore_poll (the backend's dirty hints,
 * core.c); without hints every connection is touched, as before.
 */

/* THE one place a connection's timers are combined. A new per-connection
 * timer (a uint64_t absolute deadline in struct tcp_cb, 0 = off) must be
 * added here and nowhere else: the heap then fires it on time, because
 * every path that can arm it touches the connection (tcp_touch) and
 * tcp_poll reschedules touched connections through this function. The
 * handler itself belongs in tcp_timers(). */
uint64_t tcp_cb_deadline(const struct tcp_cb *t)
{
    uint64_t d = MCORE_NEVER;
    d = mcore_min(d, t->t_rtx ? t->t_rtx : MCORE_NEVER);
    d = mcore_min(d, t->t_persist ? t->t_persist : MCORE_NEVER);
    d = mcore_min(d, t->t_delack ? t->t_delack : MCORE_NEVER);
    d = mcore_min(d, t->t_keep ? t->t_keep : MCORE_NEVER);
    d = mcore_min(d, t->t_fin2 ? t->t_fin2 : MCORE_NEVER);
    d = mcore_min(d, t->t_rack ? t->t_rack : MCORE_NEVER);   /* RACK reorder timer */
    d = mcore_min(d, t->t_tlp ? t->t_tlp : MCORE_NEVER);     /* tail loss probe */
    d = mcore_min(d, t->t_lwait ? t->t_lwait : MCORE_NEVER); /* link backpressure */
    return d;
}

static void tcp_heap_place(struct tcp_state *st, uint32_t pos, uint32_t idx)
{
    st->heap[pos] = idx;
    st->cbs[idx].heap_pos = pos + 1u;
}

static void tcp_heap_up(struct tcp_state *st, uint32_t pos)
{
    uint32_t idx = st->heap[pos];
    uint64_t key = st->cbs[idx].sched_t;
    while (pos > 0) {
        uint32_t parent = (pos - 1u) / 2u;
        if (st->cbs[st->heap[parent]].sched_t <= key)
            break;
        tcp_heap_place(st, pos, st->heap[parent]);
        pos = parent;
    }
    tcp_heap_place(st, pos, idx);
}

static void tcp_heap_down(struct tcp_state *st, uint32_t pos)
{
    uint32_t idx = st->heap[pos];
    uint64_t key = st->cbs[idx].sched_t;
    for (;;) {
        uint32_t l = 2u * pos + 1u, m = pos;
        uint64_t mk = key;
        if (l < st->heap_n && st->cbs[st->heap[l]].sched_t < mk) {
            m = l;
            mk = st->cbs[st->heap[l]].sched_t;
        }
        if (l + 1u < st->heap_n && st->cbs[st->heap[l + 1u]].sched_t < mk)
            m = l + 1u;
        if (m == pos)
            break;
        tcp_heap_place(st, pos, st->heap[m]);
        pos = m;
    }
    tcp_heap_place(st, pos, idx);
}

void tcp_heap_del(struct tcp_state *st, uint32_t idx)
{
    struct tcp_cb *t = &st->cbs[idx];
    if (t->heap_pos == 0)
        return;
    uint32_t pos = t->heap_pos - 1u;
    t->heap_pos = 0;
    st->heap_n--;
    if (pos == st->heap_n)
        return;
    tcp_heap_place(st, pos, st->heap[st->heap_n]);
    tcp_heap_down(st, pos);
    tcp_heap_up(st, st->cbs[st->heap[pos]].heap_pos - 1u);
}

/* (Re)schedule connection @p s by its timers. */
static void tcp_sched(struct mcore *c, struct msock *s)
{
    struct tcp_state *st = c->tcp;
    uint32_t idx = sock_idx(c, s);
    struct tcp_cb *t = &st->cbs[idx];
    uint64_t d = tcp_cb_deadline(t);
    if (d == MCORE_NEVER || s->type != MOAT_SOCK_STREAM || t->state == TCPS_CLOSED ||
        t->state == TCPS_LISTEN) {
        tcp_heap_del(st, idx);
        return;
    }
    if (t->heap_pos == 0) {
        t->sched_t = d;
        tcp_heap_place(st, st->heap_n++, idx);
        tcp_heap_up(st, st->heap_n - 1u);
    } else if (d != t->sched_t) {
        uint64_t old = t->sched_t;
        t->sched_t = d;
        if (d < old)
            tcp_heap_up(st, t->heap_pos - 1u);
        else
            tcp_heap_down(st, t->heap_pos - 1u);
    }
}

void tcp_touch(struct mcore *c, struct msock *s)
{
    struct tcp_state *st = c->tcp;
    if (st == NULL)
        return;
    uint32_t idx = sock_idx(c, s);
    struct tcp_cb *t = &st->cbs[idx];
    if (t->in_ready)
        return;
    t->in_ready = 1;
    t->rnext = st->ready;
    st->ready = idx + 1u;
}

void tcp_touch_all(struct mcore *c)
{
    struct tcp_state *st = c->tcp;
    if (st == NULL)
        return;
    for (uint32_t i = 0; i < c->sock_hi && i < st->n; i++) {
        struct msock *s = &c->socks[i];
        uint8_t state = st->cbs[i].state;
        if (s->type == MOAT_SOCK_STREAM && state != TCPS_CLOSED && state != TCPS_LISTEN)
            tcp_touch(c, s);
    }
}

/* Due timers, output and rescheduling of one touched connection. */
static void tcp_poll_one(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (s->type != MOAT_SOCK_STREAM || t->state == TCPS_CLOSED || t->state == TCPS_LISTEN)
        return;
    (void)tcp_timers(c, s);
    if (t->state == TCPS_CLOSED)
        return;
    if (t->flags & TF_ACKSOON)
        t->flags |= TF_ACKNOW;  /* end of the input batch (tcp_rcv_data) */
    if (t->state >= TCPS_ESTABLISHED)
        tcp_output(c, s);
    if (t->state == TCPS_CLOSED)
        return;
    /* Every byte in flight is watched: by the retransmission timer, or by
     * the persist timer while the peer's window is closed. A path that
     * stopped both and then sent nothing would leave the connection
     * waiting forever (seen: a window reopening during SACK recovery,
     * where tcp_output resends only what RACK marked lost). */
    if (t->state >= TCPS_ESTABLISHED && t->snd_una != t->snd_max && t->t_rtx == 0 &&
        t->t_persist == 0)
        tcp_timer_rtx_arm(c, t);
    tcp_sched(c, s);
}

/* ---- poll ----------------------------------------------------------------- */

uint64_t tcp_poll(struct mcore *c)
{
    struct tcp_state *st = c->tcp;
    uint64_t next = MCORE_NEVER;
    if (st == NULL)
        return next;
    /* Connections whose timers are due join the touched ones. */
    while (st->heap_n > 0 && st->cbs[st->heap[0]].sched_t <= c->now) {
        uint32_t idx = st->heap[0];
        tcp_heap_del(st, idx);
        tcp_touch(c, &c->socks[idx]);
    }
    /* Bounded: every pass takes one entry off the list; an entry is put
     * back only by work done here on another connection, which the guard
     * lets through once per slot. */
    for (uint32_t guard = 0; st->ready != 0 && guard <= 2u * st->n; guard++) {
        uint32_t idx = st->ready - 1u;
        struct tcp_cb *t = &st->cbs[idx];
        st->ready = t->rnext;
        t->rnext = 0;
        t->in_ready = 0;
        tcp_poll_one(c, &c->socks[idx]);
    }
    if (st->heap_n > 0)
        next = st->cbs[st->heap[0]].sched_t;
    if (st->ready != 0)
        next = c->now;          /* more than the guard let through: come back */
    next = mcore_min(next, tcp_syn_q_poll(c));
    next = mcore_min(next, tcp_tw_poll(c));
    return next;
}
