"""On-device keyword spotting benchmark: front end and wav -> label on the 480 dev wavs.

usage: python bench/kws_audio.py [--assets ../shared/assets] [--out bench/results] [--quick]

1. Front end: int8 features of the 480 Speech Commands dev wavs (MLCommons quantization,
   scale 0.5847029, zero point 83) from edgekit's NumPy twins and from the C front end
   (float32 path on the emulated Cortex-M4, integer path on the emulated Cortex-M3),
   against tensorflow's tf.signal pipeline (the model's training front end): share of
   values identical, within 1 and 2 LSB.
2. `edgekit deploy samples/kws_ref_model.keras --board mps2-an386` (data-free compression,
   PlatformIO build), timed from a cold process; then every wav through the deployed
   firmware in QEMU (its own front end and model over the clip): top-1. Same for
   mps2-an385 (Cortex-M3, integer front end). Reference: the float Keras model fed by
   tf.signal features.
Prints a table and writes bench/results/kws_audio.json. (--quick: every 8th wav.)
Exits 1 if a check fails: the C integer front end not identical to its NumPy twin, a
deploy whose self-check did not pass, or a board more than MAX_DROP under the float model.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("EDGEKIT_QUIET", "1")

from edgekit.audio import MfccSpec, mfcc_fixed, mfcc_float, quantize_features, read_wav  # noqa: E402
from edgekit.audio.mfcc import clip_of, quantize_fixed  # noqa: E402
from edgekit.boards import get_board  # noqa: E402
from edgekit.deploy.firmware import build_features, run_features, run_kws  # noqa: E402

from checks import report_checks  # noqa: E402  (bench/checks.py: the script's folder is on sys.path)

SCALE, ZP = 0.5847029, 83
MAX_DROP = 0.03     # acceptance: firmware top-1 at most 3 pt under the float model's


def tf_features(clips):
    import tensorflow as tf

    out = []
    mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 4000.0)
    for x in clips:
        s = tf.constant(x.astype(np.float32))
        s = tf.pad(s / tf.reduce_max(s), [[0, 16000 - len(x)]])
        mag = tf.abs(tf.signal.stft(s, 480, 320, window_fn=tf.signal.hann_window))
        lm = tf.math.log(tf.tensordot(mag, mel, 1) + 1e-6)
        out.append(tf.signal.mfccs_from_log_mel_spectrograms(lm)[..., :10].numpy())
    return np.stack(out)


def agreement(q, ref) -> dict:
    d = np.abs(q.astype(int) - ref.astype(int))
    return {"identical": float((d == 0).mean()), "within_1": float((d <= 1).mean()),
            "within_2": float((d <= 2).mean()), "max_lsb": int(d.max())}


def frontend_rows(clips, ref_q):
    """Agreement of each front end with tf.signal, and {check: ok} for the C integer path's
    bit-exactness with its NumPy twin (the claim the README makes)."""
    rows = {}
    twin_fixed = np.stack([quantize_fixed(mfcc_fixed(x), SCALE, ZP) for x in clips])
    rows["twin float (NumPy)"] = agreement(np.stack([quantize_features(mfcc_float(x), SCALE, ZP) for x in clips]), ref_q)
    rows["twin fixed (NumPy)"] = agreement(twin_fixed, ref_q)
    x16 = np.stack([clip_of(x, MfccSpec()).astype(np.int16) for x in clips])
    checks = {}
    for board, fe in (("mps2-an386", "float"), ("mps2-an385", "fixed")):
        with tempfile.TemporaryDirectory() as d:
            t = get_board(board)
            q, _ = run_features(build_features(t, fe, Path(d), SCALE, ZP), t, x16, fe)
        rows[f"C {fe}, QEMU {board}"] = agreement(q, ref_q)
        if fe == "fixed":
            checks[f"C integer front end ({board}) identical to its NumPy twin"] = bool(np.array_equal(q, twin_fixed))
    return rows, checks


def deploy(board: str, out: Path) -> tuple[dict, float]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "edgekit.cli", "deploy", str(ROOT / "samples" / "kws_ref_model.keras"),
                        "--board", board, "-o", str(out), "--json", "--no-count"],
                       capture_output=True, text=True, cwd=ROOT)
    dt = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"deploy failed: {r.stderr.strip()}")
    return json.loads(r.stdout), dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    root = Path(a.assets) / "speech_commands_dev"
    rows = list(csv.DictReader(open(root / "labels.csv")))[:: 8 if a.quick else 1]
    paths = [str(root / r["file"]) for r in rows]
    labels = (ROOT / "samples" / "kws_ref_model.labels.txt").read_text().split()
    y = np.array([labels.index(r["label"]) for r in rows])
    clips = [read_wav(p) for p in paths]
    ref_f = tf_features(clips)
    ref_q = np.clip(np.round(ref_f / SCALE) + ZP, -128, 127)
    front, checks = frontend_rows(clips, ref_q)
    res = {"wavs": len(paths), "frontend": front}

    import keras

    km = keras.models.load_model(str(ROOT / "samples" / "kws_ref_model.keras"))
    res["float_keras_tf_features_top1"] = float((km.predict(ref_f[..., None], verbose=0).argmax(1) == y).mean())
    res["boards"] = {}
    for board in ("mps2-an386", "mps2-an385"):
        with tempfile.TemporaryDirectory() as d:
            info, dt = deploy(board, Path(d) / "proj")
            t = get_board(board)
            t1 = time.perf_counter()
            with tempfile.TemporaryDirectory() as w:
                exe = Path(w) / "firmware.elf"
                exe.write_bytes((Path(d) / "proj" / "firmware.elf").read_bytes())
                out = run_kws(exe, t, paths, stream=False, timeout=3000)
            pred = np.array([labels.index(lb) for lb, _ in out["clips"]])
        # acceptance: deploy's self-check of the generated model passed, and the firmware is
        # within MAX_DROP of the float model on tf.signal features (README: -1.3 pt on 480)
        checks[f"{board}: deploy self-check identical"] = str(info.get("verification", "")).startswith("identical")
        checks[f"{board}: top-1 within {MAX_DROP * 100:.0f} pt of float"] = bool(
            (pred == y).mean() >= res["float_keras_tf_features_top1"] - MAX_DROP)
        res["boards"][board] = {"deploy_seconds": round(dt, 1), "top1": float((pred == y).mean()),
                                "qemu_seconds": round(time.perf_counter() - t1, 1),
                                "weight_ratio": info["compression"]["weight_ratio"],
                                "model_ratio": info["compression"]["model_ratio"],
                                "flash_bytes": info["flash_bytes"], "ram_bytes": info["ram_bytes"]}
    print(f"front end, int8 features vs tf.signal on {len(paths)} wavs")
    print(f"{'path':32} {'identical':>10} {'<=1 LSB':>9} {'<=2 LSB':>9} {'max':>4}")
    for k, v in res["frontend"].items():
        print(f"{k:32} {v['identical'] * 100:9.2f}% {v['within_1'] * 100:8.2f}% {v['within_2'] * 100:8.2f}% {v['max_lsb']:4d}")
    print(f"\nwav -> label top-1 on {len(paths)} wavs; float model on tf.signal features: "
          f"{res['float_keras_tf_features_top1'] * 100:.1f}%")
    print(f"{'board':12} {'top-1':>7} {'deploy s':>9} {'weights':>8} {'flash B':>9} {'RAM B':>8} {'QEMU s':>7}")
    for b, v in res["boards"].items():
        print(f"{b:12} {v['top1'] * 100:6.1f}% {v['deploy_seconds']:9.1f} {v['weight_ratio']:7.2f}x "
              f"{v['flash_bytes']:9,} {v['ram_bytes']:8,} {v['qemu_seconds']:7.1f}")
    res["checks"] = checks
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "kws_audio.json").write_text(json.dumps(res, indent=2) + "\n")
    return report_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
