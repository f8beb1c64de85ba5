"""The codebook weight format: what edgekit's C kernels read from flash.

A codebook layer's int8 weights take at most 2^b distinct values (b = 1..4 bits), shared
by all its output channels (each channel keeps its own float scale, so the int8 model is
an ordinary per-channel TFLite model). Flash holds, per layer:
- the codes: 2^b int8 values (unused entries 0);
- the indices, bit-packed LSB first, in "units" of two indices (a | c << b, 2b bits)
  ordered as the kernel consumes them (see index_streams), plus 3 zero bytes of padding so
  the kernels may always load 32 bits.
Each kernel call expands the codes into a decode table of at most 64 words in its
scratch (ek_cb_lut_init; table() here): for b <= 3, 4^b entries, entry (a | c << b) =
code[a] in the low int16 and code[c] in the high int16 (one lookup gives the two int16
lanes SMLAD wants); for b = 4, 16 entries code[i] (4^4 entries would take 1 KB of RAM).
A 4-bit conv-like layer whose weights are decoded more than once a call (more output
pixels than a tile, EK_CB_TILE) also gets the 4^4-entry table in flash (units(); 1 KB),
so its conv kernels decode with one lookup a unit, as for 1-3 bits.
Storing the codes rather than that table saves up to 248 bytes per layer. The kernels
decode each block of weights once through it into scratch (a channel pair, or a whole
depthwise filter) and reuse it for many output pixels.

Unit order per kernel family (ek_nn.h):
- conv / 1x1 conv / fully connected ("pairs" layout, k = kh*kw*cin, or cin for a fully
  connected layer, which runs as a 1x1 conv over its rows; k % 4 == 0): per output-channel pair p,
  per group i of 4 values: (2p: v0, v2), (2p: v1, v3), (2p+1: v0, v2), (2p+1: v1, v3);
  an odd last channel: (v0, v2), (v1, v3) per group. Each channel pair's stream, and the
  odd row, start on a byte boundary.
- depthwise (multiplier 1, cout % 4 == 0, <= DW_MAX_TAPS taps): per group of 4 channels, per tap:
  (c0, c2), (c1, c3); each channel group starts on a byte boundary.

This module is the NumPy twin of the kernels' decoders: pack() produces exactly the bytes
the code generator emits, decode() inverts it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.ir.ops import WEIGHTED_OPS
from edgekit.runtime_limits import DW_MAX_TAPS

MAX_BITS = 4
PAD = 3


@dataclass(frozen=True)
class Codebook:
    """codes: the distinct int8 values (sorted); bits: index width."""

    codes: tuple[int, ...]
    bits: int

    @staticmethod
    def of(values: np.ndarray) -> "Codebook | None":
        """The codebook of an int8 weight tensor, or None if it has more than 16 values."""
        codes = tuple(int(v) for v in np.unique(values))
        if len(codes) > 1 << MAX_BITS:
            return None
        return Codebook(codes, bits_for(len(codes)))

    def indices(self, values: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.array(self.codes), values).astype(np.int64)

    def stored(self) -> np.ndarray:
        """The codes as flash holds them: 2^bits int8 values, unused entries 0."""
        return np.array(self.codes + (0,) * ((1 << self.bits) - len(self.codes)), np.int8)

    def table(self) -> np.ndarray:
        """The decode table a kernel builds from stored() (int32), as in the module doc."""
        return self.units() if self.bits <= 3 else self.stored().astype(np.int32)

    def units(self) -> np.ndarray:
        """The one-lookup table (int32, 4^b entries): entry (a | c << b) = code[a] in the
        low int16, code[c] in the high one. For 1-3 bits the kernels build it in scratch
        (table()); for 4 bits the code generator emits it to flash (ek_codebook.units)."""
        codes = self.stored().astype(np.int64)
        n = 1 << self.bits
        a, c = np.arange(n * n) % n, np.arange(n * n) // n
        return ((codes[a] & 0xFFFF) | (codes[c] << 16)).astype(np.int64).astype(np.int32)


def bits_for(n_codes: int) -> int:
    return max(1, int(np.ceil(np.log2(max(n_codes, 2)))))


# ---- unit order per kernel family --------------------------------------------------------

def _pairs_streams(idx: np.ndarray) -> list[np.ndarray]:
    """idx [cout, k] -> per byte-aligned stream, the flat index sequence (2 per unit)."""
    cout, k = idx.shape
    g = idx.reshape(cout, k // 4, 4)
    streams = []
    for p in range(cout // 2):
        a, b = g[2 * p], g[2 * p + 1]
        streams.append(np.stack([a[:, 0], a[:, 2], a[:, 1], a[:, 3],
                                 b[:, 0], b[:, 2], b[:, 1], b[:, 3]], axis=1).reshape(-1))
    if cout % 2:
        a = g[-1]
        streams.append(np.stack([a[:, 0], a[:, 2], a[:, 1], a[:, 3]], axis=1).reshape(-1))
    return streams


def _depthwise_streams(idx: np.ndarray) -> list[np.ndarray]:
    """idx [taps, cout] -> one stream per group of 4 channels."""
    taps, cout = idx.shape
    return [np.stack([idx[:, c], idx[:, c + 2], idx[:, c + 1], idx[:, c + 3]], axis=1).reshape(-1)
            for c in range(0, cout, 4)]


def index_streams(family: str, idx: np.ndarray) -> list[np.ndarray]:
    """family: 'pairs' (idx [cout, k]: conv, 1x1 conv, fully connected) or 'depthwise'
    (idx [taps, cout])."""
    if family == "pairs":
        return _pairs_streams(idx)
    return _depthwise_streams(idx)


def family_ok(family: str, shape: tuple[int, ...]) -> bool:
    """Whether a layer of this weight shape can use the codebook kernels."""
    if family == "pairs":
        return int(np.prod(shape[1:])) % 4 == 0
    return shape[0] == 1 and shape[-1] % 4 == 0 and shape[1] * shape[2] <= DW_MAX_TAPS


def deployable(op: str, weights: np.ndarray, depth_multiplier: int = 1) -> Codebook | None:
    """The codebook a layer is deployed with: its int8 weights take at most 16 values and a
    codebook kernel exists for it (conv / 1x1 conv with k % 4 == 0; fully connected with
    cin % 4 == 0, run as a 1x1 conv over its rows; depthwise with multiplier 1, channels in
    fours, <= DW_MAX_TAPS taps). None: the layer deploys as int8. The code generator and the
    compression report both decide by this."""
    if not kernel_exists(op, weights.shape, depth_multiplier):
        return None
    return Codebook.of(weights)


def deployed_codebooks(graph) -> dict[str, Codebook]:
    """Which layers of an int8 graph deploy as codebooks (node name -> its codebook): the
    one decision the planner, the code generator and the compression figures all use."""
    out = {}
    for n in graph.nodes:
        if n.op in WEIGHTED_OPS:
            cb = deployable(n.op, graph.tensor(n.inputs[1]).data, n.attr("depth_multiplier", 1))
            if cb is not None:
                out[n.name] = cb
    return out


def kernel_exists(op: str, shape: tuple[int, ...], depth_multiplier: int = 1) -> bool:
    """Whether a codebook kernel can run this layer, whatever its weight values."""
    if op not in WEIGHTED_OPS:
        return False
    fam = family_of(op, shape)
    return family_ok(fam, shape) and not (fam == "depthwise" and depth_multiplier != 1)


def _pack_stream(seq: np.ndarray, bits: int) -> bytes:
    n = len(seq)
    total = -(-n * bits // 8)
    out = np.zeros(total, np.uint8)
    pos = np.arange(n) * bits
    for j in range(bits):
        bit = (seq >> j) & 1
        np.bitwise_or.at(out, (pos + j) // 8, (bit << ((pos + j) % 8)).astype(np.uint8))
    return out.tobytes()


def pack(family: str, idx: np.ndarray, bits: int) -> bytes:
    """The index bytes the kernels read (streams byte-aligned, then PAD zero bytes)."""
    return b"".join(_pack_stream(s, bits) for s in index_streams(family, idx)) + bytes(PAD)


def unpack_stream(data: bytes, offset: int, n: int, bits: int) -> np.ndarray:
    """n indices from byte offset (the reference of the kernels' bit reader)."""
    raw = np.frombuffer(data, np.uint8)
    pos = offset * 8 + np.arange(n) * bits
    v = np.zeros(n, np.int64)
    for j in range(bits):
        p = pos + j
        v |= ((raw[p // 8] >> (p % 8)) & 1).astype(np.int64) << j
    return v


def deployed_bytes(family: str, shape: tuple[int, ...], cb: Codebook) -> int:
    """Flash bytes of a codebook layer's weights: packed indices + padding + codes."""
    idx = np.zeros(_family_shape(family, shape), np.int64)
    return len(pack(family, idx, cb.bits)) + len(cb.stored())


def weight_bytes(op: str, shape: tuple[int, ...], cb: Codebook | None) -> int:
    """Flash bytes of a layer's weights as deployed: with its codebook, deployed_bytes;
    without (cb None), one int8 per weight."""
    return deployed_bytes(family_of(op, shape), shape, cb) if cb is not None else int(np.prod(shape))


def _family_shape(family: str, shape: tuple[int, ...]) -> tuple[int, int]:
    if family == "depthwise":
        return (shape[1] * shape[2], shape[3])
    return (shape[0], int(np.prod(shape[1:])))


def family_of(op: str, shape: tuple[int, ...]) -> str:
    return "depthwise" if op == "DepthwiseConv2D" else "pairs"


def layer_indices(op: str, weights: np.ndarray, cb: Codebook) -> np.ndarray:
    """The index matrix in the family's shape ([cout, k] or [taps, cout])."""
    return cb.indices(weights.reshape(_family_shape(family_of(op, weights.shape), weights.shape)))
