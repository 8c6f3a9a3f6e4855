"""Section 2: the forward pass and every gradient of each sample as a hand calculation, and the
verification against autograd and finite differences."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from actlab.backprop import SampleTrace
from actlab.report.compute import ReportResults
from actlab.report.doc import Block, Code, Heading, Inlines, Math, Para, Section, Table, inl
from actlab.report.math import (
    Attach,
    Fenced,
    Frac,
    Id,
    Node,
    Num,
    Op,
    Prime,
    Space,
    Text,
    factor,
    matrix,
    number_text,
    partial,
    row,
    signed,
)
from actlab.report.sections.common import Line, cells, eq, equations, fixed, point, rel, sci

L, Z, P, Y = Id("L"), Id("z"), Id("p"), Id("y")
W, C, w, B, X, A, H = Id("W"), Id("c"), Id("w"), Id("b"), Id("x"), Id("a"), Id("h")
SIGMA = Id("σ")
ODOT = Op("⊙")


def _approx(value: float) -> tuple[str, Node]:
    return rel(value), Num(value)


def _x_transposed(x: list[float]) -> Node:
    return Attach(matrix(x), sup=Text("T"))


def parameters(weight: Any, bias: Any, out_weight: Any, out_bias: float) -> Line:
    """W = [..], c = [..], w = [..], b = .. on one line."""
    return eq(W, row(matrix(weight), Op(","), Space(), C, Op("="), matrix(bias), Op(","),
                     Space(), w, Op("="), matrix(out_weight), Op(","), Space(), B, Op("="),
                     Num(out_bias)))


def _forward(s: SampleTrace, net: Any, f: str) -> list:
    hidden, out = net.layers
    Wm, c, wv, b = hidden.weight, hidden.bias, out.weight[0], float(out.bias[0])
    terms: list[Node] = []
    for j, (wj, hj) in enumerate(zip(wv, s.h, strict=True)):
        if j:
            terms.append(Op("+"))
        terms += [factor(wj), Op("·"), factor(hj)]
    terms += signed(b)
    exp_arg = Num(-s.z)
    loss_rhs: Node
    if s.y == 0:
        loss_rhs = row(Op("−"), Id("log"), Fenced(row(Num(1), Op("−"), P)))
        loss_num = row(Op("−"), Id("log"), Fenced(row(Num(1), Op("−"), Num(s.p))))
    elif s.y == 1:
        loss_rhs = row(Op("−"), Id("log"), P)
        loss_num = row(Op("−"), Id("log"), Num(s.p))
    else:
        loss_rhs = row(Op("−"), Fenced(row(Y, Id("log"), P, Op("+"), Fenced(row(
            Num(1), Op("−"), Y)), Id("log"), Fenced(row(Num(1), Op("−"), P)))), "[", "]")
        loss_num = Num(s.loss)
    return [
        eq(A, row(W, X, Op("+"), C), row(matrix(Wm), matrix(s.x), Op("+"), matrix(c)),
           matrix(s.a)),
        eq(H, row(Id(f), Fenced(A)), matrix(s.h)),
        eq(Z, row(w, Op("·"), H, Op("+"), B), row(*terms), Num(s.z)),
        eq(P, row(SIGMA, Fenced(Z)), Frac(Num(1), row(Num(1), Op("+"),
                                                     Attach(Id("e"), sup=exp_arg))),
           _approx(s.p)),
        eq(L, loss_rhs, loss_num, _approx(s.loss)),
    ]


def _backward(s: SampleTrace, net: Any, f: str) -> list:
    hidden, out = net.layers
    wv = out.weight[0]
    slopes = hidden.activation.derivative(np.asarray(s.a))
    g = s.grads
    return [
        eq(partial(L, Z), row(P, Op("−"), Y), row(Num(s.p), Op("−"), Num(s.y)), _approx(s.d_z)),
        eq(partial(L, B), partial(L, Z), _approx(g["b"])),
        eq(partial(L, w), row(partial(L, Z), H), row(factor(s.d_z), matrix(s.h)),
           matrix(g["w"])),
        eq(partial(L, H), row(partial(L, Z), w), row(factor(s.d_z), matrix(wv)),
           matrix(s.d_h)),
        eq(partial(L, A), row(partial(L, H), ODOT, Prime(Id(f)), Fenced(A)),
           row(matrix(s.d_h), ODOT, matrix(slopes)), matrix(s.d_a)),
        eq(partial(L, W), row(partial(L, A), Attach(X, sup=Text("T"))),
           row(matrix(s.d_a), _x_transposed(s.x)), matrix(g["W"])),
        eq(partial(L, C), partial(L, A), matrix(g["c"])),
    ]


def _kink_blocks(s: SampleTrace, f: str) -> list[Block]:
    blocks: list[Block] = []
    for k in s.kinks:
        what = "jump" if k["jump"] else "kink"
        unit = Attach(A, sub=Num(k["unit"] + 1))
        blocks.append(Para(inl(
            Math(row(unit, Op("="), Num(k["a"]))), f" sits exactly on {f}'s {what}, where "
            f"{f}' is undefined: {fixed(k['left_derivative'])} from the left, "
            f"{fixed(k['right_derivative'])} from the right; the calculation above uses "
            f"{fixed(k['derivative_used'])} (PyTorch's convention)."), note=True))
    if s.grads_one_sided:
        lines = []
        for side, g in s.grads_one_sided.items():
            lines.append(eq(row(Text(f"{side}-hand: "), partial(L, W)), row(
                matrix(g["W"]), Op(","), Space(), partial(L, C), Op("="), matrix(g["c"]))))
        blocks.append(Para(inl("With the one-sided derivatives instead (∂L/∂w and ∂L/∂b do not "
                               "change):")))
        blocks.append(equations(*lines))
    return blocks


def _totals(results: ReportResults) -> list[Block]:
    d = results.trace.to_dict()
    n = len(results.trace.samples)
    blocks: list[Block] = [Heading(2, "Over all samples", "backprop-total"),
                           Para(inl(f"Summed over the {n} samples (the gradient of the summed "
                                    "loss), and the mean (the gradient of the mean loss, what "
                                    "nn.BCELoss on a batch gives):"))]
    for label, part in (("sum", d["sum"]), ("mean", d["mean"])):
        g = part["grads"]
        tag = Text(f"{label}: ")
        blocks.append(equations(
            eq(row(tag, L), _approx(part["loss"])),
            eq(row(tag, partial(L, W)), matrix(g["W"])),
            eq(row(tag, partial(L, C)), matrix(g["c"])),
            eq(row(tag, partial(L, w)), matrix(g["w"])),
            eq(row(tag, partial(L, B)), _approx(g["b"]))))
    return blocks


# the verification's names of the gradients -> the symbols of the hand calculation above
def _slash(wrt: Node) -> Node:
    """∂L/∂wrt on one line (a fraction would be tiny in a table row)."""
    return row(Op("∂"), L, Op("/"), Op("∂"), wrt)


GRADIENT_NAMES = {"dW1": _slash(W), "db1": _slash(C), "dW2": _slash(w), "db2": _slash(B),
                  "dx": _slash(X)}


def _quantity(name: str) -> Inlines:
    symbol = GRADIENT_NAMES.get(name)
    return (name,) if symbol is None else (Math(symbol),)


def _sample(name: str) -> str:
    """'x=[0.0, 1.0]' as (0, 1), like the section headings; other labels as they are."""
    found = re.fullmatch(r"x=\[([^\]]*)\]", name)
    if found is None:
        return name
    try:
        return point([float(v) for v in found.group(1).split(",")])
    except ValueError:
        return name


def _verification(results: ReportResults) -> list[Block]:
    v = results.verification
    rows = tuple(((_sample(c.sample),), _quantity(c.quantity), (c.reference,), (c.convention,),
                  (sci(c.discrepancy),)) for c in v.checks)
    verdict = "every value agrees" if v.ok else "SOME VALUES DISAGREE"
    return [
        Heading(2, "Verification", "backprop-verify"),
        Para(inl("Every forward value and every gradient (parameters and inputs) of actlab's "
                 "explicit backward pass, for each sample alone and for the mean loss, against "
                 "PyTorch autograd in float64 and against finite differences (central where the "
                 "loss is smooth; one-sided on the matching side where a step moves a "
                 "pre-activation off a kink). Discrepancy = largest absolute difference.")),
        Table(cells("sample", "quantity", "reference", "convention", "discrepancy"), rows,
              caption=f"Largest discrepancy {sci(v.max_discrepancy)}, limit {sci(v.limit)}: "
              f"{verdict}.", numeric=(False, False, False, False, True), small=True),
    ]


def build(results: ReportResults, figures: dict[str, str]) -> Section:
    tr, net = results.trace, results.initial
    f = net.layers[0].activation.name
    hidden, out = net.layers
    blocks: list[Block] = [
        Para(inl("The network ", Math(row(Id("f"), Fenced(X), Op("="), SIGMA, Fenced(row(
            w, Op("·"), Id(f), Fenced(row(W, X, Op("+"), C)), Op("+"), B)))),
            " with binary cross-entropy ", Math(row(L, Op("="), Op("−"), Fenced(row(
                Y, Id("log"), P, Op("+"), Fenced(row(Num(1), Op("−"), Y)), Id("log"),
                Fenced(row(Num(1), Op("−"), P))), "[", "]"))),
            " and the parameters")),
        equations(parameters(hidden.weight, hidden.bias, out.weight[0], float(out.bias[0]))),
        Para(inl("For each sample: the forward pass, then the chain rule from the loss back to "
                 "every parameter. Numbers are rounded to 4 decimals (≈ marks a rounded "
                 "value); ", Code("results.json"), " has them in full. ",
                 f"Convention: {tr.convention}.")),
    ]
    for i, s in enumerate(tr.samples, start=1):
        label = f"Sample {i}: x = {point(s.x)}, y = {number_text(s.y)}"
        blocks += [Heading(2, label, f"sample-{i}"),
                   Para(inl("Forward pass:")), equations(*_forward(s, net, f)),
                   Para(inl("Backward pass (chain rule):")), equations(*_backward(s, net, f))]
        blocks += _kink_blocks(s, f)
    blocks += _totals(results)
    blocks += _verification(results)
    return Section("Backpropagation through the XOR network", "backprop", tuple(blocks))

