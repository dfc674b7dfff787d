/* SPDX-License-Identifier: MIT */
/*
 * Interop with lwIP as the remote stack: a moat stack and an lwIP stack
 * (Debian's liblwip, linked into this program only) on the two ends of
 * one shared-memory wire, in one process.
 *
 *   moat 198.18.0.1/24  ==== wire (mkdtemp dir) ====  lwIP 198.18.0.2/24
 *   moat_stack_open(), any backend                    lwip_peer.c netif,
 *                                                     pumped by its own thread
 *
 * Cases: lwIP pings moat (ICMP echo through lwIP's raw API); moat sends UDP
 * datagrams, small and fragmented, to an lwIP echo service; a 16 MiB TCP
 * transfer lwIP -> moat and one moat -> lwIP, each verified byte for byte
 * against a seeded pattern and by a 64-bit FNV-1a hash, with a clean close
 * both ways (FIN, no RST); a TCP echo through lwIP (bulk both ways on one
 * connection, then one-byte request/response round trips). Throughput and
 * round-trip time are printed.
 *
 * Everything is bounded by a wall-clock limit; waiting is done by blocking
 * moat calls with timeouts or by a condition variable the lwIP thread
 * signals, never by sleeping. MOAT_LWIP_PCAP=DIR writes moat's view of
 * each case to DIR/<case>.pcap for diagnosis.
 *
 * Owns the cases. The lwIP side (netif, pump thread, lwIP applications)
 * is lwip_peer.c and the pattern/hash is pattern.h; this file includes no
 * lwIP header, so lwIP's compile-time options and the system's headers
 * never meet here.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <moat/moat.h>
#include <moat/socket.h>

#include "ports/linux/linux_port.h"
#include "support/check_main.h"
#include "lwip_peer.h"

#define IP_MOAT 0xc6120001u   /* 198.18.0.1 */
#define IP_LWIP 0xc6120002u   /* 198.18.0.2 */

#define PORT_MOAT_SINK 5001   /* moat listens: lwIP -> moat */
#define PORT_LWIP_SINK 5002   /* lwIP listens: moat -> lwIP */
#define PORT_LWIP_ECHO 7      /* lwIP TCP and UDP echo */

#define BULK_BYTES   (16u * 1024u * 1024u)
#define ECHO_BYTES   (4u * 1024u * 1024u)
#define RR_COUNT     2000u
#define XFER_LIMIT_MS 60000u   /* one transfer, wall clock */
#define CALL_TIMEO_MS 10000    /* one blocking moat call */

/* ---- time, pattern and hash ------------------------------------------- */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double mbit_s(uint64_t bytes, uint64_t us)
{
    return us ? (double)bytes * 8.0 / (double)us : 0.0;
}

/* ---- the case fixture -------------------------------------------------- */

static char case_dir[64];

static void case_dir_setup(void)
{
    snprintf(case_dir, sizeof(case_dir), "/tmp/moat-lwip-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(case_dir));
}

/* Unchecked teardown: runs in Check's parent, so a case that failed half
 * way leaves nothing in /tmp. */
static void case_dir_teardown(void)
{
    DIR *d = opendir(case_dir);
    struct dirent *e;
    char name[sizeof(case_dir) + 300];

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(name, sizeof(name), "%s/%s", case_dir, e->d_name);
        unlink(name);
    }
    if (d)
        closedir(d);
    rmdir(case_dir);
}

struct world {
    char wire[128];
    struct lwp *lw;
    struct moat_stack *st;
};

static void world_open(struct world *w, const char *casename)
{
    struct moat_config c;
    const char *pcapdir = getenv("MOAT_LWIP_PCAP");
    int r;

    memset(w, 0, sizeof(*w));
    snprintf(w->wire, sizeof(w->wire), "%s/wire-%s", case_dir, casename);

    /* lwIP attaches first (end A, creates the wire); moat joins as B. */
    struct moat_link *l;
    r = moat_wire_link(w->wire, NULL, 1500, &l);
    ck_assert_msg(r == 0, "wire: %s", moat_strerror(r));
    r = lwp_start(l, IP_LWIP, 24, &w->lw);
    ck_assert_msg(r == 0, "lwIP peer: %s", moat_strerror(r));

    moat_config_defaults(&c);
    c.ifs[0].ip = IP_MOAT;
    c.ifs[0].prefix = 24;
    c.ifs[0].link = MOAT_LINK_WIRE;
    snprintf(c.ifs[0].dev, sizeof(c.ifs[0].dev), "%s", w->wire);
    if (pcapdir && *pcapdir)
        snprintf(c.ifs[0].pcap, sizeof(c.ifs[0].pcap), "%s/%s.pcap", pcapdir, casename);
    c.max_sockets = 16;
    r = moat_stack_open(&c, &w->st);
    ck_assert_msg(r == 0, "moat_stack_open: %s", moat_strerror(r));
}

static void world_stats(struct world *w, const char *tag)
{
    struct moat_stats s;
    struct lwp_counters lc;

    if (moat_stack_stats(w->st, &s) == 0)
        printf("  %s moat: segs in %" PRIu64 " out %" PRIu64 ", retransmits %" PRIu64
               " (fast %" PRIu64 ", timeouts %" PRIu64 "), drops %" PRIu64 "\n",
               tag, s.tcp_segs_in, s.tcp_segs_out, s.tcp_retransmits,
               s.tcp_fast_retransmits, s.tcp_timeouts, moat_stats_drops_total(&s));
    for (int i = 0; i < MOAT_DROP_COUNT; i++)
        if (s.drops[i])
            printf("    drop %s: %" PRIu64 "\n", moat_drop_name(i), s.drops[i]);
    lwp_counters(w->lw, &lc);
    printf("  %s lwIP: frames in %" PRIu64 " out %" PRIu64 ", wire tx full %" PRIu64 "\n",
           tag, lc.frames_in, lc.frames_out, lc.tx_dropped);
    fflush(stdout);
}

static void world_close(struct world *w)
{
    if (w->st)
        moat_stack_close(w->st);
    w->st = NULL;
    if (w->lw)
        lwp_stop(w->lw);
    w->lw = NULL;
    moat_wire_unlink(w->wire);
}

static moat_sock_t tcp_socket(struct world *w)
{
    moat_sock_t s;
    int r = moat_sock_open(w->st, MOAT_SOCK_STREAM, &s);
    ck_assert_msg(r == 0, "sock_open: %s", moat_strerror(r));
    ck_assert_int_eq(moat_sock_setopt(w->st, s, MOAT_OPT_RCVTIMEO_MS, CALL_TIMEO_MS), 0);
    ck_assert_int_eq(moat_sock_setopt(w->st, s, MOAT_OPT_SNDTIMEO_MS, CALL_TIMEO_MS), 0);
    return s;
}

/* ---- ICMP: lwIP pings moat --------------------------------------------- */

START_TEST(test_lwip_pings_moat)
{
    struct world w;
    struct lwp_ping_result pr;
    world_open(&w, "ping");

    int r = lwp_ping(w.lw, IP_MOAT, 20, 56, 5000, &pr);
    ck_assert_msg(r == 0, "ping: %s", moat_strerror(r));
    printf("lwip_pings_moat: sent %u, replies %u (bad %u), avg rtt %.1f us\n",
           pr.sent, pr.good, pr.bad, pr.good ? (double)pr.rtt_us_sum / pr.good : 0.0);
    ck_assert_uint_eq(pr.sent, 20);
    ck_assert_uint_eq(pr.bad, 0);
    ck_assert_uint_eq(pr.good, 20);
    world_close(&w);
}
END_TEST

/* ---- UDP: moat client, lwIP echo --------------------------------------- */

START_TEST(test_udp_echo_through_lwip)
{
    /* 1472 fills one frame; 4000 and 8000 are fragmented by moat on the
     * way out and by lwIP on the way back, so both reassemblers work. */
    static const size_t sizes[] = { 1, 18, 512, 1400, 1472, 1473, 4000, 8000 };
    struct world w;
    moat_sock_t s;
    struct moat_addr any = { 0, 0 }, peer = { IP_LWIP, PORT_LWIP_ECHO }, from;
    uint8_t out[8192], in[8192];
    unsigned ok = 0, n = 0;

    world_open(&w, "udp");
    ck_assert_int_eq(lwp_udp_echo(w.lw, PORT_LWIP_ECHO), 0);
    ck_assert_int_eq(moat_sock_open(w.st, MOAT_SOCK_DGRAM, &s), 0);
    ck_assert_int_eq(moat_sock_bind(w.st, s, &any), 0);
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_RCVTIMEO_MS, 3000), 0);

    for (unsigned round = 0; round < 8; round++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t len = sizes[i], sent = 0, got = 0;
            pattern_fill(0x75647000u + n, 0, out, len);
            n++;
            int r = moat_sock_sendto(w.st, s, out, len, &peer, &sent);
            ck_assert_msg(r == 0 && sent == len, "sendto %zu: %s", len, moat_strerror(r));
            r = moat_sock_recvfrom(w.st, s, in, sizeof(in), &from, &got);
            ck_assert_msg(r == 0, "echo of %zu bytes (round %u): %s", len, round,
                          moat_strerror(r));
            ck_assert_uint_eq(from.ip, IP_LWIP);
            ck_assert_uint_eq(from.port, PORT_LWIP_ECHO);
            ck_assert_msg(got == len && memcmp(in, out, len) == 0,
                          "echo of %zu bytes came back as %zu different bytes", len, got);
            ok++;
        }
    }
    printf("udp_echo_through_lwip: %u/%u datagrams echoed intact (1..8000 bytes)\n", ok, n);
    moat_sock_close(w.st, s);
    world_close(&w);
}
END_TEST

/* ---- TCP: lwIP -> moat ------------------------------------------------- */

START_TEST(test_tcp_lwip_to_moat)
{
    const uint64_t seed = 0x6c77697032u;
    struct world w;
    struct moat_addr bindto = { 0, PORT_MOAT_SINK }, peer;
    struct lwp_conn_result cr;
    struct pattern_check pc;
    static uint8_t buf[65536];

    world_open(&w, "lwip_to_moat");
    moat_sock_t ls = tcp_socket(&w), cs = 0;
    ck_assert_int_eq(moat_sock_bind(w.st, ls, &bindto), 0);
    ck_assert_int_eq(moat_sock_listen(w.st, ls, 4), 0);

    int h = lwp_tcp_source(w.lw, IP_MOAT, PORT_MOAT_SINK, seed, BULK_BYTES);
    ck_assert_msg(h >= 0, "lwIP connect: %s", moat_strerror(h));

    uint64_t t0 = now_us();
    int r = moat_sock_accept(w.st, ls, &cs, &peer);
    ck_assert_msg(r == 0, "accept: %s", moat_strerror(r));
    ck_assert_uint_eq(peer.ip, IP_LWIP);
    ck_assert_int_eq(moat_sock_setopt(w.st, cs, MOAT_OPT_RCVTIMEO_MS, CALL_TIMEO_MS), 0);

    pattern_check_init(&pc, seed);
    uint64_t deadline = t0 + XFER_LIMIT_MS * 1000ull;
    int eof = 0;
    for (uint64_t iter = 0; iter < 100000000ull && now_us() < deadline; iter++) {
        size_t got = 0;
        r = moat_sock_recv(w.st, cs, buf, sizeof(buf), &got);
        ck_assert_msg(r == 0, "recv after %" PRIu64 " bytes: %s", pc.bytes, moat_strerror(r));
        if (got == 0) {
            eof = 1;
            break;
        }
        pattern_check_feed(&pc, buf, got);
    }
    uint64_t dt = now_us() - t0;
    ck_assert_msg(eof, "no end of stream within %u ms (%" PRIu64 " of %u bytes)",
                  XFER_LIMIT_MS, pc.bytes, BULK_BYTES);
    ck_assert_msg(pc.mismatch_at == UINT64_MAX, "byte %" PRIu64 " differs from the pattern",
                  pc.mismatch_at);
    ck_assert_uint_eq(pc.bytes, BULK_BYTES);
    ck_assert_msg(pc.hash == pattern_hash(seed, BULK_BYTES), "FNV-1a hash differs");

    /* Our FIN completes lwIP's close: it must see it, with no reset. */
    ck_assert_int_eq(moat_sock_close(w.st, cs), 0);
    r = lwp_wait(w.lw, h, LWP_F_PEER_FIN, 10000, &cr);
    ck_assert_msg(r == 0, "lwIP never saw moat's FIN (flags 0x%x, err %d)", cr.flags, cr.err);
    ck_assert_msg(cr.err == 0, "lwIP reported error %d (%s)", cr.err, lwp_errname(cr.err));
    ck_assert_uint_eq(cr.sent, BULK_BYTES);
    ck_assert_uint_eq(cr.acked, BULK_BYTES);
    printf("tcp_lwip_to_moat: %u bytes in %.3f s = %.1f Mbit/s, hash %016" PRIx64 " ok\n",
           BULK_BYTES, (double)dt / 1e6, mbit_s(BULK_BYTES, dt), pc.hash);
    world_stats(&w, "lwip_to_moat");
    moat_sock_close(w.st, ls);
    world_close(&w);
}
END_TEST

/* ---- TCP: moat -> lwIP ------------------------------------------------- */

START_TEST(test_tcp_moat_to_lwip)
{
    const uint64_t seed = 0x6d6f617432u;
    struct world w;
    struct moat_addr peer = { IP_LWIP, PORT_LWIP_SINK };
    struct lwp_conn_result cr;
    static uint8_t buf[65536];

    world_open(&w, "moat_to_lwip");
    int h = lwp_tcp_sink(w.lw, PORT_LWIP_SINK, seed);
    ck_assert_msg(h >= 0, "lwIP listen: %s", moat_strerror(h));

    moat_sock_t s = tcp_socket(&w);
    uint64_t t0 = now_us();
    int r = moat_sock_connect(w.st, s, &peer);
    ck_assert_msg(r == 0, "connect: %s", moat_strerror(r));

    uint64_t deadline = t0 + XFER_LIMIT_MS * 1000ull, off = 0;
    for (uint64_t iter = 0; iter < 100000000ull && off < BULK_BYTES && now_us() < deadline;
         iter++) {
        size_t len = sizeof(buf), sent = 0;
        if (len > BULK_BYTES - off)
            len = (size_t)(BULK_BYTES - off);
        pattern_fill(seed, off, buf, len);
        size_t done = 0;
        while (done < len && now_us() < deadline) {
            r = moat_sock_send(w.st, s, buf + done, len - done, &sent);
            ck_assert_msg(r == 0, "send at %" PRIu64 ": %s", off + done, moat_strerror(r));
            done += sent;
        }
        off += done;
    }
    ck_assert_msg(off == BULK_BYTES, "only %" PRIu64 " of %u bytes sent within %u ms", off,
                  BULK_BYTES, XFER_LIMIT_MS);
    ck_assert_int_eq(moat_sock_shutdown(w.st, s, MOAT_SHUT_WR), 0);

    /* lwIP has everything once it sees our FIN after the last byte. */
    uint64_t left_ms = (deadline > now_us()) ? (deadline - now_us()) / 1000u : 1;
    r = lwp_wait(w.lw, h, LWP_F_PEER_FIN, (unsigned)left_ms, &cr);
    uint64_t dt = now_us() - t0;
    ck_assert_msg(r == 0, "lwIP saw no FIN within %u ms: %" PRIu64 " bytes, flags 0x%x, err %d",
                  XFER_LIMIT_MS, cr.bytes, cr.flags, cr.err);
    ck_assert_msg(cr.err == 0, "lwIP reported error %d (%s)", cr.err, lwp_errname(cr.err));
    ck_assert_msg(cr.mismatch_at == UINT64_MAX, "lwIP: byte %" PRIu64 " differs from the pattern",
                  cr.mismatch_at);
    ck_assert_uint_eq(cr.bytes, BULK_BYTES);
    ck_assert_msg(cr.hash == pattern_hash(seed, BULK_BYTES), "FNV-1a hash differs");

    /* lwIP closes in turn: we read end of stream, not a reset. */
    size_t got = 1;
    r = moat_sock_recv(w.st, s, buf, sizeof(buf), &got);
    ck_assert_msg(r == 0 && got == 0, "after lwIP's close: r=%s got=%zu", moat_strerror(r), got);
    printf("tcp_moat_to_lwip: %u bytes in %.3f s = %.1f Mbit/s, hash %016" PRIx64 " ok\n",
           BULK_BYTES, (double)dt / 1e6, mbit_s(BULK_BYTES, dt), cr.hash);
    world_stats(&w, "moat_to_lwip");
    moat_sock_close(w.st, s);
    world_close(&w);
}
END_TEST

/* ---- TCP: echo through lwIP (both directions on one connection) -------- */

START_TEST(test_tcp_echo_through_lwip)
{
    const uint64_t seed = 0x6563686f33u;
    struct world w;
    struct moat_addr peer = { IP_LWIP, PORT_LWIP_ECHO };
    struct pattern_check pc;
    static uint8_t out[32768], in[65536];

    world_open(&w, "echo");
    int h = lwp_tcp_echo(w.lw, PORT_LWIP_ECHO);
    ck_assert_msg(h >= 0, "lwIP listen: %s", moat_strerror(h));

    moat_sock_t s = tcp_socket(&w);
    int r = moat_sock_connect(w.st, s, &peer);
    ck_assert_msg(r == 0, "connect: %s", moat_strerror(r));
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_NONBLOCK, 1), 0);

    pattern_check_init(&pc, seed);
    uint64_t t0 = now_us(), deadline = t0 + XFER_LIMIT_MS * 1000ull, off = 0;
    size_t have = 0, at = 0;
    for (uint64_t iter = 0; iter < 10000000ull && pc.bytes < ECHO_BYTES; iter++) {
        ck_assert_msg(now_us() < deadline, "echo stalled: sent %" PRIu64 ", back %" PRIu64,
                      off, pc.bytes);
        struct moat_pollfd pf = { s, MOAT_POLLIN | (off < ECHO_BYTES ? MOAT_POLLOUT : 0), 0 };
        unsigned nready = 0;
        ck_assert_int_eq(moat_poll(w.st, &pf, 1, 1000, &nready), 0);
        ck_assert_msg(!(pf.revents & (MOAT_POLLERR | MOAT_POLLHUP | MOAT_POLLNVAL)),
                      "poll revents 0x%x", pf.revents);
        if (off < ECHO_BYTES && (pf.revents & MOAT_POLLOUT)) {
            if (at == have) {
                size_t len = sizeof(out);
                if (len > ECHO_BYTES - off)
                    len = (size_t)(ECHO_BYTES - off);
                pattern_fill(seed, off, out, len);
                have = len;
                at = 0;
            }
            size_t sent = 0;
            r = moat_sock_send(w.st, s, out + at, have - at, &sent);
            ck_assert_msg(r == 0 || r == MOAT_E_AGAIN, "send: %s", moat_strerror(r));
            at += sent;
            off += sent;
        }
        if (pf.revents & MOAT_POLLIN) {
            size_t got = 0;
            r = moat_sock_recv(w.st, s, in, sizeof(in), &got);
            ck_assert_msg(r == 0 || r == MOAT_E_AGAIN, "recv: %s", moat_strerror(r));
            ck_assert_msg(!(r == 0 && got == 0), "lwIP closed the echo early");
            pattern_check_feed(&pc, in, got);
        }
    }
    uint64_t dt = now_us() - t0;
    ck_assert_uint_eq(pc.bytes, ECHO_BYTES);
    ck_assert_msg(pc.mismatch_at == UINT64_MAX, "echoed byte %" PRIu64 " differs", pc.mismatch_at);
    ck_assert_msg(pc.hash == pattern_hash(seed, ECHO_BYTES), "FNV-1a hash differs");
    printf("tcp_echo_through_lwip: %u bytes out and back in %.3f s = %.1f Mbit/s each way\n",
           ECHO_BYTES, (double)dt / 1e6, mbit_s(ECHO_BYTES, dt));

    /* Request/response: one byte out, the same byte back, no batching. */
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_NONBLOCK, 0), 0);
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_NODELAY, 1), 0);
    t0 = now_us();
    for (unsigned i = 0; i < RR_COUNT; i++) {
        uint8_t q = (uint8_t)(i * 7u + 1u), a = 0;
        size_t n = 0;
        r = moat_sock_send(w.st, s, &q, 1, &n);
        ck_assert_msg(r == 0 && n == 1, "rr %u send: %s", i, moat_strerror(r));
        r = moat_sock_recv(w.st, s, &a, 1, &n);
        ck_assert_msg(r == 0 && n == 1, "rr %u recv: %s (n=%zu)", i, moat_strerror(r), n);
        ck_assert_uint_eq(a, q);
        ck_assert_msg(now_us() < t0 + XFER_LIMIT_MS * 1000ull, "rr too slow at %u", i);
    }
    dt = now_us() - t0;
    printf("tcp_echo_through_lwip: %u request/response round trips, %.1f us each\n", RR_COUNT,
           (double)dt / RR_COUNT);
    world_stats(&w, "echo");

    /* Close: lwIP echoes our FIN with its own. */
    ck_assert_int_eq(moat_sock_shutdown(w.st, s, MOAT_SHUT_WR), 0);
    size_t got = 1;
    r = moat_sock_recv(w.st, s, in, sizeof(in), &got);
    ck_assert_msg(r == 0 && got == 0, "after shutdown: r=%s got=%zu", moat_strerror(r), got);
    struct lwp_conn_result cr;
    r = lwp_wait(w.lw, h, LWP_F_PEER_FIN, 5000, &cr);
    ck_assert_msg(r == 0 && cr.err == 0, "lwIP echo close: flags 0x%x err %d", cr.flags, cr.err);
    moat_sock_close(w.st, s);
    world_close(&w);
}
END_TEST

static Suite *lwip_suite(void)
{
    Suite *s = suite_create("lwip_interop");
    TCase *tc = tcase_create("lwip");
    tcase_add_unchecked_fixture(tc, case_dir_setup, case_dir_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_lwip_pings_moat);
    tcase_add_test(tc, test_udp_echo_through_lwip);
    tcase_add_test(tc, test_tcp_lwip_to_moat);
    tcase_add_test(tc, test_tcp_moat_to_lwip);
    tcase_add_test(tc, test_tcp_echo_through_lwip);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(lwip_suite)
