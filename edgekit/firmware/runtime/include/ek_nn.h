/*
 * edgekit int8 runtime: CMSIS-NN-style kernels, bit-exact with TFLite Micro's reference
 * kernels (double rounding by default; define EK_SINGLE_ROUNDING for the single-rounding
 * variant, matching TFLITE_SINGLE_ROUNDING builds).
 *
 * Conventions, shared by every kernel:
 * - activations are int8 NHWC; dims {n, h, w, c};
 * - offsets follow TFLM's call into CMSIS-NN: input_offset = -input_zero_point,
 *   output_offset = +output_zero_point;
 * - requantization per output channel: multiplier in [2^30, 2^31) (or 0), shift in
 *   [-31, 30], as QuantizeMultiplier produces; results are clamped to [act_min, act_max];
 * - scratch memory comes from the caller (ek_ctx); each kernel that needs it has a
 *   *_buffer_size() sibling; kernels never allocate, print or exit;
 * - every kernel returns EK_OK, or EK_ARG_ERROR for arguments it cannot handle.
 * Every kernel has a NumPy twin in edgekit/quant/reference.py.
 */
#ifndef EK_NN_H
#define EK_NN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { EK_OK = 0, EK_ARG_ERROR = -1 } ek_status;

typedef struct { int32_t n, h, w, c; } ek_dims;

typedef struct {
    void *buf;          /* scratch, at least *_buffer_size() bytes, 4-byte aligned */
    int32_t size;
} ek_ctx;

typedef struct {
    int32_t input_offset;   /* -input_zero_point, in [-127, 128] */
    int32_t output_offset;  /* +output_zero_point, in [-128, 127] */
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;   /* bottom/right padding follows from the output dims */
    int32_t act_min, act_max;
} ek_conv_params;

typedef struct {
    const int32_t *multiplier;  /* one per output channel */
    const int8_t *shift;        /* [-31, 30]: one byte each in flash, not four */
} ek_quant_params;

/* Requantize an int32 accumulator: MultiplyByQuantizedMultiplier. */
int32_t ek_requantize(int32_t acc, int32_t multiplier, int32_t shift);

/* General 2-D convolution. filter [cout, kh, kw, cin]; eff_bias[c] must be
 * bias[c] + input_offset * sum_k filter[c][k] (offset folded in ahead of time; window
 * positions outside the input read the zero point). Filter layout: with k = kh * kw * cin,
 * if k % 4 == 0, output channels in pairs with their rows interleaved in 8-byte blocks,
 * byte [p][i][r][j] = filter[2p + r][4i + j], and an odd last channel as a plain row after
 * them; otherwise plain [cout][k]. Scratch: ek_conv_s8_buffer_size() = 6 * k bytes (two
 * im2col columns and their int16 form). input and output must not overlap. */
ek_status ek_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                     const ek_dims *in_dims, const int8_t *input,
                     const ek_dims *filter_dims, const int8_t *filter, const int32_t *eff_bias,
                     const ek_dims *out_dims, int8_t *output);
int32_t ek_conv_s8_buffer_size(const ek_dims *filter_dims);

/* 1x1 convolution, stride 1, no padding. Runs in place (output == input) when
 * cout <= cin; scratch: ek_conv_1x1_s8_buffer_size() = 4 * cin + cout bytes. eff_bias[c]
 * must be bias[c] + input_offset * sum_k filter[c][k] (the input offset folded in ahead
 * of time; p->input_offset is not read). Filter layout: ek_conv_s8's, with k = cin. The
 * fast blocks of both kernels read a 4-byte aligned filter (EK_ALIGN in generated code);
 * an unaligned one takes the slow path. */
ek_status ek_conv_1x1_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                         const ek_dims *in_dims, const int8_t *input,
                         const int8_t *filter, const int32_t *eff_bias,
                         const ek_dims *out_dims, int8_t *output);
int32_t ek_conv_1x1_s8_buffer_size(const ek_dims *in_dims, const ek_dims *out_dims);

/* Codebook weights (edgekit compress): at most 16 distinct int8 values per layer, read
 * from flash as bit-packed indices (1-4 bits) and a table of 2^bits int8 codes; the
 * results are those of the same kernel on the decoded int8 filter. Layouts: edgekit/
 * compress/codebook.py. index: streams per channel pair (conv) / group of 4 channels
 * (depthwise) / row (FC), each starting on a byte boundary, plus 3 bytes of padding. Each
 * call expands the codes into a decode table in its scratch, and decodes each block of
 * weights once into scratch, reused by many output pixels. units (4 bits only, optional,
 * NULL otherwise): the 256-word one-lookup table of 4-bit units in flash, entry (a | c << 4)
 * = code[a] in the low int16, code[c] in the high one (Codebook.units); the conv kernels
 * then decode a unit with one lookup instead of two (what 1-3 bit tables give from
 * scratch; in RAM this one would take 1 KB). The code generator emits it when a layer's
 * weights are decoded more than once a call (more output pixels than EK_CB_TILE). */
typedef struct {
    const uint8_t *index;
    const int8_t *codes;
    int32_t bits;
    const int32_t *units;
} ek_codebook;

/* Output pixels per tile of the codebook convolutions: each channel pair's weights are
 * decoded once per tile. edgekit's code generator reads this line
 * (edgekit/runtime_limits.py). Even. */
#define EK_CB_TILE 8

/* Scratch of the codebook kernels starts with the decode table of the layer's codes:
 * 4 * 4^bits bytes for 1-3 bits, 64 for 4 (ek_cb_decode.h). */

/* ek_conv_s8 with codebook weights; k = kh * kw * cin must be a multiple of 4; any
 * shifts. Scratch: ek_conv_cb_s8_buffer_size() = the table + (2 * t + 4) * k bytes, t =
 * EK_CB_TILE: a tile of t im2col columns as int16, one
 * channel pair's decoded weights.
 * Twin: reference.conv2d on the decoded weights (ek_conv_cb_s8.c). */
ek_status ek_conv_cb_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                        const ek_dims *in_dims, const int8_t *input,
                        const ek_dims *filter_dims, const ek_codebook *filter,
                        const int32_t *eff_bias, const ek_dims *out_dims, int8_t *output);
int32_t ek_conv_cb_s8_buffer_size(const ek_dims *filter_dims, int32_t bits);

/* ek_conv_1x1_s8 with codebook weights; cin must be a multiple of 4; any shifts; in place
 * when cout <= cin. Scratch: ek_conv_1x1_cb_s8_buffer_size() = the table + (2 * t + 4) *
 * cin bytes, t = EK_CB_TILE, or the pixel count rounded up
 * to even when smaller: a tile of t pixels as int16, one channel pair's decoded weights.
 * Twin: reference.conv2d with a 1x1 filter, on the decoded weights (ek_conv_1x1_cb_s8.c). */
ek_status ek_conv_1x1_cb_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                            const ek_dims *in_dims, const int8_t *input,
                            const ek_codebook *filter, const int32_t *eff_bias,
                            const ek_dims *out_dims, int8_t *output);
int32_t ek_conv_1x1_cb_s8_buffer_size(const ek_dims *in_dims, const ek_dims *out_dims,
                                      int32_t bits);

/* Most taps (kh * kw) of a depthwise filter in the grouped layout, in place and in the
 * codebook kernel (the kernel keeps a pointer per tap on its stack). edgekit's code
 * generator reads this line (edgekit/runtime_limits.py): it is defined nowhere else. */
#define EK_DW_MAX_TAPS 25

/* Depthwise convolution. filter [1, kh, kw, cout], cout = cin * depth_multiplier;
 * eff_bias[c] = bias[c] + input_offset * sum over taps of filter[.][c]. Filter layout:
 * with depth multiplier 1, cout % 4 == 0 and kh * kw <= EK_DW_MAX_TAPS, grouped by 4
 * channels, byte [g][t][k] = filter[t][4g + k] (t = tap fy * kw + fx); otherwise plain [kh][kw][cout].
 * More than EK_DW_MAX_TAPS taps: out of place only.
 * Runs in place (output == input) when stride 1, dilation 1, multiplier 1 and the output
 * has the input's dims: it keeps the pad_top + 1 most recent original input rows in
 * scratch (a 3x3 filter on Cortex-M4/M7, stride 1 down the rows: its own unpacked columns,
 * 24 * (in w + 2) bytes, instead). Scratch: ek_dw_conv_s8_buffer_size() = the ring (if in
 * place) or, for a 3x3 filter with channels in fours, those columns, whichever is larger,
 * + one zero-point row. */
ek_status ek_dw_conv_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                        const ek_dims *in_dims, const int8_t *input,
                        const ek_dims *filter_dims, const int8_t *filter, const int32_t *eff_bias,
                        const ek_dims *out_dims, int8_t *output);
int32_t ek_dw_conv_s8_buffer_size(const ek_conv_params *p, const ek_dims *in_dims,
                                  const ek_dims *filter_dims, int in_place);

/* ek_dw_conv_s8 with codebook weights: depth multiplier 1, cout % 4 == 0, <= EK_DW_MAX_TAPS
 * taps; the same in-place rule. Scratch: ek_dw_conv_cb_s8_buffer_size() = the int8
 * kernel's or the table, whichever is larger (the table is done with before the int8
 * kernel starts), rounded up to 4, + kh * kw * cout bytes (the filter, decoded once).
 * Twin: reference.depthwise_conv2d on the decoded weights (ek_dw_conv_cb_s8.c). */
ek_status ek_dw_conv_cb_s8(const ek_conv_params *p, const ek_quant_params *q, const ek_ctx *ctx,
                           const ek_dims *in_dims, const int8_t *input,
                           const ek_dims *filter_dims, const ek_codebook *filter,
                           const int32_t *eff_bias, const ek_dims *out_dims, int8_t *output);
int32_t ek_dw_conv_cb_s8_buffer_size(const ek_conv_params *p, const ek_dims *in_dims,
                                     const ek_dims *filter_dims, int in_place, int32_t bits);

/* Fully connected: rows = in_elems / filter_cols; filter [cout, cols]; per-tensor or
 * per-channel quantization (q->multiplier has cout entries either way). */
ek_status ek_fully_connected_s8(int32_t input_offset, int32_t output_offset,
                                int32_t act_min, int32_t act_max, const ek_quant_params *q,
                                int32_t rows, int32_t cols, const int8_t *input,
                                int32_t cout, const int8_t *filter, const int32_t *bias,
                                int8_t *output);

/* Average / max pooling; padding elements are excluded from the average. */
ek_status ek_avgpool_s8(const ek_conv_params *p, int32_t kh, int32_t kw,
                        const ek_dims *in_dims, const int8_t *input,
                        const ek_dims *out_dims, int8_t *output);
ek_status ek_maxpool_s8(const ek_conv_params *p, int32_t kh, int32_t kw,
                        const ek_dims *in_dims, const int8_t *input,
                        const ek_dims *out_dims, int8_t *output);

/* Element-wise add of two int8 tensors with different scales (TFLM ADD, 20-bit shift). */
typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t left_shift, act_min, act_max;
} ek_add_params;
ek_status ek_add_s8(const ek_add_params *p, const int8_t *a, const int8_t *b,
                    int8_t *output, int32_t size);

/* int8 softmax over rows of `cols` (output scale 1/256, zero point -128). */
ek_status ek_softmax_s8(const int8_t *input, int32_t rows, int32_t cols,
                        int32_t multiplier, int32_t left_shift, int32_t diff_min,
                        int8_t *output);

/* Zero-point padding of an NHWC tensor in H and W. */
ek_status ek_pad_s8(const ek_dims *in_dims, const int8_t *input, int32_t pad_top,
                    int32_t pad_left, int8_t pad_value, const ek_dims *out_dims, int8_t *output);

#ifdef __cplusplus
}
#endif
#endif /* EK_NN_H */
