"""Named steps of the report: a rich progress bar on stderr (only when stderr is a terminal) and
the seconds each step took."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any


class Stages:
    """Count and time the steps of a job; show them on a progress bar when stderr is a tty."""

    def __init__(self, total: int, enabled: bool | None = None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.seconds: dict[str, float] = {}
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Stages:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            from actlab.cli.output import stderr

            self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=stderr,
                                 transient=True)
            self._bar.start()
            self._task = self._bar.add_task("actlab report", total=self.total)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Run one named step: shown on the bar while it runs, timed, then counted."""
        if self._bar is not None:
            self._bar.update(self._task, description=name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            if self._bar is not None:
                self._bar.advance(self._task)
