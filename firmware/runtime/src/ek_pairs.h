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
 * per 4 inputs a block costs two weight loads, four SXTB16 and eight SMLAD (16 MACs),
 * with its four accumulators in registers. In plain C every loaded value feeds two
 * multiply-accumulates. */
#ifndef EK_PAIRS_H
#define EK_PAIRS_H

#include "ek_internal.h"

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

#if defined(__ARM_FEATURE_DSP)
/* one group of 4 values: both vectors (already in registers: x0e, x0o, x1e, x1o) times
 * one 4-byte weight group wv, into a (x0) and b (x1) */
#define EK_PAIR_MAC(wv, a, b)                                                    \
    do {                                                                         \
        const int32_t we_ = ek_sxtb16(wv), wo_ = ek_sxtb16_ror8(wv);               \
        a = ek_smlad(x0e, we_, a); a = ek_smlad(x0o, wo_, a);                    \
        b = ek_smlad(x1e, we_, b); b = ek_smlad(x1o, wo_, b);                    \
    } while (0)

/* one group of 4 values for a channel pair (w: 8 bytes) or one channel (4 bytes) */
#define EK_PAIR_GROUP(xb, w, pair)                                               \
    do {                                                                         \
        const int32_t x0e = (xb)[0], x0o = (xb)[1], x1e = (xb)[2], x1o = (xb)[3]; \
        EK_PAIR_MAC(ek_load32(w), a00, a10);                                     \
        if (pair) EK_PAIR_MAC(ek_load32((w) + 4), a01, a11);                     \
        EK_SCHED_BARRIER();                                                      \
    } while (0)

/* acc[2 * vector + channel] += the 2 x 2 dot products over k values (xb from prep2); w
 * walks a channel pair's blocks (pair) or one plain row, which feeds the first slot */
static inline void dot2x2(const int32_t *xb, const int8_t *w, int32_t k, int pair,
                          int32_t acc[4]) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int32_t *const end = xb + k;
    if (pair) {
        /* two groups per iteration: half the loop overhead */
        for (; xb + 8 <= end; xb += 8, w += 16) {
            EK_PAIR_GROUP(xb, w, 1);
            EK_PAIR_GROUP(xb + 4, w + 8, 1);
        }
        if (xb < end) EK_PAIR_GROUP(xb, w, 1);
    } else {
        for (; xb < end; xb += 4, w += 4) EK_PAIR_GROUP(xb, w, 0);
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#else
/* plain C: the same 2 x 2 block over the two int8 vectors; every loaded value feeds two
 * multiply-accumulates */
static inline void dot2x2(const int32_t *xb, const int8_t *w, int32_t k, int pair,
                          int32_t acc[4]) {
    const int8_t *x0 = (const int8_t *)xb, *x1 = x0 + k;
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int32_t step = pair ? 8 : 4;
    for (int32_t i = 0; i < k; i += 4, w += step)
        for (int j = 0; j < 4; j++) {
            const int32_t u = x0[i + j], v = x1[i + j], wa = w[j];
            a00 += u * wa;
            a10 += v * wa;
            if (pair) {
                const int32_t wb = w[4 + j];
                a01 += u * wb;
                a11 += v * wb;
            }
        }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#endif

/* Outputs of both vectors (prep2'd in xb), to y0 and y1 (y1 == NULL: the second vector
 * is a stand-in for an odd last one, its results are dropped). mode (a constant at each
 * call site, so each variant compiles without the others' tests): 0 = any shifts
 * (ek_finish), 1 = right shifts, 2 = right shifts and the activation clamp. */
#define EK_PAIR_FINISH(acc, m, sh)                                                   \
    (mode == 0 ? ek_finish(acc, m, sh, out_off, lo, hi)                              \
               : ek_finish_r(acc, m, ~(sh), off2p1, lo, hi, mode == 2))

static inline __attribute__((always_inline)) void
pair_outputs(const int32_t *xb, const int8_t *filter, const int32_t *eb, const int32_t *qm,
             const int32_t *qs, int32_t k, int32_t cout, int32_t out_off, int32_t lo,
             int32_t hi, const int mode, int8_t *y0, int8_t *y1) {
    const int32_t off2p1 = 2 * out_off + 1;
    int32_t oc = 0;
    for (; oc + 2 <= cout; oc += 2) {
        int32_t acc[4] = {eb[oc], eb[oc + 1], eb[oc], eb[oc + 1]};
        dot2x2(xb, filter + (int64_t)oc * k, k, 1, acc);
        /* locals: the int8 stores below may alias anything, qm and qs included */
        const int32_t m0 = qm[oc], m1 = qm[oc + 1], s0 = qs[oc], s1 = qs[oc + 1];
        y0[oc] = EK_PAIR_FINISH(acc[0], m0, s0);
        y0[oc + 1] = EK_PAIR_FINISH(acc[1], m1, s1);
        if (y1) {
            y1[oc] = EK_PAIR_FINISH(acc[2], m0, s0);
            y1[oc + 1] = EK_PAIR_FINISH(acc[3], m1, s1);
        }
    }
    if (oc < cout) {
        int32_t acc[4] = {eb[oc], 0, eb[oc], 0};
        dot2x2(xb, filter + (int64_t)oc * k, k, 0, acc);
        const int32_t m0 = qm[oc], s0 = qs[oc];
        y0[oc] = EK_PAIR_FINISH(acc[0], m0, s0);
        if (y1) y1[oc] = EK_PAIR_FINISH(acc[2], m0, s0);
    }
}

/* pair_outputs with the mode chosen once per call, outside the channel loop */
static inline void pair_outputs_any(const int32_t *xb, const int8_t *filter, const int32_t *eb,
                                    const ek_quant_params *q, int32_t out_off, int32_t lo,
                                    int32_t hi, int32_t k, int32_t cout, int rs, int8_t *y0,
                                    int8_t *y1) {
    const int32_t *qm = q->multiplier, *qs = q->shift;
    if (!rs)
        pair_outputs(xb, filter, eb, qm, qs, k, cout, out_off, lo, hi, 0, y0, y1);
    else if (ek_needs_clamp(lo, hi))
        pair_outputs(xb, filter, eb, qm, qs, k, cout, out_off, lo, hi, 2, y0, y1);
    else
        pair_outputs(xb, filter, eb, qm, qs, k, cout, out_off, lo, hi, 1, y0, y1);
}

#endif /* EK_PAIRS_H */
