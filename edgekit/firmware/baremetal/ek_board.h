/* ek_board: what the KWS firmware needs from a real board, bare-metal, and what a SoC's
 * board support file (baremetal/soc/ek_<soc>.c, named by the board file's `soc`) must
 * provide for it.
 *
 * Start-up (startup.c, -DEK_BOARD) calls ek_board_init(): the SoC's clock tree to F_CPU
 * (the board file's clock_hz, passed by the PlatformIO platform), SysTick at 1 kHz, the
 * UART log (printf goes there, "\n" sent as "\r\n"). Audio: 16 kHz int16 PCM waits in a
 * ring between the SoC's audio interrupt (producer) and main (consumer); the ring holds
 * EK_AUDIO_RING samples, more than the slowest board's inference (RP2040: ~270 ms,
 * README), so no sample is lost while the model runs; samples arriving on a full ring
 * are dropped and counted. Sources, by build flag:
 *   EK_AUDIO_PDM     the SoC's microphone path (hardware decimation, or raw PDM bits
 *                    through ek_audio_push_pdm: edgekit's CIC + FIR decimator, -DEK_PDM);
 *   EK_AUDIO_SERIAL  16-bit little-endian PCM sent by the host to the UART's RX at
 *                    EK_UART_BAUD (16 kHz x 2 bytes x 10 bits per byte needs 320 kbaud). */
#ifndef EK_BOARD_H
#define EK_BOARD_H
#include <stdint.h>

#define EK_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define EK_NVIC_ENABLE(irq) (EK_REG(0xE000E100u + 4u * ((irq) / 32u)) = 1u << ((irq) % 32u))  /* NVIC_ISERn */

#ifdef EK_AUDIO_SERIAL
#define EK_UART_BAUD 921600u
#else
#define EK_UART_BAUD 115200u
#endif
#define EK_AUDIO_RING 8192   /* samples, a power of two: 512 ms at 16 kHz */

/* --- the board, for the application --- */
void ek_board_init(void);
uint32_t ek_board_ms(void);            /* since ek_board_init, from SysTick */
int ek_audio_start(void);              /* 0: audio is flowing into the ring */
int ek_audio_read(int16_t *out, int n);   /* pops min(n, available) samples; returns how many */
int ek_audio_available(void);
uint32_t ek_audio_dropped(void);       /* samples lost to a full ring since the start */
extern const char ek_audio_source[];   /* what feeds the ring, for the start-up line */

/* --- for the SoC's interrupt handlers --- */
void ek_audio_push(int16_t sample);
void ek_audio_push_byte(uint8_t b);    /* serial PCM: low byte, then high byte */
void ek_audio_pdm_init(int lsb_first); /* the software decimator (EK_PDM builds) */
void ek_audio_push_pdm(const uint8_t *bits, int n);   /* n bytes of PDM, in arrival order */

/* --- provided by baremetal/soc/ek_<soc>.c --- */
void ek_soc_clock_init(void);          /* clock tree to F_CPU, flash wait states */
void ek_soc_uart_init(uint32_t baud);  /* the board's UART to the host (debug probe's VCP) */
void ek_soc_uart_putc(char c);
int ek_soc_audio_start(void);          /* microphone or UART RX; 0 on success */
#endif
