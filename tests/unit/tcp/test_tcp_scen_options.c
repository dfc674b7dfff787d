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
 *     nothing and do not stop the lost data from being resent;
 *   - unknown option kinds skipped, nothing read after End-of-List,
 *     illegal option lengths survived;
 *   - reserved bits, ECE/CWR and URG on input ignored, never sent.
 *
 * Every test asserts the RFC's behaviour; all pass against the current
 * core. Does not hold fixtures (tcp_fx.c).
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
    /* RFC 8985 7: first the tail loss probe (the last segment again, as
     * there is no new data), which re-arms the RTO ... */
    ck_assert_uint_ne(t->t_tlp, 0);
    ck_assert_uint_lt(t->t_tlp, t->t_rtx);
    fx_advance(f, t->t_tlp - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s0 + 3 * M);
    ck_assert_uint_eq(fx_stats(f).tcp_tlp_probes, 1);
    fx_tx_clear(f);
    /* ... then, nothing SACKed, the RTO from SND.UNA. */
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


/* A segment from the peer with raw option bytes (padded to 4 by the
 * caller), built here because tcp_repr cannot express unknown kinds. */
static void inject_raw(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                       const uint8_t *opt, unsigned olen, const void *data, unsigned len)
{
    static uint8_t seg[2000], frame[2100];
    ck_assert_uint_eq(olen % 4, 0);
    unsigned hl = 20 + olen;
    memset(seg, 0, hl);
    seg[0] = (uint8_t)(sport >> 8);
    seg[1] = (uint8_t)sport;
    seg[2] = (uint8_t)(dport >> 8);
    seg[3] = (uint8_t)dport;
    for (int i = 0; i < 4; i++) {
        seg[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        seg[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    seg[12] = (uint8_t)((hl / 4) << 4);
    seg[13] = flags;
    seg[14] = 0xff;
    seg[15] = 0xff;
    memcpy(seg + 20, opt, olen);
    if (len)
        memcpy(seg + hl, data, len);
    uint16_t ck = fx_l4_cksum(FX_R_IP, FX_L_IP, 6, seg, hl + len);
    seg[16] = (uint8_t)(ck >> 8);
    seg[17] = (uint8_t)ck;
    size_t n = fx_ip4(f, 0, frame, &FX_IP(.proto = 6, .df = true), seg, hl + len);
    fx_inject(f, 0, frame, n);
}

/* RFC 9293 3.1/3.2: unknown option kinds are skipped by their length
 * (MUST be able to receive any option); options after End-of-List are
 * not read. A SYN with [kind 30 len 4][kind 34 len 2][NOP NOP][MSS 1000]
 * [EOL][junk] is answered normally and the MSS is taken. */
START_TEST(unknown_options_in_syn_skipped)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    fx_tx_clear(f);
    const uint8_t opt[16] = { 30, 4, 0x12, 0x34, 34, 2, 1, 1, 2, 4, 0x03, 0xe8, 0, 3, 3, 9 };
    inject_raw(TFX_RPORT, TFX_LPORT, 500, 0, TH_SYN, opt, sizeof opt, NULL, 0);
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr sa = tfx_tx(f, 0);
    ck_assert_uint_eq(sa.flags, TH_SYN | TH_ACK);
    ck_assert_uint_eq(sa.ack, 501);
    ck_assert_int_eq(sa.ws, -1);        /* the WS after EOL was not read */
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 501, .ack = sa.seq + 1, .flags = TH_ACK));
    uint32_t h;
    ck_assert_int_eq(tfx_accept(f, lh, &h), 0);
    ck_assert_uint_eq(tfx_tcb(f, h)->mss, 1000);
    ck_assert_uint_eq(tfx_write(f, h, D, 3000), 3000);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 1000);
}
END_TEST

/* RFC 9293 3.1: reserved header bits "must be ignored in received
 * segments"; ECE/CWR without ECN negotiated (RFC 3168) and URG (RFC 6093:
 * urgent data stays in line) do not stop a segment's data either. */
START_TEST(reserved_and_unused_flag_bits_ignored)
{
    tfx_connect(f, k, &TFX_OPTS());
    uint8_t got[64];
    struct tcp_repr r = tfx_seg(k, TH_ACK | TH_PSH, D, 10);
    r.rsvd = 0x0e;
    tfx_inject(f, &r);
    k->peer_nxt += 10;
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 10);
    ck_assert_mem_eq(got, D, 10);
    r = tfx_seg(k, (uint8_t)(TH_ACK | 0x40 | 0x80), D + 10, 10);
    tfx_inject(f, &r);
    k->peer_nxt += 10;
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 10);
    ck_assert_mem_eq(got, D + 10, 10);
    r = tfx_seg(k, (uint8_t)(TH_ACK | 0x20), D + 20, 10);
    tfx_inject(f, &r);
    k->peer_nxt += 10;
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 10);
    ck_assert_mem_eq(got, D + 20, 10);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->rcv_nxt, k->peer_nxt);
    /* and what we send never has them */
    fx_advance(f, 500000);
    ck_assert_uint_ge(fx_ntx(f), 1);
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct fx_pkt p = fx_tx_pkt(f, i);
        ck_assert_uint_eq(p.l4[12] & 0x0f, 0);
        ck_assert_uint_eq(p.l4[13] & 0xe0, 0);
    }
}
END_TEST

/* RFC 9293 3.1 MUST-7 (handle an illegal option length, e.g. zero,
 * without crashing; resetting is only suggested): an option of length 0
 * or 1, or one running past the header, in a data segment. Accepted
 * policies: drop the segment, reset, or (as Linux) stop reading options
 * and take the data. Whatever it is, the bytes that are taken are the
 * right ones, once, and the connection then carries on. */
START_TEST(illegal_option_lengths)
{
    tfx_connect(f, k, &TFX_OPTS());
    const uint8_t o0[4] = { 8, 0, 0, 0 };
    const uint8_t o1[4] = { 5, 1, 0, 0 };
    const uint8_t o2[4] = { 2, 40, 0, 0 };
    const uint8_t *bad[3] = { o0, o1, o2 };
    for (int i = 0; i < 3; i++)
        inject_raw(k->rport, k->lport, k->peer_nxt, k->snd_nxt, TH_ACK | TH_PSH, bad[i], 4,
                   D, 10);
    struct tcp_cb *t = tfx_tcb(f, k->h);
    if (t->state != TCPS_ESTABLISHED) {
        ck_assert(fx_sock_status(f, k->h) & MOAT_SS_HUP);
        return;
    }
    uint8_t got[32];
    uint32_t n = tfx_read(f, k->h, got, sizeof got);
    ck_assert(n == 0 || n == 10);
    ck_assert_mem_eq(got, D, n);
    ck_assert_uint_eq(t->rcv_nxt, k->peer_nxt + n);
    k->peer_nxt += n;
    tfx_peer_send(f, k, D + n, 10, TH_PSH);
    ck_assert_uint_eq(tfx_read(f, k->h, got, sizeof got), 10);
    ck_assert_mem_eq(got, D + n, 10);
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
    tcase_add_test(tc, unknown_options_in_syn_skipped);
    tcase_add_test(tc, reserved_and_unused_flag_bits_ignored);
    tcase_add_test(tc, illegal_option_lengths);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_options_suite)
