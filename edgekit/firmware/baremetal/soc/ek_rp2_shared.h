/* ek_rp2_shared.h: the board support the RP2040 (Pico) and the RP2350 (Pico 2) share,
 * included once by ek_rp2040.c or ek_rp2350.c after they define their chip's facts:
 * register block bases (RESETS, CLOCKS, XOSC, PLL_SYS, IO_BANK0, PADS_BANK0, UART0),
 * RESET_* bit numbers, CLK_SYS_RESUS_CTRL's offset, and EK_RP2_PAD_ISO (the RP2350's pads
 * power up isolated). Everything else below has the same registers, offsets and fields in
 * both datasheets (RP2040 / RP2350): CLOCKS (CLK_REF_CTRL 0x30, CLK_SYS_CTRL 0x3c, their
 * _SELECTED, CLK_PERI_CTRL 0x48), XOSC, PLL (CS, PWR, FBDIV_INT, PRIM; VCO 750-1600 MHz,
 * post dividers 1-7), IO_BANK0 (GPIOn_CTRL FUNCSEL: 2 = UART, 6 = PIO0), the Arm PL011
 * UART, PIO (CTRL, FSTAT, RXF0, INSTR_MEM, SM0_* registers; instruction encodings), SIO's
 * inter-core FIFO and the bootrom's protocol that starts core 1.
 *
 * Clocks from the 12 MHz crystal through PLL_SYS to F_CPU; UART0 log on GP0 (TX) / GP1
 * (RX), the Picos' default UART and what the Raspberry Pi Debug Probe connects to; a PDM
 * microphone (an external breakout: neither Pico has one) on GP2 (data) / GP3 (clock),
 * the wiring of Raspberry Pi's pico-microphone examples, clocked and sampled by a PIO
 * state machine and decimated by edgekit's decimator on core 1. */
#include "ek_board.h"

#ifdef EK_PDM
#include "ek_pdm_tables.h"
#endif

#define XOSC_HZ 12000000u
#define PIO0 0x50200000u
#define SIO 0xD0000000u        /* FIFO_ST 0x050, FIFO_WR 0x054, FIFO_RD 0x058 */
#define SET 0x2000u            /* atomic bit-set alias of every APB register */
#define CLR 0x3000u            /* atomic bit-clear alias */

#define UART_TX_PIN 0u
#define UART_RX_PIN 1u
#define MIC_DATA_PIN 2u
#define MIC_CLK_PIN 3u

static void unreset(uint32_t bits) {
    EK_REG(RESETS + CLR + 0x0u) = bits;              /* RESET */
    while ((EK_REG(RESETS + 0x8u) & bits) != bits) {}   /* RESET_DONE */
}

static void xosc_start(void) {
    EK_REG(XOSC + 0x00u) = 0xAA0u;                   /* CTRL.FREQ_RANGE: 1-15 MHz */
    EK_REG(XOSC + 0x0Cu) = (XOSC_HZ / 1000u + 128u) / 256u;   /* STARTUP: ~1 ms, in 256-cycle units */
    EK_REG(XOSC + 0x00u) |= 0xFABu << 12;            /* CTRL.ENABLE */
    while (!(EK_REG(XOSC + 0x04u) & 1u << 31)) {}    /* STATUS.STABLE */
}

/* FBDIV and the post dividers for F_CPU, highest VCO first (the lowest jitter) */
static int pll_settings(uint32_t *fbdiv, uint32_t *pd1, uint32_t *pd2) {
    for (uint32_t fb = 1600000000u / XOSC_HZ; fb * XOSC_HZ >= 750000000u; fb--)
        for (uint32_t p1 = 7; p1 >= 1; p1--)
            for (uint32_t p2 = 1; p2 <= p1; p2++)
                if (fb * XOSC_HZ % (p1 * p2) == 0 && fb * XOSC_HZ / (p1 * p2) == F_CPU) {   /* no overflow */
                    *fbdiv = fb, *pd1 = p1, *pd2 = p2;
                    return 1;
                }
    return 0;
}

static void pll_start(void) {
    uint32_t fbdiv, pd1, pd2;
    if (!pll_settings(&fbdiv, &pd1, &pd2))
        for (;;) {}                                  /* F_CPU (board file clock_hz) not reachable */
    EK_REG(RESETS + 0x0u) |= 1u << RESET_PLL_SYS;
    unreset(1u << RESET_PLL_SYS);
    EK_REG(PLL_SYS + 0x0u) = 1u;                     /* CS.REFDIV = 1 */
    EK_REG(PLL_SYS + 0x8u) = fbdiv;                  /* FBDIV_INT */
    EK_REG(PLL_SYS + 0x4u) &= ~(1u << 0 | 1u << 5);  /* PWR: power up PLL and VCO */
    while (!(EK_REG(PLL_SYS + 0x0u) & 1u << 31)) {}  /* CS.LOCK */
    EK_REG(PLL_SYS + 0xCu) = pd1 << 16 | pd2 << 12;  /* PRIM: POSTDIV1, POSTDIV2 */
    EK_REG(PLL_SYS + 0x4u) &= ~(1u << 3);            /* PWR: power up the post dividers */
}

void ek_soc_clock_init(void) {
    EK_REG(CLOCKS + CLK_SYS_RESUS_CTRL) = 0;         /* resus off while switching */
    xosc_start();
    EK_REG(CLOCKS + 0x3Cu) &= ~1u;                   /* CLK_SYS_CTRL.SRC = clk_ref (glitchless) */
    while (!(EK_REG(CLOCKS + 0x44u) & 1u)) {}
    EK_REG(CLOCKS + 0x30u) = 2u;                     /* CLK_REF_CTRL.SRC = xosc */
    while (!(EK_REG(CLOCKS + 0x38u) & 1u << 2)) {}
    pll_start();
    EK_REG(CLOCKS + 0x3Cu) = 0u << 5;                /* CLK_SYS_CTRL.AUXSRC = pll_sys */
    EK_REG(CLOCKS + 0x3Cu) |= 1u;                    /* SRC = aux */
    while (!(EK_REG(CLOCKS + 0x44u) & 2u)) {}
    EK_REG(CLOCKS + 0x48u) = 1u << 11;               /* CLK_PERI_CTRL: ENABLE, AUXSRC = clk_sys */
    unreset(1u << RESET_IO_BANK0 | 1u << RESET_PADS_BANK0);
}

#ifndef EK_RP2_PAD_ISO
#define EK_RP2_PAD_ISO 0u
#endif

/* The pin to a peripheral: its pad's input enabled (IE, bit 6: the RP2350 resets it off),
 * output not disabled (OD, bit 7), out of isolation (RP2350), then FUNCSEL */
static void pin_function(uint32_t pin, uint32_t funcsel) {
    const uint32_t pad = PADS_BANK0 + 0x04u + 4u * pin;   /* GPIOn pad control */
    EK_REG(pad + SET) = 1u << 6;
    EK_REG(pad + CLR) = 1u << 7 | EK_RP2_PAD_ISO;
    EK_REG(IO_BANK0 + 0x04u + 8u * pin) = funcsel;   /* GPIOn_CTRL */
}

void ek_soc_uart_init(uint32_t baud) {
    unreset(1u << RESET_UART0);
    const uint32_t div = 8u * (F_CPU / baud) + 8u * (F_CPU % baud) / baud;   /* 64 x clk / (16 baud) */
    EK_REG(UART0 + 0x24u) = div >> 7;                /* UARTIBRD */
    EK_REG(UART0 + 0x28u) = ((div & 0x7Fu) + 1u) / 2u;   /* UARTFBRD */
    EK_REG(UART0 + 0x2Cu) = 3u << 5 | 1u << 4;       /* UARTLCR_H: 8 bits, FIFOs (latches the divisors) */
    EK_REG(UART0 + 0x30u) = 1u << 0 | 1u << 8 | 1u << 9;   /* UARTCR: UARTEN, TXE, RXE */
    pin_function(UART_TX_PIN, 2u);
    pin_function(UART_RX_PIN, 2u);
}

void ek_soc_uart_putc(char c) {
    while (EK_REG(UART0 + 0x18u) & 1u << 5) {}       /* UARTFR.TXFF */
    EK_REG(UART0 + 0x00u) = (uint8_t)c;              /* UARTDR */
}

#ifdef EK_AUDIO_PDM
const char ek_audio_source[] = "PDM microphone on GP2/GP3 via PIO0 (edgekit CIC + FIR decimator)";

/* The PIO program (two instructions, side-set 1 bit = the microphone's clock on GP3):
 *   0: in pins, 1   side 0    sample the data pin, clock low       (0x4001)
 *   1: mov y, y     side 1    nothing, clock high; wrap to 0       (0xB042)
 * Two instructions per PDM bit: the state machine runs at 2 x EK_PDM_RATE. It shifts
 * right and pushes every 32 bits (autopush), so a word's bit 0 is its first bit in time:
 * little-endian bytes, LSB first, for ek_pdm. The clock falls as the data is sampled: a
 * microphone with L/R tied low drives data there for the left channel; check the
 * microphone's datasheet. */
static const uint16_t pio_program[] = {0x4001, 0xB042};

/* Core 1 does nothing but drain the PIO's RX FIFO into the decimator (its load: an
 * ESTIMATE counted in QEMU, reported by deploy), so core 0 keeps its whole clock for the
 * front end and the model. */
static uint32_t core1_stack[256];

static void core1_decimate(void) {
    for (;;) {
        while (EK_REG(PIO0 + 0x004u) & 1u << 8) {}   /* FSTAT.RXEMPTY of SM0 */
        const uint32_t w = EK_REG(PIO0 + 0x020u);    /* RXF0 */
        const uint8_t bytes[4] = {(uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16), (uint8_t)(w >> 24)};
        ek_audio_push_pdm(bytes, 4);
    }
}

/* The bootrom's protocol for starting core 1 (RP2040 datasheet 2.8.2): the words 0, 0, 1,
 * vector table, stack pointer, entry point through the inter-core FIFO, each echoed back
 * by core 1; a wrong echo restarts the sequence. A 0 is preceded by draining the FIFO. */
static void core1_launch(void (*entry)(void)) {
    const uint32_t vtor = EK_REG(0xE000ED08u);       /* core 0's vector table (startup.c set it) */
    const uint32_t seq[6] = {0, 0, 1, vtor, (uint32_t)&core1_stack[256], (uint32_t)entry};
    for (uint32_t i = 0; i < 6;) {
        if (!seq[i]) {
            while (EK_REG(SIO + 0x050u) & 1u) (void)EK_REG(SIO + 0x058u);   /* FIFO_ST.VLD: drain FIFO_RD */
            __asm volatile("sev");
        }
        while (!(EK_REG(SIO + 0x050u) & 2u)) {}      /* FIFO_ST.RDY */
        EK_REG(SIO + 0x054u) = seq[i];               /* FIFO_WR */
        __asm volatile("sev");
        while (!(EK_REG(SIO + 0x050u) & 1u)) __asm volatile("wfe");
        i = EK_REG(SIO + 0x058u) == seq[i] ? i + 1 : 0;   /* FIFO_RD: the echo */
    }
}

int ek_soc_audio_start(void) {
    ek_audio_pdm_init(1);
    unreset(1u << RESET_PIO0);
    for (uint32_t i = 0; i < sizeof pio_program / sizeof pio_program[0]; i++)
        EK_REG(PIO0 + 0x048u + 4u * i) = pio_program[i];   /* INSTR_MEM */
    /* SM0_CLKDIV: F_CPU / (2 x PDM rate) in 16.8 fixed point (fractional: some jitter) */
    const uint32_t div256 = (uint32_t)((uint64_t)F_CPU * 128u / EK_PDM_RATE);
    EK_REG(PIO0 + 0x0C8u) = (div256 >> 8) << 16 | (div256 & 0xFFu) << 8;
    EK_REG(PIO0 + 0x0CCu) = 1u << 12 | 0u << 7;      /* SM0_EXECCTRL: WRAP_TOP 1, WRAP_BOTTOM 0 */
    /* SM0_SHIFTCTRL: RX FIFO joined (8 words), shift right, autopush at 32 bits */
    EK_REG(PIO0 + 0x0D0u) = 1u << 31 | 1u << 19 | 1u << 18 | 1u << 16;
    /* SM0_PINCTRL: 1 side-set pin (clock) and 1 SET pin at GP3, IN base GP2 */
    EK_REG(PIO0 + 0x0DCu) = 1u << 29 | 1u << 26 | MIC_DATA_PIN << 15 | MIC_CLK_PIN << 10 | MIC_CLK_PIN << 5;
    EK_REG(PIO0 + 0x0D8u) = 0xE081u;                 /* SM0_INSTR: set pindirs, 1 (clock pin out) */
    pin_function(MIC_DATA_PIN, 6u);
    pin_function(MIC_CLK_PIN, 6u);
    core1_launch(core1_decimate);
    EK_REG(PIO0 + 0x000u) = 1u;                      /* CTRL: SM0_ENABLE */
    return 0;
}
#else
#error "the Picos' firmware takes a PDM microphone (EK_AUDIO_PDM)"
#endif
