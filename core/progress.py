"""Progress of the long steps: a bar on a terminal, plain periodic lines in a log, nothing in a library call.

The stages' loops (the simulator's days, validation's tables, the feature partitions, the training folds,
the nightly job's steps) call `track` or `steps`. What that shows depends on how the process was started:

- not configured (a test, a notebook, a benchmark importing the library): nothing at all, at no cost;
- configured by the command line (`pipeline/cli.py` calls `configure()`), on a terminal: a rich progress
  bar on stderr, which disappears when the step ends;
- configured, stderr not a terminal (DVC's log, cron, systemd's journal): a step still going after
  `interval` seconds (default 10, environment variable `DUNNING_PROGRESS_SECONDS`) writes one plain line, then
  at most one per interval, and one when it ends, e.g. ``progress: features: 3/8 partitions (38%), 12 s``.
  Short steps write nothing, so a quick command's output stays its one summary line. Progress bars in a
  log file are noise; a log silent for ten minutes looks like a hang.

Only stderr is written, so a command's stdout stays what its documentation says.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TypeVar

T = TypeVar("T")
#: Seconds between two plain progress lines of one step.
INTERVAL = 10.0


@dataclass
class _Settings:
    stream: IO[str] | None = None
    interval: float = INTERVAL
    bar: bool = False


_settings = _Settings()


def configure(stream: IO[str] | None = None, interval: float | None = None, bar: bool | None = None) -> None:
    """Show progress on `stream` (default stderr): a bar when it is a terminal (or `bar`), else plain lines
    every `interval` seconds (default: `DUNNING_PROGRESS_SECONDS`, else INTERVAL)."""
    stream = sys.stderr if stream is None else stream
    _settings.stream = stream
    _settings.interval = float(os.environ.get("DUNNING_PROGRESS_SECONDS", INTERVAL)) if interval is None else interval
    _settings.bar = bool(stream.isatty()) if bar is None else bar


def disable() -> None:
    """Back to silence (the library default)."""
    _settings.stream = None


class Step:
    """One step with a known number of units; `advance` after each."""

    def __init__(self, description: str, total: int, unit: str) -> None:
        self.description, self.total, self.unit = description, max(int(total), 0), unit
        self.done = 0
        self._began = self._last = time.monotonic()
        self._bar = None
        self._lines = 0
        if _settings.stream is None:
            return
        if _settings.bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(file=_settings.stream, stderr=_settings.stream is sys.stderr)
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(description, total=self.total or None)

    def advance(self, units: int = 1) -> None:
        self.done += units
        if _settings.stream is None:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        now = time.monotonic()
        if now - self._last >= _settings.interval:
            self._last = now
            self._line()

    def close(self) -> None:
        if _settings.stream is None:
            return
        if self._bar is not None:
            self._bar.stop()
        if self._bar is not None or self._lines:
            self._line(final=True)

    def _line(self, final: bool = False) -> None:
        elapsed = time.monotonic() - self._began
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        state = "done" if final else f"{self.done:,}/{self.total:,} {self.unit}{share}"
        self._lines += 1
        print(f"progress: {self.description}: {state}, {elapsed:.0f} s", file=_settings.stream, flush=True)


@contextmanager
def steps(description: str, total: int, unit: str = "steps") -> Iterator[Step]:
    """A step of `total` units: call `.advance()` after each (the line at the end is written on success only)."""
    step = Step(description, total, unit)
    try:
        yield step
    except BaseException:
        if step._bar is not None:
            step._bar.stop()
        raise
    step.close()


def track(items: Iterable[T], description: str, total: int | None = None, unit: str = "steps") -> Iterator[T]:
    """Yield `items`, advancing a step of `total` (default len(items)) units after each."""
    if total is None:
        total = len(items)  # type: ignore[arg-type]
    with steps(description, total, unit) as step:
        for item in items:
            yield item
            step.advance()
