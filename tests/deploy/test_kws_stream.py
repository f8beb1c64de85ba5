"""The KWS firmware on a stream: a 10 s recording made of real dev clips and noise gives
each keyword once, at the right time, and nothing else (host build and emulated M4)."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from edgekit.audio import read_wav
from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.deploy.firmware import build_kws, run_kws
from edgekit.importers import load_model
from edgekit.toolchain.profile import has_tools
from tests.conftest import SAMPLES

LABELS = (SAMPLES / "kws_ref_model.labels.txt").read_text().split()
# keyword clips placed at these times (s) in a 10 s stream of quiet noise
PLACED = [(1.0, "yes"), (4.0, "stop"), (7.0, "up")]


def make_stream(path) -> None:
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(0, 30, 160_000)).astype(np.int16)   # quiet room noise
    for t, word in PLACED:
        clip = read_wav(str(next(SAMPLES.glob(f"wavs/{word}_*.wav"))))
        i = int(t * 16000)
        x[i:i + len(clip)] = clip
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(x.tobytes())


@pytest.fixture(scope="module")
def gen():
    return generate(load_model(str(SAMPLES / "kws_ref_model_int8.tflite")), "kws")


@pytest.mark.parametrize("board,frontend", [("host", "float"), ("host", "fixed"), ("mps2-an386", "float")])
def test_stream_detections(tmp_path, gen, board, frontend):
    if board != "host" and not has_tools():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm")
    wav = tmp_path / "stream.wav"
    make_stream(wav)
    target = get_board(board)
    exe = build_kws(gen, target, frontend, LABELS, tmp_path / "build")
    r = run_kws(exe, target, [str(wav)])
    assert r["stream_ms"] == 10_000
    got = [(d["label"], d["ms"]) for d in r["detections"]]
    assert [lb for lb, _ in got] == [w for _, w in PLACED], got      # each once, in order, nothing else
    for (t, word), (_, ms) in zip(PLACED, got):
        assert t * 1000 < ms <= t * 1000 + 2000, (word, ms)         # after the word starts, within 2 s
