/* SPDX-License-Identifier: MIT */
/*
 * The application side of the socket boundary: the stack's life cycle
 * (moat_stack_open/close over the backend's moat_be_* hooks), statistics
 * read through the region's snapshot protocol, addresses and DHCP leases.
 * The shared machinery (failure, waiting, RPCs, socket table) is client.c.
 */
#include "app/client_priv.h"

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
    app_req_init(&req, MOAT_MSG_STATS, 0);
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
