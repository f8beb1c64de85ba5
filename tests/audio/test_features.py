"""FeatureSpec: loading, the one-line refusals, where the spec comes from, deploy's check."""
from __future__ import annotations

import shutil

import pytest

from edgekit.audio.features import FeatureSpec, FeatureSpecError, micro_speech, resolve_spec, spec_from_toml
from edgekit.audio.mfcc import MfccSpec
from edgekit.deploy.checks import check_frontend_input
from edgekit.errors import InputError
from edgekit.importers import load_model
from tests.conftest import ROOT, asset

SAMPLE = ROOT / "samples" / "micro_speech.features.toml"


def test_default_is_the_mfcc_of_the_shipped_model():
    s, m = FeatureSpec().validate(), MfccSpec()
    assert (s.window, s.hop, s.fft, s.channels, s.coefficients, s.frames) == \
        (m.frame, m.hop, m.fft, m.mels, m.coeffs, m.frames)
    assert (s.lower_hz, s.upper_hz) == (m.fmin, m.fmax) and s.firmware_ready


def test_sample_file_is_micro_speech():
    assert spec_from_toml(str(SAMPLE)) == micro_speech()
    assert micro_speech().shape == (49, 40) and micro_speech().firmware_ready


@pytest.mark.parametrize("body, words", [
    ('kind = "mel"', "unknown kind 'mel'"),
    ("hop_ms = 40.0", "hop_ms 40.0 > window_ms 30.0"),
    ("upper_hz = 9000.0", "above Nyquist"),
    ("coefficients = 41", "coefficients 41 > channels 40"),
    ("fft = 500", "power of two"),
    ("speed = 1", "unknown field(s) speed"),
    ('channels = "forty"', "channels = 'forty' must be int"),
])
def test_impossible_values_are_one_line_errors(tmp_path, body, words):
    p = tmp_path / "f.toml"
    p.write_text(body + "\n")
    with pytest.raises(FeatureSpecError, match=None) as e:
        spec_from_toml(str(p))
    assert words in str(e.value) and "\n" not in str(e.value)


def test_spec_beside_the_model_wins_over_the_default(tmp_path):
    model = tmp_path / "m.tflite"
    assert resolve_spec(str(model))[0].kind == "mfcc"
    shutil.copy(SAMPLE, tmp_path / "m.features.toml")
    spec, source = resolve_spec(str(model))
    assert spec.kind == "microfrontend" and source.endswith("m.features.toml")
    assert resolve_spec(str(model), str(tmp_path / "none.toml").replace("none", "m.features"))[1].startswith("--features")


def test_deploy_check_takes_micro_speech_with_its_front_end_only():
    g = load_model(str(asset("micro_speech/models/micro_speech_quantized.tflite")))
    with pytest.raises(InputError, match="does not match the mfcc front end"):
        check_frontend_input(g)
    check_frontend_input(g, micro_speech())   # flat [1, 1960] int8: the C microfrontend's window


def test_an_mfcc_spec_the_c_front_end_does_not_compute_is_refused():
    """The C MFCC is built for the sample's MFCC only: another mfcc spec with the same
    shape (here a 50 Hz lower band edge) would get the sample's features, so deploy refuses
    it, naming the field."""
    import dataclasses

    assert FeatureSpec().as_mfcc() == MfccSpec()
    other = dataclasses.replace(FeatureSpec(), lower_hz=50.0).validate()
    assert not other.firmware_ready and other.describe()["firmware_front_end"] == "not built yet"
    g = load_model(str(ROOT / "samples" / "kws_ref_model_int8.tflite"))
    check_frontend_input(g, FeatureSpec())
    with pytest.raises(InputError, match=r"differs in fmin 50 \(firmware: 20\)"):
        check_frontend_input(g, other)
