"""Small formatting helpers shared by the sections."""

from __future__ import annotations

import math
from collections.abc import Sequence

from actlab.report.doc import Equations, Inlines
from actlab.report.math import Node, number_text

Line = tuple[Node, tuple[tuple[str, Node], ...]]


def fixed(value: float | None, digits: int = 4) -> str:
    """A number to ``digits`` decimals (integers exactly; '-' for None; ASCII minus)."""
    if value is None:
        return "-"
    v = float(value) + 0.0
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == round(v) and abs(v) < 1e12:
        return str(round(v))
    return f"{v:.{digits}f}"


def sci(value: float | None) -> str:
    """A small number in scientific notation (discrepancies, gaps)."""
    return "-" if value is None else f"{float(value):.1e}"


def point(values: Sequence[float] | None, digits: int = 4) -> str:
    """(x1, x2, ...)."""
    if values is None:
        return "-"
    return "(" + ", ".join(fixed(v, digits) for v in values) + ")"


def rel(value: float, digits: int = 4) -> str:
    """'=' when the shown number is exact, '≈' when it is rounded."""
    text = number_text(value, digits)
    try:
        return "=" if float(text) == float(value) else "≈"
    except ValueError:
        return "≈"


def eq(lhs: Node, *steps: Node | tuple[str, Node]) -> Line:
    """One display line: lhs = step1 = step2 ..., a step may carry its own relation."""
    return lhs, tuple(s if isinstance(s, tuple) else ("=", s) for s in steps)


def equations(*lines: Line) -> Equations:
    return Equations(tuple(lines))


def cells(*texts: str) -> tuple[Inlines, ...]:
    """Table cells from plain strings."""
    return tuple((t,) for t in texts)

