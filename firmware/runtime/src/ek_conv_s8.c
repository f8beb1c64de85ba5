/* ek_conv_s8: general int8 convolution (TFLM ConvPerChannel). Twin: reference.conv2d.
 * For each output pixel the receptive field is gathered once into a column (im2col, in
 * scratch: kh * kw * cin bytes); window positions outside the input are filled with the
 * input zero point (-input_offset), which contributes w * (zp + off) = 0, exactly like
 * TFLM's skipped taps. With the offset folded into eff_bias = bias + off * sum(w), every
 * output channel is then one dot product (SIMD on Cortex-M4/M7), four channels at a time. */
#include "ek_internal.h"

int32_t ek_conv_s8_buffer_size(const ek_dims *filter_dims) {
    return filter_dims->h * filter_dims->w * filter_dims->c;
}

/* im2col for one output pixel: per filter row, the in-range run of input pixels is one
 * contiguous NHWC span, copied in one go; out-of-range taps get the zero point. */
static void gather(const ek_conv_params *p, const ek_dims *in, const int8_t *x, int32_t kh,
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

ek_status ek_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                     const ek_dims *in, const int8_t *input,
                     const ek_dims *fd, const int8_t *filter, const int32_t *eff_bias,
                     const ek_dims *out, int8_t *output) {
    const int32_t kh = fd->h, kw = fd->w, cin = in->c, cout = out->c;
    const int32_t k = kh * kw * cin;
    if (fd->c != cin || fd->n != cout || input == output || !ctx || ctx->size < k)
        return EK_ARG_ERROR;
    int8_t *col = (int8_t *)ctx->buf;
    /* locals: int8 stores may alias anything (see ek_dw_conv_s8.c) */
    const int32_t *const qm = q->multiplier, *const qs = q->shift;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int rs = ek_right_shifts(qs, cout);
    const int32_t off2p1 = 2 * out_off + 1;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * in->w * cin;
        for (int32_t oy = 0; oy < out->h; oy++) {
            for (int32_t ox = 0; ox < out->w; ox++) {
                gather(p, in, x, kh, kw, oy, ox, col);
                int32_t oc = 0;
                for (; oc + 4 <= cout; oc += 4) {
                    int32_t acc[4];
                    ek_dot4_s8(col, filter + (int64_t)oc * k, k, acc);
                    if (rs)
                        for (int j = 0; j < 4; j++)
                            *output++ = ek_finish_r(acc[j] + eff_bias[oc + j], qm[oc + j],
                                                    ~qs[oc + j], off2p1, lo, hi, 1);
                    else
                        for (int j = 0; j < 4; j++)
                            *output++ = ek_finish(acc[j] + eff_bias[oc + j], qm[oc + j],
                                                  qs[oc + j], out_off, lo, hi);
                }
                for (; oc < cout; oc++)
                    *output++ = ek_finish(eff_bias[oc] + ek_dot_s8(col, filter + (int64_t)oc * k, k),
                                          qm[oc], qs[oc], out_off, lo, hi);
            }
        }
    }
    return EK_OK;
}
