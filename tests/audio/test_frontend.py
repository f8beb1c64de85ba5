"""The MFCC front end: NumPy twins against tensorflow's tf.signal (the oracle), and the C
implementations against the twins (fixed path: identical on every value; float path:
int8 features identical but for rare 1-LSB rounding flips), on host and emulated cores."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from edgekit.audio import MfccSpec, mfcc_fixed, mfcc_float, quantize_features, read_wav
from edgekit.audio.mfcc import clip_of, quantize_fixed
from edgekit.boards import get_board
from edgekit.deploy.firmware import build_features, run_features
from edgekit.deploy.realtime import probe_board
from edgekit.toolchain.profile import has_tools
from tests.conftest import ASSETS, KWS_SCALE, KWS_ZP, SAMPLES


def first_diff(a: np.ndarray, b: np.ndarray) -> str:
    bad = np.flatnonzero(a.reshape(-1) != b.reshape(-1))
    return "" if not len(bad) else f"index {bad[0]}: expected {b.reshape(-1)[bad[0]]}, got {a.reshape(-1)[bad[0]]}"


def wav_set() -> list[np.ndarray]:
    """The 4 sample wavs, plus every 20th dev wav when ../shared/assets is there."""
    clips = [read_wav(str(p)) for p in sorted(SAMPLES.glob("wavs/*.wav"))]
    lab = ASSETS / "speech_commands_dev" / "labels.csv"
    if lab.exists():
        rows = list(csv.DictReader(open(lab)))[::20]
        clips += [read_wav(str(lab.parent / r["file"])) for r in rows]
    return clips


@pytest.fixture(scope="module")
def clips():
    return wav_set()


def tf_mfcc(x: np.ndarray) -> np.ndarray:
    """The MLCommons training front end, in tensorflow (frontend.md)."""
    import tensorflow as tf

    s = tf.constant(x.astype(np.float32))
    s = s / tf.reduce_max(s)
    s = tf.pad(s, [[0, 16000 - tf.shape(s)[-1]]])
    mag = tf.abs(tf.signal.stft(s, 480, 320, window_fn=tf.signal.hann_window))
    mel = tf.signal.linear_to_mel_weight_matrix(40, mag.shape[-1], 16000, 20.0, 4000.0)
    lm = tf.math.log(tf.tensordot(mag, mel, 1) + 1e-6)
    return tf.signal.mfccs_from_log_mel_spectrograms(lm)[..., :10].numpy()


def test_mel_matrix_matches_tf():
    import tensorflow as tf

    ref = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 4000.0).numpy()
    assert np.abs(MfccSpec().mel_matrix() - ref).max() < 1e-5


def test_twins_match_tf(clips):
    qf_eq = qx_ok = total = 0
    for x in clips:
        ref = quantize_features(tf_mfcc(x), KWS_SCALE, KWS_ZP).astype(int)
        qf = quantize_features(mfcc_float(x), KWS_SCALE, KWS_ZP).astype(int)
        qx = quantize_fixed(mfcc_fixed(x), KWS_SCALE, KWS_ZP).astype(int)
        assert np.abs(qf - ref).max() <= 1 and np.abs(qx - ref).max() <= 2
        qf_eq += (qf == ref).sum()
        qx_ok += (np.abs(qx - ref) <= 1).sum()
        total += ref.size
    assert qf_eq / total >= 0.99 and qx_ok / total >= 0.99, (qf_eq / total, qx_ok / total)


def _clips16(clips) -> np.ndarray:
    return np.stack([clip_of(x, MfccSpec()).astype(np.int16) for x in clips])


def run_c(tmp_path, clips, board, frontend, emulated_clips=8):
    """The C front end (clip mode) on the host, or on the first clips in QEMU: (clips, int8, raw)."""
    if board != "host" and not has_tools():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm")
    xs = _clips16(clips[:emulated_clips] if board != "host" else clips)
    target = get_board(board)
    target = target if target.is_host else probe_board(target)   # rpipico: ARMv6-M code on an M3
    exe = build_features(target, frontend, tmp_path, KWS_SCALE, KWS_ZP)
    return (xs, *run_features(exe, target, xs, frontend))


def extreme_clips() -> list[np.ndarray]:
    """Clips at the bounds of the fixed path's arithmetic: full-scale square waves and tones
    (the FFT's and the magnitude's largest values), -32768 runs, an impulse, digital silence."""
    n = np.arange(16000)
    sq = np.where((n // 16) % 2, 32767, -32768)
    tone = np.round(32767 * np.sin(2 * np.pi * 1000 * n / 16000))
    chirp = np.round(32767 * np.sin(2 * np.pi * (50 + 0.24 * n) * n / 16000))
    imp = np.zeros(16000)
    imp[::480] = -32768
    quiet = np.random.default_rng(1).integers(-2, 3, 16000)
    return [x.astype(np.int16) for x in (sq, tone, chirp, imp, quiet, np.zeros(16000), np.full(16000, -32768))]


@pytest.mark.parametrize("board", ["host", "mps2-an385", "rpipico"])
def test_fixed_c_identical_to_twin(tmp_path, clips, board):
    xs, q, c = run_c(tmp_path, extreme_clips() + clips, board, "fixed", emulated_clips=15)
    ref = np.stack([mfcc_fixed(x) for x in xs])
    assert not first_diff(c, ref), first_diff(c, ref)
    refq = np.stack([quantize_fixed(r, KWS_SCALE, KWS_ZP) for r in ref])
    assert not first_diff(q, refq), first_diff(q, refq)


@pytest.mark.parametrize("board", ["host", "mps2-an386"])
def test_float_c_matches_twin(tmp_path, clips, board):
    xs, q, c = run_c(tmp_path, clips, board, "float")
    ref = np.stack([mfcc_float(x) for x in xs])
    assert np.abs(c - ref).max() < 1e-3
    refq = quantize_features(ref, KWS_SCALE, KWS_ZP).astype(int)
    assert np.abs(q.astype(int) - refq).max() <= 1 and (q == refq).mean() >= 0.999
