"""JumpReLU as a retrofit: sweep the threshold q, measure accuracy and the exact OAE distance.

JumpReLU(a) = a if a >= q else 0 replaces every hidden activation of an already trained network
(Erichson, Yao, Mahoney 2019). For each q the exact, certified OAE distance of every sample is
computed (``actlab.oae``), and the best q is the one with the largest mean distance among those
whose accuracy equals the accuracy at q = 0 (ties: the smallest such q).

Where distances change (exactly). Fix an on/off pattern of the hidden units (on: a_j >= q,
off: a_j < q). In that region every unit outputs a_j or 0, values that do not depend on q, so the
pre-activations and logits are affine in x and the region and "other class" constraints are
linear in (x, q) jointly. Hence d_P(q), the distance to that pattern's adversarial set, is a
convex function of q, and d(q) = min_P d_P(q). For each pattern the set {q : d_P(q) <= d(0)} is an
interval [l_P, r_P], found by convex 1-D search and bisection on exact LP/QP distances. Then
d(q) = d(0) on [0, q*] with q* = min(first l_P of a pattern that dips below d(0), end of the run
of intervals that contains 0), and d changes right after q*. These thresholds come from the
network's pre-activation constraints, not from the sweep grid.
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
from actlab.oae.polyhedron import FloatArray, Polyhedron, project
from actlab.oae.result import OAEResult

MAX_PATTERN_UNITS = 12
BISECTION_STEPS = 80
DISTANCE_TOL = 1e-12  # relative: d_P(q) <= d(0) (1 + tol) counts as 'still at d(0)'


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
                 "accuracy at q = 0 (ties: smallest q)")
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
            if not step > 0 or stop < start:
                raise ValueError
            count = math.floor((stop - start) / step + 1e-9) + 1
            if count > 10_000:
                raise ActlabError("--q range has more than 10,000 values")
            values = [round(start + i * step, 12) for i in range(count)]
        else:
            values = [float(v) for v in text.split(",")]  # '' (as in 0,,1) is an error
    except ValueError:
        raise ActlabError(f"--q must be numbers like 0,0.1,0.5 or START:STOP:STEP, got {text!r}"
                          ) from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise ActlabError(f"--q needs finite values >= 0, got {text!r}")
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
                   time_limit: float | None = None) -> SweepResult:
    """Accuracy and exact OAE distances for each q (q = 0 always included)."""
    x = np.atleast_2d(np.asarray(inputs, dtype=np.float64))
    y = None if labels is None else class_labels(network, labels, len(x))

    def row(q: float) -> SweepRow:
        net = retrofit(network, q)
        accuracy = None if y is None else float(np.mean(net.classify(x) == y))
        return SweepRow(q, accuracy, [oae(net, xi, norm, box, time_limit=time_limit) for xi in x])

    zero = row(0.0)
    default = default_q_grid(network, x)
    q_max = max(default[-1], *(qs or [0.0]))  # thresholds look past a short grid
    thresholds = distance_thresholds(network, x, [r.distance for r in zero.results], norm, box,
                                     q_max=q_max)
    if qs is None:  # the default grid also shows each exact threshold
        qs = default + [t.q_star for t in thresholds if t.q_star is not None]
    grid = sorted({float(q) for q in qs} - {0.0})
    rows = [zero, *(row(q) for q in grid)]
    base = zero.accuracy
    eligible = [r for r in rows if r.accuracy == base and r.mean_distance is not None]
    best = max(eligible, key=lambda r: (r.mean_distance, -r.q)) if eligible else zero
    notes = [] if all(r.certified for r in rows) else ["some distances are not certified"]
    return SweepResult(network.name, norm, x.tolist(), None if y is None else y.tolist(), rows,
                       thresholds, best.q, notes=notes)


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


def _sublevel_interval(system: _PatternSystem, norm: str, level: float, q_max: float
                       ) -> tuple[float, float, float] | None:
    """[l, r] = {q in [0, q_max] : d_P(q) <= level} and min d_P, or None when empty."""
    f = lambda q: _distance(system, q, norm)  # noqa: E731
    lo, hi = 0.0, q_max  # golden-section search for the minimum of the convex f
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(BISECTION_STEPS):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = f(b)
    candidates = [(f(0.0), 0.0), (f(q_max), q_max), (fa, a), (fb, b)]
    best_value, best_q = min(candidates)
    if best_value > level:
        return None
    left = 0.0 if f(0.0) <= level else _crossing(f, 0.0, best_q, level)
    right = q_max if f(q_max) <= level else _crossing(f, best_q, q_max, level)
    return left, right, best_value


def distance_thresholds(network: Network, inputs: ArrayLike, distances: Sequence[float | None],
                        norm: str = "l2", box: tuple[float, float] | None = None,
                        q_max: float = 2.0) -> list[Threshold]:
    """For each sample, the exact q* up to which its OAE distance stays at d(0) (see the module
    docstring). ``distances`` are the exact distances at q = 0."""
    out = []
    for index, (x0, d0) in enumerate(zip(np.atleast_2d(inputs), distances, strict=True)):
        x0 = np.asarray(x0, dtype=np.float64)
        c0 = int(network.classify(x0)[0])
        tol = DISTANCE_TOL * max(1.0, 0.0 if d0 is None else d0)
        level = math.inf if d0 is None else d0 + tol
        dips, holds = [], []
        for system in _pattern_systems(network, x0, c0, box):
            interval = _sublevel_interval(system, norm, level, q_max) if d0 is not None else (
                _reachable(system, norm, q_max))
            if interval is None:
                continue
            left, right, minimum = interval
            if d0 is not None and minimum < d0 - tol:
                dips.append(left)
            holds.append((left, right))
        q_star, direction, cause = _first_change(dips, holds, d0, q_max)
        out.append(Threshold(index, x0.tolist(), d0, q_star, direction, q_max, cause))
    return out


def _reachable(system: _PatternSystem, norm: str, q_max: float
               ) -> tuple[float, float, float] | None:
    """For a sample with no adversarial input at q = 0: the first q where one appears."""
    f = lambda q: _distance(system, q, norm)  # noqa: E731
    grid = np.linspace(0.0, q_max, 65)
    finite = [q for q in grid if math.isfinite(f(q))]
    if not finite:
        return None
    return finite[0], finite[-1], -math.inf


def _first_change(dips: list[float], holds: list[tuple[float, float]], d0: float | None,
                  q_max: float) -> tuple[float | None, str, str]:
    """q*, direction and cause from the patterns' sublevel intervals."""
    if d0 is None:
        first = min(dips or [l for l, _ in holds], default=None)
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
