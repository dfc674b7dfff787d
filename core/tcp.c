/* SPDX-License-Identifier: MIT */
/*
 * TCP placeholder: stream sockets are refused with MOAT_E_NOTSUP and
 * segments answered with RST by nobody (counted as TCP_NO_PORT) until the
 * TCP module lands (issue 3). Keeps the interface of tcp.h compiled.
 */
#include "core_priv.h"

size_t tcp_mem_size(const struct moat_config *cfg) { (void)cfg; return 0; }
int tcp_init(struct mcore *c, void *mem) { (void)c; (void)mem; return 0; }
void tcp_input(struct mcore *c, const struct ip4_rx *rx) { (void)rx; MCORE_DROP(c, TCP_NO_PORT); }
void tcp_icmp_error(struct mcore *c, const struct ip4_quote *q, uint8_t type,
                    uint8_t code, uint16_t mtu)
{ (void)c; (void)q; (void)type; (void)code; (void)mtu; }
uint64_t tcp_poll(struct mcore *c) { (void)c; return MCORE_NEVER; }
int tcp_sock_open(struct mcore *c, struct msock *s) { (void)c; (void)s; return MOAT_E_NOTSUP; }
int tcp_sock_connect(struct mcore *c, struct msock *s, uint32_t ip, uint16_t port)
{ (void)c; (void)s; (void)ip; (void)port; return MOAT_E_NOTSUP; }
int tcp_sock_listen(struct mcore *c, struct msock *s, uint32_t backlog)
{ (void)c; (void)s; (void)backlog; return MOAT_E_NOTSUP; }
int tcp_sock_accept(struct mcore *c, struct msock *s, uint32_t *child, struct moat_m_addr *peer)
{ (void)c; (void)s; (void)child; (void)peer; return MOAT_E_NOTSUP; }
int tcp_sock_shutdown(struct mcore *c, struct msock *s, uint32_t how)
{ (void)c; (void)s; (void)how; return MOAT_E_NOTSUP; }
int tcp_sock_close(struct mcore *c, struct msock *s) { (void)c; (void)s; return 0; }
int tcp_sock_abort(struct mcore *c, struct msock *s) { (void)c; (void)s; return 0; }
int tcp_sock_setopt(struct mcore *c, struct msock *s, int opt, int64_t value)
{ (void)c; (void)s; (void)opt; (void)value; return 0; }
int tcp_port_busy(struct mcore *c, uint32_t lip, uint16_t lport, int reuse)
{ (void)c; (void)lip; (void)lport; (void)reuse; return 0; }
void tcp_shutdown_all(struct mcore *c) { (void)c; }
