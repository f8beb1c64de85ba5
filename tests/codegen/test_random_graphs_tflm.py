"""Random small int8 graphs against the real TFLite Micro interpreter, byte for byte.

test_kernels_random.py compares the C kernels with their NumPy twins, built from the same
IR: if both read an attribute the same wrong way (pad order, depth multiplier, activation
range, ...) nothing there notices. Here every seeded random graph is exported with
edgekit.tflite.export_tflite and run by TFLM (PyPI tflite-micro: the reference kernels),
and TFLM's bytes are what the NumPy reference (run_int8), the reference on the graph read
back from the file, and the generated C (gcc on the host; a few graphs on the Cortex-M4 in
QEMU) must reproduce.

What the graphs draw: conv, depthwise (depth multiplier 1-3), pointwise 1x1, average /
max pool, add (two scales; operands from a branch), fully connected (per-tensor weights,
and per-channel ones, which this TFLM applies per channel) and chains of them; random shapes,
strides, dilations, SAME / VALID / explicit asymmetric pads (conv and depthwise; the
exporter writes a PAD op in front), fused none / relu / relu6 / relu_n1_to_1, per-channel
weight scales, random input / output zero points and scales (now and then an output
scale small enough for requantization left shifts).

Not drawn, on purpose (see the explicit test at the end): pools with explicit pads other
than SAME / VALID. A .tflite pool cannot leave explicit padding out of its windows as the
IR (and the NumPy and C kernels) do, so export_tflite refuses them
(test_pool_with_explicit_pads_is_refused_or_exact).

On a mismatch the assertion names the seed, every comparison that failed (with
first_mismatch) and the graph, node by node.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest

from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.executors.tflm import run_tflm
from edgekit.ir import QuantParams, Tensor
from edgekit.ir.builder import GraphBuilder
from edgekit.ir.ops import same_pads
from edgekit.quant.reference import run_int8
from edgekit.tflite import export_tflite, graph_from_tflite_bytes
from edgekit.toolchain.cbuild import build, run_batch
from edgekit.verify import first_mismatch

ACTS = ("none", "relu", "relu6", "relu_n1_to_1")
KINDS = ("conv", "depthwise", "pointwise", "avgpool", "maxpool", "add", "fc", "chain")


# ---- random graphs -------------------------------------------------------------------

def _logu(rng, lo, hi, size=None):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def _act_q(rng) -> QuantParams:
    return QuantParams.make(float(_logu(rng, 0.005, 0.3)), int(rng.integers(-128, 128)))


def _set_q(b: GraphBuilder, name: str, q: QuantParams) -> None:
    t = b.tensors[name]
    b.tensors[name] = Tensor(name, t.shape, "int8", None, q)


def _window(rng, size_h, size_w, dilation_ok: bool, pad_modes=("same", "valid", "explicit"),
            mode: str | None = None, dilated: bool = False):
    """A kernel, stride, dilation and pads (top, bottom, left, right) that give a non-empty
    output, with the pad mode given or drawn from pad_modes; `dilated` forces a dilation of
    2 along the width (kernel width >= 2)."""
    want = mode
    for _ in range(1000):
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        dil = tuple(int(v) for v in rng.integers(1, 3, 2)) if dilation_ok and rng.random() < 0.2 else (1, 1)
        if dilated:
            kw, dil = max(kw, 2), (dil[0], 2)
        eh, ew = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
        mode = want or str(rng.choice(pad_modes))
        if mode == "same":
            pads = (*same_pads(size_h, kh, stride[0], dil[0]), *same_pads(size_w, kw, stride[1], dil[1]))
        elif mode == "valid":
            pads = (0, 0, 0, 0)
        else:   # asymmetric, each side < the effective kernel (no window entirely in padding)
            pads = (int(rng.integers(0, eh)), int(rng.integers(0, eh)),
                    int(rng.integers(0, ew)), int(rng.integers(0, ew)))
        if size_h + pads[0] + pads[1] >= eh and size_w + pads[2] + pads[3] >= ew:
            return (kh, kw), stride, dil, pads, mode
    raise AssertionError("no valid window found")


def _layer_quant(rng, s_in: float, k: int, cout: int, act: str):
    """(weight scales [cout], output QuantParams) for a layer of k-term dot products.

    The output quantization comes first (for relu6 / relu_n1_to_1 it covers the activation's
    range, as a calibrated model's would; zero points are random half of the time), then
    weight scales that put |acc| ~ 70 * 70 * sqrt(k) at ~45 output steps, times a random
    factor per channel. 1 layer in 8 gets weight scales that make every effective
    multiplier > 1 (requantization left shifts; most outputs saturate)."""
    zp = int(rng.integers(-128, 128))
    if rng.random() < 0.5 and act != "none":
        zp = 0 if act == "relu_n1_to_1" else -128
    s_out = {"relu6": 6 / 255, "relu_n1_to_1": 2 / 255}.get(act, 0.0) * _logu(rng, 0.7, 2.0) \
        or float(_logu(rng, 0.005, 0.3))
    if rng.random() < 0.125:
        ws = s_out / s_in * rng.uniform(1.5, 6.0, cout)
    else:
        ws = s_out * 45 / (s_in * 4900 * math.sqrt(k)) * _logu(rng, 0.3, 3.0, cout)
    return ws.astype(np.float32), QuantParams.make(float(s_out), zp)


def _dot_layer(b, rng, x, op: str, wshape, axis, k: int, attrs: dict, per_channel=True, bias=True) -> str:
    """A Conv2D / DepthwiseConv2D / FullyConnected node after x: random int8 weights
    (zero point 0), weight scales per channel along `axis` (or one), an int32 bias at scale
    s_in * s_w, a random fused activation and the output quantization of _layer_quant."""
    i = len(b.nodes)
    s_in = float(b.tensors[x].quant.scale[0])
    cout = wshape[axis]
    act = attrs.pop("activation", None) or str(rng.choice(ACTS))
    ws, yq = _layer_quant(rng, s_in, k, cout if per_channel else 1, act)
    wq = rng.integers(-127, 128, wshape).astype(np.int8)
    wn = b.const(f"w{i}", wq)
    b.tensors[wn] = Tensor(wn, tuple(wshape), "int8", wq, QuantParams.make(ws, 0, axis if per_channel else None))
    ins = [x, wn]
    if bias:
        lim = int(1.5 * 4900 * math.sqrt(k)) + 1
        bq = rng.integers(-lim, lim, cout).astype(np.int32)
        bn = b.const(f"b{i}", bq)
        bs = np.broadcast_to(np.float64(s_in) * ws.astype(np.float64), (cout,))
        b.tensors[bn] = Tensor(bn, (cout,), "int32", bq,
                               QuantParams.make(bs if per_channel else bs[:1], 0, 0 if per_channel else None))
        ins.append(bn)
    pw = wshape[1:3] == (1, 1) and attrs["pads"] == (0, 0, 0, 0) and attrs["stride"] == (1, 1)
    kind = {"Conv2D": "pointwise" if pw else "conv",
            "DepthwiseConv2D": "depthwise", "FullyConnected": "fc"}[op]
    y = b.node(op, f"{kind}{i}", ins, activation=act, **attrs)
    _set_q(b, y, yq)
    return y


def _weighted(b, rng, x, kind: str, simd=False, window=None, dm=None, bias=True, variant=None) -> str:
    """conv / depthwise (depth multiplier 1-3) / pointwise 1x1 layer after x; variant 0-3
    (if given) fixes the padding: SAME, VALID, explicit, drawn with a dilation of 2."""
    _, h, w, cin = b.shape(x)
    if kind == "pointwise":
        (kh, kw), stride, dil, pads = (1, 1), (1, 1), (1, 1), (0, 0, 0, 0)
    else:
        force = dict(mode=("same", "valid", "explicit", None)[variant], dilated=variant == 3) \
            if variant is not None else {}
        (kh, kw), stride, dil, pads, _ = window or _window(rng, h, w, dilation_ok=True, **force)
    attrs = dict(stride=stride, dilation=dil, pads=pads)
    if kind == "depthwise":
        dm = dm or (1 if simd or rng.random() < 0.4 else int(rng.integers(2, 4)))
        attrs["depth_multiplier"] = dm
        return _dot_layer(b, rng, x, "DepthwiseConv2D", (1, kh, kw, cin * dm), 3, kh * kw, attrs, bias=bias)
    cout = 4 * int(rng.integers(1, 4)) if simd else int(rng.integers(1, 13))
    return _dot_layer(b, rng, x, "Conv2D", (cout, kh, kw, cin), 0, kh * kw * cin, attrs, bias=bias)


def _pool(b, rng, x, op: str, window=None, variant=None) -> str:
    """Average / max pool with SAME or VALID padding (variant: even SAME, odd VALID);
    output quantization = input's."""
    _, h, w, _ = b.shape(x)
    mode = ("same", "valid")[variant % 2] if variant is not None else None
    (kh, kw), stride, _, pads, _ = window or _window(rng, h, w, dilation_ok=False, pad_modes=("same", "valid"),
                                                     mode=mode)
    y = b.node(op, f"{op.lower()}{len(b.nodes)}", [x], kernel=(kh, kw), stride=stride, pads=pads,
               activation=str(rng.choice(ACTS)))
    _set_q(b, y, b.tensors[x].quant)
    return y


def _add(b, rng, x) -> str:
    """x + branch(x) (either order): the branch keeps x's shape (pointwise conv with the
    same channel count and no bias, 3x3 SAME depthwise, 3x3 SAME max pool, or x itself)."""
    _, h, w, c = b.shape(x)
    same3 = ((3, 3), (1, 1), (1, 1), (*same_pads(h, 3, 1), *same_pads(w, 3, 1)), "same")
    branch = str(rng.choice(["pointwise", "depthwise", "maxpool", "self"]))
    if branch == "pointwise":
        o = _dot_layer(b, rng, x, "Conv2D", (c, 1, 1, c), 0, c,
                       dict(stride=(1, 1), dilation=(1, 1), pads=(0, 0, 0, 0)), bias=False)
    elif branch == "depthwise":
        o = _weighted(b, rng, x, "depthwise", dm=1, window=same3)
    elif branch == "maxpool":
        o = _pool(b, rng, x, "MaxPool", window=same3)
    else:
        o = x
    a, c2 = (x, o) if rng.random() < 0.5 else (o, x)
    y = b.node("Add", f"add{len(b.nodes)}", [a, c2], activation=str(rng.choice(ACTS)))
    s = max(float(b.tensors[a].quant.scale[0]), float(b.tensors[c2].quant.scale[0]))
    _set_q(b, y, QuantParams.make(s * _logu(rng, 0.5, 2.5), int(rng.integers(-128, 128))))
    return y


def _fc(b, rng, x, variant=None) -> str:
    """Fully connected over x flattened; one weight scale, or (3 in 10; odd variants) one
    per output channel, which this TFLM applies per channel too."""
    k = int(np.prod(b.shape(x)[1:]))
    cout = int(rng.integers(2 if variant is not None and variant % 2 else 1, 17))
    per_channel = cout > 1 and (rng.random() < 0.3 if variant is None else variant % 2 == 1)
    return _dot_layer(b, rng, x, "FullyConnected", (cout, k), 0, k, {}, per_channel=per_channel)


def _layer(b, rng, x, kind: str, simd=False, variant=None) -> str:
    if kind in ("conv", "depthwise", "pointwise"):
        return _weighted(b, rng, x, kind, simd=simd, variant=variant)
    if kind in ("avgpool", "maxpool"):
        return _pool(b, rng, x, "AveragePool" if kind == "avgpool" else "MaxPool", variant=variant)
    if kind == "add":
        return _add(b, rng, x)
    return _fc(b, rng, x, variant)


def random_graph(seed: int, kind: str | None = None, simd: bool = False):
    """(graph, kind) for a seed: kind defaults to KINDS[seed % len(KINDS)]; simd draws
    channel counts in fours (the Cortex-M4 SIMD paths). A single-layer graph's variant
    (padding mode / dilation / per-channel FC) cycles with seed // len(KINDS), so every
    len(KINDS) * 4 consecutive seeds cover them all; chains draw everything at random."""
    kind = kind or KINDS[seed % len(KINDS)]
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 11, 2))
    c = 4 * int(rng.integers(1, 3)) if simd else int(rng.integers(1, 9))
    b = GraphBuilder(f"rand{seed}")
    flat = kind == "fc" and rng.random() < 0.5
    x = b.input("x", (1, h * w * c) if flat else (1, h, w, c), "int8")
    _set_q(b, x, _act_q(rng))
    if kind == "chain":
        for k in rng.choice(["conv", "depthwise", "pointwise", "avgpool", "maxpool", "add"],
                            int(rng.integers(2, 4))):
            x = _layer(b, rng, x, str(k), simd)
        if rng.random() < 0.5:
            x = _fc(b, rng, x)
    else:
        x = _layer(b, rng, x, kind, simd, variant=(seed // len(KINDS)) % 4)
    return b.build([x]), kind


def describe(g) -> str:
    """The graph, one line per node: op, shapes, every attribute, quantization."""
    def q(t):
        if t.quant is None:
            return "-"
        if t.quant.scale.size > 1:
            return (f"per-channel[{t.quant.scale.size}]@{t.quant.axis} "
                    f"{float(t.quant.scale.min()):.3g}..{float(t.quant.scale.max()):.3g}")
        return f"s={float(t.quant.scale[0]):.6g} z={int(t.quant.zero_point[0])}"
    x = g.tensor(g.inputs[0])
    lines = [f"  input {x.shape} {q(x)}"]
    for n in g.nodes:
        ins = [g.tensor(i) for i in n.inputs if i]
        y = g.tensor(n.outputs[0])
        w = f" w={ins[1].shape} {q(ins[1])}" if len(ins) > 1 and ins[1].is_const else ""
        lines.append(f"  {n.op} {n.name}({', '.join(n.inputs)}): {ins[0].shape} -> {y.shape} "
                     f"{dict(n.attrs)}{w} out {q(y)}")
    return "\n".join(lines)


# ---- the comparison ------------------------------------------------------------------

def _inputs(g, seed: int, n: int) -> np.ndarray:
    """n int8 inputs: random ones, plus all -128, all 127 and all at the zero point."""
    x_t = g.tensor(g.inputs[0])
    rng = np.random.default_rng(seed + 1_000_003)
    x = rng.integers(-128, 128, (n, *x_t.shape[1:]), dtype=np.int8)
    x[0], x[1], x[2] = -128, 127, int(x_t.quant.zero_point[0])
    return x


def check_against_tflm(seed: int, g, boards=("host",), n: int = 8, reproduce: str | None = None) -> None:
    """TFLM's outputs == run_int8 == run_int8 on the graph read back from the .tflite ==
    the generated C on each board; one assertion listing every comparison that failed."""
    reproduce = reproduce or f"random_graph({seed})"
    x = _inputs(g, seed, n)
    out_size = g.tensor(g.outputs[0]).size
    problems = []
    with tempfile.TemporaryDirectory() as d:
        buf = export_tflite(g)
        path = Path(d) / "m.tflite"
        path.write_bytes(buf)
        try:
            tflm = run_tflm(str(path), x)[0].reshape(n, -1)
        except Exception as e:   # TFLM refusing the model is a finding too
            pytest.fail(f"seed {seed}: TFLM refused the exported model: {e}\n{describe(g)}\n"
                        f"reproduce: {reproduce} in {Path(__file__).name}")
        comparisons = [("NumPy reference (run_int8)", lambda: run_int8(g, x)[0]),
                       ("NumPy reference on the graph read back from the .tflite",
                        lambda: run_int8(graph_from_tflite_bytes(buf, str(path)), x)[0])]
        for board in boards:
            def c_run(board=board):
                exe = build(generate(g, "k"), get_board(board), Path(d) / board)
                return run_batch(exe, get_board(board), x.reshape(n, -1), out_size)
            comparisons.append((f"generated C on {board}", c_run))
        for what, fn in comparisons:
            diff = first_mismatch(tflm, np.asarray(fn()).reshape(n, -1))
            if diff:
                problems.append(f"{what} vs TFLM: {diff}")
    assert not problems, (f"seed {seed}: " + "; ".join(problems) + "\ngraph:\n" + describe(g)
                          + f"\nreproduce: {reproduce} in {Path(__file__).name}")


# ---- tests ---------------------------------------------------------------------------

HOST_SEEDS = range(32)            # 4 graphs of each kind
SLOW_HOST_SEEDS = range(32, 432)  # 50 more of each kind
# Cortex-M4 (seed, kind, simd), picked from the generator for the paths they take: conv with
# channels in fours and a dilation; a 3x3 SAME depthwise run in place, then add; depthwise
# with depth multiplier 3 and a dilation; conv -> max pool -> add -> fully connected
M4_CASES = [(5007, "conv", True), (5002, "add", False), (5007, "depthwise", False), (5000, "chain", True)]
# + 1x1 conv over an odd pixel count with left shifts; 3x3 VALID grouped depthwise; FC of 320
SLOW_M4_CASES = [(5005, "pointwise", True), (5391, "depthwise", True), (5002, "fc", True),
                 *((5100 + i, KINDS[i % len(KINDS)], i % 2 == 0) for i in range(16))]


@pytest.mark.parametrize("seed", HOST_SEEDS)
def test_random_graph_host_matches_tflm(seed):
    g, _ = random_graph(seed)
    check_against_tflm(seed, g)


@pytest.mark.parametrize("seed,kind,simd", M4_CASES)
def test_random_graph_m4_matches_tflm(seed, kind, simd):
    """The Cortex-M4 build (SIMD paths when the channels come in fours) in QEMU."""
    g, _ = random_graph(seed, kind, simd)
    check_against_tflm(seed, g, boards=("mps2-an386",), n=4, reproduce=f"random_graph({seed}, {kind!r}, {simd})")


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_HOST_SEEDS)
def test_random_graph_host_matches_tflm_sweep(seed):
    g, _ = random_graph(seed)
    check_against_tflm(seed, g)


@pytest.mark.slow
@pytest.mark.parametrize("seed,kind,simd", SLOW_M4_CASES)
def test_random_graph_m4_matches_tflm_sweep(seed, kind, simd):
    g, _ = random_graph(seed, kind, simd)
    check_against_tflm(seed, g, boards=("mps2-an386",), n=4, reproduce=f"random_graph({seed}, {kind!r}, {simd})")


def _variants(g) -> set:
    seen = set()
    for n in g.nodes:
        seen.add(n.op)
        seen.add(("act", n.attr("activation", "none")))
        x, y = g.tensor(n.inputs[0]), g.tensor(n.outputs[0])
        if n.op == "DepthwiseConv2D" and n.attr("depth_multiplier") > 1:
            seen.add("depth multiplier > 1")
        if n.op in ("Conv2D", "DepthwiseConv2D", "AveragePool", "MaxPool"):
            pads = tuple(n.attr("pads"))
            k = n.attr("kernel") or g.tensor(n.inputs[1]).shape[1:3]
            st, dil = n.attr("stride", (1, 1)), n.attr("dilation", (1, 1))
            same = (*same_pads(x.shape[1], k[0], st[0], dil[0]), *same_pads(x.shape[2], k[1], st[1], dil[1]))
            seen.add((n.op, "same" if pads == same and any(pads) else "valid" if not any(pads) else "explicit"))
            if pads[0] != pads[1] or pads[2] != pads[3]:
                seen.add((n.op, "asymmetric pads"))
            if tuple(st) != (1, 1):
                seen.add((n.op, "stride > 1"))
            if tuple(dil) != (1, 1):
                seen.add((n.op, "dilation > 1"))
        if n.op in ("Conv2D", "DepthwiseConv2D", "FullyConnected"):
            w = g.tensor(n.inputs[1])
            seen.add((n.op, "per-channel" if w.quant.per_channel else "per-tensor"))
            if (float(x.quant.scale[0]) * w.quant.scale / float(y.quant.scale[0]) > 1).all():
                seen.add("left shifts")
            if n.op == "Conv2D" and w.shape[1:3] == (1, 1) and not any(n.attr("pads")) \
                    and tuple(n.attr("stride")) == (1, 1):
                seen.add("pointwise")
        if y.quant is not None and int(y.quant.zero_point[0]) not in (-128, 0):
            seen.add("random output zero point")
    return seen


def test_generator_covers_the_variants():
    """The default seeds really draw what the module docstring promises."""
    seen = set().union(*(_variants(random_graph(seed)[0]) for seed in HOST_SEEDS))
    want = {"AveragePool", "MaxPool", "Add", "pointwise", "depth multiplier > 1", "left shifts",
            "random output zero point", ("FullyConnected", "per-tensor"), ("FullyConnected", "per-channel"),
            *((op, v) for op in ("Conv2D", "DepthwiseConv2D")
              for v in ("same", "valid", "explicit", "asymmetric pads", "stride > 1", "dilation > 1", "per-channel")),
            *((op, v) for op in ("AveragePool", "MaxPool") for v in ("same", "valid", "stride > 1")),
            *(("act", a) for a in ACTS)}
    assert want <= seen, sorted(map(str, want - seen))


# ---- pools with explicit pads: TFLite cannot express them --------------------------------

@pytest.mark.parametrize("op", ["AveragePool", "MaxPool"])
@pytest.mark.parametrize("seed", [7000, 7001])
def test_pool_with_explicit_pads_is_refused_or_exact(op, seed):
    """export_tflite must either refuse a pool with explicit pads or write a model that
    TFLM runs like the IR. (It used to write PAD + VALID pool, which puts the zero point
    into the windows that the IR, run_int8 and the C leave out.)"""
    from edgekit.errors import UnsupportedOpError

    rng = np.random.default_rng(seed)
    h, w, c = (int(v) for v in rng.integers(3, 9, 3))
    b = GraphBuilder(f"pool{seed}")
    x = b.input("x", (1, h, w, c), "int8")
    _set_q(b, x, QuantParams.make(0.05, int(rng.integers(-100, 100))))
    stride = tuple(int(v) for v in rng.integers(1, 3, 2))
    pads = (1, int(rng.integers(0, 3)), 1, int(rng.integers(0, 3)))   # top / left: never SAME here
    if pads == (*same_pads(h, 3, stride[0]), *same_pads(w, 3, stride[1])):
        pytest.fail(f"seed {seed} draws SAME pads {pads}; pick another seed")   # not an xfail
    window = ((3, 3), stride, (1, 1), pads, "explicit")
    y = _pool(b, rng, x, op, window=window)
    g = b.build([y])
    try:
        export_tflite(g)
    except UnsupportedOpError:
        return
    check_against_tflm(seed, g, boards=(), reproduce=f"test_pool_with_explicit_pads_is_refused_or_exact[{seed}-{op}]")
