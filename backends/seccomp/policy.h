/* SPDX-License-Identifier: MIT */
/*
 * The seccomp allow-lists of the two domains, as data: one table per
 * domain, each row a system call, the condition on its arguments, and why
 * the domain needs it. confine.c turns a table into a filter; moat-policy
 * prints it. Anything not in a table kills the process (SIGSYS), or is
 * only logged in a -DMOAT_SECCOMP_DEBUG=ON build.
 */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include "backends/process/domain.h"

/* Argument conditions a row can carry. */
enum policy_arg {
    POL_ANY = 0,        /* no condition */
    POL_FD_READ,        /* arg0 is one of the domain's readable descriptors */
    POL_FD_WRITE,       /* arg0 is one of the domain's writable descriptors */
    POL_FD_OWN,         /* arg0 is any descriptor the domain holds */
    POL_PROT_NO_EXEC,   /* arg2 (prot) does not include PROT_EXEC */
    POL_FUTEX_BASIC,    /* arg1 (op) is WAIT, WAKE, WAIT_BITSET or WAKE_BITSET */
    POL_ARG_COUNT_
};

struct policy_rule {
    const char *name;   /* system call name (resolved by libseccomp) */
    enum policy_arg arg;
    const char *why;
};

/*
 * Calls that are refused like every other call outside the table, but
 * trapped first so the domain can leave its last words (the call number)
 * for the supervisor's report before it is killed. POL_ANY rows trap every
 * use; a POL_PROT_EXEC row traps only uses with PROT_EXEC.
 */
struct policy_report {
    const char *name;
    int exec_only;      /* only when arg2 (prot) includes PROT_EXEC */
};
const struct policy_report *policy_reported(unsigned *n);

/* The table of @p role; *n gets its length. */
const struct policy_rule *policy_table(enum domain_role role, unsigned *n);
/* Human-readable condition ("fd in {read fds}"). */
const char *policy_arg_text(enum policy_arg a);

#endif
