/* ek_fft_q30: in-place 256-point complex FFT, int32 data, Q30 twiddles (fixed path).
 * Radix-2 decimation in time: bit-reversal permutation, then 8 butterfly stages;
 * products are rounded half up ((p + 2^29) >> 30), no scaling between stages: the
 * caller keeps inputs within +-2^15 so the output stays below 2^24 (no overflow).
 * NumPy twin: edgekit.audio.mfcc._fft256_q30 (identical results). */
#if defined(EK_FE_FIXED) && !defined(EK_FE_MICRO)   /* the fixed-point MFCC path only */
#include "ek_fft.h"

void ek_fft256_q30(int32_t *re, int32_t *im) {
    const int n = 2 * EK_FE_TWIDDLES;
    for (int i = 1, j = 0; i < n; i++) {
        j = ek_fft_bitrev_next(j, n);
        if (i < j) {
            int32_t t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int size = 2; size <= n; size <<= 1) {
        const int half = size >> 1, step = n / size;
        for (int k = 0; k < half; k++) {
            const int64_t wr = ek_fe_twiddle_q30[k * step][0], wi = ek_fe_twiddle_q30[k * step][1];
            for (int a = k; a < n; a += size) {
                const int b = a + half;
                const int32_t tr = (int32_t)((re[b] * wr - im[b] * wi + (1 << 29)) >> 30);
                const int32_t ti = (int32_t)((re[b] * wi + im[b] * wr + (1 << 29)) >> 30);
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
    }
}
#endif
