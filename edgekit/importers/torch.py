"""PyTorch -> float Graph, through torch.export.

Accepts an ``nn.Module`` plus an example input, an ``ExportedProgram``, or a `.pt2`
file written by ``torch.export.save``. Both the pre-dispatch ATen ops (conv2d,
batch_norm, pad, linear, ...) and their core-ATen decompositions (convolution,
_native_batch_norm_legit_no_training, addmm, ...) are understood.

PyTorch is NCHW, the IR NHWC: 4-D values are transposed at the boundary (input shape
[N,C,H,W] becomes [1,H,W,C]) and weights are re-laid-out; a flatten of a feature map
is only accepted where both layouts give the same order (H*W == 1 or C == 1).
"""
from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass

import numpy as np

from edgekit.errors import ModelLoadError, UnsupportedOpError
from edgekit.ir import Graph
from edgekit.ir.builder import GraphBuilder


@dataclass
class _Val:
    name: str          # IR tensor name
    nchw: bool         # a 4-D torch value stored NHWC in the IR


def _pair(v, default=(1, 1)) -> tuple[int, int]:
    if v is None or v == []:
        return default
    if isinstance(v, int):
        return (v, v)
    return (int(v[0]), int(v[1] if len(v) > 1 else v[0]))


class _Importer:
    def __init__(self, ep, name: str):
        self.ep = ep
        self.b = GraphBuilder(name)
        self.vals: dict[str, _Val] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.pending_pad: dict[str, tuple] = {}   # zero pads waiting to fold into a conv

    # -- placeholders ---------------------------------------------------------------
    def placeholders(self) -> None:
        sd, constants = self.ep.state_dict, getattr(self.ep, "constants", {})
        user = []
        for spec in self.ep.graph_signature.input_specs:
            kind = spec.kind.name
            if kind == "USER_INPUT":
                user.append(spec.arg.name)
            elif kind in ("PARAMETER", "BUFFER", "CONSTANT_TENSOR"):
                src = sd.get(spec.target, constants.get(spec.target))
                self.consts[spec.arg.name] = src.detach().cpu().numpy()
        if len(user) != 1:
            raise UnsupportedOpError("Model", self.b.name, f"{len(user)} user inputs (edgekit supports one)")
        node = next(n for n in self.ep.graph.nodes if n.name == user[0])
        shape = tuple(int(d) for d in node.meta["val"].shape)
        if len(shape) == 4:
            name = self.b.input(user[0], (1, shape[2], shape[3], shape[1]))
            self.vals[user[0]] = _Val(name, True)
        else:
            self.vals[user[0]] = _Val(self.b.input(user[0], (1, *shape[1:])), False)

    def const(self, arg) -> np.ndarray:
        if arg is None:
            return None
        if arg.name not in self.consts:
            raise UnsupportedOpError("weight", arg.name, "weights computed at run time are not supported")
        return self.consts[arg.name].astype(np.float32)

    def val(self, arg) -> _Val:
        if arg.name in self.pending_pad:  # a pad used by something other than a conv
            self._emit_pad(arg.name)
        if arg.name not in self.vals:
            raise UnsupportedOpError("value", arg.name, "produced by an unsupported construct")
        return self.vals[arg.name]

    # -- ops ------------------------------------------------------------------------
    def _emit_pad(self, key: str) -> None:
        src, (t, b, l, r) = self.pending_pad.pop(key)
        pads = ((0, 0), (t, b), (l, r), (0, 0))
        self.vals[key] = _Val(self.b.node("Pad", key, [src.name], pads=pads), True)

    def pad(self, n, x, pad, mode="constant", value=0.0):
        if mode != "constant" or len(pad) != 4 or not self.vals[x.name].nchw:
            raise UnsupportedOpError("aten.pad", n.name, "only constant padding of H and W")
        if float(value or 0.0) != 0.0:
            raise UnsupportedOpError("aten.pad", n.name, f"pad value {value} (only 0)")
        l, r, t, b = (int(p) for p in pad)
        self.pending_pad[n.name] = (self.vals[x.name], (t, b, l, r))

    def conv(self, n, x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
        pads = (0, 0, 0, 0)
        if x.name in self.pending_pad:
            src, pads = self.pending_pad.pop(x.name)
        else:
            src = self.val(x)
        wt, b = self.const(w), self.const(bias)
        if isinstance(padding, str):
            raise UnsupportedOpError("aten.conv2d", n.name, f"padding='{padding}'")
        ph, pw = _pair(padding, (0, 0))
        pads = (pads[0] + ph, pads[1] + ph, pads[2] + pw, pads[3] + pw)
        cout, cin_g, kh, kw = wt.shape
        cin = self.b.shape(src.name)[3]
        attrs = dict(stride=_pair(stride), dilation=_pair(dilation), pads=pads, activation="none")
        if groups == 1:
            op, w_ir = "Conv2D", wt.transpose(0, 2, 3, 1)
        elif groups == cin and cin_g == 1:
            op, w_ir = "DepthwiseConv2D", wt[:, 0].transpose(1, 2, 0)[None]
            attrs["depth_multiplier"] = cout // cin
        else:
            raise UnsupportedOpError("aten.conv2d", n.name, f"grouped convolution (groups={groups})")
        ins = [src.name, self.b.const(f"{n.name}/weight", np.ascontiguousarray(w_ir))]
        if b is not None:
            ins.append(self.b.const(f"{n.name}/bias", b))
        self.vals[n.name] = _Val(self.b.node(op, n.name, ins, **attrs), True)

    def convolution(self, n, x, w, bias, stride, padding, dilation, transposed, out_pad, groups):
        if transposed:
            raise UnsupportedOpError("aten.convolution", n.name, "transposed convolution")
        self.conv(n, x, w, bias, stride, padding, dilation, groups)

    def batch_norm(self, n, x, w, b, mean, var, eps):
        src = self.val(x)
        c = self.b.shape(src.name)[-1]
        gamma = self.const(w) if w is not None else np.ones(c, np.float32)
        beta = self.const(b) if b is not None else np.zeros(c, np.float32)
        ins = [src.name] + [self.b.const(f"{n.name}/{k}", v) for k, v in
                            (("gamma", gamma), ("beta", beta), ("mean", self.const(mean)),
                             ("var", self.const(var)))]
        self.vals[n.name] = _Val(self.b.node("BatchNorm", n.name, ins, eps=float(eps)), src.nchw)

    def unary(self, n, op, x, **attrs):
        src = self.val(x)
        self.vals[n.name] = _Val(self.b.node(op, n.name, [src.name], **attrs), src.nchw)

    def identity(self, n, x):
        self.vals[n.name] = self.val(x)

    def pool(self, n, op, x, kernel, stride=None, padding=0, ceil_mode=False, include_pad=True):
        src = self.val(x)
        kernel = _pair(kernel)
        ph, pw = _pair(padding, (0, 0))
        if ceil_mode:
            raise UnsupportedOpError(f"aten.{op}", n.name, "ceil_mode=True")
        if op == "AveragePool" and include_pad and (ph or pw):
            raise UnsupportedOpError("aten.avg_pool2d", n.name, "count_include_pad=True with padding")
        attrs = dict(kernel=kernel, stride=_pair(stride, kernel), pads=(ph, ph, pw, pw), activation="none")
        self.vals[n.name] = _Val(self.b.node(op, n.name, [src.name], **attrs), True)

    def global_pool(self, n, x, keepdim=True):
        src = self.val(x)
        h, w = self.b.shape(src.name)[1:3]
        y = self.b.node("AveragePool", n.name, [src.name], kernel=(h, w), stride=(1, 1),
                        pads=(0, 0, 0, 0), activation="none")
        if keepdim:
            self.vals[n.name] = _Val(y, True)
        else:
            c = self.b.shape(y)[3]
            self.vals[n.name] = _Val(self.b.node("Reshape", f"{n.name}_flat", [y], shape=(1, c)), False)

    def reshape(self, n, x, shape):
        src = self.val(x)
        s = self.b.shape(src.name)
        if src.nchw and len(s) == 4 and s[1] * s[2] != 1 and s[3] != 1:
            raise UnsupportedOpError(str(n.target), n.name,
                                     f"flatten of a {s[3]}x{s[1]}x{s[2]} feature map (NCHW and NHWC "
                                     "orders differ; pool to 1x1 first)")
        total = int(np.prod(s[1:]))
        shape = [int(d) for d in shape]
        known = int(np.prod([d for d in shape[1:] if d != -1])) or 1
        rest = tuple(total // known if d == -1 else d for d in shape[1:])
        if len(rest) == 3:
            raise UnsupportedOpError(str(n.target), n.name, "reshape to a 4-D tensor")
        self.vals[n.name] = _Val(self.b.node("Reshape", n.name, [src.name], shape=(1, *rest)), False)

    def linear(self, n, x, w, b=None, w_transposed=False):
        src = self.val(x)
        wt = self.const(w)
        wt = wt.T if w_transposed else wt
        ins = [src.name, self.b.const(f"{n.name}/weight", np.ascontiguousarray(wt))]
        if b is not None:
            ins.append(self.b.const(f"{n.name}/bias", self.const(b)))
        self.vals[n.name] = _Val(self.b.node("FullyConnected", n.name, ins, activation="none"), False)

    def softmax(self, n, x, dim):
        src = self.val(x)
        rank = len(self.b.shape(src.name))
        if src.nchw or dim % rank != rank - 1:
            raise UnsupportedOpError("aten.softmax", n.name, f"softmax over dim {dim} (only the last)")
        self.vals[n.name] = _Val(self.b.node("Softmax", n.name, [src.name], beta=1.0), False)

    def add(self, n, a, b, alpha=1):
        if alpha != 1 or not hasattr(b, "name"):
            raise UnsupportedOpError("aten.add", n.name, "only tensor + tensor")
        va, vb = self.val(a), self.val(b)
        self.vals[n.name] = _Val(self.b.node("Add", n.name, [va.name, vb.name], activation="none"), va.nchw)


def _dispatch(imp: _Importer, n) -> None:
    t = str(n.target)
    a, kw = list(n.args), dict(n.kwargs)
    op = t.split(".")[1] if t.startswith("aten.") else t
    if n.target is operator.getitem:
        if a[1] != 0:
            raise UnsupportedOpError("getitem", n.name, "only the first result of an op is supported")
        return imp.identity(n, a[0])
    table = {
        "pad": lambda: imp.pad(n, *a, **kw),
        "constant_pad_nd": lambda: imp.pad(n, a[0], a[1], "constant", a[2] if len(a) > 2 else 0.0),
        "conv2d": lambda: imp.conv(n, *a, **kw),
        "convolution": lambda: imp.convolution(n, *a),
        "batch_norm": lambda: imp.batch_norm(n, a[0], a[1], a[2], a[3], a[4], a[7]),
        "_native_batch_norm_legit_no_training": lambda: imp.batch_norm(n, *a[:5], a[6]),
        "relu": lambda: imp.unary(n, "ReLU", a[0]),
        "relu_": lambda: imp.unary(n, "ReLU", a[0]),
        "relu6": lambda: imp.unary(n, "ReLU6", a[0]),
        "hardtanh": lambda: _hardtanh(imp, n, a),
        "dropout": lambda: imp.identity(n, a[0]),
        "clone": lambda: imp.identity(n, a[0]),
        "contiguous": lambda: imp.identity(n, a[0]),
        "avg_pool2d": lambda: imp.pool(n, "AveragePool", a[0], a[1], *(a[2:4]),
                                       *(a[4:6] if len(a) > 4 else ())),
        "max_pool2d": lambda: _maxpool(imp, n, a),
        "adaptive_avg_pool2d": lambda: _adaptive(imp, n, a),
        "mean": lambda: _mean(imp, n, a, kw),
        "flatten": lambda: imp.reshape(n, a[0], [1, -1]),
        "view": lambda: imp.reshape(n, a[0], a[1]),
        "reshape": lambda: imp.reshape(n, a[0], a[1]),
        "linear": lambda: imp.linear(n, *a),
        "addmm": lambda: _addmm(imp, n, a),
        "permute": lambda: _permute(imp, n, a),
        "t": lambda: _permute(imp, n, [a[0], [1, 0]]),
        "softmax": lambda: imp.softmax(n, a[0], a[1]),
        "_softmax": lambda: imp.softmax(n, a[0], a[1]),
        "add": lambda: imp.add(n, *a, **kw),
    }
    if op not in table:
        raise UnsupportedOpError(t, n.name)
    try:
        table[op]()
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError, OverflowError) as e:
        # torch.export accepted the graph, but this call's arguments are not of a form
        # the mapping knows (a corrupt or hand-edited .pt2 gets here)
        raise UnsupportedOpError(t, n.name, f"arguments not understood "
                                 f"({type(e).__name__}: {str(e)[:120]})") from None


def _hardtanh(imp, n, a):
    lo, hi = (float(a[1]) if len(a) > 1 else -1.0), (float(a[2]) if len(a) > 2 else 1.0)
    if (lo, hi) != (0.0, 6.0):
        raise UnsupportedOpError("aten.hardtanh", n.name, f"range ({lo}, {hi}) (only ReLU6)")
    imp.unary(n, "ReLU6", a[0])


def _maxpool(imp, n, a):
    if len(a) > 4 and _pair(a[4]) != (1, 1):
        raise UnsupportedOpError("aten.max_pool2d", n.name, "dilation")
    imp.pool(n, "MaxPool", a[0], a[1], a[2] if len(a) > 2 else None, a[3] if len(a) > 3 else 0,
             a[5] if len(a) > 5 else False)


def _adaptive(imp, n, a):
    if _pair(a[1]) != (1, 1):
        raise UnsupportedOpError("aten.adaptive_avg_pool2d", n.name, f"output size {a[1]} (only 1x1)")
    imp.global_pool(n, a[0], keepdim=True)


def _mean(imp, n, a, kw):
    dims = sorted(int(d) % 4 for d in a[1])
    if dims != [2, 3] or not imp.vals[a[0].name].nchw:
        raise UnsupportedOpError("aten.mean", n.name, f"mean over dims {a[1]} (only spatial)")
    imp.global_pool(n, a[0], keepdim=bool(a[2] if len(a) > 2 else kw.get("keepdim", False)))


def _permute(imp, n, a):
    """Only the transpose of a 2-D weight (as in linear's decomposition) is accepted."""
    if a[0].name in imp.consts and [int(d) for d in a[1]] == [1, 0]:
        imp.consts[n.name] = imp.consts[a[0].name].T
        return
    raise UnsupportedOpError("aten.permute", n.name, "permutes of activations")


def _addmm(imp, n, a):
    bias, x, w = a[0], a[1], a[2]
    if w.name not in imp.consts:
        raise UnsupportedOpError("aten.addmm", n.name, "matrix product with a run-time matrix")
    imp.linear(n, x, w, bias, w_transposed=True)


def graph_from_exported(ep, name: str = "model") -> Graph:
    imp = _Importer(ep, name)
    try:
        imp.placeholders()
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, StopIteration) as e:
        raise ModelLoadError(f"program inputs not understood ({type(e).__name__}: {str(e)[:120]})") from None
    outputs = []
    for n in ep.graph.nodes:
        if n.op == "call_function":
            _dispatch(imp, n)
        elif n.op == "output":
            outs = n.args[0] if isinstance(n.args[0], (list, tuple)) else [n.args[0]]
            outputs = [imp.val(o).name for o in outs if o is not None]
    return imp.b.build(outputs, {"format": "torch", "layout": "NCHW"})


def graph_from_torch(module, example_input, name: str | None = None) -> Graph:
    """nn.Module (in eval mode) + one example input -> float Graph."""
    import torch
    module = module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ep = torch.export.export(module, (example_input,))
    return graph_from_exported(ep, name or type(module).__name__)


def graph_from_pt2_file(path: str, name: str = "model") -> Graph:
    import torch
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep = torch.export.load(path)
    except Exception as e:  # torch raises many types for corrupt archives
        msg = str(e).splitlines()[0] if str(e) else ""
        raise ModelLoadError(f"{path}: cannot load .pt2 (torch.export.save) file: "
                             f"{type(e).__name__}: {msg[:200]}") from None
    try:
        return graph_from_exported(ep, name)
    except ModelLoadError as e:
        raise ModelLoadError(f"{path}: {e}") from None
