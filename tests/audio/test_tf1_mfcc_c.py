"""The C tf1-mfcc front end (the float MFCC path built with -DEK_FE_TF1, tables from the
spec) against its NumPy twin and TF's AudioSpectrogram + Mfcc ops: int8 features within
1 LSB on >= 99 % of values (float32 in C, float64 in TF), on the host and on an emulated
Cortex-M4F, for the ML-KWS settings and for other attribute values."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from edgekit.audio import quantize_features, read_wav
from edgekit.audio.tf1_mfcc import tf1_mfcc
from edgekit.boards import get_board
from edgekit.deploy.firmware import TF1, build_features, run_features
from edgekit.toolchain.profile import has_tools
from tests.audio.test_tf1_mfcc import ML_KWS, OTHER, tf_features
from tests.conftest import asset

SCALE, ZP = 0.75, 100          # c0 of these features spans about -250..-20: most values in range


def dev(step: int) -> tuple[list[str], np.ndarray]:
    d = asset("speech_commands_dev")
    paths = [str(d / r["file"]) for r in list(csv.DictReader(open(d / "labels.csv")))[::step]]
    clips = np.zeros((len(paths), 16000), np.int16)
    for i, p in enumerate(paths):
        x = read_wav(p)[:16000]
        clips[i, :len(x)] = x
    return paths, clips


def c_features(tmp_path, board: str, clips: np.ndarray, spec) -> tuple[np.ndarray, np.ndarray]:
    if board != "host" and not has_tools():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm")
    target = get_board(board)
    exe = build_features(target, TF1, tmp_path, SCALE, ZP, spec=spec)
    return run_features(exe, target, clips, TF1, spec=spec)


def compare(paths, clips, q, raw, spec) -> dict:
    twin = np.stack([tf1_mfcc(x, spec) for x in clips])
    tf = np.stack([tf_features(p, spec) for p in paths])
    out = {"raw_max_abs_vs_twin": float(np.abs(raw - twin).max()),
           "raw_max_abs_vs_tf": float(np.abs(raw - tf).max())}
    for name, ref in (("twin", twin), ("tf", tf)):
        d = np.abs(q.astype(int) - quantize_features(ref, SCALE, ZP).astype(int))
        out[f"identical_vs_{name}"] = float((d == 0).mean())
        out[f"within1_vs_{name}"] = float((d <= 1).mean())
    return out


@pytest.mark.parametrize("board,spec", [("host", ML_KWS), ("host", OTHER), ("mps2-an386", ML_KWS)],
                         ids=["host-ml-kws", "host-other", "m4-ml-kws"])
def test_c_matches_twin_and_tf(tmp_path, board, spec):
    paths, clips = dev(24)                                          # 20 dev wavs
    q, raw = c_features(tmp_path, board, clips, spec)
    r = compare(paths, clips, q, raw, spec)
    print(board, r)
    assert r["raw_max_abs_vs_tf"] < 0.05
    assert r["within1_vs_tf"] >= 0.99 and r["within1_vs_twin"] >= 0.99
    assert r["identical_vs_tf"] >= 0.98


@pytest.mark.slow
def test_c_matches_tf_all_dev_wavs(tmp_path):
    paths, clips = dev(1)
    q, raw = c_features(tmp_path, "host", clips, ML_KWS)
    r = compare(paths, clips, q, raw, ML_KWS)
    print("480 dev wavs", r)
    assert r["within1_vs_tf"] >= 0.99 and r["identical_vs_tf"] >= 0.98
