"""Section 3: the seed's training loop: loss curves (both, labelled), final weights,
predictions and the computed diagnosis."""

from __future__ import annotations

from actlab.report.compute import ReportResults
from actlab.report.doc import Block, Bullets, Code, Figure, Heading, Para, Section, Table, inl
from actlab.report.math import number_text
from actlab.report.sections.backprop import parameters
from actlab.report.sections.common import cells, equations, fixed, point


def _marks(epochs: int) -> list[int]:
    """Epochs shown in the loss table: 1, 2, 5, every tenth of the run, the last."""
    step = max(1, epochs // 10)
    return sorted({e for e in (1, 2, 5, *range(step, epochs + 1, step), epochs) if e <= epochs})


def _loss_table(results: ReportResults) -> Table:
    run = results.run
    end = run.epoch_loss_end
    rows = tuple(cells(str(e), fixed(run.epoch_loss_last[e - 1]), fixed(run.epoch_loss_mean[e - 1]),
                       fixed(end[e - 1])) for e in _marks(run.epochs))
    return Table(cells("epoch", "last sample's loss (the seed's curve)",
                       "mean per-sample loss of the epoch", "mean loss at the epoch's end"),
                 rows, caption="The loss curves at selected epochs.",
                 numeric=(True, True, True, True))


def _predictions(results: ReportResults) -> Table:
    d, data = results.diagnosis, results.data
    rows = []
    for x, y, p, c in zip(data.x, data.labels(), d.probabilities, d.predictions, strict=True):
        rows.append(cells(point(x.tolist()), fixed(y), fixed(p), str(c),
                          "yes" if c == round(y) else "no"))
    return Table(cells("x", "y", "p = σ(z)", "class (z > 0)", "correct"), tuple(rows),
                 caption=f"Predictions of the trained network: accuracy {fixed(d.accuracy, 2)}.",
                 numeric=(False, True, True, True, False))


def build(results: ReportResults, figures: dict[str, str]) -> Section:
    run, d = results.run, results.diagnosis
    n = len(results.data.x)
    params = results.train_dict()["params"]
    blocks: list[Block] = [
        Para(inl(f"The seed's loop, run exactly as PyTorch runs it: {run.epochs} epochs; in each, "
                 f"the {n} samples in order, one SGD step per sample (learning rate "
                 f"{number_text(run.lr, 6)}), nn.BCELoss after a sigmoid, float32 arithmetic (the "
                 "parameters are bit-identical to running the seed's code).")),
        Figure(figures["training"], "Loss per epoch. The seed's code records and plots the "
               "LAST sample's loss of each epoch (dashed), not the loss of the epoch; the mean "
               "over the samples (solid) and the mean loss at the end of each epoch (dotted) "
               "show the whole data set.",
               "Loss curves of the seed's training loop", width=0.8),
        _loss_table(results),
        Heading(2, "Final weights", "train-weights"),
        equations(parameters(params["W"], params["c"], params["w"], params["b"])),
        Para(inl("Rounded to 4 decimals; ", Code("results.json"), " holds the float32 values "
                 "exactly.")),
        Heading(2, "Predictions", "train-predictions"),
        _predictions(results),
        Heading(2, "Diagnosis", "train-diagnosis"),
        Para(inl(f"Converged: {'yes' if d.converged else 'no'} ({d.criterion}). Solved (every "
                 f"sample right): {'yes' if d.solved else 'no'}.")),
        Bullets(tuple(inl(reason) for reason in d.why)),
    ]
    return Section("Training", "training", tuple(blocks))
