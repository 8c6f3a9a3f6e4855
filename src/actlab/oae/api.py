"""``oae``: the exact optimal adversarial example of one input, or of a batch.

Method choice (``method="auto"``): the branch and bound over activation patterns (any norm,
QP/LP per region) for L2 and for one hidden layer of at most 16 units; the MILP (L-inf, L1) for
deeper or larger ones (on random 3-8-8-3 nets, L-inf in a box: 1.6 s per point by branch and
bound, 0.02 s by MILP; benchmarks/bench_oae.py). Beyond those small shallow nets an attack first
supplies an upper bound (a verified adversarial point), which both methods use to prune; the
MILP needs that bound or a box, and without either the branch and bound runs instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from actlab.errors import ActlabError
from actlab.network import Network
from actlab.oae.exact import check_piecewise_linear, oae_branch_and_bound
from actlab.oae.milp import oae_milp
from actlab.oae.polyhedron import NORMS
from actlab.oae.result import OAEResult

METHODS = ("auto", "bnb", "milp")
SMALL_NETWORK_UNITS = 16


def parse_box(text: str | None) -> tuple[float, float] | None:
    """``LO,HI`` -> (lo, hi) with lo < hi, both finite; None stays None."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        lo, hi = (float(v) for v in parts)
    except ValueError:
        raise ActlabError(f"--box must be LO,HI (two numbers), got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ActlabError(f"--box needs finite LO < HI, got {text!r}")
    return lo, hi


def attack_upper_bound(network: Network, x: ArrayLike, which: str,
                       box: tuple[float, float] | None, time_limit: float | None = None
                       ) -> tuple[float, np.ndarray | None]:
    """The smallest distance at which a cheap attack (DeepFool, then PGD) found an input of
    another class, and that input; (inf, None) when neither did. With a ``time_limit``, PGD
    (the slower one) is skipped once DeepFool has used half of it."""
    from actlab.oae.attacks import run_attacks

    start = time.perf_counter()
    runs = run_attacks(network, x, which, box, ("deepfool",))
    if time_limit is None or time.perf_counter() - start < 0.5 * time_limit:
        runs += run_attacks(network, x, which, box, ("pgd",))
    found = [(r.distance, r.point) for r in runs
             if r.success and r.distance is not None and r.point is not None]
    if not found:
        return math.inf, None
    distance, point = min(found, key=lambda dp: dp[0])
    return distance, np.asarray(point, dtype=np.float64)


def check_request(network: Network, norm: str, method: str, time_limit: float | None) -> None:
    """ActlabError unless the norm, method and time limit are valid and every hidden
    activation is piecewise linear (checked once, before any job starts)."""
    if norm not in NORMS:
        raise ActlabError(f"unknown norm {norm!r} (use l2, linf or l1)")
    if method not in METHODS:
        raise ActlabError(f"unknown method {method!r} (use {', '.join(METHODS)})")
    if time_limit is not None and not time_limit > 0:
        raise ActlabError("the time limit must be a positive number of seconds")
    check_piecewise_linear(network)


def check_inputs(network: Network, points: np.ndarray) -> np.ndarray:
    """``points`` (n, d) when each row has the network's d finite inputs and the forward pass
    stays finite; ActlabError otherwise."""
    if points.shape[1] != network.input_dim or not np.all(np.isfinite(points)):
        raise ActlabError(f"each input needs {network.input_dim} finite numbers, got "
                          f"{points.shape[1]}")
    network.check_finite(points)
    return points


def small_and_shallow(network: Network) -> bool:
    """One hidden layer of at most SMALL_NETWORK_UNITS units: the branch and bound's patterns
    are few, and it needs no attack to start."""
    units = sum(len(layer.bias) for layer in network.hidden_layers)
    return len(network.hidden_layers) == 1 and units <= SMALL_NETWORK_UNITS


def choose_method(network: Network, which: str) -> str:
    """Branch and bound for L2 and for small shallow networks; MILP otherwise."""
    return "bnb" if which == "l2" or small_and_shallow(network) else "milp"


def oae(network: Network, x: ArrayLike, norm: str = "l2", box: tuple[float, float] | None = None,
        method: str = "auto", time_limit: float | None = None) -> OAEResult:
    """The exact optimal adversarial example of ``x`` under ``network`` (see OAEResult).

    ``time_limit`` (seconds) covers the whole computation, the attack that seeds the search of a
    larger network included, except that the exact search always gets at least half of it;
    ``seconds`` in the result is the whole time too."""
    start = time.perf_counter()
    check_request(network, norm, method, time_limit)
    x0 = check_inputs(network, np.asarray(x, dtype=np.float64).reshape(1, -1))[0]
    chosen = choose_method(network, norm) if method == "auto" else method
    upper, adversarial = ((math.inf, None) if chosen == "bnb" and small_and_shallow(network)
                          else attack_upper_bound(network, x0, norm, box, time_limit))
    budget = (None if time_limit is None else  # the exact search gets at least half of it
              max(time_limit - (time.perf_counter() - start), 0.5 * time_limit))
    bounded = math.isfinite(upper) or box is not None
    if chosen == "milp" and bounded:
        radius = upper * (1 + 1e-6) + 1e-9 if math.isfinite(upper) else None
        result = oae_milp(network, x0, norm, box, radius=radius, time_limit=budget,
                          known_adversarial=adversarial)
    elif chosen == "milp" and method == "milp":
        raise ActlabError("the MILP method needs a box (--box) or an adversarial point found by "
                          "an attack to bound the search; none was found: try --method bnb")
    else:  # bnb, or auto's MILP with nothing to bound it
        result = oae_branch_and_bound(network, x0, norm, box, time_limit=budget,
                                      upper_bound=upper * (1 + 1e-6) + 1e-9,
                                      known_adversarial=adversarial)
    result.seconds = time.perf_counter() - start
    return result


@dataclass(frozen=True)
class OAEJob:
    """One input's exact OAE, as plain data a worker process or a Dask worker can run."""

    network: Network
    x: tuple[float, ...]
    norm: str = "l2"
    box: tuple[float, float] | None = None
    method: str = "auto"
    time_limit: float | None = None
    attacks: bool = False

    def __str__(self) -> str:
        """How an error message names the job: its input and norm, not the whole network."""
        return f"x = {list(self.x)}, {self.norm}"


@dataclass(frozen=True)
class OAEJobResult:
    """The exact result and, when asked, each attack's distance and gap to it."""

    result: OAEResult
    attacks: list[dict] | None = None


def attack_gaps(network: Network, x: ArrayLike, norm: str, box: tuple[float, float] | None,
                result: OAEResult) -> list[dict]:
    """FGSM, PGD, DeepFool and C&W on ``x``: each attack's row plus ``gap`` = its distance minus
    the exact one (None when it failed or there is no adversarial input)."""
    from actlab.oae.attacks import run_attacks

    rows = []
    for a in run_attacks(network, x, norm, box):
        row = a.to_dict()
        row["gap"] = (a.distance - result.distance if a.success and result.distance is not None
                      else None)
        rows.append(row)
    return rows


def run_oae_job(job: OAEJob) -> OAEJobResult:
    """The executor's unit of work (a top-level function, so processes can import it)."""
    result = oae(job.network, job.x, job.norm, job.box, job.method, job.time_limit)
    gaps = attack_gaps(job.network, job.x, job.norm, job.box, result) if job.attacks else None
    return OAEJobResult(result, gaps)


def parallel_worth_it(network: Network, count: int) -> bool:
    """Worker processes pay ~1-2 s each to start (imports): worth it only for several inputs
    of a network too large for the instant branch and bound."""
    units = sum(len(layer.bias) for layer in network.hidden_layers)
    return count >= 4 and units > SMALL_NETWORK_UNITS


def oae_jobs(network: Network, inputs: Sequence[ArrayLike] | np.ndarray, norm: str = "l2",
             box: tuple[float, float] | None = None, method: str = "auto",
             time_limit: float | None = None, attacks: bool = False,
             scheduler: str | None = None, workers: int | None = None,
             progress: bool = False) -> list[OAEJobResult]:
    """``run_oae_job`` for each input, in order, through ``engine.run_map``: sequentially,
    in ``workers`` local processes, or on the Dask cluster at ``scheduler``. ``workers=None``
    picks processes only when ``parallel_worth_it``."""
    from actlab.engine import run_map

    check_request(network, norm, method, time_limit)
    points = check_inputs(network, np.atleast_2d(np.asarray(inputs, dtype=np.float64)))
    jobs = [OAEJob(network, tuple(float(v) for v in x), norm, box, method, time_limit, attacks)
            for x in points]
    if scheduler is None and workers is None and not parallel_worth_it(network, len(jobs)):
        workers = 1
    return run_map(run_oae_job, jobs, scheduler=scheduler, workers=workers, progress=progress,
                   description="exact OAE")


def oae_batch(network: Network, inputs: Sequence[ArrayLike] | np.ndarray, norm: str = "l2",
              box: tuple[float, float] | None = None, method: str = "auto",
              time_limit: float | None = None, scheduler: str | None = None,
              workers: int | None = 1) -> list[OAEResult]:
    """``oae`` for each input, in order (sequential by default; see ``oae_jobs``)."""
    return [job.result for job in oae_jobs(network, inputs, norm, box, method, time_limit,
                                           scheduler=scheduler, workers=workers)]
