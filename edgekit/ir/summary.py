"""Per-node and total statistics of a graph (shapes, parameters, MACs, quantization)."""
from __future__ import annotations

from collections import Counter

import numpy as np

from edgekit.ir.graph import Graph, Node
from edgekit.ir.ops import node_macs


def _attrs(node: Node) -> str:
    parts = []
    if "kernel" in node.attrs:
        parts.append("k=%dx%d" % tuple(node.attrs["kernel"]))
    if "stride" in node.attrs and tuple(node.attrs["stride"]) != (1, 1):
        parts.append("s=%dx%d" % tuple(node.attrs["stride"]))
    if any(node.attrs.get("pads", (0,))):
        parts.append("pad=" + ",".join(map(str, node.attrs["pads"])))
    if node.attrs.get("depth_multiplier", 1) != 1:
        parts.append(f"m={node.attrs['depth_multiplier']}")
    if node.attrs.get("activation", "none") != "none":
        parts.append(node.attrs["activation"])
    if node.op == "BatchNorm":
        parts.append(f"eps={node.attrs.get('eps')}")
    return " ".join(parts)


def _quant(graph: Graph, node: Node) -> str:
    out = graph.tensor(node.outputs[0])
    w = graph.tensor(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    parts = []
    if w is not None and w.is_const and w.quant is not None:
        parts.append(f"w:{w.dtype} {w.quant.describe()}")
    if out.quant is not None:
        parts.append(f"out:{out.quant.describe()}")
    return "; ".join(parts) or ("-" if out.dtype == "float32" else out.dtype)


def summarize(graph: Graph) -> dict:
    rows = []
    for i, node in enumerate(graph.nodes):
        ins = [graph.tensor(n) for n in node.inputs if n]
        consts = [t for t in ins if t.is_const]
        out = graph.tensor(node.outputs[0])
        rows.append({
            "index": i, "name": node.name, "op": node.op,
            "input_shape": list(ins[0].shape), "output_shape": list(out.shape),
            "params": int(sum(t.size for t in consts)),
            "param_bytes": int(sum(t.nbytes for t in consts)),
            "macs": int(node_macs(node, [t.shape for t in ins], out.shape)),
            "attrs": _attrs(node), "quant": _quant(graph, node), "dtype": out.dtype,
        })
    consts = graph.constants()
    acts = [graph.tensor(n) for n in {*graph.inputs, *(o for nd in graph.nodes for o in nd.outputs)}]
    totals = {
        "nodes": len(graph.nodes),
        "params": int(sum(t.size for t in consts)),
        "param_bytes": int(sum(t.nbytes for t in consts)),
        "macs": int(sum(r["macs"] for r in rows)),
        "largest_activation_bytes": int(max((t.nbytes for t in acts), default=0)),
        "ops": dict(sorted(Counter(r["op"] for r in rows).items())),
    }
    io = {
        "inputs": [_io(graph, n) for n in graph.inputs],
        "outputs": [_io(graph, n) for n in graph.outputs],
    }
    return {"name": graph.name, "format": graph.meta.get("format"), "sha256": graph.meta.get("sha256"),
            **io, "layers": rows, "totals": totals}


def _io(graph: Graph, name: str) -> dict:
    t = graph.tensor(name)
    d = {"name": name, "shape": list(t.shape), "dtype": t.dtype}
    if t.quant is not None:
        d["scale"] = float(t.quant.scale[0])
        d["zero_point"] = int(t.quant.zero_point[0])
    return d


def is_quantized(graph: Graph) -> bool:
    return any(graph.tensor(n).dtype == "int8" for n in graph.inputs) or any(
        t.dtype == "int8" for t in graph.constants())


def top1(scores: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(scores).reshape(len(labels), -1).argmax(1) == labels).mean())
