/* SPDX-License-Identifier: MIT */
/*
 * moat-policy: print the seccomp allow-list of each domain (policy.c), as
 * the filter will enforce it. `moat-policy` prints both; `moat-policy
 * netd` or `moat-policy linkd` one. Each table ends with the calls the
 * compiled filter (built with placeholder descriptor numbers) lets
 * through, read back from its BPF, against the budget of policy.h; the
 * exit status is 1 if a domain is over budget (or the filter could not
 * be read back), so the test suite runs it as a check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "policy.h"

/* The calls the compiled filter of @p role lets through, from its BPF.
 * Returns their number, or -1. */
static int policy_print_compiled(enum domain_role role)
{
    static struct sock_filter prog[4096];
    const char *failed = NULL;
    int len = policy_filter_compile(role, prog, 4096, &failed);
    if (len <= 0)
        return -1;
    uint32_t arch = seccomp_arch_native();
    int count = 0;
    printf("  compiled filter lets through:");
    for (uint32_t nr = 0; nr < 1024; nr++) {
        int v = policy_bpf_verdict(prog, (unsigned)len, arch, nr);
        if (v < 0)
            return -1;
        if (v == POLICY_REFUSED)
            continue;
        char *name = seccomp_syscall_resolve_num_arch(arch, (int)nr);
        printf(" %s%s", name ? name : "?", v == POLICY_ALLOWED_IF ? "(if)" : "");
        free(name);
        count++;
    }
    printf("\n  %d calls, budget %u\n", count, policy_budget());
    return count;
}

/* Returns 0, or 1 if the compiled filter is over budget or unreadable. */
static int policy_print(enum domain_role role)
{
    unsigned n;
    const struct policy_rule *t = policy_table(role, &n);
    printf("%s: default action %s\n", role == DOMAIN_NET ? "moat-netd" : "moat-linkd",
#ifdef MOAT_SECCOMP_DEBUG
           "LOG (MOAT_SECCOMP_DEBUG build: violations are only logged)"
#else
           "KILL_PROCESS (SIGSYS)"
#endif
    );
    printf("  %-16s %-44s %s\n", "syscall", "allowed when", "why");
    for (unsigned i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(t[i].name);
        printf("  %-16s %-44s %s%s\n", t[i].name, policy_arg_text(t[i].arg), t[i].why,
               nr == __NR_SCMP_ERROR ? " (not on this architecture)" : "");
    }
    unsigned nr;
    const struct policy_report *rep = policy_reported(&nr);
    printf("  refused, but trapped first to report the call before the kill:\n   ");
    for (unsigned i = 0; i < nr; i++) {
        const struct policy_rule *a = policy_find(role, rep[i].name);
        if (a && a->arg != POL_PROT_NO_EXEC)
            continue;   /* allowed under conditions: other uses meet the default */
        printf(" %s%s", rep[i].name, rep[i].exec_only || a ? "(PROT_EXEC)" : "");
    }
    printf("\n");
    printf("  descriptors: %s\n", role == DOMAIN_NET
           ? "read: application doorbell, link bells; write: stderr, link domain's bells; "
             "polled only: the application's pidfd"
           : "every descriptor open after start-up (TAP fd or wire file and FIFOs, bells, "
             "pcap file) plus stderr; polled only: the application's pidfd");
    printf("  limits: RLIMIT_NOFILE = highest descriptor + 1, RLIMIT_NPROC 0, RLIMIT_CORE 0, "
           "RLIMIT_FSIZE 0%s; PR_SET_NO_NEW_PRIVS\n",
           role == DOMAIN_LINK ? " (unless it writes a pcap file)" : "");
    int count = policy_print_compiled(role);
    if (count < 0)
        printf("  (the compiled filter could not be read back)\n");
    else if ((unsigned)count > policy_budget())
        printf("  OVER BUDGET\n");
    printf("\n");
    return count < 0 || (unsigned)count > policy_budget();
}

int main(int argc, char **argv)
{
    int net = 1, link = 1;
    if (argc > 1 && strcmp(argv[1], "netd") == 0)
        link = 0;
    else if (argc > 1 && strcmp(argv[1], "linkd") == 0)
        net = 0;
    else if (argc > 1) {
        fprintf(stderr, "usage: moat-policy [netd|linkd]\n");
        return 2;
    }
    int bad = 0;
    if (net)
        bad |= policy_print(DOMAIN_NET);
    if (link)
        bad |= policy_print(DOMAIN_LINK);
    return bad;
}
