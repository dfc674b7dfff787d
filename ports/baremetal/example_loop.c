/* SPDX-License-Identifier: MIT */
/*
 * The main loop of a bare-metal moat port, as a compilable example:
 * memory for the core and the socket region from static buffers, one stub
 * link (stub_link.c) standing in for the MAC, a stub rng, and a simulated
 * clock standing in for the board's timer.
 *
 *   for (;;) {
 *       now = clock();
 *       while (a frame is waiting) mcore_input(core, 0, frame, len, now);
 *       next = mcore_poll(core, now);      // timers, socket requests, output
 *       sleep until next, or until the MAC / the application interrupts us
 *   }
 *
 * Freestanding: no libc beyond <string.h>; the only mutable file-scope
 * state is the memory the core and the region live in (a port must get
 * that memory from somewhere: statics are the bare-metal way).
 * Does not show the application side of the socket region (a task that
 * issues requests on its ctl ring): see core/boundary.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "baremetal.h"

/* Sizes for a small device: 4 sockets with 4 KiB rings each way. The
 * buffers below must hold what mcore_mem_size() and moat_layout_compute()
 * ask for; moat_example_run() checks and fails cleanly if they do not. */
#define EX_SOCKETS     4u
#define EX_SOCK_BYTES  4096u
#define EX_CORE_MEM    (64u * 1024u)    /* mcore_mem_size(): ~49 KiB on a 64-bit host,
                                           less on a Cortex-M (docs/footprint.md) */
#define EX_REGION_MEM  (64u * 1024u)   /* ctl + evt rings: 2 x 64 x 128 B */

static _Alignas(64) uint8_t ex_core_mem[EX_CORE_MEM];
static _Alignas(64) uint8_t ex_region_mem[EX_REGION_MEM];

/* The board: a microsecond timer and a "wait for interrupt until"
 * primitive. Simulated here so the example runs anywhere: time jumps to
 * the deadline, at most 10 ms at a time (as a periodic tick would). */
struct ex_board {
    uint64_t now_us;
};

static uint64_t ex_board_now_us(const struct ex_board *b)
{
    return b->now_us;
}

static void ex_board_sleep_until(struct ex_board *b, uint64_t deadline_us)
{
    /* Real board: program the timer compare for deadline_us, enable the
     * MAC's RX interrupt (link->ops->arm on links that have it), then WFI.
     * Any interrupt (frame, timer, application) ends the sleep. */
    uint64_t cap = b->now_us + 10000u;
    b->now_us = deadline_us < cap ? (deadline_us > b->now_us ? deadline_us : b->now_us) : cap;
}

static void ex_config(struct moat_config *cfg, struct moat_link *link)
{
    moat_config_defaults(cfg);
    cfg->n_ifs = 1;
    cfg->ifs[0].ip = 0xc000020au;          /* 192.0.2.10 (documentation range) */
    cfg->ifs[0].prefix = 24;
    cfg->ifs[0].gw = 0xc0000201u;          /* 192.0.2.1 */
    cfg->ifs[0].mtu = link->mtu;
    memcpy(cfg->ifs[0].mac, link->mac, 6);
    cfg->ifs[0].link = MOAT_LINK_CUSTOM;
    cfg->ifs[0].custom = link;
    cfg->max_sockets = EX_SOCKETS;
    cfg->sock_rx_bytes = EX_SOCK_BYTES;
    cfg->sock_tx_bytes = EX_SOCK_BYTES;
    cfg->pkt_bufs = 16;
    cfg->arp_entries = 8;
    cfg->arp_queue = 2;
    cfg->reass_slots = 2;
    cfg->tcp_syn_backlog = 4;
    cfg->tcp_ooo_bytes = 16u * 1024u;
    /* No datagram above the MTU is sent in fragments or reassembled: the
     * core's two datagram buffers take 2 x 1.5 KiB instead of 2 x 64 KiB. */
    cfg->ip_max_datagram = link->mtu;
}

int moat_example_run(unsigned max_iterations, uint32_t *frames_sent)
{
    /* The board's objects; a real port keeps them static too. They are
     * locals here so two runs (e.g. on a host, in a test) do not share
     * state; the big buffers above are the exception, see the header. */
    struct stub_link eth0;
    struct stub_rng rng;
    struct ex_board board = { .now_us = 1000000u };
    static const uint8_t mac[6] = { 0x02, 0x00, 0xc0, 0x00, 0x02, 0x0a };
    struct moat_config cfg;
    int rc;

    rc = stub_link_init(&eth0, mac, 1500);
    if (rc != 0)
        return rc;
    stub_rng_init(&rng, 0x1234u);   /* real port: seed from the TRNG */
    struct moat_link *link = &eth0.link;
    ex_config(&cfg, link);

    /* The socket region: the application's side of the boundary. Its
     * layout follows from the geometry; the memory comes from a static
     * buffer that must be large enough. */
    struct mcore_env env;
    memset(&env, 0, sizeof env);
    rc = moat_layout_for_config(&cfg, &env.layout);
    if (rc != 0)
        return rc;
    if (env.layout.size > sizeof ex_region_mem)
        return MOAT_E_NOMEM;
    memset(ex_region_mem, 0, env.layout.size);
    moat_region_init(ex_region_mem, &env.layout);
    env.region = ex_region_mem;
    env.links[0] = link;
    env.rng = stub_rng_fill;
    env.rng_ctx = &rng;

    size_t need = mcore_mem_size(&cfg);
    if (need == 0)
        return MOAT_E_INVAL;
    if (need > sizeof ex_core_mem)
        return MOAT_E_NOMEM;
    struct mcore *core;
    rc = mcore_init(ex_core_mem, sizeof ex_core_mem, &cfg, &env, &core);
    if (rc != 0)
        return rc;
    /* Tell the segment we are here (gratuitous ARP), once the MAC is up. */
    mcore_arp_announce(core, ex_board_now_us(&board));

    for (unsigned it = 0; it < max_iterations; it++) {
        uint64_t now = ex_board_now_us(&board);

        /* 1. Everything the MAC received, one frame at a time; bounded so
         *    a flood cannot starve the timers. */
        for (unsigned n = 0; n < 32; n++) {
            const uint8_t *frame;
            size_t len;
            if (link->ops->rx_acquire(link, &frame, &len) != 0)
                break;
            mcore_input(core, 0, frame, len, now);
            link->ops->rx_release(link);
        }

        /* 2. Timers, application requests, queued output. */
        uint64_t next = mcore_poll(core, now);
        if (link->ops->flush != NULL)
            link->ops->flush(link);

        /* 3. Tell the application task (if it waits) that something
         *    changed: a semaphore or event flag on an RTOS. */
        (void)mcore_take_app_wakeup(core);

        /* 4. Sleep until the next deadline or an interrupt. */
        ex_board_sleep_until(&board, next == MCORE_NEVER ? now + 10000u : next);
    }

    mcore_shutdown(core, ex_board_now_us(&board));
    if (frames_sent != NULL)
        *frames_sent = eth0.tx_dropped;
    link->ops->close(link);
    return 0;
}
