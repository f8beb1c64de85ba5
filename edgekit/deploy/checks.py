"""Deploy-time checks: will it fit the board (before building, then exactly after), and
does the generated model on the board's core agree with the NumPy reference."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edgekit.codegen.emit import Generated
from edgekit.deploy.boards import Board
from edgekit.errors import EdgekitError, InputError
from edgekit.ir import Graph

# What the KWS firmware needs besides the model (measured on the mps2-an386 build, rounded
# up): code of the runtime, front end, app and C library (semihosting stdio, libm), the
# front-end tables; RAM for the 1 s clip buffer, front-end ring, detector, stack.
FIRMWARE_FLASH = 40_000
FIRMWARE_RAM = 48_000


def estimate(gen: Generated) -> dict:
    return {"flash_bytes": gen.weight_bytes + FIRMWARE_FLASH,
            "ram_bytes": gen.plan.arena_size + FIRMWARE_RAM}


def check_tools(board: Board, build: bool, run: bool, verify: bool) -> None:
    """Every external tool the deploy will call, found before any long step (a missing
    QEMU should not cost a compression run first)."""
    from edgekit.build.cbuild import _need

    if board.emulated and (build or verify):
        _need("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    if board.emulated and (verify or (build and run)):
        _need("qemu-system-arm", "qemu-system-arm")
    if build:
        from edgekit.deploy.platformio import _pio
        _pio()


def check_frontend_input(graph: Graph, spec=None) -> None:
    """The firmware feeds the model the front end's int8 MFCC map; a model trained on
    anything else would run, and be wrong on every clip."""
    from edgekit.audio import MfccSpec

    spec = spec or MfccSpec()
    want = (1, spec.frames, spec.coeffs, 1)
    got = tuple(graph.tensor(graph.inputs[0]).shape)
    if got != want and got != (1, spec.frames, spec.coeffs):
        raise InputError(f"model input {list(got)} does not match the keyword-spotting front end "
                         f"({spec.frames} frames x {spec.coeffs} MFCCs: {list(want)}); `edgekit deploy` "
                         "needs a model on those features (`edgekit codegen` builds any model)")
    n_out = graph.tensor(graph.outputs[0]).size
    if n_out < 2:
        raise InputError(f"model output has {n_out} value(s); a keyword spotter needs one score per class")


def check_fits(board: Board, need: dict, exact: bool) -> None:
    what = "needs" if exact else "needs about"
    for key, label in (("flash_bytes", "flash"), ("ram_bytes", "RAM")):
        have = getattr(board, key)
        if need[key] > have:
            raise InputError(f"model too big for {board.name}: the firmware {what} {need[key]:,} bytes of "
                             f"{label}, the board has {have:,} ({need[key] - have:,} bytes over)")


def verify_on_board(graph: Graph, gen: Generated, target, x: np.ndarray) -> str:
    """Run the generated model (the same C, built for the board's core with edgekit's own
    compiler call, not the PlatformIO one) on a few inputs; refuse when any output byte
    differs from the int8 reference."""
    from edgekit.build.cbuild import build, run_batch
    from edgekit.evaluate import model_inputs
    from edgekit.quant.reference import run_int8
    from edgekit.runtime.tflm import first_mismatch

    xq = model_inputs(graph, x)
    ref = run_int8(graph, xq)[0].reshape(len(xq), -1)
    with tempfile.TemporaryDirectory() as d:
        exe = build(gen, target, Path(d))
        got = run_batch(exe, target, xq.reshape(len(xq), -1), ref.shape[1])
    diff = first_mismatch(ref, got)
    if diff:
        raise EdgekitError(f"verification failed: the generated model on {target.name} disagrees with "
                           f"the NumPy reference at {diff}; not shipping this firmware "
                           "(--no-verify skips the check; please report)")
    return f"identical on {len(xq)} inputs ({target.name})"
