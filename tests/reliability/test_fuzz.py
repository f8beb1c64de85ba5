"""The bounded fuzzing pass run in CI (about a minute of fuzzing in all): every parser of
untrusted input, coverage-guided (atheris), must end every input in success or an
EdgekitError. bench/fuzz.py runs the same targets for much longer."""
from __future__ import annotations

import pytest

from tests.fuzz.run import fuzz

# seconds of fuzzing per target, and the fewest inputs that shows the fuzzer really ran
BUDGET = {"tflite": (10, 500), "wav": (5, 500), "keras_archive": (5, 10), "keras_config": (6, 10),
          "h5": (6, 1), "pt2_archive": (5, 10), "pt2_model": (6, 10)}


@pytest.mark.parametrize("target", sorted(BUDGET))
def test_fuzz_bounded(target, tmp_path):
    seconds, least = BUDGET[target]
    r = fuzz(target, seconds, workdir=str(tmp_path))
    f = r["finding"]
    assert f is None, (f"{target}: {f['what']} (exit {f['exit']}); input saved as {f['inputs']}\n"
                       f"{f['traceback']}")
    assert r["inputs"] >= least, f"{target}: only {r['inputs']} inputs in {seconds} s"


def test_fuzz_harness_reports_a_planted_bug(tmp_path):
    r = fuzz("canary", 30, workdir=str(tmp_path))
    assert r["finding"] is not None and "canary: the fuzzer found the planted bug" in r["finding"]["what"]
    assert r["finding"]["inputs"] and open(r["finding"]["inputs"][0], "rb").read(1) == b"B"
