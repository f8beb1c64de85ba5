"""TF1 frozen graphs (ML-KWS-for-MCU style, built by tests/importers/tf1_models.py): the
front end read from the graph, the network imported from the feature tensor on, and the
float IR == the TF graph's own outputs."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from edgekit.audio import read_wav
from edgekit.audio.features import FeatureSpecError, resolve_spec, tf1_mfcc_spec
from edgekit.audio.tf1_mfcc import tf1_mfcc
from edgekit.executors.float_exec import run_float
from edgekit.importers import load_model
from tests.conftest import asset, edgekit_cli
from tests.importers.tf1_models import build_frozen_graph, run_graph


def dev_wavs(step: int = 1, start: int = 0) -> list[str]:
    lab = asset("speech_commands_dev/labels.csv")
    return [str(lab.parent / r["file"]) for r in list(csv.DictReader(open(lab)))[start::step]]


@pytest.fixture(scope="module")
def ml_kws_pb(tmp_path_factory):
    p = tmp_path_factory.mktemp("tf1") / "ds_cnn.pb"
    build_frozen_graph(str(p), dev_wavs(15, 3))
    return str(p)


OTHER = tf1_mfcc_spec(window_ms=30.0, hop_ms=10.0, channels=32, lower_hz=60.0, upper_hz=7000.0, coefficients=13,
                      magnitude_squared=False)


def test_spec_read_from_graph(ml_kws_pb, tmp_path):
    spec, source = resolve_spec(ml_kws_pb)
    assert spec == tf1_mfcc_spec() and source.startswith("graph")
    other = tmp_path / "other.pb"
    build_frozen_graph(str(other), dev_wavs(60), spec=OTHER, sample_rate_const=16000)
    spec, source = resolve_spec(str(other))
    assert spec == OTHER and "constant" in source
    assert load_model(str(other)).tensor("fingerprint_4d").shape == (1, *OTHER.shape, 1)


def test_features_cli_says_graph(ml_kws_pb):
    r = edgekit_cli("features", ml_kws_pb, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"].startswith("graph") and out["kind"] == "tf1-mfcc"
    assert (out["window_samples"], out["hop_samples"], out["fft"], out["coefficients"]) == (640, 320, 1024, 10)


def test_features_file_contradicting_the_graph_is_refused(ml_kws_pb, tmp_path):
    f = tmp_path / "f.toml"
    f.write_text('kind = "tf1-mfcc"\ncoefficients = 13\n')
    with pytest.raises(FeatureSpecError, match=r"coefficients 13 \(graph: 10\)"):
        resolve_spec(ml_kws_pb, str(f))
    f.write_text('kind = "tf1-mfcc"\n')                  # the same front end: fine
    assert resolve_spec(ml_kws_pb, str(f))[0] == tf1_mfcc_spec()


def test_float_ir_matches_tf_graph(ml_kws_pb):
    g = load_model(ml_kws_pb)
    assert g.meta["feature_tensor"] == "fingerprint_4d:0"
    assert sum(n.op == "BatchNorm" for n in g.nodes) == 5          # kept for synthesis
    wavs = dev_wavs(12)                                            # 40 wavs
    spec = tf1_mfcc_spec()
    feats = np.stack([tf1_mfcc(read_wav(w), spec) for w in wavs]).astype(np.float32)[..., None]
    y = run_float(g, feats)
    from_features = np.concatenate([run_graph(ml_kws_pb, [], features=f[None], feature_tensor="fingerprint_4d:0")
                                    for f in feats])
    from_wavs = run_graph(ml_kws_pb, wavs)                          # TF's own front end
    print(f"float IR vs TF graph: {np.abs(y - from_features).max():.1e} (same features), "
          f"{np.abs(y - from_wavs).max():.1e} (TF's front end)")
    assert np.abs(y - from_features).max() < 1e-5
    assert np.abs(y - from_wavs).max() < 1e-4
    assert (y.argmax(1) == from_wavs.argmax(1)).all()
    assert len(set(from_wavs.argmax(1))) >= 4                      # not a constant classifier


def test_feature_tensor_by_name(ml_kws_pb):
    from edgekit.importers.tf1 import graph_from_graphdef, parse_graphdef

    gd = parse_graphdef(open(ml_kws_pb, "rb").read(), ml_kws_pb)
    g, spec = graph_from_graphdef(gd, ml_kws_pb, "m", "Reshape:0")      # the flat [1, 490] one
    assert g.tensor(g.inputs[0]).shape == (1, 490) and spec == tf1_mfcc_spec()
    assert [n.op for n in g.nodes][0] == "Reshape"
