/* SPDX-License-Identifier: MIT */
/*
 * Socket slots: allocation with generation-checked handles, the slot's
 * ring views into the socket region, local port binding (with randomised
 * ephemeral ports, RFC 6056), and the status/error words the application
 * reads. Protocol behaviour is udp.c's and tcp*.c's.
 */
#include "core_priv.h"

#define EPHEMERAL_LO 49152u
#define EPHEMERAL_N  16384u

size_t sock_mem_size(const struct moat_config *cfg)
{
    return (size_t)cfg->max_sockets * sizeof(struct msock);
}

int sock_init(struct mcore *c, void *mem)
{
    c->socks = mem;
    c->n_socks = c->cfg.max_sockets;
    memset(mem, 0, sock_mem_size(&c->cfg));
    for (uint32_t i = 0; i < c->n_socks; i++) {
        struct msock *s = &c->socks[i];
        s->gen = (uint16_t)(1 + (mcore_rand32(c) % 0xfff0u));
        s->sh = moat_region_sock(c->env.region, &c->env.layout, i);
        atomic_store_explicit(&s->sh->status, 0, memory_order_relaxed);
    }
    return 0;
}

struct msock *sock_alloc(struct mcore *c, uint8_t type)
{
    /* Lowest free slot first; sock_free_lo skips the run of busy slots
     * at the bottom, so a full table of long-lived connections does not
     * cost a scan per accept. */
    if (c->sock_used >= c->n_socks)
        return NULL;
    for (uint32_t i = c->sock_free_lo; i < c->n_socks; i++) {
        struct msock *s = &c->socks[i];
        if (s->type != 0)
            continue;
        uint16_t gen = s->gen;
        struct moat_sock_sh *sh = s->sh;
        memset(s, 0, sizeof(*s));
        s->gen = gen;
        s->sh = sh;
        s->type = type;
        s->linger_ms = -1;
        s->rcvbuf = c->env.layout.g.sock_rx_bytes;
        s->sndbuf = c->env.layout.g.sock_tx_bytes;
        moat_ring_reset(&sh->rx);
        moat_ring_reset(&sh->tx);
        moat_ring_attach(&s->rx, &sh->rx, moat_region_rx_data(c->env.region, &c->env.layout, i),
                         c->env.layout.g.sock_rx_bytes, 0);
        moat_ring_attach(&s->tx, &sh->tx, moat_region_tx_data(c->env.region, &c->env.layout, i),
                         c->env.layout.g.sock_tx_bytes, 0);
        atomic_store_explicit(&sh->error, 0, memory_order_relaxed);
        atomic_store_explicit(&sh->tx_limit, 0, memory_order_relaxed);  /* whole ring */
        s->status = MOAT_SS_OPEN;
        atomic_store_explicit(&sh->status, s->status, memory_order_release);
        if (i >= c->sock_hi)
            c->sock_hi = i + 1;     /* only grows: see struct mcore */
        c->sock_used++;
        c->sock_free_lo = i + 1;
        if (type == MOAT_SOCK_DGRAM) {
            s->dnext = c->dgram_head;
            s->dprev = 0;
            if (c->dgram_head != 0)
                c->socks[c->dgram_head - 1u].dprev = i + 1u;
            c->dgram_head = i + 1u;
        }
        return s;
    }
    return NULL;
}

void sock_free(struct mcore *c, struct msock *s)
{
    if (s->type != 0) {
        uint32_t i = sock_idx(c, s);
        c->sock_used--;
        if (c->env.ring_release != NULL)
            c->env.ring_release(c->env.ring_release_ctx,
                                moat_region_rx_data(c->env.region, &c->env.layout, i),
                                c->env.layout.sock_stride);
        if (i < c->sock_free_lo)
            c->sock_free_lo = i;
        if (s->type == MOAT_SOCK_DGRAM) {
            if (s->dprev != 0)
                c->socks[s->dprev - 1u].dnext = s->dnext;
            else
                c->dgram_head = s->dnext;
            if (s->dnext != 0)
                c->socks[s->dnext - 1u].dprev = s->dprev;
            s->dnext = s->dprev = 0;
        }
    }
    s->type = 0;
    s->app_owned = 0;
    s->tcb = NULL;
    s->bound = s->connected = 0;
    /* Next generation, never 0 (handle 0 is "no socket"). The sum is
     * computed in int, so wrap it to 16 bits before testing for zero. */
    uint16_t next = (uint16_t)(s->gen + 1u);
    s->gen = next != 0 ? next : 1;
    s->status = 0;
    atomic_store_explicit(&s->sh->status, 0, memory_order_release);
    mcore_sock_changed(c, s);
}

uint32_t sock_handle(const struct mcore *c, const struct msock *s)
{
    return moat_handle_make(sock_idx(c, s), s->gen);
}

struct msock *sock_get(struct mcore *c, uint32_t handle)
{
    uint32_t idx = moat_handle_idx(handle);
    if (idx >= c->n_socks)
        return NULL;
    struct msock *s = &c->socks[idx];
    if (s->type == 0 || !s->app_owned || s->gen != moat_handle_gen(handle))
        return NULL;
    return s;
}

/* A local address being bound: IPv4 (v6 = 0, lip; 0 = IPv4 any) or IPv6
 * (v6 = 1, a; all-zero = the dual-stack any address). */
struct sock_laddr {
    uint8_t v6;
    uint32_t lip;
    const uint8_t *a;
};

/* Do two local addresses overlap (could both receive one datagram)? The
 * dual-stack any overlaps everything; IPv4 any every IPv4 address; IPv4
 * and a specific IPv6 address never. */
static bool laddr_overlap(const struct sock_laddr *x, const struct msock *o)
{
    bool x_dual = x->v6 && ip6_is_zero(x->a), o_dual = o->l6 && ip6_is_zero(o->lip6);
    if (x_dual || o_dual)
        return true;
    if (x->v6 != o->l6)
        return false;
    if (x->v6)
        return ip6_eq(x->a, o->lip6);
    return o->lip == 0 || x->lip == 0 || o->lip == x->lip;
}

/* Would the address:lport clash with another datagram socket? */
static bool udp_port_busy(struct mcore *c, const struct msock *self,
                          const struct sock_laddr *la, uint16_t lport)
{
    for (uint32_t i = c->dgram_head; i != 0; i = c->socks[i - 1u].dnext) {
        const struct msock *o = &c->socks[i - 1u];
        if (o == self || o->type != MOAT_SOCK_DGRAM || !o->bound || o->lport != lport)
            continue;
        if (laddr_overlap(la, o))
            return true;
    }
    return false;
}

static bool port_busy(struct mcore *c, const struct msock *s, const struct sock_laddr *la,
                      uint16_t lport)
{
    if (s->type == MOAT_SOCK_DGRAM)
        return udp_port_busy(c, s, la, lport);
    return tcp_port_busy(c, la->lip, lport, s->reuseaddr) != 0;
}

static int sock_bind_at(struct mcore *c, struct msock *s, const struct sock_laddr *la,
                        uint16_t lport)
{
    if (s->bound)
        return MOAT_E_STATE;
    if (!la->v6 && la->lip != 0 && !ip4_is_ours(c, la->lip))
        return MOAT_E_ADDRNOTAVAIL;
    if (la->v6 && !ip6_is_zero(la->a) && !ip6_is_ours(c, la->a))
        return MOAT_E_ADDRNOTAVAIL;
    if (lport == 0) {
        /* RFC 6056 algorithm 1: random start, linear probe. */
        uint32_t start = mcore_rand32(c) % EPHEMERAL_N;
        uint32_t k;
        for (k = 0; k < EPHEMERAL_N; k++) {
            uint16_t p = (uint16_t)(EPHEMERAL_LO + (start + k) % EPHEMERAL_N);
            if (!port_busy(c, s, la, p)) {
                lport = p;
                break;
            }
        }
        if (k == EPHEMERAL_N)
            return MOAT_E_ADDRINUSE;
    } else if (port_busy(c, s, la, lport)) {
        return MOAT_E_ADDRINUSE;
    }
    s->lip = la->lip;
    s->l6 = la->v6;
    if (la->v6)
        memcpy(s->lip6, la->a, 16);
    s->lport = lport;
    s->bound = 1;
    return 0;
}

int sock_bind(struct mcore *c, struct msock *s, uint32_t lip, uint16_t lport)
{
    struct sock_laddr la = {.v6 = 0, .lip = lip, .a = NULL};
    return sock_bind_at(c, s, &la, lport);
}

int sock_bind6(struct mcore *c, struct msock *s, const uint8_t lip6[16], uint16_t lport)
{
    struct sock_laddr la = {.v6 = 1, .lip = 0, .a = lip6};
    return sock_bind_at(c, s, &la, lport);
}

void sock_status(struct mcore *c, struct msock *s, uint32_t set, uint32_t clear)
{
    uint32_t st = (s->status | set) & ~clear;
    if (st == s->status)
        return;
    s->status = st;
    atomic_store_explicit(&s->sh->status, st, memory_order_release);
    mcore_sock_changed(c, s);
}

void sock_error(struct mcore *c, struct msock *s, int err)
{
    /* The error word is written before the status bit that announces it
     * (release in sock_status), so a reader that sees ERR sees the code. */
    atomic_store_explicit(&s->sh->error, err, memory_order_relaxed);
    s->status &= ~MOAT_SS_ERR;   /* force a publish even if ERR was set */
    sock_status(c, s, MOAT_SS_ERR, 0);
}
