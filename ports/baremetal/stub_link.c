/* SPDX-License-Identifier: MIT */
/*
 * A stub link and randomness source for bare-metal ports: the smallest
 * thing that satisfies include/moat/link.h and mcore_env.rng. The receive
 * side never has a frame; the transmit side hands out one buffer and drops
 * what is committed. A real MAC driver keeps this shape: rx_acquire hands
 * out the next filled DMA descriptor (or copies it), rx_release gives it
 * back to the MAC, tx_acquire returns a free descriptor's buffer (or
 * MOAT_E_AGAIN when the TX queue is full), tx_commit starts the DMA.
 *
 * Freestanding: only <stdint.h>, <stddef.h>, <string.h>; no globals.
 * Does not own the main loop (example_loop.c) or the clock.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "moat/err.h"
#include "baremetal.h"

static int stub_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    (void)l;
    (void)frame;
    (void)len;
    /* A real driver: if the next RX descriptor is owned by software,
     * hand out its buffer and length; otherwise nothing is waiting. */
    return MOAT_E_AGAIN;
}

static void stub_rx_release(struct moat_link *l)
{
    (void)l;   /* a real driver returns the descriptor to the MAC here */
}

static int stub_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct stub_link *s = (struct stub_link *)l;
    /* One buffer: a real driver would return MOAT_E_AGAIN when all TX
     * descriptors are in flight (the core counts the drop). */
    s->tx_out = 1;
    *buf = s->tx_buf;
    *cap = sizeof s->tx_buf;
    return 0;
}

static int stub_tx_commit(struct moat_link *l, size_t len)
{
    struct stub_link *s = (struct stub_link *)l;
    if (!s->tx_out)
        return MOAT_E_INVAL;
    s->tx_out = 0;
    if (len == 0)
        return 0;            /* abandoned */
    if (len > sizeof s->tx_buf)
        return MOAT_E_IO;
    s->tx_dropped++;         /* a real driver hands the buffer to DMA */
    return 0;
}

static void stub_close(struct moat_link *l)
{
    (void)l;   /* statically allocated: nothing to free; stop the MAC here */
}

static const struct moat_link_ops stub_ops = {
    .rx_acquire = stub_rx_acquire,
    .rx_release = stub_rx_release,
    .tx_acquire = stub_tx_acquire,
    .tx_commit = stub_tx_commit,
    .flush = NULL,          /* a MAC with a doorbell register rings it here */
    .wait_fd = NULL,        /* no file descriptors on bare metal */
    .next_due_us = NULL,
    .arm = NULL,            /* enable the RX interrupt here before sleeping */
    .close = stub_close,
};

int stub_link_init(struct stub_link *s, const uint8_t mac[6], uint16_t mtu)
{
    if (s == NULL || mac == NULL || mtu == 0 || (size_t)mtu + 14u > STUB_MAX_FRAME)
        return MOAT_E_INVAL;
    memset(s, 0, sizeof *s);
    s->link.ops = &stub_ops;
    s->link.mtu = mtu;
    memcpy(s->link.mac, mac, 6);
    s->link.has_mac = 1;
    return 0;
}

void stub_rng_init(struct stub_rng *r, uint64_t seed)
{
    r->state = seed ? seed : 0x9e3779b97f4a7c15ull;   /* xorshift must not be 0 */
}

void stub_rng_fill(void *ctx, void *buf, size_t len)
{
    struct stub_rng *r = ctx;
    uint8_t *p = buf;
    uint64_t x = r->state;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 32);
    }
    r->state = x;
}
