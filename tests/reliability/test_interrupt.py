"""Kill tests: a deploy interrupted in the middle of its PlatformIO build (SIGINT as from
Ctrl-C, SIGTERM as from a CI timeout, SIGKILL) leaves the previous output byte for byte
as it was, and no partial output; what SIGKILL leaves behind (a hidden temporary) the
next edgekit run writing there removes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgekit.fileio import remove_stale
from tests.conftest import EDGEKIT, ROOT, SAMPLES, cli_env, edgekit_cli, tree_digest

MODEL = SAMPLES / "kws_ref_model_int8.tflite"
ENV = cli_env()


def temporaries(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".edgekit-"))


def deploy_cmd(out: Path) -> list[str]:
    return ["deploy", MODEL, "--board", "mps2-an386", "-o", str(out),
            "--wav", str(next(SAMPLES.glob("wavs/yes_*.wav")))]


@pytest.fixture(scope="module")
def previous(tmp_path_factory):
    """A finished deploy: the output the interrupted runs must not touch."""
    parent = tmp_path_factory.mktemp("kill")
    out = parent / "fw"
    r = edgekit_cli(*deploy_cmd(out))
    assert r.returncode == 0, r.stderr
    assert (out / "firmware.elf").is_file()
    return out, tree_digest(out)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for d in Path("/proc").iterdir():
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd and d.name != str(os.getpid()):
            found.append(cmd[:200])
    return found


def _kill_midway(out: Path, sig: int) -> tuple[subprocess.Popen, str]:
    """Start a deploy over `out` and send `sig` once its PlatformIO build is running."""
    # a shell's background job (`make test &`, nohup) inherits SIGINT ignored, and Python
    # then installs no KeyboardInterrupt handler: give the deploy a foreground disposition
    p = subprocess.Popen([*EDGEKIT, *map(str, deploy_cmd(out))], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and p.poll() is None:
        tmps = [out.parent / t for t in temporaries(out.parent) if t.startswith(f".edgekit-{p.pid}-")]
        if tmps and (tmps[0] / ".pio").exists():   # `pio run` is building in the temporary
            time.sleep(0.3)
            break
        time.sleep(0.1)
    assert p.poll() is None, f"deploy ended before it could be interrupted: {p.communicate()[1][-500:]}"
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p, err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_keeps_previous_output(previous, sig, code):
    out, digest = previous
    p, err = _kill_midway(out, sig)
    assert p.returncode == code, f"exit {p.returncode}, expected {code}: {err[-800:]}"
    assert err.strip().splitlines()[-1].startswith("edgekit: interrupted"), err[-800:]
    assert tree_digest(out) == digest, "the previous output changed"
    assert temporaries(out.parent) == [], "a partial output was left behind"


def test_sigkill_keeps_previous_output_and_next_run_cleans_up(previous, tmp_path):
    out, digest = previous
    p, _ = _kill_midway(out, signal.SIGKILL)
    assert p.returncode == -signal.SIGKILL
    assert tree_digest(out) == digest, "the previous output changed"
    left = temporaries(out.parent)
    assert left and all(t.startswith(f".edgekit-{p.pid}-") for t in left), left  # hidden, named by pid
    deadline = time.monotonic() + 10   # the build tree dies with edgekit (edgekit.toolchain.guard)
    while _processes_mentioning(left[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(left[0]) == [], "the killed deploy's build kept running"
    # the next run writing into that directory removes what the killed one left
    r = edgekit_cli("codegen", MODEL, "-o", out.parent / "c", timeout=300)
    assert r.returncode == 0, r.stderr
    assert temporaries(out.parent) == []
    assert tree_digest(out) == digest


def test_killed_between_the_two_renames_gets_the_previous_output_back(tmp_path):
    """atomic_dir moves the previous output aside, then renames the new one in; a SIGKILL
    between the two would leave neither at the target: the next run puts the old one back."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    aside = tmp_path / f".edgekit-old-{dead.pid}-fw"
    aside.mkdir()
    (aside / "firmware.elf").write_bytes(b"previous")
    junk = tmp_path / f".edgekit-{dead.pid}-abc123"
    junk.mkdir()
    (junk / "half.c").write_text("int x")
    assert remove_stale(str(tmp_path)) == [junk.name]
    assert (tmp_path / "fw" / "firmware.elf").read_bytes() == b"previous"
    assert temporaries(tmp_path) == []
    live = tmp_path / f".edgekit-{os.getpid()}-inuse"   # a running writer's temporary stays
    live.mkdir()
    assert remove_stale(str(tmp_path)) == [] and live.exists()
