"""Read a whole HDF5 file in a child process before Keras touches it.

The HDF5 C library can hang or crash on a corrupt file (found by fuzzing: a flipped byte
in a symbol table made reading an attribute spin forever), and neither can be stopped
from Python in the same process. So every attribute and dataset of a .h5 file (or of the
model.weights.h5 inside a .keras archive) is read once in a child with a time and memory
limit; only a file that reads cleanly goes on to Keras.

usage (internal): python -m edgekit.importers.h5probe FILE [ZIP_MEMBER]
"""
from __future__ import annotations

import os
import subprocess
import sys

from edgekit.errors import ModelLoadError

TIMEOUT_S = float(os.environ.get("EDGEKIT_H5_TIMEOUT", 20))  # tests shorten it
_MAX_BYTES = 1 << 30  # no microcontroller model has a 1 GB weight; refuse before reading


def probe(path: str, member: str | None = None, timeout: float = TIMEOUT_S) -> None:
    """Raise ModelLoadError unless the HDF5 data reads completely in a child process."""
    cmd = [sys.executable, "-m", "edgekit.importers.h5probe", path, *([member] if member else [])]
    what = f"{path}{f' ({member})' if member else ''}"
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ModelLoadError(f"{what}: corrupt HDF5 data (reading it did not finish in "
                             f"{timeout:g} s)") from None
    if r.returncode < 0:
        raise ModelLoadError(f"{what}: corrupt HDF5 data (its reader crashed with signal {-r.returncode})")
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["unreadable"])[-1]
        raise ModelLoadError(f"{what}: corrupt HDF5 data ({last[:200]})")


def _read_all(f) -> None:
    import h5py

    def visit(_name, obj):
        for k in obj.attrs:
            obj.attrs[k]
        if isinstance(obj, h5py.Dataset):
            if obj.size * obj.dtype.itemsize > _MAX_BYTES:
                raise ValueError(f"dataset {obj.name} claims {obj.size} elements")
            obj[()]

    for k in f.attrs:
        f.attrs[k]
    f.visititems(visit)


def _main(argv: list[str]) -> int:
    import io
    import resource
    import zipfile

    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    try:
        import h5py

        if len(argv) > 2:
            with zipfile.ZipFile(argv[1]) as z:
                src = io.BytesIO(z.read(argv[2]))
        else:
            src = argv[1]
        with h5py.File(src, "r") as f:
            _read_all(f)
    except Exception as e:  # the child's only job is to say whether the file reads
        print(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
