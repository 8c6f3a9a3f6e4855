"""The document as one self-contained HTML page: figures inline (data URIs), math as MathML,
CSS for phones and desktops, no scripts and no external resources (a Content-Security-Policy
forbids them)."""

from __future__ import annotations

import base64
import html
from dataclasses import replace
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
from actlab.report.math import to_mathml

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

CSS = """
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5a5a60; --rule: #d0d0d6;
        --note: #f3f4f8; --accent: #1f4e9c; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1rem 4rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 1.2rem 0 0.3rem; }
.subtitle { color: var(--muted); margin: 0 0 1.2rem; }
h2 { font-size: 1.35rem; margin: 2.4rem 0 0.6rem; padding-top: 0.6rem;
     border-top: 2px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 0.5rem; }
nav.toc { background: var(--note); padding: 0.6rem 1rem; border-radius: 6px; }
nav.toc ol { margin: 0.3rem 0; padding-left: 1.4rem; }
a { color: var(--accent); }
p.note { background: var(--note); border-left: 4px solid var(--accent); padding: 0.5rem 0.8rem;
         border-radius: 4px; }
code { font: 0.9em/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
       background: #f2f2f5; padding: 0.05em 0.3em; border-radius: 3px; }
pre { font: 0.82rem/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
      background: #f6f6f8; padding: 0.7rem 0.9rem; border-radius: 6px; overflow-x: auto; }
figure { margin: 1.2rem 0; text-align: center; }
figure img { max-width: 100%; height: auto; }
figcaption, caption { color: var(--muted); font-size: 0.9rem; padding: 0.3rem 0; }
.table-wrap { overflow-x: auto; margin: 1rem 0; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: 0.92rem; }
table.small { font-size: 0.82rem; }
caption { caption-side: top; text-align: left; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.3rem 0.55rem; vertical-align: top;
         text-align: left; }
th { background: var(--note); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nw { white-space: nowrap; }
.eqs { overflow-x: auto; margin: 0.6rem 0; padding: 0.1rem 0; }
.eqs math { margin: 0.5rem 0; }
math { font-family: math, "STIX Two Math", "Latin Modern Math", "Cambria Math", serif;
       font-size: 1.05em; }
mtable.cases mtd { text-align: left; padding: 0.1em 0.4em; }
mtable.matrix mtd { padding: 0.05em 0.35em; }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  main { padding: 0.6rem 0.7rem 3rem; }
  h1 { font-size: 1.35rem; }
  .eqs math { font-size: 0.86em; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; }
  table.stack thead { display: none; }
  table.stack caption { display: block; }
  table.stack tr { border-bottom: 1px solid var(--rule); padding: 0.35rem 0; }
  table.stack td { border: 0; padding: 0.1rem 0.2rem; white-space: normal; text-align: left; }
  table.stack td::before { content: attr(data-label) ": "; font-weight: 600; }
}
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def inline(content: Inlines) -> str:
    """Inline content as HTML."""
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(_esc(part))
        elif isinstance(part, Math):
            parts.append(f"<math>{to_mathml(part.node)}</math>")
        elif isinstance(part, Code):
            parts.append(f"<code>{_esc(part.text)}</code>")
        elif isinstance(part, Strong):
            parts.append(f"<strong>{_esc(part.text)}</strong>")
    return "".join(parts)


SHORT = 18  # characters: a column whose cells are all this short never wraps


def _plain(content: Inlines) -> str:
    return "".join(p if isinstance(p, str) else p.text if isinstance(p, Code | Strong) else "x"
                   for p in content)


def _table(t: Table) -> str:
    n = len(t.header)
    short = [all(len(_plain(r[i])) <= SHORT for r in t.rows if i < len(r)) for i in range(n)]

    def cls(i: int, cell: bool = True) -> str:  # headings may wrap: only cells stay whole
        names = [name for name, on in (("num", i < len(t.numeric) and t.numeric[i]),
                                       ("nw", cell and i < n and short[i])) if on]
        return f' class="{" ".join(names)}"' if names else ""

    labels = [_esc(_plain(h)) for h in t.header]

    def label(i: int) -> str:
        return f' data-label="{labels[i]}"' if t.stack and i < n else ""

    head = "".join(f"<th{cls(i, False)}>{inline(h)}</th>" for i, h in enumerate(t.header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}{label(i)}>{inline(c)}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in t.rows)
    caption = f"<caption>{_esc(t.caption)}</caption>" if t.caption else ""
    classes = " ".join(c for c, on in (("small", t.small), ("stack", t.stack)) if on)
    attr = f' class="{classes}"' if classes else ""
    return (f'<div class="table-wrap"><table{attr}>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _figure(f: Figure, folder: Path) -> str:
    data = base64.b64encode((folder / f.file).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{_esc(f.alt)}">'
            f"<figcaption>{_esc(f.caption)}</figcaption></figure>")


def _equations(e: Equations) -> str:
    lines = []
    for lhs, steps in e.lines:
        body = to_mathml(lhs) + "".join(f"<mo>{_esc(r)}</mo>{to_mathml(x)}" for r, x in steps)
        lines.append(f'<math display="block">{body}</math>')
    return f'<div class="eqs">{"".join(lines)}</div>'


def block(b: Block, folder: Path) -> str:
    """One block as HTML (figures read from ``folder``)."""
    match b:
        case Heading(level, text, anchor):
            return f'<h{level + 1} id="{_esc(anchor)}">{_esc(text)}</h{level + 1}>'
        case Para(content, note):
            return f'<p class="note">{inline(content)}</p>' if note else f"<p>{inline(content)}</p>"
        case Bullets(items):
            return "<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>"
        case Table():
            return _table(b)
        case Figure():
            return _figure(b, folder)
        case Equations():
            return _equations(b)
        case Pre(text):
            return f"<pre>{_esc(text)}</pre>"
    raise TypeError(f"not a block: {b!r}")


def render_html(doc: Document, folder: Path) -> str:
    """The whole page; figure files are read from ``folder`` and inlined."""
    toc = "".join(f'<li><a href="#{_esc(s.anchor)}">{_esc(s.title)}</a></li>'
                  for s in doc.sections)
    body = [f"<h1>{_esc(doc.title)}</h1>", f'<p class="subtitle">{_esc(doc.subtitle)}</p>',
            *(block(b, folder) for b in doc.intro),
            f'<nav class="toc"><strong>Contents</strong><ol>{toc}</ol></nav>']
    for number, section in enumerate(doc.sections, start=1):
        body.append(f'<section id="{_esc(section.anchor)}"><h2>{number} {_esc(section.title)}'
                    "</h2>")
        sub = 0
        for b in section.blocks:
            if isinstance(b, Heading):  # numbered like the PDF: 1.1, 1.2, ...
                sub += 1
                b = replace(b, text=f"{number}.{sub} {b.text}")
            body.append(block(b, folder))
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")
