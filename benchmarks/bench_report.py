"""Benchmark: the whole ``actlab report`` (the homework's defaults), as a user runs it.

Runs ``actlab report --out TMP --json`` REPEATS times in a fresh process each (interpreter start,
imports, computation, figures, HTML and PDF all included) and reports the median wall time
against the target (under 60 s on a 2-core machine), and each step's median seconds as the
command measured them. Prints one JSON document.

Usage: .venv/bin/python benchmarks/bench_report.py [--repeats N] [--config FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60.0
ACTLAB = Path(sys.executable).with_name("actlab")


def run_once(config: str | None) -> tuple[float, dict[str, float]]:
    """Wall seconds of one report and the steps' seconds it printed."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        command = [str(ACTLAB), "report", "--out", str(Path(tmp) / "out"), "--json"]
        if config is not None:
            command += ["--config", config]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
    return wall, json.loads(done.stdout)["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", default=None)
    args = parser.parse_args()
    walls, steps = [], []
    for _ in range(max(1, args.repeats)):
        wall, seconds = run_once(args.config)
        walls.append(wall)
        steps.append(seconds)
    median = statistics.median(walls)
    names = list(steps[0])
    per_step = {name: round(statistics.median(s[name] for s in steps), 3) for name in names}
    print(json.dumps({
        "benchmark": "actlab report (whole report, fresh process each run)",
        "config": args.config or "defaults (the homework)",
        "runs": len(walls),
        "seconds": [round(w, 2) for w in walls],
        "median_seconds": round(median, 2),
        "target_seconds": TARGET_SECONDS,
        "meets_target": median < TARGET_SECONDS,
        "steps_median_seconds": per_step,
        "slowest_steps": sorted(per_step, key=per_step.__getitem__, reverse=True)[:4],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }, indent=1))


if __name__ == "__main__":
    main()
