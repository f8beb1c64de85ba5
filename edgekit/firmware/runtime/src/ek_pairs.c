/* ek_pairs.c: the 2 vectors x 2 channels block of the convolutions (see ek_pairs.h). */
#include "ek_pairs.h"

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

/* `clamp` is a constant at each call site, so each variant compiles without the other's
 * tests */
#define EK_PAIR_FINISH(acc, m, sh) ek_finish_r(acc, m, ~(sh), off2p1, lo, hi, clamp)

static inline __attribute__((always_inline)) void
pair_outputs(const int32_t *xb, const int8_t *filter, const int32_t *eb, const int32_t *qm,
             const int8_t *qs, int32_t k, int32_t cout, int32_t out_off, int32_t lo,
             int32_t hi, const int clamp, int8_t *y0, int8_t *y1) {
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

void ek_pair_outputs(const int32_t *xb, const int8_t *filter, const int32_t *eb,
                     const ek_quant_params *q, int32_t out_off, int32_t lo, int32_t hi,
                     int32_t k, int32_t cout, int8_t *y0, int8_t *y1) {
    if (ek_needs_clamp(lo, hi))
        pair_outputs(xb, filter, eb, q->multiplier, q->shift, k, cout, out_off, lo, hi, 1, y0, y1);
    else
        pair_outputs(xb, filter, eb, q->multiplier, q->shift, k, cout, out_off, lo, hi, 0, y0, y1);
}

/* ---- codebook weights -------------------------------------------------------------------
 * A group (4 values of a channel pair) is 4 units of 2 indices, 2b bits each, LSB first:
 * (ch0: v0, v2), (ch0: v1, v3), (ch1: v0, v2), (ch1: v1, v3). On Cortex-M4/M7 each unit
 * becomes one int16-pair word (ek_cb_unit), fed straight to SMLAD. */

/* acc[2 * vector + channel] += the 2 x 2 dot products over k values; idx: the channel
 * pair's stream (pair) or an odd row's (units 0 and 1 only, 4b bits per group) */
static inline __attribute__((always_inline)) void
dot2x2_cb(const int32_t *xb, const uint8_t *idx, const int32_t *t, int32_t k, const int b,
          int pair, int32_t acc[4]) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    uint32_t pos = 0;   /* bit position (odd rows: groups are not byte aligned) */
    for (int32_t i = 0; i < k; i += 4) {
        uint32_t g;
        if (pair) {
            g = ek_load_u32(idx);
            idx += b;
        } else {
            g = ek_load_u32(idx + (pos >> 3)) >> (pos & 7);
            pos += 4 * b;
        }
#if defined(__ARM_FEATURE_DSP)
        const int32_t *x = xb + i;
        const int32_t w0 = ek_cb_unit(g, t, b, 0), w1 = ek_cb_unit(g, t, b, 1);
        a00 = ek_smlad(x[0], w0, a00); a00 = ek_smlad(x[1], w1, a00);
        a10 = ek_smlad(x[2], w0, a10); a10 = ek_smlad(x[3], w1, a10);
        if (pair) {
            const int32_t w2 = ek_cb_unit(g, t, b, 2), w3 = ek_cb_unit(g, t, b, 3);
            a01 = ek_smlad(x[0], w2, a01); a01 = ek_smlad(x[1], w3, a01);
            a11 = ek_smlad(x[2], w2, a11); a11 = ek_smlad(x[3], w3, a11);
        }
        EK_SCHED_BARRIER();
#else
        const int8_t *x0 = (const int8_t *)xb + i, *x1 = x0 + k;
        const uint32_t m = (1u << b) - 1;
        /* index n of the group: unit n / 2, first or second of it; value v of a channel
         * sits at n = 2 * (v & 1) + (v >> 1) */
        for (int v = 0; v < 4; v++) {
            const int n = 2 * (v & 1) + (v >> 1);
            const int32_t wa = ek_cb_code(t, b, (g >> (b * n)) & m);
            a00 += x0[v] * wa;
            a10 += x1[v] * wa;
            if (pair) {
                const int32_t wb = ek_cb_code(t, b, (g >> (b * (n + 4))) & m);
                a01 += x0[v] * wb;
                a11 += x1[v] * wb;
            }
        }
#endif
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}

static inline __attribute__((always_inline)) void
pair_outputs_cb(const int32_t *xb, const ek_cb_lut *w, const int32_t *eb,
                const ek_quant_params *q, int32_t out_off, int32_t lo, int32_t hi, int32_t k,
                int32_t cout, const int b, int rs, int8_t *y0, int8_t *y1) {
    const int32_t *const qm = q->multiplier, *const t = w->table;
    const int8_t *const qs = q->shift;
    const int32_t off2p1 = 2 * out_off + 1;
    const int32_t stride = (k / 4) * b;   /* bytes per channel pair */
    int32_t oc = 0;
    for (; oc + 2 <= cout; oc += 2) {
        int32_t acc[4] = {eb[oc], eb[oc + 1], eb[oc], eb[oc + 1]};
        dot2x2_cb(xb, w->index + (oc / 2) * stride, t, k, b, 1, acc);
        /* locals: the int8 stores below may alias anything, qm and qs included */
        const int32_t m0 = qm[oc], m1 = qm[oc + 1], s0 = qs[oc], s1 = qs[oc + 1];
        if (rs) {
            y0[oc] = ek_finish_r(acc[0], m0, ~s0, off2p1, lo, hi, 1);
            y0[oc + 1] = ek_finish_r(acc[1], m1, ~s1, off2p1, lo, hi, 1);
            if (y1) {
                y1[oc] = ek_finish_r(acc[2], m0, ~s0, off2p1, lo, hi, 1);
                y1[oc + 1] = ek_finish_r(acc[3], m1, ~s1, off2p1, lo, hi, 1);
            }
        } else {
            y0[oc] = ek_finish(acc[0], m0, s0, out_off, lo, hi);
            y0[oc + 1] = ek_finish(acc[1], m1, s1, out_off, lo, hi);
            if (y1) {
                y1[oc] = ek_finish(acc[2], m0, s0, out_off, lo, hi);
                y1[oc + 1] = ek_finish(acc[3], m1, s1, out_off, lo, hi);
            }
        }
    }
    if (oc < cout) {
        int32_t acc[4] = {eb[oc], 0, eb[oc], 0};
        dot2x2_cb(xb, w->index + (oc / 2) * stride, t, k, b, 0, acc);
        for (int j = 0; j < 4; j += 2) {
            int8_t *y = j ? y1 : y0;
            if (!y) continue;
            y[oc] = rs ? ek_finish_r(acc[j], qm[oc], ~qs[oc], off2p1, lo, hi, 1)
                       : ek_finish(acc[j], qm[oc], qs[oc], out_off, lo, hi);
        }
    }
}

void ek_pair_outputs_cb(const int32_t *xb, const ek_cb_lut *w, const int32_t *eb,
                        const ek_quant_params *q, int32_t out_off, int32_t lo, int32_t hi,
                        int32_t k, int32_t cout, int8_t *y0, int8_t *y1) {
    const int rs = ek_right_shifts(q->shift, cout);
    switch (w->bits) {   /* the width is a constant inside each variant */
    case 1: pair_outputs_cb(xb, w, eb, q, out_off, lo, hi, k, cout, 1, rs, y0, y1); break;
    case 2: pair_outputs_cb(xb, w, eb, q, out_off, lo, hi, k, cout, 2, rs, y0, y1); break;
    case 3: pair_outputs_cb(xb, w, eb, q, out_off, lo, hi, k, cout, 3, rs, y0, y1); break;
    default: pair_outputs_cb(xb, w, eb, q, out_off, lo, hi, k, cout, 4, rs, y0, y1); break;
    }
}
