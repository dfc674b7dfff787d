/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory wire (ports/linux/wire.c): two ends in one process
 * (and one test with two processes), frames both ways, attach rules, the
 * doorbell, every impairment at a fixed seed, a full ring, and a hostile
 * peer scribbling over the shared file.
 *
 * Time: impairment tests that involve delay use the wire's clock hook and
 * a virtual clock; nothing here sleeps. Waits for the doorbell are poll()
 * calls with a bounded timeout.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ports/linux/linux_link.h"
#include "support/check_main.h"

#define N_IMPAIR 2000u
#define BATCH 100u

static char tmpdir[64];
static char wpath[PATH_MAX];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/moat-wire-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(wpath, sizeof wpath, "%s/wire", tmpdir);
}

static void teardown(void)
{
    moat_wire_unlink(wpath);
    rmdir(tmpdir);
}

/* Frame k: length 60 + k % 200, sequence number in the first 4 bytes,
 * then a pattern that depends on k and the position. */
static size_t frame_len(uint32_t k)
{
    return 60u + k % 200u;
}

static void frame_fill(uint8_t *buf, uint32_t k)
{
    size_t len = frame_len(k);
    memcpy(buf, &k, 4);
    for (size_t i = 4; i < len; i++)
        buf[i] = (uint8_t)(k * 31u + i * 7u);
}

static int send_frame(struct moat_link *l, uint32_t k)
{
    uint8_t *buf;
    size_t cap;
    ck_assert_int_eq(l->ops->tx_acquire(l, &buf, &cap), 0);
    ck_assert_uint_ge(cap, (size_t)l->mtu + 14u);
    frame_fill(buf, k);
    return l->ops->tx_commit(l, frame_len(k));
}

/* Bytes by which @p f (of @p len) differs from the frame its first four
 * bytes name; SIZE_MAX if the length does not fit any frame. */
static size_t frame_diff(const uint8_t *f, size_t len, uint32_t *seq_out)
{
    uint32_t k;
    memcpy(&k, f, 4);
    *seq_out = k;
    if (k >= 100000u || frame_len(k) != len)
        return SIZE_MAX;
    uint8_t ref[300];
    frame_fill(ref, k);
    size_t d = 0;
    for (size_t i = 0; i < len; i++)
        d += f[i] != ref[i];
    return d;
}

struct rx_log {
    uint32_t n;
    uint32_t seq[3 * N_IMPAIR];
    size_t diff[3 * N_IMPAIR];
};

/* Take everything receivable now from @p l (bounded). */
static void drain(struct moat_link *l, struct rx_log *log)
{
    for (unsigned i = 0; i < 4 * WIRE_SLOTS; i++) {
        const uint8_t *f;
        size_t len;
        if (l->ops->rx_acquire(l, &f, &len) != 0)
            return;
        ck_assert_uint_lt(log->n, 3 * N_IMPAIR);
        uint32_t k = UINT32_MAX;
        size_t d;
        if (len < 4) {
            d = SIZE_MAX;
        } else {
            d = frame_diff(f, len, &k);
        }
        /* A corrupted sequence number: look up the frame by position
         * instead (only the corruption test sees these). */
        log->seq[log->n] = k;
        log->diff[log->n] = d;
        log->n++;
        l->ops->rx_release(l);
    }
    ck_abort_msg("drain did not end");
}

static void open_pair(struct moat_link **a, struct moat_link **b,
                      const struct moat_impair *imp_a)
{
    ck_assert_int_eq(moat_wire_link(wpath, imp_a, 1500, a), 0);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, b), 0);
}

static struct moat_link_counters counters(struct moat_link *l)
{
    struct moat_link_counters c;
    ck_assert_int_eq(moat_linux_link_counters(l, &c), 0);
    return c;
}

START_TEST(test_wire_both_directions)
{
    struct moat_link *a, *b;
    open_pair(&a, &b, NULL);
    struct rx_log *log = calloc(1, sizeof *log);
    for (uint32_t k = 0; k < 50; k++)
        ck_assert_int_eq(send_frame(a, k), 0);
    a->ops->flush(a);
    drain(b, log);
    ck_assert_uint_eq(log->n, 50);
    for (uint32_t i = 0; i < 50; i++) {
        ck_assert_uint_eq(log->seq[i], i);
        ck_assert_uint_eq(log->diff[i], 0);
    }
    log->n = 0;
    for (uint32_t k = 1000; k < 1040; k++)
        ck_assert_int_eq(send_frame(b, k), 0);
    b->ops->flush(b);
    drain(a, log);
    ck_assert_uint_eq(log->n, 40);
    for (uint32_t i = 0; i < 40; i++) {
        ck_assert_uint_eq(log->seq[i], 1000 + i);
        ck_assert_uint_eq(log->diff[i], 0);
    }
    /* Nothing came back on the sender's own side. */
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(a->ops->rx_acquire(a, &f, &len), MOAT_E_AGAIN);
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), MOAT_E_AGAIN);
    /* len 0 abandons a buffer: nothing is sent. */
    uint8_t *buf;
    size_t cap;
    ck_assert_int_eq(a->ops->tx_acquire(a, &buf, &cap), 0);
    ck_assert_int_eq(a->ops->tx_commit(a, 0), 0);
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), MOAT_E_AGAIN);
    struct moat_link_counters ca = counters(a), cb = counters(b);
    ck_assert_uint_eq(ca.tx_frames, 50);
    ck_assert_uint_eq(cb.rx_frames, 50);
    ck_assert_uint_eq(cb.tx_frames, 40);
    ck_assert_uint_eq(ca.rx_frames, 40);
    ck_assert_uint_eq(ca.rx_bad + cb.rx_bad, 0);
    /* Short frames are carried too (the core counts runts). */
    ck_assert_int_eq(a->ops->tx_acquire(a, &buf, &cap), 0);
    buf[0] = 0x42;
    ck_assert_int_eq(a->ops->tx_commit(a, 1), 0);
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), 0);
    ck_assert_uint_eq(len, 1);
    ck_assert_uint_eq(f[0], 0x42);
    b->ops->rx_release(b);
    /* A jumbo frame at the largest MTU the wire takes. */
    a->ops->close(a);
    b->ops->close(b);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 9000, &a), 0);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 9000, &b), 0);
    ck_assert_int_eq(a->ops->tx_acquire(a, &buf, &cap), 0);
    ck_assert_uint_ge(cap, 9014);
    memset(buf, 0x5a, 9014);
    ck_assert_int_eq(a->ops->tx_commit(a, 9014), 0);
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), 0);
    ck_assert_uint_eq(len, 9014);
    ck_assert_uint_eq(f[9013], 0x5a);
    a->ops->close(a);
    b->ops->close(b);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 9300, &a), MOAT_E_INVAL);
    free(log);
}
END_TEST

START_TEST(test_wire_attach_rules)
{
    struct moat_link *a, *b, *c = NULL;
    open_pair(&a, &b, NULL);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &c), MOAT_E_ADDRINUSE);
    ck_assert_ptr_null(c);
    /* B leaves, a new B joins and continues where the old one stopped. */
    ck_assert_int_eq(send_frame(a, 7), 0);
    b->ops->close(b);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &b), 0);
    ck_assert_int_eq(send_frame(a, 8), 0);
    struct rx_log *log = calloc(1, sizeof *log);
    drain(b, log);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_uint_eq(log->seq[0], 7);
    ck_assert_uint_eq(log->seq[1], 8);
    a->ops->close(a);
    b->ops->close(b);
    /* Both gone: the next opener starts a clean wire. */
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &a), 0);
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(a->ops->rx_acquire(a, &f, &len), MOAT_E_AGAIN);
    a->ops->close(a);
    /* Errors: no such directory, empty path. */
    char bad[PATH_MAX];
    snprintf(bad, sizeof bad, "%s/missing/wire", tmpdir);
    ck_assert_int_eq(moat_wire_link(bad, NULL, 1500, &a), MOAT_E_IO);
    ck_assert_int_eq(moat_wire_link("", NULL, 1500, &a), MOAT_E_INVAL);
    free(log);
}
END_TEST

/* An end whose process died without detaching (here: still a zombie) is
 * released by the next opener (the file's attach word is stale). */
START_TEST(test_wire_stale_end)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct moat_link *l;
        _exit(moat_wire_link(wpath, NULL, 1500, &l) == 0 ? 0 : 1);   /* no close */
    }
    /* Wait for its exit but leave it a zombie (WNOWAIT): a supervisor
     * may restart a link domain before reaping the dead one. */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    ck_assert_int_eq(si.si_status, 0);
    struct moat_link *a, *b, *c;
    open_pair(&a, &b, NULL);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &c), MOAT_E_ADDRINUSE);
    ck_assert_int_eq(send_frame(a, 1), 0);
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), 0);
    a->ops->close(a);
    b->ops->close(b);
}
END_TEST

START_TEST(test_wire_doorbell)
{
    struct moat_link *a, *b;
    open_pair(&a, &b, NULL);
    int fd = b->ops->wait_fd(b);
    ck_assert_int_ge(fd, 0);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    /* Receiver not asleep: the sender publishes without a system call. */
    ck_assert_int_eq(send_frame(a, 1), 0);
    a->ops->flush(a);
    ck_assert_uint_eq(counters(a).notify_sent, 0);
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    /* arm() with a frame waiting says "don't sleep". */
    ck_assert_int_ne(b->ops->arm(b), 0);
    struct rx_log *log = calloc(1, sizeof *log);
    drain(b, log);
    ck_assert_uint_eq(log->n, 1);
    /* Empty: arm, sleep; a batch of 20 frames rings exactly once. */
    ck_assert_int_eq(b->ops->arm(b), 0);
    for (uint32_t k = 0; k < 20; k++)
        ck_assert_int_eq(send_frame(a, k), 0);
    ck_assert_int_eq(poll(&p, 1, 0), 0);      /* nothing before flush */
    a->ops->flush(a);
    ck_assert_int_eq(poll(&p, 1, 1000), 1);
    ck_assert(p.revents & POLLIN);
    ck_assert_uint_eq(counters(a).notify_sent, 1);
    a->ops->flush(a);                          /* empty batch: no ring */
    ck_assert_uint_eq(counters(a).notify_sent, 1);
    log->n = 0;
    drain(b, log);
    ck_assert_uint_eq(log->n, 20);
    /* arm() drains the FIFO, so poll no longer reports readable. */
    ck_assert_int_eq(b->ops->arm(b), 0);
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    ck_assert_int_eq(b->ops->next_due_us(b, 0), -1);
    a->ops->close(a);
    b->ops->close(b);
    free(log);
}
END_TEST

/* Send N_IMPAIR frames from an impaired A in batches, draining B after
 * each batch (the ring holds 256 slots). */
static void run_impaired(const struct moat_impair *imp, struct rx_log *log,
                         struct moat_link_counters *ca)
{
    struct moat_link *a, *b;
    open_pair(&a, &b, imp);
    for (uint32_t k = 0; k < N_IMPAIR; k++) {
        ck_assert_int_eq(send_frame(a, k), 0);
        if ((k + 1) % BATCH == 0) {
            a->ops->flush(a);
            drain(b, log);
        }
    }
    a->ops->flush(a);
    drain(b, log);
    *ca = counters(a);
    ck_assert_uint_eq(ca->tx_full, 0);
    ck_assert_uint_eq(counters(b).rx_bad, 0);
    a->ops->close(a);
    b->ops->close(b);
}

START_TEST(test_wire_impair_loss)
{
    struct moat_impair imp = { .loss_ppm = 100000, .seed = 1 };
    struct rx_log *log = calloc(1, sizeof *log);
    struct moat_link_counters ca;
    run_impaired(&imp, log, &ca);
    ck_assert_uint_ge(log->n, 1700);
    ck_assert_uint_le(log->n, 1900);
    ck_assert_uint_eq(ca.imp_lost + log->n, N_IMPAIR);
    for (uint32_t i = 0; i < log->n; i++) {
        ck_assert_uint_eq(log->diff[i], 0);
        if (i > 0)
            ck_assert_uint_gt(log->seq[i], log->seq[i - 1]);
    }
    /* Same seed, same decisions. */
    struct rx_log *again = calloc(1, sizeof *again);
    run_impaired(&imp, again, &ca);
    ck_assert_uint_eq(again->n, log->n);
    ck_assert_mem_eq(again->seq, log->seq, log->n * sizeof log->seq[0]);
    free(log);
    free(again);
}
END_TEST

START_TEST(test_wire_impair_dup)
{
    struct moat_impair imp = { .dup_ppm = 100000, .seed = 2 };
    struct rx_log *log = calloc(1, sizeof *log);
    struct moat_link_counters ca;
    run_impaired(&imp, log, &ca);
    ck_assert_uint_ge(log->n, 2100);
    ck_assert_uint_le(log->n, 2300);
    ck_assert_uint_eq(log->n, N_IMPAIR + ca.imp_dup);
    /* Every frame arrives, in order, duplicates right behind the original. */
    uint32_t next = 0, dups = 0;
    for (uint32_t i = 0; i < log->n; i++) {
        ck_assert_uint_eq(log->diff[i], 0);
        if (i > 0 && log->seq[i] == log->seq[i - 1]) {
            dups++;
            continue;
        }
        ck_assert_uint_eq(log->seq[i], next);
        next++;
    }
    ck_assert_uint_eq(next, N_IMPAIR);
    ck_assert_uint_eq(dups, ca.imp_dup);
    free(log);
}
END_TEST

START_TEST(test_wire_impair_reorder)
{
    struct moat_impair imp = { .reorder_ppm = 100000, .seed = 3 };
    struct rx_log *log = calloc(1, sizeof *log);
    struct moat_link_counters ca;
    run_impaired(&imp, log, &ca);
    ck_assert_uint_eq(log->n, N_IMPAIR);
    static uint8_t seen[N_IMPAIR];
    uint32_t inversions = 0;
    for (uint32_t i = 0; i < log->n; i++) {
        ck_assert_uint_eq(log->diff[i], 0);
        ck_assert_uint_lt(log->seq[i], N_IMPAIR);
        ck_assert_uint_eq(seen[log->seq[i]], 0);
        seen[log->seq[i]] = 1;
        if (i > 0 && log->seq[i] < log->seq[i - 1])
            inversions++;
    }
    /* ~10% held back; a held frame that ended its batch is not reordered. */
    ck_assert_uint_ge(inversions, 100);
    ck_assert_uint_le(inversions, 300);
    ck_assert_uint_ge(ca.imp_reordered, inversions);
    free(log);
}
END_TEST

START_TEST(test_wire_impair_corrupt)
{
    struct moat_impair imp = { .corrupt_ppm = 100000, .seed = 4 };
    struct rx_log *log = calloc(1, sizeof *log);
    struct moat_link_counters ca;
    run_impaired(&imp, log, &ca);
    ck_assert_uint_eq(log->n, N_IMPAIR);
    uint32_t damaged = 0;
    for (uint32_t i = 0; i < log->n; i++) {
        size_t d = log->diff[i];
        if (d == SIZE_MAX || log->seq[i] != i) {
            /* The flipped byte hit the sequence number: compare with the
             * frame that was sent at this position. */
            damaged++;
            continue;
        }
        ck_assert_uint_le(d, 1);
        damaged += d;
    }
    ck_assert_uint_eq(damaged, ca.imp_corrupted);
    ck_assert_uint_ge(damaged, 100);
    ck_assert_uint_le(damaged, 300);
    free(log);
}
END_TEST

/* Position-exact check for the corruption test's edge case: with every
 * frame corrupted, each differs from what was sent in exactly one byte. */
START_TEST(test_wire_impair_corrupt_exact)
{
    struct moat_impair imp = { .corrupt_ppm = 1000000, .seed = 5 };
    struct moat_link *a, *b;
    open_pair(&a, &b, &imp);
    for (uint32_t k = 0; k < 200; k++) {
        ck_assert_int_eq(send_frame(a, k), 0);
        const uint8_t *f;
        size_t len;
        ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), 0);
        ck_assert_uint_eq(len, frame_len(k));
        uint8_t ref[300];
        frame_fill(ref, k);
        size_t d = 0;
        for (size_t i = 0; i < len; i++)
            d += f[i] != ref[i];
        ck_assert_uint_eq(d, 1);
        b->ops->rx_release(b);
    }
    a->ops->close(a);
    b->ops->close(b);
}
END_TEST

static uint64_t fake_now(void *ctx)
{
    return *(const uint64_t *)ctx;
}

START_TEST(test_wire_impair_delay)
{
    uint64_t now = 5000000;
    struct moat_impair imp = { .delay_us = 20000, .seed = 6 };
    struct moat_link *a, *b;
    open_pair(&a, &b, &imp);
    ck_assert_int_eq(moat_wire_set_clock(a, fake_now, &now), 0);
    ck_assert_int_eq(moat_wire_set_clock(b, fake_now, &now), 0);
    for (uint32_t k = 0; k < 10; k++)
        ck_assert_int_eq(send_frame(a, k), 0);
    a->ops->flush(a);
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), MOAT_E_AGAIN);
    ck_assert_int_eq(b->ops->next_due_us(b, now), 20000);
    ck_assert_int_eq(b->ops->arm(b), 0);          /* not due: may sleep */
    now += 19999;
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), MOAT_E_AGAIN);
    ck_assert_int_eq(b->ops->next_due_us(b, now), 1);
    now += 1;
    ck_assert_int_eq(b->ops->next_due_us(b, now), 0);
    ck_assert_int_ne(b->ops->arm(b), 0);
    struct rx_log *log = calloc(1, sizeof *log);
    drain(b, log);
    ck_assert_uint_eq(log->n, 10);
    ck_assert_int_eq(b->ops->next_due_us(b, now), -1);
    ck_assert_uint_eq(counters(a).imp_delayed, 10);

    /* Jitter: deliver-at spread over [delay, delay + jitter]. */
    a->ops->close(a);
    imp.jitter_us = 10000;
    ck_assert_int_eq(moat_wire_link(wpath, &imp, 1500, &a), 0);
    ck_assert_int_eq(moat_wire_set_clock(a, fake_now, &now), 0);
    uint64_t t0 = now;
    for (uint32_t k = 0; k < 100; k++)
        ck_assert_int_eq(send_frame(a, k), 0);
    a->ops->flush(a);
    log->n = 0;
    uint64_t first = 0, last = 0;
    for (int step = 0; step < 400 && log->n < 100; step++) {
        uint32_t before = log->n;
        drain(b, log);
        if (log->n > before) {
            if (first == 0)
                first = now;
            last = now;
        }
        now += 100;
    }
    ck_assert_uint_eq(log->n, 100);
    ck_assert_uint_ge(first - t0, 20000);
    ck_assert_uint_le(last - t0, 30100);
    a->ops->close(a);
    b->ops->close(b);
    free(log);
}
END_TEST

START_TEST(test_wire_full_ring)
{
    struct moat_link *a, *b;
    open_pair(&a, &b, NULL);
    uint32_t sent = 0, full = 0;
    for (uint32_t k = 0; k < WIRE_SLOTS + 44; k++) {
        int rc = send_frame(a, k);
        ck_assert(rc == 0 || rc == MOAT_E_AGAIN);
        if (rc == 0)
            sent++;
        else
            full++;
    }
    ck_assert_uint_eq(sent, WIRE_SLOTS);
    ck_assert_uint_eq(full, 44);
    ck_assert_uint_eq(counters(a).tx_full, 44);
    struct rx_log *log = calloc(1, sizeof *log);
    drain(b, log);
    ck_assert_uint_eq(log->n, WIRE_SLOTS);
    for (uint32_t i = 0; i < log->n; i++)
        ck_assert_uint_eq(log->seq[i], i);
    /* Room again. */
    ck_assert_int_eq(send_frame(a, 9), 0);
    /* The impaired path (private buffer) drops the same way. */
    a->ops->close(a);
    struct moat_impair imp = { .dup_ppm = 1000000, .seed = 7 };
    ck_assert_int_eq(moat_wire_link(wpath, &imp, 1500, &a), 0);
    for (uint32_t k = 0; k < WIRE_SLOTS; k++)
        send_frame(a, k);
    struct moat_link_counters ca = counters(a);
    ck_assert_uint_eq(ca.tx_frames + 1, WIRE_SLOTS);   /* one slot held frame 9 */
    ck_assert_uint_gt(ca.tx_full, 0);
    a->ops->close(a);
    b->ops->close(b);
    free(log);
}
END_TEST

/* The peer is hostile: it writes impossible lengths and indices into the
 * shared file. We map the file as that peer would. */
START_TEST(test_wire_hostile_peer)
{
    struct moat_link *a, *b;
    open_pair(&a, &b, NULL);
    int fd = open(wpath, O_RDWR);
    ck_assert_int_ge(fd, 0);
    void *base = mmap(NULL, WIRE_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(base, MAP_FAILED);
    close(fd);
    struct wire_file_hdr *h = base;

    for (uint32_t k = 0; k < 4; k++)
        ck_assert_int_eq(send_frame(a, k), 0);
    atomic_store(&wire_slot_at(base, 0, 1)->len, WIRE_SLOT_DATA + 1);
    atomic_store(&wire_slot_at(base, 0, 2)->len, 0xffffffffu);
    atomic_store(&wire_slot_at(base, 0, 3)->len, 0);
    struct rx_log *log = calloc(1, sizeof *log);
    drain(b, log);
    ck_assert_uint_eq(log->n, 1);
    ck_assert_uint_eq(log->seq[0], 0);
    ck_assert_uint_eq(counters(b).rx_bad, 3);

    /* A producer index far beyond the ring: read as empty, counted. */
    uint32_t cons = atomic_load(&h->dir[0].idx.cons);
    atomic_store(&h->dir[0].idx.prod, cons + 100000u);
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), MOAT_E_AGAIN);
    ck_assert_int_eq(b->ops->next_due_us(b, 0), -1);
    ck_assert_int_eq(b->ops->arm(b), 0);
    ck_assert_uint_gt(counters(b).rx_bad, 3);
    /* The peer repairs its index: traffic resumes. */
    atomic_store(&h->dir[0].idx.prod, cons);
    uint64_t bad = counters(b).rx_bad;

    /* A consumer index from nowhere on the other ring: A's sends are
     * dropped and counted, never written out of bounds. */
    uint32_t prod1 = atomic_load(&h->dir[1].idx.prod);
    atomic_store(&h->dir[1].idx.cons, prod1 + 5000u);
    ck_assert_int_eq(send_frame(b, 1), MOAT_E_AGAIN);
    ck_assert_uint_eq(counters(b).tx_full, 1);
    atomic_store(&h->dir[1].idx.cons, prod1);
    ck_assert_int_eq(send_frame(b, 2), 0);

    /* Random garbage over header indices and slot lengths: no crash, the
     * link keeps answering, every frame handed up fits a slot. */
    uint64_t x = 12345;
    for (int round = 0; round < 2000; round++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        switch (x % 4) {
        case 0: atomic_store(&h->dir[0].idx.prod, (uint32_t)(x >> 8)); break;
        case 1: atomic_store(&h->dir[0].idx.prod,
                             atomic_load(&h->dir[0].idx.cons) + (uint32_t)(x >> 40) % 300u); break;
        case 2: atomic_store(&wire_slot_at(base, 0, (uint32_t)(x >> 16))->len,
                             (uint32_t)(x >> 32) % (2 * WIRE_SLOT_DATA)); break;
        default: atomic_store(&wire_slot_at(base, 0, (uint32_t)(x >> 16))->due_us, x); break;
        }
        if (b->ops->rx_acquire(b, &f, &len) == 0) {
            ck_assert_uint_ge(len, 1);
            ck_assert_uint_le(len, WIRE_SLOT_DATA);
            b->ops->rx_release(b);
        }
        (void)b->ops->next_due_us(b, x);
        (void)b->ops->arm(b);
    }
    ck_assert_uint_gt(counters(b).rx_bad, bad);
    munmap(base, WIRE_FILE_SIZE);
    a->ops->close(a);
    b->ops->close(b);
    free(log);
}
END_TEST

/* Two processes: the child attaches as B and echoes every frame back;
 * both sides sleep in poll() on the doorbell, armed. */
START_TEST(test_wire_two_processes)
{
    struct moat_link *a;
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &a), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct moat_link *b;
        if (moat_wire_link(wpath, NULL, 1500, &b) != 0)
            _exit(2);
        uint32_t echoed = 0;
        for (int iter = 0; iter < 100000 && echoed < 300; iter++) {
            const uint8_t *f;
            size_t len;
            while (b->ops->rx_acquire(b, &f, &len) == 0) {
                uint8_t *buf;
                size_t cap;
                b->ops->tx_acquire(b, &buf, &cap);
                memcpy(buf, f, len);
                b->ops->rx_release(b);
                b->ops->tx_commit(b, len);
                echoed++;
            }
            b->ops->flush(b);
            if (echoed < 300 && !b->ops->arm(b)) {
                struct pollfd p = { .fd = b->ops->wait_fd(b), .events = POLLIN };
                if (poll(&p, 1, 5000) == 0)
                    _exit(3);
            }
        }
        b->ops->close(b);
        _exit(echoed == 300 ? 0 : 4);
    }
    struct rx_log *log = calloc(1, sizeof *log);
    uint32_t next = 0;
    for (int iter = 0; iter < 100000 && log->n < 300; iter++) {
        drain(a, log);
        /* Keep at most 50 frames in flight. */
        while (next < 300 && next < log->n + 50)
            ck_assert_int_eq(send_frame(a, next++), 0);
        a->ops->flush(a);
        if (log->n < 300 && !a->ops->arm(a)) {
            struct pollfd p = { .fd = a->ops->wait_fd(a), .events = POLLIN };
            ck_assert_int_eq(poll(&p, 1, 5000), 1);
        }
    }
    ck_assert_uint_eq(log->n, 300);
    for (uint32_t i = 0; i < 300; i++) {
        ck_assert_uint_eq(log->seq[i], i);
        ck_assert_uint_eq(log->diff[i], 0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    a->ops->close(a);
    free(log);
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("wire");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_wire_both_directions);
    tcase_add_test(tc, test_wire_attach_rules);
    tcase_add_test(tc, test_wire_stale_end);
    tcase_add_test(tc, test_wire_doorbell);
    tcase_add_test(tc, test_wire_impair_loss);
    tcase_add_test(tc, test_wire_impair_dup);
    tcase_add_test(tc, test_wire_impair_reorder);
    tcase_add_test(tc, test_wire_impair_corrupt);
    tcase_add_test(tc, test_wire_impair_corrupt_exact);
    tcase_add_test(tc, test_wire_impair_delay);
    tcase_add_test(tc, test_wire_full_ring);
    tcase_add_test(tc, test_wire_hostile_peer);
    tcase_add_test(tc, test_wire_two_processes);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(wire_suite)
