"""Float executor: runs a float Graph on torch (so later stages get autograd).

Activations stay NHWC between ops; each op permutes to torch's NCHW only around the
torch call. Constants become buffers of a torch Module, or Parameters when
``trainable=True``. ``forward(x, taps=...)`` also returns chosen intermediate tensors
(e.g. every BatchNorm input, for data-free calibration).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from edgekit.errors import UnsupportedOpError
from edgekit.ir import Graph, Node
from edgekit.ir.ops import WEIGHTED_OPS


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def _act(x, act: str):
    if act == "relu":
        return torch.relu(x)
    if act == "relu6":
        return torch.clamp(x, 0.0, 6.0)
    if act == "relu_n1_to_1":
        return torch.clamp(x, -1.0, 1.0)
    return x


def _torch_pad(pads):
    t, b, l, r = pads
    return (l, r, t, b)


def _conv(x, w, bias, node: Node):
    t, b, l, r = node.attr("pads", (0, 0, 0, 0))
    xc = F.pad(_nchw(x), (l, r, t, b))
    if node.op == "Conv2D":
        wc, groups = w.permute(0, 3, 1, 2), 1
    else:
        wc, groups = w[0].permute(2, 0, 1).unsqueeze(1), x.shape[3]
    y = F.conv2d(xc, wc, bias, stride=tuple(node.attr("stride", (1, 1))),
                 dilation=tuple(node.attr("dilation", (1, 1))), groups=groups)
    return _act(_nhwc(y), node.attr("activation", "none"))


def run_layer(node: Node, x, w, bias):
    """One Conv2D / DepthwiseConv2D / FullyConnected node on NHWC x with the given weights
    (autograd flows through them: edgekit.compress.rounding fits them layer by layer)."""
    if node.op == "FullyConnected":
        return _fc(x, w, bias, node)
    return _conv(x, w, bias, node)


def _pool(x, node: Node):
    kernel, stride = tuple(node.attr("kernel")), tuple(node.attr("stride", (1, 1)))
    pads = _torch_pad(node.attr("pads", (0, 0, 0, 0)))
    xc = _nchw(x)
    if node.op == "MaxPool":
        y = F.max_pool2d(F.pad(xc, pads, value=float("-inf")), kernel, stride)
    else:  # TF semantics: padding does not count towards the average
        s = F.avg_pool2d(F.pad(xc, pads), kernel, stride, divisor_override=1)
        ones = F.pad(torch.ones_like(xc[:1, :1]), pads)
        y = s / F.avg_pool2d(ones, kernel, stride, divisor_override=1)
    return _act(_nhwc(y), node.attr("activation", "none"))


def _fc(x, w, bias, node: Node):
    y = F.linear(x.reshape(-1, w.shape[1]), w, bias)
    if node.attr("keep_dims"):
        y = y.reshape(*x.shape[:-1], w.shape[0])
    return _act(y, node.attr("activation", "none"))


def _batchnorm(x, gamma, beta, mean, var, node: Node):
    inv = torch.rsqrt(var + node.attr("eps", 1e-3)) * gamma
    return x * inv + (beta - mean * inv)


def _simple(node: Node, args, out_shape):
    x = args[0]
    op = node.op
    if op in ("Reshape", "Dropout"):
        return x.reshape(x.shape[0], *out_shape[1:])
    if op == "ReLU":
        return torch.relu(x)
    if op == "ReLU6":
        return torch.clamp(x, 0.0, 6.0)
    if op == "Softmax":
        return torch.softmax(x * node.attr("beta", 1.0), dim=-1)
    if op == "Add":
        return _act(x + args[1], node.attr("activation", "none"))
    if op == "Pad":
        flat = [p for pair in reversed(node.attr("pads")) for p in pair]
        return F.pad(x, flat)
    if op == "Mean":
        return x.mean(dim=tuple(node.attr("axes")), keepdim=bool(node.attr("keep_dims")))
    raise UnsupportedOpError(op, node.name, "no float kernel (is this an int8 graph?)")


class FloatModule(torch.nn.Module):
    """A torch Module that executes a float Graph."""

    def __init__(self, graph: Graph, trainable: bool = False):
        super().__init__()
        self.graph = graph
        self._keys: dict[str, str] = {}
        for i, t in enumerate(graph.constants()):
            key = f"c{i}"
            self._keys[t.name] = key
            data = torch.from_numpy(np.array(t.data))
            if trainable and t.dtype == "float32":
                self.register_parameter(key, torch.nn.Parameter(data))
            else:
                self.register_buffer(key, data)

    def const(self, name: str) -> torch.Tensor:
        return getattr(self, self._keys[name])

    def forward(self, *xs, taps: tuple[str, ...] = ()):
        g = self.graph
        vals = dict(zip(g.inputs, xs))
        for node in g.nodes:
            args = [vals[n] if n in vals else (self.const(n) if n else None) for n in node.inputs]
            if node.op in WEIGHTED_OPS:
                y = run_layer(node, args[0], args[1], args[2] if len(args) > 2 else None)
            elif node.op in ("AveragePool", "MaxPool"):
                y = _pool(args[0], node)
            elif node.op == "BatchNorm":
                y = _batchnorm(*args, node)
            else:
                y = _simple(node, args, g.tensor(node.outputs[0]).shape)
            vals[node.outputs[0]] = y
        outs = [vals[o] for o in g.outputs]
        out = outs[0] if len(outs) == 1 else tuple(outs)
        if taps:
            return out, {t: vals[t] for t in taps}
        return out


def run_float(graph: Graph, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """Run a batch (N, *input_shape[1:]) of float32 inputs; returns the first output."""
    mod = FloatModule(graph).eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(mod(torch.from_numpy(np.asarray(x[i:i + batch], np.float32))).numpy())
    return np.concatenate(outs)
