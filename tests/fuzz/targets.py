"""Fuzz targets: every parser of untrusted input, fed arbitrary bytes.

Each target takes one input (bytes) and runs edgekit's own entry point on it, exactly as
`edgekit inspect` / `deploy --wav` would. Contract: the call returns or raises an
EdgekitError; anything else (another exception, a hang, a crash) is a bug.

- tflite:        the bytes are a .tflite file (flatbuffer reader -> IR -> verify)
- wav:           the bytes are a .wav file (read_wav)
- keras_archive: the bytes are a .keras file (zip check, Keras load, importer)
- keras_config:  the bytes are the config.json inside a valid .keras archive (the
                 importer's wrapper around Keras deserialization)
- h5:            the bytes are a legacy .h5 Keras file
- pt2_archive:   the bytes are a .pt2 file (zip check, torch.export.load, importer)
- pt2_model:     the bytes are models/model.json inside a valid .pt2 archive
"""
from __future__ import annotations

import atexit
import functools
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

SEEDS = Path(__file__).resolve().parent / "seeds"


@functools.cache
def _tmp() -> Path:
    """Where file-based targets write their input: the runner's work directory
    (EDGEKIT_FUZZ_TMP; libFuzzer exits without Python's atexit, so the runner owns the
    cleanup), else a temporary directory removed at exit. Made on first use only."""
    if os.environ.get("EDGEKIT_FUZZ_TMP"):
        return Path(os.environ["EDGEKIT_FUZZ_TMP"])
    d = tempfile.mkdtemp(prefix="edgekit-fuzz-")
    atexit.register(shutil.rmtree, d, True)
    return Path(d)


def _as_file(data: bytes, name: str) -> str:
    p = _tmp() / name
    p.write_bytes(data)
    return str(p)


def _load(data: bytes, name: str):
    from edgekit.importers import load_model
    return load_model(_as_file(data, name))


def _rezip(seed: str, member_suffix: str, data: bytes) -> bytes:
    """The seed archive with one member replaced by `data` (valid zip, valid CRCs)."""
    out = io.BytesIO()
    with zipfile.ZipFile(SEEDS / seed) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = data if info.filename.endswith(member_suffix) else src.read(info)
            dst.writestr(info, body)
    return out.getvalue()


def member(seed: str, member_suffix: str) -> bytes:
    with zipfile.ZipFile(SEEDS / seed) as z:
        name = next(n for n in z.namelist() if n.endswith(member_suffix))
        return z.read(name)


def tflite(data: bytes) -> None:
    from edgekit.tflite import graph_from_tflite_bytes
    graph_from_tflite_bytes(data, "fuzz.tflite", "fuzz")


def wav(data: bytes) -> None:
    from edgekit.audio import read_wav
    read_wav(_as_file(data, "fuzz.wav"))


def keras_archive(data: bytes) -> None:
    _load(data, "fuzz.keras")


def keras_config(data: bytes) -> None:
    _load(_rezip("tiny.keras", "config.json", data), "fuzz.keras")


def h5(data: bytes) -> None:
    _load(data, "fuzz.h5")


def pt2_archive(data: bytes) -> None:
    _load(data, "fuzz.pt2")


def pt2_model(data: bytes) -> None:
    _load(_rezip("tiny.pt2", "models/model.json", data), "fuzz.pt2")


def canary(data: bytes) -> None:
    """A deliberately buggy parser: the harness must report its ValueError as a finding."""
    if data[:1] == b"B":
        raise ValueError("canary: the fuzzer found the planted bug")


# target -> (function, seed inputs)
TARGETS = {
    "tflite": (tflite, lambda: [(SEEDS / f).read_bytes() for f in ("tiny_float.tflite", "tiny_int8.tflite")]),
    "wav": (wav, lambda: [(SEEDS / f).read_bytes() for f in ("tone.wav", "noise.wav")]),
    "keras_archive": (keras_archive, lambda: [(SEEDS / "tiny.keras").read_bytes()]),
    "keras_config": (keras_config, lambda: [member("tiny.keras", "config.json")]),
    "h5": (h5, lambda: [(SEEDS / "tiny.h5").read_bytes()]),
    "pt2_archive": (pt2_archive, lambda: [(SEEDS / "tiny.pt2").read_bytes()]),
    "pt2_model": (pt2_model, lambda: [member("tiny.pt2", "models/model.json")]),
    "canary": (canary, lambda: [b"A"]),
}
