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
#include "app/client_priv.h"

/* ---- failure and wake-ups ------------------------------------------- */

static struct moat_region_hdr *cl_hdr(struct moat_stack *st)
{
    if (st->hdr)
        return st->hdr;
    return st->region ? moat_region_hdr(st->region) : NULL;
}

/* The stack's failure code, or 0. A net domain that stopped reading our
 * ctl ring (we published an impossible index: memory corruption here, or
 * a hostile caller) says so in hdr->ctl_error; that fails the stack with
 * MOAT_E_PEER on the very next call, rather than leaving the next request
 * waiting CL_RPC_LIMIT_US for an answer that cannot come. */
int cl_dead(struct moat_stack *st)
{
    int d = atomic_load_explicit(&st->dead, memory_order_acquire);
    if (d == 0 && st->hdr &&
        atomic_load_explicit(&st->hdr->ctl_error, memory_order_acquire) != 0)
        d = cl_fail(st, MOAT_E_PEER);
    return d;
}

/* Fail the whole stack with @p err (the first reason sticks) and wake
 * every application thread that waits, so none of them hangs. */
int cl_fail(struct moat_stack *st, int err)
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

uint64_t cl_deadline(uint32_t timeout_ms)
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
int cl_wait(struct moat_stack *st, cl_cond_fn cond, void *arg, uint64_t deadline_us)
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

int cl_rx_avail(struct moat_stack *st, struct app_sock *s, uint32_t *n)
{
    if (moat_ring_avail(&s->rx, n) != 0)
        return cl_fail(st, MOAT_E_PEER);
    return 0;
}

/* Bytes we may still write into the send ring (respecting SNDBUF and,
 * for TCP, the send limit the net domain publishes as cwnd grows). The
 * published limit is untrusted: 0 or anything past the ring means the
 * whole ring, and it only ever narrows SNDBUF. */
int cl_tx_room(struct moat_stack *st, struct app_sock *s, uint32_t *room)
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

struct moat_sock_sh *cl_sh(struct moat_stack *st, const struct app_sock *s)
{
    return moat_region_sock(st->region, &st->lay, moat_handle_idx(s->handle));
}

uint32_t cl_status(struct moat_stack *st, const struct app_sock *s)
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
    req->pad = 0;
    req->result = 0;
    r = cl_wait(st, cl_cond_ctl_space, NULL, limit);
    if (r == MOAT_E_AGAIN)
        r = cl_fail(st, MOAT_E_PEER);
    if (r != 0)
        return r;
    /* The room just seen can only have grown (only the net domain
     * consumes); an impossible index now is the net domain lying. */
    if (app_req_put(&st->ctl, req, st->next_id) != 0)
        return cl_fail(st, MOAT_E_PEER);
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
    /* app_evt_take makes the private copy before it checks anything. */
    if (app_evt_take(&st->evt, resp) != 0 || !app_resp_answers(resp, id) ||
        resp->result > 0 || resp->result <= MOAT_E_MIN_)
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
int cl_rpc(struct moat_stack *st, struct moat_msg *req, struct moat_msg *resp)
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
int cl_post(struct moat_stack *st, struct moat_msg *req)
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


/* ---- socket table ----------------------------------------------------- */

/* Look up a handle: MOAT_E_INVAL (no stack), MOAT_E_BADHANDLE, or the
 * stack's failure code when @p live is set. */
int cl_sock_get(struct moat_stack *st, moat_sock_t h, int live, struct app_sock **out)
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
int cl_sock_adopt(struct moat_stack *st, uint32_t h, uint8_t type)
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

void cl_sock_forget(struct moat_stack *st, struct app_sock *s)
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
int cl_take_error(struct moat_stack *st, struct app_sock *s)
{
    struct moat_msg req, resp;
    int64_t v = 0;
    int r;

    app_req_init(&req, MOAT_MSG_GETOPT, s->handle);
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

int cl_wait_sock(struct moat_stack *st, struct app_sock *s, uint32_t mask,
                        uint32_t rx_min, uint32_t tx_min, uint64_t deadline)
{
    struct cl_sock_cond c = { s, mask, rx_min, tx_min };
    return cl_wait(st, cl_cond_sock, &c, deadline);
}

