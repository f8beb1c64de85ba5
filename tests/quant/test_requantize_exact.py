"""TFLite's requantization, both rounding modes, from its definition in exact rational
arithmetic, against edgekit's NumPy (arith.mbqm) and C (ek_requantize) implementations.

MultiplyByQuantizedMultiplier(x, M, shift) stands for x * M * 2^(shift - 31), with M a
non-negative int32 (QuantizeMultiplier gives M in [2^30, 2^31)) and shift in [-31, 30].

* single rounding (TFLITE_SINGLE_ROUNDING; C: -DEK_SINGLE_ROUNDING): the exact product
  is rounded once, to the nearest integer with ties toward +infinity.
* double rounding (TFLite's default): x is first multiplied by 2^max(shift, 0);
  SaturatingRoundingDoublingHighMul rounds x' * M / 2^31 to the nearest integer with ties
  toward +infinity (gemmlowp's nudge: +2^30 for a non-negative product, 1 - 2^30 for a
  negative one, then a division truncating toward zero); RoundingDivideByPOT then divides
  by 2^max(-shift, 0) rounding ties away from zero.

The rational versions below are written from those statements (Fraction, floor), not from
the shift-and-add code. Triples are drawn only inside TFLite's domain: M >= 0,
-31 <= shift <= 30, the result fits int32 (single: TFLite checks it), and for double
rounding x * 2^max(shift, 0) fits int32 (TFLite multiplies in int32; overflow is
undefined there).

The last tests run whole generated models built with -DEK_SINGLE_ROUNDING against
run_int8(rounding="single"). They found that the kernels' fast requantization tail
(ek_finish_r, shifts <= -2: conv, 1x1 conv, grouped depthwise) rounded twice even with
-DEK_SINGLE_ROUNDING; ek_right_shifts now keeps single-rounding builds off it.
"""
from __future__ import annotations

import math
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.quant import arith
from edgekit.quant.reference import run_int8
from edgekit.resources import RUNTIME
from edgekit.toolchain.cbuild import build, run_batch
from edgekit.verify import first_mismatch

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
HALF = Fraction(1, 2)
C_CHECK = Path(__file__).resolve().parent.parent / "codegen" / "c" / "requantize_check.c"


# ---- the definitions, in exact arithmetic ----------------------------------------------

def nearest_ties_up(v: Fraction) -> int:
    """The integer nearest to v; a tie (fractional part exactly 1/2) goes to +infinity."""
    q = math.floor(v)
    return q + (1 if v - q >= HALF else 0)


def nearest_ties_away(v: Fraction) -> int:
    """The integer nearest to v; a tie goes away from zero."""
    q = math.floor(abs(v))
    r = q + (1 if abs(v) - q >= HALF else 0)
    return r if v >= 0 else -r


def single_exact(x: int, m: int, shift: int) -> int:
    return nearest_ties_up(Fraction(x * m) * Fraction(2) ** (shift - 31))


def double_exact(x: int, m: int, shift: int) -> int:
    xl = x * 2 ** max(shift, 0)
    if xl == m == I32_MIN:                       # SRDHM's one saturating case (M < 0: never)
        high = I32_MAX
    else:
        high = nearest_ties_up(Fraction(xl * m, 2 ** 31))
    return nearest_ties_away(Fraction(high, 2 ** max(-shift, 0)))


def in_domain(x: int, m: int, shift: int, rounding: str) -> bool:
    if not (0 <= m <= I32_MAX and -31 <= shift <= 30 and I32_MIN <= x <= I32_MAX):
        return False
    if rounding == "double" and not I32_MIN <= x * 2 ** max(shift, 0) <= I32_MAX:
        return False
    exact = single_exact if rounding == "single" else double_exact
    return I32_MIN <= exact(x, m, shift) <= I32_MAX


# ---- the triples -----------------------------------------------------------------------

def _edge_triples() -> list[tuple[int, int, int]]:
    """Extremes, exact halves at both rounding steps, every shift."""
    xs = [0, 1, -1, 2, -2, 3, -3, 5, -5, 6, -6, 7, -7, I32_MAX, I32_MIN, I32_MIN + 1, I32_MAX - 1,
          *(s * (1 << k) + d for k in (8, 15, 16, 20, 24, 29, 30) for s in (1, -1) for d in (-1, 0, 1))]
    ms = [0, 1, 2, 3, 1 << 29, 1 << 30, (1 << 30) + 1, I32_MAX - 1, I32_MAX, 1518500250, 1073741825]
    out = [(x, m, s) for x in xs for m in ms for s in (-31, -30, -20, -16, -8, -2, -1, 0, 1, 2, 8, 20, 30)]
    # exact ties: with M = 2^30, x * M * 2^(s-31) = x * 2^(s-1); x odd * 2^j gives halves
    for s in range(-31, 31):
        for j in range(0, 31):
            for sign in (1, -1):
                for odd in (1, 3, 5, 12345):
                    x = sign * odd * (1 << j)
                    if I32_MIN <= x <= I32_MAX:
                        out.append((x, 1 << 30, s))
    return out


def _random_triples(rng, n: int) -> list[tuple[int, int, int]]:
    x = rng.integers(I32_MIN, I32_MAX, n, dtype=np.int64, endpoint=True)
    x[: n // 2] = rng.integers(-(1 << 21), 1 << 21, n // 2)          # typical accumulators
    q = slice(n // 2, 3 * n // 4)
    x[q] >>= rng.integers(0, 31, q.stop - q.start)                 # every magnitude
    m, s = arith.quantize_multipliers(np.exp(rng.uniform(math.log(2.0 ** -32), math.log(2.0 ** 31), n)))
    raw = rng.integers(0, 1 << 31, n)                               # any non-negative multiplier
    pick = rng.random(n) < 0.2
    m = np.where(pick, raw, m)
    s = np.where(pick, rng.integers(-31, 31, n), s)
    return [(int(a), int(b), int(c)) for a, b, c in zip(x, m, s)]


def _tie_triples(rng, n: int) -> list[tuple[int, int, int]]:
    """x * M * 2^(shift - 31) exactly k + 1/2: with t = 31 - shift and M = odd * 2^a, solve
    x * odd = 2^(u - 1) (mod 2^u), u = t - a, then add a random multiple of 2^u."""
    out = []
    for _ in range(n):
        shift = int(rng.integers(-31, 31))
        t = 31 - shift
        a = int(rng.integers(max(0, t - 32), min(30, t - 1) + 1))
        u = t - a                                     # 1 .. 32
        odd = int(rng.integers(0, 1 << (30 - a))) * 2 + 1 if a < 30 else 1
        x0 = ((1 << (u - 1)) * pow(odd, -1, 1 << u)) % (1 << u)
        reach = 1 << max(31 - u, 0)
        x = x0 + (1 << u) * int(rng.integers(-reach, reach))   # out-of-int32 ones are dropped
        out.append((x, odd << a, shift))
    return out


def _cases(rounding: str) -> np.ndarray:
    rng = np.random.default_rng(2024 if rounding == "single" else 2025)
    ts = [t for t in _edge_triples() + _tie_triples(rng, 5000) + _random_triples(rng, 60_000)
          if in_domain(*t, rounding)]
    return np.array(ts, np.int64)


@pytest.fixture(scope="module", params=["single", "double"])
def mode(request):
    """(rounding, triples [n, 3], exact results) for one rounding mode."""
    rounding = request.param
    t = _cases(rounding)
    exact = single_exact if rounding == "single" else double_exact
    want = np.array([exact(int(x), int(m), int(s)) for x, m, s in t], np.int64)
    return rounding, t, want


def _first_bad(t, want, got, what) -> str:
    bad = np.flatnonzero(np.asarray(got, np.int64) != want)
    if not bad.size:
        return ""
    i = bad[0]
    return (f"{what}: {bad.size} of {len(want)} triples differ; first x={t[i, 0]} M={t[i, 1]} "
            f"shift={t[i, 2]}: exact {want[i]}, got {got[i]}")


# ---- tests -----------------------------------------------------------------------------

def test_cases_cover_ties_and_both_signs(mode):
    """The triples are not vacuous: many land exactly on a half at the final rounding,
    with both signs, and shifts span the whole range."""
    rounding, t, _ = mode
    x, m, s = (t[:, i].astype(object) for i in range(3))
    if rounding == "single":
        ties = [Fraction(int(a * b), 2 ** (31 - int(c))).denominator == 2 for a, b, c in zip(x, m, s)]
    else:
        ties = [Fraction(nearest_ties_up(Fraction(int(a) * 2 ** max(int(c), 0) * int(b), 2 ** 31)),
                         2 ** max(-int(c), 0)).denominator == 2 for a, b, c in zip(x, m, s)]
    ties = np.array(ties)
    assert ties.sum() > 1000 and (ties & (t[:, 0] < 0)).sum() > 300, ties.sum()
    assert t[:, 2].min() == -31 and t[:, 2].max() == 30
    assert len(t) > 50_000


def test_numpy_mbqm_matches_exact(mode):
    rounding, t, want = mode
    got = arith.mbqm(t[:, 0], t[:, 1], t[:, 2], rounding)
    msg = _first_bad(t, want, got, f"arith.mbqm(rounding={rounding!r})")
    assert not msg, msg


def test_c_requantize_matches_exact(mode, tmp_path):
    rounding, t, want = mode
    exe = tmp_path / "rq"
    flags = ["-DEK_SINGLE_ROUNDING"] if rounding == "single" else []
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-O2", *flags, f"-I{RUNTIME / 'include'}",
                    f"-I{RUNTIME / 'src'}", str(C_CHECK), str(RUNTIME / "src" / "ek_requantize.c"),
                    "-o", str(exe)], check=True)
    t.astype(np.int32).tofile(tmp_path / "in.bin")
    subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    got = np.fromfile(tmp_path / "out.bin", np.int32)
    msg = _first_bad(t, want, got, f"C ek_requantize ({rounding} rounding)")
    assert not msg, msg


@settings(max_examples=600, deadline=None)
@given(st.integers(I32_MIN, I32_MAX), st.integers(0, I32_MAX), st.integers(-31, 30),
       st.sampled_from(["single", "double"]))
def test_numpy_mbqm_matches_exact_hypothesis(x, m, shift, rounding):
    """Hypothesis' own search for a counterexample (it favours extremes and boundaries)."""
    if not in_domain(x, m, shift, rounding):
        return
    exact = single_exact if rounding == "single" else double_exact
    assert int(arith.mbqm(x, m, shift, rounding)) == exact(x, m, shift), (x, m, shift, rounding)


def test_the_two_modes_differ_on_these_cases():
    """Sanity of the exact definitions themselves: single and double rounding are different
    functions, so comparing an implementation with the wrong one fails."""
    m = 1 << 30                        # M * 2^(shift - 31) = 2^(shift - 1)
    t = [(1, m, -1), (-6, m, -1), (3, m, -1), (-3, m, -1)]
    # 1/4: single -> 0; double: SRDHM(1, 2^30) = 1/2 -> 1 (tie up), then 1/2 -> 1 (tie away)
    # -6/4: single -1.5 -> -1 (tie up); double: SRDHM = -3 exactly, -3/2 -> -2 (tie away)
    # 3/4 -> 1 both; -3/4 -> -1 both (double: SRDHM(-3, 2^30) = -3/2 -> -1, -1/2 -> -1)
    assert [single_exact(*c) for c in t] == [0, -1, 1, -1]
    assert [double_exact(*c) for c in t] == [1, -2, 1, -1]


# ---- whole models, C built with -DEK_SINGLE_ROUNDING -----------------------------------


MODEL_CASES = [(16, "conv", False), (2, "pointwise", False), (0, "depthwise", True),
               (1, "depthwise", False), (6, "fc", False)]


def _model_case(seed, kind, simd, n=64):
    from tests.codegen.test_random_graphs_tflm import _inputs, random_graph

    g, _ = random_graph(seed, kind, simd)
    return g, _inputs(g, seed, n)


@pytest.mark.parametrize("seed,kind,simd", MODEL_CASES)
def test_single_rounding_model_cases_are_sensitive(seed, kind, simd):
    """On each graph below the two rounding modes give different bytes: otherwise the
    model-level test would prove nothing."""
    g, x = _model_case(seed, kind, simd)
    assert first_mismatch(run_int8(g, x, rounding="single")[0], run_int8(g, x)[0]), \
        f"seed {seed} ({kind}): the rounding modes agree on this graph; pick another"


@pytest.mark.parametrize("seed,kind,simd", MODEL_CASES)
def test_single_rounding_model_c_matches_numpy(seed, kind, simd):
    """A random graph (tests/codegen/test_random_graphs_tflm.py) built for the host with
    -DEK_SINGLE_ROUNDING == run_int8(rounding='single'), byte for byte. (ek_add_s8 is left
    out: on random add graphs the two modes never differed in thousands of draws; its
    requantization is ek_mbqm / ek_finish, checked above through ek_requantize.)"""
    from tests.codegen.test_random_graphs_tflm import describe

    g, x = _model_case(seed, kind, simd)
    n = len(x)
    single = run_int8(g, x, rounding="single")[0].reshape(n, -1)
    with tempfile.TemporaryDirectory() as d:
        exe = build(generate(g, "k"), get_board("host"), Path(d), extra_cflags=("-DEK_SINGLE_ROUNDING",))
        got = run_batch(exe, get_board("host"), x.reshape(n, -1), g.tensor(g.outputs[0]).size)
    diff = first_mismatch(single, got)
    assert diff is None, (f"seed {seed} ({kind}, simd={simd}): C built with -DEK_SINGLE_ROUNDING vs "
                          f"run_int8(rounding='single'): {diff}\n{describe(g)}")
