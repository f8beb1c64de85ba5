"""TFLite / gemmlowp fixed-point arithmetic in NumPy, element-wise and exact.

Every function mirrors a C routine the kernels use (TFLite's quantization_util.cc and
common.h, gemmlowp's fixedpoint.h). Values are carried as int64 arrays holding int32
quantities, and C's wrap-around / truncating-division semantics are reproduced where
they matter. The C runtime implements the same functions; these are their twins.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real = q * 2^(shift - 31) with q in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    mant, shift = math.frexp(real)
    q = int(math.floor(abs(mant) * (1 << 31) + 0.5)) * (1 if mant > 0 else -1)  # std::round
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in np.atleast_1d(reals)]
    return (np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64))


def wrap32(x):
    """Two's-complement wrap of int64 values to int32 (C's signed overflow on the target)."""
    x = np.asarray(x, np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _c_div(a, b):
    """C integer division (truncates toward zero) for int64 arrays."""
    a = np.asarray(a, np.int64)
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul(int32 a, int32 b)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b  # |a*b| <= 2^62: fits int64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    res = _c_div(ab + nudge, 1 << 31)
    return np.where(overflow, INT32_MAX, res)


def rounding_divide_by_pot(x, exponent):
    """RoundingDivideByPOT: x / 2^exponent rounded half away from zero."""
    x = np.asarray(x, np.int64)
    exponent = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def mbqm(x, multiplier, shift, rounding: str = "double"):
    """MultiplyByQuantizedMultiplier(int32 x, int32 M, int shift).

    rounding="double" is TFLite's default (SRDHM then a rounding shift); "single" is
    TFLITE_SINGLE_ROUNDING / CMSIS_NN_USE_SINGLE_ROUNDING (one 64-bit rounding shift).
    """
    x = np.asarray(x, np.int64)
    multiplier = np.asarray(multiplier, np.int64)
    shift = np.asarray(shift, np.int64)
    if rounding == "single":
        total = 31 - shift
        return (x * multiplier + (np.int64(1) << (total - 1))) >> total
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(srdhm(wrap32(x << left), multiplier), right)


def round_half_away(x):
    """std::round on floats: half away from zero (NumPy's round is half-to-even)."""
    x = np.asarray(x, np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def activation_range(act: str, scale: float, zero_point: int, qmin=-128, qmax=127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for a fused activation."""
    def q(v):
        return int(zero_point + round_half_away(np.float32(v) / np.float32(scale)))
    if act == "relu":
        return max(qmin, q(0.0)), qmax
    if act == "relu6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == "relu_n1_to_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax


# --- gemmlowp fixed point, for the int8 softmax -------------------------------------

def _sat_mul_pot(x, exponent: int):
    """SaturatingRoundingMultiplyByPOT<exponent> on int32 raw values."""
    x = np.asarray(x, np.int64)
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def _exp_quarter(a):
    """exp(x) for x in [-1/4, 0): raw Q0.31 in, raw Q0.31 out (Taylor around -1/8)."""
    constant_term = 1895147668            # exp(-1/8)
    one_third = 715827883                 # 1/3
    x = wrap32(a + (1 << 28))             # a + 1/8
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = _sat_mul_pot(x4, -2)
    poly = _sat_mul_pot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), -1)
    return wrap32(constant_term + srdhm(constant_term, wrap32(x + poly)))


# exp(-2^k) in Q0.31 for k = -2..4, applied for each set bit of the remainder
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a, integer_bits: int = 5):
    """gemmlowp exp_on_negative_values: a is raw Q(integer_bits).(31-integer_bits), a <= 0."""
    a = np.asarray(a, np.int64)
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    a_mod = wrap32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_quarter(_sat_mul_pot(a_mod, integer_bits))
    remainder = wrap32(a_mod - a)
    for exponent, mult in _EXP_BARREL:
        if integer_bits > exponent:
            bit = 1 << (frac_bits + exponent)
            result = np.where(remainder & bit, srdhm(result, mult), result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a):
    """gemmlowp: 1 / (1 + x) for raw Q0.31 x in [0, 1), via Newton-Raphson in Q2.29."""
    a = np.asarray(a, np.int64)
    s = a + INT32_MAX                      # RoundingHalfSum(a, One)
    half_den = _c_div(s + np.where(s >= 0, 1, -1), 2)
    x = wrap32(1515870810 + srdhm(half_den, -1010580540))  # 48/17 - 32/17 * d
    one_q2 = 1 << 29
    for _ in range(3):
        hdx = srdhm(half_den, x)
        one_minus = wrap32(one_q2 - hdx)
        x = wrap32(x + _sat_mul_pot(srdhm(x, one_minus), 2))
    return _sat_mul_pot(x, 1)


def count_leading_zeros32(x) -> np.ndarray:
    """Leading zero bits of x viewed as uint32 (32 for x == 0), by binary search."""
    v = np.asarray(x, np.int64) & 0xFFFFFFFF
    n = np.zeros(v.shape, np.int64)
    for s in (16, 8, 4, 2, 1):
        small = v < (np.int64(1) << (32 - s))
        n = n + np.where(small, s, 0)
        v = np.where(small, v << s, v)
    return np.where(np.asarray(x, np.int64) & 0xFFFFFFFF, n, 32)


def get_reciprocal(x, integer_digits: int):
    """TFLite GetReciprocal: returns (raw Q0.31 of 1/x scaled, num_bits_over_unit)."""
    x = np.asarray(x, np.int64)
    headroom_plus_one = count_leading_zeros32(x)
    num_bits_over_unit = integer_digits - headroom_plus_one
    shifted_minus_one = wrap32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one), num_bits_over_unit


def softmax_params(beta: float, input_scale: float, integer_bits: int = 5) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius: (multiplier, left_shift, diff_min)."""
    real = min(float(beta) * float(input_scale) * (1 << (31 - integer_bits)), (1 << 31) - 1.0)
    mult, shift = quantize_multiplier(real)
    radius = math.floor(((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << shift))
    return mult, shift, -radius
