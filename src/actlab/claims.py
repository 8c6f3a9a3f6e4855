"""The seed document's factual statements, each checked against results computed at run time.

Every claim quotes the seed, states what actlab computed (numbers from the library, never typed
in here) and a verdict derived from those numbers by a stated rule: ``holds``, ``does not hold``
or ``partly`` (a true part and a false or loose part).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from actlab.activations import Activation, parse_activation
from actlab.data import Dataset, xor
from actlab.network import Network
from actlab.regions import RegionResult, gradient_regions

if TYPE_CHECKING:
    from actlab.jumprelu import SweepResult

HOLDS, FAILS, PARTLY = "holds", "does not hold", "partly"


@dataclass
class Claim:
    """One statement of the seed, split into checkable parts (``checks``: part -> computed
    truth); the verdict follows from them: all true -> holds, none -> does not hold, else
    partly."""

    id: str
    section: str
    statement: str
    checks: dict[str, bool]
    computed: dict[str, Any]
    evidence: str

    @property
    def verdict(self) -> str:
        truths = [bool(v) for v in self.checks.values()]
        return HOLDS if all(truths) else (FAILS if not any(truths) else PARTLY)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "statement": self.statement,
                "verdict": self.verdict, "checks": self.checks, "computed": self.computed,
                "evidence": self.evidence}


@dataclass
class ClaimsReport:
    claims: list[Claim]

    def counts(self) -> dict[str, int]:
        return {v: sum(c.verdict == v for c in self.claims) for v in (HOLDS, PARTLY, FAILS)}

    def to_dict(self) -> dict[str, Any]:
        return {"claims": [c.to_dict() for c in self.claims], "counts": self.counts()}


@dataclass
class ClaimsContext:
    """The results the claims are checked against (computed on first use; the report passes its
    own so nothing is computed twice)."""

    initial: Network | None = None
    trained: Network | None = None
    data: Dataset = field(default_factory=xor)
    norm: str = "l2"
    epochs: int = 100
    lr: float = 0.1
    specs: dict[str, str] = field(default_factory=lambda: {
        "relu": "relu", "sigmoid": "sigmoid", "plu": "plu:alpha=0.2,c=1",
        "swish": "swish:beta=1", "elu": "elu:alpha=0.1", "gelu": "gelu"})

    def activation(self, key: str) -> Activation:
        return parse_activation(self.specs[key])

    region_results: dict[str, RegionResult] = field(default_factory=dict)

    def regions(self, key: str) -> RegionResult:
        if key not in self.region_results:
            self.region_results[key] = gradient_regions(self.activation(key))
        return self.region_results[key]

    @functools.cached_property
    def initial_network(self) -> Network:
        from actlab.models import xor_initial

        return self.initial or xor_initial()

    @functools.cached_property
    def seed_run(self):
        from actlab.train import seed_training

        return seed_training(self.initial_network, self.data, epochs=self.epochs, lr=self.lr)

    @functools.cached_property
    def trained_network(self) -> Network:
        return self.trained or self.seed_run.network

    @functools.cached_property
    def trace(self):
        from actlab.backprop import trace

        return trace(self.initial_network, self.data)

    @functools.cached_property
    def oae_initial(self) -> list:
        from actlab.oae.api import oae_batch

        return oae_batch(self.initial_network, self.data.x, self.norm)

    @functools.cached_property
    def oae_trained(self) -> list:
        from actlab.oae.api import oae_batch

        return oae_batch(self.trained_network, self.data.x, self.norm)

    seed_q: float = 0.1  # the seed's example threshold
    sweep: SweepResult | None = None  # the trained network's sweep, already computed (report)

    @functools.cached_property
    def jumprelu_trained(self) -> SweepResult:
        """The retrofit sweep of the trained network: the default grid (with every exact
        threshold) and the seed's q; the given ``sweep`` when it has that q."""
        from actlab.jumprelu import jumprelu_sweep

        if self.sweep is not None and any(row.q == self.seed_q for row in self.sweep.rows):
            return self.sweep
        return jumprelu_sweep(self.trained_network, self.data.x, self.data.y, None, self.norm,
                              also=[self.seed_q])


def _interval_text(result: RegionResult, region: str) -> str:
    parts = [i.text(4) for i in result.region(region)]
    return " U ".join(parts) if parts else "empty"


def _negative_derivative(act: Activation) -> list[tuple[float, float]]:
    """The intervals where f' < 0, from the catalogue's own structure: between consecutive split
    points (breakpoints, zeros of f' and f'') f' has no zero, so its sign at one interior point
    is its sign on the whole stretch."""
    out: list[tuple[float, float]] = []
    for st in act.stretches():
        lo, hi = st.lo, st.hi
        mid = (lo + hi) / 2 if math.isfinite(lo) and math.isfinite(hi) else (
            hi - 1.0 if math.isfinite(hi) else lo + 1.0 if math.isfinite(lo) else 0.0)
        if float(act.derivative(mid)) < 0:
            if out and out[-1][1] == lo:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
    return out


def _span_text(spans: list[tuple[float, float]]) -> str:
    return " U ".join(f"({lo:.4f}, {hi:.4f})" for lo, hi in spans)


def _boundary(result: RegionResult, region: str, side: str) -> float:
    """Leftmost finite 'lo' or rightmost finite 'hi' of a region's intervals."""
    ends = [i.lo if side == "lo" else i.hi for i in result.region(region)]
    finite = [e for e in ends if math.isfinite(e)]
    return (min if side == "lo" else max)(finite)


# --- the claims -----------------------------------------------------------------------------
def relu_gradient(ctx: ClaimsContext) -> Claim:
    act, reg = ctx.activation("relu"), ctx.regions("relu")
    bp = act.breakpoints()[0]
    positive = [(i.lo, i.hi) for i in reg.region("fast")] == [(0.0, math.inf)]
    negative = [(i.lo, i.hi) for i in reg.region("inactive")] == [(-math.inf, 0.0)]
    checks = {"gradient 1 for x > 0": positive, "gradient 0 for x < 0": negative,
              "undefined at 0": bp.x == 0 and bp.left_derivative != bp.right_derivative,
              "commonly set to 0": bp.derivative_used == 0}
    return Claim("relu-gradient", "activations",
                 "ReLU's gradient is 1 for x > 0, 0 for x < 0, and undefined at 0 (commonly set "
                 "to 0).", checks,
                 {"left_derivative_at_0": bp.left_derivative,
                  "right_derivative_at_0": bp.right_derivative, "value_used": bp.derivative_used,
                  "fast": _interval_text(reg, "fast"),
                  "inactive": _interval_text(reg, "inactive")},
                 f"One-sided derivatives at {bp.x:g} are {bp.left_derivative:g} and "
                 f"{bp.right_derivative:g}"
                 + (" (a kink)" if bp.left_derivative != bp.right_derivative else "")
                 + f"; actlab uses {bp.derivative_used:g} there, like PyTorch. Fast "
                 f"{_interval_text(reg, 'fast')}, inactive {_interval_text(reg, 'inactive')}.")


def sigmoid_peak(ctx: ClaimsContext) -> Claim:
    reg = ctx.regions("sigmoid")
    top = reg.max_abs
    at = top.where[0].lo if top.where else math.nan
    checks = {"peaks near 0 (within 0.25)": abs(at) <= 0.25,
              "maximum 0.25": abs(top.value - 0.25) < 1e-12}
    return Claim("sigmoid-peak", "activations",
                 "Sigmoid's gradient f(x)(1 - f(x)) peaks near 0 (max 0.25).", checks,
                 {"max_abs_derivative": top.value, "at": at},
                 f"max |f'| = {top.value:.6g}, attained exactly at x = {at:g}.")


def sigmoid_vanishes(ctx: ClaimsContext) -> Claim:
    reg = ctx.regions("sigmoid")
    edge = _boundary(reg, "active", "hi")
    edge_lo = _boundary(reg, "active", "lo")
    at5 = float(ctx.activation("sigmoid").derivative(5.0))
    slow = reg.thresholds.slow
    inactive = [i for i in reg.region("inactive") if i.lo >= 5.0 or i.hi <= -5.0]
    checks = {"|f'| is below the slow threshold for all |x| > 5": edge <= 5.0 and edge_lo >= -5.0,
              "f' reaches 0 (inactive) for |x| > 5": bool(inactive)}
    return Claim("sigmoid-vanishes", "activations",
                 "Sigmoid's gradient vanishes for |x| > 5.", checks,
                 {"slow_beyond": edge, "inactive": _interval_text(reg, "inactive"),
                  "derivative_at_5": at5},
                 f"|f'| falls below {slow:g} (slow) for x > {edge:.4f} and x < {edge_lo:.4f}"
                 f"; f'(5) = {at5:.4g}; "
                 + (f"inactive (f' = 0) on {_interval_text(reg, 'inactive')}." if inactive
                    else "it is never 0 there (no inactive region): it becomes small, it does not "
                    "vanish."))


def sigmoid_fast_tiny(ctx: ClaimsContext) -> Claim:
    reg = ctx.regions("sigmoid")
    fast = reg.region("fast")
    length = sum(i.hi - i.lo for i in fast)
    rest = all(i.region in ("active", "slow") for i in reg.intervals if i.region != "fast")
    checks = {"fast region is tiny (non-empty, total length < 1)": bool(fast) and length < 1,
              "other inputs are active or slow": rest}
    return Claim("sigmoid-fast-region", "activations",
                 "Sigmoid's fast-learning region is tiny; most inputs fall into active or slow "
                 "regions.", checks,
                 {"fast": _interval_text(reg, "fast"), "max_abs_derivative": reg.max_abs.value},
                 (f"The fast region is not tiny but empty: max |f'| = {reg.max_abs.value:g} <= "
                  f"{reg.thresholds.fast:g}." if not fast else
                  f"Fast region {_interval_text(reg, 'fast')} (total length {length:.4g}).")
                 + (f" Every other input is active ({_interval_text(reg, 'active')}) or slow."
                    if rest else " Some inputs are inactive."))


def plu_shape(ctx: ClaimsContext) -> Claim:
    act = ctx.activation("plu")
    middle = next(p for p in act.pieces() if p.contains(0.0))
    outer = sorted({p.slope for p in act.pieces() if not p.contains(0.0)})
    checks = {"linear (identity) on [-1, 1]": (middle.lo, middle.hi, middle.slope) == (
        -1.0, 1.0, 1.0), "flat (slope 0) outside": all(v == 0 for v in outer)}
    return Claim("plu-flat-outside", "activations",
                 "The piece-wise linear unit is linear between -1 and 1, flat outside.", checks,
                 {"outer_slopes": outer, "formula": act.formula},
                 f"Slope {middle.slope:g} on [{middle.lo:g}, {middle.hi:g}]; outside, slope "
                 f"{outer}" + (" (flat)." if all(v == 0 for v in outer) else
                              " (not flat: f keeps changing)."))


def plu_regions(ctx: ClaimsContext) -> Claim:
    reg = ctx.regions("plu")
    fast, active = _interval_text(reg, "fast"), _interval_text(reg, "active")
    act = ctx.activation("plu")
    pieces = act.pieces()  # the exact linear pieces: slope per piece, not sampled
    outside = [p.slope for p in pieces if p.hi <= -1.0 or p.lo >= 1.0]
    covered_outside = sum(p.hi - p.lo for p in pieces if p.hi <= -1.0 or p.lo >= 1.0)
    inside = [p.slope for p in pieces if p.lo < 1.0 and p.hi > -1.0]
    ends = act.derivative(np.array([-1.0, 1.0]))
    checks = {"gradient 0.2 for |x| > 1": bool(outside) and all(v == 0.2 for v in outside)
              and math.isinf(covered_outside),
              "gradient 1 for |x| <= 1": all(v == 1.0 for v in inside)
              and bool(np.all(ends == 1.0)),
              "fast region [-1, 1]": [(i.lo, i.hi) for i in reg.region("fast")] == [(-1.0, 1.0)],
              "active region outside": [(i.lo, i.hi) for i in reg.region("active")] == [
                  (-math.inf, -1.0), (1.0, math.inf)]}
    return Claim("plu-regions", "activations",
                 "PLU's gradient is 0.2 for |x| > 1 and 1 for |x| <= 1, so it has a fast region "
                 "inside [-1, 1] and an active region outside.", checks,
                 {"fast": fast, "active": active},
                 f"fast {fast}, active {active}.")


def swish_peak(ctx: ClaimsContext) -> Claim:
    act, reg = ctx.activation("swish"), ctx.regions("swish")
    peak = reg.max_abs.where[0].lo
    at_claim = float(act.derivative(1.5))
    d2 = [x for x in act.critical_points() if abs(float(act.derivative(x))) > 0]
    region_15 = reg.classify(1.5)
    checks = {"non-monotonic gradient (f' has a local extremum)": bool(d2),
              "large at 1.5 (fast region)": region_15 == "fast",
              "largest around 1.5 (peak within 0.5)": abs(peak - 1.5) <= 0.5,
              "small (slow) near -5": reg.classify(-5.0) == "slow"}
    return Claim("swish-peak", "activations",
                 "Swish's gradient is non-monotonic, large around x = 1.5 and small near -5.",
                 checks,
                 {"peak_at": peak, "peak_value": reg.max_abs.value, "derivative_at_1.5": at_claim,
                  "region_at_1.5": region_15, "extrema_of_derivative": d2,
                  "derivative_at_-5": float(act.derivative(-5.0)),
                  "region_at_-5": reg.classify(-5.0)},
                 f"f' has local extrema at {[round(x, 4) for x in d2]}"
                 + (" (non-monotonic)" if d2 else " (monotonic)")
                 + f". f'(1.5) = {at_claim:.4f} ({region_15}); the maximum "
                 f"{reg.max_abs.value:.4f} is at x = {peak:.4f}. At x = -5, f' = "
                 f"{float(act.derivative(-5.0)):.4f} ({reg.classify(-5.0)}); the slow region "
                 f"starts at x < {_boundary(reg, 'active', 'lo'):.4f}.")


def elu_gradient(ctx: ClaimsContext) -> Claim:
    act, reg = ctx.activation("elu"), ctx.regions("elu")
    alpha = float(act.params["alpha"])
    xs = np.linspace(-6, -0.01, 50)
    checks = {"gradient 1 for x > 0": bool(np.all(act.derivative(-xs) == 1.0)),
              "gradient a exp(x) for x < 0": bool(np.allclose(act.derivative(xs),
                                                               alpha * np.exp(xs), rtol=1e-14)),
              "non-zero on the negative side": not reg.region("inactive")}
    return Claim("elu-gradient", "activations",
                 "ELU with a = 0.1: gradient 1 for x > 0 and 0.1 exp(x) for x < 0; the "
                 "negative side has a small but non-zero gradient, avoiding dead neurons.", checks,
                 {"inactive": _interval_text(reg, "inactive"), "slow": _interval_text(reg, "slow"),
                  "active": _interval_text(reg, "active")},
                 f"f' = {alpha:g} e^x on x < 0, "
                 + ("never 0 (no inactive region)" if not reg.region("inactive") else
                    f"0 on {_interval_text(reg, 'inactive')}")
                 + f"; slow for x < {_boundary(reg, 'active', 'lo'):.4f}.")


def gelu_peak(ctx: ClaimsContext) -> Claim:
    reg = ctx.regions("gelu")
    peak = reg.max_abs.where[0].lo
    tail = [i for i in reg.region("slow") if math.isinf(i.lo)]
    negative = _negative_derivative(ctx.activation("gelu"))
    checks = {"near 0 (slow) for large negative x": bool(tail),
              "peak around 0.5 (within 0.25)": abs(peak - 0.5) <= 0.25}
    return Claim("gelu-peak", "activations",
                 "GELU's gradient is near 0 for large negative x and peaks around x = 0.5.",
                 checks,
                 {"peak_at": peak, "peak_value": reg.max_abs.value,
                  "slow": _interval_text(reg, "slow"),
                  "negative_derivative": [[lo if math.isfinite(lo) else None,
                                           hi if math.isfinite(hi) else None]
                                          for lo, hi in negative]},
                 (f"Slow for x < {_boundary(reg, 'active', 'lo'):.4f}. " if tail else
                  "No slow tail on the left. ")
                 + f"The peak of f' is at x = {peak:.4f}"
                 + (" (= sqrt 2)" if abs(peak - math.sqrt(2)) < 1e-12 else "")
                 + f", value {reg.max_abs.value:.4f}"
                 + (f"; f' < 0 on {_span_text(negative)}." if negative else "."))


def xor_forward(ctx: ClaimsContext) -> Claim:
    s = ctx.trace.samples[0]
    claimed = {"z": -0.5, "p": 0.3775, "loss": 0.474}
    checks = {"h = [0, 0]": s.h == [0.0, 0.0], "z = -0.5": s.z == claimed["z"],
              "y_hat = 0.3775 (4 decimals)": round(s.p, 4) == claimed["p"],
              "loss = 0.474 (3 decimals)": round(s.loss, 3) == claimed["loss"]}
    return Claim("xor-forward-00", "backprop",
                 "For (0,0): h = [0, 0], z = -0.5, y_hat = sigmoid(-0.5) = 0.3775, loss "
                 "-log(1 - 0.3775) = 0.474.", checks,
                 {"h": s.h, "z": s.z, "p": s.p, "loss": s.loss},
                 f"h = {s.h}, z = {s.z:g}, p = {s.p:.6f}, loss = {s.loss:.6f}.")


def xor_gradient(ctx: ClaimsContext) -> Claim:
    s = ctx.trace.samples[0]
    g = s.grads
    kinks = s.kinks
    one_sided = s.grads_one_sided or {}
    right_c = one_sided.get("right", {}).get("c") if one_sided else None
    checks = {"dL/dw = [0, 0]": bool(np.all(np.ravel(g["w"]) == 0)),
              "dL/db = 0.3775": round(float(np.ravel(g["b"])[0]), 4) == 0.3775,
              "dL/dW and dL/dc are zero": bool(np.all(np.ravel(g["W"]) == 0)
                                               and np.all(np.ravel(g["c"]) == 0)),
              "zero because the hidden units are zero (whatever relu'(0) is)":
                  right_c is None or bool(np.all(np.ravel(right_c) == 0))}
    return Claim("xor-gradient-00", "backprop",
                 "For (0,0): dL/dw = [0, 0], dL/db = 0.3775, and the W and c gradients are zero "
                 "because the hidden units are zero.", checks,
                 {"dL_dw": g["w"], "dL_db": g["b"], "dL_dW": g["W"], "dL_dc": g["c"],
                  "kinks": kinks, "dL_dc_right_derivative": right_c},
                 f"With relu'(0) = 0: dL/dw = {np.ravel(g['w']).tolist()}, dL/db = "
                 f"{float(np.ravel(g['b'])[0]):.4f}, dL/dW = {np.ravel(g['W']).tolist()}, dL/dc = "
                 f"{np.ravel(g['c']).tolist()}. "
                 + ("dL/dW = delta x^T is zero because x = (0, 0). " if not np.any(s.x) else "")
                 + ("Hidden unit(s) " + ", ".join(f"{k['unit'] + 1} (a = {k['a']:g})"
                                                  for k in kinks)
                    + f" sit on the ReLU kink; with the right derivative there dL/dc = "
                    f"{right_c}." if kinks else "No pre-activation sits on a kink."))


def training_plot(ctx: ClaimsContext) -> Claim:
    run = ctx.seed_run
    last, mean = run.epoch_loss_last, run.epoch_loss_mean
    gap = float(np.max(np.abs(last - mean)))
    checks = {"the recorded curve is the training (mean) loss, to 1e-3": gap <= 1e-3}
    return Claim("training-loss-plot", "training",
                 "The code's plot shows the training loss over epochs "
                 "(plt.title('Training Loss over Epochs')).", checks,
                 {"max_gap_last_vs_mean": gap, "last_final": float(last[-1]),
                  "mean_final": float(mean[-1])},
                 f"losses.append(loss.item()) after the inner loop records only the last "
                 f"sample's loss: final {last[-1]:.4f} vs mean {mean[-1]:.4f}; the curves differ "
                 f"by up to {gap:.4f}.")


def dead_relu(ctx: ClaimsContext) -> Claim:
    from actlab.train import diagnose

    d = diagnose(ctx.seed_run)
    g = ctx.trace.samples[0].grads
    checks = {"the hidden-layer gradient of (0,0) is zero": bool(
                  np.all(np.ravel(g["W"]) == 0) and np.all(np.ravel(g["c"]) == 0)),
              "a hidden unit is dead (zero derivative on every sample)": bool(
                  d.dead_units_start or d.dead_units_end),
              "learning stalls (accuracy below 1 at the end)": d.accuracy < 1.0}
    return Claim("dead-relu-stall", "training",
                 "This (zero hidden gradient at (0,0)) shows how dead ReLU can stall learning.",
                 checks,
                 {"dead_units_start": d.dead_units_start, "dead_units_end": d.dead_units_end,
                  "accuracy": d.accuracy, "converged": d.converged},
                 "Dead hidden units (derivative 0 on every sample) at the start: "
                 f"{d.dead_units_start or 'none'}, at the end: {d.dead_units_end or 'none'}"
                 + ("" if d.dead_units_start or d.dead_units_end else
                    "; a zero gradient on one sample is not a dead unit")
                 + f". Training reaches accuracy {d.accuracy:g}.")


def _along_diagonal(network: Network, norm: str):
    """The exact OAE of eps = 0 for the network restricted to x = (eps, eps): the smallest |eps|
    at which adding the same eps to both inputs of (0, 0) changes the class."""
    from actlab.oae.api import oae

    first = network.layers[0]
    weights = [first.weight.sum(axis=1, keepdims=True), *(la.weight for la in network.layers[1:])]
    line = Network.from_arrays(weights, [la.bias for la in network.layers],
                               [la.activation for la in network.layers], name="diagonal")
    return oae(line, [0.0], norm)


def oae_initial_direction(ctx: ClaimsContext) -> Claim:
    r = ctx.oae_initial[0]
    line = _along_diagonal(ctx.initial_network, ctx.norm)
    eps = None if line.distance is None else float(line.point[0])
    witness = None if line.witness is None else float(line.witness[0])
    flips = witness is not None and bool(
        ctx.initial_network.classify([witness, witness])[0] == 1)
    step = np.subtract(r.point, r.x) if r.point is not None else np.full(2, np.nan)
    checks = {"adding the same epsilon > 0 to both inputs flips (0,0)": bool(
                  eps is not None and eps > 0 and flips),
              "it is misclassified as class 1": flips and line.witness_class == 1}
    symmetric = bool(np.all(step > 0) and abs(step[0] - step[1]) < 1e-9)
    return Claim("oae-initial-epsilon", "oae",
                 "For the initial network, adding epsilon to both inputs of (0,0) can push the "
                 "output above 0.5, misclassifying it as class 1.", checks,
                 {"epsilon": eps, "epsilon_certified": line.certified, "distance": r.distance,
                  "point": r.point, "certified": r.certified,
                  "closest_flip_is_diagonal": symmetric},
                 (f"The smallest such epsilon is {eps:.6g} (exact, certified: {line.certified}; "
                  f"(eps, eps) with eps just above it is class {line.witness_class}). "
                  if eps is not None else "No epsilon on the diagonal changes the class. ")
                 + f"The exact {ctx.norm} OAE of (0,0) is {r.point} at distance "
                 f"{r.distance:.6f} (certified: {r.certified})"
                 + (": the same step on both inputs." if symmetric else
                    ", not a step of the same size on both inputs."))


def oae_training(ctx: ClaimsContext) -> Claim:
    before = [r.distance for r in ctx.oae_initial]
    after = [r.distance for r in ctx.oae_trained]
    mean_before, mean_after = float(np.mean(before)), float(np.mean(after))
    down = [a < b for a, b in zip(after, before, strict=True)]
    checks = {"every sample's distance reduces": all(down),
              "the mean distance reduces": mean_after < mean_before,
              "an adversarial input still exists": all(a is not None for a in after)}
    return Claim("oae-after-training", "oae",
                 "After training, the decision boundary becomes tighter, so the OAE distance "
                 "reduces, but still exists.", checks,
                 {"initial": before, "trained": after, "mean_initial": mean_before,
                  "mean_trained": mean_after},
                 f"{ctx.norm} distances before {np.round(before, 4).tolist()}, after "
                 f"{np.round(after, 4).tolist()} (mean {mean_before:.4f} -> {mean_after:.4f}); "
                 f"{sum(down)} of {len(down)} samples got closer to the boundary.")


def jumprelu_q01(ctx: ClaimsContext) -> Claim:
    sweep = ctx.jumprelu_trained
    q = ctx.seed_q
    d0, d1 = sweep.row(0.0), sweep.row(q)
    m0, m1 = d0.mean_distance, d1.mean_distance
    changed = [t.q_star for t in sweep.thresholds if t.q_star is not None]
    checks = {f"the mean exact OAE distance increases at q = {q:g}": m1 > m0 + 1e-9}
    return Claim("jumprelu-q0.1", "jumprelu",
                 f"Replacing ReLU with JumpReLU (q = {q:g}) in the trained network increases the "
                 "OAE distance (more robust).", checks,
                 {"mean_distance_q0": m0, f"mean_distance_q{q:g}": m1,
                  "distances_q0": d0.distances, f"distances_q{q:g}": d1.distances,
                  "first_change_q": min(changed) if changed else None},
                 f"Exact mean {ctx.norm} distance {m0:.6f} at q = 0 and {m1:.6f} at q = {q:g}: "
                 + ("unchanged. " if abs(m1 - m0) <= 1e-9 else
                    "larger. " if m1 > m0 else "smaller. ")
                 + (f"The first distance changes at q = {min(changed):.6f} (exact threshold)."
                    if changed else "No distance changes on the range checked."))


def jumprelu_tuned(ctx: ClaimsContext) -> Claim:
    sweep = ctx.jumprelu_trained
    zero, best = sweep.rows[0], sweep.row(sweep.best_q)
    m0, mb = zero.mean_distance, best.mean_distance
    each = [b is not None and a is not None and b >= a - 1e-9
            for a, b in zip(zero.distances, best.distances, strict=True)]
    checks = {"a tuned q > 0 (same accuracy) increases the mean exact OAE distance":
                  best.q > 0 and mb is not None and m0 is not None and mb > m0 + 1e-9,
              "at that q no sample's distance decreases": best.q > 0 and all(each)}
    return Claim("jumprelu-tuned", "jumprelu",
                 "Tuning q of JumpReLU in the trained network increases the OAE distance: the "
                 "network becomes more robust.", checks,
                 {"best_q": best.q, "rule": sweep.rule, "mean_distance_q0": m0,
                  "mean_distance_best": mb, "distances_q0": zero.distances,
                  "distances_best": best.distances, "accuracy_q0": zero.accuracy,
                  "accuracy_best": best.accuracy,
                  "thresholds": [t.q_star for t in sweep.thresholds]},
                 f"Over q in [0, {sweep.rows[-1].q:g}] (grid with every exact threshold), the "
                 f"best q is {best.q:.6g} ({sweep.rule}): mean {ctx.norm} distance {m0:.6f} -> "
                 f"{mb:.6f} at accuracy {best.accuracy}; per sample "
                 f"{np.round(zero.distances, 4).tolist()} -> "
                 f"{np.round(best.distances, 4).tolist()}.")


CHECKS: tuple[Callable[[ClaimsContext], Claim], ...] = (
    relu_gradient, sigmoid_peak, sigmoid_vanishes, sigmoid_fast_tiny, plu_shape, plu_regions,
    swish_peak, elu_gradient, gelu_peak, xor_forward, xor_gradient, training_plot, dead_relu,
    oae_initial_direction, oae_training, jumprelu_q01, jumprelu_tuned)


def check_claims(context: ClaimsContext | None = None) -> ClaimsReport:
    """Every claim, checked against results computed now (or passed in ``context``)."""
    ctx = context or ClaimsContext()
    return ClaimsReport([check(ctx) for check in CHECKS])
