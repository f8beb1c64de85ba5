/* Board support for the 32F746G-DISCOVERY (STM32F746NG): clock tree, instruction cache,
 * USART1 log, and 16-bit PCM from the host on USART1's RX (ek_board.h, EK_AUDIO_SERIAL).
 * The board's MEMS microphones sit behind a WM8994 codec on SAI2, which this firmware
 * does not drive.
 *
 * Register addresses and fields from ST RM0385 (STM32F75x/74x reference manual): memory
 * map 2.2.2; RCC 5.3 (CR, PLLCFGR, CFGR, AHB1ENR, APB1ENR, APB2ENR); PWR 4.4 (CR1.ODEN /
 * ODSWEN, CSR1.ODRDY / ODSWRDY: over-drive, needed above 180 MHz, 4.1.4); FLASH 3.7.1
 * (ACR); GPIO 6.4; USART 34.8 (CR1, BRR, ISR, ICR, RDR, TDR). Cortex-M7 cache maintenance:
 * Arm v7-M ARM B2.2.7 (ICIALLU) and the M7 TRM (CCR.IC). Board wiring from ST UM1907: 25 MHz
 * crystal on HSE; the ST-LINK/V2-1 virtual COM port on USART1, PA9 (TX) / PB7 (RX), AF7.
 * Verified here: it compiles and links; clocks, cache and UART only on hardware. */
#include "ek_board.h"

#define HSE_HZ 25000000u    /* UM1907 */
#define PLL_IN_HZ 1000000u  /* after /M (RM0385: 1-2 MHz) */

#define RCC 0x40023800u
#define RCC_CR (RCC + 0x00u)
#define RCC_PLLCFGR (RCC + 0x04u)
#define RCC_CFGR (RCC + 0x08u)
#define RCC_AHB1ENR (RCC + 0x30u)
#define RCC_APB1ENR (RCC + 0x40u)
#define RCC_APB2ENR (RCC + 0x44u)
#define PWR_CR1 0x40007000u
#define PWR_CSR1 0x40007004u
#define FLASH_ACR 0x40023C00u
#define GPIO(port) (0x40020000u + 0x400u * (port))   /* A = 0, B = 1 */
#define USART1 0x40011000u
#define USART1_IRQ 37u

#define PLL_N (2u * F_CPU / PLL_IN_HZ)   /* sysclk = HSE / M * N / 2 */
_Static_assert(F_CPU % (PLL_IN_HZ / 2u) == 0 && PLL_N >= 50u && PLL_N <= 432u, "F_CPU: 25-216 MHz in 0.5 MHz steps");
#define FLASH_WS ((F_CPU - 1u) / 30000000u)   /* RM0385 Table 5, 2.7-3.6 V */
#define PCLK2_HZ (F_CPU / 2u)                 /* APB2 at most 108 MHz */

static void wait_set(uint32_t reg, uint32_t mask) {
    while (!(EK_REG(reg) & mask)) {}
}

static void icache_enable(void) {
    __asm volatile("dsb\n isb");
    EK_REG(0xE000EF50u) = 0;                         /* ICIALLU: invalidate */
    __asm volatile("dsb\n isb");
    EK_REG(0xE000ED14u) |= 1u << 17;                 /* CCR.IC */
    __asm volatile("dsb\n isb");
}

void ek_soc_clock_init(void) {
    EK_REG(RCC_CR) |= 1u << 16;                      /* HSEON */
    wait_set(RCC_CR, 1u << 17);                      /* HSERDY */
    EK_REG(RCC_APB1ENR) |= 1u << 28;                 /* PWREN */
    EK_REG(PWR_CR1) |= 3u << 14;                     /* VOS: scale 1 */
    EK_REG(RCC_PLLCFGR) = HSE_HZ / PLL_IN_HZ | PLL_N << 6 | 0u << 16 | 1u << 22   /* M, N, P = /2, HSE */
                        | ((2u * F_CPU + 47999999u) / 48000000u) << 24;            /* Q: <= 48 MHz (unused) */
    EK_REG(RCC_CR) |= 1u << 24;                      /* PLLON */
    wait_set(RCC_CR, 1u << 25);                      /* PLLRDY */
    if (F_CPU > 180000000u) {                        /* over-drive (RM0385 4.1.4) */
        EK_REG(PWR_CR1) |= 1u << 16;                 /* ODEN */
        wait_set(PWR_CSR1, 1u << 16);                /* ODRDY */
        EK_REG(PWR_CR1) |= 1u << 17;                 /* ODSWEN */
        wait_set(PWR_CSR1, 1u << 17);                /* ODSWRDY */
    }
    EK_REG(FLASH_ACR) = FLASH_WS | 1u << 8 | 1u << 9;   /* LATENCY, PRFTEN, ARTEN */
    EK_REG(RCC_CFGR) = 5u << 10 | 4u << 13;          /* AHB /1, APB1 /4, APB2 /2 */
    EK_REG(RCC_CFGR) |= 2u;                          /* SW = PLL */
    while ((EK_REG(RCC_CFGR) & 0xCu) != 0x8u) {}     /* SWS = PLL */
    icache_enable();
}

static void pin_af(uint32_t port, uint32_t pin, uint32_t af) {
    const uint32_t g = GPIO(port);
    EK_REG(RCC_AHB1ENR) |= 1u << port;
    EK_REG(g + 0x00u) = (EK_REG(g + 0x00u) & ~(3u << 2 * pin)) | 2u << 2 * pin;   /* MODER: AF */
    const uint32_t afr = g + (pin < 8u ? 0x20u : 0x24u), shift = 4u * (pin % 8u);
    EK_REG(afr) = (EK_REG(afr) & ~(0xFu << shift)) | af << shift;
}

void ek_soc_uart_init(uint32_t baud) {
    pin_af(0, 9, 7);                                 /* PA9 USART1_TX */
    pin_af(1, 7, 7);                                 /* PB7 USART1_RX */
    EK_REG(RCC_APB2ENR) |= 1u << 4;                  /* USART1EN */
    EK_REG(USART1 + 0x0Cu) = (PCLK2_HZ + baud / 2u) / baud;   /* BRR, oversampling by 16 */
    EK_REG(USART1 + 0x00u) = 1u << 0 | 1u << 2 | 1u << 3;     /* CR1: UE, RE, TE */
}

void ek_soc_uart_putc(char c) {
    while (!(EK_REG(USART1 + 0x1Cu) & 1u << 7)) {}   /* ISR.TXE */
    EK_REG(USART1 + 0x28u) = (uint8_t)c;             /* TDR */
}

#ifdef EK_AUDIO_SERIAL
const char ek_audio_source[] = "16-bit 16 kHz PCM on USART1 RX (ST-LINK virtual COM port, 921600 baud)";

static void usart1_irq(void) {
    EK_REG(USART1 + 0x20u) = 1u << 3;                /* ICR.ORECF: an overrun loses a byte, not the UART */
    while (EK_REG(USART1 + 0x1Cu) & 1u << 5)         /* ISR.RXNE */
        ek_audio_push_byte((uint8_t)EK_REG(USART1 + 0x24u));   /* RDR */
}

int ek_soc_audio_start(void) {
    EK_REG(USART1 + 0x00u) |= 1u << 5;               /* CR1.RXNEIE */
    EK_NVIC_ENABLE(USART1_IRQ);
    return 0;
}

__attribute__((section(".isr_vector.irq"), used))
static void (*const irq_vectors[USART1_IRQ + 1])(void) = {[USART1_IRQ] = usart1_irq};
#else
#error "this board's firmware takes serial PCM (EK_AUDIO_SERIAL)"
#endif
