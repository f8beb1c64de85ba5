"""`edgekit deploy` of TFLM's micro_speech model with its own front end (the C
microfrontend): built with PlatformIO, run in QEMU, the four testdata wavs get the labels
and scores TFLM's preprocessor + model give (the golden outputs in assets/micro_speech)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.toolchain.profile import has_tools
from tests.conftest import ROOT, SAMPLES, asset, edgekit_cli

WAVS = ["yes", "no", "silence", "noise"]
LABELS = ["_silence_", "_unknown_", "yes", "no"]


def golden(w: str) -> tuple[str, float]:
    """(label, per-mille score as the firmware prints it) of TFLM's output for a wav."""
    o = np.load(asset(f"micro_speech/golden/tflm_{w}_1000ms_micro_speech_output_int8_4.npy")).reshape(-1)
    best = int(o.argmax())
    return LABELS[best], ((int(o[best]) + 128) * 1000 + 128) // 256 / 1000   # output zero point -128


@pytest.mark.skipif(not has_tools(), reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_deploy_micro_speech_labels_testdata_as_tflm(tmp_path):
    model = asset("micro_speech/models/micro_speech_quantized.tflite")
    wavs = [asset(f"micro_speech/testdata/{w}_1000ms.wav") for w in WAVS]
    r = edgekit_cli("deploy", model, "--features", SAMPLES / "micro_speech.features.toml",
                    "--labels", SAMPLES / "micro_speech.labels.txt", "--board", "mps2-an386",
                    "--wav", *wavs, "-o", tmp_path / "proj", "--json", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["frontend"] == "micro" and res["features"] == "microfrontend"
    assert "-DEK_FE_MICRO" in (tmp_path / "proj" / "platformio.ini").read_text()
    got = {w: (c["label"], c["score"]) for w, c in zip(WAVS, res["clips"])}
    assert got == {w: golden(w) for w in WAVS}
    assert all(d["label"] in ("yes", "no") for d in res["detections"])   # background never reported


def test_stream_eval_runs_micro_speech_on_its_own_front_end(tmp_path):
    """stream-eval builds the firmware with the model's front end (the microfrontend from
    its features file), never the board's MFCC; without the spec the model is refused."""
    import csv

    from edgekit.deploy.stream_eval import StreamSpec
    from edgekit.pipeline import run_stream_eval

    dev = asset("speech_commands_dev")
    with open(dev / "labels.csv") as f:
        rows = list(csv.DictReader(f))
    keep = {"yes", "no", "_silence_"}
    with open(tmp_path / "clips.csv", "w") as f:      # other words are micro_speech's _unknown_
        f.write("file,label\n" + "".join(f"{dev / r['file']},{r['label'] if r['label'] in keep else '_unknown_'}\n"
                                         for r in rows))
    model = str(asset("micro_speech/models/micro_speech_quantized.tflite"))
    r = run_stream_eval(model, "host", clips_csv=str(tmp_path / "clips.csv"), spec=StreamSpec(minutes=1, seed=2),
                        features=str(SAMPLES / "micro_speech.features.toml"),
                        labels=str(SAMPLES / "micro_speech.labels.txt"))
    assert r["frontend"] == "micro" and r["twin_identical"] and r["keywords"] > 0
    assert r["frr"] < 0.9                                 # micro_speech finds some of its yes/no
    r = edgekit_cli("stream-eval", model, "--clips", tmp_path / "clips.csv", "--labels",
                    SAMPLES / "micro_speech.labels.txt", "--minutes", "0.5", "-o", tmp_path / "o")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "front end" in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()
