/* SPDX-License-Identifier: MIT */
/*
 * TCP over IPv6 (issue 9 item 2), driven through the shared TCP fixture
 * pinned to IPv6 (tfx_pin_ip6: L 2001:db8:1::1, R 2001:db8:1::2):
 *
 *   - active and passive open, data both ways, FIN to TIME-WAIT and out,
 *     RST in and out, with the addresses and the IPv6 pseudo-header
 *     checksum of every segment checked (tfx_parse);
 *   - MSS from the IPv6 link MTU (MTU - 60), Packet Too Big lowering it,
 *     ICMPv6 port unreachable refusing a connection in SYN-SENT;
 *   - SYN cookies when the SYN queue is full;
 *   - a segment with a bad checksum dropped (TCP_MALFORMED);
 *   - listeners: `::` takes both families (an IPv4 peer is reported as
 *     IPv4), 0.0.0.0 only IPv4, a specific IPv6 address only that;
 *   - a link-local peer with its zone (scope_id).
 *
 * Does not hold fixtures (tcp_fx.c, fx6.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/fx6.h"
#include "support/tcp_fx.h"

static struct fx F;
static struct fx *f = &F;
static struct tfx_conn K;
static struct tfx_conn *k = &K;
static uint8_t D[16384];
static const uint8_t any6[16];

static void setup(void)
{
    tfx_pin_ip6(true);
    tfx_init(f);
    tfx_pattern(D, sizeof D, 0);
}
static void teardown(void)
{
    tfx_teardown(f);
    tfx_pin_ip6(false);
}

static uint64_t drops(unsigned r)
{
    return fx_stats(f).drops[r];
}

/* A listener on [::]:TFX_LPORT. */
static uint32_t listen_any6(void)
{
    uint32_t lh = tfx_stream_open(f);
    ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_BIND, lh, any6, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, lh, 4), 0);
    return lh;
}

/* Every captured TCP segment goes L -> R over IPv6. */
static void expect_v6_l_to_r(const uint8_t *l, const uint8_t *r)
{
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr s;
        if (!tfx_parse(f, i, &s))
            continue;
        ck_assert_uint_eq(s.af, 6);
        ck_assert_mem_eq(s.ip6_src, l, 16);
        ck_assert_mem_eq(s.ip6_dst, r, 16);
    }
}

/* Active open: SYN over IPv6 with MSS = link MTU - 60; data both ways;
 * our FIN, the peer's FIN, TIME-WAIT for 2*MSL, then gone. */
START_TEST(active_open_data_close)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_CONNECT, h, fx6_r_ip, 0, TFX_RPORT),
                     MOAT_E_INPROGRESS);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr syn = tfx_tx(f, 0);
    ck_assert_uint_eq(syn.af, 6);
    ck_assert_uint_eq(syn.mss, 1500 - 60);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    tfx_abort(f, h);
    fx_tx_clear(f);

    tfx_connect(f, k, &TFX_OPTS(.mss = 1440));
    struct moat_m_addr lo, re;
    ck_assert_int_eq(fx_name(f, k->h, &lo, &re), 0);
    ck_assert_uint_eq(lo.family, MOAT_AF_INET6);
    ck_assert_mem_eq(lo.ip6, fx6_l_ip, 16);
    ck_assert_uint_eq(lo.port, k->lport);
    ck_assert_uint_eq(re.family, MOAT_AF_INET6);
    ck_assert_mem_eq(re.ip6, fx6_r_ip, 16);
    ck_assert_uint_eq(re.port, TFX_RPORT);

    /* ours -> peer: full-sized segments of MSS bytes */
    ck_assert_uint_eq(tfx_write(f, k->h, D, 2880), 2880);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    struct tcp_repr d0 = tfx_tx(f, 0);
    ck_assert_uint_eq(d0.seq, k->snd_nxt);
    ck_assert_uint_eq(d0.len, 1440);
    ck_assert_mem_eq(d0.data, D, 1440);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    ck_assert_uint_eq(tfx_tx(f, 1).len, 1440);
    k->snd_nxt += 2880;
    fx_tx_clear(f);
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->snd_una, k->snd_nxt);

    /* peer -> ours */
    tfx_peer_send(f, k, D + 100, 1000, TH_PSH);
    uint8_t buf[1000];
    ck_assert_uint_eq(tfx_read(f, k->h, buf, sizeof buf), 1000);
    ck_assert_mem_eq(buf, D + 100, 1000);

    fx_tx_clear(f);
    tfx_to_time_wait(f, k);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    struct tcp_tw *w = tfx_tw(f, k->lport, k->rport);
    ck_assert_uint_eq(w->v6, 1);
    /* a retransmitted FIN is ACKed from TIME-WAIT, over IPv6 */
    fx_tx_clear(f);
    struct tcp_repr fin = tfx_seg(k, TH_ACK | TH_FIN, NULL, 0);
    fin.seq = k->peer_nxt - 1;
    tfx_inject(f, &fin);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_ACK);
    ck_assert_uint_eq(tfx_tx(f, 0).ack, k->peer_nxt);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    fx_advance(f, 2ull * f->cfg.tcp_msl_ms * 1000u + 1000u);
    ck_assert_ptr_null(tfx_tw(f, k->lport, k->rport));
}
END_TEST

/* Passive open on `::`: accept reports the IPv6 peer; data both ways;
 * the peer's FIN then ours (LAST-ACK, released). */
START_TEST(passive_open_data_close)
{
    tfx_passive(f, k, &TFX_OPTS(.mss = 1440, .ts = true, .sack = true, .ws = 7));
    struct moat_m_addr lo, re;
    ck_assert_int_eq(fx_name(f, k->h, &lo, &re), 0);
    ck_assert_uint_eq(lo.family, MOAT_AF_INET6);
    ck_assert_mem_eq(lo.ip6, fx6_l_ip, 16);
    ck_assert_uint_eq(re.family, MOAT_AF_INET6);
    ck_assert_mem_eq(re.ip6, fx6_r_ip, 16);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->adv_mss, 1440);

    tfx_peer_send(f, k, D, 2000, TH_PSH);
    uint8_t buf[2000];
    ck_assert_uint_eq(tfx_read(f, k->h, buf, sizeof buf), 2000);
    ck_assert_mem_eq(buf, D, 2000);
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, k->h, D + 7, 500), 500);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr d = tfx_tx(f, 0);
    ck_assert_uint_eq(d.len, 500);
    ck_assert_mem_eq(d.data, D + 7, 500);
    ck_assert_uint_eq(d.ack, k->peer_nxt);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    k->snd_nxt += 500;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);

    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSE_WAIT);
    fx_tx_clear(f);
    ck_assert_int_eq(fx_close(f, k->h), 0);
    ck_assert_uint_eq(tfx_tx(f, tfx_ntcp(f) - 1).flags & TH_FIN, TH_FIN);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    unsigned used = tfx_slots_used(f);
    tfx_peer_ack(f, k, k->snd_nxt + 1, 65535);
    ck_assert_uint_eq(tfx_slots_used(f), used - 1);     /* released */
}
END_TEST

/* RST both ways: a segment for no connection is answered with a RST from
 * the address it was sent to; a peer's RST ends the connection. */
START_TEST(rst_in_and_out)
{
    tfx_inject(f, &TSEG(.dport = 9, .seq = 100, .flags = TH_SYN));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.flags, TH_RST | TH_ACK);
    ck_assert_uint_eq(r.ack, 101);
    ck_assert_uint_eq(r.sport, 9);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    fx_tx_clear(f);

    tfx_connect(f, k, &TFX_OPTS());
    struct tcp_repr rst = tfx_seg(k, TH_RST, NULL, 0);
    tfx_inject(f, &rst);
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_CLOSED);
    ck_assert(fx_sock_status(f, k->h) & MOAT_SS_HUP);
    ck_assert_int_eq(fx_sock_error(f, k->h), MOAT_E_CONNRESET);
}
END_TEST

/* The checksum covers the IPv6 pseudo-header: a SYN with a bad one is a
 * counted drop, never answered; the same SYN with a good one is. */
START_TEST(bad_checksum_dropped)
{
    (void)listen_any6();
    fx_tx_clear(f);
    uint64_t before = drops(MOAT_DROP_TCP_MALFORMED);
    tfx_inject(f, &TSEG(.seq = 100, .flags = TH_SYN, .mss = 1440, .bad_cksum = true));
    ck_assert_uint_eq(fx_ntx(f), 0);
    ck_assert_uint_eq(drops(MOAT_DROP_TCP_MALFORMED), before + 1);
    /* the same SYN, checksummed right, from R's link-local address */
    tfx_inject(f, &TSEG(.seq = 100, .flags = TH_SYN, .mss = 1440, .src6 = fx6_r_ll,
                        .dst6 = fx6_l_ll));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
    expect_v6_l_to_r(fx6_l_ll, fx6_r_ll);   /* answered from link-local to link-local */
}
END_TEST

/* The announced MSS follows the IPv6 link MTU (MTU - 60), and a peer MSS
 * above it is clamped to it. */
START_TEST(mss_from_ipv6_mtu)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.ifs[0].mtu = 1400;
    tfx_start(f);
    tfx_connect(f, k, &TFX_OPTS(.mss = 8000));
    ck_assert_uint_eq(k->mss, 1340);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->mss, 1340);
    ck_assert_uint_eq(tfx_write(f, k->h, D, 4000), 4000);
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        struct tcp_repr r = tfx_tx(f, i);
        ck_assert_uint_le(r.len, 1340);
        ck_assert_uint_le(r.ip_len, 1400);
    }
}
END_TEST

/* Packet Too Big quoting one of our segments lowers the MSS to the path
 * MTU less 60 and the data goes again in segments that fit. */
START_TEST(packet_too_big_lowers_mss)
{
    tfx_connect(f, k, &TFX_OPTS(.mss = 1440));
    ck_assert_uint_eq(tfx_write(f, k->h, D, 2880), 2880);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 1440);
    /* quote the first segment (IPv6 header on) as a router would */
    const struct fx_pkt q = fx_tx_pkt(f, 0);
    static uint8_t msg[1400], frame[1600];
    size_t qlen = 1280 - 40 - 8;
    size_t mlen = fx6_icmp(msg, fx6_r_ll, fx6_l_ip, ICMP6_PKT_TOO_BIG, 0, 1280, q.raw + 14, qlen);
    fx_tx_clear(f);
    size_t flen = fx6_frame(f, frame, &(struct fx6_ip){.src = fx6_r_ll, .dst = fx6_l_ip,
                                                      .nh = 58, .plen = -1},
                            msg, mlen);
    fx_inject(f, 0, frame, flen);
    ck_assert_uint_eq(tfx_tcb(f, k->h)->mss, 1280 - 60);
    ck_assert_uint_ge(tfx_ntcp(f), 1);
    struct tcp_repr r = tfx_tx(f, 0);
    ck_assert_uint_eq(r.seq, k->snd_nxt);
    ck_assert_uint_eq(r.len, 1220);
    ck_assert_uint_le(r.ip_len, 1280);
    for (unsigned i = 0; i < fx_ntx(f); i++)
        ck_assert_uint_le(tfx_tx(f, i).ip_len, 1280);
}
END_TEST

/* An ICMPv6 error of @p type/@p code/@p rest from R about our SYN to R;
 * returns the connecting handle. */
static uint32_t syn_then_icmp6(uint8_t type, uint8_t code, uint32_t rest)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_CONNECT, h, fx6_r_ip, 0, TFX_RPORT),
                     MOAT_E_INPROGRESS);
    const struct fx_pkt q = fx_tx_pkt(f, 0);
    static uint8_t msg[256], frame[400];
    size_t mlen = fx6_icmp(msg, fx6_r_ip, fx6_l_ip, type, code, rest, q.raw + 14, q.len - 14);
    size_t flen = fx6_frame(f, frame, &(struct fx6_ip){.nh = 58, .plen = -1}, msg, mlen);
    fx_inject(f, 0, frame, flen);
    return h;
}

/* Port unreachable, and "unrecognized next header" pointing at the
 * fixed header's next header field (byte 6), refuse a connection in
 * SYN-SENT; address unreachable is a soft error: still connecting. */
START_TEST(port_unreachable_refuses_syn_sent)
{
    uint32_t h = syn_then_icmp6(ICMP6_UNREACH, ICMP6_UNREACH_PORT, 0);
    ck_assert_int_eq(tfx_state(f, h), TCPS_CLOSED);
    ck_assert_int_eq(fx_sock_error(f, h), MOAT_E_CONNREFUSED);
    tfx_abort(f, h);
    fx_tx_clear(f);
    h = syn_then_icmp6(ICMP6_PARAM_PROB, 1, 6);
    ck_assert_int_eq(tfx_state(f, h), TCPS_CLOSED);
    ck_assert_int_eq(fx_sock_error(f, h), MOAT_E_CONNREFUSED);
    tfx_abort(f, h);
    fx_tx_clear(f);
    h = syn_then_icmp6(ICMP6_UNREACH, 3, 0);
    ck_assert_int_eq(tfx_state(f, h), TCPS_SYN_SENT);
    ck_assert_int_eq(tfx_tcb(f, h)->soft_err, MOAT_E_HOSTUNREACH);
}
END_TEST

/* SYN queue full: SYN cookies over IPv6 (hashed over the IPv6 tuple);
 * the completing ACK creates the connection with the cookie's MSS; an
 * ACK from another source address with the same ports does not. */
START_TEST(syn_cookies)
{
    tfx_teardown(f);
    tfx_config(f);
    f->cfg.tcp_syn_backlog = 1;
    tfx_start(f);
    uint32_t lh = listen_any6();
    tfx_inject(f, &TSEG(.sport = 2000, .seq = 1000, .flags = TH_SYN, .mss = 1440));
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 7000, .flags = TH_SYN, .mss = 1000));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr c1 = tfx_tx(f, 0);
    ck_assert_uint_eq(c1.flags, TH_SYN | TH_ACK);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
    ck_assert_uint_eq(fx_stats(f).tcp_syncookies_sent, 1);
    fx_tx_clear(f);
    /* same ports and numbers from R's link-local address: not its cookie */
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 7001, .ack = c1.seq + 1, .flags = TH_ACK,
                        .src6 = fx6_r_ll, .dst6 = fx6_l_ll));
    uint32_t h;
    ck_assert_int_eq(tfx_accept(f, lh, &h), MOAT_E_AGAIN);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags & TH_RST, TH_RST);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 2001, .seq = 7001, .ack = c1.seq + 1, .flags = TH_ACK));
    struct moat_m_addr peer;
    ck_assert_int_eq(tfx_accept_peer(f, lh, &h, &peer), 0);
    ck_assert_uint_eq(peer.family, MOAT_AF_INET6);
    ck_assert_mem_eq(peer.ip6, fx6_r_ip, 16);
    ck_assert_uint_eq(peer.port, 2001);
    ck_assert_uint_le(tfx_tcb(f, h)->mss, 1000);
    ck_assert_uint_eq(tfx_write(f, h, D, 10), 10);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    expect_v6_l_to_r(fx6_l_ip, fx6_r_ip);
}
END_TEST

/* A listener on `::` takes both families; the IPv4 peer is reported as
 * an IPv4 address and its connection runs over IPv4. */
START_TEST(dual_stack_listener)
{
    uint32_t lh = listen_any6();
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 3004, .seq = 400, .flags = TH_SYN, .mss = 1460, .af = 4));
    tfx_inject(f, &TSEG(.sport = 3006, .seq = 600, .flags = TH_SYN, .mss = 1440, .af = 6));
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    struct tcp_repr s4 = tfx_tx(f, 0), s6 = tfx_tx(f, 1);
    ck_assert_uint_eq(s4.af, 4);
    ck_assert_uint_eq(s4.src, FX_L_IP);
    ck_assert_uint_eq(s4.dst, FX_R_IP);
    ck_assert_uint_eq(s4.mss, 1460);
    ck_assert_uint_eq(s6.af, 6);
    ck_assert_uint_eq(s6.mss, 1440);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 3004, .seq = 401, .ack = s4.seq + 1, .flags = TH_ACK, .af = 4));
    tfx_inject(f, &TSEG(.sport = 3006, .seq = 601, .ack = s6.seq + 1, .flags = TH_ACK, .af = 6));
    fx_expect_no_tx(f);
    uint32_t h4, h6;
    struct moat_m_addr p4, p6, lo, re;
    ck_assert_int_eq(tfx_accept_peer(f, lh, &h4, &p4), 0);
    ck_assert_int_eq(tfx_accept_peer(f, lh, &h6, &p6), 0);
    ck_assert_uint_ne(p4.family, MOAT_AF_INET6);
    ck_assert_uint_eq(p4.ip, FX_R_IP);
    ck_assert_uint_eq(p4.port, 3004);
    ck_assert_uint_eq(p6.family, MOAT_AF_INET6);
    ck_assert_mem_eq(p6.ip6, fx6_r_ip, 16);
    ck_assert_uint_eq(p6.port, 3006);
    ck_assert_int_eq(fx_name(f, h4, &lo, &re), 0);
    ck_assert_uint_ne(lo.family, MOAT_AF_INET6);
    ck_assert_uint_eq(lo.ip, FX_L_IP);
    ck_assert_uint_eq(re.ip, FX_R_IP);
    /* each child answers in its own family */
    fx_tx_clear(f);
    ck_assert_uint_eq(tfx_write(f, h4, D, 4), 4);
    ck_assert_uint_eq(tfx_write(f, h6, D, 6), 6);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    ck_assert_uint_eq(tfx_tx(f, 0).af, 4);
    ck_assert_uint_eq(tfx_tx(f, 0).len, 4);
    ck_assert_uint_eq(tfx_tx(f, 1).af, 6);
    ck_assert_uint_eq(tfx_tx(f, 1).len, 6);
    /* the IPv4 child takes IPv4 segments only: the same ports over IPv6
     * reach the listener (a bare ACK there is reset) */
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.sport = 3004, .seq = 401, .ack = s4.seq + 1, .flags = TH_ACK,
                        .data = D, .len = 3, .af = 6));
    ck_assert_uint_eq(tfx_read(f, h4, NULL, 100), 0);
}
END_TEST

/* 0.0.0.0 takes IPv4 only; a specific IPv6 address only segments to it. */
START_TEST(listener_families)
{
    uint32_t l4 = tfx_stream_open(f);
    ck_assert_int_eq(fx_bind(f, l4, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, l4, 4), 0);
    uint32_t l6 = tfx_stream_open(f);
    ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_BIND, l6, fx6_l_ll, 0, 81), 0);
    ck_assert_int_eq(tfx_listen(f, l6, 4), 0);
    fx_tx_clear(f);
    /* IPv6 to the IPv4 listener's port: no listener, RST over IPv6 */
    tfx_inject(f, &TSEG(.seq = 10, .flags = TH_SYN, .af = 6));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).af, 6);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_RST | TH_ACK);
    fx_tx_clear(f);
    /* IPv4 and IPv6-global to the link-local listener: reset */
    tfx_inject(f, &TSEG(.dport = 81, .seq = 10, .flags = TH_SYN, .af = 4));
    tfx_inject(f, &TSEG(.dport = 81, .seq = 10, .flags = TH_SYN, .af = 6));
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    ck_assert_uint_eq(tfx_tx(f, 0).flags & TH_RST, TH_RST);
    ck_assert_uint_eq(tfx_tx(f, 1).flags & TH_RST, TH_RST);
    fx_tx_clear(f);
    /* to its own address: a SYN-ACK */
    tfx_inject(f, &TSEG(.dport = 81, .seq = 10, .flags = TH_SYN, .src6 = fx6_r_ll,
                        .dst6 = fx6_l_ll));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
    /* IPv4 to the IPv4 listener still works */
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.seq = 10, .flags = TH_SYN, .af = 4));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags, TH_SYN | TH_ACK);
    ck_assert_uint_eq(tfx_tx(f, 0).af, 4);
}
END_TEST

/* Active open to a link-local peer: from our link-local address, the
 * zone reported back by NAME; a zone past the interfaces is refused. */
START_TEST(link_local_connect)
{
    uint32_t h = tfx_stream_open(f);
    ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_CONNECT, h, fx6_r_ll, 5, TFX_RPORT),
                     MOAT_E_INVAL);
    ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_CONNECT, h, fx6_r_ll, 1, TFX_RPORT),
                     MOAT_E_INPROGRESS);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr syn = tfx_tx(f, 0);
    expect_v6_l_to_r(fx6_l_ll, fx6_r_ll);
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 50, .ack = syn.seq + 1,
                        .flags = TH_SYN | TH_ACK, .mss = 1440, .src6 = fx6_r_ll,
                        .dst6 = fx6_l_ll));
    ck_assert_int_eq(tfx_state(f, h), TCPS_ESTABLISHED);
    struct moat_m_addr lo, re;
    ck_assert_int_eq(fx_name(f, h, &lo, &re), 0);
    ck_assert_mem_eq(lo.ip6, fx6_l_ll, 16);
    ck_assert_mem_eq(re.ip6, fx6_r_ll, 16);
    ck_assert_uint_eq(re.scope_id, 1);
    /* the same ports from the global address are another connection */
    fx_tx_clear(f);
    tfx_inject(f, &TSEG(.dport = syn.sport, .seq = 51, .ack = syn.seq + 1, .flags = TH_ACK,
                        .data = D, .len = 5));
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(tfx_tx(f, 0).flags & TH_RST, TH_RST);
    ck_assert_uint_eq(fx_rx_avail(f, h), 0);
}
END_TEST

Suite *tcp_ip6_suite(void);
Suite *tcp_ip6_suite(void)
{
    Suite *s = suite_create("tcp_ip6");
    TCase *tc = tcase_create("ip6");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, active_open_data_close);
    tcase_add_test(tc, passive_open_data_close);
    tcase_add_test(tc, rst_in_and_out);
    tcase_add_test(tc, bad_checksum_dropped);
    tcase_add_test(tc, mss_from_ipv6_mtu);
    tcase_add_test(tc, packet_too_big_lowers_mss);
    tcase_add_test(tc, port_unreachable_refuses_syn_sent);
    tcase_add_test(tc, syn_cookies);
    tcase_add_test(tc, dual_stack_listener);
    tcase_add_test(tc, listener_families);
    tcase_add_test(tc, link_local_connect);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tcp_ip6_suite)
