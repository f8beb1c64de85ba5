/* Minimal Cortex-M startup for every board edgekit builds bare-metal (ARMv6-M, v7-M and
 * v8-M Mainline alike): the 16 system vectors, .data copy, .bss clear, stack painting,
 * FPU enable where there is one, then main(). Where the vector table and RAM are is the
 * board's memory map, in the linker script (cortex_m.ld).
 *
 * Emulated boards (QEMU mps2-an385/an386/an500, mps2-an505, microbit, netduinoplus2):
 * semihosting stdio; main's return value becomes QEMU's exit code (semihosting exit).
 * Real boards (-DEK_BOARD): VTOR is pointed at this table (a bootloader may have run
 * first: the Nano 33 BLE's, the RP2040's boot2), ek_board_init() (the SoC's board support
 * code, baremetal/soc) sets up clock tree, SysTick and UART before main, and a fault
 * stops the core where a debugger finds it; the SoC's interrupt vectors follow this
 * table (section .isr_vector.irq).
 *
 * Stack painting: at reset the top EK_STACK_PAINT_BYTES of RAM below the stack pointer
 * (or all of it down to the heap's start, if RAM is smaller) are filled with a pattern;
 * ek_stack_peak() later finds the lowest word the stack has overwritten. Bounded so
 * that start-up on the 4 MB MPS2 boards stays short; a stack that reached the bottom of
 * the painted window is reported as at least its size. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define EK_STACK_PAINT_BYTES 32768u
#define EK_STACK_PAINT 0x5A5AA5A5u

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack, __end__;
extern void *_sbrk(ptrdiff_t incr);
extern int main(int argc, char **argv);
extern void initialise_monitor_handles(void);
extern void ek_board_init(void);

void Reset_Handler(void);
void Fault_Handler(void);
/* SysTick: the board support code's millisecond tick (baremetal/ek_board.c) */
void SysTick_Handler(void) __attribute__((weak, alias("Fault_Handler")));

__attribute__((section(".isr_vector"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, 0, 0, 0, 0,
    Fault_Handler, Fault_Handler, 0, Fault_Handler, SysTick_Handler,
};

static uint32_t *paint_lo;   /* lowest painted word */

/* Paint from the window's bottom up to 64 words below the current stack pointer (the
 * words above it hold this frame and the caller's). */
static void paint_stack(void) {
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    uint32_t *lo = &_estack - EK_STACK_PAINT_BYTES / 4;
    if (lo < &__end__) lo = &__end__;
    paint_lo = lo;
    for (uint32_t *p = lo; p < sp - 64; p++) *p = EK_STACK_PAINT;
}

/* Bytes of stack used so far at most: from the top of RAM down to the lowest word that
 * no longer holds the pattern (the scan starts above the heap, which grows into the
 * window from below on small boards). */
long ek_stack_peak(void) {
    uint32_t *p = paint_lo, *heap = (uint32_t *)_sbrk(0);
    if (heap > p) p = heap;
    while (p < &_estack && *p == EK_STACK_PAINT) p++;
    return (long)((&_estack - p) * 4);
}

/* Bytes the heap has taken (newlib's semihosting file buffers). */
long ek_heap_used(void) { return (long)((uint32_t *)_sbrk(0) - &__end__) * 4; }

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    paint_stack();
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11, before any float instruction (else: lockup) */
    *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20);
    __asm volatile("dsb\n isb");
#endif
#ifdef EK_BOARD
    *(volatile uint32_t *)0xE000ED08 = (uint32_t)vectors;   /* SCB->VTOR (ARMv6-M/v7-M/v8-M ARM) */
    __asm volatile("dsb\n isb");
    ek_board_init();
    main(0, 0);
    for (;;) __asm volatile("wfi");
#else
    initialise_monitor_handles();
    exit(main(0, 0));
#endif
}

#ifdef EK_BOARD
void Fault_Handler(void) {
    for (;;) {}   /* stops here, where a debugger finds it */
}
#else
void Fault_Handler(void) { exit(99); }
#endif

/* newlib's exit path references these; nothing to construct or destroy here */
void _init(void) {}
void _fini(void) {}
