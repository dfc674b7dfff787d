/* SPDX-License-Identifier: MIT */
/*
 * TCP between two stacks in one process over the shared-memory wire,
 * through each of the wire's impairments in turn: a bulk transfer both ways
 * at once (or, in the echo cases, one stream sent and echoed back), every
 * byte checked against a seeded pattern and the whole of it by a hash,
 * with a wall-clock bound per case. Also checks that the
 * counters of moat_stack_stats move the way each impairment should make
 * them move (retransmissions under loss and corruption, checksum drops
 * under corruption), and prints one line per case with the size, time,
 * throughput and recovery counters, so a regression in speed is visible in
 * the test log even when the test still passes.
 *
 *   stack A 198.18.0.1/24  ==== wire (mkdtemp dir) ====  stack B 198.18.0.2/24
 *   connects from an ephemeral port                      listens on port 5001
 *   sends pattern(seed A), receives pattern(seed B)      the other way round
 *
 * Each side is one application thread driving its non-blocking socket with
 * moat_poll (one socket is never used by two threads at once, as
 * <moat/socket.h> requires). Every loop is bounded by the case's wall-clock
 * limit; no sleeps: waiting is moat_poll with a timeout.
 *
 * Sizes: 64 MiB each way in every case but one: the echo through loss,
 * reordering and delay at once moves 16 MiB (the slowest per byte: about
 * 12 s for 16 MiB here, so 64 MiB would leave too little margin under the
 * 120 s limit). 5 % loss takes about 2.5 s for 64 MiB on this 2-core
 * machine with RACK-TLP (23 s before it, 43 s for 16 MiB with an earlier
 * TCP; see docs/testing-impairments.md). The two real-path combinations
 * move 4 and 2 MiB (8 and 7 s when written) and have bounds of their own.
 * MOAT_TCP_WIRE_MIB=N overrides every size
 * (a quick run or a long soak); MOAT_TCP_WIRE_PCAP=DIR writes DIR/a.pcap
 * and DIR/b.pcap.
 *
 * Does not test: the TCP state machine in detail (tests/unit/tcp), the
 * Linux kernel as a peer (tests/interop).
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <moat/moat.h>
#include <moat/socket.h>

#include "support/itest.h"
#include "ports/linux/linux_port.h"
#include "support/check_main.h"

#define IP_A 0xc6120001u   /* 198.18.0.1 */
#define IP_B 0xc6120002u   /* 198.18.0.2 */
#define SRV_PORT 5001
#define CASE_LIMIT_MS 120000u     /* transfer of one case, both ways */
#define CONNECT_LIMIT_MS 30000u   /* a few SYN retransmissions under loss */
#define POLL_MS 200
#define ALL_IMPAIRED_LIMIT_S 35.0    /* the bounds of the real-path cases, */
#define LOSS5_DELAY_LIMIT_S 30.0     /* for their default sizes (below)    */
#define CHUNK (64u * 1024u)
#define MIB (1024u * 1024u)
#define CASE_DIR_TAG "tcpwire"

/* ---- per-case directory and clock (tests/support/itest.h) -------------- */

static void case_dir_setup(void) { itest_case_dir_make(CASE_DIR_TAG); }
#define case_dir_teardown itest_case_dir_teardown
#define now_ms itest_now_ms

/* ---- the seeded byte pattern and the hash ------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Byte @p off of stream @p seed is byte (off % 8) of mix64(seed, off / 8):
 * any chunk at any offset can be made (or checked) on its own, and a
 * segment delivered at the wrong offset never matches by accident. */
static void pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t pos = off + i;
        if (i == 0 || (pos & 7u) == 0)
            w = mix64(seed ^ ((pos >> 3) * 0x9e3779b97f4a7c15ull));
        buf[i] = (uint8_t)(w >> ((pos & 7u) * 8u));
    }
}

/* FNV-1a, 64 bits: the sender hashes what it sent, the receiver what it
 * got; the two must agree (and both are checked against the pattern). */
static uint64_t fnv64(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
#define FNV64_INIT 0xcbf29ce484222325ull

/* ---- one side of the connection ------------------------------------------ */

struct side {
    const char *name;
    struct moat_stack *st;
    moat_sock_t s;
    uint64_t tx_seed, rx_seed;
    uint64_t total;            /* bytes to send, and to receive */
    uint64_t tx_total;         /* one-way cases: bytes to send (else total) */
    uint64_t deadline_ms;

    /* results, written by the side's thread, read after join */
    uint64_t sent, got;
    uint64_t tx_hash, rx_hash, rx_expect_hash;
    uint64_t tx_done_ms, rx_done_ms;   /* since start */
    uint64_t first_bad;                /* offset of the first wrong byte, or UINT64_MAX */
    uint64_t got_beyond;               /* bytes past total (never legitimate) */
    uint32_t idle_polls;               /* poll timed out with nothing ready */
    uint32_t stale_polls;              /* ...yet a call then made progress */
    int eof;
    int err;                           /* first error from a call, 0 if none */
    char why[160];                     /* what went wrong, for the assertion */
};

static void side_fail(struct side *sd, int err, const char *what)
{
    if (sd->why[0] == '\0') {
        sd->err = err;
        snprintf(sd->why, sizeof(sd->why), "%s: %s (%s) after sent=%llu got=%llu",
                 sd->name, what, err ? moat_errname(err) : "-",
                 (unsigned long long)sd->sent, (unsigned long long)sd->got);
    }
}

/* Send what fits now. Returns 1 if anything was sent, 0 if not, -1 on error. */
static int side_send(struct side *sd, uint8_t *buf)
{
    int moved = 0;
    /* Bounded: a non-blocking send either takes bytes or says AGAIN, and
     * the ring is far smaller than 256 chunks. */
    uint64_t total = sd->tx_total != UINT64_MAX ? sd->tx_total : sd->total;
    for (unsigned k = 0; k < 256 && sd->sent < total; k++) {
        size_t n = total - sd->sent < CHUNK ? (size_t)(total - sd->sent) : CHUNK;
        size_t done = 0;
        pattern_fill(sd->tx_seed, sd->sent, buf, n);
        int r = moat_sock_send(sd->st, sd->s, buf, n, &done);
        if (r == MOAT_E_AGAIN)
            break;
        if (r != 0) {
            side_fail(sd, r, "send");
            return -1;
        }
        if (done > n) {
            side_fail(sd, 0, "send claims more bytes than offered");
            return -1;
        }
        sd->tx_hash = fnv64(sd->tx_hash, buf, done);
        sd->sent += done;
        moved = moved || done > 0;
        if (done < n)
            break;
    }
    if (sd->sent == total && sd->tx_done_ms == 0) {
        int r = moat_sock_shutdown(sd->st, sd->s, MOAT_SHUT_WR);
        if (r != 0) {
            side_fail(sd, r, "shutdown(WR)");
            return -1;
        }
        sd->tx_done_ms = 1;   /* replaced by the real time by the caller */
    }
    return moved;
}

/* Receive what is there. Returns 1 if anything (or EOF) came, 0 if not,
 * -1 on error. */
static int side_recv(struct side *sd, uint8_t *buf, uint8_t *expect)
{
    int moved = 0;
    for (unsigned k = 0; k < 256 && !sd->eof; k++) {
        size_t got = 0;
        int r = moat_sock_recv(sd->st, sd->s, buf, CHUNK, &got);
        if (r == MOAT_E_AGAIN)
            break;
        if (r != 0) {
            side_fail(sd, r, "recv");
            return -1;
        }
        moved = 1;
        if (got == 0) {
            sd->eof = 1;
            break;
        }
        if (got > CHUNK) {
            side_fail(sd, 0, "recv claims more bytes than the buffer holds");
            return -1;
        }
        size_t in_range = got;
        if (sd->got + got > sd->total) {
            in_range = sd->got < sd->total ? (size_t)(sd->total - sd->got) : 0;
            sd->got_beyond += got - in_range;
        }
        pattern_fill(sd->rx_seed, sd->got, expect, in_range);
        if (sd->first_bad == UINT64_MAX && memcmp(buf, expect, in_range) != 0) {
            for (size_t i = 0; i < in_range; i++) {
                if (buf[i] != expect[i]) {
                    sd->first_bad = sd->got + i;
                    break;
                }
            }
        }
        sd->rx_hash = fnv64(sd->rx_hash, buf, got);
        sd->rx_expect_hash = fnv64(sd->rx_expect_hash, expect, in_range);
        sd->got += got;
    }
    return moved;
}

static void *side_run(void *arg)
{
    struct side *sd = arg;
    uint8_t *buf = malloc(CHUNK), *rbuf = malloc(CHUNK), *expect = malloc(CHUNK);
    uint64_t t0 = now_ms();

    if (!buf || !rbuf || !expect) {
        side_fail(sd, MOAT_E_NOMEM, "malloc");
        goto out;
    }
    while (!(sd->tx_done_ms && sd->eof)) {
        struct moat_pollfd p = { .sock = sd->s, .events = MOAT_POLLIN };
        unsigned nready = 0;
        int r;

        if (now_ms() > sd->deadline_ms) {
            side_fail(sd, 0, "wall-clock limit");
            break;
        }
        if (!sd->tx_done_ms)
            p.events |= MOAT_POLLOUT;
        r = moat_poll(sd->st, &p, 1, POLL_MS, &nready);
        if (r != 0) {
            side_fail(sd, r, "poll");
            break;
        }
        if (p.revents & MOAT_POLLNVAL) {
            side_fail(sd, 0, "poll: POLLNVAL");
            break;
        }
        if (p.revents & MOAT_POLLERR) {
            int64_t e = 0;
            moat_sock_getopt(sd->st, sd->s, MOAT_OPT_ERROR, &e);
            side_fail(sd, (int)e, "poll: POLLERR");
            break;
        }
        /* Act on what poll reported; after a poll that reported nothing,
         * try anyway and count it if a call made progress: that would be
         * a readiness the stack failed to report (it only costs time). */
        int idle = nready == 0;
        int in = idle || (p.revents & (MOAT_POLLIN | MOAT_POLLHUP | MOAT_POLLRDHUP));
        int out = !sd->tx_done_ms && (idle || (p.revents & (MOAT_POLLOUT | MOAT_POLLHUP)));
        int moved = 0, m;
        if (out) {
            m = side_send(sd, buf);
            if (m < 0)
                break;
            moved |= m;
            if (sd->tx_done_ms == 1)
                sd->tx_done_ms = now_ms() - t0 + 1;
        }
        if (in) {
            m = side_recv(sd, rbuf, expect);
            if (m < 0)
                break;
            moved |= m;
            if (sd->eof)
                sd->rx_done_ms = now_ms() - t0 + 1;
        }
        if (idle) {
            sd->idle_polls++;
            if (moved)
                sd->stale_polls++;
        }
    }
out:
    free(buf);
    free(rbuf);
    free(expect);
    return NULL;
}

/*
 * The other end of an echo case: read a chunk, write all of it back, and
 * only then read again, like moat-echo and most servers. When the client
 * sends faster than the echo drains, this end's receive window closes and
 * reopens over and over: the zero-window and window-update paths get
 * exercised, which a both-ways transfer with eager readers never does.
 */
static void *echo_run(void *arg)
{
    struct side *sd = arg;
    uint8_t *buf = malloc(CHUNK);
    size_t have = 0, off = 0;
    uint64_t t0 = now_ms();

    if (!buf) {
        side_fail(sd, MOAT_E_NOMEM, "malloc");
        return NULL;
    }
    while (!(sd->eof && have == 0)) {
        struct moat_pollfd p = { .sock = sd->s,
                                 .events = (uint16_t)(have ? MOAT_POLLOUT : MOAT_POLLIN) };
        unsigned nready = 0;
        size_t n = 0;
        int r;

        if (now_ms() > sd->deadline_ms) {
            side_fail(sd, 0, "wall-clock limit");
            break;
        }
        r = moat_poll(sd->st, &p, 1, POLL_MS, &nready);
        if (r != 0) {
            side_fail(sd, r, "poll");
            break;
        }
        if (p.revents & (MOAT_POLLERR | MOAT_POLLNVAL)) {
            int64_t e = 0;
            moat_sock_getopt(sd->st, sd->s, MOAT_OPT_ERROR, &e);
            side_fail(sd, (int)e, "poll: POLLERR/POLLNVAL");
            break;
        }
        if (nready == 0)
            sd->idle_polls++;
        if (have == 0) {
            r = moat_sock_recv(sd->st, sd->s, buf, CHUNK, &n);
            if (r == MOAT_E_AGAIN)
                continue;
            if (r != 0 || n > CHUNK) {
                side_fail(sd, r, "echo recv");
                break;
            }
            if (n == 0) {
                sd->eof = 1;
                sd->rx_done_ms = now_ms() - t0 + 1;
            }
            sd->got += n;
            have = n;
            off = 0;
        } else {
            r = moat_sock_send(sd->st, sd->s, buf + off, have, &n);
            if (r == MOAT_E_AGAIN)
                continue;
            if (r != 0 || n > have) {
                side_fail(sd, r, "echo send");
                break;
            }
            off += n;
            have -= n;
            sd->sent += n;
        }
    }
    if (sd->why[0] == '\0') {
        int r = moat_sock_shutdown(sd->st, sd->s, MOAT_SHUT_WR);
        if (r != 0)
            side_fail(sd, r, "echo shutdown(WR)");
        sd->tx_done_ms = now_ms() - t0 + 1;
    }
    free(buf);
    return NULL;
}

/* ---- a case ------------------------------------------------------------------ */

struct result {
    double seconds;          /* until both directions were complete */
    uint64_t bytes;          /* each way */
    struct moat_stats sa, sb;
};

static void cfg_wire(struct moat_config *c, uint32_t ip, const char *path,
                     const struct moat_impair *imp, uint64_t seed, uint32_t rx_bytes,
                     uint64_t mem_bytes)
{
    moat_config_defaults(c);
    c->ifs[0].ip = ip;
    c->ifs[0].prefix = 24;
    c->ifs[0].link = MOAT_LINK_WIRE;
    snprintf(c->ifs[0].dev, sizeof(c->ifs[0].dev), "%s", path);
    if (imp)
        c->ifs[0].impair = *imp;
    c->ifs[0].impair.seed = seed;
    c->max_sockets = 8;
    c->seed = seed;
    /* The defaults (256 KiB rings, window scale 3) unless a case asks
     * for a bigger receive ring (a larger window scale). */
    if (rx_bytes) {
        c->sock_rx_bytes = rx_bytes;
        c->sock_tx_bytes = rx_bytes;   /* so the peer can fill the window */
    }
    if (mem_bytes)
        c->tcp_mem_bytes = mem_bytes;
    const char *pc = getenv("MOAT_TCP_WIRE_PCAP");
    if (pc && *pc)
        snprintf(c->ifs[0].pcap, sizeof(c->ifs[0].pcap), "%s/%s.pcap", pc,
                 ip == IP_A ? "a" : "b");
}

static uint64_t case_bytes(unsigned mib)
{
    const char *e = getenv("MOAT_TCP_WIRE_MIB");
    if (e && *e && atoi(e) > 0)
        mib = (unsigned)atoi(e);
    return (uint64_t)mib * MIB;
}

static void print_drops(const char *who, const struct moat_stats *s)
{
    char line[512];
    size_t at = 0;
    line[0] = '\0';
    for (int i = 0; i < MOAT_DROP_COUNT; i++)
        if (s->drops[i] && at < sizeof(line) - 64)
            at += (size_t)snprintf(line + at, sizeof(line) - at, " %s=%llu",
                                   moat_drop_name(i), (unsigned long long)s->drops[i]);
    fprintf(stderr, "    %s: segs out=%llu in=%llu rexmit=%llu fast=%llu rto=%llu "
            "tlp=%llu dsack=%llu undo=%llu challenge=%llu drops:%s\n", who,
            (unsigned long long)s->tcp_segs_out, (unsigned long long)s->tcp_segs_in,
            (unsigned long long)s->tcp_retransmits, (unsigned long long)s->tcp_fast_retransmits,
            (unsigned long long)s->tcp_timeouts, (unsigned long long)s->tcp_tlp_probes,
            (unsigned long long)s->tcp_dsacks_in, (unsigned long long)s->tcp_undos,
            (unsigned long long)s->tcp_challenge_acks, at ? line : " none");
}

/*
 * Open the pair, connect A to B, move @p bytes each way at once, check
 * both streams, close. With @p echo, B sends back what it reads
 * (echo_run) instead of a stream of its own, and A checks it gets its own
 * pattern back. Fails the test (in this, the test's own thread)
 * on any error, mismatch or timeout; fills @p res for the counter checks.
 */
static void run_case_dir(const char *label, const struct moat_impair *imp, uint64_t bytes,
                         int echo, uint32_t rx_bytes, int one_way, uint64_t mem_bytes,
                         struct result *res)
{
    struct moat_config ca, cb;
    struct moat_stack *a = NULL, *b = NULL;
    moat_sock_t l = 0, sa = 0, sb = 0;
    struct moat_addr srv = { .ip = 0, .port = SRV_PORT }, to_b = { .ip = IP_B, .port = SRV_PORT }, peer;
    char path[128];
    uint64_t t0, end;
    int r;

    memset(res, 0, sizeof(*res));
    itest_wire_path(path, sizeof(path));
    cfg_wire(&ca, IP_A, path, imp, 0x5eed0001u, rx_bytes, mem_bytes);
    cfg_wire(&cb, IP_B, path, imp, 0x5eed0002u, rx_bytes, mem_bytes);
    r = moat_stack_open(&ca, &a);
    ck_assert_msg(r == 0, "open A: %s", moat_strerror(r));
    r = moat_stack_open(&cb, &b);
    ck_assert_msg(r == 0, "open B: %s", moat_strerror(r));

    /* B listens, A connects without blocking; the handshake completes in
     * the stacks' own threads while we wait on B's listener. */
    ck_assert_int_eq(moat_sock_open(b, MOAT_SOCK_STREAM, &l), 0);
    ck_assert_int_eq(moat_sock_bind(b, l, &srv), 0);
    ck_assert_int_eq(moat_sock_listen(b, l, 4), 0);
    ck_assert_int_eq(moat_sock_setopt(b, l, MOAT_OPT_NONBLOCK, 1), 0);
    ck_assert_int_eq(moat_sock_open(a, MOAT_SOCK_STREAM, &sa), 0);
    ck_assert_int_eq(moat_sock_setopt(a, sa, MOAT_OPT_NONBLOCK, 1), 0);
    r = moat_sock_connect(a, sa, &to_b);
    ck_assert_msg(r == 0 || r == MOAT_E_INPROGRESS, "connect: %s", moat_errname(r));

    end = now_ms() + CONNECT_LIMIT_MS;
    for (;;) {
        struct moat_pollfd p = { .sock = l, .events = MOAT_POLLIN };
        ck_assert_msg(now_ms() < end, "%s: no connection to accept within %u ms", label,
                      CONNECT_LIMIT_MS);
        ck_assert_int_eq(moat_poll(b, &p, 1, POLL_MS, NULL), 0);
        r = moat_sock_accept(b, l, &sb, &peer);
        if (r == 0)
            break;
        ck_assert_msg(r == MOAT_E_AGAIN, "accept: %s", moat_errname(r));
    }
    ck_assert_uint_eq(peer.ip, IP_A);
    ck_assert_int_eq(moat_sock_setopt(b, sb, MOAT_OPT_NONBLOCK, 1), 0);
    for (;;) {
        struct moat_pollfd p = { .sock = sa, .events = MOAT_POLLOUT };
        unsigned nr = 0;
        int64_t e = 0;
        ck_assert_msg(now_ms() < end, "%s: connect did not complete within %u ms", label,
                      CONNECT_LIMIT_MS);
        ck_assert_int_eq(moat_poll(a, &p, 1, POLL_MS, &nr), 0);
        if (nr == 0)
            continue;
        ck_assert_int_eq(moat_sock_getopt(a, sa, MOAT_OPT_ERROR, &e), 0);
        ck_assert_msg(e == 0, "connect failed: %s", moat_errname((int)e));
        ck_assert_msg(p.revents & MOAT_POLLOUT, "connect: revents 0x%x", p.revents);
        break;
    }

    struct side sdA = { .name = "A", .st = a, .s = sa, .tx_seed = 0xa11ce,
                        .rx_seed = echo ? 0xa11ce : 0xb0b, .total = bytes },
                sdB = { .name = "B", .st = b, .s = sb, .tx_seed = 0xb0b, .rx_seed = 0xa11ce,
                        .total = bytes };
    /* one way: A sends @p bytes, B sends nothing (ACKs only come back) */
    sdA.tx_total = sdB.tx_total = UINT64_MAX;
    if (one_way) {
        sdA.total = 0;
        sdA.tx_total = bytes;
        sdB.tx_total = 0;
    }
    pthread_t ta, tb;
    t0 = now_ms();
    sdA.deadline_ms = sdB.deadline_ms = t0 + CASE_LIMIT_MS;
    sdA.tx_hash = sdA.rx_hash = sdA.rx_expect_hash = FNV64_INIT;
    sdB.tx_hash = sdB.rx_hash = sdB.rx_expect_hash = FNV64_INIT;
    sdA.first_bad = sdB.first_bad = UINT64_MAX;
    ck_assert_int_eq(pthread_create(&ta, NULL, side_run, &sdA), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, echo ? echo_run : side_run, &sdB), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    res->seconds = (double)(now_ms() - t0) / 1000.0;
    res->bytes = bytes;

    ck_assert_int_eq(moat_stack_stats(a, &res->sa), 0);
    ck_assert_int_eq(moat_stack_stats(b, &res->sb), 0);
    double mbit = res->seconds > 0 ? (double)bytes * 8.0 / res->seconds / 1e6 : 0;
    fprintf(stderr, "tcp_wire %-14s %3llu MiB each way  %6.2f s  %7.1f Mbit/s each way"
            "  (A->B done %.2f s, B->A done %.2f s)  rexmit A=%llu B=%llu\n",
            label, (unsigned long long)(bytes / MIB), res->seconds, mbit,
            (double)sdB.rx_done_ms / 1000.0, (double)sdA.rx_done_ms / 1000.0,
            (unsigned long long)res->sa.tcp_retransmits,
            (unsigned long long)res->sb.tcp_retransmits);
    print_drops("A", &res->sa);
    print_drops("B", &res->sb);
    if (sdA.stale_polls || sdB.stale_polls)
        fprintf(stderr, "    poll timed out yet a call progressed: A %u of %u, B %u of %u\n",
                sdA.stale_polls, sdA.idle_polls, sdB.stale_polls, sdB.idle_polls);

    /* Close before asserting, so a failure still leaves no wire behind
     * (the fixture removes the directory as well). */
    moat_sock_close(a, sa);
    moat_sock_close(b, sb);
    moat_sock_close(b, l);
    moat_stack_close(a);
    moat_stack_close(b);
    moat_wire_unlink(path);

    const struct side *sides[2] = { &sdA, &sdB };
    for (int i = 0; i < 2; i++) {
        const struct side *sd = sides[i];
        uint64_t tx_want = sd->tx_total != UINT64_MAX ? sd->tx_total : bytes;
        ck_assert_msg(sd->why[0] == '\0', "%s: %s", label, sd->why);
        ck_assert_msg(sd->sent == tx_want, "%s: %s sent %llu of %llu", label, sd->name,
                      (unsigned long long)sd->sent, (unsigned long long)tx_want);
        ck_assert_msg(sd->eof, "%s: %s never saw end of stream", label, sd->name);
        ck_assert_msg(sd->got == sd->total, "%s: %s received %llu bytes (%llu past the end), "
                      "expected %llu", label, sd->name, (unsigned long long)sd->got,
                      (unsigned long long)sd->got_beyond, (unsigned long long)sd->total);
        if (echo && sd == &sdB)
            continue;   /* the echo end forwards bytes; A checks them */
        ck_assert_msg(sd->first_bad == UINT64_MAX, "%s: %s received a wrong byte at offset %llu",
                      label, sd->name, (unsigned long long)sd->first_bad);
        ck_assert_msg(sd->rx_hash == sd->rx_expect_hash, "%s: %s hash of received stream",
                      label, sd->name);
    }
    /* each receiver's hash equals the hash of what the other side sent
     * (A's own stream, in an echo case) */
    if (echo) {
        ck_assert_msg(sdA.rx_hash == sdA.tx_hash, "%s: echoed stream hash differs", label);
    } else {
        ck_assert_msg(sdA.rx_hash == sdB.tx_hash, "%s: B->A stream hash differs", label);
        ck_assert_msg(sdB.rx_hash == sdA.tx_hash, "%s: A->B stream hash differs", label);
    }
}

static void run_case(const char *label, const struct moat_impair *imp, uint64_t bytes,
                     int echo, uint32_t rx_bytes, struct result *res)
{
    run_case_dir(label, imp, bytes, echo, rx_bytes, 0, 0, res);
}

static uint64_t rexmits(const struct result *r)
{
    return r->sa.tcp_retransmits + r->sb.tcp_retransmits;
}

/* ---- the cases ------------------------------------------------------------------ */

START_TEST(tcp_wire_clean)
{
    struct result r;
    run_case("clean", NULL, case_bytes(64), 0, 0, &r);
    /* a clean wire with 256-slot rings: nothing should need resending
     * except what the wire's own full-ring drops forced */
    if (r.sa.drops[MOAT_DROP_LINK_TX_FULL] + r.sb.drops[MOAT_DROP_LINK_TX_FULL] == 0)
        ck_assert_uint_eq(r.sa.tcp_timeouts + r.sb.tcp_timeouts, 0);
}
END_TEST

START_TEST(tcp_wire_loss_1pct)
{
    struct moat_impair imp = { .loss_ppm = 10000 };
    struct result r;
    run_case("loss 1%", &imp, case_bytes(64), 0, 0, &r);
    ck_assert_uint_gt(r.sa.tcp_retransmits, 0);
    ck_assert_uint_gt(r.sb.tcp_retransmits, 0);
    /* with a full window in flight most losses are repaired by SACK-based
     * fast recovery, not by the retransmission timer */
    ck_assert_uint_gt(r.sa.tcp_fast_retransmits + r.sb.tcp_fast_retransmits, 0);
}
END_TEST

START_TEST(tcp_wire_loss_5pct)
{
    struct moat_impair imp = { .loss_ppm = 50000 };
    struct result r;
    run_case("loss 5%", &imp, case_bytes(64), 0, 0, &r);
    ck_assert_uint_gt(r.sa.tcp_retransmits, 0);
    ck_assert_uint_gt(r.sb.tcp_retransmits, 0);
}
END_TEST

START_TEST(tcp_wire_reorder)
{
    struct moat_impair imp = { .reorder_ppm = 50000 };
    struct result r;
    run_case("reorder 5%", &imp, case_bytes(64), 0, 0, &r);
    /* a frame held back by one position arrives right after its
     * successor: RACK's reordering window (RFC 8985 6.2) covers that once
     * reordering has been seen, so reordering alone must not cost a
     * retransmission storm. Allow some (before reordering is first seen,
     * or a frame held longer than the window) but not one per reordered
     * frame. */
    uint64_t segs = r.sa.tcp_segs_out + r.sb.tcp_segs_out;
    ck_assert_msg(rexmits(&r) * 100 < segs, "retransmitted %llu of %llu segments",
                  (unsigned long long)rexmits(&r), (unsigned long long)segs);
}
END_TEST

START_TEST(tcp_wire_duplicate)
{
    struct moat_impair imp = { .dup_ppm = 50000 };
    struct result r;
    run_case("duplicate 5%", &imp, case_bytes(64), 0, 0, &r);
    /* duplicates carry nothing new: delivered once (checked by the hash),
     * and the stream must not have needed many retransmissions */
    uint64_t segs = r.sa.tcp_segs_out + r.sb.tcp_segs_out;
    ck_assert_msg(rexmits(&r) * 100 < segs, "retransmitted %llu of %llu segments",
                  (unsigned long long)rexmits(&r), (unsigned long long)segs);
}
END_TEST

START_TEST(tcp_wire_corrupt)
{
    struct moat_impair imp = { .corrupt_ppm = 10000 };
    struct result r;
    run_case("corrupt 1%", &imp, case_bytes(64), 0, 0, &r);
    /* A flipped byte lands in the Ethernet, IP or TCP part of the frame;
     * the TCP checksum covers the payload, so nearly all of them are TCP
     * drops. Every one of them is a lost segment to be resent. */
    uint64_t caught = r.sa.drops[MOAT_DROP_TCP_MALFORMED] + r.sb.drops[MOAT_DROP_TCP_MALFORMED] +
                      r.sa.drops[MOAT_DROP_IP_CHECKSUM] + r.sb.drops[MOAT_DROP_IP_CHECKSUM];
    ck_assert_uint_gt(r.sa.drops[MOAT_DROP_TCP_MALFORMED] + r.sb.drops[MOAT_DROP_TCP_MALFORMED], 0);
    ck_assert_uint_gt(caught, 0);
    ck_assert_uint_gt(rexmits(&r), 0);
}
END_TEST

START_TEST(tcp_wire_delay)
{
    struct moat_impair imp = { .delay_us = 10000, .jitter_us = 2000 };
    struct result r;
    run_case("delay 10+2ms", &imp, case_bytes(64), 0, 0, &r);
    /* with a 20 ms round trip a window of 256 KiB allows ~100 Mbit/s:
     * the transfer cannot be faster than the ring and the delay allow */
    double floor_s = (double)r.bytes / (double)(256u * 1024u) * 0.020;
    ck_assert_msg(r.seconds >= floor_s * 0.9, "%.2f s is faster than a 20 ms RTT allows (%.2f s)",
                  r.seconds, floor_s);
}
END_TEST

/* The same path, one way, with the default 256 KiB rings (the window can
 * be no larger: the old fixed window) and with 8 MiB rings, where B's
 * receive window starts at 64 KiB and autotuning (core/tcp_wnd.c) grows
 * it while A's send limit grows with its cwnd, up to a TCP memory budget
 * of 384 KiB per stack (64 KiB for B's send limit, so B's window stops at
 * 320 KiB). Three interleaved pairs of 32 MiB, compared by their medians.
 * Asserted: the window announced went past 256 KiB only with the big
 * rings and stopped where the budget says (counted in tcp_mem_capped),
 * the receive cap was raised, the send limit grew, every byte arrived,
 * and the autotuned transfers beat the ones held to the old window.
 *
 * Why a budget here: the wire holds at most WIRE_SLOTS frames per
 * direction in flight and drops beyond that. Without the budget the
 * window grows to 1-3 MiB and frames are lost: with NewReno (before
 * CUBIC was merged) 64 MiB then took 4.8-7.6 s against 7.2-8.5 s, not
 * always faster; with CUBIC 32 MiB took 2.5-3.2 s against 3.9-4.7 s, with
 * 46-326 retransmissions. At 320 KiB nothing is lost and every pair
 * measured was faster (32 MiB: medians 2.96-4.08 s against 3.79-5.50 s
 * on a loaded machine; the window/RTT bound of 256 KiB at 20 ms is
 * 2.56 s), so the assertion does not depend on how congestion control
 * recovers. */
#define AUTOTUNE_BUDGET (384u * 1024u)

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

START_TEST(tcp_wire_delay_autotune)
{
    struct moat_impair imp = { .delay_us = 10000, .jitter_us = 2000 };
    struct result fixed, tuned;
    /* One pair by default: what is asserted is the window growth, which
     * one pair shows. MOAT_TCP_WIRE_RUNS=3 prints medians of three. */
    double tf[9], tt[9];
    const char *e = getenv("MOAT_TCP_WIRE_RUNS");
    int runs = e && atoi(e) > 0 ? atoi(e) : 1;
    if (runs > 9)
        runs = 9;
    for (int i = 0; i < runs; i++) {
        run_case_dir("delay 256K 1way", &imp, case_bytes(32), 0, 0, 1, 0, &fixed);
        run_case_dir("delay autotune", &imp, case_bytes(32), 0, 8u * MIB, 1,
                     AUTOTUNE_BUDGET, &tuned);
        tf[i] = fixed.seconds;
        tt[i] = tuned.seconds;
        ck_assert_uint_le(fixed.sb.tcp_rcv_wnd_max, 256u * 1024u);
        ck_assert_uint_gt(tuned.sb.tcp_rcv_wnd_max, 256u * 1024u);
        ck_assert_uint_le(tuned.sb.tcp_rcv_wnd_max, AUTOTUNE_BUDGET - 64u * 1024u);
        ck_assert_uint_gt(tuned.sb.tcp_rcv_autotunes, 0);
        ck_assert_uint_gt(tuned.sb.tcp_mem_capped, 0);
        ck_assert_uint_gt(tuned.sa.tcp_snd_grows, 0);
        ck_assert_uint_eq(tuned.sb.tcp_mem_budget, AUTOTUNE_BUDGET);
        ck_assert_uint_le(tuned.sb.tcp_mem_used, AUTOTUNE_BUDGET);
    }
    qsort(tf, (size_t)runs, sizeof tf[0], cmp_double);
    qsort(tt, (size_t)runs, sizeof tt[0], cmp_double);
    fprintf(stderr, "    one way A->B, median of %d: %.2f s autotuned (8 MiB rings, window "
            "up to %llu) against %.2f s with 256 KiB rings (window/RTT bound %.2f s)\n",
            runs, tt[runs / 2], (unsigned long long)tuned.sb.tcp_rcv_wnd_max, tf[runs / 2],
            (double)tuned.bytes / (double)(256u * 1024u) * 0.020);
    /* The times are printed, not asserted: on a loaded 2-core machine a
     * scheduling hiccup can reverse one pair (seen once in CI-like load);
     * what the test holds is the window growth above. bench/impaired.sh
     * measures the speed against the kernel. */
}
END_TEST

/*
 * Echo: B writes back what it reads before reading more, so B's receive
 * window closes whenever its send side backs up, and reopens as A's ACKs
 * drain it: zero windows, window updates and (with impairments) their
 * loss. The impaired echo combines loss, reordering and delay, as the
 * kernel interop test does through iptables; 16 MiB because a combined
 * case is the slowest per byte. When this was written, this case stalled
 * in about one run of four (a receiver with a closed window ignoring the
 * ACKs of segments beyond it): docs/testing-impairments.md has the trace.
 */
START_TEST(tcp_wire_echo)
{
    struct result r;
    run_case("echo clean", NULL, case_bytes(64), 1, 0, &r);
}
END_TEST

START_TEST(tcp_wire_echo_impaired)
{
    struct moat_impair imp = { .loss_ppm = 10000, .reorder_ppm = 50000, .delay_us = 5000,
                               .jitter_us = 1000 };
    struct result r;
    run_case("echo loss+reo+dly", &imp, case_bytes(16), 1, 0, &r);
    ck_assert_uint_gt(rexmits(&r), 0);
}
END_TEST

/* Echo with 2 MiB rings and 1 % loss: window scale 6 (a 1448-byte
 * segment is not a whole number of window units) and megabytes in flight
 * while SACK recovery runs both ways. */
START_TEST(tcp_wire_echo_big_ring)
{
    struct moat_impair imp = { .loss_ppm = 10000 };
    struct result r;
    run_case("echo 2M loss 1%", &imp, case_bytes(64), 1, 2u * MIB, &r);
}
END_TEST

/*
 * Real-path combinations (issue 7): every impairment of the wire at once,
 * and heavy loss on a path with a round trip, where recovery is paid for in
 * RTTs. Besides the 120 s limit of every case, each has a bound of its own
 * (about 4x what it took on the 2-core machine when written, see
 * docs/testing-impairments.md): generous against noise, but a recovery that
 * collapses into timeouts or a stall exceeds it. MOAT_TCP_WIRE_MIB scales
 * the bound with the size.
 */
static void check_bound(const struct result *r, unsigned mib, double limit_s)
{
    double lim = limit_s * (double)r->bytes / ((double)mib * MIB);
    ck_assert_msg(r->seconds <= lim, "%.2f s for %llu MiB: more than the %.1f s bound",
                  r->seconds, (unsigned long long)(r->bytes / MIB), lim);
}

/* Loss 1 %, duplication 5 %, reordering 5 %, 10 ms + 0..10 ms each way,
 * bulk both ways at once: every recovery mechanism runs on both sides. */
START_TEST(tcp_wire_all_impaired)
{
    struct moat_impair imp = { .loss_ppm = 10000, .dup_ppm = 50000, .reorder_ppm = 50000,
                               .delay_us = 10000, .jitter_us = 10000 };
    struct result r;
    run_case("all impairments", &imp, case_bytes(4), 0, 0, &r);
    ck_assert_uint_gt(r.sa.tcp_retransmits, 0);
    ck_assert_uint_gt(r.sb.tcp_retransmits, 0);
    check_bound(&r, 4, ALL_IMPAIRED_LIMIT_S);
}
END_TEST

/* 5 % loss each way on a 20 ms round trip, echo: the lossy path
 * with a delay, where each timeout or slow recovery costs RTTs. */
START_TEST(tcp_wire_echo_loss_5pct_delay)
{
    struct moat_impair imp = { .loss_ppm = 50000, .delay_us = 10000 };
    struct result r;
    run_case("echo 5% + 10ms", &imp, case_bytes(2), 1, 0, &r);
    ck_assert_uint_gt(rexmits(&r), 0);
    check_bound(&r, 2, LOSS5_DELAY_LIMIT_S);
}
END_TEST

static Suite *tcp_wire_suite(void)
{
    Suite *s = suite_create("tcp_wire");
    /* One case per TCase, so each has its own timeout: the transfer's
     * wall-clock limit plus the connect limit and some slack. CK_RUN_CASE
     * picks one by name. */
#define TCP_WIRE_CASE(name, fn)                                                   \
    do {                                                                          \
        TCase *tc = tcase_create(name);                                           \
        tcase_set_timeout(tc, (CASE_LIMIT_MS + CONNECT_LIMIT_MS) / 1000 + 30);    \
        tcase_add_unchecked_fixture(tc, case_dir_setup, case_dir_teardown);       \
        tcase_add_test(tc, fn);                                                   \
        suite_add_tcase(s, tc);                                                   \
    } while (0)
    TCP_WIRE_CASE("clean", tcp_wire_clean);
    TCP_WIRE_CASE("loss_1pct", tcp_wire_loss_1pct);
    TCP_WIRE_CASE("loss_5pct", tcp_wire_loss_5pct);
    TCP_WIRE_CASE("reorder", tcp_wire_reorder);
    TCP_WIRE_CASE("duplicate", tcp_wire_duplicate);
    TCP_WIRE_CASE("corrupt", tcp_wire_corrupt);
    TCP_WIRE_CASE("delay", tcp_wire_delay);
    TCP_WIRE_CASE("delay_autotune", tcp_wire_delay_autotune);
    TCP_WIRE_CASE("echo", tcp_wire_echo);
    TCP_WIRE_CASE("echo_impaired", tcp_wire_echo_impaired);
    TCP_WIRE_CASE("echo_big_ring", tcp_wire_echo_big_ring);
    TCP_WIRE_CASE("all_impaired", tcp_wire_all_impaired);
    TCP_WIRE_CASE("echo_loss_5pct_delay", tcp_wire_echo_loss_5pct_delay);
#undef TCP_WIRE_CASE
    return s;
}

MOAT_CHECK_MAIN(tcp_wire_suite)
