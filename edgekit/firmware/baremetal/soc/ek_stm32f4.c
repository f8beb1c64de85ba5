/* Board support for the STM32F4 Discovery (STM32F407VG): clock tree, USART2 log, and the
 * MP45DT02 PDM microphone on I2S2 into edgekit's software decimator (ek_board.h); with
 * EK_AUDIO_SERIAL instead, 16-bit PCM from the host on USART2's RX (the netduinoplus2
 * board: QEMU's STM32F405, which models the USARTs but not I2S).
 *
 * Register addresses and fields from ST RM0090 (STM32F405/407 reference manual): memory
 * map 2.3; RCC 7.3 (CR, PLLCFGR, CFGR, AHB1ENR, APB1ENR, PLLI2SCFGR); PWR 5.4.1 (CR.VOS);
 * FLASH 3.9.1 (ACR); GPIO 8.4; USART 30.6; SPI/I2S 28.5; DMA 10.5 (stream 3 = SPI2_RX,
 * channel 0: Table 42). Board wiring from ST UM1472 (the Discovery's user manual): 8 MHz
 * crystal on HSE; MP45DT02 clock on PB10 (I2S2_CK, AF5), data on PC3 (I2S2_SD, AF5);
 * USART2 on PA2 (TX) / PA3 (RX), AF7, which the ST-LINK/V2-A of board revision MB997D
 * and later bridges to its virtual COM port (older revisions: a USB-serial adapter).
 * Verified here: it compiles and links; in QEMU netduinoplus2 (STM32F405: same core, flash,
 * SRAM and USART2): start-up, the USART2 log and serial PCM in (the KWS firmware
 * end to end). QEMU 7.2 models no RCC and no flash interface (both read 0, writes are
 * ignored), so the clock tree and the microphone only on hardware. */
#include "ek_board.h"

#ifdef EK_PDM
#include "ek_pdm_tables.h"
#endif

#define HSE_HZ 8000000u     /* the Discovery's crystal (UM1472) */
#define PLL_IN_HZ 1000000u  /* PLL input after /M: RM0090 recommends 2 MHz, allows 1-2 MHz */

#define RCC 0x40023800u
#define RCC_CR (RCC + 0x00u)
#define RCC_PLLCFGR (RCC + 0x04u)
#define RCC_CFGR (RCC + 0x08u)
#define RCC_AHB1ENR (RCC + 0x30u)
#define RCC_APB1ENR (RCC + 0x40u)
#define RCC_PLLI2SCFGR (RCC + 0x84u)
#define PWR_CR 0x40007000u
#define FLASH_ACR 0x40023C00u
#define GPIO(port) (0x40020000u + 0x400u * (port))   /* A = 0, B = 1, C = 2 */
#define USART2 0x40004400u
#define SPI2 0x40003800u
#define DMA1 0x40026000u
#define DMA1_S3CR (DMA1 + 0x10u + 0x18u * 3u)   /* stream 3: CR, NDTR, PAR, M0AR follow */
#define DMA1_STREAM3_IRQ 14u
#define USART2_IRQ 38u   /* RM0090, vector table (Interrupts and events): position 38 */

/* sysclk = HSE / M * N / P with P = 2: N follows from F_CPU (RM0090 6.3.2: 50 <= N <= 432,
 * VCO 100-432 MHz; sysclk at most 168 MHz) */
#define PLL_N (2u * F_CPU / PLL_IN_HZ)
_Static_assert(F_CPU % (PLL_IN_HZ / 2u) == 0 && PLL_N >= 50u && PLL_N <= 336u, "F_CPU: 25-168 MHz in 0.5 MHz steps");
/* RM0090 3.5.1 Table 10, 2.7-3.6 V: one more wait state per 30 MHz of HCLK */
#define FLASH_WS ((F_CPU - 1u) / 30000000u)
#define PCLK1_HZ (F_CPU / 4u)   /* APB1 at most 42 MHz */

/* The core runs from HSI after reset, so RCC_CR.HSIRDY reads 1 on every STM32F4; a 0 means
 * no RCC is there (QEMU's netduinoplus2 leaves it unimplemented: reads 0, writes ignored,
 * and its core clock is 168 MHz regardless), where waiting for a ready bit would never end. */
static int rcc_present;

static void wait_set(uint32_t reg, uint32_t mask) {
    while (rcc_present && !(EK_REG(reg) & mask)) {}
}

void ek_soc_clock_init(void) {
    rcc_present = (EK_REG(RCC_CR) & 1u << 1) != 0;   /* HSIRDY */
    EK_REG(RCC_CR) |= 1u << 16;                      /* HSEON */
    wait_set(RCC_CR, 1u << 17);                      /* HSERDY */
    EK_REG(RCC_APB1ENR) |= 1u << 28;                 /* PWREN */
    EK_REG(PWR_CR) |= 1u << 14;                      /* VOS: scale 1, needed above 144 MHz */
    EK_REG(FLASH_ACR) = FLASH_WS | 1u << 8 | 1u << 9 | 1u << 10;   /* LATENCY, PRFTEN, ICEN, DCEN */
    EK_REG(RCC_CFGR) = 5u << 10 | 4u << 13;          /* AHB /1, APB1 /4, APB2 /2 */
    EK_REG(RCC_PLLCFGR) = HSE_HZ / PLL_IN_HZ         /* PLLM */
                        | PLL_N << 6 | 0u << 16      /* PLLP = /2 */
                        | 1u << 22                   /* PLLSRC = HSE */
                        | (2u * F_CPU / 48000000u) << 24;   /* PLLQ: USB's 48 MHz (unused) */
    EK_REG(RCC_CR) |= 1u << 24;                      /* PLLON */
    wait_set(RCC_CR, 1u << 25);                      /* PLLRDY */
    EK_REG(RCC_CFGR) |= 2u;                          /* SW = PLL */
    while (rcc_present && (EK_REG(RCC_CFGR) & 0xCu) != 0x8u) {}   /* SWS = PLL */
}

/* GPIO pin to alternate function af (MODER = 10, AFRL/AFRH), high speed */
static void pin_af(uint32_t port, uint32_t pin, uint32_t af) {
    const uint32_t g = GPIO(port);
    EK_REG(RCC_AHB1ENR) |= 1u << port;
    EK_REG(g + 0x00u) = (EK_REG(g + 0x00u) & ~(3u << 2 * pin)) | 2u << 2 * pin;
    EK_REG(g + 0x08u) |= 2u << 2 * pin;
    const uint32_t afr = g + (pin < 8u ? 0x20u : 0x24u), shift = 4u * (pin % 8u);
    EK_REG(afr) = (EK_REG(afr) & ~(0xFu << shift)) | af << shift;
}

void ek_soc_uart_init(uint32_t baud) {
    pin_af(0, 2, 7);                                 /* PA2 USART2_TX */
    pin_af(0, 3, 7);                                 /* PA3 USART2_RX */
    EK_REG(RCC_APB1ENR) |= 1u << 17;                 /* USART2EN */
    EK_REG(USART2 + 0x08u) = (PCLK1_HZ + baud / 2u) / baud;   /* BRR, oversampling by 16 */
    EK_REG(USART2 + 0x0Cu) = 1u << 13 | 1u << 3 | 1u << 2;    /* CR1: UE, TE, RE */
}

void ek_soc_uart_putc(char c) {
    while (!(EK_REG(USART2 + 0x00u) & 1u << 7)) {}   /* SR.TXE */
    EK_REG(USART2 + 0x04u) = (uint8_t)c;
}

#ifdef EK_AUDIO_PDM
const char ek_audio_source[] = "MP45DT02 PDM microphone on I2S2 (edgekit CIC + FIR decimator)";

/* I2S2 is a 16-bit master receiver whose bit clock is the microphone's PDM clock; DMA
 * writes its half-words into a circular buffer of two halves of 1 ms each. */
#define HALF_WORDS (EK_PDM_RATE / 1000u / 16u)
static uint16_t dma_buf[2 * HALF_WORDS];

/* I2S clock: PLLI2S at 1 MHz x 256 / 2 = 128 MHz; bit clock = 128 MHz / (2 x 62 + 1)
 * = 1.024 MHz (RM0090 28.4.4: with MCKOE = 0, CK = I2SxCLK / (2 I2SDIV + ODD)). */
#define PLLI2S_N 256u
#define PLLI2S_R 2u
#define I2S_DIV_ODD (PLL_IN_HZ * PLLI2S_N / PLLI2S_R / EK_PDM_RATE)   /* 2 I2SDIV + ODD */
_Static_assert(PLL_IN_HZ * PLLI2S_N / PLLI2S_R % EK_PDM_RATE == 0, "PDM clock not reachable from PLLI2S");

static void i2s_clock_start(void) {
    EK_REG(RCC_PLLI2SCFGR) = PLLI2S_N << 6 | PLLI2S_R << 28;
    EK_REG(RCC_CR) |= 1u << 26;                      /* PLLI2SON */
    wait_set(RCC_CR, 1u << 27);                      /* PLLI2SRDY */
}

static void dma_start(void) {
    EK_REG(RCC_AHB1ENR) |= 1u << 21;                 /* DMA1EN */
    EK_REG(DMA1_S3CR + 0x04u) = 2u * HALF_WORDS;     /* NDTR */
    EK_REG(DMA1_S3CR + 0x08u) = SPI2 + 0x0Cu;        /* PAR: SPI2_DR */
    EK_REG(DMA1_S3CR + 0x0Cu) = (uint32_t)dma_buf;   /* M0AR */
    /* channel 0, 16-bit memory and peripheral, memory increment, circular, peripheral to
     * memory, half- and full-transfer interrupts, enable */
    EK_REG(DMA1_S3CR) = 1u << 13 | 1u << 11 | 1u << 10 | 1u << 8 | 1u << 4 | 1u << 3 | 1u;
    EK_NVIC_ENABLE(DMA1_STREAM3_IRQ);
}

int ek_soc_audio_start(void) {
    ek_audio_pdm_init(0);                            /* I2S shifts MSB first */
    pin_af(1, 10, 5);                                /* PB10 I2S2_CK: the microphone's clock */
    pin_af(2, 3, 5);                                 /* PC3 I2S2_SD: its data */
    i2s_clock_start();
    EK_REG(RCC_APB1ENR) |= 1u << 14;                 /* SPI2EN */
    EK_REG(SPI2 + 0x20u) = I2S_DIV_ODD / 2u | (I2S_DIV_ODD % 2u) << 8;   /* I2SPR: I2SDIV, ODD */
    /* I2SCFGR: I2S mode, master receive, LSB-justified standard, clock idle high, 16-bit
     * (ST's own choice for this microphone; the standard only moves WS, which is unused) */
    EK_REG(SPI2 + 0x1Cu) = 1u << 11 | 3u << 8 | 2u << 4 | 1u << 3;
    EK_REG(SPI2 + 0x04u) = 1u;                       /* CR2: RXDMAEN */
    dma_start();
    EK_REG(SPI2 + 0x1Cu) |= 1u << 10;                /* I2SE */
    return 0;
}

/* The first bit on the wire is each half-word's bit 15: bytes in wire order for ek_pdm */
static void decimate(const uint16_t *hw) {
    uint8_t bytes[2 * HALF_WORDS];
    for (uint32_t i = 0; i < HALF_WORDS; i++) {
        bytes[2 * i] = (uint8_t)(hw[i] >> 8);
        bytes[2 * i + 1] = (uint8_t)hw[i];
    }
    ek_audio_push_pdm(bytes, (int)sizeof bytes);
}

static void dma1_stream3_irq(void) {
    const uint32_t lisr = EK_REG(DMA1 + 0x00u);
    EK_REG(DMA1 + 0x08u) = lisr & (0x3Du << 22);     /* LIFCR: clear stream 3's flags */
    if (lisr & 1u << 26) decimate(dma_buf);           /* HTIF3: first half full */
    if (lisr & 1u << 27) decimate(dma_buf + HALF_WORDS);   /* TCIF3: second half */
}

__attribute__((section(".isr_vector.irq"), used))
static void (*const irq_vectors[DMA1_STREAM3_IRQ + 1])(void) = {[DMA1_STREAM3_IRQ] = dma1_stream3_irq};
#elif defined(EK_AUDIO_SERIAL)
const char ek_audio_source[] = "16-bit 16 kHz PCM on USART2 RX (921600 baud)";

/* Reading SR then DR clears RXNE and an overrun (SR.ORE): a lost byte, not a stuck UART */
static void usart2_irq(void) {
    while (EK_REG(USART2 + 0x00u) & (1u << 5 | 1u << 3))   /* SR.RXNE, SR.ORE */
        ek_audio_push_byte((uint8_t)EK_REG(USART2 + 0x04u));
}

int ek_soc_audio_start(void) {
    EK_REG(USART2 + 0x0Cu) |= 1u << 5;               /* CR1.RXNEIE */
    EK_NVIC_ENABLE(USART2_IRQ);
    return 0;
}

__attribute__((section(".isr_vector.irq"), used))
static void (*const irq_vectors[USART2_IRQ + 1])(void) = {[USART2_IRQ] = usart2_irq};
#else
#error "the STM32F4 firmware takes the microphone (EK_AUDIO_PDM) or serial PCM (EK_AUDIO_SERIAL)"
#endif
