/* SPDX-License-Identifier: MIT */
/*
 * The monolithic backend: the network domain is one thread of the
 * application, running the shared loop (net/netloop.c) over a
 * socket region in this process's memory. Everything crosses the boundary
 * exactly as in the factored backends (same region layout, same rings,
 * same messages, same futex and eventfd), so a program behaves the same
 * under every backend; only the isolation is missing.
 *
 * Owns: creating the region, the doorbell, the links, and the net thread;
 * stopping and reaping them. Does not own the socket API (client.c) or the
 * loop (netloop.c).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "net/links.h"
#include "net/netloop.h"
#include "app/stack.h"
#include "app/wake.h"

struct moat_backend {
    struct netloop nl;
    struct moat_stack *st;
    pthread_t thr;
    _Atomic int exited;     /* the net thread has left netloop_run */
    int result;             /* what netloop_run returned */
};

static void *thread_net_main(void *arg)
{
    struct moat_backend *be = arg;

    be->result = netloop_run(&be->nl);
    atomic_store_explicit(&be->exited, 1, memory_order_release);
    /* Leaving without being asked to is a dead network domain: every
     * waiting application thread must learn it now, not hang. */
    if (!atomic_load_explicit(&be->st->hdr->stop, memory_order_acquire))
        moat_stack_mark_dead(be->st);
    return NULL;
}

static void thread_release(struct moat_stack *st, struct moat_backend *be)
{
    if (st->region && st->region != MAP_FAILED)
        munmap(st->region, st->region_size);
    st->region = NULL;
    st->region_size = 0;
    st->hdr = NULL;
    if (st->net_efd >= 0)
        close(st->net_efd);
    st->net_efd = -1;
    free(be);
    st->be = NULL;
}

int moat_be_open(struct moat_stack *st)
{
    struct moat_link *links[MOAT_MAX_IFS];
    struct moat_backend *be;
    sigset_t all, old;
    int r;

    be = calloc(1, sizeof(*be));
    if (!be)
        return MOAT_E_NOMEM;
    be->st = st;
    st->be = be;
    st->net_efd = -1;

    /* MAP_SHARED even here, so the futex code is the same (shared) kind
     * as in the factored backends. Anonymous memory starts zeroed.
     * MAP_NORESERVE: the region is address space reserved for every
     * slot's rings (65,536 slots of 2 x 256 KiB are 32 GiB), memory is
     * taken only for pages a connection touches, as with the factored
     * backends' memfd. */
    st->region_size = st->lay.size;
    st->region = mmap(NULL, st->region_size, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (st->region == MAP_FAILED) {
        st->region = NULL;
        thread_release(st, be);
        return MOAT_E_NOMEM;
    }
    moat_region_init(st->region, &st->lay);
    st->hdr = moat_region_hdr(st->region);

    st->net_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->net_efd < 0) {
        thread_release(st, be);
        return MOAT_E_IO;
    }

    r = links_open_all(&st->cfg, links);
    if (r != 0) {
        thread_release(st, be);
        return r;
    }
    /* netloop_init takes the links, even when it fails. */
    r = netloop_init(&be->nl, &st->cfg, st->region, &st->lay, links, st->cfg.n_ifs,
                     st->net_efd);
    if (r != 0) {
        thread_release(st, be);
        return r;
    }

    /* The net thread takes no signals: the application's handlers run on
     * its own threads, as they would with any other backend. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&be->thr, NULL, thread_net_main, be);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        netloop_fini(&be->nl);
        thread_release(st, be);
        return MOAT_E_NOMEM;
    }

    /* netloop_init publishes net_ready before it returns; pairs with its
     * store-release. */
    if (!atomic_load_explicit(&st->hdr->net_ready, memory_order_acquire)) {
        moat_be_close(st);
        return MOAT_E_IO;
    }
    return 0;
}

void moat_be_close(struct moat_stack *st)
{
    struct moat_backend *be = st ? st->be : NULL;

    if (!be)
        return;
    atomic_store_explicit(&st->hdr->stop, 1, memory_order_release);
    /* Ring unconditionally: the loop may be between its re-check and
     * ppoll(), or spinning; a spurious doorbell costs nothing. */
    atomic_thread_fence(memory_order_seq_cst);
    atomic_store_explicit(&st->hdr->net_sleeping, 0, memory_order_relaxed);
    wake_doorbell(st->net_efd);
    pthread_join(be->thr, NULL);
    netloop_fini(&be->nl);
    thread_release(st, be);
}

int moat_be_alive(struct moat_stack *st)
{
    struct moat_backend *be = st ? st->be : NULL;
    return be && !atomic_load_explicit(&be->exited, memory_order_acquire);
}
