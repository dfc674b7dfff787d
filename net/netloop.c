/* SPDX-License-Identifier: MIT */
/*
 * The network domain's main loop, shared by every hosted backend: it
 * drains the links in batches, runs the core (mcore_poll answers the ctl
 * ring, moves socket data, fires timers), flushes the links once per
 * round, wakes the application once per round, and sleeps when nothing is
 * left to do. No protocol logic lives here (core/), and nothing about how
 * the loop is started or confined (backends/<name>/).
 *
 * Sleeping without losing a wake-up. Work reaches us from three places:
 *  - links: a frame arrives (each link's arm() + wait_fd cover it);
 *  - the application: it publishes a ring index (ctl prod, a socket's tx
 *    prod, or a socket's rx cons, which opens the receive window);
 *  - time: the core's next deadline, a link's held-back frame.
 * Before sleeping we store net_sleeping = 1, issue a seq_cst fence, and
 * re-read every index the application writes. The application publishes
 * its index (release), issues a seq_cst fence, then exchanges
 * net_sleeping to 0 and rings our eventfd if it was 1. By the two fences
 * at least one side sees the other's store: either our re-read sees the
 * new index (we do not sleep), or the application sees net_sleeping == 1
 * (it rings the doorbell and poll() returns).
 *
 * "Re-read every index" is a cheap signature: a mix of ctl prod and, per
 * socket slot, tx prod and rx cons. It is taken before each mcore_poll, so
 * anything published after that poll started shows up as a change. An
 * application that gives dirty hints (core/boundary.h, moat_dirty_mark:
 * the client library does) marks the socket before its fence, so the
 * re-check reads the few summary words instead of every slot: a mark the
 * core has not taken is work, whatever the signature says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/netloop.h"
#include "app/wake.h"
#include "ports/linux/linux_port.h"

#define NETLOOP_RX_BATCH      64u        /* frames per link per round */
#define NETLOOP_MAX_SLEEP_US  1000000u   /* backstop: never sleep longer */
#define NETLOOP_FDLESS_US     1000u      /* poll period of links without a wait fd */
#define NETLOOP_BEAT_US       10000u     /* hdr->net_beat moves at least this often while awake */

static void netloop_flush(struct netloop *nl)
{
    for (unsigned i = 0; i < nl->n_links; i++)
        if (nl->links[i]->ops->flush)
            nl->links[i]->ops->flush(nl->links[i]);
}

/* Signature of everything the application may have published. The
 * loads are acquire so that the core, running after a changed signature,
 * sees the data behind the index (it re-loads with acquire anyway). */
static uint64_t netloop_sig(const struct netloop *nl)
{
    const uint8_t *b = nl->region;
    const struct moat_ring_sh *ctl = (const struct moat_ring_sh *)(b + nl->lay.off_ctl_sh);
    const struct moat_ring_sh *evt = (const struct moat_ring_sh *)(b + nl->lay.off_evt_sh);
    uint64_t h = atomic_load_explicit(&ctl->prod, memory_order_acquire);

    /* evt cons matters when the evt ring was full and a RESP waits. */
    h = h * 0x9e3779b97f4a7c15ull + atomic_load_explicit(&evt->cons, memory_order_acquire);
    /* With dirty hints the marks say which sockets moved (and
     * netloop_pending sees marks the core has not taken yet): no walk
     * over the slots. */
    if (atomic_load_explicit(&nl->hdr->dirty_hints, memory_order_acquire))
        return h;
    /* Only slots the core has ever handed out: the application holds no
     * handle above mcore_sock_span(), so no honest index changes there. */
    uint32_t span = mcore_sock_span(nl->core);
    if (span > nl->lay.g.max_sockets)
        span = nl->lay.g.max_sockets;
    for (uint32_t i = 0; i < span; i++) {
        const struct moat_sock_sh *s = moat_region_sock(nl->region, &nl->lay, i);
        h = h * 0x9e3779b97f4a7c15ull + atomic_load_explicit(&s->tx.prod, memory_order_acquire);
        h = h * 0x9e3779b97f4a7c15ull + atomic_load_explicit(&s->rx.cons, memory_order_acquire);
    }
    return h;
}

/* Marks the application set that no mcore_poll has taken yet. */
static int netloop_pending(const struct netloop *nl)
{
    return atomic_load_explicit(&nl->hdr->dirty_hints, memory_order_acquire) &&
           moat_dirty_pending(nl->region, &nl->lay);
}

/* Hand up to a batch of received frames per link to the core. */
static unsigned netloop_rx(struct netloop *nl, uint64_t now)
{
    unsigned total = 0;

    for (unsigned i = 0; i < nl->n_links; i++) {
        struct moat_link *l = nl->links[i];
        for (unsigned n = 0; n < NETLOOP_RX_BATCH; n++) {
            const uint8_t *frame;
            size_t len;
            if (l->ops->rx_acquire(l, &frame, &len) != 0)
                break;
            mcore_input_flags(nl->core, i, frame, len, l->rx_flags, now);
            l->ops->rx_release(l);
            total++;
        }
    }
    return total;
}

static void netloop_wake_app(struct netloop *nl)
{
    if (mcore_take_app_wakeup(nl->core))
        wake_app(nl->hdr);
}

static int netloop_stopping(const struct netloop *nl)
{
    return nl->watch_fired || atomic_load_explicit(&nl->hdr->stop, memory_order_acquire) != 0;
}

/* The heartbeat the application's stall check reads (hdr->net_beat).
 * Stored at most once per NETLOOP_BEAT_US, so the shared cache line is
 * written ~100 times a second at most, not once per round; and at once
 * after a sleep (the sleep itself lasts at most NETLOOP_MAX_SLEEP_US). */
static void netloop_beat(struct netloop *nl, uint64_t now, int force)
{
    if (!force && now - nl->beat_us < NETLOOP_BEAT_US)
        return;
    nl->beat_us = now;
    atomic_store_explicit(&nl->hdr->net_beat, ++nl->beat, memory_order_relaxed);
}

void netloop_set_watch_fd(struct netloop *nl, int fd)
{
    nl->watch_fd = fd;
}

int netloop_watch_fired(const struct netloop *nl)
{
    return nl->watch_fired;
}

int netloop_init(struct netloop *nl, const struct moat_config *cfg, void *region,
                 const struct moat_layout *lay, struct moat_link **links,
                 unsigned n_links, int efd)
{
    struct mcore_env env;
    size_t size;
    int r;

    memset(nl, 0, sizeof(*nl));
    nl->efd = efd;
    nl->watch_fd = -1;
    if (!cfg || !region || !lay || !links || n_links == 0 || n_links > MOAT_MAX_IFS ||
        n_links != cfg->n_ifs) {
        r = MOAT_E_INVAL;
        goto fail_links;
    }
    for (unsigned i = 0; i < n_links; i++) {
        if (!links[i]) {
            r = MOAT_E_INVAL;
            goto fail_links;
        }
        nl->links[i] = links[i];
    }
    nl->n_links = n_links;
    nl->region = region;
    nl->lay = *lay;
    nl->hdr = moat_region_hdr(region);
    nl->spin_us = cfg->spin_us;

    size = mcore_mem_size(cfg);
    if (size == 0) {
        r = MOAT_E_INVAL;
        goto fail_links;
    }
    size = (size + 63) & ~(size_t)63;   /* aligned_alloc wants a multiple */
    nl->core_mem = aligned_alloc(64, size);
    if (!nl->core_mem) {
        r = MOAT_E_NOMEM;
        goto fail_links;
    }
    memset(nl->core_mem, 0, size);

    memset(&env, 0, sizeof(env));
    for (unsigned i = 0; i < n_links; i++)
        env.links[i] = links[i];
    env.rng = moat_host_random;
    env.rng_ctx = NULL;
    env.region = region;
    env.layout = *lay;
    env.ring_release = moat_host_ring_release;
    r = mcore_init(nl->core_mem, size, cfg, &env, &nl->core);
    if (r != 0)
        goto fail_mem;

    mcore_arp_announce(nl->core, moat_host_now_us());
    netloop_flush(nl);
    /* Pairs with the application's acquire load of net_ready. */
    atomic_store_explicit(&nl->hdr->net_ready, 1, memory_order_release);
    return 0;

fail_mem:
    free(nl->core_mem);
    nl->core_mem = NULL;
fail_links:
    /* The links are taken even on failure. */
    for (unsigned i = 0; links && i < n_links && i < MOAT_MAX_IFS; i++)
        if (links[i])
            links[i]->ops->close(links[i]);
    memset(nl->links, 0, sizeof(nl->links));
    nl->n_links = 0;
    nl->core = NULL;
    return r;
}

/* Spin for up to spin_us looking for work. Returns nonzero if some came
 * (or the deadline passed): the caller runs another round. */
static int netloop_spin(struct netloop *nl, uint64_t sig, uint64_t next)
{
    uint64_t now = moat_host_now_us();
    uint64_t end = now + nl->spin_us;

    if (nl->spin_us == 0)
        return 0;
    for (;;) {
        if (netloop_stopping(nl) || netloop_sig(nl) != sig || netloop_pending(nl))
            return 1;
        if (netloop_rx(nl, now) > 0)
            return 1;
        now = moat_host_now_us();
        if (now >= next)
            return 1;
        if (now >= end)
            return 0;
        wake_relax();
    }
}

/* Arm every doorbell, re-check, and sleep until a doorbell, a link fd or
 * the next deadline. */
static int netloop_sleep(struct netloop *nl, uint64_t sig, uint64_t next)
{
    struct pollfd pfd[2 + MOAT_MAX_IFS];
    unsigned nfd = 0;
    uint64_t now, wait_us;
    int busy = 0, r = 0;

    atomic_store_explicit(&nl->hdr->net_sleeping, 1, memory_order_seq_cst);
    /* Pairs with the fence in moat_stack_kick_net(): see the file comment. */
    atomic_thread_fence(memory_order_seq_cst);

    for (unsigned i = 0; i < nl->n_links; i++) {
        struct moat_link *l = nl->links[i];
        if (l->ops->arm && l->ops->arm(l))
            busy = 1;
    }
    if (netloop_stopping(nl) || netloop_sig(nl) != sig || netloop_pending(nl))
        busy = 1;

    now = moat_host_now_us();
    wait_us = NETLOOP_MAX_SLEEP_US;
    if (next != MCORE_NEVER)
        wait_us = next > now ? next - now : 0;
    if (wait_us > NETLOOP_MAX_SLEEP_US)
        wait_us = NETLOOP_MAX_SLEEP_US;

    pfd[nfd].fd = nl->efd;
    pfd[nfd].events = POLLIN;
    nfd++;
    for (unsigned i = 0; i < nl->n_links; i++) {
        struct moat_link *l = nl->links[i];
        int fd = l->ops->wait_fd ? l->ops->wait_fd(l) : -1;
        if (fd >= 0) {
            pfd[nfd].fd = fd;
            pfd[nfd].events = POLLIN;
            nfd++;
        } else if (wait_us > NETLOOP_FDLESS_US) {
            wait_us = NETLOOP_FDLESS_US;
        }
        if (l->ops->next_due_us) {
            int64_t due = l->ops->next_due_us(l, now);
            if (due >= 0 && (uint64_t)due < wait_us)
                wait_us = (uint64_t)due;
        }
    }

    unsigned wi = nfd;
    if (nl->watch_fd >= 0) {
        pfd[nfd].fd = nl->watch_fd;
        pfd[nfd].events = POLLIN;
        pfd[nfd].revents = 0;
        nfd++;
    }

    if (!busy && wait_us > 0) {
        struct timespec ts = { .tv_sec = (time_t)(wait_us / 1000000u),
                               .tv_nsec = (long)(wait_us % 1000000u) * 1000 };
        int n = ppoll(pfd, nfd, &ts, NULL);
        if (n < 0 && errno != EINTR)
            r = MOAT_E_IO;
        if (n > 0 && (pfd[0].revents & POLLIN))
            wake_doorbell_drain(nl->efd);
        if (n > 0 && wi < nfd && pfd[wi].revents != 0)
            nl->watch_fired = 1;
        netloop_beat(nl, moat_host_now_us(), 1);
    }
    /* Awake: applications need not ring the doorbell. */
    atomic_store_explicit(&nl->hdr->net_sleeping, 0, memory_order_relaxed);
    return r;
}

int netloop_run(struct netloop *nl)
{
    uint64_t sig_prev, now, next;
    int r = 0;

    if (!nl || !nl->core)
        return MOAT_E_INVAL;
    sig_prev = ~netloop_sig(nl);   /* the first round is never idle */
    while (!netloop_stopping(nl)) {
        uint64_t sig;
        unsigned frames;

        now = moat_host_now_us();
        netloop_beat(nl, now, 0);
        frames = netloop_rx(nl, now);
        sig = netloop_sig(nl);     /* before the poll reads the rings */
        next = mcore_poll(nl->core, now);
        netloop_flush(nl);
        netloop_wake_app(nl);

        if (frames != 0 || sig != sig_prev || netloop_pending(nl)) {
            sig_prev = sig;
            continue;              /* did work: look again at once */
        }
        now = moat_host_now_us();
        if (next <= now)
            continue;
        if (netloop_spin(nl, sig, next))
            continue;
        r = netloop_sleep(nl, sig, next);
        if (r != 0)
            break;
    }

    now = moat_host_now_us();
    mcore_shutdown(nl->core, now);
    netloop_flush(nl);
    mcore_take_app_wakeup(nl->core);
    wake_app(nl->hdr);             /* whoever still waits sees the end */
    return r;
}

void netloop_fini(struct netloop *nl)
{
    if (!nl)
        return;
    for (unsigned i = 0; i < nl->n_links; i++)
        if (nl->links[i])
            nl->links[i]->ops->close(nl->links[i]);
    memset(nl->links, 0, sizeof(nl->links));
    nl->n_links = 0;
    if (nl->hdr)
        atomic_store_explicit(&nl->hdr->net_ready, 0, memory_order_release);
    free(nl->core_mem);
    nl->core_mem = NULL;
    nl->core = NULL;
}
