"""Section 1: each activation's formula, gradient plot with regions, region table and the points
where f' is undefined."""

from __future__ import annotations

import math

from actlab.regions import REGIONS, Interval, RegionResult
from actlab.report.compute import ReportResults
from actlab.report.doc import Block, Code, Figure, Heading, Math, Para, Section, Table, inl
from actlab.report.formulas import formula_lines
from actlab.report.math import Fenced, Id, Num, Op, Prime, number_text, row
from actlab.report.sections.common import cells, eq, equations, fixed

TITLES = {"relu": "ReLU", "sigmoid": "Logistic sigmoid", "plu": "Piecewise linear unit (PLU)",
          "swish": "Swish", "elu": "ELU", "gelu": "GELU", "leaky_relu": "Leaky ReLU",
          "tanh": "tanh", "softplus": "Softplus", "selu": "SELU", "mish": "Mish",
          "hardtanh": "Hard tanh", "jumprelu": "JumpReLU", "identity": "Identity",
          "expr": "User expression"}


def boundary(x: float) -> str:
    """A region boundary: 4 decimals (exact integers as integers), −∞/∞ as such."""
    if math.isinf(x):
        return "−∞" if x < 0 else "∞"
    return fixed(x, 4)


def interval_text(i: Interval) -> str:
    """Interval notation to 4 decimals; an isolated point as {x}."""
    if i.is_point:
        return "{" + boundary(i.lo) + "}"
    return (f"{'[' if i.closed_lo else '('}{boundary(i.lo)}, {boundary(i.hi)}"
            f"{']' if i.closed_hi else ')'}")


FP = Prime(Id("f"))
ABS_FP = Fenced(FP, "|", "|")


def _conditions(r: RegionResult) -> dict[str, Math]:
    """Each region's condition as a formula (the thresholds to 6 significant decimals)."""
    fast, slow = Num(r.thresholds.fast, 6), Num(r.thresholds.slow, 6)
    return {"fast": Math(row(ABS_FP, Op(">"), fast)),
            "active": Math(row(slow, Op("≤"), ABS_FP, Op("≤"), fast)),
            "slow": Math(row(Num(0), Op("<"), ABS_FP, Op("<"), slow)),
            "inactive": Math(row(FP, Op("="), Num(0)))}


def _region_table(r: RegionResult) -> Table:
    cond = _conditions(r)
    rows = []
    for name in REGIONS:
        parts = r.region(name)
        text = " ∪ ".join(interval_text(i) for i in parts) if parts else "empty"
        rows.append(((name,), (cond[name],), (text,)))
    return Table(cells("region", "condition", "x in (boundaries to 4 decimals)"), tuple(rows),
                 caption=f"Gradient regions of {r.activation.spec} on the whole real line.")


def _max_text(r: RegionResult) -> str:
    m = r.max_abs
    if math.isinf(m.value):
        return "|f′| is unbounded."
    where = " ∪ ".join(interval_text(i) for i in m.where)
    text = f"max |f′| = {number_text(m.value)}"
    text += f", attained at x ∈ {where}" if m.where else ", not attained"
    if m.approached:
        text += "; approached as " + ", ".join(m.approached)
    return text + "."


def _undefined(r: RegionResult) -> Block:
    if not r.breakpoints:
        return Para(inl("f′ is defined everywhere: there is no point where the gradient is "
                        "undefined."))
    rows = []
    for b in r.breakpoints:
        rows.append(cells(fixed(b.x), fixed(b.left_derivative), fixed(b.right_derivative),
                          fixed(b.derivative_used),
                          f"jump: f goes from {fixed(b.left_value)} to {fixed(b.right_value)}"
                          if b.jump else "kink (f continuous)"))
    return Table(cells("x", "f′(x−)", "f′(x+)", "value used for f′(x)", "kind"), tuple(rows),
                 caption="Points where f′ is undefined: the one-sided derivatives and the value "
                 "used (PyTorch's convention where PyTorch has the function).",
                 numeric=(True, True, True, True, False))


def _one(i: int, r: RegionResult, figure: str, plot_range: tuple[float, float]) -> list[Block]:
    act = r.activation
    title = TITLES.get(act.name, act.name)
    blocks: list[Block] = [Heading(2, title, f"act-{i}"),
                           Para(inl("Spec ", Code(act.spec), "."))]
    lines = formula_lines(act)
    if lines is None:
        blocks.append(Para(inl("f(x) = ", Code(act.formula or act.spec),
                               "; f′ as computed by actlab.")))
    else:
        blocks.append(equations(*(eq(lhs, rhs) for lhs, rhs in lines)))
        if len(lines) == 1:
            blocks.append(Para(inl("f′ as computed by actlab (analytic derivative).")))
        if act.name == "gelu" and act.params.get("approx") == "none":
            blocks.append(Para(inl("Φ is the standard normal CDF.")))
    lo, hi = plot_range
    blocks.append(Figure(figure, f"{act.spec}: f (solid) and f′ (dashed) on [{fixed(lo)}, "
                         f"{fixed(hi)}], regions shaded.",
                         f"Plot of {act.spec} and its derivative with the gradient regions "
                         "shaded", width=0.62))
    blocks.append(_region_table(r))
    blocks.append(Para(inl(_max_text(r))))
    blocks.append(_undefined(r))
    return blocks


def build(results: ReportResults, figures: dict[str, str]) -> Section:
    th = results.regions.thresholds
    fp = ABS_FP
    intro = Para(inl(
        "A point x is in the ", Code("fast"), " region when ", Math(row(fp, Op(">"),
                                                                        Num(th.fast, 6))),
        ", ", Code("active"), " when ", Math(row(Num(th.slow, 6), Op("≤"), fp, Op("≤"),
                                                 Num(th.fast, 6))),
        ", ", Code("slow"), " when ", Math(row(Num(0), Op("<"), fp, Op("<"),
                                               Num(th.slow, 6))),
        " and ", Code("inactive"), " when ", Math(row(FP, Op("="), Num(0))),
        ". The regions are exact over the whole real line (boundaries found by root refinement "
        "of f′, not by sampling a plot) and shown to 4 decimals; ", Code("results.json"),
        " has full precision. Where f′ is undefined, the table lists both one-sided "
        "derivatives and the value used."))
    blocks: list[Block] = [intro]
    for i, r in enumerate(results.regions.results, start=1):
        blocks += _one(i, r, figures[f"regions-{i}"], results.config.plot_range)
    return Section("Activation functions and their gradient regions", "activations",
                   tuple(blocks))
