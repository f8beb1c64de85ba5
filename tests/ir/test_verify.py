"""verify() accepts every imported graph and rejects malformed ones with a GraphError."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgekit.errors import GraphError
from edgekit.importers import load_model
from edgekit.ir import Graph, Node, QuantParams, Tensor
from edgekit.ir.builder import GraphBuilder
from edgekit.ir.ops import same_pads
from tests.conftest import SAMPLES


def _small() -> Graph:
    b = GraphBuilder("small")
    x = b.input("x", (1, 8, 8, 3))
    w = b.const("w", np.ones((4, 3, 3, 3), np.float32))
    y = b.node("Conv2D", "conv", [x, w], stride=(2, 2), pads=(*same_pads(8, 3, 2), *same_pads(8, 3, 2)),
               activation="relu")
    z = b.node("Reshape", "flat", [y], shape=(1, 64))
    return b.build([z])


def test_builder_infers_tf_same_shapes():
    g = _small()
    assert g.tensor("conv").shape == (1, 4, 4, 4)
    assert same_pads(49, 10, 2) == (4, 5)      # the DS-CNN's first conv: odd pixel after


def test_imported_samples_verify():
    for name in ("kws_ref_model.keras", "kws_ref_model_int8.tflite"):
        load_model(str(SAMPLES / name)).verify()


@pytest.mark.parametrize("breakage, message", [
    (lambda g: g.replace(nodes=g.nodes[::-1]), "used before it is produced"),
    (lambda g: g.replace(nodes=(dataclasses.replace(g.nodes[0], op="Gelu"),) + g.nodes[1:]),
     "not in the IR op set"),
    (lambda g: g.replace(tensors={**g.tensors, "conv": Tensor("conv", (1, 5, 4, 4))}),
     "op gives (1, 4, 4, 4)"),
    (lambda g: g.replace(tensors={**g.tensors, "w": Tensor("w", (4, 3, 3, 3), "float32",
                                                          np.ones((4, 3, 3), np.float32))}),
     "data shape"),
    (lambda g: g.replace(nodes=(dataclasses.replace(g.nodes[0], attrs={**g.nodes[0].attrs,
                                                                       "activation": "gelu"}),) + g.nodes[1:]),
     "unknown fused activation"),
    (lambda g: g.replace(tensors={**g.tensors, "x": Tensor("x", (1, 8, 8, 3), "int8")}),
     "no quantization parameters"),
    (lambda g: g.replace(tensors={**g.tensors, "w": Tensor(
        "w", (4, 3, 3, 3), "float32", np.ones((4, 3, 3, 3), np.float32),
        QuantParams.make(np.ones(3), 0, axis=0))}), "per-channel axis"),
    (lambda g: g.replace(outputs=("nowhere",)), "never produced"),
    (lambda g: g.replace(nodes=(dataclasses.replace(g.nodes[0], attrs={**g.nodes[0].attrs, "stride": (9, 9),
                                                                       "pads": (0, 0, 0, 0)}),) + g.nodes[1:]),
     "op gives"),
])
def test_verify_rejects(breakage, message):
    with pytest.raises(GraphError, match=message.replace("(", r"\(").replace(")", r"\)")):
        breakage(_small()).verify()


def test_input_node_order_duplicate_output():
    g = _small()
    dup = Node("dup", "Reshape", ("conv",), ("flat",), {"shape": (1, 64)})
    with pytest.raises(GraphError, match="produced twice"):
        g.replace(nodes=g.nodes + (dup,)).verify()
