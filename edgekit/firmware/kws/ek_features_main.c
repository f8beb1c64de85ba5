/* ek_features_main: the front end alone, clip mode. Reads clips of EK_FE_CLIP int16
 * samples (ek_clips.bin; host: argv[1]) and writes, per clip, the int8 model window
 * (EK_FE_FRAMES x EK_FE_COEFFS) then the raw coefficients (float32 or Q20 int32) to
 * ek_feat.bin (host: argv[2]). Scale and zero point: EK_FE_SCALE / EK_FE_ZERO_POINT. */
#include <stdio.h>

#include "ek_frontend.h"

static int16_t clip[EK_FE_CLIP];
static ek_frontend fe;

int main(int argc, char **argv) {
    FILE *fi = fopen(argc > 2 ? argv[1] : "ek_clips.bin", "rb");
    FILE *fo = fopen(argc > 2 ? argv[2] : "ek_feat.bin", "wb");
    if (!fi || !fo) return 2;
    int8_t win[EK_FE_FRAMES * EK_FE_COEFFS];
    while (fread(clip, sizeof clip[0], EK_FE_CLIP, fi) == EK_FE_CLIP) {
        int32_t peak = 1;
        for (int i = 0; i < EK_FE_CLIP; i++)
            if (clip[i] > peak) peak = clip[i];
        ek_fe_reset(&fe);
        ek_fe_push(&fe, clip, EK_FE_CLIP, peak);
        ek_fe_window_s8(&fe, peak, EK_FE_SCALE, EK_FE_ZERO_POINT, win);
        fwrite(win, 1, sizeof win, fo);
        for (int t = 0; t < EK_FE_FRAMES; t++)
            fwrite(fe.feat[(fe.head + t) % EK_FE_FRAMES], sizeof(ek_fe_coeff), EK_FE_COEFFS, fo);
    }
    fclose(fi);
    fclose(fo);
    return 0;
}
