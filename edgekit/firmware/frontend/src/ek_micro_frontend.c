/* ek_micro_frontend: streaming framing and the ring of int8 frames of the microfrontend
 * (see ek_micro_frontend.h); the frame math is ek_micro_spectrum.c + ek_micro_features.c.
 * Twin: edgekit/audio/microfrontend.py microfrontend (frames of one stream). */
#ifdef EK_FE_MICRO
#include <string.h>

#include "ek_frontend.h"
#include "ek_micro.h"

void ek_micro_frame(const int16_t *x, uint32_t *noise, int8_t *out) {
    uint32_t amp[EK_FE_COEFFS];
    ek_mf_spectrum(x, amp);
    ek_mf_features(amp, noise, out);
}

void ek_fe_reset(ek_frontend *fe) { memset(fe, 0, sizeof *fe); }

static int next_slot(ek_frontend *fe) {
    if (fe->count < EK_FE_FRAMES) return (fe->head + fe->count++) % EK_FE_FRAMES;
    const int slot = fe->head;
    fe->head = (fe->head + 1) % EK_FE_FRAMES;
    return slot;
}

int ek_fe_push(ek_frontend *fe, const int16_t *x, int n, int32_t norm) {
    (void)norm;
    int frames = 0;
    while (n > 0) {
        int take = EK_FE_FRAME - fe->fill;
        if (take > n) take = n;
        memcpy(fe->buf + fe->fill, x, (size_t)take * sizeof *x);
        fe->fill += take;
        x += take;
        n -= take;
        if (fe->fill == EK_FE_FRAME) {
            ek_micro_frame(fe->buf, fe->noise, fe->feat[next_slot(fe)]);
            /* keep the 160-sample overlap of the next window */
            memmove(fe->buf, fe->buf + EK_FE_HOP, (EK_FE_FRAME - EK_FE_HOP) * sizeof *x);
            fe->fill = EK_FE_FRAME - EK_FE_HOP;
            frames++;
        }
    }
    return frames;
}

void ek_fe_window_s8(const ek_frontend *fe, int32_t norm, float scale, int32_t zero_point,
                     int8_t *out) {
    (void)norm;
    (void)scale;
    const int missing = EK_FE_FRAMES - fe->count;
    const int8_t zp = (int8_t)(zero_point < -128 ? -128 : zero_point > 127 ? 127 : zero_point);
    memset(out, zp, (size_t)missing * EK_FE_COEFFS);
    for (int t = 0; t < fe->count; t++)
        memcpy(out + (missing + t) * EK_FE_COEFFS, fe->feat[(fe->head + t) % EK_FE_FRAMES], EK_FE_COEFFS);
}
#endif
