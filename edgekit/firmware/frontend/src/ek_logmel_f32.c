/* ek_logmel_f32: one log-mel frame in float32 (FeatureSpec kind logmel, -DEK_FE_LOGMEL;
 * tables from edgekit/audio/emit.py generate_logmel_tables): the frame is EK_FE_FRAME =
 * fft samples with the Hann window zero-padded in its middle (librosa's STFT with
 * center=False) -> real FFT of 4 EK_FE_TWIDDLES points (a complex FFT of half that +
 * split, as ek_mfcc_f32.c) -> |X|^2 (or |X|) in units of full scale -> mel filters ->
 * gain[j] * ln(max(mel + offset, floor)) + bias[j] (the log's base and the per-bin
 * mean/std folded into gain and bias). `norm` is unused: librosa does not normalise.
 * Cores without an FPU build it with soft float (the same features, more cycles).
 * Twin: edgekit.audio.logmel.logmel (float64; itself checked against librosa). */
#ifdef EK_FE_LOGMEL
#include <math.h>

#include "ek_fft.h"
#include "ek_frontend.h"

#ifdef EK_FE_FIXED
#error "the logmel front end (EK_FE_LOGMEL) is float only"
#endif

/* |X[k]|^2 for k = 0..N from Z = FFT(even + i odd): X = (E + W^k (-i D)) / 2 (the split of
 * ek_mfcc_f32.c without its square root) */
static void split_power(const float *re, const float *im, float *pw) {
    const int n2 = 2 * EK_FE_TWIDDLES;
    for (int k = 0; k <= n2; k++) {
        const int a = k % n2, c = (n2 - k) % n2;
        const float er = re[a] + re[c], ei = im[a] - im[c];
        const float pr = im[a] + im[c], pi = re[c] - re[a];
        const float cw = ek_fe_split_f32[k][0], sw = ek_fe_split_f32[k][1];
        const float xr = 0.5f * (er + pr * cw - pi * sw), xi = 0.5f * (ei + pr * sw + pi * cw);
        pw[k] = xr * xr + xi * xi;
    }
}

void ek_mfcc_frame(const int16_t *x, int32_t norm, ek_fe_coeff *out) {
    static float re[2 * EK_FE_TWIDDLES], im[2 * EK_FE_TWIDDLES], spec[EK_FE_BINS];
    (void)norm;
    for (int k = 0; k < 2 * EK_FE_TWIDDLES; k++) {
        re[k] = (float)x[2 * k] * ek_fe_window_f32[2 * k];
        im[k] = (float)x[2 * k + 1] * ek_fe_window_f32[2 * k + 1];
    }
    ek_fft256_f32(re, im);
    split_power(re, im, spec);
#if !EK_FE_LM_POWER
    for (int k = 0; k < EK_FE_BINS; k++) spec[k] = sqrtf(spec[k]);
#endif
    for (int j = 0, w = 0; j < EK_FE_MELS; j++) {
        float acc = 0.0f;
        const float *s = spec + ek_fe_mel_start[j];
        for (int i = 0; i < ek_fe_mel_len[j]; i++) acc += s[i] * ek_fe_mel_f32[w++];
        acc = acc * EK_FE_LM_SCALE + EK_FE_LM_OFFSET;
        out[j] = ek_fe_lm_gain_f32[j] * logf(acc > EK_FE_LM_FLOOR ? acc : EK_FE_LM_FLOOR) + ek_fe_lm_bias_f32[j];
    }
}
#endif
