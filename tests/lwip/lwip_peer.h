/* SPDX-License-Identifier: MIT */
/*
 * lwIP as a remote stack for the interop test: one lwIP interface on one
 * end of a moat shared-memory wire, driven by a thread of its own, with a
 * few small lwIP applications (ping, UDP echo, TCP source/sink/echo).
 *
 * This header is deliberately free of lwIP types, so the test cases never
 * include lwIP headers (whose compile-time options must match the
 * packaged library's exactly, see lwip_peer.c) next to anything else.
 * Addresses are IPv4 in host byte order; errors are MOAT_E_* codes.
 *
 * Built as a shared library of its own that only liblwip and libc satisfy:
 * moat's core has global functions named like lwIP's (tcp_output, ...),
 * so a reference from an object linked together with libmoat.a would bind
 * to moat's. The link arrives as a struct moat_link (function pointers),
 * so nothing here needs a moat symbol.
 *
 * Threads: every function here may be called from the test's thread while
 * the pump thread runs; they take the peer's lock around every lwIP call.
 * One peer per process (lwIP keeps its state in globals).
 */
#ifndef MOAT_TEST_LWIP_PEER_H
#define MOAT_TEST_LWIP_PEER_H

#include <stdint.h>

#include "moat/link.h"
#include "pattern.h"

struct lwp;

/* Attach lwIP to @p link (taken: closed by lwp_stop, or here on failure)
 * with @p ip/@p prefix and start its thread. Returns 0 or a MOAT_E_* code;
 * MOAT_E_NOTSUP means lwIP's symbols bind to someone else's (see
 * tests.cmake). */
int lwp_start(struct moat_link *link, uint32_t ip, uint8_t prefix, struct lwp **out);
/* Route off-link destinations via @p gw (host byte order; 0: none, the
 * default). For a peer behind a router, e.g. bench/impaired.sh. */
void lwp_set_gateway(struct lwp *p, uint32_t gw);
/* Stop the thread, abort what is left, close the link. Takes @p p. */
void lwp_stop(struct lwp *p);

struct lwp_counters {
    uint64_t frames_in;   /* frames handed to lwIP */
    uint64_t frames_out;  /* frames lwIP sent */
    uint64_t tx_dropped;  /* frames lwIP sent that the wire refused (ring full) */
    uint64_t rx_nomem;    /* frames dropped: no pbuf */
    uint64_t max_frame_in;  /* longest frame handed to lwIP (Ethernet bytes) */
    uint64_t max_frame_out; /* longest frame lwIP sent */
};
void lwp_counters(struct lwp *p, struct lwp_counters *out);

struct lwp_ping_result {
    unsigned sent, good, bad;   /* bad: a reply whose payload differs */
    uint64_t rtt_us_sum;        /* over the good replies */
};
/* Send @p count ICMP echo requests with @p payload bytes to @p dst one
 * after the other, waiting up to @p timeout_ms for each reply. */
int lwp_ping(struct lwp *p, uint32_t dst, unsigned count, unsigned payload,
             unsigned timeout_ms, struct lwp_ping_result *out);

/* UDP echo service on @p port. */
int lwp_udp_echo(struct lwp *p, uint16_t port);

/* TCP applications. Each returns a handle >= 0 for lwp_wait(), or a
 * negative MOAT_E_* code.
 *   source: connect to dst:port, send @p total bytes of pattern @p seed,
 *           then shut down the sending side (FIN) and close when the peer's
 *           FIN arrives.
 *   sink:   listen on @p port, accept one connection, check the bytes
 *           against pattern @p seed, close when the peer's FIN arrives.
 *   echo:   listen on @p port, accept one connection, send back every
 *           byte, close after the peer's FIN once all is echoed. */
int lwp_tcp_source(struct lwp *p, uint32_t dst, uint16_t port, uint64_t seed, uint64_t total);
int lwp_tcp_sink(struct lwp *p, uint16_t port, uint64_t seed);
int lwp_tcp_echo(struct lwp *p, uint16_t port);
/* A sink that stops opening its receive window (no tcp_recved) once
 * @p hold_at bytes have arrived, until lwp_sink_resume(): lwIP's window
 * closes and the sender must probe it. */
int lwp_tcp_sink_hold(struct lwp *p, uint16_t port, uint64_t seed, uint64_t hold_at);
void lwp_sink_resume(struct lwp *p, int h);
/* Since when (µs, CLOCK_MONOTONIC) a holding sink has announced a zero
 * window, and how many frames lwIP received since then. Returns 0, or
 * MOAT_E_AGAIN while the window has not closed yet. */
int lwp_sink_zero_window(struct lwp *p, int h, uint64_t *since_us, uint64_t *frames);

#define LWP_F_CONNECTED 0x01u   /* established (connected or accepted) */
#define LWP_F_SENT_ALL  0x02u   /* source: all bytes queued, FIN requested */
#define LWP_F_PEER_FIN  0x04u   /* the peer's FIN arrived (end of stream) */
#define LWP_F_ERR       0x08u   /* lwIP reported an error (err below) */

struct lwp_conn_result {
    unsigned flags;          /* LWP_F_* */
    int err;                 /* lwIP err_t of the error callback, or 0 */
    uint64_t bytes;          /* received (sink/echo) */
    uint64_t hash;           /* FNV-1a of the received bytes */
    uint64_t mismatch_at;    /* sink: first offset differing from the pattern */
    uint64_t sent;           /* source/echo: bytes handed to tcp_write */
    uint64_t acked;          /* source: bytes the peer acknowledged */
};

/* Wait until every flag of @p want is set, an error is reported, or
 * @p timeout_ms passes; copy the state to @p out either way.
 * Returns 0, MOAT_E_CONNRESET/CONNABORTED (lwIP error), MOAT_E_TIMEDOUT. */
int lwp_wait(struct lwp *p, int h, unsigned want, unsigned timeout_ms,
             struct lwp_conn_result *out);

/* Give handle @p h back (aborting its connection if still open), so
 * long runs of connections do not run out of handles. */
void lwp_release(struct lwp *p, int h);

/* Name of an lwIP err_t ("ERR_RST"). */
const char *lwp_errname(int err);

#endif
