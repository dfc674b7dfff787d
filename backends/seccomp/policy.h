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

#include <linux/filter.h>
#include <seccomp.h>

#include "backends/process/confine.h"
#include "backends/process/domain.h"

/* At most this many allowed system calls per domain (issue 10): the
 * tables below stay within it, and test_confine_budget counts the calls
 * the compiled filter lets through. Sanitizer builds add their rows on
 * top (policy_budget()). */
#define POLICY_BUDGET 10u

/* Argument conditions a row can carry. */
enum policy_arg {
    POL_ANY = 0,        /* no condition */
    POL_FD_READ,        /* arg0 is one of the domain's readable descriptors */
    POL_FD_WRITE,       /* arg0 is one of the domain's writable descriptors */
    POL_FD_OWN,         /* arg0 is any descriptor the domain holds */
    POL_PROT_NO_EXEC,   /* arg2 (prot) does not include PROT_EXEC */
    POL_FUTEX_WAKE,     /* arg1 (op) is FUTEX_WAKE or FUTEX_WAKE_PRIVATE */
    POL_MADV_REMOVE,    /* arg2 (advice) is MADV_REMOVE */
    POL_PPOLL_NOMASK,   /* arg3 (sigmask) is NULL: ppoll cannot change the signal mask */
    POL_CLOCK,          /* arg0 (clock) is CLOCK_MONOTONIC or CLOCK_REALTIME */
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
 * for the supervisor's report before it is killed. Rows with exec_only
 * trap only uses with PROT_EXEC.
 */
struct policy_report {
    const char *name;
    int exec_only;      /* only when arg2 (prot) includes PROT_EXEC */
};
const struct policy_report *policy_reported(unsigned *n);

/* The table of @p role; *n gets its length. */
const struct policy_rule *policy_table(enum domain_role role, unsigned *n);
/* The budget for this build: POLICY_BUDGET plus a sanitizer run-time's rows. */
unsigned policy_budget(void);
/* @p role's row for the call @p name, or NULL. */
const struct policy_rule *policy_find(enum domain_role role, const char *name);
/* Human-readable condition ("fd in {read fds}"). */
const char *policy_arg_text(enum policy_arg a);

/*
 * The filter of @p role for the descriptors in @p f (filter.c): default
 * action @p deflt, the calls of policy_reported() with @p trap. Returns a
 * context to load or export (seccomp_release it), or NULL with *failed
 * naming the row that libseccomp refused.
 */
scmp_filter_ctx policy_filter_build(enum domain_role role, const struct confine_fds *f,
                                    uint32_t deflt, uint32_t trap, const char **failed);

/* The compiled program of @p ctx into @p out (at most @p max
 * instructions). Returns the instruction count, or -1. */
int policy_filter_export(scmp_filter_ctx ctx, struct sock_filter *out, unsigned max);

/* The filter of @p role with placeholder descriptor numbers, compiled
 * (what moat-policy prints, and what a test counts where it cannot read
 * a running domain's filter). Returns the instruction count, or -1 (with
 * *failed naming the row libseccomp refused, if it was one). */
int policy_filter_compile(enum domain_role role, struct sock_filter *out, unsigned max,
                          const char **failed);

/* What a compiled seccomp program does with call @p nr of @p arch
 * (an AUDIT_ARCH_* value), whatever the arguments: refused, allowed for
 * every argument, or allowed for some (argument-filtered). -1 if the
 * program could not be read (unknown instruction, jump out of range). */
enum { POLICY_REFUSED = 0, POLICY_ALLOWED = 1, POLICY_ALLOWED_IF = 2 };
int policy_bpf_verdict(const struct sock_filter *prog, unsigned len, uint32_t arch, uint32_t nr);

#endif
