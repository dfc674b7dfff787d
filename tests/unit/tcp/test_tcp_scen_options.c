/* SPDX-License-Identifier: MIT */
/*
 * Reference scenarios, TCP options outside the handshake (reference-
 * scenarios.md TCP-B-MSS-1, TCP-B-WSCALE-1, TCP-B-TS-1, TCP-B-SACK-1 and
 * RFC 9293 3.2, RFC 7323 2.2/3.2, RFC 2018 4, RFC 6675 5.1):
 *
 *   - MSS and window-scale options on a non-SYN segment are ignored;
 *   - TSopt from a peer whose SYN had none is ignored (no TSopt back);
 *   - SACK blocks are ignored when SACK was not negotiated (plain NewReno
 *     fast retransmit still works);
 *   - invalid SACK blocks (beyond SND.NXT, below SND.UNA, empty) mark
 *     nothing and do not stop the lost data from being resent.
 *
 * Known failures are in TCases named known_failures_*, run only with
 * MOAT_RUN_KNOWN_FAILURES=1. Does not hold fixtures (tcp_fx.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[32768];

#define M 1460u

static void setup(void)
{
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

/* RFC 9293 3.2 / 3.7.1: the MSS option is only sent (and honoured) in
 * SYN segments; one in a data segment changes nothing. */
START_TEST(mss_option_outside_syn_ignored)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_repr r = tfx_seg(k, TH_ACK, D, 10);
    r.mss = 100;
    k->peer_nxt += 10;
    tfx_inject(f, &r);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->mss, 1460);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 3000), 3000);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 1460);
}
END_TEST

/* RFC 7323 2.2: "A Window Scale option in a segment without a SYN bit
 * MUST be ignored": with no scaling negotiated, a later WS=14 option does
 * not turn the peer's window of 1000 into 16 MB. */
START_TEST(wscale_option_outside_syn_ignored)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_repr r = tfx_seg(k, TH_ACK, NULL, 0);
    r.ws = 14;
    r.wnd = 1000;
    tfx_inject(f, &r);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert_uint_eq(t->snd_wscale, 0);
    ck_assert_uint_eq(t->snd_wnd, 1000);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 3000), 3000);
    uint32_t sent = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++)
        sent += tfx_tx(f, i).len;
    ck_assert_uint_le(sent, 1000);
}
END_TEST

/* RFC 7323 3.2: timestamps are used only if both SYNs carried TSopt; a
 * peer that starts sending TSopt later gets none back and is not dropped
 * for it. */
START_TEST(timestamps_not_negotiated_ignored)
{
    tfx_passive(f, k, &TFX_OPTS());
    ck_assert(!(tfx_tcb(f, k->h)->flags & TF_TS));
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 10);
    r.ts = true;
    r.tsval = 99;
    k->peer_nxt += 10;
    tfx_inject(f, &r);
    uint8_t got[16];
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 10);
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert(!tfx_tx(f, i).ts);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 100), 100);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert(!tfx_tx(f, 0).ts);
    ck_assert_uint_eq(tfx_tx(f, 0).opt_len, 0);
}
END_TEST

static void dup_ack_sack(uint32_t ack, uint32_t l, uint32_t r)
{
    struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
    a.ack = ack;
    a.n_sack = 1;
    a.sack[0][0] = l;
    a.sack[0][1] = r;
    tfx_inject(f, &a);
}

/* RFC 2018 4: SACK options are not used unless both SYNs had SACK-
 * permitted. Dup ACKs carrying blocks on a non-SACK connection are plain
 * duplicates: the third one triggers the NewReno fast retransmit. */
START_TEST(sack_blocks_without_negotiation_ignored)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert(!(t->flags & TF_SACK));
    ck_assert_uint_eq(tfx_write(f, k->h, D, 6 * M), 6 * M);
    fx_tx_clear(f);
    const uint32_t s0 = k->snd_nxt;
    for (uint32_t i = 1; i <= 3; i++)
        dup_ack_sack(s0, s0 + M, s0 + (i + 1) * M);
    ck_assert_uint_eq(t->n_sack, 0);
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s0);
    ck_assert_uint_eq(tfx_tx(f, 0).len, M);
}
END_TEST

/* RFC 2018 / RFC 6675 5.1: blocks beyond SND.NXT, below SND.UNA or empty
 * are invalid and mark nothing; the lost data is still resent at the RTO
 * from SND.UNA. */
START_TEST(invalid_sack_blocks_mark_nothing)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert(t->flags & TF_SACK);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 4 * M), 4 * M);
    fx_tx_clear(f);
    const uint32_t s0 = k->snd_nxt;
    dup_ack_sack(s0, s0 + 10 * M, s0 + 20 * M);     /* beyond SND.NXT */
    dup_ack_sack(s0, s0 - 5000, s0 - 1000);         /* below SND.UNA */
    dup_ack_sack(s0, s0 + 2 * M, s0 + 2 * M);       /* empty */
    dup_ack_sack(s0, s0 + 3 * M, s0 + M);           /* reversed */
    ck_assert_uint_eq(tcp_sacked_bytes(t), 0);
    ck_assert_uint_eq(t->snd_data, s0);
    fx_tx_clear(f);
    ck_assert_uint_ne(t->t_rtx, 0);
    fx_advance(f, t->t_rtx - f->now);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s0);
    ck_assert_mem_eq(tfx_tx(f, 0).data, D, tfx_tx(f, 0).len);
    /* everything reaches the peer in order as it ACKs */
    uint32_t next = s0;
    for (int round = 0; round < 20 && TCP_SEQ_LT(t->snd_una, s0 + 4 * M); round++) {
        for (unsigned i = 0; i < fx_ntx(f); i++) {
            struct tcp_repr r = tfx_tx(f, i);
            ck_assert_mem_eq(r.data, D + (r.seq - s0), r.len);
            if (r.seq == next)
                next += r.len;
        }
        fx_tx_clear(f);
        tfx_peer_ack(f, k, next, 65535);
    }
    ck_assert_uint_eq(t->snd_una, s0 + 4 * M);
}
END_TEST

Suite *tcp_scen_options_suite(void);
Suite *tcp_scen_options_suite(void)
{
    Suite *s = suite_create("tcp_scen_options");
    TCase *tc = tcase_create("scen_options");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mss_option_outside_syn_ignored);
    tcase_add_test(tc, wscale_option_outside_syn_ignored);
    tcase_add_test(tc, timestamps_not_negotiated_ignored);
    tcase_add_test(tc, sack_blocks_without_negotiation_ignored);
    tcase_add_test(tc, invalid_sack_blocks_mark_nothing);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_options_suite)
