#!/usr/bin/env bash
# Sets up everything edgekit needs; safe to re-run (does nothing that is already done).
#  - Debian packages: ARM bare-metal gcc + newlib, QEMU for the emulated Cortex-M boards
#    (installed with apt-get when run as root; otherwise says what to install).
#  - Python 3.11 virtual environment at .venv/ with edgekit and its pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
missing_tools() {
  local m=""
  command -v arm-none-eabi-gcc >/dev/null 2>&1 || m="$m arm-none-eabi-gcc"
  [ -f /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -d /usr/lib/arm-none-eabi/lib ] || m="$m newlib"
  command -v qemu-system-arm >/dev/null 2>&1 || m="$m qemu-system-arm"
  echo "$m"
}

if [ -n "$(missing_tools)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: $APT_PKGS"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $APT_PKGS >/dev/null
  else
    echo "setup: warning: missing$(missing_tools); install them with:" >&2
    echo "  sudo apt-get install --no-install-recommends $APT_PKGS" >&2
    echo "  (needed for Cortex-M builds and QEMU runs; importing and quantizing work without)" >&2
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: error: edgekit needs Python 3.11 (found $("$PY" --version 2>&1)); set PYTHON=..." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv

# Reinstall only when the dependency pins changed since the last successful install.
stamp=.venv/.edgekit-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! .venv/bin/python -c 'import edgekit' 2>/dev/null; then
  echo "setup: installing Python dependencies into .venv (first run: a few minutes)"
  # torch first, exactly pinned (an unpinned torch would pull a multi-GB CUDA build)
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi
echo "setup: ready ($(.venv/bin/edgekit --version))"
