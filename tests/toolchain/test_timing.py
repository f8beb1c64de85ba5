"""Timing model (issue 18, item 1): the QEMU plugin counts executed instructions per class,
exactly, and `edgekit profile` / `edgekit deploy` report an ESTIMATE of cycles and ms from
them (edgekit/toolchain/profile.py TIMINGS: Arm TRM cycle tables, flash wait states from the
board file). Real arm-none-eabi-gcc and QEMU, no mocks; only deterministic instruction counts
and the arithmetic of the model are asserted, never wall-clock time."""
from __future__ import annotations

import json

import pytest

from edgekit.boards import get_board, list_boards
from edgekit.errors import InputError
from edgekit.resources import BOARDS_DIR
from edgekit.toolchain.cbuild import build, run_program
from edgekit.toolchain.profile import (TIMING_CLASSES, TIMINGS, counter_diff, counting_plugin, estimate_cycles,
                                       has_tools, read_counter_marks, read_marks)
from tests.conftest import SAMPLES, edgekit_cli

INT8 = SAMPLES / "kws_ref_model_int8.tflite"
needs_tools = pytest.mark.skipif(not has_tools(), reason="needs arm-none-eabi-gcc and qemu-system-arm")

# A known instruction mix between two marker calls: ek_layer_mark (its `bx lr` is counted
# after mark 0, as in the firmware), a 10-iteration loop of one instruction per class, the
# call of mark 1. ldr r3, =ek_buf is the one data read from flash (the literal pool).
MIX_C = r"""
int ek_buf[4] = {3, 5, 0, 0};
void ek_mix(void);
__asm__(
    ".syntax unified\n.thumb\n.text\n"
    ".global ek_layer_mark\n.type ek_layer_mark, %function\n.thumb_func\n"
    "ek_layer_mark:\n  bx lr\n"
    ".global ek_mix\n.type ek_mix, %function\n.thumb_func\n"
    "ek_mix:\n"
    "  push {r4-r7, lr}\n"
    "  movs r0, #0\n"
    "  bl ek_layer_mark\n"
    "  ldr r3, =ek_buf\n"            /* load (flash)                        */
    "  movs r2, #10\n"               /* alu                                 */
    "1:\n"
    "  ldr r4, [r3]\n"               /* load                                */
    "  ldr r5, [r3, #4]\n"           /* load, pipelined after a load (M3/M4) */
    "  str r4, [r3, #8]\n"           /* store                               */
    "  muls r4, r5, r4\n"            /* mul                                 */
    "  mla r6, r4, r5, r6\n"         /* mac                                 */
    "  smull r4, r5, r4, r5\n"       /* mull                                */
    "  umlal r4, r5, r2, r2\n"       /* mlal                                */
    "  sdiv r6, r6, r2\n"            /* div                                 */
    "  smlad r7, r4, r5, r7\n"       /* mac                                 */
    "  uxtb r4, r4\n"                /* dsp                                 */
    "  ldrd r4, r5, [r3]\n"          /* ldstm, 2 registers                  */
    "  push {r4, r5}\n"              /* ldstm, 2                            */
    "  pop {r4, r5}\n"               /* ldstm, 2                            */
    "  subs r2, #1\n"                /* alu                                 */
    "  bne 1b\n"                     /* branch: taken 9 times of 10         */
    "  movs r0, #1\n"                /* alu                                 */
    "  bl ek_layer_mark\n"           /* call (taken)                        */
    "  pop {r4-r7, pc}\n"
    ".ltorg\n");
int main(void) {
    ek_mix();
    return 0;
}
"""

# Worked out by hand from MIX_C: 15 instructions per iteration, 10 iterations, plus bx lr,
# ldr=, movs, movs, bl.
MIX_CLASSES = {"alu": 12, "dsp": 10, "mul": 10, "mac": 20, "mull": 10, "mlal": 10, "div": 10, "load": 21,
               "store": 10, "ldstm": 30, "branch": 11, "call": 1}
MIX_EVENTS = {"taken_branch": 10,   # bx lr of mark 0 + bne 9 times
              "taken_call": 1,      # bl ek_layer_mark (mark 1)
              "regs": 60,           # 3 x 2 registers x 10
              "ldr_pipe": 10,       # ldr r5 in each iteration (ldr r4 follows movs or the loop branch)
              "bytes": 432,         # 42 per iteration (mla/smull/umlal/sdiv/smlad/ldrd are 32-bit), + 12
              "m7_pairs": 32}       # greedy pipe pairs: 4 in the first block, 3 x 9 in the loop, 1 at the end


def _an386_with(line: str) -> str:
    text = (BOARDS_DIR / "mps2-an386.toml").read_text()
    old = next(v for v in text.splitlines() if v.startswith("flash_wait_states"))
    return text.replace(old, line)


def _run_mix(tmp_path, board):
    (tmp_path / "mix.c").write_text(MIX_C)
    elf = build(None, board, tmp_path, tmp_path / "mix.c")
    plugin, out = counting_plugin(elf, board)
    run_program(elf, board, [], "the mix", plugin=plugin)
    marks, counters = read_marks(out), read_counter_marks(out)
    assert len(marks) == len(counters) == 2
    return marks[1] - marks[0], counter_diff(counters[0], counters[1])


@needs_tools
def test_known_mix_gives_the_hand_counted_classes_and_the_table_cycles(tmp_path):
    m4 = get_board("mps2-an386")
    insns, c = _run_mix(tmp_path, m4)
    assert insns == sum(MIX_CLASSES.values()) == 155
    assert {k: c[k] for k in TIMING_CLASSES if c[k]} == MIX_CLASSES
    assert {k: v for k, v in c.items() if k.startswith("taken_") and v} == {"taken_branch": 10, "taken_call": 1}
    assert {k: c[k] for k in MIX_EVENTS} == MIX_EVENTS
    assert c["flash_reads"] == 0          # counted only for boards with flash wait states
    # the Cortex-M4 estimate is the table applied to those counts
    t = TIMINGS["cortex-m4"]
    expected = (sum(n * t.base[k] for k, n in MIX_CLASSES.items()) + 10 * t.taken["branch"] + t.taken["call"]
                + 60 * t.per_reg - 10 * t.ldr_pipe)
    # by hand: 236 base (sdiv 7, 21 loads x 2) + 11 taken x P=2 + 60 registers - 10 pipelined loads
    assert estimate_cycles(c, m4) == {"cycles": expected, "core_cycles": expected, "flash_stall_cycles": 0}
    assert expected == 308
    # the other cores' tables on the same counts (ARMv6-M cannot run this code: no table check)
    m3 = get_board("mps2-an385")
    assert estimate_cycles(c, m3)["cycles"] == 308 + 20 * (2 - 1) + 10 * (4 - 1) + 10 * (5.5 - 1)  # MLA, SMULL, SMLAL
    m7 = estimate_cycles(c, get_board("mps2-an500"))
    single = 155 + 10 * (7 - 1) + 11 * 1 + 60                    # 1 each, div 7, taken +1, 1 + N
    assert (m7["cycles_single_issue"], m7["cycles_all_pairs_dual_issued"], m7["cycles"]) == (single, single - 32,
                                                                                           single - 16)


@needs_tools
def test_flash_wait_states_charge_fetches_and_flash_reads(tmp_path):
    (tmp_path / "ws2.toml").write_text(_an386_with("flash_wait_states = 2").replace('"mps2-an386"', '"ws2"', 1))
    board = get_board(str(tmp_path / "ws2.toml"))
    (tmp_path / "b").mkdir()
    _, c = _run_mix(tmp_path / "b", board)
    assert c["flash_reads"] == 1          # the literal pool; ek_buf is in RAM
    e = estimate_cycles(c, board)
    assert e["flash_stall_cycles"] == 2 * (432 / 4 + 1) and e["cycles"] == 308 + 218


def _profile(board: str) -> dict:
    r = edgekit_cli("profile", INT8, "--board", board, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@needs_tools
@pytest.mark.parametrize("board,core,clock", [("mps2-an386", "cortex-m4", 25e6), ("mps2-an385", "cortex-m3", 25e6)])
def test_profile_reports_the_estimate_beside_the_exact_counts(board, core, clock):
    p = _profile(board)
    e = p["cycle_estimate"]
    assert e["kind"].startswith("ESTIMATE") and e["core"] == core and e["flash_wait_states"] == 0
    assert sum(e["classes"].values()) == p["instructions"]            # the classes add up, exactly
    assert set(e["classes"]) == set(TIMING_CLASSES)
    # the reported figures are the table applied to the reported counts
    counts = {**e["classes"], **{f"taken_{k}": v for k, v in e["taken"].items()}, **e["events"]}
    assert e["cycles"] == round(estimate_cycles(counts, get_board(board))["cycles"])
    assert e["ms"] == round(e["cycles"] / clock * 1000, 3)
    assert abs(sum(r["est_cycles"] for r in p["layers"]) - e["cycles"]) <= len(p["layers"])
    assert "TRM" in e["timing_source"] and "cache" in e["ignores"]
    assert e["classes"]["mac"] > 0 and e["taken"]["branch"] > 0 and e["events"]["regs"] > 0
    if core == "cortex-m4":     # SIMD kernels: SMLAD and SXTB16 carry the MACs
        assert e["classes"]["dsp"] > 0.1 * p["instructions"] and 1.1 < e["cycles_per_instruction"] < 1.5
    else:                       # no DSP extension: MLA at 2 cycles, more loads
        assert e["classes"]["dsp"] < 0.02 * p["instructions"] and 1.3 < e["cycles_per_instruction"] < 1.9


@needs_tools
def test_profile_table_shows_the_estimate_once_labelled():
    r = edgekit_cli("profile", INT8, "--board", "mps2-an386")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())     # as printed, whatever the terminal width
    assert "instructions per layer on mps2-an386 (Cortex-M4F, -O2, QEMU, exact)" in out
    assert "ESTIMATED cycles per layer (Cortex-M4F, 25 MHz, 0 flash WS)" in out
    assert out.count("ESTIMATE: Arm Cortex-M4 TRM") == 1 and out.count("Ignores") == 1
    assert "instruction classes (exact):" in out


@needs_tools
def test_deploy_json_carries_the_estimate(tmp_path):
    wav = sorted(SAMPLES.glob("wavs/yes_*.wav"))[0]
    r = edgekit_cli("deploy", INT8, "--board", "mps2-an386", "--wav", wav, "-o", tmp_path / "p", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    e = res["cycle_estimate"]
    assert e["kind"].startswith("ESTIMATE") and e["clock_hz"] == 25_000_000
    seconds = res["stream_ms"] / 1000
    stream_insns = sum(e["classes"].values())
    assert int(stream_insns / seconds) == res["instructions_per_second_audio"]   # same counter, same stream
    assert e["cycles_per_second_audio"] == round(e["stream_cycles"] / seconds)
    assert e["realtime_load"] == round(e["cycles_per_second_audio"] / 25_000_000, 3)
    assert e["ms_per_second_audio"] == round(e["cycles_per_second_audio"] / 25_000, 1)
    assert e["classes"]["fp"] > 0            # the float front end runs on the M4F's FPU
    assert res["realtime_load"] == round(res["instructions_per_second_audio"] / 25_000_000, 3)   # unchanged


def test_board_files_flash_wait_states():
    ws = {b.name: b.flash_wait_states for b in list_boards()}
    assert ws["mps2-an386"] == ws["mps2-an385"] == ws["mps2-an500"] == ws["mps2-an505"] == 0
    assert ws["nucleo_l4r5zi"] == 5 and ws["disco_f746ng"] == 7
    assert ws["netduinoplus2"] == ws["disco_f407vg"] == 5   # both at 168 MHz


def test_bad_flash_wait_states_is_refused(tmp_path):
    (tmp_path / "b.toml").write_text(_an386_with("flash_wait_states = -1"))
    with pytest.raises(InputError, match="flash_wait_states must be 0..15"):
        get_board(str(tmp_path / "b.toml"))
    (tmp_path / "c.toml").write_text(_an386_with('flash_wait_states = "5"'))
    with pytest.raises(InputError, match="flash_wait_states"):
        get_board(str(tmp_path / "c.toml"))
