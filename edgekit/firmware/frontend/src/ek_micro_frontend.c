/* ek_micro_frontend: one microfrontend frame into the ring, and the model window (see
 * ek_micro_frontend.h); the framing is ek_fe_framing.c, the frame math
 * ek_micro_spectrum.c + ek_micro_features.c.
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

void ek_fe_frame_into(ek_frontend *fe, int slot, int32_t norm) {
    (void)norm;
    ek_micro_frame(fe->buf, fe->noise, fe->feat[slot]);
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
