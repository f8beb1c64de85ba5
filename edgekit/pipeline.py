"""The one place where stages are chained. Each function takes paths/configs, runs
pure stages, writes its output atomically and returns a summary dict for the CLI."""
from __future__ import annotations

import time

import numpy as np

from edgekit.errors import InputError
from edgekit.fileio import atomic_dir, atomic_path, atomic_write_bytes, check_output_parent, load_npy
from edgekit.importers import load_int8_model, load_model
from edgekit.ir import Graph
from edgekit.quant.ptq import QuantConfig, quantize_graph
from edgekit.synth import SynthConfig, SynthResult, load_synth, synthesize
from edgekit.tflite import export_tflite
from edgekit.verify import tflite_matches


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


def quantize_model(graph: Graph, calib: np.ndarray, source: str, qcfg: QuantConfig) -> tuple[Graph, bytes]:
    """float graph + calibration inputs -> (int8 graph, its .tflite bytes): what `edgekit
    quantize` writes (and an `edgekit sweep` int8 trial)."""
    qgraph = quantize_graph(graph, calib, qcfg)
    return qgraph, export_tflite(qgraph, f"edgekit data-free int8 ({source} calibration)")


def run_quantize(model: str, out: str, source: str, qcfg: QuantConfig, synth_cfg: SynthConfig,
                 calib_file: str | None = None, input_quant=None, verify: bool = True) -> dict:
    check_output_parent(out)
    graph = load_model(model)
    t0 = time.perf_counter()
    calib, info = calibration_batch(graph, source, synth_cfg=synth_cfg, calib_file=calib_file,
                                    input_quant=input_quant)
    qgraph, data = quantize_model(graph, calib, source, qcfg)
    dt = time.perf_counter() - t0
    summary = {"model": model, "output": out, "calibration": source, "samples": int(len(calib)),
               "range_method": qcfg.calibration, "bias_correction": qcfg.bias_correction,
               "tflite_bytes": len(data), "seconds": round(dt, 2), **info}
    qi = qgraph.tensor(qgraph.inputs[0]).quant
    summary["input_scale"], summary["input_zero_point"] = float(qi.scale[0]), int(qi.zero_point[0])
    if verify:
        summary["tflm_check"] = tflite_matches(qgraph, data, calib[:8])
    atomic_write_bytes(out, data)
    return summary


def compress_model(graph: Graph, model: str, sx: np.ndarray, ccfg, synth_cfg: SynthConfig,
                   verify: bool = True) -> tuple[dict[str, bytes], dict, object]:
    """float graph + synthetic set -> Bin & Quant -> int8 PTQ with the codebook weights
    fixed: ({file name: bytes} of what `edgekit compress` writes, its report, the
    CompressResult). Deterministic: same graph, set and configs, same bytes (an `edgekit
    sweep` trial writes these too)."""
    import io
    import json

    from edgekit.compress import compress_to_int8
    from edgekit.compress.figures import compression_figures

    r, qgraph = compress_to_int8(graph, sx, ccfg)
    data = export_tflite(qgraph, "edgekit Bin & Quant (data-free)")
    budget = {"target_ratio": ccfg.target_ratio} if ccfg.target_ratio else {"max_drop": ccfg.max_drop}
    report = {"model": model, "method": ccfg.method, **budget, "gptq": ccfg.gptq,
              "refine_steps": ccfg.refine_steps,
              "synthetic_samples": int(len(sx)), **compression_figures(qgraph),
              "proxy_float_weights": r.score.as_dict(), "proxy_evaluations": r.evaluations,
              **({"allocation": {k: v for k, v in r.allocation.items() if k != "bit_kl"}} if r.allocation else {}),
              "layers": [L.as_dict() for L in r.layers]}
    if verify:
        report["tflm_check"] = tflite_matches(qgraph, data, sx[:8])
    npz = io.BytesIO()
    SynthResult(sx, np.full(len(sx), -1, np.int64), [], synth_cfg).save(npz, graph.meta.get("sha256"))
    files = {"model.tflite": data, "report.json": (json.dumps(report, indent=2) + "\n").encode(),
             "synth.npz": npz.getvalue()}
    return files, report, r


def run_compress(model: str, out_dir: str, ccfg, synth_cfg: SynthConfig, calib_file: str | None = None,
                 verify: bool = True) -> dict:
    """synth (or a saved set) -> compress_model -> OUT/model.tflite (codebooks decoded to
    int8: any TFLite runtime runs it), OUT/report.json, OUT/synth.npz; written atomically."""
    from edgekit.compress.figures import layer_bits

    check_output_parent(out_dir)
    graph = load_model(model)
    t0 = time.perf_counter()
    if calib_file:
        sx, info = load_synth(calib_file), {}
    else:
        res = synthesize(graph, synth_cfg)
        sx, info = res.x, {"synth_seconds": round(time.perf_counter() - t0, 2)}
    t1 = time.perf_counter()
    files, report, r = compress_model(graph, model, sx, ccfg, synth_cfg, verify)
    timings = {"compress_seconds": round(time.perf_counter() - t1, 2), **info}
    write_files(out_dir, files)
    # timings go to the summary, not the file: same inputs and seed, same bytes
    summary = {k: v for k, v in report.items() if k not in ("layers", "allocation")}
    summary.update(timings, output=out_dir, layers=layer_bits(r))
    return summary


def write_files(out_dir: str, files: dict[str, bytes]) -> None:
    """{relative path: bytes} -> OUT, atomically (all or nothing)."""
    import os

    with atomic_dir(out_dir) as tmp:
        for rel, data in files.items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)


def run_codegen(model: str, out_dir: str, name: str | None = None, in_place: bool = True) -> dict:
    import os
    import shutil

    from edgekit.codegen.emit import generate
    from edgekit.resources import RUNTIME

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


def run_on_board(model: str, board_name: str, input_npy: str, output_npy: str, check: bool) -> dict:
    import tempfile
    from pathlib import Path

    from edgekit.boards import get_board, require_runnable
    from edgekit.codegen.emit import generate
    from edgekit.toolchain.cbuild import build, run_batch
    from edgekit.verify import first_mismatch, reference_outputs

    board = get_board(board_name)
    require_runnable(board, "`edgekit run`")
    graph = load_int8_model(model)
    x = load_npy(input_npy, "--input")
    t_in, t_out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    if x.dtype != np.int8 or x.ndim < 1 or int(np.prod(x.shape[1:])) != t_in.size:
        raise InputError(f"--input must be int8 with shape (N, {', '.join(map(str, t_in.shape[1:]))}); "
                         f"got {x.dtype} {x.shape}")
    gen = generate(graph)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        exe = build(gen, board, Path(d))
        y = run_batch(exe, board, x.reshape(len(x), -1), t_out.size)
    dt = time.perf_counter() - t0
    y = y.reshape(len(x), *t_out.shape[1:])
    with atomic_path(output_npy) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, y)
    out = {"model": model, "board": board_name, "inputs": int(len(x)), "output": output_npy,
           "arena_bytes": gen.plan.arena_size, "seconds": round(dt, 2)}
    if check:
        diff = first_mismatch(reference_outputs(graph, x.reshape(len(x), *t_in.shape[1:])), y)
        out["identical_to_reference"] = diff is None
        if diff:
            out["first_mismatch"] = diff
    return out


def run_profile(model: str, board_name: str, opt: str) -> dict:
    from edgekit.boards import get_board, require_emulated
    from edgekit.toolchain.profile import profile

    board = get_board(board_name)
    require_emulated(board, "`edgekit profile`")
    return profile(load_int8_model(model), board, opt=opt)


def compress_for_deploy(graph: Graph, ccfg, sx: np.ndarray) -> tuple[Graph, dict]:
    """float graph + synthetic set -> codebook weights -> int8 graph, with the figures."""
    from edgekit.compress import compress_to_int8
    from edgekit.compress.figures import compression_figures, layer_bits

    r, qgraph = compress_to_int8(graph, sx, ccfg)
    budget = {"target_ratio": ccfg.target_ratio} if ccfg.target_ratio else {}
    return qgraph, {"method": ccfg.method, **budget, **compression_figures(qgraph), "layers": layer_bits(r)}


def fit_and_compress(graph: Graph, ccfg, sx: np.ndarray, board, widest: bool):
    """Compress so that the firmware fits the board with edgekit.deploy.fit's headroom:
    k-means at the configured size if it fits (or, `widest`, at the widest size that
    fits), else narrower; other methods as configured. (int8 graph, its generated C,
    figures, fit report or None)."""
    from edgekit.codegen.emit import generate
    from edgekit.deploy import checks, fit

    if ccfg.method != "kmeans" or set(ccfg.bins) != {"*"}:
        qgraph, figures = compress_for_deploy(graph, ccfg, sx)
        return qgraph, generate(qgraph, "kws"), figures, None
    default = ccfg.bins["*"]
    if not widest:
        qgraph, figures = compress_for_deploy(graph, ccfg, sx)
        gen = generate(qgraph, "kws")
        if fit.fits(checks.estimate(gen), board):
            return qgraph, gen, figures, fit.report(board, default, default, widest)
    bins, report = fit.choose_bins(fit.sizes(graph, sx), board, default, widest)
    qgraph, figures = compress_for_deploy(graph, fit.fitted_config(ccfg, bins), sx)
    return qgraph, generate(qgraph, "kws"), figures, report


def real_time_plan(gen, qgraph: Graph, board, names: list[str], kws_cfg, frontend: str, spec, max_load: float,
                   auto: bool):
    """(generated C, detector config, real-time report): the stride for the board's clock
    (edgekit.deploy.realtime), with int8 instead of codebook layers when only they keep up."""
    from edgekit.codegen.emit import generate
    from edgekit.compress.codebook import deployed_codebooks
    from edgekit.deploy import checks, fit, realtime

    int8_gen = generate(qgraph, "kws", codebooks=False) if deployed_codebooks(qgraph) else None

    def int8_costs():
        if int8_gen is None or not fit.fits(checks.estimate(int8_gen), board):
            return None
        return realtime.measure(int8_gen, board, names, kws_cfg, frontend, spec)

    layers, cfg, report = realtime.choose_layers(realtime.measure(gen, board, names, kws_cfg, frontend, spec),
                                                 int8_costs if int8_gen is not None else None, board, kws_cfg,
                                                 max_load, auto)
    report["layers"] = layers if int8_gen is not None else "int8"
    return (int8_gen if layers == "int8" else gen), cfg, report


def run_deploy(model: str, board_name: str, out_dir: str, wavs: list[str], *, ccfg=None,
               synth_cfg: SynthConfig = SynthConfig(), labels: str | None = None, kws_cfg=None,
               build: bool = True, run: bool = True, verify: bool = True, count: bool = True,
               auto_stride: bool = True, max_load: float | None = None,
               features: str | None = None, fit: bool = False) -> dict:
    """model -> (synth -> compress to fit the board (edgekit.deploy.fit) -> int8) -> C ->
    the detector's stride for the board's clock (edgekit.deploy.realtime) -> PlatformIO
    project in OUT -> pio run -> run in QEMU on the wavs (emulated boards). OUT is
    written atomically."""
    import json
    import os
    import shutil
    from pathlib import Path

    from edgekit.audio import read_wav
    from edgekit.audio.features import resolve_spec, spec_to_toml
    from edgekit.boards import get_board, require_firmware
    from edgekit.codegen.emit import generate
    from edgekit.compress.figures import compression_figures
    from edgekit.deploy import checks, realtime
    from edgekit.deploy.firmware import KwsConfig, firmware_frontend, run_wavs
    from edgekit.deploy.labels import resolve_labels
    from edgekit.deploy.platformio import build_blocker, pio_run, write_project
    from edgekit.errors import EdgekitError
    from edgekit.toolchain.cbuild import ToolchainError
    from edgekit.ir.summary import is_quantized
    from edgekit.toolchain.profile import elf_sizes
    from edgekit.verify import c_matches

    kws_cfg = kws_cfg or KwsConfig()
    board = get_board(board_name)                     # everything checkable is checked first
    require_firmware(board)
    spec, _ = resolve_spec(model, features)
    for w in wavs:
        read_wav(w)
    if wavs and not board.emulated and run:
        raise InputError(f"{board.name} is a real board: wavs run on emulated boards only "
                         "(flash it with `pio run -t upload` in the output directory)")
    check_output_parent(out_dir)
    checks.check_tools(board, build, run, verify)
    t0 = time.perf_counter()
    graph = load_model(model)
    checks.check_frontend_input(graph, spec)
    n_out = graph.tensor(graph.outputs[0]).size
    names = resolve_labels(model, labels, n_out)
    frontend = firmware_frontend(spec, board.frontend)
    summary: dict = {"model": model, "board": board.name, "core": board.core, "frontend": frontend,
                     "features": spec.kind, "output": out_dir}
    if is_quantized(graph):
        qgraph, sx, gen = graph, None, generate(graph, "kws")
        summary["compression"] = {"method": "none (int8 model given)", **compression_figures(qgraph)}
    else:
        from edgekit.compress import deploy_config

        sx = synthesize(graph, synth_cfg).x
        if spec.kind in ("tf1-mfcc", "logmel"):      # the front end's floor (tf1_mfcc / logmel.floor_features)
            from edgekit.audio import logmel, tf1_mfcc
            floor_features = (tf1_mfcc if spec.kind == "tf1-mfcc" else logmel).floor_features
            shape = graph.tensor(graph.inputs[0]).shape[1:]
            sx = np.concatenate([sx, floor_features(spec).reshape(1, *shape).astype(np.float32)])
        qgraph, gen, summary["compression"], report = fit_and_compress(graph, ccfg or deploy_config(), sx,
                                                                      board, fit)
        if report is not None:
            summary["fit"] = report
    summary["estimate"] = checks.estimate(gen)
    checks.check_fits(board, summary["estimate"], exact=False)
    gen, kws_cfg, summary["realtime"] = real_time_plan(gen, qgraph, board, names, kws_cfg, frontend, spec,
                                                       realtime.MAX_LOAD if max_load is None else max_load,
                                                       auto_stride)
    if summary["realtime"].get("layers") == "int8":
        summary["estimate"] = checks.estimate(gen)
    summary["detector"] = dict(kws_cfg.__dict__)
    if verify and board.emulated:
        x = sx[:8] if sx is not None else np.random.default_rng(0).standard_normal(
            (8, *qgraph.tensor(qgraph.inputs[0]).shape[1:])).astype(np.float32)
        summary["verification"] = c_matches(qgraph, gen, board, x)
    blocker = build_blocker(board) if build else None
    failure: EdgekitError | None = ToolchainError(blocker) if blocker else None
    with atomic_dir(out_dir) as tmp:
        write_project(Path(tmp), board, gen, names, kws_cfg, frontend, spec)
        data = export_tflite(qgraph, "edgekit deploy (data-free)")
        with open(os.path.join(tmp, "model.tflite"), "wb") as f:
            f.write(data)
        with open(os.path.join(tmp, "model.features.toml"), "w") as f:   # stream-eval OUT/model.tflite
            f.write(spec_to_toml(spec))                                     # gets the same front end
        if build and failure is None:
            try:
                elf = pio_run(Path(tmp))
            except EdgekitError as e:      # the project is what the user still needs: kept
                failure = e
        if failure is not None:
            summary["build"] = f"not built: {failure}"
        elif build:
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
    if failure is not None:
        raise type(failure)(f"{failure}; the generated project is kept in {out_dir} (`pio run -d {out_dir}` "
                            "builds it where PlatformIO can download what it needs)")
    if build and run and board.emulated and wavs:
        # a real SoC in QEMU (netduinoplus2): its deployed firmware takes the wavs over the UART
        summary.update(run_wavs(Path(out_dir) / "firmware.elf", board, wavs, count, uart=board.emulated_soc))
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def run_stream_eval(model: str, board_name: str, *, wavs_dir: str | None = None, clips_csv: str | None = None,
                    spec=None, kws_cfg=None, labels: str | None = None, frontend: str | None = None,
                    features: str | None = None,
                    out_dir: str | None = None, det_png: str | None = None, count: bool = False) -> dict:
    """labelled clips -> a seeded stream (wav + onsets) -> the KWS firmware (host build or
    QEMU, -DEK_KWS_TRACE) -> its detections scored (FRR, FA/h, per keyword, latency) and,
    from the traced scores, the DET curve over the threshold; in QEMU also the stack's and
    heap's high-water marks over time and, with `count`, instructions (and the cycle
    ESTIMATE) per second of audio. The firmware's front end is the one the model was
    trained on (its FeatureSpec: `features`, `<model>.features.toml`, or the sample's
    MFCC). OUT (stream wav(s), events.csv, scores.csv, result.json) is written atomically."""
    import json
    import os
    import tempfile
    from pathlib import Path

    from edgekit.audio.features import resolve_spec
    from edgekit.boards import FRONTENDS, get_board, require_firmware, require_runnable
    from edgekit.codegen.emit import generate
    from edgekit.deploy import stream_eval as se
    from edgekit.deploy.checks import check_frontend_input
    from edgekit.deploy.firmware import KwsConfig, build_kws, firmware_frontend, run_wavs
    from edgekit.deploy.labels import resolve_labels
    from edgekit.errors import EdgekitError
    from edgekit.ir.summary import is_quantized

    spec, kws_cfg = spec or se.StreamSpec(), kws_cfg or KwsConfig()
    board = get_board(board_name)                      # cheap checks first
    require_runnable(board, "`edgekit stream-eval`")
    if not board.is_host:
        require_firmware(board)
    if frontend is not None and frontend not in FRONTENDS:
        raise InputError(f"--frontend must be one of {', '.join(FRONTENDS)}")
    fspec, _ = resolve_spec(model, features)          # the features the model was trained on
    frontend = firmware_frontend(fspec, frontend or board.frontend)
    se.check_length(spec.minutes)
    if (wavs_dir is None) == (clips_csv is None):
        raise InputError("give the clips with --wavs-dir DIR or --clips CSV (one of them)")
    for p in (out_dir, det_png):
        if p:
            check_output_parent(p)
    clips = se.clips_from_dir(wavs_dir) if wavs_dir else se.clips_from_csv(clips_csv)
    graph = load_model(model)
    if not is_quantized(graph):
        raise InputError(f"{model} is a float model: stream-eval runs the deployed int8 model "
                         "(`edgekit deploy` writes it to OUT/model.tflite)")
    check_frontend_input(graph, fspec)
    names = resolve_labels(model, labels, graph.tensor(graph.outputs[0]).size)
    se.check_clips(clips, names, wavs_dir or clips_csv)
    t0 = time.perf_counter()
    stream = se.build_stream(*se.load_clips(clips), spec)
    gen = generate(graph, "kws")
    out_ctx = atomic_dir(out_dir) if out_dir else tempfile.TemporaryDirectory()
    with out_ctx as d, tempfile.TemporaryDirectory() as bd:
        wavs = se.write_stream(stream, d)
        exe = build_kws(gen, board, frontend, names, Path(bd), kws_cfg, trace=True, spec=fspec)
        t1 = time.perf_counter()
        seconds = stream.duration_ms / 1000
        r = run_wavs(exe, board, wavs, count and board.emulated, log=True,
                     timeout=300 + seconds * (2.0 if board.emulated else 0.2))
        run_s = time.perf_counter() - t1
        if r["stream_ms"] != stream.duration_ms:
            raise EdgekitError(f"{board.name}: the firmware played {r['stream_ms']} ms of a "
                               f"{stream.duration_ms} ms stream")
        ms, scores = se.parse_trace(r["log"])
        res = se.evaluate(names, kws_cfg, ms, scores, stream.events, stream.duration_ms,
                          firmware_detections=r["detections"])
        if not res["twin_identical"]:
            raise EdgekitError("the detector's twin (edgekit/deploy/stream_eval.py) does not reproduce the "
                               "firmware's detections: the DET curve would be wrong (please report)")
        kinds = [e["kind"] for e in stream.events]
        summary = {
            "model": model, "board": board.name, "frontend": frontend,
            "stream": {"minutes": spec.minutes, "seed": spec.seed, "snr_db": spec.snr_db,
                       "duration_ms": stream.duration_ms, "keywords": kinds.count("keyword"),
                       "unknown_words": kinds.count("unknown"), "inferences": r["inferences"],
                       "clips": len(clips), "wavs": [os.path.basename(w) for w in wavs]},
            "detector": dict(kws_cfg.__dict__),
            **{k: v for k, v in res.items() if k != "detections"},
            "detections": res["detections"],
            "firmware_seconds": round(run_s, 2),
            **{k: r[k] for k in ("memory", "memory_over_time", "instructions_per_second_audio", "realtime_load",
                                 "cycle_estimate") if k in r},
        }
        if out_dir:
            se.write_scores(os.path.join(d, "scores.csv"), names, ms, scores)
            with open(os.path.join(d, "result.json"), "w") as f:
                json.dump(summary, f, indent=2)
                f.write("\n")
    if det_png:
        with atomic_path(det_png) as tmp:
            se.plot_det({f"{board.name} firmware": res["det"]}, tmp,
                        f"{os.path.basename(model)}, {spec.minutes:g} min, seed {spec.seed}, "
                        f"{'clean' if spec.snr_db is None else f'SNR {spec.snr_db:g} dB'}")
    summary.update(output=out_dir, det_png=det_png, seconds=round(time.perf_counter() - t0, 2))
    return summary


def _evaluation_set(eval_files, input_quant):
    """(x, labels, input_quant) of `sweep --eval X.npy Y.npy`, or None."""
    if not eval_files:
        return None
    x, y = load_npy(eval_files[0], "--eval"), load_npy(eval_files[1], "--eval")
    if len(x) != len(y.reshape(-1)) or len(x) == 0:
        raise InputError(f"--eval: {len(x)} inputs but {len(y.reshape(-1))} labels")
    return x, y.reshape(-1), input_quant


def run_sweep(sweep_file: str, out_dir: str, *, address: str | None = None, num_cpus: int | None = None,
              eval_files: tuple[str, str] | None = None, input_quant=None, retry_failed: bool = False,
              on_row=None) -> dict:
    """sweep file -> trials (checked first) -> Ray tasks -> OUT/trials/<key>/ and one row
    per trial in OUT/results.sqlite as each ends -> OUT/results.csv, summary.json and a
    Pareto plot per board. Trials already in the table are skipped (resume)."""
    import json
    import os

    from edgekit.fileio import atomic_write_bytes
    from edgekit.progress import progress_bar
    from edgekit.sweep import report, runner, spec
    from edgekit.sweep.store import Store

    sweep = spec.load(sweep_file)
    evaluation = _evaluation_set(eval_files, input_quant)
    if evaluation is not None:
        spec.check_inputs(sweep, evaluation[0])
    if address:
        runner.check_address(address)
    check_output_parent(out_dir)
    store = Store(out_dir)
    os.makedirs(os.path.join(out_dir, "trials"), exist_ok=True)
    skip = store.done(retry_failed)
    todo = [t for t in sweep.trials if t.key not in skip]
    counts = {"done": 0, "failed": 0, "skipped": len(sweep.trials) - len(todo)}

    def record(t, result, error, bar):
        row = {"key": t.key, "model": t.model, "board": t.board, "method": t.method, "setting": t.setting,
               "bins": t.bins, "target_ratio": t.target_ratio, "max_drop": t.max_drop,
               "refine_steps": None if t.method == "int8" else t.refine_steps, "seed": t.seed,
               "deploy_command": report.deploy_command(t),
               "status": "ok" if error is None else "failed", "error": error}
        if result is not None:
            write_files(os.path.join(out_dir, "trials", t.key), result["files"])
            row.update(result["row"])
        store.put(row)
        counts["done" if error is None else "failed"] += 1
        bar.update(done=counts["done"], failed=counts["failed"])
        if on_row:
            on_row(row)

    if todo:
        runner.start(address, num_cpus)
        try:
            with progress_bar("sweep trials", len(todo)) as bar:
                runner.execute(todo, sweep.models, evaluation, lambda t, r, e: record(t, r, e, bar))
        finally:
            runner.stop()
    keys = {t.key for t in sweep.trials}
    rows = [r for r in store.rows() if r["key"] in keys]
    atomic_write_bytes(os.path.join(out_dir, "results.csv"), store.csv().encode())
    store.close()
    boards = report.summary(rows)
    plots = {}
    for board in boards:
        if any(r["status"] == "ok" for r in rows if r["board"] == board):
            plots[board] = os.path.join(out_dir, f"pareto_{board}.png")
            report.plot_pareto([r for r in rows if r["board"] == board], board, plots[board])
    summary = {"sweep": sweep_file, "output": out_dir, "trials": len(sweep.trials), **counts,
               "score": report.score_name(rows), "boards": boards, "plots": plots, "rows": rows}
    atomic_write_bytes(os.path.join(out_dir, "summary.json"),
                       (json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=2) + "\n").encode())
    return summary
