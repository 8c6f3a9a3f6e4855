"""Independent oracles for optimal adversarial examples (OAE), written from first principles.

Tests import this module (``import oracles``). Nothing here uses ``actlab.oae``: only the network's
layers, its ``classify`` rule and the activations' linear pieces.

* ``grid_search_distance``: the closest grid point of another class, an upper bound on the OAE
  distance inside the grid's box, and a bracket [distance - r, distance] with r the grid's covering
  radius when the other class is not thinner than the grid near the optimum.
* ``enumerate_patterns_distance``: the exact OAE distance by enumerating every activation pattern.
  Fixing a linear piece for every hidden unit makes the network affine on a polyhedron; adding the
  conditions of a target class gives a polyhedron S = {A_c x <= b_c, A_s x < b_s} (strict rows from
  open piece ends and from the class rule). The infimum of ||x' - x|| over S is the minimum over its
  closure {A x <= b}, *provided S is not empty* (then every point of the relaxed set is a limit of
  points of S); emptiness is decided by an LP maximising a common slack t of the strict rows. The
  minimum is an LP for l1 and linf (HiGHS) and, for l2, the closest of the projections of x onto
  {A_S x = b_S} over all row subsets S of size <= d that are feasible (the projection onto a
  polyhedron is one of them: Caratheodory on its KKT conditions).
* ``random_pl_network``: a hypothesis strategy for small random ReLU / JumpReLU networks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog

from actlab.activations import LinearPiece
from actlab.network import Network

FloatArray = NDArray[np.float64]
SLACK_TOL = 1e-9  # a strict system is non-empty iff its common slack t* exceeds this
ZERO_ROW = 1e-12  # rows with a smaller norm are constants: 0 <= b (closed) or 0 < b (strict)
FEAS_TOL = 1e-9  # feasibility tolerance for the l2 active-set candidates (rows have unit norm)
HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def lp_norm(v: FloatArray, norm: str) -> FloatArray:
    """||v||_p over the last axis."""
    v = np.abs(np.asarray(v, dtype=np.float64))
    if norm == "l2":
        return np.sqrt(np.sum(v * v, axis=-1))
    if norm == "linf":
        return np.max(v, axis=-1)
    if norm == "l1":
        return np.sum(v, axis=-1)
    raise ValueError(f"unknown norm {norm!r}")


def dual_norm(v: FloatArray, norm: str) -> FloatArray:
    """||v||_q with 1/p + 1/q = 1: l2 -> l2, linf -> l1, l1 -> linf."""
    return lp_norm(v, {"l2": "l2", "linf": "l1", "l1": "linf"}[norm])


# --- (a) grid search ---------------------------------------------------------------------------
@dataclass
class GridResult:
    """Closest grid point of another class; ``lower = distance - covering_radius``."""

    distance: float | None
    point: FloatArray | None
    step: float
    covering_radius: float
    points: int

    @property
    def lower(self) -> float | None:
        return None if self.distance is None else max(0.0, self.distance - self.covering_radius)


def grid_search_distance(network: Network, x: FloatArray, norm: str, lo: ArrayLike,
                         hi: ArrayLike, step: float) -> GridResult:
    """min ||g - x||_p over grid points g of the box [lo, hi] (scalars or per-axis arrays; spacing
    at most ``step``, ends included) whose class differs from x's. Covering radius r: every point
    of the box is within r = (h/2) * d^(1/p) of a grid point (h the largest spacing)."""
    return grid_search_distances(network, x, (norm,), lo, hi, step)[norm]


def grid_search_distances(network: Network, x: FloatArray, norms: tuple[str, ...],
                          lo: ArrayLike, hi: ArrayLike, step: float,
                          chunk: int = 200_000) -> dict[str, GridResult]:
    """``grid_search_distance`` for several norms with one classification of the grid."""
    x = np.asarray(x, dtype=np.float64)
    d = network.input_dim
    lo_a = np.broadcast_to(np.asarray(lo, dtype=np.float64), (d,))
    hi_a = np.broadcast_to(np.asarray(hi, dtype=np.float64), (d,))
    counts = [max(2, round(float(h - l) / step) + 1) for l, h in zip(lo_a, hi_a, strict=True)]
    axes = [np.linspace(l, h, n) for l, h, n in zip(lo_a, hi_a, counts, strict=True)]
    h = max(float(a[1] - a[0]) for a in axes)
    y = int(network.classify(x)[0])
    best: dict[str, tuple[float, FloatArray | None]] = {n: (np.inf, None) for n in norms}
    total = int(np.prod(counts))
    for start in range(0, total, chunk):
        idx = np.unravel_index(np.arange(start, min(start + chunk, total)), counts)
        G = np.stack([axes[i][idx[i]] for i in range(d)], axis=1)
        G = G[network.classify(G) != y]
        for norm in norms if len(G) else ():
            dist = lp_norm(G - x, norm)
            i = int(np.argmin(dist))
            if dist[i] < best[norm][0]:
                best[norm] = (float(dist[i]), G[i].copy())
    out = {}
    for norm in norms:
        radius = {"linf": h / 2, "l2": h / 2 * np.sqrt(d), "l1": h / 2 * d}[norm]
        dist, point = best[norm]
        out[norm] = GridResult(None if point is None else dist, point, h, radius, total)
    return out


# --- (b) activation-pattern enumeration --------------------------------------------------------
@dataclass
class Polyhedron:
    """{x : A x <= b} with unit-norm rows; ``strict`` marks rows that are < in the true set;
    ``interior`` is a point of the true set (all strict rows hold strictly)."""

    A: FloatArray
    b: FloatArray
    strict: NDArray[np.bool_]
    interior: FloatArray


@dataclass
class Region:
    """A non-empty set where every hidden unit sits on a fixed linear piece and the class is
    ``target``; on it the logits are z = G x + g."""

    pattern: tuple[tuple[int, ...], ...]
    target: int
    poly: Polyhedron
    G: FloatArray
    g: FloatArray


@dataclass
class OracleResult:
    """Exact OAE distance (None: no input of another class), the closest point of the closure,
    a witness that really flips the class, and where the minimum was found."""

    distance: float | None
    point: FloatArray | None
    witness: FloatArray | None
    pattern: tuple[tuple[int, ...], ...] | None
    target: int | None
    regions: int


def _normalise(rows: list[FloatArray], rhs: list[float], strict: list[bool],
               ) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]] | None:
    """Scale rows to unit norm; drop constant rows (None if a constant row is violated)."""
    A_out, b_out, s_out = [], [], []
    for a, c, s in zip(rows, rhs, strict, strict=True):
        n = float(np.linalg.norm(a))
        if n < ZERO_ROW:
            if (s and not c > ZERO_ROW) or (not s and c < -ZERO_ROW):
                return None
            continue
        A_out.append(a / n)
        b_out.append(c / n)
        s_out.append(s)
    d = len(rows[0]) if rows else 0
    return (np.array(A_out).reshape(-1, d), np.array(b_out), np.array(s_out, dtype=bool))


def _nonempty(A: FloatArray, b: FloatArray, strict: NDArray[np.bool_], d: int,
              ) -> FloatArray | None:
    """Is {A_closed x <= b_closed, A_strict x < b_strict} non-empty? LP: max t subject to
    A x + t * sigma <= b, t <= 1, first with sigma = 1 on every row (t* > 0: full-dimensional,
    and the maximiser is a robust interior point), then, if that fails, with sigma = 1 on the
    strict rows only (t* > 0, or feasibility when no row is strict). Returns a point of the set."""
    if len(A) == 0:
        return np.zeros(d)
    for sigma in (np.ones(len(A)), strict.astype(float)):
        A_ub = np.hstack([A, sigma[:, None]])
        cost = np.zeros(d + 1)
        cost[-1] = -1.0
        res = linprog(cost, A_ub=A_ub, b_ub=b, bounds=[(None, None)] * d + [(None, 1.0)],
                      method="highs", options=HIGHS)
        if res.status == 0 and (res.x[-1] > SLACK_TOL or not sigma.any()):
            return np.asarray(res.x[:d])
        if res.status == 2:  # even the relaxation is infeasible
            return None
    return None


def _piece_rows(G: FloatArray, g: FloatArray, unit: int, piece: LinearPiece,
                ) -> tuple[list[FloatArray], list[float], list[bool]]:
    """Rows for 'pre-activation a = G[unit] x + g[unit] lies in the piece'."""
    rows, rhs, strict = [], [], []
    a, c = G[unit], g[unit]
    if np.isfinite(piece.lo):  # a >= lo  <=>  -a.x <= c - lo   (> if the end is open)
        rows.append(-a)
        rhs.append(c - piece.lo)
        strict.append(not piece.closed_lo)
    if np.isfinite(piece.hi):  # a <= hi  <=>  a.x <= hi - c
        rows.append(a)
        rhs.append(piece.hi - c)
        strict.append(not piece.closed_hi)
    return rows, rhs, strict


def _box_rows(box: tuple[object, object] | None, d: int,
              ) -> tuple[list[FloatArray], list[float], list[bool]]:
    if box is None:
        return [], [], []
    lo = np.broadcast_to(np.asarray(box[0], dtype=np.float64), (d,))
    hi = np.broadcast_to(np.asarray(box[1], dtype=np.float64), (d,))
    rows, rhs = [], []
    for i in range(d):
        e = np.zeros(d)
        e[i] = 1.0
        rows += [e, -e]
        rhs += [float(hi[i]), -float(lo[i])]
    return rows, rhs, [False] * (2 * d)


def _class_rows(Z: FloatArray, z: FloatArray, target: int, binary: bool,
                ) -> tuple[list[FloatArray], list[float], list[bool]]:
    """Binary: class 1 iff z > 0 (-Z x < z0), class 0 iff z <= 0. Multi-class: z_t > z_j for
    j < t and z_t >= z_j for j > t (ties go to the lowest index)."""
    if binary:
        if target == 1:
            return [-Z[0]], [float(z[0])], [True]
        return [Z[0]], [-float(z[0])], [False]
    rows, rhs, strict = [], [], []
    for j in range(len(z)):
        if j != target:  # z_j - z_t <= 0:  (Z_j - Z_t) x <= z_t - z_j
            rows.append(Z[j] - Z[target])
            rhs.append(float(z[target] - z[j]))
            strict.append(j < target)
    return rows, rhs, strict


def linear_regions(network: Network, box: tuple[object, object] | None = None,
                   ) -> list[Region]:
    """Every non-empty (activation pattern, class) set, by depth-first enumeration layer by layer
    (a pattern prefix whose set is empty is not extended)."""
    d = network.input_dim
    pieces = [layer.activation.pieces() for layer in network.hidden_layers]
    out: list[Region] = []
    rows0, rhs0, strict0 = _box_rows(box, d)

    def visit(depth: int, G: FloatArray, g: FloatArray, rows: list[FloatArray],
              rhs: list[float], strict: list[bool], pattern: tuple[tuple[int, ...], ...]) -> None:
        if depth == len(pieces):
            last = network.layers[-1]
            Z, z = last.weight @ G, last.weight @ g + last.bias
            for target in range(network.num_classes):
                cr, cb, cs = _class_rows(Z, z, target, network.binary)
                norm = _normalise(rows + cr, rhs + cb, strict + cs)
                if norm is None:
                    continue
                A, b, s = norm
                interior = _nonempty(A, b, s, d)
                if interior is not None:
                    out.append(Region(pattern, target, Polyhedron(A, b, s, interior), Z, z))
            return
        layer = network.hidden_layers[depth]
        P, p = layer.weight @ G, layer.weight @ g + layer.bias
        units = P.shape[0]
        for choice in itertools.product(range(len(pieces[depth])), repeat=units):
            r, c, s = list(rows), list(rhs), list(strict)
            for unit, k in enumerate(choice):
                rr, cc, ss = _piece_rows(P, p, unit, pieces[depth][k])
                r += rr
                c += cc
                s += ss
            if r:
                norm = _normalise(r, c, s)
                if norm is None or _nonempty(*norm, d) is None:
                    continue
            slope = np.array([pieces[depth][k].slope for k in choice])
            icpt = np.array([pieces[depth][k].intercept for k in choice])
            visit(depth + 1, slope[:, None] * P, slope * p + icpt, r, c, s,
                  (*pattern, choice))

    visit(0, np.eye(d), np.zeros(d), rows0, rhs0, strict0, ())
    return out


def project_l2(x: FloatArray, A: FloatArray, b: FloatArray) -> FloatArray | None:
    """Closest point of {A y <= b} to x in l2, by enumerating active sets: for each subset S of
    at most d linearly independent rows, y_S = x - A_S^T (A_S A_S^T)^{-1} (A_S x - b_S); keep the
    feasible ones and return the closest (None if the polyhedron is empty)."""
    d = len(x)
    if len(A) == 0 or np.all(A @ x <= b + FEAS_TOL):
        return x.copy()
    best, best_d = None, np.inf
    for k in range(1, min(d, len(A)) + 1):
        S = np.array(list(itertools.combinations(range(len(A)), k)))
        AS = A[S]  # (n, k, d)
        gram = AS @ AS.transpose(0, 2, 1)
        ok = np.abs(np.linalg.det(gram)) > 1e-10  # rows have unit norm: det in [0, 1]
        if not np.any(ok):
            continue
        AS, gram, bS = AS[ok], gram[ok], b[S[ok]]
        resid = AS @ x - bS  # (n, k)
        lam = np.linalg.solve(gram, resid[:, :, None])[:, :, 0]
        Y = x - np.einsum("nkd,nk->nd", AS, lam)
        feas = np.all(Y @ A.T - b <= FEAS_TOL, axis=1)
        if np.any(feas):
            dist = np.linalg.norm(Y[feas] - x, axis=1)
            i = int(np.argmin(dist))
            if dist[i] < best_d:
                best_d, best = float(dist[i]), Y[feas][i]
    return best


def project_lp(x: FloatArray, A: FloatArray, b: FloatArray, norm: str) -> FloatArray | None:
    """Closest point of {A y <= b} to x in l1 (min sum u, -u <= y - x <= u) or linf
    (min s, -s <= y_i - x_i <= s), by LP."""
    d = len(x)
    eye = np.eye(d)
    extra = d if norm == "l1" else 1
    E = eye if norm == "l1" else np.ones((d, 1))
    A_ub = np.vstack([np.hstack([eye, -E]), np.hstack([-eye, -E]),
                      np.hstack([A, np.zeros((len(A), extra))])])
    b_ub = np.concatenate([x, -x, b])
    cost = np.concatenate([np.zeros(d), np.ones(extra)])
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * (d + extra),
                  method="highs", options=HIGHS)
    return None if res.status != 0 else np.asarray(res.x[:d])


def enumerate_patterns_distance(network: Network, x: FloatArray, norm: str,
                                box: tuple[object, object] | None = None,
                                regions: list[Region] | None = None) -> OracleResult:
    """Exact OAE distance: min over non-empty (pattern, class != class(x)) sets of the distance
    from x to the set's closure. ``regions`` (from ``linear_regions`` with the same box) can be
    passed to reuse the enumeration for several inputs and norms."""
    x = np.asarray(x, dtype=np.float64)
    y = int(network.classify(x)[0])
    if regions is None:
        regions = linear_regions(network, box)
    best: tuple[float, FloatArray, Region] | None = None
    for region in regions:
        if region.target == y:
            continue
        A, b = region.poly.A, region.poly.b
        p = project_l2(x, A, b) if norm == "l2" else project_lp(x, A, b, norm)
        if p is None:
            continue
        dist = float(lp_norm(p - x, norm))
        if best is None or dist < best[0]:
            best = (dist, p, region)
    others = sum(r.target != y for r in regions)
    if best is None:
        return OracleResult(None, None, None, None, None, others)
    dist, p, region = best
    return OracleResult(dist, p, _witness(network, x, y, p, region, norm, dist),
                        region.pattern, region.target, others)


def _witness(network: Network, x: FloatArray, y: int, p: FloatArray, region: Region,
             norm: str, dist: float) -> FloatArray | None:
    """p + tau (s - p) for the smallest tau in 1e-12 .. 1 that flips the class within
    dist + 1e-6 (s: the region's interior point; the segment (p, s] lies in the true set)."""
    s = region.poly.interior
    for tau in np.geomspace(1e-12, 1.0, 25):
        w = p + tau * (s - p)
        if network.classify(w)[0] != y and lp_norm(w - x, norm) <= dist + 1e-6:
            return w
    return None


# --- (c) random networks -----------------------------------------------------------------------
@st.composite
def random_pl_network(draw: st.DrawFn, activations: tuple[str, ...] = ("relu", "jumprelu"),
                      depths: tuple[int, ...] = (1, 2), widths: tuple[int, int] = (2, 4),
                      input_dims: tuple[int, int] = (2, 4), classes: tuple[int, ...] = (2, 3),
                      decimals: int = 1, q_values: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5),
                      ) -> Network:
    """A small random network: 1 or 2 hidden layers of 2-4 relu or jumprelu units (q from
    ``q_values``), 2-4 inputs, a binary (sigmoid) or 3-class (softmax) head; weights and biases
    from a seeded N(0, 1), rounded to ``decimals`` so that ties happen."""
    d = draw(st.integers(*input_dims))
    depth = draw(st.sampled_from(depths))
    hidden = [draw(st.integers(*widths)) for _ in range(depth)]
    act = draw(st.sampled_from(activations))
    if act == "jumprelu":
        act = f"jumprelu:q={draw(st.sampled_from(q_values))}"
    k = draw(st.sampled_from(classes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = [d, *hidden, 1 if k == 2 else k]
    weights = [rng.normal(size=(o, i)).round(decimals) for i, o in itertools.pairwise(sizes)]
    biases = [rng.normal(size=o).round(decimals) for o in sizes[1:]]
    head = "sigmoid" if k == 2 else "softmax"
    return Network.from_arrays(weights, biases, [act] * depth + [head],
                               name=f"random-{seed}")


@st.composite
def random_input(draw: st.DrawFn, d: int, decimals: int = 2, scale: float = 1.0) -> FloatArray:
    """A point of [-scale, scale]^d on a grid of 10^-decimals (seeded)."""
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).uniform(-scale, scale, d).round(decimals)
