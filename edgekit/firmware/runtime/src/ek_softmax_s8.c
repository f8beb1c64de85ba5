/* ek_softmax_s8: int8 softmax, TFLM-exact (reference_ops::Softmax for int8, gemmlowp
 * fixed point). Twin: reference.softmax and arith.exp_on_negative_values /
 * get_reciprocal. Differences to the row max are scaled into Q5.26, exponentiated in
 * Q0.31, summed in Q12.19, inverted with Newton-Raphson and scaled to 1/256 units. */
#include "ek_fixedpoint.h"
#include "ek_nn.h"

static int32_t sat_mul_pot(int32_t x, int32_t exponent) {   /* exponent > 0 */
    const int32_t threshold = (int32_t)((1ll << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out */
static int32_t exp_quarter(int32_t a) {
    const int32_t constant_term = 1895147668;   /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = (int32_t)((uint32_t)a + (1u << 28));
    const int32_t x2 = ek_srdhm(x, x);
    const int32_t x3 = ek_srdhm(x2, x);
    const int32_t x4 = ek_srdhm(x2, x2);
    const int32_t x4_over_4 = ek_rdbpot(x4, 2);
    const int32_t poly = ek_rdbpot(
        (int32_t)((uint32_t)ek_srdhm((int32_t)((uint32_t)x4_over_4 + (uint32_t)x3), one_third) +
                  (uint32_t)x2), 1);
    return (int32_t)((uint32_t)constant_term +
                     (uint32_t)ek_srdhm(constant_term, (int32_t)((uint32_t)x + (uint32_t)poly)));
}

/* exp of a <= 0 in Q5.26, result Q0.31 */
static int32_t exp_on_negative_values(int32_t a) {
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535, 720401, 242};
    const int32_t one_quarter = 1 << 24;
    const int32_t a_mod = (int32_t)((uint32_t)(a & (one_quarter - 1)) - (uint32_t)one_quarter);
    int32_t result = exp_quarter(sat_mul_pot(a_mod, 5));
    const int32_t remainder = (int32_t)((uint32_t)a_mod - (uint32_t)a);
    for (int32_t k = 0; k < 7; k++)   /* exponents -2 .. 4: bit 26 + exponent */
        if (remainder & (1 << (24 + k))) result = ek_srdhm(result, mult[k]);
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 */
static int32_t one_over_one_plus_x(int32_t a) {
    const int64_t s = (int64_t)a + INT32_MAX;
    const int32_t half_den = (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
    int32_t x = (int32_t)(1515870810u + (uint32_t)ek_srdhm(half_den, -1010580540));
    for (int i = 0; i < 3; i++) {
        const int32_t hdx = ek_srdhm(half_den, x);
        const int32_t one_minus = (int32_t)((uint32_t)(1 << 29) - (uint32_t)hdx);
        x = (int32_t)((uint32_t)x + (uint32_t)sat_mul_pot(ek_srdhm(x, one_minus), 2));
    }
    return sat_mul_pot(x, 1);
}

static int32_t clz32(uint32_t v) {
    int32_t n = 0;
    if (!v) return 32;
    while (!(v & 0x80000000u)) { v <<= 1; n++; }
    return n;
}

ek_status ek_softmax_s8(const int8_t *input, int32_t rows, int32_t cols,
                        int32_t multiplier, int32_t left_shift, int32_t diff_min,
                        int8_t *output) {
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = input + (int64_t)r * cols;
        int8_t *y = output + (int64_t)r * cols;
        int32_t max = -128;
        for (int32_t i = 0; i < cols; i++) max = EK_MAX(max, x[i]);
        int32_t sum = 0;  /* Q12.19 */
        for (int32_t i = 0; i < cols; i++) {
            const int32_t diff = x[i] - max;
            if (diff >= diff_min) {
                const int32_t scaled = ek_srdhm((int32_t)((uint32_t)diff << left_shift), multiplier);
                sum = (int32_t)((uint32_t)sum + (uint32_t)ek_rdbpot(exp_on_negative_values(scaled), 12));
            }
        }
        const int32_t headroom = clz32((uint32_t)sum);
        const int32_t bits_over_unit = 12 - headroom;
        const int32_t shifted = (int32_t)(((uint32_t)sum << headroom) - (1u << 31));
        const int32_t recip = one_over_one_plus_x(shifted);
        for (int32_t i = 0; i < cols; i++) {
            const int32_t diff = x[i] - max;
            if (diff >= diff_min) {
                const int32_t scaled = ek_srdhm((int32_t)((uint32_t)diff << left_shift), multiplier);
                const int32_t e = exp_on_negative_values(scaled);
                const int32_t out = ek_rdbpot(ek_srdhm(recip, e), bits_over_unit + 31 - 8) - 128;
                y[i] = (int8_t)EK_CLAMP(out, -128, 127);
            } else {
                y[i] = -128;
            }
        }
    }
    return EK_OK;
}
