"""Bin & Quant on kws_ref_model: the size / accuracy sweep, the comparison with
sensitivity-blind k-means, whether the data-free proxy tracks real accuracy, and the
compressed model as C (exactness, flash, RAM, instructions).

usage: python bench/compression.py [--assets ../shared/assets] [--out bench/results] [--quick]

No real data is used to compress: one BatchNorm-synthesized set (64 inputs) drives every
run. The 1000 labelled eembc_kws01 inputs only score the results (int8 reference
executor, which the generated C and TFLM match byte for byte).
1. Sweep: Bin & Quant at proxy budgets (--max-drop) and k-means at uniform bin counts:
   weight_ratio, model_ratio, proxy agreement and KL on the synthetic set, real top-1.
2. Same size, sensitivity-blind: k-means with exactly the per-layer bin counts Bin &
   Quant chose, against Bin & Quant.
3. Proxy vs real: rank correlation of proxy agreement / KL with real top-1 over all runs.
4. C of the compressed models (k-means 8 bins, what `deploy` uses, and the largest
   --target-ratio): host on all 1000 inputs and QEMU Cortex-M4 on 50, identical to the
   NumPy reference of the compressed model; arm-none-eabi-size flash, planned arena, and
   instructions (per layer for k-means 8 bins) vs int8.
5. Size targets (--target-ratio): sensitivity-allocated bits per layer against uniform
   k-means at exactly the same bytes, over three synthetic sets (seeds 0-2), since one
   run's top-1 moves by about a point with the synthetic set alone; each with learned
   rounding (the default, --refine-steps 2000) and without (GPTQ assignment only).
6. Ceiling (diagnostic, NOT data-free): k-means calibrated on the 1000 labelled inputs
   themselves, to show what this family of methods can reach with perfect data.
Prints tables, writes bench/results/compression.json and four PNGs (pareto,
proxy_vs_real, sensitivity, allocation) beside it. Exits 1 if a compressed model's C
differs from its NumPy reference on any input or a --target-ratio run misses its ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("EDGEKIT_QUIET", "1")

from edgekit.boards import get_board  # noqa: E402
from edgekit.codegen.emit import generate  # noqa: E402
from edgekit.compress import CompressConfig, compress_to_int8  # noqa: E402
from edgekit.compress.figures import compression_figures  # noqa: E402
from edgekit.evaluate import evaluate, model_inputs  # noqa: E402
from edgekit.importers import load_model  # noqa: E402
from edgekit.quant.ptq import quantize_graph  # noqa: E402
from edgekit.quant.reference import run_int8  # noqa: E402
from edgekit.synth import SynthConfig, synthesize  # noqa: E402
from edgekit.toolchain.cbuild import build, run_batch  # noqa: E402
from edgekit.toolchain.profile import profile  # noqa: E402
from edgekit.verify import first_mismatch  # noqa: E402

from checks import report_checks  # noqa: E402  (bench/checks.py: the script's folder is on sys.path)

SCALE, ZP = 0.5847029, 83
FLOAT_TOP1 = 0.913


def compress_run(g, sx, xf, y, label: str, ccfg: CompressConfig) -> tuple[dict, object, object]:
    r, q = compress_to_int8(g, sx, ccfg)
    row = {"label": label, "method": ccfg.method, **compression_figures(q),
           "proxy_agreement": round(r.score.agreement, 4), "proxy_kl": round(r.score.kl, 5),
           "top1": round(float(evaluate(q, xf, y).top1), 4),
           "bins": {L.node: L.bins for L in r.layers if L.kind == "codebook"},
           "bits": {L.node: L.bits for L in r.layers}}
    print(f"{label:26s} {row['weight_ratio']:6.2f}x {row['weight_bytes']:7,d} B  model {row['model_ratio']:5.2f}x  "
          f"proxy agree {row['proxy_agreement']:.3f} kl {row['proxy_kl']:.4f}  real top-1 {100 * row['top1']:.1f} %",
          flush=True)
    return row, r, q


def spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def c_check(q, xf) -> dict:
    """The compressed model's C on host (all inputs) and QEMU M4 (50) vs its NumPy reference."""
    gen = generate(q, "m")
    xq = model_inputs(q, xf)
    ref = run_int8(q, xq)[0].reshape(len(xq), -1)
    src = gen.files[f"{gen.prefix}.c"]
    out = {"codebook_layers": sum(1 for ln in src.splitlines() if "_cb_s8(" in ln and "st =" in ln)}
    for name, n in (("host", len(xq)), ("mps2-an386", 50)):
        with tempfile.TemporaryDirectory() as d:
            got = run_batch(build(gen, get_board(name), Path(d)), get_board(name), xq[:n], ref.shape[1])
        out[name] = {"n": n, "identical": int((got == ref[:n]).all(axis=1).sum()),
                     "first_mismatch": first_mismatch(ref[:n], got)}
    return out


def acceptance(c_checks: dict, rows: list[dict]) -> dict[str, bool]:
    """The bench's pass/fail checks: each compressed model's C identical to its NumPy
    reference on every input run (c_check: host and QEMU), and every --target-ratio run
    reaching its ratio."""
    checks = {f"C of {name} on {where}: {v['identical']}/{v['n']} identical": v["identical"] == v["n"]
              for name, cc in c_checks.items() for where, v in cc.items() if where != "codebook_layers"}
    checks.update({f"{r['label']}: weight_ratio {r['weight_ratio']} >= {r['label'].split()[-1]}":
                   r["weight_ratio"] >= float(r["label"].split()[-1]) for r in rows if r["kind"] == "allocation"})
    return checks


def cost(q, q_int8, xf) -> dict:
    """Flash, RAM and exact instructions on the emulated Cortex-M4: codebook vs int8
    (q_int8 None: the codebook model only)."""
    res = {}
    for name, graph in (("codebook", q), ("int8", q_int8)):
        if graph is None:
            continue
        p = profile(graph, get_board("mps2-an386"), model_inputs(graph, xf[:1])[0])
        by_op: dict[str, int] = {}
        for L in p["layers"]:
            by_op[L["op"]] = by_op.get(L["op"], 0) + L["instructions"]
        res[name] = {"instructions": p["instructions"], "flash_bytes": p["flash_bytes"],
                     "arena_bytes": p["arena_bytes"], "ram_bytes": p["ram_bytes"],
                     "parameter_bytes": p["model_parameter_bytes"], "instructions_by_op": by_op}
    return res


def plots(rows: list[dict], int8_row: dict, sens_run, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method, marker, ls in (("binquant", "o", "-"), ("kmeans-same-bins", "^", "-"), ("kmeans", "s", ""),
                               ("allocation", "D", "-")):
        pts = sorted((r["weight_ratio"], 100 * r["top1"]) for r in rows if r["kind"] == method)
        if pts:   # uniform k-means: points only (several bin counts share one size)
            ax.plot(*zip(*pts), marker=marker, ls=ls, label=method)
    ax.scatter([int8_row["weight_ratio"]], [100 * int8_row["top1"]], c="k", marker="*", s=80, label="int8 (no codebooks)")
    ax.axhline(100 * FLOAT_TOP1, color="gray", ls=":", label="float 91.3 %")
    ax.axhline(90.3, color="red", ls="--", lw=0.8, label="target 90.3 %")
    ax.axvline(13, color="red", ls="--", lw=0.8)
    ax.set_xlabel("weight_ratio (float32 kernel bytes / deployed bytes)")
    ax.set_ylabel("real top-1 on eembc_kws01 (%)")
    ax.set_title("kws_ref_model, data-free: size vs accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "compression_pareto.png", dpi=120)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    a = [r["proxy_agreement"] * 100 for r in rows]
    t = [r["top1"] * 100 for r in rows]
    ax.scatter(a, t)
    ax.set_xlabel("proxy: top-1 agreement with the float model on synthetic inputs (%)")
    ax.set_ylabel("real top-1 (%)")
    ax.set_title(f"proxy vs real accuracy (Spearman {spearman(a, t):.2f}, {len(rows)} runs)")
    fig.tight_layout()
    fig.savefig(out / "compression_proxy_vs_real.png", dpi=120)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for L in sens_run.layers:
        if L.sensitivity:
            a1.plot(range(1, len(L.sensitivity) + 1), [max(s) for s in L.sensitivity], marker=".", label=L.node)
    a1.set_yscale("log")
    a1.set_xlabel("split step")
    a1.set_ylabel("most sensitive bin: KL when its weights grow 20 %")
    a1.set_title("Bin & Quant sensitivities per layer")
    a1.legend(fontsize=6)
    names = [L.node for L in sens_run.layers]
    a2.bar(range(len(names)), [L.bits for L in sens_run.layers])
    a2.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
    a2.set_ylabel("bits per weight (8 = stays int8)")
    a2.set_title("bits chosen")
    fig.tight_layout()
    fig.savefig(out / "compression_sensitivity.png", dpi=120)
    plt.close("all")


def allocation_plot(alloc_runs: list, out: Path) -> None:
    """Left: each layer's proxy KL at 1-4 bits (what the allocation trades); right: the
    predicted frontier (bytes vs summed KL) and the points chosen for each target."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    info = alloc_runs[0][1].allocation
    for node, kl in info["bit_kl"].items():
        b = [1, 2, 3, 4]
        a1.plot(b, [kl[str(i)] for i in b], marker=".", label=node)
    a1.set_yscale("log")
    a1.set_xticks([1, 2, 3, 4])
    a1.set_xlabel("bits (this layer alone compressed)")
    a1.set_ylabel("proxy KL from the float model")
    a1.set_title("layer sensitivity on synthetic inputs")
    a1.legend(fontsize=6)
    f = np.array(info["frontier"], float)
    a2.plot(f[:, 0], f[:, 1], ".-", ms=3, label="predicted frontier (sum of layer KLs)")
    for target, r in alloc_runs:
        a2.scatter([r.allocation["chosen_bytes"]], [r.allocation["predicted_kl"]], zorder=3)
        a2.annotate(f"{target:g}x", (r.allocation["chosen_bytes"], r.allocation["predicted_kl"]), fontsize=7)
    a2.set_yscale("log")
    a2.set_xlim(0, 24000)
    a2.set_xlabel("deployed weight bytes")
    a2.set_ylabel("summed KL")
    a2.set_title("allocation: least KL within the byte budget")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "compression_allocation.png", dpi=120)
    plt.close("all")


def equal_size(g, xf, y, n_weights: int, seeds=(0, 1, 2), ks=(8, 4)) -> list[dict]:
    """Uniform k-means vs sensitivity allocation at the same bytes, per synthetic set, each
    with learned rounding (the default) and without it (GPTQ assignment only)."""
    out = []
    for seed in seeds:
        sx = synthesize(g, SynthConfig(seed=seed)).x
        for k in ks:
            row = {"seed": seed, "bins": k}
            for tag, steps in (("", CompressConfig.refine_steps), ("_gptq", 0)):
                r, q = compress_to_int8(g, sx, CompressConfig(method="kmeans", bins={"*": k}, refine_steps=steps))
                uni = compression_figures(q)
                target = 4 * n_weights / uni["weight_bytes"]
                r2, q2 = compress_to_int8(g, sx, CompressConfig(target_ratio=target, refine_steps=steps))
                al = compression_figures(q2)
                row.update({f"uniform_bytes{tag}": uni["weight_bytes"], f"alloc_bytes{tag}": al["weight_bytes"],
                            f"uniform_top1{tag}": round(float(evaluate(q, xf, y).top1), 4),
                            f"alloc_top1{tag}": round(float(evaluate(q2, xf, y).top1), 4),
                            f"uniform_kl{tag}": round(r.score.kl, 5), f"alloc_kl{tag}": round(r2.score.kl, 5),
                            f"alloc_bits{tag}": {L.node: L.bits for L in r2.layers}})
            print(f"  seed {seed} {k:2d} bins {row['uniform_bytes']:6,d} B: uniform {100 * row['uniform_top1']:.1f} % "
                  f"(GPTQ only {100 * row['uniform_top1_gptq']:.1f}), allocated ({row['alloc_bytes']:,} B) "
                  f"{100 * row['alloc_top1']:.1f} % (GPTQ only {100 * row['alloc_top1_gptq']:.1f})", flush=True)
            out.append(row)
    return out


def ceiling(g, xf, y) -> list[dict]:
    """Diagnostic only: k-means with the 1000 labelled inputs as the calibration set."""
    out = []
    for k in (16, 8):
        r, q = compress_to_int8(g, xf, CompressConfig(method="kmeans", bins={"*": k}))
        row = {"bins": k, **compression_figures(q), "top1": round(float(evaluate(q, xf, y).top1), 4)}
        print(f"  k-means {k:2d} bins calibrated on the labelled inputs: {row['weight_ratio']:.2f}x "
              f"top-1 {100 * row['top1']:.1f} %", flush=True)
        out.append(row)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--quick", action="store_true", help="fewer sweep points")
    args = ap.parse_args()
    d = Path(args.assets) / "eembc_kws01"
    x = np.load(d / "kws01_inputs_int8_1000x49x10x1.npy")
    y = np.load(d / "kws01_labels_1000.npy")
    xf = (x.astype(np.float32) - ZP) * np.float32(SCALE)
    g = load_model(str(ROOT / "samples" / "kws_ref_model.keras"))
    sx = synthesize(g, SynthConfig()).x
    q_int8 = quantize_graph(g, sx)
    int8_row = {"label": "int8 (no codebooks)", **compression_figures(q_int8),
                "top1": round(float(evaluate(q_int8, xf, y).top1), 4)}
    print(f"{'int8 (no codebooks)':26s} {int8_row['weight_ratio']:6.2f}x  real top-1 {100 * int8_row['top1']:.1f} %")
    rows, sens_run = [], None
    drops = (4,) if args.quick else (1, 4, 16)
    for drop in drops:
        row, r, _ = compress_run(g, sx, xf, y, f"binquant max-drop {drop}", CompressConfig(max_drop=drop))
        rows.append({**row, "kind": "binquant"})
        if drop == 4 or sens_run is None:
            sens_run = r
        same = {n: b for n, b in row["bins"].items()}
        if same:
            row2, _, _ = compress_run(g, sx, xf, y, "  k-means, same bins", CompressConfig(method="kmeans", bins=same))
            rows.append({**row2, "kind": "kmeans-same-bins", "vs": row["label"]})
    alloc_runs = []
    for target in ((13,) if args.quick else (8, 10, 12, 13)):
        row, r, q_target = compress_run(g, sx, xf, y, f"target-ratio {target}", CompressConfig(target_ratio=target))
        rows.append({**row, "kind": "allocation"})
        alloc_runs.append((target, r))
    deploy_q = None
    for k in ((8,) if args.quick else (4, 8, 16)):
        row, _, q = compress_run(g, sx, xf, y, f"k-means {k} bins", CompressConfig(method="kmeans", bins={"*": k}))
        rows.append({**row, "kind": "kmeans"})
        if k == 8:
            deploy_q = q
    a = [r["proxy_agreement"] for r in rows]
    kl = [-r["proxy_kl"] for r in rows]
    t = [r["top1"] for r in rows]
    corr = {"agreement_vs_top1": round(spearman(a, t), 3), "minus_kl_vs_top1": round(spearman(kl, t), 3)}
    print(f"proxy vs real, Spearman rank correlation: agreement {corr['agreement_vs_top1']}, "
          f"-KL {corr['minus_kl_vs_top1']} ({len(rows)} runs)")
    pairs = [(r, next(s for s in rows if s["kind"] == "kmeans-same-bins" and s.get("vs") == r["label"]))
             for r in rows if r["kind"] == "binquant" and r["bins"]]
    print("\nsame size, sensitivity-guided vs blind (k-means with Bin & Quant's per-layer bins):")
    for bq, km in pairs:
        print(f"  {bq['label']:24s} {bq['weight_ratio']:6.2f}x  Bin & Quant {100 * bq['top1']:.1f} %  "
              f"k-means {100 * km['top1']:.1f} %  ({100 * (bq['top1'] - km['top1']):+.1f} pt)")
    c = c_check(deploy_q, xf)
    print(f"\ncompressed C (k-means 8 bins): host {c['host']['identical']}/{c['host']['n']} identical, "
          f"QEMU M4 {c['mps2-an386']['identical']}/{c['mps2-an386']['n']}")
    c_target, target = c_check(q_target, xf), alloc_runs[-1][0]
    ht, mt = c_target["host"], c_target["mps2-an386"]
    print(f"compressed C (target-ratio {target}): host {ht['identical']}/{ht['n']} identical, "
          f"QEMU M4 {mt['identical']}/{mt['n']}")
    k = cost(deploy_q, q_int8, xf)
    k_target = cost(q_target, None, xf)["codebook"]
    print(f"target-ratio {target}: M4 flash {k_target['flash_bytes']:,} B, arena {k_target['arena_bytes']:,} B, "
          f"instructions {k_target['instructions']:,} ({k_target['instructions'] / k['int8']['instructions']:.2f}x)")
    cb, i8 = k["codebook"], k["int8"]
    print(f"M4 flash {cb['flash_bytes']:,} B vs int8 {i8['flash_bytes']:,} B; arena {cb['arena_bytes']:,} vs "
          f"{i8['arena_bytes']:,} B; instructions {cb['instructions']:,} vs {i8['instructions']:,} "
          f"({cb['instructions'] / i8['instructions']:.2f}x)")
    for op in sorted(i8["instructions_by_op"]):
        print(f"   {op:18s} {cb['instructions_by_op'].get(op, 0):>11,d} vs {i8['instructions_by_op'][op]:>11,d}")
    print("\nsame bytes, sensitivity-allocated bits vs uniform k-means, with and without learned "
          "rounding (3 synthetic sets):")
    eq = equal_size(g, xf, y, int8_row["kernel_weights"], seeds=(0,) if args.quick else (0, 1, 2))
    for kk in sorted({e["bins"] for e in eq}, reverse=True):
        sel = [e for e in eq if e["bins"] == kk]
        m = {key: 100 * np.mean([e[key] for e in sel]) for key in sel[0] if "top1" in key}
        print(f"  {kk:2d} bins' bytes, mean top-1: uniform {m['uniform_top1']:.1f} % (GPTQ only "
              f"{m['uniform_top1_gptq']:.1f}), allocated {m['alloc_top1']:.1f} % (GPTQ only {m['alloc_top1_gptq']:.1f})")
    print("\nceiling (diagnostic, calibrated on the labelled inputs, not data-free):")
    ceil = ceiling(g, xf, y)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plots(rows, int8_row, sens_run, out)
    allocation_plot(alloc_runs, out)
    checks = acceptance({"k-means 8 bins": c, f"target-ratio {target}": c_target}, rows)
    (out / "compression.json").write_text(json.dumps(
        {"int8": int8_row, "runs": rows, "proxy_correlation": corr, "compressed_c": c, "cost_m4": k,
         "compressed_c_target": c_target, "cost_m4_target": k_target,
         "equal_size": eq, "ceiling_real_calibration": ceil,
         "allocation": alloc_runs[-1][1].allocation,
         "sensitivity_run": [L.as_dict() for L in sens_run.layers], "checks": checks},
        indent=1, default=str) + "\n")
    return report_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
