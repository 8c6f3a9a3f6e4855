"""JumpReLU as a retrofit: sweep the threshold q, measure accuracy and the exact OAE distance.

JumpReLU(a) = a if a >= q else 0 replaces every hidden activation of an already trained network
(Erichson, Yao, Mahoney 2019). For each q the exact, certified OAE distance of every sample is
computed (``actlab.oae``), and the best q is the one with the largest mean distance among those
whose accuracy equals the accuracy at q = 0 (ties, means within a relative 1e-9: the smallest such
q; the mean can be constant on an interval of q, where one sample's distance rises as fast as
another's falls).

Where distances change (exactly). Fix an on/off pattern of the hidden units (on: a_j >= q,
off: a_j < q). In that region every unit outputs a_j or 0, values that do not depend on q, so the
pre-activations and logits are affine in x and the region and "other class" constraints are
linear in (x, q) jointly. Hence d_P(q), the distance to that pattern's adversarial set, is a
convex function of q on the interval of q where the set is non-empty (found exactly by two LPs in
(x, q)), and d(q) = min_P d_P(q). For each pattern the set {q : d_P(q) <= d(0)} is an interval
[l_P, r_P], found by convex 1-D search and bisection on exact LP/QP distances. Then
d(q) = d(0) on [0, q*] with q* = min(first l_P of a pattern that dips below d(0), end of the run
of intervals that contains 0), and d changes right after q*. These thresholds come from the
network's pre-activation constraints, not from the sweep grid. A sample with no input of another
class at q = 0 gets the first q at which one exists (the smallest l_P). The search runs on
[0, q_max] but starts on the data's range (``q_start``) and widens only for samples whose
distance has not changed yet, so a huge --q does not blur the thresholds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from actlab.errors import ActlabError
from actlab.network import Network
from actlab.oae.api import oae
from actlab.oae.exact import box_constraints, target_rows
from actlab.oae.polyhedron import FloatArray, Polyhedron, project, strict_interior
from actlab.oae.rational import exact_class
from actlab.oae.result import OAEResult

MAX_PATTERN_UNITS = 12
BISECTION_STEPS = 80
GOLDEN_STEPS = 200  # cap; the search stops once the bracket is below 1e-15 relative
DISTANCE_TOL = 1e-12  # relative: d_P(q) <= d(0) (1 + tol) counts as 'still at d(0)'
MEAN_TIE_TOL = 1e-9  # relative: mean distances this close count as equal for the best q
MAX_Q = 1e6  # beyond this the exact solver's LP/QP lose the precision certification needs


@dataclass
class SweepRow:
    """One q: accuracy on the labelled data and each sample's exact OAE result."""

    q: float
    accuracy: float | None
    results: list[OAEResult]

    @property
    def distances(self) -> list[float | None]:
        return [r.distance for r in self.results]

    @property
    def mean_distance(self) -> float | None:
        """Mean over the samples that have an adversarial input at all (None if none has)."""
        finite = [d for d in self.distances if d is not None]
        return float(np.mean(finite)) if finite else None

    @property
    def certified(self) -> bool:
        return all(r.certified for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"q": self.q, "accuracy": self.accuracy, "distances": self.distances,
                "mean_distance": self.mean_distance, "certified": self.certified,
                "lower_bounds": [None if math.isinf(r.lower_bound) else r.lower_bound
                                 for r in self.results],
                "classes": [r.cls for r in self.results]}


@dataclass
class Threshold:
    """Sample ``index``'s distance equals d(0) for q in [0, q_star] and changes right after
    (``direction`` up or down); q_star is None when it never changes up to ``q_max``."""

    index: int
    x: list[float]
    distance_at_zero: float | None
    q_star: float | None
    direction: str
    q_max: float
    cause: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "x": self.x, "distance_at_zero": self.distance_at_zero,
                "q_star": self.q_star, "direction": self.direction, "q_max": self.q_max,
                "cause": self.cause}


@dataclass
class SweepResult:
    """The whole sweep: one row per q, the exact thresholds and the chosen q."""

    model: str
    norm: str
    inputs: list[list[float]]
    labels: list[int] | None
    rows: list[SweepRow]
    thresholds: list[Threshold]
    best_q: float
    rule: str = ("largest mean exact OAE distance among the q whose accuracy equals the "
                 "accuracy at q = 0 (ties, means within 1e-9 relative: smallest q)")
    notes: list[str] = field(default_factory=list)

    def row(self, q: float) -> SweepRow:
        return next(r for r in self.rows if r.q == q)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "norm": self.norm, "inputs": self.inputs,
                "labels": self.labels, "rows": [r.to_dict() for r in self.rows],
                "thresholds": [t.to_dict() for t in self.thresholds], "best_q": self.best_q,
                "rule": self.rule, "notes": self.notes}


def parse_q_list(text: str) -> list[float]:
    """``0,0.1,0.5`` or ``START:STOP:STEP`` (inclusive) -> sorted unique q >= 0."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if not step > 0 or not stop >= start:
                raise ValueError
            span = (stop - start) / step
        else:
            values = [float(v) for v in text.split(",")]  # '' (as in 0,,1) is an error
    except ValueError:
        raise ActlabError(f"--q must be numbers like 0,0.1,0.5 or START:STOP:STEP, got {text!r}"
                          ) from None
    if ":" in text:
        if not math.isfinite(span) or span + 1e-9 >= 10_000:
            raise ActlabError(f"--q range {text!r} has more than 10,000 values")
        values = [round(start + i * step, 12) for i in range(math.floor(span + 1e-9) + 1)]
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise ActlabError(f"--q needs finite values >= 0, got {text!r}")
    if max(values) > MAX_Q:
        raise ActlabError(f"--q values must be at most {MAX_Q:g} (the exact distances are not "
                          f"reliable beyond), got {max(values):g}")
    return sorted(set(values))


def default_q_grid(network: Network, inputs: ArrayLike, points: int = 41) -> list[float]:
    """0 to a bit beyond the largest positive first-layer pre-activation on the data, evenly."""
    pre = np.atleast_2d(inputs) @ network.layers[0].weight.T + network.layers[0].bias
    top = float(np.max(pre, initial=0.0))
    top = 1.0 if top <= 0 else math.ceil(top * 1.25 * 10) / 10
    return [round(float(v), 10) for v in np.linspace(0.0, top, points)]


def retrofit(network: Network, q: float) -> Network:
    """The network with every hidden activation replaced by jumprelu:q."""
    return network.with_hidden_activation(f"jumprelu:q={float(q)!r}")


def class_labels(network: Network, labels: ArrayLike, n: int) -> NDArray[np.int64]:
    """Labels as the network's classes (0/1 for a binary head, 0..k-1 for k logits), one per
    sample; ActlabError otherwise (accuracy needs hard labels: 0.5 or 7 would be miscounted)."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if y.shape != (n,):
        raise ActlabError(f"need one label per sample: {n} samples, {y.size} labels")
    classes = network.num_classes
    if not np.all(np.isfinite(y)) or np.any((y != np.round(y)) | (y < 0) | (y >= classes)):
        raise ActlabError(f"labels must be the network's classes 0..{classes - 1} (whole "
                          "numbers) to measure accuracy")
    return y.astype(np.int64)


def jumprelu_sweep(network: Network, inputs: ArrayLike, labels: ArrayLike | None,
                   qs: Sequence[float] | None = None, norm: str = "l2",
                   box: tuple[float, float] | None = None,
                   time_limit: float | None = None, also: Sequence[float] = ()) -> SweepResult:
    """Accuracy and exact OAE distances for each q (q = 0 always included). ``qs`` None: the
    default grid plus each exact threshold; ``also``: more q added to either grid."""
    x = np.atleast_2d(np.asarray(inputs, dtype=np.float64))
    y = None if labels is None else class_labels(network, labels, len(x))
    if any(not (math.isfinite(q) and 0 <= q <= MAX_Q) for q in [*(qs or []), *also]):
        raise ActlabError(f"q values must be finite, >= 0 and at most {MAX_Q:g}")

    def row(q: float) -> SweepRow:
        net = retrofit(network, q)
        accuracy = None if y is None else float(np.mean(net.classify(x) == y))
        return SweepRow(q, accuracy, [oae(net, xi, norm, box, time_limit=time_limit) for xi in x])

    zero = row(0.0)
    default = default_q_grid(network, x)
    q_max = max(default[-1], *(qs or [0.0]), *also)  # thresholds look past a short grid
    thresholds = distance_thresholds(network, x, [r.distance for r in zero.results], norm, box,
                                     q_max=q_max, q_start=default[-1])
    if qs is None:  # the default grid also shows each exact threshold
        qs = default + [t.q_star for t in thresholds if t.q_star is not None]
    grid = sorted({float(q) for q in [*qs, *also]} - {0.0})
    rows = [zero, *(row(q) for q in grid)]
    best = best_row(rows)
    notes = [] if all(r.certified for r in rows) else ["some distances are not certified"]
    return SweepResult(network.name, norm, x.tolist(), None if y is None else y.tolist(), rows,
                       thresholds, best.q, notes=notes)


def best_row(rows: Sequence[SweepRow]) -> SweepRow:
    """The stated rule: among the rows whose accuracy equals row 0's (q = 0), the largest mean
    distance; means within MEAN_TIE_TOL (relative) tie, and the smallest q wins a tie."""
    base = rows[0].accuracy
    eligible = [r for r in rows if r.accuracy == base and r.mean_distance is not None]
    if not eligible:
        return rows[0]
    top = max(r.mean_distance for r in eligible)
    return min((r for r in eligible if r.mean_distance >= top - MEAN_TIE_TOL * max(1.0, top)),
               key=lambda r: r.q)


# --- exact thresholds -----------------------------------------------------------------------
@dataclass(frozen=True)
class _PatternSystem:
    """Rows A y + B q <= b (y = x - x0), some strict, for one on/off pattern and target."""

    A: FloatArray
    B: FloatArray
    b: FloatArray
    strict: np.ndarray

    def at(self, q: float) -> Polyhedron:
        return Polyhedron(self.A, self.b - self.B * q, self.strict)


def _pattern_systems(network: Network, x0: FloatArray, c0: int,
                     box: tuple[float, float] | None) -> list[_PatternSystem]:
    """Every on/off pattern of the hidden units, with each other-class target."""
    sizes = [len(layer.bias) for layer in network.hidden_layers]
    if sum(sizes) > MAX_PATTERN_UNITS:
        raise ActlabError(f"exact thresholds enumerate 2^units patterns; this network has "
                          f"{sum(sizes)} hidden units (limit {MAX_PATTERN_UNITS})")
    base = box_constraints(x0, box)
    systems = []
    for flat in itertools.product((0, 1), repeat=sum(sizes)):
        rows, qcoef, rhs, strict = list(base.A), [0.0] * len(base.b), list(base.b), list(
            base.strict)
        P = network.layers[0].weight.copy()
        p = network.layers[0].weight @ x0 + network.layers[0].bias
        offset = 0
        for l, n in enumerate(sizes):
            on = np.array(flat[offset:offset + n], dtype=float)
            offset += n
            for j in range(n):
                if on[j]:  # a_j >= q  <=>  -P_j y + q <= p_j
                    rows.append(-P[j])
                    qcoef.append(1.0)
                    rhs.append(p[j])
                    strict.append(False)
                else:  # a_j < q  <=>  P_j y - q < -p_j
                    rows.append(P[j])
                    qcoef.append(-1.0)
                    rhs.append(-p[j])
                    strict.append(True)
            nxt = network.layers[l + 1]
            P, p = nxt.weight @ (on[:, None] * P), nxt.weight @ (on * p) + nxt.bias
        for _, t_rows, t_rhs, t_strict in target_rows(network, c0, P, p):
            systems.append(_PatternSystem(
                np.vstack([np.array(rows).reshape(-1, len(x0)), t_rows]),
                np.concatenate([qcoef, np.zeros(len(t_rhs))]),
                np.concatenate([rhs, t_rhs]),
                np.concatenate([strict, np.full(len(t_rhs), t_strict)])))
    return systems


def _distance(system: _PatternSystem, q: float, norm: str) -> float:
    proj = project(system.at(q), norm)
    return proj.distance if proj.feasible else math.inf


def _q_range(system: _PatternSystem, q_max: float) -> tuple[float, float] | None:
    """[lo, hi]: the q in [0, q_max] for which the pattern's set is non-empty (its closure, by
    two LPs in (y, q); the set is convex in (y, q), so these q form an interval), or None when
    the strict system is empty for every such q (only its closure would touch)."""
    from scipy.optimize import linprog

    d = system.A.shape[1]
    rows = np.hstack([system.A, system.B[:, None]])
    bounds = [(None, None)] * d + [(0.0, q_max)]
    ends = []
    for sign in (1.0, -1.0):
        cost = np.zeros(d + 1)
        cost[d] = sign
        res = linprog(cost, A_ub=rows, b_ub=system.b, bounds=bounds, method="highs")
        if res.status == 2:  # infeasible
            return None
        if res.status != 0:
            raise RuntimeError(f"HiGHS: {res.message} (q range of a JumpReLU pattern)")
        ends.append(min(max(float(res.x[d]), 0.0), q_max))
    joint = Polyhedron(np.vstack([rows, np.eye(d + 1)[d], -np.eye(d + 1)[d]]),
                       np.concatenate([system.b, [q_max, 0.0]]),
                       np.concatenate([system.strict, [False, False]]))
    margin, _ = strict_interior(joint)
    if margin <= 0.0:
        return None
    return ends[0], ends[1]


def _golden_minimum(f, lo: float, hi: float) -> tuple[float, float]:
    """(min f, argmin) of a convex f on [lo, hi], by golden-section search (both ends included
    among the candidates)."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    candidates = [(f(lo), lo), (f(hi), hi)]
    for _ in range(GOLDEN_STEPS):
        if hi - lo <= 1e-15 * max(1.0, abs(hi)):
            break
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = f(b)
    return min([*candidates, (fa, a), (fb, b)])


def _crossing(f, lo: float, hi: float, level: float) -> float:
    """For convex f with f(lo) > level >= f(hi) (or the reverse), the q in [lo, hi] where f
    crosses ``level``, by bisection."""
    below_at_hi = f(hi) <= level
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if (f(mid) <= level) == below_at_hi:
            hi = mid
        else:
            lo = mid
    return hi if below_at_hi else lo


def _sublevel_interval(system: _PatternSystem, norm: str, level: float, q_range: tuple[float, float]
                       ) -> tuple[float, float, float] | None:
    """[l, r] = {q in q_range : d_P(q) <= level} and min d_P, or None when empty. On q_range the
    pattern's set is non-empty, so d_P is finite and convex there."""
    f = lambda q: _distance(system, q, norm)  # noqa: E731
    lo, hi = q_range
    best_value, best_q = _golden_minimum(f, lo, hi)
    if best_value > level:
        return None
    left = lo if f(lo) <= level else _crossing(f, lo, best_q, level)
    right = hi if f(hi) <= level else _crossing(f, best_q, hi, level)
    return left, right, best_value


def distance_thresholds(network: Network, inputs: ArrayLike, distances: Sequence[float | None],
                        norm: str = "l2", box: tuple[float, float] | None = None,
                        q_max: float = 2.0, q_start: float | None = None) -> list[Threshold]:
    """For each sample, the exact q* up to which its OAE distance stays at d(0) (see the module
    docstring). ``distances`` are the exact distances at q = 0. The search covers [0, q_start]
    first and widens (x4 each time, up to ``q_max``) only while a sample's distance has not
    changed."""
    out = []
    for index, (x0, d0) in enumerate(zip(np.atleast_2d(inputs), distances, strict=True)):
        x0 = np.asarray(x0, dtype=np.float64)
        c0 = exact_class(network, x0)  # the class the OAE computation uses
        systems = _pattern_systems(network, x0, c0, box)
        span = q_max if q_start is None or not 0 < q_start < q_max else q_start
        while True:
            q_star, direction, cause = _sample_threshold(systems, d0, norm, span)
            if q_star is not None or span >= q_max:
                break
            span = min(q_max, 4.0 * span)
        out.append(Threshold(index, x0.tolist(), d0, q_star, direction, span, cause))
    return out


def _sample_threshold(systems: list[_PatternSystem], d0: float | None, norm: str, q_max: float
                      ) -> tuple[float | None, str, str]:
    """One sample's q*, direction and cause on [0, q_max]."""
    tol = DISTANCE_TOL * max(1.0, 0.0 if d0 is None else d0)
    level = math.inf if d0 is None else d0 + tol
    dips, holds = [], []
    for system in systems:
        q_range = _q_range(system, q_max)
        if q_range is None:
            continue
        if d0 is None:  # no input of another class at q = 0: where does one first exist?
            holds.append(q_range)
            continue
        interval = _sublevel_interval(system, norm, level, q_range)
        if interval is None:
            continue
        left, right, minimum = interval
        if minimum < d0 - tol:
            dips.append(left)
        holds.append((left, right))
    return _first_change(dips, holds, d0, q_max)


def _first_change(dips: list[float], holds: list[tuple[float, float]], d0: float | None,
                  q_max: float) -> tuple[float | None, str, str]:
    """q*, direction and cause from the patterns' sublevel intervals."""
    if d0 is None:
        first = min((left for left, _ in holds), default=None)
        return first, "appears" if first is not None else "none", (
            "first q at which an input of another class exists" if first is not None
            else "no input of another class for any q in the range")
    run_end = 0.0
    for left, right in sorted(holds):
        if left <= run_end + 1e-12:
            run_end = max(run_end, right)
    first_dip = min(dips, default=math.inf)
    if first_dip <= run_end and first_dip < q_max:
        return first_dip, "down", ("a pattern whose adversarial set comes closer than d(0) "
                                   f"appears at q = {first_dip:.9g}")
    if run_end < q_max:
        return run_end, "up", ("every pattern at distance d(0) loses its closest point "
                               f"beyond q = {run_end:.9g}")
    return None, "none", f"unchanged on [0, {q_max:g}]"
