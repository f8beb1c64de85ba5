/* ek_conv_s8: general int8 convolution (TFLM ConvPerChannel). Twin: reference.conv2d.
 * For each output pixel the receptive field is gathered once into a column (im2col, in
 * scratch); window positions outside the input are filled with the input zero point
 * (-input_offset), which contributes w * (zp + off) = 0, exactly like TFLM's skipped
 * taps. With the offset folded into eff_bias = bias + off * sum(w), every output channel
 * is then one dot product. Filter: channel-pair layout when kh * kw * cin % 4 == 0
 * (ek_pairs.h); with it and right shifts, two output pixels' columns are gathered at a
 * time and computed in 2 x 2 blocks (ek_pairs.h). */
#include "ek_pairs.h"

/* two im2col columns (k bytes each) and their int16 form (4k bytes) */
int32_t ek_conv_s8_buffer_size(const ek_dims *filter_dims) {
    return 6 * filter_dims->h * filter_dims->w * filter_dims->c;
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

/* either weight form: int8 filter, or codebook cb (which always takes the pair path);
 * pair: the pair block of that form. Inlined into each entry point, where pair is a
 * constant: int8-only builds do not link the codebook decoder (--gc-sections). */
static inline __attribute__((always_inline)) ek_status
conv(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx, const ek_dims *in,
     const int8_t *input, const ek_dims *fd, const int8_t *filter, const ek_cb_lut *cb,
     ek_pair_fn pair, const int32_t *eff_bias, const ek_dims *out, int8_t *output) {
    const int32_t kh = fd->h, kw = fd->w, cin = in->c, cout = out->c;
    const int32_t k = kh * kw * cin;
    if (fd->c != cin || fd->n != cout || input == output ||
        (cb && k % 4) ||
        !ctx || ctx->size < ek_conv_s8_buffer_size(fd))
        return EK_ARG_ERROR;
    int8_t *col0 = (int8_t *)ctx->buf;
    const int packed = k % 4 == 0;
    const int rs = ek_right_shifts(q->shift, cout);
    const int32_t pixels = out->h * out->w;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * in->w * cin;
        int8_t *y = output + (int64_t)b * pixels * cout;
        if (cb || (packed && rs)) {
            int8_t *col1 = col0 + k;
            int32_t *xb = (int32_t *)(col1 + k);   /* k % 4 == 0: word aligned */
            for (int32_t px = 0; px < pixels; px += 2) {
                const int last = px + 1 == pixels;
                gather(p, in, x, kh, kw, px / out->w, px % out->w, col0);
                if (!last) gather(p, in, x, kh, kw, (px + 1) / out->w, (px + 1) % out->w, col1);
                prep2(col0, last ? col0 : col1, k, xb);
                int8_t *y0 = y + (int64_t)px * cout;
                pair(xb, cb ? (const void *)cb : (const void *)filter, eff_bias, q, p, k, cout, y0,
                     last ? 0 : y0 + cout);
            }
            continue;
        }
        for (int32_t px = 0; px < pixels; px++) {
            gather(p, in, x, kh, kw, px / out->w, px % out->w, col0);
            outputs_generic(col0, filter, eff_bias, q, p->output_offset, p->act_min, p->act_max,
                            k, cout, packed, rs, y + (int64_t)px * cout);
        }
    }
    return EK_OK;
}

ek_status ek_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                     const ek_dims *in, const int8_t *input,
                     const ek_dims *fd, const int8_t *filter, const int32_t *eff_bias,
                     const ek_dims *out, int8_t *output) {
    return conv(p, q, ctx, in, input, fd, filter, 0, pair_int8, eff_bias, out, output);
}

/* Codebook weights (ek_codebook): the same column pairs, weights decoded on the fly. */
ek_status ek_conv_cb_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *fd, const ek_codebook *filter, const int32_t *eff_bias,
                        const ek_dims *out, int8_t *output) {
    ek_cb_lut lut;
    if (!ek_cb_lut_init(&lut, filter)) return EK_ARG_ERROR;
    return conv(p, q, ctx, in, input, fd, 0, &lut, pair_cb, eff_bias, out, output);
}
