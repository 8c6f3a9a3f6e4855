"""Distances from a point to a polyhedron, with certified lower bounds by LP/QP duality.

A polyhedron is {y : A y <= b} with some rows strict (A_i y < b_i); its closure relaxes them.
All problems are posed in the shifted variable y = x - x0, so the distance is ||y||.

- L2:   min ||y||_2 by least-distance programming (NNLS, Lawson & Hanson), then polished by
        solving the KKT system of the active rows exactly and checking it (HiGHS QP fallback).
- Linf: min t,  -t <= y_i <= t (LP, HiGHS)
- L1:   min sum u, -u <= y <= u (LP, HiGHS)

Certified lower bound (weak duality): for any lambda >= 0 and any feasible y,
    lambda^T (-b) <= -lambda^T A y <= ||A^T lambda||_* ||y||,
so ||y|| >= lambda^T (-b) / ||A^T lambda||_*  with the dual norm (L2 <-> L2, Linf <-> L1,
L1 <-> Linf). The solver's multipliers give a lambda; the bound is then recomputed here, so it
does not rely on the solver's objective value.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import nnls

FloatArray = NDArray[np.float64]
NORMS = ("l2", "linf", "l1")
DUAL_ORD = {"l2": 2, "linf": 1, "l1": np.inf}
ORD = {"l2": 2, "linf": np.inf, "l1": 1}
INF = highspy.kHighsInf
FEAS_TOL = 1e-9
RETRY_OPTIONS: tuple[dict[str, object], ...] = ({}, {"simplex_strategy": 4}, {"solver": "ipm"})


def norm(v: FloatArray, which: str) -> float:
    """||v|| in the named norm (l2 scaled by max |v_i|, so that it neither overflows nor
    underflows: numpy's sum of squares makes ||(1e300, 1e300)||_2 infinite)."""
    if which == "l2":
        peak = float(np.max(np.abs(v), initial=0.0))
        if peak == 0.0 or not np.isfinite(peak):
            return peak
        return peak * float(np.linalg.norm(np.asarray(v) / peak))
    return float(np.linalg.norm(v, ORD[which]))


@dataclass(frozen=True)
class Polyhedron:
    """{y : A y <= b}, rows flagged ``strict`` are A_i y < b_i (their closure is <=).

    ``box``: the input box (lo, hi) in x coordinates when some rows encode it, carried along so
    that a candidate point can be checked against the box exactly (the rows, shifted by x0, are
    rounded)."""

    A: FloatArray
    b: FloatArray
    strict: NDArray[np.bool_]
    box: tuple[float, float] | None = None

    @classmethod
    def empty_constraints(cls, dim: int) -> Polyhedron:
        return cls(np.zeros((0, dim)), np.zeros(0), np.zeros(0, dtype=bool))

    @property
    def dim(self) -> int:
        return self.A.shape[1]

    def add(self, A: FloatArray, b: FloatArray, strict: bool | NDArray[np.bool_]) -> Polyhedron:
        """This polyhedron with more rows."""
        A = np.atleast_2d(A)
        b = np.atleast_1d(b)
        flags = np.broadcast_to(np.asarray(strict, dtype=bool), b.shape)
        return Polyhedron(np.vstack([self.A, A]), np.concatenate([self.b, b]),
                          np.concatenate([self.strict, flags]), self.box)

    def trivially_infeasible(self) -> bool:
        """A zero row with a violated right-hand side (e.g. a constant pre-activation outside
        its piece)."""
        zero = ~np.any(self.A != 0.0, axis=1)
        bad_closed = zero & ~self.strict & (self.b < 0)
        bad_strict = zero & self.strict & (self.b <= 0)
        return bool(np.any(bad_closed | bad_strict))

    def without_zero_rows(self) -> Polyhedron:
        keep = np.any(self.A != 0.0, axis=1)
        return Polyhedron(self.A[keep], self.b[keep], self.strict[keep], self.box)

    def normalized(self) -> Polyhedron:
        """The same set with zero rows dropped and every row scaled to ||A_i||_2 = 1, so that a
        slack is a Euclidean distance to the face and the solvers' absolute tolerances mean the
        same for logits of 1e-12 and of 1e12."""
        poly = self.without_zero_rows()
        scale = np.linalg.norm(poly.A, axis=1)
        return Polyhedron(poly.A / scale[:, None], poly.b / scale, poly.strict, poly.box)

    def contains(self, y: FloatArray, closure: bool = True, tol: float = FEAS_TOL) -> bool:
        """y satisfies the closed rows (within tol); strict rows too unless ``closure``."""
        slack = self.b - self.A @ y
        if closure:
            return bool(np.all(slack >= -tol))
        return bool(np.all(np.where(self.strict, slack > 0, slack >= 0)))


@dataclass(frozen=True)
class Projection:
    """The closest point y* of the polyhedron's closure to 0, ||y*|| and a certified bound."""

    feasible: bool
    distance: float
    point: FloatArray | None
    lower_bound: float


_BANNER_SILENCED = False


def _silence_banner() -> None:
    """HiGHS prints a copyright banner on stdout when the first instance is created; stdout is
    reserved for results (--json), so create that first instance with stdout closed."""
    global _BANNER_SILENCED
    if _BANNER_SILENCED:
        return
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _BANNER_SILENCED = True


def _highs() -> highspy.Highs:
    _silence_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    return h


def _solve(cost: FloatArray, A: FloatArray, row_upper: FloatArray, col_lower: FloatArray,
           col_upper: FloatArray, hessian_diag: FloatArray | None = None
           ) -> tuple[str, FloatArray, FloatArray]:
    """min cost.v (+ 1/2 v^T diag(h) v) s.t. A v <= row_upper, bounds. Returns status, v, row
    duals (HiGHS sign convention: <= 0 for an active upper bound in a minimisation)."""
    n = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.full(A.shape[0], -INF)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    csc = A.T.copy()  # column j of A is row j of A.T: build column-wise storage directly
    starts, indices, values = [0], [], []
    for j in range(n):
        nz = np.nonzero(csc[j])[0]
        indices.extend(nz.tolist())
        values.extend(csc[j, nz].tolist())
        starts.append(len(indices))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(starts)
    lp.a_matrix_.index_ = np.array(indices, dtype=np.int64)
    lp.a_matrix_.value_ = np.array(values, dtype=np.float64)
    model: highspy.HighsModel | highspy.HighsLp = lp
    if hessian_diag is not None:
        model = highspy.HighsModel()
        model.lp_ = lp
        hess = highspy.HighsHessian()
        hess.dim_ = n
        hess.format_ = highspy.HessianFormat.kTriangular
        hess.start_ = list(range(n + 1))
        hess.index_ = list(range(n))
        hess.value_ = [float(v) for v in hessian_diag]
        model.hessian_ = hess
    conclusive = (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnbounded)
    for retry in RETRY_OPTIONS:  # HiGHS 1.16's dual simplex ends some small infeasible LPs
        h = _highs()             # with status Unknown: then primal simplex, then IPM
        for key, value in retry.items():
            h.setOptionValue(key, value)
        h.passModel(model)
        h.run()
        status = h.getModelStatus()
        if status in conclusive:
            break
    if status == highspy.HighsModelStatus.kOptimal:
        sol = h.getSolution()
        return "optimal", np.array(sol.col_value), np.array(sol.row_dual)
    if status == highspy.HighsModelStatus.kInfeasible:
        return "infeasible", np.zeros(n), np.zeros(A.shape[0])
    if status == highspy.HighsModelStatus.kUnbounded:
        return "unbounded", np.zeros(n), np.zeros(A.shape[0])
    return str(status), np.zeros(n), np.zeros(A.shape[0])


def dual_lower_bound(A: FloatArray, b: FloatArray, lam: FloatArray, which: str) -> float:
    """lambda^T(-b) / ||A^T lambda||_* (0 when not positive): a valid lower bound on ||y|| over
    {A y <= b} for any lambda >= 0."""
    lam = np.maximum(lam, 0.0)
    numerator = float(lam @ (-b))
    if numerator <= 0.0:
        return 0.0
    denominator = float(np.linalg.norm(A.T @ lam, DUAL_ORD[which]))
    if denominator == 0.0:
        return np.inf  # 0 <= lambda^T A y <= lambda^T b < 0: the polyhedron is empty
    return numerator / denominator * (1.0 - 1e-12)


def project(poly: Polyhedron, which: str) -> Projection:
    """The closest point to 0 of the closure of ``poly`` in the named norm, with a bound.

    The problem is solved with b scaled by s = max(-b_i) (the farthest violated face, a lower
    bound on the distance; for l2 only when s > 1) and the answer scaled back (distances are
    positively homogeneous in b): the solvers' absolute tolerances (1e-7 for HiGHS) then mean
    the same for a face 1e-9 away (without scaling, the LP took y = 0 as feasible and the linf
    and l1 distances came out 0) and for one 1e8 away (NNLS lost the point and the l2 region
    was dropped as infeasible)."""
    if poly.trivially_infeasible():
        return Projection(False, np.inf, None, np.inf)
    poly = poly.normalized()
    d = poly.dim
    A, b = poly.A, poly.b
    if A.shape[0] == 0 or np.all(b >= 0):
        return Projection(True, 0.0, np.zeros(d), 0.0)
    # NNLS reads ||r|| <= 1e-10 as "empty" (any point >= 1e10 away): never scale l2 up
    s = float(np.max(-b)) if which != "l2" else max(1.0, float(np.max(-b)))
    scaled = b / s
    if not np.all(np.isfinite(scaled)):
        s, scaled = 1.0, b
    proj = _project_scaled(A, scaled, which)
    if not proj.feasible or s == 1.0:
        return proj
    assert proj.point is not None
    point = proj.point * s
    distance = norm(point, which)
    return Projection(True, distance, point, min(proj.lower_bound * s * (1.0 - 1e-15), distance))


def _project_scaled(A: FloatArray, b: FloatArray, which: str) -> Projection:
    """``project`` on unit rows with max(-b) = 1."""
    d = A.shape[1]
    if which == "l2":
        return _project_l2(A, b)
    m = A.shape[0]
    big = np.full(d, INF)
    eye = np.eye(d)
    if which == "linf":  # variables (y, t)
        rows = np.vstack([np.hstack([A, np.zeros((m, 1))]),
                          np.hstack([eye, -np.ones((d, 1))]),
                          np.hstack([-eye, -np.ones((d, 1))])])
        cost = np.concatenate([np.zeros(d), [1.0]])
        lower = np.concatenate([-big, [0.0]])
        upper = np.concatenate([big, [INF]])
    else:  # l1, variables (y, u)
        rows = np.vstack([np.hstack([A, np.zeros((m, d))]),
                          np.hstack([eye, -eye]),
                          np.hstack([-eye, -eye])])
        cost = np.concatenate([np.zeros(d), np.ones(d)])
        lower = np.concatenate([-big, np.zeros(d)])
        upper = np.concatenate([big, big])
    rhs = np.concatenate([b, np.zeros(2 * d)])
    status, v, duals = _solve(cost, rows, rhs, lower, upper)
    if status == "infeasible":
        return Projection(False, np.inf, None, np.inf)
    if status != "optimal":
        raise RuntimeError(f"HiGHS returned {status} for a distance LP")
    y = v[:d]
    lam = -duals[:m]
    return Projection(True, norm(y, which), y, min(dual_lower_bound(A, b, lam, which),
                                                   norm(y, which)))


def _project_l2(A: FloatArray, b: FloatArray) -> Projection:
    """Least-distance programming (Lawson & Hanson, ch. 23): min ||y|| s.t. G y >= h with
    G = -A, h = -b is solved through the non-negative least squares problem
    min ||E u - f||, u >= 0, E = [G^T; h^T], f = (0, ..., 0, 1): with r = E u - f, the system is
    infeasible iff r = 0, else y = -r[:d] / r[d]; u are the multipliers (up to scale). HiGHS's
    QP is the fallback when NNLS does not converge."""
    d = A.shape[1]
    E = np.vstack([-A.T, -b[None, :]])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    try:
        u, _ = nnls(E, f, maxiter=max(100, 50 * E.shape[1]))
    except RuntimeError:
        return _project_l2_highs(A, b)
    r = E @ u - f
    if np.linalg.norm(r) <= 1e-10 or r[-1] >= 0.0:
        return Projection(False, np.inf, None, np.inf)
    y = -r[:d] / r[-1]
    y, lam = _polish_l2(A, b, y, u)
    if np.any(A @ y > b + 1e-9 * np.maximum(1.0, np.abs(b))):
        return _project_l2_highs(A, b)
    return Projection(True, norm(y, "l2"), y, min(dual_lower_bound(A, b, lam, "l2"),
                                                  norm(y, "l2")))


def _project_l2_highs(A: FloatArray, b: FloatArray) -> Projection:
    """The same projection by HiGHS's convex QP solver."""
    d = A.shape[1]
    status, y, duals = _solve(np.zeros(d), A, b, np.full(d, -INF), np.full(d, INF),
                              hessian_diag=np.ones(d))
    if status == "infeasible":
        return Projection(False, np.inf, None, np.inf)
    if status != "optimal":
        raise RuntimeError(f"HiGHS returned {status} for a distance QP")
    y, lam = _polish_l2(A, b, y, -duals)
    return Projection(True, norm(y, "l2"), y, min(dual_lower_bound(A, b, lam, "l2"),
                                                  norm(y, "l2")))


def _polish_l2(A: FloatArray, b: FloatArray, y: FloatArray, lam: FloatArray
               ) -> tuple[FloatArray, FloatArray]:
    """Refine the QP answer: with the active rows S, the projection of 0 onto {A_S y = b_S} is
    y = -A_S^T mu, A_S A_S^T mu = -b_S. Keep it when it is feasible and mu >= 0 (the KKT
    conditions hold exactly up to rounding); otherwise keep the solver's answer."""
    scale = np.maximum(1.0, np.abs(b))
    active = np.nonzero(np.abs(A @ y - b) <= 1e-7 * scale)[0]
    if active.size == 0:
        return y, np.maximum(lam, 0.0)
    As = A[active]
    mu, *_ = np.linalg.lstsq(As @ As.T, -b[active], rcond=None)
    candidate = -As.T @ mu
    if np.all(mu >= -1e-12) and np.all(A @ candidate <= b + 1e-12 * scale):
        full = np.zeros(A.shape[0])
        full[active] = np.maximum(mu, 0.0)
        return candidate, full
    return y, np.maximum(lam, 0.0)


def strict_interior(poly: Polyhedron, cap: float = 1.0, all_rows: bool = False
                    ) -> tuple[float, FloatArray | None]:
    """max s s.t. A_i y + s ||A_i|| <= b_i on strict rows (on every row when ``all_rows``),
    A_i y <= b_i on the others, s <= cap.

    Returns (s*, y*). The strict system is non-empty iff s* > 0; y* is then a point of it at
    distance >= s* from every strict face. With ``all_rows`` a positive s* means the set has
    interior and y* sits away from every face (a point robust to rounding). (-inf, None) when
    even the closure is empty."""
    if poly.trivially_infeasible():
        return -np.inf, None
    poly = poly.normalized()
    d = poly.dim
    if poly.A.shape[0] == 0:
        return cap, np.zeros(d)
    weights = np.where(poly.strict | all_rows, 1.0, 0.0)
    rows = np.hstack([poly.A, weights[:, None]])
    cost = np.concatenate([np.zeros(d), [-1.0]])
    lower = np.concatenate([np.full(d, -INF), [-INF]])
    upper = np.concatenate([np.full(d, INF), [cap]])
    status, v, _ = _solve(cost, rows, poly.b, lower, upper)
    if status != "optimal":
        return -np.inf, None
    return float(v[d]), v[:d]
