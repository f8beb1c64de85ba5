"""The board registry: one TOML file per board in this folder, and nothing else.

A board file names the core, FPU and DSP, clock, flash and RAM, the audio front end and
source, and how the board is run: `emulator` (a QEMU machine), a `[platformio]` section
(a firmware build), both, or neither (`host`: this machine's gcc). A board built with
edgekit's own bare-metal platform (`platform = "edgekit-baremetal"`: every emulated board,
and every real board by default) also gives its memory map, `flash_origin` and
`ram_origin` (with flash_bytes and ram_bytes): edgekit's linker script is filled in from
them, and its clock_hz is the clock its board support code programs. A real board names
that code with `soc` (edgekit/firmware/baremetal/soc/ek_<soc>.c: clock tree, UART,
microphone); an emulated board may name one too (`emulated_soc`: a real SoC in QEMU,
whose deployed firmware is that board support with serial PCM in, not semihosting). A
real board may keep PlatformIO's Arduino build for users online in an `[arduino]`
section (`platform`, `board`: a second environment, `pio run -e <name>_arduino`; `pdm = true`
where the Arduino core has a PDM library, else that build reads serial PCM). `flash_wait_states`
(optional, default 0: the MPS2 boards' code memory is SRAM) is the flash read latency at the
board's clock, for the cycle estimate (edgekit/toolchain/profile.py). `emulator_fpu`
(optional) says that the QEMU machine executes FPU instructions although the board's own
builds do not use them: deploy's real-time probe may then count a real board's
hard-float firmware on it. Every command that
takes `--board` (run, profile, deploy, boards) reads it from here, or from a path to a
user's own .toml; compiler flags and PlatformIO board files are derived from it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import InputError
from edgekit.resources import BOARDS_DIR, FIRMWARE

LOCAL_PLATFORM = "edgekit-baremetal"   # edgekit/firmware/platformio/edgekit-baremetal: offline
SOC_DIR = FIRMWARE / "baremetal" / "soc"   # real boards' clock tree, UART and microphone code

# Per core: gcc's -mcpu, the FPU it can have (-mfpu), whether it can have the DSP extension.
_CORES = {
    "cortex-m0": ("cortex-m0", None, False),
    "cortex-m0plus": ("cortex-m0plus", None, False),
    "cortex-m3": ("cortex-m3", None, False),
    "cortex-m4": ("cortex-m4", "fpv4-sp-d16", True),
    "cortex-m7": ("cortex-m7", "fpv5-d16", True),
    "cortex-m33": ("cortex-m33", "fpv5-sp-d16", True),
}
HOST = "host"
FRONTENDS = ("float", "fixed")   # the audio front end's arithmetic: FPU or integer only
# Where a bare-metal board's PDM microphone is decimated to 16 kHz PCM: by the SoC
# ("hardware"), by edgekit's decimator (ek_pdm.c) in the audio interrupt on the core that
# also runs the model ("software": its cycles count in deploy's real-time plan), or on a
# second core ("software-core1": the RP2040's core 1).
PDM_DECIMATION = ("hardware", "software", "software-core1")


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str                # "host" or a key of _CORES
    fpu: bool = False
    dsp: bool = False
    clock_hz: int = 0
    flash_bytes: int = 0
    ram_bytes: int = 0
    frontend: str = "float"  # "float" (FPU) or "fixed" (integer only)
    audio: str = ""
    pio_platform: str = ""   # empty: no firmware build (host)
    pio_board: str = ""
    pio_framework: str = ""
    emulator: str | None = None   # QEMU machine, for emulated boards
    flash_origin: int = 0    # emulated boards: where flash (vector table, code) and RAM start
    ram_origin: int = 0
    flash_wait_states: int = 0    # flash read wait states at clock_hz (cycle estimate only)
    emulator_fpu: bool = False    # the QEMU machine also runs FPU code this board's builds do not use
    soc: str = ""            # real boards on the local platform: baremetal/soc/ek_<soc>.c
    pdm_decimation: str = ""      # a PDM microphone's PDM -> PCM: one of PDM_DECIMATION
    arduino_platform: str = ""    # optional Arduino-framework build (needs the PlatformIO registry)
    arduino_board: str = ""
    arduino_pdm: bool = False     # the Arduino build reads the microphone (the core's PDM library)
    path: str = ""

    @property
    def baremetal(self) -> bool:
        """Built by edgekit's own platform (offline), not a PlatformIO registry platform."""
        return self.pio_platform == LOCAL_PLATFORM

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    @property
    def emulated_soc(self) -> bool:
        """A real SoC in QEMU (netduinoplus2): `deploy` builds its bare-metal board support
        (ek_<soc>.c, ek_board.c) and feeds the wavs over the UART (edgekit.deploy.serial_host);
        `run`, `profile` and the direct builds still use semihosting."""
        return self.emulated and bool(self.soc)

    @property
    def is_host(self) -> bool:
        return self.core == HOST

    @property
    def cc(self) -> str:
        return "gcc" if self.is_host else "arm-none-eabi-gcc"

    @property
    def cflags(self) -> tuple[str, ...]:
        """gcc flags for the core, derived from core, FPU and DSP."""
        if self.is_host:
            return ()
        mcpu, fpu, _ = _CORES[self.core]
        if self.core == "cortex-m33" and not self.dsp:
            mcpu += "+nodsp"
        float_abi = ("-mfloat-abi=hard", f"-mfpu={fpu}") if self.fpu else ("-mfloat-abi=soft",)
        return (f"-mcpu={mcpu}", *float_abi, "-mthumb", "-ffunction-sections", "-fdata-sections")

    @property
    def core_label(self) -> str:
        """'Cortex-M4F' style, for reports."""
        if self.is_host:
            return "host"
        label = self.core.replace("cortex-m", "Cortex-M").replace("plus", "+")
        return label + ("F" if self.fpu else "")

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "path"}


def require_runnable(board: Board, what: str) -> None:
    """`run` and the self-checks execute on the host or in QEMU only."""
    if not (board.is_host or board.emulated):
        raise InputError(f"{board.name} is a real board: {what} runs on the host or an emulated board "
                         f"({', '.join(b.name for b in list_boards() if b.is_host or b.emulated)})")


def require_emulated(board: Board, what: str) -> None:
    if not board.emulated:
        raise InputError(f"{what} counts instructions in QEMU: needs an emulated board "
                         f"({', '.join(b.name for b in list_boards() if b.emulated)}), not {board.name}")


def require_firmware(board: Board) -> None:
    if not board.pio_platform:
        why = f"{board.name} has no firmware build (no [platformio] section)"
        if board.emulated:   # an emulated core for run / profile only (e.g. mps2-an505, microbit)
            raise InputError(f"{why}: deploy needs a board with one "
                             f"({', '.join(b.name for b in list_boards() if b.pio_platform)}); "
                             f"`edgekit run` and `edgekit profile` take {board.name}")
        raise InputError(f"{why}: deploy needs a microcontroller board; `edgekit run --board host` "
                         "runs a model here")


_TYPES = {"name": str, "description": str, "core": str, "fpu": bool, "dsp": bool, "clock_hz": int,
          "flash_bytes": int, "ram_bytes": int, "frontend": str, "audio": str, "emulator": str,
          "flash_origin": int, "ram_origin": int, "flash_wait_states": int, "emulator_fpu": bool,
          "soc": str, "pdm_decimation": str}
_MEMORY_MAP = ("flash_origin", "ram_origin")   # required on the local platform: the linker script's MEMORY


def _field(path: Path, d: dict, key: str, required: bool):
    if key not in d:
        if required:
            raise InputError(f"board file {path}: missing field '{key}'")
        return None
    v, t = d[key], _TYPES[key]
    if not isinstance(v, t) or (t is int and isinstance(v, bool)):
        raise InputError(f"board file {path}: field '{key}' must be {t.__name__}, got {v!r}")
    return v


def _parse(path: Path) -> Board:
    try:
        d = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        raise InputError(f"board file {path}: not valid TOML ({e})") from None
    core = _field(path, d, "core", True)
    if core != HOST and core not in _CORES:
        raise InputError(f"board file {path}: unknown core '{core}'; known: {HOST}, {', '.join(_CORES)}")
    mcu = core != HOST
    optional = ("emulator", *_MEMORY_MAP, "flash_wait_states", "emulator_fpu", "soc", "pdm_decimation")
    pio, arduino = d.get("platformio", {}), d.get("arduino", {})
    local = isinstance(pio, dict) and pio.get("platform") == LOCAL_PLATFORM
    if mcu and "emulator" not in d and not pio:
        raise InputError(f"board file {path}: a board needs an 'emulator' (QEMU machine) or a "
                         "[platformio] section")
    f = {k: _field(path, d, k, k in ("name", "description") or (mcu and k not in optional)
                   or (mcu and ("emulator" in d or local) and k in _MEMORY_MAP)
                   or (local and "emulator" not in d and k == "soc"))
         for k in _TYPES if k != "core"}
    if not isinstance(pio, dict) or any(not isinstance(pio.get(k, ""), str) for k in ("platform", "board", "framework")) \
            or (pio and not (pio.get("platform") and pio.get("board"))):
        raise InputError(f"board file {path}: [platformio] needs 'platform' and 'board' strings "
                         "('framework' optional)")
    if not isinstance(arduino, dict) or (arduino and not all(isinstance(arduino.get(k), str) and arduino[k]
                                                             for k in ("platform", "board"))) \
            or not isinstance(arduino.get("pdm", False), bool):
        raise InputError(f"board file {path}: [arduino] needs 'platform' and 'board' strings ('pdm' "
                         "optional, true or false)")
    b = Board(core=core, **{k: v for k, v in f.items() if v is not None}, pio_platform=pio.get("platform", ""),
              pio_board=pio.get("board", ""), pio_framework=pio.get("framework", ""),
              arduino_platform=arduino.get("platform", ""), arduino_board=arduino.get("board", ""), arduino_pdm=arduino.get("pdm", False), path=str(path))
    _check(path, b)
    return b


def _check(path: Path, b: Board) -> None:
    if b.is_host:
        return
    _, fpu, dsp = _CORES[b.core]
    if b.fpu and fpu is None:
        raise InputError(f"board file {path}: {b.core} has no FPU (fpu = false)")
    if b.dsp and not dsp:
        raise InputError(f"board file {path}: {b.core} has no DSP extension (dsp = false)")
    if b.frontend not in FRONTENDS:
        raise InputError(f"board file {path}: frontend must be 'float' or 'fixed', not '{b.frontend}'")
    if b.frontend == "float" and not b.fpu:
        raise InputError(f"board file {path}: the float front end needs an FPU (fpu = true)")
    for key in ("clock_hz", "flash_bytes", "ram_bytes"):
        if getattr(b, key) <= 0:
            raise InputError(f"board file {path}: {key} must be > 0")
    if b.soc and not (SOC_DIR / f"ek_{b.soc}.c").is_file():
        raise InputError(f"board file {path}: soc '{b.soc}' has no board support code "
                         f"(known: {', '.join(sorted(p.stem[3:] for p in SOC_DIR.glob('ek_*.c')))})")
    if b.pdm_decimation not in ("", *PDM_DECIMATION):
        raise InputError(f"board file {path}: pdm_decimation must be one of {', '.join(PDM_DECIMATION)}, "
                         f"not '{b.pdm_decimation}'")
    if b.soc and b.audio.startswith("pdm") and not b.pdm_decimation:
        raise InputError(f"board file {path}: a PDM microphone needs pdm_decimation "
                         f"({', '.join(PDM_DECIMATION)})")
    if not 0 <= b.flash_wait_states <= 15:
        raise InputError(f"board file {path}: flash_wait_states must be 0..15, got {b.flash_wait_states}")
    for mem in ("flash", "ram"):
        origin, size = getattr(b, f"{mem}_origin"), getattr(b, f"{mem}_bytes")
        if origin < 0 or origin % 4 or origin + size > 1 << 32:
            raise InputError(f"board file {path}: {mem}_origin must be a word-aligned address with "
                             f"{mem}_origin + {mem}_bytes <= 0x100000000, got {origin:#x} + {size}")


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
