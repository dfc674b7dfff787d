/* SPDX-License-Identifier: MIT */
/*
 * The confinement step every domain executable runs after it has attached
 * its regions and opened its device, and before it reads the first byte of
 * untrusted input. The process backend links confine_none.c (process
 * isolation only: the descriptors were already cut down at exec); the
 * seccomp backend links backends/seccomp/confine.c.
 */
#ifndef MOAT_CONFINE_H
#define MOAT_CONFINE_H

#include <stdatomic.h>
#include <stdint.h>

#include "domain.h"

#define CONFINE_MAX_FDS 32

/* The descriptors a domain may still use, by what it does with them. */
struct confine_fds {
    int rd[CONFINE_MAX_FDS];      /* read() allowed */
    unsigned n_rd;
    int wr[CONFINE_MAX_FDS];      /* write() allowed */
    unsigned n_wr;
    /* Kept open, but neither read nor written: only ever polled (the
     * application's pidfd, which tells the domain that its application
     * is gone). */
    int keep[4];
    unsigned n_keep;
    int own_all;                  /* link: every other descriptor open at confinement is its own */
    int writes_files;             /* writes a regular file (pcap): keep RLIMIT_FSIZE */
    unsigned boot_flags;          /* the boot block's DOMAIN_BOOT_* (MOAT_SANDBOX=0) */
    /* Where the SIGSYS handler records the refused call before the domain
     * dies (shared memory the supervisor reads), or NULL. */
    _Atomic int32_t *last_call;
};

/* Confine the calling process as @p role. Returns 0 or MOAT_E_IO (with a
 * line on stderr); the domain must exit on failure, never run unconfined. */
int confine_domain(enum domain_role role, const struct confine_fds *fds);

/* Name of the confinement ("none", "seccomp"). */
const char *confine_name(void);

#endif
