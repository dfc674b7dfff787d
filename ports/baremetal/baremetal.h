/* SPDX-License-Identifier: MIT */
/*
 * The bare-metal port skeleton: a stub link (stands in for a MAC driver),
 * a stub randomness source, and the example main loop. Everything here is
 * freestanding C11 (stdint/stddef/string only) and holds no global state:
 * the board's code owns the structures, usually as statics.
 *
 * Not part of the hosted library; built only by ports/baremetal/baremetal.cmake
 * as a compile check. A real port copies these files and fills them in.
 */
#ifndef MOAT_BAREMETAL_H
#define MOAT_BAREMETAL_H

#include <stddef.h>
#include <stdint.h>

#include "moat/link.h"

/* Largest frame the stub MAC handles: a 1500-byte MTU plus the
 * Ethernet header. A real driver sizes its DMA buffers the same way. */
#define STUB_MAX_FRAME (1500u + 14u)

/* A link with nothing to receive whose transmissions vanish: replace the
 * bodies of its ops with the MAC's descriptor handling. */
struct stub_link {
    struct moat_link link;      /* first: the core sees only this */
    uint8_t tx_buf[STUB_MAX_FRAME];
    uint8_t tx_out;             /* a tx buffer is handed out */
    uint32_t tx_dropped;        /* frames "sent" (dropped) */
};

/* Set up @p s for a MAC with address @p mac and @p mtu (<= 1500).
 * Returns 0 or MOAT_E_INVAL. */
int stub_link_init(struct stub_link *s, const uint8_t mac[6], uint16_t mtu);

/* Randomness: a real port reads its TRNG here. The stub is a xorshift
 * generator seeded by the caller (NOT unpredictable: TCP ISNs and ports
 * need a real entropy source in production). Matches mcore_env.rng with
 * @p ctx pointing to a struct stub_rng. */
struct stub_rng {
    uint64_t state;
};
void stub_rng_init(struct stub_rng *r, uint64_t seed);
void stub_rng_fill(void *ctx, void *buf, size_t len);

/*
 * The example main loop (example_loop.c): sets up a core over the stub
 * link and runs @p max_iterations passes of receive -> input -> poll ->
 * sleep on a simulated clock. Writes the number of frames the core sent
 * (into the stub, which drops them) to @p frames_sent if non-NULL.
 * Returns 0, or the MOAT_E_* code of a failed setup step.
 */
int moat_example_run(unsigned max_iterations, uint32_t *frames_sent);

#endif
