/* ek_dw_conv_s8: depthwise convolution (TFLM DepthwiseConvPerChannel).
 * Twin: reference.depthwise_conv2d. Output channel c*M + m reads input channel c.
 *
 * Per output pixel the kernel first builds a table of kh * kw row pointers, one per tap:
 * taps outside the input point at a row of zero points (-input_offset), which contribute
 * w * (zp + off) = 0, so with the offset folded into eff_bias = bias + off * sum(w) every
 * tap is a plain multiply-accumulate. Channels go four at a time on Cortex-M4/M7: SXTB16
 * splits a word of four channels into two int16 pairs and SMLABB/SMLATT accumulate each
 * lane into its own channel. 3x3 filters (stride 1 down the rows) take another path
 * there, dw3_image below: SMLAD over pairs of filter rows, one channel group down all
 * output rows; a narrower activation range is clamped after the fact.
 *
 * In place (output == input): allowed for stride 1, dilation 1, M = 1 and output dims ==
 * input dims (TF 'SAME'). Output row y needs input rows y - pad_top .. y - pad_top + kh - 1;
 * the ones at or above y have been overwritten by then, so the kernel saves each original
 * row into a ring of pad_top + 1 rows (scratch) just before overwriting it. This is what
 * lets a whole DS-CNN block run in one activation buffer (TinyEngine-style). */
#include "ek_nn.h"
#include "ek_fixedpoint.h"
#include "ek_copy.h"
#include "ek_dsp.h"


/* bytes of the 3x3 path's columns (cols3): in->w + 2 columns of 6 words */
static int32_t cols3_bytes(const ek_dims *in, const ek_dims *fd) {
    return fd->h == 3 && fd->w == 3 && in->c % 4 == 0 ? 24 * (in->w + 2) : 0;
}

/* the ring of saved rows (in place) or the 3x3 path's columns, whichever is larger (a
 * call uses one of them); then the zero-point row */
int32_t ek_dw_conv_s8_buffer_size(const ek_conv_params *p, const ek_dims *in,
                                  const ek_dims *fd, int in_place) {
    const int32_t ring = in_place ? (p->pad_top + 1) * in->w * in->c : 0, cols = cols3_bytes(in, fd);
    return (ring > cols ? ring : cols) + in->c;
}

static int in_place_ok(const ek_conv_params *p, const ek_dims *in, const ek_dims *out) {
    return p->stride_h == 1 && p->stride_w == 1 && p->dilation_h == 1 && p->dilation_w == 1 &&
           in->c == out->c && in->h == out->h && in->w == out->w;
}

/* the grouped filter layout (ek_nn.h) applies */
static inline int grouped(int32_t mult, int32_t cout, int32_t n_taps) {
    return mult == 1 && cout % 4 == 0 && n_taps <= EK_DW_MAX_TAPS;
}

/* one tap of channels c..c+3: x at offset c of the tap's row, w the group's 4 weights
 * for it. On Cortex-M4/M7 in assembly, so GCC's scheduling cannot spill
 * the accumulators: 11 instructions for 4 MACs. */
#if defined(__ARM_FEATURE_DSP)
#define EK_DW_TAP(row, c, wp)                                                     \
    do {                                                                         \
        int32_t xv_, xe_, wv_, we_;                                               \
        __asm("ldr %[xv], [%[p], %[c]]\n\t"                                       \
              "ldr %[wv], %[w]\n\t"                                               \
              "sxtb16 %[xe], %[xv]\n\t"                                           \
              "sxtb16 %[xv], %[xv], ror #8\n\t"                                   \
              "sxtb16 %[we], %[wv]\n\t"                                           \
              "sxtb16 %[wv], %[wv], ror #8\n\t"                                   \
              "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                             \
              "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                             \
              "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"                             \
              "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"                             \
              : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),       \
                [xv] "=&r"(xv_), [xe] "=&r"(xe_), [wv] "=&r"(wv_), [we] "=&r"(we_) \
              : [p] "r"(row), [c] "r"(c), [w] "m"(*(const int32_t *)(const void *)(wp))); \
    } while (0)
#else
#define EK_DW_TAP(row, c, wp)                                                     \
    do {                                                                         \
        const int8_t *x_ = (row) + (c), *w_ = (wp);                               \
        a0 += x_[0] * w_[0]; a1 += x_[1] * w_[1];                                 \
        a2 += x_[2] * w_[2]; a3 += x_[3] * w_[3];                                 \
    } while (0)
#endif

/* channels c..c+3 of one output pixel; wg: their group's taps, 4 bytes each (grouped
 * layout), so every weight load is one immediate offset from wg. n_taps == 9 (3x3, the
 * common case) is written out: no loop, tap pointers at constant offsets. */
static inline __attribute__((always_inline)) void
dw4(const int8_t *const *taps, const int32_t n_taps, const int8_t *wg, int32_t c,
    const int32_t *eb, int32_t acc[4]) {
    int32_t a0 = eb[0], a1 = eb[1], a2 = eb[2], a3 = eb[3];
    if (n_taps == 9) {
        EK_DW_TAP(taps[0], c, wg); EK_DW_TAP(taps[1], c, wg + 4); EK_DW_TAP(taps[2], c, wg + 8);
        EK_DW_TAP(taps[3], c, wg + 12); EK_DW_TAP(taps[4], c, wg + 16); EK_DW_TAP(taps[5], c, wg + 20);
        EK_DW_TAP(taps[6], c, wg + 24); EK_DW_TAP(taps[7], c, wg + 28); EK_DW_TAP(taps[8], c, wg + 32);
    } else {
        for (int32_t t = 0; t < n_taps; t++) EK_DW_TAP(taps[t], c, wg + 4 * t);
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* all channels of one output pixel, grouped layout, right shifts (ek_finish_r); clamp
 * is a constant at each call site */
static inline __attribute__((always_inline)) void
pixel4(const int8_t *const *taps, const int32_t n_taps, const int8_t *filter,
       const int32_t *eb, const int32_t *qm, const int8_t *qs, int32_t cout, int32_t off2p1,
       int32_t lo, int32_t hi, const int clamp, int8_t *yp) {
    for (int32_t c = 0; c < cout; c += 4, filter += 4 * n_taps) {
        int32_t acc[4];
        dw4(taps, n_taps, filter, c, eb + c, acc);
        /* written out: the accumulators stay in registers */
        yp[c] = ek_finish_r(acc[0], qm[c], ~qs[c], off2p1, lo, hi, clamp);
        yp[c + 1] = ek_finish_r(acc[1], qm[c + 1], ~qs[c + 1], off2p1, lo, hi, clamp);
        yp[c + 2] = ek_finish_r(acc[2], qm[c + 2], ~qs[c + 2], off2p1, lo, hi, clamp);
        yp[c + 3] = ek_finish_r(acc[3], qm[c + 3], ~qs[c + 3], off2p1, lo, hi, clamp);
    }
}

#if defined(__ARM_FEATURE_DSP)
/* ---- 3x3, stride 1 down the rows: SMLAD over pairs of filter rows ---------------------
 * Depthwise has no reduction over channels, but a 3x3 filter has one over its rows: for
 * each channel, taps (0, fx) and (1, fx) go into one SMLAD when the input of rows r0, r1
 * sits as an int16 pair (r0, r1) and so do the weights; row 2 goes in SMLABB / SMLATT.
 * One channel group (4 channels) at a time, down all output rows: per input column the
 * group's three rows are kept unpacked (cols3, 6 words: X0..X3 = channel k's (r0, r1),
 * Y0 = row 2's (c0, c2), Y1 = (c1, c3)), and moving one output row down only shifts them
 * by a row (dw3_roll) and unpacks the new third row. Per pixel and group, a column costs
 * one LDM, four LDRD, 4 SMLAD and 4 SMLABB / SMLATT: 13 instructions for 12 MACs (the
 * pixel pairs of the grouped path: 28.5). The group's weights, in the same form, and its
 * requantization constants are set up once per call. In place it needs no ring: a group's
 * rows above the current one only live on in its columns, and the rows it reads are below
 * every output row written. Columns 0 and in->w + 1 are padding (zero points). */
typedef struct {
    int32_t w[18];                 /* per fx: W0..W3 (channel k: taps (0,fx), (1,fx)), V0, V1 */
    int32_t b[4], m2[4], em1[4];   /* eff_bias, M << 1, -shift - 1 of the group's channels */
} dw3_group;

/* (lo of a, lo of b) and (hi of a, hi of b): int16 lanes */
static inline int32_t pk_lo(int32_t a, int32_t b) { return (int32_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16)); }
static inline int32_t pk_hi(int32_t a, int32_t b) { return (int32_t)(((uint32_t)a >> 16) | ((uint32_t)b & 0xFFFF0000u)); }

/* the 6 words of one column (or of one fx of the weights) from the three rows' words of
 * channels c..c+3 */
static inline void dw3_column(int32_t a, int32_t b, int32_t e, int32_t *col) {
    const int32_t ae = ek_sxtb16(a), ao = ek_sxtb16_ror8(a), be = ek_sxtb16(b), bo = ek_sxtb16_ror8(b);
    col[0] = pk_lo(ae, be); col[1] = pk_lo(ao, bo);
    col[2] = pk_hi(ae, be); col[3] = pk_hi(ao, bo);
    col[4] = ek_sxtb16(e); col[5] = ek_sxtb16_ror8(e);
}

/* one row down: rows (r1, r2) become (r0, r1), e (the new row 2's word) row 2 */
static inline void dw3_roll(int32_t e, int32_t *col) {
    const int32_t y0 = col[4], y1 = col[5];
    col[0] = pk_lo((int32_t)((uint32_t)col[0] >> 16), y0);
    col[1] = pk_lo((int32_t)((uint32_t)col[1] >> 16), y1);
    col[2] = pk_hi(col[2], y0);
    col[3] = pk_hi(col[3], y1);
    col[4] = ek_sxtb16(e); col[5] = ek_sxtb16_ror8(e);
}

static void dw3_setup(const int8_t *wg, const int32_t *eb, const int32_t *qm, const int8_t *qs,
                      dw3_group *g) {
    for (int32_t fx = 0; fx < 3; fx++)
        dw3_column(ek_load32(wg + 4 * fx), ek_load32(wg + 4 * (3 + fx)), ek_load32(wg + 4 * (6 + fx)),
                   g->w + 6 * fx);
    for (int32_t k = 0; k < 4; k++) {
        g->b[k] = eb[k];
        g->m2[k] = (int32_t)((uint32_t)qm[k] << 1);
        g->em1[k] = ~qs[k];
    }
}

/* one column of one pixel: X by LDM into r8-r11 (an LDM list must ascend: fixed
 * registers, clobbered), the weights by LDRD; x and w advance by the loads */
#define EK_DW3_COL                                                               \
    "ldm %[x]!, {r8, r9, r10, r11}\n\t"                                         \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                          \
    "smlad %[a0], r8, %[wa], %[a0]\n\t"                                          \
    "smlad %[a1], r9, %[wb], %[a1]\n\t"                                          \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                          \
    "smlad %[a2], r10, %[wa], %[a2]\n\t"                                         \
    "smlad %[a3], r11, %[wb], %[a3]\n\t"                                         \
    "ldrd r8, r9, [%[x]], #8\n\t"                                                \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                          \
    "smlabb %[a0], r8, %[wa], %[a0]\n\t"                                         \
    "smlatt %[a2], r8, %[wa], %[a2]\n\t"                                         \
    "smlabb %[a1], r9, %[wb], %[a1]\n\t"                                         \
    "smlatt %[a3], r9, %[wb], %[a3]\n\t"

/* channels c..c+3 of one output pixel whose first column is x, to y (no clamp) */
static inline __attribute__((always_inline)) void
dw3_pixel(const int32_t *x, const dw3_group *g, int32_t off2p1, int8_t *y) {
    int32_t a0 = g->b[0], a1 = g->b[1], a2 = g->b[2], a3 = g->b[3], wa, wb;
    const int32_t *w = g->w;
    __asm(EK_DW3_COL EK_DW3_COL EK_DW3_COL
          : [x] "+r"(x), [w] "+r"(w), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
            [a3] "+r"(a3), [wa] "=&r"(wa), [wb] "=&r"(wb)
          :
          : "r8", "r9", "r10", "r11", "memory");
    y[0] = (int8_t)ek_finish_r2(a0, g->m2[0], g->em1[0], off2p1);
    y[1] = (int8_t)ek_finish_r2(a1, g->m2[1], g->em1[1], off2p1);
    y[2] = (int8_t)ek_finish_r2(a2, g->m2[2], g->em1[2], off2p1);
    y[3] = (int8_t)ek_finish_r2(a3, g->m2[3], g->em1[3], off2p1);
}

/* 1 when the 3x3 path applies (besides the grouped layout and right shifts): stride 1
 * and no dilation down the rows, and every pixel's columns within the in->w + 2 kept */
static int dw3_ok(const ek_conv_params *p, const ek_dims *in, const ek_dims *fd, const ek_dims *out) {
    return fd->h == 3 && fd->w == 3 && p->stride_h == 1 && p->dilation_h == 1 &&
           p->dilation_w == 1 && p->pad_left <= 1 &&
           (out->w - 1) * p->stride_w - p->pad_left + 3 <= in->w + 1;
}

/* word of channels c..c+3 at input row iy (outside: the zero points zp4), column ix of
 * row pointer r = x + iy * row + c */
static inline int32_t dw3_word(const int8_t *r, int valid, int32_t zp4) { return valid ? ek_load32(r) : zp4; }

/* one image: every group down every output row (cols: in->w + 2 columns) */
static void dw3_image(const ek_conv_params *p, const ek_dims *in, const int8_t *x,
                      const int8_t *filter, const int32_t *eb, const ek_quant_params *q,
                      const ek_dims *out, int8_t *y, int32_t *cols) {
    const int32_t cin = in->c, row = in->w * cin, off2p1 = 2 * p->output_offset + 1;
    const int32_t zp4 = (int32_t)(0x01010101u * (uint8_t)(-p->input_offset));
    const int32_t step = 6 * p->stride_w;
    for (int32_t k = 0; k < 6; k++) cols[k] = cols[6 * (in->w + 1) + k] = ek_sxtb16(zp4);
    for (int32_t c = 0; c < cin; c += 4, filter += 36) {
        dw3_group g;
        dw3_setup(filter, eb + c, q->multiplier + c, q->shift + c, &g);
        for (int32_t oy = 0; oy < out->h; oy++) {
            const int32_t iy = oy - p->pad_top;   /* the first of the three input rows */
            if (oy == 0) {
                for (int32_t ix = 0; ix < in->w; ix++) {
                    const int8_t *r = x + (int64_t)iy * row + ix * cin + c;
                    dw3_column(dw3_word(r, (uint32_t)iy < (uint32_t)in->h, zp4),
                               dw3_word(r + row, (uint32_t)(iy + 1) < (uint32_t)in->h, zp4),
                               dw3_word(r + 2 * row, (uint32_t)(iy + 2) < (uint32_t)in->h, zp4),
                               cols + 6 * (ix + 1));
                }
            } else {
                const int valid = (uint32_t)(iy + 2) < (uint32_t)in->h;
                const int8_t *r = x + (int64_t)(iy + 2) * row + c;
                for (int32_t ix = 0; ix < in->w; ix++, r += cin)
                    dw3_roll(dw3_word(r, valid, zp4), cols + 6 * (ix + 1));
            }
            const int32_t *xp = cols + 6 * (1 - p->pad_left);
            int8_t *yp = y + (int64_t)oy * out->w * cin + c;
            for (int32_t ox = 0; ox < out->w; ox++, xp += step, yp += cin)
                dw3_pixel(xp, &g, off2p1, yp);
        }
    }
}
#endif

/* any layout, any shifts: channel by channel */
static void pixel_generic(const int8_t *const *taps, int32_t n_taps, const int8_t *filter,
                          const int32_t *eb, const ek_quant_params *q, const ek_conv_params *p,
                          int32_t cout, int32_t mult, int group, int8_t *yp) {
    for (int32_t oc = 0; oc < cout; oc++) {
        const int32_t ic = oc / mult;
        /* tap t's weight: [t][oc] plain, [oc / 4][t][oc % 4] grouped */
        const int8_t *w = group ? filter + (oc / 4) * 4 * n_taps + oc % 4 : filter + oc;
        const int32_t step = group ? 4 : cout;
        int32_t acc = eb[oc];
        for (int32_t t = 0; t < n_taps; t++) acc += w[t * step] * taps[t][ic];
        yp[oc] = ek_finish(acc, q->multiplier[oc], q->shift[oc], p->output_offset, p->act_min,
                           p->act_max);
    }
}

/* kernels with more than EK_DW_MAX_TAPS taps (e.g. micro_speech's 10x8): tap by tap,
 * out of place only */
static void dw_large(const ek_conv_params *p, const ek_quant_params *q, const ek_dims *in,
                     const int8_t *x, const ek_dims *fd, const int8_t *filter, const int32_t *eb,
                     const ek_dims *out, int8_t *y) {
    const int32_t cin = in->c, cout = out->c, mult = cout / cin;
    const int32_t zp = -p->input_offset;
    for (int32_t oy = 0; oy < out->h; oy++)
        for (int32_t ox = 0; ox < out->w; ox++)
            for (int32_t oc = 0; oc < cout; oc++) {
                int32_t acc = eb[oc];
                for (int32_t fy = 0; fy < fd->h; fy++) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + fy * p->dilation_h;
                    for (int32_t fx = 0; fx < fd->w; fx++) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + fx * p->dilation_w;
                        const int inside = iy >= 0 && iy < in->h && ix >= 0 && ix < in->w;
                        const int32_t v = inside ? x[((int64_t)iy * in->w + ix) * cin + oc / mult] : zp;
                        acc += filter[(fy * fd->w + fx) * cout + oc] * v;
                    }
                }
                *y++ = ek_finish(acc, q->multiplier[oc], q->shift[oc], p->output_offset,
                                 p->act_min, p->act_max);
            }
}

/* the kh input rows of output row oy (NULL: outside the input); in place, rows at or
 * above oy come from the saved originals (a ring of pad_top + 1 rows) */
static void tap_rows(const ek_conv_params *p, const ek_dims *in, const int8_t *x,
                     const int8_t *saved, int in_place, int32_t kh, int32_t oy,
                     const int8_t **rows) {
    const int32_t row = in->w * in->c, ring = p->pad_top + 1;
    for (int32_t fy = 0; fy < kh; fy++) {
        const int32_t iy = oy * p->stride_h - p->pad_top + fy * p->dilation_h;
        rows[fy] = iy < 0 || iy >= in->h ? 0
                 : (in_place && iy <= oy) ? saved + (iy % ring) * row : x + (int64_t)iy * row;
    }
}

/* the tap pointers of one output pixel whose window starts at input column x0: taps
 * outside the input read the zero-point row. The rows are worked out once per output
 * row (tap_rows), so a tap costs a column test, a select and a store. */
static inline void tap_table(const int8_t *const *rows, int32_t kh, int32_t kw, int32_t x0,
                             int32_t dil, int32_t in_w, int32_t cin, const int8_t *zp_row,
                             const int8_t **taps) {
    for (int32_t fy = 0; fy < kh; fy++) {
        const int8_t *r = rows[fy];
        for (int32_t fx = 0, ix = x0; fx < kw; fx++, ix += dil)
            *taps++ = r && (uint32_t)ix < (uint32_t)in_w ? r + ix * cin : zp_row;
    }
}

ek_status ek_dw_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                        const ek_dims *in, const int8_t *input,
                        const ek_dims *fd, const int8_t *filter, const int32_t *eb,
                        const ek_dims *out, int8_t *output) {
    const int32_t kh = fd->h, kw = fd->w, cin = in->c, cout = out->c;
    const int32_t mult = cout / cin;
    const int32_t row = in->w * cin;
    const int in_place = input == output;
    if (kh * kw > EK_DW_MAX_TAPS && !in_place && fd->c == cout && mult * cin == cout) {
        for (int32_t b = 0; b < in->n; b++)
            dw_large(p, q, in, input + (int64_t)b * in->h * row, fd, filter, eb, out,
                     output + (int64_t)b * out->h * out->w * cout);
        return EK_OK;
    }
    if (fd->c != cout || mult * cin != cout || kh * kw > EK_DW_MAX_TAPS || !ctx ||
        ctx->size < ek_dw_conv_s8_buffer_size(p, in, fd, in_place) ||
        (in_place && !in_place_ok(p, in, out)))
        return EK_ARG_ERROR;
    const int32_t ring = p->pad_top + 1;
    int8_t *saved = (int8_t *)ctx->buf;
    int8_t *zp_row = saved + ek_dw_conv_s8_buffer_size(p, in, fd, in_place) - cin;
    ek_fill(zp_row, (int8_t)(-p->input_offset), cin);
    const int8_t *taps[EK_DW_MAX_TAPS];
    /* locals: int8 stores may alias anything, so fields read through p/q would be
     * reloaded after every output byte */
    const int32_t *const qm = q->multiplier;
    const int8_t *const qs = q->shift;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t n_taps = kh * kw;
    const int group = grouped(mult, cout, n_taps);
    const int mode = ek_rq_mode(qm, qs, cout, lo, hi);
    const int32_t off2p1 = 2 * out_off + 1;
#if defined(__ARM_FEATURE_DSP)
    if (group && mode != EK_RQ_ANY && dw3_ok(p, in, fd, out)) {
        for (int32_t b = 0; b < in->n; b++)
            dw3_image(p, in, input + (int64_t)b * in->h * row, filter, eb, q, out,
                      output + (int64_t)b * out->h * out->w * cout, (int32_t *)ctx->buf);
        /* the activation range, when narrower than int8: after the fact */
        if (mode == EK_RQ_RIGHT_CLAMP) ek_clamp_s8(output, in->n * out->h * out->w * cout, lo, hi);
        return EK_OK;
    }
#endif
    for (int32_t b = 0; b < in->n; b++) {
        const int8_t *x = input + (int64_t)b * in->h * row;
        int8_t *y = output + (int64_t)b * out->h * out->w * cout;
        for (int32_t oy = 0; oy < out->h; oy++) {
            if (in_place) ek_copy(saved + (oy % ring) * row, x + (int64_t)oy * row, row);
            const int8_t *rows[EK_DW_MAX_TAPS];
            tap_rows(p, in, x, saved, in_place, kh, oy, rows);
            for (int32_t ox = 0; ox < out->w; ox++) {
                tap_table(rows, kh, kw, ox * p->stride_w - p->pad_left, p->dilation_w, in->w, cin,
                          zp_row, taps);
                int8_t *yp = y + ((int64_t)oy * out->w + ox) * cout;
                if (!group || mode == EK_RQ_ANY)
                    pixel_generic(taps, n_taps, filter, eb, q, p, cout, mult, group, yp);
#if !defined(__ARM_FEATURE_DSP)   /* there the 3x3 filters mostly take dw3_image */
                else if (n_taps == 9 && mode == EK_RQ_RIGHT)   /* 3x3: taps unrolled */
                    pixel4(taps, 9, filter, eb, qm, qs, cout, off2p1, lo, hi, 0, yp);
                else if (n_taps == 9)
                    pixel4(taps, 9, filter, eb, qm, qs, cout, off2p1, lo, hi, 1, yp);
#endif
                else
                    pixel4(taps, n_taps, filter, eb, qm, qs, cout, off2p1, lo, hi, 1, yp);
            }
        }
    }
    return EK_OK;
}
