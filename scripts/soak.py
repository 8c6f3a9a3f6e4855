"""Soak the exact OAE solvers for soundness: thousands of seeded random cases, JSON summary.

    .venv/bin/python scripts/soak.py --cases 10000 --seed 0 [--workers 2]
    .venv/bin/python scripts/soak.py --replay failure.json   # re-check reproducers

Case i of seed s is built from numpy's Generator seeded with [s, i] (tests/test_soundness.py,
``soak_case``), so a run is deterministic given its seed whatever the number of workers (up to
solver time limits). Every case runs the property checks of tests/test_soundness.py. A case is
*unsound* only for a real violation (a witness that does not flip the class, a lower bound above
the distance or beaten by a verified input, a certified distance beaten by an attack, the
sampler, the grid or the oracle, certified solvers that disagree); time limits, uncertified
brackets, oracle disagreements that no verified input settles, warnings and crashes are counted
and listed separately. Exit status 1 if any case is unsound, else 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
LISTED = 25  # cases listed per non-failure category (all failures are listed)


def _setup() -> None:
    """One thread per process (the cases are tiny), and tests/ importable."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))


def _run_one(job: tuple[int, int]) -> dict[str, Any]:
    """Check case ``index`` of ``seed``; a plain dict so it crosses process boundaries."""
    import test_soundness as soundness

    seed, index = job
    out = soundness.soak_case(seed, index)
    summary = out.summary()
    summary.update(index=index, seconds=round(out.seconds, 4), checks=out.checks,
                   certified={k: r.certified for k, r in out.results.items()})
    return summary


def _listing(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {"count": len(rows),
            "cases": [{"index": r["index"], key: r[key], "reproducer": r["case"]}
                      for r in rows[:LISTED]]}


def summarize(rows: list[dict[str, Any]], seed: int, workers: int, elapsed: float,
              budget: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: cases per norm / activation / head / mode, checks run, solver
    statuses, failures with reproducers, incomplete and other findings, elapsed seconds."""
    runs: dict[str, Counter[str]] = defaultdict(Counter)
    checks: Counter[str] = Counter()
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    certified: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    for r in rows:
        case = r["case"]
        for key in ("norm", "kind", "head", "mode"):
            runs[key][case[key]] += 1
        runs["constant"]["yes" if case["constant"] else "no"] += 1
        runs["box"]["yes" if case["box"] is not None else "no"] += 1
        checks.update(r["checks"])
        for solver, status in r["statuses"].items():
            statuses[solver][status] += 1
        certified.update(k for k, v in r["certified"].items() if v)
        violations.update(v["check"] for v in r["violations"])
    failures = [{"index": r["index"], "violations": r["violations"], "distance": r["distance"],
                 "lower_bound": r["lower_bound"], "known": r["known"], "reproducer": r["case"]}
                for r in rows if r["violations"]]
    errors = [r for r in rows if any(s.startswith("error") for s in r["incomplete"])]
    incomplete = [r for r in rows if r["incomplete"] and r not in errors]
    return {
        "seed": seed, "cases": len(rows), "workers": workers, "budget": budget,
        "elapsed_seconds": round(elapsed, 1),
        "runs": {"per_norm": dict(runs["norm"]), "per_activation": dict(runs["kind"]),
                 "per_head": dict(runs["head"]), "per_mode": dict(runs["mode"]),
                 "constant_class": runs["constant"]["yes"], "with_box": runs["box"]["yes"]},
        "checks": dict(sorted(checks.items())),
        "statuses": {k: dict(v) for k, v in statuses.items()},
        "certified": dict(certified),
        "unsound": len(failures),
        "violations_by_check": dict(violations),
        "failures": failures,
        "incomplete": _listing(incomplete, "incomplete"),
        "oracle_disagreements": _listing([r for r in rows if r["disagreements"]],
                                         "disagreements"),
        "warnings": _listing([r for r in rows if r["warnings"]], "warnings"),
        "errors": _listing(errors, "incomplete"),
        "slowest_case_seconds": max((r["seconds"] for r in rows), default=0.0),
    }


def replay(path: Path) -> int:
    """Re-check the reproducer(s) in a JSON file (a case, a failure, or this script's output)."""
    import test_soundness as soundness

    doc = json.loads(path.read_text())
    items = doc.get("failures", [doc]) if isinstance(doc, dict) else doc
    bad = 0
    for item in items:
        case = soundness.Case.from_dict(item.get("reproducer", item.get("case", item)))
        out = soundness.check_case_recording_warnings(case, soundness.SOAK, seed=0)
        bad += out.unsound
        print(json.dumps({k: v for k, v in out.summary().items() if k != "case"}))
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--replay", type=Path, help="re-check reproducers from a JSON file")
    args = parser.parse_args(argv)
    _setup()
    if args.replay is not None:
        return replay(args.replay)
    if args.cases < 0 or args.workers < 1:
        parser.error("--cases must be >= 0 and --workers >= 1")
    import test_soundness as soundness

    start = time.perf_counter()
    jobs = [(args.seed, i) for i in range(args.cases)]
    progress = sys.stderr.isatty()
    rows: list[dict[str, Any]] = []
    if args.workers == 1:
        results = map(_run_one, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn").Pool(args.workers, initializer=_setup)
        results = pool.imap(_run_one, jobs, chunksize=4)
    try:
        for row in results:
            rows.append(row)
            if progress and len(rows) % 50 == 0:
                bad = sum(bool(r["violations"]) for r in rows)
                print(f"\r{len(rows)}/{args.cases} cases, {bad} unsound, "
                      f"{time.perf_counter() - start:.0f} s", end="", file=sys.stderr)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    if progress:
        print(file=sys.stderr)
    doc = summarize(rows, args.seed, args.workers, time.perf_counter() - start,
                    dataclasses.asdict(soundness.SOAK))
    print(json.dumps(doc, indent=1))
    return 1 if doc["unsound"] else 0


if __name__ == "__main__":
    sys.exit(main())
