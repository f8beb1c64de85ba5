/* Internal: the two 256-point complex FFTs of the front end (one file each). */
#ifndef EK_FFT_H
#define EK_FFT_H
#include <stdint.h>

#include "ek_mfcc_tables.h"

void ek_fft256_q30(int32_t *re, int32_t *im);
void ek_fft256_f32(float *re, float *im);
#endif
