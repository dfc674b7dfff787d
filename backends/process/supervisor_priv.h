/* SPDX-License-Identifier: MIT */
/*
 * What the four files of the factored backends' supervisor share (not
 * used outside backends/process/): its state (struct moat_backend, one
 * struct sv_child per domain, one struct sv_if per interface), its
 * timing constants, and the functions one file calls in another.
 *
 *   supervisor.c        moat_be_open / moat_be_close: regions, devices,
 *                       first start, teardown
 *   supervisor_spawn.c  finding the executables, memfds, the boot block,
 *                       fork + execve of one domain
 *   supervisor_watch.c  the watcher thread: reaping, netd death, linkd
 *                       restart, broken-ring check
 *   supervisor_diag.c   death diagnostics (SIGSYS call names, stderr
 *                       lines), the confinement report, the queries and
 *                       test hooks of supervisor.h
 */
#ifndef MOAT_SUPERVISOR_PRIV_H
#define MOAT_SUPERVISOR_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "app/stack.h"
#include "domain.h"
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

/* supervisor_spawn.c: the monotonic clock in us; SIGKILL through the
 * pidfd; the executables' directory into be->dir; a sealed memfd mapped
 * here; the boot block; fork + execve of one domain. */
uint64_t sv_now_us(void);
void sv_kill(struct sv_child *c);
int sv_find_dir(struct moat_backend *be);
int sv_memfd(const char *name, size_t size, int *fd_out, void **base_out);
int sv_write_boot(struct moat_backend *be);
int sv_spawn(struct moat_backend *be, int role, struct sv_child *c, int want_status);

/* supervisor_watch.c: stop one domain (clean, then SIGKILL after @p ms);
 * the watcher thread's body. */
void sv_stop_child(struct moat_backend *be, struct sv_child *c, int ms);
void *sv_watch(void *arg);

/* supervisor_diag.c: reap a dead domain and record why; the stderr line
 * for a death; a domain's confinement report; the layers line. */
void sv_reap(struct moat_backend *be, struct sv_child *c, int domain, struct moat_domain_death *d);
void sv_report(struct moat_backend *be, struct moat_domain_death *d, const char *then);
void sv_read_status(struct sv_child *c);
void sv_log_layers(struct moat_backend *be);

#endif
