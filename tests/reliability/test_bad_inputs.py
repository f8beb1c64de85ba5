"""The bad-input matrix: every case through the real CLI (`edgekit deploy`, which writes
the most), each asserting the exit code, one `edgekit: error:` line holding the expected
message, no traceback, and nothing written: not the output, not a temp dir."""
from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from edgekit.resources import BOARDS_DIR
from tests.conftest import SAMPLES, cli_env, edgekit_cli
from tests.reliability.bad_models import make_all

INT8 = SAMPLES / "kws_ref_model_int8.tflite"
DATA = Path(__file__).parent / "data"


def _wav(path: Path, rate=16000, ch=1, width=2, n=1600) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(ch)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(np.zeros(n * ch * width, np.uint8).tobytes())
    return path


def _float_wav(path: Path) -> Path:
    """IEEE float wav (format tag 3), as many editors write by default."""
    import struct
    body = np.zeros(1600, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + 16 + 8 + len(body)) + b"WAVE" +
                     b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(body)) + body)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Every bad input, made once (in a directory the cases never write to)."""
    d = tmp_path_factory.mktemp("bad_inputs")
    files = make_all(d)
    tfl, ker, pt2 = INT8.read_bytes(), (SAMPLES / "kws_ref_model.keras").read_bytes(), \
        (SAMPLES / "kws_ref_model.pt2").read_bytes()
    raw = {"empty.tflite": b"", "truncated.tflite": tfl[:1000], "tiny.tflite": tfl[:6],
           "garbage.tflite": b"\x10\x00\x00\x00TFL3" + bytes(range(256)) * 4,
           "not_tflite.tflite": b"hello world, not a model" * 10, "model.onnx": b"\x08\x07\x12\x04onnx",
           "tflite_named.keras": tfl, "truncated.keras": ker[:5000], "truncated.pt2": pt2[:5000],
           "truncated.h5": b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "no_extension": tfl,
           "not_a_wav.wav": b"not a wav at all"}
    for name, data in raw.items():
        (d / name).write_bytes(data)
        files[name] = d / name
    for name, kw in {"8khz.wav": {"rate": 8000}, "stereo.wav": {"ch": 2}, "8bit.wav": {"width": 1},
                     "empty.wav": {"n": 0}, "ok.wav": {}}.items():
        files[name] = _wav(d / name, **kw)
    files["float.wav"] = _float_wav(d / "float.wav")
    wav = files["ok.wav"].read_bytes()
    files["truncated.wav"] = d / "truncated.wav"
    files["truncated.wav"].write_bytes(wav[:300])
    files["a_directory.tflite"] = d / "a_directory.tflite"
    files["a_directory.tflite"].mkdir()
    files["small.toml"] = d / "small.toml"
    board = (BOARDS_DIR / "mps2-an386.toml").read_text()
    files["small.toml"].write_text(board.replace('name = "mps2-an386"', 'name = "tiny-board"')
                                   .replace("ram_bytes = ", "ram_bytes = 16384 # was "))
    files["hang.h5"] = d / "hang.h5"
    shutil.copy(DATA / "hdf5_hang.h5", files["hang.h5"])
    # a PATH with the ARM compiler but no QEMU, and one with neither
    arm = d / "path_arm_only"
    arm.mkdir()
    for tool in Path(shutil.which("arm-none-eabi-gcc")).parent.glob("arm-none-eabi-*"):
        (arm / tool.name).symlink_to(tool)
    files["path_arm_only"] = arm
    files["path_empty"] = d / "path_empty"
    files["path_empty"].mkdir()
    np.save(d / "ok.npy", np.zeros((2, 49, 10, 1), np.int8))
    files["ok.npy"] = d / "ok.npy"
    _tf1_graphs(d, files)
    return files


def _tf1_graphs(d: Path, files: dict) -> None:
    """TF1 frozen graphs (random weights) a deploy must refuse, and features files."""
    from edgekit.audio.features import tf1_mfcc_spec
    from tests.importers.tf1_models import build_frozen_graph

    wavs = [str(p) for p in sorted(SAMPLES.glob("wavs/*.wav"))]
    graphs = {"no_conv.pb": {"conv_after_front_end": False},
              "dct_over_channels.pb": {"spec": tf1_mfcc_spec(channels=20, coefficients=30)},
              "rescaled_features.pb": {"rescale_features": 0.5},
              "ok.pb": {}}
    for name, kw in graphs.items():
        build_frozen_graph(str(d / name), wavs, **kw)
        files[name] = d / name
    files["not_graphdef.pb"] = d / "not_graphdef.pb"
    files["not_graphdef.pb"].write_bytes(b"\xff\xff\xff\xff not a protobuf" * 8)
    for name, text in {"tf1_13_coeffs.toml": 'kind = "tf1-mfcc"\ncoefficients = 13\n',
                       "tf1_above_nyquist.toml": 'kind = "tf1-mfcc"\nupper_hz = 9000.0\n',
                       "logmel.toml": 'kind = "logmel"\n',
                       "logmel_hop_over_window.toml": 'kind = "logmel"\nhop_ms = 40.0\n',
                       "logmel_above_nyquist.toml": 'kind = "logmel"\nupper_hz = 8500.0\n',
                       "logmel_bins_over_fft.toml": 'kind = "logmel"\nchannels = 300\n',
                       "logmel_centered.toml": 'kind = "logmel"\ncenter = true\n'}.items():
        (d / name).write_text(text)
        files[name] = d / name


def deploy(model, *extra):
    return ["deploy", model, "--board", "mps2-an386", *extra]


# id -> (argv with {name} placeholders for inputs, exit code, expected message, env)
CASES = {
    # model files
    "missing_model": (deploy("{missing}/model.tflite"), 3, "no such file", {}),
    "empty_model": (deploy("{empty.tflite}"), 3, "empty file", {}),
    "truncated_tflite": (deploy("{truncated.tflite}"), 3, "corrupt or truncated", {}),
    "tiny_tflite": (deploy("{tiny.tflite}"), 3, "truncated .tflite file (6 bytes)", {}),
    "garbage_flatbuffer": (deploy("{garbage.tflite}"), 3, "corrupt or truncated", {}),
    "not_a_flatbuffer": (deploy("{not_tflite.tflite}"), 3, "not a valid .tflite file", {}),
    "unknown_extension": (deploy("{model.onnx}"), 3, "unknown model format '.onnx'", {}),
    "no_extension": (deploy("{no_extension}"), 3, "unknown model format '(no extension)'", {}),
    "wrong_extension": (deploy("{tflite_named.keras}"), 3, "not a valid .keras file", {}),
    "directory": (deploy("{a_directory.tflite}"), 3, "is a directory", {}),
    "truncated_keras": (deploy("{truncated.keras}"), 3, "corrupt or truncated archive", {}),
    "truncated_pt2": (deploy("{truncated.pt2}"), 3, "corrupt or truncated archive", {}),
    "corrupt_h5": (deploy("{truncated.h5}"), 3, "corrupt HDF5 data", {}),
    "h5_that_hangs_hdf5": (deploy("{hang.h5}"), 3, "corrupt HDF5 data (reading it did not finish in 3 s)",
                           {"EDGEKIT_H5_TIMEOUT": "3"}),
    # valid files, contents edgekit cannot take
    "unsupported_op_tflite": (deploy("{tanh.tflite}"), 4, "unsupported op TANH at node 'tanh_1'", {}),
    "unsupported_op_pt2": (deploy("{sigmoid.pt2}"), 4, "unsupported op aten.sigmoid.default at node 'sigmoid'", {}),
    "unsupported_dtype": (deploy("{float16.tflite}"), 3, "has unsupported dtype float16", {}),
    "unsupported_batch": (deploy("{batch4.tflite}"), 4, "has shape [4, 49, 10, 1]: batch size 1 only", {}),
    "two_inputs": (deploy("{two_inputs.keras}"), 4, "2 inputs (edgekit supports one)", {}),
    "nan_weights": (deploy("{nan_weights.keras}"), 3, "holds 1 NaN/Inf value(s)", {}),
    "inf_weights": (deploy("{inf_weights.pt2}"), 3, "constant 'linear/weight' holds 1 NaN/Inf value(s)", {}),
    "bn_negative_variance": (deploy("{bn_negative_variance.keras}"), 3,
                             "channel 2 has running variance -0.5 (eps 0.001)", {}),
    "bn_zero_variance_eps0": (deploy("{bn_zero_variance_eps0.pt2}"), 3,
                              "channel 1 has running variance 0 (eps 0)", {}),
    "input_not_front_end": (deploy("{not_mfcc_input.keras}"), 2,
                            "model input [1, 8, 4, 1] does not match the mfcc front end", {}),
    # TF1 frozen graphs and their front end
    "pb_not_graphdef": (deploy("{not_graphdef.pb}"), 3, "not a TensorFlow GraphDef", {}),
    "pb_no_conv_after_front_end": (deploy("{no_conv.pb}"), 3,
                                   "no Conv2D or DepthwiseConv2dNative after the front end ('Mfcc')", {}),
    "pb_ops_between_mfcc_and_network": (deploy("{rescaled_features.pb}"), 4,
                                        "unsupported op Mul at node 'rescale': between the Mfcc and the features", {}),
    "pb_impossible_front_end": (deploy("{dct_over_channels.pb}"), 2,
                                "the graph's front end: features: coefficients 30 > channels 20", {}),
    "pb_features_file_contradicts_graph": (deploy("{ok.pb}", "--features", "{tf1_13_coeffs.toml}"), 2,
                                           "differs from the front end in", {}),
    "tf1_spec_above_nyquist": (deploy(INT8, "--features", "{tf1_above_nyquist.toml}"), 2,
                               "upper_hz 9000.0 is above Nyquist (8000 Hz at 16000 Hz)", {}),
    "logmel_model_input_not_its_spec": (deploy(INT8, "--features", "{logmel.toml}"), 2,
                                        "model input [1, 49, 10, 1] does not match the logmel front end "
                                        "(49 frames x 40 features", {}),
    "logmel_hop_over_window": (deploy(INT8, "--features", "{logmel_hop_over_window.toml}"), 2,
                               "hop_ms 40.0 > window_ms 30.0", {}),
    "logmel_above_nyquist": (deploy(INT8, "--features", "{logmel_above_nyquist.toml}"), 2,
                             "upper_hz 8500.0 is above Nyquist", {}),
    "logmel_bins_over_fft": (deploy(INT8, "--features", "{logmel_bins_over_fft.toml}"), 2,
                             "channels 300 > the 257 FFT bins of fft 512", {}),
    "logmel_centered": (deploy(INT8, "--features", "{logmel_centered.toml}"), 2,
                        "center = true (librosa's and torchaudio's default) pads each clip", {}),
    # wavs
    "wav_missing": (deploy(INT8, "--wav", "{missing}/a.wav"), 2, "no such wav file", {}),
    "wav_8khz": (deploy(INT8, "--wav", "{8khz.wav}"), 2, "sample rate 8000 Hz, the front end needs 16000 Hz", {}),
    "wav_stereo": (deploy(INT8, "--wav", "{stereo.wav}"), 2, "2 channels, the front end needs mono", {}),
    "wav_8bit": (deploy(INT8, "--wav", "{8bit.wav}"), 2, "8-bit samples, the front end needs 16-bit PCM", {}),
    "wav_float": (deploy(INT8, "--wav", "{float.wav}"), 2, "format tag 0x0003, the front end needs PCM", {}),
    "wav_empty": (deploy(INT8, "--wav", "{empty.wav}"), 2, "no audio samples", {}),
    "wav_truncated": (deploy(INT8, "--wav", "{truncated.wav}"), 2, "truncated (", {}),
    "wav_not_a_wav": (deploy(INT8, "--wav", "{not_a_wav.wav}"), 2, "not a readable PCM wav", {}),
    "wav_one_bad_of_two": (deploy(INT8, "--wav", "{ok.wav}", "--wav", "{stereo.wav}"), 2, "stereo.wav: 2 channels", {}),
    # boards, outputs, tools
    "unknown_board": (["deploy", INT8, "--board", "esp32"], 2, "unknown board 'esp32'", {}),
    "too_big_for_board": (["deploy", INT8, "--board", "{small.toml}"], 2,
                          "model too big for tiny-board: the firmware needs about", {}),
    "wavs_on_real_board": (["deploy", INT8, "--board", "nano33ble", "--wav", "{ok.wav}"], 2,
                           "nano33ble is a real board: wavs run on emulated boards only", {}),
    "output_parent_missing": (deploy(INT8, "-o", "{missing}/deep/out"), 2, "output directory", {}),
    "no_arm_gcc": (deploy(INT8), 7, "arm-none-eabi-gcc not found", {"PATH": "{path_empty}"}),
    "no_qemu": (deploy(INT8), 7, "qemu-system-arm not found", {"PATH": "{path_arm_only}"}),
    "run_without_qemu": (["run", INT8, "--board", "mps2-an386", "--input", "{ok.npy}", "--output", "{out}.npy"],
                         7, "qemu-system-arm not found", {"PATH": "{path_arm_only}"}),
}


def _fill(s, files: dict, work: Path) -> str:
    s = str(s)
    for k, v in {**files, "missing": work / "missing", "out": work / "out"}.items():
        s = s.replace("{" + k + "}", str(v))
    return s


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, inputs, tmp_path):
    argv, code, msg, env_over = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    args = [_fill(a, inputs, work) for a in argv]
    if "-o" not in args and case != "run_without_qemu":
        args += ["-o", str(work / "out")]
    env = cli_env(**{k: _fill(v, inputs, work) for k, v in env_over.items()})
    before = {p.name: p.stat().st_mtime_ns for p in inputs["ok.wav"].parent.iterdir()}
    r = edgekit_cli(*args, cwd=work, env=env, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code, f"{case}: exit {r.returncode}, expected {code}: {r.stderr[-800:]}"
    assert len(lines) == 1 and lines[0].startswith("edgekit: error: "), f"{case}: {r.stderr[-800:]}"
    assert msg in lines[0], f"{case}: expected {msg!r} in {lines[0]!r}"
    assert "Traceback" not in r.stderr and r.stdout == "", case
    assert list(work.iterdir()) == [], f"{case}: wrote {[p.name for p in work.iterdir()]}"
    after = {p.name: p.stat().st_mtime_ns for p in inputs["ok.wav"].parent.iterdir()}
    assert after == before, f"{case}: the inputs' directory changed"


def test_matrix_is_consistent(inputs):
    """Every bad input made above is used by a case, every case's {placeholder} names one
    (a typo would run the case on a literal '{...}' path), each exit code for bad input
    in the README's list (2 data, 3 unreadable model, 4 unsupported, 7 missing tool)
    occurs, and the README's count of cases is this table's."""
    import re

    from tests.conftest import ROOT

    used = {m for argv, _, _, env in CASES.values() for a in [*argv, *env.values()]
            for m in re.findall(r"\{([^{}]+)\}", str(a))}
    made = set(inputs) | {"missing", "out"}
    assert used - made == set(), f"placeholders without an input: {used - made}"
    assert made - used == set(), f"inputs no case uses: {made - used}"
    assert {code for _, code, _, _ in CASES.values()} == {2, 3, 4, 7}
    readme = re.search(r"The (\d+) cases are\s+`tests/reliability/test_bad_inputs.py`",
                       (ROOT / "README.md").read_text())
    assert readme and int(readme.group(1)) == len(CASES), (readme and readme.group(1), len(CASES))
