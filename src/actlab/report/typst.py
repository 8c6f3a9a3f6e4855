"""The document as typst source, and the PDF compiled from it with the ``typst`` package
(offline; only typst's bundled fonts, so every machine sets the same PDF)."""

from __future__ import annotations

from pathlib import Path

from actlab.report.doc import (
    Block,
    Bullets,
    Code,
    Document,
    Equations,
    Figure,
    Heading,
    Inlines,
    Math,
    Para,
    Pre,
    Strong,
    Table,
)
from actlab.report.math import to_typst

LONG_TABLE = 25  # rows; longer tables may break across pages

PREAMBLE = """\
#set document(title: {title}, author: "actlab", date: none)
#set page(paper: "a4", margin: (x: 1.8cm, y: 2cm), numbering: "1")
#set text(size: 10pt, lang: "en")
#set heading(numbering: "1.1")
#show heading: set block(above: 1.4em, below: 0.8em)
#show figure.where(kind: table): set figure.caption(position: top)
#show math.equation: set block(breakable: true)
#show raw.where(block: true): set text(size: 7.5pt)
#show raw.where(block: true): block.with(fill: luma(245), inset: 6pt, radius: 3pt, width: 100%)
#show outline.entry.where(level: 1): set text(weight: "bold")
"""


def string(text: str) -> str:
    """A typst string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def inline(content: Inlines) -> str:
    """Inline content as typst markup (text always as string literals: nothing is markup)."""
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(f"#{string(part)}")
        elif isinstance(part, Math):
            parts.append(f"${to_typst(part.node)}$")
        elif isinstance(part, Code):
            parts.append(f"#raw({string(part.text)})")
        elif isinstance(part, Strong):
            parts.append(f"#strong({string(part.text)})")
    return "".join(parts)


def _table(t: Table) -> str:
    n = len(t.header)
    align = ", ".join("right" if i < len(t.numeric) and t.numeric[i] else "left"
                      for i in range(n))
    cells = ["table.header(" + ", ".join(f"[*{inline(h)}*]" for h in t.header) + ")"]
    cells += [f"[{inline(c)}]" for r in t.rows for c in r]
    size = "7.5pt" if t.small else "8.5pt"
    body = (f"text(size: {size})[#table(columns: {n}, align: ({align},), inset: 3.5pt, "
            f"stroke: 0.4pt + luma(170), {', '.join(cells)})]")
    figure = f"#figure(kind: table, caption: [{inline((t.caption,))}], {body})"
    if len(t.rows) <= LONG_TABLE:  # kept on one page with its caption
        return figure
    return f"#[#show figure: set block(breakable: true)\n{figure}]"


def _equations(e: Equations) -> str:
    lines = []
    for lhs, steps in e.lines:
        parts = [to_typst(lhs)]
        for k, (relation, expr) in enumerate(steps):
            parts.append(("&" if k == 0 else "") + relation)
            parts.append(to_typst(expr))
        lines.append(" ".join(parts))
    return "$ " + " \\\n  ".join(lines) + " $"


def block(b: Block) -> str:
    """One block as typst markup."""
    match b:
        case Heading(level, text, anchor):
            return f"{'=' * level} #{string(text)} <{anchor}>"
        case Para(content, note):
            text = inline(content)
            if note:
                return (f"#block(fill: luma(240), inset: 7pt, radius: 3pt, width: 100%)"
                        f"[{text}]")
            return text
        case Bullets(items):
            return "\n".join(f"- {inline(i)}" for i in items)
        case Table():
            return _table(b)
        case Figure(file, caption, _alt, width):
            return (f"#figure(image({string(file)}, width: {round(width * 100)}%), "
                    f"caption: [{inline((caption,))}])")
        case Equations():
            return _equations(b)
        case Pre(text):
            return f"#raw(block: true, {string(text)})"
    raise TypeError(f"not a block: {b!r}")


def render_typst(doc: Document) -> str:
    """The whole document as typst source."""
    parts = [PREAMBLE.format(title=string(doc.title)),
             f"#align(center)[#text(size: 16pt, weight: \"bold\")[#{string(doc.title)}]"
             f" \\ #text(size: 11pt)[#{string(doc.subtitle)}]]",
             *(block(b) for b in doc.intro),
             "#outline(depth: 1)"]
    for section in doc.sections:
        parts.append(f"= #{string(section.title)} <{section.anchor}>")
        parts.extend(block(b) for b in section.blocks)
    return "\n\n".join(parts) + "\n"


def compile_pdf(source: Path, root: Path) -> bytes:
    """PDF bytes of the typst file ``source`` (figures resolved relative to ``root``)."""
    import typst

    try:
        return typst.compile(str(source), root=str(root), ignore_system_fonts=True)
    except Exception as error:  # the typst package raises its own error types: a bug here
        raise RuntimeError(f"typst could not set the report: {error}") from error
