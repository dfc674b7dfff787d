/* SPDX-License-Identifier: MIT */
/*
 * The per-domain allow-lists (see policy.h). Keep each table short and
 * each reason concrete: a row that nobody can justify is a row an attacker
 * gets for free. Calls made only during start-up (opening the wire or the
 * pcap file, mapping the regions, ioctl on the TAP) happen before the
 * filter is loaded and are deliberately absent.
 */
#include "policy.h"

/* Shared by both domains: memory, time, leaving, and what the C library
 * does behind malloc/free and a signal return. */
#define POLICY_COMMON                                                                    \
    { "mmap", POL_PROT_NO_EXEC, "malloc of large blocks; never executable memory" },    \
    { "mprotect", POL_PROT_NO_EXEC, "malloc arenas; never makes memory executable" },   \
    { "munmap", POL_ANY, "free of large blocks" },                                      \
    { "mremap", POL_ANY, "realloc of large blocks" },                                   \
    { "brk", POL_ANY, "malloc heap" },                                                  \
    { "madvise", POL_ANY, "free returning memory to the kernel" },                      \
    { "clock_gettime", POL_ANY, "timers (when the vDSO falls back to the kernel)" },    \
    { "gettimeofday", POL_ANY, "as clock_gettime" },                                    \
    { "getpid", POL_ANY, "its own pid in log lines" },                                  \
    { "getppid", POL_ANY, "notice that the application died (re-parented)" },           \
    { "close", POL_FD_OWN, "close its own descriptors at exit" },                       \
    { "ppoll", POL_ANY, "sleep on its doorbells (descriptor arrays cannot be filtered)" }, \
    { "poll", POL_ANY, "as ppoll" },                                                    \
    { "sched_yield", POL_ANY, "back off while spinning" },                              \
    { "futex", POL_FUTEX_BASIC, "wake sleepers on shared memory; libc locks" },         \
    { "rt_sigreturn", POL_ANY, "return from a signal handler" },                        \
    { "restart_syscall", POL_ANY, "resume a call interrupted by a stop signal" },       \
    { "exit", POL_ANY, "leave" },                                                       \
    { "exit_group", POL_ANY, "leave" }

static const struct policy_rule policy_net[] = {
    { "read", POL_FD_READ, "drain its doorbells (application eventfd, link bells)" },
    { "write", POL_FD_WRITE, "ring the link domain's bells; log lines on stderr" },
    { "getrandom", POL_ANY, "TCP initial sequence numbers, ephemeral ports, IP ids" },
    POLICY_COMMON,
};

static const struct policy_rule policy_link[] = {
    { "read", POL_FD_READ, "frames from the TAP device; its bell; the wire's FIFO" },
    { "write", POL_FD_WRITE, "frames to the TAP device; the net domain's bell; the wire's "
                             "FIFO; the pcap file; log lines on stderr" },
    POLICY_COMMON,
};

/* The calls an attacker would reach for first: files, sockets, programs,
 * other processes, executable memory. Both domains. */
static const struct policy_report policy_report_list[] = {
    { "open", 0 }, { "openat", 0 }, { "openat2", 0 }, { "creat", 0 },
    { "socket", 0 }, { "socketpair", 0 }, { "connect", 0 }, { "bind", 0 },
    { "execve", 0 }, { "execveat", 0 }, { "fork", 0 }, { "vfork", 0 },
    { "clone", 0 }, { "clone3", 0 }, { "ptrace", 0 },
    { "process_vm_readv", 0 }, { "process_vm_writev", 0 },
    { "mmap", 1 }, { "mprotect", 1 }, { "pkey_mprotect", 0 },
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

const char *policy_arg_text(enum policy_arg a)
{
    switch (a) {
    case POL_ANY: return "any arguments";
    case POL_FD_READ: return "fd in the domain's read set";
    case POL_FD_WRITE: return "fd in the domain's write set";
    case POL_FD_OWN: return "fd in the domain's read or write set";
    case POL_PROT_NO_EXEC: return "prot without PROT_EXEC";
    case POL_FUTEX_BASIC: return "op in WAIT, WAKE, WAIT_BITSET, WAKE_BITSET";
    default: return "?";
    }
}
