"""`edgekit sweep` on real Ray: a local two-node cluster (`ray start`), a worker process
killed mid-trial, the driver killed with SIGKILL and restarted; artifacts compared with
`edgekit compress` + `codegen` run alone; bad input refused before any trial."""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgekit.sweep import report
from tests.conftest import ROOT, SAMPLES, cli_env, edgekit_cli, tree_digest

RAY = str(Path(sys.executable).with_name("ray"))
MODEL = SAMPLES / "kws_ref_model.keras"
SYNTH = "[synth]\nsamples = 8\niters = 20\n"


def sweep_file(d: Path, boards, settings: str, seeds=(0,)) -> Path:
    p = d / "sweep.toml"
    p.write_text(f"models = [{json.dumps(str(MODEL))}]\nboards = {json.dumps(list(boards))}\n"
                 f"seeds = {json.dumps(list(seeds))}\n{SYNTH}{settings}")
    return p


def rows(out: Path) -> list[tuple]:
    db = out / "results.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as c:
        return c.execute("SELECT key, status, finished_at, worker FROM trials").fetchall()


def trial_pids() -> list[int]:
    """Ray worker processes running a trial now (Ray titles them ray::<function>)."""
    pids = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and b"ray::run_trial" in (p / "cmdline").read_bytes():
                pids.append(int(p.name))
        except OSError:
            pass
    return pids


def wait_for(cond, timeout: float, what: str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """A head node and a second node, one CPU each: two worker processes for trials. Token
    authentication as `ray start --head` sets it up (the token in ~/.ray/auth_token)."""
    port = free_port()
    env = cli_env(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token")
    addr = f"127.0.0.1:{port}"
    common = ["--num-cpus=1", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    try:
        subprocess.run([RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", *common],
                       check=True, capture_output=True, env=env, timeout=180)
        subprocess.run([RAY, "start", f"--address={addr}", *common], check=True, capture_output=True,
                       env=env, timeout=180)
        yield addr, env
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env, timeout=180)


def test_cluster_survives_worker_and_driver_kills(tmp_path, cluster):
    s = sweep_file(tmp_path, ["mps2-an386", "mps2-an385"],
                   '[[compress]]\nmethod = "int8"\n[[compress]]\nmethod = "kmeans"\nbins = [4, 8]\n'
                   'refine_steps = 0\n', seeds=(0, 1))
    out = tmp_path / "out"
    address, env = cluster
    cmd = [sys.executable, "-m", "edgekit.cli", "sweep", str(s), "-o", str(out), "--address", address, "--json"]
    driver = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # a worker process killed while it runs a trial: Ray reruns the trial elsewhere
        victim = wait_for(trial_pids, 300, "a running trial")[0]
        os.kill(victim, signal.SIGKILL)
        # the driver killed with SIGKILL once a few trials are in the table
        wait_for(lambda: len(rows(out)) >= 4, 600, "4 finished trials")
        driver.send_signal(signal.SIGKILL)
        driver.wait(60)
    finally:
        if driver.poll() is None:
            driver.kill()
    first = {k: (f, w) for k, _, f, w in rows(out)}
    assert 4 <= len(first) < 12
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    final = rows(out)
    assert len(final) == 12 and len({k for k, *_ in final}) == 12        # every trial, once
    assert all(st == "ok" for _, st, _, _ in final), final
    for k, _, f, w in final:                                            # finished ones not rerun
        if k in first:
            assert (f, w) == first[k]
    printed = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(printed) == 12 and {p["key"] for p in printed} == {k for k, *_ in final}
    assert len({w for *_, w in final}) >= 2                              # more than one worker process
    assert (out / "pareto_mps2-an385.png").stat().st_size > 0
    best = json.loads((out / "summary.json").read_text())["boards"]["mps2-an386"]["best"]
    assert best["deploy_command"].startswith("edgekit ")


def test_trial_artifacts_equal_commands_run_alone(tmp_path):
    """The embedded Ray (no cluster): a trial's files are those of compress + codegen."""
    s = sweep_file(tmp_path, ["mps2-an386"], '[[compress]]\nmethod = "kmeans"\nbins = 4\nrefine_steps = 0\n',
                   seeds=(3,))
    out = tmp_path / "out"
    r = edgekit_cli("sweep", s, "-o", out, "--num-cpus", "1", "--json", timeout=900)
    assert r.returncode == 0, r.stderr
    (row,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert row["status"] == "ok" and row["instructions"] > 1_000_000 and row["counted_on"] == "mps2-an386"
    alone = tmp_path / "alone"
    alone.mkdir()
    r = edgekit_cli("compress", MODEL, "-o", alone / "compress", "--method", "kmeans", "--bins", "4",
                    "--refine-steps", "0", "--seed", "3", "--samples", "8", "--iters", "20")
    assert r.returncode == 0, r.stderr
    r = edgekit_cli("codegen", alone / "compress" / "model.tflite", "-o", alone / "c")
    assert r.returncode == 0, r.stderr
    trial = out / "trials" / row["key"]
    assert tree_digest(trial) == tree_digest(alone, skip=("c/ek_runtime",))
    # a second run skips it: nothing rerun, same row
    r = edgekit_cli("sweep", s, "-o", out, "--num-cpus", "1", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == row


GRID = 'models = ["{model}"]\nboards = ["{board}"]\n[[compress]]\n'


@pytest.mark.parametrize("body, message", [
    (GRID.format(model="kws_ref_model.keras", board="no-such-board") + 'method = "int8"\n', "no-such-board"),
    (GRID.format(model="missing.keras", board="mps2-an386") + 'method = "int8"\n', "missing.keras"),
    (GRID.format(model="kws_ref_model.keras", board="mps2-an386") + 'method = "kmeans"\nbins = 8\n'
     'target_ratio = 10\n', "target_ratio"),
    (GRID.format(model="kws_ref_model.keras", board="mps2-an386") + 'method = "kmeans"\nbins = 32\n', "bins"),
    (GRID.format(model="kws_ref_model.keras", board="host") + 'method = "int8"\n', "not a microcontroller"),
    (GRID.format(model="kws_ref_model_int8.tflite", board="mps2-an386") + 'method = "int8"\n', "already int8"),
    (GRID.format(model="kws_ref_model.keras", board="mps2-an386") + 'method = "int8"\nbits = 3\n',
     "unknown key 'bits'"),
    ('models = ["kws_ref_model.keras"]\n[[compress]]\nmethod = "int8"\n', "no 'boards'"),
    ('models = [\n', "not a valid TOML"),
])
def test_bad_sweep_file_is_refused_before_any_trial(tmp_path, body, message):
    from edgekit.errors import EdgekitError
    from edgekit.sweep import spec

    s = tmp_path / "sweep.toml"
    s.write_text(body.replace('"kws_ref_model', f'"{SAMPLES}/kws_ref_model').replace('"missing', f'"{SAMPLES}/missing'))
    with pytest.raises(EdgekitError, match=message):
        spec.load(str(s))


def test_bad_sweep_file_is_one_line_and_writes_nothing(tmp_path):
    s = sweep_file(tmp_path, ["no-such-board"], '[[compress]]\nmethod = "int8"\n')
    r = edgekit_cli("sweep", s, "-o", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no-such-board" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_unreachable_address_is_one_line(tmp_path):
    s = sweep_file(tmp_path, ["mps2-an386"], '[[compress]]\nmethod = "int8"\n')
    r = edgekit_cli("sweep", s, "-o", tmp_path / "out", "--address", f"127.0.0.1:{free_port()}")
    assert r.returncode == 2 and "no Ray cluster reachable" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "out").exists()


def _row(key, score, flash, ms, fits=True, status="ok"):
    return {"key": key, "status": status, "accuracy": None, "proxy_agreement": score, "flash_bytes": flash,
            "est_ms": ms, "fits": fits}


def test_pareto_and_best():
    rows_ = [_row("a", 0.9, 100, 10), _row("b", 0.9, 80, 10), _row("c", 0.95, 120, 12),
             _row("d", 0.99, 200, 5, fits=False), _row("e", 1.0, 10, 1, status="failed")]
    assert [r["key"] for r in report.pareto(rows_)] == ["b", "c", "d"]      # a: b is as good and smaller
    assert report.best(rows_)["key"] == "c"                                  # d does not fit, e failed
    assert report.best([_row("x", 1.0, 1, 1, fits=False)]) is None
