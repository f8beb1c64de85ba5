"""The op set: for each op, its input roles, shape inference and MAC count.

Shape functions take the node and the input shapes and return the output shape; they
are what ``verify()`` checks a graph against, so importers cannot drift from the
semantics the executors implement.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgekit.ir.graph import Node

ACTIVATIONS = ("none", "relu", "relu6", "relu_n1_to_1")
Shape = tuple[int, ...]


def conv_out(size: int, k: int, stride: int, dilation: int, pad_a: int, pad_b: int) -> int:
    eff = (k - 1) * dilation + 1
    return (size + pad_a + pad_b - eff) // stride + 1


def same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF 'SAME' padding: output = ceil(size / stride), the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _window(node: Node, x: Shape, kh: int, kw: int) -> tuple[int, int]:
    sh, sw = node.attr("stride", (1, 1))
    dh, dw = node.attr("dilation", (1, 1))
    pt, pb, pl, pr = node.attr("pads", (0, 0, 0, 0))
    return conv_out(x[1], kh, sh, dh, pt, pb), conv_out(x[2], kw, sw, dw, pl, pr)


def _conv(node: Node, s: list[Shape]) -> Shape:
    x, w = s[0], s[1]
    oh, ow = _window(node, x, w[1], w[2])
    return (x[0], oh, ow, w[0])


def _dwconv(node: Node, s: list[Shape]) -> Shape:
    x, w = s[0], s[1]
    oh, ow = _window(node, x, w[1], w[2])
    return (x[0], oh, ow, w[3])


def _fc(node: Node, s: list[Shape]) -> Shape:
    x, w = s[0], s[1]
    rows = int(np.prod(x)) // w[1]
    return (rows, w[0]) if not node.attr("keep_dims") else (*x[:-1], w[0])


def _pool(node: Node, s: list[Shape]) -> Shape:
    x = s[0]
    kh, kw = node.attr("kernel")
    oh, ow = _window(node, x, kh, kw)
    return (x[0], oh, ow, x[3])


def _same(node: Node, s: list[Shape]) -> Shape:
    return s[0]


def _broadcast(node: Node, s: list[Shape]) -> Shape:
    return tuple(np.broadcast_shapes(s[0], s[1]))


def _reshape(node: Node, s: list[Shape]) -> Shape:
    return tuple(node.attr("shape"))


def _pad(node: Node, s: list[Shape]) -> Shape:
    return tuple(d + a + b for d, (a, b) in zip(s[0], node.attr("pads")))


def _mean(node: Node, s: list[Shape]) -> Shape:
    axes = {a % len(s[0]) for a in node.attr("axes")}
    if node.attr("keep_dims"):
        return tuple(1 if i in axes else d for i, d in enumerate(s[0]))
    return tuple(d for i, d in enumerate(s[0]) if i not in axes)


def _macs_conv(node, ins, out):
    w = ins[1]
    return int(np.prod(out)) * w[1] * w[2] * w[3]


def _macs_dw(node, ins, out):
    w = ins[1]
    return int(np.prod(out)) * w[1] * w[2]


def _macs_fc(node, ins, out):
    return int(np.prod(out)) * ins[1][1]


def _macs_none(node, ins, out):
    return 0


@dataclass(frozen=True)
class OpSpec:
    inputs: tuple[str, ...]          # roles; a trailing '?' marks an optional input
    infer: Callable[[Node, list[Shape]], Shape]
    macs: Callable = _macs_none
    const_inputs: tuple[int, ...] = ()  # indices that must be constants

    @property
    def required(self) -> int:
        return sum(1 for r in self.inputs if not r.endswith("?"))


OPS: dict[str, OpSpec] = {
    "Conv2D": OpSpec(("x", "weight", "bias?"), _conv, _macs_conv, (1, 2)),
    "DepthwiseConv2D": OpSpec(("x", "weight", "bias?"), _dwconv, _macs_dw, (1, 2)),
    "FullyConnected": OpSpec(("x", "weight", "bias?"), _fc, _macs_fc, (1, 2)),
    "BatchNorm": OpSpec(("x", "gamma", "beta", "mean", "var"), _same, const_inputs=(1, 2, 3, 4)),
    "ReLU": OpSpec(("x",), _same),
    "ReLU6": OpSpec(("x",), _same),
    "AveragePool": OpSpec(("x",), _pool),
    "MaxPool": OpSpec(("x",), _pool),
    "Mean": OpSpec(("x",), _mean),
    "Add": OpSpec(("a", "b"), _broadcast),
    "Reshape": OpSpec(("x",), _reshape),
    "Pad": OpSpec(("x",), _pad),
    "Softmax": OpSpec(("x",), _same),
    "Dropout": OpSpec(("x",), _same),
    "Quantize": OpSpec(("x",), _same),
    "Dequantize": OpSpec(("x",), _same),
}


# ops with a weight tensor (input 1): folded into, quantized per channel, compressed, run by
# the convolution kernels
WEIGHTED_OPS = tuple(op for op, spec in OPS.items() if "weight" in spec.inputs)


def node_macs(node: Node, in_shapes: list[Shape], out_shape: Shape) -> int:
    return OPS[node.op].macs(node, in_shapes, out_shape)
