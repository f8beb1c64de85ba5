/* Board support for the NUCLEO-L4R5ZI (STM32L4R5ZI): clock tree from HSI16 through the
 * main PLL, LPUART1 log, and 16-bit PCM from the host on LPUART1's RX (ek_board.h,
 * EK_AUDIO_SERIAL; the board has no microphone).
 *
 * Register addresses and fields from ST RM0432 (STM32L4+ reference manual): memory map
 * 2.2.2; RCC 6.4 (CR, CFGR, PLLCFGR, AHB2ENR, APB1ENR1, APB1ENR2); PWR 5.4 (CR1.VOS,
 * CR2.IOSV: port G's VDDIO2, CR5.R1MODE: range 1 boost, needed above 80 MHz, with the
 * AHB clock divided by 2 for 1 us while switching, 5.1.8); FLASH 3.7.1 (ACR; 5 wait
 * states at 120 MHz, Table 12); GPIO 8.5; LPUART 38.7 (CR1, BRR = 256 fck / baud, ISR,
 * ICR, RDR, TDR). Board wiring from ST UM2179: the ST-LINK virtual COM port on LPUART1,
 * PG7 (TX) / PG8 (RX), AF8.
 * Verified here: it compiles and links; clocks and UART only on hardware. */
#include "ek_board.h"

#define HSI_HZ 16000000u
#define PLL_IN_HZ 8000000u  /* HSI16 / M, M = 2 (RM0432: 2.66-16 MHz) */

#define RCC 0x40021000u
#define RCC_CR (RCC + 0x00u)
#define RCC_CFGR (RCC + 0x08u)
#define RCC_PLLCFGR (RCC + 0x0Cu)
#define RCC_AHB2ENR (RCC + 0x4Cu)
#define RCC_APB1ENR1 (RCC + 0x58u)
#define RCC_APB1ENR2 (RCC + 0x5Cu)
#define PWR 0x40007000u
#define FLASH_ACR 0x40022000u
#define GPIOG 0x48001800u
#define LPUART1 0x40008000u
#define LPUART1_IRQ 70u

#define PLL_N (2u * F_CPU / PLL_IN_HZ)   /* sysclk = HSI16 / M * N / R, R = 2 */
_Static_assert(F_CPU % (PLL_IN_HZ / 2u) == 0 && PLL_N >= 8u && PLL_N <= 30u, "F_CPU: 32-120 MHz in 4 MHz steps");
#define FLASH_WS ((F_CPU - 1u) / 20000000u)   /* RM0432 Table 12, range 1 boost: 20 MHz per wait state */

static void wait_set(uint32_t reg, uint32_t mask) {
    while (!(EK_REG(reg) & mask)) {}
}

void ek_soc_clock_init(void) {
    EK_REG(RCC_CR) |= 1u << 8;                       /* HSION */
    wait_set(RCC_CR, 1u << 10);                      /* HSIRDY */
    EK_REG(RCC_APB1ENR1) |= 1u << 28;                /* PWREN */
    EK_REG(PWR + 0x80u) &= ~(1u << 8);               /* CR5.R1MODE = 0: range 1 boost */
    EK_REG(FLASH_ACR) = FLASH_WS | 1u << 8 | 1u << 9 | 1u << 10;   /* LATENCY, PRFTEN, ICEN, DCEN */
    EK_REG(RCC_PLLCFGR) = 2u                          /* PLLSRC = HSI16 */
                        | (HSI_HZ / PLL_IN_HZ - 1u) << 4 | PLL_N << 8
                        | 1u << 24 | 0u << 25;        /* PLLREN, PLLR = /2 */
    EK_REG(RCC_CR) |= 1u << 24;                      /* PLLON */
    wait_set(RCC_CR, 1u << 25);                      /* PLLRDY */
    EK_REG(RCC_CFGR) = 8u << 4;                      /* AHB /2 for the switch (RM0432 6.2.9) */
    EK_REG(RCC_CFGR) |= 3u;                          /* SW = PLL */
    while ((EK_REG(RCC_CFGR) & 0xCu) != 0xCu) {}     /* SWS = PLL */
    for (volatile uint32_t i = 0; i < F_CPU / 2000000u; i++) {}   /* >= 1 us at HCLK / 2 */
    EK_REG(RCC_CFGR) &= ~(0xFu << 4);                /* AHB /1, APB1 and APB2 /1 */
}

void ek_soc_uart_init(uint32_t baud) {
    EK_REG(PWR + 0x04u) |= 1u << 9;                  /* CR2.IOSV: port G's supply valid */
    EK_REG(RCC_AHB2ENR) |= 1u << 6;                  /* GPIOGEN */
    for (uint32_t pin = 7; pin <= 8; pin++) {        /* PG7 LPUART1_TX, PG8 LPUART1_RX: AF8 */
        EK_REG(GPIOG + 0x00u) = (EK_REG(GPIOG + 0x00u) & ~(3u << 2 * pin)) | 2u << 2 * pin;
        const uint32_t afr = GPIOG + (pin < 8u ? 0x20u : 0x24u), shift = 4u * (pin % 8u);
        EK_REG(afr) = (EK_REG(afr) & ~(0xFu << shift)) | 8u << shift;
    }
    EK_REG(RCC_APB1ENR2) |= 1u << 0;                 /* LPUART1EN (clock: PCLK1 = F_CPU) */
    EK_REG(LPUART1 + 0x0Cu) = (uint32_t)(((uint64_t)F_CPU * 256u + baud / 2u) / baud);   /* BRR */
    EK_REG(LPUART1 + 0x00u) = 1u << 0 | 1u << 2 | 1u << 3;   /* CR1: UE, RE, TE */
}

void ek_soc_uart_putc(char c) {
    while (!(EK_REG(LPUART1 + 0x1Cu) & 1u << 7)) {}  /* ISR.TXE */
    EK_REG(LPUART1 + 0x28u) = (uint8_t)c;            /* TDR */
}

#ifdef EK_AUDIO_SERIAL
const char ek_audio_source[] = "16-bit 16 kHz PCM on LPUART1 RX (ST-LINK virtual COM port, 921600 baud)";

static void lpuart1_irq(void) {
    EK_REG(LPUART1 + 0x20u) = 1u << 3;               /* ICR.ORECF */
    while (EK_REG(LPUART1 + 0x1Cu) & 1u << 5)        /* ISR.RXNE */
        ek_audio_push_byte((uint8_t)EK_REG(LPUART1 + 0x24u));   /* RDR */
}

int ek_soc_audio_start(void) {
    EK_REG(LPUART1 + 0x00u) |= 1u << 5;              /* CR1.RXNEIE */
    EK_NVIC_ENABLE(LPUART1_IRQ);
    return 0;
}

__attribute__((section(".isr_vector.irq"), used))
static void (*const irq_vectors[LPUART1_IRQ + 1])(void) = {[LPUART1_IRQ] = lpuart1_irq};
#else
#error "this board's firmware takes serial PCM (EK_AUDIO_SERIAL)"
#endif
