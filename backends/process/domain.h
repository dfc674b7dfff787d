/* SPDX-License-Identifier: MIT */
/*
 * What the supervisor (inside libmoat, in the application process) and the
 * domain executables (moat-netd, moat-linkd) agree on: the boot block they
 * read at start, and the fixed file descriptor numbers they inherit.
 *
 * A domain is started by fork + execve with an empty environment and
 * exactly these descriptors (everything else is closed with close_range):
 *
 *   fd  moat-netd                      moat-linkd
 *   0   /dev/null                      /dev/null
 *   1   /dev/null                      /dev/null
 *   2   the application's stderr       the application's stderr
 *   3   boot block (sealed memfd)      boot block (sealed memfd)
 *   4   socket region (memfd)          -
 *   5   net doorbell (eventfd)         -
 *   6+4i  frame region of interface i (memfd)        both
 *   7+4i  net bell of interface i (link -> net)      both
 *   8+4i  link bell of interface i (net -> link)     both
 *   9+4i  -                            TAP fd of interface i (if TAP)
 *   DOMAIN_FD_STATUS  write end of the status pipe (first start only)
 *
 * The boot block is written once by the supervisor and sealed against
 * writes, growth and shrinking before any domain sees it, so a compromised
 * net domain cannot change what a restarted link domain reads. It carries
 * the configuration and the geometry of every region; each domain checks
 * the region headers against it at attach and keeps the geometry in
 * private memory afterwards.
 *
 * Does not contain the supervisor (supervisor.c) or the domain loops
 * (netd.c, link/linkd.c).
 */
#ifndef MOAT_DOMAIN_H
#define MOAT_DOMAIN_H

#include <stdint.h>

#include "moat/moat.h"
#include "core/boundary.h"
#include "link/linkring.h"

#define DOMAIN_BOOT_MAGIC   0x544f4f42u    /* "BOOT" little-endian */
#define DOMAIN_BOOT_VERSION 1u

#define DOMAIN_FD_BOOT      3
#define DOMAIN_FD_REGION    4
#define DOMAIN_FD_NETEFD    5
#define DOMAIN_FD_IF(i)     (6 + 4 * (i))
#define DOMAIN_FD_FRAMES(i) (DOMAIN_FD_IF(i) + 0)
#define DOMAIN_FD_NETBELL(i) (DOMAIN_FD_IF(i) + 1)
#define DOMAIN_FD_LINKBELL(i) (DOMAIN_FD_IF(i) + 2)
#define DOMAIN_FD_DEV(i)    (DOMAIN_FD_IF(i) + 3)
#define DOMAIN_FD_COUNT     DOMAIN_FD_IF(MOAT_MAX_IFS)
/* Past the table (DOMAIN_FD_COUNT itself carries the exec-error pipe,
 * close-on-exec): where a domain reports its confinement once, just
 * before its filter goes on (struct domain_status), then closes it. A
 * restarted link domain gets none (nothing there: its report is lost). */
#define DOMAIN_FD_STATUS    (DOMAIN_FD_COUNT + 1)

/* Frame buffers per direction and interface. */
#define DOMAIN_LINK_BUFS    256u

enum domain_role { DOMAIN_NET = 1, DOMAIN_LINK = 2 };

/* Exit statuses of the domain executables. A domain that cannot set up
 * (bad boot block, region or device) exits with DOMAIN_EXIT_SETUP: the
 * supervisor does not restart it, since the next one would fail alike. */
enum { DOMAIN_EXIT_OK = 0, DOMAIN_EXIT_RUN = 1, DOMAIN_EXIT_SETUP = 2, DOMAIN_EXIT_CONFINE = 3 };

/* How one interface reaches its device. */
enum domain_if_kind {
    DOMAIN_IF_NONE = 0,     /* no device: netd uses a null link, no ring */
    DOMAIN_IF_TAP,          /* ring; linkd gets the TAP fd */
    DOMAIN_IF_WIRE          /* ring; linkd opens the wire itself */
};

struct domain_boot_if {
    uint32_t kind;                  /* enum domain_if_kind */
    uint32_t pad;
    struct linkring_geom geom;
    uint64_t size;                  /* frame region bytes */
};

struct domain_boot {
    uint32_t magic;
    uint32_t version;
    uint32_t size;                  /* sizeof(struct domain_boot) */
    uint32_t flags;                 /* DOMAIN_BOOT_* */
    struct moat_config cfg;         /* custom pointers cleared */
    struct moat_geom geom;          /* socket region */
    uint64_t region_size;
    struct domain_boot_if ifs[MOAT_MAX_IFS];
    uint32_t app_pid;               /* the supervisor's process: our parent */
    uint32_t pad;
};

enum {
    DOMAIN_BOOT_TEST_HOOKS = 1u << 0,   /* honour the linkring try_* words */
    DOMAIN_BOOT_NO_SANDBOX = 1u << 1    /* MOAT_SANDBOX=0: skip the optional layers */
};

/* What a domain's confinement put in place (domain_status.layers). The
 * optional layers (all but SECCOMP) are tried at every start, each on its
 * own; backends/seccomp/sandbox.c, docs/confinement.md. */
enum {
    DOMAIN_LAYER_SECCOMP = 1u << 0,     /* no_new_privs + the allow-list */
    DOMAIN_LAYER_EMPTY_ROOT = 1u << 1,  /* new mount namespace, root an empty read-only tmpfs */
    DOMAIN_LAYER_CHROOT = 1u << 2,      /* (fallback) chroot to an empty directory */
    DOMAIN_LAYER_UID = 1u << 3,         /* setuid/setgid to an unprivileged id */
    DOMAIN_LAYER_USERNS = 1u << 4,      /* own user namespace (unprivileged start) */
    DOMAIN_LAYER_NETNS = 1u << 5        /* empty network namespace */
};

#define DOMAIN_STATUS_MAGIC 0x54415453u  /* "STAT" */
struct domain_status {
    uint32_t magic;
    uint32_t layers;                /* DOMAIN_LAYER_* */
    uint32_t uid, gid;              /* ids it runs as (its own view) */
};

#endif
