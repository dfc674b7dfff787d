/* SPDX-License-Identifier: MIT */
/*
 * Helpers both domain executables use: reading the boot block, mapping a
 * region received as a descriptor, logging, and the test-only "attempt a
 * forbidden system call" hook. Runs inside moat-netd / moat-linkd, never in
 * the application.
 */
#define _GNU_SOURCE
#include "domain_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "moat/err.h"

/* The domain's pid, for log lines (a domain is one process; set once). */
static int domain_pid;
/* DOMAIN_FD_STATUS if the supervisor gave us a status pipe, else -1
 * (looked at before we open anything that could take that number). */
static int domain_status_fd = -1;

int domain_status_pipe(void)
{
    return domain_status_fd;
}

void domain_start(void)
{
    domain_pid = (int)getpid();
    if (fcntl(DOMAIN_FD_STATUS, F_GETFD) >= 0)
        domain_status_fd = DOMAIN_FD_STATUS;
    /* A status report nobody reads must not kill us (domain_report). */
    signal(SIGPIPE, SIG_IGN);
    /* Large blocks from the heap, never an mmap of their own, and a heap
     * that is never trimmed: free() then makes no system call at all. */
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, -1);
}

void domain_report(unsigned layers)
{
    struct domain_status st = { .magic = DOMAIN_STATUS_MAGIC, .layers = layers,
                                .uid = (uint32_t)getuid(), .gid = (uint32_t)getgid() };
    if (domain_status_fd < 0)
        return;
    ssize_t w = write(domain_status_fd, &st, sizeof st);
    (void)w;    /* no reader any more: EPIPE (SIGPIPE is ignored) */
    close(domain_status_fd);
    domain_status_fd = -1;
}

int domain_watch_parent(pid_t app_pid)
{
    int fd = (int)syscall(SYS_pidfd_open, app_pid, 0);
    if (fd < 0)
        return -1;
    /* Opened after a check, so check again: had the application died
     * in between, app_pid might name some other process by now. */
    if (getppid() != app_pid) {
        close(fd);
        return -1;
    }
    return fd;
}

int domain_parent_gone(int pidfd)
{
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    struct timespec zero = { 0, 0 };
    return ppoll(&p, 1, &zero, NULL) > 0;
}

void domain_log(const char *who, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    int n = snprintf(line, sizeof line, "%s[%d]: ", who, domain_pid);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    /* One write() so lines of several domains do not interleave. */
    ssize_t w = write(2, line, len);
    (void)w;
}

int domain_read_boot(struct domain_boot *b)
{
    struct stat sb;
    if (fstat(DOMAIN_FD_BOOT, &sb) != 0 || (size_t)sb.st_size < sizeof *b)
        return MOAT_E_PEER;
    ssize_t n = pread(DOMAIN_FD_BOOT, b, sizeof *b, 0);
    close(DOMAIN_FD_BOOT);
    if (n != (ssize_t)sizeof *b)
        return MOAT_E_PEER;
    if (b->magic != DOMAIN_BOOT_MAGIC || b->version != DOMAIN_BOOT_VERSION ||
        b->size != sizeof *b || b->cfg.n_ifs == 0 || b->cfg.n_ifs > MOAT_MAX_IFS)
        return MOAT_E_PEER;
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++)
        b->cfg.ifs[i].custom = NULL;
    return 0;
}

int domain_boot_up(const char *who, int argc, struct domain_boot *b, int *parent_fd)
{
    domain_start();
    if (argc != 1) {
        fprintf(stderr, "%s: started by libmoat only (no arguments)\n", who);
        return DOMAIN_EXIT_SETUP;
    }
    int r = domain_read_boot(b);
    if (r != 0) {
        domain_log(who, "bad boot block: %s", moat_strerror(r));
        return DOMAIN_EXIT_SETUP;
    }
    *parent_fd = domain_watch_parent((pid_t)b->app_pid);
    if (*parent_fd < 0)
        return DOMAIN_EXIT_SETUP;   /* the application is already gone */
    return 0;
}

void *domain_map(int fd, size_t size)
{
    struct stat sb;
    /* The file must be at least as large as the geometry says: mapping
     * past its end would turn every access into SIGBUS. The supervisor
     * sealed it against shrinking, so this holds for the whole run. */
    if (fstat(fd, &sb) != 0 || sb.st_size < 0 || (uint64_t)sb.st_size < size)
        return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

static const char *const domain_attempt_names[LINKRING_TRY_COUNT_] = {
    [LINKRING_TRY_NONE] = "none",
    [LINKRING_TRY_OPEN] = "open",
    [LINKRING_TRY_SOCKET] = "socket",
    [LINKRING_TRY_EXECVE] = "execve",
    [LINKRING_TRY_PTRACE] = "ptrace",
    [LINKRING_TRY_MPROTECT_EXEC] = "mprotect",
};

const char *domain_attempt_name(unsigned what)
{
    if (what >= LINKRING_TRY_RAW)
        return "a raw system call";
    return what < LINKRING_TRY_COUNT_ ? domain_attempt_names[what] : "unknown";
}

/* The page mprotect(PROT_EXEC) is tried on: one of our own, so the
 * attempt needs no mmap (which the filter refuses too). */
static _Alignas(4096) unsigned char domain_page[4096];

void domain_attempt(const char *who, unsigned what)
{
    long r = -1;
    if (what >= LINKRING_TRY_RAW && what < LINKRING_TRY_RAW + 4096u) {
        long nr = (long)(what - LINKRING_TRY_RAW);
        domain_log(who, "test hook: attempting system call %ld", nr);
        r = syscall(nr, 1000L, 1000L, 1000L, 1000L, 1000L, 1000L);
        domain_log(who, "test hook: system call %ld returned %ld (errno %d): not refused",
                   nr, r, r < 0 ? errno : 0);
        return;
    }
    domain_log(who, "test hook: attempting %s", domain_attempt_name(what));
    switch (what) {
    case LINKRING_TRY_OPEN:
        r = syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
        break;
    case LINKRING_TRY_SOCKET:
        r = syscall(SYS_socket, 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
        break;
    case LINKRING_TRY_EXECVE: {
        char *const argv[] = { (char *)"true", NULL };
        char *const envp[] = { NULL };
        r = syscall(SYS_execve, "/bin/true", argv, envp);
        break;
    }
    case LINKRING_TRY_PTRACE:
        r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, 0, 0);
        break;
    case LINKRING_TRY_MPROTECT_EXEC:
        r = syscall(SYS_mprotect, domain_page, sizeof domain_page,
                    PROT_READ | PROT_WRITE | PROT_EXEC);
        break;
    default:
        return;
    }
    /* Only reached without a filter (process backend) or with a logging
     * one (MOAT_SECCOMP_DEBUG). */
    domain_log(who, "test hook: %s returned %ld (errno %d): not confined",
               domain_attempt_name(what), r, r < 0 ? errno : 0);
    if (what == LINKRING_TRY_OPEN || what == LINKRING_TRY_SOCKET)
        if (r >= 0)
            close((int)r);
}
