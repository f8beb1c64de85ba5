"""Fixed-point primitives against straightforward scalar transcriptions of the C code."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgekit.quant import arith

I32 = st.integers(-(1 << 31), (1 << 31) - 1)


def c_srdhm(a: int, b: int) -> int:
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _trunc_div(ab + nudge, 1 << 31)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return -q if a < 0 else q


def c_rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


@settings(max_examples=400, deadline=None)
@given(I32, I32)
def test_srdhm_matches_c(a, b):
    assert int(arith.srdhm(a, b)) == c_srdhm(a, b)


def test_srdhm_saturates():
    assert int(arith.srdhm(-(1 << 31), -(1 << 31))) == (1 << 31) - 1


@settings(max_examples=400, deadline=None)
@given(I32, st.integers(0, 31))
def test_rounding_divide_by_pot_matches_c(x, e):
    assert int(arith.rounding_divide_by_pot(x, e)) == c_rdbpot(x, e)


@settings(max_examples=300, deadline=None)
@given(st.floats(1e-9, 1e3, allow_nan=False))
def test_quantize_multiplier_represents_real(real):
    q, shift = arith.quantize_multiplier(real)
    assert (1 << 30) <= q < (1 << 31)
    assert math.isclose(q * 2.0 ** (shift - 31), real, rel_tol=2 ** -30)


def test_quantize_multiplier_rounds_up_to_next_power():
    q, shift = arith.quantize_multiplier(1.0 - 2 ** -40)   # rounds to 2^31: halves, shift+1
    assert (q, shift) == (1 << 30, 1)
    assert arith.quantize_multiplier(0.0) == (0, 0)
    assert arith.quantize_multiplier(2.0 ** -40) == (0, 0)  # shift < -31 -> zero


@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 24), 1 << 24), st.floats(1e-6, 0.99), )
def test_double_and_single_rounding_agree_within_one(x, real):
    m, s = arith.quantize_multiplier(real)
    d = int(arith.mbqm(x, m, s, "double"))
    si = int(arith.mbqm(x, m, s, "single"))
    assert abs(d - si) <= 1
    assert abs(d - x * real) <= 1.0 + abs(x * real) * 2 ** -29


def test_single_rounding_differs_sometimes():
    """The two modes are not the same function: a 1-LSB difference must show up."""
    rng = np.random.default_rng(0)
    x = rng.integers(-(1 << 20), 1 << 20, 20000)
    m, s = arith.quantize_multiplier(0.0123)
    diff = arith.mbqm(x, m, s, "double") != arith.mbqm(x, m, s, "single")
    assert 0 < diff.mean() < 0.05


def test_exp_on_negative_values_tracks_exp():
    x = -np.linspace(0, 31.9, 4000)
    raw = np.round(x * (1 << 26)).astype(np.int64)
    got = arith.exp_on_negative_values(raw, 5) / 2.0 ** 31
    assert np.abs(got - np.exp(x)).max() < 2e-8 * 1000


def test_reciprocal_tracks_one_over_x():
    x = np.arange(1, 5000, 7, dtype=np.int64) << 12      # Q12.19 sums, like softmax
    recip, bits = arith.get_reciprocal(x, 12)
    approx = recip / 2.0 ** 31 * 2.0 ** (-bits)  # x = (1+f) 2^bits in Q12.19 units
    exact = 2.0 ** 19 / x
    assert np.allclose(approx, exact, rtol=1e-8)


def test_count_leading_zeros():
    vals = np.array([0, 1, 2, 3, (1 << 31) - 1, 1 << 30, -1, -(1 << 31)], np.int64)
    expect = [32, 31, 30, 30, 1, 1, 0, 0]
    assert arith.count_leading_zeros32(vals).tolist() == expect


def test_activation_range_rounds_half_away():
    # 6 / 0.5 = 12 exactly, relu6 upper bound = zp + 12
    assert arith.activation_range("relu6", 0.5, -10) == (-10, 2)
    assert arith.activation_range("relu", 0.1, -128) == (-128, 127)
    assert arith.activation_range("none", 0.1, 5) == (-128, 127)
