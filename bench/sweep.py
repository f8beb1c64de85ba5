"""Sweep throughput (issue 22): the same sweep on an embedded Ray with 1 and with 2 CPUs:
wall time, trials per hour, where the time goes (synthesis, once per model and seed,
before its trials can start; each trial's own seconds; worker start-up: each new worker
process imports TensorFlow and torch), and the results table of the 2-CPU run.

usage: python bench/sweep.py [--sweep samples/sweep.toml] [--cpus 1 2] [--assets ../shared/assets]
                             [--out bench/results]

With the assets, every trial is also scored on the 1000 eembc_kws01 inputs (--eval).
Prints a table; writes bench/results/sweep.json. Exits 1 if a run fails.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KWS_SCALE, KWS_ZP = "0.5847029", "83"


def run(sweep: str, cpus: int, out: Path, evaluation: list[str]) -> dict:
    cmd = [sys.executable, "-m", "edgekit.cli", "sweep", sweep, "-o", str(out), "--num-cpus", str(cpus),
           "--json", *evaluation]
    env = dict(os.environ, EDGEKIT_QUIET="1", TF_CPP_MIN_LOG_LEVEL="3")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"sweep with {cpus} CPU(s) failed: {r.stderr.strip()}")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    # compression runs once per (model, seed, setting) and is shared by the boards' trials
    compress = {row["setting"] + str(row["seed"]): row["compress_seconds"] for row in rows}
    busy = sum(row["seconds"] for row in rows) + sum(compress.values())
    return {"cpus": cpus, "trials": len(rows), "wall_s": round(wall, 1),
            "trials_per_hour": round(len(rows) * 3600 / wall, 1), "task_seconds_sum": round(busy, 1),
            "compressions": len(compress), "compress_seconds_mean": round(sum(compress.values()) / len(compress), 1), "failed": sum(x["status"] != "ok" for x in rows),
            "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(ROOT / "samples" / "sweep.toml"))
    ap.add_argument("--cpus", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    a = ap.parse_args()
    x = Path(a.assets) / "eembc_kws01" / "kws01_inputs_int8_1000x49x10x1.npy"
    y = Path(a.assets) / "eembc_kws01" / "kws01_labels_1000.npy"
    evaluation = (["--eval", str(x), str(y), "--input-scale", KWS_SCALE, "--input-zero-point", KWS_ZP]
                  if x.exists() and y.exists() else [])
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for cpus in a.cpus:
            runs.append(run(a.sweep, cpus, Path(d) / f"cpus{cpus}", evaluation))
    print(f"sweep {a.sweep}: {runs[0]['trials']} trials{' scored on eembc_kws01' if evaluation else ''}")
    print(f"{'CPUs':>4} {'wall s':>7} {'trials/h':>9} {'sum of task s':>14} {'compressions':>12} "
          f"{'mean compress s':>15}")
    for r in runs:
        print(f"{r['cpus']:>4} {r['wall_s']:>7} {r['trials_per_hour']:>9} {r['task_seconds_sum']:>14} "
              f"{r['compressions']:>12} {r['compress_seconds_mean']:>15}")
    print(f"\n{'board':12} {'setting':10} {'ratio':>6} {'flash':>7} {'instructions':>12} {'est ms':>7} "
          f"{'fits':>4} {'proxy':>6} {'top-1':>6}")
    for row in runs[-1]["rows"]:
        if row["status"] != "ok":
            print(f"{row['board']:12} {row['setting']:10} failed: {row['error']}")
            continue
        acc = f"{row['accuracy'] * 100:.1f}" if row["accuracy"] is not None else "-"
        print(f"{row['board']:12} {row['setting']:10} {row['weight_ratio']:>6} {row['flash_bytes']:>7} "
              f"{row['instructions']:>12} {row['est_ms']:>7} {'yes' if row['fits'] else 'no':>4} "
              f"{row['proxy_agreement'] * 100:>6.1f} {acc:>6}")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "sweep.json"), "w") as f:
        json.dump({"sweep": os.path.relpath(a.sweep, ROOT), "evaluated": bool(evaluation), "runs": runs}, f, indent=2)
    return 1 if any(r["failed"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
