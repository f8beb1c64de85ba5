"""Boards: one TOML file each in boards/ (core, FPU/DSP, clock, flash, RAM, front end,
audio source, emulator, PlatformIO platform/board/framework)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import InputError

BOARDS_DIR = Path(__file__).resolve().parent.parent.parent / "boards"


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    fpu: bool
    dsp: bool
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    frontend: str            # "float" (FPU) or "fixed" (integer only)
    audio: str
    pio_platform: str
    pio_board: str
    pio_framework: str
    emulator: str | None = None   # QEMU machine, for emulated boards
    path: str = ""

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "path"}


def _parse(path: Path) -> Board:
    try:
        d = tomllib.loads(path.read_text())
        pio = d.get("platformio", {})
        b = Board(d["name"], d["description"], d["core"], bool(d["fpu"]), bool(d["dsp"]),
                  int(d["clock_hz"]), int(d["flash_bytes"]), int(d["ram_bytes"]), d["frontend"],
                  d["audio"], pio["platform"], pio["board"], pio.get("framework", ""),
                  d.get("emulator"), str(path))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, OSError) as e:
        raise InputError(f"board file {path}: invalid ({type(e).__name__}: {e})") from None
    if b.frontend not in ("float", "fixed"):
        raise InputError(f"board file {path}: frontend must be 'float' or 'fixed', not '{b.frontend}'")
    if b.frontend == "float" and not b.fpu:
        raise InputError(f"board file {path}: the float front end needs an FPU (fpu = true)")
    return b


def list_boards() -> list[Board]:
    return [_parse(p) for p in sorted(BOARDS_DIR.glob("*.toml"))]


def get_board(name: str) -> Board:
    """A board by name, or a path to a board TOML file (custom boards)."""
    p = Path(name)
    if p.suffix == ".toml":
        if not p.is_file():
            raise InputError(f"board file {name}: no such file")
        return _parse(p)
    boards = {b.name: b for b in list_boards()}
    if name not in boards:
        raise InputError(f"unknown board '{name}'; known: {', '.join(boards)} (or a path to a .toml "
                         "board file; `edgekit boards` lists them)")
    return boards[name]
