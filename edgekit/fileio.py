"""Atomic outputs: write next to the target, then rename, so an interrupted run never
leaves a half-written file (the previous file, if any, stays intact until the rename).

Temporaries are hidden and carry the writer's pid (`.edgekit-<pid>-*`): a run killed
with SIGKILL cannot remove its own, so the next run writing into the same directory
removes those whose process is gone."""
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


def _prefix() -> str:
    return f".edgekit-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale(directory: str) -> list[str]:
    """Remove temporaries left in `directory` by edgekit runs that no longer exist."""
    import re
    import shutil

    removed = []
    for name in sorted(os.listdir(directory)):
        m = re.match(r"\.edgekit-(old-)?(\d+)-(.*)", name)
        if not m or _alive(int(m.group(2))):
            continue
        p = os.path.join(directory, name)
        target = os.path.join(directory, m.group(3))
        if m.group(1) and not os.path.exists(target):
            os.replace(p, target)   # killed between its two renames: the previous output returns
            continue
        shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)
        removed.append(name)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path in the target's directory; rename it over `path` on success."""
    d = check_output_parent(path)
    remove_stale(d)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(), suffix=os.path.splitext(path)[1], dir=d)
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
    remove_stale(parent)
    tmp = tempfile.mkdtemp(prefix=_prefix(), dir=parent)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())   # mkdtemp makes 0700
        old = os.path.join(parent, f".edgekit-old-{os.getpid()}-{os.path.basename(path)}")
        try:
            if os.path.exists(path):
                os.replace(path, old)
            os.replace(tmp, path)
        except BaseException:  # interrupted between the two renames: put the old one back
            if os.path.exists(old) and not os.path.exists(path):
                os.replace(old, path)
            raise
        if os.path.exists(old):
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
