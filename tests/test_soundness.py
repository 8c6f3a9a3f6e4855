"""Soundness of the exact OAE under adversarial random testing (issue "Reliability").

"A verifier that is wrong once is worse than none": actlab must never report a witness that does
not flip the class, a lower bound above the true distance, or a (certified) distance that some
input of another class beats. Every case here is a random small network, a point, a norm and
maybe a box; the verdicts come from sources that do not share code with the solvers:

* exact rational forward passes: ``actlab.oae.rational.exact_class`` and, independently, one
  written here from each activation's definition (not from its linear pieces);
* the attacks (FGSM, PGD, DeepFool, C&W) and random sampling in the ball of the claimed radius,
  every hit re-checked in exact arithmetic;
* a dense grid (1-D and 2-D inputs) and full activation-pattern enumeration (tests/oracles.py);
* the other exact solver (MILP against branch and bound), and the same network with its hidden
  units permuted or a positively homogeneous unit rescaled by a power of two.

Cases are built to be nasty: dyadic weights so that points sit exactly on kinks, on jumps and
on the decision boundary (ties), duplicated and cancelling units, zero weights, networks whose
class is constant (everywhere or in the box; the distance must then be None).

``check_case`` runs every property on one case and returns an ``Outcome`` that separates real
violations (``unsound``) from allowed incompleteness (time limits, uncertified brackets, oracle
disagreements that no verified point settles). The hypothesis tests below assert on it; the soak
(``pytest -m soak`` and ``scripts/soak.py``) runs it on thousands of seeded cases.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import oracles
from actlab.activations import Activation
from actlab.errors import ActlabError
from actlab.io import network_from_dict, network_to_dict
from actlab.network import Layer, Network
from actlab.oae import attacks
from actlab.oae.api import oae
from actlab.oae.milp import oae_milp
from actlab.oae.rational import exact_class
from actlab.oae.result import OAEResult, agrees

FloatArray = NDArray[np.float64]
Box = tuple[float, float]

NORMS = ("l2", "linf", "l1")
HEADS = ("sigmoid", "softmax")
SPECS: dict[str, tuple[str, ...]] = {
    "relu": ("relu",),
    "leaky_relu": ("leaky_relu", "leaky_relu:slope=0.25", "leaky_relu:slope=-0.5"),
    "plu": ("plu:alpha=0.2,c=1", "plu:alpha=0.25,c=0.5"),
    "hardtanh": ("hardtanh", "hardtanh:min_val=-0.5,max_val=1.5"),
    "identity": ("identity",),
    "jumprelu_q0": ("jumprelu",),
    "jumprelu_q": ("jumprelu:q=0.25", "jumprelu:q=0.5", "jumprelu:q=0.1", "jumprelu:q=0.3"),
}
KINDS = tuple(SPECS)
HOMOGENEOUS = ("relu", "leaky_relu", "identity", "jumprelu_q0")  # f(s a) = s f(a) for s > 0
MODES = ("gaussian", "dyadic", "kink", "boundary", "duplicate", "zero", "constant")
ADVERSARIAL_MODES = ("kink", "boundary", "duplicate", "zero")

WITNESS_SLACK = 1e-6  # the witness may be this much farther than the distance (the contract)


def beat_tol(distance: float) -> float:
    """An adversarial input closer than ``distance - beat_tol`` refutes the distance: 1e-7,
    relative for distances above 1."""
    return 1e-7 * max(1.0, distance)


# --- norms and exact classes ----------------------------------------------------------------
def lp(v: FloatArray, norm: str) -> float:
    """||v|| in the named norm."""
    return float(oracles.lp_norm(np.asarray(v, dtype=np.float64), norm))


def _definition(act: Activation) -> Callable[[Fraction], Fraction]:
    """The activation from its textbook definition, on exact rationals (not from its pieces)."""
    p = {k: Fraction(float(v)) for k, v in act.params.items()}
    zero = Fraction(0)
    if act.name == "relu":
        return lambda a: max(a, zero)
    if act.name == "leaky_relu":
        return lambda a: a if a > 0 else p["slope"] * a
    if act.name == "plu":
        al, c = p["alpha"], p["c"]
        return lambda a: (al * a + c * (1 - al) if a > c else a if a >= -c
                          else al * a - c * (1 - al))
    if act.name == "hardtanh":
        return lambda a: min(max(a, p["min_val"]), p["max_val"])
    if act.name == "identity":
        return lambda a: a
    if act.name == "jumprelu":
        return lambda a: a if a >= p["q"] else zero
    raise AssertionError(f"no definition for {act.spec}")


def pieces_are_the_definition(network: Network) -> bool:
    """Do the activations' float pieces equal their definitions exactly? Not for, e.g.,
    plu:alpha=0.2, whose intercept c (1 - alpha) is rounded to a float: there the library's
    network (float and rational passes alike) and the textbook one differ by ~1e-17, which
    decides exact ties (a plateau where two logits are equal in decimal arithmetic)."""
    for act in network.hidden_activations:
        f = _definition(act)
        for piece in act.pieces():
            ends = [e for e in (piece.lo, piece.hi) if math.isfinite(e)]
            probes = {e + s for e in ends for s in (-1.0, 0.0, 1.0)} | {0.0, 1.0, -1.0}
            for v in probes:
                if piece.contains(v) and f(Fraction(v)) != (
                        Fraction(piece.slope) * Fraction(v) + Fraction(piece.intercept)):
                    return False
    return True


def exact_logits_of(network: Network, x: FloatArray) -> list[Fraction]:
    """Logits in exact rationals (the activations' definitions)."""
    h = [Fraction(float(v)) for v in x]
    for layer in network.layers[:-1]:
        f = _definition(layer.activation)
        h = [f(sum((Fraction(float(w)) * v for w, v in zip(row, h, strict=True)),
                   Fraction(float(b)))) for row, b in zip(layer.weight, layer.bias, strict=True)]
    last = network.layers[-1]
    return [sum((Fraction(float(w)) * v for w, v in zip(row, h, strict=True)), Fraction(float(b)))
            for row, b in zip(last.weight, last.bias, strict=True)]


def exact_class_by_definition(network: Network, x: FloatArray) -> int:
    """The class of x in exact rationals: binary 1 iff z > 0, else argmax with ties to the
    lowest index (DESIGN.md), written independently of actlab.oae."""
    z = exact_logits_of(network, x)
    if network.binary:
        return int(z[0] > 0)
    return min(range(len(z)), key=lambda j: (-z[j], j))


def true_class(network: Network, x: FloatArray) -> int:
    """x's class in exact arithmetic, the OAE's reference (a float pass can round a tie):
    by the textbook definitions when the float pieces equal them, else by actlab's rational
    pass over the float pieces (the network it really computes)."""
    if pieces_are_the_definition(network):
        return exact_class_by_definition(network, x)
    return exact_class(network, x)


def in_box(p: FloatArray, box: Box | None, tol: float = 0.0) -> bool:
    """lo <= p <= hi (exactly unless a tolerance is given)."""
    return box is None or bool(np.all(p >= box[0] - tol) and np.all(p <= box[1] + tol))


# --- cases ----------------------------------------------------------------------------------
@dataclass
class Case:
    """One network, point, norm and box, with how it was built."""

    network: Network
    x: FloatArray
    norm: str
    box: Box | None
    kind: str
    head: str
    mode: str
    constant: bool = False  # built so that every input (in the box) has the same class
    seed: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A reproducer: the model in actlab JSON, the point, the norm and the box."""
        return {"model": network_to_dict(self.network), "x": self.x.tolist(), "norm": self.norm,
                "box": None if self.box is None else list(self.box), "kind": self.kind,
                "head": self.head, "mode": self.mode, "constant": self.constant,
                "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Case:
        box = None if d["box"] is None else (float(d["box"][0]), float(d["box"][1]))
        return cls(network_from_dict(d["model"]), np.array(d["x"], dtype=np.float64), d["norm"],
                   box, d.get("kind", "?"), d.get("head", "?"), d.get("mode", "?"),
                   bool(d.get("constant", False)), list(d.get("seed", [])))


def _pick(rng: np.random.Generator, options: Iterable[Any]) -> Any:
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _dyadic(rng: np.random.Generator, shape: tuple[int, ...], half: int = 4,
            denominator: float = 2.0) -> FloatArray:
    """Small dyadic rationals k / denominator, |k| <= half (zero included)."""
    return rng.integers(-half, half + 1, size=shape) / denominator


def _breakpoints(spec: str) -> list[float]:
    """Finite piece ends (kinks and jumps) of an activation spec."""
    net = Network.from_arrays([[[1.0]], [[1.0]]], [[0.0], [0.0]], [spec, "sigmoid"])
    ends = {e for p in net.layers[0].activation.pieces() for e in (p.lo, p.hi)}
    return sorted(e for e in ends if math.isfinite(e))


def _hidden_at(weights: list[FloatArray], biases: list[FloatArray], spec: str, x: FloatArray,
               upto: int) -> FloatArray:
    """Output of hidden layer ``upto - 1`` at x (x itself for upto = 0)."""
    if upto == 0:
        return x
    net = Network.from_arrays([*weights[:upto], np.zeros((1, len(biases[upto - 1])))],
                              [*biases[:upto], np.zeros(1)], [spec] * upto + ["sigmoid"])
    return net.hidden(x)[0]


def make_case(rng: np.random.Generator, kind: str | None = None, head: str | None = None,
              norm: str | None = None, mode: str | None = None, dim: int | None = None,
              depth: int | None = None, boxed: bool | None = None, max_width: int = 4,
              seed: list[int] | None = None) -> Case:
    """A random case; unspecified choices are drawn from ``rng`` (deterministic given it).
    Small networks often have one class everywhere; outside the ``constant`` mode the weights
    are redrawn (up to 3 times) until a few hundred random inputs show two classes."""
    kind = kind or _pick(rng, KINDS)
    head = head or _pick(rng, HEADS)
    norm = norm or _pick(rng, NORMS)
    mode = mode or _pick(rng, MODES)
    for _ in range(3):
        case = _build_case(rng, kind, head, norm, mode, dim, depth, boxed, max_width, seed)
        if mode == "constant" or _two_classes(rng, case):
            break
    return case


def _two_classes(rng: np.random.Generator, case: Case) -> bool:
    """Do 300 random inputs (in the box, or in [-3, 3]^d) and x show more than one class?"""
    lo, hi = case.box or (-3.0, 3.0)
    points = np.vstack([case.x, rng.uniform(lo, hi, (300, len(case.x)))])
    return len(np.unique(case.network.classify(points))) > 1


def _build_case(rng: np.random.Generator, kind: str, head: str, norm: str, mode: str,
                dim: int | None, depth: int | None, boxed: bool | None, max_width: int,
                seed: list[int] | None) -> Case:
    spec = _pick(rng, SPECS[kind])
    d = dim or int(rng.integers(1, 5))
    depth = depth or int(rng.integers(1, 3))
    widths = [int(rng.integers(1, max_width + 1)) for _ in range(depth)]
    if mode in ("duplicate", "constant"):
        widths[-1] = max(widths[-1], 2)
    k = 1 if head == "sigmoid" else int(rng.integers(2, 4))
    sizes = [d, *widths, k]
    shapes = list(itertools.pairwise(sizes))
    if mode == "gaussian" or (mode in ("duplicate", "zero") and rng.random() < 0.4):
        weights = [rng.normal(size=(o, i)).round(1) for i, o in shapes]
        biases = [rng.normal(size=o).round(1) for o in sizes[1:]]
        x = rng.uniform(-1.0, 1.0, d).round(2)
    else:
        weights = [_dyadic(rng, (o, i)) for i, o in shapes]
        biases = [_dyadic(rng, (o,)) for o in sizes[1:]]
        x = _dyadic(rng, (d,), 4, 4.0)
    if mode in ("gaussian", "dyadic"):  # the input's scale: x * s, W_1 / s (exact: s = 2^k)
        s = _pick(rng, (1.0, 1.0, 1.0, 1.0 / 16, 16.0))
        x, weights[0] = x * s, weights[0] / s
    if boxed is None:
        boxed = bool(rng.random() < 0.5)
    constant = False
    if mode in ("kink", "boundary"):
        _put_on_kinks(rng, weights, biases, spec, x, 0.5 if mode == "kink" else 0.3)
    if mode == "boundary":
        _put_on_boundary(rng, weights, biases, spec, x)
    elif mode == "duplicate":
        _duplicate_units(rng, weights, biases)
    elif mode == "zero":
        _zero_weights(rng, weights)
    elif mode == "constant":
        construction = _pick(rng, _constant_constructions(kind, head))
        boxed = boxed or construction == "box_dead"
        constant = True
    box = _make_box(rng, x) if boxed else None
    if mode == "constant":
        _make_constant(rng, construction, kind, spec, head, weights, biases, box)
    acts = [spec] * depth + [head]
    net = Network.from_arrays(weights, biases, acts, name=f"{mode}-{kind}")
    return Case(net, x, norm, box, kind, head, mode, constant, list(seed or []))


def _make_box(rng: np.random.Generator, x: FloatArray) -> Box:
    """A box around x; a margin of 0 puts x on a face."""
    lo = float(np.min(x)) - _pick(rng, (0.0, 0.25, 0.5, 1.0, 2.0, 4.0))
    hi = float(np.max(x)) + _pick(rng, (0.0, 0.25, 0.5, 1.0, 2.0, 4.0))
    return (lo, hi if hi > lo else lo + 0.5)


def _put_on_kinks(rng: np.random.Generator, weights: list[FloatArray], biases: list[FloatArray],
                  spec: str, x: FloatArray, p: float) -> None:
    """Move hidden biases so that pre-activations at x sit exactly on a kink or jump."""
    ends = _breakpoints(spec)
    if not ends:
        return
    for layer in range(len(weights) - 1):
        h = _hidden_at(weights, biases, spec, x, layer)
        for j in range(len(biases[layer])):
            if rng.random() < p:
                biases[layer][j] = _pick(rng, ends) - float(weights[layer][j] @ h)


def _put_on_boundary(rng: np.random.Generator, weights: list[FloatArray],
                     biases: list[FloatArray], spec: str, x: FloatArray) -> None:
    """Move output biases so that x is exactly on the decision boundary (a tie)."""
    h = _hidden_at(weights, biases, spec, x, len(weights) - 1)
    W, b = weights[-1], biases[-1]
    z = W @ h + b
    if len(b) == 1:
        b[0] = -float(W[0] @ h)
        return
    top = int(np.argmax(z))
    others = [j for j in range(len(b)) if j != top]
    tied = others if rng.random() < 0.3 else [_pick(rng, others)]
    for j in tied:
        b[j] = float(z[top]) - float(W[j] @ h)


def _duplicate_units(rng: np.random.Generator, weights: list[FloatArray],
                     biases: list[FloatArray]) -> None:
    """Copy a hidden unit onto another; its outgoing weights equal, cancelling or random."""
    layer = int(rng.integers(len(weights) - 1))
    width = len(biases[layer])
    if width < 2:
        return
    src, dst = (int(v) for v in rng.choice(width, size=2, replace=False))
    weights[layer][dst] = weights[layer][src]
    biases[layer][dst] = biases[layer][src]
    how = _pick(rng, ("equal", "cancel", "random"))
    if how == "equal":
        weights[layer + 1][:, dst] = weights[layer + 1][:, src]
    elif how == "cancel":
        weights[layer + 1][:, dst] = -weights[layer + 1][:, src]


def _zero_weights(rng: np.random.Generator, weights: list[FloatArray]) -> None:
    """Zero entries, a whole unit's row, or an input's column."""
    for W in weights:
        W[rng.random(W.shape) < 0.25] = 0.0
    if rng.random() < 0.3:
        layer = int(rng.integers(len(weights)))
        weights[layer][int(rng.integers(weights[layer].shape[0]))] = 0.0
    if rng.random() < 0.3:
        weights[0][:, int(rng.integers(weights[0].shape[1]))] = 0.0


def _constant_constructions(kind: str, head: str) -> tuple[str, ...]:
    """Ways to make the class constant that work for this activation."""
    out = ["zero_head", "zero_first", "cancel"]
    if kind in ("relu", "jumprelu_q0", "jumprelu_q", "hardtanh"):
        out += ["bounded", "box_dead"]
    return tuple(out)


def _make_constant(rng: np.random.Generator, construction: str, kind: str, spec: str, head: str,
                   weights: list[FloatArray], biases: list[FloatArray], box: Box | None) -> None:
    """Rewrite weights so the class is the same for every input (in the box for box_dead)."""
    W, b = weights[-1], biases[-1]
    k = len(b)
    if construction == "zero_head":
        W[:] = 0.0
        if k > 1 and rng.random() < 0.5:
            b[:] = b[0]  # every logit tied: class 0 by the tie rule
    elif construction == "zero_first":
        weights[0][:] = 0.0
    elif construction == "cancel":  # two identical units with opposite outgoing weights
        prev = weights[-2]
        prev[1] = prev[0]
        biases[-2][1] = biases[-2][0]
        W[:, 2:] = 0.0
        W[:, 1] = -W[:, 0]
    elif construction == "bounded":  # g = h - m >= 0 (or M - h >= 0): winner's rivals pushed down
        if kind == "hardtanh":
            lo_val, hi_val = _breakpoints(spec)
            bound, sigma = (hi_val, -1.0) if rng.random() < 0.5 else (lo_val, 1.0)
        else:
            bound, sigma = 0.0, 1.0
        c = np.abs(_dyadic(rng, W.shape))
        at_bound = np.full(W.shape[1], bound)
        if k == 1:  # winner 0: z = -c.g + t, t <= 0;  winner 1: z = c.g + t, t > 0
            winner = int(rng.integers(2))
            W[0] = (sigma if winner else -sigma) * c[0]
            t = _pick(rng, (0.25, 1.0)) if winner else _pick(rng, (0.0, -0.5))
            b[0] = t - float(W[0] @ at_bound)
        else:  # z_w = b_w; z_j = -c_j.g + b_w + t_j, t_j < 0 before w (ties go low), <= 0 after
            winner = int(rng.integers(k))
            W[winner] = 0.0
            for j in range(k):
                if j != winner:
                    W[j] = -sigma * c[j]
                    t = _pick(rng, (0.0, -0.5)) if j > winner else _pick(rng, (-0.25, -1.0))
                    b[j] = b[winner] + t - float(W[j] @ at_bound)
    elif construction == "box_dead":  # every first-layer unit on its constant piece in the box
        assert box is not None
        reach = max(abs(box[0]), abs(box[1]))
        floor = _breakpoints(spec)[0] if kind == "hardtanh" else 0.0
        W1 = weights[0]
        biases[0][:] = floor - (np.abs(W1).sum(axis=1) * reach + 0.5)
    else:
        raise AssertionError(construction)


# --- verified adversarial points --------------------------------------------------------------
@dataclass
class Known:
    """The closest input of another class found so far (exactly verified) and its source."""

    distance: float = math.inf
    point: FloatArray | None = None
    source: str = ""


@dataclass
class Violation:
    """A soundness violation: which check, on which solver's result, and the numbers."""

    check: str
    solver: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "solver": self.solver, "detail": self.detail}


class Verifier:
    """Classifies candidate inputs in float and in exact arithmetic; keeps the closest input of
    another class (inside the box) found by any source."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.net = case.network
        self.c0 = true_class(self.net, case.x)
        self.known = Known()
        self.samples = 0

    def adversarial(self, point: FloatArray) -> bool:
        """Inside the box and of another class than x's both in float and in exact arithmetic
        (the contract's test for a witness). Where the two disagree the point is within
        rounding of a tie (x itself can be such a point): no evidence either way."""
        p = np.asarray(point, dtype=np.float64)
        if p.shape != self.case.x.shape or not np.all(np.isfinite(p)):
            return False
        return in_box(p, self.case.box) and int(self.net.classify(p)[0]) != self.c0 and \
            exact_class(self.net, p) != self.c0

    def offer(self, point: FloatArray | None, source: str) -> None:
        """Record ``point`` if it is exactly adversarial and closer than the best so far."""
        if point is None:
            return
        p = np.asarray(point, dtype=np.float64)
        dist = lp(p - self.case.x, self.case.norm)
        if dist < self.known.distance and self.adversarial(p):
            self.known = Known(dist, p.copy(), source)

    def offer_batch(self, points: FloatArray, source: str, radius: float) -> None:
        """Screen a batch in float (another class, or a margin within 1e-9 of a tie), then
        verify exactly the candidates closer than ``radius``."""
        if len(points) == 0:
            return
        case, net = self.case, self.net
        points = points if case.box is None else np.clip(points, case.box[0], case.box[1])
        self.samples += len(points)
        z = net.logits(points)
        if net.binary:
            margin = z[:, 0] if self.c0 == 1 else -z[:, 0]
        else:
            margin = z[:, self.c0] - np.max(np.delete(z, self.c0, axis=1), axis=1)
        scale = 1.0 + np.max(np.abs(z), axis=1)
        suspect = (net.classify(points) != self.c0) | (np.abs(margin) <= 1e-9 * scale)
        dist = oracles.lp_norm(points - case.x, case.norm)
        for i in np.nonzero(suspect & (dist < min(radius, self.known.distance)))[0][:50]:
            self.offer(points[i], source)


# --- sampling ----------------------------------------------------------------------------------
def ball_samples(rng: np.random.Generator, x: FloatArray, radius: float, norm: str,
                 n: int) -> FloatArray:
    """n points uniform in the ball of ``radius`` around x, and n // 2 on its sphere."""
    d = len(x)
    m = n // 2
    if norm == "linf":
        inside = rng.uniform(-1.0, 1.0, (n, d))
        sphere = rng.uniform(-1.0, 1.0, (m, d))
        sphere[np.arange(m), rng.integers(d, size=m)] = rng.choice([-1.0, 1.0], size=m)
    elif norm == "l2":
        g = rng.normal(size=(n + m, d))
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
        inside = g[:n] * rng.uniform(size=(n, 1)) ** (1.0 / d)
        sphere = g[n:]
    else:  # l1: exponential spacings give the uniform distribution on the simplex
        e = rng.exponential(size=(n + m, d + 1))
        signs = rng.choice([-1.0, 1.0], size=(n + m, d))
        inside = signs[:n] * e[:n, :d] / e[:n].sum(axis=1, keepdims=True)
        sphere = signs[n:] * e[n:, :d] / e[n:, :d].sum(axis=1, keepdims=True)
    return x + radius * np.vstack([inside, sphere])


def kink_points(network: Network, x: FloatArray, norm: str) -> FloatArray:
    """For every first-layer unit and every kink or jump of its activation, the closest point
    of x on that hyperplane (and a hair to either side): where the other class is thinnest."""
    layer = network.layers[0]
    ends = sorted({e for p in layer.activation.pieces() for e in (p.lo, p.hi)
                   if math.isfinite(e)})
    out = []
    a = layer.weight @ x + layer.bias
    for w, aj in zip(layer.weight, a, strict=True):
        if not np.any(w):
            continue
        u = attacks.steepest_direction(w, norm)[0]
        dual = float(oracles.dual_norm(w, norm))
        for e in ends:
            y = (e - aj) / dual * u
            for s in (1.0, 1.0 - 1e-9, 1.0 + 1e-9):
                out.append(x + s * y)
    return np.array(out).reshape(-1, len(x))


# --- checks of one result ------------------------------------------------------------------------
def result_violations(res: OAEResult, case: Case, solver: str,
                      network: Network | None = None) -> list[Violation]:
    """The result's own claims: its witness flips the class in float and in two independent
    exact passes, lies in the box, is no farther than distance + 1e-6; the point is at the
    distance and in the box; lower_bound <= distance; certified implies they agree."""
    net = case.network if network is None else network
    x, norm, box = case.x, case.norm, case.box
    c0 = true_class(net, x)
    out: list[Violation] = []

    def bad(check: str, detail: str) -> None:
        out.append(Violation(check, solver, detail))

    if res.cls != c0:
        bad("class_of_x", f"result says class {res.cls}, exact arithmetic says {c0}")
    if res.distance is None:
        if res.witness is not None or res.point is not None:
            bad("witness_without_distance", "a witness or point but no distance")
        if res.certified and res.lower_bound != math.inf:
            bad("certified_none_bound", f"certified None with lower bound {res.lower_bound}")
        return out
    d = float(res.distance)
    if not (math.isfinite(d) and d >= 0):
        bad("distance_value", f"distance {d}")
        return out
    if res.witness is None:
        bad("no_witness", f"distance {d!r} without a witness")
    else:
        w = np.asarray(res.witness, dtype=np.float64)
        classes = (int(net.classify(w)[0]), exact_class(net, w))
        if pieces_are_the_definition(net):  # else the textbook network is another network
            classes += (exact_class_by_definition(net, w),)
        if c0 in classes:
            bad("witness_does_not_flip", f"class of x {c0}; witness float/exact(/definition) "
                                         f"classes {classes}; witness {w.tolist()}")
        elif res.witness_class != classes[0]:
            bad("witness_class", f"reported {res.witness_class}, computed {classes}")
        if not in_box(w, box):
            bad("witness_outside_box", f"witness {w.tolist()} outside {box}")
        wd = lp(w - x, norm)
        if wd > d + WITNESS_SLACK:
            bad("witness_too_far", f"witness at {wd!r} > distance {d!r} + 1e-6")
        if res.witness_distance is None or abs(res.witness_distance - wd) > 1e-12 * (1 + wd):
            bad("witness_distance", f"reported {res.witness_distance}, measured {wd!r}")
    if res.point is not None:
        p = np.asarray(res.point, dtype=np.float64)
        if not in_box(p, box, 1e-9):
            bad("point_outside_box", f"point {p.tolist()} outside {box}")
        if abs(lp(p - x, norm) - d) > 1e-7 * (1 + d):
            bad("point_distance", f"|point - x| = {lp(p - x, norm)!r}, distance {d!r}")
    if res.lower_bound > d + 1e-9 * (1 + d):
        bad("lower_bound_above_distance", f"lower bound {res.lower_bound!r} > distance {d!r}")
    if res.certified and not agrees(res.lower_bound, d):
        bad("certified_without_agreement", f"lower {res.lower_bound!r}, distance {d!r}")
    return out


def bound_violations(res: OAEResult, known: Known, solver: str) -> list[Violation]:
    """A verified input of another class refutes a certified distance (or a certified None)
    that it beats, and any lower bound that it beats."""
    if known.point is None:
        return []
    out = []
    where = f"{known.source} found an input of another class at {known.distance!r}: " \
            f"{known.point.tolist()}"
    if res.distance is None and res.certified:
        out.append(Violation("none_but_adversarial", solver, where))
    elif res.distance is not None and res.certified and \
            known.distance < res.distance - beat_tol(res.distance):
        out.append(Violation("distance_beaten", solver,
                             f"certified distance {res.distance!r}; {where}"))
    lower = res.lower_bound
    if known.distance < lower - (beat_tol(lower) if math.isfinite(lower) else 0.0):
        out.append(Violation("lower_bound_beaten", solver, f"lower bound {lower!r}; {where}"))
    return out


def solvers_disagree(a: OAEResult, b: OAEResult, names: str) -> list[Violation]:
    """Two certified answers to the same question must agree (within 1e-6, relative above 1)."""
    if not (a.certified and b.certified):
        return []
    if (a.distance is None) != (b.distance is None):
        return [Violation("certified_solvers_disagree", names,
                          f"distances {a.distance!r} and {b.distance!r}")]
    if a.distance is not None and b.distance is not None and \
            abs(a.distance - b.distance) > 1e-6 * max(1.0, a.distance):
        return [Violation("certified_solvers_disagree", names,
                          f"distances {a.distance!r} and {b.distance!r}")]
    return []


# --- transformations that keep the function -----------------------------------------------------
def permuted(network: Network, rng: np.random.Generator) -> Network:
    """Every hidden layer's units permuted (rows of W_l, b_l; columns of W_{l+1})."""
    layers = list(network.layers)
    for l in range(len(layers) - 1):
        perm = rng.permutation(len(layers[l].bias))
        cur, nxt = layers[l], layers[l + 1]
        layers[l] = Layer(cur.weight[perm], cur.bias[perm], cur.activation)
        layers[l + 1] = Layer(nxt.weight[:, perm], nxt.bias, nxt.activation)
    return Network(tuple(layers), network.name + " [permuted]")


def rescaled(network: Network, layer: int, unit: int, s: float) -> Network:
    """Unit ``unit`` of hidden layer ``layer`` scaled: row of W_l and b_l by s > 0, column of
    W_{l+1} by 1/s (the same function for positively homogeneous activations)."""
    layers = list(network.layers)
    cur, nxt = layers[layer], layers[layer + 1]
    w, b, v = cur.weight.copy(), cur.bias.copy(), nxt.weight.copy()
    w[unit] *= s
    b[unit] *= s
    v[:, unit] /= s
    layers[layer] = Layer(w, b, cur.activation)
    layers[layer + 1] = Layer(v, nxt.bias, nxt.activation)
    return Network(tuple(layers), network.name + f" [unit {layer}.{unit} x {s}]")


# --- the whole check ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """How hard to try on one case."""

    attacks: str = "light"  # "full" (run_attacks defaults), "light" (fewer steps), "cheap", "none"
    strong_every: int = 1  # light: PGD and C&W on every n-th case only (FGSM, DeepFool on all)
    samples: int = 1500
    grid: int = 201  # points per axis of the 1-D / 2-D grid (0: no grid)
    oracle_patterns: int = 64  # enumerate patterns when there are at most this many
    milp: str = "direct"  # "direct" (oae_milp), "api" (oae(method="milp")), "off"
    milp_every: int = 1  # the MILP on every n-th linf / l1 case only
    invariance: bool = True
    time_limit: float = 30.0


CI = Budget()
SOAK = Budget(samples=1000, grid=151, oracle_patterns=16, strong_every=4, milp_every=2,
              time_limit=20.0)


@dataclass
class Outcome:
    """Everything one case showed."""

    case: Case
    violations: list[Violation] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # allowed, but reported
    disagreements: list[str] = field(default_factory=list)  # oracle vs solver, not settled
    checks: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    results: dict[str, OAEResult] = field(default_factory=dict)
    oracle: oracles.OracleResult | None = None
    known: Known = field(default_factory=Known)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def unsound(self) -> bool:
        return bool(self.violations)

    def summary(self) -> dict[str, Any]:
        bnb = self.results.get("bnb")
        return {"violations": [v.to_dict() for v in self.violations],
                "incomplete": self.incomplete, "disagreements": self.disagreements,
                "warnings": self.warnings,
                "distance": None if bnb is None else bnb.distance,
                "lower_bound": None if bnb is None or math.isinf(bnb.lower_bound)
                else bnb.lower_bound,
                "statuses": self.statuses, "known": None if self.known.point is None else
                {"distance": self.known.distance, "source": self.known.source,
                 "point": self.known.point.tolist()},
                "case": self.case.to_dict()}


def pattern_count(network: Network) -> int:
    """Activation patterns of the network (product over hidden units of their piece counts)."""
    return math.prod(len(l.activation.pieces()) ** len(l.bias) for l in network.hidden_layers)


def _run_attacks(case: Case, budget: Budget, seed: int) -> list[attacks.AttackResult]:
    net, x, norm, box = case.network, case.x, case.norm, case.box
    if budget.attacks == "none":
        return []
    if budget.attacks == "full":
        return attacks.run_attacks(net, x, norm, box, seed=seed)
    out = [attacks.fgsm_minimal(net, x, norm, box), attacks.deepfool(net, x, norm, box)]
    if budget.attacks == "light" and seed % budget.strong_every == 0:
        out.append(attacks.pgd_minimal(net, x, norm, box, steps=12, restarts=3, bisections=6,
                                       seed=seed))
        out.append(attacks.carlini_wagner(net, x, norm, box, steps=40, search_steps=4))
    return out


def _milp(case: Case, budget: Budget, bnb: OAEResult, seed: int) -> OAEResult | None:
    """The MILP on the same case (linf, l1): through the API, or directly as the API calls it:
    bounded by the box or by a ball of the branch and bound's verified upper bound, with its
    witness as the known adversarial input (a large ball when there is none)."""
    net, x, norm, box = case.network, case.x, case.norm, case.box
    if norm == "l2" or budget.milp == "off" or seed % budget.milp_every:
        return None
    if budget.milp == "api":
        try:
            return oae(net, x, norm, box, method="milp", time_limit=budget.time_limit)
        except ActlabError as error:
            if "needs a box" not in str(error):
                raise
    radius = None
    if bnb.witness_distance is not None:  # as the API does with an attack's point
        radius = bnb.witness_distance * (1 + 1e-6) + 1e-9
    elif box is None:
        radius = 4.0 * (1.0 + float(np.max(np.abs(x))))
    return oae_milp(net, x, norm, box, radius=radius, time_limit=budget.time_limit,
                    known_adversarial=bnb.witness)


def check_case(case: Case, budget: Budget = CI, seed: int = 0) -> Outcome:
    """Run every property on one case; never raises for a finding (only for crashes)."""
    start = time.perf_counter()
    out = Outcome(case)
    net, x, norm, box = case.network, case.x, case.norm, case.box
    rng = np.random.default_rng([seed, 7])
    ver = Verifier(case)

    bnb = oae(net, x, norm, box, method="bnb", time_limit=budget.time_limit)
    out.results["bnb"] = bnb
    out.violations += result_violations(bnb, case, "bnb")
    ver.offer(None if bnb.witness is None else np.array(bnb.witness), "bnb witness")

    # reference radius: claims are refuted by inputs closer than the distance (certified) or
    # the lower bound (any result); a certified None by any input of another class at all
    if bnb.distance is not None:
        radius = bnb.distance if bnb.certified else bnb.lower_bound
    elif bnb.certified:
        radius = 4.0 * (1.0 + float(np.max(np.abs(x))))
    else:
        radius = bnb.lower_bound
    radius = min(radius, 1e6)

    for a in _run_attacks(case, budget, seed):
        out.checks.append(f"attack:{a.attack}")
        if a.success:
            ver.offer(a.point, f"attack {a.attack}")

    if radius > 0 and budget.samples:
        r = radius * (1 - 1e-6)
        out.checks.append("sampling")
        ver.offer_batch(ball_samples(rng, x, r, norm, budget.samples), "sampling", r)
        targets = [np.array(p) for p in (bnb.point, bnb.witness) if p is not None]
        rays = [x + s * (t - x) for t in targets for s in (1 - 1e-6, 1 - 1e-5, 0.999, 0.99, 0.9)]
        ver.offer_batch(np.array(rays).reshape(-1, len(x)), "rays to the point", r)
        ver.offer_batch(kink_points(net, x, norm), "kink points", r)
    if budget.grid and len(x) <= 2 and radius > 0:
        out.checks.append("grid")
        n = budget.grid if len(x) == 2 else budget.grid * 10
        axes = [np.linspace(v - radius, v + radius, n) for v in x]
        grid = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
        ver.offer_batch(grid, "grid", radius * (1 - 1e-6))

    if pattern_count(net) <= budget.oracle_patterns:
        out.checks.append("oracle")
        out.oracle = oracles.enumerate_patterns_distance(net, x, norm, box)
        _compare_oracle(out, ver)

    milp = _milp(case, budget, bnb, seed)
    if milp is not None:
        out.checks.append("milp")
        out.results["milp"] = milp
        out.violations += result_violations(milp, case, "milp")
        ver.offer(None if milp.witness is None else np.array(milp.witness), "milp witness")
        out.violations += solvers_disagree(bnb, milp, "bnb/milp")

    if budget.invariance:
        out.checks.append("invariance")
        _check_invariance(out, budget, rng)

    for name, res in out.results.items():
        out.violations += bound_violations(res, ver.known, name)
        out.statuses[name] = res.status
        if not res.certified and res.status != "none_within_radius":
            out.incomplete.append(f"{name}: {res.status} bracket [{res.lower_bound!r}, "
                                  f"{res.distance!r}]")
    if case.constant and (bnb.distance is not None or not bnb.certified):
        if bnb.distance is not None:
            out.violations.append(Violation("constant_class_has_distance", "bnb",
                                            f"distance {bnb.distance!r}"))
        else:
            out.incomplete.append("constant class not certified")
    out.known = ver.known
    out.seconds = time.perf_counter() - start
    return out


def _compare_oracle(out: Outcome, ver: Verifier) -> None:
    """Full pattern enumeration: its witness (if exactly adversarial) is a known point; a
    disagreement it cannot back with a verified point is reported, not counted as unsound."""
    oracle, bnb = out.oracle, out.results["bnb"]
    assert oracle is not None
    ver.offer(oracle.witness, "pattern enumeration witness")
    if oracle.distance is None and bnb.distance is None:
        return
    if oracle.distance is None or bnb.distance is None or \
            abs(oracle.distance - bnb.distance) > 1e-6 * max(1.0, bnb.distance):
        out.disagreements.append(f"enumeration {oracle.distance!r}, bnb {bnb.distance!r} "
                                 f"({bnb.status})")


def _check_invariance(out: Outcome, budget: Budget, rng: np.random.Generator) -> None:
    """The same function with permuted hidden units (and, for positively homogeneous units, a
    unit rescaled by a power of two) must get the same certified distance."""
    case, bnb = out.case, out.results["bnb"]
    net = permuted(case.network, rng)
    if case.kind in HOMOGENEOUS:
        layer = int(rng.integers(len(net.hidden_layers)))
        unit = int(rng.integers(len(net.layers[layer].bias)))
        net = rescaled(net, layer, unit, _pick(rng, (0.25, 0.5, 2.0, 4.0)))
    if true_class(net, case.x) != true_class(case.network, case.x):
        out.violations.append(Violation("transformed_class", "transform",
                                        "permuting or rescaling units changed x's exact class"))
        return
    res = oae(net, case.x, case.norm, case.box, method="bnb", time_limit=budget.time_limit)
    out.results["transformed"] = res
    out.violations += result_violations(res, case, "transformed", network=net)
    out.violations += solvers_disagree(bnb, res, "bnb/transformed")


def check_case_recording_warnings(case: Case, budget: Budget, seed: int) -> Outcome:
    """``check_case`` with RuntimeWarnings recorded on the outcome instead of raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = check_case(case, budget, seed)
    outcome.warnings = sorted({f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                               for w in caught if issubclass(w.category, RuntimeWarning)})
    return outcome


def soak_case(seed: int, index: int, budget: Budget = SOAK) -> Outcome:
    """Case ``index`` of the soak run with ``seed`` (independent of how cases are split among
    workers): small networks (1-3 units per layer), every kind, head, norm and mode."""
    rng = np.random.default_rng([seed, index])
    case = make_case(rng, max_width=3, seed=[seed, index])
    try:
        return check_case_recording_warnings(case, budget, seed=index)
    except Exception as error:  # a crash is reported with its reproducer, never swallowed
        out = Outcome(case)
        out.incomplete.append(f"error: {type(error).__name__}: {error}")
        return out


# --- hypothesis: the CI profile (bounded: about a minute) and the soak profile ------------------
settings.register_profile("soundness-ci", deadline=None, derandomize=True, database=None,
                          max_examples=6, suppress_health_check=list(HealthCheck))
settings.register_profile("soundness-soak", settings.get_profile("soundness-ci"),
                          max_examples=150)
CI_SETTINGS = settings.get_profile("soundness-ci")  # used per test, never loaded globally
SOAK_SETTINGS = settings.get_profile("soundness-soak")

seeds = st.integers(0, 2**32 - 1)


def assert_sound(out: Outcome, require_certified: bool = True) -> None:
    """No violation; on these small networks every result is certified and the oracle agrees."""
    report = out.summary()
    assert not out.violations, report
    assert not out.disagreements, report
    if require_certified:
        assert all(r.certified for r in out.results.values()
                   if r.status != "none_within_radius"), report


def _random_case_is_sound(kind: str, seed: int, budget: Budget = CI) -> None:
    case = make_case(np.random.default_rng(seed), kind=kind,
                     mode=_pick(np.random.default_rng(seed + 1), ("gaussian", "dyadic")))
    assert_sound(check_case(case, budget, seed))


@pytest.mark.parametrize("kind", KINDS)
@settings(CI_SETTINGS)
@given(seed=seeds)
def test_random_networks_are_sound(kind: str, seed: int) -> None:
    """Gaussian and dyadic weights, every head, norm, depth, input size, with and without box."""
    _random_case_is_sound(kind, seed)


def _adversarial_case_is_sound(mode: str, kind: str, seed: int, budget: Budget = CI) -> None:
    case = make_case(np.random.default_rng(seed), kind=kind, mode=mode)
    assert_sound(check_case(case, budget, seed))


@pytest.mark.parametrize("mode", ADVERSARIAL_MODES)
@settings(CI_SETTINGS, max_examples=8)
@given(kind=st.sampled_from(KINDS), seed=seeds)
def test_points_on_kinks_jumps_ties_and_degenerate_units_are_sound(mode: str, kind: str,
                                                                   seed: int) -> None:
    """Dyadic weights with x exactly on kinks / jumps / the decision boundary, duplicated or
    cancelling units, zero weights."""
    _adversarial_case_is_sound(mode, kind, seed)


def _constant_case(kind: str, head: str, norm: str, seed: int, budget: Budget) -> None:
    case = make_case(np.random.default_rng(seed), kind=kind, head=head, norm=norm,
                     mode="constant")
    out = check_case(case, budget, seed)
    assert_sound(out, require_certified=False)
    bnb = out.results["bnb"]
    assert bnb.distance is None and bnb.witness is None
    # certified unless a region that is empty in exact arithmetic (twin units on opposite
    # pieces) kept a positive LP margin within HiGHS's tolerance: allowed, but then reported
    assert (bnb.certified and bnb.status == "no_adversarial" and bnb.lower_bound == math.inf) \
        or any("no verified witness" in n for n in bnb.notes), bnb
    assert out.known.point is None  # nothing found by sampling or attacks either
    milp = out.results.get("milp")
    if milp is not None:
        assert milp.distance is None
        assert milp.certified == (case.box is not None)


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("kind", KINDS)
@settings(CI_SETTINGS, max_examples=3)
@given(norm=st.sampled_from(NORMS), seed=seeds)
def test_constant_class_networks_have_no_distance(kind: str, head: str, norm: str,
                                                  seed: int) -> None:
    """Zero head, zero first layer, cancelling twins, bounded units below the boundary, units
    dead in the box: one class everywhere, so the distance is None (certified)."""
    _constant_case(kind, head, norm, seed, dataclasses.replace(CI, attacks="cheap"))


@pytest.mark.parametrize("norm", NORMS)
@settings(CI_SETTINGS, max_examples=8)
@given(kind=st.sampled_from(KINDS), head=st.sampled_from(HEADS),
       mode=st.sampled_from(("gaussian", "dyadic", "kink", "boundary")), seed=seeds)
def test_2d_grid_and_pattern_enumeration_agree(norm: str, kind: str, head: str, mode: str,
                                               seed: int) -> None:
    """2-D: the oracle's exact distance equals the solver's; no grid point beats it."""
    case = make_case(np.random.default_rng(seed), kind=kind, head=head, norm=norm, mode=mode,
                     dim=2, max_width=3)
    out = check_case(case, dataclasses.replace(CI, attacks="cheap", grid=301,
                                               oracle_patterns=10**4), seed)
    assert_sound(out)
    assert "grid" in out.checks or out.results["bnb"].distance == 0.0
    bnb, oracle = out.results["bnb"], out.oracle
    assert oracle is not None
    if oracle.distance is None:
        assert bnb.distance is None
    else:
        assert bnb.distance == pytest.approx(oracle.distance, abs=1e-7, rel=1e-7)


def assert_same_distance(case: Case, net: Network, label: str, tol: float) -> None:
    """``net`` computes the same function as the case's network: both certified, the same
    distance (abs and rel ``tol``), and the other result is sound on its own."""
    base = oae(case.network, case.x, case.norm, case.box)
    other = oae(net, case.x, case.norm, case.box)
    assert base.certified and other.certified
    assert (base.distance is None) == (other.distance is None)
    if base.distance is not None:
        assert other.distance == pytest.approx(base.distance, abs=tol, rel=tol)
        assert not result_violations(other, case, label, network=net)


@settings(CI_SETTINGS, max_examples=12)
@given(kind=st.sampled_from(KINDS), norm=st.sampled_from(NORMS),
       mode=st.sampled_from(("gaussian", "dyadic", "kink", "duplicate")), seed=seeds)
def test_distance_is_invariant_under_permuting_hidden_units(kind: str, norm: str, mode: str,
                                                            seed: int) -> None:
    rng = np.random.default_rng(seed)
    case = make_case(rng, kind=kind, norm=norm, mode=mode)
    net = permuted(case.network, rng)
    assert np.array_equal(exact_logits_of(net, case.x), exact_logits_of(case.network, case.x))
    assert_same_distance(case, net, "permuted", 1e-9)


@pytest.mark.parametrize("kind", HOMOGENEOUS)
@settings(CI_SETTINGS, max_examples=5)
@given(norm=st.sampled_from(NORMS), s=st.sampled_from((0.25, 2.0, 8.0, 3.0, 0.1)), seed=seeds)
def test_distance_is_invariant_under_rescaling_a_unit(kind: str, norm: str, s: float,
                                                      seed: int) -> None:
    """relu(s a) / s = relu(a): scaling a unit's incoming weights by s > 0 and its outgoing
    weights by 1/s is the same function (exactly so for powers of two)."""
    rng = np.random.default_rng(seed)
    case = make_case(rng, kind=kind, norm=norm, mode="gaussian")
    layer = int(rng.integers(len(case.network.hidden_layers)))
    unit = int(rng.integers(len(case.network.layers[layer].bias)))
    net = rescaled(case.network, layer, unit, s)
    assert_same_distance(case, net, "rescaled", 1e-7)


@pytest.mark.parametrize("norm", ["linf", "l1"])
@settings(CI_SETTINGS, max_examples=10)
@given(kind=st.sampled_from(KINDS), mode=st.sampled_from(MODES), seed=seeds)
def test_milp_through_the_api_agrees_with_branch_and_bound(norm: str, kind: str, mode: str,
                                                           seed: int) -> None:
    """``oae(method="milp")`` (attack-seeded radius, or the box) against ``method="bnb"``."""
    case = make_case(np.random.default_rng(seed), kind=kind, norm=norm, mode=mode,
                     max_width=3)
    out = check_case(case, dataclasses.replace(CI, attacks="cheap", milp="api", grid=0,
                                               invariance=False), seed)
    assert_sound(out)
    bnb, milp = out.results["bnb"], out.results["milp"]
    if milp.certified and bnb.distance is not None:
        assert milp.distance == pytest.approx(bnb.distance, abs=1e-6)


@settings(CI_SETTINGS, max_examples=4)
@given(kind=st.sampled_from(KINDS), seed=seeds)
def test_full_attack_suite_never_beats_the_distance(kind: str, seed: int) -> None:
    """``run_attacks`` at its defaults (FGSM, PGD, DeepFool, C&W)."""
    case = make_case(np.random.default_rng(seed), kind=kind, mode="gaussian", max_width=3)
    out = check_case(case, dataclasses.replace(CI, attacks="full", milp="off",
                                               invariance=False), seed)
    assert_sound(out)
    assert sum(c.startswith("attack:") for c in out.checks) == 4


# --- the checker itself catches planted faults ----------------------------------------------------
def _solved_case() -> tuple[Case, OAEResult]:
    """XOR with relu (the seed's network) at (0, 0), l2: distance sqrt(2)/4, witness verified."""
    net = Network.from_arrays([[[1, 1], [1, 1]], [[1, -2]]], [[0, -1], [-0.5]],
                              ["relu", "sigmoid"])
    case = Case(net, np.zeros(2), "l2", None, "relu", "sigmoid", "hand")
    return case, oae(net, case.x, "l2")


def test_checker_flags_planted_faults() -> None:
    case, res = _solved_case()
    assert res.distance == pytest.approx(math.sqrt(2) / 4, abs=1e-12)
    assert not result_violations(res, case, "bnb")
    out = check_case(case, dataclasses.replace(CI, milp="off"))
    assert not out.violations and out.known.distance >= res.distance - 1e-9
    assert out.known.distance == pytest.approx(res.distance, abs=1e-3)  # sampling gets close

    def flagged(fake: OAEResult) -> set[str]:
        return {v.check for v in result_violations(fake, case, "fake")
                + bound_violations(fake, out.known, "fake")}

    too_far = dataclasses.replace(res, distance=res.distance * 1.1, lower_bound=res.distance * 1.1)
    assert {"distance_beaten", "lower_bound_beaten", "point_distance"} <= flagged(too_far)
    assert "witness_does_not_flip" in flagged(dataclasses.replace(res, witness=[0.0, 0.0]))
    assert "witness_too_far" in flagged(dataclasses.replace(
        res, distance=res.distance / 2, lower_bound=0.0))
    assert "lower_bound_above_distance" in flagged(dataclasses.replace(
        res, lower_bound=res.distance + 1e-3))
    none = dataclasses.replace(res, distance=None, point=None, witness=None, witness_class=None,
                               witness_distance=None, lower_bound=math.inf)
    assert "none_but_adversarial" in flagged(none)
    boxed = Case(case.network, case.x, "l2", (0.0, 0.3), "relu", "sigmoid", "hand")
    moved = dataclasses.replace(res, witness=[0.3 + 1e-12, 0.3])
    assert "witness_outside_box" in {v.check for v in result_violations(moved, boxed, "fake")}


def test_exact_classes_agree_with_a_hand_computation() -> None:
    """PLU(alpha=0.25, c=0.5) and hardtanh by hand at points exactly on their kinks."""
    net = Network.from_arrays([[[1.0], [1.0]], [[1.0, -1.0]]], [[0.0, 0.0], [0.0]],
                              ["plu:alpha=0.25,c=0.5", "sigmoid"])
    # equal units: z = 0 everywhere -> class 0 (z > 0 is needed for class 1)
    for v in (-0.5, 0.5, 0.75, -2.0):
        assert exact_class_by_definition(net, np.array([v])) == exact_class(net, np.array([v]))
    ht = Network.from_arrays([[[1.0]], [[1.0]]], [[0.0], [-1.0]], ["hardtanh", "sigmoid"])
    assert exact_class_by_definition(ht, np.array([5.0])) == 0  # z = 1 - 1 = 0: a tie
    assert exact_class_by_definition(ht, np.array([5.0])) == exact_class(ht, np.array([5.0]))


def test_case_round_trips_through_its_reproducer() -> None:
    case = make_case(np.random.default_rng(11), mode="boundary")
    again = Case.from_dict(case.to_dict())
    assert again.to_dict() == case.to_dict()
    assert np.array_equal(again.network.logits(again.x), case.network.logits(case.x))


def test_soak_cases_are_deterministic_and_cover_every_kind() -> None:
    first = [soak_case(3, i, dataclasses.replace(SOAK, attacks="none", samples=50, grid=0))
             for i in range(3)]
    again = soak_case(3, 1, dataclasses.replace(SOAK, attacks="none", samples=50, grid=0))
    assert again.case.to_dict() == first[1].case.to_dict()
    assert again.summary()["distance"] == first[1].summary()["distance"]
    kinds = {make_case(np.random.default_rng([0, i]), max_width=3).kind for i in range(200)}
    assert kinds == set(KINDS)


# --- soak (pytest -m soak): the same properties, many more examples ---------------------------
@pytest.mark.soak
@pytest.mark.parametrize("kind", KINDS)
@settings(SOAK_SETTINGS)
@given(seed=seeds)
def test_soak_random_networks(kind: str, seed: int) -> None:
    _random_case_is_sound(kind, seed, SOAK)


@pytest.mark.soak
@pytest.mark.parametrize("mode", ADVERSARIAL_MODES)
@settings(SOAK_SETTINGS)
@given(kind=st.sampled_from(KINDS), seed=seeds)
def test_soak_adversarial_constructions(mode: str, kind: str, seed: int) -> None:
    _adversarial_case_is_sound(mode, kind, seed, SOAK)


@pytest.mark.soak
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("kind", KINDS)
@settings(SOAK_SETTINGS, max_examples=40)
@given(norm=st.sampled_from(NORMS), seed=seeds)
def test_soak_constant_networks(kind: str, head: str, norm: str, seed: int) -> None:
    _constant_case(kind, head, norm, seed, dataclasses.replace(SOAK, attacks="cheap"))


@pytest.mark.soak
def test_soak_runner_finds_nothing_unsound() -> None:
    """The scripts/soak.py case stream (seed 1), 300 cases in this process."""
    outcomes = [soak_case(1, i) for i in range(300)]
    failures = [o.summary() for o in outcomes if o.unsound]
    assert not failures, failures[:3]


# --- MILP regressions: HiGHS's 1e-6 feasibility tolerance against ranges thinner than that ----
MILP_REPRODUCERS = {
    # soak seed 0, case 40: x sits on the boundary (z(x) = 0); the ball's radius is 5.01e-7
    "tiny-ball": ({"format": "actlab-mlp/1", "layers": [
        {"weight": [[2.0], [1.0]], "bias": [1.0, 0.5], "activation": "leaky_relu:slope=0.25"},
        {"weight": [[-0.5, 2.0]], "bias": [0.0], "activation": "sigmoid"}]},
        [-0.5], 5.01e-7, [-0.5 + 2.5e-7], 0.0),
    # soak seed 1, case 1536: at the optimum x = -1/3 unit 2 sits on its kink; in the ball of
    # radius optimum + 5.8e-7 its pre-activation range is [-0.25, 8.8e-7]
    "thin-unit": ({"format": "actlab-mlp/1", "layers": [
        {"weight": [[2.0], [-1.5], [-1.5]], "bias": [0.5, -0.5, 0.5], "activation": "relu"},
        {"weight": [[-2.0, 0.5, 0.5]], "bias": [-0.5], "activation": "sigmoid"}]},
        [-0.25], 0.08333391766716665, [-0.25 - 0.0833334], 1 / 12),
}


@pytest.mark.parametrize("name", sorted(MILP_REPRODUCERS))
def test_milp_within_a_verified_radius_keeps_the_adversarial_input(name: str) -> None:
    model, x, radius, flip, optimum = MILP_REPRODUCERS[name]
    net, x0, p = network_from_dict(model), np.array(x), np.array(flip)
    norm = "linf" if name == "tiny-ball" else "l1"
    assert int(net.classify(x0)[0]) == exact_class_by_definition(net, x0) == 0
    assert int(net.classify(p)[0]) == exact_class(net, p) == exact_class_by_definition(net, p) == 1
    assert lp(p - x0, norm) < radius  # the radius is a verified upper bound
    res = oae_milp(net, x0, norm, radius=radius)
    assert res.lower_bound <= lp(p - x0, norm)
    assert res.distance == pytest.approx(optimum, abs=1e-9)


# --- regressions found by the soak ---------------------------------------------------------------
def test_witness_stays_inside_the_box() -> None:
    """Soak seed 0, case 1084. z = 0 exactly at the box's corner x2 = x3 = 0.75 and z > 0 just
    outside it. The interior point of that region's LP overshot the face by 2e-16, the witness
    built from it lay outside the box (x3 = 0.7500000000000002) and was accepted: a distance of
    0.559 instead of 0.75 sqrt(2) = 1.0607 (pattern enumeration), reached at (-0.5, -0.5, -0.25)."""
    net = Network.from_arrays(
        [[[0.0, 2.0, 2.0]], [[1.5], [-1.0]], [[0.5, -0.5]]], [[-1.5], [0.5, 0.0], [-1.0]],
        ["leaky_relu:slope=-0.5", "leaky_relu:slope=-0.5", "sigmoid"])
    x, box = np.array([-0.5, 0.25, 0.5]), (-0.75, 0.75)
    corner = np.array([-0.5, 0.75, 0.75])
    assert exact_class_by_definition(net, corner) == 0  # z = 0: not class 1
    outside = corner + np.array([0.0, 0.0, 2.0**-52])  # just past the box's face
    assert exact_class_by_definition(net, outside) == 1
    oracle = oracles.enumerate_patterns_distance(net, x, "l2", box)
    assert oracle.distance == pytest.approx(0.75 * math.sqrt(2), abs=1e-12)
    case = Case(net, x, "l2", box, "leaky_relu", "sigmoid", "kink")
    res = oae(net, x, "l2", box)
    assert res.certified and res.distance == pytest.approx(oracle.distance, abs=1e-9)
    assert not result_violations(res, case, "bnb")
    assert in_box(np.array(res.witness), box) and in_box(np.array(res.point), box)


# soak seed 0, cases 189 and 7146: two units computing the same value feed logits that are
# exactly equal (z = -1.5 g + 1.5 g = 0; z0 = z1 = -1), so the class is constant in exact
# arithmetic; a float pass (BLAS with fused multiply-adds) rounds the tie to class 1 at x. The
# solvers took that float class as x's and certified distances (0.1667, 0.4375) to 'another'
# class that x itself belongs to.
ROUNDED_TIES = {189: {'box': None,
       'constant': True,
       'head': 'sigmoid',
       'kind': 'leaky_relu',
       'mode': 'constant',
       'model': {'format': 'actlab-mlp/1',
                 'layers': [{'activation': 'leaky_relu:slope=0.01',
                             'bias': [0.5],
                             'weight': [[-1.5]]},
                            {'activation': 'leaky_relu:slope=0.01',
                             'bias': [0.0, 0.0],
                             'weight': [[-1.0], [-1.0]]},
                            {'activation': 'sigmoid',
                             'bias': [0.0],
                             'weight': [[-1.5, 1.5]]}]},
       'norm': 'l2',
       'seed': [0, 189],
       'x': [0.5]},
 7146: {'box': None,
        'constant': False,
        'head': 'softmax',
        'kind': 'leaky_relu',
        'mode': 'duplicate',
        'model': {'format': 'actlab-mlp/1',
                  'layers': [{'activation': 'leaky_relu:slope=0.01',
                              'bias': [-0.5, 2.0, -1.5],
                              'weight': [[1.0, 1.0, 2.0, 0.5],
                                         [-1.0, -1.5, 2.0, 0.0],
                                         [-1.0, 1.5, 0.5, 0.5]]},
                             {'activation': 'leaky_relu:slope=0.01',
                              'bias': [1.0, 1.0],
                              'weight': [[1.5, 2.0, 1.0], [1.5, 2.0, 1.0]]},
                             {'activation': 'softmax',
                              'bias': [-1.0, -1.0],
                              'weight': [[-1.0, 1.0], [-1.5, 1.5]]}]},
        'norm': 'l1',
        'seed': [0, 7146],
        'x': [-0.25, 0.0, 0.0, -0.25]}}


@pytest.mark.parametrize("index", sorted(ROUNDED_TIES))
def test_class_of_x_is_exact_when_a_float_pass_rounds_a_tie(index: int) -> None:
    case = Case.from_dict(ROUNDED_TIES[index])
    assert true_class(case.network, case.x) == 0  # the exact, constant class
    out = check_case(case, CI, seed=0)
    assert not out.violations, out.violations
    for result in out.results.values():
        assert result.cls == 0 and result.distance is None
