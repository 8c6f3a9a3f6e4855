"""Multi-layer perceptrons of dense layers, each with an activation from the catalogue.

A network is a list of layers h_l = f_l(W_l h_{l-1} + b_l). The last layer is the head:
``sigmoid`` with one output (binary: p = sigmoid(z), class 1 iff z > 0), or ``softmax`` /
``identity`` with several outputs (multi-class: class = argmax of the logits z, ties to the
lowest index). For analysis the head is applied to the *logits* z = W_L h_{L-1} + b_L.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from actlab.activations import Activation, parse_activation
from actlab.errors import ActlabError

if TYPE_CHECKING:
    import torch

FloatArray = NDArray[np.float64]
HEADS = ("sigmoid", "softmax", "identity")


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
