/* SPDX-License-Identifier: MIT */
/*
 * moat-mps2: the moat core on the MPS2 AN385 board (QEMU's mps2-an385),
 * behaving as examples/moat-echo does on Linux: answers ARP and ping,
 * echoes UDP and TCP on port 7, prints "ready" on UART0 once listening.
 *
 * Configuration comes from the block the host writes at the top of RAM
 * before the CPU starts (board.h, struct mps2_config; run-qemu.sh writes
 * it with QEMU's generic loader): address and prefix, gateway, and 64
 * bits of seed for the random source. No semihosting: a guest that
 * parses hostile frames gets no door to the host.
 * The MAC address is the LAN9118's (QEMU: -nic ...,mac=). The key 's' on
 * the UART prints the counters of the core and the driver.
 *
 * Static memory only: the core's memory and the socket region are the two
 * arrays below, sized for MPS2_CFG_*; the start-up line prints what the
 * configuration needs of them and the RAM the image uses in total.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "board.h"
#include "echo.h"
#include "lan9118.h"

/* A small configuration: the echo service needs a UDP socket, a listener
 * and ECHO_CONNS connections; 8 KiB rings keep a full receive window
 * inside the LAN9118's receive FIFO. */
#define MPS2_CFG_SOCKETS   (2u + ECHO_CONNS)
#define MPS2_CFG_RING      8192u
#define MPS2_CORE_MEM      (64u * 1024u)    /* about 57 KiB needed with MPS2_MAX_DGRAM */
/* The largest IP datagram sent in fragments or reassembled: it sizes the
 * core's two datagram buffers (65535 would cost 128 KiB of RAM). */
#define MPS2_MAX_DGRAM     4096u
#define MPS2_REGION_MEM    (120u * 1024u)   /* 6 slots of 2 x 8 KiB + ctl/evt rings of 64 x 128 B */
#define MPS2_ECHO_PORT     7u
#define MPS2_RX_BATCH      32u       /* frames per pass: timers are not starved */

static _Alignas(64) uint8_t mps2_core_mem[MPS2_CORE_MEM];
static _Alignas(64) uint8_t mps2_region_mem[MPS2_REGION_MEM];
static struct lan9118 mps2_eth;
static struct echo mps2_echo;

static void put_ip(uint32_t ip)
{
    for (int i = 3; i >= 0; i--) {
        board_putu((ip >> (8 * i)) & 0xffu);
        if (i)
            board_puts(".");
    }
}

static void put_kv(const char *k, uint32_t v)
{
    board_puts(k);
    board_putu(v);
}

static void put_stats(const struct mcore *core, const struct lan9118 *eth)
{
    static struct moat_stats st;   /* big (drop reasons): not on the stack */
    uint64_t drops = 0;
    mcore_stats(core, &st);
    for (unsigned i = 0; i < MOAT_DROP_COUNT; i++)
        drops += st.drops[i];
    /* 32-bit prints: the counters of a test run fit (the board has no
     * 64-bit formatting and needs none). */
    put_kv("moat-mps2: frames_in=", (uint32_t)st.frames_in);
    put_kv(" frames_out=", (uint32_t)st.frames_out);
    put_kv(" drops=", (uint32_t)drops);
    put_kv(" tcp_retransmits=", (uint32_t)st.tcp_retransmits);
    put_kv(" eth_rx=", eth->rx_frames);
    put_kv(" eth_rx_bad=", eth->rx_bad);
    put_kv(" eth_tx=", eth->tx_frames);
    put_kv(" eth_tx_busy=", eth->tx_busy);
    put_kv(" eth_tx_errors=", eth->tx_errors);
    board_puts("\n");
}

static void fail(const char *what, int rc)
{
    board_puts("moat-mps2: ");
    board_puts(what);
    board_puts(": ");
    board_puts(moat_strerror(rc));
    board_puts("\n");
}

int main(void)
{
    struct mps2_config bc;
    struct moat_config cfg;
    struct board_rng rng;
    int rc;

    board_init();
    board_puts("moat-mps2: MPS2 AN385, Cortex-M3, LAN9118\n");
    if (board_config(&bc) != 0) {
        board_puts("moat-mps2: no configuration block at 0x");
        board_putx(MPS2_CONFIG_ADDR, 8);
        board_puts(" (run-qemu.sh writes it: --ip ADDR/PREFIX)\n");
        return 2;
    }
    moat_config_defaults(&cfg);
    cfg.n_ifs = 1;
    cfg.ifs[0].ip = bc.ip;
    cfg.ifs[0].prefix = (uint8_t)bc.prefix;
    cfg.ifs[0].gw = bc.gw;
    board_rng_seed(&rng, ((uint64_t)bc.seed_hi << 32) | bc.seed_lo);

    rc = lan9118_init(&mps2_eth, LAN9118_BASE);
    if (rc != 0) {
        fail("LAN9118 init", rc);
        return 1;
    }
    struct moat_link *link = &mps2_eth.link;
    cfg.ifs[0].mtu = link->mtu;
    memcpy(cfg.ifs[0].mac, link->mac, 6);
    cfg.ifs[0].link = MOAT_LINK_CUSTOM;
    cfg.ifs[0].custom = link;
    cfg.max_sockets = MPS2_CFG_SOCKETS;
    cfg.sock_rx_bytes = MPS2_CFG_RING;
    cfg.sock_tx_bytes = MPS2_CFG_RING;
    cfg.pkt_bufs = 16;
    cfg.arp_entries = 8;
    cfg.arp_queue = 4;
    cfg.reass_slots = 2;
    cfg.tcp_syn_backlog = 4;
    cfg.tcp_ooo_bytes = 16u * 1024u;
    cfg.ip_max_datagram = MPS2_MAX_DGRAM;

    struct mcore_env env;
    memset(&env, 0, sizeof env);
    rc = moat_layout_for_config(&cfg, &env.layout);
    if (rc != 0) {
        fail("region layout", rc);
        return 1;
    }
    size_t need = mcore_mem_size(&cfg);
    board_puts("moat-mps2: RAM: core ");
    board_putu((uint32_t)need);
    board_puts(" of ");
    board_putu(MPS2_CORE_MEM);
    board_puts(", socket region ");
    board_putu((uint32_t)env.layout.size);
    board_puts(" of ");
    board_putu(MPS2_REGION_MEM);
    put_kv(", driver ", (uint32_t)sizeof mps2_eth);
    put_kv(", echo ", (uint32_t)sizeof mps2_echo);
    put_kv("; image data+bss ", (uint32_t)(__bss_end - __data_start));
    put_kv(" + stack ", (uint32_t)(__stack_top - __stack_limit));
    put_kv(" = ", (uint32_t)(__stack_top - __data_start));
    board_puts(" bytes\n");
    if (need == 0 || need > sizeof mps2_core_mem || env.layout.size > sizeof mps2_region_mem) {
        board_puts("moat-mps2: the static buffers are too small for this configuration\n");
        return 1;
    }
    moat_region_init(mps2_region_mem, &env.layout);
    env.region = mps2_region_mem;
    env.links[0] = link;
    env.rng = board_rng_fill;
    env.rng_ctx = &rng;

    struct mcore *core;
    rc = mcore_init(mps2_core_mem, sizeof mps2_core_mem, &cfg, &env, &core);
    if (rc != 0) {
        fail("mcore_init", rc);
        return 1;
    }
    uint64_t now = board_now_us();
    mcore_arp_announce(core, now);
    rc = echo_start(&mps2_echo, core, mps2_region_mem, &env.layout, MPS2_ECHO_PORT, now);
    if (rc != 0) {
        fail("echo service", rc);
        return 1;
    }
    board_puts("moat-mps2: ");
    put_ip(cfg.ifs[0].ip);
    board_puts("/");
    board_putu(cfg.ifs[0].prefix);
    if (cfg.ifs[0].gw != 0) {
        board_puts(" gw ");
        put_ip(cfg.ifs[0].gw);
    }
    board_puts(" mac ");
    for (unsigned i = 0; i < 6; i++) {
        board_putx(link->mac[i], 2);
        if (i < 5)
            board_puts(":");
    }
    board_puts(", UDP and TCP echo on port 7\nready\n");

    /* The main loop: frames in, the application, timers and output; sleep
     * only when a pass found nothing to do and no timer is due, until a
     * frame arrives (the driver's arm) or the next 1 ms tick. */
    board_irq_enable(LAN9118_IRQ);
    for (;;) {
        int busy = 0;
        now = board_now_us();
        for (unsigned n = 0; n < MPS2_RX_BATCH; n++) {
            const uint8_t *frame;
            size_t len;
            if (link->ops->rx_acquire(link, &frame, &len) != 0)
                break;
            mcore_input(core, 0, frame, len, now);
            link->ops->rx_release(link);
            busy = 1;
        }
        busy |= echo_serve(&mps2_echo, now);
        uint64_t next = mcore_poll(core, now);
        (void)mcore_take_app_wakeup(core);
        if (board_getc() == 's')
            put_stats(core, &mps2_eth);
        if (!busy && next > now) {
            board_irq_mask();
            if (link->ops->arm == NULL || !link->ops->arm(link))
                board_wait();
            board_irq_unmask();
        }
    }
}
