"""Model importers: Keras, PyTorch (torch.export) and TFLite -> float or int8 Graph.

``load_model(path)`` picks the importer by extension and content; importers for
in-memory models are ``graph_from_keras`` and ``graph_from_torch``.
"""
from __future__ import annotations

import hashlib
import io
import os
import zipfile

from edgekit.errors import ModelLoadError
from edgekit.ir import Graph

FORMATS = {".tflite": "tflite", ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".pt2": "torch"}


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
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ModelLoadError(f"{path}: corrupt or truncated archive ({e})") from None
    if bad is not None:
        raise ModelLoadError(f"{path}: corrupt archive (member '{bad}' fails its checksum)")


def load_model(path: str) -> Graph:
    """Import a model file into the IR. Raises ModelLoadError / UnsupportedOpError."""
    data = _read(path)
    fmt = sniff_format(path, data[:16])
    name = os.path.splitext(os.path.basename(path))[0]
    if data[:2] == b"PK":
        _check_zip(path, data)
    if fmt == "tflite":
        from edgekit.frontends.tflite import graph_from_tflite_bytes
        g = graph_from_tflite_bytes(data, path, name)
    elif fmt == "keras":
        from edgekit.frontends.keras import graph_from_keras, load_keras_file
        g = graph_from_keras(load_keras_file(path), name)
    else:
        from edgekit.frontends.torch import graph_from_pt2_file
        g = graph_from_pt2_file(path, name)
    meta = dict(g.meta, source=os.path.abspath(path), sha256=hashlib.sha256(data).hexdigest())
    return g.replace(meta=meta)
