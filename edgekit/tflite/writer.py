"""int8 Graph -> .tflite flatbuffer (int8 input and output), loadable by TFLM and LiteRT.

Built with the object API of LiteRT's generated schema and packed by `flatbuffers`, so
the file layout is the official one. Padding that TFLite's SAME/VALID cannot express is
emitted as an explicit PAD op. Output is deterministic: same graph, same bytes.
"""
from __future__ import annotations

import flatbuffers
import numpy as np

from edgekit import __version__
from edgekit.errors import UnsupportedOpError
from edgekit.ir import Graph, Node, Tensor
from edgekit.ir.ops import same_pads
from edgekit.tflite.schema import ACTIVATION_CODES, DTYPE_CODES, OPCODES, schema


class _Writer:
    def __init__(self, graph: Graph):
        self.s = schema()
        self.g = graph
        self.buffers = [self.s.BufferT()]
        self.tensors: list = []
        self.index: dict[str, int] = {}
        self.opcodes: list = []
        self.opcode_index: dict[str, int] = {}
        self.operators: list = []

    def tensor(self, t: Tensor) -> int:
        if t.name in self.index:
            return self.index[t.name]
        s = self.s
        tt = s.TensorT()
        tt.shape = np.asarray(t.shape, np.int32)
        tt.type = DTYPE_CODES[t.dtype]
        tt.name = t.name.encode()
        tt.buffer = 0
        if t.data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(t.data).astype(t.data.dtype.newbyteorder("<")).tobytes(),
                                   np.uint8)
            self.buffers.append(b)
            tt.buffer = len(self.buffers) - 1
        if t.quant is not None:
            q = s.QuantizationParametersT()
            q.scale = [float(v) for v in t.quant.scale]
            q.zeroPoint = [int(v) for v in t.quant.zero_point]
            q.quantizedDimension = int(t.quant.axis or 0)
            tt.quantization = q
        self.tensors.append(tt)
        self.index[t.name] = len(self.tensors) - 1
        return self.index[t.name]

    def opcode(self, op: str) -> int:
        name, version = OPCODES[op]
        if name not in self.opcode_index:
            oc = self.s.OperatorCodeT()
            code = getattr(self.s.BuiltinOperator, name)
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = version
            self.opcodes.append(oc)
            self.opcode_index[name] = len(self.opcodes) - 1
        return self.opcode_index[name]

    def operator(self, op: str, inputs: list[int], outputs: list[int], opt_type: str | None, opt) -> None:
        o = self.s.OperatorT()
        o.opcodeIndex = self.opcode(op)
        o.inputs = np.asarray(inputs, np.int32)
        o.outputs = np.asarray(outputs, np.int32)
        if opt_type:
            o.builtinOptionsType = getattr(self.s.BuiltinOptions, opt_type)
            o.builtinOptions = opt
        self.operators.append(o)

    def const(self, name: str, data: np.ndarray) -> int:
        return self.tensor(Tensor(name, tuple(data.shape), str(data.dtype), data))


def _padding(node: Node, x: Tensor, kh: int, kw: int) -> int | None:
    """TFLite padding code (0 SAME, 1 VALID) reproducing node's pads, or None."""
    pads = tuple(node.attr("pads", (0, 0, 0, 0)))
    sh, sw = node.attr("stride", (1, 1))
    dh, dw = node.attr("dilation", (1, 1))
    same = (*same_pads(x.shape[1], kh, sh, dh), *same_pads(x.shape[2], kw, sw, dw))
    if pads == same:
        return 0
    return 1 if pads == (0, 0, 0, 0) else None


def _explicit_pad(w: _Writer, node: Node, x_name: str) -> str:
    """Emit PAD in front of a windowed op whose padding SAME/VALID cannot express."""
    x = w.g.tensor(x_name)
    t, b, l, r = node.attr("pads")
    shape = (x.shape[0], x.shape[1] + t + b, x.shape[2] + l + r, x.shape[3])
    padded = Tensor(f"{node.name}/pad", shape, x.dtype, None, x.quant)
    pads = np.array([[0, 0], [t, b], [l, r], [0, 0]], np.int32)
    w.operator("Pad", [w.tensor(x), w.const(f"{node.name}/paddings", pads)], [w.tensor(padded)],
               "PadOptions", w.s.PadOptionsT())
    w.g = w.g.replace(tensors={**w.g.tensors, padded.name: padded})
    return padded.name


def _windowed(w: _Writer, node: Node) -> None:
    s, g = w.s, w.g
    x_name = node.inputs[0]
    kh, kw = node.attr("kernel") if "kernel" in node.attrs else g.tensor(node.inputs[1]).shape[1:3]
    padding = _padding(node, g.tensor(x_name), kh, kw)
    if padding is None and node.op in ("AveragePool", "MaxPool"):
        # a PAD in front would put the zero point into the windows, which the IR's pools
        # (and the C kernels) leave out: the file would compute something else
        raise UnsupportedOpError(node.op, node.name, f"pads {tuple(node.attr('pads'))} are neither "
                                 "TFLite's SAME nor VALID, and a .tflite pool cannot exclude explicit padding")
    if padding is None:
        x_name, padding = _explicit_pad(w, node, x_name), 1
    sh, sw = node.attr("stride", (1, 1))
    if node.op in ("AveragePool", "MaxPool"):
        opt, kind = s.Pool2DOptionsT(), "Pool2DOptions"
        opt.filterHeight, opt.filterWidth = int(kh), int(kw)
    else:
        dh, dw = node.attr("dilation", (1, 1))
        if node.op == "Conv2D":
            opt, kind = s.Conv2DOptionsT(), "Conv2DOptions"
        else:
            opt, kind = s.DepthwiseConv2DOptionsT(), "DepthwiseConv2DOptions"
            opt.depthMultiplier = int(node.attr("depth_multiplier", 1))
        opt.dilationHFactor, opt.dilationWFactor = int(dh), int(dw)
    opt.padding, opt.strideH, opt.strideW = padding, int(sh), int(sw)
    opt.fusedActivationFunction = ACTIVATION_CODES[node.attr("activation", "none")]
    ins = [w.tensor(w.g.tensor(x_name))] + [w.tensor(w.g.tensor(i)) if i else -1 for i in node.inputs[1:]]
    w.operator(node.op, ins, [w.tensor(w.g.tensor(node.outputs[0]))], kind, opt)


def _other(w: _Writer, node: Node) -> None:
    s, g = w.s, w.g
    ins = [w.tensor(g.tensor(i)) if i else -1 for i in node.inputs]
    out = [w.tensor(g.tensor(node.outputs[0]))]
    if node.op == "FullyConnected":
        opt = s.FullyConnectedOptionsT()
        opt.fusedActivationFunction = ACTIVATION_CODES[node.attr("activation", "none")]
        opt.keepNumDims = bool(node.attr("keep_dims", False))
        w.operator(node.op, ins, out, "FullyConnectedOptions", opt)
    elif node.op == "Reshape":
        shape = np.asarray(g.tensor(node.outputs[0]).shape, np.int32)
        opt = s.ReshapeOptionsT()
        opt.newShape = shape
        w.operator(node.op, ins + [w.const(f"{node.name}/shape", shape)], out, "ReshapeOptions", opt)
    elif node.op == "Softmax":
        opt = s.SoftmaxOptionsT()
        opt.beta = float(node.attr("beta", 1.0))
        w.operator(node.op, ins, out, "SoftmaxOptions", opt)
    elif node.op == "Add":
        opt = s.AddOptionsT()
        opt.fusedActivationFunction = ACTIVATION_CODES[node.attr("activation", "none")]
        w.operator(node.op, ins, out, "AddOptions", opt)
    elif node.op == "Pad":
        pads = np.asarray(node.attr("pads"), np.int32)
        w.operator(node.op, ins + [w.const(f"{node.name}/paddings", pads)], out, "PadOptions", s.PadOptionsT())
    else:
        raise UnsupportedOpError(node.op, node.name, "cannot be exported to int8 .tflite")


def export_tflite(graph: Graph, description: str | None = None) -> bytes:
    """Serialize an int8 graph; raises UnsupportedOpError for ops TFLite int8 lacks."""
    w = _Writer(graph)
    for name in graph.inputs:
        w.tensor(graph.tensor(name))
    for node in graph.nodes:
        if node.op not in OPCODES or node.op in ("BatchNorm", "Dropout"):
            raise UnsupportedOpError(node.op, node.name, "fold or remove it before export")
        if node.op in ("Conv2D", "DepthwiseConv2D", "AveragePool", "MaxPool"):
            _windowed(w, node)
        else:
            _other(w, node)
    s = w.s
    sg = s.SubGraphT()
    sg.tensors, sg.operators = w.tensors, w.operators
    sg.inputs = np.asarray([w.index[n] for n in graph.inputs], np.int32)
    sg.outputs = np.asarray([w.index[n] for n in graph.outputs], np.int32)
    sg.name = b"main"
    m = s.ModelT()
    m.version = 3
    m.operatorCodes, m.subgraphs, m.buffers = w.opcodes, [sg], w.buffers
    m.description = (description or f"edgekit {__version__}").encode()
    b = flatbuffers.Builder(1 << 16)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
