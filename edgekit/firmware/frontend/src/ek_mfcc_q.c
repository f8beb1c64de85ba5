/* ek_mfcc_q: one MFCC frame in integer arithmetic only (cores without an FPU).
 *
 * frame -> shift left by s so the largest |sample| fills 15 bits (block floating point:
 * quiet frames keep their precision) -> Q15 Hann window -> 512-point real FFT as a
 * 256-point complex FFT of (even, odd) pairs plus the split step (yields 2 X[k]) ->
 * integer |2X| -> Q15 mel weights (uint64 sums) -> log2(mel + eps * norm) in Q24 with the
 * scale 2^(s + 24) and log2(norm) removed -> DCT with ln 2 folded in (Q30) -> Q20.
 * Bit-exact with edgekit.audio.mfcc.mfcc_fixed (checked on every value by the tests). */
#if defined(EK_FE_FIXED) && !defined(EK_FE_MICRO)
#include "ek_fft.h"
#include "ek_frontend.h"

static uint32_t isqrt32(uint32_t v) {
    uint32_t r = 0, b = 1u << 30;
    while (b > v) b >>= 2;
    for (; b; b >>= 2) {
        if (v >= r + b) {
            v -= r + b;
            r = (r >> 1) + b;
        } else {
            r >>= 1;
        }
    }
    return r;
}

/* floor(sqrt) of v shifted right by an even amount until it fits 32 bits, shifted back:
 * 16 significant bits, far below the log's resolution */
static uint32_t isqrt64(uint64_t v) {
    int e = 0;
    while (v >> 32) {
        v >>= 2;
        e++;
    }
    return isqrt32((uint32_t)v) << e;
}

static int norm_shift(const int16_t *x) {
    int32_t a = 0;
    for (int n = 0; n < EK_FE_FRAME; n++) {
        const int32_t v = x[n] < 0 ? -(int32_t)x[n] : x[n];
        if (v > a) a = v;
    }
    int s = 0;
    while (a > 0 && (a << (s + 1)) <= 32767) s++;
    return s;
}

static int32_t windowed(const int16_t *x, int n, int s) {
    if (n >= EK_FE_FRAME) return 0;
    return ((int32_t)x[n] * (1 << s) * ek_fe_window_q15[n] + (1 << 14)) >> 15;
}

/* |2 X[k]| for k = 0..N from Z = FFT(even + i odd) */
static void split_magnitude(const int32_t *re, const int32_t *im, uint32_t *mag) {
    const int n2 = 2 * EK_FE_TWIDDLES;
    for (int k = 0; k <= n2; k++) {
        const int a = k % n2, c = (n2 - k) % n2;
        const int64_t er = (int64_t)re[a] + re[c], ei = (int64_t)im[a] - im[c];
        const int64_t pr = (int64_t)im[a] + im[c], pi = -((int64_t)re[a] - re[c]);
        const int64_t cw = ek_fe_split_q30[k][0], sw = ek_fe_split_q30[k][1];
        const int64_t xr = er + ((pr * cw - pi * sw + (1 << 29)) >> 30);
        const int64_t xi = ei + ((pr * sw + pi * cw + (1 << 29)) >> 30);
        mag[k] = isqrt64((uint64_t)(xr * xr + xi * xi));
    }
}

void ek_mfcc_frame(const int16_t *x, int32_t norm, ek_fe_coeff *out) {
    static int32_t re[2 * EK_FE_TWIDDLES], im[2 * EK_FE_TWIDDLES];
    static uint32_t mag[EK_FE_BINS];
    int32_t logmel[EK_FE_MELS];
    const int s = norm_shift(x);
    for (int k = 0; k < 2 * EK_FE_TWIDDLES; k++) {
        re[k] = windowed(x, 2 * k, s);
        im[k] = windowed(x, 2 * k + 1, s);
    }
    ek_fft256_q30(re, im);
    split_magnitude(re, im, mag);
    const int64_t eps = (ek_fe_eps_q16[s] * norm + (1 << 15)) >> 16;
    const int32_t offset = ((s + 24) << 24) + ek_log2_q24((uint64_t)norm);
    for (int j = 0, w = 0; j < EK_FE_MELS; j++) {
        uint64_t acc = 0;
        const uint32_t *m = mag + ek_fe_mel_start[j];
        for (int i = 0; i < ek_fe_mel_len[j]; i++) acc += (uint64_t)m[i] * (uint32_t)ek_fe_mel_q15[w++];
        logmel[j] = ek_log2_q24((acc << 8) + (uint64_t)eps) - offset;
    }
    for (int k = 0; k < EK_FE_COEFFS; k++) {
        int64_t c = 0;
        for (int j = 0; j < EK_FE_MELS; j++) c += (int64_t)ek_fe_dct_ln2_q30[k][j] * logmel[j];
        out[k] = (int32_t)((c + (1LL << 33)) >> 34);
    }
}
#endif
