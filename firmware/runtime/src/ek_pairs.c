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
             const int32_t *qs, int32_t k, int32_t cout, int32_t out_off, int32_t lo,
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
