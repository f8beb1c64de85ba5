"""Emit C for an int8 graph: <name>.h (API, sizes, I/O quantization), <name>_data.c
(weights, biases, multipliers, shifts as aligned const arrays: they stay in flash) and
<name>.c (the static schedule of kernel calls with const parameter structs).

Small pure functions returning strings (emlearn-style). Output is a function of the graph
only: no timestamps, deterministic order, so regenerating gives identical bytes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from edgekit import __version__
from edgekit.codegen.planner import Plan, is_pointwise, plan_memory
from edgekit.compress import codebook
from edgekit.errors import UnsupportedOpError
from edgekit.ir import Graph, Node, Tensor
from edgekit.ir.ops import WEIGHTED_OPS
from edgekit.quant import arith
from edgekit.quant.reference import add_multipliers, requant_params
from edgekit.runtime_limits import CB_TILE, DW_MAX_TAPS

CODEGEN_OPS = ("Conv2D", "DepthwiseConv2D", "FullyConnected", "AveragePool", "MaxPool",
               "Add", "Softmax", "Pad", "Reshape")


def c_ident(name: str) -> str:
    s = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return ("m_" + s) if not s or s[0].isdigit() else s


@dataclass
class _Data:
    """Constant arrays collected while emitting the schedule."""
    prefix: str
    codebooks: dict                  # node name -> Codebook, for layers deployed as codebooks
    arrays: list[tuple[str, str, np.ndarray]] = field(default_factory=list)

    def add(self, kind: str, ctype: str, values: np.ndarray) -> str:
        name = f"{self.prefix}_{kind}{len(self.arrays)}"
        self.arrays.append((name, ctype, np.asarray(values).reshape(-1)))
        return name


def _fmt_array(name: str, ctype: str, v: np.ndarray) -> str:
    rows = [", ".join(str(int(x)) for x in v[i:i + 16]) for i in range(0, len(v), 16)]
    body = ",\n    ".join(rows)
    return f"EK_ALIGN const {ctype} {name}[{len(v)}] = {{\n    {body}\n}};\n"


def _dims(shape) -> str:
    s = list(shape)
    if len(s) == 2:
        s = [s[0], 1, 1, s[1]]
    return "{%d, %d, %d, %d}" % tuple(s)


def _zp(t: Tensor) -> int:
    return int(t.quant.zero_point[0])


def _ptr(plan: Plan, name: str, const: bool = False) -> str:
    return f"({'const ' if const else ''}int8_t *)(arena + {plan.offsets[name]})"


def _ctx(plan: Plan, node: Node) -> str:
    key = f"scratch:{node.name}"
    if key not in plan.offsets:
        return "static const ek_ctx ctx = {0, 0};"
    return f"const ek_ctx ctx = {{arena + {plan.offsets[key]}, {plan.scratch[node.name]}}};"


def _conv_params(node: Node, x: Tensor, y: Tensor, lo: int, hi: int) -> str:
    sh, sw = node.attr("stride", (1, 1))
    dh, dw = node.attr("dilation", (1, 1))
    pads = node.attr("pads", (0, 0, 0, 0))
    return (f"static const ek_conv_params p = {{{-_zp(x)}, {_zp(y)}, {sh}, {sw}, {dh}, {dw}, "
            f"{pads[0]}, {pads[2]}, {lo}, {hi}}};")


def _emit_conv(g: Graph, node: Node, plan: Plan, d: _Data) -> list[str]:
    x, w, y = g.tensor(node.inputs[0]), g.tensor(node.inputs[1]), g.tensor(node.outputs[0])
    rq = requant_params(x, w, y, node.attr("activation", "none"))
    cout = y.shape[-1]
    mult = d.add("m", "int32_t", np.broadcast_to(rq.multiplier, (cout,)))
    shift = d.add("s", "int8_t", np.broadcast_to(rq.shift, (cout,)))
    bias_v = g.tensor(node.inputs[2]).data.astype(np.int64) if len(node.inputs) > 2 and node.inputs[2] \
        else np.zeros(cout, np.int64)
    wdata = w.data
    lines = [f"static const ek_quant_params q = {{{mult}, {shift}}};"]
    src, dst = _ptr(plan, x.name, True), _ptr(plan, y.name)
    cb = d.codebooks.get(node.name)
    pointwise = is_pointwise(node, g) or (node.op == "FullyConnected" and cb is not None)
    if node.op == "FullyConnected" and cb is None:
        cols = w.shape[1]
        wn, bn = d.add("w", "int8_t", wdata), d.add("b", "int32_t", bias_v)
        rows = x.size // cols
        lines.append(f"st = ek_fully_connected_s8({-_zp(x)}, {_zp(y)}, {rq.act_min}, {rq.act_max}, &q, "
                     f"{rows}, {cols}, {src}, {cout}, {wn}, {bn}, {dst});")
        return lines
    lines.append(_conv_params(node, x, y, rq.act_min, rq.act_max))
    fd = "" if pointwise else f", fd = {_dims(w.shape)}"
    if node.op == "FullyConnected":   # a codebook FC runs as a 1x1 conv over its rows
        rows = x.size // w.shape[1]
        dims = f"in = {{1, 1, {rows}, {w.shape[1]}}}, out = {{1, 1, {rows}, {cout}}}"
    else:
        dims = f"in = {_dims(x.shape)}{fd}, out = {_dims(y.shape)}"
    lines.append(f"static const ek_dims {dims};")
    # eff_bias = bias + input_offset * sum(w) per output channel: the input offset leaves
    # the inner loops (padding taps read the zero point, which then contributes 0)
    w_sum = (wdata.reshape(-1, cout).T if node.op == "DepthwiseConv2D" else wdata.reshape(cout, -1))
    eff = arith.wrap32(bias_v - _zp(x) * w_sum.astype(np.int64).sum(axis=1))
    if cb is not None:                      # indices + int8 codes instead of int8 weights
        idx = codebook.layer_indices(node.op, wdata, cb)
        packed = np.frombuffer(codebook.pack(codebook.family_of(node.op, wdata.shape), idx, cb.bits), np.uint8)
        iname, tname = d.add("i", "uint8_t", packed), d.add("t", "int8_t", cb.stored())
        units = ", 0"
        if cb.bits == 4 and node.op != "DepthwiseConv2D" and _decodes_per_call(node, x, w, y) > 1:
            units = ", " + d.add("u", "int32_t", cb.units())     # one lookup a unit (ek_nn.h)
        lines.append(f"static const ek_codebook cb = {{{iname}, {tname}, {cb.bits}{units}}};")
        weights = "&cb"
    else:
        packed = pack_pairs(wdata) if node.op == "Conv2D" else pack_depthwise(wdata, x.shape[-1])
        weights = d.add("w", "int8_t", packed)
    bn = d.add("b", "int32_t", eff)
    lines.append(_ctx(plan, node))
    kernel = "ek_conv_1x1" if pointwise else "ek_conv" if node.op == "Conv2D" else "ek_dw_conv"
    fd_arg = "" if pointwise else " &fd,"
    lines.append(f"st = {kernel}{'_cb' if cb else ''}_s8(&p, &q, &ctx, &in, {src},{fd_arg} {weights}, {bn}, "
                 f"&out, {dst});")
    return lines


def _decodes_per_call(node: Node, x: Tensor, w: Tensor, y: Tensor) -> int:
    """How many times a codebook conv kernel decodes each weight per call: once per tile
    of CB_TILE output pixels (a fully connected layer's pixels are its rows)."""
    pixels = x.size // w.shape[1] if node.op == "FullyConnected" else int(np.prod(y.shape[:-1]))
    return -(-pixels // CB_TILE)


def pack_pairs(w: np.ndarray) -> np.ndarray:
    """The convolutions' flash layout (ek_nn.h, edgekit/firmware/runtime/src/ek_pairs.h): for rows
    of k = kh * kw * cin bytes with k % 4 == 0, output channels in pairs, each pair's rows
    interleaved in 8-byte blocks [p][i][r][j] = w[2p + r][4i + j] (one pointer walks both
    rows); an odd last channel stays a plain row."""
    w2 = w.reshape(w.shape[0], -1)
    cout, k = w2.shape
    if k % 4:
        return w
    pairs = cout // 2 * 2
    blocks = w2[:pairs].reshape(cout // 2, 2, k // 4, 4).transpose(0, 2, 1, 3).reshape(pairs, k)
    return np.concatenate([blocks, w2[pairs:]]).reshape(w.shape)


def pack_depthwise(w: np.ndarray, cin: int) -> np.ndarray:
    """ek_dw_conv_s8's flash layout (ek_nn.h): with depth multiplier 1, cout % 4 == 0 and
    at most DW_MAX_TAPS taps, grouped by 4 channels, [g][t][k] = w[t][4g + k] (a group's
    taps contiguous); otherwise the plain [1, kh, kw, cout]."""
    _, kh, kw, cout = w.shape
    if cout != cin or cout % 4 or kh * kw > DW_MAX_TAPS:
        return w
    return w.reshape(kh * kw, cout // 4, 4).transpose(1, 0, 2).reshape(w.shape)


def _emit_other(g: Graph, node: Node, plan: Plan, d: _Data) -> list[str]:
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])
    src, dst = _ptr(plan, x.name, True), _ptr(plan, y.name)
    if node.op in ("AveragePool", "MaxPool"):
        lo, hi = arith.activation_range(node.attr("activation", "none"), float(y.quant.scale[0]), _zp(y))
        kh, kw = node.attr("kernel")
        fn = "ek_avgpool_s8" if node.op == "AveragePool" else "ek_maxpool_s8"
        return [_conv_params(node, x, y, lo, hi),
                f"static const ek_dims in = {_dims(x.shape)}, out = {_dims(y.shape)};",
                f"st = {fn}(&p, {kh}, {kw}, &in, {src}, &out, {dst});"]
    if node.op == "Softmax":
        m, s, diff_min = arith.softmax_params(node.attr("beta", 1.0), float(x.quant.scale[0]))
        cols = x.shape[-1]
        return [f"st = ek_softmax_s8({src}, {x.size // cols}, {cols}, {m}, {s}, {diff_min}, {dst});"]
    if node.op == "Add":
        b = g.tensor(node.inputs[1])
        (sa, sb, sy) = (float(t.quant.scale[0]) for t in (x, b, y))
        ls, (ma, sha), (mb, shb), (my, shy) = add_multipliers(sa, sb, sy)
        lo, hi = arith.activation_range(node.attr("activation", "none"), sy, _zp(y))
        return [f"static const ek_add_params p = {{{-_zp(x)}, {-_zp(b)}, {_zp(y)}, {ma}, {sha}, "
                f"{mb}, {shb}, {my}, {shy}, {ls}, {lo}, {hi}}};",
                f"st = ek_add_s8(&p, {src}, {_ptr(plan, b.name, True)}, {dst}, {y.size});"]
    if node.op == "Pad":
        pads = node.attr("pads")
        if any(pads[0]) or any(pads[3]):
            raise UnsupportedOpError("Pad", node.name, "padding of batch or channels")
        return [f"static const ek_dims in = {_dims(x.shape)}, out = {_dims(y.shape)};",
                f"st = ek_pad_s8(&in, {src}, {pads[1][0]}, {pads[2][0]}, {_zp(y)}, &out, {dst});"]
    if node.op == "Reshape":
        if plan.offsets[x.name] == plan.offsets[y.name]:
            return ["st = EK_OK; /* reshape: same bytes, same place */"]
        return [f"memmove({dst}, {src}, {y.size});", "st = EK_OK;"]
    raise UnsupportedOpError(node.op, node.name, "no C kernel")


def _check(graph: Graph) -> None:
    for name in (*graph.inputs, *graph.outputs):
        if graph.tensor(name).dtype != "int8":
            raise UnsupportedOpError("model", graph.name, f"tensor '{name}' is {graph.tensor(name).dtype}; "
                                     "codegen needs an int8 model (run `edgekit quantize` first)")
    for n in graph.nodes:
        if n.op not in CODEGEN_OPS:
            raise UnsupportedOpError(n.op, n.name, "no C kernel")


@dataclass(frozen=True)
class Generated:
    files: dict[str, str]        # file name -> contents
    plan: Plan
    prefix: str
    weight_bytes: int


def _banner(graph: Graph) -> str:
    src = graph.meta.get("source", graph.name)
    src = src.rsplit("/", 1)[-1]
    return (f"/* Generated by edgekit {__version__} from {src}\n"
            f" * model sha256 {graph.meta.get('sha256', 'unknown')}\n"
            f" * Do not edit: regenerate with `edgekit codegen`. */\n")


def generate(graph: Graph, name: str | None = None, allow_in_place: bool = True,
             codebooks: bool = True) -> Generated:
    """Layers whose int8 weights take at most 16 values (edgekit compress) and that a
    codebook kernel can run (codebook.deployed_codebooks) are stored as bit-packed indices
    + their int8 codes and run by the codebook kernels; codebooks=False: every layer as
    int8 weights and the int8 kernels (same outputs, more flash; faster on some cores:
    deploy's real-time plan chooses)."""
    _check(graph)
    prefix = c_ident(name or graph.name).lower()
    codebooks = codebook.deployed_codebooks(graph) if codebooks else {}
    plan = plan_memory(graph, allow_in_place, codebooks)
    d = _Data(prefix, codebooks)
    body = []
    for i, node in enumerate(graph.nodes):
        fn = _emit_conv if node.op in WEIGHTED_OPS else _emit_other
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        inner = "\n        ".join(fn(graph, node, plan, d))
        ip = " (in place)" if plan.in_place.get(node.name) and node.op != "Reshape" else ""
        body.append(f"    /* {i}: {node.op} {node.name}: {'x'.join(map(str, x.shape))} -> "
                    f"{'x'.join(map(str, y.shape))}{ip} */\n"
                    f"    EK_LAYER_BEGIN({i});\n"
                    f"    {{\n        {inner}\n        if (st != EK_OK) return {i + 1};\n    }}\n")
    files = {f"{prefix}.h": _header(graph, prefix, plan),
             f"{prefix}_data.c": _data_file(graph, prefix, d),
             f"{prefix}.c": _model_file(graph, prefix, d, body)}
    wbytes = sum(v.size * (1 if c in ("int8_t", "uint8_t") else 4) for _, c, v in d.arrays)
    return Generated(files, plan, prefix, wbytes)


def _io_macros(graph: Graph, up: str, kind: str, name: str, plan: Plan) -> str:
    t = graph.tensor(name)
    return (f"#define {up}_{kind}_SIZE {t.size}\n"
            f"#define {up}_{kind}_OFFSET {plan.offsets[name]}\n"
            f"#define {up}_{kind}_SCALE {float(t.quant.scale[0])!r}f\n"
            f"#define {up}_{kind}_ZERO_POINT {_zp(t)}\n"
            f"#define {up}_{kind}_DIMS {{{', '.join(map(str, t.shape))}}}\n")


def _header(graph: Graph, prefix: str, plan: Plan) -> str:
    up = prefix.upper()
    return (_banner(graph) + f"#ifndef {up}_H\n#define {up}_H\n\n#include <stdint.h>\n\n"
            f"/* Bytes of RAM the model needs: activations and kernel scratch, exactly planned. */\n"
            f"#define {up}_ARENA_SIZE {plan.arena_size}\n"
            + _io_macros(graph, up, "INPUT", graph.inputs[0], plan)
            + _io_macros(graph, up, "OUTPUT", graph.outputs[0], plan)
            + f"#define {up}_NUM_LAYERS {len(graph.nodes)}\n\n"
            f"/* The input and output live inside the arena (4-byte aligned, {up}_ARENA_SIZE bytes). */\n"
            f"static inline int8_t *{prefix}_input(uint8_t *arena) {{ return (int8_t *)(arena + {up}_INPUT_OFFSET); }}\n"
            f"static inline int8_t *{prefix}_output(uint8_t *arena) {{ return (int8_t *)(arena + {up}_OUTPUT_OFFSET); }}\n\n"
            f"/* Run one inference on {prefix}_input(arena); returns 0, or 1 + the failing layer. */\n"
            f"int {prefix}_invoke(uint8_t *arena);\n\n#endif\n")


def _data_file(graph: Graph, prefix: str, d: _Data) -> str:
    decls = "".join(_fmt_array(n, c, v) for n, c, v in d.arrays)
    return (_banner(graph) + "#include <stdint.h>\n\n#include \"ek_nn.h\"\n\n"
            "#ifndef EK_ALIGN\n#define EK_ALIGN __attribute__((aligned(4)))\n#endif\n\n" + decls)


def _model_file(graph: Graph, prefix: str, d: _Data, body: list[str]) -> str:
    externs = "".join(f"extern const {c} {n}[{len(v)}];\n" for n, c, v in d.arrays)
    return (_banner(graph) + f"#include <string.h>\n\n#include \"ek_nn.h\"\n#include \"{prefix}.h\"\n\n"
            "/* Define EK_LAYER_BEGIN(i) to hook each layer (profiling); empty by default. */\n"
            "#ifndef EK_LAYER_BEGIN\n#define EK_LAYER_BEGIN(i) ((void)0)\n#endif\n\n"
            + externs + f"\nint {prefix}_invoke(uint8_t *arena) {{\n    ek_status st;\n"
            + "".join(body) + "    (void)st;\n    return 0;\n}\n")
