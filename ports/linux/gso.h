/* SPDX-License-Identifier: MIT */
/*
 * Building one TCP/IPv4 GSO frame (up to 64 KiB, the virtio-net header's
 * TCPV4 kind) out of consecutive full-size segments of one connection, as
 * a device with TSO would take them. Used where frames leave moat for a
 * TAP with offloads: the TAP link itself (thread backend), and the net
 * side of the link ring in the factored backends, so that one 64 KiB
 * frame, not 45, crosses the ring and the link domain writes it whole.
 *
 * Owns the rules of what may join a GSO frame and how the finished frame
 * looks (IP length and header checksum set, the TCP checksum field holding
 * the pseudo-header sum for the device to complete). Does no I/O and keeps
 * no buffer of its own: the caller says where the frame is built.
 */
#ifndef MOAT_LINUX_GSO_H
#define MOAT_LINUX_GSO_H

#include <stddef.h>
#include <stdint.h>

#define MOAT_GSO_IP_MAX 65535u      /* IP total length of one GSO frame */

/* A segment that may be part of a GSO frame: IPv4 without options or
 * fragmentation, ACK set, payload present, no flag but ACK and PSH. */
struct moat_gso_seg {
    size_t hlen;                /* Ethernet + IP + TCP headers */
    size_t plen;                /* payload bytes */
    uint32_t seq;
    uint8_t flags;
};

/* The frame being built. */
struct moat_gso {
    uint8_t *frame;             /* where it is built (borrowed); room for
                                   14 + MOAT_GSO_IP_MAX bytes */
    size_t len;                 /* frame bytes so far; 0: none pending */
    size_t hlen;                /* Ethernet + IP + TCP header bytes */
    unsigned segs;
    uint16_t mss;               /* payload bytes of every segment but the last */
    uint32_t next;              /* sequence number the next segment must have */
    int closed;                 /* the last segment was short or pushed */
};

/* Nonzero if the @p len-byte frame @p f may start or join a GSO frame
 * (then @p sg describes it). */
int moat_gso_parse(const uint8_t *f, size_t len, struct moat_gso_seg *sg);

/* Append @p f (parsed as @p sg) if it continues the pending frame: its
 * headers match the first segment's except where they differ per segment
 * (IP length, id and checksum; TCP sequence number, checksum, PSH).
 * Returns 1 if it was taken (its payload copied), 0 if not. */
int moat_gso_append(struct moat_gso *g, const uint8_t *f, const struct moat_gso_seg *sg);

/* Start a pending frame with @p f (copied to g->frame, which the caller
 * set). */
void moat_gso_start(struct moat_gso *g, const uint8_t *f, size_t len,
                    const struct moat_gso_seg *sg);

/* End the pending frame: with several segments, set the IP total length
 * and header checksum and leave the pseudo-header sum in the TCP checksum
 * field (the device completes it), and return the segment size in
 * @p gso_size; a single segment goes as it was built (*gso_size = 0).
 * Returns the frame's length (0: none was pending); none is pending after. */
size_t moat_gso_finish(struct moat_gso *g, uint16_t *gso_size);

/* Check a finished GSO frame handed over by another domain before a device
 * is told to segment it: Ethernet + IPv4 (no options) + TCP, IP total
 * length = the frame, a whole TCP header and payload present, gso_size
 * nonzero. Returns the header length (Ethernet + IP + TCP), or 0. */
size_t moat_gso_check(const uint8_t *f, size_t len, uint16_t gso_size);

#endif
