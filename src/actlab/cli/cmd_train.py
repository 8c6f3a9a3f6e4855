"""``actlab train``: general SGD training of an MLP on xor, moons, circles or a data file."""

from __future__ import annotations

from typing import Annotated

import typer

from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json
from actlab.errors import ActlabError


def parse_hidden(text: str) -> tuple[int, ...]:
    """'8,8' -> (8, 8)."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ActlabError(f"--hidden takes sizes like 8,8, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise ActlabError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


@app.command("train")
def train_command(
    data: Annotated[str, typer.Option("--data", help="xor, moons, circles or a data file "
                                      "{\"x\", \"y\"}.")] = "xor",
    hidden: Annotated[str, typer.Option("--hidden", help="Hidden layer sizes, e.g. 8,8.")] = "8,8",
    act: Annotated[str, typer.Option("--act", help="Hidden activation spec.")] = "relu",
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the data.")] = 500,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 0.5,
    batch: Annotated[int, typer.Option("--batch", min=0, help="Mini-batch size; 0 = full "
                                       "batch.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of initialisation, shuffling and "
                                      "generated data.")] = 0,
    out: Annotated[str | None, typer.Option("--out", help="Write the trained model "
                                            "(.json, .pt/.pth or .onnx).")] = None,
    plot: Annotated[str | None, typer.Option("--plot", help="Write the loss curve "
                                             "(.png, .svg or .pdf).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Train an MLP with SGD (float64, deterministic given --seed) and save it."""
    from actlab.figures.common import figure_format
    from actlab.figures.training import plot_train_result
    from actlab.fileio import writable_target
    from actlab.io import model_format, save_model
    from actlab.train import train

    sizes = parse_hidden(hidden)
    if out is not None:  # before training: a bad --out must not cost a whole run
        model_format(writable_target(out))
    if plot is not None:
        figure_format(plot)
        writable_target(plot)
    result = train(data, hidden=sizes, act=act, epochs=epochs, lr=lr, batch=batch, seed=seed)
    if out is not None:
        save_model(result.network, out)
    if plot is not None:
        plot_train_result(result, plot)
    summary = {**result.to_dict(), "out": out, "plot": plot}
    if json_out:
        emit_json(summary)
        return
    typer.echo(f"trained on {result.data}: hidden {list(result.hidden)}, {result.act}, "
               f"{result.epochs} epochs, lr {result.lr:g}, batch {result.batch}, seed {seed}")
    typer.echo(f"loss {result.initial_loss:.6f} -> {result.epoch_loss[-1]:.6f}, accuracy "
               f"{result.accuracy:.4f}, final gradient norm {result.epoch_grad_norm[-1]:.3e}")
    if out is not None:
        typer.echo(f"model written to {out}")
    if plot is not None:
        typer.echo(f"loss curve written to {plot}")
