/* SPDX-License-Identifier: MIT */
/*
 * RAM of the protocol core for two configurations, as the core itself
 * computes it (mcore_mem_size, moat_layout_compute), and the bytes of
 * state one connection costs besides its rings. Used by
 * scripts/size-report.sh; the numbers are in docs/footprint.md.
 *
 * Built two ways by the script:
 *  - for the build host (hosted: printf), and
 *  - for a Cortex-M3 with arm-none-eabi-gcc, the target's own ABI (32-bit
 *    pointers, AAPCS alignment, short enums), run under qemu-arm (user
 *    mode) with MOAT_SIZE_RAM_ARM_LINUX: then there is no libc I/O (newlib
 *    only gives memcpy and friends); the program writes with the Linux
 *    write/exit system calls that qemu-arm provides, from its own _start.
 *    Thumb-2 code for a Cortex-M3 runs on qemu-arm's default A-profile CPU;
 *    the layout of the structures is the compiler's, not the CPU's.
 *
 * Output, one line each, "key value" pairs after a tag:
 *   abi ptr P
 *   ram NAME core C region R total T mcore M pkt P arp A reass S sock K tcp X
 *   conn tcp_cb B msock M sock_sh H tcp_slot S total T
 * (conn only when TCP is built in). Exit status 0, or 1 if a
 * configuration is refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "core/core_priv.h"
#if !defined(MOAT_CORE_TCP) || MOAT_CORE_TCP
#include "core/tcp_priv.h"
#endif

#if defined(MOAT_SIZE_RAM_ARM_LINUX)
static long sz_syscall3(long nr, long a, long b, long c)
{
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    register long r7 __asm__("r7") = nr;
    __asm__ volatile("svc 0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
    return r0;
}

static void sz_puts(const char *s)
{
    sz_syscall3(4 /* write */, 1, (long)s, (long)strlen(s));
}
#else
#include <stdio.h>
static void sz_puts(const char *s)
{
    fputs(s, stdout);
}
#endif

static void sz_num(const char *key, uint64_t v)
{
    char buf[32];
    char *p = buf + sizeof buf;
    *--p = 0;
    do {
        *--p = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    sz_puts(" ");
    sz_puts(key);
    sz_puts(" ");
    sz_puts(p);
}

static size_t sz_align64(size_t x)
{
    return (x + 63u) & ~(size_t)63u;
}

/* Print the RAM line of @p cfg: the core's memory block, the socket
 * region (control rings, per-socket status and data rings), and the
 * core's block by module. Returns 0 or 1. */
static int sz_config(const char *name, const struct moat_config *cfg)
{
    struct moat_layout lay;
    size_t core = mcore_mem_size(cfg);
    if (core == 0 || moat_layout_for_config(cfg, &lay) != 0) {
        sz_puts("refused ");
        sz_puts(name);
        sz_puts("\n");
        return 1;
    }
    sz_puts("ram ");
    sz_puts(name);
    sz_num("core", core);
    sz_num("region", lay.size);
    sz_num("total", (uint64_t)core + lay.size);
    sz_num("mcore", sz_align64(sizeof(struct mcore)));
    sz_num("pkt", sz_align64(pkt_mem_size(cfg->pkt_bufs)));
    sz_num("arp", sz_align64(arp_mem_size(cfg)));
    sz_num("reass", sz_align64(reass_mem_size(cfg)));
    sz_num("sock", sz_align64(sock_mem_size(cfg)));
    sz_num("tcp", sz_align64(tcp_mem_size(cfg)));
    sz_puts("\n");
    return 0;
}

static int sz_run(void)
{
    struct moat_config cfg;
    int bad = 0;

    sz_puts("abi");
    sz_num("ptr", sizeof(void *));
    sz_puts("\n");

    /* The small configuration of issue 11: 4 sockets, one of them a TCP
     * connection, 2 KiB windows. Every slot carries a TCB (there is no
     * separate limit on TCP connections), and the smallest socket ring is
     * 4 KiB (moat_config_check), so the rings are 4 KiB and the 2 KiB
     * windows are MOAT_OPT_RCVBUF / SNDBUF of the socket (no memory
     * effect). Pools at their useful minimum for one interface. */
    moat_config_defaults(&cfg);
    cfg.ifs[0].ip = 0xc000020au;   /* 192.0.2.10: mcore_mem_size checks cfg */
    cfg.max_sockets = 4;
    cfg.sock_rx_bytes = 4096;
    cfg.sock_tx_bytes = 4096;
    cfg.pkt_bufs = 8;
    cfg.arp_entries = 4;
    cfg.arp_queue = 2;
    cfg.reass_slots = 1;
    cfg.tcp_syn_backlog = 2;
    cfg.tcp_ooo_bytes = 2048;
    cfg.tcp_mem_bytes = 64u * 1024u;
    bad |= sz_config("small", &cfg);
    /* The same with the datagram buffers cut to the MTU
     * (moat_config.ip_max_datagram): no datagram above 1500 bytes is sent
     * in fragments or reassembled. */
    cfg.ip_max_datagram = cfg.ifs[0].mtu;
    bad |= sz_config("small-mtu", &cfg);

    /* moat_config_defaults() as it is (64 sockets, 256 KiB rings). */
    moat_config_defaults(&cfg);
    cfg.ifs[0].ip = 0xc000020au;
    bad |= sz_config("default", &cfg);

#if !defined(MOAT_CORE_TCP) || MOAT_CORE_TCP
    /* One connection besides its rings, as moat_stats.conn_state_bytes
     * counts it (core.c mcore_stats): the socket slot, its status word
     * block in the region, its dirty bit, TCP's share (tcp_slot_bytes:
     * TCB, timer-heap entry, hash buckets, TIME-WAIT share). */
    size_t slot = tcp_slot_bytes(&cfg);
    sz_puts("conn");
    sz_num("tcp_cb", sizeof(struct tcp_cb));
    sz_num("msock", sizeof(struct msock));
    sz_num("sock_sh", sizeof(struct moat_sock_sh));
    sz_num("tcp_slot", slot);
    sz_num("total", sizeof(struct msock) + sizeof(struct moat_sock_sh) + 1u + slot);
    sz_puts("\n");
#endif
    return bad;
}

#if defined(MOAT_SIZE_RAM_ARM_LINUX)
void _start(void);
void _start(void)
{
    int rc = sz_run();
    sz_syscall3(1 /* exit */, rc, 0, 0);
    for (;;) {
    }
}
#else
int main(void)
{
    return sz_run();
}
#endif
