"""Bin & Quant driver invariants on the sample DS-CNN (small synthetic set, loose budget so
each layer takes its first binning: fast)."""
import numpy as np
import pytest

from edgekit.compress import Codebook, CompressConfig, compress_graph
from edgekit.compress.bin_quant import assign, bin_codes, initial_edges, kmeans_1d
from edgekit.importers import load_model
from edgekit.quant.ptq import quantize_graph
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def kws_float():
    return load_model(str(SAMPLES / "kws_ref_model.keras"))


def test_initial_edges_are_mean_and_std():
    u = np.random.default_rng(0).normal(2.0, 10.0, 5000)
    e = initial_edges(u)
    assert e[0] == u.min() and e[-1] == u.max()
    np.testing.assert_allclose(e[1:4], [u.mean() - u.std(), u.mean(), u.mean() + u.std()])
    codes, cidx = bin_codes(u, assign(u, e), e)
    assert len(codes) == 4 and np.all(np.diff(codes) > 0)


def test_kmeans_edges_sorted():
    u = np.random.default_rng(1).laplace(0, 20, 4000).clip(-127, 127)
    e = kmeans_1d(u, 6)
    assert len(e) == 7 and np.all(np.diff(e) > 0)


@pytest.mark.parametrize("gptq,refine", [(False, 0), (True, 0), (True, 100)])
def test_compressed_weights_are_codes_times_scales(kws_float, gptq, refine):
    x = np.random.default_rng(0).normal(size=(16, 49, 10, 1)).astype(np.float32)
    r = compress_graph(kws_float, x, CompressConfig(max_drop=100.0, gptq=gptq, refine_steps=refine),
                       show_progress=False)
    # learned rounding never leaves a layer's output further from the float layer's
    assert all(bool(L.rounding) == bool(refine) for L in r.layers)
    assert all(L.rounding["mse_after"] <= L.rounding["mse_before"] for L in r.layers if refine)
    assert len(r.layers) == 10 and all(L.kind == "codebook" for L in r.layers)
    q = quantize_graph(r.graph, x, fixed=r.fixed)
    for L in r.layers:
        wq = q.tensor(L.weight).data
        cb = Codebook.of(wq)
        assert cb is not None and cb.codes == L.codes and cb.bits == L.bits <= 2
        # the float graph's weights are exactly scale_c * code (what PTQ then keeps)
        w = r.graph.tensor(L.weight).data.astype(np.float64)
        s = np.asarray(q.tensor(L.weight).quant.scale, np.float64)
        axis = {"Conv2D": 0, "DepthwiseConv2D": 3, "FullyConnected": None}[L.op]
        shape = [1] * w.ndim
        if axis is not None:
            shape[axis] = -1
        np.testing.assert_allclose(w, wq * s.reshape(shape) if axis is not None else wq * s[0], rtol=1e-6, atol=1e-9)
