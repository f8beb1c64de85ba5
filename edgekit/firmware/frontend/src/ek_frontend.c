/* ek_frontend: one MFCC (or log-mel, -DEK_FE_LOGMEL) frame into the ring, and the int8 model window. See
 * ek_frontend.h. The framing is in ek_fe_framing.c, the frame math in ek_mfcc_f32.c /
 * ek_mfcc_q.c. */
#ifndef EK_FE_MICRO   /* the MFCC front end; -DEK_FE_MICRO builds ek_micro_*.c */
#include "ek_frontend.h"

#include <string.h>

#include "ek_mul64.h"

int32_t ek_log2_q24(uint64_t v) {
    const int n = 63 - __builtin_clzll(v);
    const uint32_t f = n >= 30 ? (uint32_t)(v >> (n - 30)) : (uint32_t)(v << (30 - n));
    const int idx = (f >> 22) & 255;
    const int32_t frac = (int32_t)(f & ((1u << 22) - 1));
    const int32_t a = ek_fe_log2_q24[idx], b = ek_fe_log2_q24[idx + 1];
    return (int32_t)(n << 24) + a + (int32_t)(ek_smull(b - a, frac) >> 22);
}

#if defined(EK_FE_TF1) && defined(EK_FE_FIXED)
#error "the tf1-mfcc front end (EK_FE_TF1) is float only"
#endif

void ek_fe_frame_into(ek_frontend *fe, int slot, int32_t norm) {
#if defined(EK_FE_TF1) || defined(EK_FE_LOGMEL)
    norm = 1;   /* TF's Mfcc and librosa have no normaliser: every frame at log_norm 0, never shifted */
#endif
    if (norm < 1) norm = 1;
    ek_mfcc_frame(fe->buf, norm, fe->feat[slot]);
    fe->log_norm[slot] = ek_log2_q24((uint64_t)norm);
}

static int8_t clamp_s8(int32_t v) { return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v); }

#ifdef EK_FE_FIXED
/* c in Q20; round(c / scale) with a Q24 reciprocal; c0 shifted by the normaliser change
 * (sum of DCT row 0, Q30, times the log2 difference, Q24 -> Q54 -> Q20) */
static void quantize_frame(const ek_fe_coeff *c, int32_t dlog2, float scale, int32_t zp, int8_t *out) {
    const int64_t inv = (int64_t)(16777216.0 / (double)scale + 0.5);
    for (int k = 0; k < EK_FE_COEFFS; k++) {
        int64_t v = c[k];
        if (k == 0) v += (EK_FE_DCT0_SUM_Q30 * (int64_t)dlog2 + (1LL << 33)) >> 34;
        out[k] = clamp_s8((int32_t)((v * inv + (1LL << 43)) >> 44) + zp);
    }
}
#else
#include <math.h>
static void quantize_frame(const ek_fe_coeff *c, int32_t dlog2, float scale, int32_t zp, int8_t *out) {
    const float inv = 1.0f / scale;
    for (int k = 0; k < EK_FE_COEFFS; k++) {
        float v = c[k];
        if (k == 0) v += EK_FE_DCT0_SUM_LN2 * ((float)dlog2 * (1.0f / 16777216.0f));
        out[k] = clamp_s8((int32_t)floorf(v * inv + 0.5f) + zp);
    }
}
#endif

void ek_fe_window_s8(const ek_frontend *fe, int32_t norm, float scale, int32_t zero_point,
                     int8_t *out) {
    const int missing = EK_FE_FRAMES - fe->count;
#if defined(EK_FE_TF1) || defined(EK_FE_LOGMEL)
    norm = 1;
#endif
    const int32_t log_target = ek_log2_q24((uint64_t)(norm < 1 ? 1 : norm));
    memset(out, clamp_s8(zero_point), (size_t)missing * EK_FE_COEFFS);
    for (int t = 0; t < fe->count; t++) {
        const int slot = (fe->head + t) % EK_FE_FRAMES;
        quantize_frame(fe->feat[slot], fe->log_norm[slot] - log_target, scale, zero_point,
                       out + (missing + t) * EK_FE_COEFFS);
    }
}
#endif
