"""Graph / Node / Tensor: the data structure every edgekit stage consumes and returns.

Conventions (the whole toolkit relies on them):
- activations are NHWC; Conv2D filters are [Cout, KH, KW, Cin], DepthwiseConv2D filters
  [1, KH, KW, Cout], FullyConnected weights [Cout, Cin] (the TFLite layouts);
- padding is explicit: ``pads = (top, bottom, left, right)``;
- constants carry their data; activations carry only shape, dtype and quantization;
- stages never mutate a graph they receive: they build a new one (``Graph.replace``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DTYPES = ("float32", "int8", "int16", "int32", "int64", "uint8")


@dataclass(frozen=True)
class QuantParams:
    """real = (q - zero_point) * scale, per tensor (axis None) or per channel along axis."""

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None = None

    @staticmethod
    def make(scale, zero_point, axis: int | None = None) -> "QuantParams":
        s = np.atleast_1d(np.asarray(scale, dtype=np.float32))
        z = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
        if z.size == 1 and s.size > 1:
            z = np.zeros_like(s, dtype=np.int64) + z[0]
        return QuantParams(s, z, axis)

    @property
    def per_channel(self) -> bool:
        return self.axis is not None and self.scale.size > 1

    def describe(self) -> str:
        if self.scale.size == 1:
            return f"s={float(self.scale[0]):.6g} z={int(self.zero_point[0])}"
        return f"per-ch[{self.scale.size}]@{self.axis}"


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    data: np.ndarray | None = None
    quant: QuantParams | None = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


@dataclass(frozen=True)
class Graph:
    name: str
    tensors: dict[str, Tensor]
    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def replace(self, **changes) -> "Graph":
        return dataclasses.replace(self, **changes)

    def producers(self) -> dict[str, Node]:
        return {t: n for n in self.nodes for t in n.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {}
        for n in self.nodes:
            for t in n.inputs:
                if t:
                    out.setdefault(t, []).append(n)
        return out

    def constants(self) -> list[Tensor]:
        return [t for t in self.tensors.values() if t.is_const]

    def verify(self) -> "Graph":
        from edgekit.ir.verify import verify

        verify(self)
        return self
