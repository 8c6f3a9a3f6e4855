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


def draw_curves(ax_d, ax_a, sweep: SweepResult) -> None:
    """Each sample's exact distance against q (its exact threshold dotted), the mean, and the
    accuracy against q; the chosen q in red on both."""
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
    ax_d.axvline(sweep.best_q, color="red", linewidth=1.2,
                 label=f"chosen q = {sweep.best_q:.4g}")
    ax_d.set_xlabel("q")
    ax_d.set_ylabel(f"exact OAE distance ({sweep.norm})")
    ax_d.set_title("distance per sample (dotted: exact thresholds)", fontsize=10)
    ax_d.legend(fontsize=8)
    accuracy = [np.nan if r.accuracy is None else r.accuracy for r in sweep.rows]
    ax_a.plot(qs, accuracy, marker="o", markersize=3)
    ax_a.axvline(sweep.best_q, color="red", linewidth=1.2)
    ax_a.set_ylim(-0.05, 1.05)
    ax_a.set_xlabel("q")
    ax_a.set_ylabel("accuracy")
    ax_a.set_title("accuracy on the data (red: the chosen q)", fontsize=10)


def draw_regions(ax_zero, ax_best, sweep: SweepResult, network: Network) -> None:
    """The retrofitted network's decision regions with the sweep's own OAEs (nothing is
    recomputed) at q = 0 and at the chosen q, on the same axes (2-D inputs)."""
    zero, best = sweep.rows[0], sweep.row(sweep.best_q)
    chosen = f"chosen q = {best.q:.6g}" + (" (no q beats q = 0)" if best.q == 0 else "")
    panels = [(retrofit(network, zero.q), zero.results, "q = 0"),
              (retrofit(network, best.q), best.results, chosen)]
    extent = _common_extent([*zero.results, *best.results])  # same axes: comparable
    for ax, (net, results, title) in zip((ax_zero, ax_best), panels, strict=True):
        draw_oae(ax, net, results, f"{network.name}, {title}", extent=extent)


def _save(fig, path: str | Path) -> Path:
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_curves(path: str | Path, sweep: SweepResult) -> Path:
    """``draw_curves`` in a figure of two panels."""
    fig, (ax_d, ax_a) = plt.subplots(1, 2, figsize=(10, 4.2))
    draw_curves(ax_d, ax_a, sweep)
    return _save(fig, path)


def plot_regions(path: str | Path, sweep: SweepResult, network: Network) -> Path:
    """``draw_regions`` in a figure of two panels (2-D inputs)."""
    fig, (ax_zero, ax_best) = plt.subplots(1, 2, figsize=(10, 4.6))
    draw_regions(ax_zero, ax_best, sweep, network)
    return _save(fig, path)


def plot_sweep(path: str | Path, sweep: SweepResult, network: Network) -> Path:
    """The curves and, for 2-D inputs, the decision regions below them (a 2 x 2 grid)."""
    if len(sweep.inputs[0]) != 2:
        return plot_curves(path, sweep)
    fig, axes = plt.subplots(2, 2, figsize=(11, 9.4))
    draw_curves(axes[0][0], axes[0][1], sweep)
    draw_regions(axes[1][0], axes[1][1], sweep, network)
    return _save(fig, path)
