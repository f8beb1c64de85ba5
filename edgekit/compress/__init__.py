"""Retraining-free, data-free weight compression (Bin & Quant) and its codebook format."""
from edgekit.compress.bin_quant import CompressConfig, CompressResult, LayerResult, compress_graph
from edgekit.compress.codebook import Codebook

__all__ = ["Codebook", "CompressConfig", "CompressResult", "LayerResult", "compress_graph"]
