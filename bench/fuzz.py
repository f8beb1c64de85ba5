"""Long fuzzing run of every parser of untrusted input (atheris / libFuzzer).

usage: python bench/fuzz.py [--scale 1.0] [--out bench/results] [--targets tflite,wav,...]

Each target (tests/fuzz/targets.py) runs in its own process for its share of time (x
--scale), from the seed corpus in tests/fuzz/seeds. Contract: every input ends in success
or an EdgekitError; an other exception, a hang (> 60 s) or a crash is a finding, saved
with its input. Prints a table and writes bench/results/fuzz.json. The test suite runs
the same targets for about a minute in all (tests/reliability/test_fuzz.py).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz.run import fuzz  # noqa: E402

# seconds per target at --scale 1: the fast parsers get many inputs, the framework
# loaders (Keras, torch.export, HDF5 in a child) a few thousand
SECONDS = {"tflite": 300, "wav": 60, "keras_config": 240, "pt2_model": 240,
           "keras_archive": 90, "pt2_archive": 90, "h5": 240}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--targets", default=",".join(SECONDS))
    args = ap.parse_args()
    rows = []
    for t in args.targets.split(","):
        r = fuzz(t, max(1, int(SECONDS[t] * args.scale)))
        rows.append(r)
        status = "ok" if r["finding"] is None else f"FINDING: {r['finding']['what']}"
        print(f"{t:14s} {r['inputs']:>10,d} inputs {r['seconds']:>7.1f} s "
              f"{r['inputs'] / max(r['seconds'], 1e-9):>9,.0f}/s  corpus {r['corpus']:>4d}  {status}", flush=True)
    total = sum(r["inputs"] for r in rows)
    findings = [r for r in rows if r["finding"]]
    print(f"{'total':14s} {total:>10,d} inputs, {len(findings)} finding(s)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps({"total_inputs": total, "targets": rows}, indent=1) + "\n")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
