/* ek_fft_q30: in-place 256-point complex FFT, int32 data, Q30 twiddles (fixed path).
 * Radix-2 decimation in time: the input arrives bit-reversed (the caller writes it in that
 * order, ek_fft_bitrev_next: no permutation pass), then 8 butterfly stages;
 * products are rounded half up ((p + 2^29) >> 30), no scaling between stages: the
 * caller keeps inputs within +-2^15 so the output stays below 2^24 (no overflow).
 * Twiddles whose rounded products are exact without multiplying are special-cased (same
 * results, fewer products: 382 of the 1024 butterflies need none, 126 two instead of
 * four): w = 1: (x 2^30 + 2^29) >> 30 = x; w = -i: t = (im, -re); w = c (1 -+ i):
 * (re w - im v) = c (re +- im) exactly.
 * NumPy twin: edgekit.audio.mfcc._fft256_q30 (identical results; it permutes its
 * natural-order input itself). */
#if defined(EK_FE_FIXED) && !defined(EK_FE_MICRO)   /* the fixed-point MFCC path only */
#include "ek_fft.h"
#include "ek_mul64.h"

#define ONE_Q30 (1 << 30)

static inline void bfly(int32_t *re, int32_t *im, int a, int b, int32_t tr, int32_t ti) {
    const int32_t ra = re[a], ia = im[a];   /* once: the stores below may alias for the compiler */
    re[b] = ra - tr;
    im[b] = ia - ti;
    re[a] = ra + tr;
    im[a] = ia + ti;
}

/* (x c + 2^29) >> 30 for the c (1 -+ i) twiddles */
static inline int32_t rnd_q30(int32_t x, int32_t c) { return ek_mac2_q30(x, c, 0, 0); }

/* every butterfly (a, a + half) of twiddle index k in one stage of span `size` */
static void butterflies(int32_t *re, int32_t *im, int k, int half, int size, int32_t wr, int32_t wi) {
    const int n = 2 * EK_FE_TWIDDLES;
    if (wr == ONE_Q30 && wi == 0) {
        for (int a = k; a < n; a += size) bfly(re, im, a, a + half, re[a + half], im[a + half]);
    } else if (wr == 0 && wi == -ONE_Q30) {
        for (int a = k; a < n; a += size) bfly(re, im, a, a + half, im[a + half], -re[a + half]);
    } else if (wr == -wi) {
        for (int a = k, b = a + half; a < n; a += size, b += size)
            bfly(re, im, a, b, rnd_q30(re[b] + im[b], wr), rnd_q30(im[b] - re[b], wr));
    } else if (wr == wi) {
        for (int a = k, b = a + half; a < n; a += size, b += size)
            bfly(re, im, a, b, rnd_q30(re[b] - im[b], wr), rnd_q30(re[b] + im[b], wr));
    } else {
        for (int a = k, b = a + half; a < n; a += size, b += size)
            bfly(re, im, a, b, ek_mac2_q30(re[b], wr, im[b], -wi), ek_mac2_q30(re[b], wi, im[b], wr));
    }
}

void ek_fft256_q30(int32_t *re, int32_t *im) {
    const int n = 2 * EK_FE_TWIDDLES;
    for (int size = 2; size <= n; size <<= 1) {
        const int half = size >> 1, step = n / size;
        for (int k = 0; k < half; k++)
            butterflies(re, im, k, half, size, ek_fe_twiddle_q30[k * step][0], ek_fe_twiddle_q30[k * step][1]);
    }
}
#endif
