"""Coverage-guided fuzzing (atheris = libFuzzer for Python) of the targets in targets.py.

usage: python -m tests.fuzz.run TARGET [libFuzzer flags ...]   (one target, in process)

`fuzz(target, seconds=..., runs=...)` runs one target in a child process (libFuzzer exits
the process on a finding) and returns its statistics: inputs executed, seconds, new
corpus entries, and on failure the finding (Python exception, timeout or crash) with the
saved input. The test suite runs a bounded pass; bench/fuzz.py a long one.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"keras_archive": "keras", "keras_config": "keras", "h5": "keras",
         "pt2_archive": "torch", "pt2_model": "torch"}


JSON_TARGETS = {"keras_config", "pt2_model"}
_ODD = [None, 0, -1, 1, 2, 3, 7, 10**9, -(2**31), 0.5, float("nan"), 1e308, "", "x", "relu",
        "same", "valid", "float16", "channels_first", True, False, [], [0], [1, 1], [None, 3], {}]


def json_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Structure-aware mutation for JSON members (a model's config): parse, then change,
    delete or duplicate one value somewhere in the tree, so that most inputs are valid
    JSON and reach the importer instead of dying in the JSON parser."""
    import copy
    import json
    import random

    rng = random.Random(seed)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        import atheris
        return atheris.Mutate(data, max_size)
    slots = []

    def walk(node, depth=0):
        if depth > 40:
            return
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in list(items):
            slots.append((node, k))
            walk(v, depth + 1)

    walk(doc)
    for _ in range(rng.randint(1, 3)):
        if not slots:
            break
        parent, key = rng.choice(slots)
        action = rng.random()
        try:
            if action < 0.6:
                parent[key] = copy.deepcopy(rng.choice(_ODD))
            elif action < 0.8:
                del parent[key]
            elif isinstance(parent, list):
                parent.append(copy.deepcopy(parent[key]))
            else:
                parent[key + "_"] = copy.deepcopy(parent[key])
        except (KeyError, IndexError, TypeError):
            pass
        slots = []
        walk(doc)
    return json.dumps(doc).encode()[:max_size]


def _main(argv: list[str]) -> None:
    import atheris

    target = argv[1]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if target in HEAVY:  # import the framework before fuzzing: the first input must not time out
        __import__(HEAVY[target])
        if HEAVY[target] == "keras":
            import tf_keras  # noqa: F401
    with atheris.instrument_imports(include=["edgekit", "flatbuffers", "ai_edge_litert.schema_py_generated"]):
        import edgekit.audio
        import edgekit.importers.keras
        import edgekit.importers.torch
        import edgekit.tflite  # noqa
        from edgekit.errors import EdgekitError
        from edgekit.tflite import schema
        from tests.fuzz.targets import TARGETS
        schema()
    fn = TARGETS[target][0]

    def one(data: bytes) -> None:
        try:
            fn(data)
        except EdgekitError:
            pass  # the contract: a clear, typed error

    mutator = json_mutator if target in JSON_TARGETS else None
    atheris.Setup([argv[0], *argv[2:]], one, custom_mutator=mutator)
    atheris.Fuzz()


def _stat(out: str, key: str) -> int:
    m = re.findall(rf"stat::{key}:\s+(\d+)", out)
    return int(m[-1]) if m else 0


def fuzz(target: str, seconds: int, runs: int = -1, workdir: str | None = None) -> dict:
    """Fuzz one target for `seconds` (or `runs` inputs); a fresh corpus seeded from seeds/."""
    from tests.fuzz.targets import TARGETS

    work = Path(workdir or tempfile.mkdtemp(prefix=f"edgekit-fuzz-{target}-"))
    corpus, seeds, art, files = work / "corpus", work / "seeds", work / "findings", work / "files"
    for d in (corpus, seeds, art, files):
        d.mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(TARGETS[target][1]()):
        (seeds / f"seed{i}").write_bytes(s)
    cmd = [sys.executable, "-m", "tests.fuzz.run", target, str(corpus), str(seeds),
           f"-max_total_time={seconds}", f"-runs={runs}", "-timeout=60", "-rss_limit_mb=8192",
           "-print_final_stats=1", f"-artifact_prefix={art}/", "-seed=1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", EDGEKIT_QUIET="1",
               EDGEKIT_FUZZ_TMP=str(files))
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=seconds + 600)
    out = p.stdout + p.stderr
    finding = None
    if p.returncode != 0:
        saved = sorted(str(f) for f in art.iterdir())
        m = re.search(r"=== Uncaught Python exception: ===\n(.*?)\n(?:\S+ \S+ \S+ )?(?:==|MS:|INFO)", out, re.S)
        what = m.group(1).strip().splitlines()[-1] if m else out.strip().splitlines()[-1][:300]
        finding = {"exit": p.returncode, "what": what, "inputs": saved,
                   "traceback": m.group(1).strip()[-3000:] if m else out[-3000:]}
    return {"target": target, "inputs": _stat(out, "number_of_executed_units"),
            "seconds": round(time.monotonic() - t0, 1), "corpus": len(list(corpus.iterdir())),
            "peak_rss_mb": _stat(out, "peak_rss_mb"), "finding": finding}


if __name__ == "__main__":
    _main(sys.argv)
