/* SPDX-License-Identifier: MIT */
/*
 * moat sockets: UDP (datagram) and TCP (stream) endpoints of one stack.
 *
 * A socket is named by a handle (slot index + generation), never a pointer;
 * a stale handle fails with MOAT_E_BADHANDLE. Calls block by default (like
 * POSIX sockets) and honour MOAT_OPT_NONBLOCK and the RCVTIMEO/SNDTIMEO
 * options; a blocking call that times out returns MOAT_E_AGAIN.
 *
 * Every call below may also return MOAT_E_INVAL (NULL or bad argument),
 * MOAT_E_BADHANDLE and MOAT_E_DEAD (the network domain is gone); the lists
 * under each function name the others. All are callable from any thread of
 * the application, but one socket must not be used by two threads at once.
 */
#ifndef MOAT_SOCKET_H
#define MOAT_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "moat.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t moat_sock_t;   /* 0 is never a valid handle */

enum moat_sock_type { MOAT_SOCK_DGRAM = 1, MOAT_SOCK_STREAM = 2 };

/*
 * A socket address of either family. The IPv4 members come first so that
 * `{ .ip = X, .port = Y }` (family 0) keeps meaning IPv4; an IPv6 address
 * sets family = MOAT_AF_INET6 and ip6 (network byte order, as written in
 * text), and scope_id (interface index + 1; 0: the first interface) for a
 * link-local address. Binding MOAT_AF_INET6 with ip6 all-zero (::) makes a
 * dual-stack socket: it receives over both families, like a Linux socket
 * with IPV6_V6ONLY=0; binding family 0 / MOAT_AF_INET with ip 0 stays
 * IPv4 only. Addresses the stack reports (recvfrom, accept, name) carry
 * the family the datagram or connection used.
 */
#define MOAT_AF_INET  4u
#define MOAT_AF_INET6 6u
struct moat_addr {
    uint32_t ip;      /* IPv4, host byte order; 0 = any */
    uint16_t port;    /* host byte order; 0 = any / ephemeral */
    uint8_t family;   /* 0 or MOAT_AF_INET: ip; MOAT_AF_INET6: ip6 */
    uint8_t ip6[16];  /* IPv6, network byte order; all-zero = any (dual-stack) */
    uint32_t scope_id;/* IPv6 link-local: interface index + 1 (0: interface 0) */
};

enum moat_opt {
    MOAT_OPT_NONBLOCK = 1,  /* 0/1: calls return MOAT_E_AGAIN instead of blocking */
    MOAT_OPT_RCVTIMEO_MS,   /* receive/accept timeout, 0 = wait forever */
    MOAT_OPT_SNDTIMEO_MS,   /* send/connect timeout, 0 = wait forever */
    MOAT_OPT_NODELAY,       /* TCP: 1 disables Nagle */
    MOAT_OPT_KEEPALIVE,     /* TCP: 1 enables keepalive probes */
    MOAT_OPT_REUSEADDR,     /* bind while an old connection on the port is in TIME-WAIT */
    MOAT_OPT_RCVBUF,        /* bytes of receive ring used, up to sock_rx_bytes;
                               setting it turns window autotuning off */
    MOAT_OPT_SNDBUF,        /* bytes of send ring used, up to sock_tx_bytes */
    MOAT_OPT_LINGER_MS,     /* TCP close: -1 (default) graceful in background;
                               0 abort with RST; >0 close waits up to that long
                               for the data to be acknowledged */
    MOAT_OPT_BROADCAST,     /* UDP: 1 allows sending to broadcast addresses */
    MOAT_OPT_ERROR,         /* get only: pending error (cleared when read) */
    MOAT_OPT_TCP_CONG       /* TCP: congestion control, MOAT_TCP_CONG_*; set before
                               connect or listen (accepted connections inherit it) */
};


/*
 * Open a socket of @p type (enum moat_sock_type) and write its handle to @p out.
 * Returns 0, MOAT_E_MFILE (no free slot), MOAT_E_NOTSUP (type not available).
 */
int moat_sock_open(struct moat_stack *st, int type, moat_sock_t *out);

/*
 * Bind to a local address and port (borrows @p a). ip 0 binds every
 * interface; port 0 picks a random ephemeral port.
 * Returns 0, MOAT_E_ADDRINUSE, MOAT_E_ADDRNOTAVAIL, MOAT_E_STATE (already bound).
 */
int moat_sock_bind(struct moat_stack *st, moat_sock_t s, const struct moat_addr *a);

/*
 * UDP: set the default destination and filter received datagrams.
 * TCP: open a connection; blocks until established unless non-blocking,
 * in which case it returns MOAT_E_INPROGRESS and poll reports MOAT_POLLOUT
 * (or MOAT_POLLERR) when it completes.
 * Returns 0, MOAT_E_INPROGRESS, MOAT_E_ISCONN, MOAT_E_CONNREFUSED,
 * MOAT_E_TIMEDOUT, MOAT_E_HOSTUNREACH, MOAT_E_NETUNREACH, MOAT_E_AGAIN.
 */
int moat_sock_connect(struct moat_stack *st, moat_sock_t s, const struct moat_addr *a);

/* TCP: accept connections, at most @p backlog waiting to be accepted.
 * Returns 0, MOAT_E_STATE, MOAT_E_NOTSUP (UDP). */
int moat_sock_listen(struct moat_stack *st, moat_sock_t s, int backlog);

/*
 * TCP: take the next established connection; @p peer (may be NULL) gets
 * its address. Returns 0, MOAT_E_AGAIN, MOAT_E_STATE (not listening),
 * MOAT_E_MFILE.
 */
int moat_sock_accept(struct moat_stack *st, moat_sock_t s, moat_sock_t *out,
                     struct moat_addr *peer);

/*
 * Send on a connected socket. Borrows @p buf; copies up to @p len bytes
 * into the socket's send ring and writes how many to @p sent (TCP may
 * accept less than len when non-blocking; UDP sends the whole datagram or
 * nothing). Returns 0, MOAT_E_AGAIN, MOAT_E_NOTCONN, MOAT_E_PIPE,
 * MOAT_E_MSGSIZE, a pending connection error (CONNRESET, CONNREFUSED, ...).
 */
int moat_sock_send(struct moat_stack *st, moat_sock_t s, const void *buf,
                   size_t len, size_t *sent);

/*
 * Receive. Borrows @p buf and writes up to @p len bytes into it; @p got
 * gets the count. TCP: got == 0 with return 0 means the peer closed
 * (end of stream). UDP: one datagram per call; the part that does not fit
 * is discarded. Returns 0, MOAT_E_AGAIN, MOAT_E_NOTCONN, a pending error.
 */
int moat_sock_recv(struct moat_stack *st, moat_sock_t s, void *buf,
                   size_t len, size_t *got);

/* UDP: send one datagram to @p to (borrowed). Errors as moat_sock_send. */
int moat_sock_sendto(struct moat_stack *st, moat_sock_t s, const void *buf,
                     size_t len, const struct moat_addr *to, size_t *sent);

/* UDP: receive one datagram; @p from (may be NULL) gets its source. */
int moat_sock_recvfrom(struct moat_stack *st, moat_sock_t s, void *buf,
                       size_t len, struct moat_addr *from, size_t *got);

/*
 * Zero-copy TCP data path (optional; send/recv above stay the default).
 * The application reads from and writes into the socket's own rings in
 * place instead of copying through a buffer of its own. Works in every
 * backend: the rings live in the socket region the application maps.
 *
 * A view is up to two spans (two when the bytes wrap around the ring's
 * end); v[0] comes first in the stream. The spans point into the ring
 * and stay valid until the bytes are released/committed; a receive view
 * ends at the next receive view, recv or close, a send view at the next
 * send view, send or close: after that the memory may be reused and must
 * not be touched, and releasing/committing from the old view is refused.
 * A view that is never released costs nothing (close while viewed is fine;
 * the bytes just stay in the ring, or are never sent).
 *
 * Blocking: a view waits like recv/send (timeouts, MOAT_OPT_NONBLOCK):
 * for at least one readable byte / one byte of send room; it returns
 * MOAT_E_AGAIN when that does not come in time.
 * TCP only: a UDP socket returns MOAT_E_NOTSUP (datagrams keep their
 * record framing in the ring; use send/recv).
 */
struct moat_iov {
    void *base;
    size_t len;
};

/*
 * Readable bytes, in place: fills @p v[0..*n-1] (*n is 1 or 2, or 0 with
 * return 0 at end of stream, like recv's got == 0). The application may
 * read but not write these spans. Nothing is consumed until
 * moat_sock_recv_release. Returns 0, MOAT_E_AGAIN, MOAT_E_NOTCONN,
 * MOAT_E_NOTSUP (UDP), a pending error.
 */
int moat_sock_recv_view(struct moat_stack *st, moat_sock_t s, struct moat_iov v[2],
                        unsigned *n);

/*
 * Consume the first @p nbytes of the last receive view (in one call or
 * several, never more than was viewed in total): the ring space goes back
 * to the network domain, which may open the window, exactly as after recv.
 * Returns 0, MOAT_E_INVAL (more than viewed and not yet released; nothing
 * changes), MOAT_E_NOTSUP (UDP).
 */
int moat_sock_recv_release(struct moat_stack *st, moat_sock_t s, size_t nbytes);

/*
 * Free send-ring space, in place: fills @p v[0..*n-1] (*n is 1 or 2) with
 * writable spans, at most what send would accept now (SNDBUF and the
 * network domain's send limit). Nothing is sent until
 * moat_sock_send_commit. Errors as moat_sock_send, plus MOAT_E_NOTSUP (UDP).
 */
int moat_sock_send_view(struct moat_stack *st, moat_sock_t s, struct moat_iov v[2],
                        unsigned *n);

/*
 * Send the first @p nbytes written into the last send view (in one call
 * or several, never more than was viewed in total). Returns 0,
 * MOAT_E_INVAL (more than viewed and not yet committed; nothing changes),
 * MOAT_E_PIPE (shut down for writing or hung up since the view; nothing
 * is sent), MOAT_E_NOTSUP (UDP).
 */
int moat_sock_send_commit(struct moat_stack *st, moat_sock_t s, size_t nbytes);

enum moat_shut { MOAT_SHUT_RD = 1, MOAT_SHUT_WR = 2, MOAT_SHUT_RDWR = 3 };
/* TCP: stop reading and/or writing (a FIN follows the queued data).
 * Returns 0, MOAT_E_NOTCONN. */
int moat_sock_shutdown(struct moat_stack *st, moat_sock_t s, int how);

/*
 * Release the handle. TCP: queued data is still sent and the connection
 * closed gracefully in the background (see MOAT_OPT_LINGER_MS).
 * Returns 0 (the handle is gone whatever happens after). The call does
 * not wait for the network domain: it is served before any later request
 * (so a new socket or a bind of the same port sees it done), and an error
 * it might get is counted in moat_stats.app_ctl_posted_errors.
 */
int moat_sock_close(struct moat_stack *st, moat_sock_t s);

/* TCP: reset the connection (RST) and release the handle. Returns 0. */
int moat_sock_abort(struct moat_stack *st, moat_sock_t s);

/* Set / get an option (enum moat_opt). Returns 0, MOAT_E_NOTSUP, MOAT_E_RANGE. */
int moat_sock_setopt(struct moat_stack *st, moat_sock_t s, int opt, int64_t value);
int moat_sock_getopt(struct moat_stack *st, moat_sock_t s, int opt, int64_t *value);

/* Local and remote addresses (either pointer may be NULL). */
int moat_sock_name(struct moat_stack *st, moat_sock_t s, struct moat_addr *local,
                   struct moat_addr *remote);

/* Readiness for moat_poll. */
#define MOAT_POLLIN   0x01u  /* data, a datagram, a connection to accept, or end of stream */
#define MOAT_POLLOUT  0x02u  /* send space; or a non-blocking connect completed */
#define MOAT_POLLERR  0x04u  /* an error is pending (always reported) */
#define MOAT_POLLHUP  0x08u  /* connection closed both ways or reset (always reported) */
#define MOAT_POLLRDHUP 0x10u /* peer sent FIN */
#define MOAT_POLLNVAL 0x20u  /* bad handle (always reported) */

struct moat_pollfd {
    moat_sock_t sock;
    uint16_t events;   /* what to wait for */
    uint16_t revents;  /* what is ready (written by moat_poll) */
};

/*
 * Wait until one of @p n sockets is ready or @p timeout_ms passes
 * (-1 = forever, 0 = just look). Writes the ready count to @p nready
 * (may be NULL). Returns 0 or MOAT_E_DEAD.
 */
int moat_poll(struct moat_stack *st, struct moat_pollfd *fds, unsigned n,
              int timeout_ms, unsigned *nready);

/*
 * Event-driven readiness (like epoll, level-triggered): register the
 * sockets once with moat_watch, then moat_poll_ready returns only the
 * watched sockets that are ready. Its cost is proportional to the sockets
 * whose state changed since the last call (the network domain marks them
 * in the socket region) plus the ones it reported last time, not to the
 * sockets the application holds; 10,000 idle connections cost nothing.
 *
 * moat_watch: watch @p h for @p events (MOAT_POLLIN, MOAT_POLLOUT,
 * MOAT_POLLRDHUP; MOAT_POLLERR and MOAT_POLLHUP are always reported);
 * @p events 0 stops watching. Calling it again replaces the events and
 * @p user (returned with every report, e.g. the application's connection).
 * A socket is watched until moat_watch(.., 0, ..) or until it is closed;
 * a new socket (moat_sock_open, moat_sock_accept) starts unwatched.
 * Returns 0, MOAT_E_INVAL (st NULL or unknown event bits),
 * MOAT_E_BADHANDLE, or the stack's failure code (MOAT_E_DEAD, MOAT_E_PEER).
 */
int moat_watch(struct moat_stack *st, moat_sock_t h, uint16_t events, void *user);

struct moat_event {
    moat_sock_t sock;
    uint16_t revents;  /* MOAT_POLL* that hold now (within the watched events) */
    uint16_t pad;
    void *user;        /* as given to moat_watch */
};

/*
 * Wait until at least one watched socket is ready or @p timeout_ms passes
 * (-1 = forever, 0 = just look); write up to @p max ready sockets to
 * @p out and their count to @p nready (may be NULL; 0 on timeout).
 * Level-triggered: a socket stays reported while it is ready (e.g. until
 * its receive ring is drained); when more than @p max are ready the
 * others come first next time. Calls from several threads are serialised.
 * Returns 0, MOAT_E_INVAL (st NULL, out NULL, or max 0), or the stack's
 * failure code (MOAT_E_DEAD, MOAT_E_PEER).
 */
int moat_poll_ready(struct moat_stack *st, struct moat_event *out, unsigned max,
                    int timeout_ms, unsigned *nready);

#ifdef __cplusplus
}
#endif
#endif
