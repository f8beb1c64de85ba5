/* ek_maxpool_s8: max pooling over the window's elements inside the input.
 * Twin: reference.max_pool. */
#include "ek_fixedpoint.h"
#include "ek_window.h"
#include "ek_nn.h"

ek_status ek_maxpool_s8(const ek_conv_params *p, int32_t kh, int32_t kw,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *out, int8_t *output) {
    const int32_t c = in->c;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * in->w * c;
        for (int32_t oy = 0; oy < out->h; oy++) {
            for (int32_t ox = 0; ox < out->w; ox++) {
                const ek_window win = ek_pool_window(p, in, kh, kw, oy, ox);
                if (win.ye <= win.ys || win.xe <= win.xs) return EK_ARG_ERROR;
                for (int32_t ch = 0; ch < c; ch++) {
                    int32_t m = -128;
                    for (int32_t iy = win.ys; iy < win.ye; iy++)
                        for (int32_t ix = win.xs; ix < win.xe; ix++)
                            m = EK_MAX(m, x[((int64_t)iy * in->w + ix) * c + ch]);
                    *output++ = (int8_t)EK_CLAMP(m, p->act_min, p->act_max);
                }
            }
        }
    }
    return EK_OK;
}
