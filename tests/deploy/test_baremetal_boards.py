"""Every real board in the registry builds offline with edgekit's bare-metal framework:
the deploy project of the sample model, `pio run` with PlatformIO's real build (no
registry, no mocks), flash and RAM from arm-none-eabi-size within the board's limits, the
vector table at the board file's flash origin and the stack at the top of its RAM, the
SoC's interrupt vectors after the system ones. RP2040: the boot2 block at the start of
flash with the CRC the bootrom checks. What runs only on the hardware (clock tree, UART,
microphone) is not verified here (README, boards)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from edgekit.boards import get_board, list_boards
from edgekit.codegen.emit import generate
from edgekit.deploy import boot2
from edgekit.deploy.firmware import KwsConfig
from edgekit.deploy.platformio import pio_run, write_project
from edgekit.errors import EdgekitError
from edgekit.importers import load_model
from edgekit.resources import BOARDS_DIR
from edgekit.toolchain.profile import elf_sizes
from tests.conftest import SAMPLES

INT8 = str(SAMPLES / "kws_ref_model_int8.tflite")
LABELS = (SAMPLES / "kws_ref_model_int8.labels.txt").read_text().split()
REAL = [b for b in list_boards() if b.pio_platform and not b.emulated]
needs_arm = pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"), reason="needs arm-none-eabi-gcc")


@pytest.fixture(scope="module")
def gen():
    return generate(load_model(INT8), "kws")


def _build(board, gen, out: Path) -> Path:
    out.mkdir(parents=True)
    write_project(out, board, gen, LABELS, KwsConfig(), board.frontend)
    return pio_run(out)


def _symbols(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {ln.split()[-1]: int(ln.split()[0], 16) for ln in out.splitlines() if len(ln.split()) == 3}


def test_every_real_board_is_built_bare_metal_by_default():
    assert {"disco_f407vg", "nano33ble", "rpipico", "rpipico2", "disco_f746ng", "nucleo_l4r5zi"} <= {b.name for b in REAL}
    assert all(b.baremetal and b.soc and not b.pio_framework for b in REAL)


@needs_arm
@pytest.mark.parametrize("board", REAL, ids=lambda b: b.name)
def test_real_board_builds_offline_and_fits(tmp_path, gen, board):
    elf = _build(board, gen, tmp_path / "p")
    size = elf_sizes(elf)
    assert 0 < size["flash_bytes"] <= board.flash_bytes and 0 < size["static_ram_bytes"] <= board.ram_bytes, size
    sym = _symbols(elf)
    boot = 256 if board.soc == "rp2040" else 0
    assert sym["vectors"] == board.flash_origin + boot
    # the SoC's interrupt vectors follow the 16 system ones (the RP2040 takes none: its
    # microphone is read by core 1)
    assert sym.get("irq_vectors", sym["vectors"] + 64) == sym["vectors"] + 64
    assert sym["_estack"] == board.ram_origin + board.ram_bytes
    for name in ("Reset_Handler", "SysTick_Handler", "ek_soc_clock_init", "ek_soc_uart_init", "ek_soc_audio_start",
                 "main", "ek_kws_hop", "kws_invoke"):
        assert name in sym, name
    assert ("ek_pdm_process" in sym) == board.pdm_decimation.startswith("software")


@needs_arm
def test_rp2040_boot2_block(tmp_path, gen):
    """256 bytes at 0x10000000: the assembled boot2, zero padding, and its CRC-32/MPEG-2 as the
    bootrom checks it; checked with the CRC's own catalogue value and its residue property (the
    CRC of a message followed by its CRC, big-endian, is 0 for this unreflected CRC)."""
    assert boot2.crc32_mpeg2(b"123456789") == 0x0376E6E7
    code = boot2.assemble()
    block = boot2.image(code)
    assert len(block) == 256 and block[:len(code)] == code
    body, crc = block[:252], int.from_bytes(block[252:], "little")
    assert boot2.crc32_mpeg2(body + crc.to_bytes(4, "big")) == 0
    elf = _build(get_board("rpipico"), gen, tmp_path / "p")
    dump = subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".boot2", str(elf), str(tmp_path / "b2")],
                          capture_output=True, text=True)
    assert dump.returncode == 0 and (tmp_path / "b2").read_bytes() == block


@needs_arm
def test_rp2350_image_def_block(tmp_path, gen):
    """The Pico 2's boot block: the five words of the smallest IMAGE_DEF (RP2350 datasheet
    5.9: start marker, IMAGE_TYPE = secure Arm executable for the RP2350, LAST item, link,
    end marker) within the first 4 KB of flash, after the vector table."""
    elf = _build(get_board("rpipico2"), gen, tmp_path / "p")
    at = _symbols(elf)["image_def"]
    assert 0x10000000 < at < 0x10001000 - 20
    r = subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".isr_vector", str(elf), str(tmp_path / "v")],
                       capture_output=True, text=True)
    assert r.returncode == 0
    words = [int.from_bytes((tmp_path / "v").read_bytes()[at - 0x10000000:][i:i + 4], "little") for i in range(0, 20, 4)]
    assert words == [0xFFFFDED3, 0x10210142, 0x000001FF, 0, 0xAB123579]


@needs_arm
def test_clock_hz_drives_the_pll(tmp_path, gen):
    """The board file's clock_hz is the one clock fact: the SoC code derives its PLL from it and
    refuses at compile time a clock its PLL cannot make (STM32F407 above 168 MHz)."""
    text = (BOARDS_DIR / "disco_f407vg.toml").read_text().replace("clock_hz = 168_000_000", "clock_hz = 200_000_000")
    (tmp_path / "fast.toml").write_text(text)
    with pytest.raises(EdgekitError, match="pio run failed"):
        _build(get_board(str(tmp_path / "fast.toml")), gen, tmp_path / "p")
    assert "F_CPU: 25-168 MHz" in (tmp_path / "p" / "pio-build.log").read_text()
