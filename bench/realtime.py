"""Real time by construction (issue 18): the sample's default deploy plan on every board.

usage: python bench/realtime.py [--deployed MODEL.tflite] [--out bench/results] [--boards a,b]

The model is what `edgekit deploy samples/kws_ref_model.keras` builds (data-free 3-bit
k-means codebooks; --deployed takes its OUT/model.tflite, else deploy runs here with
--no-build --no-verify). For every board with a firmware build, its KWS firmware is
counted in QEMU (edgekit.deploy.realtime.measure: the board's own compiler flags) twice,
as deploy's codebook layers and as the same weights in int8 layers, and deploy's rule
(realtime.choose_layers) picks the layers and the stride, or refuses (real boards) / warns
(emulated ones). Every cycle and load is an ESTIMATE (edgekit.toolchain.profile's timing
model), from exact QEMU instruction-class counts; "cached" = a perfect flash cache.

Prints a table; writes bench/results/realtime.json. Exits 1 if a board's default plan is
above 50 % (the acceptance of issue 18), so the figures are never silently worse.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("EDGEKIT_QUIET", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from edgekit.boards import list_boards  # noqa: E402
from edgekit.codegen.emit import generate  # noqa: E402
from edgekit.deploy import checks, fit, realtime  # noqa: E402
from edgekit.deploy.firmware import KwsConfig  # noqa: E402
from edgekit.errors import InputError  # noqa: E402
from edgekit.importers import load_int8_model  # noqa: E402

LABELS = (ROOT / "samples" / "kws_ref_model.labels.txt").read_text().split()


def board_plan(board, gens: dict) -> dict:
    """Both layer kinds' costs on the board and deploy's decision."""
    int8_fits = fit.fits(checks.estimate(gens["int8"]), board)
    costs = {k: realtime.measure(g, board, LABELS, KwsConfig(), board.frontend) for k, g in gens.items()}
    row = {"board": board.name, "core": board.core_label, "clock_hz": board.clock_hz, "frontend": board.frontend,
           "emulated": board.emulated, "int8_fits_flash": int8_fits}
    if isinstance(costs["codebooks"], str):
        return {**row, "why": costs["codebooks"]}
    for k, c in costs.items():
        row[k] = {"inference_ms": round(c.inference_ms(), 1), "inference_ms_cached": round(c.inference_ms(True), 1),
                  "load_1s": round(c.load(realtime.MAX_STRIDE_MS), 3),
                  "load_1s_cached": round(c.load(realtime.MAX_STRIDE_MS, True), 3)}
    row["frontend_load"] = round(costs["codebooks"].frontend_load(), 3)
    row["frontend_load_cached"] = round(costs["codebooks"].frontend_load(True), 3)
    row["core1_load"] = round(costs["codebooks"].core1_per_s[0] / board.clock_hz, 3)
    try:
        layers, cfg, rep = realtime.choose_layers(costs["codebooks"], lambda: costs["int8"] if int8_fits else None,
                                                  board, KwsConfig(), realtime.MAX_LOAD, auto=True)
        load = rep["load_cached"] if rep["relies_on_flash_cache"] else rep["load"]
        row.update(layers=layers, stride_ms=rep["stride_ms"], load=load, margin=rep["margin"],
                   real_time=rep["real_time"], relies_on_flash_cache=rep["relies_on_flash_cache"],
                   warning=rep.get("warning"))
    except InputError as e:
        row.update(layers=None, refused=str(e), real_time=False)
    return row


def fmt(r: dict) -> str:
    if "why" in r:
        return f"| `{r['board']}` | {r['why']} |"
    cb, i8 = r["codebooks"], r["int8"]
    ms = f"{cb['inference_ms']:.0f} / {i8['inference_ms']:.0f}"
    if cb["inference_ms_cached"] != cb["inference_ms"]:
        ms += f" ({cb['inference_ms_cached']:.0f} / {i8['inference_ms_cached']:.0f} cached)"
    cached = " (flash cache needed)" if r.get("relies_on_flash_cache") else ""
    plan = (f"{r['layers']}, {r['stride_ms']} ms, {r['load'] * 100:.0f} %{cached}" if r.get("real_time")
            else f"NOT real time: {r['layers'] or 'refused'}, {r.get('load', cb['load_1s_cached']) * 100:.0f} % at "
                 f"{r.get('stride_ms', 1000)} ms")
    return (f"| `{r['board']}` {r['clock_hz'] / 1e6:g} MHz {r['core']} | {r['frontend']} | "
            f"{r['frontend_load'] * 100:.1f} % | {ms} | {plan} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deployed", help="deploy's OUT/model.tflite of the sample (default: run deploy here)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--boards", help="comma-separated board names (default: every board with a firmware build)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory()
    if a.deployed:
        deployed = Path(a.deployed)
    else:
        from kws_stream import deployed_model
        deployed = deployed_model(Path(tmp.name))
    q = load_int8_model(str(deployed))
    gens = {"codebooks": generate(q, "kws"), "int8": generate(q, "kws", codebooks=False)}
    names = a.boards.split(",") if a.boards else None
    boards = [b for b in list_boards() if b.pio_platform and (names is None or b.name in names)]
    rows = []
    print("| board | front end | front end load | one inference, codebook / int8 layers (ms) | deploy's plan |")
    print("|---|---|---|---|---|")
    for b in boards:
        rows.append(board_plan(b, gens))
        print(fmt(rows[-1]), flush=True)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    out = {"kind": "ESTIMATE (timing model on exact QEMU instruction-class counts)", "model": str(deployed),
           "max_load": realtime.MAX_LOAD, "boards": rows, "seconds": round(time.perf_counter() - t0)}
    Path(a.out, "realtime.json").write_text(json.dumps(out, indent=2) + "\n")
    over = [r["board"] for r in rows if "why" not in r and not r.get("real_time")]
    if over:
        print(f"above {realtime.MAX_LOAD * 100:.0f} % at every stride: {', '.join(over)}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
