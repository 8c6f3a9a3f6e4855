"""Activation spec strings: ``NAME`` or ``NAME:key=value[,key=value...]`` or ``expr:<text>``."""

from __future__ import annotations

from actlab.activations.base import Activation
from actlab.activations.piecewise import PLU, HardTanh, Identity, JumpReLU, LeakyReLU, ReLU
from actlab.activations.smooth import ELU, GELU, SELU, Mish, Sigmoid, Softplus, Swish, Tanh
from actlab.errors import ActlabError

CATALOGUE: dict[str, type[Activation]] = {cls.name: cls for cls in (
    ReLU, LeakyReLU, Sigmoid, Tanh, PLU, Swish, ELU, GELU, Softplus, SELU, Mish, HardTanh,
    JumpReLU, Identity)}
ALIASES = {"silu": "swish", "logistic": "sigmoid", "linear": "identity", "none": "identity"}

HOMEWORK_SPECS = ("relu", "sigmoid", "plu:alpha=0.2,c=1", "swish:beta=1", "elu:alpha=0.1", "gelu")


def parse_activation(spec: str | Activation) -> Activation:
    """Build the Activation a spec string names, e.g. ``plu:alpha=0.2,c=1``.

    Raises ActlabError for unknown names, unknown keys, malformed pairs or invalid values.
    """
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise ActlabError(f"activation spec must be text, got {type(spec).__name__}")
    text = spec.strip()
    name, sep, body = text.partition(":")
    name = name.strip().lower()
    if name == "expr":
        if not sep:
            raise ActlabError("expr: write expr:<expression in x>, e.g. expr:x*sigmoid(2.5*x)")
        from actlab.activations.expression import Expression  # sympy: imported only when used

        return Expression(body)
    name = ALIASES.get(name, name)
    if name not in CATALOGUE:
        known = ", ".join([*CATALOGUE, "expr:<expression>"])
        raise ActlabError(f"unknown activation {name!r} (known: {known})")
    params: dict[str, str] = {}
    if sep:
        if not body.strip():
            raise ActlabError(f"{name}: nothing after ':' in {spec!r}")
        for pair in body.split(","):
            key, eq, value = pair.partition("=")
            key = key.strip()
            if not eq or not key or not value.strip():
                raise ActlabError(f"{name}: {pair.strip()!r} is not key=value in {spec!r}")
            if key in params:
                raise ActlabError(f"{name}: parameter {key!r} given twice")
            params[key] = value.strip()
    return CATALOGUE[name](**params)


def homework_activations() -> list[Activation]:
    """The six activations the homework asks about, with the homework's parameters."""
    return [parse_activation(s) for s in HOMEWORK_SPECS]
