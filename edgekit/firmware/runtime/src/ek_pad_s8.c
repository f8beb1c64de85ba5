/* ek_pad_s8: pad H and W of an NHWC tensor with pad_value (the zero point).
 * Twin: reference (Pad node). */
#include <string.h>

#include "ek_nn.h"

ek_status ek_pad_s8(const ek_dims *in, const int8_t *input, int32_t pad_top,
                    int32_t pad_left, int8_t pad_value, const ek_dims *out, int8_t *output) {
    if (out->c != in->c || out->h < in->h + pad_top || out->w < in->w + pad_left ||
        input == output)
        return EK_ARG_ERROR;
    const int32_t c = in->c;
    for (int32_t b = 0; b < in->n; b++) {
        int8_t *y = output + (int64_t)b * out->h * out->w * c;
        const int8_t *x = input + (int64_t)b * in->h * in->w * c;
        memset(y, pad_value, (size_t)out->h * out->w * c);
        for (int32_t iy = 0; iy < in->h; iy++)
            memcpy(y + ((int64_t)(iy + pad_top) * out->w + pad_left) * c,
                   x + (int64_t)iy * in->w * c, (size_t)in->w * c);
    }
    return EK_OK;
}
