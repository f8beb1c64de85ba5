"""Compression figures of an int8 graph as `edgekit codegen` deploys it: what the report
and deploy summaries print (weight_ratio, model_ratio) and what --target-ratio aims at."""
from __future__ import annotations

from edgekit.compress import codebook
from edgekit.ir import Graph
from edgekit.ir.ops import WEIGHTED_OPS


def compression_figures(qgraph: Graph) -> dict:
    """float32 bytes of the kernel weights (and, for model_ratio, the biases) over the
    flash bytes of their deployed form (codebook: packed indices + int8 codes; otherwise
    int8), plus int32 biases and per-channel int32 multipliers and int8 shifts."""
    cbs = codebook.deployed_codebooks(qgraph)
    n_w = n_b = w_bytes = other = 0
    for n in qgraph.nodes:
        if n.op not in WEIGHTED_OPS:
            continue
        w = qgraph.tensor(n.inputs[1])
        cout = w.shape[-1] if n.op == "DepthwiseConv2D" else w.shape[0]
        n_w += w.size
        n_b += cout
        w_bytes += codebook.weight_bytes(n.op, w.shape, cbs.get(n.name))
        other += 4 * cout + 5 * cout     # int32 bias and multiplier, int8 shift
    return {"kernel_weights": n_w, "weight_bytes": w_bytes, "weight_ratio": round(4 * n_w / w_bytes, 2),
            "model_bytes": w_bytes + other, "model_ratio": round(4 * (n_w + n_b) / (w_bytes + other), 2)}


def layer_bits(result) -> str:
    """'name:3b name:4b ...' of a CompressResult, for one-line summaries."""
    return " ".join(f"{L.node.split('/')[-1]}:{L.bits}b" for L in result.layers)
