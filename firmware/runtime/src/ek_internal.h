/* Fixed-point helpers shared by the kernels (twins: edgekit/quant/arith.py). */
#ifndef EK_INTERNAL_H
#define EK_INTERNAL_H

#include <stdint.h>
#include "ek_nn.h"

#define EK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define EK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EK_CLAMP(x, lo, hi) EK_MIN(EK_MAX((x), (lo)), (hi))

/* SaturatingRoundingDoublingHighMul */
static inline int32_t ek_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / (1ll << 31));  /* C division truncates, as gemmlowp */
}

/* RoundingDivideByPOT: round half away from zero */
static inline int32_t ek_rdbpot(int32_t x, int32_t exponent) {
    int32_t mask = (int32_t)((1ll << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier for multiplier in [0, 2^31) (what QuantizeMultiplier
 * produces; see ek_nn.h). Double rounding = TFLite's default. */
static inline int32_t ek_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
#if defined(EK_SINGLE_ROUNDING)
    int32_t total = 31 - shift;
    int64_t r = (int64_t)x * multiplier + (1ll << (total - 1));
    return (int32_t)(r >> total);
#else
    /* SRDHM for M >= 0: gemmlowp's sign-dependent nudge followed by truncation equals
     * floor((x*M + 2^30) / 2^31); saturation needs M == INT32_MIN, which cannot occur.
     * Then RoundingDivideByPOT (half away from zero). One straight-line path, no
     * branches: left = max(shift, 0), right = max(-shift, 0). */
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = left - shift;
    const int32_t xs = (int32_t)((uint32_t)x << left);
    const int32_t t = (int32_t)(((int64_t)xs * multiplier + (1ll << 30)) >> 31);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)t >> 31);
    return (t >> right) + ((t & mask) > threshold);
#endif
}

/* requantize + output offset + clamp: the tail of every conv-like kernel */
static inline int8_t ek_finish(int32_t acc, int32_t m, int32_t s, int32_t out_off,
                               int32_t lo, int32_t hi) {
    int32_t v = ek_mbqm(acc, m, s) + out_off;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* The requantization tail for right shifts of 2 or more (shift <= -2, em1 = -shift - 1
 * >= 1), the usual case in conv layers: ek_finish's result in about half the instructions.
 * With y = floor((x*M + 2^30) / 2^31) (SRDHM, see ek_mbqm) and s = [y < 0],
 *   RoundingDivideByPOT(y, e) = floor((y - s + 2^(e-1)) / 2^e)
 *                             = (((y - s) >> (e - 1)) + 1) >> 1      (nested floors),
 * and adding the output offset before the last halving makes it
 *   out = (((y - s) >> em1) + 2 * out_off + 1) >> 1,
 * which one SSAT (with its built-in ASR #1) saturates to int8. No step overflows:
 * |y| < 2^31 - 1 and em1 >= 1. `clamp` (a constant at each call site) adds the
 * activation range when it is narrower than int8. */
static inline int32_t ek_ssat8_asr1(int32_t v) {
#if defined(__ARM_FEATURE_SAT)
    int32_t r;
    __asm("ssat %0, #8, %1, asr #1" : "=r"(r) : "r"(v));
    return r;
#else
    v >>= 1;
    return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

static inline int8_t ek_finish_r(int32_t acc, int32_t m, int32_t em1, int32_t off2p1,
                                 int32_t lo, int32_t hi, const int clamp) {
    int32_t y = (int32_t)(((int64_t)acc * m + (1ll << 30)) >> 31);
    y -= (int32_t)((uint32_t)y >> 31);
    int32_t v = ek_ssat8_asr1((y >> em1) + off2p1);
    if (clamp) {
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
    }
    return (int8_t)v;
}

/* 1 when every channel's shift is <= -2, so the kernels may use ek_finish_r */
static inline int ek_right_shifts(const int8_t *shift, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (shift[i] > -2) return 0;
    return 1;
}

/* 1 when the activation range is narrower than int8 (ek_finish_r's clamp) */
static inline int ek_needs_clamp(int32_t lo, int32_t hi) { return lo > -128 || hi < 127; }

/* ---- codebook weights (ek_codebook, edgekit/compress/codebook.py) ----------------------
 * Indices are read 32 bits at a time (the streams carry 3 bytes of padding). A unit is
 * two indices (a | c << b); as a word it holds code[a] and code[c] in int16 lanes, the
 * form SXTB16 gives an int8 weight word: b <= 2 one table entry, b >= 3 two. */
static inline uint32_t ek_load_u32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }

/* A codebook as the inner loops read it: the decode table, expanded from the int8 codes
 * in flash when a kernel starts (16 words on the stack; flash keeps 2^b bytes). table:
 * b <= 2: 4^b entries, entry (a | c << b) = code[a] in the low int16, code[c] in the
 * high one (one lookup per unit); b >= 3: 2^b entries code[i]. */
typedef struct {
    const uint8_t *index;
    int32_t bits;
    int32_t table[16];
} ek_cb_lut;

/* 0 when cb is NULL or its bit width is outside 1..4 */
static inline int ek_cb_lut_init(ek_cb_lut *l, const ek_codebook *cb) {
    if (!cb || cb->bits < 1 || cb->bits > 4) return 0;
    const int32_t b = cb->bits, n = 1 << b;
    l->index = cb->index;
    l->bits = b;
    if (b >= 3) {
        for (int32_t i = 0; i < n; i++) l->table[i] = cb->codes[i];
        return 1;
    }
    for (int32_t i = 0; i < n * n; i++)
        l->table[i] = (int32_t)((uint32_t)(uint16_t)(int16_t)cb->codes[i % n] |
                                ((uint32_t)(int32_t)cb->codes[i / n] << 16));
    return 1;
}

/* the code of index i (entry i's low lane when b <= 2) */
static inline int32_t ek_cb_code(const int32_t *t, int b, uint32_t i) {
    return b <= 2 ? (int32_t)(int16_t)(t[i] & 0xFFFF) : t[i];
}

/* unit j of g (2b bits each) as an int16-pair word */
static inline __attribute__((always_inline)) int32_t ek_cb_unit(uint32_t g, const int32_t *t,
                                                                const int b, int j) {
    if (b <= 2) return t[(g >> (2 * b * j)) & ((1u << (2 * b)) - 1)];
    const uint32_t m = (1u << b) - 1;
    const int32_t lo = t[(g >> (2 * b * j)) & m], hi = t[(g >> (2 * b * j + b)) & m];
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* The part of a pooling window inside the input: rows [ys, ye), columns [xs, xe). */
typedef struct { int32_t ys, ye, xs, xe; } ek_window;

static inline ek_window ek_pool_window(const ek_conv_params *p, const ek_dims *in, int32_t kh,
                                       int32_t kw, int32_t oy, int32_t ox) {
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    ek_window w = {EK_MAX(y0, 0), EK_MIN(y0 + kh, in->h), EK_MAX(x0, 0), EK_MIN(x0 + kw, in->w)};
    return w;
}

/* Small copies and fills inline (newlib-nano's memcpy/memset go byte by byte behind a
 * call). The attribute keeps GCC from turning these loops back into library calls. */
#if defined(__GNUC__) && !defined(__clang__)
#define EK_NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define EK_NO_LIBCALL
#endif

static inline EK_NO_LIBCALL void ek_copy(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        __builtin_memcpy(&w, src + i, 4);   /* a single (unaligned-capable) LDR / STR */
        __builtin_memcpy(dst + i, &w, 4);
    }
    for (; i < n; i++) dst[i] = src[i];
}

static inline EK_NO_LIBCALL void ek_fill(int8_t *dst, int8_t v, int32_t n) {
    for (int32_t i = 0; i < n; i++) dst[i] = v;
}

/* ---- dot products (conv, 1x1 conv) ------------------------------------------------
 * DSP path: SXTB16 unpacks bytes 0,2 (and, rotated, 1,3) of a word into two int16
 * lanes; SMLAD multiplies lane pairs and adds both products: two MACs per instruction.
 * Both operands are unpacked the same way, so lane order does not matter for a dot. */
#if defined(__ARM_FEATURE_DSP)
#include <string.h>
static inline int32_t ek_sxtb16(int32_t x) { int32_t r; __asm("sxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline int32_t ek_sxtb16_ror8(int32_t x) { int32_t r; __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline int32_t ek_smlad(int32_t a, int32_t b, int32_t acc) { int32_t r; __asm("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc)); return r; }
static inline int32_t ek_smlabb(int32_t a, int32_t b, int32_t acc) { int32_t r; __asm("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc)); return r; }
static inline int32_t ek_smlatt(int32_t a, int32_t b, int32_t acc) { int32_t r; __asm("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc)); return r; }
static inline int32_t ek_load32(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }
/* Between the steps of an unrolled inner loop: keeps GCC's scheduler from hoisting every
 * load to the top, which runs out of registers and spills them to the stack. */
#define EK_SCHED_BARRIER() __asm volatile("" ::: "memory")
#endif

/* sum_i x[i] * w[i] */
static inline int32_t ek_dot_s8(const int8_t *x, const int8_t *w, int32_t n) {
    int32_t acc = 0, i = 0;
#if defined(__ARM_FEATURE_DSP)
    for (; i + 4 <= n; i += 4) {
        const int32_t xv = ek_load32(x + i), wv = ek_load32(w + i);
        acc = ek_smlad(ek_sxtb16(xv), ek_sxtb16(wv), acc);
        acc = ek_smlad(ek_sxtb16_ror8(xv), ek_sxtb16_ror8(wv), acc);
    }
#endif
    for (; i < n; i++) acc += x[i] * w[i];
    return acc;
}

/* four dot products of x with rows w, w + n, w + 2n, w + 3n: x is unpacked once */
static inline void ek_dot4_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t acc[4]) {
    const int8_t *w1 = w + n, *w2 = w + 2 * n, *w3 = w + 3 * n;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = 0;
#if defined(__ARM_FEATURE_DSP)
    for (; i + 4 <= n; i += 4) {
        const int32_t xv = ek_load32(x + i);
        const int32_t xe = ek_sxtb16(xv), xo = ek_sxtb16_ror8(xv);
        int32_t wv = ek_load32(w + i);
        a0 = ek_smlad(xe, ek_sxtb16(wv), a0); a0 = ek_smlad(xo, ek_sxtb16_ror8(wv), a0);
        wv = ek_load32(w1 + i);
        a1 = ek_smlad(xe, ek_sxtb16(wv), a1); a1 = ek_smlad(xo, ek_sxtb16_ror8(wv), a1);
        wv = ek_load32(w2 + i);
        a2 = ek_smlad(xe, ek_sxtb16(wv), a2); a2 = ek_smlad(xo, ek_sxtb16_ror8(wv), a2);
        wv = ek_load32(w3 + i);
        a3 = ek_smlad(xe, ek_sxtb16(wv), a3); a3 = ek_smlad(xo, ek_sxtb16_ror8(wv), a3);
    }
#endif
    for (; i < n; i++) {
        a0 += x[i] * w[i]; a1 += x[i] * w1[i]; a2 += x[i] * w2[i]; a3 += x[i] * w3[i];
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

#endif
