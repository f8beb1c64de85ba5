"""TF1 frozen graphs (`.pb` GraphDef, ARM ML-KWS-for-MCU style) -> float Graph + FeatureSpec.

Such a graph holds its own front end: wav_data -> DecodeWav -> AudioSpectrogram -> Mfcc
-> Reshape(s) -> network -> Softmax. The import:
1. parses the GraphDef with TF's protobufs (a `.pb` has no magic: a file that does not
   parse, or parses to no nodes, is not one) and imports it into a tf.Graph, which checks
   the wiring and gives the static shapes;
2. reads the front end's attributes (AudioSpectrogram window_size / stride /
   magnitude_squared, Mfcc limits and counts, the clip from DecodeWav's desired_samples,
   the sample rate from a Const, or the wav's own -- 16000 assumed) into a FeatureSpec of
   kind tf1-mfcc;
3. cuts the graph at the feature tensor: the data input of the first Conv2D /
   DepthwiseConv2dNative after the front end (or a tensor named by the caller). Only
   layout ops (Reshape, Squeeze, ExpandDims, Identity) may stand between the Mfcc and
   the cut: any other op would change the features, and the firmware would not compute
   them, so such a graph is refused;
4. maps the network's ops to the IR. Variables frozen to Const (through Identity reads)
   are weights; BiasAdd (or Add of a constant vector) after a Conv2D / depthwise /
   MatMul becomes that node's bias; FusedBatchNorm(V3) stays BatchNorm (data-free
   synthesis reads its statistics).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from edgekit.errors import ModelLoadError, UnsupportedOpError
from edgekit.ir import Graph
from edgekit.ir.builder import GraphBuilder
from edgekit.ir.ops import WEIGHTED_OPS, same_pads

CONV_OPS = ("Conv2D", "DepthwiseConv2dNative")
LAYOUT_OPS = ("Reshape", "Squeeze", "ExpandDims", "Identity", "StopGradient", "Snapshot")
PASS_OPS = ("Identity", "StopGradient", "Snapshot")
ASSUMED_RATE = 16000


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgekit.native_io import quiet_native_stderr

    with quiet_native_stderr():
        import tensorflow as tf
    return tf


def parse_graphdef(data: bytes, path: str):
    """The GraphDef in `data`, or ModelLoadError (one line)."""
    tf = _tf()
    gd = tf.compat.v1.GraphDef()
    try:
        gd.ParseFromString(data)
    except Exception as e:  # google.protobuf.message.DecodeError and friends
        raise ModelLoadError(f"{path}: not a TensorFlow GraphDef (.pb does not parse: "
                             f"{type(e).__name__}: {str(e)[:120]})") from None
    if not gd.node or not all(n.name and n.op for n in gd.node):
        hint = ""
        try:
            from tensorflow.core.protobuf import saved_model_pb2
            saved = saved_model_pb2.SavedModel()
            saved.ParseFromString(data)
            if saved.meta_graphs:
                hint = " (it is a SavedModel's saved_model.pb: freeze it to a GraphDef first)"
        except Exception:
            pass
        raise ModelLoadError(f"{path}: not a TensorFlow GraphDef (no nodes){hint}")
    return gd


class _Graph:
    """The GraphDef's nodes by name, consumers, and TF's view of it (static shapes)."""

    def __init__(self, gd, path: str):
        tf = _tf()
        self.path, self.nodes = path, {n.name: n for n in gd.node}
        self.consumers: dict[str, list] = {}          # tensor -> nodes reading it
        self.readers: dict[str, list] = {}            # node -> nodes reading any of its outputs
        for n in gd.node:
            for i in self.data_inputs(n):
                self.consumers.setdefault(i, []).append(n)
                self.readers.setdefault(i.split(":")[0], []).append(n)
        self.tfg = tf.Graph()
        try:
            with self.tfg.as_default():
                tf.graph_util.import_graph_def(gd, name="")
        except Exception as e:  # unknown ops, broken wiring, bad attributes
            raise ModelLoadError(f"{path}: TensorFlow cannot load the graph "
                                 f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None

    @staticmethod
    def tensor(name: str) -> str:
        return name if ":" in name else name + ":0"

    def data_inputs(self, n) -> list[str]:
        return [self.tensor(i) for i in n.input if not i.startswith("^")]

    def producer(self, tensor: str):
        return self.nodes[tensor.split(":")[0]]

    def through(self, tensor: str) -> str:
        """Follow Identity-like ops back to the tensor they forward."""
        while self.producer(tensor).op in PASS_OPS:
            tensor = self.data_inputs(self.producer(tensor))[0]
        return tensor

    def const(self, tensor: str) -> np.ndarray | None:
        n = self.producer(self.through(tensor))
        if n.op != "Const":
            return None
        from tensorflow.python.framework import tensor_util
        return tensor_util.MakeNdarray(n.attr["value"].tensor)

    def static_shape(self, tensor: str) -> list[int | None]:
        shape = self.tfg.get_tensor_by_name(tensor).shape
        return [] if shape.rank is None else shape.as_list()

    def topo(self) -> list:
        order, seen = [], set()
        for root in self.nodes.values():
            stack = [(root, False)]
            while stack:
                n, done = stack.pop()
                if done:
                    order.append(n)
                    continue
                if n.name in seen:
                    continue
                seen.add(n.name)
                stack.append((n, True))
                stack.extend((self.producer(i), False) for i in self.data_inputs(n) if self.producer(i).name not in seen)
        return order


def _attr(n, key: str, default=None):
    if key not in n.attr:
        return default
    a = n.attr[key]
    kind = a.WhichOneof("value")
    if kind == "list":
        lst = a.list
        return list(lst.i) or list(lst.f) or [s.decode() for s in lst.s]
    v = getattr(a, kind)
    return v.decode() if isinstance(v, bytes) else v


# ---------------------------------------------------------------- the front end

def _one(g: _Graph, op: str):
    found = [n for n in g.nodes.values() if n.op == op]
    if len(found) > 1:
        raise UnsupportedOpError(op, found[1].name, f"{len(found)} {op} nodes (edgekit takes one front end)")
    return found[0] if found else None


def front_end(g: _Graph):
    """(FeatureSpec of kind tf1-mfcc, note on where the sample rate came from, Mfcc node), or
    (None, None, None) for a graph without an Mfcc op."""
    from edgekit.audio.features import FeatureSpecError, tf1_mfcc_spec

    mfcc = _one(g, "Mfcc")
    if mfcc is None:
        if _one(g, "AudioSpectrogram") is not None:
            raise UnsupportedOpError("AudioSpectrogram", _one(g, "AudioSpectrogram").name,
                                     "a spectrogram without Mfcc (edgekit knows the tf1-mfcc front end only)")
        return None, None, None
    spg_t, rate_t = (g.through(t) for t in g.data_inputs(mfcc))
    spg = g.producer(spg_t)
    if spg.op != "AudioSpectrogram":
        raise UnsupportedOpError("Mfcc", mfcc.name, f"its spectrogram comes from {spg.op} '{spg.name}', "
                                 "not an AudioSpectrogram")
    rate = g.const(rate_t)
    if rate is not None:
        rate, note = int(rate), "Mfcc sample rate: a constant"
    elif g.producer(rate_t).op == "DecodeWav":
        rate, note = ASSUMED_RATE, f"Mfcc sample rate: the wav's own ({ASSUMED_RATE} assumed)"
    else:
        raise UnsupportedOpError("Mfcc", mfcc.name, f"sample rate from {g.producer(rate_t).op} "
                                 f"'{g.producer(rate_t).name}' (a constant or DecodeWav's expected)")
    audio_t = g.through(g.data_inputs(spg)[0])
    src = g.producer(audio_t)
    clip = _attr(src, "desired_samples", -1) if src.op == "DecodeWav" else (g.static_shape(audio_t) or [None])[0]
    if not clip or clip < 0:
        raise UnsupportedOpError(src.op, src.name, "the clip length is not fixed (DecodeWav desired_samples "
                                 "or a static audio shape is needed)")
    if src.op == "DecodeWav" and _attr(src, "desired_channels", 1) not in (1, -1):
        raise UnsupportedOpError("DecodeWav", src.name, f"desired_channels {_attr(src, 'desired_channels')} "
                                 "(mono only)")
    win, hop = int(_attr(spg, "window_size")), int(_attr(spg, "stride"))
    kw = dict(sample_rate=rate, clip_ms=clip * 1000 / rate, window_ms=win * 1000 / rate, hop_ms=hop * 1000 / rate,
              channels=int(_attr(mfcc, "filterbank_channel_count", 40)),
              lower_hz=float(_attr(mfcc, "lower_frequency_limit", 20.0)),
              upper_hz=float(_attr(mfcc, "upper_frequency_limit", 4000.0)),
              coefficients=int(_attr(mfcc, "dct_coefficient_count", 13)),
              magnitude_squared=bool(_attr(spg, "magnitude_squared", False)))
    if kw["clip_ms"] != int(kw["clip_ms"]):
        raise UnsupportedOpError(src.op, src.name, f"a clip of {clip} samples at {rate} Hz is not a whole "
                                 "number of milliseconds")
    kw["clip_ms"] = int(kw["clip_ms"])
    try:
        spec = tf1_mfcc_spec(**kw).validate()
    except FeatureSpecError as e:
        raise FeatureSpecError(f"{g.path}: the graph's front end: {e}") from None
    if (spec.window, spec.hop, spec.clip) != (win, hop, clip):
        raise UnsupportedOpError("AudioSpectrogram", spg.name, f"window {win} / stride {hop} samples at "
                                 f"{rate} Hz are not representable in milliseconds")
    return spec, note, mfcc


def _downstream(g: _Graph, start: str) -> set[str]:
    """Names of the nodes that depend on tensor `start` (data edges)."""
    out = set()
    todo = list(g.consumers.get(start, []))
    while todo:
        n = todo.pop()
        if n.name not in out:
            out.add(n.name)
            todo.extend(g.readers.get(n.name, []))
    return out


def feature_tensor(g: _Graph, mfcc, name: str | None = None) -> str:
    """The tensor the network starts from (see the module docstring)."""
    order = g.topo()
    if name:
        t = g.tensor(name)
        if t.split(":")[0] not in g.nodes:
            raise ModelLoadError(f"{g.path}: --feature-tensor '{name}': no such tensor in the graph")
    else:
        after = _downstream(g, f"{mfcc.name}:0") if mfcc is not None else set(g.nodes)
        convs = [n for n in order if n.op in CONV_OPS and n.name in after]
        if not convs:
            where = f"after the front end ('{mfcc.name}')" if mfcc is not None else "in the graph"
            raise ModelLoadError(f"{g.path}: no Conv2D or DepthwiseConv2dNative {where}: edgekit finds the "
                                 "features at the input of the first convolution (name them with --feature-tensor)")
        t = g.data_inputs(convs[0])[0]
    if mfcc is not None:                # only layout ops between the Mfcc and the cut
        if t.split(":")[0] not in _downstream(g, f"{mfcc.name}:0"):
            raise ModelLoadError(f"{g.path}: the features '{t}' are not computed from the front end "
                                 f"('{mfcc.name}')")
        cur = t
        while g.producer(cur).name != mfcc.name:
            n = g.producer(cur)
            if n.op not in LAYOUT_OPS:
                raise UnsupportedOpError(n.op, n.name, f"between the Mfcc and the features the network reads "
                                         f"('{t}'): it changes the features, and the firmware's front end "
                                         "computes the Mfcc only")
            cur = g.data_inputs(n)[0]
    return t


# ---------------------------------------------------------------- the network

def _pads(n, x_shape, k: tuple[int, int], stride, dil=(1, 1)):
    pad = _attr(n, "padding")
    if pad == "VALID":
        return (0, 0, 0, 0)
    if pad == "SAME":
        return (*same_pads(x_shape[1], k[0], stride[0], dil[0]), *same_pads(x_shape[2], k[1], stride[1], dil[1]))
    raise UnsupportedOpError(n.op, n.name, f"padding {pad}")


def _nhwc(n, what: str = "strides") -> tuple[int, int]:
    if _attr(n, "data_format", "NHWC") != "NHWC":
        raise UnsupportedOpError(n.op, n.name, f"data_format {_attr(n, 'data_format')} (NHWC only)")
    v = _attr(n, what, [1, 1, 1, 1])
    if v[0] != 1 or v[3] != 1:
        raise UnsupportedOpError(n.op, n.name, f"{what} {v} on the batch or channel axis")
    return int(v[1]), int(v[2])


class _Importer:
    def __init__(self, g: _Graph, b: GraphBuilder):
        self.g, self.b = g, b
        self.ir: dict[str, str] = {}          # TF tensor -> IR tensor

    def weight(self, n, k: int) -> np.ndarray:
        v = self.g.const(self.g.data_inputs(n)[k])
        if v is None:
            raise UnsupportedOpError(n.op, n.name, f"input {k} is not a constant (a frozen graph's weights are)")
        return np.asarray(v, np.float32)

    def x(self, n, k: int = 0) -> str:
        t = self.g.data_inputs(n)[k]
        if t not in self.ir:
            raise UnsupportedOpError(n.op, n.name, f"input '{t}' is neither a constant nor computed from the features")
        return self.ir[t]

    def node(self, n) -> str:
        op, b, name = n.op, self.b, n.name
        if op in PASS_OPS:
            return self.x(n)
        if op == "Conv2D":
            s, d = _nhwc(n), _nhwc(n, "dilations")
            w = self.weight(n, 1)                                     # HWIO
            x = self.x(n)
            attrs = dict(stride=s, dilation=d, pads=_pads(n, b.shape(x), w.shape[:2], s, d), activation="none")
            return b.node("Conv2D", name, [x, b.const(f"{name}/weights", np.transpose(w, (3, 0, 1, 2)))], **attrs)
        if op == "DepthwiseConv2dNative":
            s, d = _nhwc(n), _nhwc(n, "dilations")
            w = self.weight(n, 1)                                     # [kh, kw, cin, m]
            kh, kw, cin, m = w.shape
            x = self.x(n)
            attrs = dict(stride=s, dilation=d, pads=_pads(n, b.shape(x), (kh, kw), s, d), activation="none",
                         depth_multiplier=int(m))
            return b.node("DepthwiseConv2D", name, [x, b.const(f"{name}/weights", w.reshape(1, kh, kw, cin * m))],
                          **attrs)
        if op == "MatMul":
            if _attr(n, "transpose_a", False):
                raise UnsupportedOpError(op, name, "transpose_a")
            w = self.weight(n, 1)
            w = w if _attr(n, "transpose_b", False) else w.T               # IR: [out, in]
            x = self.x(n)
            if len(b.shape(x)) != 2:
                raise UnsupportedOpError(op, name, f"input of rank {len(b.shape(x))}")
            return b.node("FullyConnected", name, [x, b.const(f"{name}/weights", w)], activation="none")
        if op in ("BiasAdd", "Add", "AddV2"):
            return self.add(n)
        if op in ("FusedBatchNorm", "FusedBatchNormV3"):
            _nhwc(n, "strides")
            if _attr(n, "is_training", False):
                raise UnsupportedOpError(op, name, "is_training=True (a training graph: freeze the inference one)")
            consts = [b.const(f"{name}/{r}", self.weight(n, k)) for k, r in
                      enumerate(("gamma", "beta", "mean", "var"), 1)]
            return b.node("BatchNorm", name, [self.x(n), *consts], eps=float(_attr(n, "epsilon", 1e-4)))
        if op in ("Relu", "Relu6"):
            return b.node({"Relu": "ReLU", "Relu6": "ReLU6"}[op], name, [self.x(n)])
        if op in ("AvgPool", "MaxPool"):
            k, s = _nhwc(n, "ksize"), _nhwc(n)
            x = self.x(n)
            return b.node({"AvgPool": "AveragePool", "MaxPool": "MaxPool"}[op], name, [x], kernel=k, stride=s,
                          pads=_pads(n, b.shape(x), k, s), activation="none")
        if op in ("Reshape", "Squeeze", "ExpandDims"):
            x = self.x(n)
            return b.node("Reshape", name, [x], shape=self.reshaped(n, b.shape(x)))
        if op == "Mean":
            axes = self.g.const(self.g.data_inputs(n)[1])
            if axes is None:
                raise UnsupportedOpError(op, name, "axes not constant")
            return b.node("Mean", name, [self.x(n)], axes=tuple(int(a) for a in np.ravel(axes)),
                          keep_dims=bool(_attr(n, "keep_dims", False)))
        if op == "Softmax":
            return b.node("Softmax", name, [self.x(n)], beta=1.0)
        raise UnsupportedOpError(op, name)

    def reshaped(self, n, shape: tuple[int, ...]) -> tuple[int, ...]:
        size = int(np.prod(shape))
        if n.op == "Squeeze":
            dims = {d % len(shape) for d in _attr(n, "squeeze_dims", [])} or {i for i, d in enumerate(shape) if d == 1}
            out = [d for i, d in enumerate(shape) if i not in dims or i == 0]
        elif n.op == "ExpandDims":
            ax = int(np.ravel(self.g.const(self.g.data_inputs(n)[1]))[0])
            out = list(shape)
            out.insert(ax % (len(shape) + 1), 1)
        else:
            t = self.g.const(self.g.data_inputs(n)[1])
            if t is None:
                raise UnsupportedOpError(n.op, n.name, "target shape not constant")
            out = [int(d) for d in np.ravel(t)]
            if out and out[0] == -1 and out.count(-1) == 1:
                out[0] = 1                                          # the batch
            if -1 in out:
                known = int(np.prod([d for d in out if d != -1]))
                out = [size // known if d == -1 else d for d in out]
        if int(np.prod(out)) != size:
            raise UnsupportedOpError(n.op, n.name, f"reshape of {list(shape)} to {out}")
        return tuple(out)

    def add(self, n) -> str:
        """BiasAdd / Add: a constant vector after a weighted node is its bias; two computed
        tensors are an Add."""
        ins = self.g.data_inputs(n)
        consts = [self.g.const(t) for t in ins]
        if all(c is None for c in consts):
            return self.b.node("Add", n.name, [self.x(n, 0), self.x(n, 1)], activation="none")
        k = 0 if consts[1] is not None else 1
        x, bias = self.x(n, k), np.asarray(consts[1 - k], np.float32)
        i = next((j for j, nd in enumerate(self.b.nodes) if nd.outputs[0] == x), None)
        prod = self.b.nodes[i] if i is not None else None
        single = len(self.g.consumers.get(ins[k], [])) == 1
        if (prod is None or prod.op not in WEIGHTED_OPS or len(prod.inputs) != 2 or not single
                or bias.size != self.b.shape(x)[-1]):
            raise UnsupportedOpError(n.op, n.name, "adds a constant that is not the bias of a Conv2D, depthwise "
                                     "or MatMul right before it")
        bname = self.b.const(f"{prod.name}/bias", bias.reshape(-1))
        self.b.nodes[i] = dataclasses.replace(prod, inputs=(*prod.inputs, bname))
        return x


def graph_from_graphdef(gd, path: str, name: str, feature_tensor_name: str | None = None) -> tuple[Graph, object]:
    """(float Graph from the feature tensor to the outputs, the graph's FeatureSpec or None)."""
    g = _Graph(gd, path)
    spec, note, mfcc = front_end(g)
    start = feature_tensor(g, mfcc, feature_tensor_name)
    shape = g.static_shape(start)
    if not shape or any(d is None for d in shape[1:]):
        raise ModelLoadError(f"{path}: the features '{start}' have no static shape ({shape}); "
                             "edgekit needs the feature map's size")
    b = GraphBuilder(name)
    imp = _Importer(g, b)
    imp.ir[start] = b.input(start.split(":")[0], (1, *shape[1:]))
    region = _downstream(g, start)
    for n in g.topo():
        if n.name in region:
            out = imp.node(n)
            imp.ir[f"{n.name}:0"] = out
    sinks = [n for n in g.topo() if n.name in region
             and not any(c.name in region for c in g.consumers.get(f"{n.name}:0", []))]
    if not sinks:
        raise ModelLoadError(f"{path}: nothing is computed from the features '{start}'")
    meta = {"format": "tf1", "layout": "NHWC", "feature_tensor": start, "output_tensors": [f"{s.name}:0" for s in sinks]}
    if spec is not None:
        meta["front_end_note"] = note
    return b.build([imp.ir[f"{s.name}:0"] for s in sinks], meta), spec


def graph_from_pb_bytes(data: bytes, path: str, name: str, feature_tensor_name: str | None = None) -> Graph:
    return graph_from_graphdef(parse_graphdef(data, path), path, name, feature_tensor_name)[0]


def spec_from_pb(path: str):
    """(the front end a `.pb` graph carries as a FeatureSpec, or None; a note on it)."""
    with open(path, "rb") as f:
        g = _Graph(parse_graphdef(f.read(), path), path)
    spec, note, _ = front_end(g)
    return spec, note
