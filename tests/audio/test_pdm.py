"""The PDM-to-PCM decimator: C (ek_pdm.c, host build) identical to its NumPy twin on PDM
fed in odd chunks; the decimated audio vs the PCM the PDM was made from (SNR in 100 Hz -
7 kHz); and KWS labels on decimated audio vs on the original dev wavs.

Test PDM: edgekit.audio.pdm.modulate (4th-order 1-bit sigma-delta at 1.024 MHz, after
band-limited interpolation), full scale mapped to a +-0.5 density swing, so the decimator
runs with gain 2 to give back the original level."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from edgekit.audio import mfcc_float, quantize_features, read_wav
from edgekit.audio.pdm import PdmSpec, decimate, modulate
from edgekit.boards import get_board
from edgekit.deploy.firmware import build_pdm, run_pdm
from edgekit.toolchain.profile import has_tools
from tests.conftest import ASSETS, SAMPLES

SPEC = PdmSpec(gain=2.0)
DEPTH = 0.5


def dev_rows() -> list[dict]:
    lab = ASSETS / "speech_commands_dev" / "labels.csv"
    if not lab.exists():
        pytest.skip(f"{lab} not available (needs ../shared/assets)")
    return list(csv.DictReader(open(lab)))


def dev_clip(row: dict) -> np.ndarray:
    x = read_wav(str(ASSETS / "speech_commands_dev" / row["file"]))
    return np.pad(x, (0, max(0, 16000 - len(x))))[:16000]


def first_diff(a: np.ndarray, b: np.ndarray) -> str:
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    bad = np.flatnonzero(a != b)
    return "" if not len(bad) else f"index {bad[0]}: expected {b[bad[0]]}, got {a[bad[0]]}"


@pytest.fixture(scope="module")
def clips():
    """A 1 kHz sine at -1 dBFS and 3 dev wavs (yes, no, _silence_) scaled to a -1 dBFS peak
    (as a microphone's gain stage would put speech), and their PDM (one batch)."""
    rows = dev_rows()
    pick = [next(r for r in rows if r["label"] == lb) for lb in ("yes", "no", "_silence_")]
    t = np.arange(16000) / 16000
    xs = [np.sin(2 * np.pi * 1000 * t)] + [dev_clip(r).astype(np.float64) for r in pick]
    x = np.stack([np.round(c * (0.9 * 32767 / np.abs(c).max())) for c in xs]).astype(np.int16)
    return x, modulate(x, depth=DEPTH)


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return build_pdm(get_board("host"), tmp_path_factory.mktemp("pdm"), SPEC)


@pytest.mark.parametrize("lsb_first", [False, True])
def test_c_identical_to_twin(exe, clips, lsb_first):
    x, pdm = clips
    rng = np.random.default_rng(1)
    streams = list(pdm) + [rng.integers(0, 256, 9000).astype(np.uint8)]   # + full-scale noise
    if lsb_first:   # the same bit stream, packed the other way
        streams = [np.packbits(np.unpackbits(s), bitorder="little") for s in streams]
    for s in streams:
        for chunks in ([1, 7, 3, 129, 64, 1001], [4096]):
            c = run_pdm(exe, get_board("host"), s, chunks, lsb_first)
            ref = decimate(s, SPEC, lsb_first)
            assert len(ref) == len(s) * 8 // SPEC.decimation
            assert not first_diff(c, ref), first_diff(c, ref)
    # bit order matters: the stream read in the other order is not the signal
    right, wrong = decimate(streams[0], SPEC, lsb_first), decimate(streams[0], SPEC, not lsb_first)
    assert snr_db(x[0], right) >= 60 > snr_db(x[0], wrong)


def band_filter(taps: int = 1023, lo: float = 100.0, hi: float = 7000.0, rate: int = 16000) -> np.ndarray:
    """Linear-phase band-pass (Blackman-windowed sinc) for the SNR measurement."""
    n = np.arange(taps) - (taps - 1) / 2
    lp = lambda f: 2 * f / rate * np.sinc(2 * f / rate * n)   # noqa: E731
    return (lp(hi) - lp(lo)) * np.blackman(taps)


def snr_db(x: np.ndarray, y: np.ndarray, spec: PdmSpec = SPEC) -> float:
    """SNR of decimated y against original x in 100 Hz - 7 kHz: x is delayed by the
    decimator's exact (fractional) delay in the frequency domain (the modulator saw x
    as a periodic band-limited signal, so this is exact), both are filtered by the same
    1023-tap band-pass, and the interior (1100 samples in from each end: the decimator's
    start and the filter's tails) is compared: 10 log10(sum ref^2 / sum (y - ref)^2)."""
    # output j is centred at input time j + d
    d = 1 - 1 / spec.decimation - spec.delay_samples
    f = np.fft.rfftfreq(len(x), 1 / spec.pcm_rate)
    ref = np.fft.irfft(np.fft.rfft(x.astype(np.float64)) * np.exp(2j * np.pi * f / spec.pcm_rate * d), len(x))
    h = band_filter()
    a, b = (np.convolve(v, h, "same")[1100:-1100] for v in (ref, y[:len(x)].astype(np.float64)))
    return float(10 * np.log10((a ** 2).sum() / ((b - a) ** 2).sum()))


def test_snr_in_band(clips):
    x, pdm = clips
    snrs = [snr_db(c, decimate(p, SPEC)) for c, p in zip(x, pdm)]
    print("SNR dB (sine, yes, no, _silence_):", [round(s, 1) for s in snrs])
    assert min(snrs) >= 60, snrs


@pytest.mark.slow
def test_labels_from_decimated_audio_match():
    """100 dev wavs at their own level: the sample int8 model (float MFCC twin + int8
    reference, as the firmware's twin labels a clip) gives the same label on the decimated
    audio (delay removed) as on the original for >= 98 of them."""
    from edgekit.importers import load_model
    from edgekit.quant.reference import run_int8

    rows = dev_rows()[::4][:100]
    x = np.stack([dev_clip(r) for r in rows])
    pad = 64                                   # a little zero tail covers the delay
    pdm = modulate(np.pad(x, ((0, 0), (0, pad))), depth=DEPTH)
    lag = round(SPEC.delay_samples)
    y = np.stack([decimate(p, SPEC)[lag:lag + 16000] for p in pdm])

    g = load_model(str(SAMPLES / "kws_ref_model_int8.tflite"))
    q_in = g.tensor(g.inputs[0]).quant
    scale, zp = float(q_in.scale[0]), int(q_in.zero_point[0])

    def label(c):
        feat = quantize_features(mfcc_float(c), scale, zp)
        return int(run_int8(g, feat.reshape(1, 49, 10, 1))[0].reshape(-1).argmax())

    same = [label(a) == label(b) for a, b in zip(x, y)]
    snrs = [snr_db(a, np.concatenate([np.zeros(lag, np.int16), b])) for a, b in zip(x[:10], y[:10])]
    print(f"labels equal on {sum(same)}/100; SNR of the first 10 clips at their own level:",
          [round(s, 1) for s in snrs])
    assert sum(same) >= 98, [r["file"] for r, s in zip(rows, same) if not s]


@pytest.mark.skipif(not has_tools(), reason="needs arm-none-eabi-gcc and qemu-system-arm")
@pytest.mark.parametrize("board", ["rpipico", "disco_f407vg"])
def test_board_builds_identical_to_twin(tmp_path, clips, board):
    """The decimator as the boards that decimate in software build it (the RP2040's ARMv6-M
    split-product FIR; the STM32F407's 64-bit multiply-accumulate), run in QEMU on an
    emulated board that executes that code: identical to the twin, on speech and on
    full-scale noise, in odd chunks, both bit orders."""
    from edgekit.deploy.realtime import probe_board

    target = probe_board(get_board(board))
    exe = build_pdm(target, tmp_path, SPEC)
    noise = np.random.default_rng(2).integers(0, 256, 9000).astype(np.uint8)
    for lsb_first in (False, True):
        for s in (clips[1][1][:20000], noise):
            c = run_pdm(exe, target, s, [1, 7, 3, 129, 64, 1001], lsb_first)
            ref = decimate(s, SPEC, lsb_first)
            assert not first_diff(c, ref), first_diff(c, ref)
