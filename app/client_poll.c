/* SPDX-License-Identifier: MIT */
/*
 * The application side of the socket boundary: readiness -- moat_poll over
 * a set of sockets, and the event-driven moat_watch / moat_poll_ready,
 * both from the status words and ring indices the net domain publishes.
 */
#include "app/client_priv.h"

/* ---- poll ------------------------------------------------------------- */

struct cl_poll {
    struct moat_pollfd *fds;
    unsigned n;
    unsigned ready;
};

/* Smallest free room that lets a UDP writer send a full-MTU datagram. */
static uint32_t cl_udp_pollout_need(struct moat_stack *st, const struct app_sock *s)
{
    uint32_t mtu = 0, need;

    for (uint32_t i = 0; i < st->cfg.n_ifs && i < MOAT_MAX_IFS; i++)
        if (st->cfg.ifs[i].mtu > mtu)
            mtu = st->cfg.ifs[i].mtu;
    need = (uint32_t)sizeof(struct moat_dgram_hdr) +
           (mtu > CL_IP_UDP_HDRS ? mtu - CL_IP_UDP_HDRS : 1);
    return need < s->sndbuf ? need : s->sndbuf;
}

static uint16_t cl_revents(struct moat_stack *st, const struct moat_pollfd *pf, int *err)
{
    struct app_sock *s = NULL;
    uint32_t status, avail = 0, room = 0;
    uint16_t ev = 0;

    if (cl_sock_get(st, pf->sock, 0, &s) != 0)
        return MOAT_POLLNVAL;
    status = cl_status(st, s);
    if ((*err = cl_rx_avail(st, s, &avail)) != 0 || (*err = cl_tx_room(st, s, &room)) != 0)
        return 0;
    if (status & MOAT_SS_ERR)
        ev |= MOAT_POLLERR;
    if (status & MOAT_SS_HUP)
        ev |= MOAT_POLLHUP;
    if (status & MOAT_SS_RDHUP)
        ev |= MOAT_POLLRDHUP;
    if (s->type == MOAT_SOCK_DGRAM) {
        if (avail > 0)
            ev |= MOAT_POLLIN;
        if (room >= cl_udp_pollout_need(st, s))
            ev |= MOAT_POLLOUT;
    } else {
        if (avail > 0 || (status & (MOAT_SS_ACCEPTQ | MOAT_SS_RDHUP | MOAT_SS_HUP)))
            ev |= MOAT_POLLIN;
        if ((status & MOAT_SS_CONNECTED) && !(status & (MOAT_SS_WRSHUT | MOAT_SS_HUP)) &&
            room > 0)
            ev |= MOAT_POLLOUT;
    }
    return ev & (pf->events | MOAT_POLLERR | MOAT_POLLHUP | MOAT_POLLNVAL);
}

static int cl_cond_poll(struct moat_stack *st, void *arg)
{
    struct cl_poll *p = arg;
    unsigned ready = 0;

    for (unsigned i = 0; i < p->n; i++) {
        int err = 0;
        p->fds[i].revents = cl_revents(st, &p->fds[i], &err);
        if (err)
            return err;
        if (p->fds[i].revents)
            ready++;
    }
    p->ready = ready;
    return ready > 0;
}

/* The waiting part of moat_poll and moat_poll_ready: one look, then wait
 * for @p cond up to @p timeout_ms (-1 forever). Returns 0 (also on
 * timeout) or the stack's failure code. */
static int cl_poll_wait(struct moat_stack *st, cl_cond_fn cond, void *arg, int timeout_ms)
{
    int r = cl_dead(st);

    if (r != 0)
        return r;
    r = cond(st, arg);
    if (r < 0)
        return r;
    if (r == 0 && timeout_ms != 0) {
        uint64_t deadline = timeout_ms < 0 ? 0 : cl_deadline((uint32_t)timeout_ms);
        r = cl_wait(st, cond, arg, deadline);
        if (r != 0 && r != MOAT_E_AGAIN)
            return r;
    }
    return 0;
}

int moat_poll(struct moat_stack *st, struct moat_pollfd *fds, unsigned n,
              int timeout_ms, unsigned *nready)
{
    struct cl_poll p = { fds, n, 0 };
    int r;

    if (!st || (!fds && n))
        return MOAT_E_INVAL;
    if (nready)
        *nready = 0;
    r = cl_poll_wait(st, cl_cond_poll, &p, timeout_ms);
    if (r != 0)
        return r;
    if (nready)
        *nready = p.ready;
    return 0;
}

/* ---- event-driven readiness (moat_watch / moat_poll_ready) ------------ */

#define CL_WATCH_EVENTS (MOAT_POLLIN | MOAT_POLLOUT | MOAT_POLLRDHUP | \
                         MOAT_POLLERR | MOAT_POLLHUP)

/* Make slot @p idx a candidate (once). Under st->lock. */
static void cl_ready_add(struct moat_stack *st, uint32_t idx)
{
    if (idx >= st->lay.g.max_sockets || st->ready_in[idx])
        return;
    st->ready_in[idx] = 1;
    st->ready_cand[st->n_ready_cand++] = idx;   /* at most max_sockets: ready_in */
}

int moat_watch(struct moat_stack *st, moat_sock_t h, uint16_t events, void *user)
{
    struct app_sock *s = NULL;
    int r;

    if (!st)
        return MOAT_E_INVAL;
    if (events & ~(uint16_t)CL_WATCH_EVENTS)
        return MOAT_E_INVAL;
    pthread_mutex_lock(&st->lock);
    r = cl_sock_get(st, h, 1, &s);
    if (r == 0) {
        s->watch = events;
        s->watch_user = user;
        /* It may be ready already: look at it on the next call. */
        if (events)
            cl_ready_add(st, moat_handle_idx(h));
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

/*
 * Take the net domain's ready hints (core/boundary.h moat_ready_mark):
 * exchange each nonzero summary word, then each word it names, to 0.
 * Every index is checked against our private geometry, so a hostile net
 * domain that sets any bit only makes us look at a slot (and a slot we
 * do not watch is dropped at once). Under st->lock.
 */
static void cl_ready_harvest(struct moat_stack *st)
{
    const struct moat_layout *lay = &st->lay;
    uint8_t *b = st->region;
    _Atomic uint32_t *w = (_Atomic uint32_t *)(b + lay->off_ready);
    _Atomic uint32_t *sum = (_Atomic uint32_t *)(b + lay->off_ready_sum);

    for (uint32_t i = 0; i < lay->n_dirty_sum; i++) {
        if (atomic_load_explicit(&sum[i], memory_order_relaxed) == 0)
            continue;
        uint32_t x = atomic_exchange_explicit(&sum[i], 0, memory_order_acquire);
        while (x != 0) {
            uint32_t wi = i * 32u + (uint32_t)__builtin_ctz(x);
            x &= x - 1u;
            if (wi >= lay->n_dirty)
                continue;
            uint32_t y = atomic_exchange_explicit(&w[wi], 0, memory_order_acquire);
            while (y != 0) {
                uint32_t idx = wi * 32u + (uint32_t)__builtin_ctz(y);
                y &= y - 1u;
                if (st->socks[idx < lay->g.max_sockets ? idx : 0].watch)
                    cl_ready_add(st, idx);
            }
        }
    }
}

struct cl_ready {
    struct moat_event *out;
    unsigned max;
    unsigned n;
};

/*
 * One look: harvest, then check every candidate. A ready one is reported
 * and stays a candidate (level-triggered: it is checked again next time);
 * one that is not ready, or no longer watched, is dropped (its next change
 * marks it again). Candidates not looked at because @p out was full go
 * first next time, the reported ones after them.
 */
static int cl_cond_ready(struct moat_stack *st, void *arg)
{
    struct cl_ready *p = arg;
    uint32_t n_keep = 0, n_seen = 0, k;
    int err = 0;

    pthread_mutex_lock(&st->lock);
    cl_ready_harvest(st);
    p->n = 0;
    for (k = 0; k < st->n_ready_cand && p->n < p->max; k++) {
        uint32_t idx = st->ready_cand[k];
        struct app_sock *s = &st->socks[idx];
        struct moat_pollfd pf = { s->handle, s->watch, 0 };
        uint16_t ev = 0;

        if (s->handle != 0 && s->watch != 0)
            ev = cl_revents(st, &pf, &err);
        if (err)
            break;
        if (ev == 0 || ev == MOAT_POLLNVAL) {
            st->ready_in[idx] = 0;
            continue;
        }
        p->out[p->n].sock = s->handle;
        p->out[p->n].revents = ev;
        p->out[p->n].pad = 0;
        p->out[p->n].user = s->watch_user;
        p->n++;
        st->ready_next[n_seen++] = idx;
    }
    /* Unexamined first, then the reported ones. */
    for (uint32_t j = k; j < st->n_ready_cand; j++)
        st->ready_cand[n_keep++] = st->ready_cand[j];
    for (uint32_t j = 0; j < n_seen; j++)
        st->ready_cand[n_keep++] = st->ready_next[j];
    st->n_ready_cand = n_keep;
    pthread_mutex_unlock(&st->lock);
    if (err)
        return err;
    return p->n > 0;
}

int moat_poll_ready(struct moat_stack *st, struct moat_event *out, unsigned max,
                    int timeout_ms, unsigned *nready)
{
    struct cl_ready p = { out, max, 0 };
    int r;

    if (nready)
        *nready = 0;
    if (!st || !out || max == 0)
        return MOAT_E_INVAL;
    r = cl_poll_wait(st, cl_cond_ready, &p, timeout_ms);
    if (r != 0)
        return r;
    if (nready)
        *nready = p.n;
    return 0;
}
