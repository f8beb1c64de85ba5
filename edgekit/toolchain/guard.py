"""Run a command tree that dies with edgekit, even when edgekit is SIGKILLed.

usage (internal): python -m edgekit.toolchain.guard PARENT_PID CMD [ARG ...]

`run_group` starts this guard as the leader of a new process group; the guard starts the
command in that group and waits. If its parent (edgekit) disappears - SIGKILL leaves no
chance to clean up - the guard kills the whole group, so no orphaned `pio run` keeps
writing into a temporary directory that the next run will remove.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    parent, cmd = int(argv[1]), argv[2:]
    p = subprocess.Popen(cmd)
    while True:
        try:
            return p.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:
                os.killpg(0, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
