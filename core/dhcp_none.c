/* SPDX-License-Identifier: MIT */
/*
 * The core without the DHCP client: for firmware with static addresses.
 * Build the core without dhcp.c (this file instead) and with
 * -DMOAT_CORE_DHCP=0, as ports/baremetal/baremetal.cmake
 * (moat_baremetal_min) and scripts/size-report.sh do; docs/footprint.md
 * says what it saves. moat_config_check then refuses an interface with
 * dhcp = 1 (MOAT_E_NOTSUP); every interface keeps its static address,
 * a datagram to port 68 is an ordinary UDP datagram, and the lease
 * information reports MOAT_DHCP_OFF.
 *
 * In a normal build (MOAT_CORE_DHCP undefined or 1) this file compiles to
 * nothing, so the build's glob of the core's files needs no exception.
 */
#include "core_priv.h"

#if defined(MOAT_CORE_DHCP) && !MOAT_CORE_DHCP

int dhcp_parse(const uint8_t *p, size_t len, struct dhcp_repr *r)
{
    (void)p;
    (void)len;
    (void)r;
    return MOAT_E_NOTSUP;
}

void dhcp_init(struct mcore *c)
{
    for (unsigned i = 0; i < c->n_ifs; i++) {
        memset(&c->dhcp[i], 0, sizeof(c->dhcp[i]));     /* state MOAT_DHCP_OFF */
        c->dhcp[i].t_next = MCORE_NEVER;
    }
}

bool dhcp_input(struct mcore *c, const struct ip4_rx *rx, uint16_t sport,
                const uint8_t *data, size_t len)
{
    (void)c;
    (void)rx;
    (void)sport;
    (void)data;
    (void)len;
    return false;
}

void dhcp_arp_input(struct mcore *c, unsigned ifx, uint16_t op, const uint8_t sha[6],
                    uint32_t spa, uint32_t tpa)
{
    (void)c;
    (void)ifx;
    (void)op;
    (void)sha;
    (void)spa;
    (void)tpa;
}

uint64_t dhcp_poll(struct mcore *c)
{
    (void)c;
    return MCORE_NEVER;
}

/* The static address, state MOAT_DHCP_OFF (what dhcp.c reports for an
 * interface configured without DHCP). */
void dhcp_info(const struct mcore *c, unsigned ifx, struct moat_dhcp_info *out)
{
    ip4_if_info(c, ifx, out);
}

#endif /* MOAT_CORE_DHCP == 0 */
