"""The report as a document tree, built once from the results and rendered to typst and HTML.

Blocks: ``Heading``, ``Para``, ``Bullets``, ``Table``, ``Figure``, ``Equations``, ``Pre``.
Inline content is a list of plain strings, ``Math`` (a formula), ``Code`` and ``Strong``.
"""

from __future__ import annotations

from dataclasses import dataclass

from actlab.report.math import Node


@dataclass(frozen=True)
class Math:
    """An inline formula."""

    node: Node


@dataclass(frozen=True)
class Code:
    """Monospaced text (specs, commands, file names)."""

    text: str


@dataclass(frozen=True)
class Strong:
    text: str


Inline = str | Math | Code | Strong
Inlines = tuple[Inline, ...]


def inl(*parts: Inline) -> Inlines:
    """Inline content from parts."""
    return tuple(parts)


class Block:
    """A block of the document."""


@dataclass(frozen=True)
class Heading(Block):
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Para(Block):
    content: Inlines
    note: bool = False   # a remark set off from the text (a box in both renderings)


@dataclass(frozen=True)
class Bullets(Block):
    items: tuple[Inlines, ...]


@dataclass(frozen=True)
class Table(Block):
    """A table; ``numeric`` marks right-aligned columns. Cells are inline content. ``stack``:
    a table of prose, shown on a phone as one block per row (each cell under its heading)."""

    header: tuple[Inlines, ...]
    rows: tuple[tuple[Inlines, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()
    small: bool = False
    stack: bool = False


@dataclass(frozen=True)
class Figure(Block):
    """An image file of the report (SVG) with a caption; ``width`` is a fraction of the text
    width in the PDF."""

    file: str
    caption: str
    alt: str
    width: float = 1.0


@dataclass(frozen=True)
class Equations(Block):
    """Display math: each line is lhs followed by (relation, expression) steps, e.g.
    p = σ(z) ≈ 0.3775 (aligned at the first relation in the PDF)."""

    lines: tuple[tuple[Node, tuple[tuple[str, Node], ...]], ...]


@dataclass(frozen=True)
class Pre(Block):
    """Preformatted text (a config file, a command)."""

    text: str


@dataclass(frozen=True)
class Section:
    """A numbered section: its heading text, anchor and blocks."""

    title: str
    anchor: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]
