"""Error-compensating assignment of weights to codes (GPTQ / OBQ, Frantar et al. 2022),
with the layer's input statistics taken from the synthetic set: still no data, no labels,
no retraining.

Rounding each weight to its nearest code ignores that the errors add up in the layer's
output. GPTQ walks the input columns in order; after rounding column i it spreads that
column's error over the columns not yet rounded, weighted by the inverse of
H = E[x x^T] (x: the layer's input vectors, im2col'd), so the layer output moves as little
as possible. Conv / 1x1 conv / FC share one H per layer; each depthwise channel has its
own (its 3x3 patches of one input channel).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from edgekit.ir import Node


def _patches(x: torch.Tensor, node: Node, kh: int, kw: int) -> torch.Tensor:
    """NHWC activations -> [N, C, kh*kw, L] patches (zeros where the window pads)."""
    t, b, l, r = node.attr("pads", (0, 0, 0, 0))
    xc = F.pad(x.permute(0, 3, 1, 2), (l, r, t, b))
    cols = F.unfold(xc, (kh, kw), dilation=tuple(node.attr("dilation", (1, 1))),
                    stride=tuple(node.attr("stride", (1, 1))))          # [N, C*kh*kw, L]
    return cols.reshape(x.shape[0], x.shape[3], kh * kw, -1)


def hessians(node: Node, w_shape: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """H per row group: [1, k, k] (shared) or [C, taps, taps] (depthwise)."""
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32)).double()
    if node.op == "FullyConnected":
        m = xt.reshape(-1, w_shape[1])
        return (m.T @ m / len(m)).numpy()[None]
    kh, kw = w_shape[1], w_shape[2]
    p = _patches(xt, node, kh, kw)                                        # [N, C, T, L]
    if node.op == "DepthwiseConv2D":
        q = p.permute(1, 0, 3, 2).reshape(p.shape[1], -1, kh * kw)      # [C, N*L, T]
        return (q.transpose(1, 2) @ q / q.shape[1]).numpy()
    # Conv2D: columns in the weight's (kh, kw, cin) order
    q = p.permute(0, 3, 2, 1).reshape(-1, kh * kw * p.shape[1])          # [N*L, T*C]
    return (q.T @ q / len(q)).numpy()[None]


def _inv_chol(h: np.ndarray, damp: float) -> np.ndarray:
    """Upper Cholesky factor of H^-1 (with diagonal damping), batched."""
    k = h.shape[-1]
    d = np.einsum("...ii->...i", h).mean(-1)
    hd = h + (damp * np.maximum(d, 1e-12))[..., None, None] * np.eye(k)
    dead = np.einsum("...ii->...i", h) <= 0
    hd = np.where(dead[..., None, :] | dead[..., :, None], 0, hd) + dead[..., None, :] * np.eye(k)
    hinv = np.linalg.inv(hd)
    return np.swapaxes(np.linalg.cholesky(hinv), -1, -2)


def assign(w_rows: np.ndarray, scales: np.ndarray, codes: np.ndarray, h: np.ndarray,
           damp: float = 0.01) -> np.ndarray:
    """Indices into codes for w_rows [R, K] (row r scaled by scales[r]); h: [1, K, K] or
    [R, K, K]. Returns [R, K] int64."""
    w = np.array(w_rows, np.float64)
    u = _inv_chol(h, damp)                                                # [1|R, K, K]
    s = scales.reshape(-1, 1) * np.ones((w.shape[0], 1))
    levels = codes.astype(np.float64)
    idx = np.zeros(w.shape, np.int64)
    for i in range(w.shape[1]):
        col = w[:, i] / s[:, 0]
        j = np.abs(col[:, None] - levels[None, :]).argmin(1)
        idx[:, i] = j
        q = levels[j] * s[:, 0]
        d = u[:, i, i]
        err = (w[:, i] - q) / d
        w[:, i + 1:] -= err[:, None] * u[:, i, i + 1:]
    return idx
