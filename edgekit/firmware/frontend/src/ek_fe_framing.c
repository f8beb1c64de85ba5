/* ek_fe_framing: what both front ends share (ek_frontend.h, either kind): samples
 * collect in a window of EK_FE_FRAME; each time it is full the kind's frame function
 * (ek_fe_frame_into: the MFCC one in ek_frontend.c, the microfrontend's in
 * ek_micro_frontend.c) turns it into the next slot of the ring of EK_FE_FRAMES frames
 * (oldest at head), and the window slides by EK_FE_HOP.
 * Twin: the framing of edgekit/audio/mfcc.py frames_of and microfrontend.py. */
#include <string.h>

#include "ek_frontend.h"

void ek_fe_reset(ek_frontend *fe) { memset(fe, 0, sizeof *fe); }

static int next_slot(ek_frontend *fe) {
    if (fe->count < EK_FE_FRAMES) return (fe->head + fe->count++) % EK_FE_FRAMES;
    const int slot = fe->head;
    fe->head = (fe->head + 1) % EK_FE_FRAMES;
    return slot;
}

int ek_fe_push(ek_frontend *fe, const int16_t *x, int n, int32_t norm) {
    int frames = 0;
    while (n > 0) {
        int take = EK_FE_FRAME - fe->fill;
        if (take > n) take = n;
        memcpy(fe->buf + fe->fill, x, (size_t)take * sizeof *x);
        fe->fill += take;
        x += take;
        n -= take;
        if (fe->fill == EK_FE_FRAME) {
            ek_fe_frame_into(fe, next_slot(fe), norm);
            /* keep the overlap (EK_FE_FRAME - EK_FE_HOP samples) for the next window */
            memmove(fe->buf, fe->buf + EK_FE_HOP, (EK_FE_FRAME - EK_FE_HOP) * sizeof *x);
            fe->fill = EK_FE_FRAME - EK_FE_HOP;
            frames++;
        }
    }
    return frames;
}
