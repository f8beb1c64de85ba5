/* ek_dw_conv_s8: depthwise convolution (TFLM DepthwiseConvPerChannel).
 * Twin: reference.depthwise_conv2d. Output channel c*M + m reads input channel c.
 *
 * In place (output == input): allowed for stride 1, dilation 1, M = 1 and output dims ==
 * input dims (TF 'SAME'). Output row y needs input rows y - pad_top .. y - pad_top + kh - 1;
 * the ones at or above y have been overwritten by then, so the kernel saves each original
 * row into a ring of pad_top + 1 rows (scratch) just before overwriting it. This is what
 * lets a whole DS-CNN block run in one activation buffer (TinyEngine-style). */
#include <string.h>

#include "ek_internal.h"

int32_t ek_dw_conv_s8_buffer_size(const ek_conv_params *p, const ek_dims *in,
                                  const ek_dims *fd, int in_place) {
    (void)fd;
    return in_place ? (p->pad_top + 1) * in->w * in->c : 0;
}

static int in_place_ok(const ek_conv_params *p, const ek_dims *in, const ek_dims *out) {
    return p->stride_h == 1 && p->stride_w == 1 && p->dilation_h == 1 && p->dilation_w == 1 &&
           in->c == out->c && in->h == out->h && in->w == out->w;
}

ek_status ek_dw_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *fd, const int8_t *filter, const int32_t *bias,
                        const ek_dims *out, int8_t *output) {
    const int32_t kh = fd->h, kw = fd->w, cin = in->c, cout = out->c;
    const int32_t mult = cout / cin;
    const int32_t row = in->w * cin;
    const int in_place = input == output;
    if (fd->c != cout || mult * cin != cout) return EK_ARG_ERROR;
    if (in_place && (!in_place_ok(p, in, out) || !ctx ||
                     ctx->size < ek_dw_conv_s8_buffer_size(p, in, fd, 1)))
        return EK_ARG_ERROR;
    const int32_t ring = p->pad_top + 1;
    int8_t *saved = in_place ? (int8_t *)ctx->buf : 0;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * row;
        int8_t *y_out = output + (int64_t)b * out->h * out->w * cout;
        for (int32_t oy = 0; oy < out->h; oy++) {
            if (in_place) memcpy(saved + (oy % ring) * row, x + (int64_t)oy * row, (size_t)row);
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < out->w; ox++) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < cout; oc++) {
                    const int32_t ic = oc / mult;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (int32_t fy = 0; fy < kh; fy++) {
                        const int32_t iy = y0 + fy * p->dilation_h;
                        if (iy < 0 || iy >= in->h) continue;
                        /* rows at or above the current one come from the saved originals */
                        const int8_t *src = (in_place && iy <= oy) ? saved + (iy % ring) * row
                                                                   : x + (int64_t)iy * row;
                        for (int32_t fx = 0; fx < kw; fx++) {
                            const int32_t ix = x0 + fx * p->dilation_w;
                            if (ix < 0 || ix >= in->w) continue;
                            acc += filter[(fy * kw + fx) * cout + oc] *
                                   (src[ix * cin + ic] + p->input_offset);
                        }
                    }
                    y_out[((int64_t)oy * out->w + ox) * cout + oc] =
                        ek_finish(acc, q->multiplier[oc], q->shift[oc], p->output_offset,
                                  p->act_min, p->act_max);
                }
            }
        }
    }
    return EK_OK;
}
