"""Retraining-free, data-free weight compression (Bin & Quant) and its codebook format.

The codebook format (codebook.py) is light and used by the code generator; the
compression driver (bin_quant.py, torch) loads on first use."""
from edgekit.compress.codebook import Codebook

_LAZY = ("CompressConfig", "CompressResult", "LayerResult", "compress_graph", "compress_to_int8")


def __getattr__(name):
    if name in _LAZY:
        from edgekit.compress import bin_quant

        return getattr(bin_quant, name)
    raise AttributeError(name)


__all__ = ["Codebook", *_LAZY]
