/* SPDX-License-Identifier: MIT */
/*
 * The core without IPv6: for firmware that speaks IPv4 only. Build the
 * core without ip6.c, ip6_reass.c, icmp6.c, nd.c and nd_auto.c (this
 * file instead) and with -DMOAT_CORE_IP6=0, as scripts/size-report.sh
 * does for the IPv4-only figures of docs/footprint.md. Then:
 * - EtherType 0x86DD frames are dropped and counted (as any other
 *   EtherType the core does not speak: ETH_TYPE);
 * - moat_config_check refuses static IPv6 addresses (MOAT_E_NOTSUP);
 * - no link-local address, no DAD, no MLD, no router solicitation;
 * - a socket given an IPv6 address gets MOAT_E_NETUNREACH from routing,
 *   the error of a host with no IPv6 route.
 *
 * In a normal build (MOAT_CORE_IP6 undefined or 1) this file compiles to
 * nothing, so the build's glob of the core's files needs no exception.
 */
#include "core_priv.h"

#if defined(MOAT_CORE_IP6) && !MOAT_CORE_IP6

void ip6_init(struct mcore *c)
{
    (void)c;
}

void ip6_input(struct mcore *c, unsigned ifx, const uint8_t *p, size_t len)
{
    (void)ifx;
    (void)p;
    (void)len;
    MCORE_DROP(c, ETH_TYPE);
}

int ip6_route(struct mcore *c, const uint8_t dst[16], unsigned *ifx, uint8_t src[16],
              uint16_t *mtu)
{
    (void)c;
    (void)dst;
    (void)ifx;
    (void)src;
    (void)mtu;
    return MOAT_E_NETUNREACH;
}

int ip6_tx_begin(struct mcore *c, struct ip6_tx *tx, const uint8_t src[16],
                 const uint8_t dst[16], size_t l4_len)
{
    (void)c;
    (void)tx;
    (void)src;
    (void)dst;
    (void)l4_len;
    return MOAT_E_NETUNREACH;
}

int ip6_tx_end(struct mcore *c, struct ip6_tx *tx, uint8_t proto, size_t l4_len, unsigned flags)
{
    (void)c;
    (void)tx;
    (void)proto;
    (void)l4_len;
    (void)flags;
    return MOAT_E_NETUNREACH;   /* never reached: ip6_tx_begin refused */
}

uint16_t ip6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t proto)
{
    (void)src;
    (void)dst;
    (void)len;
    (void)proto;
    return 0;   /* never reached: nothing is sent or received over IPv6 */
}

bool ip6_is_ours(const struct mcore *c, const uint8_t a[16])
{
    (void)c;
    (void)a;
    return false;
}

bool ip6_ll_addr(const struct mcore *c, unsigned ifx, uint8_t out[16])
{
    (void)c;
    (void)ifx;
    (void)out;
    return false;
}

void icmp6_send_error(struct mcore *c, const struct ip6_rx *rx, uint8_t type, uint8_t code,
                      uint32_t param)
{
    (void)c;
    (void)rx;
    (void)type;
    (void)code;
    (void)param;
}

size_t reass6_mem_size(const struct moat_config *cfg)
{
    (void)cfg;
    return 0;
}

void reass6_init(struct mcore *c, void *mem)
{
    (void)c;
    (void)mem;
}

uint64_t reass6_poll(struct mcore *c)
{
    (void)c;
    return MCORE_NEVER;
}

void reass6_shutdown(struct mcore *c)
{
    (void)c;
}

size_t nd_mem_size(const struct moat_config *cfg)
{
    (void)cfg;
    return 0;
}

void nd_init(struct mcore *c, void *mem)
{
    (void)c;
    (void)mem;
}

uint64_t nd_poll(struct mcore *c)
{
    (void)c;
    return MCORE_NEVER;
}

void nd_shutdown(struct mcore *c)
{
    (void)c;
}

void ip6_info(const struct mcore *c, unsigned ifx, struct moat_ip6_info *out)
{
    (void)c;
    (void)ifx;
    memset(out, 0, sizeof *out);
}

int mcore_nd_add_static(struct mcore *c, unsigned ifx, const uint8_t ip[16], const uint8_t mac[6])
{
    (void)c;
    (void)ifx;
    (void)ip;
    (void)mac;
    return MOAT_E_NOTSUP;
}

#endif /* MOAT_CORE_IP6 == 0 */
