/* Second-stage bootloader of the RP2040 (its datasheet, 2.8 "Bootrom", 2.8.1.3: the
 * bootrom copies the first 256 bytes of flash to SRAM (0x20041f00) and runs them only if
 * the CRC-32 of the first 252 bytes (polynomial 0x04c11db7, initial value 0xffffffff, no
 * reflection, no final XOR) is stored little-endian in the last 4). It sets up the XIP
 * block's SSI (a Synopsys DW_apb_ssi, datasheet 4.10.13) for plain serial 03h reads,
 * which every QSPI flash chip takes (the Pico's W25Q16JV up to 50 MHz: BAUDR 4 gives
 * clk_sys / 4, 33 MHz at 133 MHz), then points VTOR at the vector table that follows
 * it (flash + 0x100), loads its stack pointer and jumps to its reset handler.
 * Position independent (literal-pool loads only): it runs from its SRAM copy.
 * edgekit.deploy.boot2 assembles it and appends the CRC; written for edgekit. */
    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .section .text
    .global ek_boot2_entry
    .type ek_boot2_entry, %function
ek_boot2_entry:
    ldr r3, =0x18000000          /* XIP_SSI base */
    movs r0, #0
    str r0, [r3, #0x08]          /* SSIENR = 0: the SSI is configured while disabled */
    movs r0, #4
    str r0, [r3, #0x14]          /* BAUDR: SCK = clk_sys / 4 */
    ldr r0, =((31 << 16) | (3 << 8))
    str r0, [r3, #0x00]          /* CTRLR0: DFS_32 = 31 (32-bit frames), TMOD = 3 (EEPROM read) */
    movs r0, #0
    str r0, [r3, #0x04]          /* CTRLR1: NDF = 0, one data frame per XIP access */
    ldr r1, =0x180000f4          /* SPI_CTRLR0 (beyond a str immediate's reach) */
    ldr r0, =((0x03 << 24) | (2 << 8) | (6 << 2))
    str r0, [r1]                 /* XIP_CMD = 03h, INST_L = 8 bits, ADDR_L = 24 bits, all serial */
    movs r0, #1
    str r0, [r3, #0x08]          /* SSIENR = 1 */
    ldr r0, =0x10000100          /* the vector table, after this block */
    ldr r1, =0xe000ed08          /* VTOR */
    str r0, [r1]
    ldmia r0!, {r1, r2}          /* initial SP, reset handler */
    msr msp, r1
    bx r2
    .ltorg
