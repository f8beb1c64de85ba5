/* ek_pdm: PDM -> PCM decimator (CIC + polyphase FIR). Twin: edgekit/audio/pdm.py
 * decimate. See ek_pdm.h for the arithmetic; this file computes exactly the same values
 * with two exact shortcuts that make it real time on the boards that decimate in
 * software (STM32F4 Discovery, Pico), where it runs for every bit of a 1.024 MHz stream:
 *  - the CIC's integrators advance a byte (8 bits) at a time: the cascade is linear, so
 *    after a byte  integ'[k] = sum_{j<=k} C(7+k-j, k-j) integ[j] + T[byte][k]  in uint32
 *    arithmetic, exact modulo 2^32 like the per-bit adds (tables ek_pdm_cic_step,
 *    ek_pdm_cic_byte, generated; R is a multiple of 8, so combs fall on byte boundaries);
 *  - the FIR is symmetric (linear phase): h[k] (w[k] + w[TAPS-1-k]) halves the products.
 *    On ARMv6-M (Cortex-M0/M0+: no 32x32->64 multiply, gcc would call __aeabi_lmul per
 *    tap) each product is split into 32-bit partial products whose sums cannot overflow
 *    (bounds below) and combined in int64 once per output.
 * Built only with -DEK_PDM: the KWS firmware of a board without a PDM microphone, which
 * compiles every file of this directory, has no ek_pdm_tables. */
#ifdef EK_PDM
#include "ek_pdm.h"

#if EK_PDM_CIC_R % 8
#error "ek_pdm advances the CIC a byte at a time: EK_PDM_CIC_R must be a multiple of 8"
#endif

void ek_pdm_init(ek_pdm *d, int lsb_first) {
    for (int i = 0; i < EK_PDM_CIC_ORDER; i++) d->integ[i] = d->comb[i] = 0;
    for (int i = 0; i < 2 * EK_PDM_TAPS; i++) d->hist[i] = 0;
    d->head = d->bit_phase = d->cic_phase = 0;
    d->lsb_first = lsb_first != 0;
}

#define HALF (EK_PDM_TAPS / 2)   /* taps on each side of the centre one */

#if defined(__ARM_ARCH_6M__)
/* |w[k] + w[TAPS-1-k]| <= R^N <= 2^20 and |h| < 2^23 (24-bit taps: edgekit.audio.pdm).
 * Split h = hh 2^12 + hl and s = sh 2^12 + sl with hl, sl in [0, 4096): |hh| < 2^11,
 * |sh| <= 2^8; over HALF + 1 <= 128 terms: sum hh sh < 2^26, sum (hh sl + hl sh) < 2^31,
 * sum hl sl < 2^31 (unsigned): no partial sum overflows. */
_Static_assert(EK_PDM_CIC_GAIN <= (1u << 20) && HALF + 1 <= 128, "ARMv6-M FIR split: bounds exceeded");

static int64_t fir_dot(const int32_t *w) {
    int32_t hi = 0, mid = 0;
    uint32_t lo = 0;
    for (int k = 0; k <= HALF; k++) {
        const int32_t h = ek_pdm_fir[k], s = k < HALF ? w[k] + w[EK_PDM_TAPS - 1 - k] : w[k];
        const int32_t hh = h >> 12, sh = s >> 12;    /* arithmetic shifts: floor */
        const uint32_t hl = (uint32_t)h & 0xFFFu, sl = (uint32_t)s & 0xFFFu;
        hi += hh * sh;
        mid += hh * (int32_t)sl + (int32_t)hl * sh;
        lo += hl * sl;
    }
    return ((int64_t)hi << 24) + ((int64_t)mid << 12) + (int64_t)lo;
}
#else
static int64_t fir_dot(const int32_t *w) {
    int64_t acc = (int64_t)ek_pdm_fir[HALF] * w[HALF];
    for (int k = 0; k < HALF; k++) acc += (int64_t)ek_pdm_fir[k] * (w[k] + w[EK_PDM_TAPS - 1 - k]);
    return acc;
}
#endif

/* One CIC output: the combs, then the FIR when M of them have arrived. */
static int cic_output(ek_pdm *d, int16_t *out) {
    uint32_t v = d->integ[EK_PDM_CIC_ORDER - 1];
    for (int i = 0; i < EK_PDM_CIC_ORDER; i++) {
        uint32_t prev = d->comb[i];
        d->comb[i] = v;
        v -= prev;                                   /* wraps; result < 2^21 */
    }
    int32_t s = (int32_t)v - (int32_t)(EK_PDM_CIC_GAIN / 2);
    d->hist[d->head] = d->hist[d->head + EK_PDM_TAPS] = s;
    d->head = d->head + 1 == EK_PDM_TAPS ? 0 : d->head + 1;
    if (++d->cic_phase < EK_PDM_FIR_M) return 0;
    d->cic_phase = 0;
    /* hist[head .. head + TAPS - 1] holds the last TAPS outputs, oldest first; the FIR is
     * symmetric, so h[TAPS - 1 - k] w[k] summed is h[k] w[k] summed */
    int64_t acc = fir_dot(&d->hist[d->head]);
    acc = (acc + ((int64_t)1 << (EK_PDM_SHIFT - 1))) >> EK_PDM_SHIFT;   /* arithmetic shift */
    *out = (int16_t)(acc > 32767 ? 32767 : acc < -32768 ? -32768 : acc);
    return 1;
}

/* The integrators after 8 more bits (the byte MSB first: ek_pdm_cic_byte's order). The
 * binomials are compile-time constants and the loops fully unrolled: ~2 instructions per
 * term instead of a per-bit loop's ~8 per bit. */
static void integrate_byte(uint32_t *integ, uint32_t byte) {
    static const uint32_t step[EK_PDM_CIC_ORDER] = EK_PDM_CIC_STEP;
    const uint32_t *t = ek_pdm_cic_byte[byte];
#pragma GCC unroll 8
    for (int k = EK_PDM_CIC_ORDER - 1; k >= 0; k--) {   /* from the top: integ[j < k] still old */
        uint32_t acc = integ[k] + t[k];
#pragma GCC unroll 8
        for (int j = 0; j < k; j++) acc += step[k - j] * integ[j];
        integ[k] = acc;
    }
}

int ek_pdm_process(ek_pdm *d, const uint8_t *pdm, int n, int16_t *out) {
    int produced = 0;
    for (int i = 0; i < n; i++) {
        integrate_byte(d->integ, d->lsb_first ? ek_pdm_bitrev[pdm[i]] : pdm[i]);
        d->bit_phase += 8;
        if (d->bit_phase == EK_PDM_CIC_R) {
            d->bit_phase = 0;
            produced += cic_output(d, out + produced);
        }
    }
    return produced;
}
#endif
