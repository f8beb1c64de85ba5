"""Limits of the C runtime's kernels that the Python side must honour (layouts it emits,
what may run in place or as a codebook). Each is defined once, in the runtime's API
header `ek_nn.h`, and read from there."""
from __future__ import annotations

import re

from edgekit.resources import RUNTIME


def _c_define(name: str) -> int:
    text = (RUNTIME / "include" / "ek_nn.h").read_text()
    m = re.search(rf"^#define {name} (\d+)$", text, re.M)
    if not m:
        raise RuntimeError(f"{name} is not defined in ek_nn.h")
    return int(m.group(1))


DW_MAX_TAPS = _c_define("EK_DW_MAX_TAPS")   # taps of a grouped (in-place / codebook) depthwise filter
CB_TILE = _c_define("EK_CB_TILE")           # output pixels per tile of the codebook convolutions
CB_TILE_4BIT = _c_define("EK_CB_TILE_4BIT") # the same with 4-bit codes
