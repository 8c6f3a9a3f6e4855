"""Figure of gradient regions: f and f' on a range, the regions shaded, breakpoints marked.

Draws ``RegionResult`` objects as they are (the regions are never recomputed here); only the
curves f and f' are evaluated, for drawing. One panel per activation; PNG, SVG or PDF by the file
suffix; written atomically (``actlab.figures.common.save_figure``) from a matplotlib Figure on the
Agg canvas (no pyplot state). matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from actlab.errors import ActlabError
from actlab.fileio import writable_target
from actlab.regions import REGIONS, Interval, RegionResult, format_boundary

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn (it is slow to import)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLORS = {"fast": "#2ca02c", "active": "#1f77b4", "slow": "#ff7f0e", "inactive": "#d62728"}
DEFAULT_RANGE = (-5.0, 5.0)
SAMPLES = 2001
MAX_RANGE = 1e300
LABEL_MIN_WIDTH = 0.07  # a band narrower than this share of the range is named by the legend


def parse_range(text: str) -> tuple[float, float]:
    """``"LO,HI"`` -> (lo, hi): two numbers with lo < hi within +-MAX_RANGE, else ActlabError."""
    parts = str(text).split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ActlabError(f"range must be LO,HI (two numbers), got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ActlabError(f"range must be finite with LO < HI, got {text!r}")
    if max(abs(lo), abs(hi)) > MAX_RANGE:  # matplotlib's transforms overflow near 1e308
        raise ActlabError(f"range must lie within +-{MAX_RANGE:g}, got {text!r}")
    return lo, hi


def check_figure_path(path: str | os.PathLike[str]) -> str:
    """Validate suffix (.png, .svg, .pdf) and folder before any work is done; return the
    format."""
    from actlab.figures.common import figure_format

    fmt = figure_format(path)
    writable_target(path)
    return fmt


def _region_label(region: str, result: RegionResult) -> str:
    th = result.thresholds
    fast, slow = format_boundary(th.fast), format_boundary(th.slow)
    return {"fast": f"fast: |f'| > {fast}", "active": f"active: {slow} <= |f'| <= {fast}",
            "slow": f"slow: 0 < |f'| < {slow}", "inactive": "inactive: f' = 0"}[region]


def _shade(ax: Axes, interval: Interval, lo: float, hi: float) -> bool:
    """Shade the part of the interval inside [lo, hi] and name its region at the top of the
    panel when the band is wide enough; an isolated point as a vertical line, named beside it."""
    from matplotlib.transforms import blended_transform_factory

    a, b = max(interval.lo, lo), min(interval.hi, hi)
    if a > b or (a == b and not interval.is_point):
        return False
    color = COLORS[interval.region]
    top = blended_transform_factory(ax.transData, ax.transAxes)  # x in data, y in the panel
    if interval.is_point:
        ax.axvline(a, color=color, linewidth=1.0, alpha=0.9)
        ax.plot([a], [0.0], marker="|", color=color, ms=10, mew=2)
        ax.text(a, 0.03, f" {interval.region} {format_boundary(a, 4)}", transform=top,
                rotation=90, fontsize=6, color=color, ha="left", va="bottom")
    else:
        ax.axvspan(a, b, color=color, alpha=0.16, linewidth=0)
        if b - a >= LABEL_MIN_WIDTH * (hi - lo):
            ax.text(0.5 * (a + b), 0.985, interval.region, transform=top, fontsize=7,
                    color=color, ha="center", va="top", fontweight="bold")
    return True


def _segments(lo: float, hi: float, cuts: Sequence[float]) -> list[np.ndarray]:
    """Sample points of [lo, hi] split at the cuts (the cuts themselves left out)."""
    inner = sorted(c for c in cuts if lo < c < hi)
    edges = [lo, *inner, hi]
    per = max(50, SAMPLES // len(edges))
    out = []
    for a, b in itertools.pairwise(edges):
        xs = np.linspace(a, b, per)
        keep = np.ones_like(xs, dtype=bool)
        keep[0] = a not in inner
        keep[-1] = b not in inner
        out.append(xs[keep])
    return out


def _draw_curves(ax: Axes, result: RegionResult, lo: float, hi: float) -> None:
    """f (solid) and f' (dashed), broken at breakpoints; dots at breakpoints: filled for the
    value used, open for one-sided limits."""
    act = result.activation
    cuts = [b.x for b in result.breakpoints]
    with np.errstate(all="ignore"):
        for i, xs in enumerate(_segments(lo, hi, cuts)):
            ax.plot(xs, act.value(xs), color="black", linewidth=1.4,
                    label="f" if i == 0 else None)
            ax.plot(xs, act.derivative(xs), color="purple", linewidth=1.4, linestyle="--",
                    label="f'" if i == 0 else None)
    for b in result.breakpoints:
        if not lo <= b.x <= hi:
            continue
        ax.axvline(b.x, color="gray", linestyle=":", linewidth=0.8)
        for y in {b.left_derivative, b.right_derivative} - {b.derivative_used}:
            ax.plot([b.x], [y], "o", mfc="white", mec="purple", ms=5)
        ax.plot([b.x], [b.derivative_used], "o", color="purple", ms=5)
        if b.jump:
            f_at = float(act.value(b.x))
            for y in {b.left_value, b.right_value} - {f_at}:
                ax.plot([b.x], [y], "o", mfc="white", mec="black", ms=5)
            ax.plot([b.x], [f_at], "o", color="black", ms=5)


def _draw_panel(ax: Axes, result: RegionResult, lo: float, hi: float) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    shown = {i.region for i in result.intervals if _shade(ax, i, lo, hi)}
    _draw_curves(ax, result, lo, hi)
    ax.axhline(0.0, color="gray", linewidth=0.5)
    ax.set_xlim(lo, hi)
    ax.set_title(result.activation.spec, fontsize=10)
    ax.set_xlabel("x")
    handles = [Line2D([], [], color="black", label="f"),
               Line2D([], [], color="purple", linestyle="--", label="f'")]
    handles += [Patch(color=COLORS[r], alpha=0.35, label=_region_label(r, result))
                for r in REGIONS if r in shown]
    if result.breakpoints:
        handles.append(Line2D([], [], color="gray", linestyle=":", marker="o", mfc="purple",
                              mec="purple", label="breakpoint (dot: f' used)"))
    ax.legend(handles=handles, fontsize=6.5, loc="best", framealpha=0.85)


def regions_figure(results: Sequence[RegionResult],
                   x_range: tuple[float, float] = DEFAULT_RANGE) -> Figure:
    """A matplotlib Figure (Agg canvas) with one panel per result."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not results:
        raise ActlabError("nothing to plot: no activations")
    lo, hi = x_range
    ncols = min(3, len(results))
    nrows = math.ceil(len(results) / ncols)
    fig = Figure(figsize=(4.6 * ncols, 3.6 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, result in zip(axes, results, strict=False):
        _draw_panel(ax, result, lo, hi)
    for ax in axes[len(results):]:
        ax.set_visible(False)
    return fig


def plot_regions(results: Sequence[RegionResult], path: str | os.PathLike[str],
                 x_range: tuple[float, float] = DEFAULT_RANGE) -> Path:
    """Draw the results and write PNG/SVG/PDF (by suffix) to ``path`` atomically."""
    from actlab.figures.common import save_figure

    check_figure_path(path)
    return save_figure(regions_figure(results, x_range), path)
