"""Figures of optimal adversarial examples for networks with 2-D inputs.

Decision regions (shaded by class), the partition into linear regions (each hidden unit's
piece boundaries, where its pre-activation crosses a breakpoint), every sample with an arrow to
its OAE point, and the norm ball of radius = distance around the sample, touching the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Circle, Polygon, Rectangle

from actlab.errors import ActlabError
from actlab.figures.common import save_figure
from actlab.network import Network
from actlab.oae.result import OAEResult

CLASS_COLOURS = ("#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fc9272", "#d9d9d9")
SAMPLE_COLOURS = ("#08306b", "#7f2704", "#00441b", "#3f007d", "#67000d", "#252525")  # darker


def _plot_range(results: Sequence[OAEResult], margin: float = 0.6) -> tuple[float, ...]:
    """The samples, their OAE points and whole balls (each within the square of side 2 r
    around its sample), plus a margin."""
    pts = [r.x for r in results] + [r.point for r in results if r.point is not None]
    for r in results:
        if r.distance is not None and np.isfinite(r.distance):
            pts += [np.subtract(r.x, r.distance), np.add(r.x, r.distance)]
    arr = np.array(pts, dtype=float)
    lo, hi = arr.min(axis=0) - margin, arr.max(axis=0) + margin
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _pre_activations(network: Network, grid: np.ndarray) -> list[np.ndarray]:
    """Every hidden unit's pre-activation on the grid points (n, 2) -> list of (n,) arrays."""
    out, h = [], grid
    for layer in network.hidden_layers:
        pre = h @ layer.weight.T + layer.bias
        out.extend(pre.T)
        h = layer.activation.value(pre)
    return out


def _ball(ax: Axes, centre: Sequence[float], radius: float, norm: str, colour: str) -> None:
    cx, cy = centre
    style = {"fill": False, "edgecolor": colour, "linewidth": 1.2, "linestyle": "--"}
    if norm == "l2":
        ax.add_patch(Circle((cx, cy), radius, **style))
        return
    if norm == "linf":
        corners = [(cx - radius, cy - radius), (cx + radius, cy - radius),
                   (cx + radius, cy + radius), (cx - radius, cy + radius)]
    else:  # l1: a diamond
        corners = [(cx - radius, cy), (cx, cy - radius), (cx + radius, cy), (cx, cy + radius)]
    ax.add_patch(Polygon(corners, closed=True, **style))


def draw_oae(ax: Axes, network: Network, results: Sequence[OAEResult], title: str = "",
             resolution: int = 400, extent: tuple[float, float, float, float] | None = None,
             box: tuple[float, float] | None = None) -> None:
    """Draw decision regions, linear-region boundaries, samples, arrows and balls on ``ax``;
    with ``box`` (the inputs' constraint) its outline too: a ball may cross the boundary
    outside it."""
    if network.input_dim != 2:
        raise ActlabError("OAE figures need 2-D inputs")
    x_lo, x_hi, y_lo, y_hi = extent or _plot_range(results)
    xs, ys = np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    classes = network.classify(grid).reshape(gx.shape)
    n_classes = network.num_classes
    cmap = matplotlib.colors.ListedColormap(CLASS_COLOURS[:n_classes])
    ax.imshow(classes, origin="lower", extent=(x_lo, x_hi, y_lo, y_hi), cmap=cmap,
              vmin=-0.5, vmax=n_classes - 0.5, aspect="auto", interpolation="nearest")
    units = _pre_activations(network, grid)
    acts = [layer.activation for layer in network.hidden_layers for _ in layer.bias]
    for pre, act in zip(units, acts, strict=True):
        levels = sorted({b.x for b in act.breakpoints()})
        values = pre.reshape(gx.shape)
        if levels and values.min() < max(levels) and values.max() > min(levels):
            ax.contour(gx, gy, values, levels=levels, colors="#4d4d4d", linewidths=0.8,
                       linestyles="-", alpha=0.7)
    for r in results:
        colour = SAMPLE_COLOURS[r.cls % len(SAMPLE_COLOURS)]
        ax.plot(*r.x, "o", color=colour, markersize=7, zorder=5)
        if r.point is None or r.distance is None:
            continue
        dx, dy = np.subtract(r.point, r.x)
        if r.distance > 0:
            ax.annotate("", xy=r.point, xytext=r.x, zorder=6,
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5})
            _ball(ax, r.x, r.distance, r.norm, colour)
        ax.plot(*r.point, "x", color="black", markersize=7, zorder=7)
        ax.annotate(f"{r.distance:.4f}", xy=(r.x[0] + dx / 2, r.x[1] + dy / 2), fontsize=8,
                    xytext=(4, 4), textcoords="offset points", zorder=8)
    if box is not None:
        lo, hi = box
        ax.add_patch(Rectangle((lo, lo), hi - lo, hi - lo, fill=False, edgecolor="black",
                               linewidth=1.0, linestyle="-.", zorder=4, label="input box"))
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or f"{network.name}: optimal adversarial examples ({results[0].norm})",
                 fontsize=10)


def plot_oae(path: str | Path, panels: Sequence[tuple[Network, Sequence[OAEResult], str]],
             extent: tuple[float, float, float, float] | None = None,
             box: tuple[float, float] | None = None) -> Path:
    """One panel per (network, results, title); written atomically (PNG, SVG or PDF)."""
    if not panels:
        raise ActlabError("nothing to plot")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.0), squeeze=False)
    try:
        for ax, (network, results, title) in zip(axes[0], panels, strict=True):
            draw_oae(ax, network, results, title, extent=extent, box=box)
        fig.tight_layout()
        return save_figure(fig, path)
    finally:
        plt.close(fig)
