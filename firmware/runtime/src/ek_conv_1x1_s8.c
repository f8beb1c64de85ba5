/* ek_conv_1x1_s8: pointwise convolution, the DS-CNN's hot loop. Twin: reference.conv2d
 * with a 1x1 filter.
 * Each pixel's cout results are computed into scratch, then stored, so the kernel can run
 * in place (output == input) whenever cout <= cin: pixel p's outputs only overwrite input
 * bytes of pixels <= p, already consumed.
 * The input offset is folded out of the inner loop ahead of time:
 *   sum w * (x + off) + bias = dot(w, x) + eff_bias,  eff_bias = bias + off * sum(w),
 * computed once per model by the code generator (edgekit/codegen), as CMSIS-NN does with
 * its kernel sums; the kernel itself never sees the input offset.
 * DSP path (Cortex-M4/M7): SXTB16 unpacks 4 int8 into two pairs of int16, SMLAD does two
 * MACs per instruction. */
#include "ek_internal.h"

#if defined(__ARM_FEATURE_DSP)
#include <string.h>
static inline int32_t ek_sxtb16(int32_t x) { int32_t r; __asm("sxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline int32_t ek_sxtb16_ror8(int32_t x) { int32_t r; __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline int32_t ek_smlad(int32_t a, int32_t b, int32_t acc) { int32_t r; __asm("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc)); return r; }

static int32_t dot_s8(const int8_t *x, const int8_t *w, int32_t n) {
    int32_t acc = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        int32_t xv, wv;
        memcpy(&xv, x + i, 4);
        memcpy(&wv, w + i, 4);
        acc = ek_smlad(ek_sxtb16(xv), ek_sxtb16(wv), acc);
        acc = ek_smlad(ek_sxtb16_ror8(xv), ek_sxtb16_ror8(wv), acc);
    }
    for (; i < n; i++) acc += x[i] * w[i];
    return acc;
}
#else
static int32_t dot_s8(const int8_t *x, const int8_t *w, int32_t n) {
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++) acc += x[i] * w[i];
    return acc;
}
#endif

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
    for (int32_t px = 0; px < pixels; px++) {
        const int8_t *x = input + (int64_t)px * cin;
        for (int32_t oc = 0; oc < cout; oc++) {
            int32_t acc = eff_bias[oc] + dot_s8(x, filter + (int64_t)oc * cin, cin);
            tmp[oc] = ek_finish(acc, q->multiplier[oc], q->shift[oc], p->output_offset,
                                p->act_min, p->act_max);
        }
        int8_t *y = output + (int64_t)px * cout;
        for (int32_t oc = 0; oc < cout; oc++) y[oc] = tmp[oc];
    }
    return EK_OK;
}
