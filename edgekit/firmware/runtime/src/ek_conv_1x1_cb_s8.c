/* ek_conv_1x1_cb_s8: ek_conv_1x1_s8 with codebook weights (ek_codebook). Twin:
 * reference.conv2d with a 1x1 filter, on the decoded int8 weights.
 *
 * Pixels go a tile at a time (EK_CB_TILE): the tile's pixels are unpacked into scratch
 * (prep2, in pairs), then each channel pair's weights are decoded once and run over all
 * of them (ek_pair_tile_cb), so the inner loop is the int8 one (on Cortex-M4/M7 without
 * its SXTB16 of the weights) and decoding costs a few instructions per weight per tile.
 * As in ek_conv_1x1_s8, a tile's pixels sit in scratch before any output of theirs is
 * written, so the kernel runs in place (output == input) whenever cout <= cin.
 * Scratch: the decode table, the tile, one channel pair's decoded weights. */
#include "ek_pairs.h"

/* pixels per tile: EK_CB_TILE, or all of them (rounded up to a pair) when fewer, e.g.
 * the rows of a fully connected layer */
static int32_t tile_pixels(const ek_dims *in) {
    const int32_t pixels = in->n * in->h * in->w;
    return EK_MIN(EK_CB_TILE, pixels + pixels % 2);
}

int32_t ek_conv_1x1_cb_s8_buffer_size(const ek_dims *in_dims, const ek_dims *out_dims,
                                      int32_t bits) {
    (void)out_dims;
    return ek_cb_table_bytes(bits) + 2 * tile_pixels(in_dims) * in_dims->c +
           ek_pair_cb_wbuf_bytes(in_dims->c);
}

ek_status ek_conv_1x1_cb_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                            const ek_dims *in, const int8_t *input,
                            const ek_codebook *filter, const int32_t *eff_bias,
                            const ek_dims *out, int8_t *output) {
    const int32_t cin = in->c, cout = out->c;
    const int32_t pixels = in->n * in->h * in->w;
    if (!ek_cb_ok(filter) || out->h != in->h || out->w != in->w || cin % 4 ||
        (input == output && cout > cin) || !ctx ||
        ctx->size < ek_conv_1x1_cb_s8_buffer_size(in, out, filter->bits))
        return EK_ARG_ERROR;
    ek_cb_lut lut;
    ek_cb_lut_init(&lut, filter, (int32_t *)ctx->buf);
    const int mode = ek_rq_mode(q->multiplier, q->shift, cout, p->act_min, p->act_max);
    const int32_t tile = tile_pixels(in);
    int32_t *xt = (int32_t *)((int8_t *)ctx->buf + ek_cb_table_bytes(filter->bits));
    int32_t *wbuf = xt + tile / 2 * cin;
    for (int32_t px = 0; px < pixels; px += tile) {
        const int32_t n = EK_MIN(tile, pixels - px);
        const int8_t *x = input + (int64_t)px * cin;
        for (int32_t j = 0; j < n; j += 2)   /* an odd last pixel pairs with itself */
            prep2(x + j * cin, x + EK_MIN(j + 1, n - 1) * cin, cin, xt + j / 2 * cin);
        ek_pair_tile_cb(xt, n, &lut, wbuf, eff_bias, q, p, cin, cout, mode,
                        output + (int64_t)px * cout);
    }
    return EK_OK;
}
