/* SPDX-License-Identifier: MIT */
/*
 * The supervisor of the factored backends (process and seccomp), inside
 * libmoat in the application process: it creates the shared regions
 * (memfd), opens the TAP devices the configuration names, starts
 * moat-netd and moat-linkd by fork + execve with only the descriptors of
 * domain.h, and watches them through pidfds from one thread:
 *
 *  - moat-netd dies: every call on the stack fails with MOAT_E_DEAD at once
 *    (moat_stack_mark_dead wakes every waiter), the link domain is stopped,
 *    and the death is reported (stderr line, moat_supervisor_last_death).
 *  - moat-linkd dies: it is reaped, the link rings move to a new generation
 *    (see linkring.h: the net side takes its transmit buffers back and
 *    resets the rings), and a new moat-linkd is started on the same device.
 *    The application does not notice; TCP retransmits what was lost.
 *    More than SV_RESTART_MAX deaths within SV_RESTART_WINDOW_US leave the
 *    link down (reported) instead of restarting forever.
 *  - the net side reports a broken link ring (impossible indices): the
 *    link domain is killed, and so restarted.
 *
 * Where the domain executables are looked up, first match wins (both
 * moat-netd and moat-linkd must be there and executable):
 *   1. $MOAT_DOMAIN_DIR
 *   2. $MOAT_BUILD_DIR (the test suite sets it to the build tree)
 *   3. the build tree libmoat was compiled in (MOAT_BUILD_DIR)
 *   4. the install location (MOAT_LIBEXECDIR, e.g. /usr/local/libexec/moat)
 *
 * Does not contain the domains' loops (netd.c, link/linkd.c), confinement
 * (confine_*.c) or the socket API (client.c).
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

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef MOAT_BUILD_DIR
#define MOAT_BUILD_DIR ""
#endif
#ifndef MOAT_LIBEXECDIR
#define MOAT_LIBEXECDIR ""
#endif

#define SV_READY_TIMEOUT_US   10000000u  /* moat-netd must attach within 10 s */
#define SV_STOP_NETD_MS       2000       /* clean stop, then SIGKILL */
#define SV_STOP_LINKD_MS      1000
#define SV_WATCH_PERIOD_MS    200        /* broken-ring check */
#define SV_RESTART_MAX        20
#define SV_RESTART_WINDOW_US  10000000u

struct sv_child {
    pid_t pid;                  /* 0: not running */
    int pidfd;                  /* -1: not running */
    int status_fd;              /* read end of its status pipe until read, or -1 */
    struct domain_status status;    /* what its first start reported (magic 0: nothing) */
    int kmsg_fd;                /* /dev/kmsg read from its start on, or -1 */
};

struct sv_if {
    int kind;                   /* enum domain_if_kind */
    int frames_fd;
    void *base;                 /* our mapping of the frame region */
    struct linkring_layout lay;
    int net_bell, link_bell;
    int dev_fd;                 /* TAP fd kept for restarts, or -1 */
    /* The link ring's generation as we last wrote it. Kept here, never
     * re-read from the region: both domains can write the shared word, and
     * a new generation derived from it could be made 0, which no link
     * domain ever accepts (linkring_dev_ready). */
    uint32_t gen;
};

struct moat_backend {
    struct moat_stack *st;
    int region_fd, boot_fd, devnull, ctl_efd;
    struct sv_if ifs[MOAT_MAX_IFS];
    unsigned n_ifs;
    int need_linkd;
    char dir[PATH_MAX];
    struct sv_child netd, linkd;
    _Atomic int netd_alive;
    pthread_t watcher;
    int watcher_on;
    pthread_mutex_t lock;       /* last, deaths, the pids as queries see them */
    struct moat_domain_death last;
    uint64_t deaths;
    unsigned restarts;
    uint64_t window_start_us;
    unsigned window_count;
    int link_down;              /* gave up restarting */
};

static uint64_t sv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int sv_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void sv_kill(struct sv_child *c)
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

static int sv_find_dir(struct moat_backend *be)
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
static int sv_memfd(const char *name, size_t size, int *fd_out, void **base_out)
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

static int sv_write_boot(struct moat_backend *be)
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
static int sv_spawn(struct moat_backend *be, int role, struct sv_child *c, int want_status)
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

/* ---- deaths ------------------------------------------------------------- */

/* The seccomp filter kills with SIGSYS, and the kernel's audit record of
 * that kill is the only place the system call number survives. Read it
 * from /dev/kmsg when we may (needs CAP_SYSLOG, or dmesg_restrict=0);
 * otherwise the call stays unknown (-1). @p fd was opened at the end of
 * the log just before the domain was forked, so only records written in
 * its lifetime are seen: pids are reused (pid_max may be 32768) and an
 * older record for the same pid must never name the call. The record is
 * printed by the audit thread, so it may trail the death by a few
 * milliseconds. */
static int sv_kmsg_syscall(int fd, pid_t pid)
{
    char key[32], rec[2048];
    int nr = -1;
    if (fd < 0)
        return -1;
    snprintf(key, sizeof key, " pid=%d ", (int)pid);
    for (int attempt = 0; attempt < 10 && nr < 0; attempt++) {
        for (int i = 0; i < 200000; i++) {   /* bounded: the buffer holds fewer records */
            ssize_t n = read(fd, rec, sizeof rec - 1);
            if (n < 0) {
                if (errno == EPIPE)
                    continue;   /* a record was overwritten under us */
                break;          /* EAGAIN: end of the buffer */
            }
            rec[n] = 0;
            char *s;
            if (strstr(rec, "type=1326") && strstr(rec, key) && (s = strstr(rec, " syscall=")))
                nr = atoi(s + 9);
        }
        if (nr < 0) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    return nr;
}

static void sv_syscall_name(int nr, char *out, size_t len)
{
    out[0] = 0;
    if (nr < 0)
        return;
#ifdef MOAT_HAVE_LIBSECCOMP
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name) {
        snprintf(out, len, "%s", name);
        free(name);
        return;
    }
#endif
    snprintf(out, len, "syscall %d", nr);
}

/* The first link ring's header (where the domains leave their last
 * words), or NULL without a device. */
static struct linkring_hdr *sv_ring0(struct moat_backend *be)
{
    for (unsigned i = 0; i < be->n_ifs; i++)
        if (be->ifs[i].kind != DOMAIN_IF_NONE && be->ifs[i].base)
            return linkring_hdr(be->ifs[i].base);
    return NULL;
}

/* The call a domain killed by SIGSYS was refused: its own last words
 * (written by its SIGSYS handler for the calls the filter traps, see
 * backends/seccomp/confine.c), else the kernel's audit record, else -1.
 * Resets the last words for the next domain of that kind. */
static int sv_refused_call(struct moat_backend *be, const struct moat_domain_death *d, int kmsg_fd)
{
    struct linkring_hdr *h = sv_ring0(be);
    int nr = -1;
    if (h) {
        _Atomic int32_t *w = d->domain == MOAT_DOMAIN_NETD ? &h->last_call_net : &h->last_call_link;
        nr = atomic_exchange(w, -1);
    }
    if (nr < 0 || nr > 4095)
        nr = sv_kmsg_syscall(kmsg_fd, d->pid);
    return nr;
}

/* Reap @p c (it has exited: its pidfd polled readable) into @p d. */
static void sv_reap(struct moat_backend *be, struct sv_child *c, int domain,
                    struct moat_domain_death *d)
{
    siginfo_t si;
    memset(d, 0, sizeof *d);
    memset(&si, 0, sizeof si);
    d->domain = domain;
    snprintf(d->name, sizeof d->name, "%s", domain == MOAT_DOMAIN_NETD ? "moat-netd" : "moat-linkd");
    d->pid = c->pid;
    d->exit_code = -1;
    d->syscall_nr = -1;
    if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED) == 0) {
        if (si.si_code == CLD_EXITED)
            d->exit_code = si.si_status;
        else
            d->signal = si.si_status;
    }
    if (d->signal == SIGSYS) {
        d->syscall_nr = sv_refused_call(be, d, c->kmsg_fd);
        sv_syscall_name(d->syscall_nr, d->syscall_name, sizeof d->syscall_name);
    }
    pthread_mutex_lock(&be->lock);
    if (c->kmsg_fd >= 0)
        close(c->kmsg_fd);
    c->kmsg_fd = -1;
    close(c->pidfd);
    c->pidfd = -1;
    c->pid = 0;
    pthread_mutex_unlock(&be->lock);
}

static void sv_report(struct moat_backend *be, struct moat_domain_death *d, const char *then)
{
    char how[128];
    if (d->signal == SIGSYS) {
        snprintf(how, sizeof how, "killed by SIGSYS: the seccomp filter refused %s",
                 d->syscall_name[0] ? d->syscall_name : "a system call (unknown)");
    } else if (d->signal) {
        snprintf(how, sizeof how, "killed by signal %d (%s)", d->signal, strsignal(d->signal));
    } else {
        snprintf(how, sizeof how, "exited with status %d", d->exit_code);
    }
    pthread_mutex_lock(&be->lock);
    d->seq = ++be->deaths;
    be->last = *d;
    pthread_mutex_unlock(&be->lock);
    fprintf(stderr, "moat: %s (pid %d) died: %s%s\n", d->name, d->pid, how, then);
}

/* Stop @p c: wait up to @p ms for it to exit by itself, then SIGKILL. */
static void sv_stop_child(struct moat_backend *be, struct sv_child *c, int ms)
{
    struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
    struct moat_domain_death d;
    if (c->pidfd < 0)
        return;
    uint64_t end = sv_now_us() + (uint64_t)ms * 1000u;
    for (;;) {
        uint64_t now = sv_now_us();
        if (now >= end) {
            sv_kill(c);
            p.revents = 0;
            poll(&p, 1, 1000);  /* SIGKILL: gone within moments */
            break;
        }
        int r = poll(&p, 1, (int)((end - now + 999) / 1000));
        if (r > 0)
            break;
    }
    sv_reap(be, c, c == &be->netd ? MOAT_DOMAIN_NETD : MOAT_DOMAIN_LINKD, &d);
}

static void sv_netd_died(struct moat_backend *be)
{
    struct moat_domain_death d;
    sv_reap(be, &be->netd, MOAT_DOMAIN_NETD, &d);
    atomic_store_explicit(&be->netd_alive, 0, memory_order_release);
    /* First, so that no application call waits for the report. */
    moat_stack_mark_dead(be->st);
    sv_report(be, &d, "; every call on this stack now fails with MOAT_E_DEAD");
    /* The link domain has nobody to serve. */
    if (be->linkd.pidfd >= 0) {
        sv_kill(&be->linkd);
        sv_stop_child(be, &be->linkd, 1000);
    }
}

static void sv_new_generation(struct moat_backend *be)
{
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        struct linkring_hdr *h = linkring_hdr(f->base);
        /* The old link domain is reaped: nothing writes the rings until
         * the net side has reset them and acknowledged this generation.
         * Pairs with the load-acquire of gen in the net side (lr_net_sync). */
        if (++f->gen == 0)
            f->gen = 1;
        atomic_store_explicit(&h->gen, f->gen, memory_order_release);
        linkring_bell_ring(f->net_bell);
    }
}

static void sv_linkd_died(struct moat_backend *be)
{
    struct moat_domain_death d;
    sv_reap(be, &be->linkd, MOAT_DOMAIN_LINKD, &d);
    uint64_t now = sv_now_us();
    if (now - be->window_start_us > SV_RESTART_WINDOW_US) {
        be->window_start_us = now;
        be->window_count = 0;
    }
    if (!atomic_load(&be->netd_alive)) {
        sv_report(be, &d, "");
        return;
    }
    if (d.exit_code == DOMAIN_EXIT_SETUP || d.exit_code == DOMAIN_EXIT_CONFINE) {
        /* It could not open its device or confine itself: the next one
         * would fail alike. */
        be->link_down = 1;
        sv_report(be, &d, "; it could not start, the link stays down");
        return;
    }
    if (++be->window_count > SV_RESTART_MAX) {
        be->link_down = 1;
        sv_report(be, &d, "; it died too often, the link stays down");
        return;
    }
    sv_report(be, &d, "; restarting it");
    sv_new_generation(be);
    if (sv_spawn(be, DOMAIN_LINK, &be->linkd, 0) != 0) {
        be->link_down = 1;
        fprintf(stderr, "moat: moat-linkd could not be restarted; the link stays down\n");
        return;
    }
    pthread_mutex_lock(&be->lock);
    be->restarts++;
    pthread_mutex_unlock(&be->lock);
}

static void sv_check_broken(struct moat_backend *be)
{
    if (be->linkd.pidfd < 0)
        return;
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        const struct linkring_hdr *h = linkring_hdr(f->base);
        /* Only a verdict about the current link domain counts: right after
         * a restart the flag still describes the old one until the net
         * side has reset the rings for our generation (it clears
         * net_broken before it stores net_ack, release; acquire here). */
        if (atomic_load_explicit(&h->net_ack, memory_order_acquire) != f->gen)
            continue;
        if (atomic_load_explicit(&h->net_broken, memory_order_relaxed)) {
            fprintf(stderr, "moat: moat-netd cut off interface %u (impossible ring index from "
                    "moat-linkd); killing moat-linkd\n", i);
            sv_kill(&be->linkd);
            return;
        }
    }
}

static void *sv_watch(void *arg)
{
    struct moat_backend *be = arg;
    for (;;) {
        struct pollfd p[3];
        int n = 0, ni = -1, li = -1;
        p[n].fd = be->ctl_efd;
        p[n++].events = POLLIN;
        if (be->netd.pidfd >= 0) {
            ni = n;
            p[n].fd = be->netd.pidfd;
            p[n++].events = POLLIN;
        }
        if (be->linkd.pidfd >= 0) {
            li = n;
            p[n].fd = be->linkd.pidfd;
            p[n++].events = POLLIN;
        }
        for (int k = 0; k < n; k++)
            p[k].revents = 0;
        int r = poll(p, (nfds_t)n, SV_WATCH_PERIOD_MS);
        if (r < 0 && errno != EINTR)
            continue;
        if (p[0].revents)
            return NULL;
        if (ni >= 0 && p[ni].revents)
            sv_netd_died(be);
        if (li >= 0 && p[li].revents && be->linkd.pidfd >= 0)
            sv_linkd_died(be);
        sv_check_broken(be);
    }
}

/* ---- confinement report ------------------------------------------------ */

/* The domain's report from its status pipe (it writes one record just
 * before its filter goes on, or exits). Bounded by SV_READY_TIMEOUT_US. */
static void sv_read_status(struct sv_child *c)
{
    if (c->status_fd < 0)
        return;
    struct pollfd p = { .fd = c->status_fd, .events = POLLIN };
    /* Read in place (the domain's word, for the report only); anything
     * short or without the magic leaves it zero. */
    struct domain_status *st = &c->status;
    if (poll(&p, 1, (int)(SV_READY_TIMEOUT_US / 1000u)) <= 0 ||
        read(c->status_fd, st, sizeof *st) != (ssize_t)sizeof *st ||
        st->magic != DOMAIN_STATUS_MAGIC)
        memset(st, 0, sizeof *st);
    close(c->status_fd);
    c->status_fd = -1;
}

static void sv_layers_text(char *out, size_t len, const char *name, const struct sv_child *c,
                           int net)
{
    unsigned l = c->status.layers;
    if (c->status.magic != DOMAIN_STATUS_MAGIC) {
        snprintf(out, len, "%s: no report", name);
        return;
    }
    snprintf(out, len, "%s: seccomp %s, %s, uid %u%s%s%s", name,
             (l & DOMAIN_LAYER_SECCOMP) ? "on" : "off",
             (l & DOMAIN_LAYER_EMPTY_ROOT) ? "empty root (mount namespace)"
             : (l & DOMAIN_LAYER_CHROOT) ? "empty root (chroot)" : "the application's file system",
             (unsigned)c->status.uid,
             (l & DOMAIN_LAYER_UID) ? " (dropped from root)" : "",
             (l & DOMAIN_LAYER_USERNS) ? ", own user namespace" : "",
             !net ? "" : (l & DOMAIN_LAYER_NETNS) ? ", empty network namespace"
                                                  : ", the application's network namespace");
}

/* One line on stderr saying what confinement is on, when it differs from
 * the last line this process printed (a program that opens many stacks
 * says it once). */
static void sv_log_layers(struct moat_backend *be)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char last[512];
    char net[200], link[200] = "", line[512];
    sv_layers_text(net, sizeof net, "moat-netd", &be->netd, 1);
    if (be->need_linkd)
        sv_layers_text(link, sizeof link, "; moat-linkd", &be->linkd, 0);
    snprintf(line, sizeof line, "moat: confinement (%s%s): %s%s\n", moat_backend_name(),
             secure_getenv("MOAT_SANDBOX") && strcmp(secure_getenv("MOAT_SANDBOX"), "0") == 0
                 ? ", MOAT_SANDBOX=0" : "", net, link);
    pthread_mutex_lock(&lock);
    if (strcmp(line, last) != 0) {
        snprintf(last, sizeof last, "%s", line);
        fputs(line, stderr);
    }
    pthread_mutex_unlock(&lock);
}

/* ---- open / close ------------------------------------------------------- */

static int sv_links_up(struct moat_backend *be)
{
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind != DOMAIN_IF_NONE &&
            !atomic_load_explicit(&linkring_hdr(f->base)->link_up, memory_order_acquire))
            return 0;
    }
    return 1;
}

/* The error a link domain left before it exited, or MOAT_E_IO. */
static int sv_link_error(struct moat_backend *be)
{
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        int e = atomic_load(&linkring_hdr(f->base)->link_err);
        /* Written by the link domain: only a known code is passed on. */
        if (e < 0 && e > MOAT_E_MIN_)
            return e;
    }
    return MOAT_E_IO;
}

static int sv_wait_ready(struct moat_backend *be)
{
    struct moat_stack *st = be->st;
    uint64_t end = sv_now_us() + SV_READY_TIMEOUT_US;
    while (!atomic_load_explicit(&st->hdr->net_ready, memory_order_acquire) ||
           (be->need_linkd && !sv_links_up(be))) {
        struct pollfd p[2] = { { .fd = be->netd.pidfd, .events = POLLIN },
                               { .fd = be->linkd.pidfd, .events = POLLIN } };
        if (poll(p, be->linkd.pidfd >= 0 ? 2 : 1, 1) > 0) {
            struct moat_domain_death d;
            if (p[0].revents) {
                sv_reap(be, &be->netd, MOAT_DOMAIN_NETD, &d);
                sv_report(be, &d, " while starting");
                return MOAT_E_IO;
            }
            sv_reap(be, &be->linkd, MOAT_DOMAIN_LINKD, &d);
            int e = sv_link_error(be);
            /* The device's own error (ADDRINUSE, PERM, ...) is the answer;
             * the usual line on stderr is noise then. */
            if (e == MOAT_E_IO)
                sv_report(be, &d, " while starting");
            return e;
        }
        if (sv_now_us() > end) {
            fprintf(stderr, "moat: the domains did not attach within %u s\n",
                    SV_READY_TIMEOUT_US / 1000000u);
            return MOAT_E_IO;
        }
    }
    return 0;
}

static void sv_release(struct moat_stack *st, struct moat_backend *be)
{
    if (be->watcher_on) {
        wake_doorbell(be->ctl_efd);
        pthread_join(be->watcher, NULL);
        be->watcher_on = 0;
    }
    if (be->netd.pidfd >= 0 && st->hdr) {
        atomic_store_explicit(&st->hdr->stop, 1, memory_order_release);
        /* Unconditionally: it may be between its re-check and ppoll(). */
        atomic_thread_fence(memory_order_seq_cst);
        atomic_store_explicit(&st->hdr->net_sleeping, 0, memory_order_relaxed);
        wake_doorbell(st->net_efd);
        sv_stop_child(be, &be->netd, SV_STOP_NETD_MS);
    }
    atomic_store(&be->netd_alive, 0);
    /* The link domain last: it sends the net domain's final RSTs. */
    if (be->linkd.pidfd >= 0) {
        for (unsigned i = 0; i < be->n_ifs; i++) {
            struct sv_if *f = &be->ifs[i];
            if (f->kind == DOMAIN_IF_NONE || !f->base)
                continue;
            atomic_store_explicit(&linkring_hdr(f->base)->stop, 1, memory_order_release);
            linkring_bell_ring(f->link_bell);
        }
        sv_stop_child(be, &be->linkd, SV_STOP_LINKD_MS);
    }
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->base)
            munmap(f->base, f->lay.size);
        if (f->frames_fd >= 0)
            close(f->frames_fd);
        if (f->net_bell >= 0)
            close(f->net_bell);
        if (f->link_bell >= 0)
            close(f->link_bell);
        if (f->dev_fd >= 0)
            close(f->dev_fd);
    }
    if (st->region)
        munmap(st->region, st->region_size);
    st->region = NULL;
    st->region_size = 0;
    st->hdr = NULL;
    if (st->net_efd >= 0)
        close(st->net_efd);
    st->net_efd = -1;
    if (be->netd.status_fd >= 0)
        close(be->netd.status_fd);
    if (be->linkd.status_fd >= 0)
        close(be->linkd.status_fd);
    if (be->region_fd >= 0)
        close(be->region_fd);
    if (be->boot_fd >= 0)
        close(be->boot_fd);
    if (be->devnull >= 0)
        close(be->devnull);
    if (be->ctl_efd >= 0)
        close(be->ctl_efd);
    pthread_mutex_destroy(&be->lock);
    free(be);
    st->be = NULL;
}

static int sv_open_ifs(struct moat_backend *be)
{
    const struct moat_config *cfg = &be->st->cfg;
    be->n_ifs = cfg->n_ifs;
    for (unsigned i = 0; i < cfg->n_ifs; i++) {
        const struct moat_if_config *ifc = &cfg->ifs[i];
        struct sv_if *f = &be->ifs[i];
        struct linkring_geom g;
        int r;
        switch (ifc->link) {
        case MOAT_LINK_NONE:
            f->kind = DOMAIN_IF_NONE;
            continue;
        case MOAT_LINK_TAP:
            f->kind = DOMAIN_IF_TAP;
            /* Opened here, with the application's privileges; the link
             * domain only ever gets the descriptor. */
            r = moat_tap_open_opts(ifc->dev, !ifc->no_offload, &f->dev_fd);
            if (r != 0)
                return r;
            break;
        case MOAT_LINK_WIRE:
            f->kind = DOMAIN_IF_WIRE;
            break;
        default:
            /* A link object lives in this process's memory: it cannot be
             * driven from another domain. */
            return MOAT_E_NOTSUP;
        }
        be->need_linkd = 1;
        if (f->kind == DOMAIN_IF_TAP && moat_tap_offloaded(f->dev_fd)) {
            /* Receive offload: the kernel hands up TCP segments of up to
             * 64 KiB, and the link domain passes them on whole. The
             * buffers are 128 KiB; a page of one becomes resident only
             * when a frame reaches it (tap.c, docs/performance.md). */
            linkring_geom_for_frame(MOAT_TAP_FRAME_MAX, DOMAIN_LINK_BUFS, &g);
            /* ... and transmit: the net domain joins segments into GSO
             * frames, which the link domain writes whole. */
            g.flags |= LINKRING_GEOM_TX_GSO;
            /* ... from where it lies: the room in front of every transmit
             * frame takes the virtio-net header (linkd_tx). */
            g.flags |= LINKRING_GEOM_TX_HEAD;
        } else {
            linkring_geom_for_mtu(ifc->mtu ? ifc->mtu : 1500, DOMAIN_LINK_BUFS, &g);
        }
        r = linkring_layout(&g, &f->lay);
        if (r != 0)
            return r;
        r = sv_memfd("moat-frames", f->lay.size, &f->frames_fd, &f->base);
        if (r != 0) {
            f->frames_fd = -1;
            f->base = NULL;
            return r;
        }
        linkring_region_init(f->base, &f->lay);
        f->gen = 1;             /* what linkring_region_init wrote */
        f->net_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        f->link_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (f->net_bell < 0 || f->link_bell < 0)
            return MOAT_E_IO;
    }
    return 0;
}

int moat_be_open(struct moat_stack *st)
{
    struct moat_backend *be = calloc(1, sizeof *be);
    int r;

    if (!be)
        return MOAT_E_NOMEM;
    be->st = st;
    st->be = be;
    st->net_efd = -1;
    be->region_fd = be->boot_fd = be->ctl_efd = -1;
    be->netd.pidfd = be->linkd.pidfd = -1;
    be->netd.status_fd = be->linkd.status_fd = -1;
    be->netd.kmsg_fd = be->linkd.kmsg_fd = -1;
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++) {
        be->ifs[i].frames_fd = be->ifs[i].net_bell = be->ifs[i].link_bell = -1;
        be->ifs[i].dev_fd = -1;
    }
    pthread_mutex_init(&be->lock, NULL);
    be->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    be->ctl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (be->devnull < 0 || be->ctl_efd < 0) {
        r = MOAT_E_IO;
        goto fail;
    }
    r = sv_find_dir(be);
    if (r != 0)
        goto fail;

    /* The socket region: shared with moat-netd only. */
    st->region_size = st->lay.size;
    r = sv_memfd("moat-region", st->region_size, &be->region_fd, &st->region);
    if (r != 0) {
        st->region = NULL;
        goto fail;
    }
    moat_region_init(st->region, &st->lay);
    st->hdr = moat_region_hdr(st->region);
    st->net_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->net_efd < 0) {
        r = MOAT_E_IO;
        goto fail;
    }

    r = sv_open_ifs(be);
    if (r == 0)
        r = sv_write_boot(be);
    if (r != 0)
        goto fail;

    r = sv_spawn(be, DOMAIN_NET, &be->netd, 1);
    if (r != 0)
        goto fail;
    atomic_store(&be->netd_alive, 1);
    if (be->need_linkd) {
        r = sv_spawn(be, DOMAIN_LINK, &be->linkd, 1);
        if (r != 0)
            goto fail;
    }

    /* Wait for moat-netd to attach (pairs with the store-release of
     * net_ready in netloop_init) and moat-linkd to attach its devices (the
     * store-release of link_up in linkd.c), so that moat_stack_open answers
     * as the thread backend does. A death ends the wait at once. */
    r = sv_wait_ready(be);
    if (r != 0)
        goto fail;
    /* Each domain reports its confinement just before its filter goes
     * on; one line says what is on (once per process and description). */
    sv_read_status(&be->netd);
    sv_read_status(&be->linkd);
    sv_log_layers(be);

    /* The watcher takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&be->watcher, NULL, sv_watch, be);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        r = MOAT_E_NOMEM;
        goto fail;
    }
    be->watcher_on = 1;
    return 0;

fail:
    sv_release(st, be);
    return r;
}

void moat_be_close(struct moat_stack *st)
{
    if (st && st->be)
        sv_release(st, st->be);
}

int moat_be_alive(struct moat_stack *st)
{
    return st && st->be && atomic_load_explicit(&st->be->netd_alive, memory_order_acquire);
}

/* ---- queries ------------------------------------------------------------ */

int moat_supervisor_last_death(struct moat_stack *st, struct moat_domain_death *out)
{
    if (!st || !st->be || !out)
        return MOAT_E_INVAL;
    struct moat_backend *be = st->be;
    int r = MOAT_E_AGAIN;
    pthread_mutex_lock(&be->lock);
    if (be->deaths) {
        *out = be->last;
        r = 0;
    }
    pthread_mutex_unlock(&be->lock);
    return r;
}

int moat_supervisor_pids(struct moat_stack *st, int *netd, int *linkd)
{
    if (!st || !st->be)
        return MOAT_E_INVAL;
    struct moat_backend *be = st->be;
    pthread_mutex_lock(&be->lock);
    if (netd)
        *netd = be->netd.pid;
    if (linkd)
        *linkd = be->linkd.pid;
    pthread_mutex_unlock(&be->lock);
    return 0;
}

unsigned moat_supervisor_link_restarts(struct moat_stack *st)
{
    if (!st || !st->be)
        return 0;
    pthread_mutex_lock(&st->be->lock);
    unsigned n = st->be->restarts;
    pthread_mutex_unlock(&st->be->lock);
    return n;
}

int moat_supervisor_link_counters(struct moat_stack *st, unsigned ifx,
                                  struct linkring_counters *net, struct linkring_counters *link)
{
    if (!st || !st->be || ifx >= st->be->n_ifs || st->be->ifs[ifx].kind == DOMAIN_IF_NONE)
        return MOAT_E_INVAL;
    /* snapshots (linkring_counters_read): the domains may be publishing */
    const void *base = st->be->ifs[ifx].base;
    if (net && linkring_counters_read(base, 0, net, 100000) != 0)
        return MOAT_E_AGAIN;
    if (link && linkring_counters_read(base, 1, link, 100000) != 0)
        return MOAT_E_AGAIN;
    return 0;
}

int moat_supervisor_test_attempt(struct moat_stack *st, int domain, unsigned attempt)
{
    int raw = attempt >= LINKRING_TRY_RAW && attempt < LINKRING_TRY_RAW + 4096u;
    if (!st || !st->be || attempt == 0 || (attempt >= LINKRING_TRY_COUNT_ && !raw) ||
        (domain != MOAT_DOMAIN_NETD && domain != MOAT_DOMAIN_LINKD))
        return MOAT_E_INVAL;
#ifdef MOAT_TEST_HOOKS
    struct moat_backend *be = st->be;
    for (unsigned i = 0; i < be->n_ifs; i++) {
        struct sv_if *f = &be->ifs[i];
        if (f->kind == DOMAIN_IF_NONE)
            continue;
        struct linkring_hdr *h = linkring_hdr(f->base);
        if (domain == MOAT_DOMAIN_NETD) {
            atomic_store(&h->try_net, attempt);
            linkring_bell_ring(f->net_bell);
        } else {
            atomic_store(&h->try_link, attempt);
            linkring_bell_ring(f->link_bell);
        }
        return 0;
    }
#endif
    return MOAT_E_NOTSUP;
}

int moat_supervisor_layers(struct moat_stack *st, int domain, unsigned *layers, unsigned *uid)
{
    if (!st || !st->be || (domain != MOAT_DOMAIN_NETD && domain != MOAT_DOMAIN_LINKD))
        return MOAT_E_INVAL;
    const struct sv_child *c = domain == MOAT_DOMAIN_NETD ? &st->be->netd : &st->be->linkd;
    if (c->status.magic != DOMAIN_STATUS_MAGIC)
        return MOAT_E_AGAIN;
    if (layers)
        *layers = c->status.layers;
    if (uid)
        *uid = c->status.uid;
    return 0;
}

const char *moat_supervisor_domain_dir(struct moat_stack *st)
{
    return st && st->be ? st->be->dir : "";
}
