/* ek_board: the SoC-independent part of the real boards' bare-metal support (ek_board.h):
 * SysTick, printf over the UART, the audio ring. */
#include "ek_board.h"

#ifdef EK_PDM
#include "ek_pdm.h"
#endif

/* ARMv6-M/v7-M/v8-M SysTick (Arm v7-M ARM B3.3): CSR, RVR, CVR */
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u

static volatile uint32_t ms;

void SysTick_Handler(void) { ms++; }

uint32_t ek_board_ms(void) { return ms; }

static void systick_start(void) {
    EK_REG(SYST_RVR) = F_CPU / 1000u - 1u;   /* 24-bit reload: fine up to 16.7 GHz / 1000 */
    EK_REG(SYST_CVR) = 0;
    EK_REG(SYST_CSR) = 7u;                  /* processor clock, interrupt, enable */
}

void ek_board_init(void) {
    ek_soc_clock_init();
    systick_start();
    ek_soc_uart_init(EK_UART_BAUD);
}

/* newlib's printf ends here (libnosys provides the other stubs) */
int _write(int fd, const char *buf, int n) {
    (void)fd;
    for (int i = 0; i < n; i++) {
        if (buf[i] == '\n') ek_soc_uart_putc('\r');
        ek_soc_uart_putc(buf[i]);
    }
    return n;
}

/* Single producer (the audio interrupt; on the RP2040 core 1) / single consumer (main)
 * ring: each side writes only its own index; 32-bit index reads and writes are atomic on
 * Cortex-M, and none of these cores reorders stores to normal memory as the other side
 * sees them (no data cache on the M0+ / M4; the M7's D-cache stays off). */
static int16_t ring[EK_AUDIO_RING];
static volatile uint32_t head, tail, dropped;

void ek_audio_push(int16_t sample) {
    if (head - tail >= EK_AUDIO_RING) {
        dropped++;
        return;
    }
    ring[head % EK_AUDIO_RING] = sample;
    head++;
}

int ek_audio_available(void) { return (int)(head - tail); }

int ek_audio_read(int16_t *out, int n) {
    int got = 0;
    while (got < n && tail != head) {
        out[got++] = ring[tail % EK_AUDIO_RING];
        tail++;
    }
    return got;
}

uint32_t ek_audio_dropped(void) { return dropped; }

void ek_audio_push_byte(uint8_t b) {
    static int have_low;
    static uint8_t low;
    if (!have_low) {
        low = b;
        have_low = 1;
        return;
    }
    have_low = 0;
    ek_audio_push((int16_t)(uint16_t)(low | (uint16_t)b << 8));
}

int ek_audio_start(void) { return ek_soc_audio_start(); }

#ifdef EK_PDM
static ek_pdm pdm;

void ek_audio_pdm_init(int lsb_first) { ek_pdm_init(&pdm, lsb_first); }

void ek_audio_push_pdm(const uint8_t *bits, int n) {
    int16_t pcm[EK_PDM_MAX_OUT(64)];
    while (n > 0) {   /* in slices, so the PCM fits a small stack buffer */
        const int k = n < 64 ? n : 64;
        const int m = ek_pdm_process(&pdm, bits, k, pcm);
        for (int i = 0; i < m; i++) ek_audio_push(pcm[i]);
        bits += k;
        n -= k;
    }
}
#endif
