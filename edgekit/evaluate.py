"""Accuracy of a float or int8 graph on a labelled array of inputs.

Inputs may come in any quantization: float arrays are used as they are (quantized with
the model's input parameters for int8 models); int8 arrays are taken as already in the
model's input quantization unless ``input_quant=(scale, zero_point)`` says otherwise,
in which case they are dequantized first (and requantized for an int8 model).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.errors import InputError
from edgekit.executors.float_exec import run_float
from edgekit.ir import Graph
from edgekit.ir.summary import is_quantized
from edgekit.progress import progress
from edgekit.quant.reference import quantize_float, run_int8


@dataclass(frozen=True)
class EvalResult:
    top1: float
    n: int
    scores: np.ndarray
    executor: str

    def as_dict(self) -> dict:
        return {"top1": self.top1, "n": self.n, "executor": self.executor}


def model_inputs(graph: Graph, x: np.ndarray, input_quant=None) -> np.ndarray:
    """Bring a batch into the dtype and quantization the model's input expects."""
    t = graph.tensor(graph.inputs[0])
    x = np.asarray(x)
    if x.ndim == len(t.shape) - 1 and tuple(x.shape) == tuple(t.shape[1:]):
        x = x[None]
    if int(np.prod(x.shape[1:])) != t.size // t.shape[0]:
        raise InputError(f"inputs have shape {x.shape}, model input is {t.shape}")
    x = x.reshape(len(x), *t.shape[1:])
    if x.dtype != np.float32 and input_quant is not None:
        x = (x.astype(np.float32) - input_quant[1]) * np.float32(input_quant[0])
    if t.dtype == "int8":
        if x.dtype == np.float32:
            return quantize_float(x, float(t.quant.scale[0]), int(t.quant.zero_point[0]))
        return x.astype(np.int8)
    if x.dtype != np.float32:
        raise InputError(f"{x.dtype} inputs for a float model: give --input-scale and "
                         "--input-zero-point to dequantize them")
    return x


def evaluate(graph: Graph, x: np.ndarray, labels: np.ndarray, input_quant=None,
             batch: int = 50, rounding: str = "double") -> EvalResult:
    labels = np.asarray(labels).reshape(-1)
    xm = model_inputs(graph, x, input_quant)
    if len(xm) != len(labels):
        raise InputError(f"{len(xm)} inputs but {len(labels)} labels")
    if is_quantized(graph):
        parts = []
        for i in progress(range(0, len(xm), batch), "int8 reference", total=-(-len(xm) // batch)):
            parts.append(run_int8(graph, xm[i:i + batch], rounding)[0])
        scores, executor = np.concatenate(parts), "int8-reference"
    else:
        scores, executor = run_float(graph, xm), "float-torch"
    scores = scores.reshape(len(labels), -1)
    return EvalResult(float((scores.argmax(1) == labels).mean()), len(labels), scores, executor)
