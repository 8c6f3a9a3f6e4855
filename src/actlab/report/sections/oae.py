"""Section 4: exact optimal adversarial examples of the initial and trained networks, per norm:
figures, the certificates and the attacks' gaps."""

from __future__ import annotations

from actlab.report.compute import OAERun, ReportResults
from actlab.report.doc import Block, Figure, Heading, Para, Section, Table, inl
from actlab.report.sections.common import cells, fixed, point, sci

NORM_NAMES = {"l2": "L2", "linf": "L-infinity", "l1": "L1"}


def _exact_table(runs: list[OAERun], norm: str) -> Table:
    rows = []
    for run in runs:
        for r in run.results:
            gap = (None if r.distance is None or r.lower_bound is None
                   else max(0.0, r.distance - r.lower_bound))
            rows.append(cells(run.label, point(r.x), str(r.cls), fixed(r.distance),
                              point(r.point), "-" if r.witness_class is None
                              else str(r.witness_class), fixed(r.lower_bound, 6), sci(gap),
                              "yes" if r.certified else f"no ({r.status})"))
    return Table(cells("network", "x", "class", "distance", "closest point", "witness class",
                       "lower bound", "distance - bound", "certified"), tuple(rows),
                 caption=f"Exact OAE distances ({NORM_NAMES[norm]}), 4 decimals. The lower bound "
                 "is certified (duality and exhaustive search); the witness is an input that "
                 "really has the other class (checked by a forward pass).",
                 numeric=(False, False, True, True, False, True, True, True, False), small=True)


ROUNDING = 1e-9  # a gap this small is floating-point rounding: the attack found the optimum


def _gap(gap: float) -> str:
    """The attack's distance minus the exact one; rounding-level gaps (of either sign) as 0."""
    return "+0" if abs(gap) < ROUNDING else f"{gap:+.1e}"


def _attack_table(runs: list[OAERun], norm: str) -> Table:
    names = [a.attack for a in runs[0].attacks[0]] if runs and runs[0].attacks else []
    rows = []
    for run in runs:
        for i, (r, attacks) in enumerate(zip(run.results, run.attacks, strict=True)):
            row = [run.label, point(r.x), fixed(r.distance)]
            for a in attacks:
                gap = run.gap(i, a)
                row.append("failed" if gap is None else f"{fixed(a.distance)} ({_gap(gap)})")
            rows.append(cells(*row))
    return Table(cells("network", "x", "exact", *names), tuple(rows),
                 caption=f"Attacks ({NORM_NAMES[norm]}): the distance each found and, in "
                 "parentheses, its gap to the exact distance (+0: below 1e-9, the optimum up to "
                 "rounding). An attack gives only an upper bound.",
                 numeric=(False, False, True, *([True] * len(names))), small=True)


def build(results: ReportResults, figures: dict[str, str]) -> Section:
    box = results.config.box
    where = ("any input in the plane" if box is None
             else f"inputs in the box [{fixed(box[0])}, {fixed(box[1])}] per coordinate")
    blocks: list[Block] = [Para(inl(
        "The optimal adversarial example (OAE) of a sample is the closest input of another "
        f"class ({where}). Its distance is an infimum: the table gives the closest point of "
        "the closure of the other class's region, and a witness that really flips the class. "
        "Each distance is exact and comes with a certified lower bound. The initial network is "
        "the one of section 2, the trained one the result of section 3."))]
    for norm in results.config.norms:
        runs = results.oae_runs(norm)
        methods = sorted({r.method for run in runs for r in run.results})
        blocks += [
            Heading(2, f"{NORM_NAMES[norm]} norm", f"oae-{norm}"),
            Para(inl("Method: " + "; ".join(methods) + ".")),
            Figure(figures[f"oae-{norm}"], f"Decision regions (shaded by class), linear-region "
                   f"boundaries (grey), each sample with an arrow to its OAE (x) and the "
                   f"{NORM_NAMES[norm]} ball of radius = distance.",
                   f"Optimal adversarial examples, {NORM_NAMES[norm]} norm", width=1.0),
            _exact_table(runs, norm),
            _attack_table(runs, norm),
        ]
    return Section("Optimal adversarial examples", "oae", tuple(blocks))
