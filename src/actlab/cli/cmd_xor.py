"""``actlab xor trace | verify | train``: the homework's XOR network, by hand and checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from actlab.cli.app import JSON_HELP, xor_app
from actlab.cli.output import emit_json
from actlab.data import Dataset, load_dataset
from actlab.network import Network

if TYPE_CHECKING:
    from actlab.train import Diagnosis, SeedRun

MODEL_HELP = "Model: xor-initial (default), xor-trained, or a model file (one hidden layer)."
ACT_HELP = "Replace the hidden activation (e.g. jumprelu:q=0.3); default: the model's own."
DATA_HELP = "Samples: a data file {\"x\", \"y\"}; default the four XOR samples."

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
ModelOpt = Annotated[str, typer.Option("--model", help=MODEL_HELP)]
ActOpt = Annotated[str | None, typer.Option("--act", help=ACT_HELP)]
DataOpt = Annotated[str | None, typer.Option("--data", help=DATA_HELP)]


def _network_and_data(model: str, act: str | None, data: str | None) -> tuple[Network, Dataset]:
    from actlab.io import load_model
    from actlab.train import xor_params

    net = load_model(model, activations=act)  # act also names a plain state dict's activation
    if act is not None:
        net = net.with_hidden_activation(act)
    xor_params(net)  # one hidden layer, one output, else a clear error
    samples = load_dataset(data or "xor")
    net.check_finite(samples.x, samples.labels())
    return net, samples


def _echo(text: str) -> None:
    typer.echo(text)


@xor_app.command("trace")
def trace_command(json_out: JsonOpt = False, model: ModelOpt = "xor-initial",
                  act: ActOpt = None, data: DataOpt = None) -> None:
    """Forward values and gradients of W, c, w, b for each sample, as a hand calculation."""
    from actlab.backprop import explain, trace

    net, samples = _network_and_data(model, act, data)
    result = trace(net, samples)
    if json_out:
        emit_json(result.to_dict())
        return
    seed = net.name == "xor-initial" and data is None
    _echo(explain(result, seed_example=seed))


@xor_app.command("verify")
def verify_command(json_out: JsonOpt = False, model: ModelOpt = "xor-initial",
                   act: ActOpt = None, data: DataOpt = None) -> None:
    """Check every gradient against torch autograd (float64) and finite differences; exit 1 if
    the largest discrepancy exceeds 1e-8."""
    from actlab.backprop import verify

    net, samples = _network_and_data(model, act, data)
    result = verify(net, samples)
    if json_out:
        emit_json(result.to_dict())
    else:
        width = max(len(c.quantity) for c in result.checks)
        for c in result.checks:
            _echo(f"{c.sample:<16} {c.quantity:<{width}}  vs {c.reference:<42} "
                  f"[{c.convention:<7}] {c.discrepancy:.2e}")
        verdict = "OK" if result.ok else "FAILED"
        _echo(f"largest discrepancy: {result.max_discrepancy:.3e} (limit {result.limit:g}): "
              f"{verdict}")
    if not result.ok:
        raise typer.Exit(1)


@xor_app.command("train")
def train_command(
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Epochs (passes over the data).")
                      ] = 100,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate of SGD.")] = 0.1,
    plot: Annotated[str | None, typer.Option("--plot", help="Write the loss curves "
                                             "(.png, .svg or .pdf).")] = None,
    json_out: JsonOpt = False, model: ModelOpt = "xor-initial", act: ActOpt = None,
    data: DataOpt = None,
) -> None:
    """The seed's training loop (per-sample SGD in order, BCE, PyTorch float32) and a diagnosis."""
    from actlab.figures.common import figure_format
    from actlab.figures.training import plot_seed_run
    from actlab.fileio import writable_target
    from actlab.train import diagnose, seed_training, xor_params

    if plot is not None:
        figure_format(plot)
        writable_target(plot)
    net, samples = _network_and_data(model, act, data)
    run = seed_training(net, samples, epochs=epochs, lr=lr)
    diagnosis = diagnose(run)
    if plot is not None:
        plot_seed_run(run, plot)
    result = {
        "params": xor_params(run.network),
        "epoch_loss_mean": run.epoch_loss_mean,
        "epoch_loss_last": run.epoch_loss_last,
        "predictions": diagnosis.predictions,
        "accuracy": diagnosis.accuracy,
        "probabilities": diagnosis.probabilities,
        "epoch_loss_end": run.epoch_loss_end,
        "definitions": {
            "epoch_loss_last": "what the seed's code records and plots: the last sample's "
                               "loss in each epoch",
            "epoch_loss_mean": "mean over the samples of the losses computed during the epoch, "
                               "each at its own step before that step's update",
            "epoch_loss_end": "mean loss over all samples at the parameters reached at the end "
                              "of the epoch",
            "arithmetic": "PyTorch float32 kernels, per-sample SGD in order, nn.BCELoss (log "
                          "clamped at -100): bit-identical to running the seed's code",
        },
        "initial_params": xor_params(run.initial),
        "epochs": epochs, "lr": lr, "model": net.name,
        "hidden_activation": net.layers[0].activation.spec,
        "diagnosis": diagnosis,
        "plot": plot,
    }
    if json_out:
        emit_json(result)
        return
    _echo(_train_text(run, diagnosis, plot))


def _train_text(run: SeedRun, diagnosis: Diagnosis, plot: str | None) -> str:
    """Parameters, the two loss curves at a few epochs, predictions and the diagnosis."""
    from actlab.train import xor_params

    p = xor_params(run.network)
    lines = [f"Trained {run.network.name} for {run.epochs} epochs, lr {run.lr:g} (the seed's "
             "loop: per-sample SGD in order, BCE, PyTorch float32).",
             f"  W = {np.round(p['W'], 6).tolist()}  c = {np.round(p['c'], 6).tolist()}",
             f"  w = {np.round(p['w'], 6).tolist()}  b = {p['b']:.6f}", "",
             "epoch   last-sample loss (seed's curve)   mean per-sample loss   loss at epoch end"]
    marks = sorted({1, 2, 5, 10, 20, 50, run.epochs} | set(range(10, run.epochs + 1, 10)))
    end = run.epoch_loss_end
    for e in (m for m in marks if m <= run.epochs):
        lines.append(f"{e:>5}   {run.epoch_loss_last[e - 1]:>31.6f}   "
                     f"{run.epoch_loss_mean[e - 1]:>20.6f}   {end[e - 1]:>17.6f}")
    lines += ["", f"predictions {diagnosis.predictions} (p = "
              f"{[round(v, 4) for v in diagnosis.probabilities]}), accuracy "
              f"{diagnosis.accuracy:.2f}",
              f"converged: {'yes' if diagnosis.converged else 'no'} ({diagnosis.criterion})"]
    lines += [f"  - {reason}" for reason in diagnosis.why]
    if plot is not None:
        lines.append(f"loss curves written to {plot}")
    return "\n".join(lines)
