"""The one place where stages are chained. Each function takes paths/configs, runs
pure stages, writes its output atomically and returns a summary dict for the CLI."""
from __future__ import annotations

import time
import zipfile

import numpy as np

from edgekit.errors import InputError
from edgekit.fileio import atomic_dir, atomic_path, atomic_write_bytes, check_output_parent, load_npy
from edgekit.frontends import load_model
from edgekit.ir import Graph
from edgekit.quant.ptq import QuantConfig, quantize_graph
from edgekit.quant.tflite_export import export_tflite
from edgekit.synth import SynthConfig, SynthResult, synthesize


def run_synth(model: str, out: str, cfg: SynthConfig) -> dict:
    check_output_parent(out)
    graph = load_model(model)
    t0 = time.perf_counter()
    res = synthesize(graph, cfg)
    dt = time.perf_counter() - t0
    with atomic_path(out) as tmp:
        res.save(tmp, graph.meta.get("sha256"))
    return {"model": model, "output": out, "samples": int(res.x.shape[0]),
            "shape": list(res.x.shape[1:]), "iterations": cfg.iters, "seed": cfg.seed,
            "loss_first": res.loss_history[0], "loss_last": res.loss_history[-1],
            "seconds": round(dt, 2)}


def load_synth(path: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["x"].astype(np.float32)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: not an edgekit synth .npz ({type(e).__name__}: {e})") from None


def calibration_batch(graph: Graph, source: str, *, synth_cfg: SynthConfig, calib_file: str | None = None,
                      input_quant=None, n_gaussian: int = 64) -> tuple[np.ndarray, dict]:
    """The calibration inputs for a source: 'synthetic', 'npz', 'data' or 'gaussian'."""
    shape = graph.tensor(graph.inputs[0]).shape[1:]
    if source == "synthetic":
        t0 = time.perf_counter()
        res: SynthResult = synthesize(graph, synth_cfg)
        return res.x, {"synth_seconds": round(time.perf_counter() - t0, 2)}
    if source == "gaussian":
        rng = np.random.default_rng(synth_cfg.seed)
        return rng.standard_normal((n_gaussian, *shape)).astype(np.float32), {}
    if source == "npz":
        return load_synth(calib_file), {}
    from edgekit.evaluate import model_inputs

    x = load_npy(calib_file, "--calib-data")
    return model_inputs(graph, x, input_quant).astype(np.float32), {}


def run_quantize(model: str, out: str, source: str, qcfg: QuantConfig, synth_cfg: SynthConfig,
                 calib_file: str | None = None, input_quant=None, verify: bool = True) -> dict:
    check_output_parent(out)
    graph = load_model(model)
    t0 = time.perf_counter()
    calib, info = calibration_batch(graph, source, synth_cfg=synth_cfg, calib_file=calib_file,
                                    input_quant=input_quant)
    qgraph = quantize_graph(graph, calib, qcfg)
    data = export_tflite(qgraph, f"edgekit data-free int8 ({source} calibration)")
    dt = time.perf_counter() - t0
    summary = {"model": model, "output": out, "calibration": source, "samples": int(len(calib)),
               "range_method": qcfg.calibration, "bias_correction": qcfg.bias_correction,
               "tflite_bytes": len(data), "seconds": round(dt, 2), **info}
    qi = qgraph.tensor(qgraph.inputs[0]).quant
    summary["input_scale"], summary["input_zero_point"] = float(qi.scale[0]), int(qi.zero_point[0])
    if verify:
        summary["tflm_check"] = _verify_against_tflm(qgraph, data, calib[:8])
    atomic_write_bytes(out, data)
    return summary


def compression_figures(qgraph: Graph) -> dict:
    """weight_ratio and model_ratio of an int8 graph as `edgekit codegen` deploys it
    (codebook.deployable decides which layers are codebooks): float32 bytes of the kernel
    weights (and, for model_ratio, the biases) over the flash bytes of their deployed form
    (codebook: packed indices + int8 codes; otherwise int8), plus int32 biases and
    per-channel int32 multipliers and int8 shifts."""
    from edgekit.compress import codebook

    n_w = n_b = w_bytes = other = 0
    for n in qgraph.nodes:
        if n.op not in ("Conv2D", "DepthwiseConv2D", "FullyConnected"):
            continue
        w = qgraph.tensor(n.inputs[1])
        cout = w.shape[-1] if n.op == "DepthwiseConv2D" else w.shape[0]
        cb = codebook.deployable(n.op, w.data, n.attr("depth_multiplier", 1))
        n_w += w.size
        n_b += cout
        w_bytes += codebook.deployed_bytes(codebook.family_of(n.op, w.shape), w.shape, cb) if cb else w.size
        other += 4 * cout + 5 * cout     # int32 bias and multiplier, int8 shift
    return {"kernel_weights": n_w, "weight_bytes": w_bytes, "weight_ratio": round(4 * n_w / w_bytes, 2),
            "model_bytes": w_bytes + other, "model_ratio": round(4 * (n_w + n_b) / (w_bytes + other), 2)}


def run_compress(model: str, out_dir: str, ccfg, synth_cfg: SynthConfig, calib_file: str | None = None,
                 verify: bool = True) -> dict:
    """synth (or a saved set) -> Bin & Quant -> int8 PTQ with the codebook weights fixed ->
    OUT/model.tflite (codebooks decoded to int8: any TFLite runtime runs it),
    OUT/report.json, OUT/synth.npz; written atomically."""
    import json
    import os

    check_output_parent(out_dir)
    graph = load_model(model)
    t0 = time.perf_counter()
    if calib_file:
        sx, info = load_synth(calib_file), {}
    else:
        res = synthesize(graph, synth_cfg)
        sx, info = res.x, {"synth_seconds": round(time.perf_counter() - t0, 2)}
    t1 = time.perf_counter()
    r, qgraph = _compress(graph, sx, ccfg)
    data = export_tflite(qgraph, "edgekit Bin & Quant (data-free)")
    figures = compression_figures(qgraph)
    budget = {"target_ratio": ccfg.target_ratio} if ccfg.target_ratio else {"max_drop": ccfg.max_drop}
    report = {"model": model, "method": ccfg.method, **budget, "gptq": ccfg.gptq,
              "refine_steps": ccfg.refine_steps,
              "synthetic_samples": int(len(sx)), **figures,
              "proxy_float_weights": r.score.as_dict(), "proxy_evaluations": r.evaluations,
              **({"allocation": {k: v for k, v in r.allocation.items() if k != "bit_kl"}} if r.allocation else {}),
              "layers": [L.as_dict() for L in r.layers]}
    timings = {"compress_seconds": round(time.perf_counter() - t1, 2), **info}
    if verify:
        report["tflm_check"] = _verify_against_tflm(qgraph, data, sx[:8])
    with atomic_dir(out_dir) as tmp:
        with open(os.path.join(tmp, "model.tflite"), "wb") as f:
            f.write(data)
        with open(os.path.join(tmp, "report.json"), "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        SynthResult(sx, np.full(len(sx), -1, np.int64), [], synth_cfg).save(os.path.join(tmp, "synth.npz"),
                                                                             graph.meta.get("sha256"))
    # timings go to the summary, not the file: same inputs and seed, same bytes
    summary = {k: v for k, v in report.items() if k not in ("layers", "allocation")}
    summary.update(timings, output=out_dir, layers=_layer_bits(r))
    return summary


def _compress(graph: Graph, sx: np.ndarray, ccfg):
    """Codebook weights (Bin & Quant or k-means) on the synthetic set, then int8 PTQ with
    those weights kept exactly: (CompressResult, int8 graph)."""
    from edgekit.compress import compress_graph

    r = compress_graph(graph, sx, ccfg)
    return r, quantize_graph(r.graph, sx, fixed=r.fixed)


def _layer_bits(r) -> str:
    return " ".join(f"{L.node.split('/')[-1]}:{L.bits}b" for L in r.layers)


def _verify_against_tflm(qgraph: Graph, data: bytes, calib: np.ndarray) -> str:
    """Built-in self-check: the exported file, run by TFLM, equals the int8 reference."""
    import os
    import tempfile

    from edgekit.errors import EdgekitError
    from edgekit.evaluate import model_inputs
    from edgekit.quant.reference import run_int8
    from edgekit.runtime.tflm import first_mismatch, run_tflm

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "check.tflite")
        with open(p, "wb") as f:
            f.write(data)
        x = model_inputs(qgraph, calib)
        diff = first_mismatch(run_tflm(p, x)[0], run_int8(qgraph, x)[0].reshape(len(x), -1))
    if diff:
        raise EdgekitError(f"exported model disagrees with the int8 reference in TFLM at {diff}; "
                           "not writing it (please report)")
    return f"identical on {len(x)} inputs"


def load_int8_model(model: str) -> Graph:
    from edgekit.ir.summary import is_quantized

    graph = load_model(model)
    if not is_quantized(graph):
        raise InputError(f"{model} is a float model; quantize it first "
                         f"(edgekit quantize {model} --data-free -o model_int8.tflite)")
    return graph


def run_codegen(model: str, out_dir: str, name: str | None = None, in_place: bool = True) -> dict:
    import os
    import shutil

    from edgekit.build.cbuild import RUNTIME
    from edgekit.codegen.emit import generate

    check_output_parent(out_dir)
    gen = generate(load_int8_model(model), name, in_place)
    with atomic_dir(out_dir) as tmp:
        for fname, text in gen.files.items():
            with open(os.path.join(tmp, fname), "w") as f:
                f.write(text)
        shutil.copytree(RUNTIME, os.path.join(tmp, "ek_runtime"))
    return {"model": model, "output": out_dir, "files": sorted(gen.files), "prefix": gen.prefix,
            "arena_bytes": gen.plan.arena_size, "parameter_bytes": gen.weight_bytes,
            "in_place_layers": sum(1 for v in gen.plan.in_place.values() if v)}


def run_on_board(model: str, board: str, input_npy: str, output_npy: str, check: bool) -> dict:
    import tempfile
    from pathlib import Path

    from edgekit.build.cbuild import build, run_batch
    from edgekit.build.targets import get_target
    from edgekit.codegen.emit import generate
    from edgekit.quant.reference import run_int8
    from edgekit.runtime.tflm import first_mismatch

    target = get_target(board)
    graph = load_int8_model(model)
    x = load_npy(input_npy, "--input")
    t_in, t_out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    if x.dtype != np.int8 or x.ndim < 1 or int(np.prod(x.shape[1:])) != t_in.size:
        raise InputError(f"--input must be int8 with shape (N, {', '.join(map(str, t_in.shape[1:]))}); "
                         f"got {x.dtype} {x.shape}")
    gen = generate(graph)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        exe = build(gen, target, Path(d))
        y = run_batch(exe, target, x.reshape(len(x), -1), t_out.size)
    dt = time.perf_counter() - t0
    y = y.reshape(len(x), *t_out.shape[1:])
    with atomic_path(output_npy) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, y)
    out = {"model": model, "board": board, "inputs": int(len(x)), "output": output_npy,
           "arena_bytes": gen.plan.arena_size, "seconds": round(dt, 2)}
    if check:
        ref = run_int8(graph, x.reshape(len(x), *t_in.shape[1:]))[0].reshape(y.shape)
        diff = first_mismatch(ref, y)
        out["identical_to_reference"] = diff is None
        if diff:
            out["first_mismatch"] = diff
    return out


def resolve_labels(model: str, labels: str | None, n: int) -> list[str]:
    """Class names: --labels (a comma list or a file, one per line), else MODEL's
    sidecar `<stem>.labels.txt`, else class0..N-1. Names starting with '_' are
    background classes (never reported as detections)."""
    import os

    src = labels
    if src is None:
        side = os.path.splitext(model)[0] + ".labels.txt"
        src = side if os.path.isfile(side) else None
    if src is None:
        return [f"class{i}" for i in range(n)]
    if os.path.isfile(src):
        names = [ln.strip() for ln in open(src, encoding="utf-8") if ln.strip()]
    else:
        names = [s.strip() for s in src.split(",") if s.strip()]
    if len(names) != n or any(not s.isprintable() or " " in s for s in names):
        raise InputError(f"labels: need {n} names without spaces (the model has {n} outputs), got {len(names)}")
    return names


def compress_for_deploy(graph: Graph, ccfg, synth_cfg: SynthConfig) -> tuple[Graph, dict, np.ndarray]:
    """float graph -> synthetic set -> codebook weights -> int8 graph, with the figures."""
    sx = synthesize(graph, synth_cfg).x
    r, qgraph = _compress(graph, sx, ccfg)
    budget = {"target_ratio": ccfg.target_ratio} if ccfg.target_ratio else {}
    return qgraph, {"method": ccfg.method, **budget, **compression_figures(qgraph), "layers": _layer_bits(r)}, sx


def run_deploy(model: str, board_name: str, out_dir: str, wavs: list[str], *, ccfg=None,
               synth_cfg: SynthConfig = SynthConfig(), labels: str | None = None, kws_cfg=None,
               build: bool = True, run: bool = True, verify: bool = True, count: bool = True) -> dict:
    """model -> (synth -> compress -> int8) -> C -> PlatformIO project in OUT -> pio run
    -> run in QEMU on the wavs (emulated boards). OUT is written atomically."""
    import json
    import os
    import shutil
    from pathlib import Path

    from edgekit.audio import read_wav
    from edgekit.build.profile import elf_sizes
    from edgekit.build.targets import get_target
    from edgekit.codegen.emit import generate
    from edgekit.deploy import checks
    from edgekit.deploy.boards import get_board
    from edgekit.deploy.firmware import KwsConfig, frontend_flags
    from edgekit.deploy.platformio import pio_run, write_project
    from edgekit.ir.summary import is_quantized

    kws_cfg = kws_cfg or KwsConfig()
    board = get_board(board_name)                     # everything checkable is checked first
    for w in wavs:
        read_wav(w)
    if wavs and not board.emulated and run:
        raise InputError(f"{board.name} is a real board: wavs run on emulated boards only "
                         "(flash it with `pio run -t upload` in the output directory)")
    check_output_parent(out_dir)
    checks.check_tools(board, build, run, verify)
    t0 = time.perf_counter()
    graph = load_model(model)
    checks.check_frontend_input(graph)
    n_out = graph.tensor(graph.outputs[0]).size
    names = resolve_labels(model, labels, n_out)
    summary: dict = {"model": model, "board": board.name, "core": board.core, "frontend": board.frontend,
                     "output": out_dir}
    if is_quantized(graph):
        qgraph, sx = graph, None
        summary["compression"] = {"method": "none (int8 model given)", **compression_figures(qgraph)}
    else:
        from edgekit.compress import CompressConfig

        qgraph, summary["compression"], sx = compress_for_deploy(graph, ccfg or CompressConfig(), synth_cfg)
    gen = generate(qgraph, "kws")
    summary["estimate"] = checks.estimate(gen)
    checks.check_fits(board, summary["estimate"], exact=False)
    target = get_target(board.emulator) if board.emulated else None
    if verify and target is not None:
        x = sx[:8] if sx is not None else np.random.default_rng(0).standard_normal(
            (8, *qgraph.tensor(qgraph.inputs[0]).shape[1:])).astype(np.float32)
        summary["verification"] = checks.verify_on_board(qgraph, gen, target, x)
    with atomic_dir(out_dir) as tmp:
        write_project(Path(tmp), board, gen, names, kws_cfg, frontend_flags(board.frontend))
        data = export_tflite(qgraph, "edgekit deploy (data-free)")
        with open(os.path.join(tmp, "model.tflite"), "wb") as f:
            f.write(data)
        if build:
            elf = pio_run(Path(tmp))
            sizes = elf_sizes(elf)
            summary["flash_bytes"], summary["ram_bytes"] = sizes["flash_bytes"], sizes["static_ram_bytes"]
            checks.check_fits(board, {"flash_bytes": summary["flash_bytes"], "ram_bytes": summary["ram_bytes"]},
                              exact=True)
            shutil.copy(elf, os.path.join(tmp, "firmware.elf"))
        summary["build_seconds"] = round(time.perf_counter() - t0, 2)
        with open(os.path.join(tmp, "deploy.json"), "w") as f:
            # no timings or output path in the file: same inputs and seed, same bytes
            json.dump({k: v for k, v in summary.items() if k not in ("output", "build_seconds")}, f, indent=2)
            f.write("\n")
    if build and run and board.emulated and wavs:
        summary.update(_run_wavs(Path(out_dir) / "firmware.elf", target, board, wavs, count))
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def _run_wavs(elf, target, board, wavs: list[str], count: bool) -> dict:
    """The firmware in QEMU on the wavs (in a scratch dir: semihosting files land there)."""
    import shutil
    import tempfile
    from pathlib import Path

    from edgekit.build.profile import counting_plugin, read_marks
    from edgekit.deploy.firmware import run_kws

    with tempfile.TemporaryDirectory() as d:
        exe = Path(d) / "firmware.elf"
        shutil.copy(elf, exe)
        plugin, counts = counting_plugin(exe) if count else (None, None)
        r = run_kws(exe, target, wavs, plugin=plugin)
        marks = read_marks(counts) if count else []
    out = {"clips": [{"wav": w, "label": lb, "score": s} for w, (lb, s) in zip(wavs, r["clips"])],
           "detections": r["detections"], "stream_ms": r["stream_ms"], "inferences": r["inferences"]}
    if len(marks) == 2 and r["stream_ms"]:
        per_s = (marks[1] - marks[0]) / (r["stream_ms"] / 1000)
        out["instructions_per_second_audio"] = int(per_s)
        out["realtime_load"] = round(per_s / board.clock_hz, 3)
    return out
