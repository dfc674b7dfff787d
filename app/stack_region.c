/* SPDX-License-Identifier: MIT */
/*
 * Giving back the socket region and the net doorbell a backend's
 * moat_be_open made (app/stack.h), the same way in every backend: the
 * thread backend's teardown and the supervisor's both end with it.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "app/stack.h"

void moat_stack_release_region(struct moat_stack *st)
{
    if (st->region && st->region != MAP_FAILED)
        munmap(st->region, st->region_size);
    st->region = NULL;
    st->region_size = 0;
    st->hdr = NULL;
    if (st->net_efd >= 0)
        close(st->net_efd);
    st->net_efd = -1;
}
