"""Determinism: the same inputs and seed give byte-identical synthetic data, .tflite,
report, generated C and firmware ELF, across two runs in two different directories
(different working directory, different output path, different temporary names)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import SAMPLES, edgekit_cli, tree_digest

MODEL = str(SAMPLES / "kws_ref_model.keras")
SMALL = ["--samples", "8", "--iters", "20"]   # a short synthesis: the bytes, not the quality, matter here
REFINE = ["--refine-steps", "100"]             # and a short learned rounding


def edgekit(cwd: Path, *args) -> None:
    r = edgekit_cli(*args, cwd=cwd)
    assert r.returncode == 0, r.stderr[-1000:]


def assert_same(a: dict, b: dict, what: str) -> None:
    assert sorted(a) == sorted(b), f"{what}: different files {sorted(set(a) ^ set(b))}"
    diff = [k for k in sorted(a) if a[k] != b[k]]
    assert not diff, f"{what}: {len(diff)} file(s) differ, first {diff[0]}"


def test_synth_quantize_compress_are_byte_identical(tmp_path):
    runs = []
    for name in ("one", "two/nested"):
        d = tmp_path / name
        d.mkdir(parents=True)
        edgekit(d, "synth", MODEL, "-o", "calib.npz", *SMALL, "--seed", "3")
        edgekit(d, "quantize", MODEL, "--data-free", "-o", "int8.tflite", *SMALL, "--seed", "3")
        edgekit(d, "compress", MODEL, "-o", "compressed", "--method", "kmeans", "--bins", "4", *SMALL, *REFINE, "--seed", "3")
        edgekit(d, "codegen", d / "int8.tflite", "-o", "c")
        runs.append(tree_digest(d))
    assert {"calib.npz", "int8.tflite", "compressed/model.tflite", "compressed/report.json",
            "compressed/synth.npz", "c/int8.c", "c/int8_data.c"} <= set(runs[0])
    assert_same(runs[0], runs[1], "synth/quantize/compress/codegen")
    # and the comparison can fail: another seed, other bytes
    edgekit(tmp_path, "synth", MODEL, "-o", "other.npz", *SMALL, "--seed", "4")
    assert tree_digest(tmp_path / "one")["calib.npz"] != hashlib.sha256((tmp_path / "other.npz").read_bytes()).hexdigest()


def test_deploy_is_byte_identical_including_the_elf(tmp_path):
    """Two deploys of the float sample (synthesis, compression, PlatformIO build) into two
    directories. Everything edgekit produces is compared; PlatformIO's own build cache
    (.pio/, whose library folders are named from a hash of the path) and the build log
    (which prints the paths) are not outputs."""
    runs = []
    for name in ("a", "b/deeper"):
        d = tmp_path / name
        d.mkdir(parents=True)
        edgekit(d, "deploy", MODEL, "--board", "mps2-an386", "-o", "fw", *SMALL, *REFINE, "--no-count")
        runs.append(tree_digest(d / "fw", skip=(".pio", "pio-build.log")))
    assert {"firmware.elf", "model.tflite", "deploy.json", "platformio.ini", "src/kws.c",
            "src/kws_data.c"} <= set(runs[0])
    assert_same(runs[0], runs[1], "deploy")
