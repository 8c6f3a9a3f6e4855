"""Output helpers: JSON for machines on stdout, rich tables for people, messages on stderr."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import Any

import numpy as np
from rich.console import Console

from actlab.errors import ActlabError

stdout = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True)


def jsonable(value: Any) -> Any:
    """Plain JSON data from results: dataclasses (via ``to_dict`` when they have one), numpy
    scalars and arrays, tuples. Infinite or NaN floats are an error (use None explicitly)."""
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"non-finite number {number} in JSON output")
        return number
    return value


def dumps(data: Any) -> str:
    """One JSON document (no NaN or Infinity), keys in the order the results give them."""
    return json.dumps(jsonable(data), allow_nan=False, indent=1)


def emit_json(data: Any) -> None:
    """Write exactly one JSON document to stdout."""
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A message for people, on stderr."""
    stderr.print(message, highlight=False)


def require(condition: bool, message: str) -> None:
    """Raise ActlabError(message) unless condition holds."""
    if not condition:
        raise ActlabError(message)


def progress(items, total: int, description: str):
    """Iterate ``items`` with a rich progress bar on stderr when stderr is a terminal; silently
    otherwise (pipes, CI, --json consumers)."""
    if not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=stderr, transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
