"""Loss curves of a training run, with the seed's own curve labelled as such.

The seed's code plots ``losses``, the LAST sample's loss of each epoch; that curve is drawn and
labelled "what the seed's code plots" next to the mean over the samples. Written atomically;
the format follows the suffix (.png, .svg, .pdf).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from actlab.figures.common import figure_format, save_figure
from actlab.fileio import writable_target

if TYPE_CHECKING:
    from actlab.train import SeedRun, TrainResult



def plot_loss_curves(curves: Mapping[str, Sequence[float]], path: str | os.PathLike[str],
                     title: str = "Training loss", log_scale: bool = False) -> Path:
    """One line per labelled curve against the epoch (1-based); written atomically."""
    from matplotlib.figure import Figure

    figure_format(path)
    writable_target(path)
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.subplots()
    styles = ["-", "--", ":", "-."]
    for i, (label, values) in enumerate(curves.items()):
        y = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(y) + 1), y, styles[i % len(styles)], label=label, linewidth=1.6)
    ax.set_xlabel("epoch")
    ax.set_ylabel("binary cross-entropy")
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_seed_run(run: SeedRun, path: str | os.PathLike[str]) -> Path:
    """The seed's loop: the mean per-sample loss of each epoch and the seed's own curve."""
    n = run.step_losses.shape[1]
    curves = {
        f"mean of the {n} per-sample losses in each epoch": run.epoch_loss_mean,
        "last sample's loss in each epoch (what the seed's code plots)": run.epoch_loss_last,
        "loss of all samples at the end of each epoch": run.epoch_loss_end,
    }
    return plot_loss_curves(curves, path, title=f"XOR, seed's protocol: per-sample SGD, "
                            f"lr {run.lr:g}, {run.epochs} epochs")


def plot_train_result(result: TrainResult, path: str | os.PathLike[str]) -> Path:
    """A general run's end-of-epoch loss."""
    return plot_loss_curves({"loss of all samples at the end of each epoch": result.epoch_loss},
                            path, title=f"{result.data}: hidden {list(result.hidden)}, "
                            f"{result.act}, lr {result.lr:g}, batch {result.batch}")
