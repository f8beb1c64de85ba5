"""ek_requantize (C, both rounding modes) against arith.mbqm (NumPy) on 300,000 triples:
random accumulators, multipliers from QuantizeMultiplier of random scales, and the edge
values (INT32 extremes, exact halves, shifts -31..30)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgekit.quant import arith
from edgekit.resources import RUNTIME

HERE = Path(__file__).parent


def _triples(rng):
    n = 300_000
    x = rng.integers(-(1 << 31), 1 << 31, n, dtype=np.int64)
    x[: n // 3] = rng.integers(-(1 << 20), 1 << 20, n // 3)     # typical accumulators
    reals = np.exp(rng.uniform(np.log(1e-6), np.log(30.0), n))
    m, s = arith.quantize_multipliers(reals[:5000])
    idx = rng.integers(0, 5000, n)
    mult, shift = m[idx], s[idx]
    edges = [(-(1 << 31), (1 << 31) - 1, 0), ((1 << 31) - 1, (1 << 31) - 1, 0), (-(1 << 31), 1 << 30, -31),
             (3, 1 << 30, -1), (-3, 1 << 30, -1), (1, 1 << 30, -1), (-1, 1 << 30, -1), (5, 1 << 30, -2),
             (-5, 1 << 30, -2), (6, 1 << 30, -2), (-6, 1 << 30, -2), (100, 1 << 30, 5)]
    e = np.array(edges, np.int64)
    return (np.concatenate([x, e[:, 0]]), np.concatenate([mult, e[:, 1]]), np.concatenate([shift, e[:, 2]]))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_c_requantize_matches_numpy(tmp_path, rounding):
    exe = tmp_path / "rq"
    flags = ["-DEK_SINGLE_ROUNDING"] if rounding == "single" else []
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-O2", *flags, f"-I{RUNTIME / 'include'}",
                    f"-I{RUNTIME / 'src'}", str(HERE / "c" / "requantize_check.c"),
                    str(RUNTIME / "src" / "ek_requantize.c"), "-o", str(exe)], check=True)
    x, m, s = _triples(np.random.default_rng(0))
    if rounding == "single":   # TFLite's single rounding requires shift in [-31, 30] and no
        keep = (s <= 30)       # overflow of x * 2^shift beyond 64 bits: always true here
        x, m, s = x[keep], m[keep], s[keep]
    np.stack([x, m, s], 1).astype(np.int32).tofile(tmp_path / "in.bin")
    subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    got = np.fromfile(tmp_path / "out.bin", np.int32)
    want = arith.mbqm(arith.wrap32(x), m, s, rounding)
    want = arith.wrap32(want)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"first mismatch at {bad[0]}: x={x[bad[0]]} M={m[bad[0]]} shift={s[bad[0]]} "
                           f"expected {want[bad[0]]}, actual {got[bad[0]]} ({bad.size} differ)")
