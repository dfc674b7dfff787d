/* SPDX-License-Identifier: MIT */
/*
 * Queries and test hooks of the factored backends' supervisor (process and
 * seccomp). These symbols exist in libmoat only when it is built with one
 * of those backends; tests and tools that use them are built only then.
 * Not part of the public API (include/moat/).
 */
#ifndef MOAT_SUPERVISOR_H
#define MOAT_SUPERVISOR_H

#include <stdint.h>

#include "moat/moat.h"
#include "link/linkring.h"

enum moat_domain_id { MOAT_DOMAIN_NETD = 1, MOAT_DOMAIN_LINKD = 2 };

/* How a domain process ended. */
struct moat_domain_death {
    int domain;             /* enum moat_domain_id */
    char name[16];          /* "moat-netd" / "moat-linkd" */
    int pid;
    int exit_code;          /* exited normally: its status; else -1 */
    int signal;             /* killed by this signal; else 0 */
    int syscall_nr;         /* SIGSYS from the seccomp filter: the call, or -1 if unknown */
    char syscall_name[32];  /* "openat", or "" */
    uint64_t seq;           /* deaths so far on this stack (1 = first) */
};

/*
 * The most recent death of a domain of @p st. Returns 0, MOAT_E_AGAIN (no
 * domain has died), MOAT_E_INVAL.
 */
int moat_supervisor_last_death(struct moat_stack *st, struct moat_domain_death *out);

/* Pids of the running domains (0 when not running). Returns 0 or MOAT_E_INVAL. */
int moat_supervisor_pids(struct moat_stack *st, int *netd, int *linkd);

/* Times moat-linkd was restarted. */
unsigned moat_supervisor_link_restarts(struct moat_stack *st);

/* Counters of interface @p ifx's link ring as each side last published
 * them (diagnostics: written by the domains, not trusted), each read as a
 * consistent snapshot (linkring_counters_read). Returns 0, MOAT_E_AGAIN (a
 * domain stopped half way through publishing),
 * MOAT_E_INVAL (no ring on that interface). */
int moat_supervisor_link_counters(struct moat_stack *st, unsigned ifx,
                                  struct linkring_counters *net, struct linkring_counters *link);

/*
 * Test hook (libmoat built with MOAT_TEST_HOOKS): make domain @p domain
 * attempt the system call @p attempt (enum linkring_attempt, or
 * LINKRING_TRY_RAW + a call number) from inside its loop. Needs an interface with a device (a link ring).
 * Returns 0, MOAT_E_NOTSUP (built without test hooks, or no ring),
 * MOAT_E_INVAL.
 */
int moat_supervisor_test_attempt(struct moat_stack *st, int domain, unsigned attempt);

/* The confinement each domain reported at its first start
 * (DOMAIN_LAYER_* of backends/process/domain.h, and the uid it runs as;
 * the domains' own word, for reports and tests). Returns 0, MOAT_E_AGAIN
 * (that domain sent no report), MOAT_E_INVAL. */
int moat_supervisor_layers(struct moat_stack *st, int domain, unsigned *layers, unsigned *uid);

/* Where the domain executables were found (for diagnostics). */
const char *moat_supervisor_domain_dir(struct moat_stack *st);

#endif
