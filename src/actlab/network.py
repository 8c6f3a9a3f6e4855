"""Multi-layer perceptrons of dense layers, each with an activation from the catalogue.

A network is a list of layers h_l = f_l(W_l h_{l-1} + b_l). The last layer is the head:
``sigmoid`` with one output (binary: p = sigmoid(z), class 1 iff z > 0), or ``softmax`` /
``identity`` with several outputs (multi-class: class = argmax of the logits z, ties to the
lowest index). For analysis the head is applied to the *logits* z = W_L h_{L-1} + b_L.

Training view (``Network.forward`` / ``Network.backward``): the forward pass keeps every
intermediate, the loss is computed stably from the logits (binary: BCE = y softplus(-z) +
(1-y) softplus(z); multi-class: CE = logsumexp(z) - z_y via log-softmax), and the backward pass
is written out layer by layer from small steps, each backward next to its forward (``dense`` /
``dense_backward``, ``activate`` / ``activate_backward``, the two losses). At a breakpoint of
an activation the derivative is the catalogue's convention (``Activation.derivative``:
relu'(0) = 0, PyTorch's), or either one-sided derivative on request (``kink="left"``/``"right"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from actlab.activations import Activation, parse_activation
from actlab.errors import ActlabError

if TYPE_CHECKING:
    import torch

FloatArray = NDArray[np.float64]
HEADS = ("sigmoid", "softmax", "identity")
Reduction = Literal["mean", "sum", "none"]
KinkSide = Literal["default", "left", "right"]


@dataclass(frozen=True)
class Layer:
    """One dense layer: out = activation(weight @ x + bias); weight has shape (out, in)."""

    weight: FloatArray
    bias: FloatArray
    activation: Activation

    @property
    def shape(self) -> tuple[int, int]:
        """(outputs, inputs)."""
        return self.weight.shape  # type: ignore[return-value]


@dataclass(frozen=True)
class Network:
    """An MLP. ``layers[:-1]`` are hidden layers; ``layers[-1]`` is the output layer (head)."""

    layers: tuple[Layer, ...]
    name: str = field(default="network", compare=False)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ActlabError("a network needs at least one layer")
        for i, layer in enumerate(self.layers):
            if layer.weight.ndim != 2 or layer.bias.shape != (layer.weight.shape[0],):
                raise ActlabError(f"layer {i}: weight must be (out, in) and bias (out,), got "
                                  f"{layer.weight.shape} and {layer.bias.shape}")
            if 0 in layer.weight.shape:
                raise ActlabError(f"layer {i}: weight has an empty dimension {layer.weight.shape}")
            if not (np.all(np.isfinite(layer.weight)) and np.all(np.isfinite(layer.bias))):
                raise ActlabError(f"layer {i}: weights and biases must be finite numbers")
            if i > 0 and layer.weight.shape[1] != self.layers[i - 1].weight.shape[0]:
                raise ActlabError(f"layer {i}: takes {layer.weight.shape[1]} inputs but layer "
                                  f"{i - 1} gives {self.layers[i - 1].weight.shape[0]}")
        for i, layer in enumerate(self.layers[:-1]):
            if layer.activation.name == "softmax":
                raise ActlabError(f"layer {i}: softmax can only be the last layer's activation")
        head = self.layers[-1].activation.name
        if head not in HEADS:
            raise ActlabError(f"the last layer's activation must be one of {', '.join(HEADS)}, "
                              f"not {head!r}")
        if head == "sigmoid" and self.num_outputs != 1:
            raise ActlabError("a sigmoid head must have exactly one output")
        if head == "softmax" and self.num_outputs < 2:
            raise ActlabError("a softmax head needs at least two outputs")

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, weights: list[ArrayLike], biases: list[ArrayLike],
                    activations: list[str | Activation], name: str = "network") -> Network:
        """Build from per-layer weights (out, in), biases (out,) and activation specs."""
        if not (len(weights) == len(biases) == len(activations)):
            raise ActlabError("weights, biases and activations must have one entry per layer")
        layers = []
        for w, b, act in zip(weights, biases, activations, strict=True):
            layers.append(Layer(np.array(w, dtype=np.float64, ndmin=2),
                                np.array(b, dtype=np.float64, ndmin=1), _head_or_hidden(act)))
        return cls(tuple(layers), name)

    def with_hidden_activation(self, activation: str | Activation) -> Network:
        """The same weights with every hidden activation replaced (the retrofit)."""
        act = parse_activation(activation)
        hidden = tuple(Layer(l.weight, l.bias, act) for l in self.layers[:-1])
        return Network((*hidden, self.layers[-1]), f"{self.name} [{act.spec}]")

    # --- shape ----------------------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        return self.layers[0].weight.shape[1]

    @property
    def num_outputs(self) -> int:
        return self.layers[-1].weight.shape[0]

    @property
    def binary(self) -> bool:
        """True for one output (class 1 iff logit > 0); False for argmax over several."""
        return self.num_outputs == 1

    @property
    def num_classes(self) -> int:
        return 2 if self.binary else self.num_outputs

    @property
    def hidden_layers(self) -> tuple[Layer, ...]:
        return self.layers[:-1]

    @property
    def hidden_activations(self) -> tuple[Activation, ...]:
        return tuple(l.activation for l in self.hidden_layers)

    # --- evaluation -----------------------------------------------------------------------
    def _as_batch(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=np.float64)
        batch = x.reshape(1, -1) if x.ndim == 1 else x
        if batch.ndim != 2 or batch.shape[1] != self.input_dim:
            raise ActlabError(f"inputs must have {self.input_dim} features, got shape {x.shape}")
        return batch

    def hidden(self, x: ArrayLike) -> FloatArray:
        """The last hidden layer's output for a batch (n, d) or one input (d,)."""
        h = self._as_batch(x)
        for layer in self.hidden_layers:
            h = layer.activation.value(h @ layer.weight.T + layer.bias)
        return h

    def logits(self, x: ArrayLike) -> FloatArray:
        """Output pre-activations z, shape (n, outputs)."""
        out = self.layers[-1]
        return self.hidden(x) @ out.weight.T + out.bias

    def classify(self, x: ArrayLike) -> NDArray[np.int64]:
        """Classes: binary 1 iff z > 0; multi-class argmax (ties to the lowest index)."""
        z = self.logits(x)
        if self.binary:
            return (z[:, 0] > 0).astype(np.int64)
        return np.argmax(z, axis=1).astype(np.int64)

    def predict_proba(self, x: ArrayLike) -> FloatArray:
        """Binary: p = sigmoid(z), shape (n,). Multi-class: softmax(z), shape (n, k)."""
        from scipy.special import expit, softmax

        z = self.logits(x)
        return expit(z[:, 0]) if self.binary else softmax(z, axis=1)

    def __call__(self, x: ArrayLike) -> FloatArray:
        return self.logits(x)

    def torch_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits in PyTorch (batch (n, d) -> (n, outputs)) with each activation's torch twin,
        so autograd gives the same derivatives and kink conventions as the library."""
        import torch

        h = x
        for layer in self.hidden_layers:
            w = torch.as_tensor(layer.weight, dtype=x.dtype)
            b = torch.as_tensor(layer.bias, dtype=x.dtype)
            h = layer.activation.torch(h @ w.T + b)
        out = self.layers[-1]
        return h @ torch.as_tensor(out.weight, dtype=x.dtype).T + torch.as_tensor(
            out.bias, dtype=x.dtype)

    # --- parameters ---------------------------------------------------------------------
    def parameters(self) -> list[FloatArray]:
        """[W_1, b_1, W_2, b_2, ...]: copies, in layer order."""
        return [a.copy() for layer in self.layers for a in (layer.weight, layer.bias)]

    def with_parameters(self, params: Sequence[ArrayLike], name: str | None = None) -> Network:
        """The same architecture and activations with new [W_1, b_1, ...] (as ``parameters``)."""
        if len(params) != 2 * len(self.layers):
            raise ActlabError(f"expected {2 * len(self.layers)} parameter arrays, "
                              f"got {len(params)}")
        layers = []
        for i, layer in enumerate(self.layers):
            w = np.array(params[2 * i], dtype=np.float64)
            b = np.array(params[2 * i + 1], dtype=np.float64)
            if w.shape != layer.weight.shape or b.shape != layer.bias.shape:
                raise ActlabError(f"layer {i}: parameter shapes {w.shape}, {b.shape} differ from "
                                  f"{layer.weight.shape}, {layer.bias.shape}")
            layers.append(Layer(w, b, layer.activation))
        return Network(tuple(layers), self.name if name is None else name)

    # --- training view: forward with every intermediate, explicit backward ----------------
    def forward(self, x: ArrayLike, y: ArrayLike | None = None) -> ForwardPass:
        """Forward pass over a batch keeping every intermediate; with labels y also the loss.

        a_l = h_{l-1} W_l^T + b_l,  h_l = f_l(a_l) (hidden),  z = a_L (logits);
        binary p = sigmoid(z), multi-class p = softmax(z); loss per sample (see the steps below).
        """
        from scipy.special import expit, softmax

        x_batch = h = self._as_batch(x)
        pre, post = [], []
        for layer in self.hidden_layers:
            a = dense(h, layer.weight, layer.bias)
            h = activate(layer.activation, a)
            pre.append(a)
            post.append(h)
        out = self.layers[-1]
        z = dense(h, out.weight, out.bias)
        pre.append(z)
        labels = None if y is None else self._labels(y, len(z))
        if self.binary:
            proba = expit(z[:, 0])
            losses = None if labels is None else binary_cross_entropy(z[:, 0], labels)
        else:
            proba = softmax(z, axis=1)
            losses = None if labels is None else cross_entropy(z, labels)
        return ForwardPass(x_batch, tuple(pre), tuple(post), z, proba, labels, losses)

    def check_finite(self, x: ArrayLike, y: ArrayLike | None = None) -> None:
        """Raise ActlabError unless the forward pass on ``x`` (and, with labels ``y``, every
        per-sample gradient) is finite in float64: finite weights and inputs can still be too
        large (1e308 overflows at the first layer). Evaluated with numpy warnings silenced."""
        with np.errstate(all="ignore"):
            fwd = self.forward(x, y)
            arrays = [*fwd.pre_activations, *fwd.activations]
            if y is not None:
                arrays += [fwd.losses, *self.backward(fwd, "none").parameters()]
            if not all(np.all(np.isfinite(a)) for a in arrays if a is not None):
                raise ActlabError(f"{self.name}: the values or gradients overflow float64 on "
                                  "these inputs (weights or inputs too large)")

    def backward(self, fwd: ForwardPass, reduction: Reduction = "mean",
                 kink: KinkSide = "default") -> Gradients:
        """Gradients of the loss for every parameter and for the input, layer by layer.

        reduction: "mean" (gradient of the batch-mean loss), "sum", or "none" (per-sample
        gradients, weight shape (n, out, in)). The input gradient is always per sample:
        dL_i/dx_i, shape (n, d). kink: derivative used where a pre-activation sits exactly on a
        breakpoint ("default": the catalogue's, relu'(0) = 0; "left"/"right": one-sided).
        """
        if fwd.y is None:
            raise ActlabError("backward needs labels: call forward(x, y)")
        if reduction not in ("mean", "sum", "none"):
            raise ActlabError(f"reduction must be mean, sum or none, not {reduction!r}")
        if self.binary:
            g = binary_cross_entropy_backward(fwd.logits[:, 0], fwd.y)[:, None]
        else:
            g = cross_entropy_backward(fwd.logits, fwd.y)
        d_logits = g
        inputs = (fwd.x, *fwd.activations)
        d_w, d_b, d_pre = [], [], []
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            if i < len(self.layers) - 1:
                g = activate_backward(g, layer.activation, fwd.pre_activations[i], kink)
            d_pre.append(g)
            g, dw, db = dense_backward(g, inputs[i], layer.weight, reduction)
            d_w.append(dw)
            d_b.append(db)
        return Gradients(tuple(reversed(d_w)), tuple(reversed(d_b)), g, d_logits,
                         tuple(reversed(d_pre)), reduction)

    def loss_and_gradients(self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "mean",
                           kink: KinkSide = "default") -> tuple[ForwardPass, Gradients]:
        """forward(x, y) then backward: the batch's intermediates and gradients."""
        fwd = self.forward(x, y)
        return fwd, self.backward(fwd, reduction, kink)

    def _labels(self, y: ArrayLike, n: int) -> FloatArray:
        """Labels as floats (binary: targets in [0, 1]; multi-class: integer classes 0..k-1)."""
        try:
            labels = np.asarray(y, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ActlabError("labels must be numbers") from None
        if labels.shape != (n,):
            raise ActlabError(f"need one label per sample: {n} samples, {labels.size} labels")
        if not np.all(np.isfinite(labels)):
            raise ActlabError("labels must be finite numbers")
        if self.binary:
            if np.any((labels < 0) | (labels > 1)):
                raise ActlabError("binary labels must lie in [0, 1]")
        elif np.any((labels != np.round(labels)) | (labels < 0) | (labels >= self.num_outputs)):
            raise ActlabError(f"class labels must be integers 0..{self.num_outputs - 1}")
        return labels


# --- the steps of an MLP: each forward next to its backward (micrograd style) ----------------
# g always denotes dL/d(output of the step), per sample: one row per sample.

def dense(x: FloatArray, weight: FloatArray, bias: FloatArray) -> FloatArray:
    """a = x W^T + b for a batch of rows x (n, in); W is (out, in)."""
    return x @ weight.T + bias


def dense_backward(g: FloatArray, x: FloatArray, weight: FloatArray, reduction: Reduction
                   ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """a = x W^T + b  =>  dL/dx = g W,  dL/dW = g_i x_i^T,  dL/db = g_i (per sample, or summed /
    averaged over the batch as ``reduction`` says)."""
    return g @ weight, _outer(g, x, reduction), _total(g, reduction)


def activate(activation: Activation, a: FloatArray) -> FloatArray:
    """h = f(a), elementwise."""
    return activation.value(a)


def activate_backward(g: FloatArray, activation: Activation, a: FloatArray,
                      kink: KinkSide = "default") -> FloatArray:
    """h = f(a)  =>  dL/da = dL/dh * f'(a)."""
    return g * activation_derivative(activation, a, kink)


def binary_cross_entropy(z: FloatArray, y: FloatArray) -> FloatArray:
    """L = -[y log p + (1-y) log(1-p)] with p = sigmoid(z), computed from the logit as
    y softplus(-z) + (1-y) softplus(z): finite and accurate for every z (no log(0), no
    cancellation)."""
    return y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z)


def binary_cross_entropy_backward(z: FloatArray, y: FloatArray) -> FloatArray:
    """dL/dz = p - y, computed as (1-y) sigmoid(z) - y sigmoid(-z) (no cancellation)."""
    from scipy.special import expit

    return (1 - y) * expit(z) - y * expit(-z)


def cross_entropy(z: FloatArray, y: FloatArray) -> FloatArray:
    """L = -log softmax(z)_y = logsumexp(z) - z_y, via log-softmax."""
    from scipy.special import log_softmax

    return -log_softmax(z, axis=1)[np.arange(len(z)), y.astype(np.int64)]


def cross_entropy_backward(z: FloatArray, y: FloatArray) -> FloatArray:
    """dL/dz = softmax(z) - onehot(y)."""
    from scipy.special import softmax

    g = softmax(z, axis=1)
    g[np.arange(len(z)), y.astype(np.int64)] -= 1.0
    return g


@dataclass(frozen=True)
class Kink:
    """A pre-activation that sits exactly on a breakpoint of its activation (f' undefined; a
    kink, or a jump of f when ``jump``)."""

    layer: int
    sample: int
    unit: int
    x: float
    left_derivative: float
    right_derivative: float
    derivative_used: float
    jump: bool = False


@dataclass(frozen=True)
class ForwardPass:
    """Every intermediate of a forward pass over n samples.

    pre_activations[l] = a_l, shape (n, out_l), the last one being the logits z;
    activations[l] = h_l = f_l(a_l) for the hidden layers; proba = sigmoid(z) (n,) for a binary
    head or softmax(z) (n, k); losses (n,) per sample when labels were given.
    """

    x: FloatArray
    pre_activations: tuple[FloatArray, ...]
    activations: tuple[FloatArray, ...]
    logits: FloatArray
    proba: FloatArray
    y: FloatArray | None
    losses: FloatArray | None

    @property
    def loss(self) -> float:
        """Batch-mean loss (1/n) sum_i loss_i."""
        if self.losses is None:
            raise ActlabError("no labels were given, so there is no loss")
        return float(np.mean(self.losses))

    def kinks(self, network: Network) -> list[Kink]:
        """Hidden pre-activations that sit exactly on a breakpoint of their activation."""
        found = []
        for l, (layer, a) in enumerate(zip(network.hidden_layers, self.pre_activations,
                                           strict=False)):
            for bp in layer.activation.breakpoints():
                for sample, unit in zip(*np.nonzero(a == bp.x), strict=True):
                    found.append(Kink(l, int(sample), int(unit), bp.x, bp.left_derivative,
                                      bp.right_derivative, bp.derivative_used, bp.jump))
        return sorted(found, key=lambda k: (k.sample, k.layer, k.unit))


@dataclass(frozen=True)
class Gradients:
    """dL/dW_l and dL/db_l per layer (reduced as ``reduction`` says), dL_i/dx_i per sample, and
    the per-sample deltas dL_i/dz_i (logits) and dL_i/da_l (every layer's pre-activation)."""

    weight: tuple[FloatArray, ...]
    bias: tuple[FloatArray, ...]
    input: FloatArray
    logits: FloatArray
    pre_activations: tuple[FloatArray, ...]
    reduction: str

    def parameters(self) -> list[FloatArray]:
        """[dW_1, db_1, dW_2, db_2, ...], matching ``Network.parameters``."""
        return [g for pair in zip(self.weight, self.bias, strict=True) for g in pair]

    def norm(self) -> float:
        """Euclidean norm of all parameter gradients together (reduced gradients only)."""
        if self.reduction == "none":
            raise ActlabError("norm of per-sample gradients: reduce them first")
        return float(np.sqrt(sum(float(np.sum(g * g)) for g in self.parameters())))


def activation_derivative(activation: Activation, a: FloatArray,
                          kink: KinkSide = "default") -> FloatArray:
    """f'(a) elementwise; exactly at a breakpoint the catalogue's convention ("default") or the
    left / right one-sided derivative."""
    d = np.asarray(activation.derivative(a), dtype=np.float64)
    if kink == "default":
        return d
    if kink not in ("left", "right"):
        raise ActlabError(f"kink must be default, left or right, not {kink!r}")
    for bp in activation.breakpoints():
        side = bp.left_derivative if kink == "left" else bp.right_derivative
        d = np.where(a == bp.x, side, d)
    return d


def _outer(g: FloatArray, x: FloatArray, reduction: Reduction) -> FloatArray:
    """g_i x_i^T for each sample (none, shape (n, out, in)), their sum g^T x, or the mean."""
    if reduction == "none":
        return g[:, :, None] * x[:, None, :]
    return (g.T @ x) / (len(g) if reduction == "mean" else 1)


def _total(g: FloatArray, reduction: Reduction) -> FloatArray:
    """g_i for each sample (none), their sum, or their mean."""
    if reduction == "none":
        return g
    return g.sum(axis=0) / (len(g) if reduction == "mean" else 1)


def _head_or_hidden(spec: str | Activation) -> Activation:
    """Parse a layer's activation; ``softmax`` (heads only) is represented by identity logits."""
    if isinstance(spec, str) and spec.strip().lower() == "softmax":
        return _SOFTMAX
    return parse_activation(spec)


class _Softmax(Activation):
    """Softmax head marker: the analysis works on its logits (softmax is not elementwise)."""

    name = "softmax"
    formula = "exp(z_i) / sum_j exp(z_j)"

    def value(self, x):  # type: ignore[override]
        raise ActlabError("softmax is a head over all outputs, not an elementwise activation")

    derivative = value  # type: ignore[assignment]
    torch = value  # type: ignore[assignment]

    def derivative_limits(self) -> tuple[float, float]:
        raise ActlabError("softmax is not elementwise")


_SOFTMAX = _Softmax()
