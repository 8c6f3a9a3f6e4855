"""Benchmark: exact L-inf adversarial distances on the digits (8x8, 64 inputs), one run.

Network: a ReLU MLP 64-32-32-10 trained here with ``actlab.train`` (seeded, deterministic).
Points: the first POINTS images of the held-out split, pixels in the box [0, 1]. Per point, with
the same time limit each:

- exact:  ``actlab.oae.api.oae`` (MILP on HiGHS, bounds tightened by interval arithmetic and LP,
          an attack's point as first incumbent; certified optimum or a certified bracket);
- plain:  the same MILP encoding with interval-arithmetic big-M bounds only and no incumbent
          (``oae_milp(tighten=False)``), the textbook big-M MILP;
- marabou: maraboupy (complete SMT-style verifier, yes/no at a fixed radius) with bisection on
          the L-inf radius between 0 and the box's reach until the bracket is narrower than 1e-4.

Reported: median seconds per point, fraction certified within the time limit (exact/plain:
lower bound meets the distance; Marabou: bracket < 1e-4 reached), and a cross-check that every
certified distance of one method lies in the other methods' certified brackets. Then scaling:
exact time per point for widths 16, 32, 64 (depth 2) and depths 1, 2, 3 (width 32).
Prints one JSON document. Marabou is optional (``pip install -e '.[bench]'``); without it that
column is reported as unavailable.

Usage: .venv/bin/python benchmarks/bench_digits.py [--points P] [--time-limit T]
       [--scaling-points S] [--epochs E] [--no-marabou]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from actlab.data import digits
from actlab.network import Network
from actlab.oae.api import oae
from actlab.oae.milp import oae_milp
from actlab.train import train

BOX = (0.0, 1.0)
MARABOU_TOLERANCE = 1e-4


def train_digits(hidden: tuple[int, ...], epochs: int) -> tuple[Network, float]:
    """A ReLU MLP on the training split; returns it with its held-out accuracy."""
    net = train(digits("train"), hidden=hidden, epochs=epochs, lr=0.1, batch=32, seed=0).network
    test = digits("test")
    return net, float(np.mean(net.classify(test.x) == test.labels()))


def run_exact(net: Network, x: np.ndarray, limit: float) -> dict:
    start = time.perf_counter()
    r = oae(net, x, "linf", BOX, "milp", limit)
    return {"seconds": time.perf_counter() - start, "certified": r.certified,
            "distance": r.distance, "lower": r.lower_bound,
            "upper": r.upper_bound if r.witness is not None else math.inf}


def run_plain(net: Network, x: np.ndarray, limit: float) -> dict:
    start = time.perf_counter()
    r = oae_milp(net, x, "linf", BOX, tighten=False, time_limit=limit)
    return {"seconds": time.perf_counter() - start, "certified": r.certified,
            "distance": r.distance, "lower": r.lower_bound,
            "upper": r.upper_bound if r.witness is not None else math.inf}


class MarabouBisection:
    """L-inf distance by bisection on the radius, one Marabou query per step:
    'is there x' in box and ball(x, eps) with z_j >= z_c for some j != c?' (a disjunction)."""

    def __init__(self, net: Network, onnx_path: Path) -> None:
        import onnx
        from maraboupy import Marabou

        self.marabou = Marabou
        self.net = net
        self.path = str(onnx_path)
        graph = onnx.load(self.path).graph   # the logits: Marabou cannot encode the softmax
        self.logits = next(n.input[0] for n in graph.node if n.op_type == "Softmax")

    def query(self, x: np.ndarray, c: int, eps: float, timeout: float) -> str:
        from maraboupy import MarabouCore
        from maraboupy.MarabouUtils import Equation

        network = self.marabou.read_onnx(self.path, outputNames=[self.logits])
        inputs = np.asarray(network.inputVars[0]).ravel()
        outputs = np.asarray(network.outputVars[0]).ravel()
        for v, xi in zip(inputs, x, strict=True):
            network.setLowerBound(int(v), max(BOX[0], xi - eps))
            network.setUpperBound(int(v), min(BOX[1], xi + eps))
        disjuncts = []
        for j in range(len(outputs)):
            if j == c:
                continue
            e = Equation(MarabouCore.Equation.GE)   # z_j - z_c >= 0
            e.addAddend(1.0, int(outputs[j]))
            e.addAddend(-1.0, int(outputs[c]))
            e.setScalar(0.0)
            disjuncts.append([e])
        network.addDisjunctionConstraint(disjuncts)
        options = self.marabou.createOptions(verbosity=0,
                                             timeoutInSeconds=max(1, math.ceil(timeout)))
        exit_code, _, _ = network.solve(verbose=False, options=options)
        return exit_code

    def distance(self, x: np.ndarray, limit: float) -> dict:
        start = time.perf_counter()
        c = int(self.net.classify(x)[0])
        lo = 0.0
        hi = float(max(np.max(x - BOX[0]), np.max(BOX[1] - x)))  # the ball then covers the box
        certified, note = True, ""
        while hi - lo > MARABOU_TOLERANCE:
            left = limit - (time.perf_counter() - start)
            if left <= 0:
                certified, note = False, "time limit"
                break
            mid = 0.5 * (lo + hi)
            answer = self.query(x, c, mid, left)
            if answer == "sat":
                hi = mid
            elif answer == "unsat":
                lo = mid
            else:
                certified, note = False, answer
                break
        return {"seconds": time.perf_counter() - start, "certified": certified,
                "lower": lo, "upper": hi, "note": note}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summary(rows: list[dict]) -> dict:
    return {"median_seconds_per_point": median([r["seconds"] for r in rows]),
            "certified_fraction": sum(r["certified"] for r in rows) / len(rows)}


def cross_check(exact: list[dict], others: dict[str, list[dict]]) -> list[str]:
    """Every certified exact distance must lie in the other methods' certified brackets."""
    problems = []
    for i, e in enumerate(exact):
        if not e["certified"] or e["distance"] is None:
            continue
        for name, rows in others.items():
            o = rows[i]
            lower = o["lower"] - 1e-6
            upper = (o["upper"] if o["upper"] is not None else math.inf) + 1e-6
            if name == "marabou":
                lower, upper = o["lower"] - 1e-4, o["upper"] + 1e-4  # float32 ONNX, 1e-4 bracket
            if not lower <= e["distance"] <= upper:
                problems.append(f"point {i}: exact {e['distance']:.7g} outside {name}'s "
                                f"[{o['lower']:.7g}, {o['upper']:.7g}]")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--scaling-points", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--no-marabou", action="store_true")
    args = parser.parse_args()
    points = digits("test").x[:args.points]
    net, accuracy = train_digits((32, 32), args.epochs)

    exact = [run_exact(net, x, args.time_limit) for x in points]
    plain = [run_plain(net, x, args.time_limit) for x in points]
    methods: dict[str, object] = {"exact_milp_tightened": summary(exact),
                                  "plain_big_m_milp": summary(plain)}
    others = {"plain_big_m_milp": plain}
    marabou_rows = None
    if not args.no_marabou:
        try:
            import maraboupy  # noqa: F401
        except ImportError:
            methods["marabou_bisection"] = "unavailable (pip install -e '.[bench]')"
        else:
            from actlab.io import save_model

            with tempfile.TemporaryDirectory() as tmp:
                onnx_path = Path(tmp) / "digits.onnx"
                save_model(net, onnx_path, onnx_dtype="float32")
                bisection = MarabouBisection(net, onnx_path)
                marabou_rows = [bisection.distance(x, args.time_limit) for x in points]
            methods["marabou_bisection"] = summary(marabou_rows)
            others["marabou"] = marabou_rows
    ratios = {}
    for name, rows in others.items():
        ours, theirs = median([r["seconds"] for r in exact]), median([r["seconds"] for r in rows])
        ratios[f"{name}_over_exact_median_seconds"] = theirs / ours if ours else None

    scaling = []
    for hidden in [(16, 16), (32, 32), (64, 64), (32,), (32, 32, 32)]:
        scaled, acc = train_digits(hidden, args.epochs)
        rows = [run_exact(scaled, x, args.time_limit) for x in points[:args.scaling_points]]
        scaling.append({"hidden": list(hidden), "test_accuracy": acc, **summary(rows)})

    print(json.dumps({
        "benchmark": "digits_linf_exact_oae",
        "network": "64-32-32-10 relu", "test_accuracy": accuracy,
        "points": args.points, "time_limit_seconds": args.time_limit, "box": list(BOX),
        "cpus": os.cpu_count(),
        "methods": methods, "ratios": ratios,
        "per_point": {"exact": exact, "plain_big_m_milp": plain, "marabou": marabou_rows},
        "cross_check_problems": cross_check(exact, others),
        "scaling": scaling,
        "goal": "exact faster than both baselines (ratios > 1) while certified",
    }, indent=1, default=lambda v: None if isinstance(v, float) and math.isinf(v) else v))


if __name__ == "__main__":
    main()
