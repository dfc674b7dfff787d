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
};

/* Set up a core over @p region for @p cfg, driving @p links (taken: closed
 * by netloop_fini). Returns 0 or MOAT_E_*. */
int netloop_init(struct netloop *nl, const struct moat_config *cfg, void *region,
                 const struct moat_layout *lay, struct moat_link **links,
                 unsigned n_links, int efd);
/* Run until the application sets hdr->stop. Returns 0 or MOAT_E_*. */
int netloop_run(struct netloop *nl);
void netloop_fini(struct netloop *nl);

#endif
