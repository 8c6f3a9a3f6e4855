"""``actlab oae``: exact, certified optimal adversarial examples (and the attacks' gaps)."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json, stdout
from actlab.errors import ActlabError


def _fmt(value: float | None, digits: int = 6) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}g}"


def _gap(gap: float | None, distance: float) -> str:
    """An attack's gap to the exact distance, signed; within rounding of 0 it is "+0" (an
    attack's point is a real input of another class, so it cannot truly beat the infimum)."""
    if gap is None:
        return "no exact distance"
    if abs(gap) <= 1e-12 * max(1.0, abs(distance)):
        return "+0"
    return f"{gap:+.3g}"


def _vec(values: list[float] | None) -> str:
    return "-" if values is None else "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def load_inputs(model: str, data: str | None) -> tuple[np.ndarray, str]:
    """The inputs to analyse: --data FILE, or the samples a built-in model carries."""
    from actlab import models
    from actlab.data import load_dataset

    if data is not None:
        dataset = load_dataset(data)
        return dataset.x, dataset.name
    if models.is_builtin(model):
        return models.builtin_data(model).x, "xor"
    raise ActlabError("a model file carries no samples: pass --data FILE")


@app.command("oae")
def oae_command(
    model: Annotated[str, typer.Option(help="xor-initial (default), xor-trained or a model "
                                            "file (JSON, .pt, .onnx).")] = "xor-initial",
    data: Annotated[str | None, typer.Option(help="Data file {\"x\": [[...]], \"y\": [...]} "
                                                  "or a built-in set (xor, moons, circles, "
                                                  "digits, digits-test); default: the model's "
                                                  "own samples.")] = None,
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
    limit: Annotated[int | None, typer.Option(
        help="Only the first N inputs of the data.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: one per CPU when the batch is large enough "
             "to pay for their start-up, else 1).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Run the per-input jobs on a Dask cluster: tcp://HOST:PORT of its scheduler.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The exact closest input of another class for each sample, certified."""
    from actlab.engine import check_scheduler
    from actlab.io import load_model
    from actlab.oae.api import METHODS, oae_jobs, parse_box
    from actlab.oae.polyhedron import NORMS

    if norm not in NORMS:
        raise ActlabError(f"--norm must be one of {', '.join(NORMS)}, not {norm!r}")
    if method not in METHODS:
        raise ActlabError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise ActlabError("--time-limit must be a positive number of seconds")
    if limit is not None and limit < 1:
        raise ActlabError("--limit must be a positive whole number")
    if workers is not None and workers < 1:
        raise ActlabError("--workers must be a positive whole number")
    if scheduler is not None:
        check_scheduler(scheduler)
        if workers is not None:
            raise ActlabError("--workers sets local processes; a Dask scheduler brings its "
                              "own workers: give one of the two")
    bounds = parse_box(box)
    network = load_model(model, activations=act)  # --act names a state dict's too
    if act is not None:
        network = network.with_hidden_activation(act)
    inputs, _ = load_inputs(model, data)
    if limit is not None:
        inputs = inputs[:limit]
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
    done = oae_jobs(network, inputs, norm, bounds, method, time_limit, attacks,
                    scheduler=scheduler, workers=workers, progress=True)
    results = [job.result for job in done]
    attack_rows = [job.attacks for job in done]
    if plot is not None:
        from actlab.figures.oae import plot_oae

        plot_oae(plot, [(network, results, f"{network.name}: OAE ({norm})")], box=bounds)
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


WIDE_INPUT = 4  # above this many features, vectors are left to --json


def _print_table(name: str, norm: str, results, attack_rows) -> None:
    """One row per input; for wide inputs (images) the input's index, the bracket and the time
    replace the vectors, which only --json shows in full."""
    wide = bool(results) and len(results[0].x) > WIDE_INPUT
    table = Table(title=f"Optimal adversarial examples: {name}, {norm} norm")
    columns = (("#", "class", "distance", "witness class", "lower bound", "upper bound",
                "certified", "seconds") if wide else
               ("x", "class", "distance", "closest point", "witness class", "lower bound",
                "certified"))
    for column in columns:
        table.add_column(column, justify="left" if column in ("x", "#") else "right")
    attack_names = [a["attack"] for a in attack_rows[0]] if attack_rows and attack_rows[0] else []
    for attack in attack_names:
        table.add_column(f"{attack} (gap)", justify="right")
    for index, (result, gaps) in enumerate(zip(results, attack_rows, strict=True)):
        witness_class = "-" if result.witness_class is None else str(result.witness_class)
        certified = "yes" if result.certified else f"no ({result.status})"
        if wide:
            cells = [str(index), str(result.cls), _fmt(result.distance), witness_class,
                     _fmt(result.lower_bound), _fmt(result.upper_bound), certified,
                     f"{result.seconds:.2f}"]
        else:
            cells = [_vec(result.x), str(result.cls), _fmt(result.distance), _vec(result.point),
                     witness_class, _fmt(result.lower_bound), certified]
        for a in gaps or []:
            cells.append("failed" if not a["success"] else
                         f"{a['distance']:.4g} ({_gap(a['gap'], a['distance'])})")
        table.add_row(*cells)
    stdout.print(table)
    if results:
        certified = sum(r.certified for r in results)
        stdout.print(f"method: {results[0].method}\ncertified: {certified} of {len(results)}",
                     highlight=False)
