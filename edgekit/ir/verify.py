"""verify(): the IR's spec, checked at every stage boundary.

A failure here is a bug in edgekit (or a hand-built graph), never in the user's model:
importers reject what they cannot represent before building a graph.
"""
from __future__ import annotations

import numpy as np

from edgekit.errors import GraphError
from edgekit.ir.graph import DTYPES, Graph, Node
from edgekit.ir.ops import ACTIVATIONS, OPS


def _fail(graph: Graph, node: Node | None, msg: str) -> None:
    where = f" at node '{node.name}' ({node.op})" if node else ""
    raise GraphError(f"graph '{graph.name}' invalid{where}: {msg}")


def _check_tensors(graph: Graph) -> None:
    for name, t in graph.tensors.items():
        if t.name != name:
            _fail(graph, None, f"tensor key '{name}' != name '{t.name}'")
        if t.dtype not in DTYPES:
            _fail(graph, None, f"tensor '{name}' has unknown dtype {t.dtype}")
        if any((not isinstance(d, (int, np.integer))) or d < 0 for d in t.shape):
            _fail(graph, None, f"tensor '{name}' has bad shape {t.shape}")
        if t.data is not None:
            if tuple(t.data.shape) != tuple(t.shape):
                _fail(graph, None, f"constant '{name}' data shape {t.data.shape} != {t.shape}")
            if str(t.data.dtype) != t.dtype:
                _fail(graph, None, f"constant '{name}' data dtype {t.data.dtype} != {t.dtype}")
        q = t.quant
        if q is not None:
            if q.scale.shape != q.zero_point.shape:
                _fail(graph, None, f"tensor '{name}' scale/zero-point sizes differ")
            if q.axis is not None and q.scale.size > 1 and (
                    q.axis >= len(t.shape) or t.shape[q.axis] != q.scale.size):
                _fail(graph, None, f"tensor '{name}' per-channel axis {q.axis} "
                                   f"does not match shape {t.shape}")
        if t.dtype in ("int8", "int16") and not t.is_const and q is None:
            _fail(graph, None, f"quantized tensor '{name}' has no quantization parameters")


def _check_node(graph: Graph, node: Node, available: set[str]) -> None:
    spec = OPS.get(node.op)
    if spec is None:
        _fail(graph, node, f"op '{node.op}' is not in the IR op set")
    if not (spec.required <= len(node.inputs) <= len(spec.inputs)):
        _fail(graph, node, f"expects {spec.required}..{len(spec.inputs)} inputs, "
                           f"got {len(node.inputs)}")
    for i, name in enumerate(node.inputs):
        if name == "" and spec.inputs[i].endswith("?"):
            continue
        if name not in graph.tensors:
            _fail(graph, node, f"input '{name}' is not a tensor of the graph")
        t = graph.tensors[name]
        if i in spec.const_inputs and not t.is_const:
            _fail(graph, node, f"input '{name}' ({spec.inputs[i]}) must be a constant")
        if not t.is_const and name not in available:
            _fail(graph, node, f"input '{name}' is used before it is produced")
    act = node.attr("activation", "none")
    if act not in ACTIVATIONS:
        _fail(graph, node, f"unknown fused activation '{act}'")
    in_shapes = [graph.tensors[n].shape for n in node.inputs if n]
    try:
        expect = tuple(int(d) for d in spec.infer(node, in_shapes))
    except Exception as e:  # a malformed attribute
        _fail(graph, node, f"cannot infer output shape: {e}")
    if any(d < 1 for d in expect):
        _fail(graph, node, f"output would be empty ({expect}): window larger than the padded input")
    out = graph.tensors.get(node.outputs[0]) if node.outputs else None
    if out is None:
        _fail(graph, node, "output tensor missing")
    if int(np.prod(expect)) != out.size or (node.op != "Reshape" and expect != out.shape):
        _fail(graph, node, f"output '{out.name}' has shape {out.shape}, op gives {expect}")


def verify(graph: Graph) -> None:
    """Raise GraphError unless the graph is well-formed and topologically ordered."""
    _check_tensors(graph)
    available = set(graph.inputs)
    for name in graph.inputs:
        if name not in graph.tensors:
            _fail(graph, None, f"graph input '{name}' has no tensor")
    produced: set[str] = set()
    for node in graph.nodes:
        _check_node(graph, node, available)
        for o in node.outputs:
            if o in produced or o in graph.inputs:
                _fail(graph, node, f"tensor '{o}' produced twice")
            produced.add(o)
            available.add(o)
    for name in graph.outputs:
        if name not in available and not graph.tensors.get(name, None):
            _fail(graph, None, f"graph output '{name}' is never produced")
