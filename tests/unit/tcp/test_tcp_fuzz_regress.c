/* SPDX-License-Identifier: MIT */
/*
 * Regression tests for what the fuzz harnesses (tests/fuzz, docs/fuzzing.md)
 * found in the TCP code: each test pins one finding as a scenario a reader
 * can follow, next to the reproducer kept in the harness's corpus.
 *
 *   - mcore_shutdown closed every connection but left their windows
 *     charged to the stack's window budget (core/tcp_wnd.c): the
 *     statistics of a stack that had been shut down still reported
 *     tcp_mem_used (found by the fuzz_* end-of-run budget check).
 *
 * Does not hold fixtures (tcp_fx.c).
 */
#include <check.h>
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

START_TEST(shutdown_releases_window_budget)
{
    struct fx f;
    struct tfx_conn k;
    tfx_init(&f);
    struct tfx_opts o = TFX_OPTS();
    tfx_passive(&f, &k, &o);
    ck_assert_uint_gt(fx_stats(&f).tcp_mem_used, 0);
    mcore_shutdown(f.core, f.now);
    ck_assert_uint_eq(fx_stats(&f).tcp_mem_used, 0);
    /* every slot is free now: the fixture has no handle left to close */
    memset(f.socks, 0, f.lay.g.max_sockets * sizeof *f.socks);
    fx_teardown(&f);
}
END_TEST

static Suite *fuzz_regress_suite(void)
{
    Suite *s = suite_create("tcp_fuzz_regress");
    TCase *tc = tcase_create("budget");
    tcase_add_test(tc, shutdown_releases_window_budget);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(fuzz_regress_suite)
