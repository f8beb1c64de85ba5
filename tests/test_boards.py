"""The one board registry: every --board takes the same names (or a board file), unknown
names list the known ones, a bad board file gets one clear line, and what is derived from
a board file (compiler flags, the PlatformIO board file) follows its fields."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.boards import get_board, list_boards
from edgekit.deploy.platformio import board_json
from edgekit.errors import InputError
from edgekit.resources import BOARDS_DIR
from tests.conftest import SAMPLES, edgekit_cli

INT8 = SAMPLES / "kws_ref_model_int8.tflite"
NAMES = sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def test_every_board_file_is_named_after_its_board():
    assert [b.name for b in list_boards()] == NAMES
    assert "host" in NAMES and {"mps2-an385", "mps2-an386", "mps2-an500"} <= set(NAMES)


def _cmd(command: str, board: str, tmp_path) -> list:
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 49, 10, 1), np.int8))
    return {"run": ["run", INT8, "--board", board, "--input", x, "--output", tmp_path / "y.npy"],
            "profile": ["profile", INT8, "--board", board],
            "deploy": ["deploy", INT8, "--board", board, "--no-build", "-o", tmp_path / "o"]}[command]


@pytest.mark.parametrize("command", ["run", "profile", "deploy"])
def test_unknown_board_names_the_known_ones(tmp_path, command):
    r = edgekit_cli(*_cmd(command, "esp32", tmp_path))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "unknown board 'esp32'; known: " + ", ".join(NAMES) in r.stderr


@pytest.mark.parametrize("command,board,message", [
    ("run", "nano33ble", "nano33ble is a real board: `edgekit run` runs on the host or an emulated board"),
    ("profile", "host", "`edgekit profile` counts instructions in QEMU: needs an emulated board"),
    ("deploy", "host", "host has no firmware build (no [platformio] section)"),
])
def test_a_board_a_command_cannot_use_is_refused_by_name(tmp_path, command, board, message):
    r = edgekit_cli(*_cmd(command, board, tmp_path))
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "y.npy").exists()


def _board_file(tmp_path, text: str):
    p = tmp_path / "mine.toml"
    p.write_text(text)
    return p


M4 = (BOARDS_DIR / "mps2-an386.toml").read_text()


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("clock_hz = 25_000_000", ""), "missing field 'clock_hz'"),
    (lambda t: t.replace("ram_bytes = 4_194_304", 'ram_bytes = "4 MB"'), "field 'ram_bytes' must be int, got '4 MB'"),
    (lambda t: t.replace('core = "cortex-m4"', 'core = "cortex-m99"'), "unknown core 'cortex-m99'; known: host, "),
    (lambda t: t.replace('core = "cortex-m4"', 'core = "cortex-m3"'), "cortex-m3 has no FPU (fpu = false)"),
    (lambda t: t.replace('emulator = "mps2-an386"', "").split("[platformio]")[0],
     "a board needs an 'emulator' (QEMU machine) or a [platformio] section"),
    (lambda t: t.replace("flash_bytes", "flash_bytes = = "), "not valid TOML"),
])
def test_a_bad_board_file_gets_one_clear_line(tmp_path, edit, message):
    p = _board_file(tmp_path, edit(M4))
    with pytest.raises(InputError, match="board file .*mine.toml: "):
        get_board(str(p))
    r = edgekit_cli(*_cmd("deploy", str(p), tmp_path))
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_compiler_flags_follow_core_fpu_and_dsp(tmp_path):
    assert get_board("host").cflags == ()
    m4 = get_board("mps2-an386").cflags
    assert m4[:3] == ("-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
    assert get_board("mps2-an385").cflags[:2] == ("-mcpu=cortex-m3", "-mfloat-abi=soft")
    assert get_board("rpipico").cflags[:2] == ("-mcpu=cortex-m0plus", "-mfloat-abi=soft")
    m33 = M4.replace('core = "cortex-m4"', 'core = "cortex-m33"')
    assert get_board(str(_board_file(tmp_path, m33))).cflags[:3] == (
        "-mcpu=cortex-m33", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16")
    no_dsp = m33.replace("dsp = true", "dsp = false").replace("fpu = true", "fpu = false").replace(
        'frontend = "float"', 'frontend = "fixed"')
    assert get_board(str(_board_file(tmp_path, no_dsp))).cflags[:2] == ("-mcpu=cortex-m33+nodsp", "-mfloat-abi=soft")


@pytest.mark.parametrize("board", [b for b in list_boards() if b.baremetal], ids=lambda b: b.name)
def test_platformio_board_file_is_derived_from_the_board_file(board):
    j = json.loads(board_json(board))
    assert j["build"]["cpu"] == board.core and j["build"]["qemu_machine"] == (board.emulator or "")
    assert j["build"]["f_cpu"] == f"{board.clock_hz}L"
    assert ("-mfloat-abi=hard" in j["build"]["float_flags"]) == board.fpu
    assert (j["upload"]["maximum_size"], j["upload"]["maximum_ram_size"]) == (board.flash_bytes, board.ram_bytes)


def test_run_takes_a_users_own_board_file(tmp_path):
    """A copy of the host board under another name, by path: the model runs, == reference."""
    p = _board_file(tmp_path, (BOARDS_DIR / "host.toml").read_text().replace('name = "host"', 'name = "my-pc"'))
    x = np.random.default_rng(0).integers(-128, 128, (3, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    r = edgekit_cli("run", INT8, "--board", p, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
                    "--check", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["identical_to_reference"] is True
