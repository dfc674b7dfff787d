/* SPDX-License-Identifier: MIT */
/*
 * LAN9118 link driver (polled, the receive interrupt only wakes the
 * loop; see lan9118.h for the why). Register
 * offsets and bit meanings are from the SMSC LAN9118 datasheet: the
 * system control and status registers (CSR) are memory mapped, the MAC's
 * own registers are reached indirectly through MAC_CSR_CMD/MAC_CSR_DATA.
 *
 * Receive: RX_FIFO_INF says how many status words wait; each status word
 * gives one frame's length (including its 4-byte FCS) and an error bit;
 * the frame's bytes follow in the RX data FIFO, ceil(len / 4) words,
 * little-endian. Transmit: two command words (A: this buffer's size and
 * first/last-segment flags; B: the whole frame's length and a tag), then
 * the data words; the chip sends when the last segment is complete and
 * pads short frames itself. Each frame leaves a TX status word, which we
 * drain to count errors.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "moat/err.h"
#include "lan9118.h"

/* System control and status registers (offsets from the base). */
#define L9_RX_DATA       0x00u
#define L9_TX_DATA       0x20u
#define L9_RX_STATUS     0x40u
#define L9_TX_STATUS     0x48u
#define L9_ID_REV        0x50u
#define L9_IRQ_CFG       0x54u
#define L9_INT_STS       0x58u
#define L9_INT_EN        0x5cu
#define L9_BYTE_TEST     0x64u
#define L9_FIFO_INT      0x68u
#define L9_RX_CFG        0x6cu
#define L9_TX_CFG        0x70u
#define L9_HW_CFG        0x74u
#define L9_RX_FIFO_INF   0x7cu
#define L9_TX_FIFO_INF   0x80u
#define L9_PMT_CTRL      0x84u
#define L9_MAC_CSR_CMD   0xa4u
#define L9_MAC_CSR_DATA  0xa8u

#define L9_BYTE_TEST_VALUE 0x87654321u
#define L9_IRQ_CFG_EN      0x100u
#define L9_IRQ_CFG_POL     0x10u   /* active high ... */
#define L9_IRQ_CFG_TYPE    0x1u    /* ... push-pull */
#define L9_INT_RSFL        0x8u    /* RX status FIFO above its level (FIFO_INT bits 7:0) */
#define L9_HW_CFG_SRST     0x1u
#define L9_PMT_CTRL_READY  0x1u
#define L9_TX_CFG_TX_ON    0x2u
#define L9_TX_CFG_TXSAO    0x4u    /* TX status FIFO may overrun: never stalls TX */
#define L9_RX_CFG_DUMP     0x8000u
#define L9_TX_CFG_DUMP     0xc000u /* status and data FIFO dump */

#define L9_RX_STS_LEN(s)   (((s) >> 16) & 0x3fffu)
#define L9_RX_STS_ERROR    0x8000u /* error summary: CRC, runt, too long, ... */
#define L9_TX_STS_ERROR    0x8000u
#define L9_RX_INF_STATUS(i) (((i) >> 16) & 0xffu)
#define L9_TX_INF_STATUS(i) (((i) >> 16) & 0xffu)
#define L9_TX_INF_FREE(i)   ((i) & 0xffffu)

#define L9_TXA_FIRST       0x2000u
#define L9_TXA_LAST        0x1000u

/* MAC registers (indirect) and MAC_CR bits. */
#define L9_MAC_CR          1u
#define L9_MAC_ADDRH       2u
#define L9_MAC_ADDRL       3u
#define L9_MAC_CSR_BUSY    0x80000000u
#define L9_MAC_CSR_READ    0x40000000u
#define L9_MAC_CR_TXEN     0x00000008u
#define L9_MAC_CR_RXEN     0x00000004u
#define L9_MAC_CR_FDPX     0x00100000u

#define L9_SPIN_LIMIT      100000u   /* register polls before giving up */

static inline uint32_t l9_rd(const struct lan9118 *d, uint32_t off)
{
    return *(volatile const uint32_t *)(d->base + off);
}

static inline void l9_wr(const struct lan9118 *d, uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(d->base + off) = v;
}

/* Wait for the MAC CSR interface; 0, or MOAT_E_IO if it stays busy. */
static int l9_mac_wait(const struct lan9118 *d)
{
    for (uint32_t i = 0; i < L9_SPIN_LIMIT; i++)
        if ((l9_rd(d, L9_MAC_CSR_CMD) & L9_MAC_CSR_BUSY) == 0)
            return 0;
    return MOAT_E_IO;
}

static int l9_mac_read(const struct lan9118 *d, uint32_t reg, uint32_t *v)
{
    if (l9_mac_wait(d) != 0)
        return MOAT_E_IO;
    l9_wr(d, L9_MAC_CSR_CMD, L9_MAC_CSR_BUSY | L9_MAC_CSR_READ | reg);
    if (l9_mac_wait(d) != 0)
        return MOAT_E_IO;
    *v = l9_rd(d, L9_MAC_CSR_DATA);
    return 0;
}

static int l9_mac_write(const struct lan9118 *d, uint32_t reg, uint32_t v)
{
    if (l9_mac_wait(d) != 0)
        return MOAT_E_IO;
    l9_wr(d, L9_MAC_CSR_DATA, v);
    l9_wr(d, L9_MAC_CSR_CMD, L9_MAC_CSR_BUSY | reg);
    return l9_mac_wait(d);
}

/* Take the TX status words the chip left (one per frame sent). */
static void l9_tx_reap(struct lan9118 *d)
{
    for (unsigned n = L9_TX_INF_STATUS(l9_rd(d, L9_TX_FIFO_INF)); n > 0; n--)
        if (l9_rd(d, L9_TX_STATUS) & L9_TX_STS_ERROR)
            d->tx_errors++;
}

/* Read and throw away @p words of the RX data FIFO (a frame we drop). */
static void l9_rx_discard(struct lan9118 *d, uint32_t words)
{
    while (words-- > 0)
        (void)l9_rd(d, L9_RX_DATA);
}

static int l9_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    struct lan9118 *d = (struct lan9118 *)l;

    if (d->rx_held)
        return MOAT_E_INVAL;
    /* Frames with errors, runts and giants are dropped here, bounded by
     * the status FIFO: the loop's batch limit still applies to frames
     * handed up. */
    while (L9_RX_INF_STATUS(l9_rd(d, L9_RX_FIFO_INF)) > 0) {
        uint32_t st = l9_rd(d, L9_RX_STATUS);
        uint32_t n = L9_RX_STS_LEN(st);          /* frame + FCS */
        uint32_t words = (n + 3u) / 4u;
        if ((st & L9_RX_STS_ERROR) || n < 14u + 4u || n > sizeof d->rx_buf) {
            l9_rx_discard(d, words);
            d->rx_bad++;
            continue;
        }
        uint32_t *w = (uint32_t *)(void *)d->rx_buf;
        for (uint32_t i = 0; i < words; i++)
            w[i] = l9_rd(d, L9_RX_DATA);     /* the FIFO is little-endian, as is the M3 */
        d->rx_frames++;
        d->rx_held = 1;
        l->rx_flags = 0;
        *frame = d->rx_buf;
        *len = n - 4u;                           /* without the FCS */
        return 0;
    }
    return MOAT_E_AGAIN;
}

static void l9_rx_release(struct moat_link *l)
{
    ((struct lan9118 *)l)->rx_held = 0;
}

static int l9_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct lan9118 *d = (struct lan9118 *)l;

    if (d->tx_held)
        return MOAT_E_AGAIN;
    d->tx_held = 1;
    *buf = d->tx_buf;
    *cap = (size_t)d->link.mtu + 14u;
    return 0;
}

static int l9_tx_commit(struct moat_link *l, size_t len)
{
    struct lan9118 *d = (struct lan9118 *)l;

    if (!d->tx_held)
        return MOAT_E_INVAL;
    d->tx_held = 0;
    if (len == 0)
        return 0;                                /* abandoned */
    if (len < 14u || len > (size_t)d->link.mtu + 14u)
        return MOAT_E_IO;
    l9_tx_reap(d);
    uint32_t words = ((uint32_t)len + 3u) / 4u;
    /* The TX data FIFO must hold the two command words and the data. */
    if (L9_TX_INF_FREE(l9_rd(d, L9_TX_FIFO_INF)) < (words + 2u) * 4u) {
        d->tx_busy++;
        return MOAT_E_AGAIN;
    }
    d->tx_tag++;
    l9_wr(d, L9_TX_DATA, L9_TXA_FIRST | L9_TXA_LAST | (uint32_t)len);
    l9_wr(d, L9_TX_DATA, ((uint32_t)d->tx_tag << 16) | (uint32_t)len);
    const uint32_t *w = (const uint32_t *)(const void *)d->tx_buf;
    for (uint32_t i = 0; i < words; i++)
        l9_wr(d, L9_TX_DATA, w[i]);               /* bytes past len are ignored */
    d->tx_frames++;
    return 0;
}

static void l9_close(struct moat_link *l)
{
    struct lan9118 *d = (struct lan9118 *)l;
    uint32_t cr;
    if (l9_mac_read(d, L9_MAC_CR, &cr) == 0)
        (void)l9_mac_write(d, L9_MAC_CR, cr & ~(L9_MAC_CR_TXEN | L9_MAC_CR_RXEN));
}

/* Before the loop sleeps: let the next received frame raise IRQ 13 (the
 * handler only disables it again, lan9118_irq), and say whether a frame
 * is already waiting. The caller masks interrupts around this and its
 * WFI, so a frame that arrives in between still ends the sleep. */
static int l9_arm(struct moat_link *l)
{
    struct lan9118 *d = (struct lan9118 *)l;
    l9_wr(d, L9_INT_STS, L9_INT_RSFL);
    l9_wr(d, L9_INT_EN, L9_INT_RSFL);
    return L9_RX_INF_STATUS(l9_rd(d, L9_RX_FIFO_INF)) > 0;
}

void lan9118_irq(void)
{
    /* Only a wake-up: the main loop reads the frames (the core is never
     * called from an interrupt). Disabled until the next arm. */
    *(volatile uint32_t *)(LAN9118_BASE + L9_INT_EN) = 0;
    *(volatile uint32_t *)(LAN9118_BASE + L9_INT_STS) = L9_INT_RSFL;
}

static const struct moat_link_ops l9_ops = {
    .rx_acquire = l9_rx_acquire,
    .rx_release = l9_rx_release,
    .tx_acquire = l9_tx_acquire,
    .tx_commit = l9_tx_commit,
    .flush = NULL,          /* each frame goes when its last word is written */
    .wait_fd = NULL,
    .next_due_us = NULL,
    .arm = l9_arm,          /* the receive interrupt as a wake-up only */
    .close = l9_close,
    .tx_commit_gso = NULL,
};

int lan9118_init(struct lan9118 *d, uintptr_t base)
{
    uint32_t lo, hi, i;

    memset(d, 0, sizeof *d);
    d->base = base;
    if (l9_rd(d, L9_BYTE_TEST) != L9_BYTE_TEST_VALUE)
        return MOAT_E_IO;
    l9_wr(d, L9_HW_CFG, L9_HW_CFG_SRST);
    for (i = 0; i < L9_SPIN_LIMIT && (l9_rd(d, L9_HW_CFG) & L9_HW_CFG_SRST); i++)
        ;
    for (; i < L9_SPIN_LIMIT && !(l9_rd(d, L9_PMT_CTRL) & L9_PMT_CTRL_READY); i++)
        ;
    if (i == L9_SPIN_LIMIT)
        return MOAT_E_IO;
    l9_wr(d, L9_INT_EN, 0);                       /* enabled by l9_arm only */
    l9_wr(d, L9_INT_STS, 0xffffffffu);
    l9_wr(d, L9_FIFO_INT, l9_rd(d, L9_FIFO_INT) & ~0xffu);   /* RSFL: one frame waits */
    l9_wr(d, L9_IRQ_CFG, L9_IRQ_CFG_EN | L9_IRQ_CFG_POL | L9_IRQ_CFG_TYPE);
    l9_wr(d, L9_RX_CFG, L9_RX_CFG_DUMP);          /* empty FIFOs, no offset/padding */
    l9_wr(d, L9_TX_CFG, L9_TX_CFG_DUMP);
    l9_wr(d, L9_TX_CFG, L9_TX_CFG_TX_ON | L9_TX_CFG_TXSAO);

    /* The address the chip loaded from its EEPROM (QEMU: the -nic mac). */
    if (l9_mac_read(d, L9_MAC_ADDRL, &lo) != 0 || l9_mac_read(d, L9_MAC_ADDRH, &hi) != 0)
        return MOAT_E_IO;
    d->link.mac[0] = (uint8_t)lo;
    d->link.mac[1] = (uint8_t)(lo >> 8);
    d->link.mac[2] = (uint8_t)(lo >> 16);
    d->link.mac[3] = (uint8_t)(lo >> 24);
    d->link.mac[4] = (uint8_t)hi;
    d->link.mac[5] = (uint8_t)(hi >> 8);
    d->link.has_mac = 1;
    d->link.mtu = 1500;
    d->link.ops = &l9_ops;

    /* Own address and broadcast (not promiscuous: the reset default),
     * full duplex, both directions on. */
    if (l9_mac_write(d, L9_MAC_CR, L9_MAC_CR_FDPX | L9_MAC_CR_TXEN | L9_MAC_CR_RXEN) != 0)
        return MOAT_E_IO;
    return 0;
}
