/* SPDX-License-Identifier: MIT */
/*
 * The network domain's main loop, shared by every hosted backend (a thread
 * in the thread backend, the whole of moat-netd in the factored ones).
 * It owns one core and its links, and the net side of the socket region.
 */
#ifndef MOAT_NETLOOP_H
#define MOAT_NETLOOP_H

#include "moat/link.h"
#include "moat/moat.h"
#include "core/boundary.h"
#include "core/core.h"

struct netloop {
    struct mcore *core;
    void *core_mem;
    struct moat_link *links[MOAT_MAX_IFS];
    unsigned n_links;
    void *region;
    struct moat_layout lay;
    struct moat_region_hdr *hdr;
    int efd;                    /* our doorbell (eventfd) */
    uint32_t spin_us;
    uint32_t beat;              /* last value stored in hdr->net_beat */
    uint64_t beat_us;           /* when it was stored */
    int watch_fd;               /* -1, or a descriptor that ends the loop when readable */
    int watch_fired;            /* it did: the loop stops as if hdr->stop were set */
};

/* Set up a core over @p region for @p cfg, driving @p links (taken: closed
 * by netloop_fini). Returns 0 or MOAT_E_*. */
int netloop_init(struct netloop *nl, const struct moat_config *cfg, void *region,
                 const struct moat_layout *lay, struct moat_link **links,
                 unsigned n_links, int efd);
/* Also stop (after the same shutdown: RSTs sent, links flushed) when
 * @p fd polls readable, e.g. the application's pidfd in moat-netd: an
 * application that died without closing still gets its peers reset.
 * The descriptor is watched while the loop sleeps. -1: none (default). */
void netloop_set_watch_fd(struct netloop *nl, int fd);
/* Nonzero if the loop ended because the watched descriptor fired. */
int netloop_watch_fired(const struct netloop *nl);
/* Run until the application sets hdr->stop. Returns 0 or MOAT_E_*. */
int netloop_run(struct netloop *nl);
void netloop_fini(struct netloop *nl);

#endif
