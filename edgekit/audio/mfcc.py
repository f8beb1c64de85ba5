"""The KWS front end (MFCC of the MLCommons Tiny KWS model), as NumPy twins of the C code.

What it computes (per 1 s clip at 16 kHz, as the model's training pipeline did): samples
divided by the clip's largest sample value, zero-padded to 16000; STFT 480/320/512 with a periodic
Hann window, magnitude; 40 HTK-mel filters 20-4000 Hz; log(mel + 1e-6); DCT-II scaled by
sqrt(2/40) (tf.signal.mfccs_from_log_mel_spectrograms), first 10 -> [49, 10].

How the device computes it, streaming: one frame per 20 ms hop, on the raw int16 samples.
The spectrum is linear in the samples, so log(mel(x / m) + eps) = log(mel(x) + eps*m) -
log(m): a frame needs only the normaliser m, never the normalised samples. In clip mode
m is the clip's peak (exactly TF's features); streaming, m is the peak of the audio heard
so far in the window, and the inference corrects c0 (the only coefficient a common log
shift moves) to the window's peak: exact except where mel(x) is near eps * m (digital
silence).

Two twins, one per C implementation:
- `mfcc_float`: float math (the C float32 path for cores with an FPU; float64 here).
- `mfcc_fixed`: integer math, bit-exact with the C fixed-point path (cores without an
  FPU): block-normalised Q15 frame, 256-point complex FFT in int32 with Q30 twiddles plus
  the real-input split, integer square root, Q15 mel weights, log2 by a 256-entry table
  with linear interpolation (Q24), DCT with ln 2 folded in (Q30), MFCCs kept in Q20.
The tables both C paths use come from `MfccSpec.tables()` (emitted as C by codegen).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Q20 = 1 << 20


def fft_factors(fft: int) -> tuple[np.ndarray, np.ndarray]:
    """The C front ends' real FFT of `fft` points as a complex FFT of half that plus a split
    step: (twiddles of the half-size FFT, split factors), each row (cos, -sin), float64."""
    n2 = fft // 2
    ang = 2 * np.pi * np.arange(n2 // 2) / n2
    split = np.pi * np.arange(n2 + 1) / n2
    return np.stack([np.cos(ang), -np.sin(ang)], 1), np.stack([np.cos(split), -np.sin(split)], 1)


def band_tables(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A filter bank [bins, channels] as the C front ends store it: each channel's first
    bin and length (a channel over no bin: 0, 0) and the weights over those contiguous
    spans, concatenated (float64)."""
    starts, lens, flat = [], [], []
    for j in range(w.shape[1]):
        nz = np.flatnonzero(w[:, j])
        s, e = (int(nz[0]), int(nz[-1]) + 1) if len(nz) else (0, 0)
        starts.append(s)
        lens.append(e - s)
        flat.append(w[s:e, j])
    return np.array(starts, np.int32), np.array(lens, np.int32), np.concatenate(flat)


@dataclass(frozen=True)
class MfccSpec:
    rate: int = 16000
    clip: int = 16000
    frame: int = 480
    hop: int = 320
    fft: int = 512
    mels: int = 40
    fmin: float = 20.0
    fmax: float = 4000.0
    coeffs: int = 10
    eps: float = 1e-6

    @property
    def frames(self) -> int:
        return 1 + (self.clip - self.frame) // self.hop

    @property
    def bins(self) -> int:
        return self.fft // 2 + 1

    def window(self) -> np.ndarray:
        n = np.arange(self.frame)
        return 0.5 - 0.5 * np.cos(2 * np.pi * n / self.frame)   # periodic Hann

    def mel_matrix(self) -> np.ndarray:
        """(bins, mels) HTK mel weights as tf.signal.linear_to_mel_weight_matrix builds
        them (DC bin zero, triangles between mel-spaced edges)."""
        def mel(f):
            return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)
        freqs = np.linspace(0.0, self.rate / 2, self.bins)[1:]
        edges = np.linspace(mel(self.fmin), mel(self.fmax), self.mels + 2)
        lo, ce, hi = edges[:-2], edges[1:-1], edges[2:]
        m = mel(freqs)[:, None]
        w = np.maximum(0.0, np.minimum((m - lo) / (ce - lo), (hi - m) / (hi - ce)))
        return np.vstack([np.zeros((1, self.mels)), w]).astype(np.float32).astype(np.float64)

    def dct_matrix(self) -> np.ndarray:
        """(coeffs, mels): DCT-II times sqrt(2 / mels) for every coefficient (TF's scaling)."""
        k, n = np.arange(self.coeffs)[:, None], np.arange(self.mels)[None, :]
        return np.sqrt(2.0 / self.mels) * np.cos(np.pi * k * (2 * n + 1) / (2 * self.mels))

    def tables(self) -> dict[str, np.ndarray]:
        """Every constant table of the two C paths, in the exact values the twins use."""
        twiddle, split = fft_factors(self.fft)
        starts, lens, w_mel = band_tables(self.mel_matrix())
        dct = self.dct_matrix()
        return {
            "window_f32": self.window().astype(np.float32),
            "window_q15": _q(self.window(), 15),
            "twiddle_f32": twiddle.astype(np.float32), "twiddle_q30": _q(twiddle, 30),
            "split_f32": split.astype(np.float32), "split_q30": _q(split, 30),
            "mel_start": starts, "mel_len": lens,
            "mel_f32": w_mel.astype(np.float32), "mel_q15": _q(w_mel, 15),
            "dct_f32": dct.astype(np.float32), "dct_ln2_q30": _q(dct * np.log(2), 30),
            "log2_q24": _q(np.log2(1 + np.arange(257) / 256), 24),
            "eps_q16": _q(self.eps * 2.0 ** (np.arange(16) + 24 + 16), 0).astype(np.int64),
            # the C isqrt's seed (sqrt at 2^24 i, i = 64..256); its result is exact whatever the seed
            "sqrt_seed": _q(np.sqrt(np.arange(64, 257) * 2.0 ** 24), 0),
        }


def _q(x, bits: int) -> np.ndarray:
    return np.round(np.asarray(x, np.float64) * (1 << bits)).astype(np.int64)


def clip_of(samples: np.ndarray, spec: MfccSpec) -> np.ndarray:
    """The clip as TF sees it: int16 samples, zero-padded (or cut) to spec.clip."""
    x = np.zeros(spec.clip, np.int64)
    n = min(len(samples), spec.clip)
    x[:n] = samples[:n]
    return x


def peak_of(samples: np.ndarray) -> int:
    """The normaliser: the largest sample value (tf.reduce_max, signed); 1 for a clip with
    no positive sample (TF would divide by zero or flip the sign there)."""
    return max(1, int(np.max(samples))) if len(samples) else 1


def frames_of(x: np.ndarray, spec: MfccSpec) -> np.ndarray:
    idx = np.arange(spec.frames)[:, None] * spec.hop + np.arange(spec.frame)[None, :]
    return x[idx]


# ---------------------------------------------------------------- float path

def mfcc_float(samples: np.ndarray, spec: MfccSpec = MfccSpec()) -> np.ndarray:
    """(frames, coeffs) float MFCCs of one clip (clip-mode normaliser)."""
    x = clip_of(samples, spec).astype(np.float64)
    m = float(peak_of(x))
    spec_mag = np.abs(np.fft.rfft(frames_of(x, spec) * spec.window(), spec.fft))
    mel = spec_mag @ spec.mel_matrix()
    logmel = np.log(mel + spec.eps * m) - np.log(m)
    return logmel @ spec.dct_matrix().T


def quantize_features(c: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 model input from float MFCCs (round half up, as the C float path)."""
    return np.clip(np.floor(c / scale + 0.5) + zero_point, -128, 127).astype(np.int8)


# ---------------------------------------------------------------- fixed-point path

def _fft256_q30(re: np.ndarray, im: np.ndarray, tw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radix-2 DIT on int64 arrays (rows = frames), Q30 twiddles, round-half-up products."""
    n = re.shape[1]
    bits = n.bit_length() - 1
    rev = np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(n)])
    re, im = re[:, rev].copy(), im[:, rev].copy()
    size = 2
    while size <= n:
        half, step = size // 2, n // size
        j = np.arange(half)
        wr, wi = tw[j * step, 0], tw[j * step, 1]
        for start in range(0, n, size):
            a, b = start + j, start + j + half
            tr = (re[:, b] * wr - im[:, b] * wi + (1 << 29)) >> 30
            ti = (re[:, b] * wi + im[:, b] * wr + (1 << 29)) >> 30
            re[:, b], im[:, b] = re[:, a] - tr, im[:, a] - ti
            re[:, a], im[:, a] = re[:, a] + tr, im[:, a] + ti
        size *= 2
    return re, im


def isqrt_u64(v: np.ndarray) -> np.ndarray:
    """floor(sqrt) of a 32-bit-normalised value, shifted back: the C routine's result
    (exact below 2^32; above, v is first shifted right by an even amount)."""
    v = v.astype(np.uint64)
    e = np.zeros(v.shape, np.int64)
    big = v >> np.uint64(32)
    while np.any(big):
        sel = big != 0
        e[sel] += 1
        v[sel] >>= np.uint64(2)
        big = v >> np.uint64(32)
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.uint64)
    r -= (r * r > v).astype(np.uint64)                          # fix float rounding up
    r += ((r + 1) * (r + 1) <= v).astype(np.uint64)
    return r.astype(np.int64) << e


def log2_q24(v: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """log2 of positive integers in Q24: exponent + table with linear interpolation."""
    v = np.asarray(v, np.uint64)
    n = np.floor(np.log2(v.astype(np.float64))).astype(np.int64)
    n -= (np.left_shift(np.uint64(1), n.astype(np.uint64)) > v).astype(np.int64)   # exact msb
    n += ((n < 63) & (np.left_shift(np.uint64(1), (n + 1).astype(np.uint64)) <= v)).astype(np.int64)
    f = np.where(n >= 30, v >> (n - 30).clip(0).astype(np.uint64),
                 v << (30 - n).clip(0).astype(np.uint64)).astype(np.int64)
    idx, frac = (f >> 22) & 255, f & ((1 << 22) - 1)
    return (n << 24) + lut[idx] + (((lut[idx + 1] - lut[idx]) * frac) >> 22)


def frame_logmel_fixed(frames: np.ndarray, peak: int, spec: MfccSpec, t: dict) -> np.ndarray:
    """(F, 480) int16 frames -> (F, mels) log2(mel(x / peak) + eps) in Q24."""
    x = frames.astype(np.int64)
    a = np.abs(x).max(1)
    s = np.zeros(len(x), np.int64)
    for i, ai in enumerate(a):
        while 0 < ai and (ai << (s[i] + 1)) <= 32767:
            s[i] += 1
    xw = ((x << s[:, None]) * t["window_q15"][None, :] + (1 << 14)) >> 15
    buf = np.zeros((len(x), spec.fft), np.int64)
    buf[:, :spec.frame] = xw
    zr, zi = _fft256_q30(buf[:, 0::2], buf[:, 1::2], t["twiddle_q30"])
    n2 = spec.fft // 2
    k = np.arange(n2 + 1)
    kr = (n2 - k) % n2
    ar, ai_, br, bi = zr[:, k % n2], zi[:, k % n2], zr[:, kr], -zi[:, kr]   # Z[k], conj Z[N-k]
    er, ei = ar + br, ai_ + bi
    dr, di = ar - br, ai_ - bi
    pr_, pi_ = di, -dr                                                      # -i * D
    cw, sw = t["split_q30"][:, 0], t["split_q30"][:, 1]
    xr = er + ((pr_ * cw - pi_ * sw + (1 << 29)) >> 30)
    xi = ei + ((pr_ * sw + pi_ * cw + (1 << 29)) >> 30)
    mag = isqrt_u64((xr * xr + xi * xi).astype(np.uint64))
    mel = np.zeros((len(x), spec.mels), np.int64)
    off = 0
    for j, (st, ln) in enumerate(zip(t["mel_start"], t["mel_len"])):
        mel[:, j] = mag[:, st:st + ln] @ t["mel_q15"][off:off + ln]
        off += ln
    eps = (t["eps_q16"][s] * peak + (1 << 15)) >> 16
    v = (mel.astype(np.uint64) << np.uint64(8)) + eps[:, None].astype(np.uint64)
    lut = t["log2_q24"]
    return log2_q24(v, lut) - ((s + 24) << 24)[:, None] - log2_q24(np.array([peak]), lut)[0]


def mfcc_fixed(samples: np.ndarray, spec: MfccSpec = MfccSpec()) -> np.ndarray:
    """(frames, coeffs) int32 MFCCs in Q20 of one clip, bit-exact with the C fixed path."""
    t = spec.tables()
    x = clip_of(samples, spec)
    l2 = frame_logmel_fixed(frames_of(x, spec), peak_of(x), spec, t)
    c = l2 @ t["dct_ln2_q30"].T                                   # Q54
    return ((c + (1 << 33)) >> 34).astype(np.int32)


def quantize_fixed(c_q20: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 model input from Q20 MFCCs: round(c / scale) with a Q24 reciprocal."""
    inv = int(np.floor((1 << 24) / float(np.float32(scale)) + 0.5))   # as the C code
    q = ((c_q20.astype(np.int64) * inv + (1 << 43)) >> 44) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)
