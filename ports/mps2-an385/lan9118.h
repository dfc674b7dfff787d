/* SPDX-License-Identifier: MIT */
/*
 * A polled driver for the SMSC LAN9118 Ethernet controller (the MPS2
 * boards' MAC+PHY, modelled by QEMU at 0x40200000) behind
 * include/moat/link.h.
 *
 * Polled, not interrupt-driven: the main loop asks the RX status FIFO on
 * every pass and sleeps at most one SysTick (1 ms) when idle. That keeps
 * the driver free of shared state with an interrupt handler (the core
 * must never be called from one anyway) at the cost of up to 1 ms of
 * receive latency when idle; the chip's FIFO (about 10 KiB of receive
 * buffer in QEMU's model, 16 KiB on the real part) absorbs what arrives
 * meanwhile. Moving to interrupts means enabling RSFL_INT and IRQ 13 and
 * letting the handler only wake the loop.
 *
 * The LAN9118 has no DMA: frames move through 32-bit FIFO ports, so
 * rx_acquire copies the next frame into one static buffer (held until
 * rx_release) and tx_commit writes the one transmit buffer into the TX
 * FIFO. Static memory only: this structure is all the driver uses.
 */
#ifndef MPS2_LAN9118_H
#define MPS2_LAN9118_H

#include <stdint.h>

#include "moat/link.h"

#define LAN9118_BASE      0x40200000u
#define LAN9118_MAX_FRAME 1536u   /* 1514-byte frame + 4-byte FCS, rounded */

struct lan9118 {
    struct moat_link link;        /* first: the core sees only this */
    uintptr_t base;
    uint8_t rx_held;              /* rx_buf is lent out (rx_acquire..rx_release) */
    uint8_t tx_held;              /* tx_buf is lent out (tx_acquire..tx_commit) */
    uint16_t tx_tag;              /* packet tag of the next frame (TX command B) */
    /* Counters, printed at start-up and exit. */
    uint32_t rx_frames, rx_bad, tx_frames, tx_busy, tx_errors;
    _Alignas(4) uint8_t rx_buf[LAN9118_MAX_FRAME];
    _Alignas(4) uint8_t tx_buf[LAN9118_MAX_FRAME];
};

/* Reset the chip at @p base, read its MAC address (QEMU: -nic ...,mac=),
 * and enable the transmitter and receiver (own address and broadcast
 * only). Returns 0, or MOAT_E_IO if no LAN9118 answers there or it does
 * not come out of reset. */
int lan9118_init(struct lan9118 *d, uintptr_t base);

#endif
