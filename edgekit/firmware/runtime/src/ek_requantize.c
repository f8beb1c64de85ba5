/* ek_requantize: MultiplyByQuantizedMultiplier, exported for the generated code/tests. */
#include "ek_fixedpoint.h"
#include "ek_nn.h"

int32_t ek_requantize(int32_t acc, int32_t multiplier, int32_t shift) {
    return ek_mbqm(acc, multiplier, shift);
}
