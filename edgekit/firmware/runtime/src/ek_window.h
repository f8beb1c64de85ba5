/* Pooling geometry: the part of a window inside the input. */
#ifndef EK_WINDOW_H
#define EK_WINDOW_H

#include <stdint.h>
#include "ek_fixedpoint.h"
#include "ek_nn.h"

/* The part of a pooling window inside the input: rows [ys, ye), columns [xs, xe). */
typedef struct { int32_t ys, ye, xs, xe; } ek_window;

static inline ek_window ek_pool_window(const ek_conv_params *p, const ek_dims *in, int32_t kh,
                                       int32_t kw, int32_t oy, int32_t ox) {
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    ek_window w = {EK_MAX(y0, 0), EK_MIN(y0 + kh, in->h), EK_MAX(x0, 0), EK_MIN(x0 + kw, in->w)};
    return w;
}

#endif
