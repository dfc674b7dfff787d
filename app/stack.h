/* SPDX-License-Identifier: MIT */
/*
 * The application side of a stack, shared by every backend: the client of
 * the socket region (app/client*.c implement the public socket
 * API on it) and the hooks each backend provides to create the region and
 * start, watch and stop the network domain.
 */
#ifndef MOAT_STACK_H
#define MOAT_STACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "moat/moat.h"
#include "moat/socket.h"
#include "core/boundary.h"

/* What the application remembers about one slot (private memory). */
struct app_sock {
    uint32_t handle;            /* 0: not ours */
    uint8_t type;
    uint8_t nonblock;
    uint32_t rcvtimeo_ms, sndtimeo_ms;
    struct moat_ring rx;        /* we consume */
    struct moat_ring tx;        /* we produce */
    struct moat_addr peer;      /* UDP: default destination set by connect */
    uint32_t sndbuf;            /* send ring bytes we may fill (MOAT_OPT_SNDBUF) */
    uint16_t watch;             /* moat_watch events; 0: not watched */
    void *watch_user;           /* moat_watch's user pointer */
    uint32_t rx_view;           /* zero-copy: bytes viewed, not yet released */
    uint32_t tx_view;           /* zero-copy: bytes of send room viewed, not yet committed */
};

struct moat_backend;            /* defined by each backend */

struct moat_stack {
    void *region;
    size_t region_size;
    struct moat_layout lay;     /* private copy: never re-read from shm */
    struct moat_region_hdr *hdr;
    struct moat_ring ctl;       /* we produce requests */
    struct moat_ring evt;       /* we consume completions */
    pthread_mutex_t lock;       /* ctl/evt rings, socks[], next_id */
    uint32_t next_id;
    int net_efd;                /* doorbell of the network domain */
    _Atomic int dead;           /* net domain gone: every call fails with MOAT_E_DEAD */
    /* The net domain's heartbeat as last seen by a waiting call: the
     * value of hdr->net_beat in the high half, the host time in ms (low
     * bit forced to 1) when it was first seen in the low half; 0: none
     * yet. One word so that every waiting thread reads a consistent pair
     * (cl_stall_check in client.c). */
    _Atomic uint64_t beat_seen;
    _Atomic uint32_t beat_checked;  /* host ms (| 1) of the last such look; 0: none */
    struct app_sock *socks;     /* lay.g.max_sockets entries */
    struct moat_config cfg;
    struct moat_backend *be;
    /* moat_poll_ready's candidates (under lock): slots taken from the
     * ready hints or reported last time, each at most once (ready_in). */
    uint32_t *ready_cand, *ready_next;
    uint8_t *ready_in;
    uint32_t n_ready_cand;
    /* Posted requests (under lock; client.c, cl_post): sent without
     * waiting for their RESP, which the next request collects. posted:
     * how many RESPs are still due; posted_id: the id of the oldest. */
    uint32_t posted;
    uint32_t posted_id;
    uint64_t ctl_waited, ctl_posted, ctl_posted_errors;  /* moat_stats */
};

/*
 * Backend hooks (one backend is linked into libmoat).
 *
 * moat_be_open: create the region (st->region, st->region_size, already
 * laid out with moat_region_init for st->lay), the doorbell st->net_efd,
 * open the links the config asks for and start the network domain; return
 * once it has attached (hdr->net_ready). Returns 0 or a MOAT_E_* code, with
 * nothing left behind on failure.
 *
 * moat_be_close: ask the domain to stop (hdr->stop + doorbell), wait for it,
 * release everything moat_be_open made.
 *
 * moat_be_watch: nonzero while the network domain is alive (the factored
 * backends' supervisor also sets st->dead and wakes waiters by itself).
 */
int moat_be_open(struct moat_stack *st);
void moat_be_close(struct moat_stack *st);
int moat_be_alive(struct moat_stack *st);

/* Unmap st->region (if mapped) and close st->net_efd (if open), leaving
 * both unset: the end of every backend's teardown (app/stack_region.c). */
void moat_stack_release_region(struct moat_stack *st);

/* Client helpers the backends use. */
void moat_stack_kick_net(struct moat_stack *st);   /* ring net doorbell if asleep */
void moat_stack_mark_dead(struct moat_stack *st);  /* set dead, wake every waiter */

#endif
