"""Compile generated model C + the edgekit runtime + an app, and run it (host or QEMU).

Everything is a real toolchain invocation: gcc -std=c99 -Wall -Werror for the host,
arm-none-eabi-gcc with the project's startup code (edgekit/firmware/baremetal/startup.c)
and a linker script filled in from the board's memory map for the emulated boards,
qemu-system-arm with semihosting for the emulated runs.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from string import Template

import numpy as np

from edgekit.boards import Board
from edgekit.codegen.emit import Generated
from edgekit.errors import EdgekitError
from edgekit.resources import FIRMWARE, RUNTIME


class ToolchainError(EdgekitError):
    """An external tool (gcc, arm-none-eabi-gcc, qemu-system-arm, pio) is missing."""

    exit_code = 7


def run_group(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    """subprocess.run for a tool that spawns its own children (pio -> scons -> gcc): it runs
    in a process group of its own, and the whole group is killed on a timeout, Ctrl-C or
    SIGTERM, or (by edgekit.toolchain.guard) when edgekit itself is killed, so nothing keeps
    writing into an output that is being discarded."""
    import os
    import signal
    import sys

    p = subprocess.Popen([sys.executable, "-m", "edgekit.toolchain.guard", str(os.getpid()), *cmd],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        raise
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def need_tool(tool: str, pkg: str) -> str:
    """The path of an external tool, or a ToolchainError naming the Debian package."""
    path = shutil.which(tool)
    if not path:
        raise ToolchainError(f"{tool} not found: install it with `apt-get install {pkg}` "
                             "(or run scripts/setup.sh)")
    return path


def runtime_sources() -> list[Path]:
    return sorted((RUNTIME / "src").glob("*.c"))


def write_model(gen: Generated, d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in gen.files.items():
        (d / name).write_text(text)
    p = gen.prefix
    (d / "ek_app_model.h").write_text(
        f'#include "{p}.h"\n#define EKM_ARENA_SIZE {p.upper()}_ARENA_SIZE\n'
        f"#define EKM_INPUT_SIZE {p.upper()}_INPUT_SIZE\n#define EKM_OUTPUT_SIZE {p.upper()}_OUTPUT_SIZE\n"
        f"#define EKM_INPUT {p}_input\n#define EKM_OUTPUT {p}_output\n#define EKM_INVOKE {p}_invoke\n"
        f"#define EKM_INPUT_SCALE {p.upper()}_INPUT_SCALE\n#define EKM_INPUT_ZERO_POINT {p.upper()}_INPUT_ZERO_POINT\n"
        f"#define EKM_OUTPUT_SCALE {p.upper()}_OUTPUT_SCALE\n"
        f"#define EKM_OUTPUT_ZERO_POINT {p.upper()}_OUTPUT_ZERO_POINT\n")


BAREMETAL = FIRMWARE / "baremetal"   # startup.c and the linker script template, for every emulated board


def linker_script(board: Board) -> str:
    """The linker script of an emulated board: edgekit's one template (cortex_m.ld) with
    MEMORY from the board file (flash_origin/flash_bytes, ram_origin/ram_bytes)."""
    return Template((BAREMETAL / "cortex_m.ld").read_text()).substitute(
        flash_origin=f"{board.flash_origin:#010x}", flash_bytes=board.flash_bytes,
        ram_origin=f"{board.ram_origin:#010x}", ram_bytes=board.ram_bytes)


def build(gen: Generated | None, target: Board, workdir: Path, app: Path | None = None,
          extra_cflags: tuple[str, ...] = (), opt: str = "-O2", extra_srcs: tuple[Path, ...] = (),
          extra_files: dict[str, str] | None = None, includes: tuple[Path, ...] = ()) -> Path:
    """Build the batch runner (or `app`, plus `extra_srcs`) for target in workdir, with
    the generated model (if any) and `extra_files` written to workdir/model; returns the
    executable."""
    cc = need_tool(target.cc, "gcc" if target.cc == "gcc" else "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    model_dir = workdir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    if gen is not None:
        write_model(gen, model_dir)
    for name, text in (extra_files or {}).items():
        (model_dir / name).write_text(text)
    srcs = [*(runtime_sources() if gen is not None else []), *sorted(model_dir.glob("*.c")),
            *extra_srcs, app or FIRMWARE / "app" / "ek_run_batch.c"]
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", opt, *target.cflags, *extra_cflags,
             f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}", f"-I{model_dir}",
             *(f"-I{p}" for p in includes)]
    exe = workdir / ("model.elf" if target.emulated else "model.exe")
    if target.emulated:
        ld = workdir / "ek_link.ld"
        ld.write_text(linker_script(target))
        srcs.append(BAREMETAL / "startup.c")
        flags += ["--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles", f"-T{ld}", "-Wl,--gc-sections"]
    cmd = [cc, *flags, *map(str, srcs), "-o", str(exe), "-lm"]
    # run in workdir: side outputs such as -fstack-usage's .su files land there
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or ["?"]
        (workdir / "build.log").write_text(r.stderr)
        # the linker's own line, not collect2's summary: a model too big for the board says so
        mem = next((ln for ln in lines if "overflowed by" in ln or "EK_RAM" in ln), None)
        if mem:
            raise EdgekitError(f"the model does not fit {target.name} ({target.flash_bytes:,} B flash, "
                               f"{target.ram_bytes:,} B RAM): {mem.rsplit('ld: ', 1)[-1].removeprefix('EK_RAM: ')[:200]}")
        first = next((ln for ln in lines if "error" in ln and not ln.startswith("collect2")), lines[0])
        raise EdgekitError(f"{target.cc} failed building the generated model: {first[:300]} "
                           f"(full log: {workdir / 'build.log'})")
    return exe


def qemu_cmd(target: Board, exe: Path, plugin: list[str] | None = None) -> list[str]:
    qemu = need_tool("qemu-system-arm", "qemu-system-arm")
    return [qemu, "-M", target.emulator, "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", "enable=on,target=native", *(plugin or []), "-kernel", str(exe)]


def run_program(exe: Path, target: Board, args: list[str], what: str, timeout: float = 600,
                plugin: list[str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a built program in its own directory: natively with `args` (host), or in QEMU
    (emulated boards: no arguments, files over semihosting relative to that directory).
    A timeout, and with `check` a non-zero exit, become one-line EdgekitErrors."""
    cmd = qemu_cmd(target, exe, plugin) if target.emulated else [str(exe), *args]
    try:
        r = subprocess.run(cmd, cwd=exe.parent, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EdgekitError(f"{target.name}: {what} did not finish in {timeout:.0f} s") from None
    if check and r.returncode != 0:
        raise EdgekitError(f"{target.name}: {what} failed with exit code {r.returncode} "
                           f"{(r.stderr.strip().splitlines() or [''])[-1][:200]}")
    return r


def run_batch(exe: Path, target: Board, x: np.ndarray, out_size: int, timeout: float = 600,
              plugin: list[str] | None = None) -> np.ndarray:
    """Feed a batch of int8 inputs through the built runner; returns (N, out_size) int8."""
    wd = exe.parent
    (wd / "ek_in.bin").write_bytes(np.ascontiguousarray(x, np.int8).tobytes())
    out = wd / "ek_out.bin"
    if out.exists():
        out.unlink()
    run_program(exe, target, ["ek_in.bin", "ek_out.bin"], "the model run", timeout, plugin)
    data = np.frombuffer(out.read_bytes(), np.int8)
    n = len(x)
    if data.size != n * out_size:
        raise EdgekitError(f"{target.name}: expected {n * out_size} output bytes, got {data.size}")
    return data.reshape(n, out_size)
