/* SPDX-License-Identifier: MIT */
/*
 * MPS2 AN385 board support: SysTick millisecond clock, CMSDK UART0, the
 * configuration block, halting, and the seeded random source. See
 * board.h for what each does; register addresses are from the AN385
 * application note and the ARMv7-M architecture (SysTick).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board.h"

/* SysTick (ARMv7-M B3.3). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE    0x1u
#define SYST_CSR_TICKINT   0x2u
#define SYST_CSR_CLKSOURCE 0x4u   /* the processor clock */

/* CMSDK APB UART0. */
#define UART0_BASE   0x40004000u
#define UART_DATA    (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE   (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL    (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
#define UART_STATE_TXFULL 0x1u
#define UART_STATE_RXFULL 0x2u
#define UART_CTRL_TXEN    0x1u
#define UART_CTRL_RXEN    0x2u

/* Milliseconds since board_init: written by the SysTick handler only.
 * 32 bits so the main loop reads it in one access; board_now_us extends
 * it to 64 bits (it is read far more often than every 49 days). */
static volatile uint32_t board_ms;
static uint32_t board_ms_last;
static uint64_t board_ms_high;

void mps2_systick(void);
void mps2_systick(void)
{
    board_ms++;
}

void board_init(void)
{
    UART_BAUDDIV = MPS2_CPU_HZ / 115200u;
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN;
    SYST_RVR = MPS2_CPU_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

uint64_t board_now_us(void)
{
    uint32_t ms = board_ms;
    if (ms < board_ms_last)
        board_ms_high += 1ull << 32;
    board_ms_last = ms;
    return (board_ms_high + ms) * 1000u;
}

void board_wait(void)
{
    /* A SysTick or any other enabled interrupt ends it, masked or not
     * (ARMv7-M B1.5.19); one already pending makes WFI return at once. */
    __asm__ volatile("dsb\n\twfi" ::: "memory");
}

#define NVIC_ISER ((volatile uint32_t *)0xE000E100u)

void board_irq_enable(unsigned irq)
{
    NVIC_ISER[irq / 32u] = 1u << (irq % 32u);
}

int board_getc(void)
{
    if (!(UART_STATE & UART_STATE_RXFULL))
        return -1;
    return (int)(UART_DATA & 0xffu);
}

static void board_putc(char c)
{
    while (UART_STATE & UART_STATE_TXFULL)
        ;
    UART_DATA = (uint8_t)c;
}

void board_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            board_putc('\r');
        board_putc(*s);
    }
}

void board_putu(uint32_t v)
{
    char b[11];
    unsigned i = sizeof b;
    b[--i] = 0;
    do {
        b[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    board_puts(b + i);
}

void board_putx(uint32_t v, unsigned digits)
{
    static const char hex[] = "0123456789abcdef";
    char b[9];
    if (digits == 0 || digits > 8)
        digits = 8;
    for (unsigned i = 0; i < digits; i++)
        b[i] = hex[(v >> (4u * (digits - 1u - i))) & 0xfu];
    b[digits] = 0;
    board_puts(b);
}

/* ---- configuration and halting --------------------------------------- */

int board_config(struct mps2_config *out)
{
    const volatile uint32_t *w = (const volatile uint32_t *)MPS2_CONFIG_ADDR;
    out->magic = w[0];
    out->ip = w[1];
    out->prefix = w[2];
    out->gw = w[3];
    out->seed_lo = w[4];
    out->seed_hi = w[5];
    if (out->magic != MPS2_CONFIG_MAGIC || out->ip == 0 || out->prefix == 0 ||
        out->prefix > 32)
        return -1;
    return 0;
}

void board_halt(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
    for (;;)
        __asm__ volatile("wfi");
}

/* ---- randomness --------------------------------------------------------- */

void board_rng_seed(struct board_rng *r, uint64_t seed)
{
    /* Mix in what varies from boot to boot even with the same seed. */
    r->s = seed ^ ((uint64_t)SYST_CVR << 32) ^ board_ms;
}

/* splitmix64: a well-mixed sequence from the seeded state (not a
 * cryptographic generator: a product with a TRNG uses it here). */
void board_rng_fill(void *ctx, void *buf, size_t len)
{
    struct board_rng *r = ctx;
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        size_t n = len < 8 ? len : 8;
        memcpy(p, &z, n);
        p += n;
        len -= n;
    }
}
