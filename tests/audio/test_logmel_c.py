"""The C logmel front end (ek_logmel_f32.c, -DEK_FE_LOGMEL, tables from the spec) against
its NumPy twin and librosa: int8 features (the same quantization as the model's input)
identical on >= 99.9 % and within 1 LSB on all values, on the host, on an emulated
Cortex-M4F and on a Cortex-M3 (no FPU: soft float), for the default spec and for other
values of every field."""
from __future__ import annotations

import numpy as np
import pytest

from edgekit.audio import quantize_features, read_wav
from edgekit.audio.logmel import logmel
from edgekit.boards import get_board
from edgekit.deploy.firmware import LOGMEL, build_features, run_features
from edgekit.toolchain.profile import has_tools
from tests.audio.test_logmel import DEFAULT, LOG10, OTHER, librosa_logmel
from tests.deploy.logmel_models import dev_set

QUANT = {DEFAULT: (0.5, 60), OTHER: (0.125, 100), LOG10: (0.02, 0)}   # about the features' range


def clips_of(step: int) -> tuple[list[str], np.ndarray]:
    paths = dev_set()[0][::step]
    clips = np.zeros((len(paths), 16000), np.int16)
    for i, p in enumerate(paths):
        x = read_wav(p)[:16000]
        clips[i, :len(x)] = x
    return paths, clips


def compare(board: str, clips: np.ndarray, spec, tmp_path) -> dict:
    if board != "host" and not has_tools():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm")
    scale, zp = QUANT[spec]
    target = get_board(board)
    exe = build_features(target, LOGMEL, tmp_path, scale, zp, spec=spec)
    q, raw = run_features(exe, target, clips, LOGMEL, spec=spec)
    twin = np.stack([logmel(x, spec) for x in clips])
    out = {"raw_max_abs_vs_twin": float(np.abs(raw - twin).max())}
    refs = {"twin": twin}
    if len(clips) <= 40:
        refs["librosa"] = np.stack([librosa_logmel(x, spec) for x in clips])
    for name, ref in refs.items():
        d = np.abs(q.astype(int) - quantize_features(ref, scale, zp).astype(int))
        out[f"identical_vs_{name}"] = float((d == 0).mean())
        out[f"within1_vs_{name}"] = float((d <= 1).mean())
    return out


@pytest.mark.parametrize("board,spec", [("host", DEFAULT), ("host", OTHER), ("host", LOG10),
                                        ("mps2-an386", DEFAULT), ("mps2-an385", OTHER)],
                         ids=["host-default", "host-other", "host-log10-norm", "m4-default", "m3-other"])
def test_c_matches_twin_and_librosa(tmp_path, board, spec):
    _, clips = clips_of(24)                                            # 20 dev wavs
    r = compare(board, clips, spec, tmp_path)
    print(board, r)
    assert r["identical_vs_twin"] >= 0.999 and r["within1_vs_twin"] == 1.0
    assert r["identical_vs_librosa"] >= 0.999 and r["within1_vs_librosa"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("board", ["host", "mps2-an386"])
def test_c_matches_twin_all_dev_wavs(tmp_path, board):
    _, clips = clips_of(1)
    r = compare(board, clips, DEFAULT, tmp_path)
    print(f"logmel C ({board}) vs twin, 480 dev wavs:", r)
    assert r["identical_vs_twin"] >= 0.999 and r["within1_vs_twin"] == 1.0
