"""Where edgekit's own data lives, found through importlib.resources so that an installed
wheel works from any directory: the C runtime and firmware sources (`firmware/`) and the
board files (`boards/*.toml`), both shipped as package data."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _package_dir(name: str) -> Path:
    # the compiler and PlatformIO need real paths: edgekit is installed as files, not a zip
    return Path(str(files("edgekit").joinpath(name)))


FIRMWARE = _package_dir("firmware")
RUNTIME = FIRMWARE / "runtime"
BOARDS_DIR = _package_dir("boards")
