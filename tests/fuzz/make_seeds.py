"""Regenerate the fuzzers' seed corpus: tiny real models and wavs (kilobytes, so that a
mutated input parses in well under a millisecond and the fuzzer reaches deep code fast).

usage: python -m tests.fuzz.make_seeds    (writes tests/fuzz/seeds/*; committed)
"""
from __future__ import annotations

import io
import os
import wave
from pathlib import Path

import numpy as np

SEEDS = Path(__file__).resolve().parent / "seeds"


def _keras_model():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 4, 1), batch_size=1)
    x = keras.layers.Conv2D(4, (3, 3), strides=2, padding="same", use_bias=False)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.AveragePooling2D((4, 2))(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inp, out, name="tiny")


def _tflite(model, int8: bool) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(0)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.normal(size=(1, 8, 4, 1)).astype(np.float32)]
                                               for _ in range(8))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def _pt2(path: Path) -> None:
    import torch
    from torch import nn

    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                      nn.AvgPool2d((8, 4)), nn.Flatten(), nn.Linear(4, 3)).eval()
    ep = torch.export.export(m, (torch.zeros(1, 1, 8, 4),))
    torch.export.save(ep, str(path))


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    SEEDS.mkdir(exist_ok=True)
    m = _keras_model()
    (SEEDS / "tiny_float.tflite").write_bytes(_tflite(m, False))
    (SEEDS / "tiny_int8.tflite").write_bytes(_tflite(m, True))
    m.save(SEEDS / "tiny.keras")
    m.save(SEEDS / "tiny.h5")
    _pt2(SEEDS / "tiny.pt2")
    rng = np.random.default_rng(0)
    (SEEDS / "tone.wav").write_bytes(_wav((3000 * np.sin(np.arange(400) / 5)).astype(np.int16)))
    (SEEDS / "noise.wav").write_bytes(_wav(rng.integers(-500, 500, 64)))
    for p in sorted(SEEDS.iterdir()):
        print(f"{p.name:20s} {p.stat().st_size:8,d} B")


if __name__ == "__main__":
    main()
