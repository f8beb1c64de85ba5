"""The verification guard: deploy builds the generated model for the board's core, runs it
(QEMU) on a handful of inputs and refuses to ship when any output byte differs from the
NumPy reference. Here the C really is wrong - generated from a copy of the model whose
dense bias was changed - so the real build and emulated run must disagree and be caught."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.errors import EdgekitError
from edgekit.importers import load_model
from edgekit.verify import c_matches
from tests.conftest import SAMPLES


def _with_changed_bias(g):
    fc = next(n for n in g.nodes if n.op == "FullyConnected")
    t = g.tensor(fc.inputs[2])
    data = t.data.copy()
    data[3] += 5000
    return g.replace(tensors={**g.tensors, t.name: dataclasses.replace(t, data=data)})


def test_guard_passes_the_right_firmware_and_refuses_a_wrong_one():
    g = load_model(str(SAMPLES / "kws_ref_model_int8.tflite"))
    target = get_board("mps2-an386")
    x = np.random.default_rng(0).standard_normal((4, 49, 10, 1)).astype(np.float32) * 20
    assert c_matches(g, generate(g, "kws"), target, x) == "identical on 4 inputs (mps2-an386)"
    with pytest.raises(EdgekitError) as e:
        c_matches(g, generate(_with_changed_bias(g), "kws"), target, x)
    msg = str(e.value)
    assert msg.startswith("verification failed: the generated model on mps2-an386 disagrees")
    assert "index (0, 3): expected" in msg and "not shipping this firmware" in msg, msg
