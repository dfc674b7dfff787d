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
 * both ways (FIN, no RST); 300 short connections in a row; a TCP echo
 * through lwIP (bulk both ways on one connection, then one-byte
 * request/response round trips); lwIP's window held shut (moat must
 * probe); refusals and resets both ways; lwIP's MSS of 536 against moat's
 * MTU of 9000; 4 MiB each way through loss, duplication, reordering,
 * corruption and delay. Throughput and round-trip times are printed;
 * docs/lwip-interop.md has the figures and what the captures showed.
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
#include "support/itest.h"
#include "lwip_peer.h"

#define IP_MOAT 0xc6120001u   /* 198.18.0.1 */
#define IP_LWIP 0xc6120002u   /* 198.18.0.2 */

#define PORT_MOAT_SINK 5001   /* moat listens: lwIP -> moat */
#define PORT_LWIP_SINK 5002   /* lwIP listens: moat -> lwIP */
#define PORT_LWIP_ECHO 7      /* lwIP TCP and UDP echo */

#define BULK_BYTES   (16u * 1024u * 1024u)
#define ECHO_BYTES   (4u * 1024u * 1024u)
#define IMPAIRED_BYTES (4u * 1024u * 1024u)
#define CHURN_CONNS  300u
#define ZW_HOLD_MS   3000u
#define RR_COUNT     2000u
#define XFER_LIMIT_MS 60000u   /* one transfer, wall clock */
#define CALL_TIMEO_MS 10000    /* one blocking moat call */

/* ---- rates ------------------------------------------------------------- */

static double mbit_s(uint64_t bytes, uint64_t us)
{
    return us ? (double)bytes * 8.0 / (double)us : 0.0;
}

/* ---- the case fixture -------------------------------------------------- */

/* One directory per case (tests/support/itest.h). */
static void case_dir_setup(void)
{
    itest_case_dir_make("lwip");
}

struct world {
    char wire[128];
    struct lwp *lw;
    struct moat_stack *st;
};

/* @p imp: impairments of the frames each side sends (NULL: none);
 * IP MTUs of each side (0: 1500). */
static void world_open_full(struct world *w, const char *casename, const struct moat_impair *imp,
                            uint16_t moat_mtu, uint16_t lwip_mtu)
{
    struct moat_config c;
    const char *pcapdir = getenv("MOAT_LWIP_PCAP");
    int r;

    memset(w, 0, sizeof(*w));
    snprintf(w->wire, sizeof(w->wire), "%s/wire-%s", itest_case_dir(), casename);

    /* lwIP attaches first (end A, creates the wire); moat joins as B. */
    struct moat_link *l;
    r = moat_wire_link(w->wire, imp, lwip_mtu ? lwip_mtu : 1500, &l);
    ck_assert_msg(r == 0, "wire: %s", moat_strerror(r));
    r = lwp_start(l, IP_LWIP, 24, &w->lw);
    ck_assert_msg(r == 0, "lwIP peer: %s", moat_strerror(r));

    itest_config(&c, IP_MOAT, MOAT_LINK_WIRE, w->wire);
    if (pcapdir && *pcapdir)
        snprintf(c.ifs[0].pcap, sizeof(c.ifs[0].pcap), "%s/%s.pcap", pcapdir, casename);
    if (imp)
        c.ifs[0].impair = *imp;
    if (moat_mtu)
        c.ifs[0].mtu = moat_mtu;
    c.max_sockets = 16;
    r = moat_stack_open(&c, &w->st);
    ck_assert_msg(r == 0, "moat_stack_open: %s", moat_strerror(r));
}

static void world_open(struct world *w, const char *casename)
{
    world_open_full(w, casename, NULL, 0, 0);
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
    printf("backend: %s\n", moat_backend_name());
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
    struct moat_addr any = { .ip = 0, .port = 0 }, peer = { .ip = IP_LWIP, .port = PORT_LWIP_ECHO }, from;
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

/*
 * lwIP connects to moat's listener on @p port and sends @p total bytes of
 * pattern @p seed; moat reads to end of stream and checks every byte, then
 * closes, and lwIP must see that FIN with no error. Returns microseconds
 * from connect to end of stream.
 */
static uint64_t xfer_lwip_to_moat(struct world *w, uint16_t port, uint64_t seed, uint64_t total)
{
    struct moat_addr bindto = { .ip = 0, .port = port }, peer;
    struct lwp_conn_result cr;
    struct pattern_check pc;
    static uint8_t buf[65536];

    moat_sock_t ls = tcp_socket(w), cs = 0;
    ck_assert_int_eq(moat_sock_bind(w->st, ls, &bindto), 0);
    ck_assert_int_eq(moat_sock_listen(w->st, ls, 4), 0);

    uint64_t t0 = itest_now_us();
    int h = lwp_tcp_source(w->lw, IP_MOAT, port, seed, total);
    ck_assert_msg(h >= 0, "lwIP connect: %s", moat_strerror(h));
    int r = moat_sock_accept(w->st, ls, &cs, &peer);
    ck_assert_msg(r == 0, "accept: %s", moat_strerror(r));
    ck_assert_uint_eq(peer.ip, IP_LWIP);
    ck_assert_int_eq(moat_sock_setopt(w->st, cs, MOAT_OPT_RCVTIMEO_MS, CALL_TIMEO_MS), 0);

    pattern_check_init(&pc, seed);
    uint64_t deadline = t0 + XFER_LIMIT_MS * 1000ull;
    int eof = 0;
    for (uint64_t iter = 0; iter < 100000000ull && itest_now_us() < deadline; iter++) {
        size_t got = 0;
        r = moat_sock_recv(w->st, cs, buf, sizeof(buf), &got);
        ck_assert_msg(r == 0, "recv after %" PRIu64 " bytes: %s", pc.bytes, moat_strerror(r));
        if (got == 0) {
            eof = 1;
            break;
        }
        pattern_check_feed(&pc, buf, got);
    }
    uint64_t dt = itest_now_us() - t0;
    ck_assert_msg(eof, "no end of stream within %u ms (%" PRIu64 " of %" PRIu64 " bytes)",
                  XFER_LIMIT_MS, pc.bytes, total);
    ck_assert_msg(pc.mismatch_at == UINT64_MAX, "byte %" PRIu64 " differs from the pattern",
                  pc.mismatch_at);
    ck_assert_uint_eq(pc.bytes, total);
    ck_assert_msg(pc.hash == pattern_hash(seed, total), "FNV-1a hash differs");

    /* Our FIN completes lwIP's close: it must see it, with no reset. */
    ck_assert_int_eq(moat_sock_close(w->st, cs), 0);
    r = lwp_wait(w->lw, h, LWP_F_PEER_FIN, 10000, &cr);
    ck_assert_msg(r == 0, "lwIP never saw moat's FIN (flags 0x%x, err %d)", cr.flags, cr.err);
    ck_assert_msg(cr.err == 0, "lwIP reported error %d (%s)", cr.err, lwp_errname(cr.err));
    ck_assert_uint_eq(cr.sent, total);
    ck_assert_uint_eq(cr.acked, total);
    printf("  lwIP -> moat: %" PRIu64 " bytes in %.3f s = %.1f Mbit/s, hash %016" PRIx64 " ok\n",
           total, (double)dt / 1e6, mbit_s(total, dt), pc.hash);
    moat_sock_close(w->st, ls);
    return dt;
}

/*
 * moat connects to lwIP's sink on @p port and sends @p total bytes of
 * pattern @p seed, then shuts down; lwIP checks every byte and closes at
 * our FIN; we must read end of stream (not a reset). Returns microseconds
 * from connect to lwIP's report.
 */
static uint64_t xfer_moat_to_lwip(struct world *w, uint16_t port, uint64_t seed, uint64_t total)
{
    struct moat_addr peer = { .ip = IP_LWIP, .port = port };
    struct lwp_conn_result cr;
    static uint8_t buf[65536];

    int h = lwp_tcp_sink(w->lw, port, seed);
    ck_assert_msg(h >= 0, "lwIP listen: %s", moat_strerror(h));

    moat_sock_t s = tcp_socket(w);
    uint64_t t0 = itest_now_us();
    int r = moat_sock_connect(w->st, s, &peer);
    ck_assert_msg(r == 0, "connect: %s", moat_strerror(r));

    uint64_t deadline = t0 + XFER_LIMIT_MS * 1000ull, off = 0;
    for (uint64_t iter = 0; iter < 100000000ull && off < total && itest_now_us() < deadline; iter++) {
        size_t len = sizeof(buf), sent = 0;
        if (len > total - off)
            len = (size_t)(total - off);
        pattern_fill(seed, off, buf, len);
        size_t done = 0;
        while (done < len && itest_now_us() < deadline) {
            r = moat_sock_send(w->st, s, buf + done, len - done, &sent);
            ck_assert_msg(r == 0, "send at %" PRIu64 ": %s", off + done, moat_strerror(r));
            done += sent;
        }
        off += done;
    }
    ck_assert_msg(off == total, "only %" PRIu64 " of %" PRIu64 " bytes sent within %u ms", off,
                  total, XFER_LIMIT_MS);
    ck_assert_int_eq(moat_sock_shutdown(w->st, s, MOAT_SHUT_WR), 0);

    /* lwIP has everything once it sees our FIN after the last byte. */
    uint64_t left_ms = (deadline > itest_now_us()) ? (deadline - itest_now_us()) / 1000u : 1;
    r = lwp_wait(w->lw, h, LWP_F_PEER_FIN, (unsigned)left_ms, &cr);
    uint64_t dt = itest_now_us() - t0;
    ck_assert_msg(r == 0, "lwIP saw no FIN within %u ms: %" PRIu64 " bytes, flags 0x%x, err %d",
                  XFER_LIMIT_MS, cr.bytes, cr.flags, cr.err);
    ck_assert_msg(cr.err == 0, "lwIP reported error %d (%s)", cr.err, lwp_errname(cr.err));
    ck_assert_msg(cr.mismatch_at == UINT64_MAX, "lwIP: byte %" PRIu64 " differs from the pattern",
                  cr.mismatch_at);
    ck_assert_uint_eq(cr.bytes, total);
    ck_assert_msg(cr.hash == pattern_hash(seed, total), "FNV-1a hash differs");

    /* lwIP closes in turn: we read end of stream, not a reset. */
    size_t got = 1;
    r = moat_sock_recv(w->st, s, buf, sizeof(buf), &got);
    ck_assert_msg(r == 0 && got == 0, "after lwIP's close: r=%s got=%zu", moat_strerror(r), got);
    printf("  moat -> lwIP: %" PRIu64 " bytes in %.3f s = %.1f Mbit/s, hash %016" PRIx64 " ok\n",
           total, (double)dt / 1e6, mbit_s(total, dt), cr.hash);
    moat_sock_close(w->st, s);
    return dt;
}

/* ---- TCP: refused and reset connections, both ways --------------------- */

START_TEST(test_tcp_refused_and_reset)
{
    struct world w;
    struct lwp_conn_result cr;
    struct moat_addr bindto = { .ip = 0, .port = PORT_MOAT_SINK }, peer;
    uint8_t buf[4096];

    world_open(&w, "reset");

    /* lwIP -> a moat port nobody listens on: moat answers RST, lwIP
     * reports the refusal as ERR_RST. */
    int h = lwp_tcp_source(w.lw, IP_MOAT, 4444, 1, 1000);
    ck_assert_int_ge(h, 0);
    int r = lwp_wait(w.lw, h, LWP_F_CONNECTED, 5000, &cr);
    ck_assert_msg(r == MOAT_E_CONNRESET && cr.err == -14 /* ERR_RST */,
                  "lwIP to a closed moat port: %s, err %d (%s)", moat_strerror(r), cr.err,
                  lwp_errname(cr.err));
    lwp_release(w.lw, h);

    /* moat -> a closed lwIP port: lwIP answers RST, moat says CONNREFUSED. */
    moat_sock_t s = tcp_socket(&w);
    struct moat_addr closed = { .ip = IP_LWIP, .port = 4445 };
    r = moat_sock_connect(w.st, s, &closed);
    ck_assert_msg(r == MOAT_E_CONNREFUSED, "connect to a closed lwIP port: %s",
                  moat_strerror(r));
    moat_sock_close(w.st, s);

    /* moat aborts an established connection: lwIP accepts the RST. */
    moat_sock_t ls = tcp_socket(&w), cs = 0;
    ck_assert_int_eq(moat_sock_bind(w.st, ls, &bindto), 0);
    ck_assert_int_eq(moat_sock_listen(w.st, ls, 4), 0);
    h = lwp_tcp_source(w.lw, IP_MOAT, PORT_MOAT_SINK, 2, 100000000u);
    ck_assert_int_ge(h, 0);
    r = moat_sock_accept(w.st, ls, &cs, &peer);
    ck_assert_msg(r == 0, "accept: %s", moat_strerror(r));
    size_t got = 0;
    r = moat_sock_recv(w.st, cs, buf, sizeof(buf), &got);
    ck_assert_msg(r == 0 && got > 0, "recv: %s", moat_strerror(r));
    ck_assert_int_eq(moat_sock_abort(w.st, cs), 0);
    r = lwp_wait(w.lw, h, LWP_F_PEER_FIN, 5000, &cr);
    ck_assert_msg(r == MOAT_E_CONNRESET && cr.err == -14,
                  "lwIP after moat's abort: %s, err %d (%s)", moat_strerror(r), cr.err,
                  lwp_errname(cr.err));
    lwp_release(w.lw, h);
    moat_sock_close(w.st, ls);

    /* lwIP aborts: moat accepts the RST (its sequence number is exactly
     * rcv_nxt, RFC 5961 3.2) and the next recv says CONNRESET. */
    h = lwp_tcp_sink(w.lw, PORT_LWIP_SINK, 3);
    ck_assert_int_ge(h, 0);
    s = tcp_socket(&w);
    struct moat_addr sink = { .ip = IP_LWIP, .port = PORT_LWIP_SINK };
    ck_assert_int_eq(moat_sock_connect(w.st, s, &sink), 0);
    pattern_fill(3, 0, buf, sizeof(buf));
    size_t sent = 0;
    ck_assert_int_eq(moat_sock_send(w.st, s, buf, sizeof(buf), &sent), 0);
    ck_assert_uint_eq(sent, sizeof(buf));
    for (unsigned i = 0; i < 100u; i++) {
        lwp_wait(w.lw, h, LWP_F_PEER_FIN, 50, &cr);   /* a bounded look */
        if (cr.bytes == sizeof(buf))
            break;
    }
    ck_assert_uint_eq(cr.bytes, sizeof(buf));
    lwp_release(w.lw, h);   /* tcp_abort: RST */
    r = moat_sock_recv(w.st, s, buf, sizeof(buf), &got);
    ck_assert_msg(r == MOAT_E_CONNRESET, "moat after lwIP's abort: %s (got %zu)",
                  moat_strerror(r), got);
    moat_sock_close(w.st, s);
    printf("tcp_refused_and_reset: refusals and resets seen correctly both ways\n");
    world_close(&w);
}
END_TEST

/*
 * Different MTUs: moat 9000, lwIP 576 (so lwIP's SYN says MSS 536). moat
 * must never send lwIP a segment larger than that, either way round.
 */
START_TEST(test_tcp_mss_from_lwip)
{
    struct world w;
    struct lwp_counters lc;
    world_open_full(&w, "mss", NULL, 9000, 576);
    printf("tcp_mss_from_lwip (moat MTU 9000, lwIP MTU 576):\n");
    xfer_moat_to_lwip(&w, PORT_LWIP_SINK, 0x6d737331u, 2u * 1024u * 1024u);
    xfer_lwip_to_moat(&w, PORT_MOAT_SINK, 0x6d737332u, 2u * 1024u * 1024u);
    lwp_counters(w.lw, &lc);
    printf("  longest frame lwIP received %" PRIu64 ", sent %" PRIu64 " (Ethernet bytes)\n",
           lc.max_frame_in, lc.max_frame_out);
    ck_assert_msg(lc.max_frame_in <= 576u + 14u, "moat sent lwIP a %" PRIu64 "-byte frame",
                  lc.max_frame_in);
    world_close(&w);
}
END_TEST

START_TEST(test_tcp_lwip_to_moat)
{
    struct world w;
    world_open(&w, "lwip_to_moat");
    printf("tcp_lwip_to_moat:\n");
    xfer_lwip_to_moat(&w, PORT_MOAT_SINK, 0x6c77697032u, BULK_BYTES);
    world_stats(&w, "lwip_to_moat");
    world_close(&w);
}
END_TEST

START_TEST(test_tcp_moat_to_lwip)
{
    struct world w;
    world_open(&w, "moat_to_lwip");
    printf("tcp_moat_to_lwip:\n");
    xfer_moat_to_lwip(&w, PORT_LWIP_SINK, 0x6d6f617432u, BULK_BYTES);
    world_stats(&w, "moat_to_lwip");
    world_close(&w);
}
END_TEST

/*
 * Both directions through a bad wire: each side's frames are lost (1 %),
 * duplicated, reordered and corrupted (checksums must catch every one)
 * and delayed 200 us, with a fixed seed. lwIP's recovery (3 s initial RTO,
 * Reno, no SACK, 500 ms timer) meets moat's.
 */
START_TEST(test_tcp_impaired_both_ways)
{
    struct world w;
    struct moat_impair imp = { .loss_ppm = 10000, .dup_ppm = 5000, .reorder_ppm = 5000,
                               .corrupt_ppm = 1000, .delay_us = 200, .seed = 0x1dbad };
    world_open_full(&w, "impaired", &imp, 0, 0);
    printf("tcp_impaired_both_ways (1%% loss, 0.5%% dup, 0.5%% reorder, 0.1%% corrupt, 200 us):\n");
    xfer_lwip_to_moat(&w, PORT_MOAT_SINK, 0x696d7031u, IMPAIRED_BYTES);
    xfer_moat_to_lwip(&w, PORT_LWIP_SINK, 0x696d7032u, IMPAIRED_BYTES);
    world_stats(&w, "impaired");
    world_close(&w);
}
END_TEST

/*
 * Many short connections lwIP -> moat, one after the other, through a
 * moat stack with only 16 socket slots: moat must recycle every slot
 * (lwIP closes first, so the TIME-WAITs are lwIP's), and every connection
 * must carry its bytes intact and close without a reset.
 */
START_TEST(test_tcp_lwip_connection_churn)
{
    struct world w;
    struct moat_addr bindto = { .ip = 0, .port = PORT_MOAT_SINK }, peer;
    uint8_t buf[8192];

    world_open(&w, "churn");
    moat_sock_t ls = tcp_socket(&w);
    ck_assert_int_eq(moat_sock_bind(w.st, ls, &bindto), 0);
    ck_assert_int_eq(moat_sock_listen(w.st, ls, 8), 0);

    uint64_t t0 = itest_now_us();
    for (unsigned i = 0; i < CHURN_CONNS; i++) {
        uint64_t seed = 0x636875726eull + i, total = 1000u + (i % 7u) * 1000u;
        struct pattern_check pc;
        struct lwp_conn_result cr;
        moat_sock_t cs = 0;
        ck_assert_msg(itest_now_us() < t0 + XFER_LIMIT_MS * 1000ull, "churn too slow at %u", i);
        int h = lwp_tcp_source(w.lw, IP_MOAT, PORT_MOAT_SINK, seed, total);
        ck_assert_msg(h >= 0, "lwIP connect %u: %s", i, moat_strerror(h));
        int r = moat_sock_accept(w.st, ls, &cs, &peer);
        ck_assert_msg(r == 0, "accept %u: %s", i, moat_strerror(r));
        ck_assert_int_eq(moat_sock_setopt(w.st, cs, MOAT_OPT_RCVTIMEO_MS, CALL_TIMEO_MS), 0);
        pattern_check_init(&pc, seed);
        for (unsigned k = 0; k < 1000u; k++) {
            size_t got = 0;
            r = moat_sock_recv(w.st, cs, buf, sizeof(buf), &got);
            ck_assert_msg(r == 0, "conn %u recv: %s", i, moat_strerror(r));
            if (got == 0)
                break;
            pattern_check_feed(&pc, buf, got);
        }
        ck_assert_msg(pc.bytes == total && pc.mismatch_at == UINT64_MAX &&
                      pc.hash == pattern_hash(seed, total),
                      "conn %u: %" PRIu64 " of %" PRIu64 " bytes, mismatch at %" PRIu64, i,
                      pc.bytes, total, pc.mismatch_at);
        ck_assert_int_eq(moat_sock_close(w.st, cs), 0);
        r = lwp_wait(w.lw, h, LWP_F_PEER_FIN, 10000, &cr);
        ck_assert_msg(r == 0 && cr.err == 0, "conn %u close: flags 0x%x err %d (%s)", i,
                      cr.flags, cr.err, lwp_errname(cr.err));
        lwp_release(w.lw, h);
    }
    uint64_t dt = itest_now_us() - t0;
    printf("tcp_lwip_connection_churn: %u connections (1-7 kB each) in %.3f s, %.0f per second\n",
           CHURN_CONNS, (double)dt / 1e6, CHURN_CONNS * 1e6 / (double)dt);
    world_stats(&w, "churn");
    moat_sock_close(w.st, ls);
    world_close(&w);
}
END_TEST

/*
 * lwIP's receiver stops reading: its window closes (lwIP advertises 0).
 * moat must stop, keep probing the zero window (RFC 9293 3.8.6.1), and
 * carry on intact when lwIP opens the window again.
 */
START_TEST(test_tcp_lwip_zero_window)
{
    const uint64_t seed = 0x7a65726fu, hold_at = 256u * 1024u;
    struct world w;
    struct moat_addr peer = { .ip = IP_LWIP, .port = PORT_LWIP_SINK };
    struct lwp_conn_result cr;
    static uint8_t buf[65536];

    world_open(&w, "zero_window");
    int h = lwp_tcp_sink_hold(w.lw, PORT_LWIP_SINK, seed, hold_at);
    ck_assert_msg(h >= 0, "lwIP listen: %s", moat_strerror(h));
    moat_sock_t s = tcp_socket(&w);
    int r = moat_sock_connect(w.st, s, &peer);
    ck_assert_msg(r == 0, "connect: %s", moat_strerror(r));
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_NONBLOCK, 1), 0);

    /* Fill until moat can take no more: lwIP's window is shut and our
     * send ring is full. Stalled = no send room for a whole second. */
    uint64_t off = 0, t0 = itest_now_us(), stalled_at = 0;
    for (unsigned iter = 0; iter < 100000u; iter++) {
        ck_assert_msg(itest_now_us() < t0 + XFER_LIMIT_MS * 1000ull, "never stalled");
        struct moat_pollfd pf = { s, MOAT_POLLOUT, 0 };
        unsigned nready = 0;
        ck_assert_int_eq(moat_poll(w.st, &pf, 1, 1000, &nready), 0);
        ck_assert_msg(!(pf.revents & (MOAT_POLLERR | MOAT_POLLHUP)), "revents 0x%x", pf.revents);
        if (!(pf.revents & MOAT_POLLOUT)) {
            stalled_at = off;
            break;
        }
        size_t sent = 0;
        pattern_fill(seed, off, buf, sizeof(buf));
        r = moat_sock_send(w.st, s, buf, sizeof(buf), &sent);
        ck_assert_msg(r == 0 || r == MOAT_E_AGAIN, "send: %s", moat_strerror(r));
        off += sent;
    }
    ck_assert_msg(stalled_at >= hold_at, "stalled after %" PRIu64 " bytes", stalled_at);

    /* Keep the window shut until it has been zero for ZW_HOLD_MS. moat's
     * persist timer starts at about one RTO (<= 1 s here) and doubles, so
     * at least one probe must arrive in that time; moat must not find send
     * room meanwhile (each wait is a poll for POLLOUT that must time out). */
    uint64_t zw_since = 0, zw_frames = 0;
    for (unsigned iter = 0; iter < 100u; iter++) {
        r = lwp_sink_zero_window(w.lw, h, &zw_since, &zw_frames);
        if (r == 0 && itest_now_us() >= zw_since + ZW_HOLD_MS * 1000ull)
            break;
        struct moat_pollfd pf = { s, MOAT_POLLOUT, 0 };
        unsigned nready = 0;
        ck_assert_int_eq(moat_poll(w.st, &pf, 1, 200, &nready), 0);
        ck_assert_msg(!(pf.revents & (MOAT_POLLERR | MOAT_POLLHUP)), "revents 0x%x", pf.revents);
    }
    ck_assert_msg(r == 0, "lwIP never announced a zero window");
    r = lwp_sink_zero_window(w.lw, h, &zw_since, &zw_frames);
    lwp_wait(w.lw, h, 0, 0, &cr);
    printf("tcp_lwip_zero_window: stalled with %" PRIu64 " bytes accepted, lwIP holding %" PRIu64
           "; %" PRIu64 " frames (probes) from moat in %.1f s of zero window\n", stalled_at,
           cr.bytes, zw_frames, (double)(itest_now_us() - zw_since) / 1e6);
    ck_assert_msg(zw_frames >= 1, "moat sent no zero-window probe in %u ms", ZW_HOLD_MS);

    lwp_sink_resume(w.lw, h);
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_NONBLOCK, 0), 0);
    const uint64_t total = stalled_at + 1024u * 1024u;
    while (off < total) {
        size_t len = sizeof(buf), sent = 0;
        if (len > total - off)
            len = (size_t)(total - off);
        pattern_fill(seed, off, buf, len);
        r = moat_sock_send(w.st, s, buf, len, &sent);
        ck_assert_msg(r == 0, "send after reopening at %" PRIu64 ": %s", off, moat_strerror(r));
        off += sent;
        ck_assert_msg(itest_now_us() < t0 + XFER_LIMIT_MS * 1000ull, "too slow after reopening");
    }
    ck_assert_int_eq(moat_sock_shutdown(w.st, s, MOAT_SHUT_WR), 0);
    r = lwp_wait(w.lw, h, LWP_F_PEER_FIN, 20000, &cr);
    ck_assert_msg(r == 0 && cr.err == 0, "lwIP: flags 0x%x err %d, %" PRIu64 " bytes", cr.flags,
                  cr.err, cr.bytes);
    ck_assert_msg(cr.mismatch_at == UINT64_MAX, "lwIP: byte %" PRIu64 " differs", cr.mismatch_at);
    ck_assert_uint_eq(cr.bytes, total);
    ck_assert_msg(cr.hash == pattern_hash(seed, total), "FNV-1a hash differs");
    printf("tcp_lwip_zero_window: %" PRIu64 " bytes intact after the window reopened\n", total);
    world_stats(&w, "zero_window");
    moat_sock_close(w.st, s);
    world_close(&w);
}
END_TEST

/* ---- TCP: echo through lwIP (both directions on one connection) -------- */

START_TEST(test_tcp_echo_through_lwip)
{
    const uint64_t seed = 0x6563686f33u;
    struct world w;
    struct moat_addr peer = { .ip = IP_LWIP, .port = PORT_LWIP_ECHO };
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
    uint64_t t0 = itest_now_us(), deadline = t0 + XFER_LIMIT_MS * 1000ull, off = 0;
    size_t have = 0, at = 0;
    for (uint64_t iter = 0; iter < 10000000ull && pc.bytes < ECHO_BYTES; iter++) {
        ck_assert_msg(itest_now_us() < deadline, "echo stalled: sent %" PRIu64 ", back %" PRIu64,
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
    uint64_t dt = itest_now_us() - t0;
    ck_assert_uint_eq(pc.bytes, ECHO_BYTES);
    ck_assert_msg(pc.mismatch_at == UINT64_MAX, "echoed byte %" PRIu64 " differs", pc.mismatch_at);
    ck_assert_msg(pc.hash == pattern_hash(seed, ECHO_BYTES), "FNV-1a hash differs");
    printf("tcp_echo_through_lwip: %u bytes out and back in %.3f s = %.1f Mbit/s each way\n",
           ECHO_BYTES, (double)dt / 1e6, mbit_s(ECHO_BYTES, dt));

    /* Request/response: one byte out, the same byte back, no batching. */
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_NONBLOCK, 0), 0);
    ck_assert_int_eq(moat_sock_setopt(w.st, s, MOAT_OPT_NODELAY, 1), 0);
    t0 = itest_now_us();
    for (unsigned i = 0; i < RR_COUNT; i++) {
        uint8_t q = (uint8_t)(i * 7u + 1u), a = 0;
        size_t n = 0;
        r = moat_sock_send(w.st, s, &q, 1, &n);
        ck_assert_msg(r == 0 && n == 1, "rr %u send: %s", i, moat_strerror(r));
        r = moat_sock_recv(w.st, s, &a, 1, &n);
        ck_assert_msg(r == 0 && n == 1, "rr %u recv: %s (n=%zu)", i, moat_strerror(r), n);
        ck_assert_uint_eq(a, q);
        ck_assert_msg(itest_now_us() < t0 + XFER_LIMIT_MS * 1000ull, "rr too slow at %u", i);
    }
    dt = itest_now_us() - t0;
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

static TCase *lwip_tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_set_timeout(tc, 180);
    suite_add_tcase(s, tc);
    return tc;
}

/* Cases by group, so CK_RUN_CASE=basic|bulk|impaired runs one group. */
static Suite *lwip_suite(void)
{
    Suite *s = suite_create("lwip_interop");
    TCase *tc = lwip_tcase(s, "basic");
    tcase_add_test(tc, test_lwip_pings_moat);
    tcase_add_test(tc, test_udp_echo_through_lwip);
    tc = lwip_tcase(s, "bulk");
    tcase_add_test(tc, test_tcp_lwip_to_moat);
    tcase_add_test(tc, test_tcp_moat_to_lwip);
    tcase_add_test(tc, test_tcp_lwip_connection_churn);
    tcase_add_test(tc, test_tcp_echo_through_lwip);
    tcase_add_test(tc, test_tcp_lwip_zero_window);
    tcase_add_test(tc, test_tcp_refused_and_reset);
    tcase_add_test(tc, test_tcp_mss_from_lwip);
    tc = lwip_tcase(s, "impaired");
    tcase_add_test(tc, test_tcp_impaired_both_ways);
    return s;
}

MOAT_CHECK_MAIN(lwip_suite)
