/* SPDX-License-Identifier: MIT */
/*
 * The MPS2 AN385 board as the moat port uses it (QEMU's mps2-an385): the
 * start-up code (startup.c), a millisecond SysTick clock, CMSDK UART0
 * output, the host's command line through semihosting, and a seeded
 * random source. Everything the core needs from a platform except the
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

/* The command line QEMU was given (-semihosting-config arg=...), as a
 * NUL-terminated string in @p buf: 0, or -1 if semihosting is off or the
 * line does not fit. Semihosting must be enabled in QEMU (run-qemu.sh
 * does): without a debugger or QEMU behind it, the BKPT instruction this
 * uses faults. */
int board_cmdline(char *buf, size_t len);

/* Ask the host to end the emulation with @p code (semihosting). */
void board_exit(int code);

/* Random bytes for the core (mcore_env.rng). The AN385 has no TRNG: the
 * state is seeded by board_rng_seed from the seed the host passes on the
 * command line, mixed with the free-running timers; on a board with a
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
