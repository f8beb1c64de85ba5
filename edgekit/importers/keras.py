"""Keras -> float Graph: `.keras` (Keras 3), legacy `.h5` (Keras 2 via tf_keras), or an
in-memory `keras.Model` of either flavour.

The model's own config gives the wiring (functional `inbound_nodes` in the Keras 2 or
Keras 3 spelling, or a Sequential chain); weights come from `layer.get_weights()`.
BatchNorm stays an explicit node so data-free calibration can read its statistics.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from edgekit.errors import ModelLoadError, UnsupportedOpError
from edgekit.ir import Graph
from edgekit.ir.builder import GraphBuilder
from edgekit.ir.ops import same_pads
from edgekit.native_io import quiet_native_stderr

_ACTS = {"linear": "none", "relu": "relu", "relu6": "relu6"}


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def load_keras_file(path: str):
    """Load a .keras / .h5 file with Keras 3, falling back to tf_keras for Keras 2 files."""
    _quiet_tf()
    errors = []
    loaders = ["keras", "tf_keras"] if path.endswith(".keras") else ["tf_keras", "keras"]
    for mod in loaders:
        try:
            with quiet_native_stderr(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lib = __import__(mod)
                model = lib.models.load_model(path, compile=False)
            if not all(hasattr(model, a) for a in ("inputs", "layers", "get_config")):
                raise ModelLoadError(f"{path}: the file holds a {type(model).__name__}, not a Keras model")
            return model
        except ModelLoadError:
            raise
        except ImportError as e:
            errors.append(f"{mod}: not installed ({e})")
        except Exception as e:  # keras raises many types for corrupt files
            errors.append(f"{mod}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    raise ModelLoadError(f"{path}: cannot load Keras model ({'; '.join(errors)[:400]})")


def _inbound(layer_cfg: dict) -> list[str]:
    """Names of the layers feeding this one (Keras 2 or Keras 3 config spelling)."""
    nodes = layer_cfg.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) > 1:
        raise UnsupportedOpError(layer_cfg["class_name"], layer_cfg["config"]["name"],
                                 "shared layers (called more than once)")
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3
        args = node.get("args", [])
        flat = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        return [a["config"]["keras_history"][0] for a in flat
                if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__"]
    return [entry[0] for entry in node]  # Keras 2: [[name, node, tensor, kwargs], ...]


def _wiring(model) -> tuple[list[tuple[object, list[str]]], list[str]]:
    """[(layer, [input layer names])] in topological order, and the output layer names."""
    cfg = model.get_config()
    layers = {l.name: l for l in model.layers}
    if "inbound_nodes" in (cfg.get("layers") or [{}])[0] or "input_layers" in cfg:
        order = [(layers[c["config"]["name"]], _inbound(c)) for c in cfg["layers"]]
        outs = cfg["output_layers"]
        outs = [outs[0]] if outs and isinstance(outs[0], str) else [o[0] for o in outs]
        return order, outs
    order, prev = [], "__input__"
    for l in model.layers:  # Sequential: a chain
        order.append((l, [prev]))
        prev = l.name
    return order, [prev]


def _window(b: GraphBuilder, x: str, cfg: dict, k: tuple[int, int]) -> dict:
    strides = tuple(cfg.get("strides") or k)
    dil = tuple(cfg.get("dilation_rate", (1, 1)))
    if cfg.get("padding", "valid") == "same":
        h, w = b.shape(x)[1:3]
        pads = (*same_pads(h, k[0], strides[0], dil[0]), *same_pads(w, k[1], strides[1], dil[1]))
    else:
        pads = (0, 0, 0, 0)
    return {"stride": strides, "dilation": dil, "pads": pads}


def _activation(b: GraphBuilder, x: str, act: str, name: str, cls: str) -> str:
    if act in ("linear", None):
        return x
    if act == "relu":
        return b.node("ReLU", f"{name}_relu", [x])
    if act == "relu6":
        return b.node("ReLU6", f"{name}_relu6", [x])
    if act == "softmax":
        return b.node("Softmax", f"{name}_softmax", [x], beta=1.0)
    raise UnsupportedOpError(f"{cls}(activation={act})", name)


def _conv_like(b, layer, cls, cfg, x, w):
    name = layer.name
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise UnsupportedOpError(cls, name, "only channels_last is supported")
    if cfg.get("groups", 1) != 1:
        raise UnsupportedOpError(cls, name, "grouped convolution")
    k = tuple(cfg["kernel_size"])
    attrs = _window(b, x, cfg, k)
    bias = w[1] if cfg.get("use_bias", True) else None
    if cls == "Conv2D":
        wt = b.const(f"{name}/kernel", np.transpose(w[0], (3, 0, 1, 2)).astype(np.float32))
        op = "Conv2D"
    else:
        kh, kw, cin, m = w[0].shape
        wt = b.const(f"{name}/kernel", w[0].reshape(1, kh, kw, cin * m).astype(np.float32))
        attrs["depth_multiplier"] = int(m)
        op = "DepthwiseConv2D"
    ins = [x, wt] + ([b.const(f"{name}/bias", bias.astype(np.float32))] if bias is not None else [])
    y = b.node(op, name, ins, activation="none", **attrs)
    return _activation(b, y, cfg.get("activation", "linear"), name, cls)


def _batchnorm(b, layer, cls, cfg, x, w):
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) else axis
    if axis not in (-1, len(b.shape(x)) - 1):
        raise UnsupportedOpError(cls, layer.name, f"normalization axis {axis} (only the channel axis)")
    c = b.shape(x)[-1]
    w = list(w)
    gamma = w.pop(0) if cfg.get("scale", True) else np.ones(c, np.float32)
    beta = w.pop(0) if cfg.get("center", True) else np.zeros(c, np.float32)
    mean, var = w
    consts = [b.const(f"{layer.name}/{n}", np.asarray(v, np.float32))
              for n, v in (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))]
    return b.node("BatchNorm", layer.name, [x, *consts], eps=float(cfg.get("epsilon", 1e-3)))


def _pool(b, layer, cls, cfg, x, w):
    shape = b.shape(x)
    if cls.startswith("Global"):
        kernel = tuple(shape[1:3])
        op = "AveragePool" if "Average" in cls else "MaxPool"
        y = b.node(op, layer.name, [x], kernel=kernel, stride=(1, 1), pads=(0, 0, 0, 0),
                   activation="none")
        if cfg.get("keepdims", False):
            return y
        return b.node("Reshape", f"{layer.name}_flatten", [y], shape=(shape[0], shape[3]))
    kernel = tuple(cfg["pool_size"])
    attrs = _window(b, x, cfg, kernel)
    attrs.pop("dilation")
    op = "AveragePool" if "Average" in cls else "MaxPool"
    return b.node(op, layer.name, [x], kernel=kernel, activation="none", **attrs)


def _dense(b, layer, cls, cfg, x, w):
    if len(b.shape(x)) != 2:
        raise UnsupportedOpError(cls, layer.name, f"input of rank {len(b.shape(x))} (flatten first)")
    wt = b.const(f"{layer.name}/kernel", w[0].T.astype(np.float32))
    ins = [x, wt] + ([b.const(f"{layer.name}/bias", w[1].astype(np.float32))]
                     if cfg.get("use_bias", True) else [])
    y = b.node("FullyConnected", layer.name, ins, activation="none")
    return _activation(b, y, cfg.get("activation", "linear"), layer.name, cls)


def _relu_layer(b, layer, cls, cfg, x, w):
    if cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
        raise UnsupportedOpError(cls, layer.name, "leaky or thresholded ReLU")
    mv = cfg.get("max_value")
    if mv is None:
        return b.node("ReLU", layer.name, [x])
    if float(mv) == 6.0:
        return b.node("ReLU6", layer.name, [x])
    raise UnsupportedOpError(cls, layer.name, f"max_value={mv}")


def _reshape(b, layer, cls, cfg, x, w):
    shape = b.shape(x)
    if cls == "Flatten":
        target = (shape[0], int(np.prod(shape[1:])))
    else:
        target = tuple(int(d) for d in cfg["target_shape"])
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target = tuple(int(np.prod(shape[1:])) // known if d == -1 else d for d in target)
        target = (shape[0], *target)
    return b.node("Reshape", layer.name, [x], shape=target)


def _padding(b, layer, cls, cfg, x, w):
    p = cfg["padding"]
    (t, bo), (l, r) = (p[0], p[1]) if isinstance(p[0], (list, tuple)) else ((p[0], p[0]), (p[1], p[1]))
    return b.node("Pad", layer.name, [x], pads=((0, 0), (t, bo), (l, r), (0, 0)))


def _handlers():
    simple = {
        "Dropout": lambda b, l, c, cfg, x, w: b.node("Dropout", l.name, [x], rate=float(cfg.get("rate", 0))),
        "Activation": lambda b, l, c, cfg, x, w: _activation(b, x, cfg["activation"], l.name, c),
        "Softmax": lambda b, l, c, cfg, x, w: b.node("Softmax", l.name, [x], beta=1.0),
    }
    return {
        "Conv2D": _conv_like, "DepthwiseConv2D": _conv_like, "BatchNormalization": _batchnorm,
        "AveragePooling2D": _pool, "MaxPooling2D": _pool, "GlobalAveragePooling2D": _pool,
        "GlobalMaxPooling2D": _pool, "Dense": _dense, "ReLU": _relu_layer,
        "Flatten": _reshape, "Reshape": _reshape, "ZeroPadding2D": _padding, **simple,
    }


def graph_from_keras(model, name: str | None = None) -> Graph:
    """Convert an in-memory keras.Model (Keras 3 or tf_keras) to a float Graph."""
    b = GraphBuilder(name or model.name)
    if len(model.inputs) != 1:
        raise UnsupportedOpError("Model", model.name, f"{len(model.inputs)} inputs (edgekit supports one)")
    in_shape = tuple(model.inputs[0].shape)
    if any(d is None for d in in_shape[1:]):
        raise UnsupportedOpError("Model", model.name, f"input shape {in_shape} has unknown dimensions")
    x_in = b.input(model.inputs[0].name.split(":")[0] if hasattr(model.inputs[0], "name") else "input",
                   (1, *[int(d) for d in in_shape[1:]]))
    produced = {"__input__": x_in}
    order, outs = _wiring(model)
    for layer, srcs in order:
        produced[layer.name] = _layer(b, layer, [produced[s] for s in srcs], x_in)
    return b.build([produced[o] for o in outs], {"format": "keras", "layout": "NHWC"})


def _layer(b: GraphBuilder, layer, srcs: list[str], x_in: str) -> str:
    """One Keras layer as IR nodes; a configuration the mapping cannot read names the layer."""
    cls = type(layer).__name__
    if cls == "InputLayer":
        return x_in
    if cls == "Add":
        return b.node("Add", layer.name, srcs, activation="none")
    handlers = _handlers()
    if cls not in handlers:
        raise UnsupportedOpError(cls, layer.name)
    if len(srcs) != 1:
        raise UnsupportedOpError(cls, layer.name, f"{len(srcs)} inputs")
    try:
        return handlers[cls](b, layer, cls, layer.get_config(), srcs[0],
                             [np.asarray(v) for v in layer.get_weights()])
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, OverflowError) as e:
        # Keras accepted the layer, but with settings the mapping does not know how to read
        raise UnsupportedOpError(cls, layer.name, f"configuration not understood "
                                 f"({type(e).__name__}: {str(e)[:120]})") from None
