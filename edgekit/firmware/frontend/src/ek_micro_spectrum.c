/* ek_micro_spectrum: one 30 ms window -> the filter bank's channel amplitudes.
 * Twin: edgekit/audio/microfrontend.py microfrontend_frames (window .. sqrt), filter_bank,
 * sqrt_rounded.
 *
 * Hann window in Q12; the windowed frame is shifted left until its peak uses all 15 bits
 * (the int16 FFT loses a bit per radix-2 stage to its scaling, so quiet frames would
 * otherwise vanish); energies re^2 + im^2 of the bins the bands cover; 41 triangular
 * bands, each adding its rising half (weights) to its own channel and its falling half
 * (unweights) to the next; sqrt rounded to nearest, then shifted right by the same bits
 * (sqrt halves the doubling the energy took). */
#ifdef EK_FE_MICRO
#include "ek_micro.h"

static int bitlen32(uint32_t v) { return v ? 32 - __builtin_clz(v) : 0; }

/* Sqrt64 of TFLM's signal library: floor sqrt, then rounded up when the remainder is
 * above the root, unless that would leave 16 bits (x < 2^32) or 32 bits (above) */
static uint32_t sqrt_rounded(uint64_t x) {
    uint64_t r = 0, bit = 1ULL << 62;
    uint64_t v = x;
    while (bit > v) bit >>= 2;
    while (bit) {                       /* bitwise floor square root */
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    const uint64_t top = (x >> 32) == 0 ? 0xFFFFu : 0xFFFFFFFFu;
    if (x - r * r > r && r != top) r++;   /* x - r*r == v: the remainder */
    return (uint32_t)r;
}

void ek_mf_spectrum(const int16_t *x, uint32_t *amp) {
    static int16_t buf[EK_MF_FFT], re[EK_MF_BINS], im[EK_MF_BINS];
    static uint32_t energy[EK_MF_BINS];
    int32_t peak = 0;
    for (int i = 0; i < EK_FE_FRAME; i++) {
        int32_t v = ((int32_t)x[i] * ek_mf_window[i]) >> EK_MF_WINDOW_SHIFT;
        v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        buf[i] = (int16_t)v;
        if ((v < 0 ? -v : v) > peak) peak = v < 0 ? -v : v;
    }
    int scale = 15 - bitlen32((uint32_t)peak);
    if (scale < 0 || peak == 0) scale = 0;
    for (int i = 0; i < EK_FE_FRAME; i++) buf[i] = (int16_t)((int32_t)buf[i] * (1 << scale));
    for (int i = EK_FE_FRAME; i < EK_MF_FFT; i++) buf[i] = 0;
    ek_mf_rfft(buf, re, im);
    for (int k = 0; k < EK_MF_BINS; k++)
        energy[k] = (k < EK_MF_BIN_START || k >= EK_MF_BIN_END) ? 0u
                    : (uint32_t)((int32_t)re[k] * re[k]) + (uint32_t)((int32_t)im[k] * im[k]);
    uint64_t carry = 0;
    for (int b = 0; b < EK_MF_BANDS; b++) {
        const int f0 = ek_mf_fb_freq_starts[b], w0 = ek_mf_fb_weight_starts[b];
        uint64_t w = 0, u = 0;
        for (int j = 0; j < ek_mf_fb_widths[b]; j++) {
            w += (uint64_t)energy[f0 + j] * (uint16_t)ek_mf_fb_weights[w0 + j];
            u += (uint64_t)energy[f0 + j] * (uint16_t)ek_mf_fb_unweights[w0 + j];
        }
        if (b > 0) amp[b - 1] = sqrt_rounded(carry + w) >> scale;
        carry = u;
    }
}
#endif
