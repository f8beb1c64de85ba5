"""Silence what native libraries (TensorFlow's absl logging, TFLM) print on fd 2.

TensorFlow writes 'All log messages before absl::InitializeLog()...' and CUDA probes
straight to the process's stderr from C++, whatever TF_CPP_MIN_LOG_LEVEL says; users of
a CLI that promises one-line errors must not see them. Python-level errors are not
affected: they are raised, not printed, inside the block.
"""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_native_stderr():
    if os.environ.get("EDGEKIT_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
