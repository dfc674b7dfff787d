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
 * One step of a spin-wait. sched_yield(), not a pause instruction: the
 * thread we wait for (the net domain, the peer's application) often needs
 * this very CPU. Measured on a 2-core machine, two stacks over the wire,
 * 1-byte UDP request/response: pause-spinning gave 150 us per round trip
 * (worse than not spinning at all, 60-90 us), yield-spinning 10 us. With
 * idle cores the call returns at once and costs like a slow pause. It is
 * only made while idle-waiting, never per packet.
 *
 * sched_yield() hands the CPU only to tasks of the caller's own
 * scheduling group (cgroup, or session under autogroup): the factored
 * backends rely on the application and its domains sharing one (see the
 * supervisor's sv_spawn; docs/backends-compare.md, "Finding 2").
 */
static inline void wake_relax(void)
{
    sched_yield();
}

#endif
