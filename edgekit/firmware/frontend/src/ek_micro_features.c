/* ek_micro_features: channel amplitudes -> int8 features, with the state that makes the
 * microfrontend robust to steady background noise.
 * Twin: edgekit/audio/microfrontend.py microfrontend_frames (the per-frame loop),
 * pcan_gain, pcan_shrink, log32.
 *
 * 1. noise reduction: a per-channel running noise estimate (odd channels adapt faster),
 *    subtracted from the signal, never below min_signal_remaining of it;
 * 2. PCAN (per-channel amplitude normalisation): the signal times a gain that falls as
 *    the noise estimate rises (a table of quadratics, one per octave of the estimate),
 *    then compressed (x^2/4 below 2, x - 1 above, in the Q12 -> Q6 snr domain);
 * 3. log: ln(x << correction bits) * 64 by a 128-segment log2 table;
 * 4. int8: (v * 256 + 333) / 666 - 128, clipped (micro_speech's input quantization). */
#ifdef EK_FE_MICRO
#include "ek_micro.h"

static int bitlen32(uint32_t v) { return v ? 32 - __builtin_clz(v) : 0; }

/* WideDynamicFunction: the gain (Q pcan_gain_bits) for noise estimate x */
static uint32_t pcan_gain(uint32_t x) {
    if (x <= 2) return (uint32_t)(int32_t)ek_mf_pcan_lut[x];
    const int interval = bitlen32(x);
    int base = 4 * interval - 6;
    if (base > EK_MF_PCAN_LUT_LEN - 3) base = EK_MF_PCAN_LUT_LEN - 3;
    const int64_t frac = (interval < 11 ? (int64_t)x << (11 - interval) : (int64_t)(x >> (interval - 11))) & 0x3FF;
    int64_t r = ((int64_t)ek_mf_pcan_lut[base + 2] * frac) >> 5;
    r += (int64_t)ek_mf_pcan_lut[base + 1] * 32;
    r = (r * frac + (1 << 14)) >> 15;
    return (uint32_t)(int32_t)(int16_t)(r + ek_mf_pcan_lut[base]);
}

static uint32_t pcan_shrink(uint32_t x) {
    if (x < (2u << EK_MF_PCAN_SNR_BITS))
        return (uint32_t)(((uint64_t)x * x) >> (2 + 2 * EK_MF_PCAN_SNR_BITS - EK_MF_PCAN_OUTPUT_BITS));
    return (x >> (EK_MF_PCAN_SNR_BITS - EK_MF_PCAN_OUTPUT_BITS)) - (1u << EK_MF_PCAN_OUTPUT_BITS);
}

/* ln(x) * out_scale (x >= 1): log2 = integer part + fraction + the table's correction,
 * times ln 2 in Q16 */
static uint32_t log32(uint32_t x, uint32_t out_scale) {
    const int integer = bitlen32(x) - 1;
    uint32_t frac = x - (1u << integer);
    frac = integer < 16 ? frac << (16 - integer) : frac >> (integer - 16);
    const int seg = (int)(frac >> 9);
    const int32_t c0 = ek_mf_log_lut[seg], c1 = ek_mf_log_lut[seg + 1];
    const int32_t rel = ((c1 - c0) * (int32_t)(frac - 512u * (uint32_t)seg)) >> 16;
    const uint32_t log2 = (uint32_t)(((int64_t)integer << 16) + frac + c0 + rel);
    const uint32_t loge = (uint32_t)((45426ULL * log2 + 32768) >> 16);
    return (uint32_t)(((uint64_t)out_scale * loge + 32768) >> 16);
}

void ek_mf_features(const uint32_t *amp, uint32_t *noise, int8_t *out) {
    for (int i = 0; i < EK_FE_COEFFS; i++) {
        const uint64_t s = amp[i];
        const uint64_t sm = (i & 1) ? EK_MF_NR_ODD_Q : EK_MF_NR_EVEN_Q;
        const uint64_t up = (uint32_t)(s << EK_MF_NR_SMOOTHING_BITS);
        noise[i] = (uint32_t)((up * sm + (uint64_t)noise[i] * ((1u << EK_MF_NR_BITS) - sm)) >> EK_MF_NR_BITS);
        const uint64_t est = noise[i] < up ? noise[i] : up;
        const uint64_t floor = (uint32_t)((s * EK_MF_NR_MIN_REMAINING_Q) >> EK_MF_NR_BITS);
        uint64_t sub = (up - est) >> EK_MF_NR_SMOOTHING_BITS;
        if (sub < floor) sub = floor;
        const uint32_t snr = (uint32_t)((sub * pcan_gain(noise[i])) >> EK_MF_PCAN_SNR_SHIFT);
        const uint32_t scaled = pcan_shrink(snr) << EK_MF_LOG_CORRECTION_BITS;
        uint32_t v = 0;
        if (scaled > 1) {
            v = log32(scaled, EK_MF_LOG_SCALE);
            if (v > 32767) v = 32767;
        }
        const int32_t q = (int32_t)((v * 256 + 333) / 666) - 128;
        out[i] = (int8_t)(q > 127 ? 127 : q);
    }
}
#endif
