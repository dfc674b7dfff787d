/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the tests that run real stacks in real time
 * (tests/integration, tests/lwip, tests/factored, tests/ring):
 *
 *   - a monotonic wall clock and a pause, for loops bounded by time;
 *   - one private temporary directory per Check test case, made and removed
 *     by an *unchecked* fixture: it runs in Check's parent process, so even
 *     a test that failed half way (and never reached its own cleanup) leaves
 *     nothing behind in /tmp;
 *   - wire paths inside that directory that no other test of the case uses;
 *   - the one-interface configuration every such test starts from.
 *
 * Use: a file defines `static void case_dir_setup(void)` that calls
 * itest_case_dir_make("tag") and registers it with
 * tcase_add_unchecked_fixture(tc, case_dir_setup, itest_case_dir_teardown).
 * Does not hold the virtual-time unit-test fixture (tests/support/fx.h).
 */
#ifndef MOAT_TEST_ITEST_H
#define MOAT_TEST_ITEST_H

#include <stddef.h>
#include <stdint.h>

#include "moat/moat.h"

/* CLOCK_MONOTONIC in microseconds / milliseconds. */
uint64_t itest_now_us(void);
uint64_t itest_now_ms(void);
/* Sleep @p ms milliseconds: the step of a polling loop that is bounded by
 * itest_now_us(), never a synchronisation by itself. */
void itest_pause_ms(unsigned ms);

/* Makes /tmp/moat-<tag>-XXXXXX (asserts on failure); the path is then
 * itest_case_dir() until the teardown. */
void itest_case_dir_make(const char *tag);
/* Unlinks every file in the case directory and removes it. */
void itest_case_dir_teardown(void);
const char *itest_case_dir(void);

/* "<case dir>/wire-<pid>-<n>", n counting up per process. */
void itest_wire_path(char *out, size_t len);

/* moat_config_defaults, then interface 0: @p ip (host order) /24 on link
 * @p kind with device @p dev (NULL: none). Sizes are the caller's. */
void itest_config(struct moat_config *c, uint32_t ip, enum moat_link_kind kind,
                  const char *dev);

#endif
