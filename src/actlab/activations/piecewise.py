"""Piecewise-linear activations, each defined by its list of linear pieces.

Value, derivative, breakpoints, stretches and the torch twin all follow from the pieces, so the
convention at a breakpoint is simply "the piece that contains the point": f'(x) there is that
piece's slope. The pieces are chosen so this matches PyTorch (relu'(0) = 0, leaky_relu'(0) =
slope, hardtanh'(+-1) = 0).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from actlab.activations.base import (
    INF,
    Activation,
    Breakpoint,
    FloatArray,
    LinearPiece,
    Param,
    as_float_array,
)
from actlab.errors import ActlabError

if TYPE_CHECKING:
    import torch


class PiecewiseLinear(Activation):
    """Base class: everything is derived from ``pieces()``, which must tile the real line."""

    piecewise_linear = True

    def value(self, x: ArrayLike) -> FloatArray:
        """slope * x + intercept of the piece containing x (each piece only on its own points,
        so a piece that would overflow elsewhere, 5 x at x = -1e308, raises no warning)."""
        x = as_float_array(x)
        out = np.full(x.shape, np.nan)
        for p in self.pieces():
            mask = p.contains(x)
            out[mask] = p.slope * x[mask] + p.intercept
        return out

    def derivative(self, x: ArrayLike) -> FloatArray:
        """The slope of the piece containing x (the convention at a breakpoint)."""
        x = as_float_array(x)
        out = np.full(x.shape, np.nan)
        for p in self.pieces():
            out[p.contains(x)] = p.slope
        return out

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """Sum over pieces of mask * (slope x + intercept); masks carry no gradient."""
        out = x * 0.0
        for p in self.pieces():
            lo_ok = (x >= p.lo) if p.closed_lo else (x > p.lo)
            hi_ok = (x <= p.hi) if p.closed_hi else (x < p.hi)
            mask = (lo_ok & hi_ok).to(x.dtype)
            out = out + mask * (p.slope * x + p.intercept)
        return out

    def breakpoints(self) -> tuple[Breakpoint, ...]:
        result = []
        pieces = self.pieces()
        for left, right in itertools.pairwise(pieces):
            x = left.hi
            if left.slope == right.slope and left.at(x) == right.at(x):
                continue
            owner = left if left.closed_hi else right
            result.append(Breakpoint(x=x, left_derivative=left.slope,
                                     right_derivative=right.slope, derivative_used=owner.slope,
                                     left_value=left.at(x), right_value=right.at(x)))
        return tuple(result)

    def critical_points(self) -> tuple[float, ...]:
        """Piece ends where the slope does not change (so they are not breakpoints)."""
        bps = {b.x for b in self.breakpoints()}
        return tuple(p.hi for p in self.pieces()[:-1] if p.hi not in bps)

    def derivative_limits(self) -> tuple[float, float]:
        pieces = self.pieces()
        return pieces[0].slope, pieces[-1].slope

    def constant_derivative(self, lo: float, hi: float) -> float | None:
        """The slope of the piece whose closure holds the stretch (lo, hi): chosen by its ends,
        not by a sample point (none lies strictly inside (1e300 - 1, 1e300) in floats)."""
        for p in self.pieces():
            if p.lo <= lo and hi <= p.hi:
                return p.slope
        raise AssertionError("pieces do not tile the real line")


class ReLU(PiecewiseLinear):
    """Rectified linear unit.

    f(x) = max(0, x);  f'(x) = 1 for x > 0, 0 for x <= 0 (PyTorch: relu'(0) = 0).

    >>> ReLU().value([-1.0, 2.0]).tolist()
    [0.0, 2.0]
    """

    name = "relu"
    formula = "max(0, x)"

    def pieces(self) -> tuple[LinearPiece, ...]:
        return (LinearPiece(-INF, 0.0, 0.0, 0.0, False, True),
                LinearPiece(0.0, INF, 1.0, 0.0, False, False))


class LeakyReLU(PiecewiseLinear):
    """Leaky ReLU.

    f(x) = x for x > 0, slope * x for x <= 0;  f'(0) = slope (PyTorch's convention).
    Args: slope (default 0.01, any finite number).
    """

    name = "leaky_relu"
    params_spec = (Param("slope", 0.01),)
    formula = "x if x > 0 else slope*x"

    def pieces(self) -> tuple[LinearPiece, ...]:
        s = float(self.params["slope"])
        return (LinearPiece(-INF, 0.0, s, 0.0, False, True),
                LinearPiece(0.0, INF, 1.0, 0.0, False, False))


class PLU(PiecewiseLinear):
    """Piecewise linear unit (Nicolae 2018).

    f(x) = alpha*x + c*(1-alpha) for x > c;  x for -c <= x <= c;  alpha*x - c*(1-alpha) for x < -c.
    f'(+-c) = 1 (the middle piece contains its ends). The homework's unit is alpha=0.2, c=1.
    Args: alpha (default 0.1, finite), c (default 1, > 0).
    """

    name = "plu"
    params_spec = (Param("alpha", 0.1),
                   Param("c", 1.0, "> 0", lambda v: v > 0))
    formula = "alpha*x + c*(1-alpha) if x > c; x if -c <= x <= c; alpha*x - c*(1-alpha) if x < -c"

    def pieces(self) -> tuple[LinearPiece, ...]:
        a, c = float(self.params["alpha"]), float(self.params["c"])
        return (LinearPiece(-INF, -c, a, -c * (1 - a), False, False),
                LinearPiece(-c, c, 1.0, 0.0, True, True),
                LinearPiece(c, INF, a, c * (1 - a), False, False))


class HardTanh(PiecewiseLinear):
    """Hard tanh.

    f(x) = min_val for x < min_val, x in between, max_val for x > max_val;
    f'(min_val) = f'(max_val) = 0 (PyTorch's convention).
    Args: min_val (default -1), max_val (default 1, > min_val).
    """

    name = "hardtanh"
    params_spec = (Param("min_val", -1.0), Param("max_val", 1.0))
    formula = "clip(x, min_val, max_val)"

    def __init__(self, **params: float | str) -> None:
        super().__init__(**params)
        if not float(self.params["max_val"]) > float(self.params["min_val"]):
            raise ActlabError("hardtanh: max_val must be greater than min_val")

    def pieces(self) -> tuple[LinearPiece, ...]:
        lo, hi = float(self.params["min_val"]), float(self.params["max_val"])
        return (LinearPiece(-INF, lo, 0.0, lo, False, True),
                LinearPiece(lo, hi, 1.0, 0.0, False, False),
                LinearPiece(hi, INF, 0.0, hi, True, False))


class JumpReLU(PiecewiseLinear):
    """JumpReLU (Erichson, Yao, Mahoney 2019), as the seed defines it.

    f(x) = x if x >= q else 0;  f jumps from 0 to q at x = q; f'(q) = 1 (the piece x >= q).
    q = 0 is ReLU in value (f'(0) = 1 here, 0 for relu: a convention at one point).
    Args: q (default 0, >= 0).
    """

    name = "jumprelu"
    params_spec = (Param("q", 0.0, ">= 0", lambda v: v >= 0),)
    formula = "x if x >= q else 0"

    def pieces(self) -> tuple[LinearPiece, ...]:
        q = float(self.params["q"])
        return (LinearPiece(-INF, q, 0.0, 0.0, False, False),
                LinearPiece(q, INF, 1.0, 0.0, True, False))


class Identity(PiecewiseLinear):
    """Identity. f(x) = x;  f'(x) = 1."""

    name = "identity"
    formula = "x"

    def pieces(self) -> tuple[LinearPiece, ...]:
        return (LinearPiece(-INF, INF, 1.0, 0.0, False, False),)
