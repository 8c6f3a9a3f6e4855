"""A user's own activation, ``expr:<expression in x>``, parsed safely and differentiated by sympy.

Safety: the text is parsed with ``ast.parse(mode="eval")`` and converted node by node into a
sympy expression; only numbers, ``x``, ``pi``, ``e``, the operators + - * / ** and the functions
in ``FUNCTIONS`` are accepted. Nothing the user writes is ever passed to ``eval``.

Non-smooth functions (abs, max, min, relu, step, sign) are allowed: their switching points are
found by root refinement and become breakpoints, with one-sided derivatives computed exactly by
differentiating the active branch on each side. The derivative used at a breakpoint is the left
one (so relu'(0) = 0 as in PyTorch, and |x|'(0) = -1); step(x) = 1 for x >= 0.

The function must be real and finite on the whole real line (sqrt(x), log(x), 1/x are
rejected); jumps are allowed (step).

Critical points of f' are found by scanning f'' and f' on [-1e6, 1e6] and refining sign changes;
beyond that range monotonicity is not proven (``tail_proof`` says so).
"""

from __future__ import annotations

import ast
import functools
import itertools
import math
from typing import TYPE_CHECKING, Any

import mpmath
import numpy as np
import scipy.special
import sympy as sp
from numpy.typing import ArrayLike

from actlab.activations.base import INF, Activation, Breakpoint, FloatArray, as_float_array
from actlab.errors import ActlabError

if TYPE_CHECKING:
    import torch

X = sp.Symbol("x", real=True)
MAX_LENGTH = 500
MAX_EXPONENT = 1000
SCAN_LIMIT = 1e6
MAX_TURNING_POINTS = 1000


class sigmoid(sp.Function):
    """sigmoid(u) = 1 / (1 + exp(-u)); its derivative is sigmoid(u)(1 - sigmoid(u))."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-arg))


class softplus(sp.Function):
    """softplus(u) = log(1 + exp(u)); its derivative is sigmoid(u)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + sp.exp(arg))


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
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if not math.isfinite(node.value):
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
        base, exponent = _convert(node.left), _convert(node.right)
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            raise ActlabError(f"expr: exponents above {MAX_EXPONENT} are not accepted")
        return base**exponent
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ActlabError(f"expr: unknown function {node.func.id!r} (known: {known})")
        return FUNCTIONS[node.func.id](*(_convert(a) for a in node.args))
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
    return expr.replace(lambda e: isinstance(e, sp.Heaviside) and e.args[1:] == (sp.S.Half,),
                        lambda e: sp.Heaviside(e.args[0], 0))


class _Compiled:
    """A sympy expression in x evaluated in float64 (vectorised, warnings silenced) and, to
    settle signs that float64 cannot, in 60-digit mpmath."""

    def __init__(self, expr: sp.Expr) -> None:
        self.expr = expr
        self._np = sp.lambdify(X, expr, modules=_NUMERIC_MODULES)
        self._mp = sp.lambdify(X, expr, modules=_MP_MODULES)

    def __call__(self, x: ArrayLike) -> FloatArray:
        x = as_float_array(x)
        with np.errstate(all="ignore"):
            out = np.asarray(self._np(x), dtype=np.float64)
        return np.broadcast_to(out, x.shape).copy() if out.shape != x.shape else out

    def precise(self, x: float) -> mpmath.mpf:
        with mpmath.workdps(_MP_DIGITS):
            return self._mp(mpmath.mpf(x))

    def sign(self, x: float) -> int:
        with mpmath.workdps(_MP_DIGITS):
            value = self._mp(mpmath.mpf(x))
            return 0 if value == 0 else (1 if value > 0 else -1)


def _compile(expr: sp.Expr) -> _Compiled:
    return _Compiled(expr)


def _bisect(fn: _Compiled, lo: float, hi: float) -> float:
    """Root of fn in [lo, hi] (signs differ at the ends, checked in 60 digits), bisected in
    60-digit arithmetic down to adjacent doubles."""
    s_lo = fn.sign(lo)
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        s_mid = fn.sign(mid)
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
    """Dense near 0, logarithmic out to +-SCAN_LIMIT."""
    inner = np.linspace(-50.0, 50.0, 100_001)
    outer = np.logspace(math.log10(50.0), math.log10(SCAN_LIMIT), 4_000)[1:]
    return np.concatenate([-outer[::-1], inner, outer])


def _sign_change_roots(fn: _Compiled, grid: FloatArray) -> list[float]:
    """Roots of fn where its sign changes between grid points. Candidates come from float64;
    each is kept only if the change is confirmed in 60-digit arithmetic (rounding noise and
    underflow in the tails create false ones), then bisected to adjacent doubles."""
    values = fn(grid)
    signs = np.where(np.isfinite(values), np.sign(values), 0.0)
    definite = np.nonzero(signs != 0)[0]
    changes = np.count_nonzero(signs[definite[:-1]] != signs[definite[1:]])
    if changes > MAX_TURNING_POINTS:
        raise ActlabError(f"expr: more than {MAX_TURNING_POINTS} sign changes of a derivative "
                          "on [-1e6, 1e6] (oscillating functions are not supported)")
    roots = []
    for i, j in itertools.pairwise(definite):
        if signs[i] == signs[j]:
            continue
        s_lo, s_hi = fn.sign(grid[i]), fn.sign(grid[j])
        if s_lo == 0:
            roots.append(float(grid[i]))
        elif s_hi == 0:
            roots.append(float(grid[j]))
        elif s_lo != s_hi:
            roots.append(_bisect(fn, float(grid[i]), float(grid[j])))
    return sorted(set(roots))


class Expression(Activation):
    """A user's activation ``expr:<expression in x>``, e.g. ``expr:x*sigmoid(2.5*x)``.

    Functions: exp log log1p expm1 sqrt abs sign sin cos tan tanh sinh cosh atan erf erfc Phi
    sigmoid softplus relu step max min; constants pi, e; operators + - * / ** (or ^).
    """

    name = "expr"

    def __init__(self, text: str) -> None:
        self.params = {}
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

        smooth = self.symbolic.replace(sp.Heaviside, lambda *a: sp.Integer(1)).replace(
            sp.sign, lambda *a: sp.Integer(1))
        try:
            domain = continuous_domain(_elementary(smooth), X, sp.S.Reals)
        except (NotImplementedError, ValueError, TypeError):
            domain = sp.S.Reals
        if domain != sp.S.Reals:
            raise ActlabError(f"expr: {self.text!r} is not defined and continuous on the whole "
                              f"real line (only on {domain})")
        grid = np.linspace(-1000.0, 1000.0, 20_001)
        for name, fn in (("f", self._value), ("f'", self._derivative)):
            for x in grid[np.isnan(fn(grid))][:3]:  # NaN in float64: overflow, or no value?
                try:
                    value = fn.precise(float(x))
                    real = isinstance(value, mpmath.mpf) and mpmath.isfinite(value)
                except ActlabError:
                    raise
                except (ZeroDivisionError, ValueError, TypeError):
                    real = False
                if not real:
                    raise ActlabError(f"expr: {name} of {self.text!r} is not a real number at "
                                      f"x = {x:g}")

    @property
    def spec(self) -> str:
        return f"expr:{self.text}"

    def value(self, x: ArrayLike) -> FloatArray:
        return self._value(x)

    def derivative(self, x: ArrayLike) -> FloatArray:
        """f'(x); at a breakpoint, the left derivative (relu'(0) = 0 as in PyTorch)."""
        out = self._derivative(x)
        for b in self._breakpoints:
            out = np.where(as_float_array(x) == b.x, b.left_derivative, out)
        return out

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """The expression evaluated with torch operations (autograd through every branch)."""
        return _to_torch(self.symbolic, x)

    @functools.cached_property
    def _breakpoints(self) -> tuple[Breakpoint, ...]:
        switches = _switching_functions(self.symbolic)
        if not switches:
            return ()
        grid = _scan_grid()
        xs = sorted({x for s in switches for x in _sign_change_roots(_compile(s), grid)})
        points = []
        for x0 in xs:
            left, right = (self._branch(x0, side) for side in (-1, 1))
            lv, ld = _value_and_slope(left, x0)
            rv, rd = _value_and_slope(right, x0)
            used = ld
            if ld != rd or lv != rv:
                points.append(Breakpoint(x0, ld, rd, used, lv, rv))
        return tuple(points)

    def _branch(self, x0: float, side: int, every_atom: bool = False) -> sp.Expr:
        """``symbolic`` with every non-smooth atom switching at x0 (every atom, when
        ``every_atom``) replaced by the branch that is active just to the left (side=-1) or
        right (side=+1) of x0."""
        delta = 1e-7 * max(1.0, abs(x0))

        def switches(s: sp.Expr) -> bool:
            return every_atom or abs(float(_compile(s)(x0))) <= 1e-12 * max(1.0, abs(x0))

        def side_sign(s: sp.Expr) -> float:
            return float(np.sign(_compile(s)(x0 + side * delta)))

        def pick(atom: sp.Expr) -> sp.Expr:
            if isinstance(atom, sp.Max | sp.Min) and len(atom.args) == 2:
                a, b = atom.args
                if not switches(a - b):
                    return atom
                a_wins = side_sign(a - b) > 0
                return a if a_wins == isinstance(atom, sp.Max) else b
            s = atom.args[0]
            if not switches(s):
                return atom
            sign = side_sign(s)
            if isinstance(atom, sp.Heaviside):
                return sp.Integer(1 if sign > 0 else 0)
            if isinstance(atom, sp.sign):
                return sp.Integer(int(sign))
            return sign * s  # Abs

        atoms = (sp.Heaviside, sp.sign, sp.Abs, sp.Max, sp.Min)
        return self.symbolic.replace(lambda e: isinstance(e, atoms), pick)

    def breakpoints(self) -> tuple[Breakpoint, ...]:
        return self._breakpoints

    @functools.cached_property
    def _critical_points(self) -> tuple[float, ...]:
        grid = _scan_grid()
        second = _compile(_without_delta(sp.diff(self.symbolic_derivative, X)))
        found = set(_sign_change_roots(second, grid)) | set(
            _sign_change_roots(self._derivative, grid))
        found |= self._touching_zeros(grid)
        bps = {b.x for b in self._breakpoints}
        return tuple(sorted(x for x in found if x not in bps))

    def _touching_zeros(self, grid: FloatArray) -> set[float]:
        """Zeros of f' where it does not change sign: local minima of |f'| on the grid, refined,
        kept when f' vanishes there in 60-digit arithmetic and |f'| is larger at both grid
        neighbours (in a tail where f' underflows, float64 shows false minima: exp(-x**2))."""
        from scipy.optimize import minimize_scalar

        mag = np.abs(self._derivative(grid))
        inner = np.arange(1, len(grid) - 1)
        is_min = (mag[inner] < 1e-6) & (mag[inner] <= mag[inner - 1]) & (
            mag[inner] <= mag[inner + 1]) & (mag[inner] > 0)
        zeros = set()
        for i in inner[is_min]:
            res = minimize_scalar(lambda t: abs(float(self._derivative(t))),
                                  bounds=(grid[i - 1], grid[i + 1]), method="bounded",
                                  options={"xatol": 1e-15})
            low = abs(self._derivative.precise(float(res.x)))
            if low <= 1e-30 and all(abs(self._derivative.precise(float(grid[j]))) > low
                                    for j in (i - 1, i + 1)):
                zeros.add(float(res.x))
        return zeros

    def critical_points(self) -> tuple[float, ...]:
        return self._critical_points

    def constant_derivative(self, lo: float, hi: float) -> float | None:
        a = max(lo, -SCAN_LIMIT)
        b = min(hi, SCAN_LIMIT)
        probes = np.linspace(a, b, 9)[1:-1] if a < b else np.array([])
        if lo == -INF:
            probes = np.append(probes, [b - 1.0, b - 10.0])
        if hi == INF:
            probes = np.append(probes, [a + 1.0, a + 10.0])
        values = self.derivative(probes)
        if values.size and np.all(values == values[0]) and np.isfinite(values[0]):
            return float(values[0])
        return None

    @functools.cached_property
    def _limits(self) -> tuple[float, float]:
        return self._limit(-1), self._limit(1)

    def derivative_limits(self) -> tuple[float, float]:
        return self._limits

    def _limit(self, direction: int) -> float:
        """lim f'(x) at -inf or +inf: sympy's limit of the derivative of the exp-rewritten
        expression, accepted only if 60-digit evaluation at 1e6 agrees to 1e-9; otherwise the
        60-digit value at 1e8 (and ``tail_proof`` says the limit was sampled)."""
        far = self._derivative.precise(direction * 1e8)
        try:  # beyond the outermost breakpoint every non-smooth atom keeps one branch
            tail = self._branch(direction * 1e8, direction, every_atom=True)
            rewritten = sp.diff(_elementary(tail), X)
            value = sp.limit(rewritten, X, direction * sp.oo)
            near = self._derivative.precise(direction * 1e6)
            if value in (sp.oo, -sp.oo) and abs(near) > 1e3 and (near > 0) == (value > 0):
                return math.inf if value > 0 else -math.inf
            if value.is_real and value.is_finite and abs(float(value) - float(near)) < 1e-9:
                return float(value)
        except (NotImplementedError, ValueError, TypeError, AttributeError):
            pass
        self._sampled_limits = True
        return float(far)

    def tail_proof(self) -> str:
        self.derivative_limits()
        limits = ("sampled at |x| = 1e8" if getattr(self, "_sampled_limits", False)
                  else "by sympy, checked at |x| = 1e6")
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
