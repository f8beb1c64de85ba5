"""The micro_speech front end (TFLM Signal ops), as an integer NumPy twin.

What TFLM's `audio_preprocessor_int8.tflite` computes for one 30 ms frame of 16 kHz int16
audio (the micro_speech example feeds it frames 480 long every 320 samples, 49 per 1 s
clip, through one interpreter, so the noise estimate carries from frame to frame):

1. window: (x * hann_q12) >> 12, saturated to int16;
2. FFT auto-scale: shift left by 15 - bit length of max |x| (never right);
3. 512-point real FFT in int16: kissfft's FIXED_POINT=16 code (256-point complex FFT,
   radix 4 x 4 x 4 x 4, every butterfly input divided by 4 with rounding, Q15 twiddles,
   then the real-input split with a further /2), wrap-around int16 arithmetic;
4. energy re^2 + im^2 (uint32) of bins [start, end), zero elsewhere;
5. filter bank: 40 channels, each a Q12 weight / unweight triangle, uint64 sums;
6. sqrt (rounded to nearest), shifted right by the auto-scale bits;
7. spectral subtraction noise reduction (state: the noise estimate, per channel; odd
   channels use the alternate smoothing), floored at min_signal_remaining of the input;
8. PCAN gain control: gain from a piecewise-quadratic table of the noise estimate,
   snr = (x * gain) >> snr_shift, then shrink (x^2/4 below 2, x - 1 above; Q12 -> Q6);
9. log: (x << 3), Log32 (log2 by a 128-segment table, times ln 2, times output_scale 64);
10. int8: ((v * 256 + 333) // 666) - 128, clipped.

Every constant table (window, filter bank, PCAN gain table) is computed here from the
spec (`MicrofrontendTables.build`); the test checks them against the ones stored in TFLM's
preprocessor model, and the features against the model run by the TFLM interpreter.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ------------------------------------------------------------------ integer helpers


def _w16(x: np.ndarray) -> np.ndarray:
    """Wrap to int16, as C stores into an int16 field."""
    return ((x + 32768) & 0xFFFF) - 32768


def _u32(x: np.ndarray) -> np.ndarray:
    return x & 0xFFFFFFFF


def _bitlen(x: np.ndarray) -> np.ndarray:
    """MostSignificantBit32: the bit length of x (0 for 0)."""
    x = np.asarray(x, np.int64)
    n = np.zeros(x.shape, np.int64)
    v = x.copy()
    for s in (32, 16, 8, 4, 2, 1):
        big = v >= (1 << s)
        n += np.where(big, s, 0)
        v = np.where(big, v >> s, v)
    return n + (v > 0)


def _isqrt(x: np.ndarray) -> np.ndarray:
    """floor(sqrt(x)) for int64 x < 2^62."""
    r = np.floor(np.sqrt(x.astype(np.float64))).astype(np.int64)
    r -= (r * r > x)
    r += ((r + 1) * (r + 1) <= x)
    return r


def sqrt_rounded(x: np.ndarray) -> np.ndarray:
    """Sqrt64: square root rounded to nearest (the bitwise routine's remainder test),
    saturating at 0xFFFF below 2^32 and 0xFFFFFFFF above."""
    r = _isqrt(x)
    top = np.where(x >> 32 == 0, 0xFFFF, 0xFFFFFFFF)
    return r + ((x - r * r > r) & (r != top))


# ------------------------------------------------------------------ FFT (kissfft int16)

def _sround(x):
    return _w16((x + (1 << 14)) >> 15)


def _cmul(ar, ai, br, bi):
    return _sround(ar * br - ai * bi), _sround(ar * bi + ai * br)


def _fixdiv(x, k: int):
    return _sround(x * (32767 // k))


def _cexp_q15(phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.floor(0.5 + 32767 * np.cos(phase)).astype(np.int64),
            np.floor(0.5 + 32767 * np.sin(phase)).astype(np.int64))


def _kf_factors(n: int) -> list[tuple[int, int]]:
    """kissfft's factorisation: 4s first, then 2, then odd numbers."""
    out, p, root = [], 4, int(np.floor(np.sqrt(n)))
    while n > 1:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > root:
                p = n
        n //= p
        out.append((p, n))
    return out


def _kf_work(re, im, start, fstride, factors, twr, twi):
    """Decimation in time, as kf_work: returns the (batch, p*m) output of one stage."""
    p, m = factors[0]
    if m == 1:
        idx = start + np.arange(p) * fstride
        fr, fi = re[:, idx].copy(), im[:, idx].copy()
    else:
        subs = [_kf_work(re, im, start + q * fstride, fstride * p, factors[1:], twr, twi) for q in range(p)]
        fr = np.concatenate([s[0] for s in subs], 1)
        fi = np.concatenate([s[1] for s in subs], 1)
    k = np.arange(m)
    if p == 4:
        a = [(_fixdiv(fr[:, k + j * m], 4), _fixdiv(fi[:, k + j * m], 4)) for j in range(4)]
        s0 = _cmul(*a[1], twr[k * fstride], twi[k * fstride])
        s1 = _cmul(*a[2], twr[2 * k * fstride], twi[2 * k * fstride])
        s2 = _cmul(*a[3], twr[3 * k * fstride], twi[3 * k * fstride])
        s5 = (_w16(a[0][0] - s1[0]), _w16(a[0][1] - s1[1]))
        f0 = (_w16(a[0][0] + s1[0]), _w16(a[0][1] + s1[1]))
        s3 = (_w16(s0[0] + s2[0]), _w16(s0[1] + s2[1]))
        s4 = (_w16(s0[0] - s2[0]), _w16(s0[1] - s2[1]))
        fr[:, k + 2 * m], fi[:, k + 2 * m] = _w16(f0[0] - s3[0]), _w16(f0[1] - s3[1])
        fr[:, k], fi[:, k] = _w16(f0[0] + s3[0]), _w16(f0[1] + s3[1])
        fr[:, k + m], fi[:, k + m] = _w16(s5[0] + s4[1]), _w16(s5[1] - s4[0])
        fr[:, k + 3 * m], fi[:, k + 3 * m] = _w16(s5[0] - s4[1]), _w16(s5[1] + s4[0])
    elif p == 2:
        a0 = (_fixdiv(fr[:, k], 2), _fixdiv(fi[:, k], 2))
        a1 = (_fixdiv(fr[:, k + m], 2), _fixdiv(fi[:, k + m], 2))
        t = _cmul(*a1, twr[k * fstride], twi[k * fstride])
        fr[:, k + m], fi[:, k + m] = _w16(a0[0] - t[0]), _w16(a0[1] - t[1])
        fr[:, k], fi[:, k] = _w16(a0[0] + t[0]), _w16(a0[1] + t[1])
    else:  # pragma: no cover - power-of-two FFT sizes only
        raise ValueError(f"radix {p} not implemented (FFT sizes must be powers of two)")
    return fr, fi


def fft_tables(nfft: int) -> dict[str, np.ndarray]:
    """kiss_fftr's constants for a real FFT of nfft: the Q15 twiddles of the nfft/2-point
    complex FFT, the real-split ("super") twiddles, and the radix plan as (p, m) pairs.
    The C front end is built with these same arrays (edgekit/audio/emit.py)."""
    n = nfft // 2
    twr, twi = _cexp_q15(-2 * np.pi * np.arange(n) / n)
    sr, si = _cexp_q15(-np.pi * ((np.arange(n // 2) + 1) / n + 0.5))
    return {"twiddle_r": twr, "twiddle_i": twi, "split_r": sr, "split_i": si,
            "factors": np.array(_kf_factors(n), np.int64)}


def rfft_q15(x: np.ndarray, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """kiss_fftr in FIXED_POINT=16: (batch, <=nfft) int16 -> (batch, nfft/2+1) re, im."""
    n = nfft // 2
    buf = np.zeros((len(x), nfft), np.int64)
    buf[:, :x.shape[1]] = x
    t = fft_tables(nfft)
    twr, twi, sr, si = t["twiddle_r"], t["twiddle_i"], t["split_r"], t["split_i"]
    zr, zi = _kf_work(buf[:, 0::2], buf[:, 1::2], 0, 1, [tuple(f) for f in t["factors"]], twr, twi)
    outr = np.zeros((len(x), n + 1), np.int64)
    outi = np.zeros_like(outr)
    dr, di = _fixdiv(zr[:, 0], 2), _fixdiv(zi[:, 0], 2)
    outr[:, 0], outr[:, n] = _w16(dr + di), _w16(dr - di)
    k = np.arange(1, n // 2 + 1)
    pk = (_fixdiv(zr[:, k], 2), _fixdiv(zi[:, k], 2))
    pnk = (_fixdiv(zr[:, n - k], 2), _fixdiv(_w16(-zi[:, n - k]), 2))
    f1 = (_w16(pk[0] + pnk[0]), _w16(pk[1] + pnk[1]))
    f2 = (_w16(pk[0] - pnk[0]), _w16(pk[1] - pnk[1]))
    tw = _cmul(*f2, sr[k - 1], si[k - 1])
    outr[:, k], outi[:, k] = _w16((f1[0] + tw[0]) >> 1), _w16((f1[1] + tw[1]) >> 1)
    outr[:, n - k], outi[:, n - k] = _w16((f1[0] - tw[0]) >> 1), _w16((tw[1] - f1[1]) >> 1)
    return outr, outi


# ------------------------------------------------------------------ log, PCAN

LOG_LUT = np.array([
    0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797,
    2944, 3087, 3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549,
    4633, 4714, 4791, 4864, 4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444,
    5477, 5507, 5533, 5557, 5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633, 5626,
    5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370, 5332, 5291, 5249, 5203,
    5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490, 4416, 4341, 4264,
    4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875,
    2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224, 1094,
    963, 830, 695, 559, 421, 282, 142, 0, 0], np.int64)
"""log2(1 + f) - f in Q16 at 129 points (TFLM signal/src/log.cc's table: the correction
added to the linear fraction)."""


def log32(x: np.ndarray, out_scale: int) -> np.ndarray:
    """ln(x) * out_scale in Q0 (x >= 1): log2 by the table, times ln 2 in Q16."""
    integer = _bitlen(x) - 1
    frac = x - (np.int64(1) << integer)
    frac = np.where(integer < 16, frac << np.clip(16 - integer, 0, None), frac >> np.clip(integer - 16, 0, None))
    seg = frac >> 9
    c0, c1 = LOG_LUT[seg], LOG_LUT[seg + 1]
    rel = ((c1 - c0) * (frac - 512 * seg)) >> 16
    log2 = _u32((integer << 16) + frac + c0 + rel)
    loge = _u32((45426 * log2 + 32768) >> 16)
    return _u32((out_scale * loge + 32768) >> 16)


PCAN_SNR_BITS, PCAN_OUTPUT_BITS = 12, 6


def pcan_gain(x: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """WideDynamicFunction: the gain (Q gain_bits) for noise estimate x, by a table of
    (value, slope, curvature) triples, one per octave of x."""
    small = x <= 2
    interval = _bitlen(x)
    base = np.clip(4 * interval - 6, 0, len(lut) - 3)
    frac = np.where(interval < 11, x << np.clip(11 - interval, 0, None),
                    x >> np.clip(interval - 11, 0, None)) & 0x3FF
    r = (lut[base + 2] * frac) >> 5
    r = r + lut[base + 1] * 32          # (int32)((uint32)lut[1] << 5)
    r = (r * frac + (1 << 14)) >> 15
    g = _w16(r + lut[base])
    return np.where(small, lut[np.clip(x, 0, 2)], g)


def pcan_shrink(x: np.ndarray) -> np.ndarray:
    lo = (x * x) >> (2 + 2 * PCAN_SNR_BITS - PCAN_OUTPUT_BITS)
    hi = (x >> (PCAN_SNR_BITS - PCAN_OUTPUT_BITS)) - (1 << PCAN_OUTPUT_BITS)
    return _u32(np.where(x < (2 << PCAN_SNR_BITS), lo, hi))


# ------------------------------------------------------------------ the frame pipeline

@dataclass(frozen=True)
class MicrofrontendTables:
    """The constant tables of the front end (the preprocessor model's constants)."""

    window_q12: np.ndarray        # (frame,) int16
    fb_weights: np.ndarray        # Q12 int16, concatenated channel triangles
    fb_unweights: np.ndarray      # Q12 int16, 4096 - weights inside a band
    fb_freq_starts: np.ndarray    # (channels + 1,) first FFT bin of each band
    fb_weight_starts: np.ndarray  # (channels + 1,) offset of each band in the weights
    fb_widths: np.ndarray         # (channels + 1,) bins per band
    pcan_lut: np.ndarray          # int16 (value, slope, curvature, pad) per octave


def filter_bank(energy: np.ndarray, t: MicrofrontendTables) -> np.ndarray:
    """FilterbankAccumulateChannels: (F, bins) energies -> (F, channels) uint64 sums;
    channel i gets the weighted band i-1 and the unweighted part of band i."""
    f = len(energy)
    acc = []
    for st, ws, wd in zip(t.fb_freq_starts, t.fb_weight_starts, t.fb_widths):
        e = energy[:, st:st + wd]
        acc.append((e @ t.fb_weights[ws:ws + wd], e @ t.fb_unweights[ws:ws + wd]))
    out = np.zeros((f, len(acc)), np.int64)
    carry = np.zeros(f, np.int64)
    for i, (w, u) in enumerate(acc):
        out[:, i] = carry + w
        carry = u
    return out[:, 1:]


def microfrontend_frames(frames: np.ndarray, p, t: MicrofrontendTables) -> np.ndarray:
    """(F, frame) int16 consecutive frames of one stream -> (F, channels) int8 features.

    p: a FeatureSpec of kind microfrontend (its integer parameters are read here).
    """
    x = frames.astype(np.int64)
    xw = np.clip((x * t.window_q12) >> p.window_shift, -32768, 32767)
    mx = np.abs(xw).max(1)
    scale = np.maximum(15 - _bitlen(mx), 0)
    scale = np.where(mx == 0, 0, scale)
    xs = _w16(xw << scale[:, None])
    re, im = rfft_q15(xs, p.fft)
    energy = _u32(re * re + im * im)
    lo, hi = p.energy_bins
    energy[:, :lo] = 0
    energy[:, hi:] = 0
    fb = filter_bank(energy, t)
    sq = sqrt_rounded(fb) >> scale[:, None]
    out = np.zeros(sq.shape, np.int64)
    noise = np.zeros(sq.shape[1], np.int64)
    odd = (np.arange(sq.shape[1]) & 1) == 1
    sm = np.where(odd, p.nr_alternate_smoothing_q, p.nr_smoothing_q)
    om = np.where(odd, (1 << p.nr_bits) - p.nr_alternate_smoothing_q, (1 << p.nr_bits) - p.nr_smoothing_q)
    for f in range(len(sq)):                        # the noise estimate is state
        s = sq[f]
        up = _u32(s << p.nr_smoothing_bits)
        noise = _u32((up * sm + noise * om) >> p.nr_bits)
        est = np.minimum(noise, up)
        floor = _u32((s * p.nr_min_signal_remaining_q) >> p.nr_bits)
        sub = np.maximum((up - est) >> p.nr_smoothing_bits, floor)
        gain = pcan_gain(noise, t.pcan_lut) & 0xFFFFFFFF
        snr = _u32((sub * gain) >> p.pcan_snr_shift)
        out[f] = pcan_shrink(snr)
    scaled = _u32(out << p.log_correction_bits)
    logv = np.where(scaled > 1, np.minimum(log32(np.maximum(scaled, 2), p.log_scale), 32767), 0)
    q = (logv * 256 + 333) // 666 - 128
    return np.clip(q, -128, 127).astype(np.int8)


# ------------------------------------------------------------------ tables from the spec
# (computed as TFLM's op builders compute them, in float32 where they use float32)

def _freq_to_mel(f) -> np.float32:
    return np.float32(1127.0 * np.log1p(np.float64(np.float32(f)) / 700.0))


FB_INDEX_ALIGNMENT, FB_BLOCK = 2, 4   # 4-byte aligned int16 bins, 4-bin blocks (micro_speech's)


def filter_bank_layout(p):
    """((start, end) energy bins, weights, unweights, freq starts, weight starts, widths):
    HTK-style mel triangles between lower_hz and upper_hz, Q12, one band per channel + 1."""
    n = p.channels
    spectrum = p.fft // 2 + 1
    hz_per_bin = (p.sample_rate / 2) / (spectrum - 1)
    lo, hi = _freq_to_mel(p.lower_hz), _freq_to_mel(p.upper_hz)
    spacing = (hi - lo) / np.float32(n + 1)
    centers = lo + spacing * np.arange(1, n + 2, dtype=np.float32)
    start = round(1 + p.lower_hz / hz_per_bin)
    fstart, wstart, width = (np.zeros(n + 1, np.int64) for _ in range(3))
    act_start, act_width = np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64)
    idx, wpos, zeros = start, 0, False
    for c in range(n + 1):
        f = idx
        while _freq_to_mel(f * hz_per_bin) <= centers[c]:
            f += 1
        act_start[c], act_width[c] = idx, f - idx
        if f == idx:                   # an empty band reads one zero weight at the front
            fstart[c], wstart[c], width[c] = 0, 0, FB_BLOCK
            if not zeros:
                zeros = True
                wstart[:c] += FB_BLOCK
                wpos += FB_BLOCK
        else:                          # start on an aligned bin, pad to whole blocks
            aligned = (idx // FB_INDEX_ALIGNMENT) * FB_INDEX_ALIGNMENT
            padded = ((idx - aligned + f - idx - 1) // FB_BLOCK + 1) * FB_BLOCK
            fstart[c], wstart[c], width[c] = aligned, wpos, padded
            wpos += padded
        idx = f
    w, u = np.zeros(wpos, np.int64), np.zeros(wpos, np.int64)
    end = 0
    for c in range(n + 1):
        den_base = lo if c == 0 else centers[c - 1]
        freq = act_start[c]
        for j in range(act_width[c]):
            num = np.float32(centers[c] - _freq_to_mel(freq * hz_per_bin))
            wf = num / np.float32(centers[c] - den_base)
            k = wstart[c] + (act_start[c] - fstart[c]) + j
            w[k], u[k] = int(wf * 4096), int((1 - wf) * 4096)
            freq += 1
        end = max(end, freq)
    return (start, end), w, u, fstart, wstart, width


def pcan_lut(p) -> np.ndarray:
    """The gain table: gain(x) = 2^gain_bits * (x / 2^input_bits + offset)^-strength at
    x = 0, 1 and, per octave [2^(i-1), 2^i), a quadratic through 3 points."""
    input_bits = p.noise_smoothing_bits - p.log_correction_bits

    def gain(x: int) -> int:
        xf = np.float32(np.float32(x) / np.float32(1 << input_bits))
        g = np.float32(1 << p.pcan_gain_bits) * np.float32(
            np.power(np.float32(xf + np.float32(p.pcan_offset)), np.float32(-p.pcan_strength)))
        return 32767 if g > 32767 else int(np.float32(g + np.float32(0.5)))

    lut = np.zeros(4 * 32 - 3, np.int64)
    lut[0], lut[1] = gain(0), gain(1)
    for i in range(2, 33):
        x0 = 1 << (i - 1)
        x1, x2 = x0 + (x0 >> 1), (x0 + x0 - 1) if i == 32 else 2 * x0
        y0, y1, y2 = gain(x0), gain(x1), gain(x2)
        a1 = 4 * (y1 - y0) - (y2 - y0)
        lut[4 * i - 6:4 * i - 3] = y0, _w16(np.int64(a1)), _w16(np.int64((y2 - y0) - a1))
    return lut


def build_tables(p) -> MicrofrontendTables:
    n = np.arange(p.window)
    hann = np.round((0.5 - 0.5 * np.cos(2 * np.pi / p.window * (n + 0.5))) * (1 << p.window_bits))
    _, w, u, fs, ws, wd = filter_bank_layout(p)
    return MicrofrontendTables(hann.astype(np.int64), w, u, fs, ws, wd, pcan_lut(p))


def microfrontend(samples: np.ndarray, p, tables: MicrofrontendTables | None = None) -> np.ndarray:
    """(frames, channels) int8 features of one clip, as micro_speech computes them: frames
    `window` long every `hop` samples (no padding), one stream (state from frame 0)."""
    t = tables or build_tables(p)
    x = np.asarray(samples, np.int64)
    nf = 1 + (len(x) - p.window) // p.hop if len(x) >= p.window else 0
    if nf == 0:
        return np.zeros((0, p.channels), np.int8)
    idx = np.arange(nf)[:, None] * p.hop + np.arange(p.window)[None, :]
    return microfrontend_frames(x[idx], p, t)
