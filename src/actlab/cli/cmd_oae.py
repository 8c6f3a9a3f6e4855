"""``actlab oae``: exact, certified optimal adversarial examples (and the attacks' gaps)."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json, progress, stdout
from actlab.errors import ActlabError


def _fmt(value: float | None, digits: int = 6) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}g}"


def _vec(values: list[float] | None) -> str:
    return "-" if values is None else "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def load_inputs(model: str, data: str | None) -> tuple[np.ndarray, str]:
    """The inputs to analyse: --data FILE, or the samples a built-in model carries."""
    from actlab import models
    from actlab.io import load_data

    if data is not None:
        dataset = load_data(data)
        return dataset.x, dataset.name
    if models.is_builtin(model):
        return models.builtin_data(model).x, "xor"
    raise ActlabError("a model file carries no samples: pass --data FILE")


@app.command("oae")
def oae_command(
    model: Annotated[str, typer.Option(help="xor-initial (default), xor-trained or a model "
                                            "file (JSON, .pt, .onnx).")] = "xor-initial",
    data: Annotated[str | None, typer.Option(help="Data file {\"x\": [[...]], \"y\": [...]}; "
                                                  "default: the model's own samples.")] = None,
    act: Annotated[str | None, typer.Option(help="Replace every hidden activation, e.g. "
                                                 "jumprelu:q=0.3 (the retrofit).")] = None,
    norm: Annotated[str, typer.Option(help="l2, linf or l1.")] = "l2",
    box: Annotated[str | None, typer.Option(help="Constrain inputs to [LO, HI] per "
                                                 "feature, e.g. 0,1.")] = None,
    method: Annotated[str, typer.Option(help="auto, bnb (branch and bound over activation "
                                             "patterns) or milp (linf, l1).")] = "auto",
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", help="Seconds per input; then report the certified bracket.")] = None,
    attacks: Annotated[bool, typer.Option("--attacks", help="Also run FGSM, PGD, DeepFool and "
                                          "Carlini-Wagner and show their gap.")] = False,
    plot: Annotated[str | None, typer.Option(help="Figure (.png/.svg/.pdf) for 2-D inputs.")
                    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The exact closest input of another class for each sample, certified."""
    from actlab.io import load_model
    from actlab.oae.api import METHODS, oae, parse_box
    from actlab.oae.polyhedron import NORMS

    if norm not in NORMS:
        raise ActlabError(f"--norm must be one of {', '.join(NORMS)}, not {norm!r}")
    if method not in METHODS:
        raise ActlabError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise ActlabError("--time-limit must be a positive number of seconds")
    bounds = parse_box(box)
    network = load_model(model)
    if act is not None:
        network = network.with_hidden_activation(act)
    inputs, _ = load_inputs(model, data)
    if inputs.shape[1] != network.input_dim:
        raise ActlabError(f"the data has {inputs.shape[1]} features; the model takes "
                          f"{network.input_dim}")
    if plot is not None:
        from actlab.figures.common import figure_format
        from actlab.fileio import writable_target

        figure_format(plot)
        writable_target(plot)
        if network.input_dim != 2:
            raise ActlabError("--plot needs a network with 2-D inputs")
    results, attack_rows = [], []
    for x in progress(inputs, len(inputs), "exact OAE"):
        result = oae(network, x, norm, bounds, method, time_limit)
        results.append(result)
        attack_rows.append(_attack_gaps(network, x, norm, bounds, result) if attacks else None)
    if plot is not None:
        from actlab.figures.oae import plot_oae

        plot_oae(plot, [(network, results, f"{network.name}: OAE ({norm})")])
    if json_out:
        rows = []
        for result, gaps in zip(results, attack_rows, strict=True):
            row = result.to_dict()
            if gaps is not None:
                row["attacks"] = gaps
            rows.append(row)
        emit_json({"norm": norm, "model": network.name, "act": act, "box": bounds,
                   "results": rows})
        return
    _print_table(network.name, norm, results, attack_rows)


def _attack_gaps(network, x, norm, box, result) -> list[dict]:
    from actlab.oae.attacks import run_attacks

    rows = []
    for a in run_attacks(network, x, norm, box):
        row = a.to_dict()
        row["gap"] = (a.distance - result.distance if a.success and result.distance is not None
                      else None)
        rows.append(row)
    return rows


def _print_table(name: str, norm: str, results, attack_rows) -> None:
    table = Table(title=f"Optimal adversarial examples: {name}, {norm} norm")
    for column in ("x", "class", "distance", "closest point", "witness class", "lower bound",
                   "certified"):
        table.add_column(column, justify="right" if column != "x" else "left")
    attack_names = [a["attack"] for a in attack_rows[0]] if attack_rows and attack_rows[0] else []
    for attack in attack_names:
        table.add_column(f"{attack} (gap)", justify="right")
    for result, gaps in zip(results, attack_rows, strict=True):
        cells = [_vec(result.x), str(result.cls), _fmt(result.distance), _vec(result.point),
                 "-" if result.witness_class is None else str(result.witness_class),
                 _fmt(result.lower_bound), "yes" if result.certified else f"no ({result.status})"]
        for a in gaps or []:
            cells.append("failed" if not a["success"] else
                         f"{a['distance']:.4g} (+{_fmt(a['gap'], 3)})")
        table.add_row(*cells)
    stdout.print(table)
    if results:
        stdout.print(f"method: {results[0].method}", highlight=False)
