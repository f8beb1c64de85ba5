/* ek_mfcc_q: one MFCC frame in integer arithmetic only (cores without an FPU).
 *
 * frame -> shift left by s so the largest |sample| fills 15 bits (block floating point:
 * quiet frames keep their precision) -> Q15 Hann window -> 512-point real FFT as a
 * 256-point complex FFT of (even, odd) pairs plus the split step (yields 2 X[k]) ->
 * integer |2X| -> Q15 mel weights (exact 64-bit sums) -> log2(mel + eps * norm) in Q24 with the
 * scale 2^(s + 24) and log2(norm) removed -> DCT with ln 2 folded in (Q30) -> Q20.
 * Bit-exact with edgekit.audio.mfcc.mfcc_fixed (checked on every value by the tests). */
#if defined(EK_FE_FIXED) && !defined(EK_FE_MICRO)
#include "ek_fft.h"
#include "ek_frontend.h"
#include "ek_mul64.h"

/* floor(sqrt(v)): a seed from the table (sqrt at 193 points of [2^30, 2^32], linear
 * between them: within 1 of the root) for v scaled by an even shift, then corrected until
 * exact (r^2 <= v < (r + 1)^2), whatever the seed. */
static uint32_t isqrt32(uint32_t v) {
    if (v == 0) return 0;
    const int k = __builtin_clz(v) & ~1;
    const uint32_t u = v << k, i = (u >> 24) - 64, a = ek_fe_sqrt_seed[i];
    uint32_t r = (a + (((ek_fe_sqrt_seed[i + 1] - a) * ((u >> 8) & 0xFFFFu)) >> 16)) >> (k >> 1);
    if (r > 0xFFFFu) r = 0xFFFFu;
    while (r * r > v) r--;
    while (r < 0xFFFFu && (r + 1) * (r + 1) <= v) r++;
    return r;
}

/* floor(sqrt) of v shifted right by the least even amount that makes it fit 32 bits,
 * shifted back: 16 significant bits, far below the log's resolution */
static uint32_t isqrt64(uint64_t v) {
    const uint32_t hi = (uint32_t)(v >> 32);
    const int e = hi ? (33 - __builtin_clz(hi)) >> 1 : 0;
    return isqrt32((uint32_t)(v >> (2 * e))) << e;
}

/* the left shift that makes the frame's largest |sample| fill 15 bits */
static int norm_shift(const int16_t *x) {
    int32_t hi = 0, lo = 0;
    for (int n = 0; n < EK_FE_FRAME; n++) {
        const int32_t v = x[n];
        if (v > hi) hi = v;
        if (v < lo) lo = v;
    }
    const int32_t a = hi > -lo ? hi : -lo;
    int s = 0;
    while (a > 0 && (a << (s + 1)) <= 32767) s++;
    return s;
}

/* the frame shifted by s, times the Q15 window, as (even, odd) sample pairs, zero-padded,
 * stored in bit-reversed order (the FFT's input order) */
static void window_pairs(const int16_t *x, int s, int32_t *re, int32_t *im) {
    const int n2 = 2 * EK_FE_TWIDDLES;
    for (int k = 0, j = 0; k < n2; k++, j = ek_fft_bitrev_next(j, n2)) {
        if (k < EK_FE_FRAME / 2) {
            re[j] = ((int32_t)x[2 * k] * (1 << s) * ek_fe_window_q15[2 * k] + (1 << 14)) >> 15;
            im[j] = ((int32_t)x[2 * k + 1] * (1 << s) * ek_fe_window_q15[2 * k + 1] + (1 << 14)) >> 15;
        } else {
            re[j] = im[j] = 0;
        }
    }
}

/* |2 X[k]| for k = 0..N from Z = FFT(even + i odd) */
static void split_magnitude(const int32_t *re, const int32_t *im, uint32_t *mag) {
    const int n2 = 2 * EK_FE_TWIDDLES;
    for (int k = 0; k <= n2; k++) {
        const int a = k % n2, c = (n2 - k) % n2;
        /* |Z| < 2^24: every sum below fits 32 bits, |2 X| < 2^25 */
        const int32_t er = re[a] + re[c], ei = im[a] - im[c];
        const int32_t pr = im[a] + im[c], pi = re[c] - re[a];
        const int32_t cw = ek_fe_split_q30[k][0], sw = ek_fe_split_q30[k][1];
        const int32_t xr = er + ek_mac2_q30(pr, cw, pi, -sw);
        const int32_t xi = ei + ek_mac2_q30(pr, sw, pi, cw);
        mag[k] = isqrt64((uint64_t)(ek_smull(xr, xr) + ek_smull(xi, xi)));
    }
}

/* sum of m[i] w[i] (m = |2X| < 2^26, Q15 w < 2^15: 41-bit terms) with 32-bit products
 * only: m = mh 2^16 + ml; sum mh w < n 2^25 fits 32 bits (n <= 13), each ml w < 2^31 */
static uint64_t mel_sum(const uint32_t *m, const int32_t *w, int n) {
    uint32_t hi = 0;
    uint64_t lo = 0;
    for (int i = 0; i < n; i++) {
        hi += (m[i] >> 16) * (uint32_t)w[i];
        lo += (m[i] & 0xFFFFu) * (uint32_t)w[i];
    }
    return ((uint64_t)hi << 16) + lo;
}

void ek_mfcc_frame(const int16_t *x, int32_t norm, ek_fe_coeff *out) {
    static int32_t re[2 * EK_FE_TWIDDLES], im[2 * EK_FE_TWIDDLES];
    static uint32_t mag[EK_FE_BINS];
    int32_t logmel[EK_FE_MELS];
    const int s = norm_shift(x);
    window_pairs(x, s, re, im);
    ek_fft256_q30(re, im);
    split_magnitude(re, im, mag);
    const int64_t eps = (ek_fe_eps_q16[s] * norm + (1 << 15)) >> 16;
    const int32_t offset = ((s + 24) << 24) + ek_log2_q24((uint64_t)norm);
    for (int j = 0, w = 0; j < EK_FE_MELS; j++) {
        logmel[j] = ek_log2_q24((mel_sum(mag + ek_fe_mel_start[j], ek_fe_mel_q15 + w, ek_fe_mel_len[j]) << 8)
                                + (uint64_t)eps) - offset;
        w += ek_fe_mel_len[j];
    }
    for (int k = 0; k < EK_FE_COEFFS; k++) {
        int64_t c = 0;
        for (int j = 0; j < EK_FE_MELS; j++) c += ek_smull(ek_fe_dct_ln2_q30[k][j], logmel[j]);
        out[k] = (int32_t)((c + (1LL << 33)) >> 34);
    }
}
#endif
