"""Atomic outputs: write next to the target, then rename, so an interrupted run never
leaves a half-written file (the previous file, if any, stays intact until the rename)."""
from __future__ import annotations

import contextlib
import os
import tempfile

from edgekit.errors import InputError


def check_output_parent(path: str) -> str:
    """The directory an output will be renamed into; checked before long work starts."""
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise InputError(f"output directory {d} does not exist")
    return d


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path in the target's directory; rename it over `path` on success."""
    d = check_output_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=".edgekit-", suffix=os.path.splitext(path)[1], dir=d)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes 0600; outputs get normal modes
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def load_npy(path: str, what: str):
    """A user-supplied .npy array (never pickles)."""
    import numpy as np

    if not os.path.isfile(path):
        raise InputError(f"{what} {path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{what} {path}: not a readable .npy array ({type(e).__name__})") from None


@contextlib.contextmanager
def atomic_dir(path: str):
    """Yield a fresh temporary directory beside `path`; on success it replaces `path`
    (an existing directory is swapped out and removed only after the rename)."""
    import shutil

    parent = check_output_parent(path)
    tmp = tempfile.mkdtemp(prefix=".edgekit-", dir=parent)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())   # mkdtemp makes 0700
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=".edgekit-old-", dir=parent)
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
