"""More cores (issue 18, item 6): Cortex-M33 (QEMU mps2-an505, ARMv8-M Mainline + DSP,
booting secure) and Cortex-M0 (QEMU microbit, ARMv6-M, 16 KB RAM) as `edgekit run` /
`edgekit profile` boards, identical to TFLM byte for byte; each board's memory map (from
its board file) in the linker script. Real arm-none-eabi-gcc and QEMU, no mocks."""
from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest

from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.errors import EdgekitError, InputError
from edgekit.importers import load_model
from edgekit.resources import BOARDS_DIR
from edgekit.toolchain.cbuild import build, linker_script
from edgekit.toolchain.profile import has_tools
from tests.conftest import SAMPLES, assert_identical, edgekit_cli

INT8 = SAMPLES / "kws_ref_model_int8.tflite"
NEW = ["mps2-an505", "microbit"]
needs_tools = pytest.mark.skipif(not has_tools(), reason="needs arm-none-eabi-gcc and qemu-system-arm")


def _run(board: str, x: np.ndarray, tmp_path) -> np.ndarray:
    np.save(tmp_path / "x.npy", x)
    r = edgekit_cli("run", INT8, "--board", board, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
                    "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["inputs"] == len(x)
    return np.load(tmp_path / "y.npy")


@needs_tools
@pytest.mark.parametrize("board", NEW)
def test_kws_run_matches_tflm_50(kws_eval, tmp_path, board):
    """50 inputs on each (the microbit runs them in its 16 KB: inputs over semihosting)."""
    y = _run(board, kws_eval["x"][:50], tmp_path)
    assert_identical(kws_eval["tflm"][:50], y.reshape(50, -1), board)


@needs_tools
@pytest.mark.slow
@pytest.mark.parametrize("board", NEW)
def test_kws_run_matches_tflm_all_1000(kws_eval, tmp_path, board):
    y = _run(board, kws_eval["x"], tmp_path)
    assert_identical(kws_eval["tflm"], y.reshape(1000, -1), board)


def _table(text: str) -> dict[str, int]:
    """layer number (or 'total') -> instructions, from `edgekit profile`'s table."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 6 and (cells[0].isdigit() or cells[1] == "total"):
            rows[cells[0] or "total"] = int(cells[3].replace(",", ""))
    return rows


@needs_tools
@pytest.mark.parametrize("board,core", [("mps2-an505", "Cortex-M33F"), ("microbit", "Cortex-M0")])
def test_profile_gives_a_per_layer_table_exact_and_repeatable(board, core):
    """Two runs of `edgekit profile` (JSON, then the table) count the same instructions
    per layer; the layers add up to the total."""
    r = edgekit_cli("profile", INT8, "--board", board, "--json")
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert (p["board"], p["core"], len(p["layers"])) == (board, core, 13)
    assert all(row["instructions"] > 0 for row in p["layers"])
    assert sum(row["instructions"] for row in p["layers"]) == p["instructions"]
    t = edgekit_cli("profile", INT8, "--board", board)
    assert t.returncode == 0, t.stderr
    assert f"instructions per layer on {board} ({core}, -O2, QEMU, exact)" in t.stdout
    rows = _table(t.stdout)
    assert rows == {**{str(row["layer"]): row["instructions"] for row in p["layers"]}, "total": p["instructions"]}
    if board == "mps2-an505":   # the SIMD paths: about half the instructions of plain C on the M3
        assert p["insns_per_mac"] < 2.5, p["insns_per_mac"]


def _objdump(elf) -> str:
    return subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True).stdout


def _symbol(elf, name: str) -> int:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True).stdout
    return next(int(ln.split()[0], 16) for ln in out.splitlines() if ln.split()[-1] == name)


@needs_tools
def test_builds_follow_the_board_memory_map_and_core(tmp_path):
    """an505: vector table at the secure alias 0x10000000, RAM at 0x38000000, DSP (SMLAD)
    code; microbit: vector table at 0x0, stack from the top of its 16 KB, ARMv6-M code."""
    gen = generate(load_model(str(INT8)), "m")
    elfs = {b: build(gen, get_board(b), tmp_path / b) for b in NEW}
    assert (_symbol(elfs["mps2-an505"], "vectors"), _symbol(elfs["mps2-an505"], "_estack")) == (0x10000000, 0x38400000)
    assert (_symbol(elfs["microbit"], "vectors"), _symbol(elfs["microbit"], "_estack")) == (0x0, 0x20004000)
    assert re.search(r"\bsmla[bt]?[bdt]\b", _objdump(elfs["mps2-an505"]))
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(elfs["microbit"])], capture_output=True, text=True).stdout
    assert "Tag_CPU_arch: v6S-M" in attrs and "smlad" not in _objdump(elfs["microbit"])


def test_linker_script_memory_comes_from_the_board_file():
    """The MPS2 boards keep the map they always had (code at 0, SRAM at 0x20000000, 4 MB each)."""
    def memory(board):
        return re.findall(r"ORIGIN = (0x[0-9a-f]+), LENGTH = (\d+)", linker_script(get_board(board)))

    for b in ("mps2-an385", "mps2-an386", "mps2-an500"):
        assert memory(b) == [("0x00000000", "4194304"), ("0x20000000", "4194304")]
    assert memory("mps2-an505") == [("0x10000000", "4194304"), ("0x38000000", "4194304")]
    assert memory("microbit") == [("0x00000000", "262144"), ("0x20000000", "16384")]


def test_an_emulated_board_file_needs_its_memory_map(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text((BOARDS_DIR / "microbit.toml").read_text().replace("ram_origin = 0x20000000", ""))
    with pytest.raises(InputError, match="mine.toml: missing field 'ram_origin'"):
        get_board(str(p))
    p.write_text((BOARDS_DIR / "microbit.toml").read_text().replace("ram_origin = 0x20000000", "ram_origin = 0xfffff000"))
    with pytest.raises(InputError, match="ram_origin must be a word-aligned address"):
        get_board(str(p))


@needs_tools
def test_a_model_too_big_for_the_ram_is_refused_at_link_time(tmp_path):
    """12 KB of RAM: the arena fits but leaves under 4 KB for heap and stack; 8 KB: it does not fit."""
    gen = generate(load_model(str(INT8)), "m")
    text = (BOARDS_DIR / "microbit.toml").read_text()
    for ram, message in ((12_288, "less than 4 KB of RAM left above .data \\+ .bss"),
                         (8_192, "region `RAM' overflowed by")):
        p = tmp_path / f"m{ram}.toml"
        p.write_text(text.replace("ram_bytes = 16_384", f"ram_bytes = {ram}"))
        with pytest.raises(EdgekitError, match=f"the model does not fit microbit .*{ram:,} B RAM\\): {message}"):
            build(gen, get_board(str(p)), tmp_path / str(ram))


@pytest.mark.parametrize("board", NEW)
def test_deploy_refuses_them_by_name(tmp_path, board):
    r = edgekit_cli("deploy", INT8, "--board", board, "--no-build", "-o", tmp_path / "o")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"{board} has no firmware build (no [platformio] section): deploy needs a board with one (" in r.stderr
    assert f"`edgekit run` and `edgekit profile` take {board}" in r.stderr
    assert not (tmp_path / "o").exists()


@needs_tools
def test_a_real_st_soc_runs_and_deploys_offline(kws_eval, tmp_path):
    """netduinoplus2 (STM32F405RG): the model == TFLM on 20 inputs (`run`: semihosting);
    vector table at the flash alias 0x08000000, stack from the top of SRAM1; `deploy`
    builds the STM32F4 board support offline with PlatformIO (no semihosting in it: the
    clock tree, ek_board, USART2) and runs it in QEMU on a wav fed over USART2; its
    real-time plan is for the 168 MHz the firmware programs."""
    y = _run("netduinoplus2", kws_eval["x"][:20], tmp_path)
    assert_identical(kws_eval["tflm"][:20], y.reshape(20, -1), "netduinoplus2")
    board = get_board("netduinoplus2")
    elf = build(generate(load_model(str(INT8)), "m"), board, tmp_path / "b")
    assert (_symbol(elf, "vectors"), _symbol(elf, "_estack")) == (0x08000000, 0x20000000 + 112 * 1024)
    wav = sorted((SAMPLES / "wavs").glob("yes_*.wav"))[0]
    r = edgekit_cli("deploy", INT8, "--board", "netduinoplus2", "--wav", wav, "-o", tmp_path / "p", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert [c["label"] for c in res["clips"]] == ["yes"] and res["verification"].startswith("identical")
    assert res["realtime"]["real_time"] and res["realtime"]["clock_hz"] == 168_000_000
    fw = tmp_path / "p" / "firmware.elf"
    for sym in ("ek_soc_clock_init", "ek_soc_uart_putc", "ek_audio_push_byte"):
        _symbol(fw, sym)
    syms = subprocess.run(["arm-none-eabi-nm", str(fw)], capture_output=True, text=True).stdout
    assert "initialise_monitor_handles" not in syms   # nothing over semihosting


def test_st_soc_project_is_the_stm32f4_board_support_with_serial_pcm(tmp_path):
    """netduinoplus2's deploy project: the STM32F4 Discovery's board support (ek_stm32f4.c,
    ek_board.c, startup) with -DEK_BOARD -DEK_AUDIO_SERIAL and the serial main; no wav reader."""
    from edgekit.deploy.firmware import KWS, KwsConfig
    from edgekit.deploy.platformio import board_json, write_project

    board = get_board("netduinoplus2")
    assert board.emulated_soc and not get_board("mps2-an386").emulated_soc and board.soc == "stm32f4"
    labels = (SAMPLES / "kws_ref_model_int8.labels.txt").read_text().split()
    write_project(tmp_path / "p", board, generate(load_model(str(INT8)), "kws"), labels, KwsConfig(), "float")
    src = tmp_path / "p" / "src"
    assert (src / "baremetal" / "main.c").read_text() == (KWS / "ek_kws_serial_main.c").read_text()
    assert {f.name for f in (src / "baremetal").iterdir()} == {"main.c", "startup.c", "ek_board.c", "ek_board.h",
                                                              "ek_stm32f4.c", "ek_rp2_shared.h"}
    assert not (src / "ek_audio_wav.c").exists() and not (src / "arduino").exists()
    ini = (tmp_path / "p" / "platformio.ini").read_text()
    assert "-DEK_AUDIO_SERIAL" in ini and "-DEK_BOARD" in ini and "env:netduinoplus2_arduino" not in ini
    build = json.loads(board_json(board))["build"]
    assert (build["qemu_machine"], build["soc"], build["f_cpu"]) == ("netduinoplus2", "stm32f4", "168000000L")


@pytest.fixture(scope="module")
def st_vs_mps2(tmp_path_factory):
    """The deployed STM32F4 firmware for netduinoplus2 (PlatformIO project, `pio run`
    offline) and the mps2-an386 wav build of the same model (int8 sample, float front end)."""
    from edgekit.deploy.firmware import KwsConfig, build_kws
    from edgekit.deploy.platformio import pio_run, write_project

    d = tmp_path_factory.mktemp("st")
    labels = (SAMPLES / "kws_ref_model_int8.labels.txt").read_text().split()
    gen = generate(load_model(str(INT8)), "kws")
    write_project(d / "p", get_board("netduinoplus2"), gen, labels, KwsConfig(), "float")
    (d / "mps2").mkdir()
    return pio_run(d / "p"), build_kws(gen, get_board("mps2-an386"), "float", labels, d / "mps2")


def _st_and_mps2(st_vs_mps2, wavs: list[str], stream: bool) -> tuple[dict, dict]:
    from edgekit.deploy.firmware import run_kws

    st, mps2 = st_vs_mps2
    return (run_kws(st, get_board("netduinoplus2"), wavs, stream=stream, uart=True),
            run_kws(mps2, get_board("mps2-an386"), wavs, stream=stream))


@needs_tools
def test_st_soc_firmware_over_usart_matches_the_mps2_board(st_vs_mps2):
    """The sample wavs through the STM32F4 firmware in QEMU, fed over USART2: the same
    per-wav label and score and the same stream detections as on mps2-an386."""
    wavs = [str(p) for p in sorted((SAMPLES / "wavs").glob("*.wav"))]
    st, mps2 = _st_and_mps2(st_vs_mps2, wavs, stream=True)
    assert st["log"].startswith("edgekit kws: 16-bit 16 kHz PCM on USART2 RX (921600 baud), 168000000 Hz")
    assert len(st["clips"]) == len(wavs) >= 4 and st["clips"] == mps2["clips"]
    assert st["detections"] == mps2["detections"] and st["detections"]
    assert (st["stream_ms"], st["inferences"]) == (mps2["stream_ms"], mps2["inferences"])


@needs_tools
@pytest.mark.slow
def test_st_soc_labels_dev_wavs_as_the_mps2_board(st_vs_mps2):
    """Issue 18 item 5: 60 dev wavs through the STM32F4 firmware in QEMU netduinoplus2
    (clips over USART2, ~80 s: QEMU's USART takes one byte per main-loop turn) give the
    mps2-an386 run's label and score on every one."""
    from tests.conftest import asset

    wavs = [str(p) for p in sorted(asset("speech_commands_dev").glob("*/*.wav"))[::8]][:60]
    st, mps2 = _st_and_mps2(st_vs_mps2, wavs, stream=False)
    assert len(wavs) == 60 and st["clips"] == mps2["clips"]
