"""The `logmel` front end: log-mel filter-bank energies as librosa computes them (what
PyTorch keyword-spotting models are commonly trained on), as a NumPy twin. The C twin is
edgekit/firmware/frontend/src/ek_logmel_f32.c (-DEK_FE_LOGMEL), from the tables of `c_tables`.

Per clip (int16 samples, zero-padded or cut to the spec's clip):
1. x = samples / 32768 (librosa.load's scale).
2. STFT with center=False: frames of `fft` samples every `hop` (1 + (N - fft) // hop of
   them); the window (`window` samples, periodic or symmetric Hann) zero-padded in the
   middle of the frame, (fft - window) // 2 zeros before it (librosa.util.pad_center);
   real FFT; |X|^2 (power, librosa power=2) or |X| (power=1).
3. Mel filters (librosa.filters.mel): channels + 2 points equally spaced on the mel scale
   between lower_hz and upper_hz; HTK mel = 2595 log10(1 + f / 700), Slaney mel linear
   (f / (200/3)) below 1 kHz and logarithmic above (27 steps per ln 6.4); triangles
   over the FFT bin frequencies, optionally scaled by 2 / (f[i+2] - f[i]) (norm 'slaney').
4. k log(max(mel + log_offset, log_floor)) with k = 1 (ln), 1 / ln 10 (log10),
   10 / ln 10 (db10: power_to_db with ref 1, top_db None), 20 / ln 10 (db20).
5. Optional per-bin (x - mean[bin]) / std[bin].
All of it in float64. Checked against librosa in tests/audio/test_logmel.py.
"""
from __future__ import annotations

import numpy as np

FULL_SCALE = 32768.0
LOG_GAIN = {"ln": 1.0, "log10": 1 / np.log(10), "db10": 10 / np.log(10), "db20": 20 / np.log(10)}


def hz_to_mel(f, scale: str) -> np.ndarray:
    f = np.asarray(f, np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / (200.0 / 3)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), lin)


def mel_to_hz(m, scale: str) -> np.ndarray:
    m = np.asarray(m, np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (m - 15.0)), m * (200.0 / 3))


def filterbank(spec) -> np.ndarray:
    """(bins, channels) mel weights: channel = sum over bins of weight * spectrum bin."""
    bins = spec.fft // 2 + 1
    freqs = np.linspace(0.0, spec.sample_rate / 2, bins)
    lo, hi = hz_to_mel(spec.lower_hz, spec.mel_scale), hz_to_mel(spec.upper_hz, spec.mel_scale)
    pts = mel_to_hz(np.linspace(lo, hi, spec.channels + 2), spec.mel_scale)
    widths = np.diff(pts)
    ramps = pts[:, None] - freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    w = np.maximum(0.0, np.minimum(rising, falling))
    if spec.mel_norm == "slaney":
        w *= (2.0 / (pts[2:] - pts[:-2]))[:, None]
    return w.T


def empty_channels(spec) -> list[int]:
    """Channels no FFT bin falls in (librosa warns and gives them zeros: log of the floor)."""
    return [int(j) for j in np.flatnonzero(~(filterbank(spec) > 0).any(axis=0))]


def window(spec) -> np.ndarray:
    """(fft,) the Hann window centred in the frame (librosa.util.pad_center)."""
    n, w = np.arange(spec.window), spec.window
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / (w if spec.window_fn == "hann" else w - 1))
    out = np.zeros(spec.fft)
    lpad = (spec.fft - w) // 2
    out[lpad:lpad + w] = hann
    return out


def clip_of(samples: np.ndarray, spec) -> np.ndarray:
    x = np.zeros(spec.clip, np.float64)
    n = min(len(samples), spec.clip)
    x[:n] = np.asarray(samples[:n], np.float64) / FULL_SCALE
    return x


def spectrogram(x: np.ndarray, spec) -> np.ndarray:
    """(frames, bins): |X|^2 or |X| of float samples."""
    idx = np.arange(spec.frames)[:, None] * spec.hop + np.arange(spec.fft)[None, :]
    mag2 = np.abs(np.fft.rfft(x[idx] * window(spec), spec.fft)) ** 2
    return mag2 if spec.magnitude_squared else np.sqrt(mag2)


def affine(spec) -> tuple[np.ndarray, np.ndarray]:
    """Per bin (gain, bias): feature = gain * ln(max(mel + offset, floor)) + bias, the log's
    base and the normalisation folded into one multiply-add (what the C does)."""
    k = LOG_GAIN[spec.log]
    if spec.normalize == "per-bin":
        mean, std = np.asarray(spec.mean, np.float64), np.asarray(spec.std, np.float64)
        return k / std, -mean / std
    return np.full(spec.channels, k), np.zeros(spec.channels)


def logmel_of_spectrogram(spg: np.ndarray, spec) -> np.ndarray:
    mel = spg @ filterbank(spec)
    gain, bias = affine(spec)
    return gain * np.log(np.maximum(mel + spec.log_offset, spec.log_floor)) + bias


def logmel(samples: np.ndarray, spec) -> np.ndarray:
    """(frames, channels) float64 features of one clip of int16 samples."""
    return logmel_of_spectrogram(spectrogram(clip_of(samples, spec), spec), spec)


def floor_features(spec) -> np.ndarray:
    """The features of digital silence (every channel at the log's floor). Clips shorter than
    a second end in such frames; deploy adds this input to its synthetic calibration set so
    the int8 input range reaches it (as for tf1-mfcc)."""
    return logmel(np.zeros(spec.clip, np.int16), spec)


def c_tables(spec) -> dict[str, np.ndarray]:
    """The C tables (edgekit/audio/emit.py generate_logmel_tables): the window in its frame,
    the FFT's twiddles and split factors (those of the MFCC float path, same FFT size), each
    channel's first bin, length and weights, and the per-bin gain and bias."""
    from edgekit.audio.mfcc import band_tables, fft_factors

    twiddle, split = fft_factors(spec.fft)
    starts, lens, flat = band_tables(filterbank(spec))
    t = {"window_f32": window(spec).astype(np.float32), "twiddle_f32": twiddle.astype(np.float32),
         "split_f32": split.astype(np.float32), "mel_start": starts, "mel_len": lens,
         "mel_f32": flat.astype(np.float32)}
    gain, bias = affine(spec)
    t["gain_f32"], t["bias_f32"] = gain.astype(np.float32), bias.astype(np.float32)
    return t
