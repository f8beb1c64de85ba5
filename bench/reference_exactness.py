"""Foundation benchmark: importers vs their frameworks, int8 reference vs TFLM.

usage: python bench/reference_exactness.py [--assets ../shared/assets] [--out bench/results]

Measures, on the 1000 real eembc_kws01 inputs:
  - float IR from .keras, .pt2 and .h5: max |IR - Keras| and top-1;
  - int8 reference executor on kws_ref_model_int8.tflite: elements identical to TFLM's
    stored outputs, top-1, throughput;
  - micro_speech golden outputs; hello_world / simple_add vs the TFLM interpreter.
Prints a table and writes JSON (bench/results/reference_exactness.json).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from edgekit.executors.float_exec import run_float  # noqa: E402
from edgekit.executors.tflm import run_tflm  # noqa: E402
from edgekit.importers import load_model  # noqa: E402
from edgekit.quant.reference import run_int8  # noqa: E402

SCALE, ZP = 0.5847029, 83


def _float_rows(assets: Path, x, labels, keras_out):
    xf = (x.astype(np.float32) - ZP) * np.float32(SCALE)
    rows = []
    for path in (ROOT / "samples/kws_ref_model.keras", ROOT / "samples/kws_ref_model.pt2",
                 assets / "kws_ref_model/kws_ref_model.h5"):
        t0 = time.perf_counter()
        g = load_model(str(path))
        t_import = time.perf_counter() - t0
        y = run_float(g, xf)
        rows.append({"check": f"float IR {path.suffix} vs Keras", "n": len(x),
                     "max_abs_diff": float(np.abs(y - keras_out).max()),
                     "top1": float((y.argmax(1) == labels).mean()),
                     "import_s": round(t_import, 2), "pass": bool(np.abs(y - keras_out).max() <= 1e-4)})
    return rows


def _int8_row(assets: Path, x, labels, tflm_out):
    g = load_model(str(assets / "kws_ref_model/kws_ref_model_int8.tflite"))
    t0 = time.perf_counter()
    y = np.concatenate([run_int8(g, x[i:i + 100])[0] for i in range(0, len(x), 100)])
    dt = time.perf_counter() - t0
    same_inputs = int((y == tflm_out).all(axis=1).sum())
    return {"check": "int8 reference vs TFLM (kws_ref_model)", "n": len(x),
            "identical_inputs": same_inputs, "identical_elements": int((y == tflm_out).sum()),
            "elements": int(y.size), "top1": float((y.argmax(1) == labels).mean()),
            "inferences_per_s": round(len(x) / dt, 1), "pass": same_inputs == len(x)}


def _micro_rows(assets: Path):
    g = load_model(str(assets / "micro_speech/models/micro_speech_quantized.tflite"))
    ok = 0
    for w in ("yes", "no", "silence", "noise"):
        f = np.load(assets / f"micro_speech/golden/tflm_{w}_1000ms_features_int8_49x40.npy")
        o = np.load(assets / f"micro_speech/golden/tflm_{w}_1000ms_micro_speech_output_int8_4.npy")
        ok += int(np.array_equal(run_int8(g, f.reshape(1, -1))[0].reshape(-1), o.reshape(-1)))
    rows = [{"check": "micro_speech golden outputs", "n": 4, "identical_inputs": ok, "pass": ok == 4}]
    rng = np.random.default_rng(0)
    for name, n in (("hello_world_int8.tflite", 1000), ("simple_add_model.tflite", 20)):
        path = str(assets / "tflite_micro_misc" / name)
        g = load_model(path)
        xs = [rng.integers(-128, 128, (n, *g.tensor(i).shape[1:]), dtype=np.int8) for i in g.inputs]
        ref = run_tflm(path, xs)[0]
        y = run_int8(g, xs)[0].reshape(ref.shape)
        same = int((y == ref).reshape(n, -1).all(axis=1).sum())
        rows.append({"check": f"{name} vs TFLM interpreter (random)", "n": n,
                     "identical_inputs": same, "pass": same == n})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    assets = Path(args.assets)
    d = assets / "eembc_kws01"
    x = np.load(d / "kws01_inputs_int8_1000x49x10x1.npy")
    labels = np.load(d / "kws01_labels_1000.npy")
    rows = _float_rows(assets, x, labels, np.load(d / "kws01_kws_ref_model_keras_float_outputs.npy"))
    rows.append(_int8_row(assets, x, labels, np.load(d / "kws01_kws_ref_model_int8_outputs_tflm.npy")))
    rows += _micro_rows(assets)
    print(f"{'check':<54} {'n':>5}  {'result':<44} pass")
    for r in rows:
        if "max_abs_diff" in r:
            res = f"max|diff| {r['max_abs_diff']:.2e}, top-1 {r['top1'] * 100:.1f} %"
        elif "elements" in r:
            res = (f"{r['identical_inputs']}/{r['n']} identical, top-1 {r['top1'] * 100:.1f} %, "
                   f"{r['inferences_per_s']}/s")
        else:
            res = f"{r['identical_inputs']}/{r['n']} identical"
        print(f"{r['check']:<54} {r['n']:>5}  {res:<44} {'yes' if r['pass'] else 'NO'}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference_exactness.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"wrote {out / 'reference_exactness.json'}")
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
