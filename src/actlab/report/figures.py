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
    panels each, so that they read at the page's width)."""
    from actlab.figures.jumprelu import plot_curves, plot_regions

    paths = {"jumprelu": f"{FOLDER}/jumprelu.svg"}
    plot_curves(folder / paths["jumprelu"], results.jumprelu)
    if len(results.jumprelu.inputs[0]) == 2:
        paths["jumprelu-oae"] = f"{FOLDER}/jumprelu-oae.svg"
        plot_regions(folder / paths["jumprelu-oae"], results.jumprelu, results.trained)
    return paths


