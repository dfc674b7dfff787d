/* SPDX-License-Identifier: MIT */
/*
 * TCP's interface to the rest of the core. The TCP module owns its control
 * blocks, listeners, SYN queue, timers and congestion control; the socket
 * layer (sock.c) and the ctl dispatcher (core.c) reach it only through
 * these calls. Send data is read straight from the socket's tx ring (the
 * ring is the send buffer: bytes stay there until acknowledged); received
 * in-order data is written straight into the socket's rx ring (its free
 * space is the receive window).
 */
#ifndef MOAT_TCP_H
#define MOAT_TCP_H

#include <stddef.h>
#include <stdint.h>

struct mcore;
struct msock;
struct ip4_rx;
struct ip4_quote;
struct moat_m_addr;
struct moat_config;

size_t tcp_mem_size(const struct moat_config *cfg);
/* TCP's bytes per socket slot (part of moat_stats.conn_state_bytes). */
size_t tcp_slot_bytes(const struct moat_config *cfg);
int tcp_init(struct mcore *c, void *mem);

/* A validated IPv4 datagram carrying TCP. */
void tcp_input(struct mcore *c, const struct ip4_rx *rx);
/* An ICMP error quoting one of our segments. */
void tcp_icmp_error(struct mcore *c, const struct ip4_quote *q, uint8_t type,
                    uint8_t code, uint16_t mtu);
/* Timers, data waiting in send rings, window updates. Returns the next
 * deadline (us) or MCORE_NEVER. */
uint64_t tcp_poll(struct mcore *c);
/* Connection @p s (a STREAM slot) has work for the next tcp_poll: a
 * segment arrived, the application acted or published ring indices. It
 * runs its due timers and output there and is rescheduled by its
 * deadline (tcp.c, "scheduling"). */
void tcp_touch(struct mcore *c, struct msock *s);
/* Touch every live connection (no hints about which rings moved). */
void tcp_touch_all(struct mcore *c);

/* Socket operations (the slot is allocated and of type STREAM). Each
 * returns 0 or a MOAT_E_* code as documented in <moat/socket.h>. */
int tcp_sock_open(struct mcore *c, struct msock *s);
int tcp_sock_connect(struct mcore *c, struct msock *s, uint32_t ip, uint16_t port);
/* Active open to an IPv6 peer (@p scope_id: interface + 1 for a
 * link-local one, 0: the first interface). */
int tcp_sock_connect6(struct mcore *c, struct msock *s, const uint8_t ip6[16], uint16_t port,
                      uint32_t scope_id);
int tcp_sock_listen(struct mcore *c, struct msock *s, uint32_t backlog);
int tcp_sock_accept(struct mcore *c, struct msock *s, uint32_t *child,
                    struct moat_m_addr *peer);
int tcp_sock_shutdown(struct mcore *c, struct msock *s, uint32_t how);
/* The application released its handle (graceful close per linger). */
int tcp_sock_close(struct mcore *c, struct msock *s);
int tcp_sock_abort(struct mcore *c, struct msock *s);
/* Options that TCP acts on at once (NODELAY, KEEPALIVE, buffers). */
int tcp_sock_setopt(struct mcore *c, struct msock *s, int opt, int64_t value);
/* MOAT_OPT_TCP_CONG: the congestion control algorithm of the connection. */
int tcp_sock_cong(struct mcore *c, struct msock *s);
/* Is lport in use by a TCP connection or listener in a way that forbids
 * a new bind (TIME-WAIT counts unless @p reuse)? */
int tcp_port_busy(struct mcore *c, uint32_t lip, uint16_t lport, int reuse);
/* Address @p ip was removed from its interface (a DHCP lease ended):
 * every connection using it as local address fails with @p err, without
 * a RST (nothing may be sent from an address we no longer hold). */
void tcp_addr_lost(struct mcore *c, uint32_t ip, int err);
/* The same for an IPv6 address (a SLAAC address whose valid lifetime
 * ended, nd.c). */
void tcp6_addr_lost(struct mcore *c, const uint8_t ip6[16], int err);
/* Stack shutdown: abort everything. */
void tcp_shutdown_all(struct mcore *c);

#endif
