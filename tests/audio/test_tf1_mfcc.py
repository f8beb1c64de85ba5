"""The tf1-mfcc front end (TF's AudioSpectrogram + Mfcc ops, as in ML-KWS-for-MCU graphs):
the NumPy twin against the TF ops themselves on the dev wavs, for the ML-KWS settings and
for other attribute values (squared or plain magnitude, other window, band and counts)."""
from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

from edgekit.audio import read_wav
from edgekit.audio.features import FeatureSpec, tf1_mfcc_spec
from edgekit.audio.tf1_mfcc import filterbank, tf1_mfcc
from tests.conftest import asset

ML_KWS = tf1_mfcc_spec()                       # 40 ms / 20 ms, 40 channels, 10 coefficients
OTHER = tf1_mfcc_spec(window_ms=30.0, hop_ms=10.0, channels=32, lower_hz=100.0, upper_hz=7000.0,
                      coefficients=13, magnitude_squared=False)
TOL = 1e-4                                     # TF returns float32 features (|c| < ~300)


def dev_wavs(step: int) -> list[str]:
    lab = asset("speech_commands_dev/labels.csv")
    return [str(lab.parent / r["file"]) for r in list(csv.DictReader(open(lab)))[::step]]


def tf_features(path: str, spec: FeatureSpec) -> np.ndarray:
    """The graph's own front end: DecodeWav -> AudioSpectrogram -> Mfcc."""
    import tensorflow as tf

    d = tf.audio.decode_wav(open(path, "rb").read(), desired_channels=1, desired_samples=spec.clip)
    s = tf.raw_ops.AudioSpectrogram(input=d.audio, window_size=spec.window, stride=spec.hop,
                                    magnitude_squared=spec.magnitude_squared)
    return tf.raw_ops.Mfcc(spectrogram=s, sample_rate=d.sample_rate, upper_frequency_limit=spec.upper_hz,
                           lower_frequency_limit=spec.lower_hz, filterbank_channel_count=spec.channels,
                           dct_coefficient_count=spec.coefficients).numpy()[0]


def max_error(paths: list[str], spec: FeatureSpec) -> float:
    worst = 0.0
    for p in paths:
        ref, got = tf_features(p, spec), tf1_mfcc(read_wav(p), spec)
        assert ref.shape == got.shape == spec.shape, p
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


@pytest.mark.parametrize("spec", [ML_KWS, OTHER], ids=["ml-kws", "other"])
def test_twin_matches_tf_ops(spec):
    err = max_error(dev_wavs(24), spec)          # 20 wavs
    print(f"tf1-mfcc twin vs tf.raw_ops, 20 dev wavs: max abs error {err:.2e}")
    assert err < TOL


@pytest.mark.slow
def test_twin_matches_tf_ops_all_dev_wavs():
    err = max_error(dev_wavs(1), ML_KWS)
    print(f"tf1-mfcc twin vs tf.raw_ops, 480 dev wavs: max abs error {err:.2e}")
    assert err < TOL


def test_filterbank_rows_split_each_bin():
    """Every bin inside the band gives its whole magnitude to its two channels (TF's
    triangles overlap so that the weights of a bin sum to one), except below the first
    centre and above the last, where one side is cut off."""
    w = filterbank(ML_KWS)
    inner = w[(w > 0).sum(1) == 2]
    assert len(inner) > 100 and np.allclose(inner.sum(1), 1.0)


def test_silence_hits_the_log_floor():
    c = tf1_mfcc(np.zeros(16000, np.int16), ML_KWS)
    assert np.allclose(c[:, 0], np.sqrt(2 / 40) * 40 * np.log(1e-12))
    assert np.allclose(c[:, 1:], 0, atol=1e-9)


def test_spec_validation():
    from edgekit.audio.features import FeatureSpecError

    for kw, msg in [({"coefficients": 41}, "coefficients 41 > channels 40"),
                    ({"upper_hz": 9000.0}, "above Nyquist"),
                    ({"hop_ms": 50.0}, "hop_ms 50.0 > window_ms 40.0"),
                    ({"fft": 2048}, "next power of two")]:
        with pytest.raises(FeatureSpecError, match=msg):
            dataclasses.replace(ML_KWS, **kw).validate()


def test_features_file_round_trip(tmp_path):
    """deploy writes OUT/model.features.toml (spec_to_toml) so that stream-eval of
    OUT/model.tflite gets the same front end: each kind reads back as the same spec."""
    from edgekit.audio.features import micro_speech, mfcc_default, resolve_spec, spec_to_toml

    for i, spec in enumerate([ML_KWS, OTHER, micro_speech(), mfcc_default()]):
        model = tmp_path / f"m{i}.tflite"
        (tmp_path / f"m{i}.features.toml").write_text(spec_to_toml(spec))
        assert resolve_spec(str(model)) == (spec, str(tmp_path / f"m{i}.features.toml"))
