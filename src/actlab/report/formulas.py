"""Formulas of the catalogue's activations as math trees, with the parameters filled in.

Piecewise-linear activations are written from their linear pieces (so any parameters work);
the smooth ones by name. ``None`` when actlab has no typeset form (then the report shows the
catalogue's formula text).
"""

from __future__ import annotations

import math

from actlab.activations import Activation, Breakpoint
from actlab.activations.base import LinearPiece
from actlab.report.math import (
    Attach,
    Cases,
    Fenced,
    Frac,
    Id,
    Node,
    Num,
    Op,
    Prime,
    Sqrt,
    Text,
    number_text,
    row,
)

X = Id("x")
E = Id("e")
F = row(Id("f"), Fenced(X))
F_PRIME = row(Prime(Id("f")), Fenced(X))


def _sigma(arg: Node) -> Node:
    return row(Id("σ"), Fenced(arg))


def _times(coef: float, body: Node) -> Node:
    """coef * body, written as body when coef = 1 and as 0 when coef = 0."""
    return body if coef == 1 else (Num(0) if coef == 0 else row(Num(coef), body))


def _affine(slope: float, intercept: float) -> Node:
    """slope x + intercept, dropping zero terms and unit slopes."""
    parts: list[Node] = []
    if slope != 0:
        parts.append(X if slope == 1 else (row(Op("−"), X) if slope == -1 else row(Num(slope), X)))
    if intercept != 0 or not parts:
        if parts:
            parts += [Op("−") if intercept < 0 else Op("+"), Num(abs(intercept))]
        else:
            parts.append(Num(intercept))
    return row(*parts)


def _condition(lo: float, hi: float, closed_lo: bool, closed_hi: bool) -> Node:
    """'if lo < x <= hi' with infinite ends left out."""
    if math.isinf(lo) and math.isinf(hi):
        return Text("for all x")
    if math.isinf(hi):
        return row(Text("if "), X, Op("≥" if closed_lo else ">"), Num(lo))
    parts: list[Node] = [Text("if ")]
    if not math.isinf(lo):
        parts += [Num(lo), Op("≤" if closed_lo else "<")]
    parts += [X, Op("≤" if closed_hi else "<"), Num(hi)]
    return row(*parts)


def _piecewise(pieces: tuple[LinearPiece, ...]) -> Node:
    if len(pieces) == 1:
        return _affine(pieces[0].slope, pieces[0].intercept)
    ordered = sorted(pieces, key=lambda p: p.lo, reverse=True)
    return Cases(tuple((_affine(p.slope, p.intercept),
                        _condition(p.lo, p.hi, p.closed_lo, p.closed_hi)) for p in ordered))


def _undefined_rows(breakpoints: tuple[Breakpoint, ...]) -> tuple[tuple[Node, Node], ...]:
    return tuple((Text(f"undefined (used {number_text(b.derivative_used)})"),
                  row(Text("if "), X, Op("="), Num(b.x))) for b in breakpoints)


def _derivative_cases(rows: list[tuple[Node, Node]],
                      breakpoints: tuple[Breakpoint, ...]) -> Node:
    all_rows = (*rows, *_undefined_rows(breakpoints))
    return all_rows[0][0] if len(all_rows) == 1 else Cases(all_rows)


def _linear_derivative(pieces: tuple[LinearPiece, ...],
                       breakpoints: tuple[Breakpoint, ...]) -> Node:
    ordered = sorted(pieces, key=lambda p: p.lo, reverse=True)
    rows = [(Num(p.slope), _condition(p.lo, p.hi, False, False)) for p in ordered]
    return _derivative_cases(rows, breakpoints)


def formulas(act: Activation) -> tuple[Node, Node | None] | None:
    """(f(x) right-hand side, f'(x) right-hand side or None), or None when there is no typeset
    form."""
    if act.piecewise_linear and act.name != "expr":
        pieces = act.pieces()
        if act.name == "relu":
            return (row(Id("max"), Fenced(row(Num(0), Op(","), X))),
                    _linear_derivative(pieces, act.breakpoints()))
        return _piecewise(pieces), _linear_derivative(pieces, act.breakpoints())
    p = {k: v for k, v in act.params.items()}
    match act.name:
        case "sigmoid":
            f = Frac(Num(1), row(Num(1), Op("+"), Attach(E, sup=row(Op("−"), X))))
            return f, row(_sigma(X), Fenced(row(Num(1), Op("−"), _sigma(X))))
        case "tanh":
            return (row(Id("tanh"), X),
                    row(Num(1), Op("−"), Attach(Id("tanh"), sup=Num(2)), X))
        case "swish":
            bx = _times(float(p["beta"]), X)
            s = _sigma(bx)
            return (row(X, s), row(s, Op("+"), bx, s, Fenced(row(Num(1), Op("−"), s))))
        case "elu":
            a = float(p["alpha"])
            negative = row(Attach(E, sup=X), Op("−"), Num(1))
            f = Cases(((X, row(Text("if "), X, Op(">"), Num(0))),
                       (negative if a == 1 else _times(a, Fenced(negative)),
                        row(Text("if "), X, Op("≤"), Num(0)))))
            left = Op("<") if act.breakpoints() else Op("≤")  # a = 1: f' is continuous at 0
            rows = [(Num(1), row(Text("if "), X, Op(">"), Num(0))),
                    (_times(a, Attach(E, sup=X)), row(Text("if "), X, left, Num(0)))]
            return f, _derivative_cases(rows, act.breakpoints())
        case "gelu" if p.get("approx") == "none":
            phi = Frac(Attach(E, sup=row(Op("−"), Attach(X, sup=Num(2)), Op("/"), Num(2))),
                       Sqrt(row(Num(2), Id("π"))))
            return (row(X, Id("Φ"), Fenced(X)),
                    row(Id("Φ"), Fenced(X), Op("+"), X, phi))
        case "gelu":  # the tanh approximation: f' is shown by actlab's numbers only
            inner = row(Sqrt(Frac(Num(2), Id("π"))), Fenced(row(
                X, Op("+"), Num(0.044715, 6), Attach(X, sup=Num(3)))))
            return (row(Frac(X, Num(2)), Fenced(row(Num(1), Op("+"), Id("tanh"),
                                                    Fenced(inner)))), None)
        case "softplus":
            beta = float(p["beta"])
            bx = _times(beta, X)
            log = row(Id("log"), Fenced(row(Num(1), Op("+"), Attach(E, sup=bx))))
            return (log if beta == 1 else row(Frac(Num(1), Num(beta)), log), _sigma(bx))
    return None


def formula_lines(act: Activation) -> tuple[tuple[Node, Node], ...] | None:
    """[(f(x), rhs), (f'(x), rhs)] ready for display (f' left out when it has no typeset
    form), or None."""
    found = formulas(act)
    if found is None:
        return None
    f, df = found
    return ((F, f),) if df is None else ((F, f), (F_PRIME, df))
