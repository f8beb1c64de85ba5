"""Post-training int8 quantization of a float graph, from a calibration batch.

TFLite's int8 scheme (quantization_spec): weights symmetric int8 in [-127, 127], per
output channel for Conv2D (axis 0) and DepthwiseConv2D (axis 3), per tensor for
FullyConnected; bias int32 at scale input_scale * weight_scale; activations asymmetric
int8 per tensor, ranges observed on the calibration batch; pooling / reshape / pad keep
their input's parameters; softmax outputs 1/256 with zero point -128.

The calibration batch is whatever the caller passes: BN-synthesized inputs for the
data-free path (edgekit.synth), Gaussian noise or real data for comparisons.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from edgekit.errors import InputError
from edgekit.executors.float_exec import FloatModule
from edgekit.ir import Graph, Node, QuantParams, Tensor
from edgekit.quant.fold import prepare_for_quantization

SHARED_QPARAMS = ("AveragePool", "MaxPool", "Reshape", "Pad", "Dropout")
WEIGHT_AXIS = {"Conv2D": 0, "DepthwiseConv2D": 3, "FullyConnected": None}


@dataclass(frozen=True)
class QuantConfig:
    """calibration: 'minmax' | 'percentile' | 'mse' (per activation tensor)."""

    calibration: str = "minmax"
    percentile: float = 99.99
    bias_correction: bool = False
    batch: int = 128


# ---- observing activations ---------------------------------------------------------------

def _activations(graph: Graph, x: np.ndarray, batch: int) -> dict[str, np.ndarray]:
    names = tuple(o for n in graph.nodes for o in n.outputs)
    mod = FloatModule(graph).eval()
    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch], np.float32))
            _, taps = mod(xb, taps=names)
            taps[graph.inputs[0]] = xb
            for k, v in taps.items():
                parts.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def _mse_range(v: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """Shrink [lo, hi] by the factor that minimizes the int8 round-trip error."""
    sample = v.reshape(-1)
    if sample.size > 200_000:
        sample = sample[:: sample.size // 200_000 + 1]
    best, best_err = (lo, hi), np.inf
    for f in np.linspace(0.3, 1.0, 36):
        a, b = lo * f, hi * f
        s, z = _qparams(a, b)
        q = np.clip(np.round(sample / s) + z, -128, 127)
        err = float(np.mean(((q - z) * s - sample) ** 2))
        if err < best_err:
            best, best_err = (a, b), err
    return best


def observe_ranges(graph: Graph, acts: dict[str, np.ndarray], cfg: QuantConfig) -> dict[str, tuple[float, float]]:
    ranges = {}
    for name, v in acts.items():
        if cfg.calibration == "percentile":
            lo, hi = np.percentile(v, [100 - cfg.percentile, cfg.percentile])
        else:
            lo, hi = float(v.min()), float(v.max())
        if cfg.calibration == "mse":
            lo, hi = _mse_range(v, min(lo, 0.0), max(hi, 0.0))
        ranges[name] = (float(min(lo, 0.0)), float(max(hi, 0.0)))
    return ranges


def _qparams(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 parameters whose grid contains 0 exactly (TFLite nudging)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = float(np.float32((hi - lo) / 255.0)) if hi > lo else 1.0
    zp = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return scale, zp


# ---- weights -------------------------------------------------------------------------------

def quantize_weights(w: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 in [-127, 127]; returns (q, scales)."""
    if axis is None:
        amax = np.array([np.abs(w).max()])
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        q = np.round(w / scale[0])
    else:
        red = tuple(i for i in range(w.ndim) if i != axis)
        amax = np.abs(w).max(axis=red)
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.round(w / scale.reshape(shape))
    return np.clip(q, -127, 127).astype(np.int8), scale


def bias_correction(node: Node, w: np.ndarray, wq: np.ndarray, ws: np.ndarray, axis,
                     mean_in: np.ndarray) -> np.ndarray:
    """E[(W - W_q) x] per output channel, from the calibration mean of each input channel."""
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    err = w - wq.astype(np.float64) * ws.reshape(shape)
    if node.op == "Conv2D":
        return np.einsum("ohwi,i->o", err, mean_in)
    if node.op == "DepthwiseConv2D":
        m = node.attr("depth_multiplier", 1)
        return err[0].sum(axis=(0, 1)) * np.repeat(mean_in, m)
    return err @ mean_in


# ---- the int8 graph ----------------------------------------------------------------------------

def _act_tensor(t: Tensor, scale: float, zp: int) -> Tensor:
    return Tensor(t.name, t.shape, "int8", None, QuantParams.make(scale, zp))


def bias_name(node) -> str | None:
    """The bias tensor of a conv / depthwise / fully connected node, if it has one."""
    return node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None


def quantize_graph(graph: Graph, calib: np.ndarray, cfg: QuantConfig = QuantConfig(),
                   fixed: dict | None = None) -> Graph:
    """Float graph + calibration batch (N, *input_shape[1:]) -> int8 graph. fixed: weight
    tensor name -> (int8 values, scales) decided elsewhere (codebook layers from
    edgekit.compress), used as they are."""
    g = prepare_for_quantization(graph)
    calib = np.asarray(calib, np.float32)
    if calib.ndim < 2 or tuple(calib.shape[1:]) != tuple(g.tensor(g.inputs[0]).shape[1:]):
        raise InputError(f"calibration data has shape {calib.shape}, model input is "
                         f"{g.tensor(g.inputs[0]).shape}")
    acts = _activations(g, calib, cfg.batch)
    ranges = observe_ranges(g, acts, cfg)
    qp: dict[str, tuple[float, int]] = {g.inputs[0]: _qparams(*ranges[g.inputs[0]])}
    tensors: dict[str, Tensor] = {g.inputs[0]: _act_tensor(g.tensor(g.inputs[0]), *qp[g.inputs[0]])}
    for node in g.nodes:
        out = node.outputs[0]
        if node.op in SHARED_QPARAMS:
            qp[out] = qp[node.inputs[0]]
        elif node.op == "Softmax":
            qp[out] = (1.0 / 256.0, -128)
        else:
            qp[out] = _qparams(*ranges[out])
        tensors[out] = _act_tensor(g.tensor(out), *qp[out])
        if node.op in WEIGHT_AXIS:
            tensors.update(_weight_tensors(g, node, qp[node.inputs[0]][0], acts, cfg, (fixed or {}).get(node.inputs[1])))
    for name in g.tensors:
        if name not in tensors and g.tensor(name).is_const:
            tensors[name] = g.tensor(name)
    meta = dict(g.meta, quantized_with=cfg.calibration, calibration_n=int(len(calib)))
    return g.replace(tensors=tensors, meta=meta).verify()


def _weight_tensors(g: Graph, node: Node, in_scale: float, acts, cfg: QuantConfig,
                    fixed=None) -> dict[str, Tensor]:
    axis = WEIGHT_AXIS[node.op]
    w_t = g.tensor(node.inputs[1])
    w = w_t.data.astype(np.float64)
    wq, ws = fixed if fixed is not None else quantize_weights(w, axis)
    b = g.tensor(node.inputs[2]).data.astype(np.float64) if len(node.inputs) > 2 and node.inputs[2] \
        else np.zeros(w.shape[axis if axis is not None else 0])
    if cfg.bias_correction:
        x = acts[node.inputs[0]]
        b = b + bias_correction(node, w, wq, ws, axis, x.reshape(-1, x.shape[-1]).mean(0).astype(np.float64))
    bias_scale = np.float64(in_scale) * ws.astype(np.float64)
    bq = np.clip(np.round(b / bias_scale), -(1 << 31), (1 << 31) - 1).astype(np.int32)
    out = {w_t.name: Tensor(w_t.name, w_t.shape, "int8", wq, QuantParams.make(ws, 0, axis))}
    bname = bias_name(node)
    if bname:
        out[bname] = Tensor(bname, bq.shape, "int32", bq,
                            QuantParams.make(bias_scale.astype(np.float32), 0, 0 if axis is not None else None))
    return out
