"""Per-layer instruction counts on an emulated core, plus flash and RAM, for one model.

Counts are exact and repeatable: QEMU's TCG runs the firmware and the project's own
plugin (edgekit/firmware/qemu_plugin) adds up executed guest instructions, recording the count
at each layer marker. QEMU models no cycles: instructions are the measure, not time.
Flash and static RAM come from `arm-none-eabi-size` of the linked ELF; stack from
gcc's -fstack-usage (deepest call chain main -> invoke -> kernel).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgekit.boards import Board
from edgekit.codegen.emit import generate
from edgekit.errors import EdgekitError
from edgekit.ir import Graph
from edgekit.ir.summary import summarize
from edgekit.resources import FIRMWARE, RUNTIME
from edgekit.toolchain.cbuild import ToolchainError, build, need_tool, run_program


def build_plugin(workdir: Path) -> Path:
    cc = need_tool("gcc", "gcc")
    out = workdir / "libekcount.so"
    src = FIRMWARE / "qemu_plugin" / "ek_insn_count.c"
    r = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(out), str(src)],
                       capture_output=True, text=True)
    if r.returncode:
        raise ToolchainError(f"cannot build the QEMU counting plugin: {r.stderr.strip()[:200]}")
    return out


def counting_plugin(elf: Path) -> tuple[list[str], Path]:
    """QEMU arguments loading the counting plugin (built beside the ELF) with the ELF's
    ek_layer_mark as the marker, and the file the counts will be written to."""
    lib, out = build_plugin(elf.parent), elf.parent / "counts.txt"
    return ["-plugin", f"{lib},mark={_symbol(elf, 'ek_layer_mark'):#x},out={out}"], out


def read_marks(path: Path) -> list[int]:
    """The instruction count at each marker call, in order."""
    return [int(v.split()[1]) for v in path.read_text().splitlines() if v.startswith("mark")]


def _symbol(elf: Path, name: str) -> int:
    nm = need_tool("arm-none-eabi-nm", "gcc-arm-none-eabi")
    out = subprocess.run([nm, str(elf)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16) & ~1
    raise EdgekitError(f"symbol {name} not found in {elf.name}")


def elf_sizes(elf: Path) -> dict:
    size = need_tool("arm-none-eabi-size", "gcc-arm-none-eabi")
    line = subprocess.run([size, "-A", str(elf)], capture_output=True, text=True).stdout
    sec = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", line, re.M)}
    flash = sum(v for k, v in sec.items() if k in (".isr_vector", ".text", ".ARM.exidx", ".data"))
    return {"flash_bytes": flash, "static_ram_bytes": sec.get(".data", 0) + sec.get(".bss", 0),
            "sections": sec}


def _stack_estimate(workdir: Path, prefix: str) -> int:
    su: dict[str, int] = {}
    for f in workdir.glob("*.su"):
        for line in f.read_text().splitlines():
            m = re.match(r".*:(\w+)\s+(\d+)\s+\w+", line)
            if m:
                su[m.group(1)] = max(su.get(m.group(1), 0), int(m.group(2)))
    kernels = [v for k, v in su.items() if k.startswith("ek_") and k != "ek_layer_mark"]
    return su.get("main", 0) + su.get(f"{prefix}_invoke", 0) + max(kernels, default=0)


def profile(graph: Graph, target: Board, x: np.ndarray | None = None, opt: str = "-O2") -> dict:
    """Build for target with layer markers, run one input in QEMU, count instructions."""
    if not target.emulated:
        raise EdgekitError("profile needs an emulated board (instruction counts come from QEMU)")
    gen = generate(graph, "m")
    info = summarize(graph)
    with tempfile.TemporaryDirectory() as d:
        wd = Path(d)
        flags = (f"-include{RUNTIME / 'include' / 'ek_profile.h'}", "-DEK_LAYER_BEGIN(i)=ek_layer_mark(i)",
                 "-fstack-usage")
        elf = build(gen, target, wd, FIRMWARE / "app" / "ek_profile_main.c", flags, opt)
        if x is not None:
            (wd / "ek_in.bin").write_bytes(np.ascontiguousarray(x, np.int8).tobytes())
        plugin, out = counting_plugin(elf)
        run_program(elf, target, [], "the profiling run", plugin=plugin)
        marks = read_marks(out)
        sizes = elf_sizes(elf)
        stack = _stack_estimate(wd, "m")
    n = len(graph.nodes) + 1
    if len(marks) != 2 * n:
        raise EdgekitError(f"expected {2 * n} layer marks, got {len(marks)}")
    run2 = marks[n:]
    layers = []
    for i, row in enumerate(info["layers"]):
        insns = run2[i + 1] - run2[i]
        layers.append({"layer": i, "op": row["op"], "name": row["name"], "macs": row["macs"],
                       "instructions": insns,
                       "insns_per_mac": round(insns / row["macs"], 2) if row["macs"] else None})
    total_macs = info["totals"]["macs"]
    total = run2[-1] - run2[0]
    return {"board": target.name, "core": target.core_label, "opt": opt, "instructions": total,
            "macs": total_macs, "insns_per_mac": round(total / total_macs, 3) if total_macs else None,
            "layers": layers, "arena_bytes": gen.plan.arena_size, "stack_bytes_estimate": stack,
            "ram_bytes": gen.plan.arena_size + stack, "model_parameter_bytes": gen.weight_bytes,
            **sizes}


def has_tools() -> bool:
    return all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc"))
