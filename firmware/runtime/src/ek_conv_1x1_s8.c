/* ek_conv_1x1_s8: pointwise convolution, the DS-CNN's hot loop. Twin: reference.conv2d
 * with a 1x1 filter.
 *
 * The input offset is folded out of the inner loop ahead of time:
 *   sum w * (x + off) + bias = dot(w, x) + eff_bias,  eff_bias = bias + off * sum(w),
 * computed once per model by the code generator (edgekit/codegen), as CMSIS-NN does with
 * its kernel sums.
 *
 * Filter layout (ek_nn.h): when cin % 4 == 0, output channels go in pairs and each pair's
 * weights are interleaved in 8-byte blocks (4 inputs of channel 2p, then the same 4
 * inputs of channel 2p + 1), so one pointer walks both rows; an odd last channel is a
 * plain row. Otherwise plain [cout][cin].
 *
 * Cortex-M4/M7 (DSP) path, used when cin % 4 == 0 and every shift is a right shift: two
 * pixels at a time. Their inputs are first unpacked to int16 pairs in scratch (SXTB16,
 * once per pixel); then each 2 pixels x 2 channels block costs, per 4 inputs, two weight
 * loads, four SXTB16 and eight SMLAD (16 MACs), with four accumulators in registers.
 * Because the inputs sit in scratch before any output is written, the kernel runs in
 * place (output == input) whenever cout <= cin: pixels p, p+1 only overwrite input
 * bytes of pixels <= p + 1. The other paths compute one pixel into scratch, then store. */
#include "ek_internal.h"

int32_t ek_conv_1x1_s8_buffer_size(const ek_dims *in_dims, const ek_dims *out_dims) {
    return 4 * in_dims->c + out_dims->c;
}

/* weights of channel oc: first 4-input group and the stride between groups */
static inline const int8_t *row_of(const int8_t *filter, int32_t oc, int32_t cin, int32_t cout,
                                   int packed, int32_t *step) {
    if (packed && (oc < cout - 1 || cout % 2 == 0)) {
        *step = 8;
        return filter + (int64_t)(oc / 2) * 2 * cin + (oc % 2) * 4;
    }
    *step = 4;
    return filter + (int64_t)oc * cin;
}

/* sum_i x[i] * w[i], w in groups of 4 bytes `step` apart (cin % 4 == 0) or contiguous */
static inline int32_t dot_rows(const int8_t *x, const int8_t *w, int32_t n, int32_t step) {
    int32_t acc = 0, i = 0;
    for (; i + 4 <= n; i += 4, w += step)
        acc += x[i] * w[0] + x[i + 1] * w[1] + x[i + 2] * w[2] + x[i + 3] * w[3];
    for (int32_t k = 0; i < n; i++, k++) acc += x[i] * w[k];
    return acc;
}

/* one pixel, any shifts, any target: results into tmp */
static void pixel_generic(const int8_t *x, const int8_t *filter, const int32_t *eb,
                          const ek_quant_params *q, const ek_conv_params *p, int32_t cin,
                          int32_t cout, int packed, int rs, int8_t *tmp) {
    const int32_t lo = p->act_min, hi = p->act_max, off2p1 = 2 * p->output_offset + 1;
    for (int32_t oc = 0; oc < cout; oc++) {
        int32_t step;
        const int8_t *w = row_of(filter, oc, cin, cout, packed, &step);
        const int32_t acc = eb[oc] + dot_rows(x, w, cin, step);
        tmp[oc] = rs ? ek_finish_r(acc, q->multiplier[oc], ~q->shift[oc], off2p1, lo, hi, 1)
                     : ek_finish(acc, q->multiplier[oc], q->shift[oc], p->output_offset, lo, hi);
    }
}

#if defined(__ARM_FEATURE_DSP)
/* Pixels x0, x1 as int16 pairs, 4 words per 4 inputs: x0 (0,2), x0 (1,3), x1 (0,2), x1 (1,3). */
static void widen2(const int8_t *x0, const int8_t *x1, int32_t cin, int32_t *buf) {
    for (int32_t i = 0; i < cin; i += 4, buf += 4) {
        const int32_t a = ek_load32(x0 + i), b = ek_load32(x1 + i);
        buf[0] = ek_sxtb16(a);
        buf[1] = ek_sxtb16_ror8(a);
        buf[2] = ek_sxtb16(b);
        buf[3] = ek_sxtb16_ror8(b);
    }
}

/* acc[2 * pixel + channel] += the 2 x 2 dot products; w walks a channel pair's blocks,
 * or (pair == 0) one plain row for both channel slots */
static inline void dot2x2(const int32_t *xb, const int8_t *w, int32_t cin, int pair,
                          int32_t acc[4]) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int32_t *const end = xb + cin;
    const int32_t step = pair ? 8 : 4;
    for (; xb < end; xb += 4, w += step) {
        const int32_t x0e = xb[0], x0o = xb[1], x1e = xb[2], x1o = xb[3];
        int32_t wv = ek_load32(w);
        int32_t we = ek_sxtb16(wv), wo = ek_sxtb16_ror8(wv);
        a00 = ek_smlad(x0e, we, a00); a00 = ek_smlad(x0o, wo, a00);
        a10 = ek_smlad(x1e, we, a10); a10 = ek_smlad(x1o, wo, a10);
        if (pair) {
            wv = ek_load32(w + 4);
            we = ek_sxtb16(wv); wo = ek_sxtb16_ror8(wv);
            a01 = ek_smlad(x0e, we, a01); a01 = ek_smlad(x0o, wo, a01);
            a11 = ek_smlad(x1e, we, a11); a11 = ek_smlad(x1o, wo, a11);
        }
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}

/* pixels x0 and x1 (both in the buffer), outputs to y0 and y1 (y1 == NULL: x1 is a
 * stand-in for an odd last pixel, its results are dropped); `clamp` is a constant at
 * each call site, so each variant compiles without the other's tests */
static inline __attribute__((always_inline)) void
pixel_pair_dsp(const int32_t *xb, const int8_t *filter, const int32_t *eb, const int32_t *qm,
               const int32_t *qs, int32_t cin, int32_t cout, int32_t off2p1, int32_t lo,
               int32_t hi, const int clamp, int8_t *y0, int8_t *y1) {
    int32_t oc = 0;
    for (; oc + 2 <= cout; oc += 2) {
        int32_t acc[4] = {eb[oc], eb[oc + 1], eb[oc], eb[oc + 1]};
        dot2x2(xb, filter + (int64_t)oc * cin, cin, 1, acc);
        const int32_t m0 = qm[oc], m1 = qm[oc + 1], e0 = ~qs[oc], e1 = ~qs[oc + 1];
        y0[oc] = ek_finish_r(acc[0], m0, e0, off2p1, lo, hi, clamp);
        y0[oc + 1] = ek_finish_r(acc[1], m1, e1, off2p1, lo, hi, clamp);
        if (y1) {
            y1[oc] = ek_finish_r(acc[2], m0, e0, off2p1, lo, hi, clamp);
            y1[oc + 1] = ek_finish_r(acc[3], m1, e1, off2p1, lo, hi, clamp);
        }
    }
    if (oc < cout) {
        int32_t acc[4] = {eb[oc], 0, eb[oc], 0};
        dot2x2(xb, filter + (int64_t)oc * cin, cin, 0, acc);
        y0[oc] = ek_finish_r(acc[0], qm[oc], ~qs[oc], off2p1, lo, hi, clamp);
        if (y1) y1[oc] = ek_finish_r(acc[2], qm[oc], ~qs[oc], off2p1, lo, hi, clamp);
    }
}

static void pixels_dsp(const ek_conv_params *p, const ek_quant_params *q, int32_t *xb,
                       int32_t pixels, int32_t cin, int32_t cout, const int8_t *input,
                       const int8_t *filter, const int32_t *eb, int8_t *output) {
    const int32_t off2p1 = 2 * p->output_offset + 1, lo = p->act_min, hi = p->act_max;
    const int clamp = ek_needs_clamp(lo, hi);
    for (int32_t px = 0; px < pixels; px += 2) {
        const int8_t *x0 = input + (int64_t)px * cin;
        const int last = px + 1 == pixels;
        widen2(x0, last ? x0 : x0 + cin, cin, xb);
        int8_t *y0 = output + (int64_t)px * cout, *y1 = last ? 0 : y0 + cout;
        if (clamp)
            pixel_pair_dsp(xb, filter, eb, q->multiplier, q->shift, cin, cout, off2p1, lo, hi, 1, y0, y1);
        else
            pixel_pair_dsp(xb, filter, eb, q->multiplier, q->shift, cin, cout, off2p1, lo, hi, 0, y0, y1);
    }
}
#endif

ek_status ek_conv_1x1_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                         const ek_dims *in, const int8_t *input,
                         const int8_t *filter, const int32_t *eff_bias,
                         const ek_dims *out, int8_t *output) {
    const int32_t cin = in->c, cout = out->c;
    const int32_t pixels = in->n * in->h * in->w;
    if (out->h != in->h || out->w != in->w || (input == output && cout > cin) ||
        !ctx || ctx->size < ek_conv_1x1_s8_buffer_size(in, out))
        return EK_ARG_ERROR;
    const int packed = cin % 4 == 0;
    const int rs = ek_right_shifts(q->shift, cout);
#if defined(__ARM_FEATURE_DSP)
    if (packed && rs) {
        pixels_dsp(p, q, (int32_t *)ctx->buf, pixels, cin, cout, input, filter, eff_bias, output);
        return EK_OK;
    }
#endif
    int8_t *tmp = (int8_t *)ctx->buf + 4 * cin;
    for (int32_t px = 0; px < pixels; px++) {
        pixel_generic(input + (int64_t)px * cin, filter, eff_bias, q, p, cin, cout, packed, rs, tmp);
        ek_copy(output + (int64_t)px * cout, tmp, cout);
    }
    return EK_OK;
}
