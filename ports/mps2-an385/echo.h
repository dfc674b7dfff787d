/* SPDX-License-Identifier: MIT */
/*
 * The echo service of the board image (what examples/moat-echo does on
 * Linux): UDP datagrams go back to their sender, TCP connections get back
 * exactly the bytes they sent and are closed after the peer's FIN, on one
 * port (7). Several TCP connections at once, up to ECHO_CONNS.
 *
 * There is no hosted client library on bare metal (app/ needs
 * threads and futexes), so this is the application side of the socket
 * region written for a single loop: requests go on the ctl ring and the
 * core answers them in the same mcore_poll call, data moves ring to ring
 * (receive ring of a socket -> its send ring) through a small bounce
 * buffer. It trusts the core (same image, same memory) but still checks
 * every index and record length it reads, as the hosted client does.
 */
#ifndef MPS2_ECHO_H
#define MPS2_ECHO_H

#include <stdint.h>

#include "core/core.h"

#define ECHO_CONNS 4u

struct echo_sock {
    uint32_t h;                   /* handle; 0: unused */
    struct moat_ring rx, tx;      /* our side: consumer of rx, producer of tx */
};

struct echo {
    struct mcore *core;
    void *region;
    struct moat_layout lay;
    struct moat_ring ctl, evt;    /* producer of ctl, consumer of evt */
    uint32_t next_id;
    struct echo_sock udp, lst;
    struct echo_sock conn[ECHO_CONNS];
    uint32_t accepted, closed, udp_echoed, errors;
};

/* Open the UDP socket and the TCP listener on @p port. @p region and
 * @p lay are the socket region the core was initialised with. Returns 0
 * or the MOAT_E_* of the request that failed. */
int echo_start(struct echo *e, struct mcore *core, void *region,
               const struct moat_layout *lay, uint16_t port, uint64_t now_us);

/* Serve what is ready (datagrams, new connections, stream data, closes).
 * Returns nonzero if it moved anything (the loop then polls the core
 * again before sleeping). */
int echo_serve(struct echo *e, uint64_t now_us);

#endif
