"""Progress bars for long steps (rich), silent when stderr is not a terminal or
EDGEKIT_QUIET is set, so logs and --json output stay clean."""
from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

T = TypeVar("T")


def enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("EDGEKIT_QUIET")


def progress(it: Iterable[T], label: str, total: int | None = None) -> Iterable[T]:
    if not enabled():
        yield from it
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*cols, transient=True, console=_console()) as bar:
        task = bar.add_task(label, total=total)
        for item in it:
            yield item
            bar.advance(task)


def _console():
    from rich.console import Console

    return Console(stderr=True)
