/* ek_conv_cb_s8: ek_conv_s8 with codebook weights (ek_codebook). Twin: reference.conv2d
 * on the decoded int8 weights.
 *
 * Output pixels go a tile at a time (EK_CB_TILE): their im2col columns are gathered
 * (ek_gather, as in ek_conv_s8) two at a time and unpacked into scratch (prep2), then
 * each channel pair's weights are decoded once and run over the whole tile
 * (ek_pair_tile_cb, see ek_pairs.h). k = kh * kw * cin must be a multiple of 4.
 * Scratch: the decode table, the tile, one channel pair's decoded weights (4k bytes),
 * whose room holds the two int8 im2col columns while the tile is gathered: in a first
 * layer, where the input and the output are both live, every byte counts. */
#include "ek_im2col.h"
#include "ek_pairs.h"

int32_t ek_conv_cb_s8_buffer_size(const ek_dims *filter_dims, int32_t bits) {
    const int32_t k = filter_dims->h * filter_dims->w * filter_dims->c;
    return ek_cb_table_bytes(bits) + 2 * EK_CB_TILE * k + ek_pair_cb_wbuf_bytes(k);
}

/* output pixels px .. px + n - 1 into the tile xt, in pairs (col: two columns) */
static void gather_tile(const ek_conv_params *p, const ek_dims *in, const int8_t *x,
                        const ek_dims *fd, const ek_dims *out, int32_t px, int32_t n,
                        int8_t *col, int32_t *xt) {
    const int32_t k = fd->h * fd->w * in->c;
    for (int32_t j = 0; j < n; j += 2, px += 2, xt += k) {
        ek_gather(p, in, x, fd->h, fd->w, px / out->w, px % out->w, col);
        if (j + 1 < n)   /* an odd last column pairs with itself */
            ek_gather(p, in, x, fd->h, fd->w, (px + 1) / out->w, (px + 1) % out->w, col + k);
        prep2(col, j + 1 < n ? col + k : col, k, xt);
    }
}

ek_status ek_conv_cb_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *fd, const ek_codebook *filter, const int32_t *eff_bias,
                        const ek_dims *out, int8_t *output) {
    const int32_t cin = in->c, cout = out->c;
    const int32_t k = fd->h * fd->w * cin, pixels = out->h * out->w;
    if (!ek_cb_ok(filter) || fd->c != cin || fd->n != cout || input == output || k % 4 ||
        !ctx || ctx->size < ek_conv_cb_s8_buffer_size(fd, filter->bits))
        return EK_ARG_ERROR;
    ek_cb_lut lut;
    ek_cb_lut_init(&lut, filter, (int32_t *)ctx->buf);
    const int mode = ek_rq_mode(q->multiplier, q->shift, cout, p->act_min, p->act_max);
    const int32_t tile = EK_CB_TILE;
    int32_t *xt = (int32_t *)((int8_t *)ctx->buf + ek_cb_table_bytes(filter->bits));
    int32_t *wbuf = xt + tile / 2 * k;
    int8_t *col = (int8_t *)wbuf;   /* 2k bytes of wbuf's 4k, free until decoding */
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * in->w * cin;
        int8_t *y = output + (int64_t)b * pixels * cout;
        for (int32_t px = 0; px < pixels; px += tile) {
            const int32_t n = EK_MIN(tile, pixels - px);
            gather_tile(p, in, x, fd, out, px, n, col, xt);
            ek_pair_tile_cb(xt, n, &lut, wbuf, eff_bias, q, p, k, cout, mode,
                            y + (int64_t)px * cout);
        }
    }
    return EK_OK;
}
