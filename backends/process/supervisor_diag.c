/* SPDX-License-Identifier: MIT */
/*
 * The factored backends' supervisor, diagnostics (see supervisor.c for the
 * whole): why a domain died (exit status, signal, the system call a
 * seccomp filter refused), the stderr line and moat_supervisor_last_death,
 * the confinement layers each domain reported, and the queries and test
 * hooks of supervisor.h.
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
void sv_reap(struct moat_backend *be, struct sv_child *c, int domain,
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

void sv_report(struct moat_backend *be, struct moat_domain_death *d, const char *then)
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

/* ---- confinement report ------------------------------------------------ */

/* The domain's report from its status pipe (it writes one record just
 * before its filter goes on, or exits). Bounded by SV_READY_TIMEOUT_US. */
void sv_read_status(struct sv_child *c)
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
void sv_log_layers(struct moat_backend *be)
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
