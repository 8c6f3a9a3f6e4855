"""Batched ensembles: N networks of one architecture trained at once, vectorised over the ensemble.

Layout: the ensemble axis is LAST. Layer l's weight has shape (out, in, N), its bias (out, N),
pre-activations and activations (units, samples, N). Every step is an elementwise numpy operation
on contiguous length-N vectors, so net k's arithmetic does not depend on N or on how the ensemble
is cut into chunks: a chunk's results are bit-identical to the same nets inside a larger run.

Why numpy float64 and not torch: float64 is the project's analysis convention; the hidden
activation is evaluated with the catalogue's own ``value`` / ``derivative`` (so the derivative at
a kink is the library's convention, relu'(0) = 0, with no autograd twin in between); and with
matrices of 2 x 2 every framework is bound by per-operation overhead, which the ensemble-last
layout amortises over N nets (measured in ``benchmarks/bench_ensemble.py``).

Initialisation (PyTorch's nn.Linear default): every weight and bias of a layer with fan_in inputs
is U(-1/sqrt(fan_in), 1/sqrt(fan_in)). The draws come from one table: numpy's PCG64 seeded with
``seed`` fills a (nets, P) array of U[0, 1) doubles row by row (``Generator.random``), P being the
parameter count; row k is net k, in the order W_1 (row-major), b_1, W_2, b_2, ...; u maps to
bound * (2u - 1). Net k is therefore the same whatever the ensemble size, and
``init_ensemble(sizes, act, nets=1, seed=seed, start=k)`` re-creates it alone (PCG64.advance
skips the rows before it). Every activation of a sweep starts from the same nets.

Loss and training: binary head, p = sigmoid(z), per-sample loss BCE = softplus(z) - y z (the
cross-entropy of sigmoid(z), computed from the logit), dL/dz = sigmoid(z) - y.
- mode "seed" (the seed's loop): for each epoch, for each sample i in order:
  theta <- theta - lr * grad L_i(theta).
- mode "batch" (full batch): for each epoch: theta <- theta - lr * grad (1/n) sum_i L_i(theta).
PyTorch's nn.BCELoss on p (the seed) clamps log p at -100 and divides by max(p (1 - p), 1e-12) in
its backward; both differ from the exact values only when |z| > 27.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from actlab.activations import Activation, parse_activation
from actlab.data import Dataset, xor
from actlab.errors import ActlabError
from actlab.network import FloatArray, Network

Mode = Literal["seed", "batch"]
MODES = ("seed", "batch")
TASKS = ("xor",)
MAX_NETS = 10_000_000
CHUNK = 4096
SMALL_SWEEP = 20_000_000  # acts x nets x epochs x samples below which processes do not pay
BoolArray = NDArray[np.bool_]


# --- the hidden activation, vectorised -------------------------------------------------------
class Kernel:
    """f(a) and f'(a) together. Piecewise linear: the piece containing a (pieces tile the line;
    piece j >= 1 starts at lo_j, open or closed as it declares), f = slope a + intercept,
    f' = slope, the same arithmetic as ``Activation.value``/``derivative``. Otherwise the
    catalogue's ``value`` and ``derivative``."""

    def __init__(self, activation: Activation) -> None:
        self.activation = activation
        self.pieces = activation.pieces() if activation.piecewise_linear else ()
        self.slopes = np.array([p.slope for p in self.pieces])
        self.intercepts = np.array([p.intercept for p in self.pieces])

    def __call__(self, a: FloatArray) -> tuple[FloatArray, FloatArray]:
        if not self.pieces:
            return self.activation.value(a), self.activation.derivative(a)
        index = np.zeros(a.shape, dtype=np.intp)
        for p in self.pieces[1:]:
            index += (a >= p.lo) if p.closed_lo else (a > p.lo)
        slope = self.slopes[index]
        return slope * a + self.intercepts[index], slope


def sigmoid(z: FloatArray) -> FloatArray:
    """1 / (1 + exp(-z)), evaluated with exp(-|z|) so it never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def bce_from_logits(z: FloatArray, y: FloatArray) -> FloatArray:
    """-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = max(z, 0) - y z + log1p(exp(-|z|))."""
    return np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))


def _affine(weight: FloatArray, bias: FloatArray, h: FloatArray) -> FloatArray:
    """a[o, s, n] = sum_i W[o, i, n] h[i, s, n] + b[o, n]  (h may have n = 1: one shared input)."""
    return (weight[:, :, None, :] * h[None]).sum(axis=1) + bias[:, None, :]


# --- the ensemble ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Ensemble:
    """N binary MLPs of one architecture: ``weights[l]`` (out, in, N), ``biases[l]`` (out, N),
    float64; hidden layer l uses ``activations[l]``; the head is sigmoid with one output.
    ``first`` is net 0's row in the seed's initialisation table (0 unless a chunk)."""

    weights: tuple[FloatArray, ...]
    biases: tuple[FloatArray, ...]
    activations: tuple[Activation, ...]
    first: int = 0

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.biases) or len(self.activations) != len(
                self.weights) - 1:
            raise ActlabError("an ensemble needs one bias per weight and one activation per "
                              "hidden layer")
        if self.weights[-1].shape[0] != 1:
            raise ActlabError("an ensemble has a binary head: one output")

    @property
    def size(self) -> int:
        """N, the number of networks."""
        return self.weights[0].shape[-1]

    @property
    def sizes(self) -> tuple[int, ...]:
        """(inputs, hidden..., 1)."""
        return (self.weights[0].shape[1], *(w.shape[0] for w in self.weights))

    def parameters(self) -> list[FloatArray]:
        """[W_1, b_1, W_2, b_2, ...] with the ensemble axis last (copies)."""
        return [a.copy() for w, b in zip(self.weights, self.biases, strict=True) for a in (w, b)]

    def with_parameters(self, params: Sequence[FloatArray]) -> Ensemble:
        return Ensemble(tuple(params[0::2]), tuple(params[1::2]), self.activations, self.first)

    def network(self, k: int) -> Network:
        """Net k as a ``Network`` (sigmoid head)."""
        return Network.from_arrays([w[:, :, k] for w in self.weights],
                                   [b[:, k] for b in self.biases],
                                   [*self.activations, "sigmoid"], name=f"net {self.first + k}")

    @classmethod
    def from_networks(cls, networks: Sequence[Network]) -> Ensemble:
        """Stack networks of one architecture (binary heads, same hidden activations)."""
        if not networks:
            raise ActlabError("an ensemble needs at least one network")
        ref = networks[0]
        for net in networks:
            if not net.binary or [l.shape for l in net.layers] != [l.shape for l in ref.layers] \
                    or net.hidden_activations != ref.hidden_activations:
                raise ActlabError(f"{net.name} differs from {ref.name} in architecture or "
                                  "activations (an ensemble holds one architecture)")
        weights = tuple(np.stack([n.layers[l].weight for n in networks], axis=-1)
                        for l in range(len(ref.layers)))
        biases = tuple(np.stack([n.layers[l].bias for n in networks], axis=-1)
                       for l in range(len(ref.layers)))
        return cls(weights, biases, ref.hidden_activations)

    def forward(self, x: FloatArray) -> tuple[list[FloatArray], list[FloatArray], FloatArray]:
        """Inputs x (S, d) -> (pre-activations, hidden slopes f'(a), logits z (S, N))."""
        return _forward(self.weights, self.biases, [Kernel(a) for a in self.activations],
                        _inputs(x))[1:]

    def logits(self, x: FloatArray) -> FloatArray:
        """z, shape (S, N)."""
        return self.forward(x)[2]

    def losses(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Mean BCE over the samples, per net: shape (N,)."""
        return bce_from_logits(self.logits(x), np.asarray(y, dtype=float)[:, None]).mean(axis=0)

    def classify(self, x: FloatArray) -> NDArray[np.int64]:
        """Classes (S, N): 1 iff z > 0."""
        return (self.logits(x) > 0).astype(np.int64)

    def dead_units(self, x: FloatArray) -> BoolArray:
        """(hidden units, N): True where f'(a) = 0 on every sample (no gradient passes)."""
        slopes = self.forward(x)[1]
        if not slopes:
            return np.zeros((0, self.size), dtype=bool)
        return np.concatenate([np.all(s == 0, axis=1) for s in slopes], axis=0)


def _inputs(x: FloatArray) -> FloatArray:
    """(S, d) samples -> (d, S, 1): shared by every net."""
    return np.asarray(x, dtype=np.float64).T[:, :, None]


def _forward(weights: Sequence[FloatArray], biases: Sequence[FloatArray],
             kernels: Sequence[Kernel], x: FloatArray
             ) -> tuple[list[FloatArray], list[FloatArray], list[FloatArray], FloatArray]:
    """x (d, S, 1 or N) -> (layer inputs, pre-activations, slopes f'(a), logits (S, N))."""
    inputs, pre, slopes = [], [], []
    h = x
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(h)
        a = _affine(w, b, h)                       # a = W h + b
        pre.append(a)
        if l < len(kernels):
            h, slope = kernels[l](a)               # h = f(a), with f'(a) kept for backward
            slopes.append(slope)
    return inputs, pre, slopes, a[0]


def _gradients(weights: Sequence[FloatArray], biases: Sequence[FloatArray],
               kernels: Sequence[Kernel], x: FloatArray, y: FloatArray) -> list[FloatArray]:
    """Gradients of the mean BCE over the S samples x (d, S, 1), y (S, 1), per net."""
    inputs, _, slopes, z = _forward(weights, biases, kernels, x)
    g = ((sigmoid(z) - y) / z.shape[0])[None]      # dL/dz = (p - y) / S, shape (1, S, N)
    grads: list[FloatArray] = [np.empty(0)] * (2 * len(weights))
    for l in reversed(range(len(weights))):
        grads[2 * l] = (g[:, None] * inputs[l][None]).sum(axis=2)   # dL/dW = sum_s g h^T
        grads[2 * l + 1] = g.sum(axis=1)                            # dL/db = sum_s g
        if l:                                                       # dL/da = (W^T g) * f'(a)
            g = (weights[l][:, :, None, :] * g[:, None]).sum(axis=0) * slopes[l - 1]
    return grads


# --- initialisation --------------------------------------------------------------------------
def parameter_count(sizes: Sequence[int]) -> int:
    """P = sum over layers of (in + 1) out."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def init_table(sizes: Sequence[int], seed: int, start: int, stop: int) -> FloatArray:
    """Rows start..stop-1 of the seed's (nets, P) table of U[0, 1) doubles (PCG64, row-major)."""
    bits = np.random.PCG64(seed)
    bits.advance(start * parameter_count(sizes))     # one 64-bit draw per double
    return np.random.Generator(bits).random((stop - start, parameter_count(sizes)))


def init_ensemble(sizes: Sequence[int], act: str | Activation, nets: int = 1, seed: int = 0,
                  start: int = 0) -> Ensemble:
    """Nets start..start+nets-1 of the seed's ensemble (module docstring):
    W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    >>> init_ensemble((2, 2, 1), "relu", nets=1000, seed=0).size
    1000
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or sizes[-1] != 1 or min(sizes) < 1:
        raise ActlabError(f"sizes must be (inputs, hidden..., 1), got {sizes}")
    if nets < 1 or start < 0:
        raise ActlabError(f"need nets >= 1 and start >= 0, got {nets}, {start}")
    stop = start + nets
    table = init_table(sizes, seed, start, stop).T    # (P, N)
    params, row = [], 0
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        for shape in ((fan_out, fan_in), (fan_out,)):
            count = math.prod(shape)
            u = table[row:row + count].reshape(*shape, stop - start)
            params.append(bound * (2.0 * u - 1.0))
            row += count
    activation = parse_activation(act)
    return Ensemble(tuple(params[0::2]), tuple(params[1::2]),
                    (activation,) * (len(sizes) - 2), start)


# --- training --------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnsembleRun:
    """A trained ensemble: start, end, settings; ``epoch_loss`` (epochs, N) when recorded (mean
    loss over all samples at each epoch's end); ``diverged`` marks nets with non-finite
    parameters."""

    initial: Ensemble
    final: Ensemble
    data: Dataset
    mode: str
    epochs: int
    lr: float
    diverged: BoolArray
    epoch_loss: FloatArray | None = None


def check_schedule(epochs: int, lr: float, mode: str) -> None:
    """ActlabError unless 1 <= epochs <= 1e6, lr > 0 finite and mode is seed or batch."""
    from actlab.train import MAX_EPOCHS

    if not isinstance(epochs, int | np.integer) or not 1 <= epochs <= MAX_EPOCHS:
        raise ActlabError(f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {epochs}")
    if not (math.isfinite(lr) and lr > 0):
        raise ActlabError(f"the learning rate must be a positive finite number, got {lr}")
    if mode not in MODES:
        raise ActlabError(f"mode must be seed (per-sample SGD in order) or batch (full batch), "
                          f"got {mode!r}")


def train_ensemble(ensemble: Ensemble, data: Dataset | None = None, epochs: int = 100,
                   lr: float = 0.1, mode: Mode = "seed", history: bool = False) -> EnsembleRun:
    """SGD on every net at once (module docstring: modes, loss, update). Nets whose parameters
    stop being finite are flagged in ``diverged``; the others are unaffected."""
    data = xor() if data is None else data
    y = data.labels()
    if np.any((y != 0) & (y != 1)):
        raise ActlabError("ensemble training needs binary labels 0/1")
    if data.x.shape[1] != ensemble.sizes[0]:
        raise ActlabError(f"the data have {data.x.shape[1]} features, the nets take "
                          f"{ensemble.sizes[0]}")
    check_schedule(epochs, lr, mode)
    params = ensemble.parameters()
    weights, biases = params[0::2], params[1::2]
    kernels = [Kernel(a) for a in ensemble.activations]
    x, ys = _inputs(data.x), y[:, None]
    batches = ([(x[:, i:i + 1], ys[i:i + 1]) for i in range(len(y))] if mode == "seed"
               else [(x, ys)])
    curve = np.empty((epochs, ensemble.size)) if history else None
    with np.errstate(all="ignore"):
        for epoch in range(epochs):
            for xb, yb in batches:
                grads = _gradients(weights, biases, kernels, xb, yb)
                for p, g in zip(params, grads, strict=True):
                    p -= lr * g                                     # theta <- theta - lr g
            if curve is not None:
                z = _forward(weights, biases, kernels, x)[3]
                curve[epoch] = bce_from_logits(z, ys).mean(axis=0)
    diverged = ~np.all([np.all(np.isfinite(p.reshape(-1, ensemble.size)), axis=0)
                        for p in params], axis=0)
    return EnsembleRun(ensemble, ensemble.with_parameters(params), data, mode, epochs,
                       float(lr), diverged, curve)


# --- outcomes per net ------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcomes:
    """Per-net results of a run (arrays over the nets): final mean loss (inf if diverged),
    solved (every sample right), accuracy, dead hidden units at the start and at the end
    (units, N), diverged."""

    first: int
    final_loss: FloatArray
    solved: BoolArray
    accuracy: FloatArray
    dead_initial: BoolArray
    dead_final: BoolArray
    diverged: BoolArray

    @classmethod
    def of(cls, run: EnsembleRun) -> Outcomes:
        x, y = run.data.x, run.data.labels()
        with np.errstate(all="ignore"):
            correct = run.final.classify(x) == y[:, None].astype(np.int64)
            loss = np.where(run.diverged, np.inf, run.final.losses(x, y))
            dead_end = run.final.dead_units(x) & ~run.diverged
        return cls(run.initial.first, loss, np.all(correct, axis=0) & ~run.diverged,
                   np.where(run.diverged, 0.0, correct.mean(axis=0)),
                   run.initial.dead_units(x), dead_end, run.diverged)

    @classmethod
    def concatenate(cls, parts: Sequence[Outcomes]) -> Outcomes:
        """Chunks in net order -> one."""
        return cls(parts[0].first, *(np.concatenate([getattr(p, name) for p in parts], axis=-1)
                                     for name in ("final_loss", "solved", "accuracy",
                                                  "dead_initial", "dead_final", "diverged")))


# --- sweeps ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepJob:
    """One unit of sweep work, plain data (picklable): nets start..stop-1 of one activation."""

    task: str
    act: str
    hidden: tuple[int, ...]
    seed: int
    start: int
    stop: int
    epochs: int
    lr: float
    mode: str


def run_sweep_job(job: SweepJob) -> Outcomes:
    """Initialise, train and score one chunk (a top-level function, so workers can import it)."""
    data = task_data(job.task)
    sizes = (data.x.shape[1], *job.hidden, 1)
    ensemble = init_ensemble(sizes, job.act, job.stop - job.start, job.seed, job.start)
    return Outcomes.of(train_ensemble(ensemble, data, job.epochs, job.lr, job.mode))  # type: ignore[arg-type]


def task_data(task: str) -> Dataset:
    """The data of a sweep task (xor: the four samples)."""
    if task != "xor":
        raise ActlabError(f"unknown task {task!r} (tasks: {', '.join(TASKS)})")
    return xor()


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for a proportion:
    (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    if successes in (0, n):  # the closed form, without rounding noise at the ends
        bound = n / (n + z * z)
        return (0.0, 1.0 - bound) if successes == 0 else (bound, 1.0)
    p = successes / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


def quantile(values: FloatArray, q: float) -> float:
    """numpy's default (linear) quantile of sorted v at position q (n - 1), +inf when it touches
    an infinite value (a diverged net), without inf - inf."""
    v = np.sort(values)
    position = q * (v.size - 1)
    lo, hi = math.floor(position), math.ceil(position)
    if not (math.isfinite(v[lo]) and math.isfinite(v[hi])):
        return math.inf
    return float(v[lo] + (position - lo) * (v[hi] - v[lo]))


@dataclass(frozen=True)
class SweepRow:
    """One activation's ensemble. Fractions are over nets (solved) or hidden units (dead);
    a loss of a diverged net counts as +inf."""

    act: str
    outcomes: Outcomes = field(repr=False)

    @property
    def nets(self) -> int:
        return self.outcomes.solved.size

    def to_dict(self) -> dict[str, Any]:
        o = self.outcomes
        solved = int(o.solved.sum())
        quartiles = [quantile(o.final_loss, q) for q in (0.25, 0.5, 0.75)]
        finite = lambda v: v if math.isfinite(v) else None  # noqa: E731
        return {"act": self.act, "nets": self.nets, "solved_fraction": solved / self.nets,
                "median_final_loss": finite(quartiles[1]),
                "dead_unit_fraction": float(o.dead_final.mean()) if o.dead_final.size else 0.0,
                "solved_count": solved, "solved_fraction_ci95": list(
                    wilson_interval(solved, self.nets)),
                "final_loss_quartiles": [finite(q) for q in quartiles],
                "mean_accuracy": float(o.accuracy.mean()),
                "dead_unit_fraction_initial": float(o.dead_initial.mean())
                if o.dead_initial.size else 0.0,
                "nets_with_dead_unit_fraction": float(np.any(o.dead_final, axis=0).mean()),
                "diverged_fraction": float(o.diverged.mean())}


@dataclass(frozen=True)
class SweepResult:
    """Rows per activation plus the settings that produced them."""

    task: str
    hidden: tuple[int, ...]
    nets: int
    epochs: int
    lr: float
    seed: int
    mode: str
    rows: tuple[SweepRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "hidden": list(self.hidden), "nets": self.nets,
                "epochs": self.epochs, "lr": self.lr, "seed": self.seed, "mode": self.mode,
                "init": "PyTorch nn.Linear default U(-1/sqrt(fan_in), 1/sqrt(fan_in)); net k = "
                        "row k of PCG64(seed).random((nets, P)); the same nets for every act",
                "rows": [r.to_dict() for r in self.rows]}


def sweep_jobs(acts: Sequence[str | Activation], task: str = "xor", nets: int = 1000,
               epochs: int = 100, lr: float = 0.1, seed: int = 0, mode: str = "seed",
               hidden: Sequence[int] = (2,), chunk: int = CHUNK) -> list[SweepJob]:
    """Validate the settings and cut the work into jobs: per activation, nets in chunks."""
    task_data(task)
    check_schedule(epochs, lr, mode)
    if not isinstance(nets, int | np.integer) or not 1 <= nets <= MAX_NETS:
        raise ActlabError(f"nets must be a whole number from 1 to {MAX_NETS}, got {nets}")
    if not isinstance(chunk, int | np.integer) or chunk < 1:
        raise ActlabError(f"chunk must be a positive number of nets, got {chunk}")
    if not hidden or any(h < 1 or h > 4096 for h in hidden):
        raise ActlabError(f"hidden sizes must be whole numbers from 1 to 4096, got {hidden}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ActlabError(f"seed must be a whole number >= 0, got {seed}")
    if not acts:
        raise ActlabError("give at least one activation")
    specs = [parse_activation(a).spec for a in acts]
    return [SweepJob(task, spec, tuple(int(h) for h in hidden), int(seed), start,
                     min(start + chunk, nets), int(epochs), float(lr), mode)
            for spec in specs for start in range(0, nets, chunk)]


def sweep(acts: Sequence[str | Activation], task: str = "xor", nets: int = 1000,
          epochs: int = 100, lr: float = 0.1, seed: int = 0, mode: str = "seed",
          hidden: Sequence[int] = (2,), chunk: int = CHUNK, scheduler: str | None = None,
          workers: int | None = None, progress: bool = True) -> SweepResult:
    """Train ``nets`` nets per activation (the same initialisations for each) and summarise.
    Jobs (per activation, chunks of ``chunk`` nets) run through ``actlab.engine.run_map``: on
    the Dask ``scheduler`` if given, else in ``workers`` local processes; ``workers=None`` runs
    a small sweep (<= SMALL_SWEEP net-sample updates, a few seconds) in this process and a
    larger one on every CPU. The result does not depend on where the jobs ran."""
    from actlab.engine import run_map

    jobs = sweep_jobs(acts, task, nets, epochs, lr, seed, mode, hidden, chunk)
    if scheduler is None and workers is None and len(acts) * nets * epochs * len(
            task_data(task).x) <= SMALL_SWEEP:
        workers = 1      # starting processes would cost more than the whole sweep
    outcomes = run_map(run_sweep_job, jobs, scheduler=scheduler, workers=workers,
                       progress=progress, description="training ensembles")
    per_act = math.ceil(nets / chunk)               # jobs are in order: act by act, chunk by chunk
    rows = [SweepRow(jobs[i].act, Outcomes.concatenate(outcomes[i:i + per_act]))
            for i in range(0, len(jobs), per_act)]
    return SweepResult(task, tuple(int(h) for h in hidden), int(nets), int(epochs), float(lr),
                       int(seed), mode, tuple(rows))
