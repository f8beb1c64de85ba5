"""The firmware's wav reader (C, parses the user's wavs on the board) against its Python
twin (edgekit.audio.wav, which `deploy` uses to check them first), on a fuzz corpus:
built for the host with AddressSanitizer + UBSan (no memory error on any input) and for
the emulated Cortex-M4 (32-bit `long`, the real target). Every file Python accepts, C
accepts with the same samples; every file Python rejects, C rejects too, except a
truncated data chunk, which the streaming C reader plays up to the end of the file."""
from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest

from edgekit.audio.wav import parse_wav
from edgekit.boards import get_board
from edgekit.errors import InputError
from edgekit.resources import FIRMWARE
from edgekit.toolchain.cbuild import build, run_program
from tests.conftest import ROOT, SAMPLES
from tests.fuzz.run import fuzz

HARNESS = ROOT / "tests" / "fuzz" / "c" / "wav_check.c"


def _chunk(cid: bytes, body: bytes, size: int | None = None) -> bytes:
    n = len(body) if size is None else size
    return cid + struct.pack("<I", n) + body + (b"\0" if len(body) & 1 else b"")


def _handmade() -> list[bytes]:
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    pcm = np.arange(-50, 50, dtype="<i2").tobytes()

    def riff(*chunks):
        body = b"WAVE" + b"".join(chunks)
        return b"RIFF" + struct.pack("<I", len(body)) + body

    return [riff(_chunk(b"fmt ", fmt), _chunk(b"data", pcm)),
            riff(_chunk(b"LIST", b"odd"), _chunk(b"fmt ", fmt + b"xy"), _chunk(b"data", pcm)),
            riff(_chunk(b"data", pcm), _chunk(b"fmt ", fmt)),                     # data first
            riff(_chunk(b"fmt ", fmt), _chunk(b"data", pcm, 0xFFFFFFF0)),          # huge data
            riff(_chunk(b"LIST", b"", 0xFFFFFFF0), _chunk(b"fmt ", fmt)),          # huge skip
            riff(_chunk(b"fmt ", fmt), _chunk(b"LIST", b"", 0xFFFFFFF8)),          # (long)len = -8 on a
            # 32-bit core: without the reader's size check, it seeks back onto the same header forever
            riff(_chunk(b"fmt ", fmt), _chunk(b"junk", b"", 0xFFFFFFFF)),          # 4 GB - 1
            riff(_chunk(b"fmt ", fmt[:12])), riff(_chunk(b"fmt ", fmt), _chunk(b"data", b"\1")),
            riff(_chunk(b"fmt ", fmt), _chunk(b"data", pcm[:-40], len(pcm)))]     # truncated


def _mutants(seeds: list[bytes], n: int) -> list[bytes]:
    rng = random.Random(0)
    out = []
    for _ in range(n):
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            if op < 0.5 and b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif op < 0.7:
                b = b[:rng.randrange(len(b) + 1)]
            elif len(b) > 8:
                i = rng.randrange(len(b) - 4)
                b[i:i + 4] = struct.pack("<I", rng.choice([0, 1, 15, 16, 0x7FFFFFF1, 0xFFFFFFFF, rng.randrange(1 << 32)]))
        out.append(bytes(b))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("wavs")
    r = fuzz("wav", 5, workdir=str(d / "fuzz"))              # a coverage-guided corpus ...
    f = r["finding"]   # the Python reader itself must end every input in samples or InputError
    assert f is None, f"wav fuzzing: {f['what']} (exit {f['exit']}); input {f['inputs']}\n{f['traceback']}"
    files = sorted((d / "fuzz" / "corpus").iterdir())
    # the corpus really grew (500 inputs in 5 s: tests/reliability/test_fuzz.py's bar)
    assert r["inputs"] >= 500 and len(files) == r["corpus"] > 0, r
    files += sorted(SAMPLES.glob("wavs/*.wav"))
    seeds = [f.read_bytes() for f in files] + _handmade()
    for i, data in enumerate(_handmade() + _mutants(seeds, 300)):  # ... plus edge cases and mutants
        (d / f"case{i:04d}.wav").write_bytes(data)
    return files + sorted(d.glob("case*.wav"))


def _python(data: bytes):
    try:
        x = parse_wav(data)
    except InputError as e:
        return None, str(e)
    h = 2166136261
    for v in x.astype(np.uint16):
        h = ((h ^ int(v)) * 16777619) & 0xFFFFFFFF
    return (len(x), h), ""


@pytest.mark.parametrize("target_name, cflags", [
    ("host", ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")),
    ("mps2-an386", ()),
])
def test_c_wav_reader_agrees_with_its_python_twin(corpus, target_name, cflags, tmp_path):
    target = get_board(target_name)
    exe = build(None, target, tmp_path, app=HARNESS, extra_srcs=(FIRMWARE / "kws" / "ek_audio_wav.c",),
                includes=(FIRMWARE / "kws",), extra_cflags=cflags, opt="-O1")
    (tmp_path / "ek_wav_list.txt").write_text("".join(f"{p.resolve()}\n" for p in corpus))
    r = run_program(exe, target, ["ek_wav_list.txt"], "the wav reader check", timeout=120)
    rows = [tuple(int(v) for v in line.split()) for line in r.stdout.splitlines()]
    assert len(rows) == len(corpus), r.stderr[-2000:]
    accepted = 0
    for (i, rc, n, h), path in zip(rows, corpus):
        py, why = _python(path.read_bytes())
        if py is not None:
            accepted += 1
            assert (rc, n, h) == (0, *py), f"{path.name}: C gives rc {rc}, {n} samples; Python {py}"
        elif "truncated" in why:
            assert rc == 0 or rc == -2, f"{path.name}: {why}; C rc {rc}"
        else:
            assert rc != 0, f"{path.name}: Python rejects ({why}), C accepts {n} samples"
    assert accepted >= 5 and accepted < len(corpus)   # both kinds really occur
