/* SPDX-License-Identifier: MIT */
/*
 * Host hooks of the Linux port: the monotonic clock and the randomness
 * source the hosted backends hand to the core (mcore_env.rng).
 *
 * Owns: moat_host_now_us, moat_host_random, moat_host_ring_release. Does not own any link driver
 * (tap.c, wire.c, pcap.c) nor the choice of seed for deterministic runs
 * (that is moat_config.seed, handled by the backends).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "linux_port.h"

uint64_t moat_host_now_us(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux; it is
     * system-wide, so two processes on one wire agree on "now" (the wire's
     * deliver-at stamps rely on that). */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void moat_host_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    uint8_t *p = buf;
    /* getrandom() may return fewer bytes than asked (large requests, or a
     * signal), so loop. It only fails for reasons that mean the host is
     * broken (ENOSYS on a pre-3.17 kernel); security-relevant values such
     * as ISNs must never be predictable, so we refuse to go on. */
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
}

void moat_host_ring_release(void *ctx, void *mem, size_t len)
{
    (void)ctx;
    /* MADV_REMOVE frees the shared (shmem/memfd) pages behind the range in
     * every process that maps it; the next touch maps a zero page. The
     * region is page-aligned per slot (boundary.c). A failure only means
     * the memory stays resident: nothing to report. */
    (void)madvise(mem, len, MADV_REMOVE);
}
