/* SPDX-License-Identifier: MIT */
/*
 * The factored backends' supervisor, watching (see supervisor.c for the
 * whole): the watcher thread waits on both domains' pidfds and the
 * broken-ring flags; a dead moat-netd makes the stack dead, a dead
 * moat-linkd is restarted on a new ring generation (at most
 * SV_RESTART_MAX times in SV_RESTART_WINDOW_US), a broken ring gets its
 * link domain killed and so restarted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef MOAT_HAVE_LIBSECCOMP
#include <seccomp.h>
#endif

#include "app/stack.h"
#include "app/wake.h"
#include "domain.h"
#include "ports/linux/linux_port.h"
#include "supervisor.h"
#include "supervisor_priv.h"

void sv_stop_child(struct moat_backend *be, struct sv_child *c, int ms)
{
    struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
    struct moat_domain_death d;
    if (c->pidfd < 0)
        return;
    uint64_t end = sv_now_us() + (uint64_t)ms * 1000u;
    for (;;) {
        uint64_t now = sv_now_us();
        if (now >= end) {
            sv_kill(c);
            p.revents = 0;
            poll(&p, 1, 1000);  /* SIGKILL: gone within moments */
            break;
        }
        int r = poll(&p, 1, (int)((end - now + 999) / 1000));
        if (r > 0)
            break;
    }
    sv_reap(be, c, c == &be->netd ? MOAT_DOMAIN_NETD : MOAT_DOMAIN_LINKD, &d);
}

static void sv_netd_died(struct moat_backend *be)
{
    struct moat_domain_death d;
    sv_reap(be, &be->netd, MOAT_DOMAIN_NETD, &d);
    atomic_store_explicit(&be->netd_alive, 0, memory_order_release);
    /* First, so that no application call waits for the report. */
    moat_stack_mark_dead(be->st);
    sv_report(be, &d, "; every call on this stack now fails with MOAT_E_DEAD");
    /* The link domain has nobody to serve. */
    if (be->linkd.pidfd >= 0) {
        sv_kill(&be->linkd);
        sv_stop_child(be, &be->linkd, 1000);
    }
}

static void sv_new_generation(struct moat_backend *be)
{
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        struct linkring_hdr *h = linkring_hdr(f->base);
        /* The old link domain is reaped: nothing writes the rings until
         * the net side has reset them and acknowledged this generation.
         * Pairs with the load-acquire of gen in the net side (lr_net_sync). */
        if (++f->gen == 0)
            f->gen = 1;
        atomic_store_explicit(&h->gen, f->gen, memory_order_release);
        linkring_bell_ring(f->net_bell);
    }
}

static void sv_linkd_died(struct moat_backend *be)
{
    struct moat_domain_death d;
    sv_reap(be, &be->linkd, MOAT_DOMAIN_LINKD, &d);
    uint64_t now = sv_now_us();
    if (now - be->window_start_us > SV_RESTART_WINDOW_US) {
        be->window_start_us = now;
        be->window_count = 0;
    }
    if (!atomic_load(&be->netd_alive)) {
        sv_report(be, &d, "");
        return;
    }
    if (d.exit_code == DOMAIN_EXIT_SETUP || d.exit_code == DOMAIN_EXIT_CONFINE) {
        /* It could not open its device or confine itself: the next one
         * would fail alike. */
        be->link_down = 1;
        sv_report(be, &d, "; it could not start, the link stays down");
        return;
    }
    if (++be->window_count > SV_RESTART_MAX) {
        be->link_down = 1;
        sv_report(be, &d, "; it died too often, the link stays down");
        return;
    }
    sv_report(be, &d, "; restarting it");
    sv_new_generation(be);
    if (sv_spawn(be, DOMAIN_LINK, &be->linkd, 0) != 0) {
        be->link_down = 1;
        fprintf(stderr, "moat: moat-linkd could not be restarted; the link stays down\n");
        return;
    }
    pthread_mutex_lock(&be->lock);
    be->restarts++;
    pthread_mutex_unlock(&be->lock);
}

static void sv_check_broken(struct moat_backend *be)
{
    if (be->linkd.pidfd < 0)
        return;
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        const struct linkring_hdr *h = linkring_hdr(f->base);
        /* Only a verdict about the current link domain counts: right after
         * a restart the flag still describes the old one until the net
         * side has reset the rings for our generation (it clears
         * net_broken before it stores net_ack, release; acquire here). */
        if (atomic_load_explicit(&h->net_ack, memory_order_acquire) != f->gen)
            continue;
        if (atomic_load_explicit(&h->net_broken, memory_order_relaxed)) {
            fprintf(stderr, "moat: moat-netd cut off interface %u (impossible ring index from "
                    "moat-linkd); killing moat-linkd\n", i);
            sv_kill(&be->linkd);
            return;
        }
    }
}

void *sv_watch(void *arg)
{
    struct moat_backend *be = arg;
    for (;;) {
        struct pollfd p[3];
        int n = 0, ni = -1, li = -1;
        p[n].fd = be->ctl_efd;
        p[n++].events = POLLIN;
        if (be->netd.pidfd >= 0) {
            ni = n;
            p[n].fd = be->netd.pidfd;
            p[n++].events = POLLIN;
        }
        if (be->linkd.pidfd >= 0) {
            li = n;
            p[n].fd = be->linkd.pidfd;
            p[n++].events = POLLIN;
        }
        for (int k = 0; k < n; k++)
            p[k].revents = 0;
        int r = poll(p, (nfds_t)n, SV_WATCH_PERIOD_MS);
        if (r < 0 && errno != EINTR)
            continue;
        if (p[0].revents)
            return NULL;
        if (ni >= 0 && p[ni].revents)
            sv_netd_died(be);
        if (li >= 0 && p[li].revents && be->linkd.pidfd >= 0)
            sv_linkd_died(be);
        sv_check_broken(be);
    }
}

