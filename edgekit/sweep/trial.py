"""What one sweep trial does, with no Ray in it (the Ray tasks in runner.py call these).

synthetic_set: a model's synthetic calibration set for a seed, computed once per
(model, seed) and shared by all its trials.

compressed: the files `edgekit compress` (or `quantize --data-free`) writes, computed
once per (model, seed, setting) and shared by the trials of every board.

run_trial: the same stages `edgekit compress` (or `quantize --data-free`), `codegen` and
`profile` run alone, called through the same functions, so a trial's artifacts are
byte for byte those of the commands (tests/sweep checks it); then what the results
table holds: sizes, QEMU instructions and ESTIMATED ms per inference at the board's
clock (edgekit.toolchain.profile.estimate, with what it ignores), the proxy (agreement
of the int8 model with the float model on the synthetic set) and, given labelled
inputs, top-1.

Models and artifacts travel as bytes (object store in, return value out): a worker on
another node needs no shared file system.
"""
from __future__ import annotations

import os
import socket
import tempfile
import time

import numpy as np

from edgekit.sweep.spec import Trial


def _load(path: str, data: bytes, loader):
    """Import model bytes through a file of the same name (importers read files; the
    generated code's banner names the file)."""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, os.path.basename(path))
        with open(p, "wb") as f:
            f.write(data)
        return loader(p)


def synthetic_set(model: str, data: bytes, trial: Trial) -> np.ndarray:
    from edgekit.importers import load_model
    from edgekit.synth import synthesize

    return synthesize(_load(model, data, load_model), trial.synth_config(), show_progress=False).x


def compressed(model: str, data: bytes, trial: Trial, sx: np.ndarray) -> dict:
    """{"files": what `edgekit compress` (or `edgekit quantize --data-free`) writes,
    "seconds": how long it took}."""
    from edgekit.importers import load_model
    from edgekit.pipeline import compress_model, quantize_model
    from edgekit.quant.ptq import QuantConfig

    t0 = time.perf_counter()
    graph = _load(model, data, load_model)
    if trial.method == "int8":
        files = {"model.tflite": quantize_model(graph, sx, "synthetic", QuantConfig())[1]}
    else:
        files = compress_model(graph, trial.model, sx, trial.compress_config(), trial.synth_config())[0]
    return {"files": files, "seconds": round(time.perf_counter() - t0, 2)}


def _proxy(graph, qgraph, sx: np.ndarray) -> dict:
    """Agreement and KL of the int8 model with the float model on the synthetic set: no
    labels needed, an optimistic stand-in for accuracy (the set also calibrated it)."""
    from edgekit.evaluate import model_inputs
    from edgekit.executors.float_exec import run_float
    from edgekit.quant.reference import run_int8

    f = run_float(graph, sx).reshape(len(sx), -1)
    q = run_int8(qgraph, model_inputs(qgraph, sx))[0].astype(np.float64).reshape(len(sx), -1)
    t_out = qgraph.tensor(qgraph.outputs[0]).quant
    q = (q - float(t_out.zero_point[0])) * float(t_out.scale[0])
    p, r = _probs(f), _probs(q)
    kl = float(np.mean(np.sum(p * (np.log(p + 1e-12) - np.log(r + 1e-12)), axis=1)))
    return {"proxy_agreement": round(float((f.argmax(1) == q.argmax(1)).mean()), 4), "proxy_kl": round(kl, 6)}


def _probs(y: np.ndarray) -> np.ndarray:
    """Rows that sum to 1 already (a Softmax output) stay; logits go through softmax."""
    y = np.asarray(y, np.float64)
    if np.allclose(y.sum(1), 1, atol=0.02) and (y >= -1e-3).all():
        return np.clip(y, 0, None)
    e = np.exp(y - y.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _accuracy(qgraph, evaluation) -> float | None:
    if evaluation is None:
        return None
    from edgekit.evaluate import evaluate

    x, y, input_quant = evaluation
    return round(evaluate(qgraph, x, y, input_quant).top1, 4)


def _sizes_and_speed(qgraph, board_name: str) -> dict:
    from edgekit.boards import get_board
    from edgekit.codegen.emit import generate
    from edgekit.deploy import checks, fit
    from edgekit.deploy.realtime import probe_board
    from edgekit.toolchain.profile import profile

    board = get_board(board_name)
    probe = probe_board(board)
    prof = profile(qgraph, probe)
    est = prof["cycle_estimate"]
    firmware = checks.estimate(generate(qgraph, "kws"))
    return {"instructions": prof["instructions"], "est_cycles": round(est["cycles"]),
            "est_ms": round(est["ms"], 3), "counted_on": probe.emulator,
            "parameter_bytes": prof["model_parameter_bytes"], "flash_bytes": prof["flash_bytes"],
            "ram_bytes": prof["ram_bytes"], "arena_bytes": prof["arena_bytes"],
            "firmware_flash_estimate": firmware["flash_bytes"], "firmware_ram_estimate": firmware["ram_bytes"],
            "fits": fit.fits(firmware, board)}


def run_trial(trial: Trial, data: bytes, sx: np.ndarray, compression: dict, evaluation=None) -> dict:
    """The compressed model (`compressed`) on the trial's board -> {"row": the
    results-table row, "files": {relative path: bytes}}."""
    from edgekit.codegen.emit import generate
    from edgekit.compress.figures import compression_figures
    from edgekit.importers import load_int8_model, load_model

    t0 = time.perf_counter()
    graph = _load(trial.model, data, load_model)
    files = {f"compress/{k}": v for k, v in compression["files"].items()}
    qgraph = _load("model.tflite", files["compress/model.tflite"], load_int8_model)
    files.update({f"c/{k}": v.encode() for k, v in generate(qgraph).files.items()})
    figures = compression_figures(qgraph)
    row = {"weight_ratio": figures.get("weight_ratio"), "model_ratio": figures.get("model_ratio"),
           **_sizes_and_speed(qgraph, trial.board), **_proxy(graph, qgraph, sx),
           "accuracy": _accuracy(qgraph, evaluation),
           "compress_seconds": compression["seconds"],   # once per model, seed and setting
           "seconds": round(time.perf_counter() - t0, 2), "worker": f"{socket.gethostname()}:{os.getpid()}"}
    return {"row": row, "files": files}
