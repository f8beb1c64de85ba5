/* DSP-extension intrinsics (SXTB16, SMLAD, SMLABB/SMLATT) under __ARM_FEATURE_DSP,
 * and the int8 dot products and the byte clamp built on them, with their plain C path. */
#ifndef EK_DSP_H
#define EK_DSP_H

#include <stdint.h>
#include "ek_fixedpoint.h"

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
/* acc's two int16 lanes + the sign-extended bytes 0, 2 (ror8: 1, 3) of x, lane by lane */
static inline int32_t ek_sxtab16(int32_t acc, int32_t x) { int32_t r; __asm("sxtab16 %0, %1, %2" : "=r"(r) : "r"(acc), "r"(x)); return r; }
static inline int32_t ek_sxtab16_ror8(int32_t acc, int32_t x) { int32_t r; __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x)); return r; }
static inline int32_t ek_load32(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }
/* a = p[0], b = p[1], p += 2 (p: const int32_t *, word aligned): one LDRD with writeback,
 * which GCC does not pick by itself when registers run short. The "m" operand tells it
 * the memory read. */
#define EK_LDRD_INC(p, a, b) \
    __asm("ldrd %0, %1, [%2], #8" : "=r"(a), "=r"(b), "+r"(p) : "m"(*(const int32_t(*)[2])(p)))
/* Between the steps of an unrolled inner loop: keeps GCC's scheduler from hoisting every
 * load to the top, which runs out of registers and spills them to the stack. */
#define EK_SCHED_BARRIER() __asm volatile("" ::: "memory")
#endif

/* y[i] = clamp(y[i], lo, hi) for n bytes, lo and hi in [-128, 127]: on Cortex-M4/M7 four
 * at a time (SSUB8 sets a flag per byte lane, SEL picks by it: max, then min) */
static inline void ek_clamp_s8(int8_t *y, int32_t n, int32_t lo, int32_t hi) {
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
    const uint32_t lo4 = 0x01010101u * (uint8_t)lo, hi4 = 0x01010101u * (uint8_t)hi;
    for (; i + 4 <= n; i += 4) {
        uint32_t v, t;
        memcpy(&v, y + i, 4);
        __asm("ssub8 %1, %0, %2\n\tsel %0, %0, %2\n\tssub8 %1, %0, %3\n\tsel %0, %3, %0"
              : "+r"(v), "=&r"(t) : "r"(lo4), "r"(hi4) : "cc");
        memcpy(y + i, &v, 4);
    }
#endif
    for (; i < n; i++) y[i] = (int8_t)EK_CLAMP(y[i], lo, hi);
}

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
