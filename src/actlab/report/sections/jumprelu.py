"""Section 5: ReLU replaced by JumpReLU in the trained network: the sweep over q, the figure,
the chosen q and the exact thresholds where the distances change."""

from __future__ import annotations

from actlab.jumprelu import SweepResult
from actlab.report.compute import ReportResults
from actlab.report.doc import Block, Code, Figure, Para, Section, Table, inl
from actlab.report.sections.common import cells, fixed, point


def _sweep_table(sweep: SweepResult, best: float) -> Table:
    rows = []
    for r in sweep.rows:
        mark = " (chosen)" if r.q == best else ""
        rows.append(cells(fixed(r.q) + mark, fixed(r.accuracy, 2),
                          *(fixed(d) for d in r.distances), fixed(r.mean_distance),
                          "yes" if r.certified else "no"))
    heads = [f"d{point(x, 2)}" for x in sweep.inputs]
    return Table(cells("q", "accuracy", *heads, "mean distance", "certified"), tuple(rows),
                 caption=f"Exact {sweep.norm} OAE distance of each sample (4 decimals) for each "
                 "threshold q; '-' where no input of another class exists.",
                 numeric=(True,) * (3 + len(heads)) + (False,), small=True)


def _threshold_table(sweep: SweepResult) -> Table:
    rows = tuple(cells(point(t.x, 2), fixed(t.distance_at_zero), fixed(t.q_star, 6),
                       t.direction, t.cause) for t in sweep.thresholds)
    return Table(cells("sample", "distance at q = 0", "q*", "then", "why"), rows,
                 caption="Exact thresholds: each sample's distance stays at its q = 0 value for "
                 "q in [0, q*] and changes right after (computed from the network's "
                 "pre-activations, not read off the grid).",
                 numeric=(False, True, True, False, False), small=True, stack=True)


def build(results: ReportResults, figures: dict[str, str]) -> Section:
    sweep = results.jumprelu
    grid = ("the default grid (0 to beyond the largest pre-activation, plus every exact "
            "threshold)" if results.config.q is None else "the configured grid")
    blocks: list[Block] = [
        Para(inl("Every ReLU of the trained network (section 3) is replaced by JumpReLU, ",
                 Code("f(x) = x if x >= q else 0"), f", for each q of {grid}; the distances "
                 "are exact and certified, as in section 4.")),
        Figure(figures["jumprelu"], "Each sample's exact distance against q (dotted: the "
               "exact thresholds; red: the chosen q) and the accuracy against q.",
               "JumpReLU sweep: distances and accuracy against q", width=1.0),
        Para(inl(f"Chosen q = {fixed(sweep.best_q, 6)}. Rule: {sweep.rule}.")),
    ]
    if "jumprelu-oae" in figures:
        blocks.append(Figure(
            figures["jumprelu-oae"], "Decision regions of the retrofitted network, each sample "
            "with an arrow to its OAE (x) and the ball of radius = distance: at q = 0 (the "
            "trained ReLU network) and at the chosen q.",
            "Optimal adversarial examples of the JumpReLU network at q = 0 and at the chosen q",
            width=0.9))
    blocks += [_threshold_table(sweep), _sweep_table(sweep, sweep.best_q)]
    blocks += [Para(inl(note), note=True) for note in sweep.notes]
    return Section("JumpReLU as a retrofit", "jumprelu", tuple(blocks))
