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
from edgekit.errors import EdgekitError, InputError

EPILOG = """\
examples:
  edgekit inspect samples/kws_ref_model.keras
  edgekit inspect samples/kws_ref_model_int8.tflite --json
  edgekit eval samples/kws_ref_model_int8.tflite --inputs X.npy --labels Y.npy \\
      --input-scale 0.5847029 --input-zero-point 83 --check-tflm

model formats: .keras / .h5 (Keras 3 or Keras 2), .pt2 (torch.export.save), .tflite
(float or int8). Exit codes: 0 ok, 2 bad input data, 3 unreadable model,
4 unsupported op, 5 internal graph error, 130 interrupted.
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
    s.add_argument("model", help="model file (.keras, .h5, .pt2, .tflite)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("eval", help="top-1 accuracy of a model on a labelled .npy set",
                       description="Run MODEL on labelled inputs (float models on torch, int8 "
                       "models on edgekit's bit-exact integer reference) and report top-1.")
    s.add_argument("model", help="model file (.keras, .h5, .pt2, .tflite)")
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
    return p


# ---- commands ---------------------------------------------------------------------------

def cmd_inspect(args) -> int:
    from edgekit.frontends import load_model
    from edgekit.ir.summary import summarize

    info = summarize(load_model(args.model))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    from edgekit.report import print_summary

    print_summary(info)
    return 0


def _load_npy(path: str, what: str):
    import numpy as np

    if not os.path.isfile(path):
        raise InputError(f"{what} {path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{what} {path}: not a readable .npy array ({type(e).__name__})") from None


def cmd_eval(args) -> int:
    import numpy as np

    from edgekit.evaluate import evaluate, model_inputs
    from edgekit.frontends import load_model

    graph = load_model(args.model)
    x, y = _load_npy(args.inputs, "--inputs"), _load_npy(args.labels, "--labels")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    quant = (args.input_scale, args.input_zero_point) if args.input_scale else None
    res = evaluate(graph, x, y, quant, rounding=args.rounding)
    out = {"model": args.model, **res.as_dict()}
    if args.check_tflm:
        from edgekit.runtime.tflm import first_mismatch, run_tflm

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


# ---- entry point ------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except EdgekitError as e:
        print(f"edgekit: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("edgekit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: still one line, unless debugging
        if os.environ.get("EDGEKIT_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"edgekit: internal error: {type(e).__name__}: {msg[:300]} "
              "(please report; EDGEKIT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
