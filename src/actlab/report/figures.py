"""The report's figures, drawn from the results by actlab's figure functions (SVG files).

Keys: ``regions-<i>`` (one per activation), ``training``, ``oae-<norm>`` (initial and trained
side by side), ``jumprelu`` (distances and accuracy against q) and ``jumprelu-oae`` (decision
regions at q = 0 and at the chosen q). Paths are relative to the report folder
(``figures/<key>.svg``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import matplotlib

from actlab.report.compute import ReportResults
from actlab.report.config import ReportConfig

FOLDER = "figures"
Stage = Callable[[str], AbstractContextManager[Any]]


@contextlib.contextmanager
def _deterministic_svg() -> Iterator[None]:
    """Same figure -> same SVG bytes (fixed id salt, no date)."""
    with matplotlib.rc_context({"svg.hashsalt": "actlab-report", "svg.fonttype": "path"}):
        yield


def figure_stage_names(config: ReportConfig) -> list[str]:
    """The figure steps, for the progress bar."""
    names = ["figures: activation regions", "figures: training"]
    names += [f"figures: OAE ({norm})" for norm in config.norms]
    return [*names, "figures: JumpReLU"]


def draw_figures(results: ReportResults, folder: Path, stage: Stage) -> dict[str, str]:
    """Write every figure into ``folder/figures``; return key -> relative path."""
    from actlab.figures.common import save_figure
    from actlab.figures.oae import plot_oae
    from actlab.figures.regions import regions_figure
    from actlab.figures.training import plot_seed_run

    target = folder / FOLDER
    target.mkdir(exist_ok=True)
    paths: dict[str, str] = {}

    def rel(key: str) -> Path:
        paths[key] = f"{FOLDER}/{key}.svg"
        return folder / paths[key]

    with _deterministic_svg():
        with stage("figures: activation regions"):
            for i, result in enumerate(results.regions.results, start=1):
                save_figure(regions_figure([result], results.config.plot_range),
                            rel(f"regions-{i}"))
        with stage("figures: training"):
            plot_seed_run(results.run, rel("training"))
        for norm in results.config.norms:
            with stage(f"figures: OAE ({norm})"):
                panels = [(r.network, r.results, f"{r.label} network ({norm})")
                          for r in results.oae_runs(norm)]
                plot_oae(rel(f"oae-{norm}"), panels)
        with stage("figures: JumpReLU"):
            paths.update(_jumprelu_figures(results, folder))
    return paths


def _jumprelu_figures(results: ReportResults, folder: Path) -> dict[str, str]:
    """The sweep's two figures: distances and accuracy against q (``jumprelu``), and the
    decision regions at q = 0 and at the chosen q (``jumprelu-oae``, 2-D inputs only). Two
    panels each, so that they read at the page's width (``actlab.figures.jumprelu.plot_sweep``
    puts all four in one row)."""
    paths = {"jumprelu": f"{FOLDER}/jumprelu.svg"}
    plot_jumprelu_curves(folder / paths["jumprelu"], results.jumprelu)
    if len(results.jumprelu.inputs[0]) == 2:
        paths["jumprelu-oae"] = f"{FOLDER}/jumprelu-oae.svg"
        plot_jumprelu_oae(folder / paths["jumprelu-oae"], results.jumprelu, results.trained)
    return paths


def plot_jumprelu_curves(path: Path, sweep: Any) -> Path:
    """Each sample's exact distance (thresholds dotted) and the accuracy against q."""
    import matplotlib.pyplot as plt
    import numpy as np

    from actlab.figures.common import save_figure

    fig, (ax_d, ax_a) = plt.subplots(1, 2, figsize=(10, 4.2))
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
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_jumprelu_oae(path: Path, sweep: Any, network: Any) -> Path:
    """The retrofitted network's decision regions with the sweep's own OAEs (nothing is
    recomputed) at q = 0 and at the chosen q."""
    from actlab.figures.oae import plot_oae
    from actlab.jumprelu import retrofit

    zero, best = sweep.rows[0], sweep.row(sweep.best_q)
    return plot_oae(path, [(retrofit(network, r.q), r.results,
                            f"{network.name}, JumpReLU {title}")
                           for r, title in ((zero, f"q = {zero.q:.4g}"),
                                            (best, f"chosen q = {best.q:.4g}"))])
