/* SPDX-License-Identifier: MIT */
/*
 * Path MTU probing upward (RFC 4821, RFC 8899; core/tcp_pmtu.c), in
 * virtual time:
 *
 *   - an ICMP frag-needed lowers the MSS (RFC 1191); after the raise timer
 *     one probe at the negotiated MSS goes out ahead of the other data;
 *     acknowledged, it raises the MSS back, and probing stops;
 *   - a probe that is lost (the peer acknowledges only up to it and SACKs
 *     what follows): its bytes are resent at the current MSS at once, the
 *     MSS stays, and there is no congestion response (cwnd, ssthresh and
 *     the recovery state unchanged, no fast retransmit counted); the search
 *     then tries the midpoint;
 *   - no probe before the raise timer, none when probing is off.
 *
 * Does not hold fixtures (tcp_fx.c).
 */
#include <check.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[32768];   /* more than lowered() + the writes of any case */

#define M        1460u
#define LOW_MTU  1000u           /* the path after the ICMP: MSS 960 */
#define LOW_MSS  (LOW_MTU - 40u)
#define RAISE_MS 1000u

static void start(uint32_t raise_ms)
{
    tfx_config(f);
    f->cfg.tcp_pmtu_probe_ms = raise_ms;
    tfx_start(f);
    tfx_pattern(D, sizeof D, 0);
}
static void setup(void) { start(RAISE_MS); }
static void teardown(void) { tfx_teardown(f); }

/* The router answers captured frame @p i with frag-needed, next-hop MTU
 * @p mtu (RFC 1191 format: header and 8 bytes of the datagram quoted). */
static void icmp_frag_needed(unsigned i, uint16_t mtu)
{
    struct fx_pkt p = fx_tx_pkt(f, i);
    uint8_t icmp[8 + 20 + 8];
    memset(icmp, 0, sizeof icmp);
    icmp[0] = 3;
    icmp[1] = 4;
    icmp[6] = (uint8_t)(mtu >> 8);
    icmp[7] = (uint8_t)mtu;
    memcpy(icmp + 8, p.ip_hdr, 20);
    memcpy(icmp + 28, p.l4, 8);
    uint16_t ck = fx_cksum(icmp, sizeof icmp);
    icmp[2] = (uint8_t)(ck >> 8);
    icmp[3] = (uint8_t)ck;
    uint8_t frame[200];
    size_t n = fx_ip4(f, 0, frame, &FX_IP(.proto = 1), icmp, sizeof icmp);
    fx_inject(f, 0, frame, n);
}

/* Connected; one segment sent, the path's MTU drops to LOW_MTU, the peer
 * acknowledges everything; capture cleared. Returns bytes written. */
static uint32_t lowered(void)
{
    tfx_connect(f, k, &TFX_OPTS(.sack = true));
    ck_assert_uint_eq(tfx_tcb(f, k->h)->mss, M);
    /* whole writes go out at once (no Nagle hold of the last piece) */
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_NODELAY, 1), 0);
    ck_assert_uint_eq(tfx_write(f, k->h, D, M), M);
    icmp_frag_needed(0, LOW_MTU);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->mss, LOW_MSS);
    k->snd_nxt += M;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_una, k->snd_nxt);
    fx_tx_clear(f);
    return M;
}

/* Sum of the data segments captured; their largest length in @p max. */
static uint32_t data_sent(uint32_t *max, uint32_t *first_len)
{
    uint32_t sum = 0;
    *max = 0;
    *first_len = 0;
    for (unsigned i = 0; i < tfx_ntcp(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        if (r.len == 0)
            continue;
        if (*first_len == 0)
            *first_len = r.len;
        if (r.len > *max)
            *max = r.len;
        sum += r.len;
    }
    return sum;
}

START_TEST(probe_acked_raises_mss)
{
    uint32_t off = lowered();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    /* before the raise timer: only LOW_MSS segments */
    fx_advance(f, (RAISE_MS / 2u) * 1000u);
    ck_assert_uint_eq(tfx_write(f, k->h, D + off, 3000), 3000);
    uint32_t max = 0, first = 0;
    ck_assert_uint_eq(data_sent(&max, &first), 3000);
    ck_assert_uint_le(max, LOW_MSS);
    ck_assert_uint_eq(f->core->stats.tcp_pmtu_probes, 0);
    off += 3000;
    k->snd_nxt += 3000;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    fx_tx_clear(f);
    /* after it: the first segment is a probe at the negotiated MSS */
    fx_advance(f, RAISE_MS * 1000u);
    ck_assert_uint_eq(tfx_write(f, k->h, D + off, 6000), 6000);
    ck_assert_uint_eq(data_sent(&max, &first), 6000);
    ck_assert_uint_eq(first, M);
    ck_assert_uint_eq(f->core->stats.tcp_pmtu_probes, 1);
    ck_assert_uint_eq(t->mss, LOW_MSS);      /* not before the ACK */
    struct tcp_repr probe = tfx_tx(f, 0);
    ck_assert_uint_eq(probe.seq, k->snd_nxt);
    ck_assert_mem_eq(probe.data, D + off, M);
    off += 6000;
    k->snd_nxt += 6000;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    ck_assert_uint_eq(t->mss, M);
    ck_assert_uint_eq(f->core->stats.tcp_pmtu_raises, 1);
    ck_assert_uint_eq(t->t_probe, 0);        /* back at the top: done */
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D + off, 3000), 3000);
    ck_assert_uint_eq(data_sent(&max, &first), 3000);
    ck_assert_uint_eq(first, M);
    ck_assert_uint_eq(f->core->stats.tcp_pmtu_probes, 1);
}
END_TEST

START_TEST(probe_lost_is_not_congestion)
{
    uint32_t off = lowered();
    struct tcp_cb *t = tfx_tcb(f, k->h);
    fx_advance(f, RAISE_MS * 1000u + 1000u);
    uint32_t cwnd = t->cwnd, ssthresh = t->ssthresh;
    uint64_t fast = f->core->stats.tcp_fast_retransmits;
    uint32_t base = k->snd_nxt;
    ck_assert_uint_eq(tfx_write(f, k->h, D + off, 5000), 5000);
    uint32_t max = 0, first = 0;
    ck_assert_uint_eq(data_sent(&max, &first), 5000);
    ck_assert_uint_eq(first, M);             /* the probe */
    fx_tx_clear(f);
    /* the probe did not get through; what followed did: the peer keeps
     * acknowledging its start and SACKs the rest (RFC 2018), a little
     * later than the handshake's round trip, so RACK (RFC 8985) also
     * sees the probe as lost */
    fx_advance(f, 1000);
    struct tcp_repr d = tfx_seg(k, TH_ACK, NULL, 0);
    d.ack = base;
    d.n_sack = 1;
    d.sack[0][0] = base + M;
    d.sack[0][1] = base + 5000;
    tfx_inject(f, &d);
    /* resent at once at the current MSS, covering the probe's bytes */
    uint32_t resent = 0;
    for (unsigned i = 0; i < tfx_ntcp(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        if (r.len == 0)
            continue;
        ck_assert_uint_le(r.len, LOW_MSS);
        ck_assert_uint_eq(r.seq, base + resent);
        ck_assert_mem_eq(r.data, D + off + resent, r.len);
        resent += r.len;
    }
    ck_assert_uint_eq(resent, M);
    /* no congestion response */
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert_uint_eq(t->cwnd, cwnd);
    ck_assert_uint_eq(t->ssthresh, ssthresh);
    ck_assert_uint_eq(f->core->stats.tcp_fast_retransmits, fast);
    ck_assert_uint_eq(t->mss, LOW_MSS);
    /* more duplicates of the same hole change nothing */
    fx_tx_clear(f);
    tfx_inject(f, &d);
    tfx_inject(f, &d);
    ck_assert_uint_eq(t->recovery, TCP_REC_NONE);
    ck_assert_uint_eq(t->cwnd, cwnd);
    ck_assert_uint_eq(f->core->stats.tcp_fast_retransmits, fast);
    /* the repair is acknowledged; the search goes on at the midpoint */
    off += 5000;
    k->snd_nxt = base + 5000;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    ck_assert_uint_eq(t->mss, LOW_MSS);
    ck_assert_uint_eq(f->core->stats.tcp_pmtu_raises, 0);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D + off, 5000), 5000);
    ck_assert_uint_eq(data_sent(&max, &first), 5000);
    ck_assert_uint_eq(first, LOW_MSS + (M - LOW_MSS) / 2u);
    ck_assert_uint_eq(f->core->stats.tcp_pmtu_probes, 2);
}
END_TEST

START_TEST(probing_off)
{
    tfx_teardown(f);
    start(0);
    uint32_t off = lowered();
    fx_advance(f, 3600u * 1000000u);
    ck_assert_uint_eq(tfx_write(f, k->h, D + off, 6000), 6000);
    uint32_t max = 0, first = 0;
    ck_assert_uint_eq(data_sent(&max, &first), 6000);
    ck_assert_uint_le(max, LOW_MSS);
    ck_assert_uint_eq(f->core->stats.tcp_pmtu_probes, 0);
}
END_TEST

Suite *tcp_scen_pmtu_suite(void);
Suite *tcp_scen_pmtu_suite(void)
{
    Suite *s = suite_create("tcp_scen_pmtu");
    TCase *tc = tcase_create("scen_pmtu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, probe_acked_raises_mss);
    tcase_add_test(tc, probe_lost_is_not_congestion);
    tcase_add_test(tc, probing_off);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_scen_pmtu_suite)
