/* SPDX-License-Identifier: MIT */
/*
 * Linux port, internal and test-facing additions to linux_port.h (which is
 * the agreed contract and stays unchanged): per-link counters, a clock hook
 * for the wire (virtual time in tests), and the shared-memory layout of the
 * wire file (so tests can play a hostile peer).
 *
 * Not a public API: nothing under include/ refers to it.
 */
#ifndef MOAT_LINUX_LINK_H
#define MOAT_LINUX_LINK_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/ring.h"
#include "linux_port.h"

/* Counters every Linux link keeps (fields a link does not use stay 0). */
struct moat_link_counters {
    uint64_t rx_frames, rx_bytes;    /* handed to the caller */
    uint64_t tx_frames, tx_bytes;    /* written to the device / ring */
    uint64_t rx_errors;              /* device read failed */
    uint64_t tx_errors;              /* device write failed */
    uint64_t tx_full;                /* dropped: device queue or ring full */
    uint64_t rx_bad;                 /* wire: slot from the peer rejected
                                        (length 0 or > slot, or impossible index) */
    uint64_t imp_lost, imp_dup, imp_reordered, imp_corrupted, imp_delayed;
    uint64_t notify_sent;            /* doorbells rung (wire) */
    uint64_t pcap_records;           /* records written (pcap wrapper) */
    uint64_t rx_bad_meta;            /* tap: frame with a malformed virtio-net
                                        header (handed up MOAT_LINK_RX_BAD) */
};

/*
 * Copy the counters of a link made by this port (tap, wire, or a pcap
 * wrapper: its own pcap_records plus the inner link's counters).
 * Returns 0 or MOAT_E_INVAL (not a Linux-port link).
 */
int moat_linux_link_counters(struct moat_link *l, struct moat_link_counters *out);

/*
 * Wire only: take "now" from @p now(@p ctx) instead of CLOCK_MONOTONIC
 * (deliver-at stamps on send, due checks on receive). For tests with
 * virtual time; both ends of a wire must use the same clock.
 * Returns 0 or MOAT_E_INVAL (not a wire link).
 */
int moat_wire_set_clock(struct moat_link *l, uint64_t (*now)(void *ctx), void *ctx);

/* Per-type helpers behind moat_linux_link_counters (MOAT_E_INVAL if @p l
 * is not of that type). */
int linux_tap_counters(struct moat_link *l, struct moat_link_counters *out);

/* TAP only: read the next frame straight into @p buf (@p cap bytes; a
 * frame longer than that is cut short), for a link domain that moves it
 * on without copying it again: the frame is at buf + *skip (its
 * virtio-net header before it in offload mode), *len bytes, its flags in
 * l->rx_flags. Returns 0, MOAT_E_AGAIN, MOAT_E_IO, or MOAT_E_INVAL (not a
 * TAP link: use rx_acquire). */
int linux_tap_rx_into(struct moat_link *l, uint8_t *buf, size_t cap, size_t *skip, size_t *len);

/* TAP in offload mode only: write the frame of @p len bytes at @p frame
 * where it lies -- a GSO frame of @p gso_size-byte segments, or with
 * @p gso_size 0 a plain frame -- for a link domain that holds it in a
 * buffer with @p room writable bytes before it: the virtio-net header goes
 * there and header and frame leave in one write(), with no copy. A GSO
 * frame is checked as tx_commit_gso checks it. Nothing is joined here: a
 * plain TCP segment goes out as it is (joining segments is the net
 * domain's job, linkring_net.c; tx_commit's own joining serves the thread
 * backend, where the TAP link is driven by the net domain itself).
 * Returns as tx_commit, or MOAT_E_INVAL (not a TAP in offload mode, or
 * too little room: use tx_acquire + tx_commit/tx_commit_gso). */
int linux_tap_tx_at(struct moat_link *l, uint8_t *frame, size_t room, size_t len,
                    uint16_t gso_size);

/* Tests: a TAP link in offload mode over any message-preserving fd (a
 * SOCK_SEQPACKET socketpair stands in for the device: one write = one
 * frame with its virtio-net header). Takes @p fd. */
int linux_tap_link_vnet(int fd, uint16_t mtu, struct moat_link **out);
int linux_wire_counters(struct moat_link *l, struct moat_link_counters *out);
int linux_pcap_counters(struct moat_link *l, struct moat_link_counters *out);

/* ---- the wire file ----------------------------------------------------
 *
 *   +---------------------------+ 0
 *   | struct wire_file_hdr      |  magic, version, geometry, attach word,
 *   |   dir[0]: A->B indices    |  per direction: ring indices (prod/cons
 *   |   dir[1]: B->A indices    |  on their own cache lines) + sleeping flag
 *   +---------------------------+ WIRE_HDR_SIZE
 *   | A->B slots [WIRE_SLOTS]   |  struct wire_slot, WIRE_SLOT_STRIDE each
 *   | B->A slots [WIRE_SLOTS]   |
 *   +---------------------------+ WIRE_FILE_SIZE
 *
 * Ring indices count slots (free-running, moat_ring discipline with the
 * data pointer unused). The geometry is a compile-time constant: a wire
 * whose header disagrees is re-initialised by the first opener, and is
 * never trusted by an attached end (each end uses its own constants).
 */
#define WIRE_MAGIC        0x4552494du   /* "MIRE" little-endian: moat wire */
#define WIRE_VERSION      1u
#define WIRE_SLOTS        256u          /* per direction, power of two */
#define WIRE_SLOT_DATA    9216u         /* largest frame: 9000-byte MTU + 14, rounded */
#define WIRE_MAX_MTU      (WIRE_SLOT_DATA - 14u - 4u)

struct wire_slot {
    _Atomic uint32_t len;     /* bytes of data; 0 or > WIRE_SLOT_DATA is rejected */
    uint32_t pad;
    _Atomic uint64_t due_us;  /* deliver-at (receiver's clock == sender's), 0 = now */
    uint8_t data[WIRE_SLOT_DATA];
};
#define WIRE_SLOT_STRIDE  sizeof(struct wire_slot)

struct wire_dir_sh {
    struct moat_ring_sh idx;           /* prod by the sender, cons by the receiver */
    _Atomic uint32_t rx_sleeping;      /* receiver armed its doorbell (see wire.c) */
    uint8_t pad[MOAT_CACHELINE - 4];
};

enum { WIRE_END_A = 0, WIRE_END_B = 1 };

struct wire_file_hdr {
    uint32_t magic;
    uint32_t version;
    uint32_t slots;
    uint32_t slot_stride;
    uint64_t size;
    _Atomic uint32_t attach;           /* bit 0: end A attached, bit 1: end B */
    _Atomic int32_t pid[2];            /* process of each end (stale detection) */
    uint8_t pad0[MOAT_CACHELINE - 36];
    struct wire_dir_sh dir[2];         /* [0] A->B, [1] B->A */
};

#define WIRE_HDR_SIZE   ((sizeof(struct wire_file_hdr) + 4095u) & ~(size_t)4095u)
#define WIRE_FILE_SIZE  (WIRE_HDR_SIZE + 2u * WIRE_SLOTS * WIRE_SLOT_STRIDE)

/* Slot @p i of direction @p dir in a mapped wire file at @p base. */
static inline struct wire_slot *wire_slot_at(void *base, unsigned dir, uint32_t i)
{
    return (struct wire_slot *)((uint8_t *)base + WIRE_HDR_SIZE +
                                ((size_t)dir * WIRE_SLOTS + (i & (WIRE_SLOTS - 1u))) *
                                    WIRE_SLOT_STRIDE);
}

#endif
