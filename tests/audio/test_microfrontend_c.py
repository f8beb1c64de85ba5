"""The C microfrontend (edgekit/firmware/frontend, -DEK_FE_MICRO) against its NumPy twin
(edgekit/audio/microfrontend.py, itself bit-exact with TFLM's preprocessor): identical
int8 features on every value, on the host and on an emulated Cortex-M4F, for the
micro_speech testdata wavs and Speech Commands dev wavs. Each clip is one stream from a
reset (noise estimate from frame 0), as micro_speech runs it; shorter wavs are zero padded
to 1 s (the twin sees the same padded clip)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from edgekit.audio import read_wav
from edgekit.audio.features import micro_speech
from edgekit.audio.microfrontend import build_tables, microfrontend
from edgekit.boards import get_board
from edgekit.deploy.firmware import MICRO, build_features, run_features
from edgekit.toolchain.profile import has_tools
from tests.conftest import asset

SPEC = micro_speech()
TESTDATA = ["yes_1000ms", "no_1000ms", "silence_1000ms", "noise_1000ms"]


def clip16(x: np.ndarray) -> np.ndarray:
    out = np.zeros(SPEC.clip, np.int16)
    out[:min(len(x), SPEC.clip)] = x[:SPEC.clip]
    return out


def micro_speech_clips() -> list[np.ndarray]:
    return [clip16(read_wav(str(asset(f"micro_speech/testdata/{w}.wav")))) for w in TESTDATA]


def dev_clips(step: int) -> tuple[list[str], list[np.ndarray]]:
    d = asset("speech_commands_dev")
    rows = list(csv.DictReader(open(d / "labels.csv")))[::step]
    return [r["file"] for r in rows], [clip16(read_wav(str(d / r["file"]))) for r in rows]


def c_features(tmp_path, board: str, clips: list[np.ndarray]) -> np.ndarray:
    if board != "host" and not has_tools():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm")
    target = get_board(board)
    exe = build_features(target, MICRO, tmp_path, spec=SPEC)
    q, raw = run_features(exe, target, np.stack(clips), MICRO, spec=SPEC)
    assert (q == raw).all()   # the window is the frames themselves
    return q


def assert_same_as_twin(names: list[str], clips: list[np.ndarray], got: np.ndarray) -> None:
    """Names the first clip, frame and channel that differ, with both values."""
    t = build_tables(SPEC)
    for name, x, g in zip(names, clips, got):
        ref = microfrontend(x, SPEC, t)
        bad = np.argwhere(ref != g)
        assert not len(bad), (f"{name}: {len(bad)} of {ref.size} features differ; first at frame "
                              f"{bad[0][0]}, channel {bad[0][1]}: twin {ref[tuple(bad[0])]}, C {g[tuple(bad[0])]}")


@pytest.mark.parametrize("board", ["host", "mps2-an386", "mps2-an385"])   # M4F and M3 (no FPU, no DSP)
def test_c_identical_to_twin_on_testdata(tmp_path, board):
    clips = micro_speech_clips()
    got = c_features(tmp_path, board, clips)
    assert_same_as_twin(TESTDATA, clips, got)
    for w, g in zip(TESTDATA, got):   # and so to TFLM's own features
        golden = np.load(asset(f"micro_speech/golden/tflm_{w}_features_int8_49x40.npy")).reshape(g.shape)
        assert (golden == g).all(), w


@pytest.mark.parametrize("board", ["host", "mps2-an386"])
def test_c_identical_to_twin_on_dev_sample(tmp_path, board):
    names, clips = dev_clips(20 if board == "host" else 60)
    assert_same_as_twin(names, clips, c_features(tmp_path, board, clips))


@pytest.mark.slow
def test_c_identical_to_twin_on_all_480_dev_wavs(tmp_path):
    names, clips = dev_clips(1)
    assert len(clips) == 480
    assert_same_as_twin(names, clips, c_features(tmp_path, "host", clips))
