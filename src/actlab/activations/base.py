"""The Activation interface shared by the catalogue and a user's own ``expr:`` functions.

An activation knows its value, its derivative (with a stated convention where f' is undefined),
the points where f' is undefined or f jumps (with both one-sided derivatives), and how the real
line splits into *stretches*: open intervals on which f' is either constant or strictly monotone
with no zero inside. Exact gradient regions (``actlab.regions``) are built from the stretches.
Piecewise-linear activations also list their linear pieces (used by the exact adversarial solver).
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from actlab.errors import ActlabError

if TYPE_CHECKING:
    import torch

INF = math.inf
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Param:
    """A settable parameter of an activation: name, default and the rule a value must satisfy."""

    name: str
    default: float | str
    rule: str = "any finite number"
    check: Callable[[float], bool] = lambda v: True
    choices: tuple[str, ...] = ()

    def parse(self, raw: str | float, activation: str) -> float | str:
        """Convert and validate one value; raise ActlabError with the rule when it is invalid."""
        if self.choices:
            value = str(raw).strip()
            if value not in self.choices:
                allowed = ", ".join(self.choices)
                raise ActlabError(
                    f"{activation}: {self.name}={value!r} is not one of {allowed}")
            return value
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ActlabError(f"{activation}: {self.name}={raw!r} is not a number") from None
        if not math.isfinite(number):
            raise ActlabError(f"{activation}: {self.name}={raw!r} must be finite")
        if not self.check(number):
            raise ActlabError(f"{activation}: {self.name}={raw!r} must be {self.rule}")
        return number


@dataclass(frozen=True)
class Breakpoint:
    """A point x where f' is undefined: a kink (one-sided derivatives differ) or a jump of f.

    ``derivative_used`` is what ``Activation.derivative`` returns at x (PyTorch's convention
    where PyTorch has the function, otherwise the derivative of the piece that contains x).
    """

    x: float
    left_derivative: float
    right_derivative: float
    derivative_used: float
    left_value: float
    right_value: float

    @property
    def jump(self) -> bool:
        """True when f itself is discontinuous at x."""
        return self.left_value != self.right_value

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x, "left_derivative": self.left_derivative,
                "right_derivative": self.right_derivative,
                "derivative_used": self.derivative_used, "jump": self.jump,
                "left_value": self.left_value, "right_value": self.right_value}


@dataclass(frozen=True)
class LinearPiece:
    """f(x) = slope * x + intercept for x between lo and hi (which ends belong to it is flagged)."""

    lo: float
    hi: float
    slope: float
    intercept: float
    closed_lo: bool
    closed_hi: bool

    def contains(self, x: ArrayLike) -> NDArray[np.bool_]:
        """Boolean mask of the points that belong to this piece."""
        x = np.asarray(x, dtype=float)
        above = (x >= self.lo) if self.closed_lo else (x > self.lo)
        below = (x <= self.hi) if self.closed_hi else (x < self.hi)
        return above & below

    def at(self, x: float) -> float:
        """slope * x + intercept (also at an end the piece does not contain: its limit there)."""
        return self.slope * x + self.intercept


@dataclass(frozen=True)
class Stretch:
    """Open interval (lo, hi) on which f' is continuous and either constant (``constant``) or
    strictly monotone with no zero inside (``constant is None``)."""

    lo: float
    hi: float
    constant: float | None


def format_number(value: float) -> str:
    """Shortest text for a parameter value: 1 instead of 1.0, 0.2 instead of 0.20000."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def as_float_array(x: ArrayLike) -> FloatArray:
    """x as a float64 array (0-d for a scalar)."""
    return np.asarray(x, dtype=np.float64)


class Activation(ABC):
    """A scalar activation function f with its derivative and the structure of f'.

    Subclasses declare ``name``, ``params_spec`` and implement value, derivative, the torch twin
    and the stretch structure. Constructors only validate and store parameters.
    """

    name: ClassVar[str]
    params_spec: ClassVar[tuple[Param, ...]] = ()
    piecewise_linear: ClassVar[bool] = False
    formula: ClassVar[str] = ""

    def __init__(self, **params: float | str) -> None:
        declared = {p.name: p for p in self.params_spec}
        unknown = sorted(set(params) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise ActlabError(
                f"{self.name}: unknown parameter {unknown[0]!r} (parameters: {known})")
        self.params: dict[str, float | str] = {
            p.name: p.parse(params.get(p.name, p.default), self.name) for p in self.params_spec}

    # --- identity -------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        """Canonical spec string, e.g. ``plu:alpha=0.2,c=1``; parsing it gives an equal object."""
        if not self.params:
            return self.name
        body = ",".join(f"{k}={v if isinstance(v, str) else format_number(v)}"
                        for k, v in self.params.items())
        return f"{self.name}:{body}"

    def __repr__(self) -> str:
        return f"<Activation {self.spec}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __call__(self, x: ArrayLike) -> FloatArray:
        return self.value(x)

    # --- numbers --------------------------------------------------------------------------
    @abstractmethod
    def value(self, x: ArrayLike) -> FloatArray:
        """f(x), elementwise, float64."""

    @abstractmethod
    def derivative(self, x: ArrayLike) -> FloatArray:
        """f'(x), elementwise; at a breakpoint, ``Breakpoint.derivative_used``."""

    @abstractmethod
    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """The same function in PyTorch, with autograd giving ``derivative`` (conventions too)."""

    # --- structure of f' ------------------------------------------------------------------
    def breakpoints(self) -> tuple[Breakpoint, ...]:
        """Points where f' is undefined or f jumps, in increasing order."""
        return ()

    def critical_points(self) -> tuple[float, ...]:
        """Points (not breakpoints) that split the smooth part of the line into stretches on which
        f' is constant or strictly monotone with no zero inside: zeros of f'' and of f', and
        points where the formula changes."""
        return ()

    def derivative_accurate(self, x: float) -> float:
        """f'(x) at one point, as accurately as a float holds it (default: ``derivative``;
        ``expr:`` evaluates in 60 digits where its float64 formula may cancel)."""
        return float(self.derivative(x))

    def derivative_vanishes(self, x: float) -> bool:
        """Whether f'(x) = 0 at a smooth split point x across which f' keeps its sign (a zero
        of f' that does not change sign). Default: f'(x) is 0 in float64; the catalogue's
        zeros of f' all change sign, ``expr:`` decides in 60-digit arithmetic."""
        return float(self.derivative(x)) == 0.0

    @abstractmethod
    def derivative_limits(self) -> tuple[float, float]:
        """(lim f'(x) as x -> -inf, lim f'(x) as x -> +inf)."""

    def constant_derivative(self, lo: float, hi: float) -> float | None:
        """The constant value of f' on the stretch (lo, hi), or None when f' is not constant."""
        return None

    def tail_proof(self) -> str:
        """How the behaviour of f' beyond the outermost split point is known."""
        return "proven: f' is constant or strictly monotone beyond the outermost split point"

    def split_points(self) -> tuple[float, ...]:
        """Breakpoints and critical points, sorted, without duplicates."""
        points = {b.x for b in self.breakpoints()} | set(self.critical_points())
        return tuple(sorted(points))

    def stretches(self) -> tuple[Stretch, ...]:
        """The open intervals between consecutive split points (with -inf and +inf at the ends)."""
        edges = [-INF, *self.split_points(), INF]
        return tuple(Stretch(lo, hi, self.constant_derivative(lo, hi))
                     for lo, hi in itertools.pairwise(edges))

    def pieces(self) -> tuple[LinearPiece, ...]:
        """The linear pieces of a piecewise-linear activation, left to right."""
        raise ActlabError(f"{self.spec} is not piecewise linear")
