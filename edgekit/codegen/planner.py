"""Arena planning: every intermediate tensor and every kernel's scratch in one arena.

1. Lifetimes from the static schedule (node order): a tensor lives from the step that
   writes it to the last step that reads it; graph inputs from step 0, outputs to the end.
2. In-place aliasing: a node writes its output over its input when the kernel supports
   it (1x1 conv with cout <= cin, 'same' depthwise with stride 1, add, reshape) and
   nothing reads the input later. Aliased tensors share one buffer.
3. Greedy by size (as TFLM's GreedyMemoryPlanner): buffers sorted by size, largest first,
   each placed at the lowest 4-aligned offset that overlaps no already placed buffer
   whose lifetime intersects its own.
The result is exact: the arena is the end of the highest placed buffer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.compress.codebook import Codebook, deployed_codebooks
from edgekit.ir import Graph, Node
from edgekit.runtime_limits import CB_TILE, DW_MAX_TAPS

ALIGN = 4


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Buffer:
    name: str
    size: int
    first: int
    last: int
    members: list[str] = field(default_factory=list)
    offset: int = -1


@dataclass(frozen=True)
class Plan:
    offsets: dict[str, int]          # tensor name (or "scratch:<node>") -> byte offset
    arena_size: int
    in_place: dict[str, bool]        # node name -> runs in place
    scratch: dict[str, int]          # node name -> scratch bytes
    buffers: tuple = ()

    def report(self) -> list[dict]:
        return [{"buffer": b.name, "offset": b.offset, "size": b.size, "live": [b.first, b.last],
                 "tensors": b.members} for b in sorted(self.buffers, key=lambda b: b.offset)]


def is_pointwise(node: Node, graph: Graph) -> bool:
    if node.op != "Conv2D":
        return False
    w = graph.tensor(node.inputs[1]).shape
    return (w[1], w[2]) == (1, 1) and tuple(node.attr("stride", (1, 1))) == (1, 1) \
        and not any(node.attr("pads", (0, 0, 0, 0)))


def can_run_in_place(node: Node, graph: Graph) -> bool:
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    if node.op == "Reshape":
        return True
    if node.op == "Add":
        return True
    if node.op == "DepthwiseConv2D":
        w = graph.tensor(node.inputs[1]).shape
        return (tuple(node.attr("stride", (1, 1))) == (1, 1) and tuple(node.attr("dilation", (1, 1))) == (1, 1)
                and x.shape == y.shape and w[1] * w[2] <= DW_MAX_TAPS)
    return is_pointwise(node, graph) and y.shape[3] <= x.shape[3]


def scratch_bytes(node: Node, graph: Graph, in_place: bool, codebook: Codebook | None = None) -> int:
    """The kernel's *_buffer_size() (ek_nn.h). codebook: the layer's, when it deploys as
    one (compress.codebook.deployed_codebooks): the *_cb_s8 kernels' scratch."""
    if codebook is not None:
        return _codebook_scratch(node, graph, in_place, codebook)
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    if is_pointwise(node, graph):
        return 4 * x.shape[3] + y.shape[3]                  # 2 pixels as int16 + 1 output pixel
    if node.op == "Conv2D":
        w = graph.tensor(node.inputs[1]).shape
        return 6 * w[1] * w[2] * w[3]                       # 2 im2col columns + int16 copies
    if node.op == "DepthwiseConv2D":    # ring of rows or the 3x3 path's columns + zero-point row
        ring = (node.attr("pads", (0, 0, 0, 0))[0] + 1) * x.shape[2] * x.shape[3] if in_place else 0
        w = graph.tensor(node.inputs[1]).shape
        cols = 24 * (x.shape[2] + 2) if w[1:3] == (3, 3) and x.shape[3] % 4 == 0 else 0
        return max(ring, cols) + x.shape[3]
    return 0


def _codebook_scratch(node: Node, graph: Graph, in_place: bool, cb: Codebook) -> int:
    """The decode table, then: conv / 1x1 conv / FC (a 1x1 conv over its rows): a tile of
    int16 pixels (or im2col columns) and one channel pair's weights; depthwise: the int8
    kernel's scratch (which the table shares), then the filter."""
    w = graph.tensor(node.inputs[1]).shape
    table = 4 * len(cb.table())                            # int32 words
    if node.op == "DepthwiseConv2D":
        return _align(max(scratch_bytes(node, graph, in_place), table)) + w[1] * w[2] * w[3]
    if node.op == "Conv2D" and not is_pointwise(node, graph):
        k = w[1] * w[2] * w[3]                              # the im2col columns sit in the
        return table + (2 * CB_TILE + 4) * k                   # channel pair's room until decoding
    cin = w[-1]
    pixels = graph.tensor(node.inputs[0]).size // cin
    return table + (2 * min(CB_TILE, pixels + pixels % 2) + 4) * cin


def plan_memory(graph: Graph, allow_in_place: bool = True, codebooks: dict | None = None) -> Plan:
    """codebooks: the layers deployed as codebooks (default: deployed_codebooks(graph))."""
    codebooks = deployed_codebooks(graph) if codebooks is None else codebooks
    steps = len(graph.nodes)
    last_use: dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        for t in n.inputs:
            if t and not graph.tensor(t).is_const:
                last_use[t] = i
    for t in graph.outputs:
        last_use[t] = steps
    group: dict[str, Buffer] = {}
    buffers: list[Buffer] = []

    def new_buffer(t: str, first: int) -> None:
        b = Buffer(t, graph.tensor(t).nbytes, first, max(last_use.get(t, first), first), [t])
        group[t] = b
        buffers.append(b)

    for t in graph.inputs:
        new_buffer(t, 0)
    in_place: dict[str, bool] = {}
    scratch: dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        x, out = n.inputs[0], n.outputs[0]
        alias = (allow_in_place and x in group and last_use.get(x) == i and x not in graph.outputs
                 and can_run_in_place(n, graph))
        if n.op == "Add" and alias:   # both operands must die here for a clean alias
            alias = all(last_use.get(t) == i for t in n.inputs if t in group)
        in_place[n.name] = alias
        if alias:
            b = group[x]
            b.members.append(out)
            b.size = max(b.size, graph.tensor(out).nbytes)
            b.last = max(last_use.get(out, i), i)
            group[out] = b
        else:
            new_buffer(out, i)
        s = scratch_bytes(n, graph, alias, codebooks.get(n.name))
        if s:
            scratch[n.name] = s
            key = f"scratch:{n.name}"
            b = Buffer(key, s, i, i, [key])
            group[key] = b
            buffers.append(b)
    _place(buffers)
    offsets = {m: b.offset for b in buffers for m in b.members}
    size = max((b.offset + b.size for b in buffers), default=0)
    return Plan(offsets, _align(size), in_place, scratch, tuple(buffers))


def _place(buffers: list[Buffer]) -> None:
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first, b.name)):
        live = sorted((p for p in placed if not (p.last < b.first or b.last < p.first)),
                      key=lambda p: p.offset)
        offset = 0
        for p in live:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        b.offset = offset
        placed.append(b)
