/* SPDX-License-Identifier: MIT */
/*
 * Runs the bare-metal example loop on the build host, as a test that the
 * example's buffers fit its configuration and that the loop runs. Not
 * part of a port: a board has its own reset handler and main.
 */
#include <stdio.h>

#include "moat/err.h"
#include "baremetal.h"

int main(void)
{
    int rc = moat_example_run(1000);
    if (rc != 0) {
        printf("baremetal example failed: %s (%s)\n", moat_errname(rc), moat_strerror(rc));
        return 1;
    }
    printf("baremetal example: 1000 rounds ok\n");
    return 0;
}
