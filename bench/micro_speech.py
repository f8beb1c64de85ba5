"""micro_speech through edgekit's firmware vs TFLM, on the 480 Speech Commands dev wavs.

usage: python bench/micro_speech.py [--assets ../shared/assets] [--out bench/results] [--quick]

Reference: TFLM's own interpreter running audio_preprocessor_int8.tflite (frames of 480
samples every 320, one interpreter per clip: the noise estimate starts fresh, as the
firmware's clip mode resets its front end) and then micro_speech_quantized.tflite.
Firmware: the C microfrontend (-DEK_FE_MICRO) alone on the host (features), and the KWS
firmware `edgekit deploy` builds (generated model C + microfrontend) in QEMU on an
emulated Cortex-M4 (mps2-an386), clip mode: wav -> label and per-mille score.
Reported: share of int8 features identical, of labels and of scores agreeing, and each
side's accuracy on yes / no / _silence_ (other words count as _unknown_).
Writes bench/results/micro_speech.json; exits 1 unless features and labels all agree.
(--quick: every 8th wav.)
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EDGEKIT_QUIET", "1")

from edgekit.audio import read_wav  # noqa: E402
from edgekit.audio.features import spec_from_toml  # noqa: E402
from edgekit.boards import get_board  # noqa: E402
from edgekit.codegen.emit import generate  # noqa: E402
from edgekit.deploy.firmware import MICRO, build_features, build_kws, run_features, run_kws  # noqa: E402
from edgekit.executors.tflm import interpreter  # noqa: E402
from edgekit.importers import load_model  # noqa: E402

LABELS = [ln.strip() for ln in open(ROOT / "samples" / "micro_speech.labels.txt") if ln.strip()]
SPEC = spec_from_toml(str(ROOT / "samples" / "micro_speech.features.toml"))


def clip16(x: np.ndarray) -> np.ndarray:
    out = np.zeros(SPEC.clip, np.int16)
    out[:min(len(x), SPEC.clip)] = x[:SPEC.clip]
    return out


def tflm(pre: str, model: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features (frames, channels) int8, model output int8) as TFLM computes them."""
    it = interpreter(pre)
    feats = []
    for f in range(SPEC.frames):
        it.set_input(x[f * SPEC.hop:f * SPEC.hop + SPEC.window].reshape(1, -1), 0)
        it.invoke()
        feats.append(it.get_output(0).reshape(-1).copy())
    feats = np.array(feats, np.int8)
    m = interpreter(model)
    m.set_input(feats.reshape(1, -1), 0)
    m.invoke()
    return feats, m.get_output(0).reshape(-1).copy()


def per_mille(out: np.ndarray, zp: int) -> tuple[str, float]:
    best = int(out.argmax())
    return LABELS[best], ((int(out[best]) - zp) * 1000 + 128) // 256 / 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", default=str(ROOT.parent / "shared" / "assets"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    assets = Path(a.assets)
    pre = str(assets / "micro_speech/models/audio_preprocessor_int8.tflite")
    model = str(assets / "micro_speech/models/micro_speech_quantized.tflite")
    dev = assets / "speech_commands_dev"
    rows = list(csv.DictReader(open(dev / "labels.csv")))[::8 if a.quick else 1]
    wavs = [str(dev / r["file"]) for r in rows]
    truth = [r["label"] if r["label"] in LABELS else "_unknown_" for r in rows]
    clips = np.stack([clip16(read_wav(w)) for w in wavs])

    t0 = time.perf_counter()
    ref = [tflm(pre, model, x) for x in clips]
    ref_feats = np.stack([f for f, _ in ref])
    g = load_model(model)
    zp = int(g.tensor(g.outputs[0]).quant.zero_point[0])
    ref_clips = [per_mille(o, zp) for _, o in ref]
    t_ref = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as d:
        host = get_board("host")
        exe = build_features(host, MICRO, Path(d) / "fe", spec=SPEC)
        c_feats, _ = run_features(exe, host, clips, MICRO, spec=SPEC)
        board = get_board("mps2-an386")
        t1 = time.perf_counter()
        kws = build_kws(generate(g, "kws"), board, MICRO, LABELS, Path(d) / "kws", spec=SPEC)
        fw = run_kws(kws, board, wavs, timeout=3600, stream=False)["clips"]
        t_fw = time.perf_counter() - t1

    same_feat = (c_feats == ref_feats).reshape(len(clips), -1)
    res = {
        "wavs": len(wavs), "board": board.name,
        "features_identical": float(same_feat.mean()),
        "clips_with_identical_features": int(same_feat.all(1).sum()),
        "labels_agree": float(np.mean([f[0] == r[0] for f, r in zip(fw, ref_clips)])),
        "scores_agree": float(np.mean([f == r for f, r in zip(fw, ref_clips)])),
        "accuracy_tflm": float(np.mean([r[0] == t for r, t in zip(ref_clips, truth)])),
        "accuracy_firmware": float(np.mean([f[0] == t for f, t in zip(fw, truth)])),
        "seconds_tflm": round(t_ref, 1), "seconds_firmware_qemu": round(t_fw, 1),
    }
    mism = [w for w, f, r in zip(wavs, fw, ref_clips) if f != r]
    if mism:
        res["first_disagreement"] = mism[0]
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / f"micro_speech{'_quick' if a.quick else ''}.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"micro_speech on {res['wavs']} dev wavs ({board.name}, QEMU)")
    print(f"  C microfrontend vs TFLM preprocessor: {res['features_identical'] * 100:.2f} % of int8 features "
          f"identical ({res['clips_with_identical_features']} of {len(wavs)} clips)")
    print(f"  firmware vs TFLM preprocessor + model: labels {res['labels_agree'] * 100:.2f} %, "
          f"per-mille scores {res['scores_agree'] * 100:.2f} %")
    print(f"  accuracy (yes/no/_silence_/_unknown_): TFLM {res['accuracy_tflm'] * 100:.1f} %, "
          f"firmware {res['accuracy_firmware'] * 100:.1f} %")
    return 0 if res["features_identical"] == 1.0 and res["labels_agree"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
