"""The real TFLite Micro interpreter (PyPI `tflite-micro`), used as the reference.

Only tests, benchmarks and `edgekit eval --check-tflm` use it; the toolkit's own
results never depend on it.
"""
from __future__ import annotations

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.native_io import quiet_native_stderr


def interpreter(path: str, arena_size: int = 1 << 20):
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as e:  # pragma: no cover
        raise EdgekitError(f"the TFLM interpreter (pip package tflite-micro) is not installed: {e}")
    try:
        with quiet_native_stderr():
            return runtime.Interpreter.from_file(path, arena_size=arena_size)
    except Exception as e:
        raise EdgekitError(f"TFLM cannot load {path}: {str(e).splitlines()[0][:200]}") from None


def run_tflm(path: str, xs, arena_size: int = 1 << 20, n_out: int = 1) -> list[np.ndarray]:
    """Run a batch through TFLM one example at a time; returns n_out stacked outputs.

    xs: one array (N, ...) or a list of arrays (one per model input).
    """
    it = interpreter(path, arena_size)
    xs = xs if isinstance(xs, (list, tuple)) else [xs]
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for i in range(len(xs[0])):
        for j, x in enumerate(xs):
            shape = it.get_input_details(j)["shape"]
            it.set_input(np.ascontiguousarray(x[i]).reshape(shape), j)
        it.invoke()
        for k in range(n_out):
            outs[k].append(it.get_output(k).reshape(-1))
    return [np.stack(o) for o in outs]

