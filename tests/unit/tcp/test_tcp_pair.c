/* SPDX-License-Identifier: MIT */
/*
 * Two protocol cores talking TCP to each other through an impaired virtual
 * wire, in virtual time: bulk data both ways through loss, duplication,
 * reordering and delay, verified byte for byte, then a clean close on both
 * sides with every slot released. Exercises slow start, fast retransmit,
 * SACK recovery (RFC 6675), NewReno (SACK off), RTO and the receive
 * window/out-of-order store together.
 *
 *     core A (192.0.2.1)  <---- frames, seeded impairments ---->  core B (192.0.2.2)
 *     connects, sends/receives                                     listens, echoes counts
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

#define PAIR_Q 4096

struct pframe {
    uint64_t due;
    size_t len;
    uint8_t *data;
};

struct pair {
    struct fx a, b;
    uint64_t now;
    uint64_t rng;
    uint32_t loss_ppm, dup_ppm, reorder_ppm, delay_us;
    struct pframe q[2][PAIR_Q];   /* [0]: to B, [1]: to A */
    unsigned nq[2];
    uint64_t dropped, delivered;
};

static uint32_t prand(struct pair *p)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return (uint32_t)(p->rng >> 16);
}

static void pair_init(struct pair *p, uint32_t ring, int sack_off, uint32_t iss)
{
    memset(p, 0, sizeof(*p));
    p->rng = 0x12345678abcdefull;
    tfx_config(&p->a);
    p->a.cfg.sock_rx_bytes = ring;
    p->a.cfg.sock_tx_bytes = ring;
    p->a.cfg.tcp_ooo_bytes = 4u << 20;
    if (iss != 0) {
        p->a.iss_hook = 1;
        p->a.iss_fixed = iss;
    }
    p->b.cfg = p->a.cfg;
    p->b.iss_hook = p->a.iss_hook;
    p->b.iss_fixed = iss - 5000u;
    p->b.cfg.seed = 0xb0b;
    p->b.cfg.ifs[0].ip = FX_R_IP;
    memcpy(p->b.cfg.ifs[0].mac, fx_r_mac, 6);
    p->b.peer_ip[0] = FX_L_IP;
    memcpy(p->b.peer_mac[0], fx_l_mac, 6);
    p->a.peer_ip[0] = FX_R_IP;
    memcpy(p->a.peer_mac[0], fx_r_mac, 6);
    (void)sack_off;
    fx_start(&p->a);
    fx_start(&p->b);
    fx_arp_seed(&p->a);
    fx_arp_seed(&p->b);
    fx_tx_clear(&p->a);
    fx_tx_clear(&p->b);
    p->now = p->a.now > p->b.now ? p->a.now : p->b.now;
    p->a.now = p->b.now = p->now;
    p->delay_us = 1000;
}

static void pair_enqueue(struct pair *p, int dir, const uint8_t *d, size_t len, uint64_t due)
{
    if (p->nq[dir] >= PAIR_Q)
        ck_abort_msg("wire queue full");
    struct pframe *fr = &p->q[dir][p->nq[dir]++];
    fr->due = due;
    fr->len = len;
    fr->data = malloc(len);
    if (fr->data == NULL)
        ck_abort_msg("out of memory");
    memcpy(fr->data, d, len);
}

/* Move what each core transmitted onto the wire. */
static void pair_collect(struct pair *p)
{
    for (int dir = 0; dir < 2; dir++) {
        struct fx *src = dir == 0 ? &p->a : &p->b;
        for (unsigned i = 0; i < fx_ntx(src); i++) {
            const struct fx_frame *fr = fx_tx(src, i);
            if (prand(p) % 1000000u < p->loss_ppm) {
                p->dropped++;
                continue;
            }
            uint64_t due = p->now + p->delay_us;
            if (prand(p) % 1000000u < p->reorder_ppm)
                due += 3000;
            pair_enqueue(p, dir, fr->data, fr->len, due);
            if (prand(p) % 1000000u < p->dup_ppm)
                pair_enqueue(p, dir, fr->data, fr->len, due + 10);
        }
        fx_tx_clear(src);
    }
}

static uint64_t pair_next(struct pair *p)
{
    uint64_t n = p->a.next_due < p->b.next_due ? p->a.next_due : p->b.next_due;
    for (int dir = 0; dir < 2; dir++)
        for (unsigned i = 0; i < p->nq[dir]; i++)
            if (p->q[dir][i].due < n)
                n = p->q[dir][i].due;
    return n;
}

/* Advance to the next event (bounded by @p limit), deliver and poll. */
static void pair_step(struct pair *p, uint64_t limit)
{
    pair_collect(p);
    uint64_t n = pair_next(p);
    if (n > p->now + 100000u)
        n = p->now + 100000u;   /* idle: let the applications look again soon */
    if (n > limit)
        n = limit;
    if (n > p->now)
        p->now = n;
    p->a.now = p->b.now = p->now;
    for (int dir = 0; dir < 2; dir++) {
        struct fx *dst = dir == 0 ? &p->b : &p->a;
        unsigned j = 0;
        for (unsigned i = 0; i < p->nq[dir]; i++) {
            struct pframe *fr = &p->q[dir][i];
            if (fr->due <= p->now) {
                mcore_input(dst->core, 0, fr->data, fr->len, p->now);
                free(fr->data);
                p->delivered++;
            } else {
                p->q[dir][j++] = *fr;
            }
        }
        p->nq[dir] = j;
    }
    fx_poll(&p->a);
    fx_poll(&p->b);
}

static void pair_free(struct pair *p)
{
    for (int dir = 0; dir < 2; dir++)
        for (unsigned i = 0; i < p->nq[dir]; i++)
            free(p->q[dir][i].data);
    fx_free(&p->a);
    fx_free(&p->b);
}

static uint8_t pat(uint32_t i, uint32_t salt) { return (uint8_t)(i * 31u + (i >> 9) + salt); }

/* Bulk transfer @p total bytes each way, then close both ends. */
static void run_bulk_iss(uint32_t total, uint32_t loss, uint32_t dup, uint32_t reorder,
                         uint32_t ring, int sack, uint32_t iss)
{
    static struct pair P;
    struct pair *p = &P;
    pair_init(p, ring, !sack, iss);
    p->loss_ppm = loss;
    p->dup_ppm = dup;
    p->reorder_ppm = reorder;
    (void)sack;

    uint32_t lh = tfx_stream_open(&p->b);
    ck_assert_int_eq(fx_bind(&p->b, lh, 0, 5001), 0);
    ck_assert_int_eq(tfx_listen(&p->b, lh, 4), 0);
    uint32_t ha = tfx_stream_open(&p->a);
    ck_assert_int_eq(fx_connect(&p->a, ha, FX_R_IP, 5001), MOAT_E_INPROGRESS);
    uint32_t hb = 0;
    uint64_t deadline = p->now + 600ull * 1000000u;
    for (unsigned n = 0; n < 100000 && hb == 0; n++) {
        pair_step(p, deadline);
        if (tfx_accept(&p->b, lh, &hb) != 0)
            hb = 0;
    }
    ck_assert_uint_ne(hb, 0);
    if (!sack) {
        /* Turn SACK off on both connections for the NewReno path. */
        tfx_tcb(&p->a, ha)->flags &= ~(uint32_t)TF_SACK;
        tfx_tcb(&p->b, hb)->flags &= ~(uint32_t)TF_SACK;
    }
    uint32_t sent[2] = { 0, 0 }, got[2] = { 0, 0 };
    int shut[2] = { 0, 0 }, eof[2] = { 0, 0 };
    static uint8_t buf[65536];
    uint32_t h[2] = { ha, hb };
    struct fx *fxs[2] = { &p->a, &p->b };
    unsigned steps = 0;
    while (!(eof[0] && eof[1])) {
        if (++steps >= 3000000 || p->now >= deadline) {
            for (int z = 0; z < 2; z++) {
                struct tcp_cb *t = tfx_tcb(fxs[z], h[z]);
                fprintf(stderr, "side %d: state %d flags 0x%x una %u nxt %u max %u fin %u data %u "
                        "rcv_nxt %u rcv_adv %u wnd %u cwnd %u rec %d rtx %llu persist %llu nooo %u eof %d status 0x%x type %d\n",
                        z, t->state, t->flags, t->snd_una, t->snd_nxt, t->snd_max, t->fin_seq,
                        t->snd_data, t->rcv_nxt, t->rcv_adv, t->snd_wnd, t->cwnd, t->recovery,
                        (unsigned long long)t->t_rtx, (unsigned long long)t->t_persist, t->n_ooo, eof[z], fx_sock_status(fxs[z], h[z]), fxs[z]->core->socks[moat_handle_idx(h[z])].type);
            }
            for (int z = 0; z < 2; z++) {
                struct moat_stats st = fx_stats(fxs[z]);
                fprintf(stderr, "side %d: segs out %llu rexmit %llu fast %llu rto %llu now %.3f\n", z,
                        (unsigned long long)st.tcp_segs_out, (unsigned long long)st.tcp_retransmits,
                        (unsigned long long)st.tcp_fast_retransmits, (unsigned long long)st.tcp_timeouts,
                        (double)p->now / 1e6);
                for (int d = 0; d < MOAT_DROP_COUNT; d++)
                    if (st.drops[d])
                        fprintf(stderr, "core %d drop %s: %llu\n", z, moat_drop_name(d),
                                (unsigned long long)st.drops[d]);
            }
            ck_abort_msg("no progress: sent %u/%u got %u/%u", sent[0], sent[1], got[0], got[1]);
        }
        for (int s = 0; s < 2; s++) {
            struct fx *x = fxs[s];
            if (sent[s] < total) {
                uint32_t n = total - sent[s] < sizeof buf ? total - sent[s] : sizeof buf;
                for (uint32_t i = 0; i < n; i++)
                    buf[i] = pat(sent[s] + i, (uint32_t)s);
                sent[s] += tfx_write(x, h[s], buf, n);
            } else if (!shut[s]) {
                ck_assert_int_eq(tfx_shutdown(x, h[s], MOAT_SHUT_WR), 0);
                shut[s] = 1;
            }
            uint32_t r = tfx_read(x, h[s], buf, sizeof buf);
            for (uint32_t i = 0; i < r; i++)
                if (buf[i] != pat(got[s] + i, (uint32_t)(1 - s)))
                    ck_abort_msg("byte %u corrupted", got[s] + i);
            got[s] += r;
            if (r == 0 && (fx_sock_status(x, h[s]) & MOAT_SS_RDHUP) && !eof[s] && got[s] != total) {
                for (int z = 0; z < 2; z++) {
                    struct moat_stats st = fx_stats(fxs[z]);
                    for (int d = 0; d < MOAT_DROP_COUNT; d++)
                        if (st.drops[d])
                            fprintf(stderr, "core %d drop %s: %llu\n", z, moat_drop_name(d),
                                    (unsigned long long)st.drops[d]);
                }
            }
            if (r == 0 && (fx_sock_status(x, h[s]) & MOAT_SS_RDHUP) && !eof[s]) {
                ck_assert_msg(got[s] == total, "side %d: EOF after %u of %u bytes (status 0x%x, error %d, state %d)",
                              s, got[s], total, fx_sock_status(x, h[s]), fx_sock_error(x, h[s]),
                              tfx_state(x, h[s]));
                eof[s] = 1;
            }
            if (fx_sock_status(x, h[s]) & MOAT_SS_ERR)
                ck_abort_msg("side %d: error %d", s, fx_sock_error(x, h[s]));
        }
        for (int z = 0; z < 2; z++) {
            struct tcp_cb *t = tfx_tcb(fxs[z], h[z]);
            struct msock *ms = &fxs[z]->core->socks[moat_handle_idx(h[z])];
            uint32_t raw = 0;
            (void)moat_ring_space(&ms->rx, &raw);
            if (t->state >= TCPS_ESTABLISHED && TCP_SEQ_GT(t->rcv_adv, t->rcv_nxt) &&
                t->rcv_adv - t->rcv_nxt > raw)
                ck_abort_msg("side %d promised %u bytes, ring has %u (step %u)", z,
                             t->rcv_adv - t->rcv_nxt, raw, steps);
        }
        uint64_t to_before[2] = { fx_stats(&p->a).tcp_timeouts, fx_stats(&p->b).tcp_timeouts };
        struct tcp_cb snap[2] = { *tfx_tcb(&p->a, ha), *tfx_tcb(&p->b, hb) };
        pair_step(p, deadline);
        if (getenv("TCP_PAIR_TRACE"))
            for (int z = 0; z < 2; z++)
                if (fx_stats(fxs[z]).tcp_timeouts != to_before[z]) {
                    struct tcp_cb *t = &snap[z];
                    fprintf(stderr, "RTO side %d at %.3f: rec %d una %u max %u(+%u) nsack %u sacked %u "
                            "cwnd %u ssth %u dup %u hrxt +%u wnd %u retries %u\n", z,
                            (double)p->now / 1e6, t->recovery, t->snd_una, t->snd_max,
                            t->snd_max - t->snd_una, t->n_sack, tcp_sacked_bytes(t), t->cwnd,
                            t->ssthresh, t->dupacks, t->high_rxt - t->snd_una, t->snd_wnd,
                            t->retries);
                }
    }
    uint64_t t_data = p->now;
    ck_assert_int_eq(fx_close(&p->a, ha), 0);
    ck_assert_int_eq(fx_close(&p->b, hb), 0);
    ck_assert_int_eq(fx_close(&p->b, lh), 0);
    for (unsigned n = 0; n < 200000; n++) {
        pair_step(p, deadline + 100ull * 1000000u);
        if (tfx_slots_used(&p->a) == 0 && tfx_slots_used(&p->b) == 0 &&
            p->nq[0] == 0 && p->nq[1] == 0)
            break;
    }
    if (getenv("TCP_PAIR_VERBOSE"))
        fprintf(stderr, "pair: data done at %.3f s virtual\n", (double)(t_data - FX_T0) / 1e6);
    if (0)
        fprintf(stderr, "close done at %.3f s (data done at %.3f s): A state %d, B state %d, slots %u %u q %u %u\n",
                (double)p->now / 1e6, (double)t_data / 1e6, tfx_state(&p->a, ha), tfx_state(&p->b, hb), tfx_slots_used(&p->a), tfx_slots_used(&p->b), p->nq[0], p->nq[1]);
    ck_assert_uint_eq(tfx_slots_used(&p->a), 0);
    ck_assert_uint_eq(tfx_slots_used(&p->b), 0);
    {
        struct moat_stats sa = fx_stats(&p->a);
        if (getenv("TCP_PAIR_VERBOSE"))
            fprintf(stderr, "pair: %u bytes each way, loss %u ppm: %.3f s virtual, A out %llu segs, "
                    "%llu rexmit (%llu fast, %llu rto), B rexmit %llu\n", total, loss,
                    (double)(p->now - P.a.cfg.seed * 0) / 1e6,
                    (unsigned long long)sa.tcp_segs_out, (unsigned long long)sa.tcp_retransmits,
                    (unsigned long long)sa.tcp_fast_retransmits,
                    (unsigned long long)sa.tcp_timeouts,
                    (unsigned long long)fx_stats(&p->b).tcp_retransmits);
    }
    if (loss > 0) {
        struct moat_stats sa = fx_stats(&p->a);
        ck_assert_uint_gt(sa.tcp_retransmits, 0);
    }
    pair_free(p);
}

static void run_bulk(uint32_t total, uint32_t loss, uint32_t dup, uint32_t reorder,
                     uint32_t ring, int sack)
{
    run_bulk_iss(total, loss, dup, reorder, ring, sack, 0);
}

/* Sequence numbers of both directions cross 2^32 early, under loss. */
START_TEST(bulk_wrap_loss)
{
    run_bulk_iss(2u << 20, 20000, 2000, 20000, 65536, 1, 0xffff0000u);
}
END_TEST

START_TEST(bulk_wrap_newreno)
{
    run_bulk_iss(1u << 20, 20000, 0, 0, 65536, 0, 0xfffff000u);
}
END_TEST

START_TEST(bulk_clean)
{
    run_bulk(32u << 20, 0, 0, 0, 262144, 1);
}
END_TEST

START_TEST(bulk_loss_1pct_sack)
{
    run_bulk(8u << 20, 10000, 0, 0, 262144, 1);
}
END_TEST

START_TEST(bulk_loss_5pct_sack)
{
    run_bulk(4u << 20, 50000, 0, 0, 65536, 1);
}
END_TEST

START_TEST(bulk_loss_5pct_newreno)
{
    run_bulk(4u << 20, 50000, 0, 0, 65536, 0);
}
END_TEST

START_TEST(bulk_dup_reorder)
{
    run_bulk(2u << 20, 5000, 20000, 50000, 65536, 1);
}
END_TEST

START_TEST(bulk_small_ring)
{
    run_bulk(1u << 20, 20000, 5000, 20000, 4096, 1);
}
END_TEST

Suite *tcp_pair_suite(void);
Suite *tcp_pair_suite(void)
{
    Suite *s = suite_create("tcp_pair");
    TCase *tc = tcase_create("bulk");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bulk_clean);
    tcase_add_test(tc, bulk_loss_1pct_sack);
    tcase_add_test(tc, bulk_loss_5pct_sack);
    tcase_add_test(tc, bulk_loss_5pct_newreno);
    tcase_add_test(tc, bulk_dup_reorder);
    tcase_add_test(tc, bulk_small_ring);
    tcase_add_test(tc, bulk_wrap_loss);
    tcase_add_test(tc, bulk_wrap_newreno);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_pair_suite)
