"""GraphBuilder: the small helper importers use to emit nodes with inferred shapes."""
from __future__ import annotations

import numpy as np

from edgekit.ir.graph import Graph, Node, Tensor
from edgekit.ir.ops import OPS


class GraphBuilder:
    def __init__(self, name: str):
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.inputs: list[str] = []

    def _unique(self, name: str) -> str:
        base, i = name, 1
        while name in self.tensors:
            name = f"{base}_{i}"
            i += 1
        return name

    def input(self, name: str, shape: tuple[int, ...], dtype: str = "float32") -> str:
        name = self._unique(name)
        self.tensors[name] = Tensor(name, tuple(int(d) for d in shape), dtype)
        self.inputs.append(name)
        return name

    def const(self, name: str, data: np.ndarray) -> str:
        name = self._unique(name)
        data = np.ascontiguousarray(data)
        self.tensors[name] = Tensor(name, tuple(data.shape), str(data.dtype), data)
        return name

    def node(self, op: str, name: str, inputs: list[str], **attrs) -> str:
        """Append a node; its single output tensor is named after the node."""
        shapes = [self.tensors[i].shape for i in inputs if i]
        out_shape = tuple(int(d) for d in OPS[op].infer(Node(name, op, (), (), attrs), shapes))
        out = self._unique(name)
        self.tensors[out] = Tensor(out, out_shape, self.tensors[inputs[0]].dtype)
        self.nodes.append(Node(out, op, tuple(inputs), (out,), attrs))
        return out

    def shape(self, name: str) -> tuple[int, ...]:
        return self.tensors[name].shape

    def build(self, outputs: list[str], meta: dict | None = None) -> Graph:
        g = Graph(self.name, dict(self.tensors), tuple(self.nodes), tuple(self.inputs),
                  tuple(outputs), dict(meta or {}))
        return g.verify()
