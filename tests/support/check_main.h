/* SPDX-License-Identifier: MIT */
/*
 * One main per test program: MOAT_CHECK_MAIN(suite_fn) runs the suite with
 * Check's defaults (fork per test) and prints Check's summary. Environment:
 * CK_RUN_CASE=name runs one case; CK_FORK=no runs in-process (for gdb).
 */
#ifndef MOAT_CHECK_MAIN_H
#define MOAT_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define MOAT_CHECK_MAIN(suite_fn)                                  \
    int main(void)                                                 \
    {                                                              \
        SRunner *sr = srunner_create(suite_fn());                  \
        srunner_run_all(sr, CK_NORMAL);                            \
        int failed = srunner_ntests_failed(sr);                    \
        srunner_free(sr);                                          \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;          \
    }

#endif
