/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the two domain executables (domain.c). Not used by
 * the library.
 */
#ifndef MOAT_DOMAIN_PRIV_H
#define MOAT_DOMAIN_PRIV_H

#include <stddef.h>
#include <sys/types.h>

#include "domain.h"

/* First thing in main: remember the pid for log lines (no getpid() once
 * confined) and make free() keep its memory (no brk, munmap or madvise
 * once confined: the filter refuses them). */
void domain_start(void);
/* A pidfd of the application @p app_pid, which must be our parent (it
 * becomes readable when the application is gone): the confined domains
 * poll it instead of calling getppid(). Returns the fd, or -1 if the
 * application is already gone (or pidfds are missing: then also -1, and
 * the caller exits, as the supervisor cannot watch it either). */
int domain_watch_parent(pid_t app_pid);
/* Nonzero if the pidfd from domain_watch_parent says the application is
 * gone (a ppoll with a zero timeout). */
int domain_parent_gone(int pidfd);

/* Report @p layers (DOMAIN_LAYER_*) on DOMAIN_FD_STATUS and close it.
 * No status pipe at start (a restarted domain): nothing happens. */
void domain_report(unsigned layers);
/* The status pipe's descriptor until domain_report, or -1 (none given). */
int domain_status_pipe(void);

/* "moat-netd[123]: ..." on stderr, one write per line. */
void domain_log(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Read and check the boot block from DOMAIN_FD_BOOT (closed afterwards).
 * Returns 0 or MOAT_E_PEER. */
int domain_read_boot(struct domain_boot *b);
/* A domain's main starts with this: domain_start, no arguments allowed
 * (the supervisor passes none), the boot block read and checked into
 * @p b, and a pidfd of the application in *parent_fd
 * (domain_watch_parent). Says what went wrong as @p who. Returns 0, or
 * DOMAIN_EXIT_SETUP for main to return. */
int domain_boot_up(const char *who, int argc, struct domain_boot *b, int *parent_fd);
/* Map @p size bytes of the memfd @p fd shared read-write, after checking
 * the file is that large. NULL on failure. */
void *domain_map(int fd, size_t size);
/* Test hook: make the system call named by @p what (enum linkring_attempt). */
void domain_attempt(const char *who, unsigned what);
const char *domain_attempt_name(unsigned what);

#endif
