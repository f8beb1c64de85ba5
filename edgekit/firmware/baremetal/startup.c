/* Minimal Cortex-M startup for the emulated boards (QEMU mps2-an385/an386/an500,
 * mps2-an505, microbit; ARMv6-M, v7-M and v8-M Mainline alike): vector table, .data
 * copy, .bss clear, FPU enable where there is one, semihosting stdio, then main(); its
 * return value becomes QEMU's exit code (semihosting exit). Where the vector table
 * and RAM are is the board's memory map, in the linker script (cortex_m.ld). */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(int argc, char **argv);
extern void initialise_monitor_handles(void);

void Reset_Handler(void);
void Fault_Handler(void);

__attribute__((section(".isr_vector"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, 0, 0, 0, 0,
    Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11, before any float instruction (else: lockup) */
    *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20);
    __asm volatile("dsb\n isb");
#endif
    initialise_monitor_handles();
    exit(main(0, 0));
}

void Fault_Handler(void) { exit(99); }

/* newlib's exit path references these; nothing to construct or destroy here */
void _init(void) {}
void _fini(void) {}
