/* ek_fft_f32: in-place 256-point complex FFT in float32 (float path); same structure as
 * ek_fft_q30 (bit reversal, 8 radix-2 stages, table twiddles). Twin: numpy.fft (the
 * float path is checked against TF's features, within 1 LSB after quantization). */
#ifndef EK_FE_MICRO   /* the MFCC front end; -DEK_FE_MICRO builds ek_micro_*.c */
#include "ek_fft.h"

void ek_fft256_f32(float *re, float *im) {
    const int n = 2 * EK_FE_TWIDDLES;
    for (int i = 1, j = 0; i < n; i++) {
        j = ek_fft_bitrev_next(j, n);
        if (i < j) {
            float t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int size = 2; size <= n; size <<= 1) {
        const int half = size >> 1, step = n / size;
        for (int k = 0; k < half; k++) {
            const float wr = ek_fe_twiddle_f32[k * step][0], wi = ek_fe_twiddle_f32[k * step][1];
            for (int a = k; a < n; a += size) {
                const int b = a + half;
                const float tr = re[b] * wr - im[b] * wi;
                const float ti = re[b] * wi + im[b] * wr;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
    }
}
#endif
