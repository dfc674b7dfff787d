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
 *
 * The same for the link ring's counters, which each domain publishes in
 * the frame region's header with the same protocol
 * (linkring_counters_publish / linkring_counters_read).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "link/linkring.h"
#include "core/boundary.h"
#include "support/check_main.h"
#include "support/itest.h"

#define SS_SNAPS    300000u
#define SS_LIMIT_US 20000000u

static struct moat_region_hdr ss_hdr;
static struct linkring_hdr ss_lhdr;
static _Atomic int ss_done;
#define SS_LWORDS (sizeof(struct linkring_counters) / sizeof(uint32_t))

static void ss_fill(struct moat_stats *s, uint32_t v)
{
    uint32_t *w = (uint32_t *)(void *)s;
    for (size_t i = 0; i < MOAT_STATS_WORDS; i++)
        w[i] = v;
}

/* One snapshot numbered @p v of the block under test: the stats (@p link
 * 0) or the link side's counters (1). */
static void ss_publish(int link, uint32_t v)
{
    struct moat_stats s;
    if (!link) {
        ss_fill(&s, v);
        moat_stats_publish(&ss_hdr, &s);
        return;
    }
    uint32_t w[SS_LWORDS];
    for (size_t i = 0; i < SS_LWORDS; i++)
        w[i] = v;
    struct linkring_counters c;
    memcpy(&c, w, sizeof c);
    linkring_counters_publish(&ss_lhdr, 1, &c);
}

/* One attempt to copy it: 0 and the words in @p w (@p n of them). */
static int ss_read(int link, uint32_t *w, size_t *n)
{
    if (!link) {
        *n = MOAT_STATS_WORDS;
        return moat_stats_read(&ss_hdr, (struct moat_stats *)(void *)w);
    }
    struct linkring_counters c;
    *n = SS_LWORDS;
    int rc = linkring_counters_read(&ss_lhdr, 1, &c, 1);
    memcpy(w, &c, sizeof c);
    return rc;
}

static void *ss_writer(void *arg)
{
    int link = *(const int *)arg;
    for (uint32_t v = 1; v <= SS_SNAPS; v++) {
        ss_publish(link, v);
        /* A gap between snapshots about as long as one (not a sleep: it
         * only lets the reader finish some copies as well as tear some). */
        for (volatile unsigned k = 0; k < 2000; k++)
            ;
    }
    atomic_store(&ss_done, 1);
    return NULL;
}

/* _i: 0 the stats, 1 the link counters (a loop test) */
START_TEST(stats_snapshot_never_torn)
{
    pthread_t t;
    int link = _i;
    memset(&ss_hdr, 0, sizeof ss_hdr);
    memset(&ss_lhdr, 0, sizeof ss_lhdr);
    atomic_store(&ss_done, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, ss_writer, &link), 0);
    uint64_t end = itest_now_us() + SS_LIMIT_US;
    uint32_t last = 0;
    unsigned kept = 0, retried = 0;
    while (last < SS_SNAPS && itest_now_us() < end) {
        uint32_t w[MOAT_STATS_WORDS + SS_LWORDS];
        size_t n;
        if (ss_read(link, w, &n) != 0) {
            retried++;
            continue;
        }
        for (size_t i = 1; i < n; i++)
            ck_assert_msg(w[i] == w[0], "torn snapshot: word %zu is %u, word 0 is %u", i,
                          w[i], w[0]);
        ck_assert_uint_ge(w[0], last);
        last = w[0];
        kept++;
    }
    pthread_join(t, NULL);
    ck_assert_uint_eq(last, SS_SNAPS);
    ck_assert_uint_gt(kept, 1);     /* copies were kept while the writer ran */
    fprintf(stderr, "%s snapshots: %u kept, %u refused as in flux\n",
            link ? "link counter" : "stats", kept, retried);
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

START_TEST(link_counters_refused_while_written)
{
    struct linkring_counters c, out;
    memset(&ss_lhdr, 0, sizeof ss_lhdr);
    memset(&c, 0, sizeof c);
    c.frames = 0x100000002ull;      /* both halves of a 64-bit counter */
    c.bad[LINKRING_BAD_DUP] = 5;
    linkring_counters_publish(&ss_lhdr, 0, &c);
    ck_assert_int_eq(linkring_counters_read(&ss_lhdr, 0, &out, 1), 0);
    ck_assert_mem_eq(&out, &c, sizeof c);
    /* the other side's block is separate */
    ck_assert_int_eq(linkring_counters_read(&ss_lhdr, 1, &out, 1), 0);
    ck_assert_uint_eq(out.frames, 0);
    /* A net side stopped half way: every attempt is refused. */
    atomic_fetch_add(&ss_lhdr.net_cnt_seq, 1);
    ck_assert_int_eq(linkring_counters_read(&ss_lhdr, 0, &out, 1000), MOAT_E_AGAIN);
    atomic_fetch_add(&ss_lhdr.net_cnt_seq, 1);
    ck_assert_int_eq(linkring_counters_read(&ss_lhdr, 0, &out, 1), 0);
    ck_assert_uint_eq(out.frames, 0x100000002ull);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats_snapshot");
    TCase *tc = tcase_create("seqlock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stats_snapshot_refused_while_written);
    tcase_add_test(tc, link_counters_refused_while_written);
    tcase_add_loop_test(tc, stats_snapshot_never_torn, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(stats_suite)
