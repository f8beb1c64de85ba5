/* ek_conv_s8: general int8 convolution (TFLM ConvPerChannel). Twin: reference.conv2d.
 * acc = bias[c] + sum over the window of w * (x + input_offset); padding contributes 0. */
#include "ek_internal.h"

ek_status ek_conv_s8(const ek_conv_params *p, const ek_quant_params *q,
                     const ek_dims *in, const int8_t *input,
                     const ek_dims *fd, const int8_t *filter, const int32_t *bias,
                     const ek_dims *out, int8_t *output) {
    const int32_t kh = fd->h, kw = fd->w, cin = in->c, cout = out->c;
    if (fd->c != cin || fd->n != cout || input == output) return EK_ARG_ERROR;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * in->w * cin;
        for (int32_t oy = 0; oy < out->h; oy++) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < out->w; ox++) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < cout; oc++) {
                    int32_t acc = bias ? bias[oc] : 0;
                    const int8_t *w = filter + (int64_t)oc * kh * kw * cin;
                    for (int32_t fy = 0; fy < kh; fy++) {
                        const int32_t iy = y0 + fy * p->dilation_h;
                        if (iy < 0 || iy >= in->h) continue;
                        for (int32_t fx = 0; fx < kw; fx++) {
                            const int32_t ix = x0 + fx * p->dilation_w;
                            if (ix < 0 || ix >= in->w) continue;
                            const int8_t *xp = x + ((int64_t)iy * in->w + ix) * cin;
                            const int8_t *wp = w + (fy * kw + fx) * cin;
                            for (int32_t ic = 0; ic < cin; ic++)
                                acc += wp[ic] * (xp[ic] + p->input_offset);
                        }
                    }
                    *output++ = ek_finish(acc, q->multiplier[oc], q->shift[oc],
                                          p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
    return EK_OK;
}
