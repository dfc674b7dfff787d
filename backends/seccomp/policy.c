/* SPDX-License-Identifier: MIT */
/*
 * The per-domain allow-lists (see policy.h). Keep each table short and
 * each reason concrete: a row that nobody can justify is a row an attacker
 * gets for free. Budget: at most POLICY_BUDGET calls per domain, checked by
 * tests/factored/test_confine_budget.c against the compiled filter.
 *
 * Calls made only during start-up (opening the wire or the pcap file,
 * mapping the regions, ioctl on the TAP, allocating the core's memory and
 * every link buffer, drawing the core's random keys, opening a pidfd of
 * the application) happen before the filter is loaded and are
 * deliberately absent. After it, a domain does not allocate (the domains
 * set mallopt so that free() never returns memory to the kernel either),
 * does not ask for its pid, and watches the application through a pidfd
 * it polls instead of getppid().
 */
#include "policy.h"

#include <string.h>

/* Shared by both domains: sleep, time, back-off, leave. */
#define POLICY_COMMON                                                                       \
    { "ppoll", POL_PPOLL_NOMASK, "sleep on its bells and the application's pidfd "          \
                                 "(descriptor arrays cannot be filtered)" },                \
    { "clock_gettime", POL_CLOCK, "timers, when the vDSO falls back to the kernel" },       \
    { "sched_yield", POL_ANY, "back off while spinning before it sleeps" },                 \
    { "exit_group", POL_ANY, "leave" }

/* Sanitizer builds only: the ASan/UBSan run-time maps shadow and
 * allocator memory lazily and reports through its own calls. Never in a
 * production build (moat-policy prints them when they are in). */
#if defined(__SANITIZE_ADDRESS__) || defined(MOAT_POLICY_SANITIZER)
#define POLICY_SANITIZER                                                                    \
    , { "mmap", POL_PROT_NO_EXEC, "sanitizer run-time only" },                              \
    { "munmap", POL_ANY, "sanitizer run-time only" },                                       \
    { "mprotect", POL_PROT_NO_EXEC, "sanitizer run-time only" },                            \
    { "madvise", POL_ANY, "sanitizer run-time only" },                                      \
    { "getpid", POL_ANY, "sanitizer run-time only" },                                       \
    { "sigaltstack", POL_ANY, "sanitizer run-time only" },                                  \
    { "rt_sigprocmask", POL_ANY, "sanitizer run-time only" }
#define POLICY_SANITIZER_ROWS 7u
#else
#define POLICY_SANITIZER
#define POLICY_SANITIZER_ROWS 0u
#endif

static const struct policy_rule policy_net[] = {
    { "read", POL_FD_READ, "drain its doorbells (application eventfd, link bells)" },
    { "write", POL_FD_WRITE, "ring the link domain's bells; log lines on stderr" },
    { "futex", POL_FUTEX_WAKE, "wake application threads sleeping on the region's app_seq" },
    { "madvise", POL_MADV_REMOVE, "give a closed socket's ring pages back (shared region)" },
    POLICY_COMMON
    POLICY_SANITIZER
};

static const struct policy_rule policy_link[] = {
    { "read", POL_FD_READ, "frames from the TAP device; its bell; the wire's FIFO" },
    { "write", POL_FD_WRITE, "frames to the TAP device; the net domain's bell; the wire's "
                             "FIFO; the pcap file; log lines on stderr" },
    { "close", POL_FD_OWN, "detach from the shared-memory wire and close the pcap file at exit" },
    { "munmap", POL_ANY, "unmap the shared-memory wire at exit" },
    POLICY_COMMON
    POLICY_SANITIZER
};

/*
 * Refused like every other call outside the table, but trapped first so
 * the supervisor can name them: the calls an attacker reaches for first
 * (files, sockets, programs, other processes, executable memory), and the
 * calls the domains made before they stopped allocating after start-up
 * (memory management, pid queries, getrandom, poll), which is what a new
 * code path that allocates or logs a pid would hit. A row is skipped for
 * a domain whose table allows that call (with or without conditions).
 */
static const struct policy_report policy_report_list[] = {
    { "open", 0 }, { "openat", 0 }, { "openat2", 0 }, { "creat", 0 },
    { "socket", 0 }, { "socketpair", 0 }, { "connect", 0 }, { "bind", 0 },
    { "execve", 0 }, { "execveat", 0 }, { "fork", 0 }, { "vfork", 0 },
    { "clone", 0 }, { "clone3", 0 }, { "ptrace", 0 },
    { "process_vm_readv", 0 }, { "process_vm_writev", 0 },
    { "mmap", 0 }, { "mprotect", 0 }, { "pkey_mprotect", 0 },
    { "munmap", 0 }, { "mremap", 0 }, { "brk", 0 }, { "madvise", 0 },
    { "getpid", 0 }, { "getppid", 0 }, { "gettimeofday", 0 }, { "getrandom", 0 },
    { "poll", 0 }, { "close", 0 }, { "exit", 0 }, { "rt_sigreturn", 0 },
    { "restart_syscall", 0 }, { "rt_sigaction", 0 }, { "rt_sigprocmask", 0 },
};

const struct policy_report *policy_reported(unsigned *n)
{
    *n = sizeof policy_report_list / sizeof policy_report_list[0];
    return policy_report_list;
}

const struct policy_rule *policy_table(enum domain_role role, unsigned *n)
{
    if (role == DOMAIN_NET) {
        *n = sizeof policy_net / sizeof policy_net[0];
        return policy_net;
    }
    *n = sizeof policy_link / sizeof policy_link[0];
    return policy_link;
}

unsigned policy_budget(void)
{
    return POLICY_BUDGET + POLICY_SANITIZER_ROWS;
}

const struct policy_rule *policy_find(enum domain_role role, const char *name)
{
    unsigned n;
    const struct policy_rule *t = policy_table(role, &n);
    for (unsigned i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

const char *policy_arg_text(enum policy_arg a)
{
    switch (a) {
    case POL_ANY: return "any arguments";
    case POL_FD_READ: return "fd in the domain's read set";
    case POL_FD_WRITE: return "fd in the domain's write set";
    case POL_FD_OWN: return "fd in the domain's read or write set";
    case POL_PROT_NO_EXEC: return "prot without PROT_EXEC";
    case POL_FUTEX_WAKE: return "op FUTEX_WAKE or FUTEX_WAKE_PRIVATE";
    case POL_MADV_REMOVE: return "advice MADV_REMOVE";
    case POL_PPOLL_NOMASK: return "no signal mask (arg3 NULL)";
    case POL_CLOCK: return "clock CLOCK_MONOTONIC or CLOCK_REALTIME";
    default: return "?";
    }
}
