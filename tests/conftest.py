"""Shared fixtures: paths to the external assets (../shared/assets) and samples."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("EDGEKIT_QUIET", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
ASSETS = Path(os.environ.get("EDGEKIT_ASSETS", ROOT.parent / "shared" / "assets"))

KWS_SCALE, KWS_ZP = 0.5847029, 83

EDGEKIT = [sys.executable, "-m", "edgekit.cli"]   # the CLI as users run it, in a new process


def cli_env(**extra: str) -> dict:
    return dict(os.environ, EDGEKIT_QUIET="1", TF_CPP_MIN_LOG_LEVEL="3", **extra)


def edgekit_cli(*args, cwd=ROOT, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGEKIT, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env or cli_env(), timeout=timeout)


def tree_digest(d: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under d (relative path -> digest), except paths under `skip`."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*"))
            if p.is_file() and not str(p.relative_to(d)).startswith(skip)}


def asset(rel: str) -> Path:
    p = ASSETS / rel
    if not p.exists():
        pytest.skip(f"external asset {p} not available (needs ../shared/assets)")
    return p


@pytest.fixture(scope="session")
def kws_eval():
    """The 1000 eembc_kws01 inputs (int8), labels, TFLM int8 outputs, Keras float outputs."""
    d = "eembc_kws01/"
    return {
        "x": np.load(asset(d + "kws01_inputs_int8_1000x49x10x1.npy")),
        "y": np.load(asset(d + "kws01_labels_1000.npy")),
        "tflm": np.load(asset(d + "kws01_kws_ref_model_int8_outputs_tflm.npy")),
        "keras": np.load(asset(d + "kws01_kws_ref_model_keras_float_outputs.npy")),
    }


def dequant_kws(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) - KWS_ZP) * np.float32(KWS_SCALE)


def assert_identical(expected, actual, what: str = "outputs") -> None:
    """Bit-exact check on every element; the failure names the first mismatch."""
    from edgekit.verify import first_mismatch

    diff = first_mismatch(expected, actual)
    assert diff is None, f"{what} differ at {diff}"
