/* SPDX-License-Identifier: MIT */
/*
 * TCP retransmission, RTO, fast retransmit, NewReno, SACK and ICMP:
 * reference-scenarios.md sections 7 and 8, plus RFC 5927 frag-needed.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[65536];

static void setup(void)
{
    tfx_pin_cong(MOAT_TCP_CONG_NEWRENO);    /* NewReno's window arithmetic */
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void) { tfx_teardown(f); }

static struct tcp_repr dup_ack(uint32_t ack)
{
    struct tcp_repr r = tfx_seg(k, TH_ACK, NULL, 0);
    r.ack = ack;
    return r;
}

/* Three duplicate ACKs of @p s0 SACKing the 2nd, then 2nd-3rd, then
 * 2nd-4th segment after it: the first segment is a hole (RACK with no
 * reordering seen yet: lost at once). */
static void sack_dups_above_first(uint32_t s0)
{
    for (int i = 2; i <= 4; i++) {
        struct tcp_repr r = dup_ack(s0);
        r.n_sack = 1;
        r.sack[0][0] = s0 + 1460;
        r.sack[0][1] = s0 + (uint32_t)i * 1460;
        tfx_inject(f, &r);
    }
}

/* TCP-RTO-TIMEOUT-1 */
START_TEST(rto_timeout)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_write(f, k->h, D, 1460);
    uint64_t t0 = fx_tx(f, 0)->t;
    fx_tx_clear(f);
    uint32_t rto0 = tfx_tcb(f, k->h)->rto;
    fx_advance(f, rto0 - 1);
    fx_expect_no_tx(f);
    fx_advance(f, 1);
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_advance(f, 3600ull * 1000000u);
    ck_assert_uint_eq(fx_ntx(f), f->cfg.tcp_max_retries);
    uint64_t prev = t0;
    uint64_t prev_iv = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_uint_eq(r.len, 1460);
        ck_assert_uint_eq(r.seq, k->snd_nxt);
        uint64_t iv = fx_tx(f, i)->t - prev;
        ck_assert_uint_ge(iv, prev_iv);
        prev_iv = iv;
        prev = fx_tx(f, i)->t;
    }
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_TIMEDOUT);
    ck_assert_uint_ge(f->now - t0, 100000000u);     /* RFC 1122: at least 100 s */
    fx_tx_clear(f);
    tfx_peer_send(f, k, D, 1, 0);
    ck_assert_uint_eq(tfx_tx(f, 0).flags & TH_RST, TH_RST);
}
END_TEST

/* TCP-RTO-LINKDOWN-1: the schedule runs on while frames cannot go out */
START_TEST(rto_timeout_link_down)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_write(f, k->h, D, 1460);
    fx_tx_clear(f);
    fx_advance(f, tfx_tcb(f, k->h)->rto);
    ck_assert_uint_eq(fx_ntx(f), 1);
    f->links[0].fail_tx = 1000000;
    fx_advance(f, 3600ull * 1000000u);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_TIMEDOUT);
    f->links[0].fail_tx = 0;
}
END_TEST

/* Link backpressure: a segment the link has no buffer for never left, so
 * TCP keeps it unsent (no retransmission to count, no loss to repair) and
 * sends it, in order, once the link takes frames again. */
START_TEST(link_full_holds_data_back)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    fx_tx_clear(f);
    f->links[0].fail_tx = 1000000;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 4 * 1460u), 4 * 1460u);
    ck_assert_uint_eq(fx_ntx(f), 0);
    ck_assert_uint_eq(t->snd_nxt, k->snd_nxt);      /* nothing counted as sent */
    ck_assert_uint_eq(t->snd_max, k->snd_nxt);
    ck_assert_uint_ne(t->t_lwait, 0);
    ck_assert_uint_gt(fx_stats(f).drops[MOAT_DROP_LINK_TX_FULL], 0);
    f->links[0].fail_tx = 0;
    fx_advance(f, TCP_LINKWAIT_US);
    ck_assert_uint_eq(fx_ntx(f), 4);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_eq(tfx_tx(f, i).seq, k->snd_nxt + i * 1460u);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 0);
    ck_assert_uint_eq(t->t_lwait, 0);
}
END_TEST

/* Link backpressure during SACK recovery: a retransmission the link
 * refuses did not happen (not counted, recovery stops sending instead of
 * trying the same range again and again) and goes out once the link
 * takes frames again. */
START_TEST(link_full_retransmission_not_counted)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    tfx_write(f, k->h, D, 6 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 6);
    fx_tx_clear(f);
    uint32_t s0 = k->snd_nxt;
    f->links[0].fail_tx = 1000000;
    sack_dups_above_first(s0);
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert_uint_eq(fx_ntx(f), 0);
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 0);
    ck_assert_uint_ne(t->t_lwait, 0);
    /* a few refused frames per ACK (18 in all here), not one per turn of
     * recovery's loop (18 432 before) */
    ck_assert_uint_le(fx_stats(f).drops[MOAT_DROP_LINK_TX_FULL], 64);
    f->links[0].fail_tx = 0;
    fx_advance(f, TCP_LINKWAIT_US);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s0);        /* the hole, first */
    ck_assert_uint_eq(fx_stats(f).tcp_retransmits, 1);
}
END_TEST

/* RFC 7323 RTTM with a peer whose TS.Recent stays put (Linux under heavy
 * reordering): its ACKs keep echoing one old TSval while they advance
 * SND.UNA. Only the first ACK with a given TSecr is an RTT sample; the
 * repeats, each older by the time since, would have driven SRTT (and the
 * RTO, and HyStart++'s delay signal) up by a round trip per round trip. */
START_TEST(rtt_repeated_tsecr_no_sample)
{
    tfx_connect(f, k, &TFX_OPTS(.ts = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    const uint32_t rtt = 50000;
    ck_assert_uint_eq(tfx_write(f, k->h, D, 100), 100);
    uint32_t frozen = tfx_tx(f, 0).tsval;
    fx_tx_clear(f);
    fx_advance(f, rtt);
    struct tcp_repr a = tfx_seg(k, TH_ACK, NULL, 0);
    k->snd_nxt += 100;
    a.ack = k->snd_nxt;
    a.tsecr = frozen;
    tfx_inject(f, &a);
    ck_assert_uint_eq(t->rtt_last, rtt);        /* the first echo: a sample */
    uint32_t srtt = t->srtt, rto = t->rto;
    for (int i = 0; i < 6; i++) {
        ck_assert_uint_eq(tfx_write(f, k->h, D, 100), 100);
        fx_tx_clear(f);
        fx_advance(f, rtt);
        a = tfx_seg(k, TH_ACK, NULL, 0);
        k->snd_nxt += 100;
        a.ack = k->snd_nxt;
        a.tsecr = frozen;                       /* "RTT" (i + 2) * 50 ms */
        tfx_inject(f, &a);
        ck_assert_uint_eq(t->snd_una, k->snd_nxt);
        ck_assert_uint_eq(t->rtt_last, 0);
        ck_assert_uint_eq(t->srtt, srtt);
        ck_assert_uint_eq(t->rto, rto);
    }
    /* a new echo measures again */
    ck_assert_uint_eq(tfx_write(f, k->h, D, 100), 100);
    uint32_t fresh = tfx_tx(f, 0).tsval;
    fx_tx_clear(f);
    fx_advance(f, rtt);
    a = tfx_seg(k, TH_ACK, NULL, 0);
    k->snd_nxt += 100;
    a.ack = k->snd_nxt;
    a.tsecr = fresh;
    tfx_inject(f, &a);
    ck_assert_uint_eq(t->rtt_last, rtt);
}
END_TEST

/* TCP-B-RTO-CALC-1 (b)(c)(d)(f) */
START_TEST(rto_estimator_karn_backoff)
{
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    uint32_t srtt = t->srtt, var = t->rttvar;
    tfx_write(f, k->h, D, 100);
    fx_advance(f, 100000);
    k->snd_nxt += 100;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    uint32_t d = srtt > 100000 ? srtt - 100000 : 100000 - srtt;
    uint32_t evar = var - var / 4 + d / 4;
    uint32_t esrtt = srtt - srtt / 8 + 100000 / 8;
    ck_assert_uint_eq(t->rttvar, evar);
    ck_assert_uint_eq(t->srtt, esrtt);
    ck_assert_uint_eq(t->t_rtx, 0);             /* (f) nothing outstanding: stopped */
    /* (c) Karn: the ACK of a retransmission gives no sample */
    tfx_write(f, k->h, D, 100);
    fx_tx_clear(f);
    uint32_t rto = t->rto;
    fx_advance(f, rto);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(t->rto, 2 * rto);        /* (d) doubled */
    fx_advance(f, 50000);
    srtt = t->srtt;
    k->snd_nxt += 100;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    ck_assert_uint_eq(t->srtt, srtt);
    ck_assert_uint_eq(t->rto, 2 * rto);        /* (e) kept until a valid sample */
}
END_TEST

/* TCP-RTO-WRAP-1 and TCP-RTO-RECOVERY-1 (1)-(4) */
START_TEST(rto_recovery_across_wrap)
{
    tfx_restart_iss(f, 0xffffff00u - 1460u - 1u);
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = 2 * 1460;
    tfx_write(f, k->h, D, 6 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 2);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, 0xffffff00u - 1460u);
    ck_assert_uint_eq(tfx_tx(f, 1).seq, 0xffffff00u);
    fx_tx_clear(f);
    fx_advance(f, t->rto);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, k->snd_nxt);
    ck_assert_uint_eq(t->cwnd, 1460);
    ck_assert_uint_eq(t->ssthresh, 2 * 1460);
    fx_tx_clear(f);
    /* ACK of seg0: cwnd 2, seg1 resent and seg2 (new) sent, in order */
    tfx_peer_ack(f, k, k->snd_nxt + 1460, 65535);
    ck_assert_uint_eq(t->cwnd, 2 * 1460);
    uint32_t expect = k->snd_nxt + 1460;
    for (int round = 0; round < 20 && TCP_SEQ_LT(expect, k->snd_nxt + 6 * 1460); round++) {
        for (unsigned i = 0; i < fx_ntx(f); i++) {
            struct tcp_repr r = tfx_tx(f, i);
            ck_assert_uint_eq(r.seq, expect);
            ck_assert_mem_eq(r.data, D + (r.seq - k->snd_nxt), r.len);
            expect += r.len;
        }
        fx_tx_clear(f);
        tfx_peer_ack(f, k, expect, 65535);
    }
    ck_assert_uint_eq(expect, k->snd_nxt + 6 * 1460);
}
END_TEST

/* TCP-FASTREXMIT-1 and TCP-B-DUPACK-DEF-1 (no SACK: NewReno) */
START_TEST(fast_retransmit_dupack_definition)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_write(f, k->h, D, 4 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 4);
    fx_tx_clear(f);
    uint32_t una = k->snd_nxt;
    /* (a) carries data, (b) other window, (c) FIN: never count */
    uint8_t b = 1;
    struct tcp_repr r = tfx_seg(k, TH_ACK, &b, 1);
    r.ack = una;
    for (int i = 0; i < 3; i++) {
        r.seq = k->peer_nxt;
        tfx_inject(f, &r);
        k->peer_nxt++;
        fx_advance(f, 50000);
    }
    for (uint16_t i = 0; i < 3; i++) {
        struct tcp_repr w = dup_ack(una);
        w.wnd = (uint16_t)(60000 - i);
        tfx_inject(f, &w);
    }
    ck_assert_uint_eq(tfx_tcb(f, k->h)->recovery, TCP_REC_NONE);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_eq(tfx_tx(f, i).len, 0);
    fx_tx_clear(f);
    /* (d) three pure duplicates */
    struct tcp_repr d1 = dup_ack(una);
    d1.wnd = 59998;
    tfx_inject(f, &d1);
    tfx_inject(f, &d1);
    fx_expect_no_tx(f);
    tfx_inject(f, &d1);
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr rx = tfx_tx(f, 0);
    ck_assert_uint_eq(rx.seq, una);
    ck_assert_uint_eq(rx.len, 1460);
    ck_assert_mem_eq(rx.data, D, 1460);
    ck_assert_uint_eq(fx_stats(f).tcp_fast_retransmits, 1);
}
END_TEST

/* TCP-B-NEWRENO-1 */
START_TEST(newreno_partial_ack)
{
    tfx_connect(f, k, &TFX_OPTS(.wnd = 65535));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = 10 * 1460;
    tfx_write(f, k->h, D, 10 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 10);
    fx_tx_clear(f);
    uint32_t s0 = k->snd_nxt;
    /* segment 1 (index 0) and 4 (index 3) lost: dup ACKs for s0 */
    for (int i = 0; i < 3; i++)
        tfx_inject(f, (struct tcp_repr[]){ dup_ack(s0) });
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s0);
    uint32_t ssth = t->ssthresh;
    ck_assert_uint_eq(ssth, 5 * 1460);
    fx_tx_clear(f);
    /* partial ACK up to segment 4 */
    tfx_peer_ack(f, k, s0 + 3 * 1460, 65535);
    ck_assert_uint_ge(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s0 + 3 * 1460);
    ck_assert_uint_eq(t->ssthresh, ssth);       /* no second reduction */
    ck_assert_uint_ne(t->t_rtx, 0);
    fx_tx_clear(f);
    /* more duplicates do not start another recovery */
    for (int i = 0; i < 3; i++)
        tfx_inject(f, (struct tcp_repr[]){ dup_ack(s0 + 3 * 1460) });
    ck_assert_uint_eq(fx_stats(f).tcp_fast_retransmits, 1);
    /* full ACK ends recovery */
    tfx_peer_ack(f, k, s0 + 10 * 1460, 65535);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert_uint_le(t->cwnd, ssth);
}
END_TEST

/* TCP-B-SACK-1, sender side: only the hole is resent */
START_TEST(sack_sender)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true));
    struct tcp_cb *t = tfx_tcb(f, k->h);
    ck_assert(t->flags & TF_SACK);
    tfx_write(f, k->h, D, 6 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 6);
    fx_tx_clear(f);
    uint32_t s0 = k->snd_nxt;
    sack_dups_above_first(s0);
    ck_assert_uint_eq(t->recovery, TCP_REC_FAST);
    ck_assert_uint_ge(fx_ntx(f), 1);
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_msg(!(TCP_SEQ_GEQ(r.seq, s0 + 1460) && TCP_SEQ_LT(r.seq, s0 + 4 * 1460)),
                      "SACKed data retransmitted at +%u", r.seq - s0);
    }
    ck_assert_uint_eq(tfx_tx(f, 0).seq, s0);
    /* SACKed data stays in the ring until cumulatively acknowledged */
    ck_assert_uint_eq(t->snd_data, s0);
}
END_TEST

/* TCP-B-SACK-1, receiver side: block order and merging */
START_TEST(sack_receiver_blocks)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true));
    uint32_t X = k->peer_nxt;
    struct tcp_repr r;
#define OOO(a, b) do { r = tfx_seg(k, TH_ACK, D, (b) - (a)); r.seq = X + (a); tfx_inject(f, &r); } while (0)
    OOO(100, 200);
    OOO(300, 400);
    OOO(500, 600);
    fx_tx_clear(f);
    OOO(200, 250);      /* adjacent to B1 */
    ck_assert_uint_eq(fx_ntx(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.ack, X);
    ck_assert_uint_eq(a.n_sack, 3);
    ck_assert_uint_eq(a.sack[0][0], X + 100);
    ck_assert_uint_eq(a.sack[0][1], X + 250);
    ck_assert_uint_eq(a.sack[1][0], X + 500);
    ck_assert_uint_eq(a.sack[2][0], X + 300);
    fx_tx_clear(f);
    OOO(0, 100);
    a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.ack, X + 250);
    for (unsigned i = 0; i < a.n_sack; i++)
        ck_assert(TCP_SEQ_GT(a.sack[i][0], a.ack));
}
END_TEST

/* TCP-RETX-MERGE-CSUM-1 (black box): data resent after an RTO together
 * with newer bytes, odd lengths, valid checksums */
START_TEST(retransmit_merge_checksum)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_write(f, k->h, D, 4);
    k->snd_nxt += 4;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    fx_tx_clear(f);
    tfx_write(f, k->h, D + 4, 7);
    tfx_write(f, k->h, D + 11, 5);      /* held by Nagle */
    ck_assert_uint_eq(fx_ntx(f), 1);
    fx_tx_clear(f);
    fx_advance(f, tfx_tcb(f, k->h)->rto);
    ck_assert_uint_ge(fx_ntx(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt);
    ck_assert_mem_eq(r.data, D + 4, r.len);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_NODELAY, 1), 0);
    tfx_write(f, k->h, D + 16, 5);
    k->snd_nxt += r.len;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    uint32_t total = 0;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr z = tfx_tx(f, i);
        ck_assert_mem_eq(z.data, D + 4 + (z.seq - (k->snd_nxt - r.len)), z.len);
        total += z.len;
    }
    ck_assert_uint_ge(total, 5);
}
END_TEST

/* RFC 5927 / RFC 1191: frag-needed lowers the MSS and resends at once */
START_TEST(icmp_frag_needed)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_write(f, k->h, D, 1460);
    struct fx_pkt p = fx_tx_pkt(f, 0);
    uint8_t icmp[8 + 60 + 8];
    memset(icmp, 0, sizeof icmp);
    icmp[0] = 3;
    icmp[1] = 4;
    icmp[6] = 1000 >> 8;
    icmp[7] = 1000 & 0xff;
    memcpy(icmp + 8, p.ip_hdr, 20);
    memcpy(icmp + 28, p.l4, 8);
    fx_tx_clear(f);
    uint16_t ck = fx_cksum(icmp, 36);
    icmp[2] = (uint8_t)(ck >> 8);
    icmp[3] = (uint8_t)ck;
    uint8_t frame[200];
    size_t n = fx_ip4(f, 0, frame, &FX_IP(.proto = 1), icmp, 36);
    fx_inject(f, 0, frame, n);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->mss, 960);
    ck_assert_uint_ge(fx_ntx(f), 1);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_le(tfx_tx(f, i).len, 960);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, k->snd_nxt);
}
END_TEST

/* TCP-FASTREXMIT-WRAP-1 */
START_TEST(fast_retransmit_across_wrap)
{
    tfx_restart_iss(f, 0xffffff00u - 1460u - 1u);
    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_cb *t = tfx_tcb(f, k->h);
    t->cwnd = t->ssthresh = 2 * 1460;
    tfx_write(f, k->h, D, 6 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 2);
    fx_tx_clear(f);
    uint32_t a1 = k->snd_nxt + 1460;
    tfx_peer_ack(f, k, a1, 65535);
    ck_assert_uint_eq(fx_ntx(f), 1);                /* cwnd unchanged in CA */
    ck_assert_uint_eq(tfx_tx(f, 0).seq, a1 + 1460);
    fx_tx_clear(f);
    /* RFC 3042 limited transmit: one new segment on each of dup ACK 1, 2 */
    tfx_inject(f, (struct tcp_repr[]){ dup_ack(a1) });
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, a1 + 2 * 1460);
    tfx_inject(f, (struct tcp_repr[]){ dup_ack(a1) });
    ck_assert_uint_eq(fx_ntx(f), 2);
    ck_assert_uint_eq(tfx_tx(f, 1).seq, a1 + 3 * 1460);
    fx_tx_clear(f);
    tfx_inject(f, (struct tcp_repr[]){ dup_ack(a1) });
    /* ssthresh = max(FlightSize / 2, 2 MSS), cwnd = ssthresh + 3 MSS */
    ck_assert_uint_eq(t->ssthresh, 2 * 1460);
    ck_assert_uint_eq(t->cwnd, 5 * 1460);
    ck_assert_uint_eq(fx_ntx(f), 2);
    ck_assert_uint_eq(tfx_tx(f, 0).seq, a1);
    ck_assert_mem_eq(tfx_tx(f, 0).data, D + 1460, 1460);
    ck_assert_uint_eq(tfx_tx(f, 1).seq, a1 + 4 * 1460);
    ck_assert_uint_eq(a1 + 5 * 1460, k->snd_nxt + 6 * 1460);   /* all six sent once */
}
END_TEST

/* TCP-SYN-TIMEOUT-LINKDOWN-1 */
START_TEST(syn_timeout_link_down)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_connect(f, h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    fx_tx_clear(f);
    fx_advance(f, 1000000);
    ck_assert_uint_eq(fx_ntx(f), 1);
    f->links[0].fail_tx = 1000000;
    fx_advance(f, 123000000 - 1000000 - 1);   /* 1+2+4+8+16+32+60 s (RTO cap) */
    ck_assert(!(fx_sock_status(f, h) & MOAT_SS_ERR));
    fx_advance(f, 2);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_int_eq(fx_sock_error(f, h), MOAT_E_TIMEDOUT);
    f->links[0].fail_tx = 0;
}
END_TEST

/* TCP-PERSIST-TIMEOUT-LINKDOWN-1 */
START_TEST(persist_timeout_link_down)
{
    tfx_connect(f, k, &TFX_OPTS());
    tfx_write(f, k->h, D, 1460);
    k->snd_nxt += 1460;
    tfx_peer_ack(f, k, k->snd_nxt, 0);
    tfx_write(f, k->h, D, 1460);
    fx_tx_clear(f);
    fx_advance(f, tfx_tcb(f, k->h)->t_persist - f->now);
    ck_assert_uint_eq(fx_ntx(f), 1);
    tfx_peer_ack(f, k, k->snd_nxt, 0);
    f->links[0].fail_tx = 1000000;
    fx_advance(f, 3600ull * 1000000u);
    ck_assert_uint_eq(fx_ntx(f), 1);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_TIMEDOUT);
    f->links[0].fail_tx = 0;
}
END_TEST

Suite *tcp_loss_suite(void);
Suite *tcp_loss_suite(void)
{
    Suite *s = suite_create("tcp_loss");
    TCase *tc = tcase_create("loss");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rto_timeout);
    tcase_add_test(tc, rto_timeout_link_down);
    tcase_add_test(tc, link_full_holds_data_back);
    tcase_add_test(tc, link_full_retransmission_not_counted);
    tcase_add_test(tc, rtt_repeated_tsecr_no_sample);
    tcase_add_test(tc, rto_estimator_karn_backoff);
    tcase_add_test(tc, rto_recovery_across_wrap);
    tcase_add_test(tc, fast_retransmit_dupack_definition);
    tcase_add_test(tc, newreno_partial_ack);
    tcase_add_test(tc, sack_sender);
    tcase_add_test(tc, sack_receiver_blocks);
    tcase_add_test(tc, retransmit_merge_checksum);
    tcase_add_test(tc, icmp_frag_needed);
    tcase_add_test(tc, fast_retransmit_across_wrap);
    tcase_add_test(tc, syn_timeout_link_down);
    tcase_add_test(tc, persist_timeout_link_down);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_loss_suite)
