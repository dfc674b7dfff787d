/* SPDX-License-Identifier: MIT */
/*
 * What one hand-off between two processes costs on this machine: the
 * floor under every boundary crossing of the factored backends, measured
 * without moat. Two processes pass a turn back and forth N times through
 * a word in shared memory; one line per way of waiting:
 *
 *   yield        spin on the word, sched_yield() between looks (what
 *                moat's domains and applications do while idle-waiting)
 *   futex        sleep on the word (FUTEX_WAIT), the other side wakes it
 *   pipe         block in read() on a pipe, the other side write()s
 *   spin         spin on the word with the pause instruction, no system
 *                call (only meaningful on two CPUs: on one it waits for
 *                the scheduler's tick)
 *
 * each with both parties on one CPU ("same CPU": every turn is a context
 * switch) and on two ("two CPUs": a wake-up across CPUs, or none for
 * spin). The parties are two processes, as moat's domains are; the
 * "thread" rows repeat yield and futex with two threads of one process,
 * as in the thread backend, where a switch keeps the address space.
 * Prints microseconds per one-way hand-off (half a round trip), the
 * median of REPS repetitions.
 *
 *   cc -O2 -pthread -o handoff bench/handoff.c && ./handoff [N] [REPS]
 *
 * bench/backends.sh's round trips cross 2 such hand-offs more in the
 * factored backends than in thread (docs/backends-compare.md, "the
 * floor"); this program gives their price.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum how { H_YIELD, H_FUTEX, H_PIPE, H_SPIN };

static const struct row {
    const char *name;
    enum how h;
    int threads;
} rows[] = {
    { "yield", H_YIELD, 0 }, { "futex", H_FUTEX, 0 }, { "pipe", H_PIPE, 0 },
    { "spin", H_SPIN, 0 }, { "yield, thread", H_YIELD, 1 }, { "futex, thread", H_FUTEX, 1 },
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        perror("handoff: sched_setaffinity");
        exit(2);
    }
}

/* One step of a busy wait that makes no system call. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Wait until *turn == want. */
static void await(enum how h, _Atomic uint32_t *turn, uint32_t want, int rfd)
{
    char b;
    switch (h) {
    case H_PIPE:
        if (read(rfd, &b, 1) != 1)
            exit(3);
        return;
    case H_FUTEX:
        for (uint32_t v; (v = atomic_load(turn)) != want;)
            futex_wait(turn, v);
        return;
    case H_YIELD:
        while (atomic_load(turn) != want)
            sched_yield();
        return;
    case H_SPIN:
        while (atomic_load(turn) != want)
            cpu_relax();
        return;
    }
}

static void give(enum how h, _Atomic uint32_t *turn, uint32_t val, int wfd)
{
    char b = 0;
    if (h == H_PIPE) {
        if (write(wfd, &b, 1) != 1)
            exit(3);
        return;
    }
    atomic_store(turn, val);
    if (h == H_FUTEX)
        futex_wake(turn);
}

struct side {
    enum how h;
    _Atomic uint32_t *turn;
    int rfd, wfd, cpu;
    unsigned n;
};

/* The answering side: wait for each odd turn, give the next even one. */
static void *answer(void *arg)
{
    const struct side *sd = arg;
    pin(sd->cpu);
    for (unsigned i = 0; i < sd->n; i++) {
        await(sd->h, sd->turn, 2 * i + 1, sd->rfd);
        give(sd->h, sd->turn, 2 * i + 2, sd->wfd);
    }
    return NULL;
}

/* Microseconds per one-way hand-off (exits on a set-up failure);
 * @p threads: the answering side is a thread, not a process. */
static double one_run(enum how h, int cpu_a, int cpu_b, unsigned n, int threads)
{
    _Atomic uint32_t *turn = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int ab[2], ba[2];
    if (turn == MAP_FAILED || pipe(ab) != 0 || pipe(ba) != 0) {
        perror("handoff: set-up");
        exit(2);
    }
    atomic_store(turn, 0);
    struct side sd = { .h = h, .turn = turn, .rfd = ab[0], .wfd = ba[1], .cpu = cpu_b, .n = n };
    pthread_t th;
    pid_t pid = -1;
    if (threads) {
        if (pthread_create(&th, NULL, answer, &sd) != 0) {
            fprintf(stderr, "handoff: cannot start a thread\n");
            exit(2);
        }
    } else {
        pid = fork();
        if (pid < 0) {
            perror("handoff: fork");
            exit(2);
        }
        if (pid == 0) {
            answer(&sd);
            _exit(0);
        }
    }
    pin(cpu_a);
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        give(h, turn, 2 * i + 1, ab[1]);
        await(h, turn, 2 * i + 2, ba[0]);
    }
    double t1 = now_s();
    int st;
    if (threads)
        pthread_join(th, NULL);
    else
        waitpid(pid, &st, 0);
    munmap((void *)turn, 4096);
    close(ab[0]);
    close(ab[1]);
    close(ba[0]);
    close(ba[1]);
    return (t1 - t0) * 1e6 / (2.0 * n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000u;
    unsigned reps = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 5u;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double v[64];

    if (n == 0 || reps == 0 || reps > 64) {
        fprintf(stderr, "usage: handoff [ROUND_TRIPS > 0] [REPS 1..64]\n");
        return 2;
    }
    printf("handoff: %u round trips, median of %u, microseconds per one-way hand-off\n",
           n, reps);
    printf("%-14s %10s %10s\n", "how", "same CPU", "two CPUs");
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
        enum how h = rows[ri].h;
        double med[2] = { -1, -1 };
        for (int cross = 0; cross < 2; cross++) {
            if (cross && ncpu < 2)
                continue;
            if (h == H_SPIN && !cross)
                continue;   /* would wait for the tick, not measure a hand-off */
            for (unsigned r = 0; r < reps; r++)
                v[r] = one_run(h, 0, cross ? 1 : 0, n, rows[ri].threads);
            qsort(v, reps, sizeof v[0], cmp_double);
            med[cross] = v[reps / 2];
        }
        printf("%-14s", rows[ri].name);
        for (int c = 0; c < 2; c++) {
            if (med[c] < 0)
                printf(" %10s", "-");
            else
                printf(" %10.2f", med[c]);
        }
        printf("\n");
    }
    return 0;
}
