/* ek_dw_conv_cb_s8: ek_dw_conv_s8 with codebook weights (ek_codebook). Twin:
 * reference.depthwise_conv2d on the decoded int8 weights.
 *
 * A depthwise filter is small (kh * kw * cout bytes: 576 for a 3x3 over 64 channels) and
 * every output pixel reads all of it, so the kernel decodes it once, into scratch, in the
 * int8 grouped layout (ek_nn.h), and runs ek_dw_conv_s8 on it: the same inner loop, the
 * same in-place rule, for a few instructions per weight of decoding per call. The decode
 * table sits where the int8 kernel's scratch goes: that kernel only starts after it. */
#include "ek_cb_decode.h"

/* the int8 kernel's scratch or the decode table, rounded up to words; then the filter */
static int32_t head_bytes(const ek_conv_params *p, const ek_dims *in, const ek_dims *fd,
                          int in_place, int32_t bits) {
    const int32_t s = ek_dw_conv_s8_buffer_size(p, in, fd, in_place), t = ek_cb_table_bytes(bits);
    return ((s > t ? s : t) + 3) & ~3;
}

int32_t ek_dw_conv_cb_s8_buffer_size(const ek_conv_params *p, const ek_dims *in_dims,
                                     const ek_dims *filter_dims, int in_place, int32_t bits) {
    return head_bytes(p, in_dims, filter_dims, in_place, bits) +
           filter_dims->h * filter_dims->w * filter_dims->c;
}

/* The filter of cb into w: per group of 4 channels a byte-aligned stream, per tap two
 * units (c0, c2), (c1, c3) of 2b bits, one int8 word of the grouped layout, byte
 * [g][t][k] = filter[t][4g + k]. table: scratch for the decode table. Once per call: one
 * copy for every bit width, its frame gone before the int8 kernel's. */
static EK_COLD void decode(const ek_codebook *cb, int32_t n_taps, int32_t cout, int32_t *table,
                           int32_t *w) {
    ek_cb_lut l;
    ek_cb_lut_init(&l, cb, table);
    const int b = (int)l.bits;
    const int32_t stride = (n_taps * 4 * b + 7) / 8;   /* bytes per channel group */
    for (int32_t c = 0; c < cout; c += 4) {
        const uint8_t *s = l.index + (c / 4) * stride;
        for (int32_t t = 0; t < n_taps; t++) {
            const uint32_t g = ek_cb_bits_at(s, (uint32_t)t * 4 * b);
            *w++ = ek_cb_s8x4(ek_cb_unit(g, l.table, b, 0), ek_cb_unit(g, l.table, b, 1));
        }
    }
}

ek_status ek_dw_conv_cb_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                           const ek_dims *in, const int8_t *input,
                           const ek_dims *fd, const ek_codebook *filter, const int32_t *eb,
                           const ek_dims *out, int8_t *output) {
    const int32_t n_taps = fd->h * fd->w, cout = out->c;
    const int in_place = input == output;
    /* the grouped layout: depth multiplier 1, channels in fours, at most EK_DW_MAX_TAPS taps */
    if (!ek_cb_ok(filter) || in->c != cout || fd->c != cout || cout % 4 ||
        n_taps > EK_DW_MAX_TAPS || !ctx ||
        ctx->size < ek_dw_conv_cb_s8_buffer_size(p, in, fd, in_place, filter->bits))
        return EK_ARG_ERROR;
    const ek_ctx head = {ctx->buf, head_bytes(p, in, fd, in_place, filter->bits)};
    int32_t *w = (int32_t *)((int8_t *)ctx->buf + head.size);
    decode(filter, n_taps, cout, (int32_t *)ctx->buf, w);
    return ek_dw_conv_s8(p, q, &head, in, input, fd, (const int8_t *)w, eb, out, output);
}
