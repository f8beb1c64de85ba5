/* Board support for the Raspberry Pi Pico 2 (RP2350, Cortex-M33 running secure, Arm
 * mode): the RP2350's own register facts and boot block, then the code it shares with the
 * RP2040 (ek_rp2_shared.h: clocks, UART, microphone on core 1).
 *
 * From the RP2350 datasheet: address map 2.2; RESETS 7.5 (bit numbers below); CLOCKS 8.1
 * (CLK_SYS_RESUS_CTRL at 0x84); PADS_BANK0 9.11 (ISO, bit 8: pads come out of reset
 * isolated until software clears it, and with their input disabled); the boot image: 5.9, a flash image needs a block
 * declaring it (IMAGE_DEF) within its first 4 KB, and no boot2 (the bootrom sets up the
 * flash interface for serial reads itself). Verified here: it compiles and links, the
 * block sits in the first 4 KB (tests); clocks, UART, microphone and core 1 only on
 * hardware. */
#include <stdint.h>

#define RESETS 0x40020000u
#define CLOCKS 0x40010000u
#define XOSC 0x40048000u
#define PLL_SYS 0x40050000u
#define IO_BANK0 0x40028000u
#define PADS_BANK0 0x40038000u
#define UART0 0x40070000u
#define CLK_SYS_RESUS_CTRL 0x84u
#define EK_RP2_PAD_ISO (1u << 8)

#define RESET_IO_BANK0 6u
#define RESET_PADS_BANK0 9u
#define RESET_PIO0 11u
#define RESET_PLL_SYS 14u
#define RESET_UART0 26u

/* The smallest block the bootrom accepts (RP2350 datasheet 5.9.1-5.9.3): start marker; an
 * IMAGE_TYPE item (type 0x42, one word) whose flags say executable (0x0001), secure
 * (0x0020), Arm (CPU 0 in bits 8-10), RP2350 (chip 1 in bits 12-14); the LAST item (0xff)
 * giving the size of the items before it (1 word); a link to the next block (0: itself,
 * the only one); end marker. With no VECTOR_TABLE item the bootrom takes the vector table
 * at the start of the image, which is where cortex_m.ld puts it. */
__attribute__((section(".isr_vector.block"), used))
static const uint32_t image_def[5] = {0xFFFFDED3u, 0x10210142u, 0x000001FFu, 0x00000000u, 0xAB123579u};

#include "ek_rp2_shared.h"
