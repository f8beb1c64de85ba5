"""The host side of the serial-PCM KWS firmware (edgekit/firmware/kws/ek_kws_serial_main.c)
on a real SoC in QEMU (netduinoplus2: the STM32F4 board support, USART2): wavs go to the
UART's RX as records, the firmware's lines come back from its TX.

QEMU's STM32F4 USART takes the next byte only once the firmware has read the previous one
(no baud timing, no overrun) and the firmware answers every record before the host sends
the next, so no sample is lost however fast either side runs; the firmware's lines are
those of the semihosting build (ek_kws_main.c), parsed by the same code.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from edgekit.boards import Board
from edgekit.errors import EdgekitError
from edgekit.runtime_limits import AUDIO_RING

REC_CLIP, REC_CLASSIFY, REC_STREAM, REC_END = 1, 2, 3, 4   # ek_kws_serial_main.c's records
CHUNK = AUDIO_RING // 2   # samples per record: ek_kws_serial_main.c's EK_SERIAL_CHUNK, half the ring
CLIP = 16000     # samples classified per clip (EK_FE_CLIP: the first second)
# QEMU's serial port (-serial, in order) of the UART each SoC's board support talks on
QEMU_SERIAL = {"stm32f4": 1}   # USART2: QEMU's STM32F405 wires USART1 to the first, USART2 to the second


def qemu_cmd(board: Board, exe: Path, plugin: list[str] | None = None) -> list[str]:
    from edgekit.toolchain.cbuild import need_tool

    serials = ["-serial", "null"] * QEMU_SERIAL[board.soc] + ["-serial", "stdio"]
    return [need_tool("qemu-system-arm", "qemu-system-arm"), "-M", board.emulator, "-display", "none",
            "-monitor", "none", *serials, *(plugin or []), "-kernel", str(exe)]


def _record(kind: int, samples: np.ndarray | None = None) -> bytes:
    if samples is None:
        return np.array([kind], "<u2").tobytes()
    return np.array([kind, len(samples)], "<u2").tobytes() + np.ascontiguousarray(samples, "<i2").tobytes()


def _chunks(kind: int, x: np.ndarray):
    for i in range(0, len(x), CHUNK):
        yield _record(kind, x[i:i + CHUNK])


class _Link:
    """QEMU with the firmware's UART on its stdin/stdout; lines read with a deadline."""

    def __init__(self, cmd: list[str], cwd: Path, timeout: float, name: str):
        self.p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.deadline, self.name, self.buf, self.log = time.monotonic() + timeout, name, b"", []
        self.timeout = timeout

    def send(self, data: bytes) -> None:
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            raise EdgekitError(f"{self.name}: QEMU stopped ({self._stderr()})") from None

    def line(self) -> str:
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise EdgekitError(f"{self.name}: the KWS firmware did not finish in {self.timeout:.0f} s")
            if select.select([self.p.stdout], [], [], min(left, 1.0))[0]:
                data = os.read(self.p.stdout.fileno(), 65536)
                if not data:
                    raise EdgekitError(f"{self.name}: QEMU stopped ({self._stderr()})")
                self.buf += data
        ln, self.buf = self.buf.split(b"\n", 1)
        text = ln.decode("ascii", "replace").rstrip("\r")
        self.log.append(text)
        if text.startswith("error"):
            raise EdgekitError(f"{self.name} firmware: {text}")
        return text

    def until(self, *ends: str) -> str:
        while not (ln := self.line()).startswith(ends):
            pass
        return ln

    def _stderr(self) -> str:
        self.stop()
        return (self.p.stderr.read().decode(errors="replace").strip().splitlines() or ["no message"])[-1][:200]

    def stop(self) -> None:
        """SIGTERM: QEMU shuts down cleanly, so the counting plugin writes its file."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def run_serial_kws(exe: Path, board: Board, wavs: list[str], timeout: float = 600,
                   plugin: list[str] | None = None, stream: bool = True) -> str:
    """Every wav's first second classified, then (with `stream`) all of them back to back
    through the detector; returns the firmware's output, in ek_kws_main's lines."""
    from edgekit.audio import read_wav

    audio = [read_wav(w) for w in wavs]
    link = _Link(qemu_cmd(board, exe, plugin), exe.parent, timeout, board.name)
    try:
        link.until("edgekit kws:")
        for x in audio:
            for rec in _chunks(REC_CLIP, x[:CLIP]):
                link.send(rec)
                link.until("ok")
            link.send(_record(REC_CLASSIFY))
            link.until("clip ")
        if stream:
            for rec in _chunks(REC_STREAM, np.concatenate(audio) if audio else np.zeros(0, np.int16)):
                link.send(rec)
                link.until("ok")
            link.send(_record(REC_END))
            link.until("end")
    finally:
        link.stop()
    return "\n".join(link.log) + "\n"
