"""Every user-facing failure is an EdgekitError: one line, a distinct exit code.

The CLI prints ``edgekit: error: <message>`` and exits with ``exit_code``; nothing
else (no traceback) reaches the user.
"""
from __future__ import annotations


class EdgekitError(Exception):
    """Base of all errors edgekit reports to users."""

    exit_code = 1


class ModelLoadError(EdgekitError):
    """The model file is missing, truncated, corrupt or of an unknown format."""

    exit_code = 3


class UnsupportedOpError(EdgekitError):
    """The model uses an op (or an op variant) edgekit cannot handle."""

    exit_code = 4

    def __init__(self, op: str, node: str, detail: str = ""):
        self.op, self.node = op, node
        msg = f"unsupported op {op} at node '{node}'"
        super().__init__(msg + (f": {detail}" if detail else ""))


class GraphError(EdgekitError):
    """A graph failed verification at a stage boundary (an internal invariant)."""

    exit_code = 5


class InputError(EdgekitError):
    """A user-supplied input array or file does not fit the model."""

    exit_code = 2
