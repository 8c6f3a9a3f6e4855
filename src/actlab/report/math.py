"""A small math tree, written once and rendered twice: as typst math (PDF) and MathML (HTML).

Build formulas from ``Id``, ``Num``, ``Op``, ``Text``, ``Row``, ``Frac``, ``Attach``, ``Prime``,
``Fenced``, ``Matrix``, ``Cases``, ``Sqrt`` and ``Space``; ``to_typst`` and ``to_mathml`` turn
a tree into source text. Numbers are formatted by ``number_text`` (integers exactly, others to a
fixed number of decimals).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

DIGITS = 4


def number_text(value: float, digits: int = DIGITS, strip: bool = True) -> str:
    """An integer exactly; otherwise ``digits`` decimals (trailing zeros dropped when ``strip``);
    scientific notation when that would round a non-zero number to 0."""
    v = float(value) + 0.0
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == round(v) and abs(v) < 1e12:
        return str(round(v))
    text = f"{v:.{digits}f}"
    if strip:
        text = text.rstrip("0").rstrip(".")
    if text in ("0", "-0", "0." + "0" * digits, "-0." + "0" * digits):
        return f"{v:.2e}"
    return text


class Node:
    """A math expression."""


@dataclass(frozen=True)
class Id(Node):
    """An identifier: one letter in italics, a longer name upright (a function name)."""

    name: str


@dataclass(frozen=True)
class Text(Node):
    """Upright words inside a formula, e.g. "if"."""

    text: str


@dataclass(frozen=True)
class Num(Node):
    """A number, formatted by ``number_text``."""

    value: float
    digits: int = DIGITS
    strip: bool = True


@dataclass(frozen=True)
class Op(Node):
    """An operator or punctuation: = + − · ⊙ ≈ ≤ , ..."""

    symbol: str


@dataclass(frozen=True)
class Row(Node):
    """A sequence of expressions."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Frac(Node):
    num: Node
    den: Node


@dataclass(frozen=True)
class Attach(Node):
    """base with a subscript and/or a superscript."""

    base: Node
    sub: Node | None = None
    sup: Node | None = None


@dataclass(frozen=True)
class Prime(Node):
    """f′."""

    base: Node


@dataclass(frozen=True)
class Fenced(Node):
    """body between stretchy delimiters: ( ), [ ], { }, | |."""

    body: Node
    open: str = "("
    close: str = ")"


@dataclass(frozen=True)
class Matrix(Node):
    """A matrix (a column vector is one column) in square brackets."""

    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class Cases(Node):
    """A piecewise definition: (value, condition) rows behind a left brace."""

    rows: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class Sqrt(Node):
    body: Node


@dataclass(frozen=True)
class Space(Node):
    """A quad of horizontal space."""


# --- builders -----------------------------------------------------------------------------
def row(*items: Node | str | float) -> Row:
    """A Row; plain strings become identifiers (or operators for symbols), numbers Num."""
    return Row(tuple(_node(i) for i in items))


def _node(item: Node | str | float) -> Node:
    if isinstance(item, Node):
        return item
    if isinstance(item, str):
        return Id(item) if item.isalpha() else Op(item)
    return Num(float(item))


def num(value: float, digits: int = DIGITS) -> Node:
    return Num(float(value), digits)


def partial(f: Node | str, x: Node | str) -> Frac:
    """∂f / ∂x."""
    return Frac(row("∂", f), row("∂", x))


def call(name: str, *args: Node | str | float) -> Row:
    """name(arg, ...)."""
    inner: list[Node | str | float] = []
    for i, a in enumerate(args):
        if i:
            inner.append(Op(","))
        inner.append(a)
    return row(Id(name), Fenced(row(*inner)))


def matrix(values: ArrayLike, digits: int = DIGITS) -> Matrix:
    """A numeric matrix; a 1-D array becomes a column vector."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    return Matrix(tuple(tuple(Num(float(v), digits) for v in r) for r in arr))


def signed(value: float, digits: int = DIGITS) -> tuple[Node, Node]:
    """('+', v) or ('−', |v|), to append to a sum written term by term."""
    v = float(value)
    return Op("−") if v < 0 else Op("+"), Num(abs(v), digits)


def factor(value: float, digits: int = DIGITS) -> Node:
    """A number as a factor: in parentheses when negative."""
    v = float(value)
    return Fenced(Num(v, digits)) if v < 0 else Num(v, digits)


# --- typst ---------------------------------------------------------------------------------
_TYPST_ESCAPE = {",": "\\,", ";": "\\;", "&": "\\&", "#": "\\#", "$": "\\$", "\\": "\\\\",
                 '"': '\\"', "_": "\\_", "^": "\\^", "/": "\\/", "*": "\\*"}
_TYPST_DELIM = {"(": "(", ")": ")", "[": "[", "]": "]", "{": "{", "}": "}", "|": "|"}


def _typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _typst_number(value: float, digits: int, strip: bool) -> str:
    text = number_text(value, digits, strip)
    if "e" in text and text not in ("inf", "-inf"):
        mantissa, exponent = text.split("e")
        return f"{mantissa} times 10^({int(exponent)})"
    return {"inf": "infinity", "-inf": "-infinity"}.get(text, text)


def to_typst(node: Node) -> str:
    """typst math source for the tree (to be put between $ signs)."""
    match node:
        case Id(name):
            return name if len(name) == 1 else f"op({_typst_string(name)})"
        case Text(text):
            return _typst_string(text)
        case Num(value, digits, strip):
            return _typst_number(value, digits, strip)
        case Op(symbol):
            return _TYPST_ESCAPE.get(symbol, symbol)
        case Row(items):
            return " ".join(to_typst(i) for i in items) if items else "zws"
        case Frac(a, b):
            return f"frac({to_typst(a)}, {to_typst(b)})"
        case Attach(base, sub, sup):
            parts = [to_typst(base)]
            if sub is not None:
                parts.append(f"b: {to_typst(sub)}")
            if sup is not None:
                parts.append(f"t: {to_typst(sup)}")
            return f"attach({', '.join(parts)})"
        case Prime(base):
            return f"{to_typst(base)}'"
        case Fenced(body, o, c):
            return f"lr({_TYPST_DELIM[o]} {to_typst(body)} {_TYPST_DELIM[c]})"
        case Matrix(rows):
            body = "; ".join(", ".join(to_typst(v) for v in r) for r in rows)
            return f'mat(delim: "[", {body})'
        case Cases(rows):
            return "cases(" + ", ".join(f"{to_typst(v)} & {to_typst(c)}" for v, c in rows) + ")"
        case Sqrt(body):
            return f"sqrt({to_typst(body)})"
        case Space():
            return "quad"
    raise TypeError(f"not a math node: {node!r}")


# --- MathML ----------------------------------------------------------------------------------
def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _mathml_number(value: float, digits: int, strip: bool) -> str:
    text = number_text(value, digits, strip)
    if text in ("inf", "-inf"):
        return ("<mrow><mo>−</mo><mi>∞</mi></mrow>" if text == "-inf" else "<mi>∞</mi>")
    negative = text.startswith("-")
    text = text.lstrip("-")
    if "e" in text:
        mantissa, exponent = text.split("e")
        e = int(exponent)
        power = f"<mn>{abs(e)}</mn>" if e >= 0 else f"<mrow><mo>−</mo><mn>{-e}</mn></mrow>"
        out = f"<mn>{mantissa}</mn><mo>×</mo><msup><mn>10</mn>{power}</msup>"
    else:
        out = f"<mn>{text}</mn>"
    return f"<mrow><mo>−</mo>{out}</mrow>" if negative else f"<mrow>{out}</mrow>"


_FENCES = frozenset("()[]{}|")
_THIN = '<mspace width="0.1667em"/>'


def _tall(node: Node) -> bool:
    """True when the expression is taller than a line of text (a fraction, matrix or cases):
    only then do delimiters around it stretch."""
    match node:
        case Frac() | Matrix() | Cases():
            return True
        case Row(items):
            return any(_tall(i) for i in items)
        case Fenced(body, _, _) | Sqrt(body) | Prime(body):
            return _tall(body)
        case Attach(base, _, _):
            return _tall(base)
    return False


def _mo(symbol: str, stretchy: bool = False) -> str:
    """An operator; a delimiter stretches only when asked (without a math font, browsers
    stretch a delimiter around plain text to several lines' height)."""
    if symbol in _FENCES:
        return f'<mo stretchy="{"true" if stretchy else "false"}">{_esc(symbol)}</mo>'
    return f"<mo>{_esc(symbol)}</mo>"


def _is_function(node: Node) -> bool:
    return isinstance(node, Id) and len(node.name) > 1


def _row(items: tuple[Node, ...]) -> str:
    """A row; a function name gets TeX's thin spaces: before it after an operand, after it
    before an operand that is not parenthesised (y log p, log(1 − p))."""
    out = []
    for k, item in enumerate(items):
        if _is_function(item):
            if k and not isinstance(items[k - 1], Op | Text | Space):
                out.append(_THIN)
            out.append(to_mathml(item))
            nxt = items[k + 1] if k + 1 < len(items) else None
            if nxt is not None and not isinstance(nxt, Op | Fenced | Text | Space):
                out.append(_THIN)
        elif (isinstance(item, Op) and item.symbol in ("−", "+")
              and (k == 0 or isinstance(items[k - 1], Op))):  # a sign, not a binary operator
            out.append(f'<mo form="prefix">{_esc(item.symbol)}</mo>')
        else:
            out.append(to_mathml(item))
    return "<mrow>" + "".join(out) + "</mrow>"


def to_mathml(node: Node) -> str:
    """MathML (Core) markup for the tree, without the enclosing <math> element."""
    match node:
        case Id(name) if len(name) > 1:  # a function name: U+2061 marks the application
            return f"<mi>{_esc(name)}</mi><mo>\u2061</mo>"
        case Id(name):
            return f"<mi>{_esc(name)}</mi>"
        case Text(text):
            return f"<mtext>{_esc(text).replace(' ', '&#160;')}</mtext>"
        case Num(value, digits, strip):
            return _mathml_number(value, digits, strip)
        case Op(symbol):
            return _mo(symbol)
        case Row(items):
            return _row(items)
        case Frac(a, b):
            return f"<mfrac>{_wrap(a)}{_wrap(b)}</mfrac>"
        case Attach(base, sub, sup):
            if sub is not None and sup is not None:
                return f"<msubsup>{_wrap(base)}{_wrap(sub)}{_wrap(sup)}</msubsup>"
            if sub is not None:
                return f"<msub>{_wrap(base)}{_wrap(sub)}</msub>"
            return f"<msup>{_wrap(base)}{_wrap(sup) if sup is not None else '<mrow/>'}</msup>"
        case Prime(Id(name)):  # the prime glyph is already raised: no superscript
            return f'<mrow><mi>{_esc(name)}</mi><mo lspace="0" rspace="0">′</mo></mrow>'
        case Prime(base):
            return f'<mrow>{to_mathml(base)}<mo lspace="0" rspace="0">′</mo></mrow>'
        case Fenced(body, o, c):
            tall = _tall(body)
            return f"<mrow>{_mo(o, tall)}{to_mathml(body)}{_mo(c, tall)}</mrow>"
        case Matrix(rows):
            cells = "".join("<mtr>" + "".join(f"<mtd>{to_mathml(v)}</mtd>" for v in r) + "</mtr>"
                            for r in rows)
            return (f'<mrow>{_mo("[", True)}<mtable class="matrix">{cells}</mtable>'
                    f'{_mo("]", True)}</mrow>')
        case Cases(rows):
            cells = "".join(f"<mtr><mtd>{to_mathml(v)}</mtd><mtd>{to_mathml(c)}</mtd></mtr>"
                            for v, c in rows)
            return f'<mrow>{_mo("{", True)}<mtable class="cases">{cells}</mtable></mrow>'
        case Sqrt(body):
            return f"<msqrt>{to_mathml(body)}</msqrt>"
        case Space():
            return '<mspace width="1em"/>'
    raise TypeError(f"not a math node: {node!r}")


def _wrap(node: Node) -> str:
    """One element (MathML's script and fraction elements take exactly one child each)."""
    text = to_mathml(node)
    return text if isinstance(node, Row | Fenced | Num) or text.count("<m") == 1 else (
        f"<mrow>{text}</mrow>")


def join(items: Sequence[Node], separator: str = ",") -> Row:
    """Items separated by an operator."""
    out: list[Node] = []
    for i, item in enumerate(items):
        if i:
            out.append(Op(separator))
        out.append(item)
    return Row(tuple(out))
