"""Build targets: the host (gcc) and QEMU-emulated MPS2 Cortex-M boards (arm-none-eabi-gcc)."""
from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import InputError


@dataclass(frozen=True)
class Target:
    name: str
    cc: str
    cflags: tuple[str, ...]
    qemu_machine: str | None = None
    core: str = "host"
    dsp: bool = False

    @property
    def emulated(self) -> bool:
        return self.qemu_machine is not None


_ARM = ("-mthumb", "-ffunction-sections", "-fdata-sections")
TARGETS = {
    "host": Target("host", "gcc", ()),
    "mps2-an386": Target("mps2-an386", "arm-none-eabi-gcc",
                         ("-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", *_ARM),
                         "mps2-an386", "Cortex-M4F", True),
    "mps2-an500": Target("mps2-an500", "arm-none-eabi-gcc",
                         ("-mcpu=cortex-m7", "-mfloat-abi=soft", *_ARM), "mps2-an500", "Cortex-M7", True),
    "mps2-an385": Target("mps2-an385", "arm-none-eabi-gcc",
                         ("-mcpu=cortex-m3", "-mfloat-abi=soft", *_ARM), "mps2-an385", "Cortex-M3", False),
}


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise InputError(f"unknown board '{name}'; known: {', '.join(TARGETS)}")
    return TARGETS[name]
