"""The package as users get it: `pip wheel .`, installed with its pinned dependencies into
a fresh virtual environment outside the repository, then used from another directory:
boards, codegen + run on the host (== the NumPy reference), deploy to the emulated
Cortex-M4 with per-wav lines. Nothing may come from the source tree: the C runtime,
firmware, PlatformIO platform and board files are package data."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

from edgekit.toolchain.profile import has_tools
from tests.conftest import ROOT, SAMPLES, cli_env

WAVS = sorted((SAMPLES / "wavs").glob("*.wav"))


def _sh(cmd: list, cwd: Path, env: dict | None = None, timeout: float = 1200) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env=env or cli_env())
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}): {r.stderr[-2000:]}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(edgekit console script, a work directory outside the repository)."""
    d = tmp_path_factory.mktemp("wheel")
    src = d / "src"        # build from a copy: the repository stays untouched
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "edgekit", src / "edgekit", ignore=shutil.ignore_patterns("__pycache__"))
    _sh([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", d / "dist"],
        src)
    wheel = next((d / "dist").glob("edgekit-*.whl"))
    env_dir = d / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # torch named first and exactly (scripts/setup.sh does the same): an unpinned torch
    # would resolve to a multi-GB CUDA build
    _sh([py, "-m", "pip", "install", "-q", "torch==2.13.0", wheel], d)
    work = d / "work"
    work.mkdir()
    where = _sh([py, "-c", "import edgekit, edgekit.resources as r; print(edgekit.__file__); print(r.FIRMWARE)"],
                work).stdout.split()
    assert all(str(env_dir) in p for p in where), where   # the installed copy, not the source tree
    return env_dir / "bin" / "edgekit", work


def test_boards_from_the_wheel(installed):
    exe, work = installed
    names = [b["name"] for b in json.loads(_sh([exe, "boards", "--json"], work).stdout)]
    assert {"host", "mps2-an386", "nano33ble"} <= set(names)


def test_codegen_and_run_from_the_wheel(installed):
    exe, work = installed
    _sh([exe, "codegen", SAMPLES / "kws_ref_model_int8.tflite", "-o", work / "c"], work)
    assert (work / "c" / "ek_runtime" / "include" / "ek_nn.h").is_file()
    x = np.random.default_rng(0).integers(-128, 128, (4, 49, 10, 1), dtype=np.int8)
    np.save(work / "x.npy", x)
    r = _sh([exe, "run", SAMPLES / "kws_ref_model_int8.tflite", "--board", "host", "--input", work / "x.npy",
             "--output", work / "y.npy", "--check", "--json"], work)
    assert json.loads(r.stdout)["identical_to_reference"] is True


@pytest.mark.skipif(not has_tools(), reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_deploy_from_the_wheel(installed, tmp_path):
    exe, work = installed
    env = cli_env(EDGEKIT_PIO_CORE=str(tmp_path / "pio"))   # a PlatformIO home of its own
    r = _sh([exe, "deploy", SAMPLES / "kws_ref_model_int8.tflite", "--board", "mps2-an386", "--wav", *WAVS,
             "-o", work / "fw"], work, env)
    for w in WAVS:
        assert f"{w}: " in r.stdout, r.stdout
    ini = (work / "fw" / "platformio.ini").read_text()
    assert str(ROOT) not in ini and os.fspath(installed[0].parent.parent) in ini   # the wheel's platform
