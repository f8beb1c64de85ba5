"""Whole models as generated C, on the host and on emulated Cortex-M4 / M7 / M3 boards,
identical to TFLM (stored outputs or the interpreter) element for element."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.codegen.planner import plan_memory
from edgekit.executors.tflm import run_tflm
from edgekit.importers import load_model
from edgekit.quant.ptq import quantize_graph
from edgekit.quant.reference import run_int8
from edgekit.synth import SynthConfig, synthesize
from edgekit.tflite import export_tflite
from edgekit.toolchain.cbuild import build, run_batch
from tests.conftest import SAMPLES, assert_identical, asset


def tflm_min_arena(path: str, shape) -> int:
    """The smallest arena_size with which the TFLM interpreter loads the model and invokes
    it (bisection over 1 B .. 1 MiB; allocation either works or fails, monotonically)."""
    from edgekit.errors import EdgekitError
    from edgekit.executors.tflm import interpreter

    def fits(n: int) -> bool:
        try:
            it = interpreter(path, n)
            it.set_input(np.zeros(shape, np.int8), 0)
            it.invoke()
            return True
        except (EdgekitError, RuntimeError, ValueError):
            return False

    lo, hi = 1, 1 << 20
    assert fits(hi)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
    return lo


def _run_c(graph, x, board="host"):
    gen = generate(graph, "m")
    with tempfile.TemporaryDirectory() as d:
        exe = build(gen, get_board(board), Path(d))
        return run_batch(exe, get_board(board), x.reshape(len(x), -1), graph.tensor(graph.outputs[0]).size)


@pytest.fixture(scope="module")
def kws_int8():
    return load_model(str(SAMPLES / "kws_ref_model_int8.tflite"))


def test_kws_host_matches_tflm_subset(kws_int8, kws_eval):
    assert_identical(kws_eval["tflm"][:200], _run_c(kws_int8, kws_eval["x"][:200]))


@pytest.mark.slow
def test_kws_host_matches_tflm_all_1000(kws_int8, kws_eval):
    assert_identical(kws_eval["tflm"], _run_c(kws_int8, kws_eval["x"]))


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500", "mps2-an385"])
def test_kws_qemu_matches_tflm_50(kws_int8, kws_eval, board):
    assert_identical(kws_eval["tflm"][:50], _run_c(kws_int8, kws_eval["x"][:50], board), board)


@pytest.mark.parametrize("board", ["host", "mps2-an386"])
def test_micro_speech_golden_as_c(board):
    g = load_model(str(asset("micro_speech/models/micro_speech_quantized.tflite")))
    words = ["yes", "no", "silence", "noise"]
    x = np.stack([np.load(asset(f"micro_speech/golden/tflm_{w}_1000ms_features_int8_49x40.npy")).reshape(-1)
                  for w in words])
    gold = np.stack([np.load(asset(f"micro_speech/golden/tflm_{w}_1000ms_micro_speech_output_int8_4.npy")).reshape(-1)
                     for w in words])
    assert_identical(gold, _run_c(g, x, board), board)


@pytest.mark.parametrize("board", ["host", "mps2-an385"])
def test_hello_world_as_c_matches_tflm_interpreter(board):
    path = str(asset("tflite_micro_misc/hello_world_int8.tflite"))
    x = np.arange(-128, 128, dtype=np.int8).reshape(256, 1)
    assert_identical(run_tflm(path, x)[0], _run_c(load_model(path), x, board), board)


def test_edgekit_quantized_model_as_c(tmp_path):
    g = load_model(str(SAMPLES / "kws_ref_model.keras"))
    q = quantize_graph(g, synthesize(g, SynthConfig(n=16, iters=40), show_progress=False).x)
    path = tmp_path / "q.tflite"
    path.write_bytes(export_tflite(q))
    x = np.random.default_rng(0).integers(-128, 128, (40, 49, 10, 1), dtype=np.int8)
    ref = run_tflm(str(path), x)[0]
    assert_identical(ref, _run_c(q, x), "host")
    assert_identical(ref[:10], _run_c(q, x[:10], "mps2-an386"), "mps2-an386")


def _align4(n: int) -> int:
    return (n + 3) // 4 * 4


def test_arena_is_planned_in_place(kws_int8):
    """The arena derived from the DS-CNN's shapes, and against TFLM's measured minimum."""
    g = kws_int8
    conv = g.nodes[0]
    assert conv.op == "Conv2D"
    x_bytes = g.tensor(g.inputs[0]).nbytes                        # 49x10x1 = 490
    act = g.tensor(conv.outputs[0]).nbytes                        # 25x5x64 = 8,000, the largest
    assert act == max(t.nbytes for n in g.nodes for t in map(g.tensor, n.outputs))
    _, kh, kw, cin = g.tensor(conv.inputs[1]).shape
    im2col = 6 * kh * kw * cin                                    # 2 columns + int16 copies: 240
    c = g.tensor(conv.outputs[0]).shape[3]                        # 64 channels throughout
    pointwise = 4 * c + c                                         # 2 int16 pixels + 1 out: 320
    plan = plan_memory(g)
    # in place: only the first conv holds two activations (its input and output) at once;
    # every depthwise / pointwise layer after it overwrites the one 8,000 B buffer
    assert plan.arena_size == _align4(x_bytes + im2col + act) == 8732
    # not in place: two 8,000 B activations live across each 1x1 conv, plus its scratch
    assert plan_memory(g, allow_in_place=False).arena_size == _align4(2 * act + pointwise) == 16320
    tflm = tflm_min_arena(str(SAMPLES / "kws_ref_model_int8.tflite"), (1, 49, 10, 1))
    # README's codegen table: 24,272 B (tflite-micro as pinned), edgekit 0.36x of it. TFLM
    # runs nothing in place, so each conv after the first holds two 8,000 B activations
    assert tflm >= 2 * act, tflm
    assert round(plan.arena_size / tflm, 2) == 0.36, tflm
    # no two live tensors overlap
    bufs = plan.buffers
    for a in bufs:
        for b in bufs:
            if a is not b and not (a.last < b.first or b.last < a.first):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)


def test_generated_code_is_deterministic_and_labelled(kws_int8):
    a, b = generate(kws_int8, "kws"), generate(kws_int8, "kws")
    assert a.files == b.files
    assert "edgekit 0.1.0" in a.files["kws.c"] and kws_int8.meta["sha256"] in a.files["kws.h"]
    assert f"#define KWS_ARENA_SIZE {plan_memory(kws_int8).arena_size}" in a.files["kws.h"]  # 8,732 (above)
    assert "EK_ALIGN const int8_t" in a.files["kws_data.c"]


def test_reference_agrees_on_codegen_transforms(kws_int8, kws_eval):
    """The pointwise kernel's folded bias is exact: reference == C on a batch with extremes."""
    x = np.concatenate([np.full((2, 49, 10, 1), v, np.int8) for v in (-128, 127)])
    assert_identical(run_int8(kws_int8, x)[0], _run_c(kws_int8, x))


# ---- the compressed model (codebook weights in every conv, depthwise and dense layer) ---

@pytest.fixture(scope="module")
def kws_codebook():
    """The float sample compressed data-free as `deploy` does (k-means 8 bins + GPTQ),
    from a short synthesis: every weight layer, the dense one included, is a codebook."""
    from edgekit.compress import CompressConfig, compress_to_int8

    g = load_model(str(SAMPLES / "kws_ref_model.keras"))
    sx = synthesize(g, SynthConfig(n=16, iters=50)).x
    _, q = compress_to_int8(g, sx, CompressConfig(method="kmeans", bins={"*": 8}))
    src = generate(q, "m").files["m.c"]
    assert src.count("_cb_s8(&p") == 10 and "ek_fully_connected_s8" not in src
    return q


def _eval_inputs(q, kws_eval, n):
    from edgekit.evaluate import model_inputs
    from tests.conftest import dequant_kws
    return model_inputs(q, dequant_kws(kws_eval["x"][:n]))


def test_codebook_kws_host_matches_reference_subset(kws_codebook, kws_eval):
    x = _eval_inputs(kws_codebook, kws_eval, 200)
    assert_identical(run_int8(kws_codebook, x)[0].reshape(len(x), -1), _run_c(kws_codebook, x))


@pytest.mark.slow
def test_codebook_kws_host_matches_reference_all_1000(kws_codebook, kws_eval):
    x = _eval_inputs(kws_codebook, kws_eval, 1000)
    assert_identical(run_int8(kws_codebook, x)[0].reshape(len(x), -1), _run_c(kws_codebook, x))


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500", "mps2-an385"])
def test_codebook_kws_qemu_matches_reference_50(kws_codebook, kws_eval, board):
    """The codebook kernels' SIMD paths (M4, M7) and plain C path (M3)."""
    x = _eval_inputs(kws_codebook, kws_eval, 50)
    assert_identical(run_int8(kws_codebook, x)[0].reshape(len(x), -1), _run_c(kws_codebook, x, board), board)
