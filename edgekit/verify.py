"""Self-checks: an artifact edgekit writes must agree, byte for byte, with the NumPy int8
reference (`quant/reference.py`) before it is written.

`first_mismatch` is the one comparison (it names the first differing element);
`require_identical` turns a mismatch into a refusal. Two artifacts are checked: the
exported .tflite, run by the TFLM interpreter (`tflite_matches`), and the generated C,
built for a board's core and run natively or in QEMU (`c_matches`).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.ir import Graph


def first_mismatch(expected: np.ndarray, actual: np.ndarray) -> str | None:
    """None when identical, else 'index I: expected E, actual A (M of T differ)'."""
    e, a = np.asarray(expected).reshape(-1), np.asarray(actual).reshape(-1)
    if e.shape != a.shape:
        return f"shapes differ: expected {np.asarray(expected).shape}, actual {np.asarray(actual).shape}"
    bad = np.flatnonzero(e != a)
    if not bad.size:
        return None
    i = int(bad[0])
    idx = np.unravel_index(i, np.asarray(expected).shape)
    return (f"index {tuple(int(v) for v in idx)}: expected {e[i]}, actual {a[i]} "
            f"({bad.size} of {e.size} elements differ)")


def require_identical(expected: np.ndarray, actual: np.ndarray, failure: str, refusal: str) -> None:
    """Raise '<failure> at <first mismatch>; <refusal>' unless every element is identical."""
    diff = first_mismatch(expected, actual)
    if diff:
        raise EdgekitError(f"{failure} at {diff}; {refusal}")


def reference_outputs(graph: Graph, xq: np.ndarray) -> np.ndarray:
    """The int8 reference's outputs for quantized inputs, one row per input."""
    from edgekit.quant.reference import run_int8

    return run_int8(graph, xq)[0].reshape(len(xq), -1)


def tflite_matches(qgraph: Graph, data: bytes, calib: np.ndarray) -> str:
    """The exported file, run by TFLM, equals the int8 reference on `calib` (float inputs)."""
    from edgekit.evaluate import model_inputs
    from edgekit.executors.tflm import run_tflm

    x = model_inputs(qgraph, calib)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "check.tflite")
        with open(p, "wb") as f:
            f.write(data)
        got = run_tflm(p, x)[0]
    require_identical(reference_outputs(qgraph, x), got, "exported model disagrees with the int8 reference "
                      "in TFLM", "not writing it (please report)")
    return f"identical on {len(x)} inputs"


def c_matches(graph: Graph, gen, board, x: np.ndarray) -> str:
    """The generated model (the same C, built for the board's core with edgekit's own
    compiler call, not the PlatformIO one) equals the int8 reference on `x` (float inputs)."""
    from edgekit.evaluate import model_inputs
    from edgekit.toolchain.cbuild import build, run_batch

    xq = model_inputs(graph, x)
    ref = reference_outputs(graph, xq)
    with tempfile.TemporaryDirectory() as d:
        exe = build(gen, board, Path(d))
        got = run_batch(exe, board, xq.reshape(len(xq), -1), ref.shape[1])
    require_identical(ref, got, f"verification failed: the generated model on {board.name} disagrees with "
                      "the NumPy reference", "not shipping this firmware (--no-verify skips the check; "
                      "please report)")
    return f"identical on {len(xq)} inputs ({board.name})"
