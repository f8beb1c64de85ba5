"""Sensitivity-guided bit allocation: how many bins each layer gets to meet a size target.

Bin & Quant's budget (--max-drop) fixes the accuracy and lets the size fall where it
may. Users who must fit a flash budget give a size instead (--target-ratio). Then, as in
ZeroQ's Pareto-frontier search, but with our data-free proxy:
1. sensitivity: each compressible layer alone (the others float) is binned at 1, 2, 3 and
   4 bits (2^b bins, k-means edges, GPTQ assignment and bias correction, exactly as the
   compression pass will do it), and the KL divergence from the float model on the
   synthetic set is measured; int8 costs ~0 (the PTQ the whole model gets anyway);
2. frontier: per-layer KLs are added (small perturbations of different layers add up to
   first order) and the Pareto frontier of (deployed bytes, summed KL) over every
   per-layer choice is built layer by layer, dropping dominated partial choices;
3. choice: the frontier point of least KL within the byte budget.
The sizes are exact (deployed bytes of the codebook format), so the compressed model
meets the target ratio by construction; its accuracy is whatever the allocation buys.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgekit.compress.codebook import Codebook, weight_bytes
from edgekit.errors import InputError

BITS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Option:
    bits: int            # 8: int8, no codebook
    bytes: int
    kl: float


@dataclass(frozen=True)
class Point:
    bytes: int
    kl: float
    bits: tuple[int, ...]    # per layer, in the order the options were given


def option_bytes(op: str, shape: tuple[int, ...], bits: int) -> int:
    """Flash bytes of a layer's weights deployed at `bits` (8: plain int8)."""
    return weight_bytes(op, shape, None if bits == 8 else Codebook(tuple(range(1 << bits)), bits))


def frontier(options: list[list[Option]]) -> list[Point]:
    """Pareto frontier (bytes ascending, KL strictly descending) of per-layer choices."""
    front = [Point(0, 0.0, ())]
    for opts in options:
        cand = sorted((Point(p.bytes + o.bytes, p.kl + o.kl, p.bits + (o.bits,)) for p in front for o in opts),
                      key=lambda p: (p.bytes, p.kl))
        front, best = [], float("inf")
        for p in cand:
            if p.kl < best - 1e-12:
                front.append(p)
                best = p.kl
    return front


def choose(front: list[Point], budget: int, fixed_bytes: int, n_weights: int, target: float) -> Point:
    """The least-KL frontier point within `budget` bytes (fixed_bytes: layers that cannot be
    codebooks, already subtracted from the budget)."""
    fit = [p for p in front if p.bytes <= budget]
    if not fit:
        best = 4 * n_weights / (front[0].bytes + fixed_bytes)
        raise InputError(f"--target-ratio {target:g} is out of reach for this model: 1-bit codebooks in every "
                         f"layer give {best:.2f}x at most")
    return min(fit, key=lambda p: (p.kl, p.bytes))
