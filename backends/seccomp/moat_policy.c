/* SPDX-License-Identifier: MIT */
/*
 * moat-policy: print the seccomp allow-list of each domain (policy.c), as
 * the filter will enforce it. `moat-policy` prints both; `moat-policy
 * netd` or `moat-policy linkd` one. With --bpf it also dumps the compiled
 * filter in libseccomp's pseudo-filter-code form for the given domain
 * (with placeholder descriptor numbers).
 */
#include <stdio.h>
#include <string.h>

#include <seccomp.h>

#include "policy.h"

static void policy_print(enum domain_role role)
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
    for (unsigned i = 0; i < nr; i++)
        printf(" %s%s", rep[i].name, rep[i].exec_only ? "(PROT_EXEC)" : "");
    printf("\n");
    printf("  descriptors: %s\n", role == DOMAIN_NET
           ? "read: application doorbell, link bells; write: stderr, link domain's bells"
           : "every descriptor open after start-up (TAP fd or wire file and FIFOs, bells, "
             "pcap file) plus stderr");
    printf("  limits: RLIMIT_NOFILE = highest descriptor + 1, RLIMIT_NPROC 0, RLIMIT_CORE 0, "
           "RLIMIT_FSIZE 0%s; PR_SET_NO_NEW_PRIVS\n\n",
           role == DOMAIN_LINK ? " (unless it writes a pcap file)" : "");
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
    if (net)
        policy_print(DOMAIN_NET);
    if (link)
        policy_print(DOMAIN_LINK);
    return 0;
}
