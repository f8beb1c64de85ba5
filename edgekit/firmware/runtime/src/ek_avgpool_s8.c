/* ek_avgpool_s8: average pooling (TFLM AveragePool int8). Twin: reference.average_pool.
 * The divisor counts only window elements inside the input; the quotient rounds half away
 * from zero: sum > 0 ? (sum + n/2) / n : (sum - n/2) / n. Input and output share
 * quantization, so there is no requantization. */
#include "ek_dsp.h"
#include "ek_fixedpoint.h"
#include "ek_window.h"
#include "ek_nn.h"

/* the sums over window w of channels ch..ch+3 (x: the batch item, row: in_w * c bytes).
 * On Cortex-M4/M7, when |sum| fits an int16 (n <= 256: |sum| <= 128 n), a word of four
 * channels goes into two int16-pair sums by two SXTAB16: 3 instructions per 4 values. */
static inline void sums4(const int8_t *x, const ek_window *w, int32_t row, int32_t c, int32_t n,
                         int32_t s[4]) {
#if defined(__ARM_FEATURE_DSP)
    if (n <= 256) {
        int32_t e = 0, o = 0;
        for (int32_t iy = w->ys; iy < w->ye; iy++) {
            const int8_t *px = x + (int64_t)iy * row + w->xs * c;
            for (int32_t ix = w->xs; ix < w->xe; ix++, px += c) {
                const int32_t v = ek_load32(px);
                e = ek_sxtab16(e, v);
                o = ek_sxtab16_ror8(o, v);
            }
        }
        s[0] = (int16_t)e; s[1] = (int16_t)o; s[2] = e >> 16; s[3] = o >> 16;
        return;
    }
#else
    (void)n;
#endif
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int32_t iy = w->ys; iy < w->ye; iy++) {
        const int8_t *px = x + (int64_t)iy * row + w->xs * c;
        for (int32_t ix = w->xs; ix < w->xe; ix++, px += c) {
            s0 += px[0]; s1 += px[1]; s2 += px[2]; s3 += px[3];
        }
    }
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
}

/* the rounded average, clamped */
static inline int8_t average(int32_t sum, int32_t n, int32_t lo, int32_t hi) {
    sum = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
    return (int8_t)EK_CLAMP(sum, lo, hi);
}

ek_status ek_avgpool_s8(const ek_conv_params *p, int32_t kh, int32_t kw,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *out, int8_t *output) {
    const int32_t c = in->c, row = in->w * c, lo = p->act_min, hi = p->act_max;
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * row;
        for (int32_t oy = 0; oy < out->h; oy++) {
            for (int32_t ox = 0; ox < out->w; ox++) {
                const ek_window win = ek_pool_window(p, in, kh, kw, oy, ox);
                const int32_t n = (win.ye - win.ys) * (win.xe - win.xs);
                if (n <= 0) return EK_ARG_ERROR;
                int32_t ch = 0;
                for (; ch + 4 <= c; ch += 4) {   /* four channels per pass over the window */
                    int32_t s[4];
                    sums4(x + ch, &win, row, c, n, s);
                    for (int j = 0; j < 4; j++) *output++ = average(s[j], n, lo, hi);
                }
                for (; ch < c; ch++) {
                    int32_t sum = 0;
                    for (int32_t iy = win.ys; iy < win.ye; iy++) {
                        const int8_t *px = x + (int64_t)iy * row + win.xs * c + ch;
                        for (int32_t ix = win.xs; ix < win.xe; ix++, px += c) sum += *px;
                    }
                    *output++ = average(sum, n, lo, hi);
                }
            }
        }
    }
    return EK_OK;
}
