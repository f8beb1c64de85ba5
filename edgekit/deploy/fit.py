"""Fit by construction: the k-means codebook size chosen so that the firmware fits the
board's flash and RAM with HEADROOM of each left for the application.

A layer's deployed bytes depend only on its shape and its index width, not on the
weights' values, so the firmware's size at each width is measured exactly (code
generated, `checks.estimate`) on stand-in models: the float model compressed by plain
k-means (no GPTQ, no learned rounding) at each width. The real compression then runs
once, at the chosen width. With `fit` (deploy --fit) the widest codebooks that fit are
chosen; without it the default (DEPLOY_BINS) is kept when it fits and narrowed only
when it does not.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from edgekit.boards import Board
from edgekit.errors import InputError

HEADROOM = 0.25                 # share of flash and of RAM left for the application
BINS = (16, 8, 4, 2)            # 4, 3, 2, 1-bit indices: the widths the kernels take


def budget(board: Board) -> dict:
    return {"flash_bytes": int(board.flash_bytes * (1 - HEADROOM)),
            "ram_bytes": int(board.ram_bytes * (1 - HEADROOM))}


def sizes(graph, sx: np.ndarray) -> dict[int, dict]:
    """{bins: the firmware's estimated flash and RAM} for each codebook size."""
    from edgekit.codegen.emit import generate
    from edgekit.compress import CompressConfig, compress_to_int8
    from edgekit.deploy.checks import estimate

    out = {}
    for bins in BINS:
        cfg = CompressConfig(method="kmeans", bins={"*": bins}, gptq=False, refine_steps=0)
        out[bins] = estimate(generate(compress_to_int8(graph, sx[:4], cfg, show_progress=False)[1], "kws"))
    return out


def fits(need: dict, board: Board) -> bool:
    """The firmware's estimated flash and RAM leave the headroom free."""
    have = budget(board)
    return all(need[k] <= have[k] for k in have)


def report(board: Board, bins: int, default_bins: int, widest: bool, by_bins: dict[int, dict] | None = None) -> dict:
    """What deploy.json says of the fit (with the size of each width when they were measured)."""
    sizes = {"sizes": {str(b): by_bins[b] for b in BINS}} if by_bins else {}
    return {"headroom": HEADROOM, "budget": budget(board), **sizes, "widest": widest, "bins": bins,
            "changed": bins != default_bins}


def choose_bins(by_bins: dict[int, dict], board: Board, default_bins: int, widest: bool) -> tuple[int, dict]:
    """(bins, report): the default if it fits and not `widest`, else the widest that fits;
    refused with the bytes needed when not even 1-bit codebooks fit."""
    have = budget(board)
    fitting = [b for b in BINS if fits(by_bins[b], board)]
    if not fitting:
        need = by_bins[min(BINS)]
        names = {"flash_bytes": "flash", "ram_bytes": "RAM"}
        over = ", ".join(f"{names[k]} {need[k]:,} B of {have[k]:,} B" for k in have if need[k] > have[k])
        raise InputError(f"model does not fit {board.name} with {HEADROOM:.0%} left for the application, even with "
                         f"1-bit codebooks: the firmware needs about {over} (the board has "
                         f"{board.flash_bytes:,} B flash, {board.ram_bytes:,} B RAM)")
    bins = fitting[0] if widest or default_bins not in fitting else default_bins
    return bins, report(board, bins, default_bins, widest, by_bins)


def fitted_config(ccfg, bins: int):
    return dataclasses.replace(ccfg, bins={"*": bins})
