/* SPDX-License-Identifier: MIT */
/*
 * The core instance: carving caller memory into the modules' state, the
 * poll step (requests, send rings, timers), the dispatcher of the socket
 * boundary's ctl ring, randomness and statistics.
 *
 * The dispatcher distrusts the application: every message is checked
 * against the catalog (type, direction) and every handle against its
 * generation; a malformed request is answered with MOAT_E_PEER and
 * counted, impossible ring indices stop the channel for good.
 */
#include "core_priv.h"

#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)
/* Each of the two datagram buffers (scratch, scratch2). */
#define SCRATCH_BYTES(cfg) ALIGN64(MCORE_IP_MAX(cfg) + 64u)
#define CTL_BATCH 32u

size_t mcore_mem_size(const struct moat_config *cfg)
{
    if (moat_config_check(cfg, NULL, 0) != 0)
        return 0;
    return ALIGN64(sizeof(struct mcore)) + 2 * SCRATCH_BYTES(cfg) +
           ALIGN64(pkt_mem_size(cfg->pkt_bufs)) + ALIGN64(arp_mem_size(cfg)) +
           ALIGN64(reass_mem_size(cfg)) + ALIGN64(sock_mem_size(cfg)) +
           ALIGN64(tcp_mem_size(cfg)) + ALIGN64(nd_mem_size(cfg)) +
           ALIGN64(reass6_mem_size(cfg));
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t mcore_rand32(struct mcore *c)
{
    /* xorshift128+: fast, not cryptographic; secrets come from env.rng. */
    uint64_t s1 = c->prng[0];
    const uint64_t s0 = c->prng[1];
    c->prng[0] = s0;
    s1 ^= s1 << 23;
    c->prng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return (uint32_t)((c->prng[1] + s0) >> 32);
}

void mcore_random(struct mcore *c, void *buf, size_t len)
{
    if (c->cfg.seed) {
        uint8_t *p = buf;
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)mcore_rand32(c);
    } else {
        c->env.rng(c->env.rng_ctx, buf, len);
    }
}

int mcore_init(void *mem, size_t len, const struct moat_config *cfg,
               const struct mcore_env *env, struct mcore **out)
{
    size_t need = mcore_mem_size(cfg);
    uint8_t *p = mem;

    if (need == 0 || !env || !env->region || !env->rng || !out || ((uintptr_t)mem & 63u))
        return MOAT_E_INVAL;
    if (len < need)
        return MOAT_E_NOMEM;
    if (env->layout.g.max_sockets != cfg->max_sockets ||
        env->layout.g.sock_rx_bytes != cfg->sock_rx_bytes ||
        env->layout.g.sock_tx_bytes != cfg->sock_tx_bytes)
        return MOAT_E_INVAL;
    memset(mem, 0, ALIGN64(sizeof(struct mcore)));
    struct mcore *c = mem;
    p += ALIGN64(sizeof(struct mcore));
    c->cfg = *cfg;
    c->env = *env;

    uint64_t seed = cfg->seed;
    if (!seed)
        env->rng(env->rng_ctx, &seed, sizeof(seed));
    c->prng[0] = splitmix(&seed);
    c->prng[1] = splitmix(&seed) | 1;

    c->n_ifs = cfg->n_ifs;
    for (unsigned i = 0; i < c->n_ifs; i++) {
        const struct moat_if_config *ifc = &cfg->ifs[i];
        struct mc_if *ifp = &c->ifs[i];
        static const uint8_t zero[6];
        ifp->ip = ifc->ip;
        ifp->mask = ifc->prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> ifc->prefix);
        ifp->gw = ifc->gw;
        ifp->mtu = ifc->mtu;
        ifp->link = env->links[i];
        if (ifp->link && ifp->link->mtu && ifp->link->mtu < ifp->mtu)
            ifp->mtu = ifp->link->mtu;
        if (memcmp(ifc->mac, zero, 6) != 0) {
            memcpy(ifp->mac, ifc->mac, 6);
        } else if (ifc->dhcp || ifc->ip6_only) {
            /* No address to derive it from (DHCP, or IPv6 only): random,
             * locally administered, unicast. */
            mcore_random(c, ifp->mac, 6);
            ifp->mac[0] = (uint8_t)((ifp->mac[0] & 0xfcu) | 0x02u);
        } else {
            /* Locally administered, derived from the address. */
            ifp->mac[0] = 0x02;
            ifp->mac[1] = 0x00;
            wr32(ifp->mac + 2, ifc->ip);
        }
    }
    c->scratch = p;
    p += SCRATCH_BYTES(cfg);
    c->scratch2 = p;
    p += SCRATCH_BYTES(cfg);
    pkt_init(c, p, cfg->pkt_bufs);
    p += ALIGN64(pkt_mem_size(cfg->pkt_bufs));
    arp_init(c, p);
    p += ALIGN64(arp_mem_size(cfg));
    reass_init(c, p);
    p += ALIGN64(reass_mem_size(cfg));
    sock_init(c, p);
    p += ALIGN64(sock_mem_size(cfg));
    int err = tcp_init(c, p);
    if (err)
        return err;
    p += ALIGN64(tcp_mem_size(cfg));
    nd_init(c, p);
    p += ALIGN64(nd_mem_size(cfg));
    reass6_init(c, p);
    p += ALIGN64(reass6_mem_size(cfg));
    ip6_init(c);
    c->ip.next_id = (uint16_t)mcore_rand32(c);
    dhcp_init(c);
    c->icmp.tokens = cfg->icmp_err_per_s;

    uint8_t *base = env->region;
    moat_ring_attach(&c->ctl, base + env->layout.off_ctl_sh, base + env->layout.off_ctl_data,
                     env->layout.g.ctl_slots * MOAT_MSG_SIZE, 0);
    moat_ring_attach(&c->evt, base + env->layout.off_evt_sh, base + env->layout.off_evt_data,
                     env->layout.g.ctl_slots * MOAT_MSG_SIZE, 0);
    *out = c;
    return 0;
}

uint32_t mcore_sock_span(const struct mcore *c)
{
    return c->sock_hi;
}

int mcore_take_app_wakeup(struct mcore *c)
{
    int w = c->app_wakeup;
    c->app_wakeup = 0;
    return w;
}

void mcore_stats(const struct mcore *c, struct moat_stats *out)
{
    *out = c->stats;
    out->pkt_in_use = c->pkts.in_use;
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++)
        dhcp_info(c, i, &out->dhcp[i]);
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++)
        ip6_info(c, i, &out->ip6[i]);
    /* What one connection costs besides its rings: the slot (msock), its
     * status in the shared region, its dirty bit, and TCP's share
     * (tcp_slot_bytes). The application library keeps a small record per
     * slot too (not counted: it is the application's memory). */
    out->conn_state_bytes = sizeof(struct msock) + sizeof(struct moat_sock_sh) + 1u +
                            tcp_slot_bytes(&c->cfg);
}

/* ---- the ctl ring ---------------------------------------------------- */

static void addr_out(struct moat_m_addr *a, uint32_t ip, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->ip = ip;
    a->port = port;
}

/* An IPv6 address for the application (@p scope: interface + 1, 0: none). */
static void addr_out6(struct moat_m_addr *a, const uint8_t ip6[16], uint16_t port,
                      uint32_t scope)
{
    memset(a, 0, sizeof *a);
    a->family = MOAT_AF_INET6;
    memcpy(a->ip6, ip6, 16);
    a->port = port;
    a->scope_id = scope;
}

/* UDP connect to an IPv6 peer: the route must exist (a link-local peer
 * needs its zone, scope_id = interface + 1, when there are several
 * interfaces); an unbound socket is bound to the dual-stack any address. */
static int ctl_connect6(struct mcore *c, struct msock *s, const struct moat_m_addr *a)
{
    uint8_t src[16] = {0};
    unsigned ifx;
    uint16_t mtu;

    if (ip6_is_zero(a->ip6) || a->port == 0 || a->scope_id > c->n_ifs)
        return MOAT_E_INVAL;
    if (s->bound && !s->l6)
        return MOAT_E_ADDRNOTAVAIL;     /* an IPv4 socket */
    if (s->bound)
        memcpy(src, s->lip6, 16);
    if (ip6_is_zero(src) && ip6_is_ll(a->ip6) && !ip6_ll_addr(c, a->scope_id ? a->scope_id - 1u : 0, src))
        return MOAT_E_ADDRNOTAVAIL;
    int err = ip6_route(c, a->ip6, &ifx, src, &mtu);
    if (err)
        return err;
    static const uint8_t any[16];
    if (!s->bound && (err = sock_bind6(c, s, any, 0)) != 0)
        return err;
    memcpy(s->rip6, a->ip6, 16);
    s->rip = 0;
    s->r6 = 1;
    s->rscope = ip6_is_ll(a->ip6) ? (uint8_t)(ifx + 1u) : 0;
    s->rport = a->port;
    s->connected = 1;
    sock_status(c, s, MOAT_SS_CONNECTED, 0);
    return 0;
}

static int ctl_open(struct mcore *c, const struct moat_msg *m, struct moat_msg *r)
{
    uint32_t type = m->body.open.type;
    if (type != MOAT_SOCK_DGRAM && type != MOAT_SOCK_STREAM)
        return MOAT_E_INVAL;
    struct msock *s = sock_alloc(c, (uint8_t)type);
    if (!s)
        return MOAT_E_MFILE;
    if (type == MOAT_SOCK_STREAM) {
        int err = tcp_sock_open(c, s);
        if (err) {
            sock_free(c, s);
            return err;
        }
    }
    s->app_owned = 1;
    r->body.resp.sock = sock_handle(c, s);
    return 0;
}

static int ctl_connect(struct mcore *c, struct msock *s, const struct moat_m_addr *a)
{
    if (a->family == MOAT_AF_INET6)
        return s->type == MOAT_SOCK_STREAM
                   ? tcp_sock_connect6(c, s, a->ip6, a->port, a->scope_id)
                   : ctl_connect6(c, s, a);
    if (a->family != 0 && a->family != MOAT_AF_INET)
        return MOAT_E_INVAL;
    if (s->type == MOAT_SOCK_STREAM)
        return tcp_sock_connect(c, s, a->ip, a->port);
    if (a->ip == 0 || a->port == 0)
        return MOAT_E_INVAL;
    if (s->bound && s->l6 && !ip6_is_zero(s->lip6))
        return MOAT_E_ADDRNOTAVAIL;     /* bound to a specific IPv6 address */
    unsigned ifx;
    uint32_t src = s->lip, nh;
    int err = ip4_route(c, a->ip, &ifx, &src, &nh);
    if (err)
        return err;
    if (!s->bound && (err = sock_bind(c, s, 0, 0)) != 0)
        return err;
    s->rip = a->ip;
    s->r6 = 0;
    s->rport = a->port;
    s->connected = 1;
    sock_status(c, s, MOAT_SS_CONNECTED, 0);
    return 0;
}

static int ctl_setopt(struct mcore *c, struct msock *s, uint32_t opt, int64_t v)
{
    switch (opt) {
    case MOAT_OPT_NONBLOCK:
    case MOAT_OPT_RCVTIMEO_MS:
    case MOAT_OPT_SNDTIMEO_MS:
        return 0;               /* application-side options */
    case MOAT_OPT_NODELAY:
        s->nodelay = v != 0;
        break;
    case MOAT_OPT_KEEPALIVE:
        s->keepalive = v != 0;
        break;
    case MOAT_OPT_REUSEADDR:
        s->reuseaddr = v != 0;
        break;
    case MOAT_OPT_BROADCAST:
        s->broadcast = v != 0;
        break;
    case MOAT_OPT_RCVBUF:
        if (v < 1024 || v > (int64_t)s->rx.cap)
            return MOAT_E_RANGE;
        s->rcvbuf = (uint32_t)v;
        s->buf_lock |= SOCK_RCVBUF_SET;     /* no autotuning (tcp_wnd.c) */
        break;
    case MOAT_OPT_SNDBUF:
        if (v < 1024 || v > (int64_t)s->tx.cap)
            return MOAT_E_RANGE;
        s->sndbuf = (uint32_t)v;
        break;
    case MOAT_OPT_LINGER_MS:
        if (v < -1 || v > 3600000)
            return MOAT_E_RANGE;
        s->linger_ms = (int32_t)v;
        break;
    case MOAT_OPT_TCP_CONG:
        /* Kept in the TCB (tcp_sock_setopt checks the state). */
        if (s->type != MOAT_SOCK_STREAM)
            return MOAT_E_NOTSUP;
        if (v != MOAT_TCP_CONG_NEWRENO && v != MOAT_TCP_CONG_CUBIC)
            return MOAT_E_RANGE;
        break;
    default:
        return MOAT_E_NOTSUP;
    }
    if (s->type == MOAT_SOCK_STREAM)
        return tcp_sock_setopt(c, s, (int)opt, v);
    return 0;
}

static int ctl_getopt(struct mcore *c, struct msock *s, uint32_t opt, int64_t *v)
{
    switch (opt) {
    case MOAT_OPT_NODELAY: *v = s->nodelay; break;
    case MOAT_OPT_KEEPALIVE: *v = s->keepalive; break;
    case MOAT_OPT_REUSEADDR: *v = s->reuseaddr; break;
    case MOAT_OPT_BROADCAST: *v = s->broadcast; break;
    case MOAT_OPT_RCVBUF: *v = s->rcvbuf; break;
    case MOAT_OPT_SNDBUF: *v = s->sndbuf; break;
    case MOAT_OPT_LINGER_MS: *v = s->linger_ms; break;
    case MOAT_OPT_TCP_CONG:
        if (s->type != MOAT_SOCK_STREAM)
            return MOAT_E_NOTSUP;
        *v = tcp_sock_cong(c, s);
        break;
    case MOAT_OPT_ERROR:
        /* Reading the pending error clears it (SO_ERROR semantics). */
        *v = (s->status & MOAT_SS_ERR) ? atomic_load_explicit(&s->sh->error, memory_order_relaxed) : 0;
        atomic_store_explicit(&s->sh->error, 0, memory_order_relaxed);
        sock_status(c, s, 0, MOAT_SS_ERR);
        break;
    default:
        return MOAT_E_NOTSUP;
    }
    return 0;
}

static int ctl_sock(struct mcore *c, const struct moat_msg *m, struct moat_msg *r)
{
    struct msock *s = sock_get(c, m->sock);
    if (!s)
        return MOAT_E_BADHANDLE;
    bool stream = s->type == MOAT_SOCK_STREAM;
    if (stream)
        tcp_touch(c, s);    /* an operation may arm timers: rescheduled at poll */

    switch (m->type) {
    case MOAT_MSG_BIND:
        if (m->body.addr.family == MOAT_AF_INET6)
            return sock_bind6(c, s, m->body.addr.ip6, m->body.addr.port);
        if (m->body.addr.family != 0 && m->body.addr.family != MOAT_AF_INET)
            return MOAT_E_INVAL;
        return sock_bind(c, s, m->body.addr.ip, m->body.addr.port);
    case MOAT_MSG_CONNECT:
        return ctl_connect(c, s, &m->body.addr);
    case MOAT_MSG_LISTEN:
        return stream ? tcp_sock_listen(c, s, m->body.listen.backlog) : MOAT_E_NOTSUP;
    case MOAT_MSG_ACCEPT: {
        uint32_t child = 0;
        struct moat_m_addr peer = {0};
        if (!stream)
            return MOAT_E_NOTSUP;
        int err = tcp_sock_accept(c, s, &child, &peer);
        if (!err) {
            r->body.resp.sock = child;
            r->body.resp.remote = peer;
        }
        return err;
    }
    case MOAT_MSG_SHUTDOWN:
        if (m->body.shut.how < MOAT_SHUT_RD || m->body.shut.how > MOAT_SHUT_RDWR)
            return MOAT_E_INVAL;
        return stream ? tcp_sock_shutdown(c, s, m->body.shut.how) : MOAT_E_NOTSUP;
    case MOAT_MSG_CLOSE:
    case MOAT_MSG_ABORT:
        if (!stream) {
            /* Datagrams written before the close are still sent. */
            if (m->type == MOAT_MSG_CLOSE)
                udp_flush(c, s);
            s->app_owned = 0;
            sock_free(c, s);
            return 0;
        }
        s->app_owned = 0;
        return m->type == MOAT_MSG_CLOSE ? tcp_sock_close(c, s) : tcp_sock_abort(c, s);
    case MOAT_MSG_SETOPT:
        return ctl_setopt(c, s, m->body.opt.opt, m->body.opt.value);
    case MOAT_MSG_GETOPT:
        return ctl_getopt(c, s, m->body.opt.opt, &r->body.resp.value);
    case MOAT_MSG_NAME:
        /* A dual-stack socket connected to an IPv4 peer reports IPv4. */
        if (s->l6 && !(s->connected && !s->r6 && ip6_is_zero(s->lip6)))
            addr_out6(&r->body.resp.local, s->lip6, s->lport, 0);
        else
            addr_out(&r->body.resp.local, s->lip, s->lport);
        if (s->connected && s->r6) {
            addr_out6(&r->body.resp.remote, s->rip6, s->rport, s->rscope);
            uint8_t src[16];
            unsigned ifx;
            uint16_t mtu;
            memcpy(src, s->lip6, 16);   /* the source the route picks for :: */
            if (ip6_is_zero(src) && ip6_route(c, s->rip6, &ifx, src, &mtu) == 0)
                memcpy(r->body.resp.local.ip6, src, 16);
            return 0;
        }
        addr_out(&r->body.resp.remote, s->rip, s->rport);
        if (s->bound && s->lip == 0 && s->connected) {
            unsigned ifx;
            uint32_t src = 0, nh;
            if (ip4_route(c, s->rip, &ifx, &src, &nh) == 0)
                r->body.resp.local.ip = src;
        }
        return 0;
    default:
        return MOAT_E_PEER;
    }
}

static void ctl_one(struct mcore *c, const struct moat_msg *m, struct moat_msg *r)
{
    memset(r, 0, sizeof(*r));
    r->type = MOAT_MSG_RESP;
    r->id = m->id;
    r->sock = m->sock;
    if (moat_msg_check(m, MOAT_DIR_APP) != 0) {
        MCORE_DROP(c, BOUNDARY);
        r->result = MOAT_E_PEER;
        return;
    }
    switch (m->type) {
    case MOAT_MSG_OPEN:
        r->result = ctl_open(c, m, r);
        break;
    case MOAT_MSG_STATS: {
        struct moat_stats snap;
        mcore_stats(c, &snap);
        moat_stats_publish(moat_region_hdr(c->env.region), &snap);
        r->result = 0;
        break;
    }
    default:
        r->result = ctl_sock(c, m, r);
        break;
    }
}

static void ctl_poll(struct mcore *c)
{
    for (unsigned k = 0; k < CTL_BATCH && !c->ctl_dead; k++) {
        uint32_t avail, space;
        struct moat_msg m, r;

        if (moat_ring_avail(&c->ctl, &avail) != 0 || moat_ring_space(&c->evt, &space) != 0 ||
            (avail % MOAT_MSG_SIZE) != 0) {
            /* Indices no honest application can produce: stop listening,
             * and say so (release: before the wake-up), so that the
             * application's next call fails with MOAT_E_PEER instead of
             * waiting for an answer that will never come. */
            MCORE_DROP(c, BOUNDARY);
            c->ctl_dead = 1;
            atomic_store_explicit(&moat_region_hdr(c->env.region)->ctl_error, MOAT_E_PEER,
                                  memory_order_release);
            mcore_wake_app(c);
            return;
        }
        if (avail == 0 || space < MOAT_MSG_SIZE)
            return;
        moat_ring_get(&c->ctl, 0, &m, MOAT_MSG_SIZE);   /* copied once, then checked */
        moat_ring_consume(&c->ctl, MOAT_MSG_SIZE);
        ctl_one(c, &m, &r);
        moat_ring_put(&c->evt, 0, &r, MOAT_MSG_SIZE);
        moat_ring_publish(&c->evt, MOAT_MSG_SIZE);
        mcore_wake_app(c);
    }
}

static bool udp_tx_pending(struct mcore *c)
{
    for (uint32_t i = c->dgram_head; i != 0; i = c->socks[i - 1u].dnext) {
        struct msock *s = &c->socks[i - 1u];
        uint32_t avail;
        if (s->type == MOAT_SOCK_DGRAM && s->app_owned && !s->tx_dead &&
            moat_ring_avail(&s->tx, &avail) == 0 && avail)
            return true;
    }
    return false;
}

/* Index of the lowest set bit of @p x (x != 0), without compiler builtins. */
static unsigned bit_lowest(uint32_t x)
{
    static const uint8_t db[32] = {
        0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
        31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9
    };
    return db[(uint32_t)((x & (0u - x)) * 0x077cb531u) >> 27];
}

/*
 * The stream sockets whose rings the application moved since the last
 * round: with dirty hints (core/boundary.h moat_dirty_mark) only those are
 * touched; an application that gives none gets every connection looked at
 * each round, as a small embedded loop wants. The cost with hints is one
 * read per summary word (max_sockets / 1024) plus the marked sockets.
 */
static void poll_app_work(struct mcore *c)
{
    struct moat_region_hdr *h = moat_region_hdr(c->env.region);
    const struct moat_layout *lay = &c->env.layout;
    if (!atomic_load_explicit(&h->dirty_hints, memory_order_acquire)) {
        tcp_touch_all(c);
        return;
    }
    uint8_t *b = c->env.region;
    _Atomic uint32_t *w = (_Atomic uint32_t *)(b + lay->off_dirty);
    _Atomic uint32_t *sum = (_Atomic uint32_t *)(b + lay->off_dirty_sum);
    for (uint32_t i = 0; i < lay->n_dirty_sum; i++) {
        if (atomic_load_explicit(&sum[i], memory_order_relaxed) == 0)
            continue;   /* a plain read: no cache-line ownership taken */
        uint32_t x = atomic_exchange_explicit(&sum[i], 0, memory_order_acquire);
        while (x != 0) {
            uint32_t wi = i * 32u + bit_lowest(x);
            x &= x - 1u;
            if (wi >= lay->n_dirty)
                continue;
            uint32_t y = atomic_exchange_explicit(&w[wi], 0, memory_order_acquire);
            while (y != 0) {
                uint32_t idx = wi * 32u + bit_lowest(y);
                y &= y - 1u;
                if (idx < c->n_socks && c->socks[idx].type == MOAT_SOCK_STREAM)
                    tcp_touch(c, &c->socks[idx]);
            }
        }
    }
}

uint64_t mcore_poll(struct mcore *c, uint64_t now_us)
{
    uint64_t next;

    c->now = now_us;
    ctl_poll(c);
    udp_poll(c);
    poll_app_work(c);
    next = tcp_poll(c);
    next = mcore_min(next, arp_poll(c));
    next = mcore_min(next, reass_poll(c));
    next = mcore_min(next, dhcp_poll(c));
    next = mcore_min(next, reass6_poll(c));
    next = mcore_min(next, nd_poll(c));
    /* A module polled late may have armed an earlier module's timer (a
     * reassembly timeout's ICMP error starting an ARP resolution). */
    next = mcore_min(next, mcore_min(c->arp.next_due, c->ip.reass_due));
    next = mcore_min(next, mcore_min(c->ip6.nd_due, c->ip6.reass_due));
    if (udp_tx_pending(c))
        next = now_us;      /* more queued than one batch: come back at once */
    return next;
}

void mcore_shutdown(struct mcore *c, uint64_t now_us)
{
    c->now = now_us;
    tcp_shutdown_all(c);
    for (uint32_t i = 0; i < c->n_socks; i++)
        if (c->socks[i].type != 0)
            sock_free(c, &c->socks[i]);
    for (uint32_t i = 0; i < c->arp.n; i++) {
        struct arp_entry *e = &c->arp.tab[i];
        if (e->q_head) {
            pkt_free_list(c, e->q_head);
            e->q_head = e->q_tail = NULL;
            e->nq = 0;
        }
    }
    reass_shutdown(c);
    nd_shutdown(c);
    reass6_shutdown(c);
}
