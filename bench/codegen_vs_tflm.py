"""Generated C vs the TFLM interpreter on the same int8 models.

usage: python bench/codegen_vs_tflm.py [--assets ../shared/assets] [--out bench/results]

For kws_ref_model_int8.tflite (official) and an edgekit data-free int8 build of the same
model, measures:
  - exactness: generated C on the host vs TFLM's outputs, all 1000 eembc_kws01 inputs,
    and on each emulated board (mps2-an386 M4, mps2-an500 M7, mps2-an385 M3) for 50;
  - RAM: edgekit's planned arena vs TFLM's minimum working arena (bisection with the
    tflite-micro interpreter: the smallest arena_size that allocates and invokes);
  - flash: arm-none-eabi-size of the Cortex-M4 ELF (code + parameters);
  - instructions per inference on the emulated Cortex-M4 (exact, QEMU plugin) and
    instructions per MAC, per layer, vs the measured CMSIS-NN anchor (7,698,004);
  - host latency: generated C (gcc -O2) per inference vs the TFLM interpreter's invoke().
Prints a table and writes bench/results/codegen_vs_tflm.json. Exits 1 unless the C is
identical to TFLM on every input, on the host and on each emulated board.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("EDGEKIT_QUIET", "1")

from edgekit.boards import get_board  # noqa: E402
from edgekit.codegen.emit import generate  # noqa: E402
from edgekit.executors.tflm import run_tflm  # noqa: E402
from edgekit.importers import load_model  # noqa: E402
from edgekit.native_io import quiet_native_stderr  # noqa: E402
from edgekit.quant.ptq import quantize_graph  # noqa: E402
from edgekit.synth import SynthConfig, synthesize  # noqa: E402
from edgekit.tflite import export_tflite  # noqa: E402
from edgekit.toolchain.cbuild import build, run_batch  # noqa: E402
from edgekit.toolchain.profile import profile  # noqa: E402

CMSIS_NN_ANCHOR = 7_698_004


def tflm_min_arena(path: str, shape) -> int:
    from tflite_micro.python.tflite_micro import runtime

    def ok(n: int) -> bool:
        try:
            with quiet_native_stderr():
                it = runtime.Interpreter.from_file(path, arena_size=n)
                it.set_input(np.zeros(shape, np.int8), 0)
                it.invoke()
            return True
        except Exception:
            return False

    lo, hi = 1, 1 << 20
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid + 1, hi)
    return lo


def host_latency(gen, x: np.ndarray, out_size: int) -> float:
    """Seconds per inference of the generated C: (time for N) - (time for 1), over N - 1."""
    with tempfile.TemporaryDirectory() as d:
        exe = build(gen, get_board("host"), Path(d))
        times = {}
        for n in (1, len(x)):
            t0 = time.perf_counter()
            run_batch(exe, get_board("host"), x[:n], out_size)
            times[n] = time.perf_counter() - t0
    return (times[len(x)] - times[1]) / (len(x) - 1)


def tflm_latency(path: str, x: np.ndarray) -> float:
    from tflite_micro.python.tflite_micro import runtime

    with quiet_native_stderr():
        it = runtime.Interpreter.from_file(path, arena_size=1 << 20)
    t = 0.0
    for xi in x:
        it.set_input(xi[None], 0)
        t0 = time.perf_counter()
        it.invoke()
        t += time.perf_counter() - t0
    return t / len(x)


def measure(name: str, path: str, x: np.ndarray) -> dict:
    g = load_model(path)
    gen = generate(g, "m")
    ref = run_tflm(path, x)[0]
    with tempfile.TemporaryDirectory() as d:
        y = run_batch(build(gen, get_board("host"), Path(d)), get_board("host"), x, 12)
    boards = {}
    for b in ("mps2-an386", "mps2-an500", "mps2-an385"):
        with tempfile.TemporaryDirectory() as d:
            yb = run_batch(build(gen, get_board(b), Path(d)), get_board(b), x[:50], 12)
        boards[b] = int((yb == ref[:50]).all(axis=1).sum())
    prof = profile(g, get_board("mps2-an386"), x[0])
    prof_m3 = profile(g, get_board("mps2-an385"), x[0])
    c_lat, t_lat = host_latency(gen, x[:200], 12), tflm_latency(path, x[:200])
    return {
        "model": name,
        "host_identical_inputs": int((y == ref).all(axis=1).sum()), "n": len(x),
        "qemu_identical_of_50": boards,
        "edgekit_arena_bytes": gen.plan.arena_size,
        "tflm_min_arena_bytes": tflm_min_arena(path, (1, 49, 10, 1)),
        "flash_bytes_m4_elf": prof["flash_bytes"], "parameter_bytes": gen.weight_bytes,
        "stack_bytes_estimate": prof["stack_bytes_estimate"],
        "instructions_m4": prof["instructions"], "insns_per_mac_m4": prof["insns_per_mac"],
        "instructions_m3": prof_m3["instructions"],
        "layers_m4": [{k: l[k] for k in ("layer", "op", "macs", "instructions", "insns_per_mac")}
                      for l in prof["layers"]],
        "host_us_per_inference_c": round(c_lat * 1e6, 1),
        "host_us_per_inference_tflm": round(t_lat * 1e6, 1),
        "host_speedup": round(t_lat / c_lat, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    x = np.load(Path(args.assets) / "eembc_kws01" / "kws01_inputs_int8_1000x49x10x1.npy")
    rows = [measure("kws_ref_model_int8 (official)", str(ROOT / "samples/kws_ref_model_int8.tflite"), x)]
    g = load_model(str(ROOT / "samples/kws_ref_model.keras"))
    q = quantize_graph(g, synthesize(g, SynthConfig(), show_progress=False).x)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "edgekit_int8.tflite"
        p.write_bytes(export_tflite(q))
        rows.append(measure("edgekit data-free int8", str(p), x))
    for r in rows:
        print(f"\n== {r['model']}")
        print(f"  exact: host {r['host_identical_inputs']}/{r['n']} identical to TFLM; QEMU (of 50): "
              + ", ".join(f"{b} {v}" for b, v in r["qemu_identical_of_50"].items()))
        print(f"  arena: edgekit {r['edgekit_arena_bytes']:,} B vs TFLM minimum {r['tflm_min_arena_bytes']:,} B "
              f"({r['edgekit_arena_bytes'] / r['tflm_min_arena_bytes']:.2f}x)")
        print(f"  flash (M4 ELF, code + parameters): {r['flash_bytes_m4_elf']:,} B; parameters "
              f"{r['parameter_bytes']:,} B; stack ~{r['stack_bytes_estimate']} B")
        print(f"  instructions/inference: M4 {r['instructions_m4']:,} ({r['insns_per_mac_m4']} per MAC; "
              f"CMSIS-NN anchor {CMSIS_NN_ANCHOR:,}), M3 {r['instructions_m3']:,}")
        for l in r["layers_m4"]:
            ipm = f"{l['insns_per_mac']:.2f}" if l["insns_per_mac"] else "-"
            print(f"    {l['layer']:>2} {l['op']:<16} {l['macs']:>9,} MACs {l['instructions']:>11,} insns {ipm:>6}/MAC")
        print(f"  host latency: C {r['host_us_per_inference_c']} us vs TFLM interpreter "
              f"{r['host_us_per_inference_tflm']} us ({r['host_speedup']}x)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "codegen_vs_tflm.json").write_text(json.dumps({"rows": rows, "cmsis_nn_anchor": CMSIS_NN_ANCHOR},
                                                         indent=2) + "\n")
    print(f"wrote {out / 'codegen_vs_tflm.json'}")
    # exit 1 unless the C is identical to TFLM on every input: host (all) and each QEMU board (50)
    failed = [f"{r['model']}: host {r['host_identical_inputs']}/{r['n']}" for r in rows
              if r["host_identical_inputs"] != r["n"]]
    failed += [f"{r['model']}: {b} {v}/50" for r in rows for b, v in r["qemu_identical_of_50"].items() if v != 50]
    for f in failed:
        print(f"FAIL not identical to TFLM: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
