"""Baseline adversarial attacks: upper bounds on the optimal adversarial distance.

Following foolbox, *fixed-epsilon* attacks look for an adversarial point within a given radius
(``fgsm``, ``pgd``), and *minimisation* attacks look for the closest one they can find
(``fgsm_minimal`` and ``pgd_minimal`` by a search on epsilon, ``deepfool``, ``carlini_wagner``).
An attack only ever gives an upper bound: every point it reports has been checked adversarial by
``Network.classify`` (and inside the box), and its distance is measured, not assumed.

All attacks descend the *margin* of the original class y (positive while x keeps its class):

    binary:      m(x) = s * z(x),  s = +1 if y = 1 else -1  (class 1 iff z > 0)
    multi-class: m(x) = z_y(x) - max_{j != y} z_j(x)

with gradients from ``Network.torch_logits`` in float64. The steepest unit step for a norm p uses
the dual norm q (1/p + 1/q = 1): the unit-p-norm direction u maximising <g, u> = ||g||_q is
g / ||g||_2 (l2), sign(g) (linf) and sign(g_i) e_i with i = argmax |g_i| (l1).

Norm support (all attacks accept all three norms):

=============  ===============================================================================
fgsm           l2, linf, l1: one step along -u(grad m(x)), then a search on the step length
pgd            l2, linf, l1: steepest steps, projection on the ball (l1: Duchi et al. 2008),
               random restarts, then a search on epsilon
deepfool       l2, linf, l1: exact step to the linearised boundary, r = -f / ||w||_q * u(w)
cw             l2 as Carlini & Wagner (||d||_2^2 + c * max(m, -kappa), Adam, search on c);
               linf and l1 by the same scheme with ||d||_inf and ||d||_1 (sub-gradients),
               an adaptation, not C&W's tau-linf attack nor EAD (l1 is the weakest)
=============  ===============================================================================

Limits: piecewise-linear networks have gradients that are constant on each linear region and
zero where every path is inactive (ReLU dead units, relu'(0) = 0 included, JumpReLU below its
threshold); FGSM, DeepFool and C&W then have no signal and fail, which they report as
``success = False`` with a ``note``; PGD still finds points through its random restarts, but
only as far as they happen to reach (on the XOR network with JumpReLU q = 0.6 at (0, 0): +29 %
in l2). Gradients do not see JumpReLU's jumps: DeepFool aims at the linearised boundary and can
land beyond a jump (+25 % from (0, 1) on that network). A box [lo, hi] is enforced by clipping
(every iterate stays inside); DeepFool's steps ignore it and can stall on a face. Torch runs
single-threaded inside the attacks (the setting is restored afterwards).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from actlab.errors import ActlabError
from actlab.network import Network

FloatArray = NDArray[np.float64]
NORMS = ("l2", "linf", "l1")
ATTACKS = ("fgsm", "pgd", "deepfool", "cw")
DUAL = {"l2": "l2", "linf": "l1", "l1": "linf"}
Box = tuple[ArrayLike, ArrayLike]


@dataclass
class AttackResult:
    """One attack's outcome. ``point`` is verified adversarial (``classify`` differs from x's class
    and it lies in the box); ``distance`` = ||point - x||_norm. ``iterations`` counts forward +
    backward passes (a batch of restarts is one pass)."""

    attack: str
    norm: str
    success: bool
    point: FloatArray | None
    distance: float | None
    iterations: int
    seconds: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"attack": self.attack, "norm": self.norm, "success": self.success,
                "point": None if self.point is None else [float(v) for v in self.point],
                "distance": None if self.distance is None else float(self.distance),
                "iterations": self.iterations, "seconds": self.seconds, "note": self.note}


@contextmanager
def _single_threaded() -> Iterator[None]:
    """Run torch on one thread (and restore the setting): on tiny tensors intra-op threads only
    add synchronisation, which costs 10-50x on a loaded machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _torch_single_threaded(fn: Callable[..., AttackResult]) -> Callable[..., AttackResult]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> AttackResult:
        with _single_threaded():
            return fn(*args, **kwargs)
    return wrapper


# --- norms ---------------------------------------------------------------------------------------
def lp_norm(v: ArrayLike, norm: str) -> FloatArray:
    """||v||_p over the last axis (l2, linf or l1)."""
    v = np.abs(np.asarray(v, dtype=np.float64))
    if norm == "l2":
        return np.sqrt(np.sum(v * v, axis=-1))
    if norm == "linf":
        return np.max(v, axis=-1)
    return np.sum(v, axis=-1)


def steepest_direction(g: FloatArray, norm: str) -> FloatArray:
    """Rows u with ||u||_p = 1 maximising <g, u> = ||g||_q (zero rows where g = 0):
    l2: g/||g||_2;  linf: sign(g);  l1: sign(g_i) e_i, i = argmax |g_i|."""
    g = np.atleast_2d(g)
    if norm == "l2":
        n = lp_norm(g, "l2")[:, None]
        return np.divide(g, n, out=np.zeros_like(g), where=n > 0)
    if norm == "linf":
        return np.sign(g)
    u = np.zeros_like(g)
    rows = np.arange(len(g))
    i = np.argmax(np.abs(g), axis=1)
    u[rows, i] = np.sign(g[rows, i])
    return u


def project_ball(delta: FloatArray, eps: float, norm: str) -> FloatArray:
    """Euclidean projection of each row of delta onto {||d||_p <= eps} (l1: Duchi et al. 2008:
    d_i -> sign(d_i) max(|d_i| - theta, 0) with theta chosen so that ||d||_1 = eps)."""
    delta = np.atleast_2d(delta).copy()
    if norm == "linf":
        return np.clip(delta, -eps, eps)
    n = lp_norm(delta, norm)
    if norm == "l2":
        scale = np.where(n > eps, eps / np.where(n > 0, n, 1.0), 1.0)
        return delta * scale[:, None]
    for r in np.nonzero(n > eps)[0]:
        v = np.abs(delta[r])
        u = np.sort(v)[::-1]
        css = np.cumsum(u)
        k = np.arange(1, len(u) + 1)
        rho = int(np.nonzero(u * k > css - eps)[0][-1]) + 1
        theta = (css[rho - 1] - eps) / rho
        delta[r] = np.sign(delta[r]) * np.maximum(v - theta, 0.0)
    return delta


# --- the attacked model --------------------------------------------------------------------------
class _Target:
    """The network, the clean input x, its class y, the box, and margin / gradient evaluations."""

    def __init__(self, network: Network, x: ArrayLike, norm: str, box: Box | None) -> None:
        if norm not in NORMS:
            raise ActlabError(f"unknown norm {norm!r} (known: {', '.join(NORMS)})")
        self.network = network
        self.norm = norm
        self.x = np.asarray(x, dtype=np.float64).reshape(-1)
        if self.x.shape != (network.input_dim,):
            raise ActlabError(f"x must have {network.input_dim} features, got {self.x.shape}")
        if not np.all(np.isfinite(self.x)):
            raise ActlabError("x must be finite")
        self.y = int(network.classify(self.x)[0])
        self.lo: FloatArray | None = None
        self.hi: FloatArray | None = None
        if box is not None:
            lo, hi = (np.broadcast_to(np.asarray(v, dtype=np.float64), self.x.shape).copy()
                      for v in box)
            if np.any(lo > hi):
                raise ActlabError("box: lo must not exceed hi")
            self.lo, self.hi = lo, hi
        extent = [1.0, float(np.max(np.abs(self.x)))]
        if self.lo is not None and self.hi is not None:
            extent += [float(np.max(np.abs(self.lo))), float(np.max(np.abs(self.hi)))]
        self.scale = max(extent)
        self.passes = 0

    def clip(self, X: FloatArray) -> FloatArray:
        return X if self.lo is None else np.clip(X, self.lo, self.hi)

    def distance(self, X: FloatArray) -> FloatArray:
        return lp_norm(np.atleast_2d(X) - self.x, self.norm)

    def adversarial(self, points: FloatArray) -> NDArray[np.bool_]:
        """Verified: another class by ``Network.classify`` and inside the box."""
        points = np.atleast_2d(points)
        ok = self.network.classify(points) != self.y
        if self.lo is not None and self.hi is not None:
            ok &= np.all((points >= self.lo) & (points <= self.hi), axis=1)
        return ok

    def margin_torch(self, t: Any) -> Any:
        """m = s z (binary) or z_y - max_{j != y} z_j, as a torch tensor (n,)."""
        import torch

        z = self.network.torch_logits(t)
        if self.network.binary:
            return z[:, 0] if self.y == 1 else -z[:, 0]
        others = torch.cat([z[:, :self.y], z[:, self.y + 1:]], dim=1)
        return z[:, self.y] - others.max(dim=1).values

    def margin_grad(self, X: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Margins (n,) and their input gradients (n, d) for a batch of points."""
        import torch

        t = torch.tensor(np.atleast_2d(X), dtype=torch.float64, requires_grad=True)
        m = self.margin_torch(t)
        (g,) = torch.autograd.grad(m.sum(), t)
        self.passes += 1
        return m.detach().numpy().copy(), g.numpy().copy()

    def pairs(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """DeepFool's linearisation at x: f_j and w_j = grad f_j for each rival j, where
        f_j = z_y - z_j (multi-class) or f = m (binary); the boundary is f_j = 0."""
        import torch

        if self.network.binary:
            m, g = self.margin_grad(x[None])
            return m, g
        k = self.network.num_outputs
        t = torch.tensor(np.repeat(x[None], k, axis=0), dtype=torch.float64, requires_grad=True)
        Z = self.network.torch_logits(t)
        (J,) = torch.autograd.grad(Z.diagonal().sum(), t)
        self.passes += 1
        z, J = Z[0].detach().numpy(), J.numpy()
        rivals = [j for j in range(k) if j != self.y]
        return z[self.y] - z[rivals], J[self.y] - J[rivals]

    def result(self, attack: str, point: FloatArray | None, start: float,
               note: str = "") -> AttackResult:
        """Final gate: report a point only if it is verified adversarial."""
        if point is not None and not self.adversarial(point)[0]:
            point, note = None, note or "candidate did not verify"
        seconds = time.perf_counter() - start
        if point is None:
            return AttackResult(attack, self.norm, False, None, None, self.passes, seconds,
                                note or "no adversarial point found")
        return AttackResult(attack, self.norm, True, point.copy(), float(self.distance(point)[0]),
                            self.passes, seconds, note)


def _best(target: _Target, X: FloatArray, best: FloatArray | None) -> FloatArray | None:
    """The closest verified adversarial row of X, or ``best`` if that is closer."""
    X = np.atleast_2d(X)
    adv = target.adversarial(X)
    if not np.any(adv):
        return best
    cand = X[adv][np.argmin(target.distance(X[adv]))]
    if best is None or target.distance(cand)[0] < target.distance(best)[0]:
        return cand.copy()
    return best


# --- FGSM ----------------------------------------------------------------------------------------
@_torch_single_threaded
def fgsm(network: Network, x: ArrayLike, eps: float, norm: str = "linf",
         box: Box | None = None) -> AttackResult:
    """Fixed-epsilon FGSM: x' = clip(x - eps * u(grad m(x))), u the steepest unit-norm
    direction (linf: sign, l2: g/||g||_2, l1: the largest coordinate)."""
    start = time.perf_counter()
    t = _Target(network, x, norm, box)
    _, g = t.margin_grad(t.x[None])
    point = t.clip(t.x - eps * steepest_direction(g, norm)[0])
    ok = bool(t.adversarial(point)[0]) and t.distance(point)[0] <= eps * (1 + 1e-12)
    return t.result("fgsm", point if ok else None, start)


@_torch_single_threaded
def fgsm_minimal(network: Network, x: ArrayLike, norm: str = "linf", box: Box | None = None,
                 grid: int = 241, bisections: int = 50) -> AttackResult:
    """Minimal FGSM: the ray x(eps) = clip(x - eps u), u = u(grad m(x)), scanned on a geometric
    grid of eps in [1e-6, 1e4] * scale, then bisection between the last clean and the first
    adversarial eps (the class need not be monotone along the ray)."""
    start = time.perf_counter()
    t = _Target(network, x, norm, box)
    _, g = t.margin_grad(t.x[None])
    u = steepest_direction(g, norm)[0]
    if not np.any(u):
        return t.result("fgsm", None, start, "zero gradient at x")
    eps = t.scale * np.geomspace(1e-6, 1e4, grid)
    adv = t.adversarial(t.clip(t.x - eps[:, None] * u))
    if not np.any(adv):
        return t.result("fgsm", None, start, "no adversarial point on the gradient ray")
    j = int(np.argmax(adv))
    lo, hi = (0.0 if j == 0 else eps[j - 1]), eps[j]
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        if t.adversarial(t.clip(t.x - mid * u))[0]:
            hi = mid
        else:
            lo = mid
    return t.result("fgsm", t.clip(t.x - hi * u), start)


# --- PGD -----------------------------------------------------------------------------------------
def _pgd_run(t: _Target, eps: float, steps: int, rel_stepsize: float, restarts: int,
             rng: np.random.Generator) -> FloatArray | None:
    """One PGD run at radius eps: x_{k+1} = clip(x + P_eps(x_k - alpha u(grad m) - x)),
    alpha = rel_stepsize * eps, restarts batched (the first from x, the others uniform in the
    linf cube of side 2 eps projected on the ball). Stops at the first verified success (rows
    with margin m <= 0 are checked by ``classify``) or when no iterate moves."""
    d = len(t.x)
    X = np.repeat(t.x[None], restarts, axis=0)
    if restarts > 1:
        noise = rng.uniform(-eps, eps, size=(restarts - 1, d))
        X[1:] = t.clip(t.x + project_ball(noise, eps, t.norm))
    alpha = rel_stepsize * eps
    for step in range(steps + 1):
        m, g = t.margin_grad(X)
        if np.any(m <= 0):
            best = _best(t, X[m <= 0], None)
            if best is not None:
                return best
        if step == steps:
            break
        X_new = t.clip(t.x + project_ball(X - alpha * steepest_direction(g, t.norm) - t.x,
                                          eps, t.norm))
        if np.array_equal(X_new, X):
            break
        X = X_new
    return None


@_torch_single_threaded
def pgd(network: Network, x: ArrayLike, eps: float, norm: str = "linf", box: Box | None = None,
        steps: int = 30, rel_stepsize: float = 2.5 / 30, restarts: int = 4,
        seed: int = 0) -> AttackResult:
    """Fixed-epsilon PGD (Madry et al.): projected steepest descent of the margin m in the
    eps-ball (intersected with the box by clipping), several restarts."""
    start = time.perf_counter()
    t = _Target(network, x, norm, box)
    point = _pgd_run(t, eps, steps, rel_stepsize, restarts, np.random.default_rng(seed))
    return t.result("pgd", point, start)


@_torch_single_threaded
def pgd_minimal(network: Network, x: ArrayLike, norm: str = "linf", box: Box | None = None,
                steps: int = 30, rel_stepsize: float = 2.5 / 30, restarts: int = 4,
                bisections: int = 10, seed: int = 0) -> AttackResult:
    """Minimal PGD: find a failing and a succeeding eps by halving / doubling from eps = scale,
    then bisect ``bisections`` times; the closest verified point of all runs is reported."""
    start = time.perf_counter()
    t = _Target(network, x, norm, box)
    rng = np.random.default_rng(seed)

    def run(eps: float) -> FloatArray | None:
        return _pgd_run(t, eps, steps, rel_stepsize, restarts, rng)

    best: FloatArray | None = None
    eps = t.scale
    point = run(eps)
    lo, hi = 0.0, np.inf
    if point is not None:
        best, hi = point, eps
        for _ in range(40):  # halve while it still succeeds
            eps = 0.5 * hi
            point = run(eps)
            if point is None:
                lo = eps
                break
            best = _best(t, point, best)
            hi = eps
    else:
        lo = eps
        cap = 1e3 * t.scale
        if t.lo is not None and t.hi is not None:  # the farthest point of the box from x
            far = np.maximum(np.abs(t.x - t.lo), np.abs(t.x - t.hi))
            cap = min(cap, float(lp_norm(far, t.norm)))
        while lo < cap:  # double until it succeeds
            eps = min(2.0 * lo, cap)
            point = run(eps)
            if point is not None:
                best, hi = point, eps
                break
            lo = eps
        if best is None:
            return t.result("pgd", None, start, f"no adversarial point within eps = {eps:g}")
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        point = run(mid)
        if point is None:
            lo = mid
        else:
            best = _best(t, point, best)
            hi = mid
    return t.result("pgd", best, start)


# --- DeepFool ------------------------------------------------------------------------------------
@_torch_single_threaded
def deepfool(network: Network, x: ArrayLike, norm: str = "l2", box: Box | None = None,
             max_iter: int = 50, overshoot: float = 0.02) -> AttackResult:
    """DeepFool (Moosavi-Dezfooli et al.) for any lp norm: at x_k, linearise f_j = z_y - z_j,
    take the rival l minimising |f_l| / ||w_l||_q and step r = -f_l / ||w_l||_q * u(w_l), which
    reaches the linearised boundary with the least lp norm. Iterates follow foolbox,
    x_{k+1} = clip(x + (1 + overshoot) R) with R the sum of steps; the reported point is
    x + (1 + eta) R with the smallest eta in {0, 1e-12, ..., overshoot} that flips the class,
    so on an affine model the exact distance is found (to ~1e-10)."""
    start = time.perf_counter()
    t = _Target(network, x, norm, box)
    q = DUAL[norm]
    etas = [0.0, *np.geomspace(1e-12, 1e-3, 10).tolist(), overshoot]
    R = np.zeros_like(t.x)
    xk = t.x.copy()
    for _ in range(max_iter):
        f, W = t.pairs(xk)
        wn = lp_norm(W, q)
        live = wn > 0
        if not np.any(live):
            return t.result("deepfool", None, start, "zero gradient (no rival reachable)")
        ratio = np.where(live, np.abs(f) / np.where(live, wn, 1.0), np.inf)
        l = int(np.argmin(ratio))
        r = -f[l] / wn[l] * steepest_direction(W[l], norm)[0]
        if f[l] == 0.0:  # exactly on the boundary of a tie: push across it a little
            r = -1e-9 * t.scale * steepest_direction(W[l], norm)[0]
        R = R + r
        cands = t.clip(t.x + (1.0 + np.asarray(etas))[:, None] * R)
        # each candidate verified on its own: a batched forward pass may round differently
        # from the single-point pass that result() uses (a point on the boundary flips in one)
        for cand in cands[t.adversarial(cands)]:
            if t.adversarial(cand)[0]:
                return t.result("deepfool", cand, start)
        xk = t.clip(t.x + (1.0 + overshoot) * R)
    return t.result("deepfool", None, start, f"no flip after {max_iter} iterations")


# --- Carlini & Wagner ----------------------------------------------------------------------------
def _penalty_grad(delta: FloatArray, norm: str) -> FloatArray:
    """Gradient of C&W's distance term D(d): 2 d (l2, D = ||d||_2^2), sign(d) (l1) and
    sign(d_i) e_i at i = argmax |d_i| (linf; sub-gradients, 0 at d = 0)."""
    if norm == "l2":
        return 2.0 * delta
    if norm == "l1":
        return np.sign(delta)
    out = np.zeros_like(delta)
    i = int(np.argmax(np.abs(delta)))
    out[i] = np.sign(delta[i])
    return out


@_torch_single_threaded
def carlini_wagner(network: Network, x: ArrayLike, norm: str = "l2", box: Box | None = None,
                   steps: int = 100, search_steps: int = 9, initial_const: float = 1e-2,
                   confidence: float = 0.0, abort_early: bool = True) -> AttackResult:
    """Carlini & Wagner: for each c of a search on c, minimise with Adam (beta = 0.9, 0.999)
    L(d) = D(d) + c * max(m(x + d), -kappa), D = ||d||_2^2 (l2, as C&W), ||d||_inf or ||d||_1
    (an adaptation), x + d clipped to the box after each step (instead of C&W's tanh change of
    variables, which cannot start on the box's faces); every verified adversarial iterate is a
    candidate. Search on c: x10 until success, then bisection. Adam's learning rate is 5 % of
    the first DeepFool estimate |m(x)| / ||grad m(x)||_q (``scale`` if the gradient is 0)."""
    start = time.perf_counter()
    t = _Target(network, x, norm, box)
    m0, g0 = t.margin_grad(t.x[None])
    gq = float(lp_norm(g0, DUAL[norm])[0])
    lr = 0.05 * (abs(float(m0[0])) / gq if gq > 0 else t.scale)
    lr = max(lr, 1e-6 * t.scale)
    penalty = {"l2": lambda d: float(d @ d), "linf": lambda d: float(np.max(np.abs(d))),
               "l1": lambda d: float(np.sum(np.abs(d)))}[norm]
    beta1, beta2, tiny = 0.9, 0.999, 1e-8
    check_every = steps // 10 or 1

    best: FloatArray | None = None
    c, c_lo, c_hi = initial_const, 0.0, np.inf
    for _ in range(search_steps):
        delta = np.zeros_like(t.x)
        mom, vel = np.zeros_like(t.x), np.zeros_like(t.x)
        found, checkpoint = False, np.inf
        for step in range(1, steps + 1):
            point = t.x + delta
            m, g = t.margin_grad(point[None])
            if m[0] <= 0.0 and t.adversarial(point)[0]:
                found = True
                best = _best(t, point, best)
            loss = penalty(delta) + c * max(float(m[0]), -confidence)
            grad = _penalty_grad(delta, norm) + (c * g[0] if m[0] > -confidence else 0.0)
            mom = beta1 * mom + (1 - beta1) * grad
            vel = beta2 * vel + (1 - beta2) * grad * grad
            mhat, vhat = mom / (1 - beta1**step), vel / (1 - beta2**step)
            delta = t.clip(t.x + delta - lr * mhat / (np.sqrt(vhat) + tiny)) - t.x
            if abort_early and step % check_every == 0:
                if loss > 0.9999 * checkpoint:
                    break
                checkpoint = loss
        if found:
            c_hi = c
        else:
            c_lo = c
        c = 10.0 * c if np.isinf(c_hi) else 0.5 * (c_lo + c_hi)
    return t.result("cw", best, start)


# --- all of them ---------------------------------------------------------------------------------
def run_attacks(network: Network, x: ArrayLike, norm: str = "l2", box: Box | None = None,
                attacks: Sequence[str] = ATTACKS, seed: int = 0) -> list[AttackResult]:
    """Run the minimisation attacks by name (``fgsm``, ``pgd``, ``deepfool``, ``cw``) at one input;
    deterministic given the seed (only PGD draws random restarts)."""
    if norm not in NORMS:
        raise ActlabError(f"unknown norm {norm!r} (known: {', '.join(NORMS)})")
    runners: dict[str, Callable[[], AttackResult]] = {
        "fgsm": lambda: fgsm_minimal(network, x, norm, box),
        "pgd": lambda: pgd_minimal(network, x, norm, box, seed=seed),
        "deepfool": lambda: deepfool(network, x, norm, box),
        "cw": lambda: carlini_wagner(network, x, norm, box),
    }
    unknown = [a for a in attacks if a not in runners]
    if unknown:
        raise ActlabError(f"unknown attack {unknown[0]!r} (known: {', '.join(ATTACKS)})")
    with _single_threaded():
        return [runners[a]() for a in attacks]
