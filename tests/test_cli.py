"""The `edgekit` command as users run it: real subprocesses, real files."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from tests.conftest import ROOT, SAMPLES, asset, edgekit_cli

def run(*args, cwd=None) -> subprocess.CompletedProcess:
    return edgekit_cli(*args, cwd=cwd or ROOT, timeout=600)   # a compress on a loaded 2-core machine can take minutes


@pytest.mark.parametrize("model, params, macs", [
    ("kws_ref_model.keras", 24_908, 2_656_768),
    ("kws_ref_model.pt2", 24_908, 2_656_768),
    ("kws_ref_model_int8.tflite", 22_604, 2_656_768),
])
def test_inspect_counts(model, params, macs):
    r = run("inspect", SAMPLES / model, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["totals"]["params"] == params
    assert info["totals"]["macs"] == macs
    assert info["inputs"][0]["shape"] == [1, 49, 10, 1]


def test_inspect_table_mentions_totals():
    r = run("inspect", SAMPLES / "kws_ref_model.keras")
    assert r.returncode == 0, r.stderr
    assert "24,908 parameters" in r.stdout and "2,656,768 MACs" in r.stdout
    assert "BatchNorm" in r.stdout


def test_help_explains_commands():
    r = run("--help")
    assert r.returncode == 0
    assert "inspect" in r.stdout and "eval" in r.stdout and "examples:" in r.stdout


def test_eval_int8_with_tflm_check(tmp_path):
    x = np.load(asset("eembc_kws01/kws01_inputs_int8_1000x49x10x1.npy"))[:30]
    y = np.load(asset("eembc_kws01/kws01_labels_1000.npy"))[:30]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    r = run("eval", SAMPLES / "kws_ref_model_int8.tflite", "--inputs", tmp_path / "x.npy",
            "--labels", tmp_path / "y.npy", "--input-scale", 0.5847029, "--input-zero-point", 83,
            "--check-tflm", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tflm_identical"] is True and out["n"] == 30
    # the accuracy itself, against TFLM's stored outputs for the same inputs (an independent
    # run of the official model, ../shared/assets): same top class, same count of hits
    tflm = np.load(asset("eembc_kws01/kws01_kws_ref_model_int8_outputs_tflm.npy"))[:30]
    assert out["top1"] == float((tflm.argmax(1) == y).mean())


# ---- bad inputs: one line, the right exit code, no traceback --------------------------

# (the bad-model matrix is tests/reliability/test_bad_inputs.py)


def test_bad_eval_inputs(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 7), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(3, np.int64))
    (tmp_path / "bad.npy").write_bytes(b"junk")
    model = SAMPLES / "kws_ref_model_int8.tflite"
    for xs, ys, msg in [(tmp_path / "x.npy", tmp_path / "y.npy", "inputs have shape (3, 7)"),
                        (tmp_path / "nope.npy", tmp_path / "y.npy", "no such file"),
                        (tmp_path / "bad.npy", tmp_path / "y.npy", "not a readable .npy")]:
        r = run("eval", model, "--inputs", xs, "--labels", ys)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and msg in r.stderr, r.stderr


def test_codegen_and_run_commands(tmp_path):
    model = SAMPLES / "kws_ref_model_int8.tflite"
    r = run("codegen", model, "-o", tmp_path / "c", "--name", "kws", "--json")
    assert r.returncode == 0, r.stderr
    # first conv: its input (49x10x1 = 490 B) + its 25x5x64 output (8,000 B) + im2col scratch
    # (6 x 10x4x1 = 240 B) live together; every later layer runs in place in the 8,000 B
    # buffer: 8,730 B, 4-aligned 8,732 (derived from the graph in tests/codegen/test_models_as_c.py)
    assert json.loads(r.stdout)["arena_bytes"] == 8732
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["ek_runtime", "kws.c", "kws.h", "kws_data.c"]
    x = np.random.default_rng(0).integers(-128, 128, (5, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    r = run("run", model, "--board", "host", "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
            "--check", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["identical_to_reference"] is True
    assert np.load(tmp_path / "y.npy").shape == (5, 12)
    r = run("run", SAMPLES / "kws_ref_model.keras", "--input", tmp_path / "x.npy", "--output", tmp_path / "z.npy")
    assert r.returncode == 2 and "float model; quantize it first" in r.stderr
    r = run("run", model, "--board", "esp32", "--input", tmp_path / "x.npy", "--output", tmp_path / "z.npy")
    assert r.returncode == 2 and "unknown board 'esp32'" in r.stderr


def test_compress_writes_model_report_and_codegen_uses_codebooks(tmp_path):
    """`edgekit compress` end to end on the sample (tiny synthetic set, k-means 4 bins):
    report figures match the written model; `codegen` stores its conv, depthwise and
    fully connected layers as codebooks."""
    out = tmp_path / "c"
    r = run("compress", SAMPLES / "kws_ref_model.keras", "-o", out, "--method", "kmeans", "--bins", "4",
            "--samples", "8", "--iters", "5", "--refine-steps", "100", "--json")   # bytes, not quality
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["model.tflite", "report.json", "synth.npz"]
    report = json.loads((out / "report.json").read_text())
    assert report["kernel_weights"] == 22016 and len(report["layers"]) == 10
    # weight_ratio = float32 kernel bytes / deployed bytes. 4 bins: 2-bit indices (22,016 x 2 / 8
    # = 5,504 B, 16x) plus, in each of the 10 layers, its 4 int8 codes and at most 4 B of
    # padding to a word: 5,504 < bytes <= 5,584, i.e. 15.77x-16x (README: 15.80x)
    assert report["weight_ratio"] == summary["weight_ratio"] == round(4 * 22016 / report["weight_bytes"], 2)
    assert 22016 * 2 // 8 < report["weight_bytes"] <= 22016 * 2 // 8 + 10 * (4 + 4), report["weight_bytes"]
    assert all(L["kind"] == "codebook" and L["bits"] == 2 for L in report["layers"])
    # the bytes are what codegen deploys: the FC layer too is a codebook (run as a 1x1 conv):
    # 12 x 64 2-bit indices in 6 channel pairs = 192 B, 3 B padding, 4 int8 codes
    assert sum(L["bytes"] for L in report["layers"]) == report["weight_bytes"]
    assert next(L["bytes"] for L in report["layers"] if L["op"] == "FullyConnected") == 192 + 3 + 4
    assert report["tflm_check"].startswith("identical")
    g = run("codegen", out / "model.tflite", "-o", tmp_path / "gen", "--json")
    assert g.returncode == 0, g.stderr
    src = next((tmp_path / "gen").glob("*[!a].c")).read_text()
    assert src.count("st = ek_conv_1x1_cb_s8(") == 5 and src.count("st = ek_conv_cb_s8(") == 1
    assert src.count("st = ek_dw_conv_cb_s8(") == 4


def test_compress_bad_arguments(tmp_path):
    r = run("compress", SAMPLES / "kws_ref_model.keras", "-o", tmp_path / "c", "--method", "kmeans", "--bins", "40")
    assert r.returncode == 2 and r.stderr.strip() == "edgekit: error: --bins must be between 2 and 16"
    assert not (tmp_path / "c").exists()


def test_compress_target_ratio(tmp_path):
    """--target-ratio: the report's weight_ratio reaches it (bytes exactly as allocated),
    the allocation (per-layer KL per bit width, frontier) is in report.json; an unreachable
    ratio is one error line naming the reachable maximum, and nothing is written."""
    out = tmp_path / "c"
    r = run("compress", SAMPLES / "kws_ref_model.keras", "-o", out, "--target-ratio", "11",
            "--samples", "8", "--iters", "5", "--refine-steps", "100", "--json", "--no-verify")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["target_ratio"] == 11 and "max_drop" not in report
    assert report["weight_ratio"] >= 11
    alloc = report["allocation"]
    assert alloc["chosen_bytes"] == report["weight_bytes"] <= alloc["budget_bytes"] == int(4 * 22016 / 11)
    assert all(set(L["bit_kl"]) == {"1", "2", "3", "4", "8"} for L in report["layers"])
    assert len({L["bits"] for L in report["layers"]}) > 1          # mixed: not one width for all
    r = run("compress", SAMPLES / "kws_ref_model.keras", "-o", tmp_path / "d", "--target-ratio", "40",
            "--samples", "8", "--iters", "5")
    assert r.returncode == 2 and r.stderr.strip() == (
        "edgekit: error: --target-ratio 40 is out of reach for this model: 1-bit codebooks in every layer "
        "give 31.07x at most")
    assert not (tmp_path / "d").exists()
    r = run("compress", SAMPLES / "kws_ref_model.keras", "-o", tmp_path / "d", "--target-ratio", "8",
            "--method", "kmeans")
    assert r.returncode == 2 and "--target-ratio needs --method binquant" in r.stderr


def test_deploy_defaults_are_one_compression_config():
    """`edgekit deploy` with no compression options and `run_deploy(ccfg=None)` compress the
    same way (edgekit.compress.deploy_config: k-means, 8 bins)."""
    from edgekit.cli import _compress_cfg, _parser
    from edgekit.compress import deploy_config

    args = _parser().parse_args(["deploy", "m.keras", "--board", "mps2-an386"])
    assert _compress_cfg(args) == deploy_config()
    assert (deploy_config().method, deploy_config().bins) == ("kmeans", {"*": 8})
