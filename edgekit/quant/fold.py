"""Inference-time graph simplification before quantization (pure: new graph out).

- fold_batchnorm: BatchNorm after Conv2D / DepthwiseConv2D / FullyConnected is merged
  into the weights and bias (w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta);
- drop_identities: Dropout disappears;
- fuse_activations: ReLU / ReLU6 after a conv, FC, pool or add becomes its fused
  activation (as TFLite stores it), when nothing else reads the pre-activation value.
"""
from __future__ import annotations

import numpy as np

from edgekit.ir import Graph, Node, Tensor
from edgekit.ir.ops import WEIGHTED_OPS

_FOLD_INTO = WEIGHTED_OPS
_FUSE_INTO = (*WEIGHTED_OPS, "AveragePool", "MaxPool", "Add")


def _rewire(nodes: list[Node], old: str, new: str) -> list[Node]:
    return [Node(n.name, n.op, tuple(new if i == old else i for i in n.inputs), n.outputs, n.attrs)
            for n in nodes]


def _single_consumer(graph: Graph, tensor: str) -> bool:
    users = [n for n in graph.nodes if tensor in n.inputs]
    return len(users) == 1 and tensor not in graph.outputs


def _prune(graph: Graph, nodes: list[Node], outputs) -> Graph:
    used = set(graph.inputs) | set(outputs)
    for n in nodes:
        used.update(i for i in n.inputs if i)
        used.update(n.outputs)
    tensors = {k: t for k, t in graph.tensors.items() if k in used}
    return graph.replace(tensors=tensors, nodes=tuple(nodes), outputs=tuple(outputs)).verify()


def _bn_scale(graph: Graph, bn: Node) -> tuple[np.ndarray, np.ndarray]:
    g, b, m, v = (graph.tensor(n).data.astype(np.float64) for n in bn.inputs[1:])
    s = g / np.sqrt(v + bn.attr("eps", 1e-3))
    return s, b - m * s


def fold_batchnorm(graph: Graph) -> Graph:
    producers = graph.producers()
    tensors = dict(graph.tensors)
    nodes = list(graph.nodes)
    outputs = list(graph.outputs)
    for bn in [n for n in graph.nodes if n.op == "BatchNorm"]:
        prev = producers.get(bn.inputs[0])
        if prev is None or prev.op not in _FOLD_INTO or not _single_consumer(graph, bn.inputs[0]) \
                or prev.attr("activation", "none") != "none":
            continue  # stays a BatchNorm node (e.g. BN on the input)
        scale, shift = _bn_scale(graph, bn)
        w = tensors[prev.inputs[1]].data.astype(np.float64)
        axis = 3 if prev.op == "DepthwiseConv2D" else 0
        shape = [1] * w.ndim
        shape[axis] = -1
        w_new = (w * scale.reshape(shape)).astype(np.float32)
        b_old = tensors[prev.inputs[2]].data.astype(np.float64) if len(prev.inputs) > 2 and prev.inputs[2] \
            else np.zeros(len(scale))
        b_new = (b_old * scale + shift).astype(np.float32)
        wn, bname = f"{prev.name}/weight_folded", f"{prev.name}/bias_folded"
        tensors[wn] = Tensor(wn, w_new.shape, "float32", w_new)
        tensors[bname] = Tensor(bname, b_new.shape, "float32", b_new)
        i = nodes.index(prev)
        nodes[i] = Node(prev.name, prev.op, (prev.inputs[0], wn, bname), prev.outputs, prev.attrs)
        nodes.remove(bn)
        nodes = _rewire(nodes, bn.outputs[0], prev.outputs[0])
        outputs = [prev.outputs[0] if o == bn.outputs[0] else o for o in outputs]
    return _prune(graph.replace(tensors=tensors), nodes, outputs)


def drop_identities(graph: Graph) -> Graph:
    nodes = list(graph.nodes)
    outputs = list(graph.outputs)
    for n in [n for n in graph.nodes if n.op == "Dropout"]:
        nodes.remove(n)
        nodes = _rewire(nodes, n.outputs[0], n.inputs[0])
        outputs = [n.inputs[0] if o == n.outputs[0] else o for o in outputs]
    return _prune(graph, nodes, outputs)


def fuse_activations(graph: Graph) -> Graph:
    producers = graph.producers()
    nodes = list(graph.nodes)
    outputs = list(graph.outputs)
    for act in [n for n in graph.nodes if n.op in ("ReLU", "ReLU6")]:
        prev = producers.get(act.inputs[0])
        if prev is None or prev.op not in _FUSE_INTO or not _single_consumer(graph, act.inputs[0]) \
                or prev.attr("activation", "none") != "none":
            continue
        i = nodes.index(prev)
        # the fused node now produces the activation's output tensor
        nodes[i] = Node(prev.name, prev.op, prev.inputs, act.outputs,
                        {**prev.attrs, "activation": act.op.lower()})
        nodes.remove(act)
    return _prune(graph, nodes, outputs)


def prepare_for_quantization(graph: Graph) -> Graph:
    """The float graph TFLite would quantize: BN folded, no Dropout, activations fused."""
    return fuse_activations(fold_batchnorm(drop_identities(graph)))
