"""Training: (a) the seed's loop exactly as PyTorch runs it, (b) a diagnosis computed from that
run, (c) general SGD for the tool's other uses.

(a) ``seed_training``: per-sample SGD in order, lr 0.1, nn.BCELoss after nn.Sigmoid, float32. The
forward uses PyTorch's own float32 kernels (F.linear, torch.sigmoid, F.binary_cross_entropy, which
clamps log at -100; the hidden activation is PyTorch's own module, nn.ReLU, nn.Tanh, nn.GELU,
..., where it has one); the backward is written out here, step by step, as autograd runs it for
those modules (BCELoss backward, Sigmoid backward, Linear backward, ReLU's slope; for a smooth
hidden activation its vector-Jacobian product is autograd's own); the update is SGD's
``p.add_(grad, alpha=-lr)``. So the parameters are bit-identical to a real PyTorch run of the
seed's code (also with torch.tanh, F.gelu, F.silu, ... in place of torch.relu).

Loss curves: ``epoch_loss_last`` is what the seed's code records (``losses.append(loss.item())``
after the inner loop: the LAST sample's loss of each epoch). ``epoch_loss_mean`` is the mean over
the samples of the losses computed during the epoch, each at its own step, before that step's
update. ``epoch_loss_end`` is the mean loss over all samples at the parameters reached at the end
of the epoch.

(c) ``train``: float64, full-batch or mini-batch SGD on the batch-mean loss, PyTorch's default
initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), deterministic given
the seed (numpy's PCG64 drives both the initialisation and the shuffling).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from actlab.activations import Activation, parse_activation
from actlab.data import Dataset, load_dataset
from actlab.errors import ActlabError
from actlab.network import FloatArray, Network

if TYPE_CHECKING:
    import torch

MAX_EPOCHS = 1_000_000
CONVERGENCE_WINDOW = 10
CONVERGENCE_TOL = 1e-3
BCE_EPS = 1e-12  # nn.BCELoss's backward divides by max(p (1 - p), BCE_EPS)


# --- (a) the seed's loop -------------------------------------------------------------------
@dataclass(frozen=True)
class SeedRun:
    """A run of the seed's loop: every step's loss and gradient norm, and the parameters at the
    end of every epoch (``snapshots[0]`` is the start, ``snapshots[-1]`` the result)."""

    data: Dataset
    epochs: int
    lr: float
    step_losses: FloatArray       # (epochs, n): sample i's loss at its step in the epoch
    step_grad_norms: FloatArray   # (epochs, n): norm of that step's gradient (all parameters)
    snapshots: tuple[Network, ...]

    @property
    def initial(self) -> Network:
        return self.snapshots[0]

    @property
    def network(self) -> Network:
        """The trained network (float32 values, held as float64)."""
        return self.snapshots[-1]

    @property
    def epoch_loss_last(self) -> FloatArray:
        """What the seed's code records: the last sample's loss in each epoch."""
        return self.step_losses[:, -1]

    @property
    def epoch_loss_mean(self) -> FloatArray:
        """Mean over the samples of the losses computed during each epoch (each at its step)."""
        return self.step_losses.mean(axis=1)

    @property
    def epoch_loss_end(self) -> FloatArray:
        """Mean loss over all samples at the end-of-epoch parameters (float64 evaluation)."""
        return np.array([s.forward(self.data.x, self.data.y).loss for s in self.snapshots[1:]])

    def to_dict(self) -> dict[str, Any]:
        net = self.network
        params = xor_params(net) if len(net.layers) == 2 else [
            {"weight": l.weight.tolist(), "bias": l.bias.tolist()} for l in net.layers]
        return {"params": params, "epochs": self.epochs, "lr": self.lr,
                "epoch_loss_mean": self.epoch_loss_mean, "epoch_loss_last": self.epoch_loss_last,
                "epoch_loss_end": self.epoch_loss_end}


def xor_params(network: Network) -> dict[str, Any]:
    """A one-hidden-layer binary network's parameters by the homework's names W, c, w, b."""
    _require_one_hidden_binary(network)
    hidden, out = network.layers
    return {"W": hidden.weight.tolist(), "c": hidden.bias.tolist(),
            "w": out.weight[0].tolist(), "b": float(out.bias[0])}


def _require_one_hidden_binary(network: Network) -> None:
    if len(network.layers) != 2 or not network.binary:
        raise ActlabError("this needs a network with one hidden layer and one output "
                          f"(like the XOR network); {network.name} has {len(network.layers)} "
                          f"layers and {network.num_outputs} outputs")


def seed_training(network: Network | None = None, data: Dataset | None = None,
                  epochs: int = 100, lr: float = 0.1) -> SeedRun:
    """Run the seed's loop: for each epoch, for each sample in order: zero_grad, forward,
    BCELoss, backward, SGD step p <- p - lr * dL/dp. PyTorch float32 arithmetic throughout."""
    import torch

    from actlab import models

    network = models.xor_initial() if network is None else network
    data = load_dataset("xor") if data is None else data
    if not network.binary:
        raise ActlabError("the seed's loop trains a binary network (one sigmoid output)")
    _check_schedule(epochs, lr)
    if lr > float(np.finfo(np.float32).max):
        raise ActlabError(f"the learning rate {lr:g} is beyond float32's range (3.4e38); the "
                          "seed's loop runs in PyTorch float32")
    labels = network.forward(data.x, data.labels()).y
    _check_float32(network, data)
    hidden_fns = [_pytorch_function(layer.activation) for layer in network.hidden_layers]
    params = [torch.tensor(p, dtype=torch.float32) for p in network.parameters()]
    xs = torch.tensor(data.x, dtype=torch.float32)
    ys = torch.tensor(labels, dtype=torch.float32).reshape(-1, 1)
    n = len(xs)
    step_losses = np.empty((epochs, n))
    step_norms = np.empty((epochs, n))
    snapshots = [_snapshot(network, params)]
    for epoch in range(epochs):
        for i in range(n):
            loss, grads = _seed_step(network, hidden_fns, params, xs[i], ys[i])
            for p, g in zip(params, grads, strict=True):
                p.add_(g, alpha=-lr)                       # optimizer.step(): p <- p - lr g
            step_losses[epoch, i] = loss
            step_norms[epoch, i] = float(torch.cat([g.reshape(-1) for g in grads]).double().norm())
        if not all(bool(torch.isfinite(p).all()) for p in params):
            raise ActlabError(f"training diverged in epoch {epoch + 1} (parameters are no "
                              f"longer finite); try a smaller learning rate than {lr}")
        snapshots.append(_snapshot(network, params))
    return SeedRun(data, epochs, float(lr), step_losses, step_norms, tuple(snapshots))


def _check_float32(network: Network, data: Dataset) -> None:
    """ActlabError unless the weights, the inputs and every value of the forward pass fit
    float32 (the seed's loop runs in PyTorch float32, whose largest number is about 3.4e38)."""
    top = float(np.finfo(np.float32).max)
    with np.errstate(all="ignore"):
        fwd = network.forward(data.x)
    values = [data.x, *network.parameters(), *fwd.pre_activations, *fwd.activations]
    if not all(np.all(np.abs(v) <= top) for v in values):  # False for inf and NaN too
        raise ActlabError(f"{network.name}: weights, inputs or values beyond float32's range "
                          "(3.4e38); the seed's loop runs in PyTorch float32")


def _pytorch_function(activation: Activation) -> Callable[[torch.Tensor], torch.Tensor]:
    """f as PyTorch computes it: its own module where it has the function (nn.ReLU, nn.Tanh,
    nn.GELU, nn.SiLU, nn.ELU, ...), else the catalogue's torch twin."""
    from actlab.io import _torch_module

    module = _torch_module(activation)
    return (lambda a: a) if module is None else module


def _seed_step(network: Network, hidden_fns: Sequence[Callable[[torch.Tensor], torch.Tensor]],
               params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor
               ) -> tuple[float, list[torch.Tensor]]:
    """One sample: forward as the seed's modules compute it, backward as autograd runs it."""
    import torch
    import torch.nn.functional as F

    last = len(network.layers) - 1
    inputs, pre, post = [], [], []
    h = x
    for l in range(len(network.layers)):
        inputs.append(h)
        a = F.linear(h, params[2 * l], params[2 * l + 1])    # a = W h + b      (nn.Linear)
        if l == last:
            h = a
            break
        # a leaf of its own, so that autograd can give f's backward (smooth f) and nothing else
        a = a.detach().requires_grad_(not network.layers[l].activation.piecewise_linear)
        out = hidden_fns[l](a)                               # h = f(a)         (torch.relu)
        pre.append(a)
        post.append(out)
        h = out.detach()
    p = torch.sigmoid(h)                                     # p = sigmoid(z)   (nn.Sigmoid)
    loss = F.binary_cross_entropy(p, y)                      # -[y log p + (1-y) log(1-p)]
    # BCELoss backward: dL/dp = (p - y) / max(p (1 - p), 1e-12)
    g = (p - y) / torch.clamp((1 - p) * p, min=1e-12)
    # Sigmoid backward: dL/dz = dL/dp * (1 - p) * p
    g = g * (1 - p) * p
    grads: list[torch.Tensor] = [torch.empty(0)] * len(params)
    for l in reversed(range(len(network.layers))):
        if l < last:
            # h = f(a)  =>  dL/da = dL/dh * f'(a)
            g = _activation_backward(network.layers[l].activation, pre[l], post[l], g)
        grads[2 * l] = torch.outer(g, inputs[l])             # a = W h + b  =>  dL/dW = g h^T
        grads[2 * l + 1] = g                                 #                 dL/db = g
        g = g @ params[2 * l]                                #                 dL/dh = W^T g
    return float(loss), grads


def _activation_backward(activation: Activation, a: torch.Tensor, h: torch.Tensor,
                         g: torch.Tensor) -> torch.Tensor:
    """dL/da = dL/dh * f'(a) in a's dtype. Piecewise linear (relu): the slope of the piece that
    holds a (relu'(0) = 0, as PyTorch). Smooth f: autograd's own vector-Jacobian product of the
    forward op, so the float32 rounding is PyTorch's."""
    import torch

    if not activation.piecewise_linear:
        return torch.autograd.grad(h, a, grad_outputs=g)[0]
    slope = torch.zeros_like(a)
    for p in activation.pieces():
        inside = ((a >= p.lo) if p.closed_lo else (a > p.lo)) & (
            (a <= p.hi) if p.closed_hi else (a < p.hi))
        slope = torch.where(inside, torch.tensor(p.slope, dtype=a.dtype), slope)
    return g * slope


def _snapshot(network: Network, params: list[torch.Tensor]) -> Network:
    return network.with_parameters([p.double().numpy().copy() for p in params])


MAX_SEED = 2**32 - 1  # scikit-learn's random_state (moons, circles) takes 0 .. 2**32 - 1


def _check_seed(seed: int) -> None:
    """ActlabError unless ``seed`` is a whole number from 0 to MAX_SEED."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
            0 <= seed <= MAX_SEED):
        raise ActlabError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")


def _check_schedule(epochs: int, lr: float) -> None:
    if not isinstance(epochs, int | np.integer) or not 1 <= epochs <= MAX_EPOCHS:
        raise ActlabError(f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {epochs}")
    if not (math.isfinite(lr) and lr > 0):
        raise ActlabError(f"the learning rate must be a positive finite number, got {lr}")


# --- (b) diagnosis --------------------------------------------------------------------------
@dataclass(frozen=True)
class Diagnosis:
    """What happened in a run, computed from it (float64 evaluation of each epoch's parameters).

    converged: the end-of-epoch loss changed by less than ``CONVERGENCE_TOL`` (absolute) over the
    last ``CONVERGENCE_WINDOW`` epochs. solved: every sample is classified correctly at the end.
    stuck: converged but not solved. A hidden unit is dead when f'(a) = 0 on every sample (it
    passes no gradient back). ``dead_units_*`` list [layer, unit] 0-based; ``dead_since_epoch``
    names them 1-based. ``saturated_samples``: misclassified samples whose output p saturates
    so far that nn.BCELoss's backward, dL/dz = (p - y) p(1-p) / max(p(1-p), 1e-12) in float32,
    shrinks their gradient by ``factor`` = p(1-p) / 1e-12 against the true p - y.
    ``grad_norm_*`` is the float64 gradient of the mean loss at each epoch's end;
    ``step_grad_norm_per_epoch`` the mean norm of the float32 gradients the loop applied.
    """

    converged: bool
    criterion: str
    solved: bool
    accuracy: float
    predictions: list[int]
    probabilities: list[float]
    solved_since_epoch: int | None
    loss_start: float
    loss_end: float
    loss_change_last_window: float
    grad_norm_start: float
    grad_norm_end: float
    grad_norm_per_epoch: list[float]
    dead_units_start: list[list[int]]
    dead_units_end: list[list[int]]
    dead_units_per_epoch: list[int]
    dead_since_epoch: dict[str, int]
    stuck: bool = False
    step_grad_norm_per_epoch: list[float] = field(default_factory=list)
    saturated_samples: list[dict[str, float]] = field(default_factory=list)
    why: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def dead_units(network: Network, x: NDArray[np.float64]) -> list[list[int]]:
    """[layer, unit] of every hidden unit with f'(a) = 0 on all samples (relu: a <= 0 on all)."""
    fwd = network.forward(x)
    dead = []
    for l, (layer, a) in enumerate(zip(network.hidden_layers, fwd.pre_activations, strict=False)):
        slope = layer.activation.derivative(a)
        dead.extend([l, int(u)] for u in np.nonzero(np.all(slope == 0, axis=0))[0])
    return dead


def saturated_samples(network: Network, x: NDArray[np.float64], y: NDArray[np.float64]
                      ) -> list[dict[str, float]]:
    """Misclassified samples where nn.BCELoss's backward clamp is active: q = p(1-p) < 1e-12 in
    float32, so PyTorch's dL/dz = (p - y) q / 1e-12 is ``factor`` = q / 1e-12 times p - y."""
    import torch

    z = torch.tensor(network.logits(x)[:, 0], dtype=torch.float32)
    p = torch.sigmoid(z)
    q = ((1 - p) * p).double().numpy()
    p64 = p.double().numpy()
    wrong = network.classify(x) != np.round(y)
    return [{"sample": int(i), "p": float(p64[i]), "y": float(y[i]),
             "factor": float(q[i] / BCE_EPS)} for i in np.nonzero(wrong & (q < BCE_EPS))[0]]


def diagnose(run: SeedRun) -> Diagnosis:
    """Converged or not (criterion stated), accuracy, predictions, dead units, gradient norm over
    time, and the reasons, all read off the run."""
    x, y = run.data.x, run.data.labels()
    nets = run.snapshots
    losses, norms, correct = [], [], []
    for net in nets:
        fwd, grads = net.loss_and_gradients(x, y)
        losses.append(fwd.loss)
        norms.append(grads.norm())
        correct.append(bool(np.all(net.classify(x) == np.round(y))))
    final = nets[-1]
    predictions = final.classify(x).tolist()
    accuracy = float(np.mean(final.classify(x) == np.round(y)))
    solved_since = None
    for epoch in range(len(nets) - 1, -1, -1):
        if not correct[epoch]:
            break
        solved_since = epoch
    window = min(CONVERGENCE_WINDOW, run.epochs)
    change = abs(losses[-1] - losses[-1 - window])
    converged = change < CONVERGENCE_TOL
    dead_each = [dead_units(net, x) for net in nets]
    dead_since = {}
    for unit in dead_each[-1]:
        epoch = len(nets) - 1
        while epoch > 0 and unit in dead_each[epoch - 1]:
            epoch -= 1
        dead_since[f"hidden layer {unit[0] + 1}, unit {unit[1] + 1}"] = epoch  # 1-based names
    diagnosis = Diagnosis(
        converged=converged,
        criterion=(f"converged = the mean loss over all samples at the end-of-epoch parameters "
                   f"changed by less than {CONVERGENCE_TOL:g} over the last {window} epochs"),
        solved=bool(correct[-1]), accuracy=accuracy, predictions=predictions,
        probabilities=np.atleast_1d(final.predict_proba(x)).tolist(),
        solved_since_epoch=solved_since, loss_start=losses[0], loss_end=losses[-1],
        loss_change_last_window=change, grad_norm_start=norms[0], grad_norm_end=norms[-1],
        grad_norm_per_epoch=norms, dead_units_start=dead_units(nets[0], x),
        dead_units_end=dead_each[-1], dead_units_per_epoch=[len(d) for d in dead_each],
        dead_since_epoch=dead_since, stuck=converged and not correct[-1],
        step_grad_norm_per_epoch=run.step_grad_norms.mean(axis=1).tolist(),
        saturated_samples=saturated_samples(final, x, y))
    return Diagnosis(**{**diagnosis.__dict__, "why": _reasons(diagnosis, run)})


def _monotone(activation: Activation) -> bool:
    """True when f is non-decreasing on the whole line (so {u : w f(u) > t} is a half-line)."""
    if activation.piecewise_linear:
        return all(p.slope >= 0 for p in activation.pieces()) and all(
            bp.left_value <= bp.right_value for bp in activation.breakpoints())
    return activation.name in ("sigmoid", "tanh", "softplus", "elu", "selu")


def _reasons(d: Diagnosis, run: SeedRun) -> list[str]:
    """Plain sentences explaining the diagnosis, built from its numbers."""
    n = len(run.data.x)
    why = [f"loss over all {n} samples: {d.loss_start:.4f} at the start, {d.loss_end:.4f} after "
           f"{run.epochs} epochs; it changed by {d.loss_change_last_window:.2e} over the last "
           f"{min(CONVERGENCE_WINDOW, run.epochs)} epochs, so the run "
           f"{'has' if d.converged else 'has not'} converged by the criterion."]
    seed_curve = float(run.epoch_loss_last[-1])
    why.append(f"the seed's curve (the last sample's loss only) ends at {seed_curve:.4f}; the mean "
               f"loss over all samples ends at {d.loss_end:.4f}"
               + (": the seed's curve hides the other samples' losses." if
                  abs(seed_curve - d.loss_end) > 0.5 * d.loss_end else "."))
    if d.solved:
        since = ("at every epoch's end, and the initial weights already do" if
                 d.solved_since_epoch == 0 else f"from epoch {d.solved_since_epoch} on")
        why.append(f"every sample is classified correctly {since}; accuracy {d.accuracy:.2f}.")
    else:
        wrong = [i for i, (p, t) in enumerate(zip(d.predictions, run.data.labels(), strict=True))
                 if p != round(t)]
        why.append(f"accuracy {d.accuracy:.2f}: samples {wrong} are misclassified at the end"
                   + (": the loss has stopped changing without solving the task, so the run is "
                      "stuck, not finished." if d.stuck else "."))
    trend = "falling" if d.grad_norm_end < d.grad_norm_start else "not falling"
    applied = d.step_grad_norm_per_epoch
    why.append(f"the full-batch gradient norm went from {d.grad_norm_start:.4f} to "
               f"{d.grad_norm_end:.4f} ({trend}); the per-sample gradients the loop applied had "
               f"mean norm {applied[0]:.4g} in the first epoch and {applied[-1]:.4g} in the last.")
    labels = run.data.labels()
    if d.solved and not d.converged and np.all((labels == 0) | (labels == 1)):
        why.append("the data are separated but cross-entropy keeps decreasing as the weights grow "
                   "(its infimum 0 is reached only in the limit), so the loss is still falling.")
    if d.saturated_samples:
        worst = min(d.saturated_samples, key=lambda s: s["factor"])
        listed = ", ".join(f"{int(s['sample'])} (p = {s['p']:.3g}, y = {s['y']:g})"
                           for s in d.saturated_samples)
        why.append(f"saturated output on misclassified samples {listed}: nn.BCELoss's backward "
                   "divides by max(p(1-p), 1e-12), so the gradient PyTorch gets, (p - y) p(1-p) "
                   f"/ 1e-12, is as little as {worst['factor']:.2g} times the true p - y; the "
                   "seed's sigmoid + BCELoss cannot pull these samples back (BCEWithLogitsLoss "
                   "would), whatever the full-batch gradient says.")
    hidden = run.network.hidden_layers
    if d.dead_units_end:
        since = ", ".join(f"{unit} since epoch {e}" for unit, e in d.dead_since_epoch.items())
        why.append(f"dead hidden units at the end (f' = 0 on every sample, so no gradient reaches "
                   f"their weights and they cannot recover): {since}.")
        alive = [layer.weight.shape[0] - sum(1 for u in d.dead_units_end if u[0] == l)
                 for l, layer in enumerate(hidden)]
        if min(alive) == 0:
            why.append(f"no unit of hidden layer {alive.index(0) + 1} is alive: the output no "
                       "longer depends on the input at the samples, and only the output bias still "
                       "learns.")
        elif len(hidden) == 1 and alive[0] == 1 and _monotone(hidden[0].activation):
            why.append("only one hidden unit is alive, so the decision region is a half-plane "
                       "(z > 0 iff v.x > t for one line): the network can now separate only "
                       "linearly separable data" + (", and XOR is not." if run.data.name == "xor"
                                                     else "."))
    else:
        why.append("no hidden unit is dead at the end (each has f' != 0 on some sample).")
    if d.dead_units_start:
        why.append(f"dead hidden units at the start: {d.dead_units_start}.")
    return why


# --- (c) general training ---------------------------------------------------------------------
@dataclass(frozen=True)
class TrainResult:
    """A general training run: the trained network, its settings and its per-epoch curves."""

    network: Network
    data: str
    hidden: tuple[int, ...]
    act: str
    epochs: int
    lr: float
    batch: int
    seed: int
    epoch_loss: FloatArray          # mean loss over all samples at the end of each epoch
    epoch_grad_norm: FloatArray     # norm of the full-data mean-loss gradient at each epoch end
    initial_loss: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "hidden": list(self.hidden), "act": self.act,
                "epochs": self.epochs, "lr": self.lr, "batch": self.batch, "seed": self.seed,
                "dtype": "float64", "initial_loss": self.initial_loss,
                "final_loss": float(self.epoch_loss[-1]), "accuracy": self.accuracy,
                "epoch_loss": self.epoch_loss, "epoch_grad_norm": self.epoch_grad_norm}


def init_network(sizes: Sequence[int], act: str | Activation, rng: np.random.Generator,
                 name: str = "network") -> Network:
    """PyTorch's default nn.Linear initialisation: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    sizes = (inputs, hidden..., outputs); one output gets a sigmoid head, several softmax."""
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, size=(fan_out, fan_in)))
        biases.append(rng.uniform(-bound, bound, size=fan_out))
    head = "sigmoid" if sizes[-1] == 1 else "softmax"
    activation = parse_activation(act)
    return Network.from_arrays(weights, biases, [activation] * (len(sizes) - 2) + [head], name)


def train(data: Dataset | str, hidden: Sequence[int] = (8, 8), act: str | Activation = "relu",
          epochs: int = 200, lr: float = 0.1, batch: int = 0, seed: int = 0) -> TrainResult:
    """SGD in float64 on the batch-mean loss: theta <- theta - lr * grad. batch = 0 (or >= n) is
    full-batch; otherwise the samples are shuffled every epoch and split into batches."""
    _check_seed(seed)
    dataset = load_dataset(data, seed=seed) if isinstance(data, str) else data
    y = dataset.labels()
    hidden = tuple(int(h) for h in hidden)
    if not hidden or any(h < 1 or h > 4096 for h in hidden):
        raise ActlabError(f"hidden layer sizes must be whole numbers from 1 to 4096, got {hidden}")
    if batch < 0:
        raise ActlabError(f"batch must be 0 (full batch) or a positive size, got {batch}")
    _check_schedule(epochs, lr)
    classes = dataset.num_classes
    binary = classes == 2
    if binary and np.any((y != 0) & (y != 1)):
        raise ActlabError("labels must be 0/1 or classes 0..k-1")
    if not binary and np.any(y != np.round(y)):
        raise ActlabError("labels must be whole class numbers 0..k-1")
    rng = np.random.default_rng(seed)
    sizes = (dataset.x.shape[1], *hidden, 1 if binary else classes)
    net = init_network(sizes, act, rng, name=f"{dataset.name}-mlp")
    net.check_finite(dataset.x, y)
    n = len(dataset.x)
    size = n if batch == 0 or batch >= n else batch
    initial_loss = net.forward(dataset.x, y).loss
    losses, norms = np.empty(epochs), np.empty(epochs)
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            order = np.arange(n) if size == n else rng.permutation(n)
            for start in range(0, n, size):
                rows = order[start:start + size]
                _, grads = net.loss_and_gradients(dataset.x[rows], y[rows])
                params = [p - lr * g for p, g in
                          zip(net.parameters(), grads.parameters(), strict=True)]
                if not all(np.all(np.isfinite(p)) for p in params):
                    raise ActlabError(f"training diverged at epoch {epoch + 1}; try a smaller "
                                      f"learning rate than {lr}")
                net = net.with_parameters(params)
            fwd, grads = net.loss_and_gradients(dataset.x, y)
            losses[epoch], norms[epoch] = fwd.loss, grads.norm()
            if not (math.isfinite(losses[epoch]) and math.isfinite(norms[epoch])):
                raise ActlabError(f"training diverged at epoch {epoch + 1} (the loss or its "
                                  f"gradient overflows); try a smaller learning rate than {lr}")
    accuracy = float(np.mean(net.classify(dataset.x) == y.astype(np.int64)))
    spec = parse_activation(act).spec
    return TrainResult(net, dataset.name, hidden, spec, epochs, float(lr), int(size), int(seed),
                       losses, norms, initial_loss, accuracy)
