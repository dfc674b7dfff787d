/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory wire: two moat stacks (in one process or two) joined
 * by a file that both map, as if by a cable. `--wire PATH` in the examples.
 *
 * Layout (see linux_link.h): a header with magic, version, geometry and an
 * attach word, then one ring of fixed-size frame slots per direction.
 * Each ring is single-producer/single-consumer with the moat_ring index
 * discipline of core/ring.h, counting slots: the sender copies a frame
 * into the slot at its private producer index, stores length and
 * deliver-at time, then store-releases prod; the receiver load-acquires
 * prod, reads the slot, copies the frame into private memory and
 * store-releases cons. Each end keeps its own index and the geometry
 * privately; whatever it reads from the file (indices, lengths, times) is
 * checked before use, because the other end may be hostile: a bad slot is
 * dropped and counted (rx_bad), an impossible index reads as "empty".
 *
 * Attach: the first opener creates the file (O_CREAT, not O_EXCL, so a
 * stale file left by a crash is reused) and is end A, the next is end B,
 * a third gets MOAT_E_ADDRINUSE. Openers serialise on flock() of the file;
 * under the lock an end whose recorded process no longer exists is
 * released, and a file whose magic/version/geometry is wrong, or with no
 * end attached, is (re)initialised. An end that re-attaches while the
 * other is still there adopts the current indices (a restarted link
 * domain continues where its predecessor stopped).
 *
 * Doorbells: one named FIFO per direction next to the file (PATH.a2b,
 * PATH.b2a), opened O_RDWR|O_NONBLOCK by both ends; the receiver polls
 * its FIFO (wait_fd). Notification suppression: the sender writes a byte
 * only if the receiver armed its "sleeping" flag, and only once per
 * batch (flush). The lost-wake-up argument is next to wire_arm().
 *
 * Impairments (struct moat_impair) are applied by the sending end with a
 * private splitmix64 generator, so a seed gives the same decisions every
 * run: loss, corruption (one byte XORed with a nonzero value), delay and
 * jitter (a deliver-at stamp: the receiver hands out nothing at the ring
 * head before its time; later frames wait behind it, so jitter delays but
 * does not reorder), duplication (the frame is put in two slots) and
 * reordering (the frame is held back and sent right after the next frame,
 * or at the end of the batch, flush(), if no other frame follows).
 *
 * Does not own: the clock (linux_port.h host hooks, or a test hook), the
 * pcap capture (pcap.c), nor what the frames mean.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux_link.h"

#define WIRE_DEFAULT_SEED 0x6d6f61742d776972ull   /* "moat-wir" */

struct wire_link {
    struct moat_link link;
    void *base;                     /* the mapped file, WIRE_FILE_SIZE bytes */
    struct wire_file_hdr *hdr;
    unsigned end;                   /* WIRE_END_A or WIRE_END_B */
    unsigned txd, rxd;              /* direction we send on / receive on */
    struct moat_ring tx, rx;        /* private views, indices in slots */
    int rx_fifo;                    /* our doorbell: wait_fd */
    int tx_fifo;                    /* the peer's doorbell */
    uint64_t (*now)(void *ctx);
    void *now_ctx;

    struct moat_impair imp;
    int impaired;
    uint64_t rng;

    size_t tx_cap;                  /* mtu + 14 */
    int tx_out;                     /* a tx buffer is handed out */
    int tx_direct;                  /* ...and it is the slot itself */
    uint8_t *tx_buf;                /* private tx buffer (impaired path, full ring) */
    uint8_t *rx_buf;                /* private copy of the frame handed out */
    uint8_t *hold_buf;              /* reordering: the frame held back */
    size_t hold_len;
    uint64_t hold_due;
    int holding;
    uint32_t unflushed;             /* frames published since the last notify */

    struct moat_link_counters cnt;
};

static uint64_t wire_host_now(void *ctx)
{
    (void)ctx;
    return moat_host_now_us();
}

/* splitmix64: small, fast, and fully determined by its seed. */
static uint64_t wire_rand(struct wire_link *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int wire_roll(struct wire_link *w, uint32_t ppm)
{
    if (ppm == 0)
        return 0;
    return (wire_rand(w) % 1000000u) < ppm;
}

/* ---- sending ------------------------------------------------------------ */

/* Producer only. Copy one frame into the next slot and publish it.
 * Returns 0 or MOAT_E_AGAIN (ring full: dropped, counted). */
static int wire_put(struct wire_link *w, const uint8_t *data, size_t len, uint64_t due)
{
    uint32_t space;
    if (moat_ring_space(&w->tx, &space) != 0) {
        /* The receiver's cons is impossible: treat as full. */
        w->cnt.rx_bad++;
        space = 0;
    }
    if (space == 0) {
        w->cnt.tx_full++;
        return MOAT_E_AGAIN;
    }
    struct wire_slot *s = wire_slot_at(w->base, w->txd, w->tx.local);
    if (data != s->data)
        memcpy(s->data, data, len);
    atomic_store_explicit(&s->len, (uint32_t)len, memory_order_relaxed);
    atomic_store_explicit(&s->due_us, due, memory_order_relaxed);
    /* Release: the slot's bytes, len and due become visible before prod
     * (pairs with the load-acquire in moat_ring_avail on the receiver). */
    moat_ring_publish(&w->tx, 1);
    w->unflushed++;
    w->cnt.tx_frames++;
    w->cnt.tx_bytes += len;
    return 0;
}

/* Ring the peer's doorbell if it said it is going to sleep. */
static void wire_notify(struct wire_link *w)
{
    if (w->unflushed == 0)
        return;
    w->unflushed = 0;
    /* Order our prod stores before reading the flag (pairs with the
     * fence in wire_arm; see the argument there). */
    atomic_thread_fence(memory_order_seq_cst);
    _Atomic uint32_t *sleeping = &w->hdr->dir[w->txd].rx_sleeping;
    if (atomic_load_explicit(sleeping, memory_order_relaxed) == 0)
        return;
    if (atomic_exchange_explicit(sleeping, 0, memory_order_seq_cst) == 0)
        return;
    uint8_t b = 1;
    ssize_t n;
    do {
        n = write(w->tx_fifo, &b, 1);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the FIFO is full, so it is readable already. */
    w->cnt.notify_sent++;
}

static int wire_release_held(struct wire_link *w)
{
    if (!w->holding)
        return 0;
    w->holding = 0;
    return wire_put(w, w->hold_buf, w->hold_len, w->hold_due);
}

static int wire_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct wire_link *w = (struct wire_link *)l;
    uint32_t space = 0;
    w->tx_out = 1;
    w->tx_direct = 0;
    /* Fast path: without impairments the frame is built in place, in the
     * next free slot (we are the only producer, so the space cannot go
     * away before commit). Otherwise, or when the ring is full, a private
     * buffer; commit then copies or drops. */
    if (!w->impaired && moat_ring_space(&w->tx, &space) == 0 && space > 0) {
        w->tx_direct = 1;
        *buf = wire_slot_at(w->base, w->txd, w->tx.local)->data;
    } else {
        *buf = w->tx_buf;
    }
    *cap = w->tx_cap;
    return 0;
}

/*
 * Returns 0 (sent, or dropped by a loss impairment), MOAT_E_AGAIN (ring
 * full: dropped and counted in tx_full) or MOAT_E_IO (length larger than
 * the buffer). The buffer is given back in every case.
 */
static int wire_tx_commit(struct moat_link *l, size_t len)
{
    struct wire_link *w = (struct wire_link *)l;
    if (!w->tx_out)
        return MOAT_E_INVAL;
    w->tx_out = 0;
    uint8_t *frame = w->tx_direct ? wire_slot_at(w->base, w->txd, w->tx.local)->data
                                  : w->tx_buf;
    if (len == 0)
        return 0;
    if (len > w->tx_cap) {
        w->cnt.tx_errors++;
        return MOAT_E_IO;
    }
    if (!w->impaired)
        return wire_put(w, frame, len, 0);

    const struct moat_impair *imp = &w->imp;
    if (wire_roll(w, imp->loss_ppm)) {
        w->cnt.imp_lost++;
        return 0;
    }
    if (wire_roll(w, imp->corrupt_ppm)) {
        size_t at = (size_t)(wire_rand(w) % len);
        frame[at] ^= (uint8_t)(1u + wire_rand(w) % 255u);
        w->cnt.imp_corrupted++;
    }
    uint64_t due = 0;
    if (imp->delay_us != 0 || imp->jitter_us != 0) {
        uint64_t extra = imp->jitter_us ? wire_rand(w) % ((uint64_t)imp->jitter_us + 1u) : 0;
        due = w->now(w->now_ctx) + imp->delay_us + extra;
        if (due == 0)
            due = 1;
        w->cnt.imp_delayed++;
    }
    if (!w->holding && wire_roll(w, imp->reorder_ppm)) {
        memcpy(w->hold_buf, frame, len);
        w->hold_len = len;
        w->hold_due = due;
        w->holding = 1;
        w->cnt.imp_reordered++;
        return 0;
    }
    int dup = wire_roll(w, imp->dup_ppm);
    int rc = wire_put(w, frame, len, due);
    if (dup && rc == 0) {
        w->cnt.imp_dup++;
        (void)wire_put(w, frame, len, due);
    }
    /* The held frame goes out behind this one. Its own fate (ring full)
     * is counted; the caller's frame decides the return code. */
    (void)wire_release_held(w);
    return rc;
}

static int wire_flush(struct moat_link *l)
{
    struct wire_link *w = (struct wire_link *)l;
    (void)wire_release_held(w);
    wire_notify(w);
    return 0;
}

/* ---- receiving ---------------------------------------------------------- */

/*
 * Look at the ring head. Returns 1 with the slot's checked length and due
 * time, 0 if the ring is empty (or the peer's index is impossible),
 * -1 if the head slot is bad (caller drops it).
 */
static int wire_peek(struct wire_link *w, uint32_t *len, uint64_t *due)
{
    uint32_t avail;
    if (moat_ring_avail(&w->rx, &avail) != 0) {
        /* prod claims more than the ring holds: a broken or hostile peer.
         * Counted; nothing is read until it publishes a sane index. */
        w->cnt.rx_bad++;
        return 0;
    }
    if (avail == 0)
        return 0;
    struct wire_slot *s = wire_slot_at(w->base, w->rxd, w->rx.local);
    /* Each field is read once into private memory, then checked. */
    *len = atomic_load_explicit(&s->len, memory_order_relaxed);
    *due = atomic_load_explicit(&s->due_us, memory_order_relaxed);
    if (*len == 0 || *len > WIRE_SLOT_DATA)
        return -1;
    return 1;
}

static int wire_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *flen)
{
    struct wire_link *w = (struct wire_link *)l;
    /* Bounded: at most one pass over the ring dropping bad slots. */
    for (unsigned i = 0; i <= WIRE_SLOTS; i++) {
        uint32_t len;
        uint64_t due;
        int r = wire_peek(w, &len, &due);
        if (r == 0)
            return MOAT_E_AGAIN;
        if (r < 0) {
            w->cnt.rx_bad++;
            moat_ring_consume(&w->rx, 1);
            continue;
        }
        if (due != 0 && due > w->now(w->now_ctx))
            return MOAT_E_AGAIN;
        memcpy(w->rx_buf, wire_slot_at(w->base, w->rxd, w->rx.local)->data, len);
        /* Release: we are done with the slot before the sender may reuse
         * it (pairs with the load-acquire in moat_ring_space). */
        moat_ring_consume(&w->rx, 1);
        w->cnt.rx_frames++;
        w->cnt.rx_bytes += len;
        *frame = w->rx_buf;
        *flen = len;
        return 0;
    }
    return MOAT_E_AGAIN;
}

static void wire_rx_release(struct moat_link *l)
{
    (void)l;   /* the frame was copied out and its slot freed at acquire */
}

static int64_t wire_next_due_us(struct moat_link *l, uint64_t now_us)
{
    struct wire_link *w = (struct wire_link *)l;
    uint32_t len;
    uint64_t due;
    int r = wire_peek(w, &len, &due);
    if (r == 0)
        return -1;
    if (r < 0 || due <= now_us)
        return 0;   /* a bad slot is "due" too: rx_acquire drops it */
    uint64_t d = due - now_us;
    return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

static int wire_wait_fd(struct moat_link *l)
{
    return ((struct wire_link *)l)->rx_fifo;
}

/*
 * Before sleeping. Lost wake-up argument: we store sleeping = 1, fence,
 * then read prod; the sender stores prod, fences (wire_notify), then
 * reads/exchanges sleeping. With both fences sequentially consistent, at
 * least one side sees the other's store: either we see the new frame here
 * and do not sleep, or the sender sees sleeping == 1 and writes the FIFO,
 * which makes our poll() return. Draining the FIFO happens before arming,
 * so a byte written after this point is never lost.
 */
static int wire_arm(struct moat_link *l)
{
    struct wire_link *w = (struct wire_link *)l;
    uint8_t sink[64];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(w->rx_fifo, sink, sizeof sink);
        if (n < (ssize_t)sizeof sink && !(n < 0 && errno == EINTR))
            break;
    }
    _Atomic uint32_t *sleeping = &w->hdr->dir[w->rxd].rx_sleeping;
    atomic_store_explicit(sleeping, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    uint32_t len;
    uint64_t due;
    int r = wire_peek(w, &len, &due);
    if (r < 0 || (r > 0 && (due == 0 || due <= w->now(w->now_ctx)))) {
        atomic_store_explicit(sleeping, 0, memory_order_relaxed);
        return 1;
    }
    /* Empty, or the head is not due yet: the caller sleeps until
     * next_due_us() or the doorbell. */
    return 0;
}

/* ---- attach and detach ------------------------------------------------- */

static void wire_free(struct wire_link *w)
{
    if (w->base != NULL && w->base != MAP_FAILED)
        munmap(w->base, WIRE_FILE_SIZE);
    if (w->rx_fifo >= 0)
        close(w->rx_fifo);
    if (w->tx_fifo >= 0)
        close(w->tx_fifo);
    free(w->tx_buf);
    free(w->rx_buf);
    free(w->hold_buf);
    free(w);
}

static void wire_close(struct moat_link *l)
{
    struct wire_link *w = (struct wire_link *)l;
    if (w == NULL)
        return;
    /* What was sent must reach the peer even if the caller did not end
     * the batch; a frame held for reordering goes out too. */
    (void)wire_release_held(w);
    wire_notify(w);
    atomic_store_explicit(&w->hdr->dir[w->rxd].rx_sleeping, 0, memory_order_relaxed);
    atomic_store_explicit(&w->hdr->pid[w->end], 0, memory_order_relaxed);
    atomic_fetch_and_explicit(&w->hdr->attach, ~(1u << w->end), memory_order_acq_rel);
    wire_free(w);
}

static const struct moat_link_ops wire_ops = {
    .rx_acquire = wire_rx_acquire,
    .rx_release = wire_rx_release,
    .tx_acquire = wire_tx_acquire,
    .tx_commit = wire_tx_commit,
    .flush = wire_flush,
    .wait_fd = wire_wait_fd,
    .next_due_us = wire_next_due_us,
    .arm = wire_arm,
    .close = wire_close,
};

static int wire_errno(int e)
{
    if (e == EACCES || e == EPERM || e == EROFS)
        return MOAT_E_PERM;
    if (e == ENOMEM)
        return MOAT_E_NOMEM;
    return MOAT_E_IO;
}

static int wire_fifo_open(const char *path, const char *suffix, int *fd)
{
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%s%s", path, suffix);
    if (mkfifo(name, 0600) < 0 && errno != EEXIST)
        return wire_errno(errno);
    /* O_RDWR: never blocks on open and never sees EOF, whether or not the
     * other end has it open yet. */
    *fd = open(name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    return *fd < 0 ? wire_errno(errno) : 0;
}

/* Under the file lock: does the header describe our layout? */
static int wire_hdr_ok(const struct wire_file_hdr *h)
{
    return h->magic == WIRE_MAGIC && h->version == WIRE_VERSION &&
           h->slots == WIRE_SLOTS && h->slot_stride == WIRE_SLOT_STRIDE &&
           h->size == WIRE_FILE_SIZE;
}

static void wire_hdr_init(struct wire_file_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->magic = WIRE_MAGIC;
    h->version = WIRE_VERSION;
    h->slots = WIRE_SLOTS;
    h->slot_stride = (uint32_t)WIRE_SLOT_STRIDE;
    h->size = WIRE_FILE_SIZE;
    for (unsigned d = 0; d < 2; d++) {
        moat_ring_reset(&h->dir[d].idx);
        atomic_store(&h->dir[d].rx_sleeping, 0);
    }
    atomic_store(&h->attach, 0);
}

/* Is @p pid gone? A zombie counts as gone: a supervisor that restarts
 * a crashed link domain may do so before it has reaped the old one. */
static int wire_pid_dead(int32_t pid)
{
    if (pid <= 0)
        return 0;   /* unknown: keep the end */
    if (kill((pid_t)pid, 0) < 0)
        return errno == ESRCH;   /* EPERM: exists, another user's */
    char name[64], buf[256];
    snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* "pid (comm) S ...": the state follows the last ')'. */
    const char *rp = strrchr(buf, ')');
    return rp != NULL && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* Under the file lock: release ends whose process is gone. The pid is
 * as seen in the creator's pid namespace; ends in different pid
 * namespaces should not share a wire. */
static void wire_reap_stale(struct wire_file_hdr *h)
{
    for (unsigned e = 0; e < 2; e++) {
        uint32_t bit = 1u << e;
        if (!(atomic_load(&h->attach) & bit))
            continue;
        int32_t pid = atomic_load(&h->pid[e]);
        if (wire_pid_dead(pid)) {
            atomic_store(&h->pid[e], 0);
            atomic_fetch_and(&h->attach, ~bit);
        }
    }
}

/* Take over the indices of a ring whose other side may still be running. */
static void wire_adopt(struct moat_ring_sh *sh, int producer, uint32_t *local)
{
    uint32_t prod = atomic_load_explicit(&sh->prod, memory_order_acquire);
    uint32_t cons = atomic_load_explicit(&sh->cons, memory_order_acquire);
    if (prod - cons > WIRE_SLOTS) {
        /* Inconsistent: start empty from the other side's index. */
        if (producer)
            atomic_store_explicit(&sh->prod, cons, memory_order_release);
        else
            atomic_store_explicit(&sh->cons, prod, memory_order_release);
        prod = cons = producer ? cons : prod;
    }
    *local = producer ? prod : cons;
}

int moat_wire_link(const char *path, const struct moat_impair *imp, uint16_t mtu,
                   struct moat_link **out)
{
    if (out == NULL || path == NULL || path[0] == '\0')
        return MOAT_E_INVAL;
    *out = NULL;
    if (strlen(path) + 5 >= PATH_MAX)
        return MOAT_E_INVAL;
    if (mtu == 0)
        mtu = 1500;
    if (mtu > WIRE_MAX_MTU)
        return MOAT_E_INVAL;

    struct wire_link *w = calloc(1, sizeof *w);
    if (w == NULL)
        return MOAT_E_NOMEM;
    w->rx_fifo = w->tx_fifo = -1;
    w->tx_cap = (size_t)mtu + 14u;
    w->tx_buf = malloc(WIRE_SLOT_DATA);
    w->rx_buf = malloc(WIRE_SLOT_DATA);
    w->hold_buf = malloc(WIRE_SLOT_DATA);
    if (w->tx_buf == NULL || w->rx_buf == NULL || w->hold_buf == NULL) {
        wire_free(w);
        return MOAT_E_NOMEM;
    }
    w->now = wire_host_now;

    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = wire_errno(errno);
        wire_free(w);
        return rc;
    }
    int rc = 0;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            rc = wire_errno(errno);
            goto fail_fd;
        }
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = wire_errno(errno);
        goto fail_fd;
    }
    int init = 0;
    if ((uint64_t)st.st_size != WIRE_FILE_SIZE) {
        if (ftruncate(fd, (off_t)WIRE_FILE_SIZE) < 0) {
            rc = wire_errno(errno);
            goto fail_fd;
        }
        init = 1;
    }
    w->base = mmap(NULL, WIRE_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (w->base == MAP_FAILED) {
        rc = wire_errno(errno);
        goto fail_fd;
    }
    struct wire_file_hdr *h = w->hdr = w->base;
    if (!init && !wire_hdr_ok(h))
        init = 1;
    if (!init) {
        wire_reap_stale(h);
        if (atomic_load(&h->attach) == 0)
            init = 1;   /* nobody is here: start from clean rings */
    }
    if (init)
        wire_hdr_init(h);

    /* Claim an end. The lock already serialises openers; the CAS keeps
     * the attach word correct against a concurrent detach (which does not
     * take the lock). */
    uint32_t cur = atomic_load(&h->attach);
    for (;;) {
        unsigned end;
        if (!(cur & 1u))
            end = WIRE_END_A;
        else if (!(cur & 2u))
            end = WIRE_END_B;
        else {
            rc = MOAT_E_ADDRINUSE;
            goto fail_fd;
        }
        if (atomic_compare_exchange_weak(&h->attach, &cur, cur | (1u << end))) {
            w->end = end;
            break;
        }
    }
    atomic_store(&h->pid[w->end], (int32_t)getpid());
    w->txd = w->end == WIRE_END_A ? 0 : 1;
    w->rxd = 1 - w->txd;
    uint32_t tx_local, rx_local;
    wire_adopt(&h->dir[w->txd].idx, 1, &tx_local);
    wire_adopt(&h->dir[w->rxd].idx, 0, &rx_local);
    atomic_store(&h->dir[w->rxd].rx_sleeping, 0);
    flock(fd, LOCK_UN);
    close(fd);
    fd = -1;

    moat_ring_attach(&w->tx, &h->dir[w->txd].idx, NULL, WIRE_SLOTS, tx_local);
    moat_ring_attach(&w->rx, &h->dir[w->rxd].idx, NULL, WIRE_SLOTS, rx_local);
    rc = wire_fifo_open(path, w->rxd == 0 ? ".a2b" : ".b2a", &w->rx_fifo);
    if (rc == 0)
        rc = wire_fifo_open(path, w->txd == 0 ? ".a2b" : ".b2a", &w->tx_fifo);
    if (rc != 0) {
        atomic_fetch_and(&h->attach, ~(1u << w->end));
        wire_free(w);
        return rc;
    }

    if (imp != NULL) {
        w->imp = *imp;
        w->impaired = imp->loss_ppm || imp->dup_ppm || imp->reorder_ppm ||
                      imp->corrupt_ppm || imp->delay_us || imp->jitter_us;
    }
    /* The two ends draw different sequences from one seed. */
    w->rng = (w->imp.seed ? w->imp.seed : WIRE_DEFAULT_SEED) ^
             (w->end == WIRE_END_B ? 0xa5a5a5a5a5a5a5a5ull : 0);
    w->link.ops = &wire_ops;
    w->link.mtu = mtu;
    *out = &w->link;
    return 0;

fail_fd:
    close(fd);   /* drops the lock too */
    wire_free(w);
    return rc;
}

void moat_wire_unlink(const char *path)
{
    char name[PATH_MAX];
    if (path == NULL)
        return;
    unlink(path);
    snprintf(name, sizeof name, "%s.a2b", path);
    unlink(name);
    snprintf(name, sizeof name, "%s.b2a", path);
    unlink(name);
}

int moat_wire_set_clock(struct moat_link *l, uint64_t (*now)(void *ctx), void *ctx)
{
    if (l == NULL || l->ops != &wire_ops || now == NULL)
        return MOAT_E_INVAL;
    struct wire_link *w = (struct wire_link *)l;
    w->now = now;
    w->now_ctx = ctx;
    return 0;
}

int linux_wire_counters(struct moat_link *l, struct moat_link_counters *out)
{
    if (l == NULL || l->ops != &wire_ops)
        return MOAT_E_INVAL;
    *out = ((struct wire_link *)l)->cnt;
    return 0;
}
