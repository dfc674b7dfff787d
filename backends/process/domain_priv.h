/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the two domain executables (domain.c). Not used by
 * the library.
 */
#ifndef MOAT_DOMAIN_PRIV_H
#define MOAT_DOMAIN_PRIV_H

#include <stddef.h>

#include "domain.h"

/* "moat-netd[123]: ..." on stderr, one write per line. */
void domain_log(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Read and check the boot block from DOMAIN_FD_BOOT (closed afterwards).
 * Returns 0 or MOAT_E_PEER. */
int domain_read_boot(struct domain_boot *b);
/* Map @p size bytes of the memfd @p fd shared read-write, after checking
 * the file is that large. NULL on failure. */
void *domain_map(int fd, size_t size);
/* Test hook: make the system call named by @p what (enum linkring_attempt). */
void domain_attempt(const char *who, unsigned what);
const char *domain_attempt_name(unsigned what);

#endif
