/* im2col: the receptive field of one output pixel gathered into a column, shared by
 * ek_conv_s8 and ek_conv_cb_s8. */
#ifndef EK_IM2COL_H
#define EK_IM2COL_H

#include "ek_copy.h"
#include "ek_fixedpoint.h"
#include "ek_nn.h"

/* im2col for one output pixel: per filter row, the in-range run of input pixels is one
 * contiguous NHWC span, copied in one go; out-of-range taps get the zero point. */
static inline void ek_gather(const ek_conv_params *p, const ek_dims *in, const int8_t *x, int32_t kh,
                             int32_t kw, int32_t oy, int32_t ox, int8_t *col) {
    const int32_t cin = in->c;
    const int8_t zp = (int8_t)(-p->input_offset);
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    for (int32_t fy = 0; fy < kh; fy++) {
        const int32_t iy = oy * p->stride_h - p->pad_top + fy * p->dilation_h;
        int8_t *dst = col + fy * kw * cin;
        if (iy < 0 || iy >= in->h) {
            ek_fill(dst, zp, kw * cin);
            continue;
        }
        const int8_t *row = x + (int64_t)iy * in->w * cin;
        if (p->dilation_w == 1) {
            /* taps fx in [a, b) are inside: ix = x0 + fx in [0, in->w) */
            const int32_t a = EK_MAX(0, -x0), b = EK_MIN(kw, in->w - x0);
            if (a > 0) ek_fill(dst, zp, a * cin);
            if (b > a) ek_copy(dst + a * cin, row + (int64_t)(x0 + a) * cin, (b - a) * cin);
            if (b < kw) ek_fill(dst + EK_MAX(b, a) * cin, zp, (kw - EK_MAX(b, a)) * cin);
            continue;
        }
        for (int32_t fx = 0; fx < kw; fx++) {
            const int32_t ix = x0 + fx * p->dilation_w;
            if (ix < 0 || ix >= in->w)
                ek_fill(dst + fx * cin, zp, cin);
            else
                ek_copy(dst + fx * cin, row + (int64_t)ix * cin, cin);
        }
    }
}

#endif
