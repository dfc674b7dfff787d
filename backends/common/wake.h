/* SPDX-License-Identifier: MIT */
/*
 * Wake-ups across the socket boundary (hosted Linux backends): the futex
 * on the region's app_seq word that application threads sleep on, and the
 * net domain's eventfd doorbell. Shared by client.c (app side), netloop.c
 * (net side) and the backends' supervisors.
 *
 * The futex calls are the shared (not PRIVATE) kind: in the factored
 * backends the word lives in a memfd mapped by several processes, and a
 * private futex would key on this process's address space only.
 *
 * Does not decide when to wake (see the protocols in client.c and
 * netloop.c); only how.
 */
#ifndef MOAT_WAKE_H
#define MOAT_WAKE_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "core/boundary.h"

/* Sleep while *w == val, at most @p rel_us microseconds.
 * Returns 0 (woken, or the value had changed), or MOAT_E_AGAIN on timeout. */
static inline int wake_futex_wait(_Atomic uint32_t *w, uint32_t val, uint64_t rel_us)
{
    struct timespec ts = { .tv_sec = (time_t)(rel_us / 1000000u),
                           .tv_nsec = (long)(rel_us % 1000000u) * 1000 };
    long r = syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, &ts, NULL, 0);
    if (r < 0 && errno == ETIMEDOUT)
        return MOAT_E_AGAIN;
    return 0;   /* woken, EAGAIN (value changed) or EINTR: the caller re-checks */
}

static inline void wake_futex_wake_all(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * Net side: tell application threads that something they may wait for has
 * changed. The change itself (ring index, status word) was published with
 * a release store before this call. Lost-wake-up argument: a waiter reads
 * app_seq, re-checks its condition after incrementing app_waiters, then
 * sleeps only while app_seq is unchanged. Our increment and the load of
 * app_waiters are seq_cst, so either the waiter's increment of app_waiters
 * precedes our load (we see it and wake the futex), or our app_seq
 * increment precedes its waiters increment, and then its futex_wait sees a
 * new app_seq and returns at once.
 */
static inline void wake_app(struct moat_region_hdr *hdr)
{
    atomic_fetch_add_explicit(&hdr->app_seq, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&hdr->app_waiters, memory_order_seq_cst) != 0)
        wake_futex_wake_all(&hdr->app_seq);
}

/* Ring an eventfd doorbell. A full counter (EAGAIN) already means "wake". */
static inline void wake_doorbell(int efd)
{
    uint64_t one = 1;
    ssize_t r = write(efd, &one, sizeof(one));
    (void)r;
}

/* Empty an eventfd doorbell (non-blocking fd). */
static inline void wake_doorbell_drain(int efd)
{
    uint64_t v;
    ssize_t r = read(efd, &v, sizeof(v));
    (void)r;
}

/*
 * Spin-waiting (client.c, netloop.c, linkd.c), and when to give it up.
 *
 * Each step of a spin is a sched_yield(), not a pause instruction: the
 * task we wait for (the net domain, the link domain, the peer's
 * application) often needs this very CPU. Measured on a 2-core machine,
 * two stacks over the wire, 1-byte UDP request/response: pause-spinning
 * gave 150 us per round trip (worse than not spinning at all, 60-90 us),
 * yield-spinning 10 us. It is only made while idle-waiting, never per
 * packet.
 *
 * Spinning pays only while this CPU has nothing better to do: then a
 * sched_yield() returns at once (about 0.6 us here) and the spinner sees
 * the awaited index change without any wake-up. When another runnable task
 * shares the CPU, every yield runs that task first (a yield then takes 3 us
 * or more), and with three or four parties on one CPU, the application, the
 * net domain, the link domain and the peer, the spinners take turns in
 * round-robin order, most turns finding nothing. Measured on the 2-CPU VM,
 * where the scheduler packs all of them onto one CPU: 8 to 12 context
 * switches per round trip, half of them turns of a spinner with no work.
 * So a yield that took longer than WAKE_CROWDED_NS counts as "someone else
 * needed this CPU", and after WAKE_CROWDED_MAX such yields in a row the
 * spinner stops and goes to sleep: whoever has its work rings its doorbell
 * (the sleeping protocols are unchanged), and until then it is not in the
 * way. A spinner alone on its CPU (the other parties elsewhere) keeps
 * spinning for the whole budget, as before.
 *
 * Time comes from CLOCK_MONOTONIC through the vDSO: no system call besides
 * the yield itself (the seccomp allow-lists already hold both).
 */
#ifndef WAKE_CROWDED_NS
#define WAKE_CROWDED_NS  1500u   /* a yield this long ran another task */
#endif
#ifndef WAKE_CROWDED_MAX
#define WAKE_CROWDED_MAX 2u      /* crowded yields in a row before sleeping */
#endif

struct wake_spin {
    uint64_t end_ns;             /* the budget (cfg.spin_us) ends here */
    unsigned crowded;            /* crowded yields in a row */
    unsigned crowded_max;        /* 0: never give up early */
};

static inline uint64_t wake_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void wake_spin_start(struct wake_spin *s, uint32_t spin_us)
{
    s->end_ns = spin_us ? wake_now_ns() + (uint64_t)spin_us * 1000u : 0;
    s->crowded = 0;
    s->crowded_max = WAKE_CROWDED_MAX;
}

/* One step of the spin: yield, then say whether to keep spinning (1) or to
 * go to sleep (0: the budget is spent or the CPU is crowded). */
static inline int wake_spin_step(struct wake_spin *s)
{
    uint64_t t0 = wake_now_ns(), t1;

    if (t0 >= s->end_ns)
        return 0;
    sched_yield();
    t1 = wake_now_ns();
    if (t1 - t0 > WAKE_CROWDED_NS) {
        if (s->crowded_max && ++s->crowded >= s->crowded_max)
            return 0;
    } else {
        s->crowded = 0;
    }
    return t1 < s->end_ns;
}

#endif
