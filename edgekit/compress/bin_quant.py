"""Bin & Quant without data: sensitivity-guided per-layer binning (arXiv 2210.05111).

Per layer, largest weight tensors first, each starting from the model the previous layers
left (greedy):
1. weights are normalized per output channel to the int8 grid (u = w / s_c, s_c =
   max|w_c| / 127), so one set of bins serves every channel;
2. bin edges start at [min, mu - sigma, mu, mu + sigma, max] of u (4 bins);
3. every weight becomes its bin's representative, rounded to an int8 code (the mean of
   the bin's members; the paper uses the midpoint); then each channel's scale is refit by
   least squares to its codes, and the bias absorbs the mean error the layer now makes on
   the synthetic inputs (DFQ-style bias correction);
4. if the proxy (edgekit.compress.proxy: top-1 agreement with the float model on the
   BN-synthesized inputs) has dropped by no more than the budget, the layer is done;
5. otherwise each bin's sensitivity is measured: the KL divergence from the float model
   when only that bin's weights grow by 20 %; the most sensitive bin is split at its
   midpoint, and step 3 repeats, up to 16 bins (4 bits). A layer that cannot meet the
   budget with 16 bins stays int8.
Then (refine_steps > 0) every codebook layer, in graph order, gets learned rounding
(rounding.py): each weight's choice between its two nearest codes, the channel scales and
the bias are fitted to the float layer's output on the synthetic inputs.
The result is a float graph whose weights are exactly scale_c * code[index], plus the
per-layer codes and scales, which PTQ then turns into an int8 model (fixed weights).

The same driver also runs sensitivity-blind k-means at given per-layer bin counts, the
baseline the benchmark compares against, and, for a size target (target_ratio), the
sensitivity allocation of allocate.py: bits per layer from each layer's proxy KL at 1-4
bits, then k-means bins at those counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from edgekit.compress import MAX_DROP, gptq, rounding
from edgekit.compress.allocate import BITS, Option, choose, frontier, option_bytes
from edgekit.compress.codebook import Codebook, bits_for, deployable, kernel_exists, weight_bytes
from edgekit.compress.proxy import Proxy, Score
from edgekit.errors import InputError
from edgekit.executors.float_exec import FloatModule
from edgekit.ir import Graph
from edgekit.ir.ops import WEIGHTED_OPS
from edgekit.progress import progress_bar
from edgekit.quant.fold import prepare_for_quantization
from edgekit.quant.ptq import WEIGHT_AXIS, bias_correction, bias_name


@dataclass(frozen=True)
class CompressConfig:
    """max_drop: how many points of top-1 agreement with the float model (on the synthetic
    set) the weight compression may cost. target_ratio: instead of max_drop, a weight_ratio
    to reach; the bins per layer are then allocated by sensitivity (allocate.py). method:
    'binquant' or 'kmeans' (then `bins` gives each layer's bin count, by node name, "*"
    for every layer)."""

    max_drop: float = MAX_DROP
    target_ratio: float | None = None
    max_bins: int = 16
    perturb: float = 0.2
    method: str = "binquant"
    bins: dict = field(default_factory=dict)
    bias_correction: bool = True
    refit_scales: bool = True
    gptq: bool = True
    refine_steps: int = 2000       # learned rounding (rounding.py) after binning; 0: off
    seed: int = 0

    def __post_init__(self):
        if self.target_ratio is not None and (self.method != "binquant" or not self.target_ratio > 0):
            raise InputError("--target-ratio needs --method binquant and a ratio > 0")
        if self.refine_steps < 0:
            raise InputError("--refine-steps must be >= 0")


@dataclass
class LayerResult:
    node: str
    op: str
    weight: str
    shape: tuple[int, ...]
    kind: str                      # "codebook" | "int8"
    bins: int = 0
    codes: tuple[int, ...] = ()
    bits: int = 8
    bytes: int = 0
    steps: int = 0
    score: dict = field(default_factory=dict)
    sensitivity: list = field(default_factory=list)   # per split: KL per bin
    bit_kl: dict = field(default_factory=dict)         # --target-ratio: bits -> KL, layer alone
    rounding: dict = field(default_factory=dict)       # learned rounding: layer MSE before/after

    @property
    def n_weights(self) -> int:
        return int(np.prod(self.shape))

    def as_dict(self) -> dict:
        return {"node": self.node, "op": self.op, "weights": self.n_weights, "kind": self.kind,
                "bins": self.bins, "bits": self.bits, "codes": list(self.codes),
                "bytes": self.bytes, "steps": self.steps, "score": self.score,
                "sensitivity": self.sensitivity, **({"bit_kl": self.bit_kl} if self.bit_kl else {}),
                **({"rounding": self.rounding} if self.rounding else {})}


@dataclass
class CompressResult:
    graph: Graph                                 # float, BN folded, compressed weights
    layers: list[LayerResult]
    fixed: dict[str, tuple[np.ndarray, np.ndarray]]   # weight name -> (int8 codes[idx], scales)
    score: Score
    evaluations: int
    allocation: dict = field(default_factory=dict)   # --target-ratio: budget, choice, frontier


# ---- one layer's binning -------------------------------------------------------------------

def _axis_shape(w: np.ndarray, axis) -> tuple[int, ...]:
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    return tuple(shape)


def normalize(w: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    """u = w / s on the int8 grid, s per output channel (per tensor when axis is None)."""
    red = tuple(i for i in range(w.ndim) if i != axis) if axis is not None else None
    amax = np.abs(w).max(axis=red)
    s = np.where(amax > 0, amax / 127.0, 1.0).reshape(_axis_shape(w, axis) if axis is not None else ())
    return w / s, np.atleast_1d(s).reshape(-1)


def initial_edges(u: np.ndarray) -> np.ndarray:
    lo, hi, mu, sd = float(u.min()), float(u.max()), float(u.mean()), float(u.std())
    inner = [e for e in (mu - sd, mu, mu + sd) if lo < e < hi]
    return np.array(sorted({lo, *inner, hi}))


def assign(u: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges[1:-1], u, side="right")


def _representatives(u: np.ndarray, idx: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each bin's int8 representative: the mean of its members (empty: its midpoint)."""
    reps = [u[idx == k].mean() if np.any(idx == k) else 0.5 * (edges[k] + edges[k + 1])
            for k in range(len(edges) - 1)]
    return np.clip(np.round(reps), -127, 127).astype(np.int64)


def bin_codes(u: np.ndarray, idx: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bins' representatives, duplicates merged. Returns (codes sorted, index into
    codes per weight)."""
    codes, inv = np.unique(_representatives(u, idx, edges), return_inverse=True)
    return codes, inv[idx]


def bin_to_code(u: np.ndarray, edges: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The index (into codes) of each bin's representative."""
    return np.searchsorted(codes, _representatives(u, assign(u, edges), edges))


def decode(w: np.ndarray, codes: np.ndarray, cidx: np.ndarray, axis, s0: np.ndarray,
           refit: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float weights scale_c * code, int8 codes per weight, scales: s0, or refit by least
    squares to the codes)."""
    q = codes[cidx].astype(np.float64)
    if refit:
        red = tuple(i for i in range(w.ndim) if i != axis) if axis is not None else None
        num, den = (w * q).sum(axis=red), (q * q).sum(axis=red)
        s = np.where(den > 0, num / np.where(den > 0, den, 1), s0.reshape(np.shape(num)))
        s = np.where(s > 0, s, s0.reshape(np.shape(num)))
    else:
        s = s0
    s = np.atleast_1d(np.asarray(s, np.float32)).reshape(-1)
    sb = s.reshape(_axis_shape(w, axis)) if axis is not None else s[0]
    return q * sb, codes[cidx].astype(np.int8), s


def kmeans_1d(u: np.ndarray, k: int, iters: int = 50) -> np.ndarray:
    """Sensitivity-blind baseline: Lloyd's k-means on the normalized weights; returns the
    bin edges (midpoints between sorted centroids)."""
    flat = np.sort(u.reshape(-1))
    c = np.quantile(flat, (np.arange(k) + 0.5) / k)
    for _ in range(iters):
        edges = np.concatenate([[flat[0]], (c[1:] + c[:-1]) / 2, [flat[-1]]])
        idx = assign(flat, edges)
        new = np.array([flat[idx == j].mean() if np.any(idx == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = np.sort(new)
    return np.concatenate([[flat[0]], (c[1:] + c[:-1]) / 2, [flat[-1]]])


# ---- the driver --------------------------------------------------------------------------

def rows(w: np.ndarray, op: str) -> np.ndarray:
    """Weights as [output channel, its inputs] (depthwise: [channel, taps])."""
    if op == "DepthwiseConv2D":
        return w.reshape(-1, w.shape[-1]).T
    return w.reshape(w.shape[0], -1)


def unrows(r: np.ndarray, op: str, shape: tuple[int, ...]) -> np.ndarray:
    if op == "DepthwiseConv2D":
        return r.T.reshape(shape)
    return r.reshape(shape)


class _Layer:
    """A compressible node of the (BN-folded) graph, with its original weights."""

    def __init__(self, g: Graph, node, proxy: Proxy, cfg: CompressConfig):
        self.node, self.op = node, node.op
        self.axis = WEIGHT_AXIS[node.op]
        self.wname = node.inputs[1]
        self.bname = bias_name(node)
        self.w = g.tensor(self.wname).data.astype(np.float64)
        self.b = g.tensor(self.bname).data.astype(np.float64) if self.bname else None
        self.u, self.s0 = normalize(self.w, self.axis)
        need_x = (cfg.bias_correction and self.bname) or cfg.gptq
        x = proxy.activations(node.inputs[0]) if need_x else None
        self.mean_in = x.reshape(-1, x.shape[-1]).mean(0) if cfg.bias_correction and self.bname else None
        self.h = gptq.hessians(node, self.w.shape, x) if cfg.gptq else None

    def apply(self, proxy: Proxy, edges: np.ndarray, cfg: CompressConfig):
        """Bin with these edges and load the layer into the proxy. Returns (per weight: its
        code's index, codes, float weights, int8 weights, scales)."""
        codes, cidx = bin_codes(self.u, assign(self.u, edges), edges)
        wf, q, s = decode(self.w, codes, cidx, self.axis, self.s0, cfg.refit_scales)
        if self.h is not None:   # error-compensating assignment at these scales
            cidx = unrows(gptq.assign(rows(self.w, self.op), s, codes, self.h), self.op, self.w.shape)
            wf, q, s = decode(self.w, codes, cidx, self.axis, s, False)
        proxy.set(self.wname, wf)
        if self.mean_in is not None:
            proxy.set(self.bname, self.b + bias_correction(self.node, self.w, q, s, self.axis, self.mean_in))
        return cidx, codes, wf, q, s

    def restore(self, proxy: Proxy) -> None:
        proxy.set(self.wname, self.w)
        if self.bname:
            proxy.set(self.bname, self.b)


def _sensitivities(proxy: Proxy, layer: _Layer, wf: np.ndarray, groups: np.ndarray, k: int,
                   perturb: float) -> list[float]:
    """KL from the float model when only group j's weights grow by `perturb`, j < k."""
    out = []
    for j in range(k):
        m = groups == j
        if not m.any():
            out.append(0.0)
            continue
        proxy.set(layer.wname, np.where(m, wf * (1 + perturb), wf))
        out.append(proxy.score().kl)
    proxy.set(layer.wname, wf)
    return out


def _within(score: Score, cfg: CompressConfig) -> bool:
    return score.agreement >= 1.0 - cfg.max_drop / 100.0 - 1e-9


def _compress_layer(proxy: Proxy, layer: _Layer, cfg: CompressConfig) -> tuple[LayerResult, tuple | None]:
    res = LayerResult(layer.node.name, layer.op, layer.wname, tuple(layer.w.shape), "int8")
    res.bytes = res.n_weights                     # as int8, until a codebook is kept
    if cfg.method == "kmeans":
        k = cfg.bins.get(layer.node.name, cfg.bins.get("*"))
        if not k:
            return res, None
        edges = kmeans_1d(layer.u, k)
    else:
        edges = initial_edges(layer.u)
    while True:
        res.steps += 1
        cidx, codes, wf, q, s = layer.apply(proxy, edges, cfg)
        score = proxy.score()
        k = len(edges) - 1
        if cfg.method == "kmeans" or _within(score, cfg):
            break
        if k >= cfg.max_bins:
            layer.restore(proxy)                  # cannot meet the budget: stays int8
            res.score = proxy.score().as_dict()
            return res, None
        # a bin's weights are those now holding its code (bins may share a code)
        per_code = _sensitivities(proxy, layer, wf, cidx, len(codes), cfg.perturb)
        sens = [per_code[c] for c in bin_to_code(layer.u, edges, codes)]
        res.sensitivity.append([round(v, 6) for v in sens])
        j = int(np.argmax(sens))
        edges = np.insert(edges, j + 1, 0.5 * (edges[j] + edges[j + 1]))
    res.kind, res.bins, res.score = "codebook", k, score.as_dict()
    _set_codes(res, layer.node, q)
    return res, (q, s)


def _set_codes(res: LayerResult, node, q: np.ndarray) -> None:
    """The codes, bits and deployed bytes of a codebook layer's int8 weights."""
    cb = Codebook.of(q)
    res.codes, res.bits = cb.codes, cb.bits
    res.bytes = weight_bytes(node.op, q.shape, deployable(node.op, q, node.attr("depth_multiplier", 1)))


def _round_layer(g: Graph, proxy: Proxy, node, codes: np.ndarray, q: np.ndarray, s: np.ndarray,
                 target: np.ndarray, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, rounding.Rounded]:
    """Learned rounding of one codebook layer (int8 weights q = codes[.], scales s) against
    the float output `target`, its input taken from the proxy's current weights; loads the
    result into the proxy. Returns (int8 weights, scales, the fit)."""
    wname, bname, axis = node.inputs[1], bias_name(node), WEIGHT_AXIS[node.op]
    w = g.tensor(wname).data.astype(np.float64)
    r = rounding.learn(node, w, axis, codes, s, proxy.get(bname) if bname else None, np.searchsorted(codes, q),
                       proxy.activations(node.inputs[0]), target, steps, seed)
    wf, q, s = decode(w, codes, r.cidx, axis, r.scales, refit=False)
    proxy.set(wname, wf)
    if bname:
        proxy.set(bname, r.bias)
    return q, s, r


def _refine(g: Graph, proxy: Proxy, layers: list[LayerResult], fixed: dict, cfg: CompressConfig, bar) -> None:
    """Learned rounding of every codebook layer, in graph order, each against the float
    model's output of that layer given the compressed layers before it."""
    by_node = {L.node: L for L in layers}
    nodes = [n for n in g.nodes if n.name in by_node]
    with torch.no_grad():
        _, ref = FloatModule(g).eval()(proxy.x, taps=tuple(n.outputs[0] for n in nodes))
    for node in nodes:
        res, wname = by_node[node.name], node.inputs[1]
        if res.kind == "codebook":          # an int8 layer has nothing to round
            q, s, r = _round_layer(g, proxy, node, np.array(res.codes, np.int64), *fixed[wname],
                                   ref[node.outputs[0]].numpy(), cfg.refine_steps, cfg.seed)
            fixed[wname] = (q, s)
            _set_codes(res, node, q)
            res.rounding = {"mse_before": round(r.mse_before, 6), "mse_after": round(r.mse_after, 6)}
        bar.update(layer=node.name, step="rounding")


def _nodes(g: Graph) -> list:
    """The layers a codebook kernel can run, largest weight tensor first (stable)."""
    nodes = [n for n in g.nodes if n.op in WEIGHTED_OPS
             and kernel_exists(n.op, g.tensor(n.inputs[1]).shape, n.attr("depth_multiplier", 1))]
    return sorted(nodes, key=lambda n: -g.tensor(n.inputs[1]).size)


def _bit_sensitivity(g: Graph, proxy: Proxy, nodes: list, cfg: CompressConfig, bar) -> list[list[Option]]:
    """Per layer, alone: the proxy KL at 1-4 bits (k-means bins, same assignment as the
    compression pass) and int8 (0)."""
    options = []
    for node in nodes:
        layer = _Layer(g, node, proxy, cfg)
        opts = [Option(8, option_bytes(node.op, layer.w.shape, 8), 0.0)]
        for b in BITS:
            _, codes, *_ = layer.apply(proxy, kmeans_1d(layer.u, 1 << b), cfg)
            bits = bits_for(len(codes))      # merged duplicate codes can only make it smaller
            opts.append(Option(bits, option_bytes(node.op, layer.w.shape, bits), proxy.score().kl))
        layer.restore(proxy)
        options.append(opts)
        bar.update(layer=node.name, step="sensitivity")
    return options


def _allocate(g: Graph, proxy: Proxy, nodes: list, cfg: CompressConfig, bar) -> tuple[CompressConfig, dict]:
    """--target-ratio: the per-layer bins the sensitivity allocation chooses, as a k-means
    config for the compression pass, and what to report about it."""
    n_all = fixed = 0
    names = {n.name for n in nodes}
    for n in g.nodes:
        if n.op in WEIGHTED_OPS:
            t = g.tensor(n.inputs[1])
            n_all += t.size
            fixed += 0 if n.name in names else t.size
    options = _bit_sensitivity(g, proxy, nodes, cfg, bar)
    front = frontier(options)
    budget = int(4 * n_all / cfg.target_ratio) - fixed
    pick = choose(front, budget, fixed, n_all, cfg.target_ratio)
    bins = {n.name: 1 << b for n, b in zip(nodes, pick.bits) if b != 8}
    info = {"target_ratio": cfg.target_ratio, "budget_bytes": budget + fixed,
            "chosen_bytes": pick.bytes + fixed, "predicted_kl": round(pick.kl, 6),
            "bit_kl": {n.name: {str(o.bits): round(o.kl, 6) for o in opts} for n, opts in zip(nodes, options)},
            "frontier": [[p.bytes + fixed, round(p.kl, 6)] for p in front]}
    return replace(cfg, method="kmeans", bins=bins, target_ratio=None), info


def compress_graph(graph: Graph, synth_x: np.ndarray, cfg: CompressConfig = CompressConfig(),
                   show_progress: bool = True) -> CompressResult:
    """Float graph + synthetic inputs -> compressed float graph and per-layer codebooks."""
    if cfg.method not in ("binquant", "kmeans"):
        raise InputError(f"unknown compression method '{cfg.method}' (binquant or kmeans)")
    g = prepare_for_quantization(graph)
    proxy = Proxy(g, synth_x)
    order = _nodes(g)
    layers, fixed, allocation = [], {}, {}
    steps = len(order) * (1 + bool(cfg.target_ratio) + bool(cfg.refine_steps))
    with progress_bar("compressing", steps, enabled=show_progress) as bar:
        run_cfg = cfg
        if cfg.target_ratio:
            run_cfg, allocation = _allocate(g, proxy, order, cfg, bar)
        for node in order:
            layer = _Layer(g, node, proxy, run_cfg)
            res, qs = _compress_layer(proxy, layer, run_cfg)
            res.bit_kl = allocation.get("bit_kl", {}).get(node.name, {})
            layers.append(res)
            if qs is not None:
                fixed[layer.wname] = qs
            bar.update(layer=node.name, bits=res.bits)
        if cfg.refine_steps:
            _refine(g, proxy, layers, fixed, run_cfg, bar)
    tensors = dict(g.tensors)
    for name in list(tensors):
        t = tensors[name]
        if t.is_const and proxy.has(name):
            tensors[name] = type(t)(t.name, t.shape, t.dtype, proxy.get(name).astype(t.data.dtype), t.quant)
    out = g.replace(tensors=tensors)
    return CompressResult(out, layers, fixed, proxy.score(), proxy.evaluations, allocation)


def compress_to_int8(graph: Graph, synth_x: np.ndarray, cfg: CompressConfig = CompressConfig(),
                     show_progress: bool = True) -> tuple[CompressResult, Graph]:
    """Codebook weights (Bin & Quant or k-means) on the synthetic set, then int8 PTQ with
    those weights kept exactly: (CompressResult, int8 graph)."""
    from edgekit.quant.ptq import quantize_graph

    r = compress_graph(graph, synth_x, cfg, show_progress)
    return r, quantize_graph(r.graph, synth_x, fixed=r.fixed)
