/* SPDX-License-Identifier: MIT */
/*
 * The link-device contract that ports implement (TAP, shared-memory wire,
 * a microcontroller's MAC, the ring link of the factored backends).
 *
 * The network domain drives a link with one frame at a time in each
 * direction: acquire a buffer, use it, then commit or release it. A frame
 * handed out by rx_acquire is borrowed until rx_release; a buffer from
 * tx_acquire is ours until tx_commit (which sends it; len 0 abandons it).
 * flush() ends a batch: a link that batches (rings) notifies its peer there.
 * Links never call back into the stack.
 *
 * Received frames may carry flags (moat_link.rx_flags, MOAT_LINK_RX_*):
 * what the link driver established about the frame from metadata it read
 * and validated itself (a TAP's virtio-net header, a ring descriptor).
 * A frame may then be larger than mtu + 14: a device with receive offload
 * hands up coalesced TCP segments of up to 64 KiB, which the core takes
 * whole (the receive window still bounds what it accepts).
 */
#ifndef MOAT_LINK_H
#define MOAT_LINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct moat_link;

struct moat_link_ops {
    /* Next received frame: 0, or MOAT_E_AGAIN when none is waiting. */
    int (*rx_acquire)(struct moat_link *l, const uint8_t **frame, size_t *len);
    void (*rx_release)(struct moat_link *l);
    /* A buffer of at least mtu + 14 bytes: 0, or MOAT_E_AGAIN/NOBUFS. */
    int (*tx_acquire)(struct moat_link *l, uint8_t **buf, size_t *cap);
    /* Send the acquired buffer's first @p len bytes (0: abandon it).
     * Returns 0, MOAT_E_AGAIN (the device's queue is full: the frame was
     * not sent; TCP holds its data back and tries again shortly) or
     * MOAT_E_IO; the buffer is given back either way. */
    int (*tx_commit)(struct moat_link *l, size_t len);
    /* End of a batch of transmissions. May be NULL. */
    int (*flush)(struct moat_link *l);
    /* A file descriptor that polls readable when frames may be waiting,
     * or -1 (the caller then polls the link periodically). May be NULL. */
    int (*wait_fd)(struct moat_link *l);
    /* Microseconds until a held-back frame becomes receivable, or -1.
     * May be NULL. */
    int64_t (*next_due_us)(struct moat_link *l, uint64_t now_us);
    /* Before sleeping: arm the doorbell (peer should notify); returns
     * nonzero if frames arrived meanwhile (then do not sleep). May be NULL. */
    int (*arm)(struct moat_link *l);
    /* Release everything the link holds. Takes @p l. */
    void (*close)(struct moat_link *l);
    /* Send the acquired buffer's first @p len bytes as one TCP/IPv4 GSO
     * frame for the device to cut into @p gso_size-byte segments (IP
     * length and header checksum set for the whole frame, the TCP
     * checksum field holding the pseudo-header sum). Returns as
     * tx_commit; MOAT_E_IO for a frame the link refuses. May be NULL (the
     * link takes only plain frames): a TAP with offloads has it, and the
     * factored backends' link domain uses it to write the 64 KiB frames
     * the net domain built. */
    int (*tx_commit_gso)(struct moat_link *l, size_t len, uint16_t gso_size);
};

struct moat_link {
    const struct moat_link_ops *ops;
    uint16_t mtu;          /* largest IP datagram the link carries */
    uint8_t  mac[6];       /* device MAC, if the link has one */
    uint8_t  has_mac;
    /* Flags of the frame the last successful rx_acquire handed out
     * (MOAT_LINK_RX_*); a link that knows nothing more about its frames
     * leaves it 0 and the core checks everything itself. */
    uint32_t rx_flags;
    /* Split receive (the factored backends' link region): the consumer
     * sets rx_split to 1 if it hands frames to mcore_input_split. A link
     * that honours it may then return from rx_acquire only the frame's
     * headers (frame, len: private memory) and leave its TCP payload in
     * rx_pay (rx_pay_len bytes, memory the device side may still write,
     * valid until rx_release); else rx_pay is NULL. Links that never
     * split ignore rx_split and leave rx_pay NULL (zero-initialised). */
    uint8_t rx_split;
    const uint8_t *rx_pay;
    size_t rx_pay_len;
};

/* The TCP or UDP checksum of this unfragmented IPv4 frame need not be
 * checked: the device vouched for it (virtio-net DATA_VALID) or the frame
 * was made by the host itself with the checksum left to the device
 * (NEEDS_CSUM; the field then holds only a partial sum). The IPv4 header
 * checksum is still checked. */
#define MOAT_LINK_RX_CSUM_OK 0x1u
/* The driver could not validate the frame's metadata (a malformed
 * virtio-net header): the core counts the frame as dropped
 * (MOAT_DROP_LINK_RX_BAD) and looks at nothing else in it. */
#define MOAT_LINK_RX_BAD     0x2u
#define MOAT_LINK_RX_KNOWN   (MOAT_LINK_RX_CSUM_OK | MOAT_LINK_RX_BAD)

#ifdef __cplusplus
}
#endif
#endif
