"""PDM microphones: the PDM-to-PCM decimator as an integer NumPy twin of the C one
(edgekit/firmware/frontend/src/ek_pdm.c), its FIR design, and a sigma-delta modulator
that makes test PDM streams out of 16 kHz PCM.

A PDM microphone (MP45DT02 on the STM32F4 Discovery, clocked at 1-3.25 MHz; the Pico's
PDM mics through PIO) sends one bit per clock whose density of ones is the signal:
bit 1 = +1, bit 0 = -1. The decimator (default: 1.024 MHz -> 16 kHz, 64x):

1. unpack: 8 bits per byte, MSB first (the order I2S/SPI shifts them in: the first bit
   on the wire is the byte's bit 7) or LSB first (`lsb_first`, e.g. a PIO program that
   shifts right); the caller hands the bytes in arrival order (a 16-bit I2S DMA buffer
   read as bytes on a little-endian core must have its byte pairs swapped first);
2. CIC of order N, decimation R (Hogenauer): N integrators at the bit rate, N combs
   (differential delay 1) at bit rate / R. The bits enter as 0/1, so the output is
   R^N x (density of ones) in [0, R^N]: N log2 R + 1 bits (21 for N=5, R=16). The
   registers are uint32 and wrap modulo 2^32; a CIC's output is exact under wrapping
   as long as the true output fits, which it does;
3. v = cic - R^N / 2: signed, +-R^N / 2 for an all-ones / all-zeros stream;
4. FIR (droop compensation + low-pass, pass to 7 kHz, stop from 9 kHz) at bit rate / R,
   decimating by M (only every M-th output is computed): acc = sum h[k] v[n - k] in
   int64, h in int32 (`fir_q`: the float design times 2^shift, with the output gain and
   1 / (R^N / 2) folded in);
5. pcm = clamp((acc + 2^(shift-1)) >> shift) to int16 (arithmetic shift, i.e. floor).

Output sample j (j = 0, 1, ...) is produced by the bit with index (j + 1) R M - 1; the
stream starts with all registers zero. The decimator's full-scale is the PDM's: an
all-ones stream reads `gain` x 32768 (clamped to 32767).

Delay: the CIC's N (R - 1) / 2 bits plus the FIR's (taps - 1) / 2 x R bits, so output j
is centred at bit (j + 1) R M - 1 - delay (`PdmSpec.delay_samples` in output samples).

Facts used (the search tool): MP45DT02 clock range 1-3.25 MHz; 1.024 MHz with a
decimation of 64 gives 16 kHz (ST's PDM2PCM library setting: decimation 64, bit order
MSB, big endian); CIC register width B_in + N log2(R M) (Hogenauer 1981).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class PdmSpec:
    """The decimator's parameters (the C build's EK_PDM_* constants come from here)."""

    pdm_rate: int = 1_024_000
    pcm_rate: int = 16_000
    cic_order: int = 5          # N
    cic_decimation: int = 16    # R: to 64 kHz
    fir_taps: int = 191         # odd (linear phase, integer group delay at the CIC rate)
    passband_hz: float = 7000.0
    stopband_hz: float = 9000.0  # aliases of 8-9 kHz land above 7 kHz only
    gain: float = 1.0            # output full-scale / PDM full-scale
    coeff_bits: int = 24         # largest |h| < 2^(coeff_bits - 1)

    def __post_init__(self):
        if self.pdm_rate % (self.pcm_rate * self.cic_decimation):
            raise ValueError("pdm_rate must be pcm_rate x cic_decimation x an integer")
        if self.fir_taps % 2 == 0 or self.fir_taps < self.fir_decimation:
            raise ValueError("fir_taps must be odd and >= the FIR's decimation")
        if self.cic_order * np.log2(self.cic_decimation) + 1 > 31:
            raise ValueError("the CIC's output must fit 31 bits")

    @property
    def fir_decimation(self) -> int:   # M
        return self.pdm_rate // (self.pcm_rate * self.cic_decimation)

    @property
    def decimation(self) -> int:       # R M bits per PCM sample
        return self.cic_decimation * self.fir_decimation

    @property
    def cic_gain(self) -> int:         # R^N
        return self.cic_decimation ** self.cic_order

    @property
    def delay_samples(self) -> float:
        """Group delay of CIC + FIR in output (PCM) samples: output j is centred at the
        input's time j + 1 - 1/(R M) - delay_samples (in PCM samples)."""
        bits = self.cic_order * (self.cic_decimation - 1) / 2 + (self.fir_taps - 1) / 2 * self.cic_decimation
        return bits / self.decimation

    @cached_property
    def fir(self) -> np.ndarray:
        return design_fir(self)

    @cached_property
    def fir_q(self) -> tuple[np.ndarray, int]:
        return quantize_fir(self)


# ------------------------------------------------------------------ FIR design


def cic_response(spec: PdmSpec, f: np.ndarray) -> np.ndarray:
    """|H_cic(f)| / R^N at frequencies f (Hz)."""
    x = np.pi * np.asarray(f, np.float64) / spec.pdm_rate
    r = spec.cic_decimation
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(x == 0, 1.0, np.sin(r * x) / (r * np.sin(x)))
    return np.abs(h) ** spec.cic_order


def design_fir(spec: PdmSpec) -> np.ndarray:
    """Linear-phase FIR at the CIC's output rate, weighted least squares (NumPy only):
    pass band 0..passband_hz shaped 1 / CIC droop (so CIC x FIR is flat), stop band
    stopband_hz..Nyquist at 0 with equal weight (pass band within 5e-5, stop band below -87 dB). DC gain of CIC x FIR = 1."""
    fs = spec.pdm_rate / spec.cic_decimation
    half = (spec.fir_taps - 1) // 2
    k = np.arange(half + 1)
    fp = np.linspace(0, spec.passband_hz, 800)
    fst = np.linspace(spec.stopband_hz, fs / 2, 3000)
    f = np.concatenate([fp, fst])
    d = np.concatenate([1 / cic_response(spec, fp), np.zeros(len(fst))])
    w = np.concatenate([np.full(len(fp), 1.0), np.full(len(fst), 1.0)])
    # A(f) = a0 + 2 sum_{k>=1} a_k cos(2 pi f k / fs)
    basis = np.cos(2 * np.pi * np.outer(f, k) / fs) * np.where(k == 0, 1.0, 2.0)
    a = np.linalg.lstsq(basis * w[:, None], d * w, rcond=None)[0]
    a /= a[0] + 2 * a[1:].sum()            # exact unit DC gain
    return np.concatenate([a[:0:-1], a])


def quantize_fir(spec: PdmSpec) -> tuple[np.ndarray, int]:
    """(int32 taps, shift): pcm = (sum h_q v) >> shift with v = cic - R^N/2, i.e.
    h_q = round(h x gain x 32768 / (R^N / 2) x 2^shift), shift the largest with every
    |h_q| < 2^(coeff_bits - 1)."""
    h = spec.fir * spec.gain * 32768.0 / (spec.cic_gain / 2)
    shift = int(np.floor(np.log2((2 ** (spec.coeff_bits - 1) - 1) / np.abs(h).max())))
    hq = np.round(h * 2.0 ** shift).astype(np.int64)
    assert np.abs(hq).max() < 2 ** 31 and shift >= 1
    return hq.astype(np.int32), shift


# ------------------------------------------------------------------ the decimator (twin)


def unpack_bits(pdm: np.ndarray, lsb_first: bool = False) -> np.ndarray:
    """Packed PDM bytes -> 0/1 per clock, in time order."""
    return np.unpackbits(np.asarray(pdm, np.uint8), bitorder="little" if lsb_first else "big")


def cic(bits: np.ndarray, spec: PdmSpec) -> np.ndarray:
    """CIC output (int64, in [0, R^N]) for every complete block of R bits, from zero state:
    integrators then combs in uint32 arithmetic, wrapping as the C does."""
    r = spec.cic_decimation
    x = np.asarray(bits, np.uint32)
    for _ in range(spec.cic_order):
        x = np.cumsum(x, dtype=np.uint32)      # wraps modulo 2^32
    x = x[r - 1::r]
    for _ in range(spec.cic_order):
        x = x - np.concatenate([np.zeros(1, np.uint32), x[:-1]])   # uint32: wraps
    return x.astype(np.int64)


def decimate(pdm: np.ndarray, spec: PdmSpec = PdmSpec(), lsb_first: bool = False) -> np.ndarray:
    """The C decimator's output (int16) for a whole PDM stream of packed bytes, from zero
    state: one sample per R M bits (a trailing partial block gives none)."""
    v = cic(unpack_bits(pdm, lsb_first), spec) - spec.cic_gain // 2
    h, shift = spec.fir_q
    m, taps = spec.fir_decimation, len(h)
    n_out = len(v) // m
    vp = np.concatenate([np.zeros(taps - 1, np.int64), v[:n_out * m]])
    # output j uses v[(j+1) m - 1 - k], k = 0..taps-1 (zero before the stream starts)
    win = np.lib.stride_tricks.sliding_window_view(vp, taps)[m - 1::m][:n_out]
    acc = win @ h[::-1].astype(np.int64)
    return np.clip((acc + (1 << (shift - 1))) >> shift, -32768, 32767).astype(np.int16)


# ------------------------------------------------------------------ test signals


def upsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Band-limited interpolation by an integer factor: the ideal (brick-wall at the input's
    Nyquist) interpolation filter, applied in the frequency domain to the clip taken as
    periodic. float64, same units as x."""
    n = len(x)
    spec = np.fft.rfft(np.asarray(x, np.float64))
    if n % 2 == 0:                       # split the Nyquist bin between +-fs/2
        spec[-1] *= 0.5
    return np.fft.irfft(spec, n * factor) * factor


def ntf(order: int, obg: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Noise transfer function (b, a) of a low-pass sigma-delta modulator, in powers of
    z^-1: `order` zeros at DC, poles of a Butterworth high-pass whose cut-off is chosen so
    that the out-of-band gain |NTF(-1)| is `obg` (Lee's rule keeps 1-bit loops stable
    for obg ~1.5). Order 1 and 2 use the pure differencer (1 - z^-1)^order."""
    b = np.poly(np.ones(order))
    if order <= 2:
        return b, np.array([1.0] + [0.0] * order)

    def poles(fc):   # Butterworth high-pass of cut-off fc (cycles/sample), bilinear
        wc = 2 * np.tan(np.pi * fc)
        s = wc / np.exp(1j * np.pi * (2 * np.arange(1, order + 1) + order - 1) / (2 * order))
        return (1 + s / 2) / (1 - s / 2)

    lo, hi = 1e-6, 0.49
    for _ in range(100):
        fc = (lo + hi) / 2
        a = np.real(np.poly(poles(fc)))
        g = abs(np.polyval(b, -1) / np.polyval(a, -1))
        lo, hi = (fc, hi) if g < obg else (lo, fc)
    return b, np.real(np.poly(poles(lo)))


def modulate(x: np.ndarray, order: int = 4, depth: float = 0.5, factor: int = 64,
             lsb_first: bool = False) -> np.ndarray:
    """Sigma-delta modulation (error feedback, 1-bit quantizer, NTF from `ntf`) of int16
    PCM, batched: x of shape (n,) or (clips, n) -> packed PDM bytes (..., n factor / 8).
    The PCM is first interpolated by `factor` (`upsample`); int16 full scale maps to a
    density swing of +-`depth` (a 4th-order 1-bit loop overloads near +-0.7)."""
    one = np.ndim(x) == 1
    x = np.atleast_2d(np.asarray(x, np.float64))
    u = np.stack([upsample(c, factor) for c in x]) * (depth / 32768.0)
    b, a = ntf(order)
    # y = u + NTF q with q = y - w: w = u + sum_k (b_k - a_k) q[n-k] - sum_k a_k f[n-k]
    # where f = (NTF - 1) q is the feedback filter's output (strictly causal)
    c = b[1:] - a[1:]
    qs = np.zeros((order, len(x)))
    fs = np.zeros((order, len(x)))
    out = np.empty(u.shape, np.uint8)
    a1 = a[1:]
    for n in range(u.shape[1]):
        f = c @ qs - a1 @ fs
        w = u[:, n] + f
        y = np.where(w >= 0, 1.0, -1.0)
        out[:, n] = y > 0
        qs[1:], fs[1:] = qs[:-1].copy(), fs[:-1].copy()
        qs[0], fs[0] = y - w, f
    packed = np.packbits(out, axis=1, bitorder="little" if lsb_first else "big")
    return packed[0] if one else packed
