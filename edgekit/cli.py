"""The `edgekit` command. Thin: parses arguments, calls a stage, prints the result.

Every failure a user can cause ends as one line on stderr, `edgekit: error: ...`, with
the error's exit code (see edgekit.errors); never a traceback (set EDGEKIT_DEBUG=1 to
see one).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from edgekit import __version__
from edgekit.compress import DEPLOY_BINS, DEPLOY_METHOD, MAX_DROP
from edgekit.errors import EdgekitError, InputError

EPILOG = """\
examples:
  edgekit inspect samples/kws_ref_model.keras
  edgekit synth samples/kws_ref_model.keras -o synth.npz
  edgekit quantize samples/kws_ref_model.keras --data-free -o kws_int8.tflite
  edgekit deploy samples/kws_ref_model.keras --board mps2-an386 --wav samples/wavs/*.wav
  edgekit boards
  edgekit codegen kws_int8.tflite -o kws_c/
  edgekit run kws_int8.tflite --board mps2-an386 --input x.npy --output y.npy --check
  edgekit profile kws_int8.tflite --board mps2-an386
  edgekit stream-eval samples/kws_ref_model_int8.tflite --wavs-dir DIR --minutes 60 --det det.png
  edgekit sweep samples/sweep.toml -o sweep_out
  edgekit inspect samples/kws_ref_model_int8.tflite --json
  edgekit eval samples/kws_ref_model_int8.tflite --inputs X.npy --labels Y.npy \\
      --input-scale 0.5847029 --input-zero-point 83 --check-tflm

model formats: .keras / .h5 (Keras 3 or Keras 2), .pt2 (torch.export.save), .tflite
(float or int8). Exit codes: 0 ok, 2 bad input data, 3 unreadable model,
4 unsupported op, 5 internal graph error, 6 no BatchNorm to synthesize from,
7 missing toolchain, 130 interrupted.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edgekit", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Data-free deployment of trained models to Cortex-M microcontrollers.")
    p.add_argument("--version", action="version", version=f"edgekit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("inspect", help="import a model and print its graph: ops, shapes, "
                       "parameters, MACs, quantization",
                       description="Import MODEL into edgekit's graph IR and print one row per "
                       "node (op, shapes, parameters, MACs, quantization) and totals.")
    s.add_argument("model", help="model file (.keras, .h5, .pt2, .pb, .tflite)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("eval", help="top-1 accuracy of a model on a labelled .npy set",
                       description="Run MODEL on labelled inputs (float models on torch, int8 "
                       "models on edgekit's bit-exact integer reference) and report top-1.")
    s.add_argument("model", help="model file (.keras, .h5, .pt2, .pb, .tflite)")
    s.add_argument("--inputs", required=True, help=".npy array (N, *input shape), float or int8")
    s.add_argument("--labels", required=True, help=".npy array of N integer class labels")
    s.add_argument("--input-scale", type=float, help="scale of int8 --inputs (dequantized first)")
    s.add_argument("--input-zero-point", type=int, default=0, help="zero point of int8 --inputs")
    s.add_argument("--limit", type=int, help="use only the first N inputs")
    s.add_argument("--rounding", choices=("double", "single"), default="double",
                   help="requantization rounding of the int8 reference (TFLite default: double)")
    s.add_argument("--check-tflm", action="store_true",
                   help="also run the TFLM interpreter (.tflite int8 only) and require "
                   "identical outputs on every element")
    s.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("synth", help="synthesize calibration inputs from the model's BatchNorm "
                       "statistics (no data needed)",
                       description="Optimize a batch of inputs so that, at every BatchNorm layer, "
                       "their statistics match the layer's running mean and variance (ZeroQ); "
                       "and a class term makes each sample one of the model's classes, in turn (DeepInversion). Writes .npz "
                       "with arrays x (inputs), labels, loss.")
    s.add_argument("model", help="float model (.keras, .h5, .pt2, .pb) with BatchNorm layers")
    s.add_argument("-o", "--output", required=True, help="output .npz")
    _synth_args(s)
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("quantize", help="int8 post-training quantization to a .tflite file",
                       description="Fold BatchNorm, quantize weights per channel (int8, symmetric) "
                       "and activations per tensor (int8, asymmetric) from calibration inputs, "
                       "and write an int8 .tflite that TFLM and LiteRT run. The exported file is "
                       "checked against edgekit's int8 reference in TFLM before it is written.")
    s.add_argument("model", help="float model (.keras, .h5, .pt2, .pb, float .tflite)")
    s.add_argument("-o", "--output", required=True, help="output .tflite")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--data-free", action="store_true",
                     help="calibrate on inputs synthesized from BatchNorm statistics (runs synth)")
    src.add_argument("--calib", metavar="SYNTH.npz", help="calibrate on a saved `edgekit synth` output")
    src.add_argument("--calib-data", metavar="X.npy", help="calibrate on your own inputs")
    src.add_argument("--calib-gaussian", action="store_true",
                     help="calibrate on Gaussian noise (a weak baseline, for comparison)")
    s.add_argument("--input-scale", type=float, help="scale of int8 --calib-data (dequantized first)")
    s.add_argument("--input-zero-point", type=int, default=0, help="zero point of int8 --calib-data")
    s.add_argument("--calibration", choices=("minmax", "percentile", "mse"), default="minmax",
                   help="how activation ranges are chosen from the calibration outputs")
    s.add_argument("--percentile", type=float, default=99.99, help="for --calibration percentile")
    s.add_argument("--bias-correction", action="store_true",
                   help="correct each bias for the mean error of its quantized weights (DFQ-style)")
    s.add_argument("--no-verify", action="store_true", help="skip the TFLM self-check")
    _synth_args(s)
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_quantize)
    s = sub.add_parser("compress", help="Bin & Quant: codebook weights, no data, no retraining",
                       description="Synthesize inputs from the model's BatchNorm statistics, bin each "
                       "layer's weights into a small int8 codebook (sensitivity-guided Bin & Quant, "
                       "judged by agreement with the float model on the synthetic inputs), quantize "
                       "activations to int8 and write OUT/model.tflite (codebooks decoded to int8, "
                       "runnable by any TFLite runtime; `edgekit codegen` stores codebook layers as "
                       "bit-packed indices), OUT/report.json (ratios, per-layer bins and bits, proxy "
                       "scores) and OUT/synth.npz. Written atomically.")
    s.add_argument("model", help="float model (.keras, .h5, .pt2, .pb, float .tflite)")
    s.add_argument("-o", "--output", required=True, help="output directory")
    _compression_args(s, default_method="binquant")
    s.add_argument("--calib", metavar="SYNTH.npz", help="use a saved `edgekit synth` output")
    s.add_argument("--no-verify", action="store_true", help="skip the TFLM self-check")
    _synth_args(s)
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_compress)

    s = sub.add_parser("deploy", help="the whole job: synth -> compress -> int8 -> C -> "
                       "PlatformIO firmware -> run on the board (QEMU for emulated boards)",
                       description="Compress MODEL with no data (BatchNorm-synthesized calibration, "
                       "codebook weights, int8 activations), generate C, write a PlatformIO project "
                       "with the KWS firmware (the model's front end, streaming detector) to OUT, build it "
                       "with `pio run` and, on emulated boards, run it in QEMU on the wavs: one line "
                       "`<wav>: <label> <score>` per wav (the firmware's classification of the clip), "
                       "the streaming detections over all wavs played back to back, and a summary. "
                       "Flash and RAM are checked against the board before building. An int8 "
                       ".tflite is deployed as it is.")
    s.add_argument("model", help="model file (.keras, .h5, .pt2, .pb, .tflite)")
    s.add_argument("--board", required=True, help="board name (`edgekit boards`) or a board .toml file")
    s.add_argument("--wav", nargs="+", default=[], metavar="WAV",
                   help="16 kHz 16-bit mono wavs to run on an emulated board")
    s.add_argument("-o", "--output", default="deploy_out", help="project directory (default deploy_out; "
                   "replaced as a whole)")
    s.add_argument("--labels", help="class names: a comma list or a file with one per line "
                   "(default: MODEL's <stem>.labels.txt); names starting with _ are background")
    _features_arg(s)
    _compression_args(s, default_method=DEPLOY_METHOD)
    s.add_argument("--fit", action="store_true",
                   help="k-means: the widest codebooks (up to 16 codes) whose firmware fits the board's flash and "
                   "RAM with 25%% of each left for the application (without --fit: --bins is kept when it fits "
                   "so, narrowed when it does not; nothing fits: refused with the bytes needed)")
    s.add_argument("--no-build", action="store_true", help="write the project only (real boards offline)")
    s.add_argument("--no-verify", action="store_true",
                   help="skip the self-check of the generated model on the board's core")
    s.add_argument("--no-count", action="store_true", help="skip instruction counting in QEMU")
    _detector_args(s, auto_stride=True)
    _synth_args(s)
    s.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    s.set_defaults(func=cmd_deploy)

    s = sub.add_parser("stream-eval", help="missed keywords (FRR) and false alarms per hour of the KWS "
                       "firmware on a long stream built from labelled clips",
                       description="Build a seeded stream from labelled 1 s clips (keywords and unknown words, "
                       "each followed by 1-3 s of _silence_ background; optional noise from the background "
                       "clips at --snr dB per word), write it as a wav (OUT/stream.wav, onsets in "
                       "OUT/events.csv), run it through the KWS firmware (the deploy C, built for the host "
                       "or an emulated board and run natively or in QEMU) and score its detections: a "
                       "detection is a hit when a not-yet-matched keyword clip of the same label began "
                       "0-2000 ms earlier, anything else is a false alarm. Reports FRR, false alarms per "
                       "hour, FRR per keyword, detection latency, and the DET curve (FRR vs FA/h over the "
                       "threshold, replayed from the scores the firmware prints per inference).")
    s.add_argument("model", help="int8 model (.tflite; `edgekit deploy` writes OUT/model.tflite)")
    s.add_argument("--board", default="host", help="host (native build, fast) or an emulated board with "
                   "firmware (mps2-an386, mps2-an500, mps2-an385; QEMU) (default host)")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--wavs-dir", metavar="DIR", help="labelled clips: DIR/labels.csv (file,label) or "
                     "DIR/<label>/*.wav")
    src.add_argument("--clips", metavar="CSV", help="labelled clips: CSV with columns file,label (paths "
                     "relative to the CSV)")
    s.add_argument("--minutes", type=float, default=10.0, help="stream length (default 10)")
    s.add_argument("--snr", type=float, default=None, metavar="DB",
                   help="mix in noise (the _silence_ clips) at this SNR per word (default: clean)")
    s.add_argument("--seed", type=int, default=0, help="stream seed: same clips + seed, same stream (default 0)")
    s.add_argument("--labels", help="class names (default: MODEL's <stem>.labels.txt)")
    s.add_argument("--frontend", choices=("float", "fixed"), help="MFCC front end arithmetic (default: the "
                   "board's; host: float)")
    _features_arg(s)
    _detector_args(s)
    s.add_argument("-o", "--output", default="stream_eval_out",
                   help="directory for stream.wav, events.csv, scores.csv (the model's scores per "
                   "inference), result.json (default stream_eval_out; "
                   "replaced as a whole)")
    s.add_argument("--det", metavar="PNG", help="write the DET curve (FRR vs FA/h) as a PNG")
    s.add_argument("--count", action="store_true", help="in QEMU, also count instructions per second of audio "
                   "(and the cycle estimate): slower")
    s.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    s.set_defaults(func=cmd_stream_eval)

    s = sub.add_parser("sweep", help="try many configurations (models x boards x compression x seeds) "
                       "on Ray: table, Pareto fronts, best per board",
                       description="Run every trial of SWEEP.toml (see samples/sweep.toml) as a Ray task: "
                       "synthesis (once per model and seed), compression, code generation and an exact "
                       "instruction count in QEMU, as `edgekit compress` / `codegen` / `profile` would alone. "
                       "Each finished trial is written at once: OUT/trials/<key>/ (its artifacts) and a row of "
                       "OUT/results.sqlite, so a stopped sweep rerun on the same OUT skips what is done. Then "
                       "OUT/results.csv, OUT/summary.json (best configuration that fits each board, with the "
                       "command that deploys it) and OUT/pareto_<board>.png (score vs flash vs ESTIMATED ms).")
    s.add_argument("sweep", help="sweep file (.toml)")
    s.add_argument("-o", "--output", default="sweep_out", help="results directory (default sweep_out; "
                   "kept and added to: a rerun resumes)")
    s.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                   help="an existing Ray cluster, HOST:PORT or 'auto' (default $RAY_ADDRESS; unset: Ray is "
                   "started on this machine for the sweep)")
    s.add_argument("--num-cpus", type=int, help="CPUs of the Ray started on this machine, one trial each "
                   "(default: all)")
    s.add_argument("--eval", nargs=2, metavar=("X.npy", "Y.npy"),
                   help="labelled inputs: every trial's int8 model is scored on them (top-1)")
    s.add_argument("--input-scale", type=float, help="scale of int8 --eval inputs (dequantized first)")
    s.add_argument("--input-zero-point", type=int, default=0, help="zero point of int8 --eval inputs")
    s.add_argument("--retry-failed", action="store_true", help="rerun the trials the table holds as failed")
    s.add_argument("--json", action="store_true", help="print one JSON object per trial (JSON lines)")
    s.set_defaults(func=cmd_sweep)

    s = sub.add_parser("features", help="print the audio front end deploy would use for MODEL",
                       description="The front end (FeatureSpec) `edgekit deploy` would feed MODEL, and "
                       "where it came from: --features FILE, MODEL's <stem>.features.toml, the model's own "
                       "graph (a TF1 .pb's AudioSpectrogram + Mfcc), or the default (the sample's MFCC). "
                       "Kinds: mfcc, microfrontend (TFLM micro_speech; see samples/micro_speech.features.toml), "
                       "tf1-mfcc (TF's AudioSpectrogram + Mfcc ops), logmel (librosa's melspectrogram, "
                       "center=False, and a log; PyTorch models trained on librosa features).")
    s.add_argument("model", help="model file (its path finds <stem>.features.toml; a .pb is read for its front end)")
    s.add_argument("--features", metavar="FILE", help="a features .toml file")
    s.add_argument("--json", action="store_true", help="print the spec as JSON on stdout")
    s.set_defaults(func=cmd_features)

    s = sub.add_parser("boards", help="list the supported boards and their limits",
                       description="One row per board file (edgekit/boards/*.toml): core, FPU/DSP, "
                       "clock, flash, RAM, front end, audio source, emulator, PlatformIO platform. "
                       "Every --board option takes these names, or a path to your own board file.")
    s.add_argument("--json", action="store_true", help="print the list as JSON")
    s.set_defaults(func=cmd_boards)

    s = sub.add_parser("codegen", help="generate C for an int8 model (no interpreter, planned arena)",
                       description="Emit NAME.h (arena size, I/O shapes and quantization, invoke), "
                       "NAME_data.c (weights and requantization parameters as const arrays, in "
                       "flash) and NAME.c (the static schedule of kernel calls) into DIR, with "
                       "edgekit's C runtime in DIR/ek_runtime. Written atomically.")
    s.add_argument("model", help="int8 model (.tflite from `edgekit quantize` or TFLite's converter)")
    s.add_argument("-o", "--output", required=True, help="output directory (replaced as a whole)")
    s.add_argument("--name", help="C prefix (default: the model file name)")
    s.add_argument("--no-in-place", action="store_true",
                   help="plan without in-place depthwise/pointwise execution (larger arena)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_codegen)

    s = sub.add_parser("run", help="run a batch of int8 inputs through the generated C on the host "
                       "or an emulated board",
                       description="Generate C for MODEL, build it for BOARD (host: this machine's "
                       "gcc; an emulated board: arm-none-eabi-gcc + QEMU), run "
                       "the N inputs and save the N int8 outputs. --check compares them with "
                       "edgekit's NumPy int8 reference, element by element.")
    s.add_argument("model", help="int8 model (.tflite)")
    s.add_argument("--board", default="host", help="host or an emulated board (`edgekit boards`: "
                   "'runs on' QEMU), or a board .toml file (default host)")
    s.add_argument("--input", required=True, help=".npy int8 array (N x input shape)")
    s.add_argument("--output", required=True, help=".npy to write the N outputs to")
    s.add_argument("--check", action="store_true", help="require identical outputs from the reference")
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("profile", help="per-layer instructions, MACs, flash and RAM on an emulated core",
                       description="Build MODEL's generated C for BOARD with layer markers, run one "
                       "inference in QEMU with edgekit's instruction-counting plugin, and report "
                       "exact instructions per layer and per MAC, flash (arm-none-eabi-size) and "
                       "RAM (planned arena + stack estimate).")
    s.add_argument("model", help="int8 model (.tflite)")
    s.add_argument("--board", default="mps2-an386", help="an emulated board (`edgekit boards`: 'runs on' "
                   "QEMU), or a board .toml file (default mps2-an386, Cortex-M4F)")
    s.add_argument("--opt", default="O2", choices=("O2", "O3", "Os"), help="compiler optimization level")
    s.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    s.set_defaults(func=cmd_profile)
    return p


def _compression_args(s, default_method: str) -> None:
    """Weight-compression options shared by `compress` and `deploy` (read by _compress_cfg)."""
    s.add_argument("--method", choices=("binquant", "kmeans"), default=default_method,
                   help="binquant: sensitivity-guided bins; kmeans: --bins clusters per layer "
                   f"(default {default_method})")
    s.add_argument("--bins", type=int, default=DEPLOY_BINS,
                   help=f"bins per layer for --method kmeans (2-16, default {DEPLOY_BINS})")
    s.add_argument("--max-drop", type=float, default=MAX_DROP,
                   help="for --method binquant: points of top-1 agreement with the float model (on "
                   f"the synthetic inputs) the weight compression may cost (default {MAX_DROP:g})")
    s.add_argument("--target-ratio", type=float, default=None, metavar="R",
                   help="for --method binquant, instead of --max-drop: reach this weight_ratio (float32 "
                   "kernel bytes / deployed bytes, e.g. 10); bits per layer are allocated by each "
                   "layer's sensitivity on the synthetic inputs")
    s.add_argument("--no-gptq", action="store_true",
                   help="round to the nearest code instead of GPTQ's error-compensating assignment")
    s.add_argument("--refine-steps", type=int, default=2000, metavar="N",
                   help="learned rounding after binning: N Adam steps per codebook layer fitting each "
                   "weight's choice between its two nearest codes, the channel scales and the bias to "
                   "the float layer's output on the synthetic inputs (AdaRound-style; 0: off; "
                   "default 2000, about 8 s a layer on the sample model)")


def _features_arg(s) -> None:
    """--features, shared by `deploy` and `stream-eval` (edgekit.audio.features.resolve_spec)."""
    s.add_argument("--features", metavar="FILE", help="the model's front end as a .toml file (default: MODEL's "
                   "<stem>.features.toml, else a .pb graph's own, else the sample's MFCC; see `edgekit features`)")


def _detector_args(s, auto_stride: bool = False) -> None:
    """The streaming detector's settings (KwsConfig), shared by `deploy` and `stream-eval`
    (deploy chooses the stride for the board's clock unless given)."""
    from edgekit.deploy.firmware import KwsConfig
    from edgekit.deploy.realtime import MAX_LOAD, MAX_STRIDE_MS, MIN_STRIDE_MS

    d = KwsConfig()
    g = s.add_argument_group("streaming detector (edgekit/firmware/kws/ek_kws.h; defaults measured "
                             "with `edgekit stream-eval`, see bench/kws_stream.py)")
    g.add_argument("--threshold", type=float, default=d.threshold,
                   help=f"averaged score a keyword needs (0-1, default {d.threshold})")
    g.add_argument("--average-ms", type=int, default=d.average_ms,
                   help=f"scores are averaged over this window (default {d.average_ms})")
    g.add_argument("--min-count", type=int, default=d.min_count,
                   help=f"results the average needs (default {d.min_count})")
    g.add_argument("--suppress-ms", type=int, default=d.suppress_ms,
                   help=f"no second detection within this time (default {d.suppress_ms})")
    if auto_stride:
        g.add_argument("--stride-ms", type=int, default=None,
                       help="the model runs every this many ms, a multiple of 20 (default: the shortest of "
                       f"{MIN_STRIDE_MS}-{MAX_STRIDE_MS} ms whose ESTIMATED load at the board's clock is within "
                       "--max-load; a given stride is kept and checked)")
        g.add_argument("--max-load", type=float, default=MAX_LOAD,
                       help=f"share of the board's clock the front end and the model may take (default {MAX_LOAD}); "
                       "a real board that cannot keep up is refused")
    else:
        g.add_argument("--stride-ms", type=int, default=d.stride_ms,
                       help=f"the model runs every this many ms, a multiple of 20 (default {d.stride_ms})")


def _kws_cfg(args):
    from edgekit.deploy.firmware import KwsConfig

    if not 0 < args.threshold <= 1:
        raise InputError("--threshold must be in (0, 1]")
    if args.stride_ms is not None and (args.stride_ms < 20 or args.stride_ms % 20):
        raise InputError("--stride-ms must be a positive multiple of 20 (the front end's hop)")
    if not 0 < getattr(args, "max_load", 1) <= 1:
        raise InputError("--max-load must be in (0, 1]")
    for k in ("average_ms", "min_count", "suppress_ms"):
        if getattr(args, k) < (1 if k == "min_count" else 0):
            raise InputError(f"--{k.replace('_', '-')} must be {'>= 1' if k == 'min_count' else '>= 0'}")
    return KwsConfig(stride_ms=KwsConfig().stride_ms if args.stride_ms is None else args.stride_ms,
                     average_ms=args.average_ms, threshold=args.threshold,
                     suppress_ms=args.suppress_ms, min_count=args.min_count)


def _compress_cfg(args):
    from edgekit.compress import CompressConfig

    if not 2 <= args.bins <= 16:
        raise InputError("--bins must be between 2 and 16")
    if args.max_drop < 0:
        raise InputError("--max-drop must be >= 0")
    return CompressConfig(max_drop=args.max_drop, method=args.method, gptq=not args.no_gptq,
                          target_ratio=args.target_ratio, refine_steps=args.refine_steps, seed=args.seed,
                          bins={"*": args.bins} if args.method == "kmeans" else {})


def _synth_args(s) -> None:
    g = s.add_argument_group("synthesis (defaults work for the sample model)")
    g.add_argument("--samples", type=int, default=64, help="batch size to synthesize (default 64)")
    g.add_argument("--iters", type=int, default=500, help="optimization steps (default 500)")
    g.add_argument("--lr", type=float, default=0.5, help="Adam learning rate (default 0.5)")
    g.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes")
    g.add_argument("--label-weight", type=float, default=0.5,
                   help="weight of the class-coverage term (DeepInversion: every sample is "
                   "pushed to a class, classes in turn; default 0.5, 0 = off)")
    g.add_argument("--tv-weight", type=float, default=0.0, help="input prior: total variation")
    g.add_argument("--l2-weight", type=float, default=0.0, help="input prior: L2")


def _synth_cfg(args):
    from edgekit.synth import SynthConfig

    for k in ("samples", "iters"):
        if getattr(args, k) < 1:
            raise InputError(f"--{k} must be at least 1")
    return SynthConfig(n=args.samples, iters=args.iters, lr=args.lr, seed=args.seed,
                       label_weight=args.label_weight, tv_weight=args.tv_weight,
                       l2_weight=args.l2_weight)


# ---- commands ---------------------------------------------------------------------------

def cmd_inspect(args) -> int:
    from edgekit.importers import load_model
    from edgekit.ir.summary import summarize

    info = summarize(load_model(args.model))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    from edgekit.report import print_summary

    print_summary(info)
    return 0


def cmd_eval(args) -> int:
    import numpy as np

    from edgekit.evaluate import evaluate, model_inputs
    from edgekit.fileio import load_npy
    from edgekit.importers import load_model

    graph = load_model(args.model)
    x, y = load_npy(args.inputs, "--inputs"), load_npy(args.labels, "--labels")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    quant = (args.input_scale, args.input_zero_point) if args.input_scale else None
    res = evaluate(graph, x, y, quant, rounding=args.rounding)
    out = {"model": args.model, **res.as_dict()}
    if args.check_tflm:
        from edgekit.executors.tflm import run_tflm
        from edgekit.verify import first_mismatch

        if not args.model.endswith(".tflite") or res.executor != "int8-reference":
            raise InputError("--check-tflm needs an int8 .tflite model")
        ref = run_tflm(args.model, model_inputs(graph, x, quant))[0]
        diff = first_mismatch(ref, res.scores)
        out["tflm_identical"] = diff is None
        out["tflm_top1"] = float((ref.argmax(1) == np.asarray(y).reshape(-1)).mean())
        if diff:
            out["tflm_first_mismatch"] = diff
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        from edgekit.report import print_eval

        print_eval(out)
    return 0 if out.get("tflm_identical", True) else 1


def cmd_synth(args) -> int:
    from edgekit.pipeline import run_synth

    out = run_synth(args.model, args.output, _synth_cfg(args))
    _print_summary(out, args.json, "synth")
    return 0


def cmd_quantize(args) -> int:
    from edgekit.pipeline import run_quantize
    from edgekit.quant.ptq import QuantConfig

    source = ("synthetic" if args.data_free else "npz" if args.calib else
              "data" if args.calib_data else "gaussian")
    qcfg = QuantConfig(calibration=args.calibration, percentile=args.percentile,
                       bias_correction=args.bias_correction)
    quant = (args.input_scale, args.input_zero_point) if args.input_scale else None
    out = run_quantize(args.model, args.output, source, qcfg, _synth_cfg(args),
                       args.calib or args.calib_data, quant, verify=not args.no_verify)
    _print_summary(out, args.json, "quantize")
    return 0


def cmd_codegen(args) -> int:
    from edgekit.pipeline import run_codegen

    out = run_codegen(args.model, args.output, args.name, not args.no_in_place)
    _print_summary(out, args.json, "codegen")
    return 0


def cmd_run(args) -> int:
    from edgekit.pipeline import run_on_board

    out = run_on_board(args.model, args.board, args.input, args.output, args.check)
    _print_summary(out, args.json, "run")
    return 0 if out.get("identical_to_reference", True) else 1


def cmd_profile(args) -> int:
    from edgekit.pipeline import run_profile

    out = run_profile(args.model, args.board, "-" + args.opt)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    from edgekit.report import print_profile

    print_profile(out)
    return 0


def cmd_compress(args) -> int:
    from edgekit.pipeline import run_compress

    out = run_compress(args.model, args.output, _compress_cfg(args), _synth_cfg(args), args.calib,
                       verify=not args.no_verify)
    _print_summary(out, args.json, "compress")
    return 0


def cmd_features(args) -> int:
    from edgekit.audio.features import resolve_spec

    spec, source = resolve_spec(args.model, args.features)
    if os.path.isfile(args.model):          # a model that cannot take these features is refused here too
        from edgekit.deploy.checks import check_input_shape
        from edgekit.importers import load_model
        check_input_shape(load_model(args.model), spec)
    out = {"source": source, **spec.describe()}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for k, v in out.items():
        print(f"{k:28s} {v}")
    return 0


def cmd_deploy(args) -> int:
    from edgekit.pipeline import run_deploy

    out = run_deploy(args.model, args.board, args.output, args.wav, ccfg=_compress_cfg(args),
                     synth_cfg=_synth_cfg(args), kws_cfg=_kws_cfg(args), auto_stride=args.stride_ms is None,
                     max_load=args.max_load,
                     labels=args.labels, build=not args.no_build, verify=not args.no_verify,
                     count=not args.no_count, features=args.features, fit=args.fit)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    from edgekit.report import print_deploy

    print_deploy(out)
    return 0


def cmd_stream_eval(args) -> int:
    from edgekit.deploy.stream_eval import StreamSpec
    from edgekit.pipeline import run_stream_eval

    out = run_stream_eval(args.model, args.board, wavs_dir=args.wavs_dir, clips_csv=args.clips,
                          spec=StreamSpec(minutes=args.minutes, seed=args.seed, snr_db=args.snr),
                          kws_cfg=_kws_cfg(args), labels=args.labels, frontend=args.frontend,
                          features=args.features, out_dir=args.output, det_png=args.det, count=args.count)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    from edgekit.report import print_stream_eval

    print_stream_eval(out)
    return 0


def cmd_sweep(args) -> int:
    from edgekit.pipeline import run_sweep

    if args.num_cpus is not None and args.num_cpus < 1:
        raise InputError("--num-cpus must be at least 1")
    if args.num_cpus is not None and args.address:
        raise InputError("--num-cpus is for the Ray started here; a cluster (--address) has its own CPUs")
    quant = None if args.input_scale is None else (args.input_scale, args.input_zero_point)
    out = run_sweep(args.sweep, args.output, address=args.address, num_cpus=args.num_cpus,
                    eval_files=args.eval, input_quant=quant, retry_failed=args.retry_failed)
    if args.json:
        for row in out["rows"]:
            print(json.dumps(row))
        return 0
    from edgekit.report import print_sweep

    print_sweep(out)
    return 0


def cmd_boards(args) -> int:
    from edgekit.boards import list_boards

    boards = [b.as_dict() for b in list_boards()]
    if args.json:
        print(json.dumps(boards, indent=2))
        return 0
    from edgekit.report import print_boards

    print_boards(boards)
    return 0


def _print_summary(out: dict, as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(out, indent=2))
        return
    from edgekit.report import print_kv

    print_kv(title, out)


# ---- entry point ------------------------------------------------------------------------

class _Terminated(KeyboardInterrupt):
    """SIGTERM (a CI timeout, `kill`): unwound like Ctrl-C, so temporaries are removed."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    import signal

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except EdgekitError as e:
        print(f"edgekit: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print("edgekit: interrupted; the previous output, if any, is untouched", file=sys.stderr)
        return 143 if isinstance(e, _Terminated) else 130
    except Exception as e:  # a bug: still one line, unless debugging
        if os.environ.get("EDGEKIT_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"edgekit: internal error: {type(e).__name__}: {msg[:300]} "
              "(please report; EDGEKIT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
