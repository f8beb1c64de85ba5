/* ek_pairs.c: the 2 vectors x 2 channels block of the convolutions (see ek_pairs.h). */
#include "ek_pairs.h"

#if defined(__ARM_FEATURE_DSP)
/* one group of 4 values: both vectors (already in registers: x0e, x0o, x1e, x1o) times one
 * channel's weights as int16 pairs we (v0, v2), wo (v1, v3), into a (x0) and b (x1) */
#define EK_PAIR_MAC16(we, wo, a, b)                                              \
    do {                                                                         \
        a = ek_smlad(x0e, we, a); a = ek_smlad(x0o, wo, a);                      \
        b = ek_smlad(x1e, we, b); b = ek_smlad(x1o, wo, b);                      \
    } while (0)

/* the same for a 4-byte int8 weight group wv, unpacked by SXTB16 */
#define EK_PAIR_MAC(wv, a, b)                                                    \
    do {                                                                         \
        const int32_t we_ = ek_sxtb16(wv), wo_ = ek_sxtb16_ror8(wv);               \
        EK_PAIR_MAC16(we_, wo_, a, b);                                           \
    } while (0)

/* one group of 4 values of one channel (4 weight bytes), for an odd last row */
#define EK_PAIR_GROUP1(xb, w)                                                    \
    do {                                                                         \
        const int32_t x0e = (xb)[0], x0o = (xb)[1], x1e = (xb)[2], x1o = (xb)[3]; \
        EK_PAIR_MAC(ek_load32(w), a00, a10);                                     \
    } while (0)

/* One group of 4 values of both vectors times a channel pair: LDM of the 4 words of
 * the vectors (prep2) into r8-r11 (an LDM register list must ascend, hence fixed
 * registers, clobbered), LDRD of the pair's 8 weight bytes, 4 SXTB16, 8 SMLAD: 14
 * instructions for 16 MACs, both pointers advanced by the loads themselves. Operands:
 * x, w, wa, wb, t (scratch), a00 a01 a10 a11. */
#define EK_G2X2                                                                  \
    "ldm %[x]!, {r8, r9, r10, r11}\n\t"                                         \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                          \
    "sxtb16 %[t], %[wa]\n\t"                                                    \
    "smlad %[a00], r8, %[t], %[a00]\n\t"                                         \
    "smlad %[a10], r10, %[t], %[a10]\n\t"                                        \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                                           \
    "smlad %[a00], r9, %[wa], %[a00]\n\t"                                        \
    "smlad %[a10], r11, %[wa], %[a10]\n\t"                                       \
    "sxtb16 %[t], %[wb]\n\t"                                                    \
    "smlad %[a01], r8, %[t], %[a01]\n\t"                                         \
    "smlad %[a11], r10, %[t], %[a11]\n\t"                                        \
    "sxtb16 %[wb], %[wb], ror #8\n\t"                                           \
    "smlad %[a01], r9, %[wb], %[a01]\n\t"                                        \
    "smlad %[a11], r11, %[wb], %[a11]\n\t"

#define EK_G2X2_OPERANDS                                                         \
    : [x] "+r"(xb), [w] "+r"(w), [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), \
      [a11] "+r"(a11), [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t)

/* acc[2 * vector + channel] += the 2 x 2 dot products over k values (xb from prep2); w
 * walks a channel pair's blocks (pair; 4-byte aligned: LDRD) or one plain row, which
 * feeds the first slot. Pairs: four groups per loop iteration (the loop test is a
 * quarter of an instruction per group), then the last k / 4 % 4 one by one. */
static inline void dot2x2(const int32_t *xb, const int8_t *w, int32_t k, int pair,
                          int32_t acc[4]) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int32_t *const end = xb + k;
    if (pair) {
        int32_t wa, wb, t;
        const int32_t *const end4 = xb + (k & ~15);
        if (xb < end4)
            __asm("1:\n\t" EK_G2X2 EK_G2X2 EK_G2X2 EK_G2X2
                  "cmp %[x], %[end]\n\t"
                  "blo 1b\n\t"
                  EK_G2X2_OPERANDS
                  : [end] "r"(end4)
                  : "r8", "r9", "r10", "r11", "cc", "memory");
        while (xb < end)
            __asm(EK_G2X2 EK_G2X2_OPERANDS : : "r8", "r9", "r10", "r11", "memory");
    } else {
        for (; xb < end; xb += 4, w += 4) EK_PAIR_GROUP1(xb, w);
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}

/* One group with decoded codebook weights: the vectors' 4 words by LDM (as EK_G2X2), the
 * channel pair's 4 words of int16 pairs by two LDRD, fed straight to SMLAD: 11
 * instructions for 16 MACs. Operands: EK_G2X2's (t unused). */
#define EK_G2X2_CB                                                               \
    "ldm %[x]!, {r8, r9, r10, r11}\n\t"                                         \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                          \
    "smlad %[a00], r8, %[wa], %[a00]\n\t"                                        \
    "smlad %[a10], r10, %[wa], %[a10]\n\t"                                       \
    "smlad %[a00], r9, %[wb], %[a00]\n\t"                                        \
    "smlad %[a10], r11, %[wb], %[a10]\n\t"                                       \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                          \
    "smlad %[a01], r8, %[wa], %[a01]\n\t"                                        \
    "smlad %[a11], r10, %[wa], %[a11]\n\t"                                       \
    "smlad %[a01], r9, %[wb], %[a01]\n\t"                                        \
    "smlad %[a11], r11, %[wb], %[a11]\n\t"

/* dot2x2 over a channel pair's decoded codebook weights (ek_pair_tile_cb's wbuf); unroll
 * (a constant): four groups per iteration, a quarter of the loop overhead */
static inline __attribute__((always_inline)) void
dot2x2_cb(const int32_t *xb, const int32_t *w, int32_t k, const int unroll, int32_t acc[4]) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3], wa, wb, t;
    const int32_t *const end = xb + k, *const end4 = xb + (k & ~15);
    if (unroll && xb < end4)
        __asm("1:\n\t" EK_G2X2_CB EK_G2X2_CB EK_G2X2_CB EK_G2X2_CB
              "cmp %[x], %[end]\n\t"
              "blo 1b\n\t"
              EK_G2X2_OPERANDS
              : [end] "r"(end4)
              : "r8", "r9", "r10", "r11", "cc", "memory");
    while (xb < end)
        __asm(EK_G2X2_CB EK_G2X2_OPERANDS : : "r8", "r9", "r10", "r11", "memory");
    (void)t;
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#else
/* Plain C: the 2 x 2 block, each loaded value feeding two MLA (single-cycle loads and
 * 2-cycle MLA on the Cortex-M3; a 64-bit SMLAL doing two MACs at once, on packed
 * weights, takes fewer instructions but 4-7 cycles). Position j of the current group: */
#define EK_MLA2(j)                                                               \
    do {                                                                         \
        const int32_t w0 = w[j], w1 = w[4 + j], u = x0[j], v = x0[(j) + k];       \
        a00 += u * w0; a01 += u * w1; a10 += v * w0; a11 += v * w1;               \
    } while (0)

/* the 2 x 2 block over the two int8 vectors (prep2: the second k bytes after the
 * first); an odd last row: one channel */
static inline void dot2x2(const int32_t *xb, const int8_t *w, int32_t k, int pair,
                          int32_t acc[4]) {
    const int8_t *x0 = (const int8_t *)xb;
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    if (pair) {
        for (const int8_t *const end = x0 + k; x0 < end; x0 += 4, w += 8) {
            EK_MLA2(0); EK_MLA2(1); EK_MLA2(2); EK_MLA2(3);
        }
    } else {
        for (int32_t i = 0; i < k; i++) {
            a00 += x0[i] * w[i];
            a10 += x0[i + k] * w[i];
        }
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}

/* position j of the current group for four interleaved vectors (x: 4 bytes a position):
 * each weight loaded once for four MLA */
#define EK_MLA4(j)                                                               \
    do {                                                                         \
        const int32_t w0 = w[j], w1 = w[4 + j];                                   \
        const int32_t u0 = x[4 * (j)], u1 = x[4 * (j) + 1];                       \
        const int32_t u2 = x[4 * (j) + 2], u3 = x[4 * (j) + 3];                   \
        a0 += u0 * w0; a1 += u0 * w1; a2 += u1 * w0; a3 += u1 * w1;               \
        a4 += u2 * w0; a5 += u2 * w1; a6 += u3 * w0; a7 += u3 * w1;               \
    } while (0)

/* a 4 x 2 block: four vectors (prep4) times a channel pair over k positions;
 * acc[2 * vector + channel]. Every loaded value feeds two or four MLA: per position 6
 * loads and 8 MLA for 8 MACs. */
static inline void dot4x2(const int8_t *x, const int8_t *w, int32_t k, int32_t acc[8]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7];
    for (const int8_t *const end = x + 4 * k; x < end; x += 16, w += 8) {
        EK_MLA4(0); EK_MLA4(1); EK_MLA4(2); EK_MLA4(3);
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
    acc[4] = a4; acc[5] = a5; acc[6] = a6; acc[7] = a7;
}

void ek_quad_outputs(const int8_t *x4, const int8_t *filter, const int32_t *eb,
                     const ek_quant_params *q, int32_t out_off, int32_t lo, int32_t hi,
                     int32_t k, int32_t cout, int8_t *y) {
    const int32_t off2p1 = 2 * out_off + 1;
    const int32_t *qm = q->multiplier;
    const int8_t *qs = q->shift;
    int32_t oc = 0;
    for (; oc + 2 <= cout; oc += 2, filter += 2 * k) {
        int32_t acc[8] = {eb[oc], eb[oc + 1], eb[oc], eb[oc + 1],
                          eb[oc], eb[oc + 1], eb[oc], eb[oc + 1]};
        dot4x2(x4, filter, k, acc);
        /* locals: the int8 stores below may alias anything, qm and qs included */
        const int32_t m0 = qm[oc], m1 = qm[oc + 1], e0 = ~qs[oc], e1 = ~qs[oc + 1];
        for (int v = 0; v < 4; v++) {
            y[v * cout + oc] = ek_finish_r(acc[2 * v], m0, e0, off2p1, 0, 0, 0);
            y[v * cout + oc + 1] = ek_finish_r(acc[2 * v + 1], m1, e1, off2p1, 0, 0, 0);
        }
    }
    if (oc < cout) {   /* an odd last channel: a plain row */
        const int32_t m0 = qm[oc], e0 = ~qs[oc];
        for (int v = 0; v < 4; v++) {
            int32_t acc = eb[oc];
            for (int32_t i = 0; i < k; i++) acc += x4[4 * i + v] * filter[i];
            y[v * cout + oc] = ek_finish_r(acc, m0, e0, off2p1, 0, 0, 0);
        }
    }
    if (ek_needs_clamp(lo, hi)) ek_clamp_s8(y, 4 * cout, lo, hi);
}

/* decoded codebook weights are the int8 pair layout here (decode_rows) */
static inline void dot2x2_cb(const int32_t *x, const int32_t *w, int32_t k, const int unroll,
                             int32_t acc[4]) {
    (void)unroll;
    dot2x2(x, (const int8_t *)w, k, 1, acc);
}
#endif

/* `clamp` is a constant at each call site, so each variant compiles without the other's
 * tests */
#define EK_PAIR_FINISH(acc, m, em1) ek_finish_r(acc, m, em1, off2p1, lo, hi, clamp)

/* channel pair j (0 or 1) of the current two: the 2 x 2 block and its four tails */
#define EK_PAIR_BLOCK(j)                                                         \
    do {                                                                         \
        int32_t acc[4] = {eb[2 * (j)], eb[2 * (j) + 1], eb[2 * (j)], eb[2 * (j) + 1]}; \
        dot2x2(xb, w + 2 * (j) * k, k, 1, acc);                                  \
        /* locals: the int8 stores below may alias anything, qm and qs included */ \
        const int32_t m0 = qm[2 * (j)], m1 = qm[2 * (j) + 1];                    \
        const int32_t e0 = ~qs[2 * (j)], e1 = ~qs[2 * (j) + 1];                  \
        y0[2 * (j)] = EK_PAIR_FINISH(acc[0], m0, e0);                            \
        y0[2 * (j) + 1] = EK_PAIR_FINISH(acc[1], m1, e1);                        \
        y1[2 * (j)] = EK_PAIR_FINISH(acc[2], m0, e0);                            \
        y1[2 * (j) + 1] = EK_PAIR_FINISH(acc[3], m1, e1);                        \
    } while (0)

/* Every pointer walks with the channel pairs (w: 2k bytes a pair), two pairs per loop
 * iteration: the pointers, spilled around each block loop (which needs every register),
 * are reloaded at constant offsets and stepped once for both. y1 == y0 when the second
 * vector is a copy of the first (an odd last one): the same bytes are written twice. */
static inline __attribute__((always_inline)) void
pair_outputs(const int32_t *xb, const int8_t *w, const int32_t *eb, const int32_t *qm,
             const int8_t *qs, int32_t k, int32_t cout, int32_t off2p1, int32_t lo,
             int32_t hi, const int clamp, int8_t *y0, int8_t *y1) {
    const int32_t *const quads_end = eb + (cout & ~3);
    for (; eb < quads_end; eb += 4, qm += 4, qs += 4, w += 4 * k, y0 += 4, y1 += 4) {
        EK_PAIR_BLOCK(0);
        EK_PAIR_BLOCK(1);
    }
    if (cout & 2) {
        EK_PAIR_BLOCK(0);
        eb += 2, qm += 2, qs += 2, w += 2 * k, y0 += 2, y1 += 2;
    }
    if (cout & 1) {
        int32_t acc[4] = {eb[0], 0, eb[0], 0};
        dot2x2(xb, w, k, 0, acc);
        const int32_t m0 = qm[0], e0 = ~qs[0];
        y0[0] = EK_PAIR_FINISH(acc[0], m0, e0);
        y1[0] = EK_PAIR_FINISH(acc[2], m0, e0);
    }
}

void ek_pair_outputs(const int32_t *xb, const int8_t *filter, const int32_t *eb,
                     const ek_quant_params *q, int32_t out_off, int32_t lo, int32_t hi,
                     int32_t k, int32_t cout, int8_t *y0, int8_t *y1) {
    pair_outputs(xb, filter, eb, q->multiplier, q->shift, k, cout, 2 * out_off + 1, 0, 0, 0,
                 y0, y1);
    /* the activation range, four outputs at a time, when narrower than int8: one copy
     * of the block loop instead of two */
    if (ek_needs_clamp(lo, hi)) {
        ek_clamp_s8(y0, cout, lo, hi);
        ek_clamp_s8(y1, cout, lo, hi);
    }
}

/* ---- codebook weights ---------------------------------------------------------------
 * A channel pair's stream: per group of 4 values, 4 units of 2b bits (b bytes), LSB
 * first: (ch0: v0, v2), (ch0: v1, v3), (ch1: v0, v2), (ch1: v1, v3); an odd last row:
 * the first two units per group (4b bits, not byte aligned when b is odd). */
#if defined(__ARM_FEATURE_DSP)
#define EK_CB_W16 1   /* decoded: the units themselves, int16 pairs for SMLAD */
#else
#define EK_CB_W16 0   /* decoded: the int8 pair layout (ek_pairs.h), for the int8 loop */
#endif

/* unit j of group g: through the one-lookup table t when `one` (1-3 bits, or the 4-bit
 * units in flash), else ek_cb_unit's two lookups for 4 bits; both constants */
#define EK_UNIT(j) (one ? ek_cb_unit1(g, t, b, j) : ek_cb_unit(g, t, b, j))

/* the units of one group g of a channel pair into w, in the form dot2x2_cb reads; an
 * odd last row (pair 0) as a pair whose second row is zero, so one block loop serves
 * both; w past them */
static inline __attribute__((always_inline)) int32_t *
decode_group(uint32_t g, const int32_t *t, const int b, const int pair, const int one, int32_t *w) {
#if EK_CB_W16
    /* two STRD with writeback: GCC stores word by word and steps the pointer apart */
    int32_t u0 = EK_UNIT(0), u1 = EK_UNIT(1);
    __asm volatile("strd %1, %2, [%0], #8" : "+r"(w) : "r"(u0), "r"(u1) : "memory");
    u0 = pair ? EK_UNIT(2) : 0;
    u1 = pair ? EK_UNIT(3) : 0;
    __asm volatile("strd %1, %2, [%0], #8" : "+r"(w) : "r"(u0), "r"(u1) : "memory");
    return w;
#else
    w[0] = ek_cb_s8x4(EK_UNIT(0), EK_UNIT(1));
    w[1] = pair ? ek_cb_s8x4(EK_UNIT(2), EK_UNIT(3)) : 0;
    return w + 2;
#endif
}
#undef EK_UNIT

/* the rows of a channel pair (pair: b bytes a group) or of the odd last row (4b bits a
 * group) from stream s into w */
static inline __attribute__((always_inline)) void
decode_rows(const uint8_t *s, const int32_t *t, const int b, int32_t k, const int pair,
            const int one, int32_t *w) {
#define EK_DECODE_AT(i)                                                          \
    (w = decode_group(pair ? ek_load_u32(s + (i) * b) : ek_cb_bits_at(s, (uint32_t)(i) * 4 * b), \
                      t, b, pair, one, w))
    /* one group per iteration: unrolling would save about two instructions a group (of
     * 11 for 1-3 bit codes, once per tile) for several hundred bytes of flash per width */
    for (int32_t i = 0; i < k / 4; i++) EK_DECODE_AT(i);
#undef EK_DECODE_AT
}

/* 4-bit codes without the units table (layers decoded once a call, e.g. a fully
 * connected one): two lookups a unit, optimized for size but with the width folded */
static EK_COLD void decode_pair4(const ek_cb_lut *l, const uint8_t *s, int32_t k, int32_t *w) {
    decode_rows(s, l->table, 4, k, 1, 0, w);
}

/* the odd last row, once per tile: one copy for every width, optimized for size */
static EK_COLD void decode_row(const ek_cb_lut *l, const uint8_t *s, int32_t k, int32_t *w) {
    decode_rows(s, l->table, l->bits, k, 0, 0, w);
}

/* a channel pair: the hot decoder, one copy per bit width (shifts and masks folded), one
 * lookup a unit */
static void decode_pair(const ek_cb_lut *l, const uint8_t *s, int32_t k, int32_t *w) {
    switch (l->bits) {
    case 1: decode_rows(s, l->table, 1, k, 1, 1, w); break;
    case 2: decode_rows(s, l->table, 2, k, 1, 1, w); break;
    case 3: decode_rows(s, l->table, 3, k, 1, 1, w); break;
    default:
        if (l->units) decode_rows(s, l->units, 4, k, 1, 1, w);
        else decode_pair4(l, s, k, w);
        break;
    }
}

/* ek_finish out of line: layers with left shifts are rare, so their copy of the tile
 * loop is optimized for size */
static EK_COLD int8_t finish_any(int32_t acc, int32_t m, int32_t s, const ek_conv_params *p) {
    return ek_finish(acc, m, s, p->output_offset, p->act_min, p->act_max);
}

/* one output: mode EK_RQ_ANY (finish_any) or EK_RQ_RIGHT (ek_finish_r, no clamp), a
 * constant; off2p1 = 2 * output_offset + 1 */
static inline __attribute__((always_inline)) int8_t
tile_finish(int32_t acc, int32_t m, int32_t s, const ek_conv_params *p, int32_t off2p1,
            const int mode) {
    return mode == EK_RQ_ANY ? finish_any(acc, m, s, p) : ek_finish_r(acc, m, ~s, off2p1, 0, 0, 0);
}

/* channels oc and, if two, oc + 1 (weights decoded in wbuf) for the tile's n vectors;
 * mode (EK_RQ_ANY or EK_RQ_RIGHT, no clamp) is a constant */
static inline __attribute__((always_inline)) void
tile_channels(const int32_t *xt, int32_t n, const int32_t *wbuf, const int32_t *eb,
              const ek_quant_params *q, const ek_conv_params *p, int32_t k, int32_t cout,
              int32_t oc, int two, const int mode, int8_t *y) {
    /* locals: the int8 stores below may alias anything, q, p and eb included. c1: the
     * second channel, or the first again for an odd last row (its results are dropped) */
    const int32_t c1 = oc + two;
    const int32_t m0 = q->multiplier[oc], m1 = q->multiplier[c1], s0 = q->shift[oc];
    const int32_t s1 = q->shift[c1], b0 = eb[oc], b1 = eb[c1];
    const int32_t off2p1 = 2 * p->output_offset + 1;
    for (int32_t j = 0; j < n; j += 2, xt += k) {
        int32_t acc[4] = {b0, b1, b0, b1};
        dot2x2_cb(xt, wbuf, k, mode != EK_RQ_ANY, acc);   /* the ANY copy: for size */
        int8_t *y0 = y + (int64_t)j * cout + oc;
        y0[0] = tile_finish(acc[0], m0, s0, p, off2p1, mode);
        if (two) y0[1] = tile_finish(acc[1], m1, s1, p, off2p1, mode);
        if (j + 1 == n) break;
        y0[cout] = tile_finish(acc[2], m0, s0, p, off2p1, mode);
        if (two) y0[cout + 1] = tile_finish(acc[3], m1, s1, p, off2p1, mode);
    }
}

/* The hot case: a channel pair (oc, oc + 1), right shifts, no clamp. Vector pairs walk
 * xt and y0 with nothing indexed; the channel constants are read back as pairs (LDRD)
 * after each block loop, which needs every register. An odd last vector: its first
 * two outputs only (the stand-in's are dropped). */
static inline __attribute__((always_inline)) void
tile_pair_right(const int32_t *xt, int32_t n, const int32_t *wbuf, const int32_t *eb,
                const ek_quant_params *q, int32_t off2p1, int32_t k, int32_t cout,
                int32_t oc, const int whole, int8_t *y0) {
    /* locals: the int8 stores below may alias anything, q and eb included */
    const int32_t b0 = eb[oc], b1 = eb[oc + 1], m0 = q->multiplier[oc], m1 = q->multiplier[oc + 1];
    const int32_t e0 = ~q->shift[oc], e1 = ~q->shift[oc + 1];
    const int32_t *const pairs_end = xt + (int64_t)(n / 2) * k;
    y0 += oc;
    /* the block loop's own pointer carries xt from one vector pair to the next */
    while (xt < pairs_end) {
        int32_t a00 = b0, a01 = b1, a10 = b0, a11 = b1;
#if defined(__ARM_FEATURE_DSP)
        int32_t wa, wb, t;
        const int32_t *w = wbuf, *xb = xt;
        const int32_t *const end4 = xt + (k & ~15), *const end = xt + k;
        if (whole || xb < end4)
            __asm("1:\n\t" EK_G2X2_CB EK_G2X2_CB EK_G2X2_CB EK_G2X2_CB
                  "cmp %[x], %[end]\n\t"
                  "blo 1b\n\t"
                  EK_G2X2_OPERANDS
                  : [end] "r"(end4)
                  : "r8", "r9", "r10", "r11", "cc", "memory");
        while (!whole && xb < end)
            __asm(EK_G2X2_CB EK_G2X2_OPERANDS : : "r8", "r9", "r10", "r11", "memory");
        (void)t;
        xt = xb;
#else
        (void)whole;
        int32_t acc[4] = {a00, a01, a10, a11};
        dot2x2_cb(xt, wbuf, k, 1, acc);
        xt += k;
        a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
#endif
        y0[0] = ek_finish_r(a00, m0, e0, off2p1, 0, 0, 0);
        y0[1] = ek_finish_r(a01, m1, e1, off2p1, 0, 0, 0);
        y0[cout] = ek_finish_r(a10, m0, e0, off2p1, 0, 0, 0);
        y0[cout + 1] = ek_finish_r(a11, m1, e1, off2p1, 0, 0, 0);
        y0 += 2 * cout;
    }
    if (n & 1) {
        int32_t acc[4] = {b0, b1, b0, b1};
        dot2x2_cb(xt, wbuf, k, 1, acc);
        y0[0] = ek_finish_r(acc[0], m0, e0, off2p1, 0, 0, 0);
        y0[1] = ek_finish_r(acc[1], m1, e1, off2p1, 0, 0, 0);
    }
}

/* every channel pair of the tile, then an odd last row */
static inline __attribute__((always_inline)) void
tile_cb(const int32_t *xt, int32_t n, const ek_cb_lut *w, int32_t *wbuf, const int32_t *eb,
        const ek_quant_params *q, const ek_conv_params *p, int32_t k, int32_t cout,
        const int mode, int8_t *y) {
    const int32_t stride = (k / 4) * w->bits;   /* bytes per channel pair */
    for (int32_t oc = 0; oc < cout; oc += 2) {
        const int two = oc + 1 < cout;
        if (two)
            decode_pair(w, w->index + (oc / 2) * stride, k, wbuf);
        else
            decode_row(w, w->index + (oc / 2) * stride, k, wbuf);
        if (mode != EK_RQ_ANY && two && k % 16 == 0)   /* whole unrolled block loops */
            tile_pair_right(xt, n, wbuf, eb, q, 2 * p->output_offset + 1, k, cout, oc, 1, y);
        else if (mode != EK_RQ_ANY && two)
            tile_pair_right(xt, n, wbuf, eb, q, 2 * p->output_offset + 1, k, cout, oc, 0, y);
        else
            tile_channels(xt, n, wbuf, eb, q, p, k, cout, oc, two, mode, y);
    }
}

/* layers with left shifts (or shifts of -1): rare, so optimized for size */
static EK_COLD void tile_any(const int32_t *xt, int32_t n, const ek_cb_lut *w, int32_t *wbuf,
                             const int32_t *eb, const ek_quant_params *q,
                             const ek_conv_params *p, int32_t k, int32_t cout, int8_t *y) {
    tile_cb(xt, n, w, wbuf, eb, q, p, k, cout, EK_RQ_ANY, y);
}

void ek_pair_tile_cb(const int32_t *xt, int32_t n, const ek_cb_lut *w, int32_t *wbuf,
                     const int32_t *eb, const ek_quant_params *q, const ek_conv_params *p,
                     int32_t k, int32_t cout, int mode, int8_t *y) {
    if (mode == EK_RQ_ANY) {
        tile_any(xt, n, w, wbuf, eb, q, p, k, cout, y);
        return;
    }
    tile_cb(xt, n, w, wbuf, eb, q, p, k, cout, EK_RQ_RIGHT, y);
    /* the activation range, four outputs at a time, when narrower than int8 */
    if (mode == EK_RQ_RIGHT_CLAMP) ek_clamp_s8(y, n * cout, p->act_min, p->act_max);
}
