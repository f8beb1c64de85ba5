"""Kernels (issue 19): instructions and ESTIMATED cycles per layer type, int8 vs codebook
layers at 1-4 bits vs the CMSIS-NN anchor, with each build's flash and RAM.

usage: python bench/kernels.py [--out bench/results]

Models: the sample's official int8 model, and the float sample compressed as `deploy`
does but with k-means at 2, 4, 8 and 16 bins (1-4 bit indices; a short synthesis and no
learned rounding: instruction counts do not depend on the weights' quality). Each is
profiled (`edgekit profile`: exact QEMU instruction counts, the timing model's ESTIMATED
cycles) on mps2-an386 (Cortex-M4, SIMD paths), mps2-an500 (Cortex-M7) and mps2-an385
(Cortex-M3, plain C). Layer types: the first conv (10x4), depthwise 3x3, pointwise 1x1,
fully connected, the rest (pool, softmax). CMSIS-NN anchors measured on the same model
and board (issue 19): first conv 3.49, depthwise 7.79, pointwise 2.09 instructions per
MAC, 7,698,004 in total on the M4; 10,493,773 with its pure C kernels on the M3.

Prints one table per board; writes bench/results/kernels.json. Exits 1 if a codebook
build exceeds issue 19's limits against the int8 build on the M4 (each layer type and the
total <= 1.1x the instructions; RAM <= int8's + 1 KB; flash <= int8's).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("EDGEKIT_QUIET", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgekit.boards import get_board  # noqa: E402
from edgekit.importers import load_model  # noqa: E402
from edgekit.ir import Graph  # noqa: E402
from edgekit.synth import SynthConfig, synthesize  # noqa: E402
from edgekit.toolchain.profile import profile  # noqa: E402

from checks import report_checks  # noqa: E402  (bench/checks.py)

BOARDS = ("mps2-an386", "mps2-an500", "mps2-an385")
TYPES = ("first conv", "depthwise", "pointwise", "fully connected", "other")
CMSIS_NN = {"per_mac": {"first conv": 3.49, "depthwise": 7.79, "pointwise": 2.09}, "total_m4": 7_698_004,
            "total_m3_pure_c": 10_493_773}
LIMIT_INSNS, LIMIT_RAM = 1.1, 1024


def layer_type(g: Graph, i: int) -> str:
    n = g.nodes[i]
    if n.op == "DepthwiseConv2D":
        return "depthwise"
    if n.op == "Conv2D":
        return "pointwise" if g.tensor(n.inputs[1]).shape[1:3] == (1, 1) else "first conv"
    return "fully connected" if n.op == "FullyConnected" else "other"


def by_type(g: Graph, prof: dict) -> dict:
    out = {t: {"macs": 0, "instructions": 0, "est_cycles": 0} for t in TYPES}
    for row in prof["layers"]:
        t = out[layer_type(g, row["layer"])]
        for k in t:
            t[k] += row[k]
    for t in out.values():
        t["insns_per_mac"] = round(t["instructions"] / t["macs"], 2) if t["macs"] else None
    return out


def models() -> dict[str, Graph]:
    from edgekit.compress import CompressConfig, compress_to_int8

    out = {"int8": load_model(str(ROOT / "samples" / "kws_ref_model_int8.tflite"))}
    g = load_model(str(ROOT / "samples" / "kws_ref_model.keras"))
    sx = synthesize(g, SynthConfig(n=16, iters=50), show_progress=False).x
    for bits in (1, 2, 3, 4):
        cfg = CompressConfig(method="kmeans", bins={"*": 2 ** bits}, refine_steps=0)
        out[f"codebook {bits}-bit"] = compress_to_int8(g, sx, cfg, show_progress=False)[1]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    a = ap.parse_args()
    rows = []
    for name, g in models().items():
        for b in BOARDS:
            p = profile(g, get_board(b))
            rows.append({"model": name, "board": b, "instructions": p["instructions"],
                         "est_cycles": p["cycle_estimate"]["cycles"], "flash_bytes": p["flash_bytes"],
                         "ram_bytes": p["ram_bytes"], "arena_bytes": p["arena_bytes"],
                         "types": by_type(g, p)})
            print(f"{name} on {b}: {p['instructions']:,} instructions", flush=True)
    for b in BOARDS:
        print(f"\n{b}: instructions per MAC by layer type, totals (ESTIMATED cycles), flash, RAM")
        print(f"{'model':16} " + " ".join(f"{t:>15}" for t in TYPES[:3]) + f" {'instructions':>13} "
              f"{'est. cycles':>12} {'flash B':>8} {'RAM B':>7}")
        for r in (r for r in rows if r["board"] == b):
            print(f"{r['model']:16} " + " ".join(f"{r['types'][t]['insns_per_mac']:>15}" for t in TYPES[:3])
                  + f" {r['instructions']:>13,} {r['est_cycles']:>12,} {r['flash_bytes']:>8,} {r['ram_bytes']:>7,}")
        if b == "mps2-an386":
            print(f"{'CMSIS-NN':16} " + " ".join(f"{CMSIS_NN['per_mac'][t]:>15}" for t in TYPES[:3])
                  + f" {CMSIS_NN['total_m4']:>13,}")
        if b == "mps2-an385":
            print(f"{'CMSIS-NN pure C':16} " + " " * 48 + f"{CMSIS_NN['total_m3_pure_c']:>13,}")
    m4 = {r["model"]: r for r in rows if r["board"] == "mps2-an386"}
    base = m4["int8"]
    checks = {}
    for name, r in m4.items():
        if name == "int8":
            continue
        for t in TYPES[:4]:
            ratio = r["types"][t]["instructions"] / base["types"][t]["instructions"]
            checks[f"M4 {name}: {t} {ratio:.3f}x int8's instructions (<= {LIMIT_INSNS})"] = ratio <= LIMIT_INSNS
        ratio = r["instructions"] / base["instructions"]
        checks[f"M4 {name}: total {ratio:.3f}x int8's instructions (<= {LIMIT_INSNS})"] = ratio <= LIMIT_INSNS
        checks[f"M4 {name}: RAM {r['ram_bytes']:,} B <= int8's {base['ram_bytes']:,} B + 1 KB"] = (
            r["ram_bytes"] <= base["ram_bytes"] + LIMIT_RAM)
        checks[f"M4 {name}: flash {r['flash_bytes']:,} B <= int8's {base['flash_bytes']:,} B"] = (
            r["flash_bytes"] <= base["flash_bytes"])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kernels.json").write_text(json.dumps({"rows": rows, "cmsis_nn": CMSIS_NN, "checks": checks},
                                                 indent=2) + "\n")
    return report_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
