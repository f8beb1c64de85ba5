"""The microfrontend twin against TFLM's own preprocessor (audio_preprocessor_int8.tflite),
run frame by frame through one interpreter per clip, as micro_speech runs it."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from edgekit.audio import read_wav
from edgekit.audio.features import micro_speech
from edgekit.audio.microfrontend import build_tables, microfrontend
from edgekit.executors.tflm import interpreter
from edgekit.tflite.schema import schema
from tests.conftest import assert_identical, asset

PRE = "micro_speech/models/audio_preprocessor_int8.tflite"
SPEC = micro_speech()


def tflm_features(x: np.ndarray) -> np.ndarray:
    it = interpreter(str(asset(PRE)))
    out = []
    for f in range(1 + (len(x) - SPEC.window) // SPEC.hop):
        it.set_input(x[f * SPEC.hop:f * SPEC.hop + SPEC.window].reshape(1, -1), 0)
        it.invoke()
        out.append(it.get_output(0).copy())
    return np.array(out)


def test_tables_equal_the_preprocessor_constants():
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(asset(PRE).read_bytes(), 0))
    consts = {t.name.decode(): np.frombuffer(bytes(m.buffers[t.buffer].data), np.int16)
              for t in m.subgraphs[0].tensors
              if t.type == 7 and m.buffers[t.buffer].data is not None and len(m.buffers[t.buffer].data)}
    t = build_tables(SPEC)
    for field, name in [("window_q12", "Const"), ("fb_weights", "signal_filter_bank/Const"),
                        ("fb_unweights", "signal_filter_bank/Const_1"),
                        ("fb_freq_starts", "signal_filter_bank/Const_2"),
                        ("fb_weight_starts", "signal_filter_bank/Const_3"),
                        ("fb_widths", "signal_filter_bank/Const_4"), ("pcan_lut", "signal_pcan/Const")]:
        assert_identical(consts[name].astype(np.int64), getattr(t, field), field)


@pytest.mark.parametrize("wav", ["yes_1000ms", "no_1000ms", "silence_1000ms", "noise_1000ms",
                                 "yes_30ms", "no_30ms"])
def test_twin_matches_tflm_on_micro_speech_testdata(wav):
    x = read_wav(str(asset(f"micro_speech/testdata/{wav}.wav")))
    ours = microfrontend(x, SPEC)
    assert ours.shape == ((49, 40) if "1000" in wav else (1, 40))
    assert_identical(tflm_features(x), ours, wav)
    if "1000" in wav:
        golden = np.load(asset(f"micro_speech/golden/tflm_{wav}_features_int8_49x40.npy"))
        assert_identical(golden.reshape(ours.shape), ours, f"{wav} golden")


def test_twin_matches_tflm_on_a_few_dev_wavs():
    d = asset("speech_commands_dev")
    rows = list(csv.DictReader(open(d / "labels.csv")))[::60]
    for r in rows:
        x = read_wav(str(d / r["file"]))
        assert_identical(tflm_features(x), microfrontend(x, SPEC), r["file"])


@pytest.mark.slow
def test_twin_matches_tflm_on_all_480_dev_wavs():
    d = asset("speech_commands_dev")
    rows = list(csv.DictReader(open(d / "labels.csv")))
    assert len(rows) == 480
    t = build_tables(SPEC)
    for r in rows:
        x = read_wav(str(d / r["file"]))
        assert_identical(tflm_features(x), microfrontend(x, SPEC, t), r["file"])
