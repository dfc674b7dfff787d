/* SPDX-License-Identifier: MIT */
/*
 * The random delay before an interface's first MLD report and DAD
 * solicitation (RFC 4862 5.4.2) and before its first router solicitation
 * (RFC 4861 6.3.7): at most MAX_RTR_SOLICITATION_DELAY (1 s), drawn from
 * the core's seeded generator, in virtual time. The fixture turns the
 * delay off unless f.nd_start_delay is set (tests/support/fx.h), which is
 * how every other ND test keeps its exact timing.
 */
#include <string.h>

#include "support/check_main.h"
#include "support/fx6.h"

#define MAX_DELAY_US 1000000u
#define N_SEEDS 8u

/* Time of the first transmitted ICMPv6 message of @p type, or 0. */
static uint64_t first_icmp_t(const struct fx *f, uint8_t type)
{
    int i = fx6_find_icmp(f, 0, type);
    return i < 0 ? 0 : fx_tx(f, (unsigned)i)->t;
}

static unsigned addr_state(const struct fx *f, const uint8_t *a)
{
    struct moat_ip6_info in = fx_stats(f).ip6[0];
    for (unsigned k = 0; k < MOAT_IP6_ADDRS; k++)
        if (in.state[k] != MOAT_IP6_NONE && memcmp(in.addr[k], a, 16) == 0)
            return in.state[k];
    return MOAT_IP6_NONE;
}

/* Start interface 0 with DAD (one solicitation) and the delay on. */
static void start_delayed(struct fx *f, uint64_t seed, int slaac, uint8_t dad)
{
    fx6_config(f);
    f->cfg.seed = seed;
    f->cfg.ip6_dad_transmits = dad;
    f->cfg.ifs[0].no_slaac = slaac ? 0 : 1;
    f->nd_start_delay = 1;
    fx_start(f);
}

/* The report and the first DAD NS wait the same random delay, under 1 s;
 * the report still goes first; DAD completes one RetransTimer later. */
static uint64_t dad_delay_for(uint64_t seed)
{
    struct fx f;
    start_delayed(&f, seed, 0, 1);
    fx_advance(&f, MAX_DELAY_US + 1000);
    uint64_t ns = first_icmp_t(&f, 135);
    uint64_t mld = first_icmp_t(&f, 143);
    ck_assert_uint_ge(ns, FX_T0);
    ck_assert_uint_lt(ns, FX_T0 + MAX_DELAY_US);
    ck_assert_uint_eq(mld, ns);
    ck_assert_int_lt(fx6_find_icmp(&f, 0, 143), fx6_find_icmp(&f, 0, 135));
    /* one NS per address (link-local and static), both from :: */
    ck_assert_uint_eq(fx_stats(&f).nd_solicits_out, 2);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ip), MOAT_IP6_TENTATIVE);
    fx_advance(&f, 1000000);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ip), MOAT_IP6_PREFERRED);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ll), MOAT_IP6_PREFERRED);
    ck_assert_uint_eq(fx_stats(&f).dad_conflicts, 0);
    fx_teardown(&f);
    return ns - FX_T0;
}

/* Run @p delay_for with N_SEEDS seeds from @p seed0 into @p d; returns
 * how many different delays came out. */
static unsigned distinct_delays(uint64_t (*delay_for)(uint64_t), uint64_t seed0,
                                uint64_t d[N_SEEDS])
{
    unsigned distinct = 0;
    for (unsigned s = 0; s < N_SEEDS; s++) {
        d[s] = delay_for(seed0 + s);
        bool seen = false;
        for (unsigned k = 0; k < s; k++)
            seen |= d[k] == d[s];
        distinct += !seen;
    }
    return distinct;
}

START_TEST(dad_delay_bounded_seeded_completes)
{
    uint64_t d[N_SEEDS];
    /* different seeds, different delays (8 draws from a million values);
     * the same seed, the same delay */
    ck_assert_uint_ge(distinct_delays(dad_delay_for, 1000, d), N_SEEDS - 1);
    ck_assert_uint_eq(dad_delay_for(1000), d[0]);
}
END_TEST

/* No IPv6 frame is sent while the delay runs. */
START_TEST(nothing_before_the_delay)
{
    struct fx f;
    start_delayed(&f, 77, 1, 1);
    uint64_t ns = 0;
    fx_advance(&f, MAX_DELAY_US);
    ns = first_icmp_t(&f, 135);
    ck_assert_uint_gt(ns, FX_T0);   /* seed 77 draws a non-zero delay */
    for (unsigned i = 0; i < fx_ntx(&f); i++)  /* IPv6 only: ARP announces at once */
        if (fx_tx(&f, i)->data[12] == 0x86 && fx_tx(&f, i)->data[13] == 0xdd)
            ck_assert_uint_ge(fx_tx(&f, i)->t, ns);
    fx_teardown(&f);
}
END_TEST

/* Without DAD (nothing waited yet) the first RS waits its own random
 * delay after the link-local address became usable. */
static uint64_t rs_delay_for(uint64_t seed)
{
    struct fx f;
    start_delayed(&f, seed, 1, 0);
    fx_advance(&f, MAX_DELAY_US + 1000);
    uint64_t rs = first_icmp_t(&f, 133);
    ck_assert_uint_ge(rs, FX_T0);
    ck_assert_uint_lt(rs, FX_T0 + MAX_DELAY_US);
    ck_assert_uint_eq(fx_stats(&f).nd_rs_out, 1);
    /* the next one RTR_SOLICITATION_INTERVAL (4 s) later, not delayed */
    fx_tx_clear(&f);
    fx_advance(&f, rs + 4000000 - f.now);
    ck_assert_uint_eq(first_icmp_t(&f, 133), rs + 4000000);
    fx_teardown(&f);
    return rs - FX_T0;
}

START_TEST(rs_delay_bounded_seeded)
{
    uint64_t d[N_SEEDS];
    ck_assert_uint_ge(distinct_delays(rs_delay_for, 2000, d), N_SEEDS - 1);
}
END_TEST

/* With DAD the host waited before it already: the RS follows as soon as
 * the link-local address is usable (RFC 4861 6.3.7 allows skipping the
 * second delay). */
START_TEST(rs_after_delayed_dad)
{
    struct fx f;
    start_delayed(&f, 31, 1, 1);
    fx_advance(&f, MAX_DELAY_US + 1000000 + 1000);
    uint64_t ns = first_icmp_t(&f, 135);
    uint64_t rs = first_icmp_t(&f, 133);
    ck_assert_uint_gt(ns, 0);
    ck_assert_uint_eq(rs, ns + 1000000);
    ck_assert_uint_eq(addr_state(&f, fx6_l_ll), MOAT_IP6_PREFERRED);
    fx_teardown(&f);
}
END_TEST

static Suite *nd_delay_suite(void)
{
    Suite *s = suite_create("nd_delay");
    TCase *tc = tcase_create("nd_delay");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dad_delay_bounded_seeded_completes);
    tcase_add_test(tc, nothing_before_the_delay);
    tcase_add_test(tc, rs_delay_bounded_seeded);
    tcase_add_test(tc, rs_after_delayed_dad);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(nd_delay_suite)
