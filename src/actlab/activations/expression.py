"""A user's own activation, ``expr:<expression in x>``, parsed safely and differentiated by sympy.

Safety: the text is parsed with ``ast.parse(mode="eval")`` and converted node by node into a
sympy expression; only numbers, ``x``, ``pi``, ``e``, the operators + - * / ** and the functions
in ``FUNCTIONS`` are accepted. Nothing the user writes is ever passed to ``eval``. Constants
must be real and within 1e-308..1e308 (checked before sympy computes 10**999**999), at most
500 characters, exponents at most 1000.

Non-smooth functions (abs, max, min, relu, step, sign) are allowed: their switching points are
found by root refinement and split the line; where f jumps or the one-sided derivatives differ
they are breakpoints, with one-sided derivatives computed exactly by differentiating the active
branch on each side. On each stretch f' is the derivative of the branch active there. The
derivative used at a breakpoint is the left one (so relu'(0) = 0 as in PyTorch, and
|x|'(0) = -1); step(x) = 1 for x >= 0.

The function must be real and finite on the whole real line (sqrt(x), log(x), 1/x are
rejected); jumps are allowed (step).

Critical points of f' are the sign changes of f'' and f' on a grid over [-1e6, 1e6] (step 1e-3
near 0, logarithmic outwards and down to 1e-12), confirmed and bisected in 60-digit arithmetic,
and where float64 cannot tell a sign (underflow, overflow, cancellation) sampled at up to 960
digits. A stretch has constant f' only if sympy says so. Beyond the grid monotonicity is not
proven (``tail_proof`` says so); a feature narrower than the grid spacing between grid points
(exp(-(x - 5000.3)**2), spacing 12 there) can be missed.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import itertools
import math
from typing import TYPE_CHECKING, Any

import mpmath
import numpy as np
import scipy.special
import sympy as sp
from numpy.typing import ArrayLike

from actlab.activations.base import Activation, Breakpoint, FloatArray, as_float_array
from actlab.errors import ActlabError

if TYPE_CHECKING:
    import torch

X = sp.Symbol("x", real=True)
MAX_LENGTH = 500
MAX_EXPONENT = 1000
MAX_NUMBER_LOG10 = 308  # constants (also computed ones, 10**400) must fit a float64
SCAN_LIMIT = 1e6
MAX_TURNING_POINTS = 200
NOISE_EPS = 64 * np.finfo(float).eps  # a float64 sum below this times sum |terms| is noise
ROBUST_DIGITS = (60, 120, 240, 480, 960)
UNRESOLVED_SAMPLES = 200
MAX_DOMAIN_OPS = 16  # sympy's continuous_domain: 0.2 s at 16 operations, 40 s at 24
MAX_LIMIT_OPS = 60  # sympy's limit (gruntz) takes minutes on larger derivatives: sample instead


class sigmoid(sp.Function):
    """sigmoid(u) = 1 / (1 + exp(-u)); its derivative is sigmoid(u)(1 - sigmoid(u))."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        if not self.args[0].is_number:
            return None
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)


class softplus(sp.Function):
    """softplus(u) = log(1 + exp(u)); its derivative is sigmoid(u)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + sp.exp(arg))

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        if not self.args[0].is_number:
            return None
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)


def _elementary(expr: sp.Expr) -> sp.Expr:
    """sigmoid and softplus written with exp and log (for sympy's limits and domains)."""
    expr = expr.replace(sigmoid, lambda u: 1 / (1 + sp.exp(-u)))
    return expr.replace(softplus, lambda u: sp.log(1 + sp.exp(u)))


def _binary(name: str, build):
    def make(*args: sp.Expr) -> sp.Expr:
        if len(args) != 2:
            raise ActlabError(f"expr: {name}() takes exactly 2 arguments")
        return build(*args)
    return make


def _unary(name: str, build):
    def make(*args: sp.Expr) -> sp.Expr:
        if len(args) != 1:
            raise ActlabError(f"expr: {name}() takes exactly 1 argument")
        return build(args[0])
    return make


FUNCTIONS = {
    **{n: _unary(n, f) for n, f in {
        "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "abs": sp.Abs, "sin": sp.sin,
        "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh,
        "atan": sp.atan, "arctan": sp.atan, "erf": sp.erf, "erfc": sp.erfc, "sign": sp.sign,
        "sigmoid": sigmoid, "softplus": softplus,
        "relu": lambda u: sp.Max(0, u),
        "step": lambda u: sp.Heaviside(u, 1),
        "Phi": lambda u: (1 + sp.erf(u / sp.sqrt(2))) / 2,
        "log1p": lambda u: sp.log(1 + u),
        "expm1": lambda u: sp.exp(u) - 1,
    }.items()},
    "max": _binary("max", sp.Max),
    "min": _binary("min", sp.Min),
}
CONSTANTS = {"x": X, "pi": sp.pi, "e": sp.E}
_BINARY_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
               ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}


def parse_expression(text: str) -> sp.Expr:
    """Convert ``text`` into a sympy expression in x, accepting only the whitelisted grammar."""
    text = text.strip().replace("^", "**")
    if not text:
        raise ActlabError("expr: the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ActlabError(f"expr: the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ActlabError(f"expr: cannot parse {text!r}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ActlabError(f"expr: cannot parse {text!r}") from None
    try:
        result = _convert(tree.body)
    except RecursionError:
        raise ActlabError("expr: the expression is nested too deeply") from None
    if not result.free_symbols <= {X}:
        raise ActlabError(f"expr: unknown names {sorted(map(str, result.free_symbols))}")
    if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I):
        raise ActlabError(f"expr: {text!r} is not a finite real expression")
    return result


def _convert(node: ast.AST) -> sp.Expr:
    """One AST node as sympy, every constant bounded by 10**MAX_NUMBER_LOG10 in magnitude."""
    result = _convert_node(node)
    if result.is_Number and not result.is_zero and abs(_log10(result)) > MAX_NUMBER_LOG10:
        raise ActlabError(f"expr: numbers beyond 1e{MAX_NUMBER_LOG10} in magnitude (or below "
                          f"1e-{MAX_NUMBER_LOG10}) are not accepted")
    if not result.free_symbols and result.is_real is False:
        raise ActlabError(f"expr: {ast.unparse(node)!r} is not a real number")
    return result


def _log10(number: sp.Expr) -> float:
    """log10 |number| of a non-zero sympy number, without converting it to a float first."""
    with mpmath.workdps(15):
        return float(mpmath.log10(abs(mpmath.mpf(sp.Float(number, 15)))))


def _power(base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
    """base**exponent, refusing to compute a constant beyond 10**MAX_NUMBER_LOG10 (which sympy
    would evaluate exactly: ((9**999)**999)**999 has billions of digits)."""
    if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
        raise ActlabError(f"expr: exponents above {MAX_EXPONENT} are not accepted")
    numbers = base.is_Number and exponent.is_Number and not base.is_zero
    if numbers and abs(_log10(base) * float(exponent)) > MAX_NUMBER_LOG10:
        raise ActlabError(f"expr: numbers beyond 1e{MAX_NUMBER_LOG10} in magnitude (or "
                          f"below 1e-{MAX_NUMBER_LOG10}) are not accepted")
    return base**exponent


def _convert_node(node: ast.AST) -> sp.Expr:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise ActlabError("expr: numbers must be finite")
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in CONSTANTS:
            raise ActlabError(f"expr: unknown name {node.id!r} (use x, pi, e)")
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _convert(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
        return _BINARY_OPS[type(node.op)](_convert(node.left), _convert(node.right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return _power(_convert(node.left), _convert(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ActlabError(f"expr: unknown function {node.func.id!r} (known: {known})")
        args = [_convert(a) for a in node.args]
        try:
            return FUNCTIONS[node.func.id](*args)
        except (ValueError, TypeError, ArithmeticError) as error:  # e.g. max of a complex
            raise ActlabError(f"expr: {ast.unparse(node)!r}: {error}") from None
    raise ActlabError(f"expr: {ast.unparse(node)!r} is not allowed "
                      "(numbers, x, pi, e, + - * / **, and known functions only)")


_NUMERIC_MODULES = [{"sigmoid": scipy.special.expit,
                     "softplus": lambda u: np.logaddexp(0.0, u),
                     "erf": scipy.special.erf, "erfc": scipy.special.erfc}, "numpy"]
_MP_DIGITS = 60


def _mp_heaviside(u, h0=sp.S.Half):
    return mpmath.mpf(1) if u > 0 else (mpmath.mpf(0) if u < 0 else mpmath.mpf(float(h0)))


# mpmath's exp, sinh, cosh and the argument reduction of sin, cos, tan need precision
# proportional to log2|u|: beyond |u| = 2**1024 (past every float64) they take practically
# forever (exp(exp(x)) at x = 1e8), so the wrappers below stop there.
MP_MAX_ARGUMENT = mpmath.mpf(2) ** 1024


def _huge(u: Any) -> bool:
    """True for a real mpmath number beyond MP_MAX_ARGUMENT in magnitude (or infinite)."""
    return isinstance(u, mpmath.mpf) and abs(u) > MP_MAX_ARGUMENT


def _mp_exp(u: Any) -> Any:
    """exp(u) in mpmath; +inf or 0 for |u| > 2**1024 (far beyond any float64)."""
    if _huge(u):
        return mpmath.inf if u > 0 else mpmath.mpf(0)
    return mpmath.exp(u)


def _mp_sinh(u: Any) -> Any:
    """sinh(u) in mpmath; +-inf for |u| > 2**1024."""
    return mpmath.inf * mpmath.sign(u) if _huge(u) else mpmath.sinh(u)


def _mp_cosh(u: Any) -> Any:
    """cosh(u) in mpmath; +inf for |u| > 2**1024."""
    return mpmath.inf if _huge(u) else mpmath.cosh(u)


def _mp_erfc(u: Any) -> Any:
    """erfc(u) in mpmath; 0 or 2 where mpmath overflows (u beyond about 1e9 in magnitude)."""
    try:
        return mpmath.erfc(u)
    except OverflowError:
        return mpmath.mpf(0) if u > 0 else mpmath.mpf(2)


def _mp_periodic(name: str) -> Any:
    def evaluate(u: Any) -> Any:
        if _huge(u):
            raise ActlabError(f"expr: {name} of a number beyond 2**1024 in magnitude (e.g. "
                              f"{name}(exp(x)) far out) cannot be evaluated exactly")
        return getattr(mpmath, name)(u)
    evaluate.__doc__ = f"{name}(u) in mpmath; ActlabError for |u| > 2**1024."
    return evaluate


def _mp_softplus(u: Any) -> Any:
    """log(1 + exp(u)) in mpmath; u itself (0) for u beyond +2**1024 (-2**1024)."""
    if _huge(u):
        return u if u > 0 else mpmath.mpf(0)
    return mpmath.log1p(mpmath.exp(u))


_MP_MODULES = [{"sigmoid": lambda u: 1 / (1 + _mp_exp(-u)),
                "softplus": _mp_softplus,
                "exp": _mp_exp, "sinh": _mp_sinh, "cosh": _mp_cosh, "erfc": _mp_erfc,
                **{name: _mp_periodic(name) for name in ("sin", "cos", "tan")},
                "Heaviside": _mp_heaviside}, "mpmath"]


def _without_delta(expr: sp.Expr) -> sp.Expr:
    """Drop DiracDelta terms (jumps are recorded as breakpoints) and make Heaviside(0) = 0
    where sympy's derivative of max/relu left it at 1/2 (PyTorch: relu'(0) = 0)."""
    expr = expr.replace(sp.DiracDelta, lambda *a: sp.Integer(0))
    expr = expr.replace(  # d/dx sign(g(x)), left unevaluated by sympy: 0 but at jumps
        lambda e: isinstance(e, sp.Derivative) and isinstance(e.expr, sp.sign | sp.Heaviside),
        lambda e: sp.Integer(0))
    if expr.has(sp.Derivative, sp.Subs):
        raise ActlabError(f"expr: sympy cannot differentiate part of it ({expr})"[:300])
    return expr.replace(lambda e: isinstance(e, sp.Heaviside) and e.args[1:] == (sp.S.Half,),
                        lambda e: sp.Heaviside(e.args[0], 0))


class _Compiled:
    """A sympy expression in x evaluated in float64 (vectorised, warnings silenced) and, to
    settle signs that float64 cannot, in 60-digit mpmath."""

    def __init__(self, expr: sp.Expr) -> None:
        self.expr = expr
        self._np = sp.lambdify(X, expr, modules=_NUMERIC_MODULES)
        self._mp = sp.lambdify(X, _exp_powers(expr), modules=_MP_MODULES)
        self._terms = ([sp.lambdify(X, t, modules=_NUMERIC_MODULES) for t in expr.args]
                       if isinstance(expr, sp.Add) else [])

    def __call__(self, x: ArrayLike) -> FloatArray:
        return _evaluate(self._np, as_float_array(x))

    def resolved_signs(self, x: FloatArray) -> FloatArray:
        """Sign of the value at each x in float64, and 0 where float64 cannot tell: the value
        is not finite, or a sum is below the rounding noise of its terms (NOISE_EPS times the
        sum of |term|: exp(x)/(1 + exp(x)) - exp(2x)/(1 + exp(x))**2 at x = 40)."""
        values = self(x)
        scale = np.abs(values)
        with np.errstate(all="ignore"):
            for term in self._terms:
                scale = scale + np.abs(_evaluate(term, x))
        definite = np.isfinite(values) & (np.abs(values) > NOISE_EPS * scale)
        return np.where(definite, np.sign(values), 0.0)

    def robust_sign(self, x: float) -> int | None:
        """Sign of the value at x in mpmath at 60, 120, ... 960 digits, once two successive
        precisions agree (to 1e-3, or both exactly 0); None when they never do or the value is
        undefined (cancellation beyond 960 digits: exp(x)/(1 + exp(x)) - ... at x = 1e6)."""
        previous = None
        for digits in ROBUST_DIGITS:
            try:
                with mpmath.workdps(digits):
                    value = self._mp(mpmath.mpf(x))
            except (ValueError, ZeroDivisionError, TypeError, ArithmeticError, ActlabError):
                return None
            if not (isinstance(value, mpmath.mpf) and mpmath.isfinite(value)):
                return None
            if previous is not None and abs(value - previous) <= 1e-3 * abs(value):
                return 0 if value == 0 else (1 if value > 0 else -1)
            previous = value
        return None

    def precise(self, x: float) -> mpmath.mpf:
        with mpmath.workdps(_MP_DIGITS):
            return self._mp(mpmath.mpf(x))

    def sign(self, x: float) -> int:
        with mpmath.workdps(_MP_DIGITS):
            value = self._mp(mpmath.mpf(x))
            return 0 if value == 0 else (1 if value > 0 else -1)


def _exp_powers(expr: sp.Expr) -> sp.Expr:
    """b**u with a constant b > 0 and u depending on x written exp(u log b), for mpmath: its
    b**u with an integral u of a million bits (u = cosh(x) at x = 1e6) squares a million
    times, exp stops at 2**1024 (``_mp_exp``)."""
    return expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.base.is_number and e.base.is_positive is True
        and bool(e.exp.free_symbols),
        lambda e: sp.exp(e.exp * sp.log(e.base), evaluate=False))


def _evaluate(fn: Any, x: FloatArray) -> FloatArray:
    """A lambdified function on a float64 array: warnings silenced, complex results (a negative
    number to a fractional power) as NaN, scalars broadcast to the shape of x."""
    with np.errstate(all="ignore"):
        out = np.asarray(fn(x))
        if np.iscomplexobj(out):
            out = np.where(out.imag == 0, out.real, np.nan)
        out = out.astype(np.float64)
    return np.broadcast_to(out, x.shape).copy() if out.shape != x.shape else out


def _compile(expr: sp.Expr) -> _Compiled:
    return _Compiled(expr)


def _bisect(fn: _Compiled, lo: float, hi: float, robust: bool = False) -> float:
    """Root of fn in [lo, hi] (signs differ at the ends), bisected down to adjacent doubles in
    60-digit arithmetic (``robust``: with ``robust_sign``, where 60 digits cancel)."""
    sign = fn.robust_sign if robust else fn.sign
    if lo < 0.0 < hi and fn.robust_sign(0.0) == 0:
        return 0.0  # exactly (bisection of x - tanh(x) would stop near 1e-62)
    s_lo = sign(lo)
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        s_mid = sign(mid)
        if s_mid == 0 and not robust:  # 0 in 60 digits: a zero, or x - tanh(x) at 1e-31
            s_mid = fn.robust_sign(mid)
        if s_mid is None:
            break
        if s_mid == 0:
            return mid
        if s_mid == s_lo:
            lo = mid
        else:
            hi = mid
    return lo if abs(float(fn.precise(lo))) <= abs(float(fn.precise(hi))) else hi


def _switching_functions(expr: sp.Expr) -> list[sp.Expr]:
    """Expressions whose sign selects a branch of a non-smooth atom of ``expr``."""
    found = []
    for atom in sp.preorder_traversal(expr):
        if isinstance(atom, sp.Heaviside | sp.sign | sp.Abs | sp.DiracDelta):
            found.append(atom.args[0])
        elif isinstance(atom, sp.Max | sp.Min):
            args = atom.args
            found.extend(a - b for i, a in enumerate(args) for b in args[i + 1:])
    return found


def _scan_grid() -> FloatArray:
    """Step 1e-3 on [-50, 50], logarithmic out to +-SCAN_LIMIT, and logarithmic in to +-1e-12
    (features at a small scale around 0, tanh(1e6 x), fall between the linear points)."""
    inner = np.linspace(-50.0, 50.0, 100_001)
    outer = np.logspace(math.log10(50.0), math.log10(SCAN_LIMIT), 4_000)[1:]
    tiny = np.logspace(-12.0, -3.0, 1_801)[:-1]
    return np.unique(np.concatenate([-outer, inner, outer, -tiny, tiny]))


def _sign_change_roots(fn: _Compiled, grid: FloatArray, what: str = "f''") -> list[float]:
    """Roots of fn where its sign changes between grid points, bisected to adjacent doubles in
    60-digit arithmetic. Candidates come from the float64 signs that rounding cannot flip
    (``resolved_signs``), each confirmed in 60 digits. Where float64 cannot tell the sign
    (underflow, overflow, cancellation), up to UNRESOLVED_SAMPLES of those grid points get
    their sign at 60 to 960 digits (``robust_sign``); a sign change next to one of them is
    bisected (in that arithmetic where 60 digits do not suffice)."""
    signs = fn.resolved_signs(grid)
    oscillating = ActlabError(f"expr: more than {MAX_TURNING_POINTS} sign changes of {what} on "
                              f"[-{SCAN_LIMIT:g}, {SCAN_LIMIT:g}] (oscillating functions are "
                              "not supported)")
    known = {int(i): int(signs[i]) for i in np.nonzero(signs != 0)[0]}
    unknown = np.nonzero(signs == 0)[0]
    sampled: dict[int, int] = {}
    if unknown.size:
        picks = np.unique(unknown[np.linspace(0, unknown.size - 1,
                                              min(UNRESOLVED_SAMPLES, unknown.size)).astype(int)])
        sampled = {int(k): s for k in picks if (s := fn.robust_sign(float(grid[k])))}
    sequence = sorted({**known, **sampled}.items())
    pairs = [(a, b) for (a, sa), (b, sb) in itertools.pairwise(sequence) if sa != sb]
    if len(pairs) > 20 * MAX_TURNING_POINTS:
        raise oscillating
    roots = []
    for a, b in pairs:
        lo, hi = float(grid[a]), float(grid[b])
        s_lo, s_hi = fn.sign(lo), fn.sign(hi)
        if a not in sampled and b not in sampled and s_lo == s_hi:
            continue  # float64 rounding noise
        r_lo = sampled[a] if a in sampled else fn.robust_sign(lo)
        r_hi = sampled[b] if b in sampled else fn.robust_sign(hi)
        if r_lo == 0:
            roots.append(lo)
        elif r_hi == 0:
            roots.append(hi)
        elif r_lo is not None and r_hi is not None and r_lo != r_hi:
            roots.append(_bisect(fn, lo, hi, robust=(s_lo, s_hi) != (r_lo, r_hi)))
        if len(roots) > MAX_TURNING_POINTS:
            raise oscillating
    return sorted(set(roots))


class Expression(Activation):
    """A user's activation ``expr:<expression in x>``, e.g. ``expr:x*sigmoid(2.5*x)``.

    Functions: exp log log1p expm1 sqrt abs sign sin cos tan tanh sinh cosh atan erf erfc Phi
    sigmoid softplus relu step max min; constants pi, e; operators + - * / ** (or ^).
    """

    name = "expr"

    def __init__(self, text: str) -> None:
        self.params = {}
        self._constants: dict[tuple[float, float], float | None] = {}
        self.text = text.strip()
        self.symbolic = parse_expression(text)
        self.symbolic_derivative = _without_delta(sp.diff(self.symbolic, X))
        self._value = _compile(self.symbolic)
        self._derivative = _compile(self.symbolic_derivative)
        self.formula = str(self.symbolic)
        self._check_domain()

    def _check_domain(self) -> None:
        """f must be defined and continuous (but for step jumps) on the whole real line, and
        f, f' real numbers there (checked symbolically when sympy can, and on the scan grid)."""
        from sympy.calculus.util import continuous_domain

        smooth = _elementary(self.symbolic.replace(sp.Heaviside, lambda *a: sp.Integer(1)).replace(
            sp.sign, lambda *a: sp.Integer(1)))
        domain = sp.S.Reals  # larger expressions: only the grid check below
        if sp.count_ops(smooth) <= MAX_DOMAIN_OPS:
            with contextlib.suppress(NotImplementedError, ValueError, TypeError,
                                     ArithmeticError, RecursionError):
                domain = continuous_domain(smooth, X, sp.S.Reals)
        if domain != sp.S.Reals:
            raise ActlabError(f"expr: {self.text!r} is not defined and continuous on the whole "
                              f"real line (only on {domain})")
        grid = np.linspace(-1000.0, 1000.0, 20_001)
        for name, fn in (("f", self._value), ("f'", self._derivative)):
            for x in grid[np.isnan(fn(grid))][:3]:  # NaN in float64: overflow, or no value?
                value = None
                try:
                    value = fn.precise(float(x))
                    real = isinstance(value, mpmath.mpf) and mpmath.isfinite(value)
                except ActlabError:
                    raise
                except (ZeroDivisionError, ValueError, TypeError, ArithmeticError):
                    real = False
                if not real and isinstance(value, mpmath.mpf) and mpmath.isinf(value):
                    raise ActlabError(f"expr: {name} of {self.text!r} is beyond every float "
                                      f"(about 2**1024 or more) at x = {x:g}")
                if not real:
                    raise ActlabError(f"expr: {name} of {self.text!r} is not a real number at "
                                      f"x = {x:g}")

    @property
    def spec(self) -> str:
        return f"expr:{self.text}"

    def value(self, x: ArrayLike) -> FloatArray:
        return self._value(x)

    def derivative(self, x: ArrayLike) -> FloatArray:
        """f'(x); at a breakpoint, the left derivative (relu'(0) = 0 as in PyTorch). With
        non-smooth atoms, f' on each stretch is the derivative of the branch active there
        (max(x, tanh(x)) near 0: float64 cannot order x and tanh(x), the branch knows)."""
        x = as_float_array(x)
        if not self._switch_points:
            return self._derivative(x)
        edges, pieces = self._branch_derivatives
        index = np.searchsorted(edges, x, side="left")  # x = edge: the stretch on its left
        out = np.full(x.shape, np.nan)
        for i, fn in enumerate(pieces):
            mask = index == i
            if np.any(mask):
                out[mask] = fn(x[mask])
        return out

    def derivative_accurate(self, x: float) -> float:
        """f'(x) in 60-digit arithmetic (the branch's derivative at a non-smooth atom), rounded
        to a float: no cancellation in 100 - 100 tanh(100 x)^2."""
        fn = self._derivative
        if self._switch_points:
            edges, pieces = self._branch_derivatives
            fn = pieces[int(np.searchsorted(edges, x, side="left"))]
        try:
            value = fn.precise(float(x))
        except (ValueError, ZeroDivisionError, TypeError, ArithmeticError):
            return math.nan
        return float(value) if isinstance(value, mpmath.mpf) else math.nan

    @functools.cached_property
    def _branch_derivatives(self) -> tuple[FloatArray, list[_Compiled]]:
        """The split points and, for each stretch between them, the compiled derivative of the
        branch of ``symbolic`` active on it."""
        edges = self.split_points()
        pieces = []
        for lo, hi in itertools.pairwise([-math.inf, *edges, math.inf]):
            branch, _ = self._inside_branch(lo, hi)
            pieces.append(_compile(_without_delta(sp.diff(branch, X))))
        return np.array(edges, dtype=np.float64), pieces

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """The expression evaluated with torch operations (autograd through every branch)."""
        return _to_torch(self.symbolic, x)

    @functools.cached_property
    def _switch_points(self) -> tuple[float, ...]:
        """Where a non-smooth atom (abs, max, min, relu, step, sign) changes branch."""
        switches = _switching_functions(self.symbolic)
        if not switches:
            return ()
        grid = _scan_grid()
        return tuple(sorted({x for s in switches
                             for x in _sign_change_roots(_compile(s), grid, f"the switch {s}")}))

    @functools.cached_property
    def _breakpoints(self) -> tuple[Breakpoint, ...]:
        """Switch points where f jumps or its one-sided derivatives differ."""
        points = []
        for x0 in self._switch_points:
            left, right = (self._branch(x0, side) for side in (-1, 1))
            lv, ld = _value_and_slope(left, x0)
            rv, rd = _value_and_slope(right, x0)
            used = ld
            if ld != rd or lv != rv:
                points.append(Breakpoint(x0, ld, rd, used, lv, rv))
        return tuple(points)

    def _branch(self, x0: float, side: int, every_atom: bool = False,
                delta: float | None = None) -> sp.Expr:
        """``symbolic`` with every non-smooth atom switching at x0 (every atom, when
        ``every_atom``) replaced by the branch that is active just to the left (side=-1) or
        right (side=+1) of x0 (at x0 + side delta; delta = 0: the branch active at x0)."""
        delta = 1e-7 * max(1.0, abs(x0)) if delta is None else delta

        def switches(s: sp.Expr) -> bool:
            return every_atom or abs(float(_compile(s)(x0))) <= 1e-12 * max(1.0, abs(x0))

        def at_side(s: sp.Expr) -> Any:
            """s at x0 + side delta in 60 digits (float64 cannot order x and tanh(x) there)."""
            fn = _compile(s)
            value = fn.precise(x0 + side * delta)
            if value == 0 and delta == 0.0:  # on a switching point: the right-hand branch
                value = fn.precise(x0 + 1e-7 * max(1.0, abs(x0)))
            return value

        def pick(atom: sp.Expr) -> sp.Expr:
            if isinstance(atom, sp.Max | sp.Min):
                args = atom.args
                if not any(switches(a - b) for i, a in enumerate(args) for b in args[i + 1:]):
                    return atom
                values = [at_side(a) for a in args]
                best = max(values) if isinstance(atom, sp.Max) else min(values)
                return args[values.index(best)]
            s = atom.args[0]
            if not switches(s):
                return atom
            value = at_side(s)
            sign = 0.0 if value == 0 else (1.0 if value > 0 else -1.0)
            if isinstance(atom, sp.Heaviside):
                return sp.Integer(1 if sign > 0 else 0)
            if isinstance(atom, sp.sign):
                return sp.Integer(int(sign))
            return (-1 if sign < 0 else 1) * s  # Abs

        atoms = (sp.Heaviside, sp.sign, sp.Abs, sp.Max, sp.Min)
        return self.symbolic.replace(lambda e: isinstance(e, atoms), pick)

    def breakpoints(self) -> tuple[Breakpoint, ...]:
        return self._breakpoints

    @functools.cached_property
    def _second(self) -> _Compiled:
        return _compile(_without_delta(sp.diff(self.symbolic_derivative, X)))

    @functools.cached_property
    def _critical_points(self) -> tuple[float, ...]:
        """Sign changes of f'' and of f' on the scan grid, confirmed and refined in 60 digits.
        A zero of f' without a sign change (f' = x**2) is a strict extremum of f', so a sign
        change of f'': it is found too, and ``derivative_vanishes`` tells it is a zero."""
        grid = _scan_grid()
        found = set(_sign_change_roots(self._second, grid, "f''")) | set(
            _sign_change_roots(self._derivative, grid, "f'")) | set(self._switch_points)
        bps = [b.x for b in self._breakpoints]  # a kink changes the sign of f': not a new point

        def near_breakpoint(x: float) -> bool:
            return any(abs(x - b) <= 8 * np.spacing(max(abs(b), 1e-300)) for b in bps)
        return tuple(sorted(x for x in found if not near_breakpoint(x)))

    def critical_points(self) -> tuple[float, ...]:
        return self._critical_points

    def derivative_vanishes(self, x: float) -> bool:
        """f'(c) = 0 at the critical point c nearest x: c refined from x as a root of f'' in
        60-digit arithmetic, then |f'(c)| <= 1e-40 (a double zero of f' at c is within
        sqrt(1e-60) of the refined c, so f'(c) is ~1e-60 there; x**3/3 + 1e-25 x is not 0).
        With non-smooth atoms, f' and f'' of the branch on the left of x."""
        first, second = self._derivative, self._second
        if self._switch_points:
            edges, pieces = self._branch_derivatives
            first = pieces[int(np.searchsorted(edges, x, side="left"))]
            second = _compile(sp.diff(first.expr, X))
        value = first.precise(x)
        if value == 0:
            return True
        try:
            with mpmath.workdps(_MP_DIGITS):
                c = mpmath.findroot(second._mp, mpmath.mpf(x), tol=mpmath.mpf(10) ** -55)
                value = first._mp(c)
            if not (isinstance(c, mpmath.mpf) and abs(c - x) <= 1e-9 * max(1.0, abs(x))):
                raise ValueError("the refined point moved away")
        except (ValueError, ZeroDivisionError, TypeError, ArithmeticError):
            return abs(value) <= 1e-30  # f'' cannot be refined there: the rounded point only
        return isinstance(value, mpmath.mpf) and abs(value) <= 1e-40

    def _inside_branch(self, lo: float, hi: float) -> tuple[sp.Expr, float]:
        """(``symbolic`` with every non-smooth atom replaced by its branch on the stretch
        (lo, hi), a point strictly inside the stretch)."""
        if math.isinf(lo) and math.isinf(hi):
            x0 = 0.0
        elif math.isinf(lo):
            x0 = hi - max(1.0, abs(hi))
        elif math.isinf(hi):
            x0 = lo + max(1.0, abs(lo))
        else:
            x0 = 0.5 * lo + 0.5 * hi
        branch = self.symbolic
        if _switching_functions(branch):
            branch = self._branch(x0, 1, every_atom=True, delta=0.0)
        return branch, x0

    def constant_derivative(self, lo: float, hi: float) -> float | None:
        """f' on the stretch when it is constant there, decided symbolically: the derivative of
        the branch active on the stretch has no x in it (after simplification when 60-digit
        values at three points agree, e.g. all 0 where float64 cancels 100 - 100 tanh(100x)^2)."""
        if (lo, hi) not in self._constants:
            self._constants[(lo, hi)] = self._constant_derivative(lo, hi)
        return self._constants[(lo, hi)]

    def _constant_derivative(self, lo: float, hi: float) -> float | None:
        branch, x0 = self._inside_branch(lo, hi)
        d = _without_delta(sp.diff(branch, X))
        if not d.free_symbols:
            value = complex(sp.N(d))
            return value.real if value.imag == 0 and math.isfinite(value.real) else None
        probes = [x0]
        for t in (0.25, 0.75):
            p = (lo + t * (hi - lo)) if math.isfinite(lo) and math.isfinite(hi) else None
            probes.append(p if p is not None and lo < p < hi else x0 + t * (1 + abs(x0)) * (
                1 if math.isinf(hi) else -1))
        d_mp = _compile(d)
        try:
            values = [d_mp.precise(p) for p in probes if lo < p < hi]
        except (ValueError, ZeroDivisionError, TypeError, ArithmeticError, ActlabError):
            return None
        if any(abs(v - values[0]) > 1e-40 * (1 + abs(values[0])) for v in values):
            return None
        if sp.count_ops(d) > 200:
            return None
        simple = sp.simplify(_elementary(d))
        if simple.free_symbols:
            return None
        value = complex(sp.N(simple))
        return value.real if value.imag == 0 and math.isfinite(value.real) else None

    @functools.cached_property
    def _limits(self) -> tuple[float, float]:
        return self._limit(-1), self._limit(1)

    def derivative_limits(self) -> tuple[float, float]:
        return self._limits

    def _limit(self, direction: int) -> float:
        """lim f'(x) at -inf or +inf: sympy's limit of the derivative of the exp-rewritten
        expression (when it has at most MAX_LIMIT_OPS operations), accepted only if 60-digit
        values at 1e6 and 1e8 agree with it (within 1e-9, or approaching it); otherwise the
        60-digit value at 1e8 (and ``tail_proof`` says the limit was sampled)."""
        far = self._derivative.precise(direction * 1e8)
        try:  # beyond the outermost breakpoint every non-smooth atom keeps one branch
            tail = self._branch(direction * 1e8, direction, every_atom=True)
            rewritten = sp.diff(_elementary(tail), X)
            if sp.count_ops(rewritten) > MAX_LIMIT_OPS:
                raise NotImplementedError("too large for sympy's limit in reasonable time")
            value = sp.limit(rewritten, X, direction * sp.oo)
            near = self._derivative.precise(direction * 1e6)
            if value in (sp.oo, -sp.oo) and (far > 0) == (value > 0) and (
                    abs(far) > 1e3 or abs(far) > abs(near) > 0):
                return math.inf if value > 0 else -math.inf
            if value.is_real and value.is_finite:
                gap_near, gap_far = abs(near - float(value)), abs(far - float(value))
                if gap_far < 1e-9 or gap_far < min(1e-3, 0.5 * gap_near):
                    return float(value)
        except (NotImplementedError, ValueError, TypeError, AttributeError, ArithmeticError,
                RecursionError, sp.PoleError):
            pass
        self._sampled_limits = True
        return float(far)

    def tail_proof(self) -> str:
        self.derivative_limits()
        limits = ("sampled at |x| = 1e8" if getattr(self, "_sampled_limits", False)
                  else "by sympy, checked at |x| = 1e6 and 1e8")
        return (f"sampled: no zero of f'' or f' found for |x| up to {SCAN_LIMIT:g} beyond the "
                f"outermost split point (not proven further out); limits of f' {limits}")


def _value_and_slope(branch: sp.Expr, x0: float) -> tuple[float, float]:
    value = float(_compile(branch)(x0))
    slope = float(_compile(_without_delta(sp.diff(branch, X)))(x0))
    return value, slope


_TORCH_UNARY = {
    sp.exp: "exp", sp.log: "log", sp.sqrt: "sqrt", sp.Abs: "abs", sp.sin: "sin", sp.cos: "cos",
    sp.tan: "tan", sp.tanh: "tanh", sp.sinh: "sinh", sp.cosh: "cosh", sp.atan: "atan",
    sp.erf: "erf", sp.erfc: "erfc", sp.sign: "sign", sigmoid: "sigmoid",
}


def _to_torch(expr: sp.Expr, x: torch.Tensor) -> torch.Tensor:
    """Evaluate a parsed expression on a tensor by walking the sympy tree (whitelisted nodes)."""
    import torch

    if not expr.free_symbols:
        return torch.full_like(x, float(expr))
    if expr == X:
        return x
    args = [_to_torch(a, x) for a in expr.args]
    if isinstance(expr, sp.Add):
        return functools.reduce(lambda a, b: a + b, args)
    if isinstance(expr, sp.Mul):
        return functools.reduce(lambda a, b: a * b, args)
    if isinstance(expr, sp.Pow):
        exponent = expr.args[1]
        return args[0] ** (float(exponent) if not exponent.free_symbols else args[1])
    if type(expr) in _TORCH_UNARY:
        return getattr(torch, _TORCH_UNARY[type(expr)])(args[0])
    if isinstance(expr, softplus):
        return torch.logaddexp(torch.zeros_like(args[0]), args[0])
    if isinstance(expr, sp.Heaviside):
        at_zero = float(expr.args[1]) if len(expr.args) > 1 else 0.5
        u = args[0]
        return torch.where(u > 0, 1.0, torch.where(u < 0, 0.0, at_zero)).to(x.dtype)
    if isinstance(expr, sp.Max | sp.Min):
        pick = (lambda a, b: torch.where(a >= b, a, b)) if isinstance(expr, sp.Max) else (
            lambda a, b: torch.where(a <= b, a, b))
        return functools.reduce(pick, args)
    raise ActlabError(f"expr: {expr.func.__name__} has no torch form")
