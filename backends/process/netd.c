/* SPDX-License-Identifier: MIT */
/*
 * moat-netd: the network domain of the factored backends. It maps the
 * socket region and one frame region per interface (descriptors at the
 * fixed numbers of domain.h), makes the net side of each link ring a
 * struct moat_link, confines itself, and runs the shared netloop until the
 * application sets hdr->stop. All protocol state lives here.
 *
 * Does not open anything by name: every resource arrives as a descriptor.
 * Does not contain protocol logic (core/) or the loop (netloop.c).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "link/linkring.h"
#include "net/links.h"
#include "net/netloop.h"
#include "confine.h"
#include "domain_priv.h"

#define WHO "moat-netd"

static int netd_parent_fd = -1;     /* pidfd of the application */

static void netd_try(unsigned what)
{
    domain_attempt(WHO, what);
}

static struct moat_region_hdr *netd_hdr;  /* set once the region is mapped */

/* The application died without closing the stack: nobody is left to
 * serve, and nobody would ever reap us. Its pidfd says so: the loop
 * watches it while it sleeps (netloop_set_watch_fd), and looks at it
 * once more each time it is about to sleep (getppid() is not in the
 * filter). Either way the loop ends through its normal shutdown, which
 * resets every connection (RST to each peer) and flushes the links; main
 * then asks the link domain to send those frames and leave. Writing the
 * region's stop word is ours to do here: its only other writer is gone. */
static void netd_idle(void)
{
    if (netd_hdr && domain_parent_gone(netd_parent_fd))
        atomic_store_explicit(&netd_hdr->stop, 1, memory_order_release);
}

int main(int argc, char **argv)
{
    struct domain_boot boot;
    struct moat_layout lay;
    struct moat_link *links[MOAT_MAX_IFS] = { 0 };
    void *frames[MOAT_MAX_IFS] = { 0 };     /* each link's frame region, or NULL */
    struct confine_fds fds = { .n_rd = 0, .n_wr = 0, .last_call = NULL };
    struct netloop nl;
    void *region;
    int r;

    (void)argv;
    if (domain_boot_up(WHO, argc, &boot, &netd_parent_fd) != 0)
        return DOMAIN_EXIT_SETUP;
    r = moat_layout_compute(&boot.geom, &lay);
    if (r != 0 || lay.size != boot.region_size) {
        domain_log(WHO, "socket region geometry rejected");
        return DOMAIN_EXIT_SETUP;
    }
    region = domain_map(DOMAIN_FD_REGION, lay.size);
    if (!region || moat_region_check(region, lay.size, &lay) != 0) {
        domain_log(WHO, "socket region does not match its geometry");
        return DOMAIN_EXIT_SETUP;
    }
    close(DOMAIN_FD_REGION);     /* the mapping is all we need */

    fds.keep[fds.n_keep++] = netd_parent_fd;
    fds.rd[fds.n_rd++] = DOMAIN_FD_NETEFD;
    fds.wr[fds.n_wr++] = 2;
    for (unsigned i = 0; i < boot.cfg.n_ifs; i++) {
        const struct domain_boot_if *bi = &boot.ifs[i];
        uint16_t mtu = boot.cfg.ifs[i].mtu;
        if (bi->kind == DOMAIN_IF_NONE) {
            /* A device that never receives: its wait fd (an eventfd nobody
             * writes) lets the loop sleep, so it must survive confinement. */
            r = links_null(mtu, &links[i]);
            if (r == 0 && links[i]->ops->wait_fd && links[i]->ops->wait_fd(links[i]) >= 0)
                fds.rd[fds.n_rd++] = links[i]->ops->wait_fd(links[i]);
        } else {
            struct linkring_layout ll;
            void *fr = NULL;
            r = linkring_layout(&bi->geom, &ll);
            if (r == 0 && ll.size != bi->size)
                r = MOAT_E_PEER;
            if (r == 0) {
                fr = domain_map(DOMAIN_FD_FRAMES(i), ll.size);
                r = fr ? 0 : MOAT_E_PEER;
            }
            close(DOMAIN_FD_FRAMES(i));
            if (r == 0) {
                /* Takes both bells. The frame region stays mapped for the
                 * life of the process. */
                r = linkring_net_link(fr, ll.size, &ll, DOMAIN_FD_NETBELL(i),
                                      DOMAIN_FD_LINKBELL(i), mtu, &links[i]);
            }
            if (r == 0) {
                frames[i] = fr;
                if (!fds.last_call)
                    fds.last_call = &linkring_hdr(fr)->last_call_net;
                fds.rd[fds.n_rd++] = DOMAIN_FD_NETBELL(i);
                fds.wr[fds.n_wr++] = DOMAIN_FD_LINKBELL(i);
                if (boot.flags & DOMAIN_BOOT_TEST_HOOKS)
                    linkring_net_set_try(links[i], netd_try);
                linkring_net_set_idle(links[i], netd_idle);
            }
        }
        if (r != 0) {
            domain_log(WHO, "interface %u: %s", i, moat_strerror(r));
            for (unsigned k = 0; k < i; k++)
                links[k]->ops->close(links[k]);
            return DOMAIN_EXIT_SETUP;
        }
    }

    /* Takes the links even on failure. */
    r = netloop_init(&nl, &boot.cfg, region, &lay, links, boot.cfg.n_ifs, DOMAIN_FD_NETEFD);
    if (r != 0) {
        domain_log(WHO, "cannot start the protocol core: %s", moat_strerror(r));
        return DOMAIN_EXIT_SETUP;
    }
    netd_hdr = nl.hdr;
    netloop_set_watch_fd(&nl, netd_parent_fd);
    /* Before the first frame or request is read. */
    fds.boot_flags = boot.flags;
    r = confine_domain(DOMAIN_NET, &fds);
    if (r != 0)
        _exit(DOMAIN_EXIT_CONFINE);
    r = netloop_run(&nl);
    if (netloop_watch_fired(&nl) || domain_parent_gone(netd_parent_fd)) {
        /* Orphaned: netloop_run has queued the RSTs on the links. The
         * link domain, which saw the application go too, waits a bounded
         * time for this word before its final flush (link/linkd.c), so the
         * RSTs reach the wire instead of dying with it. */
        for (unsigned i = 0; i < boot.cfg.n_ifs; i++)
            if (frames[i])
                atomic_store_explicit(&linkring_hdr(frames[i])->stop, 1, memory_order_release);
    }
    /* No netloop_fini: it would close descriptors and free memory, calls
     * the filter refuses; the exit releases all of it. netloop_run has
     * already sent the final segments and woken the application. */
    atomic_store_explicit(&nl.hdr->net_ready, 0, memory_order_release);
    _exit(r == 0 ? DOMAIN_EXIT_OK : DOMAIN_EXIT_RUN);
}
