/* SPDX-License-Identifier: MIT */
/*
 * Real-time test helpers: monotonic clock, per-case temporary directory and
 * wire paths, the base configuration. See itest.h. Holds no test.
 */
#define _GNU_SOURCE   /* mkdtemp() in strict C11 mode */
#include "itest.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The directory of the running case. A global because Check's fixtures take
 * no argument; tests run one case at a time per process. */
static char itest_dir[64];

uint64_t itest_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t itest_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void itest_pause_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

void itest_case_dir_make(const char *tag)
{
    snprintf(itest_dir, sizeof(itest_dir), "/tmp/moat-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(itest_dir));
}

void itest_case_dir_teardown(void)
{
    DIR *d = opendir(itest_dir);
    struct dirent *e;
    char name[sizeof(itest_dir) + 300];

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(name, sizeof(name), "%s/%s", itest_dir, e->d_name);
        unlink(name);
    }
    if (d)
        closedir(d);
    rmdir(itest_dir);
}

const char *itest_case_dir(void)
{
    return itest_dir;
}

void itest_wire_path(char *out, size_t len)
{
    static unsigned n;
    snprintf(out, len, "%s/wire-%u-%u", itest_dir, (unsigned)getpid(), n++);
}

void itest_config(struct moat_config *c, uint32_t ip, enum moat_link_kind kind,
                  const char *dev)
{
    moat_config_defaults(c);
    c->ifs[0].ip = ip;
    c->ifs[0].prefix = 24;
    c->ifs[0].link = kind;
    if (dev)
        snprintf(c->ifs[0].dev, sizeof(c->ifs[0].dev), "%s", dev);
}
