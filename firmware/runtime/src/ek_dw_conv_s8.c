/* ek_dw_conv_s8: depthwise convolution (TFLM DepthwiseConvPerChannel).
 * Twin: reference.depthwise_conv2d. Output channel c*M + m reads input channel c.
 *
 * Per output pixel the kernel first builds a table of kh * kw row pointers, one per tap:
 * taps outside the input point at a row of zero points (-input_offset), which contribute
 * w * (zp + off) = 0, so with the offset folded into eff_bias = bias + off * sum(w) every
 * tap is a plain multiply-accumulate. Channels go four at a time on Cortex-M4/M7: SXTB16
 * splits a word of four channels into two int16 pairs and SMLABB/SMLATT accumulate each
 * lane into its own channel (depthwise has no reduction over channels for SMLAD).
 *
 * In place (output == input): allowed for stride 1, dilation 1, M = 1 and output dims ==
 * input dims (TF 'SAME'). Output row y needs input rows y - pad_top .. y - pad_top + kh - 1;
 * the ones at or above y have been overwritten by then, so the kernel saves each original
 * row into a ring of pad_top + 1 rows (scratch) just before overwriting it. This is what
 * lets a whole DS-CNN block run in one activation buffer (TinyEngine-style). */
#include "ek_internal.h"

#define EK_DW_MAX_TAPS 25

int32_t ek_dw_conv_s8_buffer_size(const ek_conv_params *p, const ek_dims *in,
                                  const ek_dims *fd, int in_place) {
    (void)fd;
    return (in_place ? (p->pad_top + 1) * in->w * in->c : 0) + in->c;
}

static int in_place_ok(const ek_conv_params *p, const ek_dims *in, const ek_dims *out) {
    return p->stride_h == 1 && p->stride_w == 1 && p->dilation_h == 1 && p->dilation_w == 1 &&
           in->c == out->c && in->h == out->h && in->w == out->w;
}

/* four channels c..c+3 of one output pixel (M == 1) */
static inline void dw4(const int8_t *const *taps, int32_t n_taps, const int8_t *w, int32_t cout,
                       int32_t c, const int32_t *eb, int32_t acc[4]) {
    int32_t a0 = eb[c], a1 = eb[c + 1], a2 = eb[c + 2], a3 = eb[c + 3];
#if defined(__ARM_FEATURE_DSP)
    for (int32_t t = 0; t < n_taps; t++) {
        const int32_t xv = ek_load32(taps[t] + c), wv = ek_load32(w + t * cout + c);
        const int32_t xe = ek_sxtb16(xv), xo = ek_sxtb16_ror8(xv);
        const int32_t we = ek_sxtb16(wv), wo = ek_sxtb16_ror8(wv);
        a0 = ek_smlabb(xe, we, a0);
        a2 = ek_smlatt(xe, we, a2);
        a1 = ek_smlabb(xo, wo, a1);
        a3 = ek_smlatt(xo, wo, a3);
    }
#else
    for (int32_t t = 0; t < n_taps; t++) {
        const int8_t *x = taps[t] + c, *wt = w + t * cout + c;
        a0 += x[0] * wt[0]; a1 += x[1] * wt[1]; a2 += x[2] * wt[2]; a3 += x[3] * wt[3];
    }
#endif
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* kernels with more than EK_DW_MAX_TAPS taps (e.g. micro_speech's 10x8): tap by tap,
 * out of place only */
static void dw_large(const ek_conv_params *p, const ek_quant_params *q, const ek_dims *in,
                     const int8_t *x, const ek_dims *fd, const int8_t *filter, const int32_t *eb,
                     const ek_dims *out, int8_t *y) {
    const int32_t cin = in->c, cout = out->c, mult = cout / cin;
    const int32_t zp = -p->input_offset;
    for (int32_t oy = 0; oy < out->h; oy++)
        for (int32_t ox = 0; ox < out->w; ox++)
            for (int32_t oc = 0; oc < cout; oc++) {
                int32_t acc = eb[oc];
                for (int32_t fy = 0; fy < fd->h; fy++) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + fy * p->dilation_h;
                    for (int32_t fx = 0; fx < fd->w; fx++) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + fx * p->dilation_w;
                        const int inside = iy >= 0 && iy < in->h && ix >= 0 && ix < in->w;
                        const int32_t v = inside ? x[((int64_t)iy * in->w + ix) * cin + oc / mult] : zp;
                        acc += filter[(fy * fd->w + fx) * cout + oc] * v;
                    }
                }
                *y++ = ek_finish(acc, q->multiplier[oc], q->shift[oc], p->output_offset,
                                 p->act_min, p->act_max);
            }
}

ek_status ek_dw_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *fd, const int8_t *filter, const int32_t *eb,
                        const ek_dims *out, int8_t *output) {
    const int32_t kh = fd->h, kw = fd->w, cin = in->c, cout = out->c;
    const int32_t mult = cout / cin;
    const int32_t row = in->w * cin;
    const int in_place = input == output;
    if (kh * kw > EK_DW_MAX_TAPS && !in_place && fd->c == cout && mult * cin == cout) {
        for (int32_t b = 0; b < in->n; b++)
            dw_large(p, q, in, input + (int64_t)b * in->h * row, fd, filter, eb, out,
                     output + (int64_t)b * out->h * out->w * cout);
        return EK_OK;
    }
    if (fd->c != cout || mult * cin != cout || kh * kw > EK_DW_MAX_TAPS || !ctx ||
        ctx->size < ek_dw_conv_s8_buffer_size(p, in, fd, in_place) ||
        (in_place && !in_place_ok(p, in, out)))
        return EK_ARG_ERROR;
    const int32_t ring = p->pad_top + 1;
    int8_t *saved = (int8_t *)ctx->buf;
    int8_t *zp_row = saved + (in_place ? ring * row : 0);
    ek_fill(zp_row, (int8_t)(-p->input_offset), cin);
    const int8_t *taps[EK_DW_MAX_TAPS];
    /* locals: int8 stores may alias anything, so fields read through p/q would be
     * reloaded after every output byte */
    const int32_t *const qm = q->multiplier, *const qs = q->shift;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t n_taps = kh * kw;
    const int rs = ek_right_shifts(qs, cout);
    const int32_t off2p1 = 2 * out_off + 1;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * row;
        int8_t *y = output + (int64_t)b * out->h * out->w * cout;
        for (int32_t oy = 0; oy < out->h; oy++) {
            if (in_place) ek_copy(saved + (oy % ring) * row, x + (int64_t)oy * row, row);
            for (int32_t ox = 0; ox < out->w; ox++) {
                for (int32_t fy = 0; fy < kh; fy++) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + fy * p->dilation_h;
                    /* rows at or above the current one come from the saved originals */
                    const int8_t *src = (in_place && iy <= oy) ? saved + (iy % ring) * row
                                                               : x + (int64_t)iy * row;
                    for (int32_t fx = 0; fx < kw; fx++) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + fx * p->dilation_w;
                        const int inside = iy >= 0 && iy < in->h && ix >= 0 && ix < in->w;
                        taps[fy * kw + fx] = inside ? src + ix * cin : zp_row;
                    }
                }
                int8_t *yp = y + ((int64_t)oy * out->w + ox) * cout;
                int32_t oc = 0;
                if (mult == 1) {
                    for (; oc + 4 <= cout; oc += 4) {
                        int32_t acc[4];
                        dw4(taps, n_taps, filter, cout, oc, eb, acc);
                        if (rs)
                            for (int j = 0; j < 4; j++)
                                yp[oc + j] = ek_finish_r(acc[j], qm[oc + j], ~qs[oc + j], off2p1, lo, hi, 1);
                        else
                            for (int j = 0; j < 4; j++)
                                yp[oc + j] = ek_finish(acc[j], qm[oc + j], qs[oc + j], out_off, lo, hi);
                    }
                }
                for (; oc < cout; oc++) {
                    const int32_t ic = oc / mult;
                    int32_t acc = eb[oc];
                    for (int32_t t = 0; t < n_taps; t++) acc += filter[t * cout + oc] * taps[t][ic];
                    yp[oc] = ek_finish(acc, qm[oc], qs[oc], out_off, lo, hi);
                }
            }
        }
    }
    return EK_OK;
}
