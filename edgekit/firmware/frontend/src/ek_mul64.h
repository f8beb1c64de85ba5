/* Internal: the exact 64-bit products of the fixed MFCC path (ek_fft_q30.c, ek_mfcc_q.c,
 * ek_frontend.c), written for each architecture. ARMv7-M/v8-M have SMULL/SMLAL: plain C
 * int64 products compile to them. ARMv6-M (Cortex-M0/M0+) has only MULS (32 x 32 -> 32),
 * and gcc calls __aeabi_lmul (a full 64 x 64 product) for every int64 product: there the
 * products are built from 16- and 15-bit halves with MULS instead. Identical results. */
#ifndef EK_MUL64_H
#define EK_MUL64_H
#include <stdint.h>

/* a * b, exact */
static inline int64_t ek_smull(int32_t a, int32_t b) {
#if defined(__ARM_ARCH_6M__)
    /* a = ah 2^16 + al, al in [0, 2^16): |ah bh| <= 2^30, |ah bl|, |al bh| < 2^31 */
    const int32_t ah = a >> 16, bh = b >> 16;
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t m1 = ah * (int32_t)bl, m2 = (int32_t)al * bh;
    return (int64_t)(((uint64_t)(uint32_t)(ah * bh) << 32) | (al * bl)) + ((int64_t)m1 << 16) +
           ((int64_t)m2 << 16);
#else
    return (int64_t)a * b;
#endif
}

/* (a w + c v + 2^29) >> 30, exact: a rotation's component with Q30 factors, rounded half
 * up. Needs |a|, |c| < 2^25 and w^2 + v^2 <= 2^60 (a twiddle: |w + iv| = 1 in Q30). */
static inline int32_t ek_mac2_q30(int32_t a, int32_t w, int32_t c, int32_t v) {
#if defined(__ARM_ARCH_6M__)
    /* x = xh 2^15 + xl, xl in [0, 2^15) for each: |ah|, |ch| < 2^10, |wh|, |vh| <= 2^15.
     * a w + c v = H 2^30 + M 2^15 + L with H = ah wh + ch vh, L = al wl + cl vl < 2^31 and
     * |M| <= |ah wl + ch vl| + |al wh + cl vh| < 2^26 + 2^15.5 (2^15 + 1) < 2^31 - 2^17
     * (Cauchy-Schwarz); with L + 2^29 = q 2^15 + r, r < 2^15: the result is
     * H + floor((M + q) / 2^15). Every term fits 32 bits. */
    const int32_t ah = a >> 15, ch = c >> 15, wh = w >> 15, vh = v >> 15;
    const int32_t al = a & 0x7FFF, cl = c & 0x7FFF, wl = w & 0x7FFF, vl = v & 0x7FFF;
    const uint32_t q = ((uint32_t)(al * wl) + (uint32_t)(cl * vl) + (1u << 29)) >> 15;
    const int32_t m = ah * wl + ch * vl + al * wh + cl * vh + (int32_t)q;
    return ah * wh + ch * vh + (m >> 15);
#else
    return (int32_t)(((int64_t)a * w + (int64_t)c * v + (1 << 29)) >> 30);
#endif
}
#endif
