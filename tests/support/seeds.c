/* SPDX-License-Identifier: MIT */
/* The fuzz seed corpus for unit tests (see seeds.h). */
#include "seeds.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned seeds_each(const char *test_file, const char *subdir, seed_fn fn, void *arg)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_file);
    char *slash = strrchr(dir, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../fuzz/corpus/%s", subdir);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no seed directory %s", dir);
    static uint8_t buf[1u << 16];
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".bin") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        ck_assert_msg(fp != NULL, "cannot open %s", path);
        size_t len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        fn(e->d_name, buf, len, arg);
        n++;
    }
    closedir(d);
    return n;
}
