/* SPDX-License-Identifier: MIT */
/*
 * The seccomp backend's confinement, run by each domain after it has
 * attached its regions and opened its device and before it reads any
 * untrusted input, in this order:
 *
 *   1. close every descriptor that is not in the domain's lists;
 *   1a. the optional layers the host allows (sandbox.c: empty root,
 *      unprivileged id, empty network namespace for moat-netd);
 *   2. resource limits: RLIMIT_NOFILE (no descriptor above the ones it
 *      has), RLIMIT_NPROC 0, RLIMIT_FSIZE 0 (unless it writes a pcap
 *      file), RLIMIT_CORE 0;
 *   3. PR_SET_NO_NEW_PRIVS (required to load a filter unprivileged, and
 *      it keeps any exec from gaining privileges);
 *   4. the domain's allow-list from policy.c, with the descriptor sets
 *      filled in, default action SCMP_ACT_KILL_PROCESS (SCMP_ACT_LOG in a
 *      MOAT_SECCOMP_DEBUG build). The calls of policy_reported() trap
 *      first: a SIGSYS handler writes the call number where the
 *      supervisor reads it, then makes a call nothing allows, so the
 *      domain still dies by the kill-process default.
 *
 * Just before the filter goes on, the domain reports which layers it has
 * to the supervisor (domain_report), which logs them in one line.
 *
 * A failure at any step is fatal for the domain: it never runs unconfined.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "backends/process/confine.h"
#include "backends/process/domain_priv.h"
#include "policy.h"
#include "sandbox.h"

static const char *confine_who(enum domain_role role)
{
    return role == DOMAIN_NET ? "moat-netd" : "moat-linkd";
}

static int confine_in(const int *set, unsigned n, int fd)
{
    for (unsigned i = 0; i < n; i++)
        if (set[i] == fd)
            return 1;
    return 0;
}

static void confine_add(int *set, unsigned *n, int fd)
{
    if (!confine_in(set, *n, fd) && *n < CONFINE_MAX_FDS)
        set[(*n)++] = fd;
}

/* Descriptors open right now (bounded). Returns the count. */
static unsigned confine_open_fds(int *out, unsigned max)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        if (fd != self)
            out[n++] = fd;
    }
    closedir(d);
    return n;
}

/* Where the SIGSYS handler leaves the refused call (set once, before the
 * filter is loaded; a domain is single-threaded). */
static _Atomic int32_t *confine_last_call;

/*
 * SIGSYS from a trapping rule: the call did not run. Record its number
 * and die by making a call that nothing allows, so the process ends the
 * way every other refused call ends it: SIGSYS from the kill-process
 * default. The handler cannot be replaced or blocked afterwards
 * (rt_sigaction and rt_sigprocmask are not in any table), and the kernel
 * unblocks SIGSYS when it forces a trap.
 */
static void confine_on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (confine_last_call)
        atomic_store_explicit(confine_last_call, si->si_syscall, memory_order_relaxed);
    syscall(SYS_kill, 0, 0);    /* not allowed: the default action ends us */
    for (;;)
        syscall(SYS_exit_group, 159);   /* only if someone allowed kill */
}

int confine_domain(enum domain_role role, const struct confine_fds *fds_in)
{
    const char *who = confine_who(role);
    struct confine_fds f = *fds_in;
    int open_fds[256];
    unsigned n_open = confine_open_fds(open_fds, 256);

    /* 1. Descriptors. The link domain's device links may have opened
     * their own (wire file, FIFOs, pcap file): those are its own. */
    if (f.own_all) {
        for (unsigned i = 0; i < n_open; i++) {
            if (open_fds[i] > 2 && open_fds[i] != domain_status_pipe() &&
                !confine_in(f.keep, f.n_keep, open_fds[i])) {
                confine_add(f.rd, &f.n_rd, open_fds[i]);
                confine_add(f.wr, &f.n_wr, open_fds[i]);
            }
        }
    }
    int max_fd = 2;
    for (unsigned i = 0; i < n_open; i++) {
        int fd = open_fds[i];
        if (fd <= 2 || fd == domain_status_pipe())
            continue;   /* stdio; the status pipe is closed by domain_report */
        if (!confine_in(f.rd, f.n_rd, fd) && !confine_in(f.wr, f.n_wr, fd) &&
            !confine_in(f.keep, f.n_keep, fd))
            close(fd);
        else if (fd > max_fd)
            max_fd = fd;
    }

    /* 1a. */
    unsigned layers = sandbox_enter(role, f.boot_flags);

    /* 2. Limits. Set both soft and hard: the hard limit cannot be raised
     * again without CAP_SYS_RESOURCE, which no_new_privs keeps it from
     * ever gaining. */
    struct rlimit nofile = { (rlim_t)max_fd + 1, (rlim_t)max_fd + 1 };
    struct rlimit zero = { 0, 0 };
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0 || setrlimit(RLIMIT_NPROC, &zero) != 0 ||
        setrlimit(RLIMIT_CORE, &zero) != 0 ||
        (!f.writes_files && setrlimit(RLIMIT_FSIZE, &zero) != 0)) {
        domain_log(who, "setrlimit: %s", strerror(errno));
        return MOAT_E_IO;
    }

    /* 3. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        domain_log(who, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return MOAT_E_IO;
    }

    /* 4. */
#ifdef MOAT_SECCOMP_DEBUG
    uint32_t deflt = SCMP_ACT_LOG, trap = SCMP_ACT_LOG;
#else
    uint32_t deflt = SCMP_ACT_KILL_PROCESS, trap = SCMP_ACT_TRAP;
#endif
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = confine_on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    confine_last_call = f.last_call;
    if (sigaction(SIGSYS, &sa, NULL) != 0) {
        domain_log(who, "sigaction(SIGSYS): %s", strerror(errno));
        return MOAT_E_IO;
    }
    const char *failed = NULL;
    scmp_filter_ctx ctx = policy_filter_build(role, &f, deflt, trap, &failed);
    /* The filter is built (the last allocation): report, then load. A
     * domain that fails to load it exits, which the supervisor sees. */
    if (ctx)
        domain_report(layers | DOMAIN_LAYER_SECCOMP);
    if (!ctx) {
        domain_log(who, "cannot build the seccomp filter (%s)", failed ? failed : "?");
        return MOAT_E_IO;
    }
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        domain_log(who, "cannot load the seccomp filter: %s", strerror(-rc));
        return MOAT_E_IO;
    }
    return 0;
}

const char *confine_name(void)
{
#ifdef MOAT_SECCOMP_DEBUG
    return "seccomp (debug: log only)";
#else
    return "seccomp";
#endif
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer checks at exit from a helper that ptraces the process,
 * which the filter refuses (SIGSYS at every clean exit). Sanitizer builds
 * of the confined domains therefore run without the leak check; the
 * process backend's sanitizer build keeps it for the same code. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}
#endif
