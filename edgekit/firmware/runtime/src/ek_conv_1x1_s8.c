/* ek_conv_1x1_s8: pointwise convolution, the DS-CNN's hot loop. Twin: reference.conv2d
 * with a 1x1 filter.
 *
 * The input offset is folded out of the inner loop ahead of time:
 *   sum w * (x + off) + bias = dot(w, x) + eff_bias,  eff_bias = bias + off * sum(w),
 * computed once per model by the code generator (edgekit/codegen), as CMSIS-NN does with
 * its kernel sums. Filter: channel-pair layout when cin % 4 == 0 (ek_pairs.h).
 *
 * When cin % 4 == 0, the fast requantization applies (ek_fast_rq) and the filter is
 * 4-byte aligned, two pixels at a time in 2 x 2 blocks (ek_pairs.h); in plain C four at
 * a time in 4 x 2 blocks first. Because a step's pixels sit in scratch before any output
 * is written, the kernel runs in place (output == input) whenever cout <= cin: pixels
 * p .. p+3 only overwrite input bytes of pixels <= p + 3. Otherwise one pixel is computed
 * into scratch, then stored. */
#include "ek_pairs.h"

int32_t ek_conv_1x1_s8_buffer_size(const ek_dims *in_dims, const ek_dims *out_dims) {
    return 4 * in_dims->c + out_dims->c;
}

ek_status ek_conv_1x1_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                         const ek_dims *in, const int8_t *input,
                         const int8_t *filter, const int32_t *eff_bias,
                         const ek_dims *out, int8_t *output) {
    const int32_t cin = in->c, cout = out->c;
    const int32_t pixels = in->n * in->h * in->w;
    if (out->h != in->h || out->w != in->w || (input == output && cout > cin) ||
        !ctx || ctx->size < ek_conv_1x1_s8_buffer_size(in, out))
        return EK_ARG_ERROR;
    const int rs = ek_fast_rq(q->multiplier, q->shift, cout);
    if (cin % 4 == 0 && rs && ek_aligned4(filter)) {
        int32_t *xb = (int32_t *)ctx->buf;
        int32_t px = 0;
#if !defined(__ARM_FEATURE_DSP)
        /* plain C: four pixels at a time (4 x 2 blocks), the rest in pairs */
        for (; px + 4 <= pixels; px += 4) {
            prep4(input + (int64_t)px * cin, cin, (int8_t *)xb);
            ek_quad_outputs((const int8_t *)xb, filter, eff_bias, q, p->output_offset,
                            p->act_min, p->act_max, cin, cout, output + (int64_t)px * cout);
        }
#endif
        for (; px < pixels; px += 2) {
            const int8_t *x0 = input + (int64_t)px * cin;
            const int last = px + 1 == pixels;
            prep2(x0, last ? x0 : x0 + cin, cin, xb);
            int8_t *y0 = output + (int64_t)px * cout;
            ek_pair_outputs(xb, filter, eff_bias, q, p->output_offset, p->act_min, p->act_max,
                            cin, cout, y0, last ? y0 : y0 + cout);
        }
        return EK_OK;
    }
    int8_t *tmp = (int8_t *)ctx->buf + 4 * cin;
    for (int32_t px = 0; px < pixels; px++) {
        outputs_generic(input + (int64_t)px * cin, filter, eff_bias, q, p->output_offset,
                        p->act_min, p->act_max, cin, cout, cin % 4 == 0, rs, tmp);
        ek_copy(output + (int64_t)px * cout, tmp, cout);
    }
    return EK_OK;
}
