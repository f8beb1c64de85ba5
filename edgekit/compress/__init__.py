"""Retraining-free, data-free weight compression (Bin & Quant) and its codebook format.

The codebook format (codebook.py) is light and used by the code generator; the
compression driver (bin_quant.py, torch) loads on first use."""
from edgekit.compress.codebook import Codebook

# What `edgekit deploy` compresses with unless told otherwise: k-means at equal bytes beat
# Bin & Quant's greedy splitting on the sample (README, Status), so deploy uses it.
DEPLOY_METHOD = "kmeans"
DEPLOY_BINS = 8
MAX_DROP = 3.0     # Bin & Quant's default budget: points of top-1 agreement (CompressConfig.max_drop)

_LAZY = ("CompressConfig", "CompressResult", "LayerResult", "compress_graph", "compress_to_int8")


def __getattr__(name):
    if name in _LAZY:
        from edgekit.compress import bin_quant

        return getattr(bin_quant, name)
    raise AttributeError(name)


def deploy_config():
    """The CompressConfig `edgekit deploy` uses by default (its CLI defaults agree)."""
    from edgekit.compress.bin_quant import CompressConfig

    return CompressConfig(method=DEPLOY_METHOD, bins={"*": DEPLOY_BINS})


__all__ = ["Codebook", "DEPLOY_BINS", "DEPLOY_METHOD", "MAX_DROP", "deploy_config", *_LAZY]
