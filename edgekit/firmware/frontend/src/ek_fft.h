/* Internal: the two 256-point complex FFTs of the front end (one file each). */
#ifndef EK_FFT_H
#define EK_FFT_H
#include <stdint.h>

#include "ek_mfcc_tables.h"

/* The bit-reversal order both FFTs start from: the index after j, reversed, of n = 2^k
 * (incrementing j from the top bit down). */
static inline int ek_fft_bitrev_next(int j, int n) {
    int bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    return j | bit;
}

/* ek_fft256_q30 takes its input already in bit-reversed order (the caller stores it so) */
void ek_fft256_q30(int32_t *re, int32_t *im);
void ek_fft256_f32(float *re, float *im);
#endif
