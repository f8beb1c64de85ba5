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
