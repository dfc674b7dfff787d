/* SPDX-License-Identifier: MIT */
/*
 * Runs the bare-metal example loop on the build host, as a test that the
 * example's buffers fit its configuration and that the loop runs. Not
 * part of a port: a board has its own reset handler and main.
 */
#include <stdint.h>
#include <stdio.h>

#include "moat/err.h"
#include "moat/moat.h"
#include "baremetal.h"

int main(void)
{
#if defined(MOAT_CORE_DHCP) && !MOAT_CORE_DHCP
    /* The smallest core (moat_baremetal_min) has no DHCP client: a
     * configuration that asks for one must be refused, not left without
     * an address for ever. */
    struct moat_config dcfg;
    moat_config_defaults(&dcfg);
    dcfg.ifs[0].dhcp = 1;
    if (moat_config_check(&dcfg, NULL, 0) != MOAT_E_NOTSUP) {
        printf("baremetal example: a core without DHCP accepted dhcp = 1\n");
        return 1;
    }
#endif
    uint32_t sent = 0;
    int rc = moat_example_run(1000, &sent);
    if (rc != 0) {
        printf("baremetal example failed: %s (%s)\n", moat_errname(rc), moat_strerror(rc));
        return 1;
    }
    /* The core announces itself with a gratuitous ARP at start: at least
     * one frame must have reached the link. */
    printf("baremetal example: 1000 rounds, %u frame(s) sent to the stub link\n",
           (unsigned)sent);
    return sent > 0 ? 0 : 1;
}
