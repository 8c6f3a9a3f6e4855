"""Benchmark: exact OAE time per point against network size, exact method against a plain big-M
MILP, and the attacks' average gap to the exact distance; everything compared within one run.

Networks: seeded random ReLU MLPs on 3-D inputs with 3 classes (weights N(0, 1/fan_in), biases
N(0, 0.3^2)), hidden layers from ``SIZES``; points uniform in [-1, 1]^3, the box [-2, 2]^3.

1. Size sweep (L-inf, box): per point, with the same time limit each,
   - exact: ``actlab.oae.api.oae`` (method "auto": branch and bound over activation patterns up
     to 16 hidden units, else the MILP with bounds tightened by interval arithmetic and LP and an
     attack's point as first incumbent);
   - plain: ``oae_milp(tighten=False)``, the textbook big-M MILP (interval-arithmetic bounds, no
     LP tightening, no incumbent).
   Reported: median and mean seconds per point, how many were certified, the method used, and
   whether the two methods' certified distances agree (they must: both are exact).
2. Attacks: FGSM, PGD, DeepFool and C&W (``run_attacks``, minimal-distance versions) against the
   exact distance, on the homework's trained XOR network (its four samples) and on the sweep's two
   smallest networks, in L2, L-inf and L1. Gap = attack distance - exact distance, over the points
   where the attack succeeded and the exact distance is certified; relative gap = gap / exact.
   ``beats_exact`` counts attack points closer than the certified exact distance (beyond
   rounding): it must be 0.

Prints one JSON document. About a minute on one core.

Usage: .venv/bin/python benchmarks/bench_oae.py [--points P] [--time-limit T] [--seed S]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import time

import numpy as np

from actlab.models import xor_trained
from actlab.network import Network
from actlab.oae.api import oae
from actlab.oae.attacks import ATTACKS, run_attacks
from actlab.oae.milp import oae_milp

SIZES: tuple[tuple[int, ...], ...] = ((4,), (8,), (8, 8), (16, 16), (24, 24))
INPUT_DIM = 3
CLASSES = 3
BOX = (-2.0, 2.0)
NORMS = ("l2", "linf", "l1")
ROUNDING = 1e-9  # |gap| below this (relative to 1 + distance) is rounding, not a gap


def random_network(hidden: tuple[int, ...], rng: np.random.Generator) -> Network:
    sizes = [INPUT_DIM, *hidden, CLASSES]
    weights = [rng.normal(size=(o, i)) / math.sqrt(i) for i, o in itertools.pairwise(sizes)]
    biases = [0.3 * rng.normal(size=o) for o in sizes[1:]]
    return Network.from_arrays(weights, biases, ["relu"] * len(hidden) + ["identity"],
                               name=f"relu-{'-'.join(map(str, hidden))}")


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def method_stats(results: list, seconds: list[float]) -> dict:
    return {"median_seconds": statistics.median(seconds),
            "mean_seconds": statistics.fmean(seconds),
            "max_seconds": max(seconds),
            "certified": sum(r.certified for r in results), "points": len(results)}


def size_sweep(networks: list[Network], points: list[np.ndarray], limit: float) -> list[dict]:
    rows = []
    for net in networks:
        exact, plain, t_exact, t_plain = [], [], [], []
        for x in points:
            r, t = timed(oae, net, x, "linf", BOX, "auto", limit)
            exact.append(r)
            t_exact.append(t)
            r, t = timed(oae_milp, net, x, "linf", BOX, tighten=False, time_limit=limit)
            plain.append(r)
            t_plain.append(t)
        both = [(e.distance, p.distance) for e, p in zip(exact, plain, strict=True)
                if e.certified and p.certified]
        diffs = [abs(a - b) for a, b in both if a is not None and b is not None]
        agree = all((a is None and b is None) or
                    (a is not None and b is not None and abs(a - b) <= 1e-6 * (1 + abs(a)))
                    for a, b in both)
        ex, pl = method_stats(exact, t_exact), method_stats(plain, t_plain)
        rows.append({
            "hidden": [len(layer.bias) for layer in net.hidden_layers],
            "units": sum(len(layer.bias) for layer in net.hidden_layers),
            "exact": {**ex, "method": sorted({r.method.split(" (")[0] for r in exact})},
            "plain_milp": pl,
            "plain_over_exact_median_time": pl["median_seconds"] / ex["median_seconds"],
            "both_certified": len(both), "distances_agree": agree,
            "max_abs_difference": max(diffs, default=0.0),
        })
    return rows


def attack_gaps(cases: list[tuple[Network, np.ndarray]]) -> dict:
    """For each norm and attack: success count, mean / max / min gap, mean relative gap."""
    gaps: dict[str, dict[str, list[tuple[float, float]]]] = {
        n: {a: [] for a in ATTACKS} for n in NORMS}
    runs = {n: {a: 0 for a in ATTACKS} for n in NORMS}
    exact_certified = dict.fromkeys(NORMS, 0)
    beats = []
    for (net, x), norm in itertools.product(cases, NORMS):
        r = oae(net, x, norm)
        if not r.certified or r.distance is None:
            continue
        exact_certified[norm] += 1
        for a in run_attacks(net, x, norm):
            runs[norm][a.attack] += 1
            if not a.success:
                continue
            gap = a.distance - r.distance
            gaps[norm][a.attack].append((gap, r.distance))
            if gap < -ROUNDING * (1 + r.distance):
                beats.append({"network": net.name, "x": x.tolist(), "norm": norm,
                              "attack": a.attack, "attack_distance": a.distance,
                              "exact_distance": r.distance})

    def summary(pairs: list[tuple[float, float]], tried: int) -> dict:
        if not pairs:
            return {"runs": tried, "successes": 0}
        g = [gap for gap, _ in pairs]
        rel = [gap / d for gap, d in pairs if d > 0]
        return {"runs": tried, "successes": len(pairs),
                "mean_gap": statistics.fmean(g), "max_gap": max(g), "min_gap": min(g),
                "mean_relative_gap": statistics.fmean(rel) if rel else None,
                "exact_found": sum(abs(x) <= ROUNDING * (1 + d) for x, d in pairs)}

    by_norm = {n: {a: summary(gaps[n][a], runs[n][a]) for a in ATTACKS} for n in NORMS}
    overall = {a: summary([p for n in NORMS for p in gaps[n][a]],
                          sum(runs[n][a] for n in NORMS)) for a in ATTACKS}
    return {"cases": len(cases), "exact_certified": exact_certified, "by_norm": by_norm,
            "overall": overall, "beats_exact": len(beats), "beating": beats[:5]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=3, help="points per network size")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per point")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    networks = [random_network(h, rng) for h in SIZES]
    points = [rng.uniform(-1.0, 1.0, INPUT_DIM) for _ in range(args.points)]
    sweep = size_sweep(networks, points, args.time_limit)
    xor = xor_trained()
    cases = [(xor, x) for x in np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])]
    cases += [(net, x) for net in networks[:2] for x in points]
    attacks = attack_gaps(cases)
    print(json.dumps({
        "benchmark": "oae",
        "config": {"sizes": [list(h) for h in SIZES], "input_dim": INPUT_DIM,
                   "classes": CLASSES, "box": list(BOX), "sweep_norm": "linf",
                   "points_per_size": args.points, "time_limit": args.time_limit,
                   "seed": args.seed},
        "size_sweep": sweep,
        "attacks": attacks,
        "seconds_total": time.perf_counter() - start,
    }, indent=1))


if __name__ == "__main__":
    main()
