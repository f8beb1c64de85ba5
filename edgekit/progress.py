"""Progress bars for long steps (rich), silent when stderr is not a terminal or
EDGEKIT_QUIET is set, so logs and --json output stay clean."""
from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

T = TypeVar("T")


def globally_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("EDGEKIT_QUIET")


def progress(it: Iterable[T], label: str, total: int | None = None) -> Iterable[T]:
    if not globally_enabled():
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


class _Bar:
    def __init__(self, bar, task):
        self.bar, self.task = bar, task

    def update(self, **fields) -> None:
        if self.bar is not None:
            desc = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in fields.items())
            self.bar.update(self.task, advance=1, info=desc)


class progress_bar:
    """Context manager for a manual bar with live fields (e.g. the loss)."""

    def __init__(self, label: str, total: int, enabled: bool = True):
        self.label, self.total, self.on = label, total, enabled and globally_enabled()
        self._progress = None

    def __enter__(self) -> _Bar:
        if not self.on:
            return _Bar(None, None)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                                  transient=True, console=_console())
        self._progress.__enter__()
        return _Bar(self._progress, self._progress.add_task(self.label, total=self.total, info=""))

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
