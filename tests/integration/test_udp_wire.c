/* SPDX-License-Identifier: MIT */
/*
 * UDP between two stacks in one process over the shared-memory wire, with
 * and without the wire's impairments. Checks that datagrams arrive byte
 * for byte, that a corrupted datagram is never delivered (every payload
 * carries its own sequence number, length and hash), and that the
 * counters of moat_stack_stats move the way each impairment should make
 * them move.
 *
 *   stack A 198.18.0.1/24  ==== wire (mkdtemp dir) ====  stack B 198.18.0.2/24
 *   client, ephemeral port                               echo server, port 7007
 *
 * Everything is bounded by a count and a wall-clock limit; waiting is done
 * by blocking calls with MOAT_OPT_RCVTIMEO_MS, never by sleeping.
 */
#define _GNU_SOURCE
#include <check.h>
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

#define IP_A 0xc6120001u   /* 198.18.0.1 */
#define IP_B 0xc6120002u   /* 198.18.0.2 */
#define SRV_PORT 7007
#define WALL_LIMIT_MS 90000u
#define MAGIC 0x6d6f6174u
#define CASE_DIR_TAG "udpwire"

struct pair {
    char path[128];
    struct moat_stack *a, *b;
    moat_sock_t ca, sb;        /* client socket on A, server socket on B */
};

/* One directory per test case (tests/support/itest.h). */
static void case_dir_setup(void)
{
    itest_case_dir_make(CASE_DIR_TAG);
}

static void cfg_wire(struct moat_config *c, uint32_t ip, const char *path,
                     const struct moat_impair *imp)
{
    itest_config(c, ip, MOAT_LINK_WIRE, path);
    if (imp)
        c->ifs[0].impair = *imp;
    c->max_sockets = 8;
    c->sock_rx_bytes = 256u * 1024;
    c->sock_tx_bytes = 64u * 1024;
}

static void pair_open(struct pair *p, const struct moat_impair *imp_a,
                      const struct moat_impair *imp_b, uint32_t timeo_ms)
{
    struct moat_config ca, cb;
    struct moat_addr srv = { .ip = 0, .port = SRV_PORT }, any = { .ip = 0, .port = 0 };
    int r;

    memset(p, 0, sizeof(*p));
    itest_wire_path(p->path, sizeof(p->path));

    cfg_wire(&ca, IP_A, p->path, imp_a);   /* opens first: end A */
    cfg_wire(&cb, IP_B, p->path, imp_b);
    r = moat_stack_open(&ca, &p->a);
    ck_assert_msg(r == 0, "open A: %s", moat_strerror(r));
    r = moat_stack_open(&cb, &p->b);
    ck_assert_msg(r == 0, "open B: %s", moat_strerror(r));

    ck_assert_int_eq(moat_sock_open(p->a, MOAT_SOCK_DGRAM, &p->ca), 0);
    ck_assert_int_eq(moat_sock_bind(p->a, p->ca, &any), 0);
    ck_assert_int_eq(moat_sock_open(p->b, MOAT_SOCK_DGRAM, &p->sb), 0);
    ck_assert_int_eq(moat_sock_bind(p->b, p->sb, &srv), 0);
    ck_assert_int_eq(moat_sock_setopt(p->a, p->ca, MOAT_OPT_RCVTIMEO_MS, timeo_ms), 0);
    ck_assert_int_eq(moat_sock_setopt(p->b, p->sb, MOAT_OPT_RCVTIMEO_MS, timeo_ms), 0);
}

static void pair_close(struct pair *p)
{
    moat_stack_close(p->a);
    moat_stack_close(p->b);
    moat_wire_unlink(p->path);
}

/* ---- self-checking payloads ------------------------------------------ */

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* [magic][seq][len][hash of body][body: bytes derived from seq] */
static size_t build(uint8_t *buf, uint32_t seq, size_t len)
{
    ck_assert_uint_ge(len, 16);
    for (size_t i = 16; i < len; i++)
        buf[i] = (uint8_t)(seq * 131u + i * 7u + (i >> 8));
    put32(buf, MAGIC);
    put32(buf + 4, seq);
    put32(buf + 8, (uint32_t)len);
    put32(buf + 12, fnv1a(buf + 16, len - 16));
    return len;
}

/* Intact means: the length, the header and every body byte are what the
 * sender wrote. Writes the sequence number to @p seq. */
static int intact(const uint8_t *buf, size_t got, uint32_t *seq)
{
    if (got < 16 || get32(buf) != MAGIC || get32(buf + 8) != got)
        return 0;
    *seq = get32(buf + 4);
    if (get32(buf + 12) != fnv1a(buf + 16, got - 16))
        return 0;
    for (size_t i = 16; i < got; i++)
        if (buf[i] != (uint8_t)(*seq * 131u + i * 7u + (i >> 8)))
            return 0;
    return 1;
}

/* ---- plain exchange of several sizes ---------------------------------- */

START_TEST(udp_sizes_byte_exact)
{
    static const size_t sizes[] = { 1, 512, 1472, 8000 };
    static uint8_t out[8192], in[8192 + 16];
    struct moat_addr to_b = { .ip = IP_B, .port = SRV_PORT }, from, local;
    struct moat_stats sa, sb;
    struct pair p;
    size_t sent, got;

    pair_open(&p, NULL, NULL, 3000);
    ck_assert_int_eq(moat_sock_name(p.a, p.ca, &local, NULL), 0);
    ck_assert_uint_ne(local.port, 0);

    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)(k * 37u + i * 11u + (i >> 9));

        ck_assert_int_eq(moat_sock_sendto(p.a, p.ca, out, n, &to_b, &sent), 0);
        ck_assert_uint_eq(sent, n);
        memset(in, 0xee, sizeof(in));
        int r = moat_sock_recvfrom(p.b, p.sb, in, sizeof(in), &from, &got);
        ck_assert_msg(r == 0, "B recvfrom %zu bytes: %s", n, moat_strerror(r));
        ck_assert_uint_eq(got, n);
        ck_assert_mem_eq(in, out, n);
        ck_assert_uint_eq(from.ip, IP_A);
        ck_assert_uint_eq(from.port, local.port);

        /* and back, to the address it came from */
        ck_assert_int_eq(moat_sock_sendto(p.b, p.sb, in, got, &from, &sent), 0);
        memset(in, 0xee, sizeof(in));
        r = moat_sock_recvfrom(p.a, p.ca, in, sizeof(in), &from, &got);
        ck_assert_msg(r == 0, "A recvfrom %zu bytes: %s", n, moat_strerror(r));
        ck_assert_uint_eq(got, n);
        ck_assert_mem_eq(in, out, n);
        ck_assert_uint_eq(from.ip, IP_B);
        ck_assert_uint_eq(from.port, SRV_PORT);
    }

    /* A receive buffer smaller than the datagram gets its head; the rest
     * of that datagram is discarded, the next one is whole. */
    build(out, 1, 600);
    ck_assert_int_eq(moat_sock_sendto(p.a, p.ca, out, 600, &to_b, &sent), 0);
    build(out + 1000, 2, 300);
    ck_assert_int_eq(moat_sock_sendto(p.a, p.ca, out + 1000, 300, &to_b, &sent), 0);
    ck_assert_int_eq(moat_sock_recvfrom(p.b, p.sb, in, 100, NULL, &got), 0);
    ck_assert_uint_eq(got, 100);
    ck_assert_mem_eq(in, out, 100);
    ck_assert_int_eq(moat_sock_recvfrom(p.b, p.sb, in, sizeof(in), NULL, &got), 0);
    ck_assert_uint_eq(got, 300);
    ck_assert_mem_eq(in, out + 1000, 300);

    ck_assert_int_eq(moat_stack_stats(p.a, &sa), 0);
    ck_assert_int_eq(moat_stack_stats(p.b, &sb), 0);
    ck_assert_uint_ge(sa.udp_out, 6);
    ck_assert_uint_ge(sb.udp_in, 6);
    ck_assert_uint_ge(sa.ip_frags_out, 2);     /* the 8000-byte datagram */
    ck_assert_uint_ge(sb.ip_reassembled, 1);
    ck_assert_uint_ge(sb.ip_frags_out, 2);     /* and its echo */
    ck_assert_uint_ge(sa.ip_reassembled, 1);
    pair_close(&p);
}
END_TEST

/* Connected UDP: send/recv without addresses, and the filter on source. */
START_TEST(udp_connected_send_recv)
{
    static uint8_t out[2000], in[2000];
    struct moat_addr to_b = { .ip = IP_B, .port = SRV_PORT }, from;
    struct pair p;
    size_t sent, got;
    uint32_t seq;

    pair_open(&p, NULL, NULL, 3000);
    ck_assert_int_eq(moat_sock_connect(p.a, p.ca, &to_b), 0);
    for (uint32_t i = 0; i < 50; i++) {
        size_t n = build(out, i, 16 + (i * 97u) % 1900u);
        ck_assert_int_eq(moat_sock_send(p.a, p.ca, out, n, &sent), 0);
        ck_assert_int_eq(moat_sock_recvfrom(p.b, p.sb, in, sizeof(in), &from, &got), 0);
        ck_assert(intact(in, got, &seq));
        ck_assert_uint_eq(seq, i);
        ck_assert_int_eq(moat_sock_sendto(p.b, p.sb, in, got, &from, &sent), 0);
        ck_assert_int_eq(moat_sock_recv(p.a, p.ca, in, sizeof(in), &got), 0);
        ck_assert(intact(in, got, &seq));
        ck_assert_uint_eq(seq, i);
    }
    pair_close(&p);
}
END_TEST

/* ---- request/response under impairments ------------------------------- */

struct rr_result {
    uint32_t done;           /* exchanges completed */
    uint32_t retries;        /* requests sent again */
    uint32_t stale;          /* old or duplicate replies skipped */
    uint64_t min_rtt_ms;
    struct moat_stats sa, sb;
};

static size_t rr_size(uint32_t i, int fragments)
{
    static const size_t small[] = { 16, 200, 900, 1472 };
    static const size_t big[] = { 16, 700, 1472, 3000, 6000 };
    return fragments ? big[i % 5] : small[i % 4];
}

/*
 * @p count exchanges; each request is retried (bounded) until its reply
 * comes back. The server echoes every intact request it sees. Every
 * datagram received on either side must be intact.
 */
static void run_rr(const struct moat_impair *imp, uint32_t count, uint32_t timeo_ms,
                   int fragments, struct rr_result *res)
{
    static uint8_t req[8192], buf[8192];
    struct moat_addr to_b = { .ip = IP_B, .port = SRV_PORT }, from;
    uint64_t wall_end = itest_now_ms() + WALL_LIMIT_MS;
    struct moat_impair ia = *imp, ib = *imp;
    struct pair p;
    size_t sent, got;

    ia.seed = 0x1234567u;
    ib.seed = 0x7654321u;
    memset(res, 0, sizeof(*res));
    res->min_rtt_ms = UINT64_MAX;
    pair_open(&p, &ia, &ib, timeo_ms);

    for (uint32_t i = 0; i < count; i++) {
        size_t n = build(req, i, rr_size(i, fragments));
        int ok = 0;
        for (uint32_t attempt = 0; attempt < 30 && !ok; attempt++) {
            uint64_t t0 = itest_now_ms();
            uint32_t seq;
            int r;

            ck_assert_msg(t0 < wall_end, "wall-clock limit hit at exchange %u", i);
            if (attempt)
                res->retries++;
            ck_assert_int_eq(moat_sock_sendto(p.a, p.ca, req, n, &to_b, &sent), 0);

            /* server: echo what arrives until this request (or a timeout) */
            for (unsigned k = 0; k < 64; k++) {
                r = moat_sock_recvfrom(p.b, p.sb, buf, sizeof(buf), &from, &got);
                if (r == MOAT_E_AGAIN)
                    break;
                ck_assert_msg(r == 0, "server recv: %s", moat_strerror(r));
                ck_assert_msg(intact(buf, got, &seq), "server got a damaged datagram (%zu bytes)",
                              got);
                ck_assert_uint_eq(from.ip, IP_A);
                ck_assert_int_eq(moat_sock_sendto(p.b, p.sb, buf, got, &from, &sent), 0);
                if (seq == i)
                    break;
            }
            /* client: wait for this reply; skip stale and duplicate ones */
            for (unsigned k = 0; k < 64; k++) {
                r = moat_sock_recvfrom(p.a, p.ca, buf, sizeof(buf), &from, &got);
                if (r == MOAT_E_AGAIN)
                    break;
                ck_assert_msg(r == 0, "client recv: %s", moat_strerror(r));
                ck_assert_msg(intact(buf, got, &seq), "client got a damaged datagram (%zu bytes)",
                              got);
                ck_assert_uint_eq(from.ip, IP_B);
                ck_assert_uint_eq(from.port, SRV_PORT);
                if (seq == i) {
                    uint64_t rtt = itest_now_ms() - t0;
                    ck_assert_uint_eq(got, n);
                    if (attempt == 0 && rtt < res->min_rtt_ms)
                        res->min_rtt_ms = rtt;
                    ok = 1;
                    break;
                }
                res->stale++;
            }
        }
        ck_assert_msg(ok, "exchange %u never completed", i);
        res->done++;
    }
    ck_assert_int_eq(moat_stack_stats(p.a, &res->sa), 0);
    ck_assert_int_eq(moat_stack_stats(p.b, &res->sb), 0);
    pair_close(&p);
    fprintf(stderr, "rr loss=%u dup=%u reorder=%u corrupt=%u delay=%u+%u us: done=%u "
            "retries=%u stale=%u min_rtt=%llu ms frames out=%llu in=%llu drops A=%llu B=%llu\n",
            imp->loss_ppm, imp->dup_ppm, imp->reorder_ppm, imp->corrupt_ppm, imp->delay_us,
            imp->jitter_us, res->done, res->retries, res->stale,
            (unsigned long long)res->min_rtt_ms,
            (unsigned long long)(res->sa.frames_out + res->sb.frames_out),
            (unsigned long long)(res->sa.frames_in + res->sb.frames_in),
            (unsigned long long)moat_stats_drops_total(&res->sa),
            (unsigned long long)moat_stats_drops_total(&res->sb));
}

static uint64_t frames_out(const struct rr_result *r)
{
    return r->sa.frames_out + r->sb.frames_out;
}

static uint64_t frames_in(const struct rr_result *r)
{
    return r->sa.frames_in + r->sb.frames_in;
}

START_TEST(udp_loss)
{
    struct moat_impair imp = { .loss_ppm = 50000 };
    struct rr_result r;

    run_rr(&imp, 300, 40, 0, &r);
    ck_assert_uint_eq(r.done, 300);
    ck_assert_uint_gt(r.retries, 0);
    /* frames vanished on the wire: fewer arrived than were sent */
    ck_assert_uint_lt(frames_in(&r), frames_out(&r));
}
END_TEST

START_TEST(udp_duplication)
{
    struct moat_impair imp = { .dup_ppm = 50000 };
    struct rr_result r;

    run_rr(&imp, 300, 40, 0, &r);
    ck_assert_uint_eq(r.done, 300);
    /* the wire delivered more frames than were sent, and the copies
     * reached the application as datagrams (UDP does not deduplicate) */
    ck_assert_uint_gt(frames_in(&r), frames_out(&r));
    ck_assert_uint_gt(r.stale, 0);
}
END_TEST

START_TEST(udp_reordering)
{
    struct moat_impair imp = { .reorder_ppm = 100000 };
    struct rr_result r;

    /* fragmented datagrams too: reassembly must cope with fragments out
     * of order */
    run_rr(&imp, 300, 40, 1, &r);
    ck_assert_uint_eq(r.done, 300);
    ck_assert_uint_gt(r.sb.ip_reassembled, 0);
    ck_assert_uint_gt(r.sa.ip_reassembled, 0);
}
END_TEST

START_TEST(udp_corruption)
{
    struct moat_impair imp = { .corrupt_ppm = 50000 };
    struct rr_result r;
    uint64_t caught;

    run_rr(&imp, 300, 40, 0, &r);
    ck_assert_uint_eq(r.done, 300);
    /* Every damaged frame that was not harmless was dropped by a check;
     * run_rr already asserted that no damaged datagram was delivered. */
    caught = moat_stats_drops_total(&r.sa) + moat_stats_drops_total(&r.sb);
    ck_assert_uint_gt(caught, 0);
    ck_assert_uint_gt(r.sa.drops[MOAT_DROP_UDP_MALFORMED] + r.sb.drops[MOAT_DROP_UDP_MALFORMED] +
                      r.sa.drops[MOAT_DROP_IP_CHECKSUM] + r.sb.drops[MOAT_DROP_IP_CHECKSUM], 0);
    ck_assert_uint_gt(r.retries, 0);
}
END_TEST

START_TEST(udp_delay_jitter)
{
    struct moat_impair imp = { .delay_us = 10000, .jitter_us = 5000 };
    struct rr_result r;

    run_rr(&imp, 100, 200, 0, &r);
    ck_assert_uint_eq(r.done, 100);
    /* 10 ms each way at least */
    ck_assert_uint_ge(r.min_rtt_ms, 20);
    ck_assert_uint_lt(r.min_rtt_ms, 200);
}
END_TEST

static Suite *udp_wire_suite(void)
{
    Suite *s = suite_create("udp_wire");
    TCase *tc = tcase_create("plain");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_add_test(tc, udp_sizes_byte_exact);
    tcase_add_test(tc, udp_connected_send_recv);
    suite_add_tcase(s, tc);

    tc = tcase_create("impaired");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown);
    tcase_add_test(tc, udp_loss);
    tcase_add_test(tc, udp_duplication);
    tcase_add_test(tc, udp_reordering);
    tcase_add_test(tc, udp_corruption);
    tcase_add_test(tc, udp_delay_jitter);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(udp_wire_suite)
