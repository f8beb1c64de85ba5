/* Fixed-point arithmetic shared by the kernels: TFLite's requantization
 * (MultiplyByQuantizedMultiplier, double or single rounding) and the kernels' fast
 * requantization tail. Twins: edgekit/quant/arith.py. */
#ifndef EK_FIXEDPOINT_H
#define EK_FIXEDPOINT_H

#include <stdint.h>

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
 * activation range when it is narrower than int8. Precondition: M in [2^30, 2^31)
 * (what QuantizeMultiplier gives with such shifts; checked by ek_fast_rq), which the
 * Cortex-M4/M7 path needs for its SMMLAR. */
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

#if defined(__ARM_FEATURE_DSP)
/* y of ek_finish_r from M2 = M << 1 (mod 2^32), by SMMLAR */
static inline int32_t ek_srdhm_m2(int32_t acc, int32_t m2) {
    int32_t y;
    __asm("smmlar %0, %1, %2, %1" : "=r"(y) : "r"(acc), "r"(m2));
    return y;
}

/* ek_finish_r, no clamp, with the channel's M2 = M << 1 and em1 precomputed */
static inline int32_t ek_finish_r2(int32_t acc, int32_t m2, int32_t em1, int32_t off2p1) {
    int32_t y = ek_srdhm_m2(acc, m2);
    y -= (int32_t)((uint32_t)y >> 31);
    return ek_ssat8_asr1((y >> em1) + off2p1);
}
#endif

static inline int8_t ek_finish_r(int32_t acc, int32_t m, int32_t em1, int32_t off2p1,
                                 int32_t lo, int32_t hi, const int clamp) {
#if defined(__ARM_FEATURE_DSP)
    /* M in [2^30, 2^31) (ek_fast_rq), so 2M - 2^32 is an int32, M2, and SMMLAR, the
     * rounded high word of acc * 2^32 + acc * M2 + 2^31 = 2 acc M + 2^31 (exact in 64
     * bits), is y: one instruction where the 64-bit multiply-accumulate and its
     * recombination take five. M2 is shared by every output of a channel. */
    int32_t y = ek_srdhm_m2(acc, (int32_t)((uint32_t)m << 1));
#else
    int32_t y = (int32_t)(((int64_t)acc * m + (1ll << 30)) >> 31);
#endif
    y -= (int32_t)((uint32_t)y >> 31);
    int32_t v = ek_ssat8_asr1((y >> em1) + off2p1);
    if (clamp) {
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
    }
    return (int8_t)v;
}

/* 1 when every channel's shift is <= -2, so the kernels may use ek_finish_r. Never with
 * EK_SINGLE_ROUNDING: ek_finish_r rounds twice (SRDHM, then the halving), which is
 * TFLite's default and not its single-rounding arithmetic. */
static inline int ek_right_shifts(const int8_t *shift, int32_t n) {
#if defined(EK_SINGLE_ROUNDING)
    (void)shift;
    (void)n;
    return 0;
#else
    for (int32_t i = 0; i < n; i++)
        if (shift[i] > -2) return 0;
    return 1;
#endif
}

/* 1 when a layer may take ek_finish_r: right shifts (ek_right_shifts) and every
 * multiplier in [2^30, 2^31), n channels */
static inline int ek_fast_rq(const int32_t *multiplier, const int8_t *shift, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (multiplier[i] < (1 << 30)) return 0;
    return ek_right_shifts(shift, n);
}

/* 1 when the activation range is narrower than int8 (ek_finish_r's clamp) */
static inline int ek_needs_clamp(int32_t lo, int32_t hi) { return lo > -128 || hi < 127; }

/* The requantization tail a layer can take: EK_RQ_ANY (ek_finish, any shift),
 * EK_RQ_RIGHT (ek_finish_r: ek_fast_rq), EK_RQ_RIGHT_CLAMP (and a clamp). Kernels
 * pick it once per call and pass it on as a constant, so each variant compiles without
 * the others' tests. */
enum { EK_RQ_ANY, EK_RQ_RIGHT, EK_RQ_RIGHT_CLAMP };

static inline int ek_rq_mode(const int32_t *multiplier, const int8_t *shift, int32_t n,
                             int32_t lo, int32_t hi) {
    return !ek_fast_rq(multiplier, shift, n) ? EK_RQ_ANY : ek_needs_clamp(lo, hi) ? EK_RQ_RIGHT_CLAMP
                                                                          : EK_RQ_RIGHT;
}

#endif
