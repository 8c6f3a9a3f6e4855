"""Smooth (or smooth-but-for-one-kink) activations with closed-form derivatives.

Every formula is evaluated in a form that stays finite and warning-free at |x| = 1000
(expit, logaddexp, expm1 on clipped arguments). ``critical_points`` lists the zeros of f'' and
of f' with the argument that there are no others: together with the tail limits this makes the
gradient regions exact over the whole real line.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, ndtr

from actlab.activations.base import (
    Activation,
    Breakpoint,
    FloatArray,
    Param,
    as_float_array,
)

if TYPE_CHECKING:
    import torch

ROOT_XTOL = 1e-15
SQRT_2PI = math.sqrt(2.0 * math.pi)
EXP_CUT = 800.0  # sigmoid(-u) = exp(-u) underflows to 0 for u > 745: clipping u here is exact


def _root(f, lo: float, hi: float) -> float:
    """The root of f in [lo, hi] (f(lo), f(hi) of opposite signs), to full double precision."""
    from scipy.optimize import brentq  # lazy: scipy.optimize costs ~0.3 s to import

    return float(brentq(f, lo, hi, xtol=ROOT_XTOL, rtol=4 * np.finfo(float).eps, maxiter=500))


def _normal_pdf(x: FloatArray) -> FloatArray:
    """phi(x) = exp(-x^2/2) / sqrt(2 pi); x clipped to +-40, where phi is already 0 in float64
    (so x*x cannot overflow)."""
    x = np.clip(x, -40.0, 40.0)
    return np.exp(-0.5 * x * x) / SQRT_2PI


def _scaled(beta: float, x: FloatArray) -> FloatArray:
    """beta x clipped to [-EXP_CUT, EXP_CUT] without computing beta x first (no overflow)."""
    limit = EXP_CUT / beta
    return beta * np.clip(x, -limit, limit)


class Sigmoid(Activation):
    """Logistic sigmoid.

    f(x) = 1 / (1 + exp(-x));  f'(x) = f(x) (1 - f(x)), largest (1/4) at x = 0.
    """

    name = "sigmoid"
    formula = "1 / (1 + exp(-x))"

    def value(self, x: ArrayLike) -> FloatArray:
        return expit(as_float_array(x))

    def derivative(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        return expit(x) * expit(-x)

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.sigmoid(x)

    def critical_points(self) -> tuple[float, ...]:
        """f'' = f'(1 - 2f) vanishes only at 0; f' > 0 everywhere."""
        return (0.0,)

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, 0.0


class Tanh(Activation):
    """Hyperbolic tangent.

    f(x) = tanh(x);  f'(x) = 1 - tanh(x)^2, largest (1) at x = 0.
    """

    name = "tanh"
    formula = "tanh(x)"

    def value(self, x: ArrayLike) -> FloatArray:
        return np.tanh(as_float_array(x))

    def derivative(self, x: ArrayLike) -> FloatArray:
        """1 - tanh(x)^2 = 4 sigmoid(2x) sigmoid(-2x): no cancellation in the tails."""
        u = _scaled(2.0, as_float_array(x))
        return 4.0 * expit(u) * expit(-u)

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.tanh(x)

    def critical_points(self) -> tuple[float, ...]:
        """f'' = -2 tanh(x) f'(x) vanishes only at 0; f' > 0 everywhere."""
        return (0.0,)

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, 0.0


class Softplus(Activation):
    """Softplus.

    f(x) = log(1 + exp(beta x)) / beta;  f'(x) = sigmoid(beta x). Exact (no linear cut-off).
    Args: beta (default 1, > 0).
    """

    name = "softplus"
    params_spec = (Param("beta", 1.0, "> 0", lambda v: v > 0),)
    formula = "log(1 + exp(beta*x)) / beta"

    @property
    def _beta(self) -> float:
        return float(self.params["beta"])

    def value(self, x: ArrayLike) -> FloatArray:
        """log(1 + exp(beta x)) / beta; exactly x in float64 once beta x > EXP_CUT."""
        x = as_float_array(x)
        bx = _scaled(self._beta, x)
        return np.where(bx >= EXP_CUT, x, np.logaddexp(0.0, bx) / self._beta)

    def derivative(self, x: ArrayLike) -> FloatArray:
        """sigmoid(beta x)."""
        return expit(_scaled(self._beta, as_float_array(x)))

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.logaddexp(torch.zeros_like(x), self._beta * x) / self._beta

    def critical_points(self) -> tuple[float, ...]:
        """f'' = beta f'(1 - f') > 0: f' is strictly increasing on the whole line."""
        return ()

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, 1.0


def _swish_unit_roots() -> tuple[float, float]:
    """For beta = 1: r0 with f'(r0) = 0, i.e. 1 + r(1 - sigmoid(r)) = 0 (unique: the left side is
    increasing on r < 0 and positive for r >= 0), and r2 > 0 with r tanh(r/2) = 2 (f'' = 0 at
    +-r2; r tanh(r/2) is even and increasing on r > 0)."""
    r0 = _root(lambda r: 1.0 + r * expit(-r), -5.0, 0.0)
    r2 = _root(lambda r: r * math.tanh(r / 2.0) - 2.0, 0.0, 10.0)
    return r0, r2


class Swish(Activation):
    """Swish / SiLU (Ramachandran et al. 2017).

    f(x) = x sigmoid(beta x);  f'(x) = s + beta x s (1 - s) with s = sigmoid(beta x).
    f' has its minimum at -2.3994/beta, its maximum (1.0998) at +2.3994/beta and one zero at
    -1.2785/beta. Args: beta (default 1, > 0).
    """

    name = "swish"
    params_spec = (Param("beta", 1.0, "> 0", lambda v: v > 0),)
    formula = "x * sigmoid(beta*x)"

    @property
    def _beta(self) -> float:
        return float(self.params["beta"])

    def value(self, x: ArrayLike) -> FloatArray:
        """x sigmoid(beta x)."""
        x = as_float_array(x)
        return x * expit(_scaled(self._beta, x))

    def derivative(self, x: ArrayLike) -> FloatArray:
        """s + beta x s (1 - s), s = sigmoid(beta x); beta x clipped where 1 - s underflows."""
        bx = _scaled(self._beta, as_float_array(x))
        s, one_minus_s = expit(bx), expit(-bx)
        return s + bx * s * one_minus_s

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return x * torch.sigmoid(self._beta * x)

    def critical_points(self) -> tuple[float, ...]:
        r0, r2 = _swish_unit_roots()
        return tuple(sorted(r / self._beta for r in (-r2, r0, r2)))

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, 1.0


class ELU(Activation):
    """Exponential linear unit (Clevert et al. 2015).

    f(x) = x for x > 0, alpha (exp(x) - 1) for x <= 0;  f'(x) = 1 for x > 0, alpha exp(x) for
    x <= 0, so f'(0) = alpha (PyTorch's convention; a kink unless alpha = 1).
    Args: alpha (default 1, >= 0).
    """

    name = "elu"
    params_spec = (Param("alpha", 1.0, ">= 0", lambda v: v >= 0),)
    formula = "x if x > 0 else alpha*(exp(x) - 1)"

    @property
    def _alpha(self) -> float:
        return float(self.params["alpha"])

    def value(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        return np.where(x > 0, x, self._alpha * np.expm1(np.minimum(x, 0.0)))

    def derivative(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        return np.where(x > 0, 1.0, self._alpha * np.exp(np.minimum(x, 0.0)))

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.where(x > 0, x, self._alpha * torch.expm1(torch.clamp(x, max=0.0)))

    def breakpoints(self) -> tuple[Breakpoint, ...]:
        if self._alpha == 1.0:
            return ()
        return (Breakpoint(0.0, self._alpha, 1.0, self._alpha, 0.0, 0.0),)

    def critical_points(self) -> tuple[float, ...]:
        """0 separates the constant right side from alpha exp(x) (monotone, or 0 if alpha = 0)."""
        return (0.0,) if self._alpha == 1.0 else ()

    def constant_derivative(self, lo: float, hi: float) -> float | None:
        if lo >= 0.0:
            return 1.0
        return 0.0 if self._alpha == 0.0 else None

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, 1.0


class SELU(Activation):
    """Scaled ELU (Klambauer et al. 2017), fixed constants.

    f(x) = scale x for x > 0, scale alpha (exp(x) - 1) for x <= 0, with alpha = 1.6732632...,
    scale = 1.0507009...;  f'(0) = scale alpha (PyTorch's convention).
    """

    name = "selu"
    formula = "scale*x if x > 0 else scale*alpha*(exp(x) - 1)"
    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def value(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        return self.SCALE * np.where(x > 0, x, self.ALPHA * np.expm1(np.minimum(x, 0.0)))

    def derivative(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        return self.SCALE * np.where(x > 0, 1.0, self.ALPHA * np.exp(np.minimum(x, 0.0)))

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        neg = self.ALPHA * torch.expm1(torch.clamp(x, max=0.0))
        return self.SCALE * torch.where(x > 0, x, neg)

    def breakpoints(self) -> tuple[Breakpoint, ...]:
        left = self.SCALE * self.ALPHA
        return (Breakpoint(0.0, left, self.SCALE, left, 0.0, 0.0),)

    def constant_derivative(self, lo: float, hi: float) -> float | None:
        return self.SCALE if lo >= 0.0 else None

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, self.SCALE


GELU_TANH_K = math.sqrt(2.0 / math.pi)
GELU_TANH_C = 0.044715
GELU_TANH_CUT = 1e5  # beyond, sigmoid(-2u) = 0 in float64: f = x or 0, f' = 1 or 0 exactly


class GELU(Activation):
    """Gaussian error linear unit (Hendrycks & Gimpel 2016).

    Exact: f(x) = x Phi(x);  f'(x) = Phi(x) + x phi(x);  f''(x) = phi(x) (2 - x^2).
    approx=tanh: f(x) = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
    f' has its extrema at +-sqrt(2) (exact form) and one zero at -0.7518.
    Args: approx (default none; none or tanh).
    """

    name = "gelu"
    params_spec = (Param("approx", "none", choices=("none", "tanh")),)

    @property
    def formula(self) -> str:  # type: ignore[override]
        """The form this instance computes: exact, or the tanh approximation."""
        if self._exact:
            return "x * Phi(x)"
        return f"x/2 * (1 + tanh({GELU_TANH_K:.10g}*(x + {GELU_TANH_C}*x^3)))"

    @property
    def spec(self) -> str:
        return "gelu" if self._exact else "gelu:approx=tanh"

    @property
    def _exact(self) -> bool:
        return self.params["approx"] == "none"

    def _u(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """u, u', u'' of the tanh approximation, at x clipped to +-GELU_TANH_CUT (no overflow)."""
        x = np.clip(x, -GELU_TANH_CUT, GELU_TANH_CUT)
        u = GELU_TANH_K * (x + GELU_TANH_C * x**3)
        du = GELU_TANH_K * (1.0 + 3.0 * GELU_TANH_C * x * x)
        ddu = GELU_TANH_K * 6.0 * GELU_TANH_C * x
        return u, du, ddu

    def value(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        if self._exact:
            return x * ndtr(x)
        u, _, _ = self._u(x)
        return x * expit(2.0 * u)  # x/2 (1 + tanh u) = x sigmoid(2u)

    def derivative(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        if self._exact:
            return ndtr(x) + x * _normal_pdf(x)
        u, du, _ = self._u(x)  # (1 + tanh u)/2 = sigmoid(2u), 1 - tanh(u)^2 = 4 s(2u) s(-2u)
        xc = np.clip(x, -GELU_TANH_CUT, GELU_TANH_CUT)
        return expit(2.0 * u) + 2.0 * xc * expit(2.0 * u) * expit(-2.0 * u) * du

    def _curvature_sign(self, x: ArrayLike) -> FloatArray:
        """A function with the sign of f'': 2 - x^2 (exact), u' - x tanh(u) u'^2 + x u''/2 (tanh;
        f'' is this times sech(u)^2)."""
        x = as_float_array(x)
        if self._exact:
            return 2.0 - x * x
        u, du, ddu = self._u(x)
        return du - x * np.tanh(u) * du * du + 0.5 * x * ddu

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        if self._exact:
            return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
        return 0.5 * x * (1.0 + torch.tanh(GELU_TANH_K * (x + GELU_TANH_C * x**3)))

    def critical_points(self) -> tuple[float, ...]:
        """Exact: f'' = 0 only at +-sqrt(2); f' < 0 on (-inf, -sqrt(2)] (f' decreases there from
        its limit 0), increasing on [-sqrt(2), sqrt(2)] from f'(-sqrt2) < 0 to f'(0) = 1/2, so
        f' has one zero. Tanh form: g = u' - x tanh(u) u'^2 + x u''/2 has one sign change in
        each of [-3, -1] and [1, 3] and none elsewhere (its -x tanh(u) u'^2 ~ -c x^5 term
        dominates beyond); f' has its zero in [-1, -0.5]."""
        fprime = lambda t: float(self.derivative(t))  # noqa: E731
        if self._exact:
            s = math.sqrt(2.0)
            return (-s, _root(fprime, -s, 0.0), s)
        g = lambda t: float(self._curvature_sign(t))  # noqa: E731
        left, right = _root(g, -3.0, -1.0), _root(g, 1.0, 3.0)
        return (left, _root(fprime, -1.0, -0.5), right)

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, 1.0


class Mish(Activation):
    """Mish (Misra 2019).

    f(x) = x tanh(softplus(x));  f'(x) = tanh(sp) + x sech(sp)^2 sigmoid(x), sp = softplus(x).
    """

    name = "mish"
    formula = "x * tanh(log(1 + exp(x)))"

    def value(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        return x * np.tanh(np.logaddexp(0.0, x))

    def derivative(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        t = np.tanh(np.logaddexp(0.0, x))
        return t + x * (1.0 - t) * (1.0 + t) * expit(x)

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return x * torch.tanh(torch.logaddexp(torch.zeros_like(x), x))

    def critical_points(self) -> tuple[float, ...]:
        """g = 2 - 2x tanh(sp) s + x(1 - s) (the sign of f'') tends to 2 + x as x -> -inf and
        to 2 - 2x as x -> +inf; it changes sign once in [-3, -1.5] and once in [0.5, 2]. f' has
        one zero, in [-1.5, -1]."""
        g = lambda t: 2.0 - 2.0 * t * math.tanh(math.log1p(math.exp(t))) * expit(t) + t * expit(-t)  # noqa: E731
        fprime = lambda t: float(self.derivative(t))  # noqa: E731
        return (_root(g, -3.0, -1.5), _root(fprime, -1.5, -1.0), _root(g, 0.5, 2.0))

    def derivative_limits(self) -> tuple[float, float]:
        return 0.0, 1.0
