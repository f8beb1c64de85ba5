/* Board support for the Arduino Nano 33 BLE Sense (nRF52840): clocks, UART log, and the
 * on-board PDM microphone through the nRF52840's PDM peripheral, which decimates in
 * hardware and writes 16 kHz PCM by EasyDMA (ek_board.h).
 *
 * Registers from Nordic's nRF52840 Product Specification v1.x: memory map and instance
 * table (4.2.4 / "Instantiation"); CLOCK (HFCLKSTART task, HFCLKSTARTED event); NVMC
 * ICACHECNF; GPIO (P0 at 0x50000000, P1 at 0x50000300: OUTSET, DIRSET); UART (the
 * legacy UART at UARTE0's address 0x40002000: ENABLE = 4, PSEL.TXD/RXD, BAUDRATE values);
 * PDM (PDMCLKCTRL, RATIO, MODE, PSEL, SAMPLE.PTR/MAXCNT, STARTED and END events).
 * Board wiring from the Arduino Nano 33 BLE Sense schematic and core variant: microphone
 * MP34DT05 clock P0.26, data P0.25, power enable P0.17; pins D1/TX = P1.03, D0/RX = P1.10
 * (the USB port is the nRF52840's own USB device, which this firmware does not drive:
 * the log needs a 3.3 V USB-serial adapter on D1). Flash starts at 0x10000, above the
 * Arduino bootloader (board file), which stays and can upload this firmware.
 * Verified here: it compiles and links; clocks, UART and microphone only on hardware. */
#include "ek_board.h"

_Static_assert(F_CPU == 64000000, "the nRF52840's CPU runs at 64 MHz only (board file clock_hz)");

#define CLOCK 0x40000000u
#define NVMC_ICACHECNF 0x4001E540u
#define P0 0x50000000u
#define P1 0x50000300u
#define GPIO_OUTSET 0x508u
#define GPIO_DIRSET 0x518u
#define UART0 0x40002000u
#define PDM 0x4001D000u
#define PDM_IRQ 29u      /* peripheral ID of the PDM instance */

#define UART_TX_PIN (32u + 3u)   /* P1.03 (PSEL: port in bit 5) */
#define UART_RX_PIN (32u + 10u)  /* P1.10 */
#define MIC_CLK_PIN 26u          /* P0.26 */
#define MIC_DIN_PIN 25u          /* P0.25 */
#define MIC_PWR_PIN 17u          /* P0.17 */

/* Peripheral events are cleared by writing 0; reading back makes sure the write has
 * reached the peripheral before an interrupt handler returns (nRF52 PS, "Peripheral
 * interface": otherwise the interrupt may fire again). */
static void clear_event(uint32_t reg) {
    EK_REG(reg) = 0;
    (void)EK_REG(reg);
}

void ek_soc_clock_init(void) {
    /* the CPU always runs at 64 MHz from HFCLK; the crystal (HFXO) instead of the internal
     * RC oscillator makes it, and the PDM clock derived from it, accurate */
    clear_event(CLOCK + 0x100u);                     /* EVENTS_HFCLKSTARTED */
    EK_REG(CLOCK + 0x000u) = 1u;                     /* TASKS_HFCLKSTART */
    while (!EK_REG(CLOCK + 0x100u)) {}
    EK_REG(NVMC_ICACHECNF) = 1u;                     /* CACHEEN: flash instruction cache */
}

void ek_soc_uart_init(uint32_t baud) {
    EK_REG(P1 + GPIO_OUTSET) = 1u << (UART_TX_PIN - 32u);   /* TX idles high */
    EK_REG(P1 + GPIO_DIRSET) = 1u << (UART_TX_PIN - 32u);
    EK_REG(UART0 + 0x50Cu) = UART_TX_PIN;            /* PSEL.TXD */
    EK_REG(UART0 + 0x514u) = UART_RX_PIN;            /* PSEL.RXD */
    /* BAUDRATE register values (PS, UART BAUDRATE): 921600 and 115200 */
    EK_REG(UART0 + 0x524u) = baud == 921600u ? 0x0F000000u : 0x01D7E000u;
    EK_REG(UART0 + 0x500u) = 4u;                     /* ENABLE: UART */
    EK_REG(UART0 + 0x008u) = 1u;                     /* TASKS_STARTTX */
}

void ek_soc_uart_putc(char c) {
    clear_event(UART0 + 0x11Cu);                     /* EVENTS_TXDRDY */
    EK_REG(UART0 + 0x51Cu) = (uint8_t)c;             /* TXD */
    while (!EK_REG(UART0 + 0x11Cu)) {}
}

#ifdef EK_AUDIO_PDM
const char ek_audio_source[] = "on-board PDM microphone (nRF52840 PDM, 16 kHz by EasyDMA)";

/* Two 16 ms buffers: while EasyDMA fills one, the other is copied into the ring. The PDM
 * latches SAMPLE.PTR at STARTED, so the next buffer is given then; END: one is full. */
#define BUF_SAMPLES 256u
static int16_t buf[2][BUF_SAMPLES];
static int filling;

static void pdm_irq(void) {
    if (EK_REG(PDM + 0x108u)) {                      /* EVENTS_END: buf[filling] is full */
        clear_event(PDM + 0x108u);
        for (uint32_t i = 0; i < BUF_SAMPLES; i++) ek_audio_push(buf[filling][i]);
        filling ^= 1;
    }
    if (EK_REG(PDM + 0x100u)) {                      /* EVENTS_STARTED: give the next one */
        clear_event(PDM + 0x100u);
        EK_REG(PDM + 0x560u) = (uint32_t)buf[filling ^ 1];   /* SAMPLE.PTR */
    }
}

int ek_soc_audio_start(void) {
    EK_REG(P0 + GPIO_OUTSET) = 1u << MIC_PWR_PIN;    /* power the microphone */
    EK_REG(P0 + GPIO_DIRSET) = 1u << MIC_PWR_PIN;
    EK_REG(PDM + 0x540u) = MIC_CLK_PIN;              /* PSEL.CLK */
    EK_REG(PDM + 0x544u) = MIC_DIN_PIN;              /* PSEL.DIN */
    /* 16 kHz = 1.280 MHz PDM clock / ratio 80 (nRF52840 only; the default 1.032 MHz / 64
     * gives 16.125 kHz) */
    EK_REG(PDM + 0x504u) = 0x0A000000u;              /* PDMCLKCTRL: 1280K */
    EK_REG(PDM + 0x520u) = 1u;                       /* RATIO: 80 */
    EK_REG(PDM + 0x508u) = 1u;                       /* MODE: mono, left channel on the falling edge */
    EK_REG(PDM + 0x560u) = (uint32_t)buf[0];         /* SAMPLE.PTR */
    EK_REG(PDM + 0x564u) = BUF_SAMPLES;              /* SAMPLE.MAXCNT, in samples */
    EK_REG(PDM + 0x304u) = 1u << 0 | 1u << 2;        /* INTENSET: STARTED, END */
    EK_NVIC_ENABLE(PDM_IRQ);
    EK_REG(PDM + 0x500u) = 1u;                       /* ENABLE */
    EK_REG(PDM + 0x000u) = 1u;                       /* TASKS_START */
    return 0;
}

__attribute__((section(".isr_vector.irq"), used))
static void (*const irq_vectors[PDM_IRQ + 1])(void) = {[PDM_IRQ] = pdm_irq};
#else
#error "the Nano 33 BLE Sense's firmware takes its microphone (EK_AUDIO_PDM)"
#endif
