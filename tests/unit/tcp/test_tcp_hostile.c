/* SPDX-License-Identifier: MIT */
/*
 * Hostile input against TCP: seeded random segments (flags, numbers near
 * and far from the windows, garbage options, odd lengths) thrown at a
 * listener and at established connections in both directions, with time
 * moving, while the application keeps reading and writing. Nothing may
 * crash or trip the sanitizers, transmitted segments must stay well formed
 * (the fixture checks every checksum), and after aborting everything every
 * slot and pool is idle again (RES-LEAK-1).
 */
#include <check.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static uint64_t rs;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 11);
}

static uint32_t near(uint32_t base)
{
    switch (rnd() % 4) {
    case 0: return base;
    case 1: return base + rnd() % 70000;
    case 2: return base - rnd() % 70000;
    default: return rnd();
    }
}

static void random_segment(struct fx *f, const struct tfx_conn *k, uint16_t lport)
{
    static uint8_t data[2000];
    for (unsigned i = 0; i < 64; i++)
        data[rnd() % sizeof data] = (uint8_t)rnd();
    struct tcp_repr r = TSEG(.dport = lport, .sport = k ? k->rport : (uint16_t)(1024 + rnd() % 8));
    r.flags = (uint8_t)(rnd() & 0x3f);
    if (rnd() % 2)
        r.flags = (uint8_t)((r.flags & ~TH_SYN & ~TH_RST) | TH_ACK);
    r.seq = near(k ? k->peer_nxt : 1000);
    r.ack = near(k ? k->snd_nxt : 1000);
    r.wnd = (uint16_t)(rnd() % 4 ? 65535 : rnd());
    r.len = rnd() % 3 ? rnd() % 1461 : rnd() % 4;
    r.data = data;
    if (rnd() % 3 == 0) {
        r.mss = (uint16_t)rnd();
        r.ws = (int)(rnd() % 20) - 2;
        r.sack_perm = rnd() % 2;
    }
    if (rnd() % 2) {
        r.ts = true;
        r.tsval = near(1000);
        r.tsecr = rnd();
    }
    if (rnd() % 3 == 0) {
        r.n_sack = rnd() % 4;
        for (unsigned i = 0; i < r.n_sack; i++) {
            r.sack[i][0] = near(k ? k->snd_nxt : 0);
            r.sack[i][1] = r.sack[i][0] + rnd() % 5000;
        }
    }
    if (rnd() % 16 == 0)
        r.doff = (int)(rnd() % 16);
    if (rnd() % 32 == 0)
        r.cut = rnd() % 8;
    if (r.cut > 20 + r.len)
        r.cut = 0;
    if (r.n_sack && r.ts && r.n_sack > 2)
        r.n_sack = 2;
    if (r.mss && r.n_sack > 1)
        r.n_sack = 1;
    tfx_inject(f, &r);
}

static void run(uint64_t seed, int with_ts)
{
    struct fx F;
    struct fx *f = &F;
    rs = seed;
    tfx_init(f);
    struct tfx_conn a, p;
    tfx_connect(f, &a, &TFX_OPTS(.ts = with_ts, .sack = true, .ws = 4));
    tfx_passive(f, &p, &TFX_OPTS(.ts = with_ts, .sack = true));
    static uint8_t buf[4096];
    for (unsigned i = 0; i < 20000; i++) {
        unsigned w = rnd() % 4;
        if (w == 0)
            random_segment(f, &a, a.lport);
        else if (w == 1)
            random_segment(f, &p, p.lport);
        else if (w == 2)
            random_segment(f, NULL, TFX_LPORT);
        else
            fx_advance(f, rnd() % 300000);
        /* the application keeps going on whatever is still open */
        uint32_t hs[2] = { a.h, p.h };
        for (int j = 0; j < 2; j++) {
            uint32_t idx = moat_handle_idx(hs[j]);
            if (f->socks[idx].handle != hs[j])
                continue;
            if (rnd() % 4 == 0)
                tfx_write(f, hs[j], buf, rnd() % sizeof buf);
            if (rnd() % 2 == 0)
                tfx_read(f, hs[j], NULL, rnd() % 20000);
        }
        uint32_t child;
        if (rnd() % 64 == 0 && tfx_accept(f, p.lh, &child) == 0 && rnd() % 2)
            tfx_abort(f, child);
        if (fx_ntx(f) > 1000)
            fx_tx_clear(f);
    }
    fx_tx_clear(f);
    tfx_teardown(f);
}

START_TEST(random_segments_no_ts)
{
    run(0x1234567u + (uint64_t)_i, 0);
}
END_TEST

START_TEST(random_segments_ts)
{
    run(0x7654321u + (uint64_t)_i, 1);
}
END_TEST

Suite *tcp_hostile_suite(void);
Suite *tcp_hostile_suite(void)
{
    Suite *s = suite_create("tcp_hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, random_segments_no_ts, 0, 3);
    tcase_add_loop_test(tc, random_segments_ts, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_hostile_suite)
