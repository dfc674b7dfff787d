/* SPDX-License-Identifier: MIT */
/*
 * Start-up code for the Cortex-M3 of the MPS2 AN385: the vector table,
 * the reset handler (copies .data from its load address, zeroes .bss,
 * calls main) and the exception handlers. In C: the M-profile loads the
 * stack pointer from the table itself, so no assembly is needed.
 *
 * A fault prints the fault status registers on UART0 ("FAULT", which
 * tests/interop/test_mps2.sh looks for) and halts.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "lan9118.h"

int main(void);
_Noreturn void mps2_reset(void);
void mps2_systick(void);
void mps2_fault(void);
void mps2_unused(void);

#define SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR  (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR  (*(volatile uint32_t *)0xE000ED38u)

_Noreturn void mps2_reset(void)
{
    memcpy(__data_start, __data_load, (size_t)(__data_end - __data_start));
    memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
    (void)main();      /* returns only after a fatal error, printed */
    board_halt();
}

void mps2_fault(void)
{
    board_puts("\nmoat-mps2: FAULT cfsr=0x");
    board_putx(SCB_CFSR, 8);
    board_puts(" hfsr=0x");
    board_putx(SCB_HFSR, 8);
    board_puts(" mmfar=0x");
    board_putx(SCB_MMFAR, 8);
    board_puts(" bfar=0x");
    board_putx(SCB_BFAR, 8);
    board_puts("\n");
    board_halt();
}

void mps2_unused(void)
{
    board_puts("\nmoat-mps2: FAULT: unexpected interrupt\n");
    board_halt();
}

/* 16 system exceptions + the AN385's 32 external interrupts (only the
 * Ethernet's, as a wake-up: see lan9118.h). */
typedef void (*mps2_vector)(void);
__attribute__((section(".vectors"), used))
static const mps2_vector mps2_vectors[16 + 32] = {
    [0] = (mps2_vector)(uintptr_t)__stack_top,
    [1] = mps2_reset,
    [2] = mps2_fault,        /* NMI */
    [3] = mps2_fault,        /* HardFault */
    [4] = mps2_fault,        /* MemManage */
    [5] = mps2_fault,        /* BusFault */
    [6] = mps2_fault,        /* UsageFault */
    [11] = mps2_unused,      /* SVCall */
    [12] = mps2_unused,      /* DebugMonitor */
    [14] = mps2_unused,      /* PendSV */
    [15] = mps2_systick,
    [16 ... 16 + LAN9118_IRQ - 1] = mps2_unused,
    [16 + LAN9118_IRQ] = lan9118_irq,
    [16 + LAN9118_IRQ + 1 ... 47] = mps2_unused,
};
