"""Per-layer instruction counts on an emulated core, plus flash and RAM, for one model,
and an ESTIMATE of cycles and milliseconds from them.

Counts are exact and repeatable: QEMU's TCG runs the firmware and the project's own
plugin (edgekit/firmware/qemu_plugin) adds up executed guest instructions, in total and per
instruction class, recording the counts at each layer marker. QEMU models no cycles:
instructions are the measure. The cycle estimate (`estimate`, below) weighs the exact class
counts with each core's published instruction timings (TIMINGS) and adds the board's flash
wait states; it is a model, not a measurement (ESTIMATE_IGNORES says what it leaves out).
Flash and static RAM come from `arm-none-eabi-size` of the linked ELF; stack from
gcc's -fstack-usage (deepest call chain main -> invoke -> kernel).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
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


def counting_plugin(elf: Path, board: Board | None = None) -> tuple[list[str], Path]:
    """QEMU arguments loading the counting plugin (built beside the ELF) with the ELF's
    ek_layer_mark as the marker, and the file the counts will be written to. With a board
    that has flash wait states, data reads from its flash are counted too."""
    lib, out = build_plugin(elf.parent), elf.parent / "counts.txt"
    args = f"{lib},mark={_symbol(elf, 'ek_layer_mark'):#x},out={out}"
    if board is not None and board.flash_wait_states:
        args += f",flash={board.flash_origin:#x}:{board.flash_origin + board.flash_bytes:#x}"
    return ["-plugin", args], out


def read_marks(path: Path) -> list[int]:
    """The instruction count at each marker call, in order."""
    return [int(v.split()[1]) for v in path.read_text().splitlines() if v.startswith("mark")]


def read_counter_marks(path: Path) -> list[dict[str, int]]:
    """Every class and event counter of the plugin at each marker call, in order (the
    instruction classes, taken_<class>, regs, ldr_pipe, m7_pairs, bytes, flash_reads)."""
    lines = path.read_text().splitlines()
    names = next(v.split()[1:] for v in lines if v.startswith("classes "))
    return [dict(zip(names, map(int, v.split()[1:]))) for v in lines if v.startswith("cmark ")]


def counter_diff(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: b[k] - a[k] for k in b}


# --- Timing model: exact class counts -> ESTIMATED cycles ----------------------------------
# Instruction classes (the plugin's classify()): alu (data processing, moves, shifts, IT, NOP),
# dsp (extend, bitfield, saturate, REV/CLZ, SIMD add/sub: 1 cycle on every core), mul (32-bit
# product), mac (32-bit multiply-accumulate: MLA, MLS, SMLAD, SMLABB...), mull (SMULL/UMULL),
# mlal (SMLAL/UMLAL/SMLALD/UMAAL), div (SDIV/UDIV), load / store (single register; TBB/TBH
# count as loads), ldstm (LDM/STM/PUSH/POP/LDRD/STRD/VLDM/VSTM/VPUSH/VPOP: 1 + N with the
# registers moved counted exactly), branch (B, B<cc>, CBZ, BX, BLX reg), call (BL), fp, fp_mac
# (VMLA/VFMA..), fp_div (VDIV, VSQRT), fp_mem (VLDR/VSTR), sys (MSR/MRS, barriers, SVC, BKPT).
# A "taken" event is counted (exactly) whenever an instruction redirected the PC; the
# class's taken penalty (the pipeline refill P) is added per event. No ARMv6-M core runs the
# classes it lacks (mac, mull, mlal, div, fp*): their entries only complete the tables.

TIMING_CLASSES = ("alu", "dsp", "mul", "mac", "mull", "mlal", "div", "load", "store", "ldstm", "branch",
                  "call", "fp", "fp_mac", "fp_div", "fp_mem", "sys")

ESTIMATE_IGNORES = ("bus contention and peripheral/DMA traffic, cache misses and TCM/AXI placement (M7), "
                    "flash accelerators, prefetch buffers and caches (ART, XIP cache: wait states are charged "
                    "on every flash access, an upper bound), interrupts and their entry/exit, register-"
                    "dependency stalls (load-use, M7 pairing), operand-dependent early termination (SDIV/UDIV, "
                    "M3 long multiplies: midpoints), the exact pipeline refill of each taken branch (a fixed P), "
                    "semihosting I/O time")


@dataclass(frozen=True)
class CoreTiming:
    """Cycles per instruction class on one core (zero wait states), with the source."""
    source: str
    base: dict[str, float]            # cycles of an instruction that does not redirect the PC
    taken: dict[str, float]           # extra cycles when it does (pipeline refill)
    per_reg: float = 1.0              # ldstm: cycles per register moved (the N of 1 + N)
    ldr_pipe: float = 0.0             # cycles saved by a single load right after a single load
    fetch_bytes: int = 4              # instruction bytes per fetch (flash wait states)
    dual_issue: float = 0.0           # cycles saved per M7 candidate pair (see TIMINGS)
    notes: tuple[str, ...] = field(default_factory=tuple)


def _table(default: float, **kw: float) -> dict[str, float]:
    return {c: kw.get(c, default) for c in TIMING_CLASSES}


# Cortex-M3: Arm Cortex-M3 Technical Reference Manual r2p1 (DDI 0337I), 3.3.1 Table 3-1
# "Cortex-M3 instruction set summary" and 3.3.2 "Load/store timings". MLA/MLS 2; SMULL/UMULL
# 3-5 and SMLAL/UMLAL 4-7 (early termination): midpoints 4 and 5.5; SDIV/UDIV 2-12: 7;
# LDR 2, pipelined after an LDR 1 (3.3.2: "LDR R0,[R1]; LDR R1,[R2]" three cycles); STR with an
# immediate offset 1 (3.3.2); LDM/STM/PUSH/POP/LDRD/STRD 1 + N; branch taken 1 + P, P = 1-3
# ("depending on the alignment and width of the target instruction"): P = 2 assumed.
_M3 = CoreTiming(
    source="Arm Cortex-M3 TRM r2p1 (DDI 0337I) 3.3.1 Table 3-1, 3.3.2 Load/store timings",
    base=_table(1, mac=2, mull=4, mlal=5.5, div=7, load=2, sys=2, fp=1, fp_mac=3, fp_div=14, fp_mem=2),
    taken=_table(2), ldr_pipe=1,
    notes=("P = 2 (TRM: 1-3)", "SMULL/UMULL 3-5 -> 4, SMLAL/UMLAL 4-7 -> 5.5, SDIV/UDIV 2-12 -> 7"))
# Cortex-M4: Arm Cortex-M4 Processor Technical Reference Manual r0p1 (100166_0001_00 / DDI 0439),
# 3.3.1 Table 3-1 "Processor instruction set summary" (every multiply, MAC, long multiply and
# DSP instruction 1 cycle; SDIV/UDIV 2-12), 3.3.2 "Load/store timings" (as M3); FPU: chapter 7,
# Table 7-1 "FPU instruction set" (VADD/VMUL/VCVT/VMOV 1, VMLA/VFMA 3, VDIV/VSQRT 14,
# VLDR/VSTR 2, VLDM/VSTM/VPUSH/VPOP 1 + N).
_M4 = CoreTiming(
    source="Arm Cortex-M4 TRM r0p1 (100166_0001_00) 3.3.1 Table 3-1, 3.3.2 Load/store timings; "
           "FPU Table 7-1",
    base=_table(1, div=7, load=2, sys=2, fp_mac=3, fp_div=14, fp_mem=2),
    taken=_table(2), ldr_pipe=1,
    notes=("P = 2 (TRM: 1-3)", "SDIV/UDIV 2-12 -> 7"))
# Cortex-M33: its TRM publishes no per-instruction cycle table; the M4 table stands in (LLVM
# also schedules cortex-m33 with its Cortex-M4 model, llvm/lib/Target/ARM/ARM.td). The M33's
# limited dual issue of 16-bit instructions is not modelled (so: pessimistic).
_M33 = CoreTiming(source="no Arm cycle table for Cortex-M33: Cortex-M4 TRM table used (as LLVM's "
                         "ARM.td schedules cortex-m33 with CortexM4Model)",
                  base=_M4.base, taken=_M4.taken, ldr_pipe=1,
                  notes=("M4 timings", "16-bit dual issue ignored"))
# Cortex-M7: Arm publishes no cycle table either. After LLVM's llvm/lib/Target/ARM/
# ARMScheduleM7.td (contributed by Arm): loads, stores, MACs and (pipelined) FP ops issue in
# 1 cycle; SDIV/UDIV latency 7 and single issue; VDIV/VSQRT 16; LDM/STM/LDRD single issue
# (1 + N kept); a taken branch +1 (the branch predictor (BTAC) hides most loop branches; a
# mispredict costs 4-6, MispredictPenalty). Dual issue: the plugin counts adjacent pairs of
# instructions whose pipes could issue together (two ALU, two load, one store/MAC/branch/FP
# pipe; SIMD/extend only as the older one; no register-dependency check): every such pair
# dual-issuing is a lower bound, none an upper bound; the estimate takes the midpoint (each
# candidate pair saves half a cycle) and the JSON carries both bounds.
_M7 = CoreTiming(
    source="no Arm cycle table for Cortex-M7: LLVM ARMScheduleM7.td (pipes, latencies); dual issue "
           "= midpoint between single issue and every resource-compatible adjacent pair",
    base=_table(1, div=7, fp_div=16, sys=3), taken=_table(1), fetch_bytes=8, dual_issue=0.5,
    notes=("taken branch +1 (predicted)", "dual issue: half of the candidate pairs"))
# Cortex-M0+: Arm Cortex-M0+ TRM r0p1 (DDI 0484C) 3.3 "Instruction set summary" (cycle table):
# ALU 1, MULS 1 (the fast multiplier; 32 with the small one), LDR/STR 2, LDM/STM/PUSH/POP 1 + N,
# POP {..pc} 3 + N, B<cc> taken 2 / not taken 1, B 2, BL 3, BX/BLX 2, MOV/ADD to PC 2,
# MRS/MSR/barriers 3. As base + taken: branch 1 + 1, call 2 + 1, ldstm 1 + N (+ 2 with PC).
_M0P = CoreTiming(
    source="Arm Cortex-M0+ TRM r0p1 (DDI 0484C) 3.3 Instruction set summary",
    base=_table(1, load=2, store=2, call=2, sys=3, mac=2, mull=5, mlal=6, div=7, fp_mac=3, fp_div=14,
                fp_mem=2),
    taken=_table(1, ldstm=2), notes=("single-cycle multiplier",))
# Cortex-M0: Arm Cortex-M0 TRM r0p0 (DDI 0432C) 3.3 "Instruction set summary", Table 3-1:
# as M0+ but B<cc> taken 3, B 3, BL 4, BX/BLX 3, MOV/ADD to PC 3, POP {..pc} 4 + N,
# MRS/MSR/barriers 4: branch 1 + 2, call 2 + 2, ldstm 1 + N (+ 3 with PC).
_M0 = CoreTiming(
    source="Arm Cortex-M0 TRM r0p0 (DDI 0432C) 3.3 Instruction set summary, Table 3-1",
    base=_table(1, load=2, store=2, call=2, sys=4, mac=2, mull=5, mlal=6, div=7, fp_mac=3, fp_div=14,
                fp_mem=2),
    taken=_table(2, ldstm=3), notes=("single-cycle multiplier",))

TIMINGS: dict[str, CoreTiming] = {"cortex-m0": _M0, "cortex-m0plus": _M0P, "cortex-m3": _M3, "cortex-m4": _M4,
                                  "cortex-m7": _M7, "cortex-m33": _M33}


def _cycles(c: dict[str, int], t: CoreTiming, dual: float) -> float:
    return (sum(c.get(k, 0) * t.base[k] + c.get(f"taken_{k}", 0) * t.taken[k] for k in TIMING_CLASSES)
            + c.get("regs", 0) * t.per_reg - c.get("ldr_pipe", 0) * t.ldr_pipe - c.get("m7_pairs", 0) * dual)


def estimate_cycles(c: dict[str, int], board: Board) -> dict:
    """ESTIMATED cycles for a counter difference `c` (read_counter_marks) on board's core:
    core cycles from TIMINGS plus flash wait states on every instruction fetch and every
    data read from flash. Floats; `estimate` rounds and reports."""
    t = TIMINGS[board.core]
    core = _cycles(c, t, t.dual_issue)
    w = board.flash_wait_states
    flash = w * (c.get("bytes", 0) / t.fetch_bytes + c.get("flash_reads", 0))
    out = {"cycles": core + flash, "core_cycles": core, "flash_stall_cycles": flash}
    if t.dual_issue:
        out["cycles_single_issue"] = _cycles(c, t, 0) + flash
        out["cycles_all_pairs_dual_issued"] = _cycles(c, t, 1) + flash
    return out


def estimate(c: dict[str, int], board: Board) -> dict:
    """The reported ESTIMATE for counter difference `c` (one inference, or a whole stream):
    cycles, ms at the board clock, cycles per instruction, the exact class counts it was
    computed from, the timing source and what the model ignores."""
    t = TIMINGS[board.core]
    e = estimate_cycles(c, board)
    insns = sum(c.get(k, 0) for k in TIMING_CLASSES)
    out = {"kind": "ESTIMATE (timing model, not measured)", "core": board.core, "clock_hz": board.clock_hz,
           "flash_wait_states": board.flash_wait_states, **{k: round(v) for k, v in e.items()},
           "ms": round(e["cycles"] / board.clock_hz * 1000, 3),
           "cycles_per_instruction": round(e["cycles"] / insns, 3) if insns else None,
           "classes": {k: c.get(k, 0) for k in TIMING_CLASSES},
           "taken": {k: c[f"taken_{k}"] for k in TIMING_CLASSES if c.get(f"taken_{k}")},
           "events": {k: c.get(k, 0) for k in ("regs", "ldr_pipe", "m7_pairs", "bytes", "flash_reads")},
           "timing_source": t.source, "timing_notes": list(t.notes), "ignores": ESTIMATE_IGNORES}
    return out


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
    flash = sum(v for k, v in sec.items() if k in (".boot2", ".isr_vector", ".text", ".ARM.exidx", ".data"))
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
        plugin, out = counting_plugin(elf, target)
        run_program(elf, target, [], "the profiling run", plugin=plugin)
        marks = read_marks(out)
        counters = read_counter_marks(out)
        sizes = elf_sizes(elf)
        stack = _stack_estimate(wd, "m")
    n = len(graph.nodes) + 1
    if len(marks) != 2 * n:
        raise EdgekitError(f"expected {2 * n} layer marks, got {len(marks)}")
    run2, c2 = marks[n:], counters[n:]
    layers = []
    for i, row in enumerate(info["layers"]):
        insns = run2[i + 1] - run2[i]
        cyc = estimate_cycles(counter_diff(c2[i], c2[i + 1]), target)["cycles"]
        layers.append({"layer": i, "op": row["op"], "name": row["name"], "macs": row["macs"],
                       "instructions": insns,
                       "insns_per_mac": round(insns / row["macs"], 2) if row["macs"] else None,
                       "est_cycles": round(cyc), "est_ms": round(cyc / target.clock_hz * 1000, 4)})
    total_macs = info["totals"]["macs"]
    total = run2[-1] - run2[0]
    return {"board": target.name, "core": target.core_label, "opt": opt, "instructions": total,
            "macs": total_macs, "insns_per_mac": round(total / total_macs, 3) if total_macs else None,
            "layers": layers, "cycle_estimate": estimate(counter_diff(c2[0], c2[-1]), target),
            "arena_bytes": gen.plan.arena_size, "stack_bytes_estimate": stack,
            "ram_bytes": gen.plan.arena_size + stack, "model_parameter_bytes": gen.weight_bytes,
            **sizes}


def has_tools() -> bool:
    return all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc"))
