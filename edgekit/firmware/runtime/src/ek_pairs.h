/* Channel-pair weight layout and the 2 vectors x 2 channels block shared by the
 * convolutions (ek_conv_s8 over im2col columns, ek_conv_1x1_s8 over pixels).
 *
 * Layout (ek_nn.h), for weight rows of k bytes with k % 4 == 0: output channels in pairs,
 * each pair's rows interleaved in 8-byte blocks (4 values of channel 2p, then the same 4
 * of channel 2p + 1), so one pointer walks both rows; an odd last channel is a plain row.
 * Otherwise plain [cout][k]. Twin: edgekit/codegen/emit.py pack_pairs.
 *
 * Two input vectors (pixels, or im2col columns) at a time, times two output channels: the
 * vectors go to scratch first (prep2), which also lets the 1x1 kernel run in place. On
 * Cortex-M4/M7 they are unpacked to int16 pairs there (SXTB16, once per vector); then
 * per 4 inputs a block costs one LDM (the vectors' 4 words), one LDRD (the pair's 8
 * weight bytes), four SXTB16 and eight SMLAD: 14 instructions for 16 MACs, its four
 * accumulators in registers. In plain C every loaded value feeds two MLA; the 1x1 kernel
 * there takes four pixels at a time (prep4, ek_quad_outputs: each weight feeds four). */
#ifndef EK_PAIRS_H
#define EK_PAIRS_H

#include "ek_fixedpoint.h"
#include "ek_cb_decode.h"
#include "ek_copy.h"
#include "ek_dsp.h"

/* 1 when p is 4-byte aligned: the block loop reads a filter's channel pairs by LDRD,
 * which faults on an unaligned address (generated filters are EK_ALIGN) */
static inline int ek_aligned4(const void *p) { return ((uintptr_t)p & 3) == 0; }

/* weights of channel oc: first 4-value group and the stride between groups */
static inline const int8_t *row_of(const int8_t *filter, int32_t oc, int32_t k, int32_t cout,
                                   int packed, int32_t *step) {
    if (packed && (oc < cout - 1 || cout % 2 == 0)) {
        *step = 8;
        return filter + (int64_t)(oc / 2) * 2 * k + (oc % 2) * 4;
    }
    *step = 4;
    return filter + (int64_t)oc * k;
}

/* sum_i x[i] * w[i], w in groups of 4 bytes `step` apart (k % 4 == 0) or contiguous */
static inline int32_t dot_rows(const int8_t *x, const int8_t *w, int32_t n, int32_t step) {
    int32_t acc = 0, i = 0;
    for (; i + 4 <= n; i += 4, w += step)
        acc += x[i] * w[0] + x[i + 1] * w[1] + x[i + 2] * w[2] + x[i + 3] * w[3];
    for (int32_t j = 0; i < n; i++, j++) acc += x[i] * w[j];
    return acc;
}

/* all cout outputs of one input vector x (k values), any shifts, any target */
static inline void outputs_generic(const int8_t *x, const int8_t *filter, const int32_t *eb,
                                   const ek_quant_params *q, int32_t out_off, int32_t lo,
                                   int32_t hi, int32_t k, int32_t cout, int packed, int rs,
                                   int8_t *y) {
    const int32_t off2p1 = 2 * out_off + 1;
    for (int32_t oc = 0; oc < cout; oc++) {
        int32_t step;
        const int8_t *w = row_of(filter, oc, k, cout, packed, &step);
        const int32_t acc = eb[oc] + dot_rows(x, w, k, step);
        y[oc] = rs ? ek_finish_r(acc, q->multiplier[oc], ~q->shift[oc], off2p1, lo, hi, 1)
                   : ek_finish(acc, q->multiplier[oc], q->shift[oc], out_off, lo, hi);
    }
}

/* Both input vectors into scratch, as the block loop reads them: on Cortex-M4/M7 as int16
 * pairs, 4 words per 4 values: x0 (0,2), x0 (1,3), x1 (0,2), x1 (1,3); elsewhere the two
 * int8 vectors one after the other. k % 4 == 0. Scratch: 4k bytes. */
static inline void prep2(const int8_t *x0, const int8_t *x1, int32_t k, int32_t *buf) {
#if defined(__ARM_FEATURE_DSP)
    for (int32_t i = 0; i < k; i += 4, buf += 4) {
        const int32_t a = ek_load32(x0 + i), b = ek_load32(x1 + i);
        buf[0] = ek_sxtb16(a);
        buf[1] = ek_sxtb16_ror8(a);
        buf[2] = ek_sxtb16(b);
        buf[3] = ek_sxtb16_ror8(b);
    }
#else
    ek_copy((int8_t *)buf, x0, k);
    ek_copy((int8_t *)buf + k, x1, k);
#endif
}

/* Outputs of both vectors (prep2'd in xb) for all cout channels, to y0 and y1 (y1 ==
 * y0 when the second vector is a copy of an odd last first one). filter 4-byte aligned;
 * ek_fast_rq().
 * Right shifts only; the k % 4 == 0 pair layout. In ek_pairs.c, shared
 * by ek_conv_s8 and ek_conv_1x1_s8. */
void ek_pair_outputs(const int32_t *xb, const int8_t *filter, const int32_t *eb,
                     const ek_quant_params *q, int32_t out_off, int32_t lo, int32_t hi,
                     int32_t k, int32_t cout, int8_t *y0, int8_t *y1);

#if !defined(__ARM_FEATURE_DSP)
/* Four input vectors interleaved into buf (byte 4i + v = x_v[i]), as ek_quad_outputs
 * reads them: plain C targets only. Scratch: 4k bytes. */
static inline void prep4(const int8_t *x, int32_t k, int8_t *buf) {
    for (int32_t i = 0; i < k; i++, buf += 4) {
        buf[0] = x[i];
        buf[1] = x[k + i];
        buf[2] = x[2 * k + i];
        buf[3] = x[3 * k + i];
    }
}

/* Outputs of four vectors (prep4'd in x4) for all cout channels, to y + v * cout (plain
 * C targets: in 4 x 2 blocks each weight loaded feeds four MLA). Same rules as
 * ek_pair_outputs. In ek_pairs.c, used by ek_conv_1x1_s8. */
void ek_quad_outputs(const int8_t *x4, const int8_t *filter, const int32_t *eb,
                     const ek_quant_params *q, int32_t out_off, int32_t lo, int32_t hi,
                     int32_t k, int32_t cout, int8_t *y);
#endif

/* Codebook weights (ek_cb_lut), a tile of up to EK_CB_TILE vectors at a time: each
 * channel pair's weights are decoded once into wbuf (ek_pair_cb_wbuf_bytes(k)) and then
 * reused by every pair of vectors of the tile, so the decoding costs 2 / EK_CB_TILE
 * of what decoding in the inner loop would. On Cortex-M4/M7 the weights are decoded to
 * int16 pairs, which the block loop feeds straight to SMLAD (no SXTB16); elsewhere to
 * the int8 pair layout, which runs the int8 block loop. xt: the tile's vector pairs,
 * prep2'd, pair i at xt + i * k words; n vectors (n odd: the last pair's second vector is
 * a stand-in, its results are dropped); outputs of vector j to y + j * cout. mode:
 * ek_rq_mode() of the layer. In ek_pairs.c, shared by ek_conv_cb_s8 and ek_conv_1x1_cb_s8. */
void ek_pair_tile_cb(const int32_t *xt, int32_t n, const ek_cb_lut *w, int32_t *wbuf,
                     const int32_t *eb, const ek_quant_params *q, const ek_conv_params *p,
                     int32_t k, int32_t cout, int mode, int8_t *y);

/* bytes of wbuf for rows of k values: one channel pair as int16 (Cortex-M4/M7 form) */
static inline int32_t ek_pair_cb_wbuf_bytes(int32_t k) { return 4 * k; }

#endif /* EK_PAIRS_H */
