"""Figure of an ensemble sweep: per activation, the distribution of final losses, the solved
fraction with its 95% Wilson interval, and the dead-unit fraction at the start and the end.

Draws a ``SweepResult`` as it is (nothing is recomputed here). PNG, SVG or PDF by suffix, written
atomically from a matplotlib Figure (no pyplot state); matplotlib is imported only here.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from actlab.figures.common import figure_format, save_figure
from actlab.fileio import writable_target

if TYPE_CHECKING:
    from actlab.ensemble import SweepResult

LN2 = math.log(2.0)  # the loss of a net that outputs p = 1/2 everywhere


def check_sweep_figure_path(path: str | os.PathLike[str]) -> None:
    """Suffix and folder checked before any training is done."""
    figure_format(path)
    writable_target(path)


def plot_sweep(result: SweepResult, path: str | os.PathLike[str]) -> Path:
    """Three panels: final-loss box plots (log scale), solved fraction, dead-unit fraction."""
    from matplotlib.figure import Figure

    check_sweep_figure_path(path)
    rows = [r.to_dict() for r in result.rows]
    names = [r["act"] for r in rows]
    positions = np.arange(len(rows))
    width = max(7.5, 1.1 * len(rows) + 3.0)
    fig = Figure(figsize=(width, 8.2), layout="constrained")
    loss_ax, solved_ax, dead_ax = fig.subplots(3, 1, sharex=True)

    losses = []
    for r in result.rows:
        values = r.outcomes.final_loss[np.isfinite(r.outcomes.final_loss)]
        losses.append(np.maximum(values, 1e-12) if values.size else np.array([np.nan]))
    loss_ax.boxplot(losses, positions=positions, widths=0.6, whis=(5, 95), showfliers=False)
    for x, values in zip(positions, losses, strict=True):
        jitter = np.random.default_rng(0).uniform(-0.22, 0.22, size=min(values.size, 400))
        loss_ax.plot(x + jitter, values[:jitter.size], ".", ms=2, alpha=0.25, color="#1f77b4")
    loss_ax.axhline(LN2, color="grey", ls=":", lw=1, label="ln 2 (p = 1/2 everywhere)")
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("final mean BCE")
    loss_ax.set_title("final loss per net (box: quartiles, whiskers 5-95%; dots: first 400 nets)")
    loss_ax.legend(fontsize=8, loc="lower left")

    solved = np.array([r["solved_fraction"] for r in rows])
    ci = np.array([r["solved_fraction_ci95"] for r in rows]).reshape(-1, 2)
    solved_ax.bar(positions, solved, width=0.6, color="#2ca02c", alpha=0.8)
    solved_ax.errorbar(positions, solved, yerr=[solved - ci[:, 0], ci[:, 1] - solved],
                       fmt="none", ecolor="black", capsize=4, lw=1)
    for x, value, top in zip(positions, solved, ci[:, 1], strict=True):
        solved_ax.annotate(f"{value:.3f}", (x, top), textcoords="offset points",
                           xytext=(0, 4), ha="center", fontsize=8)
    solved_ax.set_ylabel("solved fraction")
    solved_ax.set_ylim(0, min(1.1, max(0.1, 1.3 * float(ci[:, 1].max()))))
    solved_ax.set_title("nets classifying all four samples correctly (95% Wilson interval)")

    start = [r["dead_unit_fraction_initial"] for r in rows]
    end = [r["dead_unit_fraction"] for r in rows]
    dead_ax.bar(positions - 0.16, start, width=0.32, color="#bbbbbb", label="at the start")
    dead_ax.bar(positions + 0.16, end, width=0.32, color="#d62728", label="at the end")
    dead_ax.set_ylabel("dead hidden units")
    dead_ax.set_ylim(0, max(0.05, 1.2 * max(start + end)))
    dead_ax.set_title("hidden units with f'(a) = 0 on every sample")
    dead_ax.legend(fontsize=8)
    dead_ax.set_xticks(positions, names, rotation=20, ha="right")

    fig.suptitle(f"{result.task}: {result.nets} nets per activation, hidden "
                 f"{list(result.hidden)}, seed {result.seed}\n{result.epochs} epochs, lr "
                 f"{result.lr:g}, "
                 f"{'per-sample SGD in order' if result.mode == 'seed' else 'full batch'}",
                 fontsize=11)
    return save_figure(fig, path)
