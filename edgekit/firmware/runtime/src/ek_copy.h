/* Small copies and fills, inline. */
#ifndef EK_COPY_H
#define EK_COPY_H

#include <stdint.h>

/* Small copies and fills inline (newlib-nano's memcpy/memset go byte by byte behind a
 * call). The attribute keeps GCC from turning these loops back into library calls. */
#if defined(__GNUC__) && !defined(__clang__)
#define EK_NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define EK_NO_LIBCALL
#endif

static inline EK_NO_LIBCALL void ek_copy(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        __builtin_memcpy(&w, src + i, 4);   /* a single (unaligned-capable) LDR / STR */
        __builtin_memcpy(dst + i, &w, 4);
    }
    for (; i < n; i++) dst[i] = src[i];
}

static inline EK_NO_LIBCALL void ek_fill(int8_t *dst, int8_t v, int32_t n) {
    for (int32_t i = 0; i < n; i++) dst[i] = v;
}

#endif
