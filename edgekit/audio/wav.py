"""Reading user wavs: 16-bit PCM mono at the front end's rate, or a clear InputError."""
from __future__ import annotations

import os
import wave

import numpy as np

from edgekit.errors import InputError


def read_wav(path: str, rate: int = 16000) -> np.ndarray:
    """int16 samples of a mono 16-bit PCM wav at `rate` Hz (the front end's only format:
    resampling or downmixing on the device would change the features the model saw)."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such wav file")
    try:
        with wave.open(path, "rb") as w:
            ch, width, fr, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            data = w.readframes(n)
    except (wave.Error, EOFError, OSError) as e:
        raise InputError(f"{path}: not a readable PCM wav ({e})") from None
    if fr != rate:
        raise InputError(f"{path}: sample rate {fr} Hz, the front end needs {rate} Hz "
                         f"(resample it, e.g. `sox -D in.wav -r {rate} out.wav`)")
    if ch != 1:
        raise InputError(f"{path}: {ch} channels, the front end needs mono")
    if width != 2:
        raise InputError(f"{path}: {8 * width}-bit samples, the front end needs 16-bit PCM")
    if len(data) < 2 * n or n == 0:
        raise InputError(f"{path}: no audio samples" if n == 0 else f"{path}: truncated "
                         f"({len(data) // 2} of {n} samples)")
    return np.frombuffer(data, "<i2").astype(np.int16)
