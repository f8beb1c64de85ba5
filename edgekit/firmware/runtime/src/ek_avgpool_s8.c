/* ek_avgpool_s8: average pooling (TFLM AveragePool int8). Twin: reference.average_pool.
 * The divisor counts only window elements inside the input; the quotient rounds half away
 * from zero: sum > 0 ? (sum + n/2) / n : (sum - n/2) / n. Input and output share
 * quantization, so there is no requantization. */
#include "ek_fixedpoint.h"
#include "ek_window.h"
#include "ek_nn.h"

ek_status ek_avgpool_s8(const ek_conv_params *p, int32_t kh, int32_t kw,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *out, int8_t *output) {
    const int32_t c = in->c;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * in->w * c;
        for (int32_t oy = 0; oy < out->h; oy++) {
            for (int32_t ox = 0; ox < out->w; ox++) {
                const ek_window win = ek_pool_window(p, in, kh, kw, oy, ox);
                const int32_t n = (win.ye - win.ys) * (win.xe - win.xs);
                if (n <= 0) return EK_ARG_ERROR;
                for (int32_t ch = 0; ch < c; ch++) {
                    int32_t sum = 0;
                    for (int32_t iy = win.ys; iy < win.ye; iy++) {
                        const int8_t *px = x + ((int64_t)iy * in->w + win.xs) * c + ch;
                        for (int32_t ix = win.xs; ix < win.xe; ix++, px += c) sum += *px;
                    }
                    sum = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
                    *output++ = (int8_t)EK_CLAMP(sum, p->act_min, p->act_max);
                }
            }
        }
    }
    return EK_OK;
}
