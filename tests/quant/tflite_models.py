"""Small int8 .tflite models built with the real TFLite converter, for kernel tests.

Each covers a set of ops with random shapes/scales; tests run them through edgekit's
reference executor and the TFLM interpreter and require identical bytes.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _convert(model, in_shape, seed: int, scale: float) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def rep():
        for _ in range(32):
            yield [rng.normal(0, scale, (1, *in_shape)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def all_ops_model(seed: int = 0) -> bytes:
    """conv (stride 2, same, relu6) -> depthwise (x2, valid) -> pad -> max pool -> avg pool
    (same padding) -> add (two scales) -> 1x1 conv -> global avg pool -> dense -> softmax."""
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    h, w, c = int(rng.integers(9, 17)), int(rng.integers(7, 13)), int(rng.integers(1, 4))
    inp = tf.keras.Input((h, w, c), batch_size=1)  # static batch: no SHAPE ops
    x = L.Conv2D(8, (3, 2), strides=2, padding="same", activation="relu6")(inp)
    d = L.DepthwiseConv2D(3, depth_multiplier=2, padding="valid", activation="relu")(x)
    d = L.ZeroPadding2D(((1, 0), (0, 1)))(d)
    m = L.MaxPooling2D(2, strides=1, padding="same")(d)
    a = L.AveragePooling2D(3, strides=1, padding="same")(d)
    s = L.Add()([m, L.Conv2D(16, 1)(a)])
    g = L.Flatten()(L.AveragePooling2D(tuple(s.shape[1:3]))(s))  # global pool as TFLM runs it
    out = L.Dense(5, activation="softmax")(L.Dense(12, activation="relu")(g))
    return _convert(tf.keras.Model(inp, out), (h, w, c), seed, 2.0)
