"""Figures of the JumpReLU retrofit sweep: distances and accuracy against q, and the decision
regions at the chosen q beside q = 0 (drawn from the sweep's own results)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from actlab.figures.common import save_figure
from actlab.figures.oae import draw_oae
from actlab.jumprelu import SweepResult, retrofit
from actlab.network import Network


def _common_extent(results, margin: float = 0.6) -> tuple[float, float, float, float]:
    """One plotting box around every sample and closest point of both panels."""
    pts = np.array([r.x for r in results] + [r.point for r in results if r.point is not None],
                   dtype=float)
    lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def plot_sweep(path: str | Path, sweep: SweepResult, network: Network) -> Path:
    """Distance per sample vs q (thresholds marked), accuracy vs q, and, for 2-D inputs, the
    OAE pictures at q = 0 and at the chosen q."""
    two_d = len(sweep.inputs[0]) == 2
    fig, axes = plt.subplots(1, 4 if two_d else 2, figsize=(20 if two_d else 10, 4.6),
                             squeeze=False)
    ax_d, ax_a = axes[0][0], axes[0][1]
    qs = [r.q for r in sweep.rows]
    for i, x in enumerate(sweep.inputs):
        ds = [np.nan if r.distances[i] is None else r.distances[i] for r in sweep.rows]
        line, = ax_d.plot(qs, ds, marker="o", markersize=3,
                          label=f"x = ({', '.join(f'{v:g}' for v in x)})")
        t = sweep.thresholds[i]
        if t.q_star is not None:
            ax_d.axvline(t.q_star, color=line.get_color(), linestyle=":", linewidth=1)
    means = [np.nan if r.mean_distance is None else r.mean_distance for r in sweep.rows]
    ax_d.plot(qs, means, color="black", linewidth=2, label="mean")
    ax_d.axvline(sweep.best_q, color="red", linewidth=1, label=f"chosen q = {sweep.best_q:g}")
    ax_d.set_xlabel("q")
    ax_d.set_ylabel(f"exact OAE distance ({sweep.norm})")
    ax_d.set_title("distance per sample (dotted: exact thresholds)", fontsize=10)
    ax_d.legend(fontsize=7)
    accuracy = [np.nan if r.accuracy is None else r.accuracy for r in sweep.rows]
    ax_a.plot(qs, accuracy, marker="o", markersize=3)
    ax_a.set_ylim(-0.05, 1.05)
    ax_a.set_xlabel("q")
    ax_a.set_ylabel("accuracy")
    ax_a.set_title("accuracy on the data", fontsize=10)
    if two_d:
        zero, best = sweep.rows[0], sweep.row(sweep.best_q)
        chosen = f"chosen q = {best.q:.6g}" + (" (no q beats q = 0)" if best.q == 0 else "")
        panels = [(retrofit(network, zero.q), zero.results, "q = 0"),
                  (retrofit(network, best.q), best.results, chosen)]
        extent = _common_extent([*zero.results, *best.results])  # same axes: comparable
        for ax, (net, results, title) in zip(axes[0][2:], panels, strict=True):
            draw_oae(ax, net, results, f"{network.name}, {title}", extent=extent)
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)
