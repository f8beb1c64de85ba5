"""Data-free calibration benchmark on kws_ref_model (labels used only to score).

usage: python bench/data_free.py [--assets ../shared/assets] [--out bench/results] [--seeds 3]

Top-1 on the 1000 real eembc_kws01 inputs for: the float model; the official int8
tflite (calibrated by its authors on real data); edgekit int8 calibrated on
BN-synthesized inputs (from .keras and from .pt2, several seeds, range methods, bias
correction, without the class term); on Gaussian noise (the baseline that shows the synthetic data
matters); on 100 real inputs (the ceiling). Every edgekit int8 model is exported to
.tflite and run by the TFLM interpreter on all 1000 inputs, which must equal edgekit's
int8 reference element for element. Also times synth + quantize.
Prints a table and writes bench/results/data_free.json.
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

from edgekit.evaluate import model_inputs  # noqa: E402
from edgekit.executors.float_exec import run_float  # noqa: E402
from edgekit.executors.tflm import run_tflm  # noqa: E402
from edgekit.importers import load_model  # noqa: E402
from edgekit.quant.ptq import QuantConfig, quantize_graph  # noqa: E402
from edgekit.quant.reference import run_int8  # noqa: E402
from edgekit.synth import SynthConfig, synthesize  # noqa: E402
from edgekit.tflite import export_tflite  # noqa: E402

SCALE, ZP = 0.5847029, 83


def _int8_row(name, qgraph, x_int8, labels, extra=None):
    """Score an int8 graph with the reference and with TFLM on the exported file."""
    xm = model_inputs(qgraph, x_int8, (SCALE, ZP))
    ref = np.concatenate([run_int8(qgraph, xm[i:i + 100])[0] for i in range(0, len(xm), 100)])
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.tflite")
        Path(p).write_bytes(export_tflite(qgraph))
        tflm = run_tflm(p, xm)[0]
    same = int((tflm == ref.reshape(tflm.shape)).all(axis=1).sum())
    return {"config": name, "top1": float((ref.argmax(1) == labels).mean()),
            "tflm_identical_inputs": same, **(extra or {})}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    d = Path(args.assets) / "eembc_kws01"
    x = np.load(d / "kws01_inputs_int8_1000x49x10x1.npy")
    labels = np.load(d / "kws01_labels_1000.npy")
    xf = (x.astype(np.float32) - ZP) * np.float32(SCALE)
    rows = []

    keras_path, pt2_path = ROOT / "samples/kws_ref_model.keras", ROOT / "samples/kws_ref_model.pt2"
    t0 = time.perf_counter()
    g = load_model(str(keras_path))
    t_load = time.perf_counter() - t0
    rows.append({"config": "float (Keras model, torch executor)",
                 "top1": float((run_float(g, xf).argmax(1) == labels).mean())})
    official = load_model(str(Path(args.assets) / "kws_ref_model/kws_ref_model_int8.tflite"))
    ref = run_int8(official, x)[0]
    rows.append({"config": "official int8 tflite (real-data calibration)",
                 "top1": float((ref.argmax(1) == labels).mean())})

    timing = {}
    synth_x = {}
    for seed in range(args.seeds):
        t1 = time.perf_counter()
        s = synthesize(g, SynthConfig(seed=seed), show_progress=False)
        t2 = time.perf_counter()
        q = quantize_graph(g, s.x)
        export_tflite(q)
        t3 = time.perf_counter()
        if seed == 0:
            timing = {"load_s": round(t_load, 2), "synth_s": round(t2 - t1, 2),
                      "quantize_export_s": round(t3 - t2, 2),
                      "synth_plus_quantize_s": round(t3 - t1, 2)}
            synth_x["keras"] = s.x
        rows.append(_int8_row(f"edgekit data-free (synthetic, .keras, seed {seed})", q, x, labels))

    s_bn = synthesize(g, SynthConfig(label_weight=0.0), show_progress=False)
    rows.append(_int8_row("edgekit data-free, BN term only (no class term, seed 0)",
                          quantize_graph(g, s_bn.x), x, labels))
    for method in ("percentile", "mse"):
        rows.append(_int8_row(f"edgekit data-free, {method} ranges (seed 0)",
                              quantize_graph(g, synth_x["keras"], QuantConfig(calibration=method)), x, labels))
    rows.append(_int8_row("edgekit data-free + bias correction (seed 0)",
                          quantize_graph(g, synth_x["keras"], QuantConfig(bias_correction=True)), x, labels))

    gp = load_model(str(pt2_path))
    sp = synthesize(gp, SynthConfig(seed=0), show_progress=False)
    rows.append(_int8_row("edgekit data-free (synthetic, .pt2, seed 0)", quantize_graph(gp, sp.x), x, labels))

    noise = np.random.default_rng(0).standard_normal((64, 49, 10, 1)).astype(np.float32)
    rows.append(_int8_row("edgekit int8, Gaussian-noise calibration", quantize_graph(g, noise), x, labels))
    q_real = quantize_graph(g, xf[:100])
    r = _int8_row("edgekit int8, 100 real inputs (ceiling)", q_real, x, labels)
    xm = model_inputs(q_real, x[100:], (SCALE, ZP))
    r["top1_on_900_unseen"] = float((run_int8(q_real, xm)[0].argmax(1) == labels[100:]).mean())
    rows.append(r)

    print(f"{'configuration':<52} {'top-1':>7}  TFLM == reference")
    for row in rows:
        tf = f"{row['tflm_identical_inputs']}/1000" if "tflm_identical_inputs" in row else "-"
        print(f"{row['config']:<52} {row['top1'] * 100:6.1f} %  {tf}")
    seeds = [r["top1"] for r in rows if ".keras, seed" in r["config"]]
    print(f"data-free over {len(seeds)} seeds: mean {np.mean(seeds) * 100:.2f} %, min {min(seeds) * 100:.1f} %")
    print("time (2-core CPU): " + ", ".join(f"{k} {v} s" for k, v in timing.items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_free.json").write_text(json.dumps({"rows": rows, "timing": timing,
                                                    "seed_mean_top1": float(np.mean(seeds))}, indent=2) + "\n")
    print(f"wrote {out / 'data_free.json'}")
    ok = min(seeds) >= 0.898 and all(r.get("tflm_identical_inputs", 1000) == 1000 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
