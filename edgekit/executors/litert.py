"""LiteRT (ai-edge-litert, the successor of tflite-runtime) as a second TFLite runtime.

Either package is accepted. Note LiteRT's default XNNPACK kernels are not bit-exact with
TFLM for int8; edgekit uses LiteRT only as a float reference and a "does it load" check.
"""
from __future__ import annotations

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.native_io import quiet_native_stderr


def interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise EdgekitError("no TFLite runtime: pip install ai-edge-litert "
                               "(or tflite-runtime)") from None
    return Interpreter


def run_litert(path: str, x: np.ndarray) -> np.ndarray:
    """Run a batch (N, ...) one example at a time through LiteRT; first output, stacked."""
    with quiet_native_stderr():  # XNNPACK announces itself on stderr
        it = interpreter_class()(model_path=path)
        it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for xi in x:
        it.set_tensor(inp["index"], np.asarray(xi, inp["dtype"]).reshape(inp["shape"]))
        it.invoke()
        ys.append(it.get_tensor(out["index"]).reshape(-1).copy())
    return np.stack(ys)
