/* SPDX-License-Identifier: MIT */
/*
 * The echo service of the MPS2 board image (ports/mps2-an385/echo.c),
 * compiled for the host and run against a real core over the fixture's
 * fake link and virtual clock (tests/support/tcp_fx.h): the board's
 * application side of the socket region, checked without QEMU.
 *
 *   peer R (this test, frames)  <-- fake link -->  core  <-- region -->  echo.c
 *
 * Covers: a UDP datagram comes back to its sender; a TCP connection on
 * port 7 is accepted and its bytes come back; the peer's FIN makes the
 * service close after the last byte (our FIN follows the data); a reset
 * frees the connection's slot; four connections at once and a fifth that
 * waits. tests/interop/test_mps2.sh runs the same service on the board.
 *
 * The fixture's own application side (fx_call) is not used while echo.c
 * owns the ctl ring; at the end echo.c closes what it opened, so the
 * fixture's teardown finds every slot free.
 */
#include <check.h>
#include <string.h>

#include "support/check_main.h"
#include "support/tcp_fx.h"
#include "core/tcp_priv.h"

#include "ports/mps2-an385/echo.c"   /* the unit under test, statics included */

#define ECHO_PORT 7u

static struct fx F;
static struct echo E;

static void setup(void)
{
    tfx_init(&F);
    ck_assert_int_eq(echo_start(&E, F.core, F.region, &F.lay, ECHO_PORT, F.now), 0);
    fx_poll(&F);
    fx_tx_clear(&F);
}

/* Close everything the service opened (as a board that shuts down
 * would), let the aborts go out, then the fixture's checks. */
static void teardown(void)
{
    struct moat_msg m;
    for (unsigned i = 0; i < ECHO_CONNS; i++)
        if (E.conn[i].h != 0)
            ck_assert_int_eq(echo_req(&E, MOAT_MSG_ABORT, E.conn[i].h, &m, F.now), 0);
    ck_assert_int_eq(echo_req(&E, MOAT_MSG_CLOSE, E.udp.h, &m, F.now), 0);
    ck_assert_int_eq(echo_req(&E, MOAT_MSG_CLOSE, E.lst.h, &m, F.now), 0);
    fx_poll(&F);
    fx_teardown(&F);
}

/* Serve until nothing moves (bounded), polling the core after each pass
 * as the board's loop does. */
static void serve(void)
{
    for (unsigned n = 0; n < 16 && echo_serve(&E, F.now); n++)
        fx_poll(&F);
    fx_poll(&F);
}

/* The peer opens a connection from @p rport to port 7; the service accepts
 * it. Returns the connection as both sides see it; capture cleared. */
static struct tfx_conn open_conn(uint16_t rport)
{
    struct tfx_conn k;
    memset(&k, 0, sizeof k);
    k.lport = ECHO_PORT;
    k.rport = rport;
    k.irs = TFX_PEER_ISS;
    struct tcp_repr syn = TSEG(.sport = rport, .dport = ECHO_PORT, .seq = k.irs,
                               .flags = TH_SYN, .mss = 1460);
    tfx_inject(&F, &syn);
    ck_assert_uint_eq(tfx_ntcp(&F), 1);
    struct tcp_repr sa = tfx_tx(&F, 0);
    ck_assert_uint_eq(sa.flags, TH_SYN | TH_ACK);
    k.iss = sa.seq;
    k.snd_nxt = k.iss + 1;
    k.peer_nxt = k.irs + 1;
    fx_tx_clear(&F);
    tfx_peer_ack(&F, &k, k.snd_nxt, 65535);
    serve();
    fx_tx_clear(&F);
    return k;
}

/* The payload bytes of every TCP segment from port 7 to @p rport captured
 * since the last clear, in order, into @p out; returns how many. Sets
 * *fin if one of them carried FIN. */
static uint32_t collect(uint16_t rport, uint8_t *out, uint32_t cap, bool *fin)
{
    uint32_t n = 0;
    *fin = false;
    for (unsigned i = 0; i < fx_ntx(&F); i++) {
        struct tcp_repr r;
        if (!tfx_parse(&F, i, &r) || r.sport != ECHO_PORT || r.dport != rport)
            continue;
        ck_assert_uint_le(n + r.len, cap);
        memcpy(out + n, r.data, r.len);
        n += r.len;
        if (r.flags & TH_FIN)
            *fin = true;
    }
    return n;
}

static unsigned conns_open(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ECHO_CONNS; i++)
        n += E.conn[i].h != 0;
    return n;
}

START_TEST(mps2_echo_udp)
{
    uint8_t fr[1600];
    static const char msg[] = "a datagram for the board";
    size_t n = fx_udp_frame(&F, 0, fr, &FX_IP(), 5555, ECHO_PORT, msg, sizeof msg - 1, FX_CK_OK);
    fx_inject(&F, 0, fr, n);
    serve();
    ck_assert_uint_eq(E.udp_echoed, 1);
    ck_assert_uint_eq(fx_ntx(&F), 1);
    struct fx_pkt p = fx_tx_pkt(&F, 0);
    ck_assert(p.is_udp);
    ck_assert_uint_eq(p.dst, FX_R_IP);
    ck_assert_uint_eq(p.sport, ECHO_PORT);
    ck_assert_uint_eq(p.dport, 5555);
    ck_assert_uint_eq(p.udp_data_len, sizeof msg - 1);
    ck_assert_mem_eq(p.udp_data, msg, sizeof msg - 1);
}
END_TEST

START_TEST(mps2_echo_tcp_data_then_fin)
{
    struct tfx_conn k = open_conn(TFX_RPORT);
    ck_assert_uint_eq(E.accepted, 1);
    ck_assert_uint_eq(conns_open(), 1);

    /* 3000 bytes in three segments: all of it comes back, in order. */
    static uint8_t in[3000], back[4000];
    tfx_pattern(in, sizeof in, 0);
    for (uint32_t off = 0; off < sizeof in; off += 1000)
        tfx_peer_send(&F, &k, in + off, 1000, 0);
    serve();
    /* (the congestion window may hold some back until the peer ACKs) */
    bool fin;
    uint32_t got = 0;
    for (unsigned round = 0; round < 8 && got < sizeof in; round++) {
        uint32_t n = collect(k.rport, back + got, (uint32_t)(sizeof back - got), &fin);
        ck_assert(!fin);
        got += n;
        k.snd_nxt += n;
        fx_tx_clear(&F);
        tfx_peer_ack(&F, &k, k.snd_nxt, 65535);
        serve();
    }
    ck_assert_uint_eq(got, sizeof in);
    ck_assert_mem_eq(back, in, sizeof in);
    fx_tx_clear(&F);

    /* More data and the FIN together: the data comes back, then our FIN,
     * and the service has let go of the connection. */
    static const char tail[] = "last words";
    tfx_peer_send(&F, &k, tail, sizeof tail - 1, TH_FIN);
    serve();
    got = collect(k.rport, back, (uint32_t)sizeof back, &fin);
    ck_assert_uint_eq(got, sizeof tail - 1);
    ck_assert_mem_eq(back, tail, sizeof tail - 1);
    ck_assert(fin);
    ck_assert_uint_eq(E.closed, 1);
    ck_assert_uint_eq(conns_open(), 0);
    /* The peer acknowledges our FIN: the core's slot is free again. */
    k.snd_nxt += got + 1;
    tfx_peer_ack(&F, &k, k.snd_nxt, 65535);
    serve();
}
END_TEST

START_TEST(mps2_echo_tcp_reset)
{
    struct tfx_conn k = open_conn(TFX_RPORT);
    ck_assert_uint_eq(conns_open(), 1);
    struct tcp_repr rst = tfx_seg(&k, TH_RST, NULL, 0);
    tfx_inject(&F, &rst);
    serve();
    ck_assert_uint_eq(conns_open(), 0);
    ck_assert_uint_eq(E.closed, 1);
    ck_assert_uint_eq(E.errors, 0);
}
END_TEST

/* ECHO_CONNS connections are served at once; one more waits in the
 * listener's queue until a slot of the service frees up. */
START_TEST(mps2_echo_tcp_conn_limit)
{
    struct tfx_conn k[ECHO_CONNS];
    for (unsigned i = 0; i < ECHO_CONNS; i++)
        k[i] = open_conn((uint16_t)(TFX_RPORT + i));
    ck_assert_uint_eq(conns_open(), ECHO_CONNS);
    ck_assert_uint_eq(E.accepted, ECHO_CONNS);

    struct tfx_conn extra = open_conn((uint16_t)(TFX_RPORT + ECHO_CONNS));
    ck_assert_uint_eq(E.accepted, ECHO_CONNS);          /* not taken yet */
    struct tcp_repr rst = tfx_seg(&k[0], TH_RST, NULL, 0);
    tfx_inject(&F, &rst);
    serve();
    ck_assert_uint_eq(E.accepted, ECHO_CONNS + 1);      /* the waiting one */
    ck_assert_uint_eq(conns_open(), ECHO_CONNS);

    /* and it is served */
    static const char msg[] = "late";
    tfx_peer_send(&F, &extra, msg, sizeof msg - 1, 0);
    serve();
    uint8_t back[64];
    bool fin;
    ck_assert_uint_eq(collect(extra.rport, back, (uint32_t)sizeof back, &fin), sizeof msg - 1);
    ck_assert_mem_eq(back, msg, sizeof msg - 1);
}
END_TEST

static Suite *mps2_echo_suite(void)
{
    Suite *s = suite_create("mps2_echo");
    TCase *tc = tcase_create("echo");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mps2_echo_udp);
    tcase_add_test(tc, mps2_echo_tcp_data_then_fin);
    tcase_add_test(tc, mps2_echo_tcp_reset);
    tcase_add_test(tc, mps2_echo_tcp_conn_limit);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(mps2_echo_suite)
