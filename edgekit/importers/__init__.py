"""Model importers: Keras, PyTorch (torch.export), TF1 frozen graphs (.pb) and TFLite ->
float or int8 Graph.

``load_model(path)`` picks the importer by extension and content; importers for
in-memory models are ``graph_from_keras`` and ``graph_from_torch``.
"""
from __future__ import annotations

import hashlib
import io
import os
import zipfile

from edgekit.errors import GraphError, InputError, ModelLoadError
from edgekit.ir import Graph

FORMATS = {".tflite": "tflite", ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".pt2": "torch", ".pb": "tf1"}


def _read(path: str) -> bytes:
    if not os.path.exists(path):
        raise ModelLoadError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ModelLoadError(f"{path}: is a directory, expected a model file "
                             f"({', '.join(sorted(FORMATS))})")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ModelLoadError(f"{path}: cannot read ({e.strerror})") from None
    if not data:
        raise ModelLoadError(f"{path}: empty file")
    return data


def sniff_format(path: str, head: bytes) -> str:
    """Format from the extension, checked against the file's magic bytes."""
    ext = os.path.splitext(path)[1].lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise ModelLoadError(f"{path}: unknown model format '{ext or '(no extension)'}'; "
                             f"expected one of {', '.join(sorted(FORMATS))}")
    if len(head) < 8:
        raise ModelLoadError(f"{path}: truncated {ext} file ({len(head)} bytes)")
    magic = {"tflite": head[4:8] == b"TFL3",
             "tf1": True,            # a GraphDef has no magic: validated by parsing it

             "torch": head[:2] == b"PK",
             "keras": head[:2] == b"PK" if ext == ".keras" else head[:8] == b"\x89HDF\r\n\x1a\n"}
    if not magic[fmt]:
        kind = "zip archive" if ext in (".keras", ".pt2") else ("HDF5 file" if fmt == "keras" else "TFLite flatbuffer")
        raise ModelLoadError(f"{path}: not a valid {ext} file (expected a {kind}; "
                             "the file is corrupt or has the wrong extension)")
    return fmt


def _check_zip(path: str, data: bytes) -> None:
    """.keras and .pt2 are zip archives: catch truncation before the framework does."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            bad = z.testzip()
    except Exception as e:  # zipfile raises many types (NotImplementedError, zlib.error, ...)
        raise ModelLoadError(f"{path}: corrupt or truncated archive "
                             f"({type(e).__name__}: {str(e)[:200]})") from None
    if bad is not None:
        raise ModelLoadError(f"{path}: corrupt archive (member '{bad}' fails its checksum)")


def _import(fmt: str, data: bytes, path: str, name: str) -> Graph:
    if fmt == "tflite":
        from edgekit.tflite import graph_from_tflite_bytes
        return graph_from_tflite_bytes(data, path, name)
    if fmt == "tf1":
        from edgekit.importers.tf1 import graph_from_pb_bytes
        return graph_from_pb_bytes(data, path, name)
    if fmt == "keras":
        from edgekit.importers.h5probe import probe
        from edgekit.importers.keras import graph_from_keras, load_keras_file
        if data[:2] == b"PK":  # .keras: the weights are an HDF5 file inside the zip
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for member in z.namelist():
                    if member.endswith(".h5"):
                        probe(path, member)
        else:
            probe(path)
        return graph_from_keras(load_keras_file(path), name)
    from edgekit.importers.torch import graph_from_pt2_file
    return graph_from_pt2_file(path, name)


def check_shapes(g: Graph) -> None:
    """edgekit compiles one inference at a time on tensors of rank <= 4 (NHWC)."""
    from edgekit.errors import UnsupportedOpError

    for name in g.inputs:
        shape = g.tensor(name).shape
        if not shape or shape[0] != 1:
            raise UnsupportedOpError("Model", g.name, f"input '{name}' has shape {list(shape)}: "
                                     "batch size 1 only (re-export the model with batch size 1)")
    for name, t in g.tensors.items():
        if len(t.shape) > 4:
            raise UnsupportedOpError("Model", g.name, f"tensor '{name}' has rank {len(t.shape)} "
                                     f"({list(t.shape)}); edgekit supports up to 4 (NHWC)")


def check_values(g: Graph, path: str) -> None:
    """Numbers no trained model holds: NaN/Inf in a float constant (a diverged or corrupt
    model would quantize to garbage without a word), a negative BatchNorm variance, or
    one with var + eps = 0 (the normalization divides by its square root). A zero
    variance with eps > 0 is legal: a pruned channel's output is constant."""
    import numpy as np

    for name, t in g.tensors.items():
        if t.data is not None and t.data.dtype.kind == "f" and not np.isfinite(t.data).all():
            bad = int((~np.isfinite(t.data)).sum())
            raise ModelLoadError(f"{path}: constant '{name}' holds {bad} NaN/Inf value(s) "
                                 "(a diverged or corrupt model)")
    for n in g.nodes:
        if n.op != "BatchNorm":
            continue
        var = g.tensor(n.inputs[4]).data.astype(np.float64)
        eps = float(n.attr("eps", 1e-3))
        bad = np.flatnonzero((var < 0) | (var + eps <= 0))
        if bad.size:
            c = int(bad[0])
            raise ModelLoadError(f"{path}: BatchNorm '{n.name}' channel {c} has running variance "
                                 f"{var[c]:g} (eps {eps:g}): a variance must be >= 0 and "
                                 "variance + eps > 0 (corrupt statistics)")


def load_model(path: str) -> Graph:
    """Import a model file into the IR. Raises ModelLoadError / UnsupportedOpError."""
    data = _read(path)
    fmt = sniff_format(path, data[:16])
    name = os.path.splitext(os.path.basename(path))[0]
    if data[:2] == b"PK":
        _check_zip(path, data)
    try:
        g = _import(fmt, data, path, name)
    except GraphError as e:  # the framework loaded it, but its shapes do not fit together
        raise ModelLoadError(f"{path}: the model does not form a valid graph: {e}") from None
    check_shapes(g)
    check_values(g, path)
    meta = dict(g.meta, source=os.path.abspath(path), sha256=hashlib.sha256(data).hexdigest())
    return g.replace(meta=meta)


def load_int8_model(model: str) -> Graph:
    """An int8 model (for codegen, run, profile); a float one is refused with the fix."""
    from edgekit.ir.summary import is_quantized

    graph = load_model(model)
    if not is_quantized(graph):
        raise InputError(f"{model} is a float model; quantize it first "
                         f"(edgekit quantize {model} --data-free -o model_int8.tflite)")
    return graph
