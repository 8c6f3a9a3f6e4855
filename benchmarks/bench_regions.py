"""Benchmark: exact gradient regions against dense sampling, measured in the same run.

For each homework activation and one ``expr:`` function: the median time (REPEATS runs) of
``gradient_regions`` (fresh from the spec string each time, so an ``expr:``'s symbolic analysis
is included; and on a prebuilt activation), and of a baseline that samples f' at step 1e-4 on
[-50, 50] and puts a boundary midway between neighbouring samples of different regions. The
baseline's boundary error is max over exact finite boundaries of the distance to the nearest
baseline boundary; boundaries it misses entirely (farther than 10 steps, e.g. the isolated zeros
of Swish and GELU) are listed. Prints one JSON document.

Usage: .venv/bin/python benchmarks/bench_regions.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from actlab.activations import CATALOGUE, HOMEWORK_SPECS, Activation, parse_activation
from actlab.regions import gradient_regions

SPECS = [*HOMEWORK_SPECS, "expr:x*sigmoid(2.5*x)"]
FAST, SLOW = 0.99, 0.01
STEP, LO, HI = 1e-4, -50.0, 50.0


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of fn() over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def baseline_boundaries(act: Activation) -> np.ndarray:
    """Region boundaries located by sampling f' at STEP on [LO, HI]."""
    xs = np.linspace(LO, HI, round((HI - LO) / STEP) + 1)
    m = np.abs(act.derivative(xs))
    cls = np.select([m == 0, m > FAST, m < SLOW], [0, 1, 2], 3)
    i = np.nonzero(cls[1:] != cls[:-1])[0]
    return 0.5 * (xs[i] + xs[i + 1])


def compare(exact: list[float], approx: np.ndarray) -> tuple[float | None, list[float]]:
    """(max distance from an exact boundary to the nearest baseline one among those found,
    exact boundaries with no baseline boundary within 10 steps)."""
    found, missed = [], []
    for b in exact:
        d = float(np.min(np.abs(approx - b))) if approx.size else math.inf
        (found if d <= 10 * STEP else missed).append((b, d))
    return (max(d for _, d in found) if found else None), [b for b, _ in missed]


def bench_one(spec: str, repeats: int) -> dict[str, object]:
    act = parse_activation(spec)
    result = gradient_regions(act)
    exact = sorted({v for i in result.intervals for v in (i.lo, i.hi) if math.isfinite(v)})
    fresh = median_seconds(lambda: gradient_regions(spec), repeats)
    cached = median_seconds(lambda: gradient_regions(act), repeats)
    base = median_seconds(lambda: baseline_boundaries(act), repeats)
    error, missed = compare(exact, baseline_boundaries(act))
    return {"spec": spec, "exact_median_s": fresh, "exact_prebuilt_median_s": cached,
            "baseline_median_s": base, "baseline_over_exact": base / fresh,
            "baseline_over_exact_prebuilt": base / cached, "exact_boundaries": exact,
            "baseline_max_boundary_error": error, "baseline_missed_boundaries": missed}


CATALOGUE_SPECS = [*CATALOGUE, "gelu:approx=tanh"]  # every entry, both forms of GELU


def catalogue_seconds(repeats: int) -> float:
    """Median time for the regions of every catalogue entry (default parameters, and GELU's
    tanh form), each built fresh from its spec."""
    def run() -> None:
        for spec in CATALOGUE_SPECS:
            gradient_regions(spec)
    return median_seconds(run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = [bench_one(spec, args.repeats) for spec in SPECS]
    doc = {"benchmark": "gradient_regions vs dense sampling",
           "thresholds": {"fast": FAST, "slow": SLOW},
           "baseline": {"step": STEP, "range": [LO, HI]}, "repeats": args.repeats,
           "python": platform.python_version(), "machine": platform.machine(),
           "catalogue_all_median_s": catalogue_seconds(args.repeats),
           "catalogue_specs": CATALOGUE_SPECS, "rows": rows}
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
