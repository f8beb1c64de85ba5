"""Each C kernel, built for the host, against its NumPy twin on random shapes, offsets,
multipliers and activations: identical bytes, every element.

Random single-op int8 graphs are generated directly in the IR (random scales and zero
points give random multipliers/shifts), emitted as C with edgekit's code generator,
compiled with gcc -std=c99 -Wall -Werror and run on a random batch.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.ir import QuantParams, Tensor
from edgekit.ir.builder import GraphBuilder
from edgekit.ir.ops import same_pads
from edgekit.quant.reference import requant_params, run_int8
from edgekit.toolchain.cbuild import build, run_batch
from tests.conftest import assert_identical


def _q(rng):
    return QuantParams.make(float(rng.uniform(0.005, 0.2)), int(rng.integers(-128, 128)))


def _quantize_graph(b: GraphBuilder, rng, outputs, out_scale=None):
    """Turn a float-built graph into an int8 one with random quantization (out_scale: a
    fixed scale for the outputs, e.g. a tiny one for requantization left shifts)."""
    tensors = {}
    for name, t in b.tensors.items():
        if t.is_const:
            tensors[name] = t
        elif out_scale is not None and name in outputs:
            tensors[name] = Tensor(name, t.shape, "int8", None,
                                   QuantParams.make(out_scale, int(rng.integers(-128, 128))))
        else:
            tensors[name] = Tensor(name, t.shape, "int8", None, _q(rng))
    b.tensors = tensors
    return b.build(outputs)


def _conv_case(rng, op: str, pointwise=False, simd=False, odd=False, k3s1=False):
    """simd: channel counts that take the Cortex-M4/M7 SIMD paths (multiples of 4, depth
    multiplier 1); odd: an odd number of pixels (the 1x1 kernel works in pixel pairs);
    k3s1: a 3x3 kernel, stride 1, SAME padding (depthwise: runs in place)."""
    h, w, cin = int(rng.integers(4, 12)), int(rng.integers(4, 12)), int(rng.integers(1, 9))
    if simd:
        cin = 4 * int(rng.integers(1, 5))
    if odd:
        h, w = h | 1, w | 1
    mult = int(rng.integers(1, 3)) if op == "DepthwiseConv2D" and not simd else 1
    cout = int(rng.integers(1, 12)) if op == "Conv2D" else cin * mult
    kh, kw = (1, 1) if pointwise else (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    stride = (1, 1) if pointwise else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    same = bool(rng.integers(0, 2)) and not pointwise
    if k3s1:
        kh, kw, stride, same = 3, 3, (1, 1), True
    pads = (*same_pads(h, kh, stride[0]), *same_pads(w, kw, stride[1])) if same else (0, 0, 0, 0)
    if pointwise:
        cout = int(rng.integers(1, cin + 1))
    b = GraphBuilder("k")
    x = b.input("x", (1, h, w, cin))
    wshape = (cout, kh, kw, cin) if op == "Conv2D" else (1, kh, kw, cout)
    wq = rng.integers(-127, 128, wshape).astype(np.int8)
    ws = rng.uniform(0.001, 0.05, cout).astype(np.float32)
    w_t = b.const("w", wq)
    b.tensors["w"] = Tensor("w", wshape, "int8", wq, QuantParams.make(ws, 0, 0 if op == "Conv2D" else 3))
    bias = b.const("b", rng.integers(-5000, 5000, cout).astype(np.int32))
    act = str(rng.choice(["none", "relu", "relu6"]))
    attrs = dict(stride=stride, pads=pads, activation=act)
    if op == "DepthwiseConv2D":
        attrs["depth_multiplier"] = mult
    y = b.node(op, "op", [x, w_t, bias], **attrs)
    return b, [y]


def _fc_case(rng):
    cin, cout = int(rng.integers(1, 40)), int(rng.integers(1, 20))
    b = GraphBuilder("k")
    x = b.input("x", (1, cin))
    wq = rng.integers(-127, 128, (cout, cin)).astype(np.int8)
    w_t = b.const("w", wq)
    b.tensors["w"] = Tensor("w", (cout, cin), "int8", wq, QuantParams.make(rng.uniform(0.001, 0.05), 0))
    y = b.node("FullyConnected", "op", [x, w_t, b.const("b", rng.integers(-3000, 3000, cout).astype(np.int32))],
               activation=str(rng.choice(["none", "relu"])))
    return b, [y]


def _pool_case(rng, op):
    h, w, c = int(rng.integers(2, 10)), int(rng.integers(2, 10)), int(rng.integers(1, 6))
    k = (int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    same = bool(rng.integers(0, 2))
    pads = (*same_pads(h, k[0], s[0]), *same_pads(w, k[1], s[1])) if same else (0, 0, 0, 0)
    b = GraphBuilder("k")
    x = b.input("x", (1, h, w, c))
    y = b.node(op, "op", [x], kernel=k, stride=s, pads=pads, activation="none")
    return b, [y]


def _shared_quant(g, names):
    """Pools / pad keep their input's quantization."""
    q = g.tensor(g.inputs[0]).quant
    return g.replace(tensors={**g.tensors, **{n: Tensor(n, g.tensor(n).shape, "int8", None, q) for n in names}})


def _run_both(g, rng, n=6, board="host"):
    x = rng.integers(-128, 128, (n, *g.tensor(g.inputs[0]).shape[1:]), dtype=np.int8)
    gen = generate(g, "k")
    with tempfile.TemporaryDirectory() as d:
        exe = build(gen, get_board(board), Path(d))
        out = run_batch(exe, get_board(board), x, g.tensor(g.outputs[0]).size)
    ref = run_int8(g, x)[0].reshape(n, -1)
    assert_identical(ref, out, f"{[n.op for n in g.nodes]} on {board}")


@pytest.mark.parametrize("seed", range(6))
def test_conv_general(seed):
    rng = np.random.default_rng(seed)
    b, outs = _conv_case(rng, "Conv2D")
    _run_both(_quantize_graph(b, rng, outs), rng)


@pytest.mark.parametrize("seed", range(6))
def test_conv_pointwise_in_place(seed):
    rng = np.random.default_rng(100 + seed)
    b, outs = _conv_case(rng, "Conv2D", pointwise=True)
    _run_both(_quantize_graph(b, rng, outs), rng)


@pytest.mark.parametrize("seed", range(6))
def test_depthwise(seed):
    rng = np.random.default_rng(200 + seed)
    b, outs = _conv_case(rng, "DepthwiseConv2D")
    _run_both(_quantize_graph(b, rng, outs), rng)


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an385"])
@pytest.mark.parametrize("op", ["Conv2D", "Conv2D-1x1", "DepthwiseConv2D"])
@pytest.mark.parametrize("seed", range(4))
def test_simd_paths_in_qemu(op, seed, board):
    """The Cortex-M4 SIMD paths on the emulated M4 (and the Cortex-M3's plain C blocks:
    four pixels at a time in the 1x1 kernel), against the NumPy twin:
    channels in fours, 3x3 stride 1 (seeds 0, 1; depthwise in place, pixels in pairs),
    even and odd pixel counts (seeds 1, 3), the fast right-shift requantization tail and
    (seed 3: tiny output scale, so multipliers with left shifts) the general one."""
    rng = np.random.default_rng(600 + seed)
    b, outs = _conv_case(rng, op.split("-")[0], pointwise=op.endswith("1x1"), simd=True, odd=seed % 2 == 1,
                         k3s1=seed < 2 and not op.endswith("1x1"))
    g = _quantize_graph(b, rng, outs, out_scale=2e-4 if seed == 3 else None)
    _run_both(g, rng, n=3, board=board)


def _block_case(rng, op, mode, h, w, cin, cout, k=(1, 1)):
    """One conv-like layer (Conv2D with kernel k, or a 3x3 stride-1 SAME depthwise) whose
    requantization takes `mode` (_out_quant): the shapes of the blocks' edge cases."""
    b = GraphBuilder("k")
    x = b.input("x", (1, h, w, cin))
    b.tensors[x] = Tensor(x, (1, h, w, cin), "int8", None, _q(rng))
    if op == "DepthwiseConv2D":
        y = _cb_layer(b, rng, op, "w", x, (1, 3, 3, cin), mode, stride=(1, 1),
                      pads=(*same_pads(h, 3, 1), *same_pads(w, 3, 1)), depth_multiplier=1)
    else:
        pads = (*same_pads(h, k[0], 1), *same_pads(w, k[1], 1))
        y = _cb_layer(b, rng, op, "w", x, (cout, *k, cin), mode, stride=(1, 1), pads=pads)
    return b.build([y])


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500", "mps2-an385"])
@pytest.mark.parametrize("mode", ["right", "clamp", "any"])
@pytest.mark.parametrize("seed", range(3))
def test_blocks_random_shapes(seed, mode, board):
    """The int8 blocks of issue 19 on every core, each requantization path (ek_finish_r by
    SMMLAR or 64-bit SMLAL, + the after-the-fact clamp, ek_finish): the 1x1 kernel's 2 x 2
    LDM/LDRD blocks (M4/M7) and 4 x 2 MLA blocks (M3) with odd channel and pixel counts,
    pixel counts that leave 1-3 pixels after the fours, a long k (260); im2col blocks
    with k % 16 != 0 (the single-group tail); the depthwise pixel
    pairs with an odd width (a single last pixel). == the NumPy twin."""
    rng = np.random.default_rng(1000 + 10 * seed + ["right", "clamp", "any"].index(mode))
    h, w = int(rng.integers(1, 6)), int(rng.integers(1, 8)) | 1
    cin = [4 * int(rng.integers(1, 9)), 260, 12][seed]
    cout = int(rng.integers(1, cin + 1)) | 1 if seed != 1 else 7
    graphs = [_block_case(rng, "Conv2D", mode, h, w, cin, cout),
              _block_case(rng, "Conv2D", mode, h + 2, w, 4 * int(rng.integers(1, 4)), cout | 2, k=(2, 3)),
              _block_case(rng, "DepthwiseConv2D", mode, h + 2, w + 2, 4 * int(rng.integers(1, 5)), 0)]
    for g in graphs:
        assert _rq_mode(g, g.nodes[0]) == mode
        _run_both(g, rng, n=2, board=board)


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500"])
@pytest.mark.parametrize("mode", ["right", "clamp"])
@pytest.mark.parametrize("seed", range(3))
def test_depthwise_3x3_row_pairs(seed, mode, board):
    """The depthwise 3x3 path of the SIMD cores (ek_dw_conv_s8 dw3_*: filter rows paired
    for SMLAD, each channel group down all output rows): in place after a 1x1 conv (SAME,
    stride 1) and out of place with VALID padding and a width stride of 1 or 2 (and a
    height stride of 2, which takes the other path), heights of 1-6 (rows of zero points
    above and below), odd widths, both fast requantization tails. == the NumPy twin."""
    rng = np.random.default_rng(1100 + 10 * seed + ["right", "clamp"].index(mode))
    h, w, c = int(rng.integers(1, 7)), int(rng.integers(1, 10)) | 1, 4 * int(rng.integers(1, 5))
    b = GraphBuilder("k")
    x = b.input("x", (1, h, w, c))
    b.tensors[x] = Tensor(x, (1, h, w, c), "int8", None, _q(rng))
    y = _cb_layer(b, rng, "Conv2D", "p", x, (c, 1, 1, c), mode)
    y = _cb_layer(b, rng, "DepthwiseConv2D", "d", y, (1, 3, 3, c), mode, stride=(1, 1),
                  pads=(*same_pads(h, 3, 1), *same_pads(w, 3, 1)), depth_multiplier=1)
    graphs = [b.build([y])]
    if h >= 3 and w >= 3:
        sh, sw = [(1, 1), (1, 2), (2, 1)][seed]
        b = GraphBuilder("k")
        x = b.input("x", (1, h, w, c))
        b.tensors[x] = Tensor(x, (1, h, w, c), "int8", None, _q(rng))
        y = _cb_layer(b, rng, "DepthwiseConv2D", "d", x, (1, 3, 3, c), mode, stride=(sh, sw),
                      pads=(0, 0, 0, 0), depth_multiplier=1)
        graphs.append(b.build([y]))
    for g in graphs:
        assert {_rq_mode(g, n) for n in g.nodes} == {mode}
        _run_both(g, rng, n=2, board=board)


@pytest.mark.parametrize("board", ["host", "mps2-an386"])
@pytest.mark.parametrize("seed", range(3))
def test_avgpool_channel_fours(seed, board):
    """Average pooling four channels per pass (on the M4 two SXTAB16 int16-pair sums when
    the window has <= 256 elements, 32-bit sums above), channel counts with and without a
    remainder, windows up to a global pool of 18 x 16: == the NumPy twin."""
    rng = np.random.default_rng(1100 + seed)
    h, w, c = [(18, 16, 8), (9, 7, 11), (5, 6, 4)][seed]
    k = (h, w) if seed == 0 else (int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    same = seed == 2
    pads = (*same_pads(h, k[0], s[0]), *same_pads(w, k[1], s[1])) if same else (0, 0, 0, 0)
    b = GraphBuilder("k")
    x = b.input("x", (1, h, w, c))
    y = b.node("AveragePool", "op", [x], kernel=k, stride=s, pads=pads, activation="none")
    g = _quantize_graph(b, rng, [y])
    _run_both(_shared_quant(g, [y]), rng, board=board)


@pytest.mark.parametrize("seed", range(4))
def test_fully_connected(seed):
    rng = np.random.default_rng(300 + seed)
    b, outs = _fc_case(rng)
    _run_both(_quantize_graph(b, rng, outs), rng)


@pytest.mark.parametrize("op", ["AveragePool", "MaxPool"])
@pytest.mark.parametrize("seed", range(3))
def test_pools(op, seed):
    rng = np.random.default_rng(400 + seed)
    b, outs = _pool_case(rng, op)
    g = _quantize_graph(b, rng, outs)
    _run_both(_shared_quant(g, outs), rng)


@pytest.mark.parametrize("seed", range(3))
def test_add_softmax_pad_chain(seed):
    """pad -> depthwise (in place) -> add with the pad output -> reshape -> softmax."""
    rng = np.random.default_rng(500 + seed)
    h, w, c = int(rng.integers(3, 8)), int(rng.integers(3, 8)), int(rng.integers(1, 5))
    b = GraphBuilder("k")
    x = b.input("x", (1, h, w, c))
    p = b.node("Pad", "pad", [x], pads=((0, 0), (1, 0), (0, 2), (0, 0)))
    wq = rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8)
    w_t = b.const("w", wq)
    b.tensors["w"] = Tensor("w", wq.shape, "int8", wq, QuantParams.make(rng.uniform(0.01, 0.05, c), 0, 3))
    d = b.node("DepthwiseConv2D", "dw", [p, w_t], stride=(1, 1), pads=(1, 1, 1, 1), activation="relu",
               depth_multiplier=1)
    a = b.node("Add", "add", [d, p], activation="none")
    r = b.node("Reshape", "flat", [a], shape=(1, (h + 1) * (w + 2) * c))
    s = b.node("Softmax", "sm", [r], beta=1.0)
    g = _quantize_graph(b, rng, [s])
    g = _shared_quant(g, ["pad"])
    t = g.tensor("flat")
    g = g.replace(tensors={**g.tensors, "flat": Tensor("flat", t.shape, "int8", None, g.tensor("add").quant),
                           "sm": Tensor("sm", g.tensor("sm").shape, "int8", None, QuantParams.make(1 / 256, -128))})
    _run_both(g.verify(), rng)


def _with_codebook(g, rng, bits, name="w"):
    """The graph with filter `name` replaced by values from a random codebook of
    2^(bits-1)+1 .. 2^bits int8 codes (all of them used), as `edgekit compress` produces."""
    k = int(rng.integers((1 << (bits - 1)) + 1, (1 << bits) + 1))
    codes = rng.choice(np.arange(-127, 128), size=k, replace=False).astype(np.int8)
    t = g.tensor(name)
    sel = rng.integers(0, k, t.data.size)
    sel[:k] = np.arange(k)
    w = codes[sel].reshape(t.shape)
    return g.replace(tensors={**g.tensors, name: Tensor(name, t.shape, "int8", w, t.quant)})


@pytest.mark.parametrize("board", ["host", "mps2-an386", "mps2-an385"])
@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_codebook_conv_kernels(bits, board):
    """Conv and 1x1 conv reading codebook weights (1-4 bit indices, decode tables, odd
    channel counts and pixel counts, both requantization paths) == the NumPy twin on the
    decoded int8 weights; the generated code must call the codebook kernels."""
    rng = np.random.default_rng(700 + bits)
    for pointwise in (False, True):
        b, outs = _conv_case(rng, "Conv2D", pointwise=pointwise, simd=True, odd=bits % 2 == 1)
        g = _with_codebook(_quantize_graph(b, rng, outs, out_scale=2e-4 if bits == 4 else None), rng, bits)
        src = generate(g, "k").files["k.c"]
        assert ("ek_conv_1x1_cb_s8" if pointwise else "ek_conv_cb_s8") in src
        assert "static const ek_codebook cb = {k_i" in src
        # 4 bits: the one-lookup units table in flash when decoded more than once a call
        assert f", {bits}, k_u" in src if bits == 4 else f", {bits}, 0}};" in src
        _run_both(g, rng, n=3, board=board)


@pytest.mark.parametrize("board", ["host", "mps2-an386", "mps2-an385"])
@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_codebook_depthwise_kernel(bits, board):
    """Depthwise reading codebook weights (3x3 stride 1 in place, and a random kernel /
    stride) == the NumPy twin on the decoded weights; generated code calls the kernel."""
    rng = np.random.default_rng(800 + bits)
    for k3s1 in (True, False):
        b, outs = _conv_case(rng, "DepthwiseConv2D", simd=True, odd=bits % 2 == 1, k3s1=k3s1)
        g = _with_codebook(_quantize_graph(b, rng, outs, out_scale=2e-4 if bits == 4 else None), rng, bits)
        if g.tensor("w").size < (1 << (bits - 1)) + 1:      # too few weights for this many codes
            continue
        src = generate(g, "k").files["k.c"]
        assert "ek_dw_conv_cb_s8" in src and f", {bits}, 0}};" in src
        _run_both(g, rng, n=3, board=board)


# ---- codebook tiles: every requantization path, odd channels and pixels, 1-4 bits -------

def _rq_mode(g, node) -> str:
    """The requantization path the C kernels take for a layer (ek_rq_mode): 'any' (a shift
    above -2), 'clamp' (an activation range narrower than int8) or 'right'."""
    x, w, y = (g.tensor(node.inputs[0]), g.tensor(node.inputs[1]), g.tensor(node.outputs[0]))
    rq = requant_params(x, w, y, node.attr("activation", "none"))
    if (np.asarray(rq.shift) > -2).any():
        return "any"
    return "clamp" if rq.act_min > -128 or rq.act_max < 127 else "right"


def _out_quant(rng, mode, in_scale, w_scale):
    """An output quantization and activation that give requantization `mode`."""
    if mode == "any":          # effective multipliers around 1: shifts of 0..2, left ones
        scale = in_scale * float(np.mean(w_scale)) * float(rng.uniform(0.5, 2))
        return QuantParams.make(scale, int(rng.integers(-128, 128))), str(rng.choice(["none", "relu"]))
    # in_scale * w_scale / scale <= 0.2 * 0.05 / 0.05 = 1/5: every shift <= -2
    q = QuantParams.make(float(rng.uniform(0.05, 0.2)),
                         -128 if mode == "right" else int(rng.integers(-100, 60)))
    return q, str(rng.choice(["none", "relu"]) if mode == "right" else rng.choice(["relu", "relu6"]))


def _cb_layer(b, rng, op, name, x, wshape, mode, **attrs):
    """A conv-like layer with random per-channel weights (codes set later), bias and the
    output quantization of `mode`."""
    cout = wshape[0] if op != "DepthwiseConv2D" else wshape[3]
    wq = rng.integers(-127, 128, wshape).astype(np.int8)
    ws = rng.uniform(0.001, 0.05, cout).astype(np.float32)
    b.tensors[name] = Tensor(name, wshape, "int8", wq, QuantParams.make(ws, 0, 0 if op != "DepthwiseConv2D" else 3))
    bias = b.const(name + "_b", rng.integers(-5000, 5000, cout).astype(np.int32))
    q, act = _out_quant(rng, mode, float(b.tensors[x].quant.scale[0]), ws)
    y = b.node(op, name + "_y", [x, name, bias], activation=act, **attrs)
    b.tensors[y] = Tensor(y, b.shape(y), "int8", None, q)
    return y


def _cb_chain(rng, mode, odd):
    """conv (k = kh * kw * cin % 4 == 0, random stride and padding) -> depthwise (3x3 in
    place, or a random kernel and stride) -> 1x1 conv (any cout: odd counts, in place or
    not), every layer taking requantization `mode`; odd: odd pixel counts."""
    h, w = (int(v) for v in rng.integers(4, 12, 2))
    if odd:
        h, w = h | 1, w | 1
    cin = int(rng.choice([1, 2, 3, 4, 8]))
    kh, kw = 1, 1
    while (kh * kw * cin) % 4 or kh * kw == 1:     # the im2col kernel, not the 1x1 one
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    c1 = 4 * int(rng.integers(2, 5))               # depthwise codebooks: channels in fours
    c2 = int(rng.integers(2, c1 + 4))              # every filter holds >= 16 weights (codes)
    stride = tuple(int(v) for v in rng.integers(1, 3, 2))
    b = GraphBuilder("k")
    x = b.input("x", (1, h, w, cin))
    b.tensors[x] = Tensor(x, (1, h, w, cin), "int8", None, _q(rng))
    pads = (*same_pads(h, kh, stride[0]), *same_pads(w, kw, stride[1])) if rng.integers(0, 2) else (0, 0, 0, 0)
    y = _cb_layer(b, rng, "Conv2D", "c", x, (c1, kh, kw, cin), mode, stride=stride, pads=pads)
    oh, ow = b.shape(y)[1:3]
    dk, ds = ((3, 3), (1, 1)) if rng.integers(0, 2) else (tuple(int(v) for v in rng.integers(2, 4, 2)),
                                                       tuple(int(v) for v in rng.integers(1, 3, 2)))
    dpads = (*same_pads(oh, dk[0], ds[0]), *same_pads(ow, dk[1], ds[1]))
    y = _cb_layer(b, rng, "DepthwiseConv2D", "d", y, (1, *dk, c1), mode, stride=ds, pads=dpads,
                  depth_multiplier=1)
    y = _cb_layer(b, rng, "Conv2D", "p", y, (c2, 1, 1, c1), mode)
    return b.build([y])


@pytest.mark.parametrize("board", ["host", "mps2-an386", "mps2-an385"])
@pytest.mark.parametrize("mode", ["right", "clamp", "any"])
@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_codebook_tiles(bits, mode, board):
    """The codebook kernels' blocks (ek_pair_tile_cb's tiles with partial and odd tails,
    odd last channels, the decoded depthwise filter in and out of place) on random chains,
    for each bit width and requantization path (ek_finish_r, + the SIMD clamp, ek_finish),
    on the host (plain C), the M4 (SIMD) and the M3 (plain C): == the NumPy twin."""
    rng = np.random.default_rng(900 + 10 * bits + ["right", "clamp", "any"].index(mode))
    g = _cb_chain(rng, mode, odd=bits % 2 == 1)
    for name in ("c", "d", "p"):
        g = _with_codebook(g, rng, bits, name)
    assert [_rq_mode(g, n) for n in g.nodes] == [mode] * 3
    src = generate(g, "k").files["k.c"]
    assert all(k in src for k in ("ek_conv_cb_s8(", "ek_dw_conv_cb_s8(", "ek_conv_1x1_cb_s8("))
    _run_both(g, rng, n=3, board=board)


@pytest.mark.parametrize("board", ["host", "mps2-an386"])
@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_codebook_fully_connected(bits, board):
    """A fully connected codebook layer runs as a 1x1 conv over its rows (tiles shorter
    than EK_CB_TILE: 1, 2 or 3 rows; an odd output count) == the NumPy twin."""
    rng = np.random.default_rng(950 + bits)
    rows, cin, cout = int(rng.integers(1, 4)), 4 * int(rng.integers(1, 6)), 2 * int(rng.integers(2, 8)) + 1
    b = GraphBuilder("k")
    x = b.input("x", (1, rows, cin))
    wq = rng.integers(-127, 128, (cout, cin)).astype(np.int8)
    b.tensors["w"] = Tensor("w", (cout, cin), "int8", wq, QuantParams.make(rng.uniform(0.001, 0.05), 0))
    y = b.node("FullyConnected", "fc", [x, "w", b.const("b", rng.integers(-3000, 3000, cout).astype(np.int32))],
               activation="relu", keep_dims=True)
    g = _with_codebook(_quantize_graph(b, rng, [y]), rng, bits)
    assert "ek_conv_1x1_cb_s8(" in generate(g, "k").files["k.c"]
    _run_both(g, rng, n=3, board=board)
