/* SPDX-License-Identifier: MIT */
/*
 * TCP: memory layout, the keyed hash (SipHash) and initial sequence
 * numbers (RFC 6528), the TCB's life cycle (reset, release, drop,
 * TIME-WAIT entry, ESTABLISHED), the timer heap and the poll entry point
 * that drives timers and output. The tables and lookups are in
 * tcp_lookup.c, the socket operations in tcp_sock.c, segment input in
 * tcp_parse.c/tcp_in.c/tcp_listen.c/tcp_rcv.c, segment construction in
 * tcp_out.c, timers in tcp_timer.c, congestion control and SACK in
 * tcp_cc.c.
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
    if (c->env.tcp_iss_hook)
        return c->env.tcp_iss_fixed;
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
