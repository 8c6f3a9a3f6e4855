"""``actlab sweep``: how often a randomly initialised XOR net solves the task, per activation."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json, note, stdout
from actlab.errors import ActlabError


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ActlabError(f"--hidden takes sizes like 2 or 4,4, got {text!r}") from None
    return sizes


def _loss(value: float | None) -> str:
    return "inf" if value is None else f"{value:.4f}"


def _table(data: dict) -> Table:
    table = Table(title=f"{data['task']}: {data['nets']} nets per activation, hidden "
                  f"{data['hidden']}, {data['epochs']} epochs, lr {data['lr']:g}, mode "
                  f"{data['mode']}, seed {data['seed']}", title_justify="left")
    for name in ("activation", "solved (95% CI)", "median final loss [IQR]",
                 "dead units (start -> end)", "nets with a dead unit", "diverged"):
        table.add_column(name, no_wrap=True)
    for r in data["rows"]:
        lo, hi = r["solved_fraction_ci95"]
        q1, q2, q3 = r["final_loss_quartiles"]
        table.add_row(r["act"], f"{r['solved_fraction']:.3f} [{lo:.3f}, {hi:.3f}]",
                      f"{_loss(q2)} [{_loss(q1)}, {_loss(q3)}]",
                      f"{r['dead_unit_fraction_initial']:.3f} -> {r['dead_unit_fraction']:.3f}",
                      f"{r['nets_with_dead_unit_fraction']:.3f}", f"{r['diverged_fraction']:.3f}")
    return table


@app.command("sweep")
def sweep_command(
    more: Annotated[list[str] | None, typer.Argument(
        metavar="[SPEC]...", help="More activation specs, so --act relu tanh gelu works (rows: "
        "the --act values first, then these).",
        show_default=False)] = None,
    task: Annotated[str, typer.Option(help="The task: xor (the four samples).")] = "xor",
    act: Annotated[list[str] | None, typer.Option(
        "--act", help="Activation spec, repeatable (default: the homework's six).")] = None,
    nets: Annotated[int, typer.Option(help="Networks per activation.")] = 1000,
    epochs: Annotated[int, typer.Option(help="Passes over the data.")] = 100,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the initialisations (the same nets for "
                                           "every activation).")] = 0,
    mode: Annotated[str, typer.Option(help="seed: per-sample SGD in order (the seed's loop); "
                                           "batch: full-batch gradient descent.")] = "seed",
    hidden: Annotated[str, typer.Option(help="Hidden layer sizes, e.g. 2 or 4,4.")] = "2",
    chunk: Annotated[int, typer.Option(help="Nets per job.")] = 4096,
    plot: Annotated[str | None, typer.Option(
        help="Write loss distributions, solved and dead fractions to FILE (.png, .svg, "
             ".pdf).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Run the jobs on a Dask cluster: tcp://HOST:PORT of its scheduler.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: 1 for a small sweep, else one per CPU).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Train N random-initialised nets per activation at once; report how many solve the task,
    their final losses and their dead hidden units."""
    from actlab.activations import HOMEWORK_SPECS
    from actlab.engine import check_scheduler
    from actlab.ensemble import sweep

    specs = [*(act or []), *(more or [])] or list(HOMEWORK_SPECS)
    if scheduler is not None:
        check_scheduler(scheduler)
    if plot is not None:
        from actlab.figures.sweep import check_sweep_figure_path

        check_sweep_figure_path(plot)
    result = sweep(specs, task=task, nets=nets, epochs=epochs, lr=lr, seed=seed, mode=mode,
                   hidden=_hidden(hidden), chunk=chunk, scheduler=scheduler, workers=workers,
                   progress=True)
    if plot is not None:
        from actlab.figures.sweep import plot_sweep

        plot_sweep(result, plot)
    data = result.to_dict()
    if json:
        emit_json(data)
        return
    stdout.print(_table(data), highlight=False)
    note(f"initialisation: {data['init']}")
    if plot is not None:
        note(f"wrote {plot}")
