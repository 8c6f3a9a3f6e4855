"""Exact gradient regions of an activation over the whole real line.

A point x is classified by m = |f'(x)| (thresholds ``fast`` and ``slow``, 0 <= slow <= fast):

    inactive  f'(x) = 0          (takes priority)
    fast      m > fast
    slow      m < slow
    active    slow <= m <= fast

No sampling: ``Activation.stretches()`` splits the line into open intervals on which f' is
constant or strictly monotone with no zero inside. On a monotone stretch |f'| - t has at most one
root per threshold t; it is bracketed by the signs at the stretch ends (one-sided derivatives at
breakpoints, f' at smooth split points, the limits of f' at infinite ends) and refined by brentq.
The open pieces between roots are classified in *value space* (|f'| lies strictly between the
values at their ends and never reaches 0), so float underflow in the tails cannot turn a slow
tail into an inactive one. Split points and roots are classified as single points, and adjacent
pieces of the same class are merged into maximal intervals with open/closed ends.

>>> from actlab.activations import parse_activation
>>> r = gradient_regions(parse_activation("relu"))
>>> [(i.region, i.text()) for i in r.intervals]
[('inactive', '(-inf, 0]'), ('fast', '(0, inf)')]
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import brentq

from actlab.activations import Activation, Breakpoint, Stretch, parse_activation
from actlab.errors import ActlabError

INF = math.inf
REGIONS = ("fast", "active", "slow", "inactive")
ROOT_XTOL = 1e-14  # absolute tolerance of a root, scaled down for roots of magnitude below 1
ROOT_RTOL = 4 * np.finfo(float).eps
MAX_DOUBLINGS = 2200
TIE_RTOL = 1e-12  # values this close to the maximum of |f'| count as attaining it


# --- classification -----------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    """fast and slow thresholds on |f'|, validated: finite and 0 <= slow <= fast."""

    fast: float = 0.99
    slow: float = 0.01

    def __post_init__(self) -> None:
        fast, slow = self.fast, self.slow
        ok = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (fast, slow))
        if not ok or not (math.isfinite(fast) and math.isfinite(slow) and 0 <= slow <= fast):
            raise ActlabError(f"thresholds must be finite numbers with 0 <= slow <= fast "
                              f"(got fast={fast!r}, slow={slow!r})")
        object.__setattr__(self, "fast", float(fast))
        object.__setattr__(self, "slow", float(slow))

    def classify(self, derivative: float) -> str:
        """Region of a point where f' = derivative (0 -> inactive, then fast, slow, active)."""
        m = abs(derivative)
        if m == 0:
            return "inactive"
        return self.classify_positive(m)

    def classify_positive(self, m: float) -> str:
        """Region of a magnitude known to be > 0 (m == 0 here means an infinitesimal m > 0)."""
        if m > self.fast or (m == 0 and self.fast == 0):
            return "fast"
        if m < self.slow:
            return "slow"
        return "active"

    def to_dict(self) -> dict[str, float]:
        return {"fast": self.fast, "slow": self.slow}


# --- intervals ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """A maximal interval of one region: lo..hi (+-inf allowed), each end open or closed.

    An isolated point is lo == hi with both ends closed.
    """

    region: str
    lo: float
    hi: float
    closed_lo: bool
    closed_hi: bool

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi

    def contains(self, x: float) -> bool:
        """True when x belongs to the interval."""
        above = x >= self.lo if self.closed_lo else x > self.lo
        below = x <= self.hi if self.closed_hi else x < self.hi
        return above and below

    def pair(self) -> list[float | None]:
        """[lo, hi] with None for an unbounded end (the contract's form)."""
        return [None if math.isinf(self.lo) else self.lo,
                None if math.isinf(self.hi) else self.hi]

    def text(self, digits: int = 6) -> str:
        """Interval notation, e.g. ``(-inf, 0]``, or ``{-1.27846}`` for an isolated point."""
        lo, hi = format_boundary(self.lo, digits), format_boundary(self.hi, digits)
        if self.is_point:
            return f"{{{lo}}}"
        return f"{'[' if self.closed_lo else '('}{lo}, {hi}{']' if self.closed_hi else ')'}"

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.pair()
        return {"region": self.region, "lo": lo, "hi": hi,
                "closed_lo": self.closed_lo, "closed_hi": self.closed_hi}


def format_boundary(x: float, digits: int = 6) -> str:
    """A boundary to ``digits`` significant digits; +-inf as ``inf``/``-inf``; -0 as 0."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x + 0.0:.{digits}g}"


@dataclass(frozen=True)
class _Piece:
    """One element of the partition before merging: an open interval or a single point."""

    lo: float
    hi: float
    region: str

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi


def merge_pieces(pieces: Sequence[_Piece]) -> tuple[Interval, ...]:
    """Merge consecutive pieces (open intervals and single points, left to right, tiling a set)
    of the same region into maximal intervals; a point joined to an interval closes its end."""
    merged: list[Interval] = []
    for p in pieces:
        if merged and merged[-1].region == p.region and merged[-1].hi == p.lo:
            last = merged[-1]
            merged[-1] = Interval(p.region, last.lo, p.hi, last.closed_lo, p.is_point)
        else:
            merged.append(Interval(p.region, p.lo, p.hi, p.is_point, p.is_point))
    return tuple(merged)


# --- the structure of f' ------------------------------------------------------------------
def _derivative_at(activation: Activation, x: float) -> float:
    """f'(x) as a float (``derivative_accurate``: 60 digits for ``expr:``, whose float64
    formula can cancel, 1e10 - 1e10 tanh(1e10 x)^2)."""
    with np.errstate(all="ignore"):
        return activation.derivative_accurate(x)


@dataclass(frozen=True)
class SplitPoint:
    """A stretch end: its value f'(x) there (convention at breakpoints; 0.0 exactly at a zero
    of f') and the one-sided limits of f' from the left and right."""

    x: float
    derivative: float
    left_limit: float
    right_limit: float
    breakpoint: Breakpoint | None


def _stretch_sign(activation: Activation, lo: float, hi: float) -> int:
    """Sign of f' inside the stretch (lo, hi) (f' has no zero there): the first non-zero sign
    at a few interior points, nearest the finite ends' middle first (tails may underflow)."""
    if math.isinf(lo) and math.isinf(hi):
        probes = [0.0, 1.0, -1.0]
    elif math.isinf(lo):
        probes = [hi - max(1.0, abs(hi)) * 0.5 ** k for k in range(0, 60)]
    elif math.isinf(hi):
        probes = [lo + max(1.0, abs(lo)) * 0.5 ** k for k in range(0, 60)]
    else:
        probes = [lo + (hi - lo) * f for f in (0.5, 0.25, 0.75, 0.1, 0.9, 0.01, 0.99)]
    for x in probes:
        if lo < x < hi:
            value = _derivative_at(activation, x)
            if value != 0 and math.isfinite(value):
                return 1 if value > 0 else -1
    return 0


def split_points(activation: Activation,
                 stretches: Sequence[Stretch]) -> dict[float, SplitPoint]:
    """Every breakpoint and critical point (the inner stretch ends) with f' there and its
    one-sided limits."""
    breakpoints = {b.x: b for b in activation.breakpoints()}
    points: dict[float, SplitPoint] = {}
    for left, right in itertools.pairwise(stretches):
        x = left.hi
        if x in breakpoints:
            b = breakpoints[x]
            points[x] = SplitPoint(x, b.derivative_used, b.left_derivative,
                                   b.right_derivative, b)
            continue
        value = _derivative_at(activation, x)
        if _is_zero_of_derivative(activation, left, right, value):
            value = 0.0
        points[x] = SplitPoint(x, value, value, value, None)
    return points


def _is_zero_of_derivative(activation: Activation, left: Stretch, right: Stretch,
                           value: float) -> bool:
    """A smooth split point c is a zero of f' when f'(c) = 0 in float64, when f' changes sign
    across it (f' is continuous at c and has no zero inside the neighbouring stretches: the
    computed c of a zero is within rounding of it), or, with no sign change, when the
    activation says f' vanishes there (``derivative_vanishes``: no tolerance on |f'(c)|, so
    x**3/3 + 1e-13 x is slow at 0, not inactive)."""
    if value == 0.0:
        return True
    s_left = _constant_sign(left) or _stretch_sign(activation, left.lo, left.hi)
    s_right = _constant_sign(right) or _stretch_sign(activation, right.lo, right.hi)
    if s_left * s_right < 0:
        return True
    return activation.derivative_vanishes(left.hi)


def _constant_sign(stretch: Stretch) -> int:
    c = stretch.constant
    return 0 if c is None or c == 0 else (1 if c > 0 else -1)


@dataclass(frozen=True)
class Structure:
    """What the regions are built from, computed once: the stretches, the split points between
    them, and for each stretch the limits of f' at its ends approached from inside."""

    stretches: tuple[Stretch, ...]
    points: dict[float, SplitPoint]
    ends: tuple[tuple[float, float], ...]


def derivative_structure(activation: Activation) -> Structure:
    """Stretches, split points and end values of f' (``derivative_limits`` at +-inf)."""
    try:
        stretches = activation.stretches()
        points = split_points(activation, stretches)
        lim_lo, lim_hi = activation.derivative_limits()
    except ArithmeticError as error:  # e.g. expr:1/x, undefined somewhere on the line
        raise ActlabError(f"{activation.spec}: cannot analyse f' ({type(error).__name__}); "
                          "the function must be defined and finite on the whole real line"
                          ) from None
    ends = tuple((lim_lo if math.isinf(s.lo) else points[s.lo].right_limit,
                  lim_hi if math.isinf(s.hi) else points[s.hi].left_limit) for s in stretches)
    for s, pair in zip(stretches, ends, strict=True):
        if any(math.isnan(v) for v in pair):
            raise ActlabError(f"{activation.spec}: f' has no limit, or cannot be evaluated "
                              f"in float64 (NaN), at an end of ({s.lo:g}, {s.hi:g})")
    return Structure(stretches, points, ends)


# --- roots of |f'| - t on a monotone stretch ----------------------------------------------
def _sign(v: float) -> int:
    return 0 if v == 0 else (1 if v > 0 else -1)


def _gap(activation: Activation, stretch: Stretch, ends: tuple[float, float],
         t: float) -> Callable[[float], float]:
    """h(x) = |f'(x)| - t on the closed stretch, using the one-sided end values at its ends."""
    def h(x: float) -> float:
        if x == stretch.lo:
            return abs(ends[0]) - t
        if x == stretch.hi:
            return abs(ends[1]) - t
        return abs(_derivative_at(activation, x)) - t
    return h


def _probe_outward(h: Callable[[float], float], anchor: float, direction: int,
                   want: int) -> tuple[float, float]:
    """Walk from anchor by doubling steps (anchor + direction |anchor| 2^k, or 2^k from 0)
    until h has sign ``want``; return (last point without it or anchor, first point with it).
    Steps scale with the anchor, so a crossing near 1e-300 (swish:beta=1e300) is bracketed
    tightly and one near 1e300 is reached."""
    near = anchor
    unit = abs(anchor) if anchor != 0 else 1.0
    for k in range(-60 if anchor == 0 else 0, MAX_DOUBLINGS):
        x = anchor + direction * unit * 2.0**k
        if not math.isfinite(x):
            break
        s = _sign(h(x))
        if s == want or s == 0:
            return near, x
        near = x
    raise ActlabError("cannot bracket a region boundary in the tail: f' does not approach "
                      "its stated limit")


def _bracket(h: Callable[[float], float], lo: float, hi: float, s_lo: int,
             s_hi: int) -> tuple[float, float]:
    """A finite [a, b] inside the closed stretch with sign h(a) = s_lo, sign h(b) = s_hi."""
    if math.isinf(lo) and math.isinf(hi):
        s0 = _sign(h(0.0))
        if s0 == 0:
            return 0.0, 0.0
        if s0 == s_lo:
            lo = 0.0
        else:
            hi = 0.0
    if math.isinf(hi):
        near, far = _probe_outward(h, lo, 1, s_hi)
        return near, far
    if math.isinf(lo):
        near, far = _probe_outward(h, hi, -1, s_lo)
        return far, near
    return lo, hi


def threshold_root(activation: Activation, stretch: Stretch, ends: tuple[float, float],
                   t: float) -> float | None:
    """The x inside the monotone stretch where |f'(x)| = t, or None when |f'| does not cross t
    there (the end values must lie strictly on opposite sides of t)."""
    s_lo, s_hi = _sign(abs(ends[0]) - t), _sign(abs(ends[1]) - t)
    if s_lo * s_hi >= 0:
        return None
    h = _gap(activation, stretch, ends, t)
    a, b = _bracket(h, stretch.lo, stretch.hi, s_lo, s_hi)
    ha, hb = h(a), h(b)
    if ha == 0:
        root = a
    elif hb == 0:
        root = b
    else:
        xtol = ROOT_XTOL * min(1.0, max(abs(a), abs(b))) or 5e-324
        try:
            root = float(brentq(h, a, b, xtol=xtol, rtol=ROOT_RTOL, maxiter=1000))
        except (RuntimeError, ValueError) as error:  # no convergence; f' not finite in float64
            raise ActlabError(f"{activation.spec}: cannot locate where |f'| = {t:g} in "
                              f"({a:g}, {b:g}): {error}") from None
    if not stretch.lo < root < stretch.hi:
        return None  # the crossing is at an end (rounding): the split point decides there
    return root


# --- one stretch -> pieces ----------------------------------------------------------------
def _stretch_pieces(activation: Activation, stretch: Stretch, ends: tuple[float, float],
                    th: Thresholds) -> list[_Piece]:
    """The open stretch as open pieces and root points, left to right."""
    if stretch.constant is not None:
        return [_Piece(stretch.lo, stretch.hi, th.classify(stretch.constant))]
    levels = sorted({th.slow, th.fast})
    crossings = sorted({(r, t) for t in levels
                        if (r := threshold_root(activation, stretch, ends, t)) is not None})
    xs = [stretch.lo, *(r for r, _ in crossings), stretch.hi]
    mags = [abs(ends[0]), *(t for _, t in crossings), abs(ends[1])]
    pieces = []
    for i in range(len(xs) - 1):
        if i > 0:
            pieces.append(_Piece(xs[i], xs[i], th.classify_positive(mags[i])))
        if xs[i] < xs[i + 1]:
            pieces.append(_Piece(xs[i], xs[i + 1], _open_class(mags[i], mags[i + 1], th)))
    return pieces


def _open_class(a: float, b: float, th: Thresholds) -> str:
    """Region of an open piece on which |f'| runs strictly between a and b (never 0) and
    crosses no threshold: classify a magnitude strictly between them."""
    lo, hi = min(a, b), max(a, b)
    mid = lo + 1.0 if math.isinf(hi) else 0.5 * (lo + hi)
    if mid == lo and lo > 0 and hi > lo:
        mid = hi
    return th.classify_positive(mid)


# --- max |f'| -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MaxAbsDerivative:
    """sup |f'| over the real line and where it is attained (points, intervals) or approached."""

    value: float
    where: tuple[Interval, ...]
    approached: tuple[str, ...]

    @property
    def attained(self) -> bool:
        return bool(self.where)

    def text(self, digits: int = 6) -> str:
        """E.g. ``1.09984 at x = 2.39936`` or ``1, not attained; approached as x -> +inf``."""
        value = format_boundary(self.value, digits)
        if not self.where:
            head = f"{value}, not attained"
        elif len(self.where) == 1 and self.where[0].is_point:
            head = f"{value} at x = {format_boundary(self.where[0].lo, digits)}"
        else:
            head = f"{value} at x in " + " U ".join(i.text(digits) for i in self.where)
        if self.approached:
            return f"{head}; approached as " + ", ".join(self.approached)
        return head

    def to_dict(self) -> dict[str, Any]:
        return {"value": None if math.isinf(self.value) else self.value,
                "unbounded": math.isinf(self.value), "attained": self.attained,
                "where": [i.pair() for i in self.where],
                "approached": list(self.approached), "text": self.text()}


def _is_max(v: float, top: float) -> bool:
    if math.isinf(top):
        return abs(v) == top
    return abs(abs(v) - top) <= TIE_RTOL * max(1.0, top)


def max_abs_derivative(structure: Structure) -> MaxAbsDerivative:
    """sup |f'|: the largest of the constants, split-point values and stretch-end limits."""
    stretches, points, ends = structure.stretches, structure.points, structure.ends
    candidates = [abs(v) for pair in ends for v in pair]
    candidates += [abs(p.derivative) for p in points.values()]
    candidates += [abs(s.constant) for s in stretches if s.constant is not None]
    top = max(candidates)
    pieces: list[_Piece] = []
    for i, s in enumerate(stretches):
        if i > 0:
            p = points[s.lo]
            pieces.append(_Piece(p.x, p.x, "max" if _is_max(p.derivative, top) else "-"))
        hit = s.constant is not None and _is_max(s.constant, top)
        pieces.append(_Piece(s.lo, s.hi, "max" if hit else "-"))
    where = tuple(i for i in merge_pieces(pieces) if i.region == "max")
    return MaxAbsDerivative(top, where, _approached(stretches, ends, points, top))


def _approached(stretches: Sequence[Stretch], ends: Sequence[tuple[float, float]],
                points: dict[float, SplitPoint], top: float) -> tuple[str, ...]:
    """Where sup |f'| is a limit that the neighbouring point does not attain."""
    found = []
    for s, (v_lo, v_hi) in zip(stretches, ends, strict=True):
        if s.constant is not None:
            continue
        if _is_max(v_lo, top):
            if math.isinf(s.lo):
                found.append("x -> -inf")
            elif not _is_max(points[s.lo].derivative, top):
                found.append(f"x -> {format_boundary(s.lo)} from the right")
        if _is_max(v_hi, top):
            if math.isinf(s.hi):
                found.append("x -> +inf")
            elif not _is_max(points[s.hi].derivative, top):
                found.append(f"x -> {format_boundary(s.hi)} from the left")
    return tuple(found)


# --- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionResult:
    """The exact gradient regions of one activation (``intervals`` tile the real line)."""

    activation: Activation = field(repr=False)
    thresholds: Thresholds
    intervals: tuple[Interval, ...]
    breakpoints: tuple[Breakpoint, ...]
    max_abs: MaxAbsDerivative
    tail: str

    def region(self, name: str) -> tuple[Interval, ...]:
        """The intervals of one region, left to right."""
        if name not in REGIONS:
            raise ActlabError(f"unknown region {name!r} (regions: {', '.join(REGIONS)})")
        return tuple(i for i in self.intervals if i.region == name)

    def classify(self, x: float) -> str:
        """The region containing x (read off the intervals, not recomputed)."""
        for interval in self.intervals:
            if interval.contains(x):
                return interval.region
        raise AssertionError(f"intervals do not cover {x}")

    def to_dict(self) -> dict[str, Any]:
        a = self.activation
        return {
            "spec": a.spec,
            "name": a.name,
            "params": dict(a.params),
            "regions": {name: [i.pair() for i in self.region(name)] for name in REGIONS},
            "nondifferentiable": [b.x for b in self.breakpoints],
            "intervals": [i.to_dict() for i in self.intervals],
            "breakpoints": [b.to_dict() for b in self.breakpoints],
            "max_abs_derivative": self.max_abs.to_dict(),
            "formula": a.formula,
            "tail": self.tail,
        }


def gradient_regions(activation: Activation | str, fast: float = 0.99,
                     slow: float = 0.01) -> RegionResult:
    """Exact gradient regions of ``activation`` (an Activation or a spec string).

    fast: |f'| > fast;  active: slow <= |f'| <= fast;  slow: 0 < |f'| < slow;  inactive: f' = 0.
    Raises ActlabError for a bad spec or thresholds that are not finite with 0 <= slow <= fast.
    """
    th = Thresholds(fast, slow)
    act = parse_activation(activation)
    structure = derivative_structure(act)
    pieces: list[_Piece] = []
    for i, (stretch, ends) in enumerate(zip(structure.stretches, structure.ends, strict=True)):
        if i > 0:
            p = structure.points[stretch.lo]
            pieces.append(_Piece(p.x, p.x, th.classify(p.derivative)))
        pieces.extend(_stretch_pieces(act, stretch, ends, th))
    return RegionResult(act, th, merge_pieces(pieces), act.breakpoints(),
                        max_abs_derivative(structure), act.tail_proof())


@dataclass(frozen=True)
class RegionsReport:
    """Regions of several activations under the same thresholds (the ``regions`` command)."""

    thresholds: Thresholds
    results: tuple[RegionResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": self.thresholds.to_dict(),
                "activations": [r.to_dict() for r in self.results]}


def regions_report(specs: Iterable[Activation | str], fast: float = 0.99,
                   slow: float = 0.01) -> RegionsReport:
    """gradient_regions for each spec (thresholds validated once, before any work)."""
    th = Thresholds(fast, slow)
    activations = [parse_activation(s) for s in specs]
    return RegionsReport(th, tuple(gradient_regions(a, th.fast, th.slow) for a in activations))
