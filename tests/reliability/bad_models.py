"""Small real models that are wrong in one way each, made with the real frameworks
(Keras, PyTorch, the TFLite converter): the bad-input matrix feeds them to the CLI."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _keras(shape=(49, 10, 1), act="relu", two_inputs=False):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input(shape, batch_size=1)
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation(act)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    if two_inputs:
        inp2 = keras.Input((4,), batch_size=1)
        x = keras.layers.Add()([x, inp2])
        return keras.Model([inp, inp2], keras.layers.Dense(3)(x))
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))


def _tflite(model, **opts) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    for k, v in opts.items():
        setattr(conv, k, v)
    return conv.convert()


def _torch_model(eps=1e-3):
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4, eps=eps), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).eval()


def _save_pt2(m, path: Path) -> None:
    import torch

    torch.export.save(torch.export.export(m, (torch.zeros(1, 1, 49, 10),)), str(path))


def make_all(d: Path) -> dict[str, Path]:
    """name -> path of every bad model (written once per test session)."""
    import tensorflow as tf
    import torch

    out = {}

    def put(name: str) -> Path:
        out[name] = d / name
        return out[name]

    put("tanh.tflite").write_bytes(_tflite(_keras(act="tanh")))
    put("float16.tflite").write_bytes(_tflite(_keras(), optimizations=[tf.lite.Optimize.DEFAULT],
                                              target_spec=_f16_spec()))
    b4 = _keras()
    import keras
    inp = keras.Input((49, 10, 1), batch_size=4)
    put("batch4.tflite").write_bytes(_tflite(keras.Model(inp, b4(inp))))
    m = _keras()
    w = m.layers[1].get_weights()
    w[0][0, 0, 0, 0] = np.nan
    m.layers[1].set_weights(w)
    m.save(put("nan_weights.keras"))
    m = _keras()
    bn = m.layers[2]
    g, b, mean, var = bn.get_weights()
    var[2] = -0.5
    bn.set_weights([g, b, mean, var])
    m.save(put("bn_negative_variance.keras"))
    _keras(two_inputs=True).save(put("two_inputs.keras"))
    _keras(shape=(8, 4, 1)).save(put("not_mfcc_input.keras"))
    t = _torch_model()
    with torch.no_grad():
        t[5].weight[0, 0] = float("inf")
    _save_pt2(t, put("inf_weights.pt2"))
    t = _torch_model(eps=0.0)
    with torch.no_grad():
        t[1].running_var[1] = 0.0
    _save_pt2(t, put("bn_zero_variance_eps0.pt2"))
    from torch import nn
    s = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Sigmoid(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    _save_pt2(s, put("sigmoid.pt2"))
    return out


def _f16_spec():
    import tensorflow as tf

    spec = tf.lite.TargetSpec()
    spec.supported_types = [tf.float16]
    return spec
