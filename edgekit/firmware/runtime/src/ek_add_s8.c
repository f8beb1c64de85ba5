/* ek_add_s8: element-wise add with different input scales (TFLM ADD int8).
 * Twin: reference.add. Both inputs are shifted left by left_shift (20), rescaled to a
 * common scale, summed and rescaled to the output. Runs in place (output == a or b). */
#include "ek_fixedpoint.h"
#include "ek_nn.h"

ek_status ek_add_s8(const ek_add_params *p, const int8_t *a, const int8_t *b,
                    int8_t *output, int32_t size) {
    for (int32_t i = 0; i < size; i++) {
        const int32_t va = (int32_t)((uint32_t)(a[i] + p->input1_offset) << p->left_shift);
        const int32_t vb = (int32_t)((uint32_t)(b[i] + p->input2_offset) << p->left_shift);
        const int32_t sa = ek_mbqm(va, p->input1_multiplier, p->input1_shift);
        const int32_t sb = ek_mbqm(vb, p->input2_multiplier, p->input2_shift);
        output[i] = ek_finish(sa + sb, p->output_multiplier, p->output_shift,
                              p->output_offset, p->act_min, p->act_max);
    }
    return EK_OK;
}
