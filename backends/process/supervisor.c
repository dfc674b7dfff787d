/* SPDX-License-Identifier: MIT */
/*
 * The supervisor of the factored backends (process and seccomp), inside
 * libmoat in the application process: it creates the shared regions
 * (memfd), opens the TAP devices the configuration names, starts
 * moat-netd and moat-linkd by fork + execve with only the descriptors of
 * domain.h, and watches them through pidfds from one thread:
 *
 *  - moat-netd dies: every call on the stack fails with MOAT_E_DEAD at once
 *    (moat_stack_mark_dead wakes every waiter), the link domain is stopped,
 *    and the death is reported (stderr line, moat_supervisor_last_death).
 *  - moat-linkd dies: it is reaped, the link rings move to a new generation
 *    (see linkring.h: the net side takes its transmit buffers back and
 *    resets the rings), and a new moat-linkd is started on the same device.
 *    The application does not notice; TCP retransmits what was lost.
 *    More than SV_RESTART_MAX deaths within SV_RESTART_WINDOW_US leave the
 *    link down (reported) instead of restarting forever.
 *  - the net side reports a broken link ring (impossible indices): the
 *    link domain is killed, and so restarted.
 *
 * Where the domain executables are looked up, first match wins (both
 * moat-netd and moat-linkd must be there and executable):
 *   1. $MOAT_DOMAIN_DIR
 *   2. $MOAT_BUILD_DIR (the test suite sets it to the build tree)
 *   3. the build tree libmoat was compiled in (MOAT_BUILD_DIR)
 *   4. the install location (MOAT_LIBEXECDIR, e.g. /usr/local/libexec/moat)
 *
 * This file: moat_be_open / moat_be_close (regions, devices, first start,
 * teardown). Starting one domain is supervisor_spawn.c, the watcher
 * thread supervisor_watch.c, death reports, the confinement report and
 * the queries supervisor_diag.c (supervisor_priv.h lists them).
 *
 * Does not contain the domains' loops (netd.c, link/linkd.c), confinement
 * (confine_*.c) or the socket API (app/client.c).
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

/* ---- open / close ------------------------------------------------------- */

static int sv_links_up(struct moat_backend *be)
{
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind != DOMAIN_IF_NONE &&
            !atomic_load_explicit(&linkring_hdr(f->base)->link_up, memory_order_acquire))
            return 0;
    }
    return 1;
}

/* The error a link domain left before it exited, or MOAT_E_IO. */
static int sv_link_error(struct moat_backend *be)
{
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        int e = atomic_load(&linkring_hdr(f->base)->link_err);
        /* Written by the link domain: only a known code is passed on. */
        if (e < 0 && e > MOAT_E_MIN_)
            return e;
    }
    return MOAT_E_IO;
}

static int sv_wait_ready(struct moat_backend *be)
{
    struct moat_stack *st = be->st;
    uint64_t end = sv_now_us() + SV_READY_TIMEOUT_US;
    while (!atomic_load_explicit(&st->hdr->net_ready, memory_order_acquire) ||
           (be->need_linkd && !sv_links_up(be))) {
        struct pollfd p[2] = { { .fd = be->netd.pidfd, .events = POLLIN },
                               { .fd = be->linkd.pidfd, .events = POLLIN } };
        if (poll(p, be->linkd.pidfd >= 0 ? 2 : 1, 1) > 0) {
            struct moat_domain_death d;
            if (p[0].revents) {
                sv_reap(be, &be->netd, MOAT_DOMAIN_NETD, &d);
                sv_report(be, &d, " while starting");
                return MOAT_E_IO;
            }
            sv_reap(be, &be->linkd, MOAT_DOMAIN_LINKD, &d);
            int e = sv_link_error(be);
            /* The device's own error (ADDRINUSE, PERM, ...) is the answer;
             * the usual line on stderr is noise then. */
            if (e == MOAT_E_IO)
                sv_report(be, &d, " while starting");
            return e;
        }
        if (sv_now_us() > end) {
            fprintf(stderr, "moat: the domains did not attach within %u s\n",
                    SV_READY_TIMEOUT_US / 1000000u);
            return MOAT_E_IO;
        }
    }
    return 0;
}

static void sv_release(struct moat_stack *st, struct moat_backend *be)
{
    if (be->watcher_on) {
        wake_doorbell(be->ctl_efd);
        pthread_join(be->watcher, NULL);
        be->watcher_on = 0;
    }
    if (be->netd.pidfd >= 0 && st->hdr) {
        atomic_store_explicit(&st->hdr->stop, 1, memory_order_release);
        /* Unconditionally: it may be between its re-check and ppoll(). */
        atomic_thread_fence(memory_order_seq_cst);
        atomic_store_explicit(&st->hdr->net_sleeping, 0, memory_order_relaxed);
        wake_doorbell(st->net_efd);
        sv_stop_child(be, &be->netd, SV_STOP_NETD_MS);
    }
    atomic_store(&be->netd_alive, 0);
    /* The link domain last: it sends the net domain's final RSTs. */
    if (be->linkd.pidfd >= 0) {
        for (unsigned i = 0; i < be->n_ifs; i++) {
            struct sv_if *f = &be->ifs[i];
            if (f->kind == DOMAIN_IF_NONE || !f->base)
                continue;
            atomic_store_explicit(&linkring_hdr(f->base)->stop, 1, memory_order_release);
            linkring_bell_ring(f->link_bell);
        }
        sv_stop_child(be, &be->linkd, SV_STOP_LINKD_MS);
    }
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->base)
            munmap(f->base, f->lay.size);
        if (f->frames_fd >= 0)
            close(f->frames_fd);
        if (f->net_bell >= 0)
            close(f->net_bell);
        if (f->link_bell >= 0)
            close(f->link_bell);
        if (f->dev_fd >= 0)
            close(f->dev_fd);
    }
    moat_stack_release_region(st);
    if (be->netd.status_fd >= 0)
        close(be->netd.status_fd);
    if (be->linkd.status_fd >= 0)
        close(be->linkd.status_fd);
    if (be->region_fd >= 0)
        close(be->region_fd);
    if (be->boot_fd >= 0)
        close(be->boot_fd);
    if (be->devnull >= 0)
        close(be->devnull);
    if (be->ctl_efd >= 0)
        close(be->ctl_efd);
    pthread_mutex_destroy(&be->lock);
    free(be);
    st->be = NULL;
}

static int sv_open_ifs(struct moat_backend *be)
{
    const struct moat_config *cfg = &be->st->cfg;
    be->n_ifs = cfg->n_ifs;
    for (unsigned i = 0; i < cfg->n_ifs; i++) {
        const struct moat_if_config *ifc = &cfg->ifs[i];
        struct sv_if *f = &be->ifs[i];
        struct linkring_geom g;
        int r;
        switch (ifc->link) {
        case MOAT_LINK_NONE:
            f->kind = DOMAIN_IF_NONE;
            continue;
        case MOAT_LINK_TAP:
            f->kind = DOMAIN_IF_TAP;
            /* Opened here, with the application's privileges; the link
             * domain only ever gets the descriptor. */
            r = moat_tap_open_opts(ifc->dev, !ifc->no_offload, &f->dev_fd);
            if (r != 0)
                return r;
            break;
        case MOAT_LINK_WIRE:
            f->kind = DOMAIN_IF_WIRE;
            break;
        default:
            /* A link object lives in this process's memory: it cannot be
             * driven from another domain. Refused at open, and said so:
             * MOAT_E_NOTSUP alone does not tell the caller which part of
             * the configuration to change. */
            fprintf(stderr, "moat: interface %u: MOAT_LINK_CUSTOM (a link object in the "
                    "application's memory) works only in the thread backend, not in the %s "
                    "backend, whose link domain is another process\n", i, MOAT_BACKEND_NAME);
            return MOAT_E_NOTSUP;
        }
        be->need_linkd = 1;
        if (f->kind == DOMAIN_IF_TAP && moat_tap_offloaded(f->dev_fd)) {
            /* Receive offload: the kernel hands up TCP segments of up to
             * 64 KiB, and the link domain passes them on whole. The
             * buffers are 128 KiB; a page of one becomes resident only
             * when a frame reaches it (tap.c, docs/performance.md). */
            linkring_geom_for_frame(MOAT_TAP_FRAME_MAX, DOMAIN_LINK_BUFS, &g);
            /* ... and transmit: the net domain joins segments into GSO
             * frames, which the link domain writes whole. */
            g.flags |= LINKRING_GEOM_TX_GSO;
            /* ... from where it lies: the room in front of every transmit
             * frame takes the virtio-net header (linkd_tx). */
            g.flags |= LINKRING_GEOM_TX_HEAD;
        } else {
            linkring_geom_for_mtu(ifc->mtu ? ifc->mtu : 1500, DOMAIN_LINK_BUFS, &g);
        }
        r = linkring_layout(&g, &f->lay);
        if (r != 0)
            return r;
        r = sv_memfd("moat-frames", f->lay.size, &f->frames_fd, &f->base);
        if (r != 0) {
            f->frames_fd = -1;
            f->base = NULL;
            return r;
        }
        linkring_region_init(f->base, &f->lay);
        f->gen = 1;             /* what linkring_region_init wrote */
        f->net_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        f->link_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (f->net_bell < 0 || f->link_bell < 0)
            return MOAT_E_IO;
    }
    return 0;
}

int moat_be_open(struct moat_stack *st)
{
    struct moat_backend *be = calloc(1, sizeof *be);
    int r;

    if (!be)
        return MOAT_E_NOMEM;
    be->st = st;
    st->be = be;
    st->net_efd = -1;
    be->region_fd = be->boot_fd = be->ctl_efd = -1;
    be->netd.pidfd = be->linkd.pidfd = -1;
    be->netd.status_fd = be->linkd.status_fd = -1;
    be->netd.kmsg_fd = be->linkd.kmsg_fd = -1;
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++) {
        be->ifs[i].frames_fd = be->ifs[i].net_bell = be->ifs[i].link_bell = -1;
        be->ifs[i].dev_fd = -1;
    }
    pthread_mutex_init(&be->lock, NULL);
    be->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    be->ctl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (be->devnull < 0 || be->ctl_efd < 0) {
        r = MOAT_E_IO;
        goto fail;
    }
    r = sv_find_dir(be);
    if (r != 0)
        goto fail;

    /* The socket region: shared with moat-netd only. */
    st->region_size = st->lay.size;
    r = sv_memfd("moat-region", st->region_size, &be->region_fd, &st->region);
    if (r != 0) {
        st->region = NULL;
        goto fail;
    }
    moat_region_init(st->region, &st->lay);
    st->hdr = moat_region_hdr(st->region);
    st->net_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->net_efd < 0) {
        r = MOAT_E_IO;
        goto fail;
    }

    r = sv_open_ifs(be);
    if (r == 0)
        r = sv_write_boot(be);
    if (r != 0)
        goto fail;

    r = sv_spawn(be, DOMAIN_NET, &be->netd, 1);
    if (r != 0)
        goto fail;
    atomic_store(&be->netd_alive, 1);
    if (be->need_linkd) {
        r = sv_spawn(be, DOMAIN_LINK, &be->linkd, 1);
        if (r != 0)
            goto fail;
    }

    /* Wait for moat-netd to attach (pairs with the store-release of
     * net_ready in netloop_init) and moat-linkd to attach its devices (the
     * store-release of link_up in linkd.c), so that moat_stack_open answers
     * as the thread backend does. A death ends the wait at once. */
    r = sv_wait_ready(be);
    if (r != 0)
        goto fail;
    /* Each domain reports its confinement just before its filter goes
     * on; one line says what is on (once per process and description). */
    sv_read_status(&be->netd);
    sv_read_status(&be->linkd);
    sv_log_layers(be);

    /* The watcher takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&be->watcher, NULL, sv_watch, be);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        r = MOAT_E_NOMEM;
        goto fail;
    }
    be->watcher_on = 1;
    return 0;

fail:
    sv_release(st, be);
    return r;
}

void moat_be_close(struct moat_stack *st)
{
    if (st && st->be)
        sv_release(st, st->be);
}

int moat_be_alive(struct moat_stack *st)
{
    return st && st->be && atomic_load_explicit(&st->be->netd_alive, memory_order_acquire);
}

