"""read_wav: what the front end accepts, and one clear InputError for everything else."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from edgekit.audio import read_wav
from edgekit.errors import InputError


def write(path, rate=16000, ch=1, width=2, n=1600):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(ch)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(np.zeros(n * ch * width, np.uint8).tobytes())
    return str(path)


def test_reads_16k_mono(tmp_path):
    assert read_wav(write(tmp_path / "ok.wav")).shape == (1600,)


@pytest.mark.parametrize("kw,msg", [
    ({"rate": 8000}, "sample rate 8000 Hz, the front end needs 16000 Hz"),
    ({"ch": 2}, "2 channels, the front end needs mono"),
    ({"width": 1}, "8-bit samples, the front end needs 16-bit PCM"),
    ({"n": 0}, "no audio samples"),
])
def test_wrong_format(tmp_path, kw, msg):
    with pytest.raises(InputError, match=msg):
        read_wav(write(tmp_path / "bad.wav", **kw))


def test_missing_truncated_and_not_wav(tmp_path):
    with pytest.raises(InputError, match="no such wav file"):
        read_wav(str(tmp_path / "nope.wav"))
    p = write(tmp_path / "t.wav")
    data = open(p, "rb").read()
    open(p, "wb").write(data[:300])
    with pytest.raises(InputError, match="truncated"):
        read_wav(p)
    (tmp_path / "x.wav").write_bytes(b"not a wav at all")
    with pytest.raises(InputError, match="not a readable PCM wav"):
        read_wav(str(tmp_path / "x.wav"))
