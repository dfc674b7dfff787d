/* SPDX-License-Identifier: MIT */
/*
 * The MPS2 AN385 board as the moat port uses it (QEMU's mps2-an385): the
 * start-up code (startup.c), a millisecond SysTick clock, CMSDK UART0,
 * the configuration block the host writes into RAM, and a seeded random
 * source. Everything the core needs from a platform except the
 * link driver (lan9118.h) and the application (echo.h).
 *
 * The only mutable file-scope state of the port is here and in main.c:
 * the tick counter the SysTick handler advances, and the static memory
 * the core and the socket region live in. The core itself keeps none.
 */
#ifndef MPS2_BOARD_H
#define MPS2_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* The AN385 image clocks the Cortex-M3 (and SysTick) at 25 MHz. */
#define MPS2_CPU_HZ 25000000u

/* Start the 1 ms SysTick interrupt and UART0 (115200 8N1 on hardware;
 * QEMU ignores the divisor). */
void board_init(void);

/* Microseconds since board_init, from the millisecond tick (never goes
 * backwards; 64 bits, so it does not wrap). Call from the main loop only. */
uint64_t board_now_us(void);

/* Sleep until an interrupt is pending (the next SysTick at the latest:
 * <= 1 ms). Called with interrupts masked (board_irq_mask): a pending
 * interrupt still ends WFI, and its handler runs at board_irq_unmask, so
 * one that came after the caller's last check is not slept through. */
void board_wait(void);
static inline void board_irq_mask(void) { __asm__ volatile("cpsid i" ::: "memory"); }
static inline void board_irq_unmask(void) { __asm__ volatile("cpsie i" ::: "memory"); }

/* Enable external interrupt @p irq in the NVIC. */
void board_irq_enable(unsigned irq);

/* A character received on UART0, or -1 (polled, no interrupt). */
int board_getc(void);

/* UART0 output; '\n' becomes "\r\n". */
void board_puts(const char *s);
void board_putu(uint32_t v);          /* decimal */
void board_putx(uint32_t v, unsigned digits);   /* hex, zero-padded */

/* The configuration block: 24 bytes at the top of RAM (outside what the
 * linker script gives the image, so start-up does not clear it) that the
 * host fills before the CPU starts. QEMU: one generic loader device per
 * word, "-device loader,addr=0x203fffe0,data=0x3253504d,data-len=4" and so
 * on (run-qemu.sh); on a board, a debugger or the boot loader writes it.
 * The image only reads it. Host byte order (little-endian) words. */
#define MPS2_CONFIG_ADDR  0x203fffe0u
#define MPS2_CONFIG_MAGIC 0x3253504du      /* "MPS2" */
struct mps2_config {
    uint32_t magic;           /* MPS2_CONFIG_MAGIC: the block was written */
    uint32_t ip;              /* interface address, host order */
    uint32_t prefix;          /* 1..32 */
    uint32_t gw;              /* default gateway, 0: none */
    uint32_t seed_lo, seed_hi;    /* entropy for board_rng_seed */
};

/* Copy the configuration block into @p out: 0, or -1 if no valid block
 * was written (wrong magic, prefix out of range, no address). */
int board_config(struct mps2_config *out);

/* Stop for good after a fatal error (the message is on the UART): the
 * CPU sleeps with interrupts off; QEMU keeps running until killed. */
_Noreturn void board_halt(void);

/* Random bytes for the core (mcore_env.rng). The AN385 has no TRNG: the
 * state is seeded by board_rng_seed from the seed the host writes into
 * the configuration block, mixed with the free-running timers; on a board with a
 * TRNG, read it here instead. */
struct board_rng {
    uint64_t s;
};
void board_rng_seed(struct board_rng *r, uint64_t seed);
void board_rng_fill(void *ctx, void *buf, size_t len);

/* Linker symbols (mps2-an385.ld): what the image uses of RAM and code. */
extern uint8_t __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint8_t __stack_limit[], __stack_top[], __data_load[];

#endif
