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

static inline int32_t ek_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
#if defined(EK_SINGLE_ROUNDING)
    int32_t total = 31 - shift;
    int64_t r = (int64_t)x * multiplier + (1ll << (total - 1));
    return (int32_t)(r >> total);
#else
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    return ek_rdbpot(ek_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
#endif
}

/* bias + requantize + output offset + clamp: the tail of every conv-like kernel */
static inline int8_t ek_finish(int32_t acc, int32_t m, int32_t s, int32_t out_off,
                               int32_t lo, int32_t hi) {
    acc = ek_mbqm(acc, m, s) + out_off;
    return (int8_t)EK_CLAMP(acc, lo, hi);
}

#endif
