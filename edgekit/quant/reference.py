"""NumPy integer reference executor: TFLite Micro's int8 reference kernels, bit-exact.

Each kernel is the readable twin of a C kernel in edgekit/firmware/runtime and follows TFLM's
reference_integer_ops loops (conv, depthwise_conv, fully_connected, pooling, add,
softmax). Accumulation is exact (int64 holding int32 sums, as the kernels never
overflow int32 for int8 operands and realistic sizes); requantization goes through
``arith.mbqm`` with the build's rounding mode ("double" = TFLite default).

Public entry point: ``run_int8(graph, x)`` runs a batch (N, *input_shape[1:]).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.errors import InputError, UnsupportedOpError
from edgekit.ir import Graph, Node, Tensor
from edgekit.quant import arith

# ---- requantization parameters, as TFLM's Prepare() computes them --------------------

@dataclass(frozen=True)
class Requant:
    multiplier: np.ndarray  # int64 [C] (or [1])
    shift: np.ndarray       # int64 [C]
    act_min: int
    act_max: int


def _scale(t: Tensor) -> np.ndarray:
    return t.quant.scale.astype(np.float64)


def _zp(t: Tensor) -> int:
    return int(t.quant.zero_point[0])


def requant_params(x: Tensor, w: Tensor, y: Tensor, activation: str) -> Requant:
    """Per-channel (or per-tensor) effective scale in double -> QuantizeMultiplier."""
    eff = _scale(x)[0] * _scale(w) / _scale(y)[0]
    m, s = arith.quantize_multipliers(eff)
    lo, hi = arith.activation_range(activation, float(y.quant.scale[0]), _zp(y))
    return Requant(m, s, lo, hi)


# ---- kernels -------------------------------------------------------------------------

def _pad_nhwc(x: np.ndarray, pads, value: int) -> np.ndarray:
    t, b, l, r = pads
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def _patches(x: np.ndarray, kh, kw, stride, dilation, out_hw) -> np.ndarray:
    """[N, OH, OW, KH, KW, C] windows of an already padded NHWC array."""
    sh, sw = stride
    dh, dw = dilation
    oh, ow = out_hw
    rows = (np.arange(oh) * sh)[:, None] + np.arange(kh) * dh     # [OH, KH]
    cols = (np.arange(ow) * sw)[:, None] + np.arange(kw) * dw     # [OW, KW]
    return x[:, rows[:, None, :, None], cols[None, :, None, :], :]


def _finish(acc: np.ndarray, bias, rq: Requant, out_zp: int, rounding: str) -> np.ndarray:
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    acc = arith.mbqm(arith.wrap32(acc), rq.multiplier, rq.shift, rounding) + out_zp
    return np.clip(acc, rq.act_min, rq.act_max).astype(np.int8)


def conv2d(x, w, bias, in_zp, out_zp, rq: Requant, stride, dilation, pads, out_hw,
           rounding="double") -> np.ndarray:
    """ConvPerChannel: acc = sum w * (x - in_zp) over the window; padding adds nothing."""
    xp = _pad_nhwc(x.astype(np.int64) - in_zp, pads, 0)
    cout, kh, kw, cin = w.shape
    p = _patches(xp, kh, kw, stride, dilation, out_hw)             # N,OH,OW,KH,KW,C
    acc = np.tensordot(p, w.astype(np.int64), axes=([3, 4, 5], [1, 2, 3]))
    return _finish(acc, bias, rq, out_zp, rounding)


def depthwise_conv2d(x, w, bias, in_zp, out_zp, rq: Requant, stride, dilation, pads,
                     out_hw, depth_multiplier, rounding="double") -> np.ndarray:
    """DepthwiseConvPerChannel: output channel c*M+m reads input channel c."""
    xp = _pad_nhwc(x.astype(np.int64) - in_zp, pads, 0)
    if depth_multiplier > 1:
        xp = np.repeat(xp, depth_multiplier, axis=3)
    _, kh, kw, _ = w.shape
    p = _patches(xp, kh, kw, stride, dilation, out_hw)             # N,OH,OW,KH,KW,C
    acc = np.einsum("nyxhwc,hwc->nyxc", p, w[0].astype(np.int64))
    return _finish(acc, bias, rq, out_zp, rounding)


def fully_connected(x, w, bias, in_zp, out_zp, rq: Requant, rounding="double") -> np.ndarray:
    """FullyConnected: rows of x (flattened to [-1, Cin]) times w^T."""
    x2 = x.reshape(-1, w.shape[1]).astype(np.int64) - in_zp
    acc = x2 @ w.astype(np.int64).T
    return _finish(acc, bias, rq, out_zp, rounding)


def average_pool(x, kernel, stride, pads, out_hw, act_min, act_max) -> np.ndarray:
    """AveragePool: divide by the number of valid (non-padding) elements, rounding
    half away from zero."""
    kh, kw = kernel
    xp = _pad_nhwc(x.astype(np.int64), pads, 0)
    valid = _pad_nhwc(np.ones((1, *x.shape[1:3], 1), np.int64), pads, 0)
    s = _patches(xp, kh, kw, stride, (1, 1), out_hw).sum(axis=(3, 4))
    n = _patches(valid, kh, kw, stride, (1, 1), out_hw).sum(axis=(3, 4))
    # C: acc > 0 ? (acc + n/2) / n : (acc - n/2) / n, '/' truncating toward zero
    q = np.where(s > 0, (s + n // 2) // n, -((n // 2 - s) // n))
    return np.clip(q, act_min, act_max).astype(np.int8)


def max_pool(x, kernel, stride, pads, out_hw, act_min, act_max) -> np.ndarray:
    kh, kw = kernel
    xp = _pad_nhwc(x.astype(np.int64), pads, -(1 << 40))
    m = _patches(xp, kh, kw, stride, (1, 1), out_hw).max(axis=(3, 4))
    return np.clip(m, act_min, act_max).astype(np.int8)


def add_multipliers(sa: float, sb: float, sy: float):
    """TFLM ADD's Prepare: (left_shift, input1 (M, shift), input2 (M, shift), output (M, shift))."""
    left_shift = 20
    twice_max = 2.0 * max(sa, sb)
    return (left_shift, arith.quantize_multiplier(sa / twice_max),
            arith.quantize_multiplier(sb / twice_max),
            arith.quantize_multiplier(twice_max / ((1 << left_shift) * sy)))


def add(a, b, a_q, b_q, y_q, act_min, act_max, rounding="double") -> np.ndarray:
    """Add with different input scales (TFLM add.cc): both inputs brought to a common
    scale at 20 extra bits, summed, then rescaled to the output."""
    (_, za), (_, zb), (_, zy) = a_q, b_q, y_q
    left_shift, (ma, sha), (mb, shb), (my, shy) = add_multipliers(a_q[0], b_q[0], y_q[0])
    va = arith.mbqm((a.astype(np.int64) - za) << left_shift, ma, sha, rounding)
    vb = arith.mbqm((b.astype(np.int64) - zb) << left_shift, mb, shb, rounding)
    out = arith.mbqm(arith.wrap32(va + vb), my, shy, rounding) + zy
    return np.clip(out, act_min, act_max).astype(np.int8)


def softmax(x, beta: float, input_scale: float) -> np.ndarray:
    """int8 -> int8 softmax over the last axis (output scale 1/256, zero point -128)."""
    mult, shift, diff_min = arith.softmax_params(beta, input_scale)
    xi = x.astype(np.int64)
    diff = xi - xi.max(axis=-1, keepdims=True)
    use = diff >= diff_min
    scaled = arith.srdhm(arith.wrap32(diff << shift), mult)
    e = arith.exp_on_negative_values(scaled, 5)
    total = np.where(use, arith.rounding_divide_by_pot(e, 12), 0).sum(axis=-1, keepdims=True)
    total = arith.wrap32(total)
    recip, bits_over_unit = arith.get_reciprocal(total, 12)
    out = arith.rounding_divide_by_pot(arith.srdhm(recip, e), bits_over_unit + 31 - 8) - 128
    return np.where(use, np.clip(out, -128, 127), -128).astype(np.int8)


def requantize(x, in_scale, in_zp, out_scale, out_zp, rounding="double") -> np.ndarray:
    m, s = arith.quantize_multiplier(float(in_scale) / float(out_scale))
    out = arith.mbqm(x.astype(np.int64) - in_zp, m, s, rounding) + out_zp
    return np.clip(out, -128, 127).astype(np.int8)


def quantize_float(x, scale, zp) -> np.ndarray:
    q = arith.round_half_away(np.asarray(x, np.float32) / np.float32(scale)) + zp
    return np.clip(q, -128, 127).astype(np.int8)


# ---- the graph executor --------------------------------------------------------------

def _window_args(node: Node, out: Tensor):
    return dict(stride=node.attr("stride", (1, 1)), pads=node.attr("pads", (0, 0, 0, 0)),
                out_hw=out.shape[1:3])


def _conv_node(g: Graph, node: Node, vals, rounding):
    x_t, w_t, y_t = g.tensor(node.inputs[0]), g.tensor(node.inputs[1]), g.tensor(node.outputs[0])
    bias = g.tensor(node.inputs[2]).data if len(node.inputs) > 2 and node.inputs[2] else None
    rq = requant_params(x_t, w_t, y_t, node.attr("activation", "none"))
    x = vals[node.inputs[0]]
    common = dict(in_zp=_zp(x_t), out_zp=_zp(y_t), rq=rq, rounding=rounding)
    if node.op == "FullyConnected":
        y = fully_connected(x, w_t.data, bias, **common)
        return y.reshape(x.shape[0], *y_t.shape[1:]) if node.attr("keep_dims") else y
    win = _window_args(node, y_t)
    dil = node.attr("dilation", (1, 1))
    if node.op == "Conv2D":
        return conv2d(x, w_t.data, bias, dilation=dil, **win, **common)
    return depthwise_conv2d(x, w_t.data, bias, dilation=dil,
                            depth_multiplier=node.attr("depth_multiplier", 1), **win, **common)


def _pool_node(g: Graph, node: Node, vals, rounding):
    y_t = g.tensor(node.outputs[0])
    lo, hi = arith.activation_range(node.attr("activation", "none"), float(y_t.quant.scale[0]), _zp(y_t))
    fn = average_pool if node.op == "AveragePool" else max_pool
    return fn(vals[node.inputs[0]], node.attr("kernel"), act_min=lo, act_max=hi, **_window_args(node, y_t))


def _qp(t: Tensor) -> tuple[float, int]:
    return float(t.quant.scale[0]), _zp(t)


def _add_node(g: Graph, node: Node, vals, rounding):
    a_t, b_t, y_t = (g.tensor(n) for n in (*node.inputs, node.outputs[0]))
    lo, hi = arith.activation_range(node.attr("activation", "none"), *_qp(y_t))
    a = vals[node.inputs[0]] if node.inputs[0] in vals else a_t.data[None]
    b = vals[node.inputs[1]] if node.inputs[1] in vals else b_t.data[None]
    return add(a, b, _qp(a_t), _qp(b_t), _qp(y_t), lo, hi, rounding)


def _simple_node(g: Graph, node: Node, vals, rounding):
    x = vals[node.inputs[0]]
    x_t, y_t = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])
    if node.op in ("Reshape", "Dropout"):
        return x.reshape(x.shape[0], *y_t.shape[1:])
    if node.op == "Pad":
        return np.pad(x, node.attr("pads"), constant_values=_zp(y_t))
    if node.op == "Softmax":
        return softmax(x, node.attr("beta", 1.0), float(x_t.quant.scale[0]))
    if node.op in ("ReLU", "ReLU6"):
        lo, hi = arith.activation_range(node.op.lower(), *_qp(y_t))
        return np.clip(requantize(x, *_qp(x_t), *_qp(y_t), rounding), lo, hi).astype(np.int8)
    if node.op == "Quantize":
        if x_t.dtype == "float32":
            return quantize_float(x, *_qp(y_t))
        return requantize(x, *_qp(x_t), *_qp(y_t), rounding)
    if node.op == "Dequantize":
        s, z = _qp(x_t)
        return ((x.astype(np.int32) - z) * np.float32(s)).astype(np.float32)
    raise UnsupportedOpError(node.op, node.name, "no int8 reference kernel")


_DISPATCH = {"Conv2D": _conv_node, "DepthwiseConv2D": _conv_node, "FullyConnected": _conv_node,
             "AveragePool": _pool_node, "MaxPool": _pool_node, "Add": _add_node}


def _check_inputs(graph: Graph, xs: list[np.ndarray]) -> None:
    if len(xs) != len(graph.inputs):
        raise InputError(f"model has {len(graph.inputs)} inputs, got {len(xs)} arrays")
    for name, x in zip(graph.inputs, xs):
        t = graph.tensor(name)
        if tuple(x.shape[1:]) != tuple(t.shape[1:]):
            raise InputError(f"input '{name}' batch has shape {x.shape}, model expects "
                             f"(N, {', '.join(map(str, t.shape[1:]))})")
        if str(x.dtype) != t.dtype:
            raise InputError(f"input '{name}' batch has dtype {x.dtype}, model expects {t.dtype}")


def run_int8(graph: Graph, x, rounding: str = "double",
             keep: bool = False) -> list[np.ndarray] | dict[str, np.ndarray]:
    """Run a batch through an int8 graph.

    x: one array (N, *input_shape[1:]) or a list of them, one per graph input.
    Returns the graph outputs (each with leading dim N), or every tensor if keep=True.
    """
    xs = [np.asarray(a) for a in (x if isinstance(x, (list, tuple)) else [x])]
    _check_inputs(graph, xs)
    vals: dict[str, np.ndarray] = dict(zip(graph.inputs, xs))
    for node in graph.nodes:
        fn = _DISPATCH.get(node.op, _simple_node)
        vals[node.outputs[0]] = fn(graph, node, vals, rounding)
    if keep:
        return vals
    return [vals[o] for o in graph.outputs]
