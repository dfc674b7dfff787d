/* SPDX-License-Identifier: MIT */
/*
 * TCP's hooks of the IPv6 layer while TCP speaks only IPv4: a segment is a
 * counted drop and ICMPv6 errors about our segments have nobody to go to.
 * UDP over IPv6 is in udp.c (udp6_input, udp6_icmp_error); TCP over IPv6
 * will define these two in tcp*.c and delete this file.
 */
#include "core_priv.h"

void tcp6_input(struct mcore *c, const struct ip6_rx *rx)
{
    (void)rx;
    MCORE_DROP(c, TCP_NO_PORT);
}

void tcp6_icmp_error(struct mcore *c, const struct ip6_quote *q, uint8_t type, uint8_t code,
                     uint32_t param)
{
    (void)q, (void)type, (void)code, (void)param;
    MCORE_DROP(c, ICMP_NO_MATCH);
}
