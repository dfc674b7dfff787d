/* SPDX-License-Identifier: MIT */
/*
 * Upper-layer hooks of the IPv6 layer while TCP and UDP speak only IPv4:
 * a UDP datagram gets an ICMPv6 port unreachable (as a host with no
 * listener would answer), a TCP segment is a counted drop, and ICMPv6
 * errors about our datagrams have nobody to go to. The TCP/UDP-over-IPv6
 * work (branch ip6sock) deletes this file and defines the same four
 * functions in tcp*.c and udp.c (the contract is in core_priv.h).
 */
#include "core_priv.h"

void tcp6_input(struct mcore *c, const struct ip6_rx *rx)
{
    (void)rx;
    MCORE_DROP(c, TCP_NO_PORT);
}

void udp6_input(struct mcore *c, const struct ip6_rx *rx)
{
    if (rx->l4_len < 8) {
        MCORE_DROP(c, UDP_MALFORMED);
        return;
    }
    MCORE_DROP(c, UDP_NO_PORT);
    icmp6_send_error(c, rx, ICMP6_UNREACH, ICMP6_UNREACH_PORT, 0);
}

void tcp6_icmp_error(struct mcore *c, const struct ip6_quote *q, uint8_t type, uint8_t code,
                     uint32_t param)
{
    (void)q, (void)type, (void)code, (void)param;
    MCORE_DROP(c, ICMP_NO_MATCH);
}

void udp6_icmp_error(struct mcore *c, const struct ip6_quote *q, uint8_t type, uint8_t code,
                     uint32_t param)
{
    (void)q, (void)type, (void)code, (void)param;
    MCORE_DROP(c, ICMP_NO_MATCH);
}
