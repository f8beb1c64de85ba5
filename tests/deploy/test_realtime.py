"""Real time by construction (edgekit/deploy/realtime.py): the stride deploy chooses for
the board's clock, from costs counted in QEMU with the target's own compiler flags."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgekit.boards import get_board
from edgekit.codegen.emit import generate
from edgekit.deploy import realtime as rt
from edgekit.deploy.firmware import KwsConfig
from edgekit.errors import InputError
from edgekit.importers import load_model
from edgekit.resources import BOARDS_DIR
from edgekit.toolchain.profile import has_tools, profile
from tests.deploy.test_deploy_cli import INT8, edgekit

LABELS = "down go left no off on right stop up yes _silence_ _unknown_".split()
needs_tools = pytest.mark.skipif(not has_tools(), reason="needs arm-none-eabi-gcc and qemu-system-arm")


def costs(fe: float, inf: float, clock: int = 25_000_000, cached: tuple[float, float] | None = None) -> rt.Costs:
    c = cached or (fe, inf)
    return rt.Costs((fe, c[0]), (inf, c[1]), clock, "mps2-an386")


def test_load_and_the_shortest_stride_that_fits():
    c = costs(fe=2_500_000, inf=5_000_000)                  # front end 10 %, 200 ms per inference
    assert c.load(1000) == pytest.approx(0.3) and c.load(200) == pytest.approx(1.1)
    s = rt.choose_stride(c, 0.5)
    assert s == 500 and c.load(s) <= 0.5 < c.load(s - rt.STRIDE_STEP_MS)
    assert rt.choose_stride(c, 0.2) is None                  # the front end alone is 10 %, 1 s stride 30 %


def test_min_count_shrinks_to_what_the_window_holds():
    cfg = KwsConfig(average_ms=600, min_count=3)
    assert rt.fitted(cfg, 200).min_count == 3
    assert rt.fitted(cfg, 400) == dataclasses.replace(cfg, stride_ms=400, min_count=2)
    assert rt.fitted(cfg, 600).min_count == 1 and rt.fitted(cfg, 1000).min_count == 1


def test_a_real_board_that_cannot_keep_up_is_refused_with_the_numbers():
    nano = get_board("nano33ble")
    with pytest.raises(InputError) as e:
        rt.plan(costs(fe=10_000_000, inf=60_000_000, clock=nano.clock_hz), nano, KwsConfig(), 0.5, auto=True)
    msg = str(e.value)
    assert "nano33ble cannot keep up at 64 MHz" in msg and "938 ms" in msg and "limit 50 %" in msg
    # an emulated board is warned instead (QEMU runs it regardless) and keeps the stride
    mps2 = get_board("mps2-an386")
    cfg, rep = rt.plan(costs(fe=10_000_000, inf=60_000_000), mps2, KwsConfig(), 0.5, auto=True)
    assert cfg == KwsConfig() and not rep["real_time"] and "cannot keep up" in rep["warning"]


def test_a_given_stride_is_checked_not_changed():
    mps2 = get_board("mps2-an386")
    cfg, rep = rt.plan(costs(fe=2_500_000, inf=5_000_000), mps2, KwsConfig(stride_ms=800), 0.5, auto=False)
    assert cfg.stride_ms == 800 and rep["real_time"] and rep["load"] == pytest.approx(0.1 + 0.25)


def test_real_time_that_rests_on_the_flash_cache_says_so():
    nucleo = get_board("nucleo_l4r5zi")
    c = costs(fe=18_000_000, inf=64_000_000, clock=nucleo.clock_hz, cached=(4_500_000, 14_500_000))
    cfg, rep = rt.plan(c, nucleo, KwsConfig(), 0.5, auto=True)
    assert rep["real_time"] and rep["relies_on_flash_cache"] and "flash cache" in rep["warning"]
    assert c.load(cfg.stride_ms, cached=True) <= 0.5 < c.load(cfg.stride_ms)


def test_probe_boards_run_the_targets_code():
    nano = rt.probe_board(get_board("nano33ble"))                # Cortex-M4F: on the M4F MPS2 image
    assert nano.emulator == "mps2-an386" and nano.clock_hz == 64_000_000 and nano.cflags == get_board(
        "nano33ble").cflags
    pico = rt.probe_board(get_board("rpipico"))                  # ARMv6-M code on the Cortex-M3 image
    assert pico.emulator == "mps2-an385" and pico.core == "cortex-m0plus" and "-mcpu=cortex-m0plus" in pico.cflags
    disco = rt.probe_board(get_board("disco_f746ng"))            # hard-float M7F code on QEMU's M7 (emulator_fpu)
    assert disco.emulator == "mps2-an500" and "-mfpu=fpv5-d16" in disco.cflags and disco.flash_wait_states == 7
    assert rt.unmeasurable(get_board("host")) is not None


@needs_tools
def test_counted_inference_matches_the_profile_of_the_model():
    """The probe's model cost (two counted KWS streams, their difference per inference) is
    the profiled model's estimate plus the detector's decision: within 2 %."""
    g = load_model(INT8)
    board = get_board("mps2-an386")
    c = rt.measure(generate(g, "kws"), board, LABELS, KwsConfig())
    p = profile(g, board, np.zeros((1, 49, 10, 1), np.int8))["cycle_estimate"]["cycles"]
    assert p <= c.inference[0] <= 1.02 * p, (c.inference, p)
    assert 0.05 < c.frontend_load() < 0.4                    # the float front end: ~18 % of 25 MHz


@needs_tools
def test_deploy_refuses_a_board_too_slow_for_the_model(tmp_path):
    slow = (BOARDS_DIR / "nano33ble.toml").read_text().replace("clock_hz = 64_000_000", "clock_hz = 8_000_000")
    assert "clock_hz = 8_000_000" in slow
    (tmp_path / "slow.toml").write_text(slow.replace('name = "nano33ble"', 'name = "slow"'))
    out = tmp_path / "proj"
    r = edgekit("deploy", INT8, "--board", tmp_path / "slow.toml", "--no-build", "-o", out)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "slow cannot keep up at 8 MHz" in r.stderr and "--max-load" in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".edgekit-*"))


@needs_tools
def test_software_pdm_decimation_is_in_the_plan(tmp_path):
    """A board that decimates its PDM microphone in software pays for it: on the STM32F407
    (decimator in the DMA interrupt) its counted cycles join the front end's; on the RP2040
    (decimator on core 1) they are the second core's load; the nRF52840 decimates in hardware."""
    g = generate(load_model(INT8), "kws")
    f407, pico = get_board("disco_f407vg"), get_board("rpipico")
    pdm = {b.name: rt._pdm_cycles_per_s(rt.probe_board(b), tmp_path / b.name) for b in (f407, pico)}
    assert 10e6 < pdm["disco_f407vg"][1] < 40e6 and 40e6 < pdm["rpipico"][1] < 120e6, pdm   # core cycles / s
    hw = (BOARDS_DIR / "disco_f407vg.toml").read_text().replace('pdm_decimation = "software"', 'pdm_decimation = "hardware"')
    (tmp_path / "hw.toml").write_text(hw)
    with_pdm, without = (rt.measure(g, b, LABELS, KwsConfig()) for b in (f407, get_board(str(tmp_path / "hw.toml"))))
    assert with_pdm.frontend_per_s[1] - without.frontend_per_s[1] == pytest.approx(pdm["disco_f407vg"][1], rel=1e-6)
    assert with_pdm.core1_per_s == without.core1_per_s == (0.0, 0.0)
    _, rep = rt.plan(dataclasses.replace(costs(2e6, 10e6, pico.clock_hz), core1_per_s=tuple(pdm["rpipico"])),
                     pico, KwsConfig(), 0.5, auto=True)
    assert rep["core1_load"] == round(pdm["rpipico"][0] / pico.clock_hz, 3)


def _codebook_graph(g):
    """The int8 sample with every weight rounded to 8 levels: codebook layers without a
    synthesis (the costs matter here, not the accuracy)."""
    from edgekit.ir.ops import WEIGHTED_OPS

    tensors = dict(g.tensors)
    for n in g.nodes:
        if n.op in WEIGHTED_OPS:
            t = g.tensor(n.inputs[1])
            tensors[t.name] = dataclasses.replace(t, data=(np.clip(np.round(t.data / 32), -4, 3) * 32).astype(t.data.dtype))
    return g.replace(tensors=tensors)


@needs_tools
@pytest.mark.slow                                      # four counted streams: ~1.5 min
def test_int8_layers_replace_codebooks_only_when_they_alone_keep_up():
    """Issue 18's rule on the RP2040 (its ARMv6-M code counted in QEMU): the codebook layers
    while some stride keeps up; at a clock where only the int8 layers do, those; below
    both, refused with both loads."""
    q = _codebook_graph(load_model(INT8))
    gens = {"codebooks": generate(q, "kws"), "int8": generate(q, "kws", codebooks=False)}
    assert gens["codebooks"].weight_bytes < gens["int8"].weight_bytes
    pico = get_board("rpipico")
    c = {k: rt.measure(g, pico, LABELS, KwsConfig()) for k, g in gens.items()}
    need = {k: v.load(rt.MAX_STRIDE_MS, True) * v.clock_hz / 0.5 for k, v in c.items()}   # Hz for 50 % at 1 s

    def at(hz: float, int8=None):
        cc = {k: dataclasses.replace(v, clock_hz=int(hz)) for k, v in c.items()}
        return rt.choose_layers(cc["codebooks"], int8 or (lambda: cc["int8"]), dataclasses.replace(pico, clock_hz=int(hz)),
                                KwsConfig(), 0.5, auto=True)

    def never():
        raise AssertionError("int8 layers counted although the codebooks keep up")

    layers, _, rep = at(need["codebooks"] * 1.01, never)
    assert layers == "codebooks" and rep["real_time"] and rep["margin"] >= 0
    slower, faster = sorted(need, key=need.get, reverse=True)
    assert (slower, faster) == ("codebooks", "int8"), need      # the M0+'s int8 kernels are the faster ones
    layers, cfg, rep = at((need["codebooks"] + need["int8"]) / 2)
    assert layers == "int8" and rep["real_time"] and cfg.stride_ms == rep["stride_ms"] > 200
    assert "codebook layers" in rep["layers_why"] and "int8 layers" in rep["layers_why"]
    with pytest.raises(InputError) as e:
        at(need["int8"] * 0.9)
    assert "cannot keep up" in str(e.value) and "codebook layers" in str(e.value) and "int8 layers" in str(e.value)
