/* Codebook decoding for the codebook kernels: the decode table expanded from a
 * layer's int8 codes, and the index units read from flash. Twin: edgekit/compress/codebook.py
 * (Codebook.table, index_units). */
#ifndef EK_CB_DECODE_H
#define EK_CB_DECODE_H

#include <stdint.h>
#include "ek_nn.h"

/* Indices are read 32 bits at a time (the streams carry 3 bytes of padding). A unit is
 * two indices (a | c << b); as a word it holds code[a] and code[c] in int16 lanes, the
 * form SXTB16 gives an int8 weight word: b <= 2 one table entry, b >= 3 two. */
static inline uint32_t ek_load_u32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }

/* A codebook as the inner loops read it: the decode table, expanded from the int8 codes
 * in flash when a kernel starts (16 words on the stack; flash keeps 2^b bytes). table:
 * b <= 2: 4^b entries, entry (a | c << b) = code[a] in the low int16, code[c] in the
 * high one (one lookup per unit); b >= 3: 2^b entries code[i]. */
typedef struct {
    const uint8_t *index;
    int32_t bits;
    int32_t table[16];
} ek_cb_lut;

/* 0 when cb is NULL or its bit width is outside 1..4 */
static inline int ek_cb_lut_init(ek_cb_lut *l, const ek_codebook *cb) {
    if (!cb || cb->bits < 1 || cb->bits > 4) return 0;
    const int32_t b = cb->bits, n = 1 << b;
    l->index = cb->index;
    l->bits = b;
    if (b >= 3) {
        for (int32_t i = 0; i < n; i++) l->table[i] = cb->codes[i];
        return 1;
    }
    for (int32_t i = 0; i < n * n; i++)
        l->table[i] = (int32_t)((uint32_t)(uint16_t)(int16_t)cb->codes[i % n] |
                                ((uint32_t)(int32_t)cb->codes[i / n] << 16));
    return 1;
}

/* the code of index i (entry i's low lane when b <= 2) */
static inline int32_t ek_cb_code(const int32_t *t, int b, uint32_t i) {
    return b <= 2 ? (int32_t)(int16_t)(t[i] & 0xFFFF) : t[i];
}

/* unit j of g (2b bits each) as an int16-pair word */
static inline __attribute__((always_inline)) int32_t ek_cb_unit(uint32_t g, const int32_t *t,
                                                                const int b, int j) {
    if (b <= 2) return t[(g >> (2 * b * j)) & ((1u << (2 * b)) - 1)];
    const uint32_t m = (1u << b) - 1;
    const int32_t lo = t[(g >> (2 * b * j)) & m], hi = t[(g >> (2 * b * j + b)) & m];
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

#endif
