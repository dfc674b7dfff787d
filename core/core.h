/* SPDX-License-Identifier: MIT */
/*
 * The protocol core's entry points: what a network domain (a thread, the
 * moat-netd process, a bare-metal main loop) or a unit test calls.
 *
 * The core is sans-IO: frames come in through mcore_input(), go out through
 * the links' tx_acquire/tx_commit, time is an argument, and mcore_poll()
 * returns the next deadline. All state lives in the caller-supplied memory
 * block; there are no globals, so several cores run in one process.
 *
 * The core serves the application through a socket region laid out as in
 * core/boundary.h: it consumes requests from the ctl ring and answers on the
 * evt ring (mcore_poll does this), moves data through the per-socket rings,
 * and keeps the per-socket status words.
 */
#ifndef MOAT_CORE_H
#define MOAT_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "moat/link.h"
#include "moat/moat.h"
#include "boundary.h"

#define MCORE_NEVER UINT64_MAX

struct mcore;

struct mcore_env {
    /* One link per configured interface (borrowed; the core calls only
     * tx_acquire / tx_commit on them). */
    struct moat_link *links[MOAT_MAX_IFS];
    /* Randomness for ISNs, ports, IP ids (required). */
    void (*rng)(void *ctx, void *buf, size_t len);
    void *rng_ctx;
    /* The socket region (required) and its layout (copied privately). */
    void *region;
    struct moat_layout layout;
    /* Optional: a freed slot's ring data (@p mem, @p len bytes of the
     * region) will not be read before the slot is allocated again, so a
     * hosted port may give its pages back to the system (rings are used
     * all the way round as their indices wrap, so a slot that once moved a
     * ring's worth of data would otherwise keep the whole ring resident).
     * NULL: keep them. Called only for slots that were in use. */
    void (*ring_release)(void *ctx, void *mem, size_t len);
    void *ring_release_ctx;
    /* Tests only (the unit fixture): no random delay before the first
     * MLD report, DAD solicitation and router solicitation (nd.c), so
     * tests written against exact timing see them at the first poll.
     * Hosts leave it 0. */
    uint8_t nd_no_start_delay;
    /* Tests only (the unit fixtures): every initial sequence number the
     * core picks is tcp_iss_fixed instead of RFC 6528's keyed hash, so a
     * test can place the ISS next to 2^32 and check wrap-around. Not in
     * struct moat_config: an application has no business choosing its
     * ISNs. Hosts leave it 0. */
    uint8_t tcp_iss_hook;
    uint32_t tcp_iss_fixed;
};

/* Bytes of memory mcore_init needs for @p cfg (0 if cfg is invalid). */
size_t mcore_mem_size(const struct moat_config *cfg);

/*
 * Initialise a core in @p mem (borrowed for the core's lifetime; aligned
 * to 64 bytes, mcore_mem_size() bytes). Borrows @p cfg and @p env (copied).
 * Returns 0, MOAT_E_INVAL or MOAT_E_NOMEM (mem too small).
 */
int mcore_init(void *mem, size_t len, const struct moat_config *cfg,
               const struct mcore_env *env, struct mcore **out);

/* Hand one received frame of interface @p ifx to the core. Borrows
 * @p frame (nothing of it is kept after the call). */
void mcore_input(struct mcore *c, unsigned ifx, const uint8_t *frame,
                 size_t len, uint64_t now_us);

/* The same, with what the link established about the frame (its
 * moat_link.rx_flags, MOAT_LINK_RX_*): CSUM_OK skips the TCP/UDP checksum
 * of an unfragmented IPv4 datagram, BAD drops the frame (counted). The
 * frame may be larger than the interface MTU (coalesced TCP segments from
 * a device with receive offload); only the network domain's link driver
 * may decide these flags, never bytes of the frame. */
void mcore_input_flags(struct mcore *c, unsigned ifx, const uint8_t *frame,
                       size_t len, uint32_t flags, uint64_t now_us);

/*
 * Input without copying a large TCP payload twice (the factored backends'
 * link region, docs/backends-compare.md). A frame of @p len bytes whose
 * first @p avail bytes the caller has copied into private memory @p hdr:
 * returns where its headers end (Ethernet + IPv4 + TCP) if it may be
 * handed to mcore_input_split split there, else 0. Only an unfragmented
 * IPv4 TCP datagram filling the frame exactly (no padding), with
 * @p flags exactly MOAT_LINK_RX_CSUM_OK (the link's descriptor vouched for
 * the TCP checksum, so the core never needs the payload to decide
 * anything) and at least one payload byte qualifies. Reads only hdr.
 */
size_t mcore_split_hlen(const uint8_t *hdr, size_t avail, size_t len, uint32_t flags);

/*
 * mcore_input_flags for a frame in two pieces: @p hdr (@p hlen bytes, the
 * headers, private to the caller: everything the core decides on) and
 * @p pay (@p plen bytes, the TCP payload, which may lie in memory another
 * domain can still write). The core reads each payload byte exactly once,
 * copying it into the socket's receive ring; no decision depends on it.
 * @p hlen must be what mcore_split_hlen(hdr, hlen, hlen + plen, flags)
 * returns; otherwise the frame is dropped (MOAT_DROP_LINK_RX_BAD) and
 * MOAT_E_INVAL returned. Borrows both pieces for the call only.
 */
int mcore_input_split(struct mcore *c, unsigned ifx, const uint8_t *hdr, size_t hlen,
                      const uint8_t *pay, size_t plen, uint32_t flags, uint64_t now_us);

/*
 * Do everything that is due: requests on the ctl ring, data waiting in
 * send rings, window updates for rings the application drained, timers.
 * Returns the time (us) at which it wants to be called again, or
 * MCORE_NEVER. Call it after every batch of input too.
 */
uint64_t mcore_poll(struct mcore *c, uint64_t now_us);

/* Socket slots the core has ever allocated are all below this index
 * (it only grows). A network domain may limit scans of the region's
 * socket table to [0, span): the application holds no handle above it. */
uint32_t mcore_sock_span(const struct mcore *c);

/* Nonzero if anything the application may wait for changed since the
 * last call (the caller then bumps app_seq and wakes waiters). Clears it. */
int mcore_take_app_wakeup(struct mcore *c);

/* Abort every connection and free every slot (stack shutdown). */
void mcore_shutdown(struct mcore *c, uint64_t now_us);

/* A copy of the counters. */
void mcore_stats(const struct mcore *c, struct moat_stats *out);

/* Static ARP entries (tests, and ports that want them). */
int mcore_arp_add_static(struct mcore *c, unsigned ifx, uint32_t ip, const uint8_t mac[6]);
/* A permanent IPv6 neighbour entry (no NUD traffic for it; tests, static
 * setups). Returns 0, MOAT_E_INVAL or MOAT_E_NOMEM (cache full of static
 * entries). */
int mcore_nd_add_static(struct mcore *c, unsigned ifx, const uint8_t ip[16], const uint8_t mac[6]);
int mcore_arp_remove(struct mcore *c, unsigned ifx, uint32_t ip);

/* Send a gratuitous ARP on every interface (done once at start too). */
void mcore_arp_announce(struct mcore *c, uint64_t now_us);

#endif
