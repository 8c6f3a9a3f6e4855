"""The report's renderers on their own: numbers, math (typst and MathML), escaping of any text,
and the progress steps. Fast: no report is computed."""

from __future__ import annotations

import io
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typst
from rich.console import Console

from actlab.activations import CATALOGUE, parse_activation
from actlab.report.doc import (
    Bullets,
    Code,
    Document,
    Equations,
    Math,
    Para,
    Pre,
    Section,
    Strong,
    Table,
    inl,
)
from actlab.report.formulas import formula_lines
from actlab.report.html import render_html
from actlab.report.math import (
    Fenced,
    Frac,
    Id,
    Num,
    Op,
    matrix,
    number_text,
    row,
    to_mathml,
    to_typst,
)
from actlab.report.progress import Stages
from actlab.report.typst import render_typst

NASTY = 'a #b $c$ *d* _e_ <f> [g] "h" \\i @j `k` = - + / ~ 50% & {l}'


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (-0.5, "-0.5"), (0.37754066879814546, "0.3775"), (2.0 / 3, "0.6667"),
    (1e-7, "1.00e-07"), (-0.0, "0"), (0.474077, "0.4741")])
def test_number_text(value: float, text: str) -> None:
    assert number_text(value) == text


def _specs() -> list[str]:
    return [*CATALOGUE, "plu:alpha=0.1,c=2", "elu:alpha=0.5", "elu:alpha=1", "swish:beta=2.5",
            "gelu:approx=tanh", "jumprelu:q=0.3", "softplus:beta=2", "leaky_relu:slope=-0.5",
            "expr:x*sigmoid(2*x)"]


def test_every_activation_formula_typesets() -> None:
    lines = []
    for spec in _specs():
        found = formula_lines(parse_activation(spec))
        if found is None:
            continue
        for lhs, rhs in found:
            lines.append(f"$ {to_typst(lhs)} = {to_typst(rhs)} $")
            ET.fromstring(f"<math>{to_mathml(lhs)}{to_mathml(rhs)}</math>")  # well-formed
    assert len(lines) >= 2 * 12
    pdf = typst.compile("\n\n".join(lines).encode(), ignore_system_fonts=True)
    assert pdf.startswith(b"%PDF")


def test_piecewise_formulas_come_from_the_pieces() -> None:
    (_, f), (_, df) = formula_lines(parse_activation("plu:alpha=0.2,c=1"))
    assert to_typst(f).startswith("cases(0.2 x + 0.8") and "0.2 x − 0.8" in to_typst(f)
    assert '"undefined (used 1)"' in to_typst(df)


def test_math_renderings() -> None:
    node = row(Id("p"), Op("="), Frac(Num(1), row(Num(1), Op("+"), Id("e"))), Op(","),
               matrix([[1, -2], [0.5, 3]]), Id("log"), Num(-1e-9))
    assert to_typst(node) == ('p = frac(1, 1 + e) \\, mat(delim: "[", 1, -2; 0.5, 3) '
                              'op("log") -1.00 times 10^(-9)')
    tree = ET.fromstring(f"<math>{to_mathml(node)}</math>")
    assert [e.text for e in tree.iter("mn")][:2] == ["1", "1"]
    assert "⁡" in to_mathml(Id("log"))  # function application


def test_mathml_delimiters_signs_and_function_spacing() -> None:
    """Delimiters stretch only around tall content (browsers without a math font otherwise
    draw them several lines high), a function name gets thin spaces like TeX's \\log, and a
    leading minus is a sign."""
    plain = to_mathml(row(Id("log"), Fenced(row(Num(1), Op("−"), Id("p")))))
    assert plain.count('stretchy="false"') == 2 and "mspace" not in plain
    assert to_mathml(Fenced(Frac(Num(1), Num(2)))).count('stretchy="true"') == 2
    assert to_mathml(matrix([1, 2])).count('stretchy="true"') == 2
    assert to_mathml(row(Id("y"), Id("log"), Id("p"))).count("<mspace") == 2
    assert 'form="prefix"' in to_mathml(row(Id("L"), Op("="), Op("−"), Id("p")))
    assert 'form="prefix"' not in to_mathml(row(Id("p"), Op("−"), Id("y")))
    ET.fromstring(f"<math>{to_mathml(row(Id('y'), Id('log'), Fenced(Id('p'))))}</math>")


def _nasty_document() -> Document:
    blocks = (Para(inl(NASTY, Code(NASTY), Strong(NASTY), Math(row(Id("x"), Op("≤"), Num(2))))),
              Bullets((inl(NASTY),)),
              Table((inl("h"), inl(NASTY)), ((inl("1"), inl(NASTY)),), caption=NASTY),
              Equations(((Id("x"), (("=", Num(1)),)),)), Pre(NASTY + "\nline 2"))
    return Document(NASTY, NASTY, (Para(inl(NASTY)),), (Section(NASTY, "s-1", blocks),))


def test_any_text_is_printed_literally(tmp_path: Path) -> None:
    doc = _nasty_document()
    source = tmp_path / "doc.typ"
    source.write_text(render_typst(doc))
    (tmp_path / "doc.pdf").write_bytes(typst.compile(str(source), ignore_system_fonts=True))
    text = subprocess.run(["pdftotext", "-raw", str(tmp_path / "doc.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert text.count("{l}") >= 8 and "$c$ *d* _e_ <f> [g]" in text.replace("\u2212", "-")
    page = render_html(doc, tmp_path)
    assert "<f>" not in page and "&lt;f&gt;" in page


def test_stages_time_and_show_each_step(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr("actlab.cli.output.stderr",
                        Console(file=buffer, force_terminal=True, width=100))
    with Stages(2, enabled=True) as stages:
        with stages.stage("first step"):
            pass
        with stages.stage("second step"):
            pass
    assert set(stages.seconds) == {"first step", "second step"}
    assert "second step" in buffer.getvalue()
    quiet = Stages(1)  # under pytest stderr is not a terminal: no bar
    assert not quiet.enabled
