/* SPDX-License-Identifier: MIT */
/*
 * Linux port: link drivers (TAP, shared-memory wire, pcap capture) and the
 * host hooks (clock, randomness). Used by the hosted backends and by tests;
 * not part of the freestanding core.
 */
#ifndef MOAT_LINUX_PORT_H
#define MOAT_LINUX_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "moat/link.h"
#include "moat/moat.h"

/* CLOCK_MONOTONIC in microseconds. */
uint64_t moat_host_now_us(void);
/* getrandom(); @p ctx unused. Matches mcore_env.rng. */
void moat_host_random(void *ctx, void *buf, size_t len);
/* madvise(MADV_REMOVE) of a freed slot's rings. Matches mcore_env.ring_release. */
void moat_host_ring_release(void *ctx, void *mem, size_t len);

/*
 * Open the existing TAP interface @p ifname (IFF_TAP | IFF_NO_PI,
 * non-blocking) and write the fd to @p fd_out.
 * Returns 0, MOAT_E_NODEV (no such interface: it is never created here),
 * MOAT_E_PERM (no CAP_NET_ADMIN), MOAT_E_INVAL (name too long), MOAT_E_IO.
 */
int moat_tap_open(const char *ifname, int *fd_out);

/*
 * The same, choosing the offloads: @p offload nonzero (what moat_tap_open
 * does) opens the device with the virtio-net header and asks for receive
 * offloads (checksum, TSO4) where the kernel offers them, falling back to
 * plain frames where it does not; 0 opens it with plain frames and turns
 * the device's offloads off. MOAT_TAP_OFFLOAD=0 or =1 in the environment
 * overrides @p offload. moat_tap_link finds out which mode the fd is in.
 */
int moat_tap_open_opts(const char *ifname, int offload, int *fd_out);

/* Nonzero if the TAP fd @p fd was opened with the virtio-net header
 * (offloads on): its frames may then be up to MOAT_TAP_FRAME_MAX bytes. */
int moat_tap_offloaded(int fd);

/* The largest frame a TAP link may hand up: an IPv4 datagram of 64 KiB
 * (receive offload) behind an Ethernet header with a VLAN tag. */
#define MOAT_TAP_FRAME_MAX (14u + 4u + 65535u)

/* A link over an open TAP fd (takes @p fd: closed by close()).
 * Returns 0 or MOAT_E_NOMEM. */
int moat_tap_link(int fd, uint16_t mtu, struct moat_link **out);

/*
 * Attach to the shared-memory wire at @p path: the first process (or
 * caller) to open it creates it and becomes end A, the second joins as
 * end B; a third attach fails with MOAT_E_ADDRINUSE. Frames this end
 * sends go through @p imp (borrowed; NULL = none).
 * Returns 0, MOAT_E_IO, MOAT_E_PERM, MOAT_E_ADDRINUSE, MOAT_E_NOMEM.
 */
int moat_wire_link(const char *path, const struct moat_impair *imp, uint16_t mtu,
                   struct moat_link **out);
/* Remove the wire's files at @p path (when both ends are done). */
void moat_wire_unlink(const char *path);

/* Wrap @p inner so every frame received and sent is written to the pcap
 * file @p path (takes @p inner; closing the wrapper closes it).
 * Returns 0, MOAT_E_IO, MOAT_E_NOMEM. */
int moat_pcap_link(struct moat_link *inner, const char *path, struct moat_link **out);

/* Build the link one interface config asks for (tap or wire, plus pcap).
 * Returns 0 or the errors above; MOAT_E_INVAL for NONE/CUSTOM. */
int moat_link_from_config(const struct moat_if_config *ifc, struct moat_link **out);

#endif
