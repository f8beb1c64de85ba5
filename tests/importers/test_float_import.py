"""Float IR from each importer reproduces the source framework."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from edgekit.executors.float_exec import run_float
from edgekit.importers import load_model
from edgekit.importers.keras import graph_from_keras
from edgekit.importers.torch import graph_from_exported, graph_from_torch
from tests.conftest import SAMPLES, asset, dequant_kws

sys.path.insert(0, str(SAMPLES))
from dscnn import DSCNN  # noqa: E402

KWS_FILES = ["samples/kws_ref_model.keras", "samples/kws_ref_model.pt2", "assets:kws_ref_model/kws_ref_model.h5"]


def _path(spec: str) -> str:
    return str(asset(spec[7:])) if spec.startswith("assets:") else str(SAMPLES.parent / spec)


@pytest.mark.parametrize("spec", KWS_FILES)
def test_kws_float_matches_keras_subset(spec, kws_eval):
    g = load_model(_path(spec))
    y = run_float(g, dequant_kws(kws_eval["x"][:200]))
    assert np.abs(y - kws_eval["keras"][:200]).max() <= 1e-4
    assert sum(n.op == "BatchNorm" for n in g.nodes) == 9   # statistics kept for synth


@pytest.mark.slow
@pytest.mark.parametrize("spec", KWS_FILES)
def test_kws_float_matches_keras_all_1000(spec, kws_eval):
    y = run_float(load_model(_path(spec)), dequant_kws(kws_eval["x"]))
    assert np.abs(y - kws_eval["keras"]).max() <= 1e-4
    assert (y.argmax(1) == kws_eval["y"]).mean() == pytest.approx(0.913, abs=1e-9)


def test_keras_in_memory_all_layers():
    import keras
    L = keras.layers
    keras.utils.set_random_seed(3)
    inp = keras.Input((12, 9, 2))
    x = L.ZeroPadding2D(((1, 2), (0, 1)))(inp)
    x = L.Conv2D(6, (3, 3), strides=(2, 1), padding="same", activation="relu")(x)
    x = L.BatchNormalization(epsilon=1e-3)(x)
    y = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
    y = L.ReLU(max_value=6.0)(y)
    z = L.Conv2D(12, 1)(x)
    s = L.Add()([y, z])
    s = L.MaxPooling2D(2, padding="same")(s)
    s = L.AveragePooling2D(2, strides=1, padding="same")(s)
    s = L.Dropout(0.3)(s)
    g = L.GlobalAveragePooling2D()(s)
    out = L.Dense(4, activation="softmax")(L.Dense(8, activation="relu6")(g))
    model = keras.Model(inp, out)
    # non-trivial BN statistics
    bn = model.layers[3]
    bn.set_weights([np.random.rand(6) + .5, np.random.randn(6), np.random.randn(6), np.random.rand(6) + .1])
    x_in = np.random.default_rng(0).normal(size=(5, 12, 9, 2)).astype(np.float32)
    got = run_float(graph_from_keras(model), x_in)
    assert np.abs(got - model.predict(x_in, verbose=0)).max() <= 1e-5


def test_torch_module_and_decomposed_program():
    net = DSCNN().eval()
    for m in net.modules():   # random BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
    x = torch.randn(4, 1, 49, 10)
    ref = net(x).detach().numpy()
    g = graph_from_torch(net, x[:1])
    assert g.tensor(g.inputs[0]).shape == (1, 49, 10, 1)
    nhwc = x.permute(0, 2, 3, 1).numpy()
    assert np.abs(run_float(g, nhwc) - ref).max() <= 1e-5
    ep = torch.export.export(net, (x[:1],)).run_decompositions()
    assert np.abs(run_float(graph_from_exported(ep), nhwc) - ref).max() <= 1e-5


def test_torch_ops_relu6_maxpool_add_mean():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.b = torch.nn.Conv2d(8, 8, 1)
            self.fc = torch.nn.Linear(8, 3)

        def forward(self, x):
            x = torch.nn.functional.relu6(self.a(x))
            x = torch.nn.functional.max_pool2d(x + self.b(x), 2)
            return self.fc(x.mean(dim=(2, 3)))

    net = Net().eval()
    x = torch.randn(3, 3, 16, 12)
    g = graph_from_torch(net, x[:1])
    assert np.abs(run_float(g, x.permute(0, 2, 3, 1).numpy()) - net(x).detach().numpy()).max() <= 1e-5


def test_tflite_float_model_matches_litert():
    from edgekit.executors.litert import run_litert

    path = str(asset("tflite_micro_misc/hello_world_float.tflite"))
    g = load_model(path)
    assert [n.op for n in g.nodes] == ["FullyConnected"] * 3
    x = np.linspace(0, 2 * np.pi, 50, dtype=np.float32).reshape(50, 1)
    assert np.abs(run_float(g, x) - run_litert(path, x)).max() <= 1e-5
