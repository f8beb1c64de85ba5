/* Codebook decoding for the codebook kernels: the decode table expanded from a layer's
 * int8 codes, the index units read from flash, and their int16 / int8 forms.
 * Twin: edgekit/compress/codebook.py (Codebook.table, index_streams).
 *
 * The kernels decode a block of weights once into scratch and reuse it for many pixels
 * (ek_dw_conv_cb_s8: the whole depthwise filter as int8; the conv kernels: one channel
 * pair at a time, ek_pairs.h); these helpers are the only place the bits are read. */
#ifndef EK_CB_DECODE_H
#define EK_CB_DECODE_H

#include <stdint.h>
#include "ek_nn.h"

/* Rare or once-per-call paths: GCC and clang optimize them for size. */
#if defined(__GNUC__)
#define EK_COLD __attribute__((cold, noinline))
#else
#define EK_COLD
#endif

/* Indices are read 32 bits at a time (the streams carry 3 bytes of padding). A unit is
 * two indices (a | c << b); as a word it holds code[a] and code[c] in int16 lanes, the
 * form SXTB16 gives an int8 weight word. */
static inline uint32_t ek_load_u32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }

/* A codebook as the decoders read it: the decode table, expanded from the int8 codes in
 * flash into the kernel's scratch when it starts (flash keeps 2^b bytes). table:
 * b <= 3: 4^b entries, entry (a | c << b) = code[a] in the low int16, code[c] in the high
 * one (one lookup per unit); b = 4: 16 entries code[i] (two lookups per unit: 256
 * entries would take 1 KB of RAM). units: the codebook's 4-bit one-lookup table in flash
 * (ek_codebook), or NULL. */
typedef struct {
    const uint8_t *index;
    int32_t bits;
    int32_t *table;
    const int32_t *units;
} ek_cb_lut;

/* bytes of the decode table for b-bit codes */
static inline int32_t ek_cb_table_bytes(int32_t bits) {
    return 4 * (bits == 4 ? 16 : 1 << (2 * bits));
}

/* The table of cb (ek_cb_ok) built in mem (ek_cb_table_bytes(cb->bits), word aligned).
 * In ek_cb_decode.c. */
void ek_cb_lut_init(ek_cb_lut *l, const ek_codebook *cb, int32_t *mem);

/* 1 when cb is usable (not NULL, 1-4 bits) */
static inline int ek_cb_ok(const ek_codebook *cb) { return cb && cb->bits >= 1 && cb->bits <= 4; }

/* unit j of g (2b bits each, LSB first) as an int16-pair word; b is a constant in the
 * hot decoder (ek_pairs.c decode_pair), which then has no shift or mask to compute */
static inline __attribute__((always_inline)) int32_t ek_cb_unit1(uint32_t g, const int32_t *t,
                                                                 const int b, int j) {
    return t[(g >> (2 * b * j)) & ((1u << (2 * b)) - 1)];   /* t: 4^b entries, one lookup */
}

static inline __attribute__((always_inline)) int32_t ek_cb_unit(uint32_t g, const int32_t *t,
                                                                const int b, int j) {
    if (b <= 3) return ek_cb_unit1(g, t, b, j);
    const int32_t lo = t[(g >> (8 * j)) & 15], hi = t[(g >> (8 * j + 4)) & 15];
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* the int8 word (bytes v0 v1 v2 v3) of two units (v0, v2) and (v1, v3) */
static inline int32_t ek_cb_s8x4(int32_t even, int32_t odd) {
    return (int32_t)(((uint32_t)even & 0x00FF00FFu) | (((uint32_t)odd & 0x00FF00FFu) << 8));
}

/* the 4b bits at bit position pos of a stream (two units) */
static inline uint32_t ek_cb_bits_at(const uint8_t *s, uint32_t pos) {
    return ek_load_u32(s + (pos >> 3)) >> (pos & 7);
}

#endif
