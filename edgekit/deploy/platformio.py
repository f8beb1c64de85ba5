"""PlatformIO projects for the KWS firmware, and `pio run` on them, offline.

Boards on edgekit's own local platform (edgekit/firmware/platformio/edgekit-baremetal:
every emulated board, and every real board by default) are built with the system
arm-none-eabi toolchain wrapped as a local package; PlatformIO's core tool SCons comes from
PyPI (the `scons` pin) laid out as the `tool-scons` package, so no registry access is
needed (PlatformIO accepts a local package folder with a package.json and, for tool-scons,
a .piopm naming the platformio owner). A real board's bare-metal firmware is edgekit's
startup, linker script and board support (edgekit/firmware/baremetal: the SoC's clock
tree, SysTick, UART log, microphone); a board file with an [arduino] section also gets a
second environment, `<board>_arduino`, for PlatformIO's own platform and the Arduino
framework (nordicnrf52, ststm32, raspberrypi), which builds where the PlatformIO registry
can be reached. A board file whose [platformio] names a registry platform gets only that.

Layout of a project:
  platformio.ini
  include/   generated headers (model, ek_app_model.h, front-end tables, KWS config)
  src/       generated model C, front-end tables, the KWS detector; then
             emulated boards: the wav-reading main and the startup (semihosting);
             real boards: baremetal/ (main, startup, ek_board, the SoC's code, RP2040 boot2);
             a real SoC in QEMU (netduinoplus2): baremetal/ with the serial-PCM main
             (kws/ek_kws_serial_main.c, fed by edgekit.deploy.serial_host)
             and arduino/main.cpp (the `_arduino` environment's), each environment
             building its own folder only
  lib/edgekit_runtime, lib/edgekit_frontend   edgekit's C runtime, as libraries
  boards/    the PlatformIO board file of the local platform (generated from edgekit's board file)
  link.ld    the linker script, MEMORY from the board file's memory map
"""
from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from edgekit.boards import SOC_DIR, Board
from edgekit.codegen.emit import Generated
from edgekit.deploy.firmware import FRONTEND, KWS, KwsConfig, frontend_flags, generated_files
from edgekit.errors import EdgekitError
from edgekit.resources import FIRMWARE, RUNTIME
from edgekit.toolchain.cbuild import BAREMETAL, ToolchainError, linker_script, run_group, write_model

LOCAL_PLATFORM = FIRMWARE / "platformio" / "edgekit-baremetal"
SCONS_PKG_VERSION = "4.41101.0"   # what PlatformIO 6.2 asks for: SCons 4.11.1
TOOLCHAIN_PKG_VERSION = "1.120201.0"   # Debian's arm-none-eabi-gcc 12.2.1


def core_dir() -> Path:
    d = os.environ.get("EDGEKIT_PIO_CORE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "edgekit", "platformio")
    return Path(d)


def pio_env() -> dict:
    env = dict(os.environ)
    env.update(PLATFORMIO_CORE_DIR=str(core_dir()), PLATFORMIO_DISABLE_UPGRADE_CHECK="true",
               PLATFORMIO_SETTING_ENABLE_TELEMETRY="No", PLATFORMIO_DISABLE_PROGRESSBAR="true",
               PLATFORMIO_NO_ANSI="true", PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650")
    return env


def pio_path() -> str:
    for cand in (Path(sys.executable).parent / "pio", shutil.which("pio")):
        if cand and Path(cand).exists():
            return str(cand)
    raise ToolchainError("PlatformIO (pio) not found: install edgekit's dependencies (scripts/setup.sh)")


def _prepare_scons(core: Path) -> None:
    """tool-scons from the installed `scons` wheel, so PlatformIO downloads nothing."""
    import SCons

    pkg = core / "packages" / "tool-scons"
    if (pkg / "package.json").exists():
        return
    tmp = pkg.with_name(".tool-scons.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copytree(Path(SCons.__file__).parent, tmp / "SCons")
    (tmp / "scons.py").write_text("import sys\nfrom SCons.Script import main\nsys.exit(main())\n")
    (tmp / "package.json").write_text(json.dumps({"name": "tool-scons", "version": SCONS_PKG_VERSION}))
    (tmp / ".piopm").write_text(json.dumps({
        "type": "tool", "name": "tool-scons", "version": SCONS_PKG_VERSION,
        "spec": {"owner": "platformio", "id": None, "name": "tool-scons", "requirements": None, "uri": None}}))
    os.replace(tmp, pkg)


def _prepare_toolchain(core: Path) -> Path:
    """The system arm-none-eabi toolchain as a local PlatformIO package (bin/ symlinks)."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if not gcc:
        raise ToolchainError("arm-none-eabi-gcc not found: install it with `apt-get install "
                             "gcc-arm-none-eabi libnewlib-arm-none-eabi` (or run scripts/setup.sh)")
    pkg = core / "edgekit-packages" / "toolchain-gccarmnoneeabi"
    if (pkg / "package.json").exists():
        return pkg
    tmp = pkg.with_name(".toolchain.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "bin").mkdir(parents=True)
    bindir = Path(gcc).resolve().parent
    for tool in sorted(bindir.glob("arm-none-eabi-*")):
        (tmp / "bin" / tool.name).symlink_to(tool)
    (tmp / "package.json").write_text(json.dumps({
        "name": "toolchain-gccarmnoneeabi", "version": TOOLCHAIN_PKG_VERSION,
        "description": f"system arm-none-eabi toolchain ({bindir})"}))
    os.replace(tmp, pkg)
    return pkg


def board_json(board: Board) -> str:
    """The PlatformIO board file of a board on the local platform, derived from its edgekit
    board file; written into the project's boards/ folder, where PlatformIO looks first."""
    fpu = next((f for f in board.cflags if f.startswith("-mfpu=")), None)
    build = {"cpu": board.core, "mcu": board.soc or board.pio_board, "f_cpu": f"{board.clock_hz}L",
             "float_flags": f"-mfloat-abi=hard {fpu}" if fpu else "", "qemu_machine": board.emulator or "",
             "soc": board.soc}
    # PlatformIO requires an upload protocol and a url: for QEMU, the emulated machines'
    # documentation; for a real board, edgekit's bare-metal ELF goes through the board's
    # debug probe (e.g. OpenOCD, pyOCD, picotool), which edgekit does not drive
    url = ("https://www.qemu.org/docs/master/system/target-arm.html" if board.emulated
           else "https://docs.platformio.org/en/latest/platforms/creating_platform.html")
    return json.dumps({"build": build, "frameworks": [], "name": board.description,
                       "upload": {"maximum_ram_size": board.ram_bytes, "maximum_size": board.flash_bytes,
                                  "protocol": "qemu" if board.emulated else "custom"}, "vendor": "edgekit",
                       "url": url}, indent=2) + "\n"


def _audio_flags(board: Board) -> list[str]:
    if board.emulated:   # wavs over semihosting, or (a real SoC in QEMU) over the UART
        return ["-DEK_AUDIO_SERIAL"] if board.emulated_soc else []
    return ["-DEK_AUDIO_PDM" if board.audio.startswith("pdm") else "-DEK_AUDIO_SERIAL"]


def _pdm(board: Board) -> bool:
    """A real bare-metal board whose PDM microphone's bits edgekit's decimator turns into PCM:
    its build has ek_pdm.c (-DEK_PDM) and its tables."""
    return board.baremetal and not board.emulated and board.pdm_decimation.startswith("software")


def _envs(board: Board, flags: list[str], toolchain: Path | None) -> dict[str, dict[str, str]]:
    """platformio.ini environments: the board's own (first, the default) and, for a real
    bare-metal board with an [arduino] section, `<name>_arduino` (its microphone through the
    core's PDM library where the board file says the core has one, else serial PCM)."""
    lines = lambda xs: "\n" + "\n".join(xs)   # noqa: E731 (ini multi-line values)
    if not board.baremetal:
        env = {"platform": board.pio_platform, "board": board.pio_board, "build_flags": lines(flags),
               "lib_archive": "no"}
        return {board.name: {**env, **({"framework": board.pio_framework} if board.pio_framework else {})}}
    own = {"platform": f"symlink://{LOCAL_PLATFORM}", "platform_packages": f"\ntoolchain-gccarmnoneeabi@symlink://{toolchain}",
           "board": board.pio_board, "board_build.ldscript": "link.ld", "lib_archive": "no"}
    if board.emulated and not board.emulated_soc:
        return {board.name: {**own, "build_flags": lines(flags), "monitor_speed": "115200"}}
    extra = ["-DEK_BOARD", *(["-DEK_PDM"] if _pdm(board) else [])]
    envs = {board.name: {**own, "build_flags": lines(flags + extra), "build_src_filter": "+<*> -<arduino/>"}}
    if board.arduino_platform:
        audio = "-DEK_AUDIO_PDM" if board.arduino_pdm else "-DEK_AUDIO_SERIAL"
        arduino_flags = [f for f in flags if not f.startswith("-DEK_AUDIO_")] + [audio]
        envs[f"{board.name}_arduino"] = {"platform": board.arduino_platform, "board": board.arduino_board,
                                         "framework": "arduino", "build_flags": lines(arduino_flags),
                                         "build_src_filter": "+<*> -<baremetal/>", "lib_archive": "no"}
    return envs


def ini_text(board: Board, frontend_flags: tuple[str, ...], toolchain: Path | None) -> str:
    import io

    cfg = configparser.ConfigParser()
    envs = _envs(board, ["-O2", "-Iinclude", *frontend_flags, *_audio_flags(board)], toolchain)
    for name, env in envs.items():
        cfg[f"env:{name}"] = env
    cfg["platformio"] = {"default_envs": board.name}
    how = ("Run in QEMU: pio run -t exec (wavs: edgekit.deploy.serial_host)" if board.emulated_soc else
           "Run in QEMU: pio run -t exec" if board.emulated else
           "Flash firmware.elf with the board's debug probe" if board.baremetal else "Flash: pio run -t upload")
    online = (f"\n; Arduino framework (downloads from the PlatformIO registry): pio run -e {board.name}_arduino"
              if len(envs) > 1 else "")
    buf = io.StringIO()
    buf.write(f"; Generated by edgekit deploy for board {board.name} ({board.description}).\n"
              f"; Build: pio run    {how}{online}\n")
    cfg.write(buf)
    return buf.getvalue()


def _library(dst: Path, name: str, src: Path, description: str) -> None:
    shutil.copytree(src / "include", dst / "include")
    shutil.copytree(src / "src", dst / "src")
    (dst / "library.json").write_text(json.dumps({
        "name": name, "version": "0.1.0", "description": description,
        "build": {"flags": ["-Wall", "-Wextra", "-Werror", "-std=c99"], "includeDir": "include",
                  "srcDir": "src", "libArchive": False}}, indent=2) + "\n")


def _baremetal_sources(src: Path, inc: Path, board: Board) -> None:
    """src/baremetal/ of a real board: the board's KWS main, startup, ek_board and its SoC's
    code; the RP2040's boot block; the decimator's tables where PDM bits are decimated here.
    A real SoC in QEMU gets the serial-PCM main (per-clip labels, then the stream)."""
    d = src / "baremetal"
    d.mkdir()
    shutil.copy(KWS / ("ek_kws_serial_main.c" if board.emulated_soc else "ek_kws_board_main.c"), d / "main.c")
    for f in ("startup.c", "ek_board.c", "ek_board.h"):
        shutil.copy(BAREMETAL / f, d / f)
    shutil.copy(SOC_DIR / f"ek_{board.soc}.c", d / f"ek_{board.soc}.c")
    for h in SOC_DIR.glob("*.h"):   # code two SoC files share (ek_rp2_shared.h)
        shutil.copy(h, d / h.name)
    if board.soc == "rp2040":   # the bootrom runs no flash image without its boot block
        from edgekit.deploy import boot2
        (d / "ek_boot2.c").write_text(boot2.boot2_c(boot2.image(boot2.assemble())))
    if _pdm(board):
        from edgekit.audio.emit import generate_pdm_tables
        from edgekit.audio.pdm import PdmSpec
        for name, text in generate_pdm_tables(PdmSpec()).items():
            (d if name.endswith(".c") else inc).joinpath(name).write_text(text)


def write_project(out: Path, board: Board, gen: Generated, labels: list[str], cfg: KwsConfig,
                  frontend: str, spec=None) -> None:
    """Everything `pio run` needs, in `out` (a fresh directory). frontend: "float", "fixed"
    (MFCC) or "micro" (the microfrontend of FeatureSpec `spec`)."""
    inc, src = out / "include", out / "src"
    write_model(gen, inc)
    src.mkdir(parents=True)
    for f in list(inc.glob("*.c")):
        f.rename(src / f.name)
    for name, text in generated_files(labels, cfg, frontend, spec).items():
        (src if name.endswith(".c") else inc).joinpath(name).write_text(text)
    for f in ("ek_kws.c", "ek_kws.h"):
        shutil.copy(KWS / f, src / f)
    if board.emulated and not board.emulated_soc:
        for f in ("ek_audio_wav.c", "ek_audio_wav.h"):
            shutil.copy(KWS / f, src / f)
        shutil.copy(KWS / "ek_kws_main.c", src / "main.c")
        shutil.copy(BAREMETAL / "startup.c", src / "startup.c")
    elif board.baremetal:
        _baremetal_sources(src, inc, board)
    if not board.baremetal or board.arduino_platform:
        arduino = src / "arduino" if board.baremetal else src
        arduino.mkdir(exist_ok=True)
        shutil.copy(KWS / "arduino" / "main.cpp", arduino / "main.cpp")
    if board.baremetal:
        (out / "link.ld").write_text(linker_script(board))
        (out / "boards").mkdir()
        (out / "boards" / f"{board.pio_board}.json").write_text(board_json(board))
    _library(out / "lib" / "edgekit_runtime", "edgekit_runtime", RUNTIME, "edgekit int8 kernels")
    _library(out / "lib" / "edgekit_frontend", "edgekit_frontend", FRONTEND,
             "edgekit audio front ends (MFCC, microfrontend, PDM decimator)")
    toolchain = _prepare_toolchain(core_dir()) if board.baremetal else None
    (out / "platformio.ini").write_text(ini_text(board, frontend_flags(frontend), toolchain))


# Where PlatformIO downloads platforms from; EDGEKIT_PIO_REGISTRY=host:port points the
# reachability check elsewhere (a mirror, or a closed port to act offline).
REGISTRY = ("api.registry.platformio.org", 443)


def _registry() -> tuple[str, int]:
    v = os.environ.get("EDGEKIT_PIO_REGISTRY")
    if not v:
        return REGISTRY
    host, _, port = v.rpartition(":")
    return host, int(port)


def build_blocker(board: Board) -> str | None:
    """Why `pio run` cannot build this board's project here, found in a few seconds
    instead of PlatformIO's download retries: a registry platform that is not installed
    while the registry cannot be reached. None: the build can be tried."""
    import socket

    if board.baremetal or (core_dir() / "platforms" / board.pio_platform).exists():
        return None
    try:
        socket.create_connection(_registry(), timeout=3).close()
        return None
    except OSError as e:
        host, port = _registry()
        return (f"PlatformIO platform '{board.pio_platform}' (with framework '{board.pio_framework}' and its "
                f"toolchain) is not installed in {core_dir()} and the PlatformIO registry ({host}:{port}) cannot "
                f"be reached ({e.__class__.__name__}): offline")


def pio_run(project: Path, timeout: float = 600) -> Path:
    """`pio run` in the project; returns the firmware ELF."""
    core = core_dir()
    core.mkdir(parents=True, exist_ok=True)
    _prepare_scons(core)
    try:
        r = run_group([pio_path(), "run", "-d", str(project)], timeout, env=pio_env())
    except subprocess.TimeoutExpired:
        raise EdgekitError(f"pio run did not finish in {timeout:.0f} s") from None
    (project / "pio-build.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "error" in ln.lower()] or \
            (r.stdout + r.stderr).strip().splitlines()[-1:]
        raise EdgekitError(f"pio run failed: {lines[0][:300] if lines else '?'} "
                           f"(log: {project / 'pio-build.log'})")
    elfs = sorted((project / ".pio" / "build").glob("*/firmware.elf"))
    if not elfs:
        raise EdgekitError(f"pio run produced no firmware.elf (log: {project / 'pio-build.log'})")
    return elfs[0]
