/* ek_mfcc_f32: one MFCC frame in float32 (cores with an FPU): Hann window -> real FFT
 * of 4 EK_FE_TWIDDLES points (a complex FFT of half that + split) -> |X| -> mel ->
 * log(mel + eps*norm) - log norm -> DCT. Twin: edgekit.audio.mfcc.mfcc_float (same math in
 * float64).
 * -DEK_FE_TF1: TF's AudioSpectrogram + Mfcc (FeatureSpec kind tf1-mfcc; tables from
 * generate_tf1_tables): no normaliser, the samples in units of full scale (/ 32768), the
 * filter bank on |X| (sqrt(|X|) when the graph's spectrogram is not squared: Mfcc takes the
 * root of whatever it gets), ln(max(channel, 1e-12)). Twin: edgekit.audio.tf1_mfcc.tf1_mfcc. */
#if !defined(EK_FE_FIXED) && !defined(EK_FE_MICRO) && !defined(EK_FE_LOGMEL)   /* logmel: ek_logmel_f32.c */
#include <math.h>

#include "ek_fft.h"
#include "ek_frontend.h"

static float windowed(const int16_t *x, int n) {
    return n < EK_FE_FRAME ? (float)x[n] * ek_fe_window_f32[n] : 0.0f;
}

/* |X[k]| for k = 0..N from Z = FFT(even + i odd): X = (E + W^k (-i D)) / 2 */
static void split_magnitude(const float *re, const float *im, float *mag) {
    const int n2 = 2 * EK_FE_TWIDDLES;
    for (int k = 0; k <= n2; k++) {
        const int a = k % n2, c = (n2 - k) % n2;
        const float er = re[a] + re[c], ei = im[a] - im[c];
        const float pr = im[a] + im[c], pi = re[c] - re[a];
        const float cw = ek_fe_split_f32[k][0], sw = ek_fe_split_f32[k][1];
        const float xr = 0.5f * (er + pr * cw - pi * sw), xi = 0.5f * (ei + pr * sw + pi * cw);
        mag[k] = sqrtf(xr * xr + xi * xi);
    }
}

void ek_mfcc_frame(const int16_t *x, int32_t norm, ek_fe_coeff *out) {
    static float re[2 * EK_FE_TWIDDLES], im[2 * EK_FE_TWIDDLES], mag[EK_FE_BINS];
    float logmel[EK_FE_MELS];
    for (int k = 0; k < 2 * EK_FE_TWIDDLES; k++) {
        re[k] = windowed(x, 2 * k);
        im[k] = windowed(x, 2 * k + 1);
    }
    ek_fft256_f32(re, im);
    split_magnitude(re, im, mag);
#ifdef EK_FE_TF1
    (void)norm;
#if !EK_FE_TF1_MAGNITUDE_SQUARED
    for (int k = 0; k < EK_FE_BINS; k++) mag[k] = sqrtf(mag[k] * (1.0f / EK_FE_TF1_FULL_SCALE));
#endif
#else
    const float eps = EK_FE_EPS * (float)norm, log_norm = logf((float)norm);
#endif
    for (int j = 0, w = 0; j < EK_FE_MELS; j++) {
        float acc = 0.0f;
        const float *m = mag + ek_fe_mel_start[j];
        for (int i = 0; i < ek_fe_mel_len[j]; i++) acc += m[i] * ek_fe_mel_f32[w++];
#ifdef EK_FE_TF1
#if EK_FE_TF1_MAGNITUDE_SQUARED
        acc *= 1.0f / EK_FE_TF1_FULL_SCALE;
#endif
        logmel[j] = logf(acc > EK_FE_TF1_LOG_FLOOR ? acc : EK_FE_TF1_LOG_FLOOR);
#else
        logmel[j] = logf(acc + eps) - log_norm;
#endif
    }
    for (int k = 0; k < EK_FE_COEFFS; k++) {
        float c = 0.0f;
        for (int j = 0; j < EK_FE_MELS; j++) c += ek_fe_dct_f32[k][j] * logmel[j];
        out[k] = c;
    }
}
#endif
