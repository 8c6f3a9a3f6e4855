"""Exact gradient regions (actlab.regions) against independent oracles.

Every expected value comes from outside the library: closed forms written here, PyTorch autograd
(float64) on dense grids, and mpmath (50 digits) root finding. Nothing is captured from actlab's
own output, and the library's ``derivative`` is never the oracle.
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actlab import ActlabError
from actlab.activations import parse_activation
from actlab.regions import REGIONS, gradient_regions, regions_report

INF = math.inf
FAST, SLOW = 0.99, 0.01
BOUNDARY_TOL = 1e-9
SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. 2017 / torch.nn.SELU docs
SELU_SCALE = 1.0507009873554804934193349852946
mpmath.mp.dps = 50


# --- independent oracles ------------------------------------------------------------------
def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


TORCH_FUNCTIONS = {
    "swish:beta=1": lambda x: F.silu(x),
    "swish:beta=2.5": lambda x: F.silu(2.5 * x) / 2.5,
    "gelu": lambda x: F.gelu(x),
    # x/2 (1 + tanh u) = x sigmoid(2u): torch's own tanh form cancels to f' = 0 for x < -8
    "gelu:approx=tanh": lambda x: x * torch.sigmoid(
        2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)),
    "mish": lambda x: F.mish(x),
    "selu": lambda x: F.selu(x),
    "softplus": lambda x: F.softplus(x, beta=1.0, threshold=1e4),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "elu:alpha=0.1": lambda x: F.elu(x, alpha=0.1),
    "expr:x*sigmoid(2.5*x)": lambda x: x * torch.sigmoid(2.5 * x),
}

MP_FUNCTIONS = {
    "swish:beta=1": lambda x: x * mp_sigmoid(x),
    "swish:beta=2.5": lambda x: x * mp_sigmoid(2.5 * x),
    "gelu": lambda x: x * mpmath.ncdf(x),
    "gelu:approx=tanh": lambda x: x / 2 * (1 + mpmath.tanh(
        mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf(0.044715) * x**3))),
    "mish": lambda x: x * mpmath.tanh(mpmath.log1p(mpmath.exp(x))),
    "sigmoid": mp_sigmoid,
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
    "expr:x*sigmoid(2.5*x)": lambda x: x * mp_sigmoid(2.5 * x),
}


def torch_derivative(spec: str, xs: np.ndarray) -> np.ndarray:
    """f'(xs) by PyTorch autograd in float64."""
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    TORCH_FUNCTIONS[spec](x).sum().backward()
    return x.grad.numpy()


def mp_derivative(spec: str, x, dps: int = 50) -> mpmath.mpf:
    """f'(x) by mpmath's numerical differentiation at ``dps`` digits (far tails need many: at
    x = 1000, 1 - sigmoid(x) = e^-1000 is invisible below 435 digits)."""
    with mpmath.workdps(dps):
        return mpmath.diff(MP_FUNCTIONS[spec], mpmath.mpf(x))


def oracle_class(d: np.ndarray, fast: float = FAST, slow: float = SLOW) -> np.ndarray:
    m = np.abs(d)
    return np.select([m == 0, m > fast, m < slow], ["inactive", "fast", "slow"], "active")


def mp_root(fn, a: float, b: float) -> float:
    """The root of fn in [a, b] (a sign change), by 50-digit bisection-anderson."""
    return float(mpmath.findroot(fn, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson"))


@functools.cache
def oracle_boundaries(spec: str, fast: float = FAST, slow: float = SLOW) -> tuple[float, ...]:
    """Every x in [-40, 40] where f' - c changes sign for c in {0, +-slow, +-fast}: sign
    changes on a torch-autograd grid, refined by mpmath."""
    grid = np.linspace(-40.0, 40.0, 80_001)
    d = torch_derivative(spec, grid)
    roots = set()
    for c in {0.0, slow, -slow, fast, -fast}:
        s = np.sign(d - c)
        for i in np.nonzero(s[:-1] * s[1:] < 0)[0]:
            roots.add(mp_root(lambda x, c=c: mp_derivative(spec, x) - c, grid[i], grid[i + 1]))
    return tuple(sorted(roots))


# --- helpers reading a result ---------------------------------------------------------------
def as_tuples(result) -> list[tuple[str, float, float, bool, bool]]:
    return [(i.region, i.lo, i.hi, i.closed_lo, i.closed_hi) for i in result.intervals]


def assert_intervals(result, expected, tol: float = BOUNDARY_TOL) -> None:
    """Same regions, closedness and (to tol) ends, left to right."""
    got = as_tuples(result)
    assert [g[0] for g in got] == [e[0] for e in expected], got
    assert [g[3:] for g in got] == [e[3:] for e in expected], got
    for g, e in zip(got, expected, strict=True):
        for a, b in ((g[1], e[1]), (g[2], e[2])):
            assert a == b if math.isinf(b) else abs(a - b) <= tol, (got, expected)


def finite_boundaries(result) -> list[float]:
    return sorted({v for i in result.intervals for v in (i.lo, i.hi) if math.isfinite(v)})


def assert_tiles_line(result) -> None:
    """Intervals in order cover the real line exactly once and are maximal."""
    ivs = result.intervals
    assert ivs[0].lo == -INF and not ivs[0].closed_lo
    assert ivs[-1].hi == INF and not ivs[-1].closed_hi
    for iv in ivs:
        assert iv.region in REGIONS
        assert iv.lo < iv.hi or (iv.lo == iv.hi and iv.closed_lo and iv.closed_hi)
    for a, b in itertools.pairwise(ivs):
        assert a.hi == b.lo
        assert a.closed_hi != b.closed_lo, "a boundary belongs to exactly one side"
        assert a.region != b.region, "adjacent intervals of one region were not merged"
    contract = result.to_dict()["regions"]
    assert set(contract) == set(REGIONS)
    pairs = sorted((-INF if lo is None else lo, INF if hi is None else hi)
                   for name in REGIONS for lo, hi in contract[name])
    assert pairs == [(i.lo, i.hi) for i in ivs]


def labels_on(result, xs: np.ndarray) -> np.ndarray:
    """Region of each x from the contract's lists (open interiors only), '' where none."""
    out = np.full(xs.shape, "", dtype=object)
    for name, pairs in result.to_dict()["regions"].items():
        for lo, hi in pairs:
            lo = -INF if lo is None else lo
            hi = INF if hi is None else hi
            mask = (xs > lo) & (xs < hi)
            assert not np.any(out[mask] != ""), "regions overlap"
            out[mask] = name
    return out


def away_from(xs: np.ndarray, points: list[float], gap: float = BOUNDARY_TOL) -> np.ndarray:
    keep = np.ones(xs.shape, dtype=bool)
    for p in points:
        keep &= np.abs(xs - p) > gap
    return xs[keep]


# --- closed forms ---------------------------------------------------------------------------
def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_relu() -> None:
    assert_intervals(gradient_regions("relu"),
                     [("inactive", -INF, 0, False, True), ("fast", 0, INF, False, False)])


def test_sigmoid_closed_form() -> None:
    # s(1 - s) = t  <=>  s = (1 - sqrt(1 - 4t)) / 2,  x = logit(s)
    x0 = logit((1 - math.sqrt(1 - 4 * SLOW)) / 2)
    assert_intervals(gradient_regions("sigmoid"), [
        ("slow", -INF, x0, False, False), ("active", x0, -x0, True, True),
        ("slow", -x0, INF, False, False)])


def test_tanh_closed_form() -> None:
    # 1 - tanh(x)^2 = t  <=>  |x| = atanh(sqrt(1 - t))
    a, b = math.atanh(math.sqrt(1 - FAST)), math.atanh(math.sqrt(1 - SLOW))
    assert_intervals(gradient_regions("tanh"), [
        ("slow", -INF, -b, False, False), ("active", -b, -a, True, True),
        ("fast", -a, a, False, False), ("active", a, b, True, True),
        ("slow", b, INF, False, False)])


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.05])
def test_elu_closed_form(alpha: float) -> None:
    # alpha e^x = t  <=>  x = log(t / alpha); f'(0) = alpha (PyTorch), f' = 1 for x > 0
    assert_intervals(gradient_regions(f"elu:alpha={alpha}"), [
        ("slow", -INF, math.log(SLOW / alpha), False, False),
        ("active", math.log(SLOW / alpha), 0, True, True), ("fast", 0, INF, False, False)])


def test_elu_alpha_one_and_two() -> None:
    assert_intervals(gradient_regions("elu:alpha=1"), [
        ("slow", -INF, math.log(SLOW), False, False),
        ("active", math.log(SLOW), math.log(FAST), True, True),
        ("fast", math.log(FAST), INF, False, False)])
    assert_intervals(gradient_regions("elu:alpha=2"), [
        ("slow", -INF, math.log(SLOW / 2), False, False),
        ("active", math.log(SLOW / 2), math.log(FAST / 2), True, True),
        ("fast", math.log(FAST / 2), INF, False, False)])
    assert_intervals(gradient_regions("elu:alpha=0"),
                     [("inactive", -INF, 0, False, True), ("fast", 0, INF, False, False)])


def test_selu_closed_form() -> None:
    # scale alpha e^x = t on x <= 0; f'(0) = scale alpha > 0.99; scale > 0.99 on x > 0
    k = SELU_SCALE * SELU_ALPHA
    assert_intervals(gradient_regions("selu"), [
        ("slow", -INF, math.log(SLOW / k), False, False),
        ("active", math.log(SLOW / k), math.log(FAST / k), True, True),
        ("fast", math.log(FAST / k), INF, False, False)])


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5])
def test_softplus_closed_form(beta: float) -> None:
    # sigmoid(beta x) = t  <=>  x = logit(t) / beta; sup f' = 1 is never reached
    lo, hi = logit(SLOW) / beta, logit(FAST) / beta
    result = gradient_regions(f"softplus:beta={beta}")
    assert_intervals(result, [("slow", -INF, lo, False, False), ("active", lo, hi, True, True),
                              ("fast", hi, INF, False, False)])
    assert result.max_abs.value == 1.0 and not result.max_abs.attained
    assert result.max_abs.approached == ("x -> +inf",)


@pytest.mark.parametrize("alpha", [0.2, 0.1])
def test_plu_homework_and_variant(alpha: float) -> None:
    # slope alpha outside [-1, 1], 1 on [-1, 1] (the middle piece owns its ends)
    assert_intervals(gradient_regions(f"plu:alpha={alpha},c=1"), [
        ("active", -INF, -1, False, False), ("fast", -1, 1, True, True),
        ("active", 1, INF, False, False)])


def test_plu_other_parameters() -> None:
    assert_intervals(gradient_regions("plu:alpha=0.005,c=2"), [
        ("slow", -INF, -2, False, False), ("fast", -2, 2, True, True),
        ("slow", 2, INF, False, False)])
    assert_intervals(gradient_regions("plu:alpha=0,c=0.5"), [
        ("inactive", -INF, -0.5, False, False), ("fast", -0.5, 0.5, True, True),
        ("inactive", 0.5, INF, False, False)])
    assert_intervals(gradient_regions("plu:alpha=-3,c=1"), [("fast", -INF, INF, False, False)])


@pytest.mark.parametrize(("slope", "left"), [(0.005, "slow"), (0.01, "active"), (0.5, "active"),
                                             (0.0, "inactive")])
def test_leaky_relu(slope: float, left: str) -> None:
    # f'(0) = slope (PyTorch), so 0 belongs to the left piece
    assert_intervals(gradient_regions(f"leaky_relu:slope={slope}"),
                     [(left, -INF, 0, False, True), ("fast", 0, INF, False, False)])
    assert_intervals(gradient_regions("leaky_relu:slope=-2"), [("fast", -INF, INF, False, False)])


def test_hardtanh() -> None:
    assert_intervals(gradient_regions("hardtanh"), [
        ("inactive", -INF, -1, False, True), ("fast", -1, 1, False, False),
        ("inactive", 1, INF, True, False)])
    assert_intervals(gradient_regions("hardtanh:min_val=-2,max_val=3"), [
        ("inactive", -INF, -2, False, True), ("fast", -2, 3, False, False),
        ("inactive", 3, INF, True, False)])


@pytest.mark.parametrize("q", [0.1, 0.0, 2.5])
def test_jumprelu(q: float) -> None:
    # f(x) = x for x >= q (so f'(q) = 1), 0 below
    result = gradient_regions(f"jumprelu:q={q}")
    assert_intervals(result, [("inactive", -INF, q, False, False), ("fast", q, INF, True, False)])
    assert result.to_dict()["nondifferentiable"] == [q]


def test_identity() -> None:
    assert_intervals(gradient_regions("identity"), [("fast", -INF, INF, False, False)])


# --- dense sampling against torch autograd --------------------------------------------------
DENSE = ["swish:beta=1", "gelu", "gelu:approx=tanh", "mish", "selu", "softplus",
         "expr:x*sigmoid(2.5*x)"]


@pytest.fixture(scope="module")
def dense_grid() -> np.ndarray:
    return np.linspace(-30.0, 30.0, 2_000_001)


@pytest.mark.parametrize("spec", DENSE)
def test_dense_sampling(spec: str, dense_grid: np.ndarray) -> None:
    result = gradient_regions(spec)
    assert_tiles_line(result)
    xs = away_from(dense_grid, finite_boundaries(result))
    d = torch_derivative(spec, xs)
    expected = oracle_class(d)
    underflow = np.nonzero(d == 0)[0]  # GELU's left tail is below 1e-308 beyond x ~ -27
    for i in underflow[:: max(1, underflow.size // 10)]:
        assert mp_derivative(spec, xs[i], dps=1200) != 0
    expected[underflow] = "slow"
    got = labels_on(result, xs)
    wrong = np.nonzero(got != expected)[0]
    assert wrong.size == 0, [(xs[i], got[i], expected[i]) for i in wrong[:5]]


@pytest.mark.parametrize("spec", ["swish:beta=1", "swish:beta=2.5", "gelu", "gelu:approx=tanh",
                                  "mish", "expr:x*sigmoid(2.5*x)", "sigmoid", "softplus"])
def test_boundaries_match_mpmath(spec: str) -> None:
    """Every finite boundary is a root found independently (and vice versa), to 1e-9."""
    got = finite_boundaries(gradient_regions(spec))
    want = oracle_boundaries(spec)
    assert len(got) == len(want), (got, want)
    assert np.max(np.abs(np.array(got) - np.array(want))) < BOUNDARY_TOL


# --- isolated zeros of f' -------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "bracket"), [
    ("swish:beta=1", (-2.0, -1.0)), ("swish:beta=2.5", (-0.8, -0.4)), ("gelu", (-1.0, -0.5)),
    ("gelu:approx=tanh", (-1.0, -0.5)), ("mish", (-1.5, -1.0)),
    ("expr:x*sigmoid(2.5*x)", (-0.8, -0.4))])
def test_isolated_inactive_point(spec: str, bracket: tuple[float, float]) -> None:
    zero = mp_root(lambda x: mp_derivative(spec, x), *bracket)
    result = gradient_regions(spec)
    (point,) = result.region("inactive")
    assert point.is_point and abs(point.lo - zero) < BOUNDARY_TOL
    left, right = (result.classify(zero + d) for d in (-1e-6, 1e-6))
    assert left == right == "slow"


def test_homework_zero_locations() -> None:
    # the numbers the issue quotes: Swish at -1.2785, GELU at -0.7518
    swish = gradient_regions("swish:beta=1").region("inactive")[0].lo
    gelu = gradient_regions("gelu").region("inactive")[0].lo
    assert round(swish, 4) == -1.2785 and round(gelu, 4) == -0.7518


# --- tails ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "x", "region"), [
    ("sigmoid", -1000.0, "slow"), ("sigmoid", 1000.0, "slow"), ("swish:beta=1", -1000.0, "slow"),
    ("swish:beta=1", 1000.0, "fast"), ("gelu", -40.0, "slow"), ("softplus", -800.0, "slow"),
    ("softplus", 800.0, "fast"), ("mish", -900.0, "slow"), ("elu:alpha=0.1", -1e6, "slow"),
    ("tanh", 1e5, "slow")])
def test_far_tails(spec: str, x: float, region: str) -> None:
    """float64 underflows to f' = 0 out there; mathematically f' != 0 (checked with mpmath
    where the function is in MP_FUNCTIONS)."""
    if spec in MP_FUNCTIONS:
        d = abs(mp_derivative(spec, x, dps=1200))
        assert d != 0
        assert region == ("fast" if d > FAST else "slow" if d < SLOW else "active")
    assert gradient_regions(spec).classify(x) == region


# --- parameter variants (issue 2 acceptance: right to 1e-6) ---------------------------------
def test_swish_beta_two_and_a_half() -> None:
    # swish_beta(x) = swish_1(beta x) / beta, so boundaries scale by 1/beta; checked by mpmath
    result = gradient_regions("swish:beta=2.5")
    unit = oracle_boundaries("swish:beta=1")
    assert np.allclose(finite_boundaries(result), np.array(unit) / 2.5, atol=1e-9, rtol=0)
    regions = [i.region for i in result.intervals]
    assert regions == ["slow", "active", "slow", "inactive", "slow", "active", "fast"]


def test_variants_to_1e_6() -> None:
    cases = {
        "plu:alpha=0.1,c=1": [("active", -INF, -1, False, False), ("fast", -1, 1, True, True),
                              ("active", 1, INF, False, False)],
        "elu:alpha=0.5": [("slow", -INF, math.log(0.02), False, False),
                          ("active", math.log(0.02), 0, True, True),
                          ("fast", 0, INF, False, False)],
        "jumprelu:q=0.1": [("inactive", -INF, 0.1, False, False),
                           ("fast", 0.1, INF, True, False)],
        "leaky_relu:slope=0.005": [("slow", -INF, 0, False, True),
                                   ("fast", 0, INF, False, False)],
    }
    for spec, expected in cases.items():
        assert_intervals(gradient_regions(spec), expected, tol=1e-6)


# --- thresholds -----------------------------------------------------------------------------
def test_slow_zero_means_no_slow_region() -> None:
    result = gradient_regions("sigmoid", fast=0.99, slow=0.0)
    assert_intervals(result, [("active", -INF, INF, False, False)])
    swish = gradient_regions("swish:beta=1", slow=0.0)
    assert swish.region("slow") == ()
    assert [i.is_point for i in swish.region("inactive")] == [True]


def test_slow_equals_fast_gives_isolated_active_points() -> None:
    t = 0.5
    a = math.atanh(math.sqrt(1 - t))
    assert_intervals(gradient_regions("tanh", fast=t, slow=t), [
        ("slow", -INF, -a, False, False), ("active", -a, -a, True, True),
        ("fast", -a, a, False, False), ("active", a, a, True, True),
        ("slow", a, INF, False, False)])
    # swish'(0) = 1/2 exactly, and swish' crosses 1/2 only there
    swish = gradient_regions("swish:beta=1", fast=0.5, slow=0.5)
    (point,) = swish.region("active")
    assert point.is_point and abs(point.lo) < 1e-12


def test_zero_thresholds() -> None:
    assert_intervals(gradient_regions("sigmoid", fast=0, slow=0),
                     [("fast", -INF, INF, False, False)])
    assert_intervals(gradient_regions("relu", fast=0, slow=0),
                     [("inactive", -INF, 0, False, True), ("fast", 0, INF, False, False)])


def test_limit_equal_to_threshold() -> None:
    # swish' -> 1 from above: with fast = 1 the right tail is still fast; it starts where
    # swish'(x) = 1, i.e. x sigmoid(x) = 1
    x1 = mp_root(lambda x: x * mp_sigmoid(x) - 1, 1.0, 2.0)
    result = gradient_regions("swish:beta=1", fast=1.0)
    assert result.intervals[-1].region == "fast"
    assert abs(result.intervals[-1].lo - x1) < BOUNDARY_TOL and not result.intervals[-1].closed_lo
    # softplus' = sigmoid -> 1 from below: with fast = 1 its right tail is active
    soft = gradient_regions("softplus", fast=1.0)
    assert_intervals(soft, [("slow", -INF, logit(SLOW), False, False),
                            ("active", logit(SLOW), INF, True, False)])


@pytest.mark.parametrize(("fast", "slow"), [
    (0.01, 0.99), (math.nan, 0.01), (0.99, -0.1), (math.inf, 0.01), (0.99, -math.inf),
    ("0.99", 0.01), (True, 0.0)])
def test_bad_thresholds(fast, slow) -> None:
    with pytest.raises(ActlabError, match="0 <= slow <= fast"):
        gradient_regions("relu", fast=fast, slow=slow)


def test_bad_spec() -> None:
    with pytest.raises(ActlabError):
        gradient_regions("nonsense")
    with pytest.raises(ActlabError):
        regions_report(["relu", "plu:c=0"])


# --- structure, for random thresholds -------------------------------------------------------
CATALOGUE_SPECS = ["relu", "sigmoid", "tanh", "plu:alpha=0.2,c=1", "swish:beta=1",
                   "swish:beta=2.5", "elu:alpha=0.1", "elu:alpha=1", "gelu", "gelu:approx=tanh",
                   "softplus", "selu", "mish", "hardtanh", "jumprelu:q=0.1",
                   "leaky_relu:slope=0.005", "identity"]
HYPO_GRID = np.linspace(-12.0, 12.0, 4001)


@functools.cache
def grid_derivative(spec: str) -> np.ndarray:
    """Oracle f' on HYPO_GRID: torch autograd, or closed forms for piecewise-linear units."""
    if spec in TORCH_FUNCTIONS:
        return torch_derivative(spec, HYPO_GRID)
    x = HYPO_GRID
    closed = {
        "relu": np.where(x > 0, 1.0, 0.0),
        "plu:alpha=0.2,c=1": np.where(np.abs(x) <= 1, 1.0, 0.2),
        "elu:alpha=1": np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))),
        "hardtanh": np.where(np.abs(x) < 1, 1.0, 0.0),
        "jumprelu:q=0.1": np.where(x >= 0.1, 1.0, 0.0),
        "leaky_relu:slope=0.005": np.where(x > 0, 1.0, 0.005),
        "identity": np.ones_like(x),
    }
    return closed[spec]


thresholds = st.tuples(st.floats(0, 1.5), st.floats(0, 1.5)).map(sorted)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.sampled_from(CATALOGUE_SPECS), th=thresholds)
def test_random_thresholds_tile_and_classify(spec: str, th: list[float]) -> None:
    slow, fast = th
    result = gradient_regions(spec, fast=fast, slow=slow)
    assert_tiles_line(result)
    assert result.thresholds.fast == fast and result.thresholds.slow == slow
    bounds = finite_boundaries(result)
    keep = np.ones(HYPO_GRID.shape, dtype=bool)
    for b in bounds:
        keep &= np.abs(HYPO_GRID - b) > 1e-7
    # where float64 cannot tell |f'| from a threshold (e.g. gelu' = 1 + 1e-31 at x = 12), skip
    m = np.abs(grid_derivative(spec))
    keep &= (np.abs(m - fast) > 1e-12) & (np.abs(m - slow) > 1e-12)
    expected = oracle_class(grid_derivative(spec)[keep], fast, slow)
    got = labels_on(result, HYPO_GRID[keep])
    assert np.array_equal(got, expected), spec


@settings(max_examples=40, deadline=None)
@given(x=st.floats(-60, 60), spec=st.sampled_from(CATALOGUE_SPECS))
def test_classify_reads_the_intervals(x: float, spec: str) -> None:
    result = gradient_regions(spec)
    owners = [i for i in result.intervals if i.contains(x)]
    assert len(owners) == 1 and result.classify(x) == owners[0].region


# --- max |f'| ---------------------------------------------------------------------------------
def test_max_abs_derivative_smooth() -> None:
    sig = gradient_regions("sigmoid").max_abs
    assert sig.value == 0.25 and [(i.lo, i.hi) for i in sig.where] == [(0.0, 0.0)]
    # swish: f'' = 0 at the maximum of f'; located with mpmath
    peak = mp_root(lambda x: mpmath.diff(MP_FUNCTIONS["swish:beta=1"], x, 2), 2.0, 3.0)
    sw = gradient_regions("swish:beta=1").max_abs
    assert abs(sw.where[0].lo - peak) < 1e-9
    assert abs(sw.value - float(mp_derivative("swish:beta=1", peak))) < 1e-12
    # GELU's peak is at sqrt(2): f'' = phi(x)(2 - x^2)
    ge = gradient_regions("gelu").max_abs
    assert abs(ge.where[0].lo - math.sqrt(2)) < 1e-12
    assert abs(ge.value - float(mp_derivative("gelu", math.sqrt(2)))) < 1e-12


def test_max_abs_derivative_piecewise() -> None:
    relu = gradient_regions("relu").max_abs
    assert relu.value == 1 and relu.where[0].text() == "(0, inf)"
    plu = gradient_regions("plu:alpha=0.2,c=1").max_abs
    assert plu.value == 1 and plu.where[0].text() == "[-1, 1]"
    selu = gradient_regions("selu").max_abs
    assert abs(selu.value - SELU_SCALE * SELU_ALPHA) < 1e-12 and selu.where[0].is_point
    elu2 = gradient_regions("elu:alpha=2").max_abs  # 2 at x = 0 only (f'(0) = alpha)
    assert elu2.value == 2 and elu2.where[0].text() == "{0}" and elu2.approached == ()
    jump = gradient_regions("jumprelu:q=0.1").max_abs
    assert jump.where[0].text() == "[0.1, inf)"


def test_to_dict_details() -> None:
    d = gradient_regions("plu:alpha=0.2,c=1").to_dict()
    assert d["spec"] == "plu:alpha=0.2,c=1" and d["name"] == "plu"
    assert d["params"] == {"alpha": 0.2, "c": 1.0}
    assert d["nondifferentiable"] == [-1.0, 1.0]
    assert [(b["left_derivative"], b["right_derivative"], b["derivative_used"])
            for b in d["breakpoints"]] == [(0.2, 1.0, 1.0), (1.0, 0.2, 1.0)]
    assert d["regions"] == {"fast": [[-1.0, 1.0]], "active": [[None, -1.0], [1.0, None]],
                            "slow": [], "inactive": []}
    assert d["max_abs_derivative"]["where"] == [[-1.0, 1.0]]
    assert isinstance(d["tail"], str) and d["tail"]


def test_report_keeps_order_and_thresholds() -> None:
    report = regions_report(["gelu", "relu"], fast=0.9, slow=0.1).to_dict()
    assert report["thresholds"] == {"fast": 0.9, "slow": 0.1}
    assert [a["spec"] for a in report["activations"]] == ["gelu", "relu"]


def test_same_activation_object_or_spec() -> None:
    act = parse_activation("swish:beta=2.5")
    assert as_tuples(gradient_regions(act)) == as_tuples(gradient_regions("swish:beta=2.5"))


def test_unbounded_derivative() -> None:
    # f = x^3: f' = 3x^2 is unbounded, vanishes only at 0; 3x^2 = t  <=>  |x| = sqrt(t / 3)
    result = gradient_regions("expr:x**3")
    a, b = math.sqrt(SLOW / 3), math.sqrt(FAST / 3)
    assert_intervals(result, [
        ("fast", -INF, -b, False, False), ("active", -b, -a, True, True),
        ("slow", -a, 0, False, False), ("inactive", 0, 0, True, True),
        ("slow", 0, a, False, False), ("active", a, b, True, True),
        ("fast", b, INF, False, False)])
    top = result.to_dict()["max_abs_derivative"]
    assert top["value"] is None and top["unbounded"] and not top["attained"]
    assert top["approached"] == ["x -> -inf", "x -> +inf"]


def test_expression_undefined_somewhere_is_a_clean_error() -> None:
    with pytest.raises(ActlabError, match="whole real line"):
        gradient_regions("expr:1/x")
