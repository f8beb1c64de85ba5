"""Learned rounding of codebook weights on the synthetic set (AdaRound, Nagel et al. 2020,
extended to codebooks): still no data, no labels, no retraining of the weights.

Binning fixes a layer's codes; GPTQ then assigns each weight to one from second-order
statistics. Learned rounding revisits that choice with the layer itself: each weight u
(on the int8 grid, u = w / scale) lies between two adjacent codes lo <= u <= hi and may
take either. A continuous h in [0, 1] per weight (a rectified sigmoid of a free variable)
interpolates lo..hi; h, the channel scales and the bias are fitted by Adam so that the
layer's output on the synthetic inputs, fed by the already compressed layers before it,
matches the float model's output of that layer (MSE after the fused activation), while a
regularizer with an annealed exponent drives every h to 0 or 1. h is then rounded.

Why it does not overfit 64 synthetic inputs where whole-model distillation did: each
weight keeps one binary choice between two fixed codes, and the objective is one layer's
output over every spatial position (thousands of rows per input), not 12 logits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from edgekit.executors.float_exec import run_layer
from edgekit.ir import Node

WARMUP = 0.2          # fraction of steps with reconstruction only
BETA = (20.0, 2.0)    # annealed exponent of the rounding regularizer
REG = 0.01            # its weight
LR_H, LR_REST = 1e-2, 1e-3


@dataclass(frozen=True)
class Rounded:
    cidx: np.ndarray        # per weight: index into codes
    scales: np.ndarray      # per output channel (one value: per tensor)
    bias: np.ndarray | None
    mse_before: float       # layer output MSE of the starting assignment (GPTQ) on the set
    mse_after: float


def _rect_sigmoid(v: torch.Tensor) -> torch.Tensor:
    return torch.clamp(torch.sigmoid(v) * 1.2 - 0.1, 0.0, 1.0)


def _init_logit(frac: torch.Tensor) -> torch.Tensor:
    """v with _rect_sigmoid(v) == frac (the weight's position between its two codes)."""
    p = ((frac + 0.1) / 1.2).clamp(1e-4, 1 - 1e-4)
    return torch.log(p / (1 - p))


def learn(node: Node, w: np.ndarray, axis, codes: np.ndarray, scales: np.ndarray, bias: np.ndarray | None,
          start: np.ndarray, x: np.ndarray, target: np.ndarray, steps: int, seed: int = 0,
          batch: int = 64) -> Rounded:
    """w: the float weights; codes: the layer's int8 codes (sorted); scales, start: the
    GPTQ result (scales, per-weight code index); x: the layer's input on the synthetic set
    (compressed layers before it); target: the float model's output of this layer."""
    shp = [1] * w.ndim
    if axis is not None:
        shp[axis] = -1
    c = torch.tensor(codes, dtype=torch.float32)
    s0 = torch.tensor(np.asarray(scales, np.float32)).reshape(shp)
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(target, np.float32))
    u = torch.from_numpy(np.asarray(w, np.float32)) / s0
    lo = (torch.searchsorted(c, u.contiguous(), right=True) - 1).clamp(0, max(len(c) - 2, 0))
    hi = (lo + 1).clamp(max=len(c) - 1)
    frac = ((u - c[lo]) / (c[hi] - c[lo]).clamp_min(1e-9)).clamp(0, 1)
    v = _init_logit(frac).requires_grad_(True)
    log_s = torch.log(s0).clone().requires_grad_(True)
    b = torch.tensor(np.asarray(bias, np.float32)).requires_grad_(True) if bias is not None else None
    rest = [log_s] + ([b] if b is not None else [])
    opt = torch.optim.Adam([{"params": [v], "lr": LR_H}, {"params": rest, "lr": LR_REST}])
    gen = torch.Generator().manual_seed(seed)

    def out(q, bb, rows=slice(None)):
        return run_layer(node, xt[rows], q * torch.exp(log_s), bb)

    with torch.no_grad():
        before = float(((run_layer(node, xt, c[torch.from_numpy(start)] * s0, b) - yt) ** 2).mean())
    for i in range(steps):
        rows = torch.randint(0, len(xt), (min(batch, len(xt)),), generator=gen)
        h = _rect_sigmoid(v)
        rec = ((out(c[lo] + h * (c[hi] - c[lo]), b, rows) - yt[rows]) ** 2).mean()
        t = i / steps
        loss = rec
        if t >= WARMUP:
            beta = BETA[0] + (BETA[1] - BETA[0]) * (t - WARMUP) / (1 - WARMUP)
            loss = rec + REG * (1 - (2 * h - 1).abs() ** beta).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        cidx = lo + (v >= 0).long() * (hi - lo)
        after = float(((out(c[cidx], b) - yt) ** 2).mean())
    if after >= before:          # never worse than where it started
        return Rounded(start, np.asarray(scales, np.float32).reshape(-1), bias, before, before)
    return Rounded(cidx.numpy(), torch.exp(log_s).detach().reshape(-1).numpy(),
                   b.detach().numpy().astype(np.float64) if b is not None else None, before, after)
