"""TF1 frozen graphs as ARM's ML-KWS-for-MCU writes them (freeze.py + models.py ds_cnn),
built here with tf.compat.v1: wav_data (string) -> DecodeWav -> AudioSpectrogram -> Mfcc ->
Reshape [-1, T*F] -> Reshape [-1, T, F, 1] -> a small DS-CNN with unfolded FusedBatchNorm
-> AvgPool -> Squeeze -> MatMul + BiasAdd -> Softmax `labels_softmax`.

Weights are random (seeded), or, given labelled wavs, trained for a few seconds in Keras on
the same features (a model with the margins of a trained one: its int8 build can agree
with it; a random network's classes are separated by less than int8's noise). The
BatchNorm statistics are the real per-channel mean and variance of each BatchNorm's input
over the features of the calibration wavs, computed layer by layer, as a converged moving
average would hold them (and data-free synthesis has realistic targets)."""
from __future__ import annotations

import numpy as np

from edgekit.audio import read_wav
from edgekit.audio.features import FeatureSpec, tf1_mfcc_spec
from edgekit.audio.tf1_mfcc import tf1_mfcc

CLASSES = 12
WIDTH = 64


def train_weights(x: np.ndarray, labels: np.ndarray, seed: int = 0, epochs: int = 80) -> dict[str, np.ndarray]:
    """The DS-CNN below trained in Keras on features x (N, T, F, 1): its kernels, biases and
    BatchNorm gamma/beta by the graph's variable names."""
    import keras

    keras.utils.set_random_seed(seed)
    L = keras.layers
    inp = keras.Input(x.shape[1:])
    h = L.Conv2D(WIDTH, (10, 4), strides=2, padding="same", name="conv_1")(inp)
    h = L.ReLU()(L.BatchNormalization(epsilon=1e-3, name="conv_1_bn")(h))
    for i in (1, 2):
        h = L.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dw_{i}")(h)
        h = L.ReLU()(L.BatchNormalization(epsilon=1e-3, name=f"dw_{i}_bn")(h))
        h = L.Conv2D(WIDTH, 1, use_bias=False, name=f"pw_{i}")(h)
        h = L.ReLU(6.0)(L.BatchNormalization(epsilon=1e-3, name=f"pw_{i}_bn")(h))
    h = L.Flatten()(L.AveragePooling2D(h.shape[1:3])(h))
    model = keras.Model(inp, L.Dense(CLASSES, name="fc")(h))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, labels, batch_size=32, epochs=epochs, verbose=0, shuffle=True)
    w = {"conv_1/weights": model.get_layer("conv_1").kernel, "conv_1/biases": model.get_layer("conv_1").bias,
         "fc/weights": model.get_layer("fc").kernel, "fc/biases": model.get_layer("fc").bias}
    for i in (1, 2):
        w[f"dw_{i}/depthwise_weights"] = model.get_layer(f"dw_{i}").kernel
        w[f"pw_{i}/weights"] = model.get_layer(f"pw_{i}").kernel
    for name in ("conv_1", "dw_1", "pw_1", "dw_2", "pw_2"):
        bn = model.get_layer(f"{name}_bn")
        w[f"{name}/batch_norm/gamma"], w[f"{name}/batch_norm/beta"] = bn.gamma, bn.beta
    return {k: np.asarray(v).astype(np.float32) for k, v in w.items()}


def build_frozen_graph(path: str, calib_wavs: list[str], spec: FeatureSpec = tf1_mfcc_spec(), seed: int = 0,
                       conv_after_front_end: bool = True, sample_rate_const: int | None = None,
                       labels: list[int] | None = None, rescale_features: float | None = None) -> bytes:
    """Write a frozen GraphDef (.pb) to `path`; returns its bytes. labels: the class of each
    calibration wav: the weights are trained on them (else random). sample_rate_const: feed
    the Mfcc op a Const sample rate instead of DecodeWav's output. conv_after_front_end=False:
    a graph whose network is dense only (no Conv after the front end: refused).
    rescale_features: a Mul between the Mfcc and the network (features the firmware would not
    compute: refused)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    rng = np.random.default_rng(seed)
    t, f = spec.shape
    calib = np.stack([tf1_mfcc(read_wav(w), spec) for w in calib_wavs]).astype(np.float32)[..., None]
    trained = train_weights(calib, np.asarray(labels), seed) if labels is not None else {}
    g = tf.Graph()
    with g.as_default(), v1.Session(graph=g) as sess:
        wav = v1.placeholder(tf.string, [], name="wav_data")
        dec = tf.raw_ops.DecodeWav(contents=wav, desired_channels=1, desired_samples=spec.clip,
                                   name="decoded_sample_data")
        spg = tf.raw_ops.AudioSpectrogram(input=dec.audio, window_size=spec.window, stride=spec.hop,
                                          magnitude_squared=spec.magnitude_squared, name="AudioSpectrogram")
        rate = tf.constant(sample_rate_const, tf.int32) if sample_rate_const else dec.sample_rate
        mfcc = tf.raw_ops.Mfcc(spectrogram=spg, sample_rate=rate, upper_frequency_limit=spec.upper_hz,
                               lower_frequency_limit=spec.lower_hz, filterbank_channel_count=spec.channels,
                               dct_coefficient_count=spec.coefficients, name="Mfcc")
        flat = tf.reshape(mfcc, [-1, t * f])
        x4 = tf.reshape(flat, [-1, t, f, 1], name="fingerprint_4d")
        feed = x4
        if rescale_features:
            x4 = tf.multiply(x4, rescale_features, name="rescale")
        bns: list[tuple[tf.Tensor, tuple]] = []

        def var(name, shape, scale):
            return v1.Variable(trained.get(name, rng.standard_normal(shape).astype(np.float32) * scale), name=name)

        def bn(x, name, v1_op=False):
            c = x.shape[-1]
            gamma = v1.Variable(trained.get(f"{name}/gamma", rng.uniform(0.6, 1.4, c).astype(np.float32)),
                                name=f"{name}/gamma")
            beta = v1.Variable(trained.get(f"{name}/beta", rng.uniform(-0.2, 0.2, c).astype(np.float32)),
                               name=f"{name}/beta")
            mean = v1.Variable(np.zeros(c, np.float32), name=f"{name}/moving_mean")
            varc = v1.Variable(np.ones(c, np.float32), name=f"{name}/moving_variance")
            op = tf.raw_ops.FusedBatchNorm if v1_op else tf.raw_ops.FusedBatchNormV3
            y = op(x=x, scale=gamma, offset=beta, mean=mean, variance=varc, epsilon=1e-3, is_training=False,
                   name=name)[0]
            bns.append((x, (mean, varc)))
            return y

        if conv_after_front_end:
            w0 = var("conv_1/weights", (10, 4, 1, WIDTH), 0.3)
            b0 = var("conv_1/biases", (WIDTH,), 0.1)
            h = tf.nn.bias_add(tf.nn.conv2d(x4, w0, [1, 2, 2, 1], "SAME"), b0)
            h = tf.nn.relu(bn(h, "conv_1/batch_norm", v1_op=True))
            for i in (1, 2):
                wd = var(f"dw_{i}/depthwise_weights", (3, 3, WIDTH, 1), 0.5)
                h = tf.nn.depthwise_conv2d(h, wd, [1, 1, 1, 1], "SAME")
                h = tf.nn.relu(bn(h, f"dw_{i}/batch_norm"))
                wp = var(f"pw_{i}/weights", (1, 1, WIDTH, WIDTH), 0.35)
                h = tf.nn.conv2d(h, wp, [1, 1, 1, 1], "SAME")
                h = tf.nn.relu6(bn(h, f"pw_{i}/batch_norm"))
            h = tf.nn.avg_pool2d(h, [1, *h.shape[1:3], 1], [1, 1, 1, 1], "VALID")
            h = tf.squeeze(h, [1, 2], name="SpatialSqueeze")
        else:
            feed = flat
            h = tf.nn.relu(tf.matmul(flat, var("fc_0/weights", (t * f, 16), 0.05)))
        wf = var("fc/weights", (h.shape[-1], CLASSES), 0.5)
        bf = var("fc/biases", (CLASSES,), 0.1)
        logits = tf.nn.bias_add(tf.matmul(h, wf), bf)
        tf.nn.softmax(logits, name="labels_softmax")
        sess.run(v1.global_variables_initializer())
        def on_calib(x):
            return np.concatenate([sess.run(x, {feed: c.reshape(1, *feed.shape[1:])}) for c in calib])

        for x_in, (mean, varc) in bns:              # layer by layer: later inputs depend on earlier stats
            a = on_calib(x_in)
            sess.run([mean.assign(a.mean((0, 1, 2))), varc.assign(a.var((0, 1, 2)))])
        if trained:
            frozen = v1.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["labels_softmax"])
            data = frozen.SerializeToString()
            with open(path, "wb") as fh:
                fh.write(data)
            return data
        # random weights: the classifier sees its inputs standardised (logits that differ
        # from clip to clip, so the argmax is not one class everywhere)
        a = on_calib(h).astype(np.float64)
        w = rng.standard_normal((a.shape[1], CLASSES)) * 1.5 / np.sqrt(a.shape[1]) / (a.std(0) + 1e-3)[:, None]
        sess.run([wf.assign(w.astype(np.float32)), bf.assign((-a.mean(0) @ w).astype(np.float32))])
        frozen = v1.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["labels_softmax"])
    data = frozen.SerializeToString()
    with open(path, "wb") as fh:
        fh.write(data)
    return data


def run_graph(pb: str, wavs: list[str], output: str = "labels_softmax:0", feed: str = "wav_data:0",
              features: np.ndarray | None = None, feature_tensor: str | None = None) -> np.ndarray:
    """The frozen graph's outputs in TF, from the wav files (or from `features` fed to
    `feature_tensor`), one row per input."""
    import tensorflow as tf

    v1 = tf.compat.v1
    gd = v1.GraphDef()
    gd.ParseFromString(open(pb, "rb").read())
    g = tf.Graph()
    with g.as_default():
        tf.graph_util.import_graph_def(gd, name="")
    with v1.Session(graph=g) as sess:
        if features is not None:
            return sess.run(output, {feature_tensor: features})
        return np.concatenate([sess.run(output, {feed: open(w, "rb").read()}) for w in wavs])
