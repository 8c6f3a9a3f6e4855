"""Exact OAE by best-first branch and bound over activation patterns.

The input space splits into regions, one per *activation pattern* (which linear piece every
hidden unit uses). Fixing the pieces of the units layer by layer, unit by unit, keeps every
pre-activation affine in x, so each partial pattern is a polyhedron (strict rows where a piece
has an open end, e.g. relu's x > 0 or jumprelu's x < q). Within a full pattern the logits are
affine, and the inputs of another class form a polyhedron too (z <= 0, z > 0 or
z_j >= z_c / z_j > z_c by the tie rule).

The search pops the partial pattern whose closure is closest to x (the distance is a lower
bound for everything below it), so it stops as soon as the best verified adversarial distance
is no larger than every open node's bound. Nothing is sampled and the network may be
discontinuous (JumpReLU): the search never assumes neighbouring regions connect.

Why closures are right: a non-empty set S = {A y <= b, C y < d} has closure {A y <= b,
C y <= d}. A full pattern's adversarial set counts only when its strict system is non-empty
(checked by an LP maximising a margin), and then its closure's closest point is the infimum.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from actlab.errors import ActlabError
from actlab.network import Network
from actlab.oae.polyhedron import (
    DUAL_ORD,
    NORMS,
    FloatArray,
    Polyhedron,
    norm,
    project,
    strict_interior,
)
from actlab.oae.rational import exact_class
from actlab.oae.result import OAEResult, agrees

WITNESS_BUDGET = 5e-7  # the witness is at most this much farther than the distance
STRICT_MARGIN = 1e-12  # margins in (-1e-9, 1e-12] are ambiguous: a witness decides
AMBIGUOUS_MARGIN = 1e-9
# "no input of another class" is re-checked from the reference point when x is farther from it
# than this (per coordinate): nearer, the offsets' rounding (~1e-16 |x|) stays far below the
# solvers' tolerances; the seed's network first lost a region at |x| = 1e16
CONFIRM_BEYOND = 1e3


@dataclass(order=True)
class _Node:
    bound: float
    seq: int
    lower_bound: float = field(compare=False)
    point: FloatArray | None = field(compare=False)
    poly: Polyhedron = field(compare=False)
    layer: int = field(compare=False)
    unit: int = field(compare=False)
    pre: tuple[FloatArray, FloatArray] = field(compare=False)  # pre = P y + p, this layer
    slopes: tuple[float, ...] = field(compare=False, default=())
    intercepts: tuple[float, ...] = field(compare=False, default=())


@dataclass
class _Best:
    distance: float = math.inf
    lower_bound: float = math.inf
    point: FloatArray | None = None
    witness: FloatArray | None = None
    witness_class: int | None = None


def check_piecewise_linear(network: Network) -> None:
    """The exact solvers need piecewise-linear hidden activations."""
    for i, act in enumerate(network.hidden_activations):
        if not act.piecewise_linear:
            raise ActlabError(
                f"exact OAE needs piecewise-linear hidden activations; layer {i} uses "
                f"{act.spec} (use relu, leaky_relu, plu, hardtanh, identity or jumprelu, "
                "or --act to replace it)")


def box_constraints(x0: FloatArray, box: tuple[float, float] | None) -> Polyhedron:
    """lo <= x0 + y <= hi as rows in y."""
    d = len(x0)
    poly = Polyhedron.empty_constraints(d)
    if box is None:
        return poly
    lo, hi = box
    eye = np.eye(d)
    poly = Polyhedron(poly.A, poly.b, poly.strict, (float(lo), float(hi)))
    return poly.add(np.vstack([eye, -eye]), np.concatenate([hi - x0, x0 - lo]), False)


def piece_rows(P: FloatArray, p: float, lo: float, hi: float, closed_lo: bool, closed_hi: bool
               ) -> tuple[list[FloatArray], list[float], list[bool]]:
    """Rows for lo (<|<=) P y + p (<|<=) hi, skipping infinite ends."""
    rows, rhs, strict = [], [], []
    if math.isfinite(lo):
        rows.append(-P)
        rhs.append(p - lo)
        strict.append(not closed_lo)
    if math.isfinite(hi):
        rows.append(P)
        rhs.append(hi - p)
        strict.append(not closed_hi)
    return rows, rhs, strict


def target_rows(network: Network, c0: int, Z: FloatArray, z: FloatArray
                ) -> list[tuple[int, FloatArray, FloatArray, bool]]:
    """For each other class t: (t, rows, rhs, strict) describing 'class is t or otherwise not
    c0' with logits z = Z y + z. Binary: class 1 iff z > 0. Multi-class: j beats c0 when
    z_j > z_c0, or z_j = z_c0 and j < c0 (ties to the lowest index)."""
    if network.binary:
        if c0 == 1:  # z <= 0
            return [(0, Z[0:1], -z[0:1], False)]
        return [(1, -Z[0:1], z[0:1], True)]  # z > 0
    targets = []
    for j in range(network.num_outputs):
        if j == c0:
            continue
        row = -(Z[j] - Z[c0])  # z_j - z_c0 >= 0  <=>  -(Z_j - Z_c0) y <= z_j - z_c0
        targets.append((j, row[None, :], np.array([z[j] - z[c0]]), j > c0))
    return targets


def region_of_pattern(network: Network, x0: FloatArray, pattern: list[list[int]],
                      box: tuple[float, float] | None) -> tuple[Polyhedron, FloatArray, FloatArray]:
    """The region (in y = x - x0) where hidden unit j of layer l uses piece pattern[l][j], and the
    logits there, z = Z y + z0."""
    poly = box_constraints(x0, box)
    P = network.layers[0].weight.copy()
    p = network.layers[0].weight @ x0 + network.layers[0].bias
    for layer_index, layer in enumerate(network.hidden_layers):
        pieces = layer.activation.pieces()
        slopes, intercepts = [], []
        for j, k in enumerate(pattern[layer_index]):
            piece = pieces[k]
            rows, rhs, strict = piece_rows(P[j], p[j], piece.lo, piece.hi, piece.closed_lo,
                                           piece.closed_hi)
            if rows:
                poly = poly.add(np.array(rows), np.array(rhs), strict)
            slopes.append(piece.slope)
            intercepts.append(piece.intercept)
        s, t = np.array(slopes), np.array(intercepts)
        nxt = network.layers[layer_index + 1]
        P, p = nxt.weight @ (s[:, None] * P), nxt.weight @ (s * p + t) + nxt.bias
    return poly, P, p


def find_witness(network: Network, x0: FloatArray, c0: int, y_closest: FloatArray,
                 y_inside: FloatArray, which: str,
                 box: tuple[float, float] | None = None) -> tuple[FloatArray, int] | None:
    """A point between the closest point and a strictly interior point of the adversarial set,
    within WITNESS_BUDGET of the closest point, inside the box (exactly: the solvers' points may
    overshoot a face by their tolerance, and just outside the box the class may differ), whose
    class differs from c0 both in float64 and in exact rational arithmetic."""
    direction = y_inside - y_closest
    length = norm(direction, which)
    steps = [0.0] if length == 0 else [min(1.0, WITNESS_BUDGET / length) * f
                                       for f in (1.0, 0.5, 0.1, 1e-2, 1e-3)]
    for t in steps:
        w = x0 + y_closest + t * direction
        if box is not None:
            w = np.clip(w, box[0], box[1])
        float_class = int(network.classify(w)[0])
        if float_class != c0 and exact_class(network, w) == float_class:
            return w, float_class
    return None


@dataclass
class LeafOutcome:
    """What one full activation pattern contributes: the best verified candidate (if closer
    than the bound it was given), lower bounds of what it could not use, solver calls."""

    best: _Best | None = None
    skipped_lb: float = math.inf
    unresolved_lb: float = math.inf
    calls: int = 0
    notes: list[str] = field(default_factory=list)


def closest_in_region(network: Network, x0: FloatArray, c0: int, region: Polyhedron,
                      Z: FloatArray, z: FloatArray, which: str, bound: float) -> LeafOutcome:
    """The closest input of another class inside one activation region (logits Z y + z there),
    if it is closer than ``bound``: for each other class, project onto the closure of region and
    class set, keep it when the strict system is non-empty and a witness verifies."""
    out = LeafOutcome()
    for _target, rows, rhs, strict in target_rows(network, c0, Z, z):
        poly = region.add(rows, rhs, strict)
        proj = project(poly, which)
        out.calls += 1
        if not proj.feasible:
            continue
        current = bound if out.best is None else out.best.distance
        if proj.distance >= current:
            out.skipped_lb = min(out.skipped_lb, proj.lower_bound)
            continue
        margin, inside = strict_interior(poly, all_rows=True)  # robust interior point first
        out.calls += 1
        if margin <= STRICT_MARGIN:  # no interior: is the strict system empty?
            margin, inside = strict_interior(poly)
            out.calls += 1
        if inside is None or margin < -AMBIGUOUS_MARGIN:
            continue  # the strict system is empty: only its closure touches
        found = find_witness(network, x0, c0, proj.point, inside, which, poly.box)
        if found is None:
            if margin > STRICT_MARGIN:
                out.unresolved_lb = min(out.unresolved_lb, proj.lower_bound)
                out.notes.append(f"no verified witness near distance {proj.distance:.9g}")
            continue
        point = x0 + proj.point
        if poly.box is not None:  # the closure's point, on the box's face rather than past it
            point = np.clip(point, poly.box[0], poly.box[1])
        out.best = _Best(proj.distance, proj.lower_bound, point, *found)
    return out


def _verified_adversarial(network: Network, x0: FloatArray, c0: int, point: ArrayLike | None,
                          box: tuple[float, float] | None) -> tuple[FloatArray, int] | None:
    """``point`` and its class when it is an input of another class than c0 (in float64 and in
    exact rational arithmetic) inside the box; None otherwise."""
    if point is None:
        return None
    w = np.asarray(point, dtype=np.float64).ravel()
    if w.shape != x0.shape or not np.all(np.isfinite(w)):
        return None
    if box is not None and not np.all((w >= box[0]) & (w <= box[1])):
        return None
    cls = int(network.classify(w)[0])
    if cls == c0 or exact_class(network, w) != cls:
        return None
    return w, cls


def reference_point(dim: int, box: tuple[float, float] | None) -> FloatArray:
    """Where a global claim ("no input of another class") is double-checked: the origin, or
    the box's centre."""
    return np.full(dim, 0.0 if box is None else 0.5 * (box[0] + box[1]))


def oae_branch_and_bound(network: Network, x: ArrayLike, which: str = "l2",
                         box: tuple[float, float] | None = None,
                         time_limit: float | None = None,
                         upper_bound: float = math.inf,
                         known_adversarial: ArrayLike | None = None,
                         confirm_global: bool = True) -> OAEResult:
    """Exact optimal adversarial example of ``x`` (see the module docstring).

    ``upper_bound``: a known distance to some input of another class (e.g. from an attack);
    only used to prune. ``known_adversarial``: that input, if known; it is the answer when the
    search finds nothing better (e.g. at a time limit), once verified. ``time_limit``
    (seconds): stop with the certified bracket so far.

    "No input of another class" is a claim about the whole input space (or box), not about x:
    far from the origin the shifted offsets W x + b round away thin regions (the seed's network
    at x = (1e16, 1e16) lost its class-1 strip), so with ``confirm_global`` that claim is
    checked once more from ``reference_point`` when x is farther than CONFIRM_BEYOND from it;
    if an input of another class turns up there,
    the result is an uncertified bracket [0, its distance] instead."""
    start = time.perf_counter()
    if which not in NORMS:
        raise ActlabError(f"unknown norm {which!r} (use l2, linf or l1)")
    check_piecewise_linear(network)
    x0 = np.asarray(x, dtype=np.float64).ravel()
    if x0.shape != (network.input_dim,):
        raise ActlabError(f"input has {x0.size} features; the network takes {network.input_dim}")
    c0 = exact_class(network, x0)  # not the float class: rounding can break a tie z = 0
    W0 = network.layers[0]
    calls = 0
    seq = 0
    best = _Best()
    unresolved_lb = math.inf  # candidates whose witness could not be verified
    notes: list[str] = []

    root_poly = box_constraints(x0, box)
    root = project(root_poly, which)
    calls += 1
    heap: list[_Node] = []
    if root.feasible:
        heap.append(_Node(root.distance, seq, root.lower_bound, root.point, root_poly, 0, 0,
                          (W0.weight.copy(), W0.weight @ x0 + W0.bias)))
    hidden = network.hidden_layers
    nodes = 0
    open_lb = math.inf
    status = "optimal"
    while heap:
        node = heapq.heappop(heap)
        if node.bound >= best.distance:
            open_lb = min(open_lb, node.lower_bound, *(n.lower_bound for n in heap))
            heap.clear()
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            open_lb = min(open_lb, node.lower_bound, *(n.lower_bound for n in heap))
            status = "time_limit"
            break
        nodes += 1
        P, p = node.pre
        if node.layer == len(hidden):  # a full pattern: logits are affine, look for targets
            leaf = closest_in_region(network, x0, c0, node.poly, P, p, which, best.distance)
            calls += leaf.calls
            open_lb = min(open_lb, leaf.skipped_lb)
            unresolved_lb = min(unresolved_lb, leaf.unresolved_lb)
            notes.extend(leaf.notes)
            if leaf.best is not None:
                best = leaf.best
            continue
        act = hidden[node.layer].activation
        radius = min(best.distance, upper_bound)
        reach = radius * float(np.linalg.norm(P[node.unit], DUAL_ORD[which]))
        lo, hi = p[node.unit] - reach, p[node.unit] + reach  # pre-activation within the ball
        for piece in act.pieces():
            if piece.hi < lo or piece.lo > hi:
                open_lb = min(open_lb, radius)  # no point of this piece is within the ball
                continue
            rows, rhs, strict = piece_rows(P[node.unit], p[node.unit], piece.lo, piece.hi,
                                           piece.closed_lo, piece.closed_hi)
            poly = node.poly.add(np.array(rows).reshape(-1, len(x0)), np.array(rhs), strict) \
                if rows else node.poly
            if node.point is not None and poly.contains(node.point, tol=0.0):
                child_bound, child_lb, child_point = node.bound, node.lower_bound, node.point
            else:
                proj = project(poly, which)
                calls += 1
                if not proj.feasible:
                    continue
                child_bound, child_lb, child_point = proj.distance, proj.lower_bound, proj.point
            if child_bound >= best.distance:
                open_lb = min(open_lb, child_lb)
                continue
            slopes = (*node.slopes, piece.slope)
            intercepts = (*node.intercepts, piece.intercept)
            layer, unit, pre = node.layer, node.unit + 1, node.pre
            if unit == len(p):  # layer complete: h = s * pre + t, next pre-activation
                s, t = np.array(slopes), np.array(intercepts)
                H, g = s[:, None] * P, s * p + t
                nxt = network.layers[layer + 1]
                pre = (nxt.weight @ H, nxt.weight @ g + nxt.bias)
                layer, unit, slopes, intercepts = layer + 1, 0, (), ()
            seq += 1
            heapq.heappush(heap, _Node(child_bound, seq, child_lb, child_point, poly, layer,
                                       unit, pre, slopes, intercepts))
    lower = min(best.lower_bound, open_lb, unresolved_lb)
    known = _verified_adversarial(network, x0, c0, known_adversarial, box)
    if best.witness is None and known is not None:  # nothing closer found: the known input
        known_distance = norm(known[0] - x0, which)
        best = _Best(known_distance, known_distance, known[0], *known)
    if best.witness is None and status == "optimal" and math.isinf(unresolved_lb) \
            and confirm_global:
        known, confirmed = _confirm_no_adversarial(network, x0, c0, which, box, time_limit,
                                                   start)
        if known is not None:
            notes.append("float64 cannot resolve the regions at this input's magnitude: no "
                         "input of another class was found from x, but one exists (found from "
                         "the reference point); bracket [0, its distance]")
            status = "imprecise"
            open_lb = lower = 0.0
            best = _Best(norm(known[0] - x0, which), 0.0, known[0], *known)
        elif not confirmed:
            status = "time_limit"
    if best.witness is None:
        distance = None
        certified = status == "optimal" and math.isinf(unresolved_lb)
        lower = lower if status != "optimal" or not certified else math.inf
        if status == "optimal" and certified:
            status = "no_adversarial"
    else:
        distance = best.distance
        certified = status == "optimal" and agrees(lower, best.distance)
    return OAEResult(
        x=x0.tolist(), cls=c0, norm=which, distance=distance,
        point=None if best.point is None else best.point.tolist(),
        witness=None if best.witness is None else best.witness.tolist(),
        witness_class=best.witness_class,
        witness_distance=None if best.witness is None else norm(best.witness - x0, which),
        lower_bound=lower, certified=certified,
        method=f"branch-and-bound over activation patterns ({which}: "
               f"{'QP' if which == 'l2' else 'LP'} per region, HiGHS; duality bounds)",
        status=status, seconds=time.perf_counter() - start, nodes=nodes, solver_calls=calls,
        notes=notes[:5])


def _confirm_no_adversarial(network: Network, x0: FloatArray, c0: int, which: str,
                            box: tuple[float, float] | None, time_limit: float | None,
                            start: float) -> tuple[tuple[FloatArray, int] | None, bool]:
    """Search once more from the reference point: (an input of another class than c0, False)
    when one turns up, (None, True) when the search there proves there is none too (or x0 is
    within CONFIRM_BEYOND of it), (None, False) when it ran out of time."""
    ref = reference_point(len(x0), box)
    if float(np.max(np.abs(ref - x0))) <= CONFIRM_BEYOND:
        return None, True
    own = _verified_adversarial(network, x0, c0, ref, box)
    if own is not None:
        return own, False
    remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - start),
                                                    1e-3)
    again = oae_branch_and_bound(network, ref, which, box, time_limit=remaining,
                                 confirm_global=False)
    known = _verified_adversarial(network, x0, c0, again.witness, box)
    return known, known is None and again.status == "no_adversarial"
