"""The logmel front end (librosa-style log-mel energies): the NumPy twin against librosa
itself (librosa.filters.mel, librosa.feature.melspectrogram, power_to_db / np.log) on the
dev wavs, for the default spec and for other values of every field; the spec's checks;
features files round-trip; `edgekit features` on a logmel model."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from edgekit.audio import read_wav
from edgekit.audio.features import FeatureSpecError, logmel_spec, spec_from_toml, spec_to_toml
from edgekit.audio.logmel import filterbank, logmel
from tests.deploy.logmel_models import dev_set

librosa = pytest.importorskip("librosa", reason="librosa (test dependency) is the logmel reference")

DEFAULT = logmel_spec()     # power, Slaney mel + norm, 10 log10(max(x, 1e-10)), 49 x 40
OTHER = logmel_spec(window_ms=25.0, hop_ms=10.0, channels=64, lower_hz=60.0, upper_hz=7600.0, mel_scale="htk",
                    mel_norm="none", magnitude_squared=False, window_fn="hann-symmetric", log="ln",
                    log_offset=1e-6, log_floor=0.0)
LOG10 = logmel_spec(log="log10", log_offset=1e-6, normalize="per-bin", mean=tuple(np.linspace(-5, -1, 40)),
                    std=tuple(np.linspace(0.5, 2, 40)))
DB20 = logmel_spec(log="db20", magnitude_squared=False, log_floor=1e-5, fft=1024, window_ms=40.0, channels=80)


def librosa_mel(spec):
    return librosa.filters.mel(sr=spec.sample_rate, n_fft=spec.fft, n_mels=spec.channels, fmin=spec.lower_hz,
                               fmax=spec.upper_hz, htk=spec.mel_scale == "htk",
                               norm="slaney" if spec.mel_norm == "slaney" else None, dtype=np.float64)


def librosa_logmel(samples: np.ndarray, spec) -> np.ndarray:
    """The reference in float64: librosa's STFT, mel filters and log of the spec."""
    import scipy.signal

    y = np.zeros(spec.clip)
    n = min(len(samples), spec.clip)
    y[:n] = samples[:n] / 32768.0
    win = "hann" if spec.window_fn == "hann" else scipy.signal.windows.hann(spec.window, sym=True)
    s = librosa.feature.melspectrogram(y=y, sr=spec.sample_rate, n_fft=spec.fft, hop_length=spec.hop,
                                       win_length=spec.window, window=win, center=False,
                                       power=2.0 if spec.magnitude_squared else 1.0, n_mels=spec.channels,
                                       fmin=spec.lower_hz, fmax=spec.upper_hz, htk=spec.mel_scale == "htk",
                                       norm="slaney" if spec.mel_norm == "slaney" else None, dtype=np.float64)
    if spec.log == "db10":
        f = librosa.power_to_db(s + spec.log_offset, ref=1.0, amin=spec.log_floor, top_db=None)
    elif spec.log == "db20":
        f = librosa.amplitude_to_db(s + spec.log_offset, ref=1.0, amin=spec.log_floor, top_db=None)
    else:
        f = {"ln": np.log, "log10": np.log10}[spec.log](np.maximum(s + spec.log_offset, spec.log_floor))
    f = f.T
    if spec.normalize == "per-bin":
        f = (f - np.asarray(spec.mean)) / np.asarray(spec.std)
    return f


def max_error(spec, step: int) -> float:
    return max(float(np.abs(logmel(x, spec) - librosa_logmel(x, spec)).max())
               for x in (read_wav(w) for w in dev_set()[0][::step]))


@pytest.mark.parametrize("spec", [DEFAULT, OTHER, LOG10, DB20], ids=["default", "other", "log10-norm", "db20"])
def test_filterbank_is_librosas(spec):
    assert np.abs(filterbank(spec).T - librosa_mel(spec)).max() < 1e-12


@pytest.mark.parametrize("spec", [DEFAULT, OTHER, LOG10, DB20], ids=["default", "other", "log10-norm", "db20"])
def test_twin_matches_librosa(spec):
    err = max_error(spec, 8)                                         # 60 dev wavs
    print(f"logmel twin vs librosa (float64), 60 dev wavs: max abs error {err:.2e}")
    assert err < 1e-9


@pytest.mark.slow
def test_twin_matches_librosa_all_dev_wavs():
    for spec in (DEFAULT, OTHER):
        err = max_error(spec, 1)
        print(f"logmel twin vs librosa (float64), 480 dev wavs: max abs error {err:.2e}")
        assert err < 1e-9


@pytest.mark.parametrize("kw,msg", [
    (dict(hop_ms=40.0), "hop_ms 40.0 > window_ms 30.0"),
    (dict(upper_hz=9000.0), "upper_hz 9000.0 is above Nyquist (8000 Hz"),
    (dict(channels=300), "channels 300 > the 257 FFT bins of fft 512"),
    (dict(channels=128, lower_hz=0.0, mel_scale="htk"), "mel channel(s) 0 cover no FFT bin"),
    (dict(center=True), "center = true"),
    (dict(log_floor=0.0), "one of them > 0"),
    (dict(log="db"), "log = 'db' (one of: ln, log10, db10, db20)"),
    (dict(mel_scale="mel"), "mel_scale = 'mel'"),
    (dict(normalize="per-bin", mean=(0.0,) * 40, std=(1.0,) * 39), "needs mean and std of 40 values"),
    (dict(normalize="per-bin", mean=(0.0,) * 40, std=(0.0,) * 40), "every std must be > 0"),
    (dict(mean=(0.0,) * 40), "normalize = 'none'"),
    (dict(fft=256), "fft = 256 is shorter than the window (480 samples)"),
])
def test_impossible_values_are_refused_in_one_line(kw, msg):
    with pytest.raises(FeatureSpecError) as e:
        logmel_spec(**kw).validate()
    assert msg in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_features_file_round_trips_with_mean_and_std(tmp_path):
    for spec in (DEFAULT, OTHER, LOG10, DB20):
        p = tmp_path / "m.features.toml"
        p.write_text(spec_to_toml(spec))
        assert spec_from_toml(str(p)) == spec
    p.write_text('kind = "logmel"\nnormalize = "per-bin"\nmean = [1, 2]\nstd = ["a", 2]\nchannels = 2\n')
    with pytest.raises(FeatureSpecError, match="std must be a list of numbers"):
        spec_from_toml(str(p))
    p.write_text('kind = "logmel"\n')
    s = spec_from_toml(str(p))
    assert s == DEFAULT and s.shape == (49, 40) and s.frame_length == 512


def test_features_command_shows_logmel_and_refuses_a_model_of_another_shape(tmp_path):
    """`edgekit features MODEL`: the spec and where it came from; a model whose input is not
    that spec's feature map (the sample's 49 x 10 MFCC model with a logmel file) in one line."""
    import shutil

    from tests.conftest import ROOT, edgekit_cli

    model = tmp_path / "kws.tflite"
    shutil.copy(ROOT / "samples" / "kws_ref_model_int8.tflite", model)
    (tmp_path / "kws.features.toml").write_text(spec_to_toml(LOG10))
    r = edgekit_cli("features", str(model), "--json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "model input [1, 49, 10, 1] does not match the logmel front end (49 frames x 40 features" in r.stderr
    r = edgekit_cli("features", str(tmp_path / "absent.pt2"), "--features", str(tmp_path / "kws.features.toml"),
                    "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "logmel" and out["source"].startswith("--features") and out["frames"] == 49
    assert out["normalize"] == "per-bin" and len(out["mean"]) == 40 and "coefficients" not in out
    assert out["firmware_front_end"] == "available"
    assert not dataclasses.replace(LOG10, sample_rate=8000, upper_hz=4000.0).validate().firmware_ready
