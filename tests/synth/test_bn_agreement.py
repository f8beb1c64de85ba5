"""Synthetic inputs carry the BatchNorm statistics they are made from, measured without
edgekit: the original Keras model runs the synthetic batch, a Keras sub-model returns the
input of every BatchNormalization layer, and each layer's batch mean and standard
deviation per channel are compared with that layer's own moving mean and
sqrt(moving variance + epsilon), read from Keras. Neither edgekit's importer, nor its
float executor, nor its synthesis loss is used to judge.

Tolerance, per BN layer, as the root mean square over the layer's channels (a few
channels with a tiny running variance are never matched well; the RMS is what the loss,
a sum over channels, drives down):
  mean error:  |batch mean - running mean| / running std     RMS <= 0.10
  std error:   |batch std / running std - 1|                  RMS <= 0.20
Measured worst layer (the first depthwise BN) with 32 samples x 200 steps: mean 0.066 /
0.064, std 0.124 / 0.143 (class term on / off); deploy's 64 x 500: mean 0.033 / 0.038,
std 0.112 / 0.129. Unoptimized Gaussian inputs, the synthesis' starting point: mean
0.14-0.45 and std 0.58-0.79 on every layer.
"""
from __future__ import annotations

import numpy as np
import pytest

from edgekit.importers import load_model
from edgekit.synth import SynthConfig, synthesize
from tests.conftest import SAMPLES

MODEL = SAMPLES / "kws_ref_model.keras"
MEAN_TOL, STD_TOL = 0.10, 0.20


@pytest.fixture(scope="module")
def keras_bn():
    """(probe model returning every BN layer's input, the BN layers), from Keras itself."""
    import keras

    km = keras.models.load_model(str(MODEL), compile=False)
    bns = [layer for layer in km.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 9
    return keras.Model(km.inputs, [layer.input for layer in bns]), bns


def bn_errors(keras_bn, x: np.ndarray) -> np.ndarray:
    """Per BN layer: (RMS mean error, RMS std error) over its channels, in running stds."""
    probe, bns = keras_bn
    acts = probe.predict(x, batch_size=len(x), verbose=0)
    out = []
    for bn, a in zip(bns, acts):
        a = np.asarray(a, np.float64).reshape(-1, a.shape[-1])
        run_std = np.sqrt(np.asarray(bn.moving_variance, np.float64) + bn.epsilon)
        mean_err = (a.mean(0) - np.asarray(bn.moving_mean, np.float64)) / run_std
        std_err = a.std(0) / run_std - 1
        out.append((np.sqrt(np.mean(mean_err ** 2)), np.sqrt(np.mean(std_err ** 2))))
    return np.array(out)


@pytest.fixture(scope="module")
def graph():
    return load_model(str(MODEL))


def test_tolerance_rejects_unoptimized_inputs(keras_bn):
    """The measure tells: the synthesis' Gaussian starting point fails it on every layer."""
    x = np.random.default_rng(0).standard_normal((32, 49, 10, 1)).astype(np.float32)
    err = bn_errors(keras_bn, x)
    assert ((err[:, 0] > MEAN_TOL) | (err[:, 1] > STD_TOL)).all(), err


@pytest.mark.parametrize("cfg", [
    pytest.param(SynthConfig(n=32, iters=200, label_weight=0.5), id="class-term"),
    pytest.param(SynthConfig(n=32, iters=200, label_weight=0.0), id="bn-only"),
    pytest.param(SynthConfig(), id="deploy-default", marks=pytest.mark.slow),
    pytest.param(SynthConfig(label_weight=0.0), id="deploy-default-bn-only", marks=pytest.mark.slow),
])
def test_synthetic_batch_matches_running_statistics(graph, keras_bn, cfg):
    res = synthesize(graph, cfg, show_progress=False)
    assert (res.labels >= 0).all() == (cfg.label_weight > 0)     # the class term was on / off
    err = bn_errors(keras_bn, res.x)
    for i, (m, s) in enumerate(err):
        assert m <= MEAN_TOL and s <= STD_TOL, (
            f"BN layer {i}: RMS mean error {m:.3f} (tol {MEAN_TOL}), RMS std error {s:.3f} "
            f"(tol {STD_TOL}), in running stds; all layers:\n{np.round(err, 3)}")
