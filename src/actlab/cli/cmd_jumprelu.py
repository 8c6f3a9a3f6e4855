"""``actlab jumprelu``: the JumpReLU retrofit sweep with exact, certified OAE distances."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json, stdout
from actlab.errors import ActlabError


def _d(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


@app.command("jumprelu")
def jumprelu_command(
    model: Annotated[str, typer.Option(help="xor-trained (default), xor-initial or a model "
                                            "file.")] = "xor-trained",
    data: Annotated[str | None, typer.Option(help="Data file {\"x\", \"y\"}; default: the "
                                                  "model's own samples.")] = None,
    q: Annotated[str | None, typer.Option(help="q values: 0,0.1,0.5 or START:STOP:STEP; "
                                               "default: a grid past the largest "
                                               "pre-activation.")] = None,
    norm: Annotated[str, typer.Option(help="l2, linf or l1.")] = "l2",
    box: Annotated[str | None, typer.Option(help="Constrain inputs to [LO, HI], e.g. 0,1.")
                   ] = None,
    plot: Annotated[str | None, typer.Option(help="Figure file (.png/.svg/.pdf).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Replace every hidden ReLU by JumpReLU(q): accuracy and exact OAE distance for each q."""
    from actlab import models
    from actlab.cli.cmd_oae import load_inputs
    from actlab.io import load_data, load_model
    from actlab.jumprelu import jumprelu_sweep, parse_q_list
    from actlab.oae.api import parse_box
    from actlab.oae.polyhedron import NORMS

    if norm not in NORMS:
        raise ActlabError(f"--norm must be one of {', '.join(NORMS)}, not {norm!r}")
    qs = None if q is None else parse_q_list(q)
    bounds = parse_box(box)
    if plot is not None:
        from actlab.figures.common import figure_format
        from actlab.fileio import writable_target

        figure_format(plot)
        writable_target(plot)
    network = load_model(model, activations="relu")  # a plain state dict: the ReLU net retrofitted
    inputs, _ = load_inputs(model, data)
    labels = (load_data(data).y if data is not None else models.builtin_data(model).y)
    if inputs.shape[1] != network.input_dim:
        raise ActlabError(f"the data has {inputs.shape[1]} features; the model takes "
                          f"{network.input_dim}")
    network.check_finite(inputs)
    sweep = jumprelu_sweep(network, inputs, labels, qs, norm, bounds)
    if plot is not None:
        from actlab.figures.jumprelu import plot_sweep

        plot_sweep(plot, sweep, network)
    if json_out:
        emit_json(sweep.to_dict())
        return
    table = Table(title=f"JumpReLU retrofit of {network.name}: exact OAE distance ({norm})")
    table.add_column("q", justify="right")
    table.add_column("accuracy", justify="right")
    for x in sweep.inputs:
        table.add_column("(" + ", ".join(f"{v:g}" for v in x) + ")", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("certified", justify="right")
    for row in sweep.rows:
        table.add_row(f"{row.q:g}", _d(row.accuracy), *(_d(d) for d in row.distances),
                      _d(row.mean_distance), "yes" if row.certified else "no")
    stdout.print(table)
    for t in sweep.thresholds:
        where = "never on the range" if t.q_star is None else f"q* = {t.q_star:.9g} ({t.direction})"
        stdout.print(f"sample {t.index} {tuple(t.x)}: distance {_d(t.distance_at_zero)} stays "
                     f"until {where}: {t.cause}", highlight=False)
    stdout.print(f"chosen q = {sweep.best_q:g} ({sweep.rule})", highlight=False)
