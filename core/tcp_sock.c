/* SPDX-License-Identifier: MIT */
/*
 * TCP's socket operations, as the socket layer (sock.c, core.c's control
 * dispatcher) calls them: open, connect (IPv4 and IPv6), listen, accept,
 * shutdown, close and abort, options, the port-in-use check, and ending
 * every connection of an address that went away or of a stack shutting
 * down.
 */
#include "tcp_priv.h"

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

/* The application lets go of @p s (close or abort): from here on the
 * connection is the stack's alone, and its slot is freed when it ends. */
static struct tcp_cb *tcp_orphan(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    s->app_owned = 0;
    t->flags |= TF_ORPHAN;
    return t;
}

int tcp_sock_abort(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_orphan(c, s);
    tcp_abort_conn(c, s);
    if (s->type != 0 && t->state == TCPS_CLOSED && t->listener == 0)
        sock_free(c, s);
    return 0;
}

int tcp_sock_close(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_orphan(c, s);
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
        /* Turned on (again; its timer is unarmed only while it is off):
         * the peer gets its full tcp_keepcnt probes, not what an earlier
         * period left. The count is shared with the persist timer, so it
         * is left alone while that runs. */
        if (value != 0 && t->t_keep == 0 && t->t_persist == 0)
            t->probes = 0;
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
