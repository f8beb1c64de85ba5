"""Per-channel quantization axes as TFLM reads them: the axis of a 1-D tensor is ignored.

Converters copy the filter's quantized_dimension (3 for depthwise) onto the 1-D bias;
TFLM never looks at it, so edgekit must not refuse the file either.
"""
from __future__ import annotations

import flatbuffers
import numpy as np
import pytest

from edgekit.errors import ModelLoadError
from edgekit.executors.tflm import run_tflm
from edgekit.quant.reference import run_int8
from edgekit.tflite import graph_from_tflite_bytes
from edgekit.tflite.schema import schema
from tests.conftest import assert_identical
from tests.quant.tflite_models import all_ops_model


def _with_axis(buf: bytes, pick, axis: int) -> tuple[bytes, list[str]]:
    """The same model with quantized_dimension = axis on every per-channel tensor pick(t) selects."""
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))
    changed = []
    for t in m.subgraphs[0].tensors:
        q = t.quantization
        if q is not None and q.scale is not None and len(q.scale) > 1 and pick(t):
            q.quantizedDimension = axis
            changed.append(t.name.decode())
    b = flatbuffers.Builder(1 << 16)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), changed


def test_1d_bias_with_axis_3_loads_and_runs_as_tflm(tmp_path):
    orig = all_ops_model(0)
    buf, changed = _with_axis(orig, lambda t: len(t.shape) == 1, 3)
    assert changed, "the test model has no per-channel 1-D tensor"
    path = tmp_path / "axis3.tflite"
    path.write_bytes(buf)
    g = graph_from_tflite_bytes(buf, str(path))
    for name in changed:
        assert g.tensor(name).quant.axis == 0
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, (8, *g.tensor(i).shape[1:]), dtype=np.int8) for i in g.inputs]
    ref = run_tflm(str(path), xs)[0]                     # TFLM accepts the file ...
    assert_identical(ref, run_int8(g, xs)[0].reshape(ref.shape), "axis-3 bias model")
    assert_identical(ref, run_int8(graph_from_tflite_bytes(orig), xs)[0].reshape(ref.shape),
                     "same numbers as the axis-0 original")


def test_filter_axis_out_of_range_is_still_refused():
    buf, changed = _with_axis(all_ops_model(0), lambda t: len(t.shape) == 4, 7)
    assert changed
    with pytest.raises(ModelLoadError, match="inconsistent .tflite file"):
        graph_from_tflite_bytes(buf, "bad.tflite")
