/* ek_frontend, microfrontend kind (built with -DEK_FE_MICRO; included by ek_frontend.h):
 * TFLM micro_speech's integer front end, streaming, on int16 16 kHz audio.
 *
 * Per 30 ms window (EK_FE_FRAME samples, one every EK_FE_HOP): Hann (Q12), auto-scale,
 * 512-point int16 FFT (kissfft arithmetic), 40-channel mel filter bank, sqrt, spectral-
 * subtraction noise reduction, PCAN gain control, log, int8 -- EK_FE_COEFFS int8 features
 * that are already the model's input (no scale, no normaliser: the noise estimate and
 * PCAN do the levelling, so the `norm`, `scale` and `zero_point` arguments of the shared
 * interface are unused here). The noise estimate is state: it carries from frame to
 * frame from the last ek_fe_reset, as in micro_speech, which feeds one interpreter.
 * Integer only. Bit-exact with edgekit/audio/microfrontend.py (which is bit-exact with
 * TFLM's audio_preprocessor_int8.tflite). Tables: ek_micro_tables.{h,c}, generated from
 * the model's FeatureSpec by edgekit (edgekit/audio/emit.py generate_micro_tables). */
#ifndef EK_MICRO_FRONTEND_H
#define EK_MICRO_FRONTEND_H
#include <stdint.h>

#include "ek_micro_tables.h"   /* EK_FE_* sizes, EK_MF_* parameters and tables */

typedef int8_t ek_fe_coeff;    /* the features are final: int8 */

/* ek_fe_reset and ek_fe_push (shared with the MFCC kind) are declared in ek_frontend.h */
typedef struct {
    int16_t buf[EK_FE_FRAME];                       /* samples not yet consumed by a frame */
    int fill;                                       /* how many of buf are valid */
    ek_fe_coeff feat[EK_FE_FRAMES][EK_FE_COEFFS];   /* ring of frames, oldest at head */
    uint32_t noise[EK_FE_COEFFS];                   /* noise estimate per channel */
    int head, count;                                /* ring start, frames held */
} ek_frontend;

/* The model input, EK_FE_FRAMES x EK_FE_COEFFS int8, oldest frame first (the layout of
 * a [1, frames, channels] or flat [1, frames * channels] input). Frames not yet computed
 * read as zero_point; norm and scale: unused. */
void ek_fe_window_s8(const ek_frontend *fe, int32_t norm, float scale, int32_t zero_point,
                     int8_t *out);

/* One frame, for tests: 480 samples and the noise state -> EK_FE_COEFFS features. */
void ek_micro_frame(const int16_t *x, uint32_t *noise, int8_t *out);
#endif
