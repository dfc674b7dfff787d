/* SPDX-License-Identifier: MIT */
/*
 * The application side of the socket boundary, shared by every backend:
 * the public socket API (include/moat/socket.h) and the stack lifecycle
 * (include/moat/moat.h) over the socket region of core/boundary.h.
 *
 * Owns: the RPCs on the ctl/evt rings, the data path on the per-socket
 * rings, waiting (futex on app_seq) and kicking the net domain (eventfd).
 * Does not own: the region's creation or the net domain's life (the
 * backend's moat_be_* hooks), nor any protocol logic (core/).
 *
 * Trust. The network domain may be hostile or dead. Every message from it
 * is copied into private memory and checked (catalog type and direction,
 * the id we are waiting for, a result that is a real error code, a handle
 * inside our table); every index it publishes is checked against the
 * capacity we keep privately; every datagram length is checked against
 * what is really in the ring. A violation marks the whole stack failed
 * with MOAT_E_PEER (every later call returns it): we never crash, never
 * read outside a ring, and never wait for something that cannot come.
 * A dead network domain turns every call, including blocked ones, into
 * MOAT_E_DEAD (moat_stack_mark_dead, or the liveness check in cl_wait).
 *
 * Decisions written down here:
 *  - st->dead holds the failure code (MOAT_E_DEAD or MOAT_E_PEER), 0 while
 *    the stack works.
 *  - Pending socket errors: the net domain is the only writer of the
 *    status and error words, so the client never clears them itself. When
 *    a call sees MOAT_SS_ERR it asks the net domain with
 *    GETOPT(MOAT_OPT_ERROR), which returns the error and clears it in one
 *    step there; the call returns that error once. (If that answer is 0
 *    the error word is read directly, so a net side that does not clear
 *    still gets its error reported.)
 *  - UDP datagrams sent with moat_sock_send carry the address given to
 *    connect (kept in app_sock.peer): the net domain never has to guess.
 *  - UDP POLLOUT: the send ring has room for a header plus one datagram of
 *    the largest interface MTU (capped at what the ring can ever hold), so
 *    a writer woken by poll can send a full-size datagram at once.
 *  - TCP receive kicks the net domain (only if it sleeps) when the ring
 *    was at least half full before the read: the window the peer sees may
 *    have been small and just opened. Below that, the next segment's ACK
 *    carries the new window anyway.
 *  - MOAT_OPT_SNDBUF is enforced here too: the net domain cannot stop us
 *    filling the ring, so the client keeps to the size it accepted.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "app/stack.h"
#include "app/wake.h"
#include "ports/linux/linux_port.h"

#ifndef MOAT_BACKEND_NAME
#define MOAT_BACKEND_NAME "unknown"
#endif

#define CL_UDP_MAX       65507u     /* 65535 - 20 (IP) - 8 (UDP) */
#define CL_SLICE_US      250000u    /* a futex sleep ends this often to check liveness */
#define CL_RPC_LIMIT_US  10000000u  /* a request unanswered this long: the net domain is broken */
#define CL_IP_UDP_HDRS   28u
#define CL_CLOSE_DRAIN_MS 1000u     /* UDP close waits this long for its send ring */
#define CL_STATS_TRIES   100000u    /* reads of a stats snapshot before giving up */

/* ---- failure and wake-ups ------------------------------------------- */

static struct moat_region_hdr *cl_hdr(struct moat_stack *st)
{
    if (st->hdr)
        return st->hdr;
    return st->region ? moat_region_hdr(st->region) : NULL;
}

static int cl_fail(struct moat_stack *st, int err);

/* The stack's failure code, or 0. A net domain that stopped reading our
 * ctl ring (we published an impossible index: memory corruption here, or
 * a hostile caller) says so in hdr->ctl_error; that fails the stack with
 * MOAT_E_PEER on the very next call, rather than leaving the next request
 * waiting CL_RPC_LIMIT_US for an answer that cannot come. */
static int cl_dead(struct moat_stack *st)
{
    int d = atomic_load_explicit(&st->dead, memory_order_acquire);
    if (d == 0 && st->hdr &&
        atomic_load_explicit(&st->hdr->ctl_error, memory_order_acquire) != 0)
        d = cl_fail(st, MOAT_E_PEER);
    return d;
}

/* Fail the whole stack with @p err (the first reason sticks) and wake
 * every application thread that waits, so none of them hangs. */
static int cl_fail(struct moat_stack *st, int err)
{
    struct moat_region_hdr *h = cl_hdr(st);
    int expected = 0;

    atomic_compare_exchange_strong(&st->dead, &expected, err);
    if (h) {
        atomic_fetch_add_explicit(&h->app_seq, 1, memory_order_seq_cst);
        wake_futex_wake_all(&h->app_seq);
    }
    return cl_dead(st);
}

void moat_stack_mark_dead(struct moat_stack *st)
{
    if (st)
        cl_fail(st, MOAT_E_DEAD);
}

/*
 * Ring the net domain's doorbell if it sleeps. Lost-wake-up argument (the
 * other half is in netloop.c): we published our index with a release
 * store, then a seq_cst fence, then read-and-clear net_sleeping; the net
 * domain stores net_sleeping = 1, fences, then re-reads our indices. One
 * of the two sees the other's store, so either it finds the work before
 * sleeping or we see it asleep and ring. The exchange (not a plain load)
 * makes one producer ring once per sleep, not every producer every time.
 */
void moat_stack_kick_net(struct moat_stack *st)
{
    struct moat_region_hdr *h = cl_hdr(st);

    if (!h)
        return;
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_exchange_explicit(&h->net_sleeping, 0, memory_order_seq_cst))
        wake_doorbell(st->net_efd);
}

/* ---- waiting ---------------------------------------------------------- */

/*
 * Stall detection: a net domain that is alive but does not run (stopped
 * with SIGSTOP, descheduled for good, livelocked inside one round) would
 * otherwise keep its callers waiting forever, as moat_be_alive() only
 * sees death. The net loop moves hdr->net_beat at least every 10 ms while
 * it runs and at once when it wakes from a sleep, and it never sleeps
 * longer than 1 s (netloop.c). So a beat that has not moved for
 * cfg.net_stall_ms (>= 2 s) means the domain has stopped running: the
 * stack fails with MOAT_E_DEAD like for a dead domain. Checked whenever a
 * futex sleep of a waiting call ends without a wake-up, so the error
 * comes within net_stall_ms + one slice (CL_SLICE_US) of the first look
 * at the last beat. Called by any waiting thread: the observation is one
 * atomic word (beat and time), the time of the last check another.
 *
 * The application may have been stopped too: a debugger or SIGSTOP stops
 * the net thread of the thread backend with it, and on SIGCONT that
 * thread first finishes the rest of its sleep (up to 1 s) before it beats
 * again. So the observation only counts while checks came at least every
 * CL_STALL_GAP_MS: after a longer gap (nobody waited, or we were stopped)
 * it starts afresh, which delays a real stall's error by at most one more
 * net_stall_ms.
 */
#define CL_STALL_GAP_MS 1000u

static void cl_stall_check(struct moat_stack *st)
{
    uint32_t bound = st->cfg.net_stall_ms;
    struct moat_region_hdr *h = st->hdr;

    if (bound == 0 || !h)
        return;
    uint32_t beat = atomic_load_explicit(&h->net_beat, memory_order_relaxed);
    uint32_t now_ms = (uint32_t)(moat_host_now_us() / 1000u) | 1u;
    uint32_t last = atomic_exchange_explicit(&st->beat_checked, now_ms, memory_order_relaxed);
    uint64_t seen = atomic_load_explicit(&st->beat_seen, memory_order_relaxed);

    /* Modulo 2^32 ms throughout: right across the wrap (49 days). */
    if (seen == 0 || (uint32_t)(seen >> 32) != beat || last == 0 ||
        now_ms - last > CL_STALL_GAP_MS) {
        /* First look, it moved, or a gap: note when we saw this value.
         * A lost race means another thread noted a value as recent. */
        atomic_compare_exchange_strong(&st->beat_seen, &seen,
                                       ((uint64_t)beat << 32) | now_ms);
        return;
    }
    if (now_ms - (uint32_t)seen >= bound)
        cl_fail(st, MOAT_E_DEAD);
}

/* A wait condition: 1 satisfied, 0 not yet, < 0 an error to return. */
typedef int (*cl_cond_fn)(struct moat_stack *st, void *arg);

static uint64_t cl_deadline(uint32_t timeout_ms)
{
    return timeout_ms ? moat_host_now_us() + (uint64_t)timeout_ms * 1000u : 0;
}

/*
 * Wait until @p cond holds, the absolute @p deadline_us passes (0: never)
 * or the stack fails. Returns 0, MOAT_E_AGAIN (deadline), the stack's
 * failure code, or the condition's error.
 *
 * First spin for cfg.spin_us (a reply from a busy net domain comes back
 * in a few microseconds; a futex round trip costs more than that). Then
 * the eventcount protocol on app_seq (see wake_app() in wake.h for the
 * net side): read the sequence, check, announce ourselves in app_waiters,
 * re-check, and sleep only while the sequence is unchanged.
 */
static int cl_wait(struct moat_stack *st, cl_cond_fn cond, void *arg, uint64_t deadline_us)
{
    struct moat_region_hdr *h = st->hdr;
    uint64_t now = moat_host_now_us();
    uint64_t spin_end = now + st->cfg.spin_us;
    int r;

    for (unsigned i = 0;; i++) {
        r = cond(st, arg);
        if (r != 0)
            return r < 0 ? r : 0;
        if (cl_dead(st))
            return cl_dead(st);
        if ((i & 15u) == 15u) {
            now = moat_host_now_us();
            if (deadline_us && now >= deadline_us)
                return MOAT_E_AGAIN;
            if (now >= spin_end)
                break;
        }
        wake_relax();
    }

    for (;;) {
        uint32_t seq = atomic_load_explicit(&h->app_seq, memory_order_seq_cst);
        uint64_t slice = CL_SLICE_US;

        r = cond(st, arg);
        if (r != 0)
            return r < 0 ? r : 0;
        if (cl_dead(st))
            return cl_dead(st);
        now = moat_host_now_us();
        if (deadline_us) {
            if (now >= deadline_us)
                return MOAT_E_AGAIN;
            if (deadline_us - now < slice)
                slice = deadline_us - now;
        }
        atomic_fetch_add_explicit(&h->app_waiters, 1, memory_order_seq_cst);
        r = cond(st, arg);
        if (r == 0 && !cl_dead(st)) {
            if (wake_futex_wait(&h->app_seq, seq, slice) == MOAT_E_AGAIN) {
                if (slice == CL_SLICE_US && !moat_be_alive(st))
                    cl_fail(st, MOAT_E_DEAD);
                else
                    cl_stall_check(st);
            }
        }
        atomic_fetch_sub_explicit(&h->app_waiters, 1, memory_order_seq_cst);
        if (r != 0)
            return r < 0 ? r : 0;
    }
}

/* ---- ring helpers (indices from the peer are checked) ----------------- */

static int cl_rx_avail(struct moat_stack *st, struct app_sock *s, uint32_t *n)
{
    if (moat_ring_avail(&s->rx, n) != 0)
        return cl_fail(st, MOAT_E_PEER);
    return 0;
}

/* Bytes we may still write into the send ring (respecting SNDBUF and,
 * for TCP, the send limit the net domain publishes as cwnd grows). The
 * published limit is untrusted: 0 or anything past the ring means the
 * whole ring, and it only ever narrows SNDBUF. */
static int cl_tx_room(struct moat_stack *st, struct app_sock *s, uint32_t *room)
{
    uint32_t space = 0, used, lim = s->sndbuf;

    if (moat_ring_space(&s->tx, &space) != 0)
        return cl_fail(st, MOAT_E_PEER);
    if (s->type == MOAT_SOCK_STREAM) {
        /* Pairs with the store-release in tcp_wnd_publish(). */
        uint32_t pub = atomic_load_explicit(
            &moat_region_sock(st->region, &st->lay, moat_handle_idx(s->handle))->tx_limit,
            memory_order_acquire);
        if (pub != 0 && pub < lim)
            lim = pub;
    }
    used = s->tx.cap - space;
    *room = lim > used ? lim - used : 0;
    return 0;
}

static struct moat_sock_sh *cl_sh(struct moat_stack *st, const struct app_sock *s)
{
    return moat_region_sock(st->region, &st->lay, moat_handle_idx(s->handle));
}

static uint32_t cl_status(struct moat_stack *st, const struct app_sock *s)
{
    /* Pairs with the net domain's store-release of the status word. */
    return atomic_load_explicit(&cl_sh(st, s)->status, memory_order_acquire);
}

/* ---- RPCs on the ctl / evt rings -------------------------------------- */

static int cl_cond_ctl_space(struct moat_stack *st, void *arg)
{
    uint32_t space = 0;
    (void)arg;
    if (moat_ring_space(&st->ctl, &space) != 0)
        return cl_fail(st, MOAT_E_PEER);
    return space >= MOAT_MSG_SIZE;
}

static int cl_cond_evt(struct moat_stack *st, void *arg)
{
    uint32_t avail = 0;
    (void)arg;
    if (moat_ring_avail(&st->evt, &avail) != 0)
        return cl_fail(st, MOAT_E_PEER);
    /* The net domain publishes whole 64-byte messages only. */
    if (avail % MOAT_MSG_SIZE != 0)
        return cl_fail(st, MOAT_E_PEER);
    return avail >= MOAT_MSG_SIZE;
}

/*
 * Requests and their answers. Every request gets a RESP, in order (the net
 * domain serves the ctl ring first in, first out, and answers each request
 * before it reads the next). Most calls wait for theirs (cl_rpc). A few
 * whose answer no caller needs are posted instead (cl_post: close, abort,
 * boolean options): the call returns once the request is on the ctl ring,
 * and the next request's caller collects the posted RESPs, which come
 * before its own, checking each like its own. This saves a wait (two
 * context switches or more in the factored backends) per posted request;
 * see docs/backends-compare.md, "Issue 8: round trips per connection".
 *
 * Why posting is safe. The ctl ring is ordered, so any later request (an
 * OPEN that reuses the slot, a BIND of the same port, a STATS) is served
 * after the posted one. A posted error cannot be returned to anyone: it is
 * counted (moat_stats.app_ctl_posted_errors); an honest net domain has
 * none to give for what is posted (close and abort of a handle we own,
 * boolean options). Flow control: the evt ring holds ctl_slots answers and
 * the net domain serves a request only when it has room for the answer,
 * so at most ctl_slots - 1 answers stay uncollected; at that bound the
 * next post collects them first. All of this is under st->lock.
 */
static uint32_t cl_id_next(uint32_t id)
{
    return id + 1u != 0 ? id + 1u : 1u;
}

/* Put @p req on the ctl ring (waiting for room) and ring the doorbell;
 * assigns the id. Under st->lock. */
static int cl_send_locked(struct moat_stack *st, struct moat_msg *req, uint64_t limit)
{
    int r = cl_dead(st);

    if (r != 0)
        return r;
    st->next_id = cl_id_next(st->next_id);
    req->id = st->next_id;
    req->pad = 0;
    req->result = 0;
    r = cl_wait(st, cl_cond_ctl_space, NULL, limit);
    if (r == MOAT_E_AGAIN)
        r = cl_fail(st, MOAT_E_PEER);
    if (r != 0)
        return r;
    moat_ring_put(&st->ctl, 0, req, MOAT_MSG_SIZE);
    moat_ring_publish(&st->ctl, MOAT_MSG_SIZE);
    moat_stack_kick_net(st);
    return 0;
}

/* Wait for the next RESP, which must answer request @p id; a private,
 * checked copy lands in @p resp. Under st->lock. */
static int cl_take_locked(struct moat_stack *st, uint32_t id, struct moat_msg *resp,
                          uint64_t limit)
{
    int r = cl_wait(st, cl_cond_evt, NULL, limit);

    if (r == MOAT_E_AGAIN)
        r = cl_fail(st, MOAT_E_PEER);
    if (r != 0)
        return r;
    moat_ring_get(&st->evt, 0, resp, MOAT_MSG_SIZE);   /* private copy first */
    moat_ring_consume(&st->evt, MOAT_MSG_SIZE);
    if (moat_msg_check(resp, MOAT_DIR_NET) != 0 || resp->type != MOAT_MSG_RESP ||
        resp->id != id || resp->result > 0 || resp->result <= MOAT_E_MIN_)
        return cl_fail(st, MOAT_E_PEER);
    return 0;
}

/* Collect the answers of every posted request. Under st->lock. */
static int cl_collect_locked(struct moat_stack *st, uint64_t limit)
{
    struct moat_msg resp;

    while (st->posted > 0) {
        int r = cl_take_locked(st, st->posted_id, &resp, limit);
        if (r != 0)
            return r;
        if (resp.result != 0)
            st->ctl_posted_errors++;
        st->posted--;
        st->posted_id = cl_id_next(st->posted_id);
    }
    return 0;
}

/*
 * Send one request and wait for its RESP (synchronous: st->lock is held
 * from the write to the answer, so nothing else is sent meanwhile). The
 * answers of requests posted before come first and are collected on the
 * way. @p req is filled by the caller except for the id. Returns the
 * RESP's result, or the stack's failure code.
 */
static int cl_rpc(struct moat_stack *st, struct moat_msg *req, struct moat_msg *resp)
{
    int r;

    pthread_mutex_lock(&st->lock);
    /* The net domain never blocks while serving a request, so an answer
     * that takes longer than CL_RPC_LIMIT_US means a wedged or hostile
     * domain (one that keeps bumping app_seq defeats the liveness check
     * of cl_wait's idle slices): fail the stack rather than hang. */
    uint64_t limit = moat_host_now_us() + CL_RPC_LIMIT_US;
    r = cl_send_locked(st, req, limit);
    if (r == 0)
        r = cl_collect_locked(st, limit);
    if (r == 0)
        r = cl_take_locked(st, req->id, resp, limit);
    if (r == 0) {
        st->ctl_waited++;
        r = resp->result;
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

/*
 * Send one request without waiting for its answer (see above for which
 * requests may be posted and why). Returns 0 once it is on the ctl ring,
 * or the stack's failure code.
 */
static int cl_post(struct moat_stack *st, struct moat_msg *req)
{
    int r;

    pthread_mutex_lock(&st->lock);
    uint64_t limit = moat_host_now_us() + CL_RPC_LIMIT_US;
    r = 0;
    if (st->posted + 1u >= st->lay.g.ctl_slots)
        r = cl_collect_locked(st, limit);   /* keep room for every answer */
    if (r == 0)
        r = cl_send_locked(st, req, limit);
    if (r == 0) {
        if (st->posted++ == 0)
            st->posted_id = req->id;
        st->ctl_posted++;
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

static void cl_req(struct moat_msg *m, unsigned type, uint32_t sock)
{
    memset(m, 0, sizeof(*m));
    m->type = (uint16_t)type;
    m->sock = sock;
}

/* ---- socket table ----------------------------------------------------- */

/* Look up a handle: MOAT_E_INVAL (no stack), MOAT_E_BADHANDLE, or the
 * stack's failure code when @p live is set. */
static int cl_sock_get(struct moat_stack *st, moat_sock_t h, int live, struct app_sock **out)
{
    uint32_t idx;

    if (!st)
        return MOAT_E_INVAL;
    idx = moat_handle_idx(h);
    if (h == 0 || moat_handle_gen(h) == 0 || idx >= st->lay.g.max_sockets ||
        st->socks[idx].handle != h)
        return MOAT_E_BADHANDLE;
    if (live && cl_dead(st))
        return cl_dead(st);
    *out = &st->socks[idx];
    return 0;
}

/* Take a handle the net domain gave us (OPEN, ACCEPT) into our table. */
static int cl_sock_adopt(struct moat_stack *st, uint32_t h, uint8_t type)
{
    uint32_t idx = moat_handle_idx(h);
    struct app_sock *s = NULL;
    struct moat_sock_sh *sh;

    pthread_mutex_lock(&st->lock);
    if (h == 0 || moat_handle_gen(h) == 0 || idx >= st->lay.g.max_sockets ||
        st->socks[idx].handle != 0) {
        pthread_mutex_unlock(&st->lock);
        return cl_fail(st, MOAT_E_PEER);
    }
    s = &st->socks[idx];
    memset(s, 0, sizeof(*s));
    sh = moat_region_sock(st->region, &st->lay, idx);
    /* The net domain reset both rings when it allocated the slot, and
     * nobody has consumed from them yet: our index starts at 0. */
    moat_ring_attach(&s->rx, &sh->rx, moat_region_rx_data(st->region, &st->lay, idx),
                     st->lay.g.sock_rx_bytes, 0);
    moat_ring_attach(&s->tx, &sh->tx, moat_region_tx_data(st->region, &st->lay, idx),
                     st->lay.g.sock_tx_bytes, 0);
    s->type = type;
    s->sndbuf = st->lay.g.sock_tx_bytes;
    s->handle = h;
    pthread_mutex_unlock(&st->lock);
    return 0;
}

static void cl_sock_forget(struct moat_stack *st, struct app_sock *s)
{
    pthread_mutex_lock(&st->lock);
    memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&st->lock);
}

/*
 * The pending error of a socket whose status shows MOAT_SS_ERR, cleared
 * in the net domain by the same round trip. Returns the error (< 0), 0 if
 * there was none after all, or the stack's failure code.
 */
static int cl_take_error(struct moat_stack *st, struct app_sock *s)
{
    struct moat_msg req, resp;
    int64_t v = 0;
    int r;

    cl_req(&req, MOAT_MSG_GETOPT, s->handle);
    req.body.opt.opt = MOAT_OPT_ERROR;
    r = cl_rpc(st, &req, &resp);
    if (r == 0)
        v = resp.body.resp.value;
    else if (cl_dead(st))
        return cl_dead(st);
    if (v == 0)
        v = atomic_load_explicit(&cl_sh(st, s)->error, memory_order_acquire);
    if (v > 0 || v <= MOAT_E_MIN_)
        return cl_fail(st, MOAT_E_PEER);
    /* An honest net domain clears ERR in the same step that answers the
     * GETOPT (the RESP is published after the status store), and writes
     * the error word before it sets ERR again: ERR still set with no
     * error to show is a lie, and retrying would loop for ever. */
    if (v == 0 && (cl_status(st, s) & MOAT_SS_ERR) &&
        atomic_load_explicit(&cl_sh(st, s)->error, memory_order_acquire) == 0)
        return cl_fail(st, MOAT_E_PEER);
    return (int)v;
}

/* ---- socket-state wait conditions ------------------------------------- */

struct cl_sock_cond {
    struct app_sock *s;
    uint32_t status_mask;   /* satisfied when any of these status bits is set */
    uint32_t rx_min;        /* ... or the receive ring holds this much (0: ignore) */
    uint32_t tx_min;        /* ... or we may write this much (0: ignore) */
};

static int cl_cond_sock(struct moat_stack *st, void *arg)
{
    struct cl_sock_cond *c = arg;
    uint32_t n = 0;
    int r;

    if (cl_status(st, c->s) & c->status_mask)
        return 1;
    if (c->rx_min) {
        r = cl_rx_avail(st, c->s, &n);
        if (r != 0)
            return r;
        if (n >= c->rx_min)
            return 1;
    }
    if (c->tx_min) {
        r = cl_tx_room(st, c->s, &n);
        if (r != 0)
            return r;
        if (n >= c->tx_min)
            return 1;
    }
    return 0;
}

static int cl_wait_sock(struct moat_stack *st, struct app_sock *s, uint32_t mask,
                        uint32_t rx_min, uint32_t tx_min, uint64_t deadline)
{
    struct cl_sock_cond c = { s, mask, rx_min, tx_min };
    return cl_wait(st, cl_cond_sock, &c, deadline);
}

/* ---- stack lifecycle -------------------------------------------------- */

static void cl_free_tables(struct moat_stack *st)
{
    free(st->socks);
    free(st->ready_cand);
    free(st->ready_next);
    free(st->ready_in);
    free(st);
}

int moat_stack_open(const struct moat_config *cfg, struct moat_stack **out)
{
    struct moat_stack *st;
    char why[128];
    int r;

    if (!cfg || !out)
        return MOAT_E_INVAL;
    r = moat_config_check(cfg, why, sizeof(why));
    if (r != 0)
        return r;

    st = calloc(1, sizeof(*st));
    if (!st)
        return MOAT_E_NOMEM;
    st->cfg = *cfg;
    st->net_efd = -1;
    r = moat_layout_for_config(cfg, &st->lay);
    if (r != 0) {
        free(st);
        return r;
    }
    st->socks = calloc(cfg->max_sockets, sizeof(*st->socks));
    st->ready_cand = calloc(cfg->max_sockets, sizeof(*st->ready_cand));
    st->ready_next = calloc(cfg->max_sockets, sizeof(*st->ready_next));
    st->ready_in = calloc(cfg->max_sockets, sizeof(*st->ready_in));
    if (!st->socks || !st->ready_cand || !st->ready_next || !st->ready_in) {
        cl_free_tables(st);
        return MOAT_E_NOMEM;
    }
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        cl_free_tables(st);
        return MOAT_E_NOMEM;
    }

    r = moat_be_open(st);
    if (r != 0) {
        pthread_mutex_destroy(&st->lock);
        cl_free_tables(st);
        return r;
    }
    st->hdr = moat_region_hdr(st->region);
    /* We mark every stream socket whose ring index we publish
     * (moat_dirty_mark): the net domain visits only those. */
    atomic_store_explicit(&st->hdr->dirty_hints, 1, memory_order_release);
    moat_ring_attach(&st->ctl, (uint8_t *)st->region + st->lay.off_ctl_sh,
                     (uint8_t *)st->region + st->lay.off_ctl_data,
                     st->lay.g.ctl_slots * MOAT_MSG_SIZE, 0);
    moat_ring_attach(&st->evt, (uint8_t *)st->region + st->lay.off_evt_sh,
                     (uint8_t *)st->region + st->lay.off_evt_data,
                     st->lay.g.ctl_slots * MOAT_MSG_SIZE, 0);
    *out = st;
    return 0;
}

void moat_stack_close(struct moat_stack *st)
{
    if (!st)
        return;
    /* Handles die here; the net domain aborts their connections when it
     * shuts down (mcore_shutdown), so no CLOSE round trips are needed. */
    pthread_mutex_lock(&st->lock);
    memset(st->socks, 0, (size_t)st->lay.g.max_sockets * sizeof(*st->socks));
    pthread_mutex_unlock(&st->lock);
    moat_be_close(st);
    pthread_mutex_destroy(&st->lock);
    cl_free_tables(st);
}

int moat_stack_stats(struct moat_stack *st, struct moat_stats *out)
{
    struct moat_msg req, resp;
    int r;

    if (!st || !out)
        return MOAT_E_INVAL;
    cl_req(&req, MOAT_MSG_STATS, 0);
    r = cl_rpc(st, &req, &resp);
    if (r != 0)
        return r;
    /* The net domain published the snapshot before the RESP; another
     * thread's STATS request may be rewriting it right now, which the
     * snapshot protocol (core/boundary.h) detects: retry, a bounded
     * number of times (an honest writer takes microseconds). */
    for (unsigned i = 0; i < CL_STATS_TRIES; i++) {
        if (moat_stats_read(st->hdr, out) == 0) {
            /* The application's own counters (not in the snapshot). */
            pthread_mutex_lock(&st->lock);
            out->app_ctl_waited = st->ctl_waited;
            out->app_ctl_posted = st->ctl_posted;
            out->app_ctl_posted_errors = st->ctl_posted_errors;
            pthread_mutex_unlock(&st->lock);
            return 0;
        }
        wake_relax();
    }
    return cl_fail(st, MOAT_E_PEER);    /* never stable: not an honest net domain */
}

/* ---- addresses and DHCP leases ------------------------------------------ */

int moat_dhcp_info(struct moat_stack *st, unsigned ifx, struct moat_dhcp_info *out)
{
    struct moat_stats stats;
    if (!st || !out || ifx >= MOAT_MAX_IFS || ifx >= st->cfg.n_ifs)
        return MOAT_E_INVAL;
    int r = moat_stack_stats(st, &stats);
    if (r != 0)
        return r;
    *out = stats.dhcp[ifx];
    return 0;
}

/* cl_wait condition: the net domain bumped app_seq since *arg was read. */
static int cl_seq_moved(struct moat_stack *st, void *arg)
{
    uint32_t seen = *(const uint32_t *)arg;
    return atomic_load_explicit(&st->hdr->app_seq, memory_order_acquire) != seen;
}

int moat_dhcp_wait(struct moat_stack *st, unsigned ifx, int timeout_ms,
                   struct moat_dhcp_info *out)
{
    struct moat_dhcp_info info;
    if (!st)
        return MOAT_E_INVAL;
    uint64_t deadline = timeout_ms < 0 ? 0 : moat_host_now_us() + (uint64_t)timeout_ms * 1000u;
    /* The net domain wakes the application (app_seq) whenever a lease is
     * gained or lost; between wake-ups look again at least every 100 ms. */
    for (;;) {
        uint32_t seq = atomic_load_explicit(&st->hdr->app_seq, memory_order_acquire);
        int r = moat_dhcp_info(st, ifx, &info);
        if (r != 0)
            return r;
        if (info.ip != 0) {
            if (out)
                *out = info;
            return 0;
        }
        uint64_t now = moat_host_now_us();
        if (deadline && now >= deadline)
            return MOAT_E_TIMEDOUT;
        uint64_t until = now + 100000u;
        if (deadline && deadline < until)
            until = deadline;
        r = cl_wait(st, cl_seq_moved, &seq, until);
        if (r != 0 && r != MOAT_E_AGAIN)
            return r;
    }
}

const char *moat_backend_name(void)
{
    return MOAT_BACKEND_NAME;
}

/* ---- control operations ----------------------------------------------- */

int moat_sock_open(struct moat_stack *st, int type, moat_sock_t *out)
{
    struct moat_msg req, resp;
    int r;

    if (!st || !out)
        return MOAT_E_INVAL;
    if (type != MOAT_SOCK_DGRAM && type != MOAT_SOCK_STREAM)
        return MOAT_E_INVAL;
    cl_req(&req, MOAT_MSG_OPEN, 0);
    req.body.open.type = (uint32_t)type;
    r = cl_rpc(st, &req, &resp);
    if (r != 0)
        return r;
    r = cl_sock_adopt(st, resp.body.resp.sock, (uint8_t)type);
    if (r != 0)
        return r;
    *out = resp.body.resp.sock;
    return 0;
}

/* struct moat_addr <-> the boundary's struct moat_m_addr (either family). */
static void cl_addr_to_msg(struct moat_m_addr *m, const struct moat_addr *a)
{
    memset(m, 0, sizeof *m);
    m->ip = a->ip;
    m->port = a->port;
    m->family = a->family;
    if (a->family == MOAT_AF_INET6) {
        memcpy(m->ip6, a->ip6, 16);
        m->scope_id = a->scope_id;
    }
}

static void cl_addr_from_msg(struct moat_addr *a, const struct moat_m_addr *m)
{
    memset(a, 0, sizeof *a);
    a->ip = m->ip;
    a->port = m->port;
    if (m->family == MOAT_AF_INET6) {
        a->family = MOAT_AF_INET6;
        memcpy(a->ip6, m->ip6, 16);
        a->scope_id = m->scope_id;
    }
}

/* No address: IPv4 0.0.0.0 or IPv6 ::. */
static bool cl_addr_unset(const struct moat_addr *a)
{
    static const uint8_t zero[16];
    if (a->family == MOAT_AF_INET6)
        return memcmp(a->ip6, zero, 16) == 0;
    return a->ip == 0;
}

static int cl_addr_rpc(struct moat_stack *st, struct app_sock *s, unsigned type,
                       const struct moat_addr *a)
{
    struct moat_msg req, resp;

    cl_req(&req, type, s->handle);
    cl_addr_to_msg(&req.body.addr, a);
    return cl_rpc(st, &req, &resp);
}

int moat_sock_bind(struct moat_stack *st, moat_sock_t h, const struct moat_addr *a)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!a)
        return MOAT_E_INVAL;
    return cl_addr_rpc(st, s, MOAT_MSG_BIND, a);
}

int moat_sock_connect(struct moat_stack *st, moat_sock_t h, const struct moat_addr *a)
{
    struct app_sock *s = NULL;
    uint32_t status;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!a)
        return MOAT_E_INVAL;
    r = cl_addr_rpc(st, s, MOAT_MSG_CONNECT, a);
    if (s->type == MOAT_SOCK_DGRAM) {
        if (r == 0)
            s->peer = *a;
        return r;
    }
    if (r != 0 && r != MOAT_E_INPROGRESS)
        return r;
    if (s->nonblock)
        return (cl_status(st, s) & MOAT_SS_CONNECTED) ? 0 : MOAT_E_INPROGRESS;

    r = cl_wait_sock(st, s, MOAT_SS_CONNECTED | MOAT_SS_ERR | MOAT_SS_HUP, 0, 0,
                     cl_deadline(s->sndtimeo_ms));
    if (r != 0)
        return r;
    status = cl_status(st, s);
    if (status & MOAT_SS_ERR) {
        r = cl_take_error(st, s);
        if (r != 0)
            return r;
    }
    if (status & MOAT_SS_CONNECTED)
        return 0;
    return MOAT_E_CONNABORTED;
}

int moat_sock_listen(struct moat_stack *st, moat_sock_t h, int backlog)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (s->type != MOAT_SOCK_STREAM)
        return MOAT_E_NOTSUP;
    cl_req(&req, MOAT_MSG_LISTEN, h);
    req.body.listen.backlog = backlog < 0 ? 0u : (uint32_t)backlog;
    return cl_rpc(st, &req, &resp);
}

int moat_sock_accept(struct moat_stack *st, moat_sock_t h, moat_sock_t *out,
                     struct moat_addr *peer)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    uint64_t deadline;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!out)
        return MOAT_E_INVAL;
    if (s->type != MOAT_SOCK_STREAM)
        return MOAT_E_NOTSUP;
    deadline = cl_deadline(s->rcvtimeo_ms);
    for (;;) {
        /* A listener whose status shows no queued connection (and nothing
         * else to report) would answer MOAT_E_AGAIN: skip that round trip.
         * The net domain sets ACCEPTQ after queueing a connection and
         * clears it only when it hands out the last one (tcp.c, tcp_in.c). */
        const uint32_t m = MOAT_SS_LISTENING | MOAT_SS_ACCEPTQ | MOAT_SS_ERR | MOAT_SS_HUP;
        r = MOAT_E_AGAIN;
        if ((cl_status(st, s) & m) != MOAT_SS_LISTENING) {
            cl_req(&req, MOAT_MSG_ACCEPT, h);
            r = cl_rpc(st, &req, &resp);
        }
        if (r == 0)
            break;
        if (r != MOAT_E_AGAIN)
            return r;
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ACCEPTQ | MOAT_SS_ERR | MOAT_SS_HUP, 0, 0, deadline);
        if (r != 0)
            return r;
        if (cl_status(st, s) & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
        }
    }
    r = cl_sock_adopt(st, resp.body.resp.sock, MOAT_SOCK_STREAM);
    if (r != 0)
        return r;
    *out = resp.body.resp.sock;
    if (peer)
        cl_addr_from_msg(peer, &resp.body.resp.remote);
    return 0;
}

int moat_sock_shutdown(struct moat_stack *st, moat_sock_t h, int how)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (how < MOAT_SHUT_RD || how > MOAT_SHUT_RDWR)
        return MOAT_E_INVAL;
    cl_req(&req, MOAT_MSG_SHUTDOWN, h);
    req.body.shut.how = (uint32_t)how;
    return cl_rpc(st, &req, &resp);
}

/* CLOSE or ABORT: the handle is gone afterwards whatever the answer, so
 * the request is posted, not waited for (cl_post). The slot is freed by
 * the net domain when it serves the request, before any later request:
 * an OPEN that gets the same slot back sees a new generation. */
static int cl_release(struct moat_stack *st, moat_sock_t h, unsigned type)
{
    struct moat_msg req;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 0, &s);

    if (r != 0)
        return r;
    /* A datagram handed to sendto() counts as sent, as with the kernel's
     * sockets; but the net domain handles requests before send rings in
     * a round, so give it (briefly) the datagrams still in our ring
     * before the slot goes away. TCP's close is graceful in the net
     * domain itself. */
    if (type == MOAT_MSG_CLOSE && s->type == MOAT_SOCK_DGRAM && !cl_dead(st))
        (void)cl_wait_sock(st, s, 0, 0, s->sndbuf, cl_deadline(CL_CLOSE_DRAIN_MS));
    if (!cl_dead(st)) {
        cl_req(&req, type, h);
        (void)cl_post(st, &req);
    }
    cl_sock_forget(st, s);
    return 0;
}

int moat_sock_close(struct moat_stack *st, moat_sock_t h)
{
    return cl_release(st, h, MOAT_MSG_CLOSE);
}

int moat_sock_abort(struct moat_stack *st, moat_sock_t h)
{
    return cl_release(st, h, MOAT_MSG_ABORT);
}

int moat_sock_setopt(struct moat_stack *st, moat_sock_t h, int opt, int64_t value)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    switch (opt) {
    case MOAT_OPT_NONBLOCK:
        if (value != 0 && value != 1)
            return MOAT_E_RANGE;
        s->nonblock = (uint8_t)value;
        return 0;
    case MOAT_OPT_RCVTIMEO_MS:
    case MOAT_OPT_SNDTIMEO_MS:
        if (value < 0 || value > (int64_t)UINT32_MAX / 1000)
            return MOAT_E_RANGE;
        if (opt == MOAT_OPT_RCVTIMEO_MS)
            s->rcvtimeo_ms = (uint32_t)value;
        else
            s->sndtimeo_ms = (uint32_t)value;
        return 0;
    case MOAT_OPT_ERROR:
        return MOAT_E_NOTSUP;   /* get only */
    case MOAT_OPT_NODELAY:
    case MOAT_OPT_KEEPALIVE:
    case MOAT_OPT_REUSEADDR:
    case MOAT_OPT_RCVBUF:
    case MOAT_OPT_SNDBUF:
    case MOAT_OPT_LINGER_MS:
    case MOAT_OPT_BROADCAST:
    case MOAT_OPT_TCP_CONG:
        break;
    default:
        return MOAT_E_NOTSUP;
    }
    if (opt == MOAT_OPT_SNDBUF && value <= 0)
        return MOAT_E_RANGE;
    cl_req(&req, MOAT_MSG_SETOPT, h);
    req.body.opt.opt = (uint32_t)opt;
    req.body.opt.value = value;
    /* A boolean option of a handle we own cannot fail in an honest net
     * domain (core.c ctl_setopt, tcp_sock_setopt): post it instead of
     * waiting (cl_post). Later requests are served after it, and the send
     * ring only after the requests of a round, so data sent next already
     * sees the option (MOAT_OPT_NODELAY). */
    if (opt == MOAT_OPT_NODELAY || opt == MOAT_OPT_KEEPALIVE || opt == MOAT_OPT_REUSEADDR ||
        opt == MOAT_OPT_BROADCAST)
        return cl_post(st, &req);
    r = cl_rpc(st, &req, &resp);
    if (r == 0 && opt == MOAT_OPT_SNDBUF)
        s->sndbuf = value > (int64_t)s->tx.cap ? s->tx.cap : (uint32_t)value;
    return r;
}

int moat_sock_getopt(struct moat_stack *st, moat_sock_t h, int opt, int64_t *value)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!value)
        return MOAT_E_INVAL;
    switch (opt) {
    case MOAT_OPT_NONBLOCK:
        *value = s->nonblock;
        return 0;
    case MOAT_OPT_RCVTIMEO_MS:
        *value = s->rcvtimeo_ms;
        return 0;
    case MOAT_OPT_SNDTIMEO_MS:
        *value = s->sndtimeo_ms;
        return 0;
    case MOAT_OPT_NODELAY:
    case MOAT_OPT_KEEPALIVE:
    case MOAT_OPT_REUSEADDR:
    case MOAT_OPT_RCVBUF:
    case MOAT_OPT_SNDBUF:
    case MOAT_OPT_LINGER_MS:
    case MOAT_OPT_BROADCAST:
    case MOAT_OPT_TCP_CONG:
        break;
    case MOAT_OPT_ERROR:
        /* The net domain writes the error word before it sets MOAT_SS_ERR
         * (sock_error) and sets ERR whenever there is an error: without
         * ERR there is none to read or clear, so answer 0 here and save
         * the round trip (non-blocking connect asks this once per
         * connection). With ERR, the GETOPT below reads and clears it. */
        if (!(cl_status(st, s) & MOAT_SS_ERR)) {
            *value = 0;
            return 0;
        }
        break;
    default:
        return MOAT_E_NOTSUP;
    }
    cl_req(&req, MOAT_MSG_GETOPT, h);
    req.body.opt.opt = (uint32_t)opt;
    r = cl_rpc(st, &req, &resp);
    if (r != 0)
        return r;
    *value = resp.body.resp.value;
    return 0;
}

int moat_sock_name(struct moat_stack *st, moat_sock_t h, struct moat_addr *local,
                   struct moat_addr *remote)
{
    struct moat_msg req, resp;
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    cl_req(&req, MOAT_MSG_NAME, h);
    r = cl_rpc(st, &req, &resp);
    if (r != 0)
        return r;
    if (local)
        cl_addr_from_msg(local, &resp.body.resp.local);
    if (remote)
        cl_addr_from_msg(remote, &resp.body.resp.remote);
    return 0;
}

/* ---- data path: no ctl message, only ring indices --------------------- */

static int cl_send_udp(struct moat_stack *st, struct app_sock *s, const void *buf,
                       size_t len, const struct moat_addr *to, size_t *sent)
{
    struct moat_dgram_hdr dh;
    uint64_t deadline;
    uint32_t rec, room = 0;
    int r;

    if (len > CL_UDP_MAX || len + sizeof(dh) > s->sndbuf)
        return MOAT_E_MSGSIZE;
    if (!to) {
        if (cl_addr_unset(&s->peer))
            return MOAT_E_NOTCONN;
        to = &s->peer;
    }
    if (cl_addr_unset(to) || to->port == 0)
        return MOAT_E_INVAL;
    rec = (uint32_t)(sizeof(dh) + len);
    deadline = cl_deadline(s->sndtimeo_ms);
    for (;;) {
        if (cl_status(st, s) & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
        }
        r = cl_tx_room(st, s, &room);
        if (r != 0)
            return r;
        if (room >= rec)
            break;
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ERR, 0, rec, deadline);
        if (r != 0)
            return r;
    }
    /* One record, published at once: the net side never sees half. */
    memset(&dh, 0, sizeof dh);
    dh.ip = to->ip;
    dh.port = to->port;
    dh.len = (uint16_t)len;
    if (to->family == MOAT_AF_INET6) {
        dh.family = MOAT_AF_INET6;
        memcpy(dh.ip6, to->ip6, 16);
        dh.scope_id = to->scope_id;
    }
    moat_ring_put(&s->tx, 0, &dh, sizeof(dh));
    if (len)
        moat_ring_put(&s->tx, sizeof(dh), buf, (uint32_t)len);
    moat_ring_publish(&s->tx, rec);
    /* marked like a stream socket's: the net loop's sleep check sees
     * marks, not ring indices (netloop.c) */
    moat_dirty_mark(st->region, &st->lay, moat_handle_idx(s->handle));
    moat_stack_kick_net(st);
    *sent = len;
    return 0;
}

/*
 * The wait of a TCP send, shared by moat_sock_send and moat_sock_send_view:
 * returns 0 with *room > 0 (that many bytes may be written now), 0 with
 * *room == 0 (stop: @p have_done bytes already went, or non-blocking and
 * full, or the timeout passed), or an error for a caller that has sent
 * nothing yet (with @p have_done set, an error is left for the next call).
 */
static int cl_send_tcp_wait(struct moat_stack *st, struct app_sock *s, int have_done,
                            uint64_t deadline, uint32_t *room)
{
    int r;

    *room = 0;
    for (;;) {
        uint32_t status = cl_status(st, s);

        if (status & MOAT_SS_ERR) {
            if (have_done)
                return 0;   /* report the bytes now, the error next call */
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
            continue;
        }
        if (status & (MOAT_SS_WRSHUT | MOAT_SS_HUP))
            return have_done ? 0 : MOAT_E_PIPE;
        if (!(status & MOAT_SS_CONNECTED)) {
            if (!(status & MOAT_SS_CONNECTING))
                return have_done ? 0 : MOAT_E_NOTCONN;
            if (s->nonblock)
                return MOAT_E_AGAIN;
            r = cl_wait_sock(st, s, MOAT_SS_CONNECTED | MOAT_SS_ERR | MOAT_SS_HUP, 0, 0,
                             deadline);
            if (r != 0)
                return r;
            continue;
        }
        r = cl_tx_room(st, s, room);
        if (r != 0 || *room > 0 || s->nonblock)
            return r;
        r = cl_wait_sock(st, s, MOAT_SS_ERR | MOAT_SS_WRSHUT | MOAT_SS_HUP, 0, 1, deadline);
        if (r == MOAT_E_AGAIN)
            return 0;
        if (r != 0)
            return r;
    }
}

/* Make @p n bytes written past the producer index visible to the net
 * domain: the one publish path of send and send_commit. */
static void cl_send_tcp_publish(struct moat_stack *st, struct app_sock *s, uint32_t n)
{
    moat_ring_publish(&s->tx, n);
    moat_dirty_mark(st->region, &st->lay, moat_handle_idx(s->handle));
    moat_stack_kick_net(st);
}

static int cl_send_tcp(struct moat_stack *st, struct app_sock *s, const void *buf,
                       size_t len, size_t *sent)
{
    const uint8_t *p = buf;
    uint64_t deadline = cl_deadline(s->sndtimeo_ms);
    size_t done = 0;

    s->tx_view = 0;     /* a send view does not survive a send */
    while (done < len) {
        uint32_t room = 0, n;
        int r = cl_send_tcp_wait(st, s, done != 0, deadline, &room);

        if (r != 0)
            return r;
        if (room == 0)
            break;
        n = len - done < room ? (uint32_t)(len - done) : room;
        moat_ring_put(&s->tx, 0, p + done, n);
        cl_send_tcp_publish(st, s, n);
        done += n;
    }
    if (done == 0 && len > 0)
        return MOAT_E_AGAIN;
    *sent = done;
    return 0;
}

static int cl_send(struct moat_stack *st, moat_sock_t h, const void *buf, size_t len,
                   const struct moat_addr *to, size_t *sent)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!sent || (!buf && len))
        return MOAT_E_INVAL;
    *sent = 0;
    if (s->type == MOAT_SOCK_DGRAM)
        return cl_send_udp(st, s, buf, len, to, sent);
    return cl_send_tcp(st, s, buf, len, sent);   /* TCP ignores @p to */
}

int moat_sock_send(struct moat_stack *st, moat_sock_t h, const void *buf, size_t len,
                   size_t *sent)
{
    return cl_send(st, h, buf, len, NULL, sent);
}

int moat_sock_sendto(struct moat_stack *st, moat_sock_t h, const void *buf, size_t len,
                     const struct moat_addr *to, size_t *sent)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!to && s->type == MOAT_SOCK_DGRAM)
        return MOAT_E_INVAL;
    return cl_send(st, h, buf, len, to, sent);
}

static int cl_recv_udp(struct moat_stack *st, struct app_sock *s, void *buf, size_t len,
                       struct moat_addr *from, size_t *got)
{
    uint64_t deadline = cl_deadline(s->rcvtimeo_ms);
    struct moat_dgram_hdr dh;
    uint32_t avail = 0, n;
    int r;

    for (;;) {
        r = cl_rx_avail(st, s, &avail);
        if (r != 0)
            return r;
        if (avail >= sizeof(dh))
            break;
        if (avail != 0)
            return cl_fail(st, MOAT_E_PEER);   /* records are published whole */
        if (cl_status(st, s) & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
            continue;
        }
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ERR, 1, 0, deadline);
        if (r != 0)
            return r;
    }
    moat_ring_get(&s->rx, 0, &dh, sizeof(dh));     /* private copy, then check */
    if (dh.len > CL_UDP_MAX || dh.len > avail - sizeof(dh))
        return cl_fail(st, MOAT_E_PEER);
    n = dh.len < len ? dh.len : (uint32_t)len;
    if (n)
        moat_ring_get(&s->rx, sizeof(dh), buf, n);
    moat_ring_consume(&s->rx, (uint32_t)sizeof(dh) + dh.len);
    if (from) {
        memset(from, 0, sizeof *from);
        from->ip = dh.ip;
        from->port = dh.port;
        if (dh.family == MOAT_AF_INET6) {
            from->family = MOAT_AF_INET6;
            memcpy(from->ip6, dh.ip6, 16);
            from->scope_id = dh.scope_id;
        }
    }
    *got = n;
    return 0;
}

/*
 * The wait of a TCP receive, shared by moat_sock_recv and
 * moat_sock_recv_view: returns 0 with *avail > 0 (readable bytes), 0 with
 * *avail == 0 (end of stream, or nothing yet and @p block is 0: a
 * zero-length recv), or an error.
 */
static int cl_recv_tcp_wait(struct moat_stack *st, struct app_sock *s, int block,
                            uint32_t *avail)
{
    uint64_t deadline = cl_deadline(s->rcvtimeo_ms);
    uint32_t status;
    int r;

    for (;;) {
        r = cl_rx_avail(st, s, avail);
        if (r != 0 || *avail > 0)
            return r;
        status = cl_status(st, s);
        /* The net domain publishes data before it sets RDHUP, so look at
         * the ring again after reading the status. */
        r = cl_rx_avail(st, s, avail);
        if (r != 0 || *avail > 0)
            return r;
        if (status & MOAT_SS_ERR) {
            r = cl_take_error(st, s);
            if (r != 0)
                return r;
            continue;
        }
        if (status & (MOAT_SS_RDHUP | MOAT_SS_HUP))
            return 0;       /* end of stream */
        if (!(status & (MOAT_SS_CONNECTED | MOAT_SS_CONNECTING)))
            return MOAT_E_NOTCONN;
        if (!block)
            return 0;
        if (s->nonblock)
            return MOAT_E_AGAIN;
        r = cl_wait_sock(st, s, MOAT_SS_ERR | MOAT_SS_RDHUP | MOAT_SS_HUP, 1, 0, deadline);
        if (r != 0)
            return r;
    }
}

/* Give @p n read bytes back to the net domain (the one consume path of
 * recv and recv_release); @p avail is what the ring held before. */
static void cl_recv_tcp_consume(struct moat_stack *st, struct app_sock *s, uint32_t n,
                                uint32_t avail)
{
    moat_ring_consume(&s->rx, n);
    atomic_store_explicit(&cl_sh(st, s)->rx_read, s->rx.local, memory_order_release);
    moat_dirty_mark(st->region, &st->lay, moat_handle_idx(s->handle));
    if ((uint64_t)avail * 2 >= s->rx.cap)
        moat_stack_kick_net(st);   /* the window may just have opened */
}

static int cl_recv_tcp(struct moat_stack *st, struct app_sock *s, void *buf, size_t len,
                       size_t *got)
{
    uint32_t avail = 0, n;
    int r;

    s->rx_view = 0;     /* a receive view does not survive a recv */
    r = cl_recv_tcp_wait(st, s, len != 0, &avail);
    if (r != 0)
        return r;
    n = avail < len ? avail : (uint32_t)len;
    if (n) {
        moat_ring_get(&s->rx, 0, buf, n);
        cl_recv_tcp_consume(st, s, n, avail);
    }
    *got = n;
    return 0;
}

static int cl_recv(struct moat_stack *st, moat_sock_t h, void *buf, size_t len,
                   struct moat_addr *from, size_t *got)
{
    struct app_sock *s = NULL;
    int r = cl_sock_get(st, h, 1, &s);

    if (r != 0)
        return r;
    if (!got || (!buf && len))
        return MOAT_E_INVAL;
    *got = 0;
    if (s->type == MOAT_SOCK_DGRAM)
        return cl_recv_udp(st, s, buf, len, from, got);
    if (from)
        memset(from, 0, sizeof(*from));
    return cl_recv_tcp(st, s, buf, len, got);
}

int moat_sock_recv(struct moat_stack *st, moat_sock_t h, void *buf, size_t len, size_t *got)
{
    return cl_recv(st, h, buf, len, NULL, got);
}

int moat_sock_recvfrom(struct moat_stack *st, moat_sock_t h, void *buf, size_t len,
                       struct moat_addr *from, size_t *got)
{
    return cl_recv(st, h, buf, len, from, got);
}

/* ---- zero-copy TCP data path (views into the socket rings) ------------- */

/*
 * The views hand out spans of the rings themselves; the waits, the
 * consume/publish and the net-domain hints are recv's and send's own
 * (cl_recv_tcp_wait / cl_recv_tcp_consume, cl_send_tcp_wait /
 * cl_send_tcp_publish), so the two paths cannot drift apart. app_sock
 * keeps how many bytes the last view showed (rx_view / tx_view): a
 * release or commit past that is refused, so the application can never
 * move its own index beyond what the ring held for it (the net domain
 * checks the indices anyway; this keeps an honest application's mistake
 * from corrupting its stream). recv/send reset the count.
 */

/* Up to two spans covering @p len bytes from absolute index @p at. */
static unsigned cl_ring_spans(const struct moat_ring *r, uint32_t at, uint32_t len,
                              struct moat_iov v[2])
{
    uint32_t o = at & r->mask, first = r->cap - o;

    v[0].base = r->data + o;
    if (first >= len) {
        v[0].len = len;
        return 1;
    }
    v[0].len = first;
    v[1].base = r->data;
    v[1].len = len - first;
    return 2;
}

/* Handle, arguments and type checks shared by the four calls. */
static int cl_zc_sock(struct moat_stack *st, moat_sock_t h, struct app_sock **out)
{
    int r = cl_sock_get(st, h, 1, out);

    if (r != 0)
        return r;
    return (*out)->type == MOAT_SOCK_STREAM ? 0 : MOAT_E_NOTSUP;
}

/* The same plus the view's output arguments (*n is 0 until a view). */
static int cl_zc_view_args(struct moat_stack *st, moat_sock_t h, struct moat_iov v[2],
                           unsigned *n, struct app_sock **out)
{
    int r = cl_zc_sock(st, h, out);

    if (r != 0)
        return r;
    if (!v || !n)
        return MOAT_E_INVAL;
    *n = 0;
    return 0;
}

int moat_sock_recv_view(struct moat_stack *st, moat_sock_t h, struct moat_iov v[2],
                        unsigned *n)
{
    struct app_sock *s = NULL;
    uint32_t avail = 0;
    int r = cl_zc_view_args(st, h, v, n, &s);

    if (r != 0)
        return r;
    s->rx_view = 0;
    r = cl_recv_tcp_wait(st, s, 1, &avail);
    if (r != 0 || avail == 0)
        return r;           /* error, or end of stream with *n == 0 */
    *n = cl_ring_spans(&s->rx, s->rx.local, avail, v);
    s->rx_view = avail;
    return 0;
}

int moat_sock_recv_release(struct moat_stack *st, moat_sock_t h, size_t nbytes)
{
    struct app_sock *s = NULL;
    uint32_t avail = 0;
    int r = cl_zc_sock(st, h, &s);

    if (r != 0)
        return r;
    if (nbytes > s->rx_view)
        return MOAT_E_INVAL;
    if (nbytes == 0)
        return 0;
    r = cl_rx_avail(st, s, &avail);
    if (r != 0)
        return r;
    /* Only we consume, so the ring still holds what we viewed; a producer
     * index that went backwards is the net domain lying. */
    if (avail < nbytes)
        return cl_fail(st, MOAT_E_PEER);
    cl_recv_tcp_consume(st, s, (uint32_t)nbytes, avail);
    s->rx_view -= (uint32_t)nbytes;
    return 0;
}

int moat_sock_send_view(struct moat_stack *st, moat_sock_t h, struct moat_iov v[2],
                        unsigned *n)
{
    struct app_sock *s = NULL;
    uint32_t room = 0;
    int r = cl_zc_view_args(st, h, v, n, &s);

    if (r != 0)
        return r;
    s->tx_view = 0;
    r = cl_send_tcp_wait(st, s, 0, cl_deadline(s->sndtimeo_ms), &room);
    if (r != 0)
        return r;
    if (room == 0)
        return MOAT_E_AGAIN;
    *n = cl_ring_spans(&s->tx, s->tx.local, room, v);
    s->tx_view = room;
    return 0;
}

int moat_sock_send_commit(struct moat_stack *st, moat_sock_t h, size_t nbytes)
{
    struct app_sock *s = NULL;
    int r = cl_zc_sock(st, h, &s);

    if (r != 0)
        return r;
    if (nbytes > s->tx_view)
        return MOAT_E_INVAL;
    if (nbytes == 0)
        return 0;
    /* After shutdown(WR) (the FIN is queued) or a hang-up, bytes must not
     * follow: refused like send refuses them, nothing published. */
    if (cl_status(st, s) & (MOAT_SS_WRSHUT | MOAT_SS_HUP))
        return MOAT_E_PIPE;
    /* The free space we viewed can only have grown since (only we
     * produce), so these bytes are still ours to publish. */
    cl_send_tcp_publish(st, s, (uint32_t)nbytes);
    s->tx_view -= (uint32_t)nbytes;
    return 0;
}

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
