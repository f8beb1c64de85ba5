"""The int8 reference executor against the real TFLM interpreter, byte for byte."""
from __future__ import annotations

import numpy as np
import pytest

from edgekit.executors.tflm import run_tflm
from edgekit.importers import load_model
from edgekit.quant.reference import run_int8
from edgekit.tflite import graph_from_tflite_bytes
from tests.conftest import assert_identical, asset
from tests.quant.tflite_models import all_ops_model


def _random_inputs(graph, n, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, *graph.tensor(i).shape[1:]), dtype=np.int8)
            for i in graph.inputs]


@pytest.mark.parametrize("seed", [0, 1])
def test_all_ops_model_matches_tflm(tmp_path, seed):
    buf = all_ops_model(seed)
    path = tmp_path / "m.tflite"
    path.write_bytes(buf)
    g = graph_from_tflite_bytes(buf, str(path))
    ops = {n.op for n in g.nodes}
    assert {"Conv2D", "DepthwiseConv2D", "Pad", "MaxPool", "AveragePool", "Add",
            "FullyConnected", "Softmax"} <= ops, ops
    xs = _random_inputs(g, 40, seed)
    assert_identical(run_tflm(str(path), xs)[0], run_int8(g, xs)[0].reshape(40, -1))


@pytest.mark.parametrize("name", ["hello_world_int8.tflite", "simple_add_model.tflite"])
def test_tflm_misc_models_match_tflm(name):
    path = str(asset(f"tflite_micro_misc/{name}"))
    g = load_model(path)
    xs = _random_inputs(g, 64 if "hello" in name else 8, 7)
    ref = run_tflm(path, xs)[0]
    assert_identical(ref, run_int8(g, xs)[0].reshape(ref.shape), name)


@pytest.mark.parametrize("word", ["yes", "no", "silence", "noise"])
def test_micro_speech_golden(word):
    g = load_model(str(asset("micro_speech/models/micro_speech_quantized.tflite")))
    feats = np.load(asset(f"micro_speech/golden/tflm_{word}_1000ms_features_int8_49x40.npy"))
    golden = np.load(asset(f"micro_speech/golden/tflm_{word}_1000ms_micro_speech_output_int8_4.npy"))
    out = run_int8(g, feats.reshape(1, 1960))[0]
    assert_identical(golden.reshape(1, -1), out, f"micro_speech '{word}'")


def test_kws_int8_matches_tflm_interpreter_directly():
    """Not only stored outputs: run TFLM itself on 20 real inputs."""
    path = str(asset("kws_ref_model/kws_ref_model_int8.tflite"))
    x = np.load(asset("eembc_kws01/kws01_inputs_int8_1000x49x10x1.npy"))[:20]
    g = load_model(path)
    assert_identical(run_tflm(path, x)[0], run_int8(g, x)[0])


def test_kws_int8_subset_matches_stored_tflm(kws_eval):
    g = load_model(str(asset("kws_ref_model/kws_ref_model_int8.tflite")))
    assert_identical(kws_eval["tflm"][:100], run_int8(g, kws_eval["x"][:100])[0])


@pytest.mark.slow
def test_kws_int8_all_1000_match_stored_tflm(kws_eval):
    g = load_model(str(asset("kws_ref_model/kws_ref_model_int8.tflite")))
    out = np.concatenate([run_int8(g, kws_eval["x"][i:i + 100])[0] for i in range(0, 1000, 100)])
    assert_identical(kws_eval["tflm"], out, "kws_ref_model int8 outputs")
    assert (out.argmax(1) == kws_eval["y"]).mean() == pytest.approx(0.901, abs=1e-9)


def test_mismatch_report_names_first_index():
    from edgekit.verify import first_mismatch

    a = np.zeros((3, 4), np.int8)
    b = a.copy()
    b[1, 2], b[2, 0] = 5, 1
    assert first_mismatch(a, b) == "index (1, 2): expected 0, actual 5 (2 of 12 elements differ)"
    assert first_mismatch(a, a) is None
