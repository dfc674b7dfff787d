/* SPDX-License-Identifier: MIT */
/*
 * A polled driver for the SMSC LAN9118 Ethernet controller (the MPS2
 * boards' MAC+PHY, modelled by QEMU at 0x40200000) behind
 * include/moat/link.h.
 *
 * Polled: the main loop asks the RX status FIFO on every pass and moves
 * frames only there, so the driver shares no state with an interrupt
 * handler (the core must never be called from one anyway). The receive
 * interrupt (IRQ 13) serves only to end the loop's sleep: the link's arm
 * op enables it before the loop sleeps, lan9118_irq disables it again.
 * Without it the loop would still wake at every 1 ms SysTick; with it a
 * frame is taken as soon as it arrives. The chip's FIFO (about 10 KiB of
 * receive buffer in QEMU's model, 16 KiB on the real part) absorbs what
 * arrives while the loop is busy.
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
#define LAN9118_IRQ       13u       /* the AN385's Ethernet interrupt line */
#define LAN9118_MAX_FRAME 1536u   /* 1514-byte frame + 4-byte FCS, rounded */

struct lan9118 {
    struct moat_link link;        /* first: the core sees only this */
    uintptr_t base;
    uint8_t rx_held;              /* rx_buf is lent out (rx_acquire..rx_release) */
    uint8_t tx_held;              /* tx_buf is lent out (tx_acquire..tx_commit) */
    uint16_t tx_tag;              /* packet tag of the next frame (TX command B) */
    /* Counters (the UART key s prints them, main.c). */
    uint32_t rx_frames, rx_bad, tx_frames, tx_busy, tx_errors;
    _Alignas(4) uint8_t rx_buf[LAN9118_MAX_FRAME];
    _Alignas(4) uint8_t tx_buf[LAN9118_MAX_FRAME];
};

/* Reset the chip at @p base, read its MAC address (QEMU: -nic ...,mac=),
 * and enable the transmitter and receiver (own address and broadcast
 * only). Returns 0, or MOAT_E_IO if no LAN9118 answers there or it does
 * not come out of reset. */
int lan9118_init(struct lan9118 *d, uintptr_t base);

/* The IRQ 13 handler (startup.c's vector table): disables the receive
 * interrupt again and returns; the loop does the rest. Only for the chip
 * at LAN9118_BASE. */
void lan9118_irq(void);

#endif
