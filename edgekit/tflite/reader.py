"""TFLite flatbuffer -> Graph (float or int8, per-tensor or per-channel quantization).

The flatbuffer is read with the schema bindings LiteRT ships (pure Python, no
interpreter), then mapped op by op. Anything the bytes do not support - a wrong file
identifier, offsets out of range, an op outside the IR op set - ends in a ModelLoadError
or UnsupportedOpError naming the problem.
"""
from __future__ import annotations

import numpy as np

from edgekit.errors import GraphError, ModelLoadError, UnsupportedOpError
from edgekit.ir import Graph, Node, QuantParams, Tensor
from edgekit.ir.ops import same_pads
from edgekit.tflite.schema import ACTIVATION_NAMES, DTYPE_NAMES, op_names, schema


def _parse(buf: bytes, path: str):
    s = schema()
    if len(buf) < 8:
        raise ModelLoadError(f"{path}: truncated .tflite file ({len(buf)} bytes)")
    if buf[4:8] != b"TFL3":
        raise ModelLoadError(f"{path}: not a TFLite flatbuffer (file identifier "
                             f"{buf[4:8]!r}, expected b'TFL3')")
    try:
        model = s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))
    except Exception as e:  # flatbuffers raises anything on corrupt offsets
        raise ModelLoadError(f"{path}: corrupt or truncated .tflite file "
                             f"({type(e).__name__}: {e})") from None
    if not model.subgraphs:
        raise ModelLoadError(f"{path}: .tflite file has no subgraph")
    if len(model.subgraphs) > 1:
        raise ModelLoadError(f"{path}: .tflite file has {len(model.subgraphs)} subgraphs; "
                             "edgekit supports single-subgraph models")
    return model


def _ints(v) -> list[int]:
    """A flatbuffer int vector (absent in the file -> None) as a list."""
    return [] if v is None else [int(x) for x in v]


_MAX_ELEMENTS = 1 << 28  # no microcontroller model has a tensor this large; refuse before allocating


def _check_structure(model, sg, path: str) -> None:
    """Every index in range, every shape sane: a corrupt file fails here, by name, instead
    of deep inside the mapping."""
    n = len(sg.tensors or [])
    if n == 0:
        raise ModelLoadError(f"{path}: .tflite subgraph has no tensors")

    def check(j, what: str, optional: bool = False) -> None:
        if not (-1 if optional else 0) <= j < n:
            raise ModelLoadError(f"{path}: {what} refers to tensor {j}; the subgraph has {n}")

    for j in _ints(sg.inputs):
        check(j, "a subgraph input")
    for j in _ints(sg.outputs):
        check(j, "a subgraph output")
    n_codes = len(model.operatorCodes or [])
    for i, op in enumerate(sg.operators or []):
        if not 0 <= op.opcodeIndex < n_codes:
            raise ModelLoadError(f"{path}: operator {i} has an out-of-range opcode index")
        for j in _ints(op.inputs):
            check(j, f"operator {i}'s input", optional=True)
        if not _ints(op.outputs):
            raise ModelLoadError(f"{path}: operator {i} has no output")
        for j in _ints(op.outputs):
            check(j, f"operator {i}'s output")
    for i, t in enumerate(sg.tensors):
        dims = [int(d) for d in (t.shape if t.shape is not None else [])]
        if any(d < 0 for d in dims) or len(dims) > 8:
            raise ModelLoadError(f"{path}: tensor {i} has an invalid shape {dims}")
        if int(np.prod(dims, dtype=np.float64)) > _MAX_ELEMENTS:
            raise ModelLoadError(f"{path}: tensor {i} has an implausible shape {dims}")


def _buffer_bytes(model, buf: bytes, index: int) -> np.ndarray | None:
    if index <= 0 or index >= len(model.buffers or []):
        return None
    b = model.buffers[index]
    if b.data is not None and len(b.data):
        return np.asarray(b.data, dtype=np.uint8)
    if getattr(b, "offset", 0) > 1 and b.size:
        if b.offset + b.size > len(buf):
            raise ModelLoadError("buffer points past the end of the file (truncated?)")
        return np.frombuffer(buf, np.uint8, b.size, b.offset)
    return None


def _tensor(model, buf: bytes, t, name: str) -> Tensor:
    if t.type not in DTYPE_NAMES:
        kinds = {v: k.lower() for k, v in vars(schema().TensorType).items() if not k.startswith("_")}
        raise ModelLoadError(f"tensor '{name}' has unsupported dtype {kinds.get(t.type, f'code {t.type}')} "
                             f"(edgekit reads {', '.join(sorted(set(DTYPE_NAMES.values())))})")
    dtype = DTYPE_NAMES[t.type]
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    raw = _buffer_bytes(model, buf, t.buffer)
    data = None
    if raw is not None:
        expect = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if raw.size != expect:
            raise ModelLoadError(f"constant '{name}' holds {raw.size} bytes, its shape "
                                 f"{shape} needs {expect}")
        data = raw.view(dtype).reshape(shape).copy()
    q = t.quantization
    quant = None
    if q is not None and q.scale is not None and len(q.scale):
        zp = q.zeroPoint if q.zeroPoint is not None else np.zeros(len(q.scale), np.int64)
        axis = int(q.quantizedDimension) if len(q.scale) > 1 else None
        if axis is not None and len(shape) == 1:
            # TFLM's rule: a 1-D tensor has one axis, whatever quantized_dimension says
            # (converters write 3 on depthwise biases, copied from the filter).
            axis = 0
        quant = QuantParams.make(np.asarray(q.scale), np.asarray(zp), axis)
    return Tensor(name, shape, dtype, data, quant)


def _tensor_names(sg) -> list[str]:
    names, seen = [], set()
    for i, t in enumerate(sg.tensors):
        n = (t.name or b"").decode("utf-8", "replace") or f"t{i}"
        if n in seen:
            n = f"{n}#{i}"
        seen.add(n)
        names.append(n)
    return names


def _pads(opt, x: Tensor, kh: int, kw: int) -> tuple[int, int, int, int]:
    if opt.padding == 1:  # VALID
        return (0, 0, 0, 0)
    dh = getattr(opt, "dilationHFactor", 1) or 1
    dw = getattr(opt, "dilationWFactor", 1) or 1
    return (*same_pads(x.shape[1], kh, opt.strideH, dh), *same_pads(x.shape[2], kw, opt.strideW, dw))


def _window_attrs(opt, x: Tensor, kh: int, kw: int) -> dict:
    return {
        "stride": (int(opt.strideH), int(opt.strideW)),
        "dilation": (int(getattr(opt, "dilationHFactor", 1) or 1),
                     int(getattr(opt, "dilationWFactor", 1) or 1)),
        "pads": _pads(opt, x, kh, kw),
        "activation": ACTIVATION_NAMES.get(opt.fusedActivationFunction, "unsupported"),
    }


def _map_op(kind: str, opt, ins: list[Tensor], out: Tensor) -> tuple[str, dict, int]:
    """Return (IR op, attrs, number of inputs kept) for one TFLite operator."""
    if kind == "CONV_2D":
        return "Conv2D", _window_attrs(opt, ins[0], ins[1].shape[1], ins[1].shape[2]), 3
    if kind == "DEPTHWISE_CONV_2D":
        a = _window_attrs(opt, ins[0], ins[1].shape[1], ins[1].shape[2])
        a["depth_multiplier"] = int(ins[1].shape[3] // max(ins[0].shape[3], 1))
        return "DepthwiseConv2D", a, 3
    if kind == "FULLY_CONNECTED":
        if opt is not None and opt.weightsFormat != 0:
            raise ValueError("shuffled weights format")
        return "FullyConnected", {"activation": ACTIVATION_NAMES.get(opt.fusedActivationFunction if opt else 0, "unsupported"),
                                  "keep_dims": bool(opt.keepNumDims) if opt else False}, 3
    if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        a = _window_attrs(opt, ins[0], opt.filterHeight, opt.filterWidth)
        a.pop("dilation")
        a["kernel"] = (int(opt.filterHeight), int(opt.filterWidth))
        return ("AveragePool" if kind == "AVERAGE_POOL_2D" else "MaxPool"), a, 1
    if kind == "RESHAPE":
        return "Reshape", {"shape": out.shape}, 1
    if kind == "SOFTMAX":
        return "Softmax", {"beta": float(opt.beta) if opt else 1.0}, 1
    if kind == "ADD":
        return "Add", {"activation": ACTIVATION_NAMES.get(opt.fusedActivationFunction if opt else 0, "unsupported")}, 2
    if kind in ("PAD", "PADV2"):
        if ins[1].data is None:
            raise ValueError("paddings must be a constant")
        pads = tuple((int(a), int(b)) for a, b in ins[1].data.reshape(-1, 2))
        return "Pad", {"pads": pads}, 1
    if kind == "MEAN":
        if ins[1].data is None:
            raise ValueError("axes must be a constant")
        return "Mean", {"axes": tuple(int(a) for a in ins[1].data.reshape(-1)),
                        "keep_dims": bool(opt.keepDims) if opt else False}, 1
    if kind in ("RELU", "RELU6"):
        return ("ReLU" if kind == "RELU" else "ReLU6"), {}, 1
    if kind in ("QUANTIZE", "DEQUANTIZE"):
        return kind.capitalize(), {}, 1
    raise KeyError(kind)


def graph_from_tflite_bytes(buf: bytes, path: str = "<bytes>", name: str = "model") -> Graph:
    model = _parse(buf, path)
    sg = model.subgraphs[0]
    _check_structure(model, sg, path)
    names = _tensor_names(sg)
    try:
        tensors = {n: _tensor(model, buf, t, n) for n, t in zip(names, sg.tensors)}
    except ModelLoadError as e:
        raise ModelLoadError(f"{path}: {e}") from None
    builtin_names = op_names()
    nodes, used = [], set()
    for i, op in enumerate(sg.operators or []):
        oc = model.operatorCodes[op.opcodeIndex]
        code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
        kind = builtin_names.get(code, f"builtin#{code}")
        if kind == "CUSTOM":
            kind = f"CUSTOM:{(oc.customCode or b'?').decode('utf-8', 'replace')}"
        out_names = [names[j] for j in op.outputs]
        node_name = f"{kind.lower()}_{i}"
        in_names = [names[j] if j >= 0 else "" for j in _ints(op.inputs)]
        ins = [tensors[n] if n else None for n in in_names]
        try:
            ir_op, attrs, keep = _map_op(kind, op.builtinOptions, ins, tensors[out_names[0]])
        except KeyError:
            out = out_names[0] if out_names else "?"
            raise UnsupportedOpError(kind, node_name, f"operator {i} of {len(sg.operators)}, "
                                     f"output tensor '{out[:80]}'") from None
        except (ValueError, TypeError, AttributeError, IndexError, ZeroDivisionError, OverflowError) as e:
            raise UnsupportedOpError(kind, node_name, str(e)) from None
        if attrs.get("activation") == "unsupported":
            raise UnsupportedOpError(kind, node_name, "unsupported fused activation")
        kept = tuple(in_names[:keep])
        used.update(n for n in kept if n)
        used.update(out_names)
        nodes.append(Node(node_name, ir_op, kept, tuple(out_names[:1]), attrs))
    g_in = tuple(names[j] for j in _ints(sg.inputs))
    g_out = tuple(names[j] for j in _ints(sg.outputs))
    used.update(g_in)
    used.update(g_out)
    tensors = {n: t for n, t in tensors.items() if n in used}
    graph = Graph(name, tensors, tuple(nodes), g_in, g_out, {"format": "tflite"})
    try:
        return graph.verify()
    except GraphError as e:  # the file's tensors and operators do not fit together
        raise ModelLoadError(f"{path}: inconsistent .tflite file: {e}") from None
