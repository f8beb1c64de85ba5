/* ek_fully_connected_s8: rows x cols times filter[cout][cols]^T (TFLM FullyConnected).
 * Twin: reference.fully_connected. */
#include "ek_fixedpoint.h"
#include "ek_nn.h"

ek_status ek_fully_connected_s8(int32_t input_offset, int32_t output_offset,
                                int32_t act_min, int32_t act_max, const ek_quant_params *q,
                                int32_t rows, int32_t cols, const int8_t *input,
                                int32_t cout, const int8_t *filter, const int32_t *bias,
                                int8_t *output) {
    if (rows < 1 || cols < 1 || cout < 1) return EK_ARG_ERROR;
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = input + (int64_t)r * cols;
        for (int32_t oc = 0; oc < cout; oc++) {
            const int8_t *w = filter + (int64_t)oc * cols;
            int32_t acc = bias ? bias[oc] : 0;
            for (int32_t i = 0; i < cols; i++) acc += w[i] * (x[i] + input_offset);
            *output++ = ek_finish(acc, q->multiplier[oc], q->shift[oc], output_offset,
                                  act_min, act_max);
        }
    }
    return EK_OK;
}
