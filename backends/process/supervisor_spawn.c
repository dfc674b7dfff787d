/* SPDX-License-Identifier: MIT */
/*
 * The factored backends' supervisor, starting a domain (see supervisor.c
 * for the whole): where the executables are found, the sealed memfds of
 * the regions and the boot block, and fork + execve of moat-netd or
 * moat-linkd with exactly the descriptors of domain.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef MOAT_HAVE_LIBSECCOMP
#include <seccomp.h>
#endif

#include "app/stack.h"
#include "app/wake.h"
#include "domain.h"
#include "ports/linux/linux_port.h"
#include "supervisor.h"
#include "supervisor_priv.h"

uint64_t sv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int sv_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

void sv_kill(struct sv_child *c)
{
    if (c->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
}

/* ---- finding the executables -------------------------------------------- */

static int sv_dir_ok(const char *dir)
{
    char p[PATH_MAX];
    if (!dir || !dir[0])
        return 0;
    if (snprintf(p, sizeof p, "%s/moat-netd", dir) >= (int)sizeof p || access(p, X_OK) != 0)
        return 0;
    if (snprintf(p, sizeof p, "%s/moat-linkd", dir) >= (int)sizeof p || access(p, X_OK) != 0)
        return 0;
    return 1;
}

int sv_find_dir(struct moat_backend *be)
{
    const char *cand[] = { secure_getenv("MOAT_DOMAIN_DIR"), secure_getenv("MOAT_BUILD_DIR"),
                           MOAT_BUILD_DIR, MOAT_LIBEXECDIR };
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        if (sv_dir_ok(cand[i]) && strlen(cand[i]) < sizeof be->dir) {
            strcpy(be->dir, cand[i]);
            return 0;
        }
    }
    fprintf(stderr, "moat: cannot find moat-netd and moat-linkd (looked in $MOAT_DOMAIN_DIR, "
            "$MOAT_BUILD_DIR, %s, %s); set MOAT_DOMAIN_DIR to their directory\n",
            MOAT_BUILD_DIR[0] ? MOAT_BUILD_DIR : "(no build dir)",
            MOAT_LIBEXECDIR[0] ? MOAT_LIBEXECDIR : "(no libexec dir)");
    return MOAT_E_NODEV;
}

/* ---- shared memory ------------------------------------------------------ */

/* A zeroed memfd of @p size bytes mapped here, sealed against shrinking
 * and growing: a domain that could truncate it would turn our next access
 * into SIGBUS. Returns 0 or MOAT_E_NOMEM. */
int sv_memfd(const char *name, size_t size, int *fd_out, void **base_out)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return MOAT_E_NOMEM;
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        if (p != MAP_FAILED)
            munmap(p, size);
        close(fd);
        return MOAT_E_NOMEM;
    }
    *fd_out = fd;
    *base_out = p;
    return 0;
}

int sv_write_boot(struct moat_backend *be)
{
    struct moat_stack *st = be->st;
    struct domain_boot b;
    memset(&b, 0, sizeof b);
    b.magic = DOMAIN_BOOT_MAGIC;
    b.version = DOMAIN_BOOT_VERSION;
    b.size = sizeof b;
#ifdef MOAT_TEST_HOOKS
    b.flags |= DOMAIN_BOOT_TEST_HOOKS;
#endif
    /* MOAT_SANDBOX=0: the domains skip the optional layers (namespaces,
     * uid), e.g. to debug one with tools that need the host's view. */
    const char *sb = secure_getenv("MOAT_SANDBOX");
    if (sb && strcmp(sb, "0") == 0)
        b.flags |= DOMAIN_BOOT_NO_SANDBOX;
    b.cfg = st->cfg;
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++)
        b.cfg.ifs[i].custom = NULL;
    b.app_pid = (uint32_t)getpid();
    b.geom = st->lay.g;
    b.region_size = st->lay.size;
    for (unsigned i = 0; i < be->n_ifs; i++) {
        b.ifs[i].kind = (uint32_t)be->ifs[i].kind;
        b.ifs[i].geom = be->ifs[i].lay.g;
        b.ifs[i].size = be->ifs[i].base ? be->ifs[i].lay.size : 0;
    }
    int fd = memfd_create("moat-boot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return MOAT_E_NOMEM;
    if (pwrite(fd, &b, sizeof b, 0) != (ssize_t)sizeof b ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        close(fd);
        return MOAT_E_IO;
    }
    be->boot_fd = fd;
    return 0;
}

/* /dev/kmsg positioned at its end (the next record written), or -1. */
static int sv_kmsg_open(void)
{
    int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* ---- starting a domain -------------------------------------------------- */

/* Start domain @p role into @p c. With @p want_status, it gets a status
 * pipe at DOMAIN_FD_STATUS (its confinement report: sv_read_status). */
int sv_spawn(struct moat_backend *be, int role, struct sv_child *c, int want_status)
{
    const char *name = role == DOMAIN_NET ? "moat-netd" : "moat-linkd";
    int map[DOMAIN_FD_COUNT];
    char path[PATH_MAX];
    char *const argv[] = { (char *)name, NULL };
    char *const envp[] = { NULL };
    int ep[2];

    for (int t = 0; t < DOMAIN_FD_COUNT; t++)
        map[t] = -1;
    map[0] = be->devnull;
    map[1] = be->devnull;
    /* The application's stderr carries the domains' one-line reports; an
     * application without one gets /dev/null there too. */
    map[2] = fcntl(2, F_GETFD) >= 0 ? 2 : be->devnull;
    map[DOMAIN_FD_BOOT] = be->boot_fd;
    if (role == DOMAIN_NET) {
        map[DOMAIN_FD_REGION] = be->region_fd;
        map[DOMAIN_FD_NETEFD] = be->st->net_efd;
    }
    for (unsigned i = 0; i < be->n_ifs; i++) {
        const struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        map[DOMAIN_FD_FRAMES(i)] = f->frames_fd;
        map[DOMAIN_FD_NETBELL(i)] = f->net_bell;
        map[DOMAIN_FD_LINKBELL(i)] = f->link_bell;
        if (role == DOMAIN_LINK)
            map[DOMAIN_FD_DEV(i)] = f->dev_fd;
    }
    if (snprintf(path, sizeof path, "%s/%s", be->dir, name) >= (int)sizeof path)
        return MOAT_E_INVAL;
    /* CPU placement (measurement aid): MOAT_DOMAIN_CPUS="N,L" pins
     * moat-netd to CPU N and moat-linkd to CPU L; either may be empty. */
    cpu_set_t cpus;
    int pin = 0;
    const char *pl = secure_getenv("MOAT_DOMAIN_CPUS");
    if (pl) {
        const char *comma = strchr(pl, ',');
        const char *f = role == DOMAIN_NET ? pl : (comma ? comma + 1 : "");
        if (*f >= '0' && *f <= '9') {
            int cpu = atoi(f);
            if (cpu < CPU_SETSIZE) {
                CPU_ZERO(&cpus);
                CPU_SET(cpu, &cpus);
                pin = 1;
            }
        }
    }
    int sp[2] = { -1, -1 };
    if (want_status && pipe2(sp, O_CLOEXEC) != 0)
        return MOAT_E_IO;
    if (pipe2(ep, O_CLOEXEC) != 0) {
        if (sp[0] >= 0) {
            close(sp[0]);
            close(sp[1]);
        }
        return MOAT_E_IO;
    }

    int kfd = sv_kmsg_open();
    pid_t pid = fork();
    if (pid < 0) {
        if (kfd >= 0)
            close(kfd);
        close(ep[0]);
        close(ep[1]);
        if (sp[0] >= 0) {
            close(sp[0]);
            close(sp[1]);
        }
        return MOAT_E_NOMEM;
    }
    if (pid == 0) {
        /* The domain stays in the application's session and cgroup on
         * purpose (no setsid()): the spinners hand each other the CPU
         * with sched_yield(), which only yields within one scheduling
         * group. Measured with a session per domain: round trips 5 x
         * slower (docs/backends-compare.md, "Finding 2").
         *
         * Child of a possibly multi-threaded process: only async-signal-
         * safe calls until execve. First move every source descriptor
         * above the target range so the dup2s below cannot clobber one. */
        int tmp[DOMAIN_FD_COUNT];
        int err = 0;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (pin)
            sched_setaffinity(0, sizeof cpus, &cpus);
        for (int t = 0; t < DOMAIN_FD_COUNT; t++) {
            tmp[t] = map[t] >= 0 ? fcntl(map[t], F_DUPFD_CLOEXEC, DOMAIN_FD_COUNT + 1) : -1;
            if (map[t] >= 0 && tmp[t] < 0)
                err = errno;
        }
        int e = fcntl(ep[1], F_DUPFD_CLOEXEC, DOMAIN_FD_COUNT + 1);
        int sw = sp[1] >= 0 ? fcntl(sp[1], F_DUPFD_CLOEXEC, DOMAIN_FD_STATUS + 1) : -1;
        for (int t = 0; t < DOMAIN_FD_COUNT && !err; t++) {
            if (tmp[t] >= 0) {
                if (dup2(tmp[t], t) < 0)   /* the copy at t is not close-on-exec */
                    err = errno;
            } else {
                close(t);
            }
        }
        if (e >= 0 && dup3(e, DOMAIN_FD_COUNT, O_CLOEXEC) >= 0)
            e = DOMAIN_FD_COUNT;
        /* The status pipe, kept across exec (dup2 clears close-on-exec);
         * without one, nothing may sit at its number. */
        if (sw < 0 || dup2(sw, DOMAIN_FD_STATUS) < 0)
            close(DOMAIN_FD_STATUS);
        /* Everything else the application had open goes. */
        syscall(SYS_close_range, DOMAIN_FD_STATUS + 1, ~0u, 0);
        if (!err) {
            execve(path, argv, envp);
            err = errno;
        }
        if (e >= 0) {
            ssize_t w = write(e, &err, sizeof err);
            (void)w;
        }
        _exit(127);
    }
    close(ep[1]);
    if (sp[1] >= 0)
        close(sp[1]);
    int cerr = 0;
    ssize_t n;
    do {
        n = read(ep[0], &cerr, sizeof cerr);   /* EOF: execve succeeded */
    } while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == (ssize_t)sizeof cerr) {
        fprintf(stderr, "moat: cannot start %s: %s\n", path, strerror(cerr));
        waitpid(pid, NULL, 0);
        if (kfd >= 0)
            close(kfd);
        if (sp[0] >= 0)
            close(sp[0]);
        return MOAT_E_IO;
    }
    int pfd = sv_pidfd_open(pid);
    if (pfd < 0) {
        /* Someone else reaped it (SIGCHLD ignored?) or pidfds are missing. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fprintf(stderr, "moat: cannot watch %s (pidfd_open: %s)\n", name, strerror(errno));
        if (kfd >= 0)
            close(kfd);
        if (sp[0] >= 0)
            close(sp[0]);
        return MOAT_E_IO;
    }
    pthread_mutex_lock(&be->lock);
    c->pid = pid;
    c->pidfd = pfd;
    if (c->kmsg_fd >= 0)
        close(c->kmsg_fd);
    c->kmsg_fd = kfd;
    if (sp[0] >= 0)
        c->status_fd = sp[0];
    pthread_mutex_unlock(&be->lock);
    return 0;
}

