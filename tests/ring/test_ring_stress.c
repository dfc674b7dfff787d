/* SPDX-License-Identifier: MIT */
/*
 * Two sides hammer one moat_ring (core/ring.h) with variable-length records
 * whose every byte is a function of the record number, so any lost,
 * duplicated, reordered or torn byte fails the check. Once as two threads
 * (what ThreadSanitizer can see: build with -DMOAT_SANITIZE=thread) and
 * once as two processes over MAP_SHARED memory (what the factored backends
 * do). The ring is small (256 bytes) so that it wraps and fills constantly.
 *
 * Every wait is bounded: a side that makes no progress for RS_STALL_US
 * gives up and the test fails instead of hanging.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/ring.h"
#include "support/check_main.h"
#include "support/itest.h"

#define RS_CAP      256u
#define RS_RECORDS  400000u
#define RS_MAXLEN   61u
#define RS_STALL_US 10000000u   /* 10 s without progress: broken */

struct rs_shared {
    struct moat_ring_sh sh;
    uint8_t data[RS_CAP];
};

static uint32_t rs_len(uint32_t i) { return 1 + (i * 2654435761u >> 7) % RS_MAXLEN; }
static uint8_t rs_byte(uint32_t i, uint32_t k) { return (uint8_t)(i * 131u + k * 7u + 1u); }

/* Returns 0 on success, else the record number that failed + 1. */
static uint32_t rs_produce(struct rs_shared *s)
{
    struct moat_ring r;
    uint8_t rec[4 + RS_MAXLEN];
    if (moat_ring_attach(&r, &s->sh, s->data, RS_CAP, 0) != 0)
        return 1;
    for (uint32_t i = 0; i < RS_RECORDS; i++) {
        uint32_t len = rs_len(i), space = 0;
        uint64_t since = itest_now_us();
        for (;;) {
            if (moat_ring_space(&r, &space) != 0)
                return i + 1;
            if (space >= 4 + len)
                break;
            if (itest_now_us() - since > RS_STALL_US)
                return i + 1;
            sched_yield();
        }
        rec[0] = (uint8_t)len;
        rec[1] = (uint8_t)i;
        rec[2] = (uint8_t)(i >> 8);
        rec[3] = (uint8_t)(i >> 16);
        for (uint32_t k = 0; k < len; k++)
            rec[4 + k] = rs_byte(i, k);
        /* Header and payload in two puts, one publish: the consumer must
         * never see a header without its payload. */
        moat_ring_put(&r, 0, rec, 4);
        moat_ring_put(&r, 4, rec + 4, len);
        moat_ring_publish(&r, 4 + len);
    }
    return 0;
}

static uint32_t rs_consume(struct rs_shared *s)
{
    struct moat_ring r;
    uint8_t rec[4 + RS_MAXLEN];
    if (moat_ring_attach(&r, &s->sh, s->data, RS_CAP, 0) != 0)
        return 1;
    for (uint32_t i = 0; i < RS_RECORDS; i++) {
        uint32_t len = rs_len(i), avail = 0;
        uint64_t since = itest_now_us();
        for (;;) {
            if (moat_ring_avail(&r, &avail) != 0)
                return i + 1;
            if (avail >= 4)
                break;
            if (itest_now_us() - since > RS_STALL_US)
                return i + 1;
            sched_yield();
        }
        moat_ring_get(&r, 0, rec, 4);
        if (rec[0] != len || rec[1] != (uint8_t)i || rec[2] != (uint8_t)(i >> 8) ||
            rec[3] != (uint8_t)(i >> 16))
            return i + 1;
        if (avail < 4 + len)    /* published together: must all be there */
            return i + 1;
        moat_ring_get(&r, 4, rec + 4, len);
        for (uint32_t k = 0; k < len; k++)
            if (rec[4 + k] != rs_byte(i, k))
                return i + 1;
        moat_ring_consume(&r, 4 + len);
    }
    uint32_t avail = 0;
    if (moat_ring_avail(&r, &avail) != 0 || avail != 0)
        return RS_RECORDS + 1;
    return 0;
}

static struct rs_shared *rs_map(void)
{
    struct rs_shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(s, MAP_FAILED);
    moat_ring_reset(&s->sh);
    return s;
}

static void *rs_producer_thread(void *arg)
{
    return (void *)(uintptr_t)rs_produce(arg);
}

START_TEST(ring_stress_two_threads)
{
    struct rs_shared *s = rs_map();
    pthread_t t;
    void *pres;
    ck_assert_int_eq(pthread_create(&t, NULL, rs_producer_thread, s), 0);
    uint32_t cres = rs_consume(s);
    pthread_join(t, &pres);
    ck_assert_uint_eq((uint32_t)(uintptr_t)pres, 0);
    ck_assert_uint_eq(cres, 0);
    munmap(s, sizeof *s);
}
END_TEST

START_TEST(ring_stress_two_processes)
{
    struct rs_shared *s = rs_map();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(rs_produce(s) == 0 ? 0 : 1);
    uint32_t cres = rs_consume(s);
    int status = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_uint_eq(cres, 0);
    munmap(s, sizeof *s);
}
END_TEST

static Suite *ring_stress_suite(void)
{
    Suite *s = suite_create("ring_stress");
    TCase *tc = tcase_create("stress");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ring_stress_two_threads);
    tcase_add_test(tc, ring_stress_two_processes);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(ring_stress_suite)
