/* SPDX-License-Identifier: MIT */
/*
 * The statistics snapshot protocol of the socket region (core/boundary.h,
 * moat_stats_publish / moat_stats_read): a reader never keeps a torn copy.
 *
 * The writer thread publishes snapshots in which every 32-bit word of
 * every counter holds the snapshot's number; a reader thread copies as
 * fast as it can and checks that all words of each kept copy are equal
 * and never go backwards. A plain memcpy in place of the protocol fails
 * this within a few thousand reads on two cores. Also single-threaded:
 * an odd sequence (a write in progress) refuses the copy.
 *
 * Bounded: the writer publishes SS_SNAPS snapshots and stops; the reader
 * stops when it has seen the last one or after SS_LIMIT_US.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/boundary.h"
#include "support/check_main.h"
#include "support/itest.h"

#define SS_SNAPS    300000u
#define SS_LIMIT_US 20000000u

static struct moat_region_hdr ss_hdr;
static _Atomic int ss_done;

static void ss_fill(struct moat_stats *s, uint32_t v)
{
    uint32_t *w = (uint32_t *)(void *)s;
    for (size_t i = 0; i < MOAT_STATS_WORDS; i++)
        w[i] = v;
}

static void *ss_writer(void *arg)
{
    struct moat_stats s;
    (void)arg;
    for (uint32_t v = 1; v <= SS_SNAPS; v++) {
        ss_fill(&s, v);
        moat_stats_publish(&ss_hdr, &s);
        /* A gap between snapshots about as long as one (not a sleep: it
         * only lets the reader finish some copies as well as tear some). */
        for (volatile unsigned k = 0; k < 2000; k++)
            ;
    }
    atomic_store(&ss_done, 1);
    return NULL;
}

START_TEST(stats_snapshot_never_torn)
{
    pthread_t t;
    memset(&ss_hdr, 0, sizeof ss_hdr);
    atomic_store(&ss_done, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, ss_writer, NULL), 0);
    uint64_t end = itest_now_us() + SS_LIMIT_US;
    uint32_t last = 0;
    unsigned kept = 0, retried = 0;
    while (last < SS_SNAPS && itest_now_us() < end) {
        struct moat_stats s;
        if (moat_stats_read(&ss_hdr, &s) != 0) {
            retried++;
            continue;
        }
        const uint32_t *w = (const uint32_t *)(const void *)&s;
        for (size_t i = 1; i < MOAT_STATS_WORDS; i++)
            ck_assert_msg(w[i] == w[0], "torn snapshot: word %zu is %u, word 0 is %u", i,
                          w[i], w[0]);
        ck_assert_uint_ge(w[0], last);
        last = w[0];
        kept++;
    }
    pthread_join(t, NULL);
    ck_assert_uint_eq(last, SS_SNAPS);
    ck_assert_uint_gt(kept, 1);     /* copies were kept while the writer ran */
    fprintf(stderr, "stats snapshots: %u kept, %u refused as in flux\n", kept, retried);
}
END_TEST

START_TEST(stats_snapshot_refused_while_written)
{
    struct moat_stats s, out;
    memset(&ss_hdr, 0, sizeof ss_hdr);
    ss_fill(&s, 7);
    moat_stats_publish(&ss_hdr, &s);
    ck_assert_int_eq(moat_stats_read(&ss_hdr, &out), 0);
    ck_assert_mem_eq(&out, &s, sizeof s);
    ck_assert_uint_eq(atomic_load(&ss_hdr.stats_seq) & 1u, 0);
    /* A writer stopped half way (odd sequence): no copy is kept. */
    atomic_fetch_add(&ss_hdr.stats_seq, 1);
    ck_assert_int_eq(moat_stats_read(&ss_hdr, &out), MOAT_E_AGAIN);
    atomic_fetch_add(&ss_hdr.stats_seq, 1);
    ck_assert_int_eq(moat_stats_read(&ss_hdr, &out), 0);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats_snapshot");
    TCase *tc = tcase_create("seqlock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stats_snapshot_refused_while_written);
    tcase_add_test(tc, stats_snapshot_never_torn);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(stats_suite)
