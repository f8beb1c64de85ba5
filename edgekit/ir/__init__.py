"""The graph IR every stage works on (NHWC activations)."""
from edgekit.ir.graph import Graph, Node, QuantParams, Tensor
from edgekit.ir.ops import OPS, ACTIVATIONS

__all__ = ["Graph", "Node", "QuantParams", "Tensor", "OPS", "ACTIVATIONS"]
