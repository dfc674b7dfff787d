/* SPDX-License-Identifier: MIT */
/*
 * Pool exhaustion in the core (docs/faults.md): the packet-buffer pool and
 * the socket table run out; each is a counted drop or a clean error, the
 * stack keeps working, and what was taken comes back.
 *
 *   - pkt_bufs at its minimum (8) under ARP queues that could hold twice
 *     as much: the frames past the pool are dropped as PKT_NOMEM, the
 *     queued ones leave once the next hop answers, and the pool is whole
 *     again afterwards;
 *   - every socket slot taken: open fails with MOAT_E_MFILE, and after one
 *     close the next open succeeds.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"

#define EX_PORT_L 4000
#define EX_PORT_R 5000

START_TEST(packet_pool_exhaustion_is_a_counted_drop)
{
    struct fx f;
    fx_config(&f);
    f.cfg.pkt_bufs = 8;       /* the least moat_config_check allows */
    f.cfg.arp_queue = 16;     /* a queue the pool cannot fill */
    fx_start(&f);
    fx_tx_clear(&f);
    uint32_t h = fx_udp_bound(&f, 0, EX_PORT_L);
    const unsigned n = 2 * 8;

    for (unsigned i = 0; i < n; i++) {
        char msg[8] = "dgram-0";
        msg[6] = (char)('a' + i);
        ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, EX_PORT_R, msg, 7), 0);
    }
    struct moat_stats st = fx_stats(&f);
    ck_assert_uint_le(st.pkt_in_use, f.cfg.pkt_bufs);
    uint64_t nomem = fx_drop(&f, MOAT_DROP_PKT_NOMEM);
    ck_assert_uint_gt(nomem, 0);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_ARP_QUEUE_FULL), 0);
    uint64_t queued = st.pkt_in_use;
    ck_assert_uint_eq(queued + nomem, n);

    /* The next hop answers: every queued datagram leaves, the pool is
     * whole again, and the stack sends normally. */
    fx_tx_clear(&f);
    fx_arp_reply_from(&f, 0, FX_R_IP, fx_r_mac);
    ck_assert_uint_eq(fx_ntx(&f), queued);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    fx_tx_clear(&f);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, EX_PORT_R, "after", 5), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_teardown(&f);
}
END_TEST

START_TEST(socket_table_exhaustion_is_mfile)
{
    struct fx f;
    fx_config(&f);
    f.cfg.max_sockets = 4;
    fx_start(&f);
    fx_tx_clear(&f);
    uint32_t hs[4];
    for (unsigned i = 0; i < 4; i++)
        hs[i] = fx_udp_bound(&f, 0, (uint16_t)(EX_PORT_L + i));
    uint32_t extra = 0;
    ck_assert_int_eq(fx_sock_open(&f, MOAT_SOCK_DGRAM, &extra), MOAT_E_MFILE);
    ck_assert_int_eq(fx_sock_open(&f, MOAT_SOCK_STREAM, &extra), MOAT_E_MFILE);
    ck_assert_int_eq(fx_close(&f, hs[0]), 0);
    ck_assert_int_eq(fx_sock_open(&f, MOAT_SOCK_DGRAM, &extra), 0);
    ck_assert_int_eq(fx_close(&f, extra), 0);
    for (unsigned i = 1; i < 4; i++)
        ck_assert_int_eq(fx_close(&f, hs[i]), 0);
    fx_teardown(&f);
}
END_TEST

static Suite *exhaustion_suite(void)
{
    Suite *s = suite_create("exhaustion");
    TCase *tc = tcase_create("pools");
    tcase_add_test(tc, packet_pool_exhaustion_is_a_counted_drop);
    tcase_add_test(tc, socket_table_exhaustion_is_mfile);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(exhaustion_suite)
