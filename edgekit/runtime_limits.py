"""Limits of the C side that the Python side must honour: the runtime's kernels (layouts
it emits, what may run in place or as a codebook; defined in the API header `ek_nn.h`)
the KWS firmware (`ek_kws.h`) and the bare-metal board support (`ek_board.h`). Each is defined once, in its C header, and read from
there."""
from __future__ import annotations

import re
from pathlib import Path

from edgekit.resources import FIRMWARE, RUNTIME

EK_NN_H = RUNTIME / "include" / "ek_nn.h"
EK_KWS_H = FIRMWARE / "kws" / "ek_kws.h"
EK_BOARD_H = FIRMWARE / "baremetal" / "ek_board.h"


def _c_define(name: str, header: Path = EK_NN_H) -> int:
    m = re.search(rf"^#define {name} (\d+)\b", header.read_text(), re.M)
    if not m:
        raise RuntimeError(f"{name} is not defined in {header.name}")
    return int(m.group(1))


DW_MAX_TAPS = _c_define("EK_DW_MAX_TAPS")   # taps of a grouped (in-place / codebook) depthwise filter
CB_TILE = _c_define("EK_CB_TILE")           # output pixels per tile of the codebook convolutions
KWS_MAX_MS = _c_define("EK_KWS_MAX_MS", EK_KWS_H)   # the detector's int32 ms clock: longest stream
AUDIO_RING = _c_define("EK_AUDIO_RING", EK_BOARD_H)   # samples of the board support's audio ring
