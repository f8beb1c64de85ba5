"""The `tf1-mfcc` front end: TF's AudioSpectrogram + Mfcc ops (the front end ARM's
ML-KWS-for-MCU graphs carry), as a NumPy twin. The C twin is the float MFCC path built
with -DEK_FE_TF1 (edgekit/firmware/frontend), from the tables of `Tf1Tables`.

What the two ops compute, per clip (DecodeWav gives the int16 samples / 32768, zero-padded
or cut to `desired_samples`; there is no peak normalisation):
1. AudioSpectrogram(window_size W, stride S, magnitude_squared): frames of W samples every
   S (1 + (N - W) // S of them), periodic Hann, real FFT of the next power of two >= W,
   |X|^2 (magnitude_squared) or |X|, as float32.
2. Mfcc(upper/lower_frequency_limit, filterbank_channel_count C, dct_coefficient_count K):
   per frame, the square root of every spectrogram bin (so |X| after a squared
   spectrogram), then TF's own mel filter bank (not tf.signal's): C + 1 centres equally
   spaced on the mel scale 1127 ln(1 + f / 700) from the lower limit, a bin's magnitude
   split between the two channels its mel value falls between, with weights linear in
   mel; only bins from floor(1.5 + lower / hz_per_bin) to floor(upper / hz_per_bin)
   count. Then ln(max(channel, 1e-12)) and a DCT-II scaled by sqrt(2 / C) on every
   coefficient (no orthonormal c0), first K kept. All of it in float64 (float32 out).
Checked against tf.raw_ops.AudioSpectrogram + tf.raw_ops.Mfcc in tests/audio/test_tf1_mfcc.py.
"""
from __future__ import annotations

import numpy as np

FULL_SCALE = 32768.0     # DecodeWav: int16 / 32768
LOG_FLOOR = 1e-12        # Mfcc: ln(max(channel, 1e-12))


def next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def mel(f) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)


def filterbank(spec) -> np.ndarray:
    """(bins, channels) weights of TF's Mfcc filter bank for a tf1-mfcc FeatureSpec:
    channel c = sum over bins of weight * sqrt(spectrogram bin)."""
    bins = spec.fft // 2 + 1
    ch = spec.channels
    lo_mel, hi_mel = mel(spec.lower_hz), mel(spec.upper_hz)
    centres = lo_mel + (hi_mel - lo_mel) / (ch + 1) * np.arange(1, ch + 2)   # C + 1 of them
    hz_per_bin = 0.5 * spec.sample_rate / (bins - 1)
    start = int(1.5 + spec.lower_hz / hz_per_bin)
    end = int(spec.upper_hz / hz_per_bin)
    w = np.zeros((bins, ch))
    c = 0
    for i in range(start, min(end, bins - 1) + 1):
        m = mel(i * hz_per_bin)
        while c < ch and centres[c] < m:
            c += 1
        band = c - 1                       # the channel whose upper slope the bin is on
        if band >= 0:
            wt = (centres[band + 1] - m) / (centres[band + 1] - centres[band])
            w[i, band] += wt
        else:
            wt = (centres[0] - m) / (centres[0] - lo_mel)
        if band + 1 < ch:
            w[i, band + 1] += 1.0 - wt
    return w


def dct_matrix(spec) -> np.ndarray:
    """(coefficients, channels): cos(pi k (n + 1/2) / C) * sqrt(2 / C) (TF's MfccDct)."""
    k, n = np.arange(spec.coefficients)[:, None], np.arange(spec.channels)[None, :]
    return np.sqrt(2.0 / spec.channels) * np.cos(np.pi * k * (n + 0.5) / spec.channels)


def clip_of(samples: np.ndarray, spec) -> np.ndarray:
    """DecodeWav(desired_samples): the first `clip` samples, zero-padded."""
    x = np.zeros(spec.clip, np.float64)
    n = min(len(samples), spec.clip)
    x[:n] = np.asarray(samples[:n], np.float64) / FULL_SCALE
    return x


def spectrogram(x: np.ndarray, spec) -> np.ndarray:
    """AudioSpectrogram of float samples: (frames, bins) float32."""
    n = np.arange(spec.window)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / spec.window)
    idx = np.arange(spec.frames)[:, None] * spec.hop + n[None, :]
    mag2 = np.abs(np.fft.rfft(x[idx] * hann, spec.fft)) ** 2
    return (mag2 if spec.magnitude_squared else np.sqrt(mag2)).astype(np.float32)


def mfcc_of_spectrogram(spg: np.ndarray, spec) -> np.ndarray:
    """Mfcc of a (frames, bins) spectrogram: (frames, coefficients) float64."""
    ch = np.sqrt(spg.astype(np.float64)) @ filterbank(spec)
    return np.log(np.maximum(ch, LOG_FLOOR)) @ dct_matrix(spec).T


def tf1_mfcc(samples: np.ndarray, spec) -> np.ndarray:
    """(frames, coefficients) features of one clip of int16 samples, as the graph computes
    them from its wav (float64; TF returns them as float32)."""
    return mfcc_of_spectrogram(spectrogram(clip_of(samples, spec), spec), spec)


def c_tables(spec) -> dict[str, np.ndarray]:
    """The C float path's tables for this spec (edgekit/audio/emit.py): the FFT of the
    sample MFCC (MfccSpec.tables, same window and FFT), with TF's filter bank and DCT."""
    from edgekit.audio.mfcc import MfccSpec, band_tables

    base = MfccSpec(rate=spec.sample_rate, clip=spec.clip, frame=spec.window, hop=spec.hop, fft=spec.fft,
                    mels=spec.channels, fmin=spec.lower_hz, fmax=spec.upper_hz, coeffs=spec.coefficients)
    t = {k: v for k, v in base.tables().items() if k in ("window_f32", "twiddle_f32", "split_f32")}
    t["mel_start"], t["mel_len"], flat = band_tables(filterbank(spec))
    t["mel_f32"] = flat.astype(np.float32)
    t["dct_f32"] = dct_matrix(spec).astype(np.float32)
    return t


def floor_features(spec) -> np.ndarray:
    """(frames, coefficients) features of digital silence: every channel at the log floor
    (c0 = sqrt(2 C) ln 1e-12, -247 for 40 channels). Every clip shorter than the graph's
    DecodeWav length ends in such frames (zero padding), so deploy adds this one input to
    its synthetic calibration set: the int8 input range must reach the front end's floor,
    which inputs synthesized from BatchNorm statistics alone do not (they stop near -70)."""
    return tf1_mfcc(np.zeros(spec.clip, np.int16), spec)
