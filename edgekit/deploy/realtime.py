"""Real time by construction: the detector's inference stride is chosen so that the front
end and the model together keep the board's CPU load at or below `max_load`.

Costs are counted, then estimated. The KWS firmware, compiled with the TARGET board's
compiler flags (its core, FPU, DSP: the instruction stream the board will run), runs a
few seconds of noise in QEMU on an emulated board that can execute it (same core, or an
architecture that contains the target's), with the counting plugin, twice: once with
the model never due (the front end and the audio input only), once with the model every
PROBE_STRIDE_MS. Each run's instruction-class counts become cycles at the target's
clock and flash wait states (edgekit.toolchain.profile.estimate: an ESTIMATE, which
ignores caches, bus contention and interrupts; the audio input here is a wav read over
semihosting, not the board's DMA). A board whose PDM microphone edgekit's decimator
decodes (board file pdm_decimation) also has the decimator counted on one second of PDM,
built the same way: its cycles join the front end's on the core that runs the model
("software"), or are reported as the second core's load ("software-core1"). Then

    load(stride) = (front-end cycles per second + model cycles x 1000 / stride) / clock.

When the codebook layers miss max_load at every stride (even with a perfect flash cache),
the same weights as int8 layers (plain int8 kernels: same outputs, more flash, faster on
some cores) are counted too and taken if they fit (`choose_layers`); when neither does, a
real board is refused with both loads.

The averaging window of the detector stays; `min_count` shrinks to what the window can
hold at the chosen stride (a window of 600 ms holds 2 results at a 400 ms stride).
"""
from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.boards import Board, list_boards
from edgekit.errors import InputError

MAX_LOAD = 0.5            # default share of the clock the detector may take
MIN_STRIDE_MS = 200       # finer strides buy little (bench/kws_stream.py) and cost compute
MAX_STRIDE_MS = 1000      # the model sees the last second: a longer stride leaves audio unseen
STRIDE_STEP_MS = 20       # the front end's hop
PROBE_STRIDE_MS = 200
PROBE_SECONDS = 3

# Cores whose code another core's QEMU model also executes (ARMv6-M is a subset of
# ARMv7-M); tried after the same core.
_RUNS_ON = {"cortex-m0plus": ("cortex-m0", "cortex-m3"), "cortex-m0": ("cortex-m3",)}


@dataclass(frozen=True)
class Costs:
    """ESTIMATED cycles of the KWS firmware on a board, each as (with flash wait states on
    every fetch and flash read: no cache, an upper bound; without them: a perfect cache or
    flash accelerator, a lower bound). Equal on boards without wait states."""
    frontend_per_s: tuple[float, float]    # front end + audio input (+ PDM decimation), per second of audio
    inference: tuple[float, float]         # one run of the model and the detector's decision
    clock_hz: int
    counted_on: str                        # the QEMU machine that executed the target's code
    core1_per_s: tuple[float, float] = (0.0, 0.0)   # PDM decimation on a second core, per second

    def load(self, stride_ms: int, cached: bool = False) -> float:
        i = 1 if cached else 0
        return (self.frontend_per_s[i] + self.inference[i] * 1000 / stride_ms) / self.clock_hz

    def inference_ms(self, cached: bool = False) -> float:
        return self.inference[1 if cached else 0] / self.clock_hz * 1000

    def frontend_load(self, cached: bool = False) -> float:
        return self.frontend_per_s[1 if cached else 0] / self.clock_hz


def probe_board(board: Board) -> Board | None:
    """The target as QEMU can run it: the target's core, FPU, DSP, clock and wait states
    with an emulated board's machine and memory map (with >= 64 KB of RAM: the KWS
    firmware's wav app). None when no emulated board can execute the target's code."""
    if board.emulated:
        return board
    big = [b for b in list_boards()
           if b.emulated and b.ram_bytes >= 65536 and (b.fpu or b.emulator_fpu or not board.fpu)]
    for core in (board.core, *_RUNS_ON.get(board.core, ())):
        host = next((b for b in big if b.core == core and (b.dsp or not board.dsp)), None)
        if host is not None:
            return dataclasses.replace(
                host, name=f"{board.name} (counted on {host.emulator})", core=board.core, fpu=board.fpu,
                dsp=board.dsp, clock_hz=board.clock_hz, flash_wait_states=board.flash_wait_states,
                frontend=board.frontend, emulator_fpu=False)
    return None


def _noise_wav(path: Path, seconds: int) -> None:
    from edgekit.audio import MfccSpec, write_wav

    rate = MfccSpec().rate                 # the front ends' rate (the microfrontend's too)
    rng = np.random.default_rng(0)
    write_wav(str(path), (rng.standard_normal(seconds * rate) * 1000).astype(np.int16), rate)


def _stream_cycles_per_s(gen, probe: Board, labels: list[str], cfg, wav: Path,
                         workdir: Path, spec=None) -> tuple[np.ndarray, int]:
    """([cycles, cycles without flash stalls] per second of audio, inferences)."""
    from edgekit.deploy.firmware import build_kws, run_wavs

    workdir.mkdir()
    exe = build_kws(gen, probe, probe.frontend, labels, workdir, cfg, spec=spec)
    r = run_wavs(exe, probe, [str(wav)], count=True)
    if "cycle_estimate" not in r:
        raise RuntimeError(f"{probe.name}: the counting run gave no stream markers")
    e, seconds = r["cycle_estimate"], r["stream_ms"] / 1000
    return np.array([e["stream_cycles"], e["stream_core_cycles"]]) / seconds, r["inferences"]


def _pdm_cycles_per_s(probe: Board, workdir: Path) -> np.ndarray:
    """[cycles, cycles without flash stalls] edgekit's PDM decimator takes per second of
    audio: one second of PDM noise (its cost does not depend on the bits) through the
    decimator built for the target, counted between the markers around each call."""
    from edgekit.audio.pdm import PdmSpec
    from edgekit.deploy.firmware import build_pdm, run_pdm
    from edgekit.toolchain.profile import counter_diff, counting_plugin, estimate_cycles, read_counter_marks

    workdir.mkdir()
    exe = build_pdm(probe, workdir)
    plugin, counts = counting_plugin(exe, probe)
    spec = PdmSpec()
    run_pdm(exe, probe, np.random.default_rng(0).integers(0, 256, spec.pdm_rate // 8, dtype=np.uint8), [4096],
            plugin=plugin)
    marks = read_counter_marks(counts)
    calls = [estimate_cycles(counter_diff(a, b), probe) for a, b in zip(marks[::2], marks[1::2])]
    return np.array([sum(c["cycles"] for c in calls), sum(c["core_cycles"] for c in calls)])


def unmeasurable(board: Board) -> str | None:
    """Why the costs cannot be counted here, or None."""
    import shutil

    if board.is_host:
        return "the host has no clock to keep up with"
    if probe_board(board) is None:
        return f"no emulated board runs {board.core_label} code"
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if not shutil.which(t)]
    return f"{' and '.join(missing)} not found" if missing else None


def measure(gen, board: Board, labels: list[str], cfg, frontend: str | None = None,
            spec=None) -> Costs | str:
    """The target's costs (ESTIMATED cycles), or why they cannot be counted here.
    frontend: the C front end to build (default the board's; "micro" with its spec)."""
    why = unmeasurable(board)
    if why:
        return why
    probe = probe_board(board)
    if frontend:
        probe = dataclasses.replace(probe, frontend=frontend)
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "noise.wav"
        _noise_wav(wav, PROBE_SECONDS)
        never = dataclasses.replace(cfg, stride_ms=10 * PROBE_SECONDS * 1000)
        fe, _ = _stream_cycles_per_s(gen, probe, labels, never, wav, Path(d) / "frontend", spec)
        both, n = _stream_cycles_per_s(gen, probe, labels, dataclasses.replace(cfg, stride_ms=PROBE_STRIDE_MS),
                                       wav, Path(d) / "model", spec)
        pdm = (_pdm_cycles_per_s(probe, Path(d) / "pdm") if board.pdm_decimation.startswith("software")
               else np.zeros(2))
    if n < 1:
        raise RuntimeError(f"{probe.name}: the probe stream ran no inference")
    inf = (both - fe) * PROBE_SECONDS / n
    core1 = pdm if board.pdm_decimation == "software-core1" else np.zeros(2)
    fe = fe + (pdm if board.pdm_decimation == "software" else 0)
    return Costs((float(fe[0]), float(fe[1])), (float(inf[0]), float(inf[1])), board.clock_hz,
                 probe.emulator or "", (float(core1[0]), float(core1[1])))


def fitted(cfg, stride_ms: int):
    """cfg at stride_ms, min_count no more than the averaging window holds."""
    holds = max(1, math.ceil(cfg.average_ms / stride_ms))
    return dataclasses.replace(cfg, stride_ms=stride_ms, min_count=min(cfg.min_count, holds))


def choose_stride(costs: Costs, max_load: float, cached: bool = False) -> int | None:
    """The shortest stride (MIN..MAX_STRIDE_MS, steps of the hop) whose load is <= max_load."""
    for s in range(MIN_STRIDE_MS, MAX_STRIDE_MS + 1, STRIDE_STEP_MS):
        if costs.load(s, cached) <= max_load:
            return s
    return None


def fits_somewhere(costs: Costs, max_load: float) -> bool:
    """Some stride keeps the load <= max_load (with a perfect flash cache at worst)."""
    return choose_stride(costs, max_load, cached=True) is not None


def _at_1s(costs: Costs) -> str:
    return (f"{costs.inference_ms(True):.0f} ms per inference, {costs.load(MAX_STRIDE_MS, True) * 100:.0f} % "
            f"at a {MAX_STRIDE_MS} ms stride")


def choose_layers(codebook: Costs | str, int8, board: Board, cfg, max_load: float,
                  auto: bool) -> tuple[str, object, dict]:
    """("codebooks" or "int8", detector config, report): issue 18's rule. The codebook
    layers when some stride fits (or the stride is given, or nothing was counted, or int8
    is None: no codebook layers); else int8, a thunk returning the int8 layers' Costs (or
    None: the int8 build does not fit the board), taken when it fits, or when nothing fits
    and it loads the board less (a real board is then refused by `plan` with both loads)."""
    if int8 is None or not auto or isinstance(codebook, str) or fits_somewhere(codebook, max_load):
        return ("codebooks", *plan(codebook, board, cfg, max_load, auto))
    alt = int8()
    if alt is None:
        return ("codebooks", *plan(codebook, board, cfg, max_load, auto,
                                   tried="int8 layers do not fit the board's flash"))
    use = fits_somewhere(alt, max_load) or alt.load(MAX_STRIDE_MS, True) < codebook.load(MAX_STRIDE_MS, True)
    why = f"codebook layers {_at_1s(codebook)}; int8 layers {_at_1s(alt)}"
    cfg, report = plan(alt if use else codebook, board, cfg, max_load, auto, tried=why)
    return "int8" if use else "codebooks", cfg, {**report, "layers_why": why}


def plan(costs: Costs | str, board: Board, cfg, max_load: float, auto: bool,
         tried: str = "") -> tuple[object, dict]:
    """(detector config, report). auto: choose the stride; else keep cfg's and check it.
    The stride is chosen on the no-cache bound; if only the cached bound fits, on that one,
    with a warning that real time then rests on the board's flash cache. A real board that
    cannot keep up even with a perfect cache is refused with the numbers; an emulated one
    (QEMU does not run in real time) gets a warning instead. tried: what else was counted
    (choose_layers), added to the refusal."""
    if isinstance(costs, str):
        return cfg, {"checked": False, "why": f"load not estimated: {costs}"}
    cached = False
    stride = choose_stride(costs, max_load) if auto else cfg.stride_ms
    if stride is None or costs.load(stride) > max_load:
        cached = True
        stride = choose_stride(costs, max_load, cached=True) if auto else cfg.stride_ms
    fits = stride is not None and costs.load(stride, cached) <= max_load
    shown = stride if stride is not None else MAX_STRIDE_MS
    report = {"checked": True, "kind": "ESTIMATE (timing model, not measured)", "counted_on": costs.counted_on,
              "clock_hz": board.clock_hz, "max_load": max_load, "stride_ms": shown, "auto": auto,
              "load": round(costs.load(shown), 3), "load_cached": round(costs.load(shown, True), 3),
              "inference_ms": round(costs.inference_ms(), 1), "inference_ms_cached": round(costs.inference_ms(True), 1),
              "frontend_load": round(costs.frontend_load(), 3),
              "frontend_load_cached": round(costs.frontend_load(True), 3), "real_time": fits,
              "relies_on_flash_cache": fits and cached,
              "margin": round(max_load - costs.load(shown, cached), 3),
              **({"core1_load": round(costs.core1_per_s[0] / board.clock_hz, 3),
                  "core1_load_cached": round(costs.core1_per_s[1] / board.clock_hz, 3)}
                 if costs.core1_per_s[0] else {})}
    if fits and cached:
        report["warning"] = (f"real time on {board.name} at a {shown} ms stride rests on its flash cache: with every "
                             f"fetch paying the {board.flash_wait_states} wait states the load would be "
                             f"{costs.load(shown) * 100:.0f} %")
    if fits:
        return fitted(cfg, stride), report
    best = choose_stride(costs, 1.0, cached=True)
    msg = (f"{board.name} cannot keep up at {board.clock_hz / 1e6:g} MHz: one inference takes an estimated "
           f"{costs.inference_ms(True):.0f} ms and the front end {costs.frontend_load(True) * 100:.0f} % of the "
           f"clock (even with a perfect flash cache), so at a {shown} ms stride the load is "
           f"{costs.load(shown, True) * 100:.0f} % (limit {max_load * 100:.0f} %, --max-load)"
           + (f"; {best} ms would load it {costs.load(best, True) * 100:.0f} %" if best and best != shown else ""))
    if tried:
        msg += f" ({tried})"
    if not board.emulated:
        raise InputError(msg + ": use a smaller model, a faster board, or raise --max-load")
    report["warning"] = msg + " (QEMU runs it regardless; the stride is kept)"
    return cfg, report
