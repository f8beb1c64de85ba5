"""The TFLite flatbuffer schema and the tables between its enums and the IR's names:
the one place both the reader and the writer take them from."""
from __future__ import annotations


def schema():
    """The generated TFLite schema module (LiteRT's, else TensorFlow's)."""
    try:
        from ai_edge_litert import schema_py_generated as s
    except ImportError:  # pragma: no cover - depends on what the user installed
        from tensorflow.lite.python import schema_py_generated as s
    return s


# TensorType code <-> IR dtype
DTYPE_NAMES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}
DTYPE_CODES = {v: k for k, v in DTYPE_NAMES.items()}
# ActivationFunctionType code <-> IR fused activation
ACTIVATION_NAMES = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}
ACTIVATION_CODES = {v: k for k, v in ACTIVATION_NAMES.items()}
# IR op -> (builtin op, version) as the TFLite converter writes them for int8 kernels
OPCODES = {"Conv2D": ("CONV_2D", 3), "DepthwiseConv2D": ("DEPTHWISE_CONV_2D", 3),
           "FullyConnected": ("FULLY_CONNECTED", 4), "AveragePool": ("AVERAGE_POOL_2D", 2),
           "MaxPool": ("MAX_POOL_2D", 2), "Reshape": ("RESHAPE", 1), "Softmax": ("SOFTMAX", 2),
           "Add": ("ADD", 2), "Pad": ("PAD", 2), "Quantize": ("QUANTIZE", 2),
           "Dequantize": ("DEQUANTIZE", 2)}


def op_names() -> dict[int, str]:
    """BuiltinOperator code -> name."""
    s = schema()
    return {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
