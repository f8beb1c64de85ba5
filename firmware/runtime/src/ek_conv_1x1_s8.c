/* ek_conv_1x1_s8: pointwise convolution, the DS-CNN's hot loop. Twin: reference.conv2d
 * with a 1x1 filter.
 * Each pixel's cout results are computed into scratch, then stored, so the kernel can run
 * in place (output == input) whenever cout <= cin: pixel p's outputs only overwrite input
 * bytes of pixels <= p, already consumed.
 * The input offset is folded out of the inner loop ahead of time:
 *   sum w * (x + off) + bias = dot(w, x) + eff_bias,  eff_bias = bias + off * sum(w),
 * computed once per model by the code generator (edgekit/codegen), as CMSIS-NN does with
 * its kernel sums. Output channels go four at a time, so each input word is unpacked
 * once for four SMLAD chains (DSP path).
 *
 * Filter layout: when cin and cout are multiples of 4 the filter is packed in 4x4 blocks
 * (ek_nn.h): for each group of 4 output channels, for each group of 4 inputs, the 4
 * channels' 4 bytes in turn, so the inner loop walks one pointer through 16 contiguous
 * bytes per step. Otherwise it is plain [cout][cin]. */
#include "ek_internal.h"

/* four dot products over a 4x4-block packed filter group (see the layout note above) */
static inline void dot4_packed(const int8_t *x, const int8_t *wb, int32_t n, int32_t acc[4]) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int32_t i = 0; i < n; i += 4, wb += 16) {
#if defined(__ARM_FEATURE_DSP)
        const int32_t xv = ek_load32(x + i);
        const int32_t xe = ek_sxtb16(xv), xo = ek_sxtb16_ror8(xv);
        int32_t w = ek_load32(wb);
        a0 = ek_smlad(xe, ek_sxtb16(w), a0); a0 = ek_smlad(xo, ek_sxtb16_ror8(w), a0);
        w = ek_load32(wb + 4);
        a1 = ek_smlad(xe, ek_sxtb16(w), a1); a1 = ek_smlad(xo, ek_sxtb16_ror8(w), a1);
        w = ek_load32(wb + 8);
        a2 = ek_smlad(xe, ek_sxtb16(w), a2); a2 = ek_smlad(xo, ek_sxtb16_ror8(w), a2);
        w = ek_load32(wb + 12);
        a3 = ek_smlad(xe, ek_sxtb16(w), a3); a3 = ek_smlad(xo, ek_sxtb16_ror8(w), a3);
#else
        for (int k = 0; k < 4; k++) {
            const int32_t xk = x[i + k];
            a0 += xk * wb[k]; a1 += xk * wb[4 + k]; a2 += xk * wb[8 + k]; a3 += xk * wb[12 + k];
        }
#endif
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

int32_t ek_conv_1x1_s8_buffer_size(const ek_dims *in_dims, const ek_dims *out_dims) {
    (void)in_dims;
    return out_dims->c;
}

ek_status ek_conv_1x1_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                         const ek_dims *in, const int8_t *input,
                         const int8_t *filter, const int32_t *eff_bias,
                         const ek_dims *out, int8_t *output) {
    const int32_t cin = in->c, cout = out->c;
    const int32_t pixels = in->n * in->h * in->w;
    if (out->h != in->h || out->w != in->w || (input == output && cout > cin) ||
        !ctx || ctx->size < cout)
        return EK_ARG_ERROR;
    int8_t *tmp = (int8_t *)ctx->buf;
    const int packed = (cin % 4 == 0) && (cout % 4 == 0);
    /* locals: int8 stores may alias anything (see ek_dw_conv_s8.c) */
    const int32_t *const qm = q->multiplier, *const qs = q->shift;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    for (int32_t px = 0; px < pixels; px++) {
        const int8_t *x = input + (int64_t)px * cin;
        int32_t oc = 0;
        for (; packed && oc + 4 <= cout; oc += 4) {
            int32_t acc[4];
            dot4_packed(x, filter + (int64_t)oc * cin, cin, acc);
            for (int k = 0; k < 4; k++)
                tmp[oc + k] = ek_finish(acc[k] + eff_bias[oc + k], qm[oc + k], qs[oc + k],
                                        out_off, lo, hi);
        }
        for (; oc + 4 <= cout; oc += 4) {
            int32_t acc[4];
            ek_dot4_s8(x, filter + (int64_t)oc * cin, cin, acc);
            for (int k = 0; k < 4; k++)
                tmp[oc + k] = ek_finish(acc[k] + eff_bias[oc + k], qm[oc + k], qs[oc + k],
                                        out_off, lo, hi);
        }
        for (; oc < cout; oc++) {
            int32_t acc = eff_bias[oc] + ek_dot_s8(x, filter + (int64_t)oc * cin, cin);
            tmp[oc] = ek_finish(acc, qm[oc], qs[oc], out_off, lo, hi);
        }
        ek_copy(output + (int64_t)px * cout, tmp, cout);
    }
    return EK_OK;
}
