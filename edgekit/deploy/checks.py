"""Deploy-time checks, run before any long step: the tools are there, the model takes the
front end's features, it fits the board (estimated before building, exactly after)."""
from __future__ import annotations

from edgekit.boards import Board
from edgekit.codegen.emit import Generated
from edgekit.errors import InputError
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
    from edgekit.toolchain.cbuild import need_tool

    if (board.emulated and verify) or (board.baremetal and build):
        need_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    if board.emulated and (verify or (build and run)):
        need_tool("qemu-system-arm", "qemu-system-arm")
    if build:
        from edgekit.deploy.platformio import pio_path
        pio_path()


def check_input_shape(graph: Graph, spec) -> None:
    """The model's input is the spec's feature map: [1, frames, features(, 1)] or flattened."""
    f, c = spec.shape
    got = tuple(graph.tensor(graph.inputs[0]).shape)
    if got not in ((1, f, c, 1), (1, f, c), (1, f * c)):
        raise InputError(f"model input {list(got)} does not match the {spec.kind} front end "
                         f"({f} frames x {c} features: {[1, f, c, 1]}); `edgekit deploy` needs a model "
                         "on those features (see `edgekit features MODEL`; `edgekit codegen` builds any model)")


def check_frontend_input(graph: Graph, spec=None) -> None:
    """The model's input is the front end's feature map ([1, frames, features(, 1)] or
    flattened), and deploy has a C front end of that kind: a model trained on other
    features would run, and be wrong on every clip."""
    from edgekit.audio.features import FIRMWARE_KINDS, mfcc_default

    spec = spec or mfcc_default()
    check_input_shape(graph, spec)
    gap = spec.firmware_gap()
    if gap:
        raise InputError(f"{gap}: deploy builds firmware for {', '.join(FIRMWARE_KINDS)} front ends "
                         "(the mfcc one with the sample's parameters, the others from their spec) only")
    if spec.kind == "microfrontend" and graph.tensor(graph.inputs[0]).dtype != "int8":
        raise InputError(f"the microfrontend's features are int8 codes the model takes as they are: "
                         f"the model's input must be int8 (it is {graph.tensor(graph.inputs[0]).dtype}; "
                         "deploy an int8 .tflite trained on those features)")
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

