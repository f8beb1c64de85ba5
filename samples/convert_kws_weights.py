"""Build samples/kws_ref_model.pt2 from the Keras reference weights.

usage: python samples/convert_kws_weights.py [KERAS_MODEL] [OUT.pt2]
Copies every Keras weight into samples/dscnn.py's DSCNN (transposing HWIO kernels to
PyTorch's OIHW), checks the two models agree on random inputs, and saves the module
with torch.export.save (the format `edgekit` reads for PyTorch).
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dscnn import DSCNN, example_input  # noqa: E402


def _keras_layers(path: str):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    model = keras.models.load_model(path, compile=False)
    kinds = ("Conv2D", "DepthwiseConv2D", "BatchNormalization", "Dense")
    return model, [l for l in model.layers if type(l).__name__ in kinds]


def _torch_layers(net: DSCNN):
    kinds = (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)
    return [m for m in net.modules() if isinstance(m, kinds)]


def _copy(k_layer, t_layer) -> None:
    w = [torch.from_numpy(np.asarray(v, np.float32)) for v in k_layer.get_weights()]
    kind = type(k_layer).__name__
    with torch.no_grad():
        if kind == "Conv2D":            # HWIO -> OIHW
            t_layer.weight.copy_(w[0].permute(3, 2, 0, 1))
            t_layer.bias.copy_(w[1])
        elif kind == "DepthwiseConv2D":  # HW,C,M -> C*M,1,H,W
            kh, kw, c, m = w[0].shape
            t_layer.weight.copy_(w[0].reshape(kh, kw, c * m).permute(2, 0, 1).unsqueeze(1))
            t_layer.bias.copy_(w[1])
        elif kind == "BatchNormalization":
            for dst, src in zip((t_layer.weight, t_layer.bias, t_layer.running_mean,
                                 t_layer.running_var), w):
                dst.copy_(src)
        else:                            # Dense: [in, out] -> [out, in]
            t_layer.weight.copy_(w[0].T)
            t_layer.bias.copy_(w[1])


def convert(keras_path: str, out_path: str) -> float:
    k_model, k_layers = _keras_layers(keras_path)
    net = DSCNN().eval()
    t_layers = _torch_layers(net)
    assert len(k_layers) == len(t_layers), (len(k_layers), len(t_layers))
    for k, t in zip(k_layers, t_layers):
        _copy(k, t)
    x = np.random.default_rng(0).normal(0, 20, (16, 49, 10, 1)).astype(np.float32)
    ref = k_model.predict(x, verbose=0)
    with torch.no_grad():
        got = net(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    err = float(np.abs(ref - got).max())
    assert err < 1e-4, f"converted model differs from Keras by {err}"
    ep = torch.export.export(net, (example_input(),))
    torch.export.save(ep, out_path)
    return err


if __name__ == "__main__":
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "kws_ref_model.keras")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "kws_ref_model.pt2")
    print(f"max |keras - torch| = {convert(src, dst):.2e}; wrote {dst}")
