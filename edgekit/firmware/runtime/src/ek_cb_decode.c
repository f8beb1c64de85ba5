/* ek_cb_decode.c: the codebook decode table (see ek_cb_decode.h). Twin: Codebook.table. */
#include "ek_cb_decode.h"

void ek_cb_lut_init(ek_cb_lut *l, const ek_codebook *cb, int32_t *mem) {
    const int32_t b = cb->bits, n = 1 << b;
    l->index = cb->index;
    l->bits = b;
    l->table = mem;
    l->units = b == 4 ? cb->units : 0;
    if (b == 4) {
        for (int32_t i = 0; i < n; i++) mem[i] = cb->codes[i];
        return;
    }
    for (int32_t i = 0; i < n * n; i++)
        mem[i] = (int32_t)((uint32_t)(uint16_t)(int16_t)cb->codes[i % n] |
                           ((uint32_t)(int32_t)cb->codes[i / n] << 16));
}
