"""The class names the KWS firmware prints."""
from __future__ import annotations

import os

from edgekit.errors import InputError


def resolve_labels(model: str, labels: str | None, n: int) -> list[str]:
    """Class names: --labels (a comma list or a file, one per line), else MODEL's
    sidecar `<stem>.labels.txt`, else class0..N-1. Names starting with '_' are
    background classes (never reported as detections)."""
    src = labels
    if src is None:
        side = os.path.splitext(model)[0] + ".labels.txt"
        src = side if os.path.isfile(side) else None
    if src is None:
        return [f"class{i}" for i in range(n)]
    if os.path.isfile(src):
        names = [ln.strip() for ln in open(src, encoding="utf-8") if ln.strip()]
    else:
        names = [s.strip() for s in src.split(",") if s.strip()]
    if len(names) != n or any(not s.isprintable() or " " in s for s in names):
        raise InputError(f"labels: need {n} names without spaces (the model has {n} outputs), got {len(names)}")
    return names
