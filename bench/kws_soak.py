"""Soak (issue 23): a 1-hour stream through the KWS firmware in QEMU and through its host
build: identical detections and identical per-inference scores, inference times exact to
the sample, the stack's and heap's high-water marks (stack painting) every 10 minutes of
audio: nothing that grows with time; instructions per second of audio.

usage: python bench/kws_soak.py [--assets ../shared/assets] [--out bench/results]
                                [--minutes 60] [--board mps2-an386] [--deployed MODEL.tflite]

The model is what `edgekit deploy samples/kws_ref_model.keras` builds (data-free
compression; built here with --no-build --no-verify unless --deployed gives it); the
firmware is the deploy C built with -DEK_KWS_TRACE by `edgekit stream-eval`.
Prints a table; writes bench/results/kws_soak.json. Exits 1 if a check fails.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("EDGEKIT_QUIET", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgekit.deploy import stream_eval as se  # noqa: E402
from edgekit.pipeline import run_stream_eval  # noqa: E402

from checks import report_checks  # noqa: E402  (bench/checks.py)
from kws_stream import LABELS, deployed_model, inference_ends  # noqa: E402

STRIDE_MS = 200


def first_difference(a: Path, b: Path) -> str | None:
    """None when the files are identical, else the first differing line."""
    la, lb = a.read_text().splitlines(), b.read_text().splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: {x!r} vs {y!r}"
    return None if len(la) == len(lb) else f"{len(la)} vs {len(lb)} lines"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--deployed", help="deploy's model.tflite of the sample (default: run deploy here, ~2 min)")
    a = ap.parse_args()
    dev = str(Path(a.assets) / "speech_commands_dev")
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory()
    model = Path(a.deployed) if a.deployed else deployed_model(Path(tmp.name))
    spec = se.StreamSpec(minutes=a.minutes, seed=0)
    runs = {}
    for board in ("host", a.board):
        runs[board] = run_stream_eval(str(model), board, wavs_dir=dev, spec=spec, labels=",".join(LABELS),
                                      out_dir=str(Path(tmp.name) / board), count=board != "host")
        print(f"{board}: {runs[board]['firmware_seconds']:.0f} s for {a.minutes:g} min of audio", flush=True)
    host, emu = runs["host"], runs[a.board]
    diff = first_difference(Path(tmp.name) / "host" / "scores.csv", Path(tmp.name) / a.board / "scores.csv")
    with open(Path(tmp.name) / a.board / "scores.csv") as f:
        ms = [int(line.split(",", 1)[0]) for line in list(f)[1:]]
    expect = [int(e) * 1000 // se.RATE for e in inference_ends(emu["stream"]["duration_ms"], STRIDE_MS)]
    mem = emu.get("memory_over_time", [])
    checks = {
        f"{a.board} and host: identical detections ({len(emu['detections'])})":
            emu["detections"] == host["detections"],
        f"{a.board} and host: identical scores at every inference ({emu['stream']['inferences']:,})"
        + ("" if diff is None else f": first difference {diff}"): diff is None,
        "inference times exact to the sample (every 200 ms once 49 hops are in)": ms == expect,
        "stack and heap high-water marks measured every 10 min of audio":
            len(mem) >= int(a.minutes // 10) and "memory" in emu,
        "no memory growth after the first 10 minutes":
            all((m["stack"], m["heap"]) == (mem[0]["stack"], mem[0]["heap"]) for m in mem),
    }
    res = {"model": str(model), "board": a.board, "minutes": a.minutes, "seed": spec.seed,
           "detections": len(emu["detections"]), "inferences": emu["stream"]["inferences"],
           "frr": emu["frr"], "fa_per_hour": emu["fa_per_hour"], "memory": emu.get("memory"),
           "memory_over_time": mem, "instructions_per_second_audio": emu.get("instructions_per_second_audio"),
           "cycle_estimate": emu.get("cycle_estimate"),
           "seconds": {"host": host["firmware_seconds"], a.board: emu["firmware_seconds"],
                       "total": round(time.perf_counter() - t0, 1)},
           "checks": checks}
    print(f"\nsoak: {a.minutes:g} min of audio, {emu['stream']['inferences']:,} inferences, "
          f"{len(emu['detections'])} detections (FRR {emu['frr'] * 100:.1f} %, {emu['fa_per_hour']:.1f} FA/h)")
    print(f"{'board':12} {'firmware s':>10} {'insn / s audio':>15} {'stack B':>8} {'heap B':>7}")
    for b, r in runs.items():
        m = r.get("memory", {})
        insn = r.get("instructions_per_second_audio")
        print(f"{b:12} {r['firmware_seconds']:10.0f} {'-' if insn is None else f'{insn:,}':>15} "
              f"{m.get('stack', '-'):>8} {m.get('heap', '-'):>7}")
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "kws_soak.json").write_text(json.dumps(res, indent=2) + "\n")
    tmp.cleanup()
    return report_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
