"""Reading user wavs: 16-bit PCM mono at the front end's rate, or a clear InputError;
writing them (test streams, probes) with the stdlib `wave` module.

The RIFF walk is the twin of the firmware's reader (edgekit/firmware/kws/ek_audio_wav.c): chunks
in any order up to `data`, unknown chunks (LIST, fact, ...) skipped, odd chunk sizes
padded, format tag 1 (PCM) only. What one accepts, the other accepts. (The stdlib `wave`
module does not read them: it raises bare RuntimeErrors on some corrupt files.)
"""
from __future__ import annotations

import os
import struct
import wave

import numpy as np

from edgekit.errors import InputError


def read_wav(path: str, rate: int = 16000) -> np.ndarray:
    """int16 samples of a mono 16-bit PCM wav at `rate` Hz (the front end's only format:
    resampling or downmixing on the device would change the features the model saw)."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such wav file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    return parse_wav(data, path, rate)


def parse_wav(data: bytes, path: str = "<bytes>", rate: int = 16000) -> np.ndarray:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InputError(f"{path}: not a readable PCM wav (no RIFF/WAVE header)")
    pos, have_fmt = 12, False
    while pos + 8 <= len(data):
        cid, n = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + n]
        if cid == b"fmt ":
            _check_fmt(body, n, path, rate)
            have_fmt = True
        elif cid == b"data":
            if not have_fmt:
                raise InputError(f"{path}: not a readable PCM wav (data chunk before the fmt chunk)")
            if n < 2:
                raise InputError(f"{path}: no audio samples")
            if len(body) < n:
                raise InputError(f"{path}: truncated ({len(body) // 2} of {n // 2} samples)")
            return np.frombuffer(body, "<i2", n // 2).astype(np.int16)
        pos += 8 + n + (n & 1)
    what = "data chunk" if have_fmt else "fmt chunk"
    raise InputError(f"{path}: not a readable PCM wav (no {what}; truncated?)")


def _check_fmt(body: bytes, n: int, path: str, rate: int) -> None:
    if n < 16 or len(body) < 16:
        raise InputError(f"{path}: not a readable PCM wav (fmt chunk of {min(n, len(body))} bytes)")
    tag, ch, fr, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag != 1:
        raise InputError(f"{path}: format tag {tag:#06x}, the front end needs PCM (1)")
    if fr != rate:
        raise InputError(f"{path}: sample rate {fr} Hz, the front end needs {rate} Hz "
                         f"(resample it, e.g. `sox -D in.wav -r {rate} out.wav`)")
    if ch != 1:
        raise InputError(f"{path}: {ch} channels, the front end needs mono")
    if bits != 16:
        raise InputError(f"{path}: {bits}-bit samples, the front end needs 16-bit PCM")


def write_wav(path: str, x: np.ndarray, rate: int = 16000) -> None:
    """x (int16 samples) as a mono 16-bit PCM wav: the 44-byte header, then the data."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(x, "<i2").tobytes())
