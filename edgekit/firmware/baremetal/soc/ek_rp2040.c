/* Board support for the Raspberry Pi Pico (RP2040, Cortex-M0+): the RP2040's own register
 * facts, then the code it shares with the RP2350 (ek_rp2_shared.h: clocks, UART,
 * microphone on core 1). The boot block (boot2) that must precede this code in flash is
 * ek_rp2040_boot2.S, generated into the project by edgekit.deploy.boot2.
 *
 * From the RP2040 datasheet: address map 2.2; RESETS 2.14 (bit numbers below); CLOCKS 2.15
 * (CLK_SYS_RESUS_CTRL at 0x78). Verified here: it compiles and links, and boot2's CRC
 * (tests); clocks, UART, microphone and core 1 only on hardware. */
#define RESETS 0x4000C000u
#define CLOCKS 0x40008000u
#define XOSC 0x40024000u
#define PLL_SYS 0x40028000u
#define IO_BANK0 0x40014000u
#define PADS_BANK0 0x4001C000u
#define UART0 0x40034000u
#define CLK_SYS_RESUS_CTRL 0x78u

#define RESET_IO_BANK0 5u
#define RESET_PADS_BANK0 8u
#define RESET_PIO0 10u
#define RESET_PLL_SYS 12u
#define RESET_UART0 22u

#include "ek_rp2_shared.h"
