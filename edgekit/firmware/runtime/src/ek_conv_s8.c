/* ek_conv_s8: general int8 convolution (TFLM ConvPerChannel). Twin: reference.conv2d.
 * For each output pixel the receptive field is gathered once into a column (im2col, in
 * scratch); window positions outside the input are filled with the input zero point
 * (-input_offset), which contributes w * (zp + off) = 0, exactly like TFLM's skipped
 * taps. With the offset folded into eff_bias = bias + off * sum(w), every output channel
 * is then one dot product. Filter: channel-pair layout when kh * kw * cin % 4 == 0
 * (ek_pairs.h); with it and right shifts, two output pixels' columns are gathered at a
 * time and computed in 2 x 2 blocks (ek_pairs.h). */
#include "ek_im2col.h"
#include "ek_pairs.h"

/* two im2col columns (k bytes each) and their int16 form (4k bytes) */
int32_t ek_conv_s8_buffer_size(const ek_dims *filter_dims) {
    return 6 * filter_dims->h * filter_dims->w * filter_dims->c;
}

ek_status ek_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                     const ek_dims *in, const int8_t *input,
                     const ek_dims *fd, const int8_t *filter, const int32_t *eff_bias,
                     const ek_dims *out, int8_t *output) {
    const int32_t kh = fd->h, kw = fd->w, cin = in->c, cout = out->c;
    const int32_t k = kh * kw * cin;
    if (fd->c != cin || fd->n != cout || input == output ||
        !ctx || ctx->size < ek_conv_s8_buffer_size(fd))
        return EK_ARG_ERROR;
    int8_t *col0 = (int8_t *)ctx->buf;
    const int packed = k % 4 == 0;
    const int rs = ek_fast_rq(q->multiplier, q->shift, cout);
    const int32_t pixels = out->h * out->w;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * in->w * cin;
        int8_t *y = output + (int64_t)b * pixels * cout;
        if (packed && rs && ek_aligned4(filter)) {
            int8_t *col1 = col0 + k;
            int32_t *xb = (int32_t *)(col1 + k);   /* k % 4 == 0: word aligned */
            for (int32_t px = 0; px < pixels; px += 2) {
                const int last = px + 1 == pixels;
                ek_gather(p, in, x, kh, kw, px / out->w, px % out->w, col0);
                if (!last) ek_gather(p, in, x, kh, kw, (px + 1) / out->w, (px + 1) % out->w, col1);
                prep2(col0, last ? col0 : col1, k, xb);
                int8_t *y0 = y + (int64_t)px * cout;
                ek_pair_outputs(xb, filter, eff_bias, q, p->output_offset, p->act_min, p->act_max,
                                k, cout, y0, last ? y0 : y0 + cout);
            }
            continue;
        }
        for (int32_t px = 0; px < pixels; px++) {
            ek_gather(p, in, x, kh, kw, px / out->w, px % out->w, col0);
            outputs_generic(col0, filter, eff_bias, q, p->output_offset, p->act_min, p->act_max,
                            k, cout, packed, rs, y + (int64_t)px * cout);
        }
    }
    return EK_OK;
}
