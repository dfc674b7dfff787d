/* SPDX-License-Identifier: MIT */
/*
 * The core without TCP: the calls of tcp.h answered as by a host that does
 * not implement the protocol. For firmware that needs only ARP, IPv4,
 * ICMP, UDP (and DHCP): build the core without tcp.c and tcp_*.c (this
 * file is the exception) and with -DMOAT_CORE_TCP=0, as
 * ports/baremetal/baremetal.cmake (moat_baremetal_min) and
 * scripts/size-report.sh do. What it saves: docs/footprint.md.
 *
 * Behaviour: a TCP segment is dropped as an unsupported protocol (counter
 * IP_PROTO) and answered with ICMP protocol unreachable (RFC 1122
 * 3.2.2.1), as ip4.c does for any protocol it does not know; opening a
 * STREAM socket fails with MOAT_E_NOTSUP; TCP takes no memory.
 *
 * In a normal build (MOAT_CORE_TCP undefined or 1) this file compiles to
 * nothing, so the build's glob of the core's files needs no exception.
 */
#include "core_priv.h"

#if defined(MOAT_CORE_TCP) && !MOAT_CORE_TCP

size_t tcp_mem_size(const struct moat_config *cfg)
{
    (void)cfg;
    return 0;
}

size_t tcp_slot_bytes(const struct moat_config *cfg)
{
    (void)cfg;
    return 0;
}

int tcp_init(struct mcore *c, void *mem)
{
    (void)c;
    (void)mem;
    return 0;
}

void tcp_input(struct mcore *c, const struct ip4_rx *rx)
{
    MCORE_DROP(c, IP_PROTO);
    icmp_send_error(c, rx, ICMP_UNREACH, ICMP_UNREACH_PROTO, 0);
}

void tcp_icmp_error(struct mcore *c, const struct ip4_quote *q, uint8_t type,
                    uint8_t code, uint16_t mtu)
{
    (void)c;
    (void)q;
    (void)type;
    (void)code;
    (void)mtu;
}

uint64_t tcp_poll(struct mcore *c)
{
    (void)c;
    return MCORE_NEVER;
}

void tcp_touch(struct mcore *c, struct msock *s)
{
    (void)c;
    (void)s;
}

void tcp_touch_all(struct mcore *c)
{
    (void)c;
}

int tcp_sock_open(struct mcore *c, struct msock *s)
{
    (void)c;
    (void)s;
    return MOAT_E_NOTSUP;
}

/* No STREAM slot can exist (tcp_sock_open refuses), so the calls below
 * are never reached through the dispatcher; they fail closed anyway. */
int tcp_sock_connect(struct mcore *c, struct msock *s, uint32_t ip, uint16_t port)
{
    (void)c;
    (void)s;
    (void)ip;
    (void)port;
    return MOAT_E_NOTSUP;
}

int tcp_sock_connect6(struct mcore *c, struct msock *s, const uint8_t ip6[16], uint16_t port,
                      uint32_t scope_id)
{
    (void)c;
    (void)s;
    (void)ip6;
    (void)port;
    (void)scope_id;
    return MOAT_E_NOTSUP;
}

/* IPv6 without TCP: a segment is a counted drop (no parameter problem:
 * a core built this way is a deliberate choice, not a stranger). */
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

int tcp_sock_listen(struct mcore *c, struct msock *s, uint32_t backlog)
{
    (void)c;
    (void)s;
    (void)backlog;
    return MOAT_E_NOTSUP;
}

int tcp_sock_accept(struct mcore *c, struct msock *s, uint32_t *child,
                    struct moat_m_addr *peer)
{
    (void)c;
    (void)s;
    (void)child;
    (void)peer;
    return MOAT_E_NOTSUP;
}

int tcp_sock_shutdown(struct mcore *c, struct msock *s, uint32_t how)
{
    (void)c;
    (void)s;
    (void)how;
    return MOAT_E_NOTSUP;
}

int tcp_sock_close(struct mcore *c, struct msock *s)
{
    (void)c;
    (void)s;
    return MOAT_E_NOTSUP;
}

int tcp_sock_abort(struct mcore *c, struct msock *s)
{
    (void)c;
    (void)s;
    return MOAT_E_NOTSUP;
}

int tcp_sock_setopt(struct mcore *c, struct msock *s, int opt, int64_t value)
{
    (void)c;
    (void)s;
    (void)opt;
    (void)value;
    return MOAT_E_NOTSUP;
}

int tcp_sock_cong(struct mcore *c, struct msock *s)
{
    (void)c;
    (void)s;
    return MOAT_E_NOTSUP;
}

int tcp_port_busy(struct mcore *c, uint32_t lip, uint16_t lport, int reuse)
{
    (void)c;
    (void)lip;
    (void)lport;
    (void)reuse;
    return 0;
}

void tcp_addr_lost(struct mcore *c, uint32_t ip, int err)
{
    (void)c;
    (void)ip;
    (void)err;
}

void tcp6_addr_lost(struct mcore *c, const uint8_t ip6[16], int err)
{
    (void)c;
    (void)ip6;
    (void)err;
}

void tcp_shutdown_all(struct mcore *c)
{
    (void)c;
}

#endif /* MOAT_CORE_TCP == 0 */
